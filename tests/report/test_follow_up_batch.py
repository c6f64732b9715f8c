"""Tests of :mod:`scintiseg.report.follow_up_batch`: a folder of predictions grouped by patient for ``scintiseg
compare``, the folders left out and why, the summary rows, and what a series refuses before anything is written.

Comparisons that predict again (the shipped model on phantom patients) are tested through the command,
tests/cli/test_compare.py; here the prediction folder is :func:`~scintiseg.report.outputs.write_outputs`'s output
for blob probability maps on NM1's ANT view, copied and given other patients, and no test runs a network.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from support import blob_settings
from scintiseg.errors import ScintisegError
from scintiseg.predict.pipeline import predict_from_probabilities
from scintiseg.predict.series import SeriesStep
from scintiseg.report.batch import SUMMARY_NAME, summary_csv
from scintiseg.report.follow_up_batch import SUMMARY_COLUMNS, PairResult, compare_batch, compare_series
from scintiseg.report.outputs import write_outputs


@pytest.fixture(scope="module")
def predicted(nm1_scan, make_blobs, tmp_path_factory) -> Path:
    prediction = predict_from_probabilities(
        nm1_scan, {"ANT": make_blobs(nm1_scan.shape, [(300, 80, 4)])}, settings=blob_settings(0.5, 4))
    folder = tmp_path_factory.mktemp("predicted") / "NM1"
    write_outputs(prediction, folder, dicom=False)
    return folder


def _copy(folder: Path, to: Path, **report_changes) -> Path:
    """A copy of the prediction folder, its report.json's top-level keys changed."""
    shutil.copytree(folder, to)
    path = to / "report.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **report_changes}))
    return to


def test_a_row_gives_the_comparisons_numbers_and_the_series_columns():
    record = {"baseline": {"study_date": "20240101", "bsi_percent": 1.5},
              "follow_up": {"study_date": "20240401", "bsi_percent": None}, "interval_days": 91,
              "summary": {"new_lesions": 3, "persisting_lesions": 2, "lesions_not_seen": 1,
                          "outside_field": {"ANT": 1, "POST": 2}, "two_or_more_new": True, "bsi_change_points": 0.25,
                          "flags": ["low_counts", "crop_uncertain"]}}
    step = SeriesStep(new_lesions=3, days_from_previous=91, next_new_lesions=2, days_to_next=60, seen_again_next=3,
                      outside_next=0)
    row = PairResult("P1", Path("b"), "compared", Path("a"), "P1_a_to_b", record, series=step).row()
    assert set(row) <= set(SUMMARY_COLUMNS)
    assert (row["baseline"], row["follow_up"], row["baseline_date"], row["interval_days"]) == ("a", "b", "20240101", 91)
    assert (row["new_lesions"], row["outside_field"], row["bsi_baseline"], row["bsi_follow_up"]) == (3, 3, 1.5, "")
    assert row["flags"] == "low_counts;crop_uncertain" and row["bsi_change_points"] == 0.25
    assert (row["next_scan_new_lesions"], row["days_to_next_scan"], row["pcwg3_2plus2"]) == (2, 60, "yes")
    assert PairResult("P1", Path("b"), "compared", Path("a"), series=SeriesStep(3, 91, 1, 60, 0)).row()[
        "pcwg3_2plus2"] == "no"
    last = PairResult("P1", Path("b"), "compared", Path("a"), series=SeriesStep(3, 91)).row()
    assert (last["pcwg3_2plus2"], last["days_to_next_scan"]) == ("", "")  # no next scan: unknown, not "no"


def test_a_comparisons_warnings_have_their_own_column_and_its_error_stays_empty():
    """Audit 74, finding 13: a comparison's warnings (whose outlines, one study twice) were in no column of the
    summary; they have their own, and ``error`` says only why a row was not compared."""
    warnings = ["The follow-up's outlines are a reader's (reviewed by Jane Doe), the baseline's the network's own: ...",
                "The baseline and the follow-up are one study (the same Study Instance UID): ..."]
    record = {"summary": {"new_lesions": 2, "flags": ["same_study"], "warnings": warnings}}
    row = PairResult("P1", Path("b"), "compared", Path("a"), "P1_a_to_b", record).row()
    assert row["warnings"].split(" | ") == warnings and row["error"] == ""
    assert SUMMARY_COLUMNS.index("warnings") < SUMMARY_COLUMNS.index("error")
    left_out = PairResult("", Path("x"), "left out", error="no patient ID").row()
    assert (left_out["warnings"], left_out["error"]) == ("", "no patient ID")


def test_a_left_out_folder_has_a_row_with_blanks_and_its_reason():
    row = PairResult("", Path("x"), "left out", error="no patient ID").row()
    assert (row["baseline"], row["new_lesions"], row["outside_field"], row["interval_days"]) == ("", "", "", "")
    assert row["error"] == "no patient ID" and "pcwg3_2plus2" not in row
    header, line = summary_csv([PairResult("", Path("x"), "left out", error="why")], SUMMARY_COLUMNS).splitlines()
    assert header.split(",") == list(SUMMARY_COLUMNS) and line.startswith(",,x,left out,") and line.endswith(",why")


def test_a_batch_lists_each_folder_it_cannot_compare_and_why(predicted, tmp_path):
    root = tmp_path / "batch"
    _copy(predicted, root / "a_only", patient={"id": "P1", "name": ""})
    _copy(predicted, root / "b_image_file", study_uid=None)  # an image file: its ID is its name, no patient
    (_copy(predicted, root / "c_damaged") / "report.json").write_text("[1, 2")
    (root / "d_no_report").mkdir()
    out = tmp_path / "compared"
    results = compare_batch(root, out, progress=False)
    assert [(r.follow_up.name, r.status, r.patient_id) for r in results] == [
        ("c_damaged", "failed", ""), ("b_image_file", "left out", ""), ("a_only", "left out", "P1")]
    assert "no patient ID" in results[1].error and results[2].error == "the patient's only scan here"
    with open(out / SUMMARY_NAME, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["follow_up"] for row in rows] == [str(r.follow_up) for r in results]
    assert sorted(p.name for p in out.iterdir()) == [SUMMARY_NAME]


def test_a_batch_refuses_a_root_without_predictions_and_an_out_that_is_the_root(predicted, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ScintisegError, match="no scintiseg report.json here nor in its folders"):
        compare_batch(tmp_path / "empty", tmp_path / "out", progress=False)
    root = tmp_path / "batch"
    _copy(predicted, root / "one")
    with pytest.raises(ScintisegError, match="--out must be another folder than PRED_ROOT"):
        compare_batch(root, root, progress=False)


def test_a_series_is_refused_before_anything_is_written(predicted, tmp_path):
    second = _copy(predicted, tmp_path / "second")
    with pytest.raises(ScintisegError, match="given twice"):
        compare_series([predicted, second, tmp_path / "second" / ".." / "second"], tmp_path / "out")
    with pytest.raises(ScintisegError, match="--out must be a new folder, not one of those compared"):
        compare_series([predicted, second], second)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    with pytest.raises(ScintisegError, match="exists and is not a scintiseg comparison folder"):
        compare_series([predicted, second], theirs)
    with pytest.raises(ScintisegError, match="no scintiseg report.json here"):
        compare_series([predicted, tmp_path / "theirs"], tmp_path / "out")
    assert not (tmp_path / "out").exists() and [p.name for p in theirs.iterdir()] == ["notes.txt"]
