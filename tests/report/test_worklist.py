"""The worklist page: failed inputs first, then scans by triage score (ties in input order), a study's two files as
one row with the scan's values from its report, text escaped, links relative; recognised as predict's own page."""

import json
import re
from pathlib import Path

from scintiseg.report.worklist import WORKLIST_NAME, worklist_entries, worklist_html, write_worklist


def _report(out: Path, name: str, triage: float, **summary) -> None:
    folder = out / name
    folder.mkdir(parents=True)
    record = {"format": "scintiseg-report", "views": {"ANT": {}, "POST": {}},
              "patient": {"id": f"P-{name}", "name": "Doe^Jane"}, "study": {"study_date": "20261201"},
              "model": {"disclaimer": "Research use only."},
              "summary": {"triage_score": triage, "lesion_count": 9, "distinct_lesion_count": 3, "soloway_grade": 1,
                          "bsi_percent": 0.42, "bsi_covered_mass_percent": 100.0, "qc_flags": []} | summary}
    (folder / "report.json").write_text(json.dumps(record))


def _row(name: str, output: str, status: str = "ok", triage: str = "", error: str = "") -> dict:
    return {"input": f"/scans/{name}", "status": status, "output": output, "views": "ANT,POST",
            "triage_score": triage, "lesion_count": "", "soloway_grade": "", "bsi_percent": "",
            "bsi_covered_mass_percent": "", "qc_flags": "", "error": error}


def test_failed_inputs_come_first_then_scans_by_triage_score_ties_in_input_order(tmp_path):
    for name, triage in (("low", 0.2), ("high", 0.9), ("mid_a", 0.5), ("mid_b", 0.5)):
        _report(tmp_path, name, triage)
    rows = [_row("low.dcm", "low", triage="0.2"), _row("mid_b.dcm", "mid_b", triage="0.5"),
            _row("broken.dcm", "", status="failed", error="not a DICOM file"),
            _row("high.dcm", "high", triage="0.9"), _row("mid_a.dcm", "mid_a", triage="0.5")]
    entries = worklist_entries(tmp_path, rows)
    assert [(e.status, e.output) for e in entries] == [("failed", ""), ("ok", "high"), ("ok", "mid_b"), ("ok", "mid_a"),
                                                       ("ok", "low")]
    assert entries[0].error == "not a DICOM file" and entries[0].inputs == ["/scans/broken.dcm"]


def test_equal_scores_are_read_by_the_larger_bsi_then_more_lesions(tmp_path):
    """A score that reaches 1 in several scans (rounded where the model is sure) orders nothing among them."""
    _report(tmp_path, "small", 1.0, bsi_percent=0.1)
    _report(tmp_path, "none", 1.0, bsi_percent=None, distinct_lesion_count=7)
    _report(tmp_path, "big", 1.0, bsi_percent=2.5)
    _report(tmp_path, "fewer", 1.0, bsi_percent=0.1, distinct_lesion_count=1)
    rows = [_row(f"{name}.dcm", name, triage="1.0") for name in ("small", "none", "fewer", "big")]
    assert [e.output for e in worklist_entries(tmp_path, rows)] == ["big", "small", "fewer", "none"]


def test_a_studys_two_files_are_one_row_with_the_scans_values_from_its_report(tmp_path):
    """The summary's rows of a joined study give each view's own score and lesions; the worklist takes the scan's:
    the report's triage score (the larger view's) and distinct lesions, once, naming both files."""
    _report(tmp_path, "p", 0.8, distinct_lesion_count=2, qc_flags=["low_counts_ANT"])
    _report(tmp_path, "q", 0.6)
    rows = [_row("p_ANT.dcm", "p", triage="0.3"), _row("q.dcm", "q", triage="0.6"), _row("p_POST.dcm", "p", triage="0.8")]
    entries = worklist_entries(tmp_path, rows)
    assert [e.output for e in entries] == ["p", "q"]
    assert entries[0].inputs == ["/scans/p_ANT.dcm", "/scans/p_POST.dcm"]
    assert (entries[0].triage_score, entries[0].lesion_count, entries[0].qc_flags) == (0.8, 2, ["low_counts_ANT"])
    assert entries[0].patient["id"] == "P-p" and entries[0].study["study_date"] == "20261201"


def test_a_scan_whose_report_cannot_be_read_keeps_its_summary_rows_values(tmp_path):
    _report(tmp_path, "a", 0.4)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "report.json").write_text("{truncated")
    row = _row("b.dcm", "b", triage="0.7") | {"lesion_count": "2", "bsi_percent": "", "qc_flags": "x_ANT;y_POST"}
    entries = worklist_entries(tmp_path, [_row("a.dcm", "a", triage="0.4"), row])
    assert [e.output for e in entries] == ["b", "a"]
    assert (entries[0].triage_score, entries[0].lesion_count, entries[0].bsi_percent, entries[0].qc_flags) == \
        (0.7, 2, None, ["x_ANT", "y_POST"])


def test_the_page_links_each_report_relatively_escapes_text_and_says_a_partial_bsis_scope(tmp_path):
    _report(tmp_path, "a", 0.9996, bsi_covered_mass_percent=27.4)
    _report(tmp_path, "b", 0.1)
    rows = [_row("<b>.dcm", "b", triage="0.1"), _row("a.dcm", "a", triage="0.9996"),
            _row("x.dcm", "", status="failed", error="<script>alert(1)</script>")]
    path = write_worklist(tmp_path, rows)
    assert path == tmp_path / WORKLIST_NAME
    page = path.read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;.dcm" in page
    links = re.findall(r'href="([^"]+)"', page)
    assert links == ["a/report.html", "b/report.html"]  # by score, relative
    assert all((tmp_path / link).parent.is_dir() for link in links)
    assert "<td>0.999</td>" in page and "<td>1</td><td>3</td>" not in page  # 0.9996: never shown as a certainty
    assert "27 % seen" in page and "Research use only." in page
    assert "Jane Doe<br><span class=\"note\">P-a</span>" in page and "2026-12-01" in page  # a person's name and date as people read them
    assert page.index("Not read by the model") < page.index("a/report.html")


def test_an_empty_batch_gives_a_page_without_rows():
    page = worklist_html([])
    assert "<tbody>\n</tbody>" in page and "0 scan(s)" in page


def test_the_worklist_is_known_as_predicts_own_page_beside_its_summary(tmp_path):
    from scintiseg.io.not_scans import prediction_batch_files

    (tmp_path / "summary.csv").write_text("input,status,output,lesions\na.dcm,ok,a,1\n")
    write_worklist(tmp_path, [])
    assert prediction_batch_files(tmp_path) == {"summary.csv", WORKLIST_NAME}
    (tmp_path / WORKLIST_NAME).write_text("<html><title>my notes</title></html>")  # a user's page of that name
    assert prediction_batch_files(tmp_path) == {"summary.csv"}


def test_every_triage_score_has_three_decimals_never_rounded_up_to_one_nor_down_to_none(tmp_path):
    """Audit 74 (finding 10): a score the report rounded to 1 read ``1`` beside ``0.999`` (3 significant digits give a
    score of 1 one digit); every cell now has 3 decimals, a score under 1 never reads 1.000, one under 0.001 not 0."""
    scores = {"sure": 1.0, "nm1": 0.99922, "almost": 0.99996, "low": 0.157748, "tiny": 0.00012, "under": 0.0007}
    for name, triage in scores.items():
        _report(tmp_path, name, triage)
    page = write_worklist(tmp_path, [_row(f"{name}.dcm", name, triage=str(t)) for name, t in scores.items()]).read_text()
    cells = re.findall(r'<td class="t nw">ANT, POST</td><td>([^<]*(?:&lt;[^<]*)?)</td>', page)
    assert cells == ["1.000", "0.999", "0.999", "0.158", "&lt;0.001", "&lt;0.001"]  # (0.0007: not up to 0.001)


def test_a_reviewed_batchs_list_orders_by_the_readers_result_links_the_folders_left_out_and_names_the_reader(tmp_path):
    """Audit 74 (finding 14): a review wrote no list. REV/worklist.html: the folders that could not be reviewed first,
    the reviewed scans by reviewed BSI then lesions (a scan the reader cleared is not first for its model's score of
    0.999), each with its reader; the folders nobody edited last, linked in the prediction's folder."""
    rev, pred = tmp_path / "REV", tmp_path / "OUT"
    _report(rev, "cleared", 0.99922, bsi_percent=0.0, distinct_lesion_count=0)
    _report(rev, "involved", 0.6, bsi_percent=0.8)
    record = json.loads((rev / "involved" / "report.json").read_text())
    record["review"] = {"reviewed": True, "source_folder": str(pred / "involved"), "reader": {"name": "Doe^Jane"}}
    (rev / "involved" / "report.json").write_text(json.dumps(record))
    _report(pred, "untouched", 0.97)
    rows = [_row("cleared", "cleared", status="reviewed") | {"input": str(pred / "cleared")},
            {"input": str(pred / "untouched"), "status": "not edited", "output": "", "error": "no LabelMe file edited"},
            _row("involved", "involved", status="reviewed") | {"input": str(pred / "involved")},
            {"input": str(pred / "moved"), "status": "failed", "output": "", "error": "its scan is gone"}]
    entries = worklist_entries(rev, rows, kind="review")
    assert [(e.status, e.output) for e in entries] == [("failed", ""), ("reviewed", "involved"),
                                                       ("reviewed", "cleared"), ("not edited", "untouched")]
    assert entries[-1].patient["id"] == "P-untouched" and entries[-1].triage_score == 0.97  # the prediction's values
    page = write_worklist(rev, rows, kind="review").read_text()
    assert re.findall(r'href="([^"]+)"', page) == ["involved/report.html", "cleared/report.html",
                                                   "../OUT/untouched/report.html"]
    assert (rev / "../OUT/untouched/report.json").is_file()
    assert "Not reviewed:</b> its scan is gone" in page and "Not read by the model" not in page
    assert "reviewed by Jane Doe" in page and "reviewed, not signed" in page and "Reviewed batch" in page
    assert "REV/worklist.html" in worklist_html([])  # the predict list names the reviewed batch's list
