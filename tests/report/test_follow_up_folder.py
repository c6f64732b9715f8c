"""A comparison written from two folders read back (scintiseg.report.follow_up_folder.write_comparison): one
patient's scans in order, the patient told by a DICOM header's ID and not by an image file's name."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.predict.pipeline import PredictSettings, predict_from_probabilities
from scintiseg.report.follow_up_folder import COMPARISON_HTML, COMPARISON_JSON, write_comparison
from scintiseg.report.predicted_again import PredictedAgain


def _read(scan, **facts) -> PredictedAgain:
    scan = replace(scan, **facts)
    mask = np.zeros(scan.shape, bool)
    mask[360:368, 146:154] = True
    prediction = predict_from_probabilities(scan, {"ANT": np.zeros(scan.shape, np.float32)},
                                            settings=PredictSettings(0.5, 4), reader_masks={"ANT": mask})
    return PredictedAgain(prediction, {}, {})


def test_two_image_exports_named_apart_are_one_patient_two_dicom_ids_are_two(nm1_scan, tmp_path):
    early = _read(nm1_scan, patient_id="export_2024", study_uid="", metadata={})
    late = _read(nm1_scan, patient_id="export_2025", study_uid="", metadata={})
    record, result = write_comparison((Path("a"), early), (Path("b"), late), tmp_path / "images")
    assert result.persisting_lesions == 1 and result.baseline is early.prediction
    assert record["summary"]["persisting_lesions"] == 1 and record["interval_days"] is None
    assert json.loads((tmp_path / "images" / COMPARISON_JSON).read_text()) == record
    assert (tmp_path / "images" / COMPARISON_HTML).is_file()

    other = _read(nm1_scan, patient_id="P2", study_uid="1.2.3.4", metadata={})
    mine = _read(nm1_scan, patient_id="P1", study_uid="1.2.3.5", metadata={})
    with pytest.raises(ScintisegError, match="needs two scans of one patient"):
        write_comparison((Path("a"), mine), (Path("b"), other), tmp_path / "dicom")
    assert not (tmp_path / "dicom").exists() and not list(tmp_path.glob(".dicom.partial-*"))


def _signed(again: PredictedAgain, reader: str | None) -> PredictedAgain:
    """``again`` as a folder ``scintiseg review`` wrote (signed by ``reader``, or unsigned), its lesions as listed."""
    lesions = [{"id": lesion.id, "view": lesion.view, "centroid_row": lesion.centroid_row,
                "centroid_col": lesion.centroid_col} for lesion in again.prediction.lesions]
    review = {"reviewed": True, **({"reader": {"name": reader}} if reader else {})}
    return replace(again, report={"lesions": lesions, "review": review})


def test_the_written_comparison_says_whose_outlines_and_flags_a_reader_against_the_network(nm1_scan, tmp_path):
    """Session 62: an unreviewed baseline against a reviewed follow-up read its new lesions unflagged (a lesion the
    network missed on the baseline and the reader added counts as new). comparison.json names whose outlines each
    side holds and flags the mix, naming the side; a scan against its own review is flagged one study."""
    early = _read(nm1_scan, study_uid="2.25.1", source=None, metadata={"study_date": "20240105"})
    late = _read(nm1_scan, study_uid="2.25.2", source=None, metadata={"study_date": "20240405"},
                 views={name: view + 1 for name, view in nm1_scan.views.items()})
    early = replace(early, report={"lesions": [{"id": lesion.id, "view": lesion.view, "centroid_row": lesion.centroid_row,
                                                "centroid_col": lesion.centroid_col}
                                               for lesion in early.prediction.lesions]})
    record, _ = write_comparison((Path("a"), early), (Path("b"), _signed(late, "Doe^Jane")), tmp_path / "mixed")
    written = json.loads((tmp_path / "mixed" / COMPARISON_JSON).read_text())
    assert written["baseline"]["outlines"] == "network" and written["follow_up"]["reader"] == "Jane Doe"
    assert written["summary"]["flags"] == ["reader_outlines_follow_up_only"] and written["summary"]["same_study"] is None
    assert "The follow-up's outlines are a reader's (reviewed by Jane Doe)" in written["summary"]["warnings"][0]
    assert "reviewed by Jane Doe" in (tmp_path / "mixed" / COMPARISON_HTML).read_text()

    record, _ = write_comparison((Path("a"), early), (Path("b"), _signed(_read(nm1_scan, study_uid="2.25.1", source=None,
                                                                               metadata={}), None)), tmp_path / "own")
    assert record["summary"]["same_study"] == "the same Study Instance UID"
    assert record["summary"]["flags"][0] == "same_study" and record["follow_up"]["outlines"] == "review"


def test_a_report_with_an_infinite_lesion_id_or_an_input_of_another_type_is_read_as_edited(nm1_scan, tmp_path):
    """report.json as a reader's editor may leave it (session 66's fuzzing): a lesion id of ``Infinity`` (JSON's
    extension Python reads) raised OverflowError, an ``input`` that is a list AttributeError; now the lesions count as
    edited (they are not the SR's) and the scan's source is unknown."""
    early = _read(nm1_scan, study_uid="2.25.1", source=None, metadata={"study_date": "20240105"})
    late = _read(nm1_scan, study_uid="2.25.2", source=None, metadata={"study_date": "20240405"})
    lesions = [{"id": float("inf"), "view": lesion.view, "centroid_row": lesion.centroid_row,
                "centroid_col": lesion.centroid_col} for lesion in late.prediction.lesions]
    late = replace(late, report={"lesions": lesions, "input": ["scan.dcm"]})
    record, _ = write_comparison((Path("a"), early), (Path("b"), late), tmp_path / "out")
    assert record["follow_up"]["outlines"] == "edited" and record["follow_up"]["source"] is None


def _read_discs(scan, places, radius=4) -> PredictedAgain:
    rows, cols = np.ogrid[: scan.shape[0], : scan.shape[1]]
    mask = np.zeros(scan.shape, bool)
    for row, col in places:
        mask |= (rows - row) ** 2 + (cols - col) ** 2 <= radius**2
    prediction = predict_from_probabilities(scan, {"ANT": np.zeros(scan.shape, np.float32)},
                                            settings=PredictSettings(0.5, 4), reader_masks={"ANT": mask})
    return PredictedAgain(prediction, {}, {})


def test_a_lesion_that_merged_two_baseline_lesions_is_compared_with_their_summed_area_and_relative_bsi(nm1_scan):
    """A follow-up lesion covering two baseline lesions: its baseline area is theirs together, not the larger one's;
    the relative BSI change is the change over the baseline's BSI."""
    from scintiseg.predict.follow_up import compare
    from scintiseg.report.follow_up_folder import comparison_record

    early = _read_discs(nm1_scan, [(360, 144), (360, 156)], radius=3)
    late = _read_discs(replace(nm1_scan, study_uid="2.25.7", views={k: v + 1 for k, v in nm1_scan.views.items()}),
                       [(360, 150)], radius=10)
    result = compare(early.prediction, late.prediction)
    record = comparison_record(result, (Path("a"), early), (Path("b"), late))
    (row,) = record["views"]["ANT"]["follow_up_lesions"]
    matched = sorted(row["matches_baseline"])
    assert len(matched) == 2 and row["status"] == "persisting"
    areas = {lesion.id: lesion.area_mm2 for lesion in early.prediction.views["ANT"].lesions}
    assert row["area_mm2_baseline"] == pytest.approx(sum(areas[i] for i in matched), abs=0.11)
    s = record["summary"]
    assert early.prediction.bsi_percent != late.prediction.bsi_percent
    assert s["bsi_change_relative"] == pytest.approx(result.bsi_change / early.prediction.bsi_percent, abs=1e-4)


def test_the_record_counts_each_scans_lesions_outside_the_other_field_on_its_own_side(nm1_scan, monkeypatch):
    from scintiseg.predict.follow_up import FollowUp, compare
    from scintiseg.report.follow_up_folder import comparison_record, summary_line

    early, late = _read(nm1_scan), _read(nm1_scan, study_uid="2.25.8")
    result = compare(early.prediction, late.prediction)
    monkeypatch.setattr(FollowUp, "outside_field", property(lambda self: (1, 2)))  # (follow-up's, baseline's)
    record = comparison_record(result, (Path("a"), early), (Path("b"), late))
    assert record["summary"]["outside_field"] == {"follow_up": 1, "baseline": 2}
    assert "3 outside the other scan's field" in summary_line(record)


def test_a_comparison_failing_while_written_leaves_no_folder_and_no_partial_one(nm1_scan, tmp_path, monkeypatch):
    from scintiseg.report import follow_up_folder

    def broken(*_args):
        raise RuntimeError("page failed")

    monkeypatch.setattr(follow_up_folder, "comparison_html", broken)
    with pytest.raises(RuntimeError, match="page failed"):
        write_comparison((Path("a"), _read(nm1_scan)), (Path("b"), _read(nm1_scan, study_uid="2.25.9")), tmp_path / "c")
    assert list(tmp_path.iterdir()) == []


def test_the_follow_up_folders_outlines_labelled_no_lesion_reach_the_comparison(nm1_scan, tmp_path):
    """Audit 74, finding 8: the follow-up folder's outlines a reader labelled as no lesion (read back with it) name the
    baseline lesion at their place, in comparison.json and on the page."""
    from scintiseg.scan import Shape

    early = _read(nm1_scan, study_uid="2.25.1", source=None, metadata={"study_date": "20240105"})
    late = _read(nm1_scan, study_uid="2.25.2", source=None, metadata={"study_date": "20240405"},
                 views={name: view + 1 for name, view in nm1_scan.views.items()})
    late = replace(late, prediction=replace(late.prediction, views={
        "ANT": replace(late.prediction.views["ANT"], lesions=[], contours=[],
                       labels=np.zeros_like(late.prediction.views["ANT"].labels))}),
                   not_lesion_shapes={"ANT": [Shape("Bladder", [[146, 360], [154, 360], [154, 368], [146, 368]])]})
    record, _ = write_comparison((Path("a"), early), (Path("b"), late), tmp_path / "relabelled")
    (row,) = record["views"]["ANT"]["baseline_lesions"]
    assert row["status"] == "not seen" and row["relabelled_on_follow_up"] == ["bladder"]
    assert "relabelled by the reader as bladder" in (tmp_path / "relabelled" / COMPARISON_HTML).read_text()
