"""``scintiseg compare``: a follow-up prediction read against the baseline's, end to end on a phantom patient's ANT +
POST DICOM scans, and every bad input refused in one line with nothing written."""

from __future__ import annotations

import html
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage as ndi

from scintiseg.cli import main
from scintiseg.io.dicom import write_dicom
from scintiseg.phantom import generate_patient, profile
from scintiseg.predict.bsi import view_weights

#: The follow-up's patient lies this many (rows, columns) away from where the baseline's lay.
MOVE = (8, -3)


def _square(row: float, col: float, half: float = 5.0) -> list[list[float]]:
    return [[col - half, row - half], [col + half, row - half], [col + half, row + half], [col - half, row + half]]


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> dict:
    """Phantom patient 4 (9 ANT and 15 POST lesions) scanned twice, three months apart, lying :data:`MOVE` pixels otherwise, both predicted."""
    root = tmp_path_factory.mktemp("compare")
    (root / "scans").mkdir()
    scan = generate_patient(4, profile("default"), patient_id="PID-7").scan
    early = replace(scan, metadata={**scan.metadata, "study_date": "20240105"})
    late = replace(scan, views={name: np.roll(view, MOVE, axis=(0, 1)) for name, view in scan.views.items()},
                   metadata={**scan.metadata, "study_date": "20240412"}, study_uid="2.25.62002",
                   series_uid="2.25.62012")  # a later study (one study compared with itself: flagged since session 62)
    write_dicom(early, root / "scans" / "baseline.dcm")
    write_dicom(late, root / "scans" / "follow_up.dcm")
    write_dicom(replace(late, patient_id="PID-8"), root / "scans" / "someone_else.dcm")
    assert main(["predict", str(root / "scans" / "baseline.dcm"), str(root / "scans" / "follow_up.dcm"),
                 "--out", str(root / "predictions"), "--quiet"]) == 0
    return {"root": root, "baseline": root / "predictions" / "baseline",
            "follow_up": root / "predictions" / "follow_up", "shape": scan.shape, "ant": scan.view("ANT")}


def _lesion_shapes(folder: Path, view: str) -> list[dict]:
    document = json.loads((folder / f"{view}.labelme.json").read_text())
    return [shape for shape in document["shapes"] if shape["label"] == "lesion"]


def _set_lesions(folder: Path, view: str, shapes: list[dict]) -> None:
    path = folder / f"{view}.labelme.json"
    document = json.loads(path.read_text())
    path.write_text(json.dumps({**document, "shapes": shapes}))


def _reader_outlines(folder: Path, baseline: Path, drawn: dict[str, list[tuple[int, int]]],
                     move: tuple[int, int]) -> None:
    """A reader's outlines of a patient moved by ``move`` from ``baseline``: the baseline's lesions moved, and squares at
    each view's ``drawn`` places (baseline pixels)."""
    for view in ("ANT", "POST"):
        shapes = [{**shape, "points": [[x + move[1], y + move[0]] for x, y in shape["points"]]}
                  for shape in _lesion_shapes(baseline, view)]
        shapes += [{"label": "lesion", "points": _square(r + move[0], c + move[1]), "group_id": None,
                    "description": "", "shape_type": "polygon", "flags": {}} for r, c in drawn.get(view, [])]
        _set_lesions(folder, view, shapes)


def _bone_places(report: dict, ant: np.ndarray, rows: tuple[int, int] = (180, 371)) -> list[tuple[int, int]]:
    """Places on bright bone of the ANT view (smoothed counts in the top 5 % of the band's body) at least 40 mm from every
    baseline lesion of either view (POST mirrored) and from each other, in a band of ``rows`` (by default the chest and
    spine: the head and the bladder left out)."""
    spacing = report["input"]["pixel_spacing_mm"][0]
    cols = ant.shape[1]
    centres = [(lesion["centroid_row"], lesion["centroid_col"] if lesion["view"] == "ANT"
                else cols - 1 - lesion["centroid_col"]) for lesion in report["lesions"]]
    smooth = ndi.gaussian_filter(ant.astype(float), 3)
    band = np.zeros(ant.shape, bool)
    band[rows[0]:rows[1], 20:cols - 20] = True
    body = band & (smooth > 0.2 * smooth[band].max())
    bone = body & (smooth > np.percentile(smooth[body], 95))
    places: list[tuple[int, int]] = []
    for r, c in zip(*np.nonzero(bone)):
        if all(np.hypot(r - a, c - b) * spacing >= 40.0 for a, b in [*centres, *places]):
            places.append((int(r), int(c)))
    return places


def test_the_reader_outlined_follow_up_gives_two_new_lesions_a_pair_once(pair, tmp_path, capsys):
    """The follow-up's outlines are the baseline's, moved with the patient, plus two new lesions: one on ANT alone and
    one on both views (one lesion). Everything the baseline showed persists; the BSI rises."""
    follow = tmp_path / "follow_up"
    shutil.copytree(pair["follow_up"], follow)
    baseline = json.loads((pair["baseline"] / "report.json").read_text())
    cols = pair["shape"][1]
    places = _bone_places(baseline, pair["ant"])
    assert len(places) >= 2, "the test needs two places on bone away from the baseline's lesions"
    (r1, c1) = places[0]
    (r2, c2) = max(places, key=lambda place: np.hypot(place[0] - r1, place[1] - c1))
    _reader_outlines(follow, pair["baseline"], {"ANT": [(r1, c1), (r2, c2)], "POST": [(r2, cols - 1 - c2)]}, MOVE)
    out = tmp_path / "comparison"
    assert main(["compare", str(pair["baseline"]), str(follow), "--out", str(out)]) == 0
    record = json.loads((out / "comparison.json").read_text())
    summary = record["summary"]
    groups = len(baseline["lesions"]) - len(baseline["pairs"])
    assert (summary["new_lesions"], summary["persisting_lesions"], summary["lesions_not_seen"]) == (2, groups, 0)
    assert summary["two_or_more_new"] and summary["bsi_change_points"] > 0.05  # two 11 x 11 px lesions on bone
    statuses = [lesion["status"] for view in record["views"].values() for lesion in view["follow_up_lesions"]]
    assert statuses.count("new") == 3  # two on ANT, one on POST: three outlines, two lesions
    assert record["interval_days"] == 98 and record["patient"]["id"] == "PID-7"
    for view in record["views"].values():
        assert view["registration"]["method"] == "regions"
        assert abs(view["registration"]["rotation_deg"]) < 0.3 and abs(view["registration"]["scale"] - 1) < 0.01
        assert view["registration"]["translation_mm"] == pytest.approx([-MOVE[1] * 2.26, -MOVE[0] * 2.26], abs=5.0)
    page = html.unescape((out / "comparison.html").read_text())
    assert page.count('data-status="new"') == 3 and "over 98 days" in page and "Two or more new lesions." in page
    assert "2 new" in capsys.readouterr().err
    assert not list(tmp_path.glob(".comparison.partial-*"))
    _check_gsps(out / "gsps.dcm", new=3, persisting=sum(len(_lesion_shapes(pair["baseline"], v)) for v in ("ANT", "POST")))


def test_a_reviewed_follow_up_against_the_networks_baseline_and_a_scan_against_its_own_review_are_flagged(
        pair, tmp_path, capsys):
    """Session 62 (an audit, runs/s62/review_audit): an unreviewed baseline against a reviewed follow-up counted the
    lesions the network missed on the baseline and the reader added as new, with no warning, and named the reader
    "Doe^Jane"; a scan against its own review read "2 new" with PCWG3's sentence. Now the first is flagged (JSON,
    page, a stderr line naming the side), the reader named as the report names them, and the second is one study
    with no PCWG3 sentence."""
    places = _bone_places(json.loads((pair["baseline"] / "report.json").read_text()), pair["ant"])
    assert len(places) >= 2, "the test needs two places on bone away from the baseline's lesions"
    follow = Path(shutil.copytree(pair["follow_up"], tmp_path / "follow_up"))
    _reader_outlines(follow, pair["baseline"], {"ANT": places[:2]}, MOVE)
    assert main(["review", str(follow), "--out", str(tmp_path / "reviewed"), "--reader", "Doe^Jane", "--no-dicom",
                 "--quiet"]) == 0
    capsys.readouterr()
    out = tmp_path / "mixed"
    assert main(["compare", str(pair["baseline"]), str(tmp_path / "reviewed"), "--out", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[1].startswith(
        "scintiseg compare: warning: The follow-up's outlines are a reader's (reviewed by Jane Doe), the baseline's "
        "the network's own: the comparison mixes two readers' criteria")
    record = json.loads((out / "comparison.json").read_text())
    assert record["summary"]["flags"] == ["reader_outlines_follow_up_only"] and record["summary"]["new_lesions"] == 2
    assert (record["baseline"]["outlines"], record["follow_up"]["outlines"]) == ("network", "review")
    page = html.unescape((out / "comparison.html").read_text())
    assert "reviewed by Jane Doe" in page and "Doe^Jane" not in page and "the network's own, not reviewed" in page
    # audit 74, finding 1: the follow-up's BSI is its signed report's, each bone read as the report reads it (a bone
    # the reader outlined on ANT alone from ANT, not halved or taken from the nearer POST)
    signed = json.loads((tmp_path / "reviewed" / "report.json").read_text())
    weights = signed["summary"]["bsi_view_weights"]
    tables = {view: record["bsi"]["bones"] for view, record in signed["views"].items()}
    assert any(weights[bone] != view_weights(bone, tables) for bone in weights), "no bone read from the reader's view"
    assert record["follow_up"]["bsi_percent"] == pytest.approx(signed["summary"]["bsi_percent"], abs=1e-4)
    assert {bone: values["follow_up"] for bone, values in record["bones"].items() if values["follow_up"]} == \
        pytest.approx(_bone_shares(signed), abs=1e-4)
    assert "mixes two readers' criteria" in page

    own = Path(shutil.copytree(pair["baseline"], tmp_path / "baseline"))
    _reader_outlines(own, pair["baseline"], {"ANT": places[:2]}, (0, 0))  # the baseline's own review: two added
    assert main(["review", str(own), "--out", str(tmp_path / "own_review"), "--no-dicom", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["compare", str(pair["baseline"]), str(tmp_path / "own_review"), "--out", str(tmp_path / "own")]) == 0
    err = capsys.readouterr().err
    summary = json.loads((tmp_path / "own" / "comparison.json").read_text())["summary"]
    assert summary["new_lesions"] == 2 and not summary["two_or_more_new"] and summary["flags"][0] == "same_study"
    assert "progression if confirmed" not in err and "warning: The baseline and the follow-up are one study (the " \
        "same Study Instance UID)" in err
    page = html.unescape((tmp_path / "own" / "comparison.html").read_text())
    assert "Two or more new lesions" not in page and "One study compared with itself: no PCWG3 reading" in page
    assert "reviewed, unsigned: no reader named" in page


def _bone_shares(report: dict) -> dict[str, float]:
    """Bone group -> its share of the report's BSI (points), each view's contribution weighted as the report's
    ``bsi_view_weights`` says (the bones involved only)."""
    weights = report["summary"]["bsi_view_weights"]
    shares: dict[str, float] = {}
    for view, record in report["views"].items():
        for bone, table in record["bsi"]["bones"].items():
            shares[bone] = shares.get(bone, 0.0) + weights[bone][view] * float(table.get("contribution_percent") or 0)
    return {bone: share for bone, share in shares.items() if share}


def _check_gsps(path: Path, new: int, persisting: int) -> None:
    """The comparison's GSPS draws each follow-up outline on its status's layer, its text the id and the status, and
    passes dciodvfy where it is installed."""
    import subprocess

    import pydicom

    gsps = pydicom.dcmread(path)
    assert gsps.ContentLabel == "FOLLOW_UP" and gsps.ContentDescription.startswith("scintiseg follow-up against 2024-01-05")
    assert [layer.GraphicLayer for layer in gsps.GraphicLayerSequence] == ["NEW", "PERSISTING"]
    drawn: dict[str, int] = {}
    for annotation in gsps.GraphicAnnotationSequence:
        drawn[annotation.GraphicLayer] = drawn.get(annotation.GraphicLayer, 0) + len(annotation.GraphicObjectSequence)
        assert all(text.UnformattedTextValue.endswith(annotation.GraphicLayer.lower())
                   for text in annotation.TextObjectSequence)
    assert drawn == {"NEW": new, "PERSISTING": persisting}
    if shutil.which("dciodvfy"):
        lines = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60).stderr.splitlines()
        assert not [line for line in lines if line.startswith("Error")]


def test_an_unedited_pair_compares_every_lesion_by_the_network(pair, tmp_path):
    out = tmp_path / "comparison"
    assert main(["compare", str(pair["baseline"]), str(pair["follow_up"]), "--out", str(out)]) == 0
    record = json.loads((out / "comparison.json").read_text())
    late = json.loads((pair["follow_up"] / "report.json").read_text())
    outlines = sum(len(view["follow_up_lesions"]) for view in record["views"].values())
    assert outlines == len(late["lesions"])
    assert record["follow_up"]["bsi_percent"] == pytest.approx(late["summary"]["bsi_percent"], abs=1e-3)


@pytest.mark.parametrize("case", ["swapped", "same", "out_is_input", "out_taken", "other_patient", "not_a_report",
                                  "out_under_a_file", "scan_moved"])
def test_bad_input_is_one_line_and_nothing_is_written(pair, tmp_path, capsys, case):
    baseline, follow, out = pair["baseline"], pair["follow_up"], tmp_path / "comparison"
    extra: list[str] = []
    expected = {"swapped": "was acquired before the baseline", "same": "are the same folder",
                "out_is_input": "must be a new folder", "out_taken": "is not a scintiseg comparison folder",
                "other_patient": "needs two scans of one patient", "not_a_report": "no scintiseg report.json",
                "out_under_a_file": "a_file", "scan_moved": "is not there (give it with --follow-up-scan)"}[case]
    if case == "swapped":
        baseline, follow = follow, baseline
    elif case == "same":
        follow = baseline
    elif case == "out_is_input":
        out = follow
    elif case == "out_taken":
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    elif case == "other_patient":
        extra = ["--follow-up-scan", str(pair["root"] / "scans" / "someone_else.dcm")]
    elif case == "not_a_report":
        follow = tmp_path
    elif case == "out_under_a_file":  # a folder that cannot be made: the OS's reason, one line
        (tmp_path / "a_file").write_text("")
        out = tmp_path / "a_file" / "comparison"
    elif case == "scan_moved":  # compare names its own option for the file, not review's --scan
        follow = Path(shutil.copytree(follow, tmp_path / "moved"))
        report = json.loads((follow / "report.json").read_text())
        report["input"]["source"] = str(tmp_path / "gone.dcm")
        (follow / "report.json").write_text(json.dumps(report))
    assert main(["compare", str(baseline), str(follow), "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0] and "Traceback" not in err[0]
    if case == "out_taken":
        assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    elif case != "out_is_input":
        assert not out.exists()
    if case != "out_under_a_file":
        assert not list(out.parent.glob(f".{out.name}.partial-*"))


def _spoil_settings(folder: Path, key: str, value) -> None:
    report = json.loads((folder / "report.json").read_text())
    if key == "settings":
        report["settings"] = value
    else:
        report["settings"][key] = value
    (folder / "report.json").write_text(json.dumps(report))


@pytest.mark.parametrize("key, value, message", [
    ("threshold", None, "settings.threshold must be a number in (0, 1], got null"),
    ("threshold", -3, "settings.threshold must lie in (0, 1], got -3"),
    ("threshold", "abc", 'settings.threshold must be a number in (0, 1], got "abc"'),
    ("min_area_px", "x", 'settings.min_area_px must be a whole number of pixels, at least 1, got "x"'),
    ("min_area_px", -1, "settings.min_area_px must be at least 1, got -1"),
    ("min_area_px", 2.5, "settings.min_area_px must be a whole number of pixels, at least 1, got 2.5"),
    ("settings", [], "settings must be an object of predict's settings, got a list"),
    ("regions", "x", "settings.regions: unknown region method 'x'"),
    ("spine_pattern_ratio", float("nan"), "settings.spine_pattern_ratio: spine-pattern ratio nan is not a positive"),
])
def test_a_bad_recorded_setting_is_one_line_naming_the_report(pair, tmp_path, capsys, key, value, message):
    follow = Path(shutil.copytree(pair["follow_up"], tmp_path / "follow_up"))
    _spoil_settings(follow, key, value)
    out = tmp_path / "comparison"
    capsys.readouterr()
    assert main(["compare", str(pair["baseline"]), str(follow), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{follow / 'report.json'}: {message}" in err[0] and "Traceback" not in err[0]
    assert not out.exists() and not list(tmp_path.glob(".comparison.partial-*"))


@pytest.mark.parametrize("content, message", [("", "is empty, not a scintiseg report"),
                                              ("{", "is malformed JSON (Expecting property name")])
def test_a_damaged_report_says_so_not_that_there_is_none(pair, tmp_path, capsys, content, message):
    follow = Path(shutil.copytree(pair["follow_up"], tmp_path / "follow_up"))
    (follow / "report.json").write_text(content)
    capsys.readouterr()
    for command in (["compare", str(pair["baseline"]), str(follow)], ["compare", str(follow)]):  # a pair; a batch
        out = tmp_path / "comparison"
        assert main([*command, "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"{follow / 'report.json'}: {message}" in err[0]
        assert "no scintiseg report.json here" not in err[0] and "Traceback" not in err[0] and not out.exists()


def test_a_batch_lists_the_folders_with_a_bad_report_and_compares_the_rest(pair, tmp_path, capsys):
    """PID-7's baseline and follow-up beside a copy of the follow-up whose recorded threshold is -3 and one whose
    report.json is empty: each listed failed with its one line, the pair compared, the summary written (the first
    stopped the batch with a traceback; the second was passed over unsaid)."""
    import csv

    batch = tmp_path / "predictions"
    shutil.copytree(pair["baseline"], batch / "a_baseline")
    shutil.copytree(pair["follow_up"], batch / "b_follow_up")
    shutil.copytree(pair["follow_up"], batch / "c_bad_settings")
    shutil.copytree(pair["follow_up"], batch / "d_empty_report")
    _spoil_settings(batch / "c_bad_settings", "threshold", -3)
    (batch / "d_empty_report" / "report.json").write_text("")
    out = tmp_path / "compared"
    capsys.readouterr()
    assert main(["compare", str(batch), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "1 comparison(s) written, 0 folder(s) left out, 2 failed" in err
    assert f"{batch / 'c_bad_settings' / 'report.json'}: settings.threshold must lie in (0, 1], got -3" in err
    assert f"{batch / 'd_empty_report' / 'report.json'}: is empty, not a scintiseg report" in err
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert sorted((Path(r["follow_up"]).name, r["status"]) for r in rows) == [
        ("b_follow_up", "compared"), ("c_bad_settings", "failed"), ("d_empty_report", "failed")]
    compared = next(r for r in rows if r["status"] == "compared")
    assert (out / compared["output"] / "comparison.json").is_file()


def _three_scans(pair: dict, tmp_path: Path) -> Path:
    """PID-7's scans in ``tmp_path/predictions``: a_baseline, b_follow_up and a third three months later lying twice as
    far off, each outlined by a reader as the baseline's lesions moved, two new ones on b_follow_up, and both again with
    two more on the third."""
    from scintiseg.io import read_scan

    late = read_scan(pair["root"] / "scans" / "follow_up.dcm")
    third = replace(late, views={n: np.roll(v, MOVE, axis=(0, 1)) for n, v in late.views.items()},
                    metadata={**late.metadata, "study_date": "20240710"}, study_uid="2.25.62003",
                    series_uid="2.25.62013")
    (tmp_path / "scans").mkdir()
    write_dicom(third, tmp_path / "scans" / "third.dcm")
    batch = tmp_path / "predictions"
    shutil.copytree(pair["baseline"], batch / "a_baseline")
    shutil.copytree(pair["follow_up"], batch / "b_follow_up")
    assert main(["predict", str(tmp_path / "scans" / "third.dcm"), "--out", str(batch), "--quiet"]) == 0
    places = _bone_places(json.loads((pair["baseline"] / "report.json").read_text()), pair["ant"], rows=(180, 600))
    assert len(places) >= 4, "the test needs four places on bone away from the baseline's lesions"
    _reader_outlines(batch / "b_follow_up", pair["baseline"], {"ANT": places[:2]}, MOVE)
    _reader_outlines(batch / "third", pair["baseline"], {"ANT": places[:4]}, (2 * MOVE[0], 2 * MOVE[1]))
    return batch


def test_a_folder_of_predictions_compares_each_patients_scans_in_date_order(pair, tmp_path, capsys):
    """PID-7's three dated scans (the third lying twice as far off), an undated fourth, and PID-8's only scan: two
    comparisons, date after date, and each folder left out says why. A reader outlined the baseline's lesions on the
    later scans, two new ones on the second, and both again with two more on the third, 89 days later: read together,
    the 2+2 pattern."""
    import csv

    from scintiseg.io import read_scan

    root = pair["root"]
    batch = _three_scans(pair, tmp_path)
    (batch / "third").rename(batch / "0_third")  # a name that sorts first: the order is the study dates', not the names'
    late = read_scan(root / "scans" / "follow_up.dcm")
    write_dicom(replace(late, metadata={k: v for k, v in late.metadata.items() if "date" not in k}),
                tmp_path / "scans" / "undated.dcm")
    assert main(["predict", str(tmp_path / "scans" / "undated.dcm"), str(root / "scans" / "someone_else.dcm"),
                 "--out", str(batch), "--quiet"]) == 0
    capsys.readouterr()
    out = tmp_path / "compared"
    assert main(["compare", str(batch), "--out", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "2 comparison(s) written, 2 folder(s) left out, 0 failed" in err
    assert "PID-7: 2 new lesions on b_follow_up, 2 more on the next scan 89 days later: PCWG3's 2+2 pattern" in err
    rows = list(csv.DictReader((out / "summary.csv").open()))
    compared = [row for row in rows if row["status"] == "compared"]
    assert [(Path(r["baseline"]).name, Path(r["follow_up"]).name, r["interval_days"]) for r in compared] == [
        ("a_baseline", "b_follow_up", "98"), ("b_follow_up", "0_third", "89")]
    for row in compared:
        assert row["patient_id"] == "PID-7" and (out / row["output"] / "comparison.html").is_file()
        assert int(row["persisting_lesions"]) >= 1 and row["new_lesions"] == "2"
    read_on = {key: compared[0][key] for key in ("next_scan_new_lesions", "days_to_next_scan", "new_seen_on_next_scan",
                                                 "new_not_seen_on_next_scan", "pcwg3_2plus2")}
    assert read_on == {"next_scan_new_lesions": "2", "days_to_next_scan": "89", "new_seen_on_next_scan": "2",
                       "new_not_seen_on_next_scan": "0", "pcwg3_2plus2": "yes"}
    assert compared[1]["pcwg3_2plus2"] == compared[1]["next_scan_new_lesions"] == ""
    assert {row["series_page"] for row in compared} == {"PID-7_series.html"}
    page = html.unescape((out / "PID-7_series.html").read_text())
    assert page.count("<circle") == 3 and page.count('data-two-or-more-new="true"') == 2
    assert "Not a clinical device." in page  # the shipped model's disclaimer, as on every report
    assert ">2+2</text>" in page and "PCWG3's 2+2 pattern</b> after scan 2 (2024-04-12)" in page
    for row in compared:
        assert f'href="{row["output"]}/comparison.html"' in page
    assert "series.html" in err and not list(out.glob("PID-8*"))
    why = {Path(r["follow_up"]).name: r["error"] for r in rows if r["status"] == "left out"}
    assert why == {"undated": "no study date: name the pair to compare it", "someone_else": "the patient's only scan here"}


def test_three_folders_are_one_patients_series_in_the_order_given(pair, tmp_path, capsys):
    """``compare A B C``: the same comparisons, series reading and page as the batch gives PID-7; the folders out of
    date order, or one given twice, are refused in one line with nothing written."""
    import csv

    batch = _three_scans(pair, tmp_path)
    folders = [str(batch / name) for name in ("a_baseline", "b_follow_up", "third")]
    capsys.readouterr()
    out = tmp_path / "series"
    assert main(["compare", *folders, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "2 comparison(s) written, 0 folder(s) left out, 0 failed" in err and "PID-7_series.html" in err
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [(r["output"], r["new_lesions"], r["pcwg3_2plus2"]) for r in rows] == [
        ("PID-7_a_baseline_to_b_follow_up", "2", "yes"), ("PID-7_b_follow_up_to_third", "2", "")]
    assert (out / "PID-7_series.html").is_file() and (out / rows[0]["output"] / "gsps.dcm").is_file()
    for bad, why in ((folders[::-1], "was acquired before the baseline"), ([*folders, folders[0]], "given twice")):
        refused = tmp_path / f"refused{len(bad)}"
        assert main(["compare", *bad, "--out", str(refused)]) == 2
        line = capsys.readouterr().err.strip()
        assert why in line and len(line.splitlines()) == 1 and not refused.exists()
    report = json.loads((batch / "third" / "report.json").read_text())  # the third scan's file moved away
    report["input"]["source"] = str(tmp_path / "gone.dcm")
    (batch / "third" / "report.json").write_text(json.dumps(report))
    assert main(["compare", *folders, "--out", str(tmp_path / "moved")]) == 2
    line = capsys.readouterr().err.strip()
    assert line.endswith("is not there (give it with --baseline-scan or --follow-up-scan, comparing its pair alone)")
    assert not (tmp_path / "moved").exists()


def test_the_follow_ups_sr_carries_the_baseline_lesions_tracking_uids(pair, tmp_path):
    """TID 1410's Tracking UID is a finding's identity across time points: each persisting follow-up lesion carries its
    baseline lesion's UID (read from the baseline folder's SR), a pair one UID; and a baseline whose outlines were
    edited after its SR was written links nothing."""
    import subprocess

    from scintiseg.report.dicom_out import tracking_uids

    out = tmp_path / "comparison"
    assert main(["compare", str(pair["baseline"]), str(pair["follow_up"]), "--out", str(out)]) == 0
    record = json.loads((out / "comparison.json").read_text())
    late_rows = [lesion for view in record["views"].values() for lesion in view["follow_up_lesions"]]
    persisting = [lesion for lesion in late_rows if lesion["matches_baseline"]]
    assert persisting and record["dicom"] == {"sr": "sr.dcm", "outlines_tracked": len(persisting), "gsps": "gsps.dcm"}
    before, after = tracking_uids(pair["baseline"] / "sr.dcm"), tracking_uids(out / "sr.dcm")
    assert sorted(after) == sorted(lesion["id"] for lesion in late_rows)
    for lesion in persisting:
        assert after[lesion["id"]] == before[lesion["matches_baseline"][0]]
    late = json.loads((pair["follow_up"] / "report.json").read_text())
    for pair_record in late["pairs"]:
        assert after[pair_record["ant_id"]] == after[pair_record["post_id"]]
    assert tracking_uids(pair["follow_up"] / "sr.dcm")[persisting[0]["id"]] != after[persisting[0]["id"]]
    page = html.unescape((out / "comparison.html").read_text())
    assert f"{len(persisting)} outline(s) carrying the tracking UID of the baseline lesion" in page
    if shutil.which("dciodvfy"):
        lines = subprocess.run(["dciodvfy", str(out / "sr.dcm")], capture_output=True, text=True,
                               timeout=60).stderr.splitlines()
        assert not [line for line in lines if line.startswith("Error")]

    edited = tmp_path / "baseline"
    shutil.copytree(pair["baseline"], edited)
    view = next(v for v in ("ANT", "POST") if _lesion_shapes(edited, v))
    _set_lesions(edited, view, _lesion_shapes(edited, view)[1:])
    again = tmp_path / "again"
    assert main(["compare", str(edited), str(pair["follow_up"]), "--out", str(again)]) == 0
    note = json.loads((again / "comparison.json").read_text())["dicom"]["note"]
    assert "edited after its SR was written" in note and not (again / "sr.dcm").exists()


def test_three_image_exports_compare_in_the_order_given_without_dates(real_nm1, tmp_path, capsys):
    """Image files carry no patient ID or date: given in order they compare, the 2+2 pattern unjudged (no interval),
    the page's scans numbered; the outputs are named by the folders alone."""
    import csv

    from scintiseg.io import read_scan

    ant = read_scan(real_nm1).view("ANT").astype(np.uint16)
    for index, name in enumerate(("jan", "apr", "jul")):
        np.save(tmp_path / f"{name}.npy", np.roll(ant, (3 * index, 0), axis=(0, 1)))
    assert main(["predict", *(str(tmp_path / f"{n}.npy") for n in ("jan", "apr", "jul")),
                 "--out", str(tmp_path / "predictions"), "--quiet"]) == 0
    out = tmp_path / "series"
    folders = [str(tmp_path / "predictions" / name) for name in ("jan", "apr", "jul")]
    assert main(["compare", *folders, "--out", str(out)]) == 0
    assert "series.html" in capsys.readouterr().err
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [(r["output"], r["interval_days"], r["pcwg3_2plus2"], r["patient_id"]) for r in rows] == [
        ("jan_to_apr", "", "", ""), ("apr_to_jul", "", "", "")]
    page = (out / "series.html").read_text()
    assert ">scan 1</text>" in page and ">scan 3</text>" in page and "The 2+2 pattern is not judged" in page
