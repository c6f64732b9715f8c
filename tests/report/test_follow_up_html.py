"""The comparison page (scintiseg.report.follow_up_html) and record (follow_up_folder.comparison_record): every
outline drawn in its status's colour, the counts and the PCWG3 sentence as the record has them, text from files
escaped."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from scintiseg.predict.follow_up import compare
from scintiseg.predict.pipeline import PredictSettings, predict_from_probabilities
from scintiseg.report.follow_up_folder import comparison_record, summary_line
from scintiseg.report.follow_up_html import STATUS_COLOURS, comparison_html
from scintiseg.report.predicted_again import PredictedAgain

NAME = "<script>alert(1)</script>^Doe"


def _disc(shape, row, col, radius):
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    return (rows - row) ** 2 + (cols - col) ** 2 <= radius**2


def _another_study(scan, date: str):
    """``scan`` as a later study of its patient: its own Study Instance UID, counts and header, no file (one scan read
    twice is one study: flagged ``same_study`` since session 62, with no PCWG3 sentence)."""
    return replace(scan, study_uid="2.25.62", source=None, metadata={"study_date": date},
                   views={name: view + 1 for name, view in scan.views.items()})


def _listed(prediction, **review) -> dict:
    """A ``report.json`` as its folder's, listing ``prediction``'s lesions as read back (an unedited folder), with
    ``review`` when given."""
    lesions = [{"id": lesion.id, "view": lesion.view, "centroid_row": round(lesion.centroid_row, 2),
                "centroid_col": round(lesion.centroid_col, 2)} for lesion in prediction.lesions]
    return {"lesions": lesions, **({"review": review} if review else {})}


def _read(scan, places):
    mask = np.zeros(scan.shape, bool)
    for row, col in places:
        mask |= _disc(scan.shape, row, col, 4)
    return predict_from_probabilities(scan, {"ANT": np.zeros(scan.shape, np.float32)}, settings=PredictSettings(0.5, 4),
                                      reader_masks={"ANT": mask})


def test_the_page_draws_each_status_and_escapes_the_patients_name(nm1_scan):
    scan = replace(nm1_scan, patient_name=NAME)
    early = _read(replace(scan, metadata={**scan.metadata, "study_date": "20240105"}), [(364, 150), (800, 60)])
    late = _read(_another_study(scan, "20240301"), [(364, 150), (450, 128)])
    result = compare(early, late)
    record = comparison_record(result, (Path("a"), PredictedAgain(early, {}, {})),
                               (Path("b"), PredictedAgain(late, {}, {})))
    json.dumps(record)  # JSON as written
    assert record["interval_days"] == 56 and record["summary"]["new_lesions"] == 1
    assert record["summary"]["lesions_not_seen"] == 1 and not record["summary"]["two_or_more_new"]
    page = comparison_html(record, result)
    assert "<script>" not in page and html.escape("Doe <script>alert(1)</script>") in page  # Family^Given read out
    statuses = {"new": 1, "persisting": 2, "not seen": 1}  # one persisting outline on each image
    for status, count in statuses.items():
        assert page.count(f'data-status="{status}" stroke="{STATUS_COLOURS[status]}"') == count
    assert "Fewer than two new lesions." in page and "over 56 days" in page
    assert summary_line(record).startswith("1 new, 1 persisting, 1 not seen; BSI ")


def test_the_page_says_whose_outlines_each_scan_holds_naming_the_reader_as_the_report_does(nm1_scan):
    """Session 62: the "Outlines" row read "as in the folder" for the network's output, an unsigned review and a folder
    edited in place alike, and a signed review's reader as "Doe^Jane" where the report says "Jane Doe". It says which
    each side is, the reader named as the report's page names them; one side a reader's and the other the network's
    own is flagged and warned of, naming the side."""
    from scintiseg.report import html as report_page

    early = _read(replace(nm1_scan, metadata={**nm1_scan.metadata, "study_date": "20240105"}), [(364, 150)])
    late = _read(_another_study(nm1_scan, "20240405"), [(364, 150), (450, 128), (600, 150)])
    reader = {"name": "Doe^Jane", "organization": "St <Mary>"}
    signed = PredictedAgain(late, _listed(late, reviewed=True, reader=reader), {})
    network = PredictedAgain(early, _listed(early), {})
    result = compare(early, late)
    record = comparison_record(result, (Path("a"), network), (Path("b"), signed))
    assert (record["baseline"]["outlines"], record["follow_up"]["outlines"]) == ("network", "review")
    assert record["follow_up"]["reader"] == "Jane Doe (St <Mary>)" and record["follow_up"]["reviewed_by"] == "Doe^Jane"
    shown = report_page._review_row({"review": {"reader": reader, "views": {}}})[0]
    assert f"reviewed by {html.escape(record['follow_up']['reader'])} (" in shown  # the report's own words
    assert record["summary"]["flags"] == ["reader_outlines_follow_up_only"] and record["summary"]["two_or_more_new"]
    (warning,) = record["summary"]["warnings"]
    assert warning.startswith("The follow-up's outlines are a reader's (reviewed by Jane Doe (St <Mary>)), the "
                              "baseline's the network's own: the comparison mixes two readers' criteria")
    page = comparison_html(record, result)
    assert "Doe^Jane" not in page and "<Mary>" not in page
    row = page[page.index("<th class=\"t\">Outlines</th>"):]
    assert row.startswith("<th class=\"t\">Outlines</th><td class=\"t\">the network&#x27;s own, not reviewed</td>"
                          "<td class=\"t\">reviewed by Jane Doe (St &lt;Mary&gt;)</td>")
    assert f'<p class="warn" id="warning-1"><b>Warning.</b> {html.escape(warning)}</p>' in page

    unsigned = PredictedAgain(late, _listed(late, reviewed=True), {})
    edited = PredictedAgain(late, {**_listed(late), "lesions": _listed(late)["lesions"][:1]}, {})  # LabelMe edited
    for again, kind, words in ((unsigned, "review", "reviewed, unsigned: no reader named"),
                               (edited, "edited", "edited in place, without scintiseg review: no reader named")):
        other = comparison_record(result, (Path("a"), network), (Path("b"), again))
        assert other["follow_up"]["outlines"] == kind and other["summary"]["flags"] == ["reader_outlines_follow_up_only"]
        assert f"<td class=\"t\">{html.escape(words)}</td>" in comparison_html(other, result)
    backwards = comparison_record(result, (Path("a"), PredictedAgain(early, _listed(early, reviewed=True), {})),
                                  (Path("b"), PredictedAgain(late, _listed(late), {})))
    assert backwards["summary"]["flags"] == ["reader_outlines_baseline_only"]
    assert backwards["summary"]["warnings"][0].startswith("The baseline's outlines are a reader's")
    both = comparison_record(result, (Path("a"), PredictedAgain(early, _listed(early, reviewed=True), {})),
                             (Path("b"), unsigned))
    assert both["summary"]["flags"] == [] and both["summary"]["warnings"] == []


def test_one_study_against_its_own_review_is_flagged_with_no_pcwg3_sentence(nm1_scan):
    """Session 62: a scan against its own review (one Study Instance UID) read "2 new" with PCWG3's sentence and no
    flag. It is flagged ``same_study``, warned of, and given no PCWG3 sentence, on the page or in the line."""
    early = _read(nm1_scan, [(364, 150)])
    late = _read(nm1_scan, [(364, 150), (450, 128), (600, 150)])
    result = compare(early, late)
    record = comparison_record(result, (Path("a"), PredictedAgain(early, _listed(early), {})),
                               (Path("b"), PredictedAgain(late, _listed(late, reviewed=True), {})))
    s = record["summary"]
    assert s["new_lesions"] == 2 and not s["two_or_more_new"] and s["same_study"] == "the same Study Instance UID"
    assert s["flags"] == ["same_study", "reader_outlines_follow_up_only"]
    assert [w.split(":")[0] for w in s["warnings"]] == [
        "The baseline and the follow-up are one study (the same Study Instance UID)"]
    page = comparison_html(record, result)
    assert "Two or more new lesions" not in page and "Fewer than two" not in page and "PCWG3 (Scher" not in page
    assert "One study compared with itself: no PCWG3 reading" in page and 'id="warning-1"' in page
    assert "PCWG3" not in summary_line(record) and "same_study" in summary_line(record)


def test_the_lesion_table_puts_each_scans_area_and_ratio_under_its_own_scan():
    from scintiseg.report.follow_up_html import _late_table

    lesion = {"id": 3, "view": "ANT", "region": "ribs_left", "laterality": "left", "status": "persisting",
              "matches_baseline": [1, 2], "area_mm2_baseline": 111.0, "area_mm2": 222.0,
              "lesion_to_normal_bone_baseline": 1.5, "lesion_to_normal_bone": 2.5}
    table = "".join(_late_table({"views": {"ANT": {"follow_up_lesions": [lesion]}}}))
    head = re.findall(r"<th[^>]*>(.*?)</th>", table)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", table)
    row = dict(zip(head, cells))
    assert row["Area mm² (baseline)"] == "111" and row["Area mm²"] == "222"
    assert row["x normal bone (baseline)"] == "1.5" and row["x normal bone"] == "2.5"
    assert row["Baseline lesion(s)"] == "1, 2" and row["Region"] == "Ribs (left)" and row["Status"] == "persisting"


def test_the_bone_table_lists_the_largest_change_first_whatever_its_sign():
    from scintiseg.report.follow_up_html import _bone_table

    bones = {"skull": {"baseline": 0.1, "follow_up": 0.2, "change": 0.1},
             "pelvis": {"baseline": 0.9, "follow_up": 0.4, "change": -0.5},
             "ribs_left": {"baseline": 0.0, "follow_up": 0.2, "change": 0.2}}
    table = "".join(_bone_table({"bones": bones}))
    assert re.findall(r'<tr><td class="t">([^<]+)</td>', table) == ["pelvis", "ribs left", "skull"]
    assert "<td>0.900</td><td>0.400</td><td>-0.500</td>" in table


def test_lesions_outside_the_other_scans_field_are_counted_from_both_scans(nm1_scan):
    early = _read(replace(nm1_scan, metadata={**nm1_scan.metadata, "study_date": "20240105"}), [(364, 150)])
    late = _read(_another_study(nm1_scan, "20240301"), [(364, 150)])
    result = compare(early, late)
    record = comparison_record(result, (Path("a"), PredictedAgain(early, {}, {})),
                               (Path("b"), PredictedAgain(late, {}, {})))
    record["summary"]["outside_field"] = {"follow_up": 1, "baseline": 2}
    counts = re.search(r'<p id="counts">(.*?)</p>', comparison_html(record, result)).group(1)
    assert "3 outside the other scan's field" in html.unescape(counts)


def test_a_relabelled_baseline_call_and_a_lesion_persisting_through_its_pair_say_so():
    """Audit 74, finding 8: a baseline lesion not seen whose place the follow-up's reader labelled ``bladder`` read as
    resolved, and a follow-up lesion persisting through its POST outline showed "Baseline lesion(s) –"."""
    from scintiseg.report.follow_up_html import _gone_table, _late_table

    late = {"id": 2, "view": "ANT", "region": "lumbar_spine", "laterality": "midline", "status": "persisting",
            "matches_baseline": [], "persists_through": {"view": "POST", "id": 4, "matches_baseline": [1]},
            "area_mm2_baseline": None, "area_mm2": 439.2, "lesion_to_normal_bone_baseline": None,
            "lesion_to_normal_bone": 4.0}
    row = dict(zip(*(re.findall(rf"<{cell}[^>]*>(.*?)</{cell}>", "".join(_late_table(
        {"views": {"ANT": {"follow_up_lesions": [late]}}}))) for cell in ("th", "td"))))
    assert row["Baseline lesion(s)"] == "POST 1, through its POST outline 4"
    gone = [{"id": 2, "view": "POST", "region": "pelvis", "laterality": "right", "status": "not seen", "area_mm2": 132.8,
             "lesion_to_normal_bone": 16.7, "relabelled_on_follow_up": ["bladder"]},
            {"id": 5, "view": "POST", "region": "femur_left", "laterality": "left", "status": "not seen",
             "area_mm2": 20.0, "lesion_to_normal_bone": 2.0, "relabelled_on_follow_up": []}]
    table = "".join(_gone_table({"views": {"POST": {"baseline_lesions": gone}}}))
    places = re.findall(r'<td class="t">([^<]*)</td></tr>', table)
    assert places == ["relabelled by the reader as bladder (a finding that is no lesion)", "not outlined"]
    assert re.search(r'<p class="note" id="relabelled">1 of these outline\(s\)', table)


def test_the_counts_say_how_many_lesions_not_seen_the_follow_ups_reader_relabelled(nm1_scan):
    from scintiseg.scan import Shape

    early = _read(replace(nm1_scan, metadata={**nm1_scan.metadata, "study_date": "20240105"}), [(364, 150), (800, 60)])
    late = _read(_another_study(nm1_scan, "20240301"), [(364, 150)])
    bladder = Shape("bladder", [[56, 796], [64, 796], [64, 804], [56, 804]])
    result = compare(early, late, {"ANT": [bladder]})
    record = comparison_record(result, (Path("a"), PredictedAgain(early, {}, {})),
                               (Path("b"), PredictedAgain(late, {}, {})))
    assert record["summary"]["not_seen_relabelled"] == 1
    assert [row["relabelled_on_follow_up"] for row in record["views"]["ANT"]["baseline_lesions"]] == [[], ["bladder"]]
    counts = html.unescape(re.search(r'<p id="counts">(.*?)</p>', comparison_html(record, result)).group(1))
    assert "1 not seen</span> (1 of them relabelled by the follow-up's reader as no lesion)" in counts
    assert summary_line(record).startswith("0 new, 1 persisting, 1 not seen (1 of them relabelled by the follow-up's "
                                           "reader as no lesion); BSI ")


def test_the_images_are_a_grid_of_view_by_date_each_marked_on_the_patients_sides(nm1_scan):
    """Audit 74, finding 7: the four pictures had no R/L marks (the report's page has them) and wrapped three and one.
    Now a row per view under a column per date, each picture marked as the report marks it: ANT R at the image left,
    POST as acquired L at the image left."""
    ant = nm1_scan.view("ANT")
    scan = replace(nm1_scan, views={"ANT": ant, "POST": ant[:, ::-1].copy()})

    def read(scan_of):
        mask = _disc(scan_of.shape, 364, 150, 4)
        return predict_from_probabilities(scan_of, {v: np.zeros(scan_of.shape, np.float32) for v in ("ANT", "POST")},
                                          settings=PredictSettings(0.5, 4), reader_masks={"ANT": mask, "POST": mask})

    early = read(replace(scan, metadata={**scan.metadata, "study_date": "20240105"}))
    late = read(_another_study(scan, "20240301"))
    result = compare(early, late)
    record = comparison_record(result, (Path("a"), PredictedAgain(early, {}, {})),
                               (Path("b"), PredictedAgain(late, {}, {})))
    images = comparison_html(record, result).split('<div class="views" id="images">')[1].split("</div><h2>")[0]
    assert re.findall(r'<div class="date">([^<]*)</div>', images) == ["Baseline (2024-01-05)", "Follow-up (2024-03-01)"]
    figures = re.findall(r'<figure><svg class="scan" [^>]*aria-label="(\w+) (baseline|follow-up)[^"]*"(.*?)</figure>',
                         images)
    assert [(view, date) for view, date, _ in figures] == [("ANT", "baseline"), ("ANT", "follow-up"),
                                                           ("POST", "baseline"), ("POST", "follow-up")]
    for view, _, figure in figures:
        marks = re.findall(r'<text class="side" data-side="(\w)" x="([\d.]+)"', figure)
        assert [side for side, _ in marks] == (["R", "L"] if view == "ANT" else ["L", "R"])
        assert float(marks[0][1]) < float(marks[1][1])  # the first at the image left
        assert ("the patient's right on the image left" if view == "ANT" else "the patient's right on the image right") \
            in html.unescape(figure)
    assert ".views{display:grid;grid-template-columns:repeat(2," in comparison_html(record, result)


def test_the_heading_names_the_patient_as_the_reports_do(nm1_scan):
    """Audit 74, finding 13: the heading read the DICOM name "Phantom^PH0002" where the reports say "PH0002 Phantom"."""
    scan = replace(nm1_scan, patient_name="Phantom^PH0002", metadata={**nm1_scan.metadata, "study_date": "20240105"})
    early, late = _read(scan, [(364, 150)]), _read(_another_study(scan, "20240301"), [(364, 150)])
    result = compare(early, late)
    record = comparison_record(result, (Path("a"), PredictedAgain(early, {}, {})),
                               (Path("b"), PredictedAgain(late, {}, {})))
    assert record["patient"]["name"] == "Phantom^PH0002"  # the JSON keeps the header's value
    assert re.search(r"<h1>(.*?)</h1>", comparison_html(record, result)).group(1) == "Follow-up comparison: PH0002 Phantom"
