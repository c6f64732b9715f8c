"""``scintiseg.formats.provenance``: what networks learned from besides phantoms, as their files say."""

from scintiseg.formats import provenance


def test_provenance_joins_what_every_block_says_and_reads_nothing_else_as_a_claim():
    assert provenance([]) == {} == provenance([{"input_mode": "ant"}, None, "not a block"])
    # only a literal True says real scans; only a list names folders, and only its strings
    assert provenance([{"real_scans": "yes"}, {"real_scans": 1}, {"adapted_on": "/site"}]) == {}
    assert provenance([{"adapted_on": ["/a", 3, "/b"]}, {"real_scans": True, "adapted_on": ["/b", "/c"]}]) == {
        "real_scans": True, "adapted_on": ["/a", "/b", "/c"]}  # in order, each once
    assert provenance(iter([{"adapted_on": []}, {"real_scans": True}])) == {"real_scans": True}
