"""The draft findings in words: one finding per distinct lesion (a pair once), grouped by region in anatomical order,
its shape, intensity and size words by the stated bounds, the views that show it; the impression's count, BSI,
grade and cautions; the page shows the draft, escaped."""

from __future__ import annotations

from scintiseg.report.findings_text import DRAFT_NOTE, distinct_lesions, findings_text, intensity_word


def _lesion(id_, view, region, ratio, eccentricity=0.5, diameter=20.0, area=314.0, beside=None):
    return {"id": id_, "view": view, "region": region, "lesion_to_normal_bone": ratio, "eccentricity": eccentricity,
            "equivalent_diameter_mm": diameter, "area_mm2": area, "beside": beside}


def _report(lesions, pairs=(), views=("ANT", "POST"), **summary):
    return {"views": {view: {} for view in views}, "lesions": list(lesions), "pairs": list(pairs),
            "left_out_calls": [], "summary": {"bsi_percent": 0.5, "bsi_covered_mass_percent": 100.0,
                                              "soloway_grade": 1, "qc_flags": []} | summary}


def test_intensity_words_follow_their_stated_bounds():
    assert [intensity_word(r) for r in (1.2, 1.5, 2.49, 2.5, 6.0, None)] == [
        "mild", "moderate", "moderate", "intense", "intense", None]


def test_a_pair_is_one_finding_told_by_its_brighter_member_and_regions_come_in_anatomical_order():
    report = _report([_lesion(1, "ANT", "lumbar_spine", 1.8), _lesion(2, "POST", "lumbar_spine", 2.6),
                      _lesion(3, "ANT", "ribs_right", 3.1, eccentricity=0.95, diameter=12.4, area=98.0),
                      _lesion(4, "POST", "skull", 1.3)],
                     pairs=[{"ant_id": 1, "post_id": 2}])
    assert [one["id"] for one in distinct_lesions(report)] == [2, 3, 4]
    draft = findings_text(report)
    assert draft["note"] == DRAFT_NOTE
    assert draft["findings"] == [
        "Skull: 1 lesion (#4: focal, mild uptake (1.3 x normal bone), about 20 mm (314 mm²), POST only).",
        "Lumbar spine: 1 lesion (#2: focal, intense uptake (2.6 x normal bone), about 20 mm (314 mm²), ANT and POST).",
        "Ribs (right): 1 lesion (#3: elongated, intense uptake (3.1 x normal bone), about 12 mm (98 mm²), ANT only).",
    ]
    assert draft["impression"].startswith("3 distinct lesions in 3 regions (Skull, Lumbar spine, Ribs (right)); "
                                          "Bone Scan Index 0.50 %; Soloway grade 1.")


def test_one_view_scans_name_no_view_and_a_partial_bsi_and_the_flags_are_said():
    report = _report([_lesion(1, "ANT", "thoracic_spine", 2.0, beside="bladder")], views=("ANT",),
                     bsi_covered_mass_percent=27.3,
                     qc_flags=["superscan_pattern", "clipped_export_ANT", "low_counts_estimated_ANT"])
    draft = findings_text(report)
    assert draft["findings"] == ["Thoracic spine: 1 lesion (#1: focal, moderate uptake (2.0 x normal bone), about 20 "
                                 "mm (314 mm²), beside the bladder)."]
    impression = draft["impression"]
    assert "over the 27 % of the skeleton seen (a lower bound)" in impression
    assert "superscan pattern" in impression and "cut off by a display window" in impression
    assert "estimated from the export" in impression and "a low-count acquisition: faint" not in impression


def test_a_partial_views_lesions_name_no_region_a_pair_listed_twice_is_told_once_and_a_review_says_whose():
    report = _report([_lesion(1, "ANT", "unnamed", 2.0), _lesion(2, "POST", "unnamed", 2.0)], views=("ANT", "POST"),
                     pairs=[{"ant_id": 1, "post_id": 2}, {"ant_id": 1, "post_id": 2}], bsi_percent=None)
    draft = findings_text(report)
    assert [one["id"] for one in distinct_lesions(report)] == [1]
    assert draft["findings"][0].startswith("Region not named (less than a whole body in the view): 1 lesion (#1:")
    assert draft["impression"].startswith("1 distinct lesion in no named region; Soloway grade 1.")
    assert findings_text(report | {"review": {"reviewed": True}})["note"].startswith(
        "Machine-written draft from the reviewed outlines")


def test_no_lesion_says_so_and_counts_the_calls_set_aside():
    report = _report([], left_out_calls=None)
    report["left_out_calls"] = [{"id": 9}, {"id": 10}]
    draft = findings_text(report)
    assert draft["findings"] == []
    assert draft["impression"] == ("No focal area of increased uptake outlined by the model. 2 calls set aside by "
                                   "the reading rules are listed in the report, not counted.")


def test_the_report_carries_the_draft_and_the_page_shows_it_escaped(nm1_scan, make_blobs):
    import html

    from scintiseg.predict.pipeline import predict_from_probabilities
    from scintiseg.report.html import report_html
    from scintiseg.report.report_json import report_dict
    from support import blob_settings

    prediction = predict_from_probabilities(nm1_scan, {"ANT": make_blobs(nm1_scan.shape, [(364, 150, 4)])},
                                            settings=blob_settings(0.5, 4))
    report = report_dict(prediction)
    draft = report["summary"]["findings_text"]
    assert draft == findings_text(report) and len(draft["findings"]) >= 1
    report["summary"]["findings_text"] = draft | {"impression": "<b>x</b> " + draft["impression"]}
    page = report_html(report, {})
    assert 'id="draft-findings"' in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert html.escape(draft["findings"][0], quote=True) in page


def test_the_pelvis_is_told_per_side_as_a_paired_bone_is():
    """Audit 74, finding 11: "Pelvis: 1 lesion" where the table said right; femur and ribs had their side."""
    report = _report([_lesion(3, "POST", "pelvis", 2.0) | {"laterality": "right"},
                      _lesion(4, "POST", "femur_right", 2.0) | {"laterality": "right"},
                      _lesion(5, "POST", "pelvis", 2.0) | {"laterality": "midline"},
                      _lesion(6, "POST", "pelvis", 2.0) | {"laterality": "left"}], views=("POST",))
    draft = findings_text(report)
    assert [line.split(":")[0] for line in draft["findings"]] == ["Pelvis (right)", "Pelvis (left)", "Pelvis",
                                                                  "Femur (right)"]
    assert draft["findings"][0].startswith("Pelvis (right): 1 lesion (#3: ")
    assert "in 4 regions (Pelvis (right), Pelvis (left), Pelvis, Femur (right))" in draft["impression"]


def _reviewed(report, findings=None, **not_lesions):
    views = {view: {"network_lesions": 1, "kept": 0, "deleted": 1, "not_lesions": counts}
             for view, counts in not_lesions.items()}
    return report | {"review": {"reviewed": True, "views": views}
                     | ({"not_lesion_findings": findings} if findings is not None else {})}


def test_a_review_without_lesions_says_so_in_the_readers_words_and_names_what_the_reader_decided():
    """Audit 74, finding 3: NM1's only call relabelled ``degenerative`` read "No focal area of increased uptake outlined
    by the model", and the reader's finding was in no text."""
    report = _reviewed(_report([]), [{"view": "ANT", "label": "degenerative", "region": "lumbar_spine",
                                      "laterality": "left"}], ANT={"degenerative": 1})
    draft = findings_text(report)
    assert draft["findings"] == ["Read as no lesion by the reader: degenerative (lumbar spine, ANT)."]
    assert draft["impression"] == "No lesion after review; 1 finding read as degenerative by the reader (lumbar spine, ANT)."
    assert findings_text(_reviewed(_report([])))["impression"] == "No lesion after review."  # every call deleted
    assert findings_text(_report([]))["impression"] == "No focal area of increased uptake outlined by the model."


def test_a_reviews_findings_read_as_no_lesion_are_named_beside_its_lesions_each_with_its_place():
    found = [{"view": "POST", "label": "Bladder", "region": "pelvis", "laterality": "right"},
             {"view": "ANT", "label": "injection_site", "region": "other", "laterality": "left"},
             {"view": "ANT", "label": "Fracture", "region": "ribs_left", "laterality": "left"}]
    report = _reviewed(_report([_lesion(1, "ANT", "skull", 2.0)]), found)
    draft = findings_text(report)
    assert draft["findings"][-1] == ("Read as no lesion by the reader: bladder (pelvis (right), POST); injection site "
                                     "(outside the named bones, ANT); fracture (ribs (left), ANT).")
    assert draft["impression"].startswith("1 distinct lesion in 1 region (Skull); Bone Scan Index 0.50 %; Soloway grade "
                                          "1. 3 findings read as no lesion by the reader: bladder (pelvis (right), "
                                          "POST); injection site (outside the named bones, ANT); fracture (ribs (left), "
                                          "ANT), not counted.")


def test_a_review_written_before_the_places_were_kept_names_the_view_from_its_counts():
    report = _reviewed(_report([]), None, ANT={"Bladder": 2}, POST={})
    assert findings_text(report)["impression"] == "No lesion after review; 2 findings read as bladder by the reader (ANT; ANT)."
