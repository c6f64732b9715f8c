"""scintiseg.io.not_scans: what a folder of scans holds that is not a scan (a DICOMDIR, SR, presentation states, an
earlier prediction's outputs, another modality's images, SPECT)."""

from __future__ import annotations

import json

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.fileset import FileSet
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from scintiseg.io.dicom import write_dicom
from scintiseg.io import read_scan
from scintiseg.errors import ScintisegError
from scintiseg.io.not_scans import dataset_files, dicom_not_a_scan, dicom_without_image, not_planar, prediction_report
from scintiseg.scan import Scan


def _object(path, sop_class: str):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, ds.file_meta.MediaStorageSOPInstanceUID
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.parametrize("sop_class, what", [
    ("1.2.840.10008.5.1.4.1.1.88.33", "SOP Class 1.2.840.10008.5.1.4.1.1.88.33"),  # Comprehensive SR
    ("1.2.840.10008.5.1.4.1.1.11.1", "SOP Class 1.2.840.10008.5.1.4.1.1.11.1"),  # Grayscale Softcopy PS
    ("1.2.840.10008.5.1.4.1.1.104.1", "SOP Class 1.2.840.10008.5.1.4.1.1.104.1"),  # Encapsulated PDF
])
def test_reports_and_presentation_states_hold_no_image(tmp_path, sop_class, what):
    assert what in dicom_without_image(_object(tmp_path / "obj.dcm", sop_class))


def test_a_dicomdir_holds_no_image_and_the_image_it_indexes_does(tmp_path, real_nm1):
    fileset = FileSet()
    fileset.add(pydicom.dcmread(real_nm1))
    fileset.write(tmp_path / "cd")
    assert dicom_without_image(tmp_path / "cd" / "DICOMDIR").startswith("a DICOMDIR")
    (image,) = [p for p in (tmp_path / "cd").rglob("IM*")]
    assert dicom_without_image(image) is None


def test_images_and_files_that_are_not_dicom_are_left_to_the_reader(tmp_path):
    write_dicom(Scan({"ANT": np.ones((64, 32), np.uint16)}), tmp_path / "nm.dcm")
    assert dicom_without_image(tmp_path / "nm.dcm") is None
    (tmp_path / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert dicom_without_image(tmp_path / "x.png") is None
    (tmp_path / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\xff" * 7)
    assert dicom_without_image(tmp_path / "broken.dcm") is None  # its read says what is wrong


def test_a_prediction_report_is_known_by_its_format(tmp_path):
    (tmp_path / "report.json").write_text(json.dumps({"format": "scintiseg-report", "summary": {}}))
    assert prediction_report(tmp_path)["format"] == "scintiseg-report"
    (tmp_path / "report.json").write_text(json.dumps({"format": "other"}))
    assert prediction_report(tmp_path) is None
    assert prediction_report(tmp_path / "missing") is None


@pytest.mark.parametrize("sop_class, image_type, what", [
    ("1.2.840.10008.5.1.4.1.1.2", None, "a CT image"), ("1.2.840.10008.5.1.4.1.1.2.1", None, "a CT image"),
    ("1.2.840.10008.5.1.4.1.1.4", None, "an MR image"), ("1.2.840.10008.5.1.4.1.1.128", None, "a PET image"),
    ("1.2.840.10008.5.1.4.1.1.20", ["ORIGINAL", "PRIMARY", "TOMO", "EMISSION"], "a SPECT acquisition (Image Type TOMO)"),
    ("1.2.840.10008.5.1.4.1.1.20", "ORIGINAL\\PRIMARY\\RECON TOMO\\EMISSION", "a SPECT acquisition (Image Type RECON TOMO)"),
    ("1.2.840.10008.5.1.4.1.1.20", ["ORIGINAL", "PRIMARY", "DYNAMIC", "EMISSION"], "a dynamic acquisition"),
])
def test_other_modalities_and_spect_are_no_planar_scan(sop_class, image_type, what):
    assert not_planar(sop_class, image_type).startswith(what)


@pytest.mark.parametrize("sop_class, image_type", [
    ("1.2.840.10008.5.1.4.1.1.20", ["ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"]),  # NM, not CT's ...1.1.2 prefix
    ("1.2.840.10008.5.1.4.1.1.20", ["ORIGINAL", "PRIMARY", "STATIC", "EMISSION"]),  # a spot view
    ("1.2.840.10008.5.1.4.1.1.7", ["DERIVED", "SECONDARY"]),  # a screen capture
    ("1.2.840.10008.5.1.4.1.1.20", None), ("", None),  # nothing said: read as a scan
])
def test_planar_views_and_unknown_images_are_scans(sop_class, image_type):
    assert not_planar(sop_class, image_type) is None


def test_a_ct_slice_in_a_folder_is_passed_over_and_named_is_one_line(tmp_path):
    """A SPECT/CT study's folder: its CT slices were each a failed scan ("pixel data holds negative counts")."""
    write_dicom(Scan({"ANT": np.ones((64, 32), np.uint16)}), tmp_path / "nm.dcm")
    ds = pydicom.dcmread(tmp_path / "nm.dcm")
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.Modality = "CT"
    ds.save_as(tmp_path / "ct.dcm")
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.20"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "TOMO", "EMISSION"]
    ds.save_as(tmp_path / "spect.dcm")
    assert dicom_not_a_scan(tmp_path / "nm.dcm") is None
    assert dicom_not_a_scan(tmp_path / "ct.dcm").startswith("a CT image")
    assert dicom_not_a_scan(tmp_path / "spect.dcm").startswith("a SPECT acquisition")
    for name, what in (("ct.dcm", "a CT image"), ("spect.dcm", "a SPECT acquisition")):
        with pytest.raises(ScintisegError, match=f"{what} .*not a planar bone scan") as info:
            read_scan(tmp_path / name)
        assert str(tmp_path / name) in str(info.value)


def test_a_data_sets_folder_gives_its_case_images_and_labelme_files(tiny_dataset, tmp_path):
    """Its masks (written here beside the cases) and any file the manifest does not name as an image are none."""
    from scintiseg.io.dataset import load_manifest, save_manifest
    from scintiseg.io.images import write_mask_png

    manifest = load_manifest(tiny_dataset)
    write_mask_png(np.zeros((32, 16), bool), tiny_dataset / "masks" / "m.png")
    manifest.cases[0].masks = {"ANT": "masks/m.png"}
    save_manifest(manifest, tiny_dataset)
    images, labels = dataset_files(tiny_dataset)
    assert images == sorted((tiny_dataset / c.image).resolve() for c in manifest.cases)
    assert labels == sorted((tiny_dataset / p).resolve() for c in manifest.cases for p in c.labels.values())
    (tiny_dataset / "dataset.json").write_text("{oops")
    assert dataset_files(tiny_dataset) is None  # walked as any folder
    (tmp_path / "dataset.json").write_text(json.dumps({"cases": [{"image": "../x.dcm"}], "format_version": 1}))
    assert dataset_files(tmp_path) == ([], []) and dataset_files(tmp_path / "none") is None


def test_predict_and_import_walk_a_data_set_for_its_cases_only(tiny_dataset, tmp_path):
    from scintiseg.io.dataset import load_manifest
    from scintiseg.io.images import write_mask_png
    from scintiseg.io.importer import import_dataset
    from scintiseg.report.batch import expand_inputs

    write_mask_png(np.zeros((32, 16), bool), tiny_dataset / "masks" / "P000_0_ANT.png")
    cases = load_manifest(tiny_dataset).cases
    assert expand_inputs([tiny_dataset.parent]) == sorted((tiny_dataset / c.image).resolve() for c in cases)
    from scintiseg.train.unlabelled import scan_files  # adapt's walk of a folder of site scans

    assert scan_files(tiny_dataset.parent) == sorted((tiny_dataset / c.image).resolve() for c in cases)
    report = import_dataset([tiny_dataset], tmp_path / "again", progress=False)
    again = load_manifest(tmp_path / "again")
    assert len(again.cases) == len(cases) and all(set(c.labels) == {"ANT", "POST"} for c in again.cases)
    assert not report.skipped


def test_predict_s_batch_files_are_known_by_name_and_content_among_the_names_given(tmp_path):
    from scintiseg.io.not_scans import prediction_batch_files

    (tmp_path / "summary.csv").write_text("input,status,output,lesions\na.dcm,ok,a,1\n")
    (tmp_path / "triage.json").write_text(json.dumps({"scans": [], "triage_auc": None}))
    (tmp_path / "boxes.json").write_text(json.dumps({"images": []}))  # not predict's: a key missing
    assert prediction_batch_files(tmp_path) == {"summary.csv", "triage.json"}
    assert prediction_batch_files(tmp_path, names=["triage.json"]) == set()  # no summary.csv among them
    (tmp_path / "summary.csv").write_text("name,age\n")
    assert prediction_batch_files(tmp_path) == set()
