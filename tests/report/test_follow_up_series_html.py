"""A patient's page over time (scintiseg.report.follow_up_series_html): one point and one row per scan, a series
broken by a failed comparison, a scan without a BSI, and every text from a file escaped."""

from __future__ import annotations

import html
import re

from scintiseg.report.follow_up_series_html import scans_of, series_html


def _scan(folder: str, date: str | None, bsi: float | None) -> dict:
    return {"folder": folder, "study_date": date, "bsi_percent": bsi,
            "bsi_covered_mass_percent": None if bsi is None else 100.0, "lesion_count_by_view": {"ANT": 2, "POST": 3}}


def _comparison(early: dict, late: dict, new: int, output: str, step: dict | None = None) -> dict:
    summary = {"new_lesions": new, "persisting_lesions": 1, "lesions_not_seen": 0, "two_or_more_new": new >= 2,
               "bsi_change_points": None if None in (early["bsi_percent"], late["bsi_percent"])
               else late["bsi_percent"] - early["bsi_percent"], "flags": ["coverage_differs"]}
    bones = {"thoracic_spine": {"baseline": early["bsi_percent"] or 0.0, "follow_up": late["bsi_percent"] or 0.0}}
    return {"record": {"baseline": early, "follow_up": late, "interval_days": 60, "summary": summary, "bones": bones},
            "output": output, "step": step}


def test_a_broken_series_keeps_every_scan_once_and_a_scan_without_bsi_has_no_point():
    a, b = _scan("/p/a", "2024-01-01", 0.5), _scan("/p/b", "2024-03-01", None)
    c, d = _scan("/p/c", "2024-05-01", 1.0), _scan("/p/d", "2024-07-01", 1.5)
    step = {"two_plus_two": False, "next_new_lesions": 0, "seen_again_next": 1}
    comparisons = [_comparison(a, b, 1, "a_to_b", step), _comparison(b, c, 0, "b_to_c"), _comparison(c, d, 3, "c_to_d")]
    del comparisons[1]  # the comparison of b and c failed: c starts the series again
    scans = scans_of(comparisons)
    assert [s["scan"]["folder"] for s in scans] == ["/p/a", "/p/b", "/p/c", "/p/d"]
    assert scans[2]["before"] is None and scans[3]["before"]["output"] == "c_to_d"
    page = series_html({"id": "P1", "name": None}, comparisons)
    assert page.count("<circle") == 3 and page.count('data-two-or-more-new="true"') == 1  # b has no BSI; d had 3 new
    series = page.split('<table id="series">')[1].split("</table>")[0]
    assert series.count("<tr") == 5 and "No 2+2 pattern" in page and ">2+2</text>" not in page
    assert 'href="a_to_b/comparison.html"' in page and 'href="c_to_d/comparison.html"' in page
    bones = page.split('<table id="bones">')[1].split("</table>")[0]
    assert bones.count("<tr>") == 2 and "<td>0.500</td><td>0.000</td><td>1.000</td><td>1.500</td>" in bones


def test_text_from_files_is_escaped():
    name = '<script>alert("x")</script>'
    early, late = _scan("/p/<a>", "2024-01-01", 0.5), _scan("/p/b", "2024-03-01", 0.7)
    page = series_html({"id": "P&1", "name": name}, [_comparison(early, late, 2, 'x"><b>', {"two_plus_two": True})],
                       disclaimer="trained <on> phantoms")
    assert "Not a clinical device.</strong> trained &lt;on&gt; phantoms" in page
    assert "<script>" not in page and "<b>" not in page.split("<body>")[1].replace("<b>PCWG3", "")
    assert html.escape(name) in page and "P&amp;1" in page and "after scan 2 (2024-03-01)" in html.unescape(page)


def _series_rows(page: str) -> list[dict[str, str]]:
    """The scans table as one dict per scan, header title -> cell text."""
    table = page.split('<table id="series">')[1].split("</table>")[0]
    titles = [html.unescape(t) for t in re.findall(r"<th[^>]*>(.*?)</th>", table)]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("</thead>")[1])
    return [dict(zip(titles, (html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)))) for row in rows]


def test_each_scans_row_puts_its_counts_and_the_2_plus_2_under_their_own_titles():
    a, b, c = _scan("/p/a", "2024-01-01", 0.5), _scan("/p/b", "2024-03-01", 0.7), _scan("/p/c", "2024-05-01", 0.9)
    first = _comparison(a, b, 2, "a_to_b", {"two_plus_two": True, "next_new_lesions": 4, "seen_again_next": 1})
    second = _comparison(b, c, 4, "b_to_c", {"two_plus_two": False, "next_new_lesions": 0, "seen_again_next": 3})
    rows = _series_rows(series_html({"id": "P1"}, [first, second]))
    assert [(r["New"], r["Persisting"], r["Not seen"]) for r in rows] == [("–", "–", "–"), ("2", "1", "0"), ("4", "1", "0")]
    assert [(r["New on the next scan"], r["Of the new, seen again on the next"], r["2+2 pattern"]) for r in rows] == [
        ("–", "–", "–"), ("4", "1", "yes"), ("0", "3", "no")]
    assert rows[1]["BSI change (points)"] == "+0.20" and rows[1]["Days since the scan before"] == "60"


def test_a_point_is_red_from_two_new_lesions_on():
    a, b = _scan("/p/a", "2024-01-01", 0.5), _scan("/p/b", "2024-03-01", 0.7)
    assert 'data-two-or-more-new="true"' in series_html({"id": "P1"}, [_comparison(a, b, 2, "a_to_b")])
    assert 'data-two-or-more-new="true"' not in series_html({"id": "P1"}, [_comparison(a, b, 1, "a_to_b")])


def test_the_bone_table_lists_only_involved_bones_largest_on_the_last_scan_first():
    a, b = _scan("/p/a", "2024-01-01", 0.5), _scan("/p/b", "2024-03-01", 0.7)
    item = _comparison(a, b, 1, "a_to_b")
    item["record"]["bones"] = {"skull": {"baseline": 0.3, "follow_up": 0.1}, "pelvis": {"baseline": 0.0, "follow_up": 0.6},
                               "femur_left": {"baseline": 0.0, "follow_up": 0.0}}
    bones = series_html({"id": "P1"}, [item]).split('<table id="bones">')[1].split("</table>")[0]
    assert re.findall(r'<tr><td class="t">([^<]+)</td>', bones) == ["pelvis", "skull"]


#: The longest run of text a 1200 px window's scans table can hold on one line in a cell (audit 74, finding 7).
LONGEST_RUN = 24


def test_the_scans_table_fits_a_1200_px_window_its_flags_and_links_breaking_after_underscores():
    """Audit 74, finding 7: the flag ``reader_outlines_follow_up_only`` and the comparison's folder name, each one word
    in a cell kept on one line, pushed the "Comparison" column out of a 1200 px window. A cell kept on one line holds a
    short value; a cell that wraps holds no run longer than LONGEST_RUN between two places a line may break."""
    early, late = _scan("/p/a", "2024-01-15", 0.0459), _scan("/p/b", "2024-06-10", 0.1827)
    comparison = _comparison(early, late, 2, "PH0002_PH0002_met_to_PH0002_met_fu")
    comparison["record"]["summary"]["flags"] = ["reader_outlines_follow_up_only", "registration_uncertain_POST"]
    table = series_html({"id": "PH0002"}, [comparison]).split('<table id="series">')[1].split("</table>")[0]
    cells = re.findall(r'<td(?: class="([^"]*)")?>(.*?)</td>', table.split("</thead>")[1])
    assert cells
    for classes, content in cells:
        text = re.sub(r"<(?!wbr>)[^>]+>", "", content)  # the text shown, its <wbr> kept
        runs = re.split(r"<wbr>|\s+", html.unescape(text)) if "wrap" in classes.split() else [html.unescape(text)]
        assert max(len(run) for run in runs) <= LONGEST_RUN, (classes, content)
    assert "reader_<wbr>outlines_<wbr>follow_<wbr>up_<wbr>only" in table


def test_the_heading_names_the_patient_as_the_reports_do():
    """Audit 74, finding 13: "Phantom^PH0002" in the heading, where the reports say "PH0002 Phantom"."""
    early, late = _scan("/p/a", "2024-01-15", 0.05), _scan("/p/b", "2024-06-10", 0.18)
    page = series_html({"id": "PH0002", "name": "Phantom^PH0002"}, [_comparison(early, late, 2, "a_to_b")])
    assert re.search(r"<h1>(.*?)</h1>", page).group(1) == "Bone scans over time: PH0002 Phantom"
    assert series_html({"id": "PH0002", "name": ""}, [_comparison(early, late, 2, "a_to_b")]).count(
        "<h1>Bone scans over time: PH0002</h1>") == 1  # no name: the ID
