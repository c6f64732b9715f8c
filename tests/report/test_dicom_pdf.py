"""``report_pdf.dcm`` (scintiseg.report.dicom_pdf): ``report.pdf`` as a DICOM Encapsulated PDF in the source's patient
and study, its bytes given back exactly (an odd length padded, the length recorded), a series of its own, a signed
review VERIFIED, dciodvfy (Debian's dicom3tools) finding no error, and no such file without a DICOM source."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace

import numpy as np
import pydicom
import pytest

from support import blob_settings
from scintiseg.predict.pipeline import predict_from_probabilities
from scintiseg.report.dicom_pdf import DOCUMENT_TITLE, ENCAPSULATED_PDF_STORAGE, encapsulated_pdf
from scintiseg.report.outputs import REPORT_PDF, REPORT_PDF_DICOM, write_outputs


@pytest.fixture(scope="module")
def prediction(nm1_scan, make_blobs):
    """Two lesions on NM1 (ANT), the scan read from the real file (its source)."""
    probability = make_blobs(nm1_scan.shape, [(300, 100, 5), (700, 110, 4)])
    return predict_from_probabilities(nm1_scan, {"ANT": probability}, {"ANT": np.ones(nm1_scan.shape, dtype=bool)},
                                      blob_settings(0.5, 4, regions="atlas"))


@pytest.fixture(scope="module")
def written(prediction, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pdf")
    return folder, write_outputs(prediction, folder, pdf=True)


def test_the_encapsulated_pdf_is_report_pdf_in_the_sources_patient_and_study(written, nm1_path):
    folder, report = written
    source = pydicom.dcmread(nm1_path, stop_before_pixels=True)
    ds = pydicom.dcmread(folder / REPORT_PDF_DICOM)
    pdf = (folder / REPORT_PDF).read_bytes()
    assert report["pdf"] == REPORT_PDF and report["dicom"]["pdf"] == REPORT_PDF_DICOM
    assert json.loads((folder / "report.json").read_text())["dicom"]["pdf"] == REPORT_PDF_DICOM
    assert ds.SOPClassUID == ds.file_meta.MediaStorageSOPClassUID == ENCAPSULATED_PDF_STORAGE
    assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyDate",
                    "StudyTime", "AccessionNumber", "StudyID"):
        assert str(ds.get(keyword, "")) == str(source.get(keyword, "")), keyword
    sr = pydicom.dcmread(folder / "sr.dcm", stop_before_pixels=True)
    assert ds.PatientID == sr.PatientID and ds.StudyInstanceUID == sr.StudyInstanceUID  # one study, as the SR says
    assert len({ds.SeriesInstanceUID, sr.SeriesInstanceUID, source.SeriesInstanceUID}) == 3  # a series of its own
    assert ds.Modality == "DOC" and ds.SeriesNumber == 902 and ds.ConversionType == "WSD"
    assert ds.MIMETypeOfEncapsulatedDocument == "application/pdf" and ds.BurnedInAnnotation == "YES"
    assert ds.DocumentTitle == DOCUMENT_TITLE and ds.VerificationFlag == "UNVERIFIED"
    code = ds.ConceptNameCodeSequence[0]
    assert (code.CodeValue, code.CodingSchemeDesignator) == ("18748-4", "LN")
    assert [(i.ReferencedSOPClassUID, i.ReferencedSOPInstanceUID) for i in ds.SourceInstanceSequence] == [
        (source.SOPClassUID, source.SOPInstanceUID)]
    assert ds.Manufacturer == "scintiseg"
    document = bytes(ds.EncapsulatedDocument)
    assert len(document) % 2 == 0 and ds.EncapsulatedDocumentLength == len(pdf)
    assert document[: ds.EncapsulatedDocumentLength] == pdf and pdf.startswith(b"%PDF-")
    assert "report_pdf.dcm" in (folder / "report.html").read_text()


@pytest.mark.parametrize("pdf", [b"%PDF-1.4 odd", b"%PDF-1.4 even"])
def test_an_odd_length_is_padded_with_one_zero_byte_and_recorded(prediction, nm1_path, pdf):
    ds = encapsulated_pdf(prediction, pydicom.dcmread(nm1_path, stop_before_pixels=True), pdf)
    assert ds.EncapsulatedDocumentLength == len(pdf)
    assert bytes(ds.EncapsulatedDocument) == pdf + b"\0" * (len(pdf) % 2)


def test_a_review_a_reader_signed_is_verified(prediction, nm1_path):
    source = pydicom.dcmread(nm1_path, stop_before_pixels=True)
    signed = encapsulated_pdf(replace(prediction, review={"reader": {"name": "Doe^Jane"}}), source, b"%PDF-")
    unsigned = encapsulated_pdf(replace(prediction, review={"views": {}}), source, b"%PDF-")
    assert signed.VerificationFlag == "VERIFIED" and unsigned.VerificationFlag == "UNVERIFIED"
    assert unsigned.SeriesDescription.endswith("reviewed")
    # A series number of the review's own, after its SR (910) and GSPS (911); audit 74, finding 4: every PDF was 902.
    assert signed.SeriesNumber == unsigned.SeriesNumber == 912
    # Titled by its stance (audit 74, finding 5: a VERIFIED document titled "machine draft").
    assert signed.DocumentTitle == "scintiseg bone scan lesion report (reviewed by Jane Doe)"
    assert unsigned.DocumentTitle == "scintiseg bone scan lesion report (reviewed outlines, not signed)"
    assert "machine draft" not in signed.DocumentTitle + unsigned.DocumentTitle
    assert encapsulated_pdf(prediction, source, b"%PDF-").DocumentTitle == DOCUMENT_TITLE
    assert encapsulated_pdf(prediction, source, b"%PDF-").SeriesNumber == 902


def test_dciodvfy_finds_no_error(written):
    if not shutil.which("dciodvfy"):
        pytest.skip("dciodvfy not installed (Debian: apt-get install dicom3tools; .ci/run does it as root)")
    folder, _ = written
    result = subprocess.run(["dciodvfy", str(folder / REPORT_PDF_DICOM)], capture_output=True, text=True, timeout=60)
    lines = (result.stdout + result.stderr).splitlines()
    assert lines[0] == "EncapsulatedPDF"
    assert [line for line in lines if line.startswith("Error")] == []


def test_without_a_dicom_source_or_with_dicom_off_only_the_pdf(prediction, tmp_path):
    plain = replace(prediction, scan=replace(prediction.scan, source=None))
    report = write_outputs(plain, tmp_path / "plain", pdf=True)
    assert (tmp_path / "plain" / REPORT_PDF).read_bytes().startswith(b"%PDF-")
    assert not list((tmp_path / "plain").glob("*.dcm")) and "pdf" not in report["dicom"]
    off = write_outputs(prediction, tmp_path / "off", pdf=True, dicom=False)
    assert (tmp_path / "off" / REPORT_PDF).is_file() and not list((tmp_path / "off").glob("*.dcm"))
    assert off["dicom"] == {"note": "disabled"}
    default = write_outputs(prediction, tmp_path / "default")  # not on the default path
    assert not (tmp_path / "default" / REPORT_PDF).exists() and "pdf" not in default
    assert sorted(p.name for p in (tmp_path / "default").glob("*.dcm")) == ["gsps.dcm", "sr.dcm"]
