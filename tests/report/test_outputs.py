"""Tests of :mod:`scintiseg.report.outputs`: the files written for one predicted scan, and when DICOM ones are.

The SR and GSPS themselves: tests/report/test_dicom_out.py; the page: test_html.py; report.json: test_report_json.py.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from support import blob_settings
from scintiseg.io.atomic import write_text_atomic
from scintiseg.io.dicom import write_dicom
from scintiseg.io.images import read_label_png, read_mask_png
from scintiseg.io.labelme import read_labelme
from scintiseg.io.predicted_labels import LEFT_OUT_LABEL
from scintiseg.predict.pipeline import predict_from_probabilities
from scintiseg.predict.regions import REGION_NAMES
from scintiseg.prepare.views import mirror
from scintiseg.report.outputs import REPORT_HTML, REPORT_JSON, is_dicom_source, source_files, write_outputs
from scintiseg.report.report_json import report_json
from scintiseg.scan import Scan


@pytest.fixture(scope="module")
def prediction(nm1_scan, make_blobs):
    """Two views of NM1 (POST its mirror), read from no file: two lesions on ANT, one on POST."""
    ant = nm1_scan.view("ANT")
    scan = Scan({"ANT": ant, "POST": mirror(ant)}, pixel_spacing=nm1_scan.pixel_spacing)
    probabilities = {"ANT": make_blobs(scan.shape, [(300, 80, 4), (420, 170, 4)]),
                     "POST": make_blobs(scan.shape, [(300, 255 - 80, 4)])}
    return predict_from_probabilities(scan, probabilities, settings=blob_settings(0.5, 4))


@pytest.fixture(scope="module")
def written(prediction, tmp_path_factory):
    folder = tmp_path_factory.mktemp("out")
    return folder, write_outputs(prediction, folder)


def test_every_view_gets_its_labelme_mask_and_overlay_named_in_the_report(written, prediction):
    folder, report = written
    expected = {REPORT_JSON, REPORT_HTML}
    for view in ("ANT", "POST"):
        names = {"labelme": f"{view}.labelme.json", "mask": f"{view}_mask.png", "overlay": f"{view}_overlay.png",
                 "regions": f"{view}_regions.png"}
        assert report["views"][view]["files"] == names
        expected |= set(names.values())
    assert {path.name for path in folder.iterdir()} == expected  # nothing else: no DICOM, no temporary file


def test_the_mask_png_is_the_lesion_labels_and_the_labelme_file_outlines_them(written, prediction):
    folder, _ = written
    for view, result in prediction.views.items():
        mask = read_mask_png(folder / f"{view}_mask.png")
        np.testing.assert_array_equal(mask, result.mask)
        annotation = read_labelme(folder / f"{view}.labelme.json")
        assert [shape.group_id for shape in annotation.shapes] == [lesion.id for lesion in result.lesions]
        assert {shape.label for shape in annotation.shapes} == {"lesion"}
        np.testing.assert_array_equal(annotation.to_mask(), mask)  # the mask is the polygons rasterised


def test_the_regions_png_is_the_views_region_map_on_the_masks_grid(written, prediction):
    folder, report = written
    for view, result in prediction.views.items():
        labels = read_label_png(folder / report["views"][view]["files"]["regions"])
        np.testing.assert_array_equal(labels, result.regions.labels)
        assert labels.shape == read_mask_png(folder / f"{view}_mask.png").shape
        assert len(np.unique(labels)) > 10  # bones named, not a blank map
    assert report["region_ids"]["0"] == "other" and len(report["region_ids"]) == len(REGION_NAMES) <= 256


def test_a_phantom_scan_predicted_writes_the_region_labels_the_lesions_were_named_by(tmp_path):
    """The shipped models on a small phantom (512 x 128, both views): each V_regions.png reads back to the prediction's
    region labels exactly, and each lesion's region is the id under most of its pixels in that file."""
    from scintiseg.phantom import generate_patient, profile
    from scintiseg.predict.loader import load_model
    from scintiseg.predict.pipeline import predict_scan

    scan = generate_patient(910003, profile("small")).scan
    predicted = predict_scan(scan, load_model(None))
    report = write_outputs(predicted, tmp_path, dicom=False)
    named = 0
    for view, result in predicted.views.items():
        labels = read_label_png(tmp_path / f"{view}_regions.png")
        np.testing.assert_array_equal(labels, result.regions.labels)
        for lesion in result.lesions:
            ids = labels[result.labels == lesion.id]
            assert REGION_NAMES[np.bincount(ids[ids > 0]).argmax()] == lesion.region
            named += 1
    assert named and set(report["views"]) == {"ANT", "POST"}


def test_a_left_out_call_is_written_as_such_in_the_labelme_file(prediction, tmp_path):
    from scintiseg.predict.rule_calls import LeftOutCall

    view = prediction.views["ANT"]
    call = LeftOutCall("symmetric", view.contours[1], replace(view.lesions[1], id=1))
    kept = replace(view, left_out=[call], contours=view.contours[:1], lesions=view.lesions[:1],
                   labels=np.where(view.labels == 1, 1, 0).astype(view.labels.dtype))
    report = write_outputs(replace(prediction, views={"ANT": kept}, pairs=[]), tmp_path, dicom=False)
    shapes = read_labelme(tmp_path / "ANT.labelme.json").shapes
    assert [(s.label, s.group_id) for s in shapes] == [("lesion", view.lesions[0].id), (LEFT_OUT_LABEL, 1)]
    assert read_mask_png(tmp_path / "ANT_mask.png").sum() == view.lesions[0].area_px  # the call is not in the mask
    assert list(report["views"]) == ["ANT"]


def test_report_json_is_the_returned_report_and_says_why_no_dicom_was_written(written):
    folder, report = written
    assert (folder / REPORT_JSON).read_text() == report_json(report)
    assert report["dicom"] == {"note": "no DICOM output: the input is not DICOM"}
    page = (folder / REPORT_HTML).read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html") and "data:image/jpeg;base64," in page


def test_dicom_off_is_said_in_the_report(prediction, tmp_path):
    assert write_outputs(prediction, tmp_path, dicom=False)["dicom"] == {"note": "disabled"}


def test_an_unreadable_dicom_source_costs_only_the_dicom_outputs(prediction, tmp_path):
    fake = tmp_path / "scan.dcm"
    fake.write_bytes(b"\0" * 128 + b"DICM" + b"not a data set")
    scan = replace(prediction.scan, source=fake)
    with pytest.warns(UserWarning, match="no DICOM SR or GSPS written"):
        report = write_outputs(replace(prediction, scan=scan), tmp_path / "out")
    assert set(report["dicom"]) == {"error"} and str(fake) in report["dicom"]["error"]
    assert not list((tmp_path / "out").glob("*.dcm"))
    assert json.loads((tmp_path / "out" / REPORT_JSON).read_text())["dicom"] == report["dicom"]


def _holder(**scan_changes):
    """What source_files reads of a prediction: its scan."""
    scan = Scan({"ANT": np.ones((4, 2), np.uint16), "POST": np.ones((4, 2), np.uint16)})
    return SimpleNamespace(scan=replace(scan, **scan_changes))


def test_source_files_name_each_views_file(tmp_path):
    assert source_files(_holder()) is None
    one = tmp_path / "both.dcm"
    assert source_files(_holder(source=one)) == {"ANT": one, "POST": one}
    pair = {"ANT": str(tmp_path / "a.dcm"), "POST": str(tmp_path / "p.dcm")}
    assert source_files(_holder(source=one, metadata={"view_sources": pair})) == {
        "ANT": tmp_path / "a.dcm", "POST": tmp_path / "p.dcm"}
    partial = {"ANT": str(tmp_path / "a.dcm")}  # not every view: the scan's own source
    assert source_files(_holder(source=one, metadata={"view_sources": partial})) == {"ANT": one, "POST": one}


def test_is_dicom_source_needs_every_file_to_be_dicom(tmp_path, small_scan):
    dicom = tmp_path / "scan.dcm"
    write_dicom(small_scan, dicom)
    other = tmp_path / "scan.png"
    other.write_bytes(b"\x89PNG" + b"\0" * 200)
    assert is_dicom_source({"ANT": dicom, "POST": dicom})
    assert not is_dicom_source(None)
    assert not is_dicom_source({"ANT": dicom, "POST": other})
    assert not is_dicom_source({"ANT": tmp_path / "missing.dcm"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reading 132 bytes of a short file is no error either
        short = tmp_path / "short.dcm"
        short.write_bytes(b"DICM")
        assert not is_dicom_source({"ANT": short})


def test_a_refused_sr_costs_only_the_sr_and_is_said_not_claimed(prediction, tmp_path, monkeypatch):
    """highdicom refusing the SR (a ValueError) leaves the GSPS and every other output written, and report.json says
    why there is no SR without naming an sr.dcm that does not exist."""
    from scintiseg.report import outputs

    source = tmp_path / "scan.dcm"
    write_dicom(prediction.scan, source)

    def refuse(*_args):
        raise ValueError("source lacks a module")

    def gsps(_prediction, _datasets, path):
        path.write_bytes(b"gsps")

    monkeypatch.setattr(outputs, "write_sr", refuse)
    monkeypatch.setattr(outputs, "write_gsps", gsps)
    with pytest.warns(UserWarning, match="no DICOM SR written"):
        report = write_outputs(replace(prediction, scan=replace(prediction.scan, source=source)), tmp_path / "out")
    assert report["dicom"] == {"sr_error": "ValueError: source lacks a module", "gsps": "gsps.dcm"}
    assert sorted(p.name for p in (tmp_path / "out").glob("*.dcm")) == ["gsps.dcm"]
    assert json.loads((tmp_path / "out" / REPORT_JSON).read_text())["dicom"] == report["dicom"]


def test_the_report_files_are_written_through_the_atomic_writer(prediction, tmp_path, monkeypatch):
    """report.json and report.html go through write_text_atomic (a temporary file renamed), so an interrupted write
    never leaves a half-written report that looks complete."""
    from scintiseg.report import outputs

    written = []

    def recording(path, text):
        written.append(path.name)
        return write_text_atomic(path, text)

    monkeypatch.setattr(outputs, "write_text_atomic", recording)
    write_outputs(prediction, tmp_path, dicom=False)
    assert sorted(written) == [REPORT_HTML, REPORT_JSON]
