"""Tests of :mod:`scintiseg.report.review_folder`: which prediction folders a review takes, and what it refuses
before it predicts anything again.

A review that predicts again (the shipped model on a phantom) is tested through the command, tests/cli/test_review.py;
here the folder is :func:`~scintiseg.report.outputs.write_outputs`'s output for blob probability maps on NM1's ANT
view, and no test runs a network.
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
from scintiseg.report.batch import SUMMARY_NAME
from scintiseg.report.outputs import write_outputs
from scintiseg.report.review_folder import is_edited, review_batch, review_folder, same_scan

#: A lesion a reader draws on ANT (x = column, y = row), away from the predicted ones.
DRAWN = {"label": "lesion", "points": [[120.0, 600.0], [136.0, 598.0], [140.0, 614.0], [124.0, 620.0]],
         "group_id": None, "description": "", "shape_type": "polygon", "flags": {}}


@pytest.fixture(scope="module")
def predicted(nm1_scan, make_blobs, tmp_path_factory) -> Path:
    """A prediction folder as ``scintiseg predict`` writes it: NM1's ANT view with two lesions."""
    prediction = predict_from_probabilities(
        nm1_scan, {"ANT": make_blobs(nm1_scan.shape, [(300, 80, 4), (420, 170, 4)])}, settings=blob_settings(0.5, 4))
    folder = tmp_path_factory.mktemp("predicted") / "NM1"
    write_outputs(prediction, folder, dicom=False)
    return folder


def _copy(folder: Path, to: Path) -> Path:
    shutil.copytree(folder, to)
    return to


def _edit(path: Path, change) -> None:
    """Rewrite the JSON file ``path`` with ``change`` applied to its document."""
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def test_a_folder_is_edited_once_its_outline_differs_from_the_mask_beside_it(predicted, tmp_path):
    assert not is_edited(predicted)
    drawn = _copy(predicted, tmp_path / "drawn")

    _edit(drawn / "ANT.labelme.json", lambda document: document["shapes"].append(DRAWN))
    assert is_edited(drawn)
    relabelled = _copy(predicted, tmp_path / "relabelled")

    _edit(relabelled / "ANT.labelme.json",  # a call relabelled as no lesion is a reader's decision too
          lambda document: document["shapes"][0].update(label="bladder"))
    assert is_edited(relabelled)
    missing = _copy(predicted, tmp_path / "missing")
    (missing / "ANT.labelme.json").unlink()
    assert is_edited(missing)  # so that its review says what is wrong
    assert not is_edited(tmp_path)  # no report: no predicted view to edit


def test_an_empty_reader_name_and_an_out_that_is_the_folder_are_refused(predicted):
    with pytest.raises(ScintisegError, match="--reader is empty"):
        review_folder(predicted, predicted.parent / "elsewhere", reader="  ")
    with pytest.raises(ScintisegError, match="--out must be another folder than PRED_DIR"):
        review_folder(predicted, predicted / ".." / predicted.name)


def test_an_out_holding_anything_but_this_scans_report_is_refused(predicted, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ScintisegError, match="exists and is not a scintiseg report folder"):
        review_folder(predicted, other)
    another_scan = _copy(predicted, tmp_path / "another")

    _edit(another_scan / "report.json", lambda document: document.update(study_uid="1.2.3.4"))
    with pytest.raises(ScintisegError, match="holds the report of another scan"):
        review_folder(predicted, another_scan)
    assert (other / "notes.txt").read_text() == "mine" and json.loads(
        (another_scan / "report.json").read_text())["study_uid"] == "1.2.3.4"  # nothing written


def test_a_signed_review_is_replaced_only_by_its_reader(predicted, tmp_path):
    signed = _copy(predicted, tmp_path / "signed")

    _edit(signed / "report.json",
          lambda document: document.update(review={"reader": {"name": "Doe^Jane", "organization": None}}))
    with pytest.raises(ScintisegError, match=r"signed by Doe\^Jane .*\(this run names no reader\)"):
        review_folder(predicted, signed)
    with pytest.raises(ScintisegError, match=r"signed by Doe\^Jane .*\(this run's reader is Roe\^Rick\)"):
        review_folder(predicted, signed, reader="Roe^Rick")


def test_a_batch_lists_unedited_and_damaged_folders_without_reviewing_them(predicted, tmp_path):
    root = tmp_path / "batch"
    _copy(predicted, root / "a_unedited")
    damaged = _copy(predicted, root / "b_damaged")
    (damaged / "report.json").write_text("{not json")
    (root / "c_not_a_prediction").mkdir()
    out = tmp_path / "reviewed"
    results = review_batch(root, out, progress=False)
    assert [(r.input.name, r.status) for r in results] == [("a_unedited", "not edited"), ("b_damaged", "failed")]
    assert "name the folder to confirm it" in results[0].error and "report.json" in results[1].error
    with open(out / SUMMARY_NAME, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["status"] for row in rows] == ["not edited", "failed"]
    assert sorted(p.name for p in out.iterdir()) == [SUMMARY_NAME, "worklist.html"]  # no folder written for either


def test_a_batch_refuses_a_root_without_predictions_and_an_out_that_is_the_root(predicted, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ScintisegError, match="no scintiseg report.json here nor in its folders"):
        review_batch(tmp_path / "empty", tmp_path / "out", progress=False)
    root = tmp_path / "batch"
    _copy(predicted, root / "one")
    with pytest.raises(ScintisegError, match="--out must be another folder than PRED_DIR"):
        review_batch(root, root, progress=False)


def test_a_folder_whose_reader_deleted_a_left_out_call_is_edited(nm1_scan, make_blobs, tmp_path):
    """Session 65: a reader whose only edit was deleting a dashed left-out call (the lesion outlines untouched) had a
    batch review pass the folder over as not edited."""
    from scintiseg.predict.pipeline import PredictSettings  # lazy: this test only

    blobs = [(310, 141, 4), (364, 150, 4)]  # the first on NM1's plain thoracic spine: left out by the spine rule
    prediction = predict_from_probabilities(nm1_scan, {"ANT": make_blobs(nm1_scan.shape, blobs)},
                                            settings=PredictSettings(0.5, 4))
    assert len(prediction.views["ANT"].left_out) == 1
    folder = tmp_path / "NM1"
    write_outputs(prediction, folder, dicom=False)
    assert not is_edited(folder)
    _edit(folder / "ANT.labelme.json",
          lambda document: document.update(shapes=[s for s in document["shapes"] if s["label"] != "left_out"]))
    assert is_edited(folder)


def test_two_reports_without_study_uids_are_one_scan_only_when_read_from_one_file():
    """An image export has no Study Instance UID: its source file tells the scan, so a review --out holding another
    export's report is refused rather than replaced."""
    a, b = {"input": {"source": "/scans/a.png"}}, {"input": {"source": "/scans/b.png"}}
    assert same_scan(a, dict(a)) and not same_scan(a, b)
    assert not same_scan({**a, "study_uid": "1.2"}, {**a, "study_uid": "1.3"})
    assert not same_scan({**a, "study_uid": "1.2"}, {**b, "study_uid": "1.2"})  # one study, two scans (session 73)
    assert same_scan({**a, "study_uid": "1.2"}, {**a, "study_uid": "1.2"})
    assert same_scan({**a, "study_uid": "1.2"}, a) and not same_scan({**a, "study_uid": "1.2"}, b)  # one UID: the file
    assert same_scan(a, {"input": {"source": "/scans/x/../a.png"}})  # one file under two spellings
    assert not same_scan({"input": {"source": None}}, {"input": {"source": None}})  # no source: nothing says one scan
