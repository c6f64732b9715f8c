"""``report_pdf.dcm``: ``report.pdf`` (:mod:`.report_pdf`) as a DICOM Encapsulated PDF (PS3.3 A.45.1, SOP Class
1.2.840.10008.5.1.4.1.1.104.1) in the source's patient and study, so that PACS files the printable report beside the
scan, the SR and the GSPS (``scintiseg predict --pdf``).

Modules and their values (PS3.3 A.45.1-1):

- **Patient** and **General Study**: copied from the first source dataset, as the SR and GSPS take them (highdicom
  copies them from their first evidence / referenced image): :data:`~.dicom_out.TYPE2_COPIED` (an attribute a source
  lacks is empty: :func:`~.dicom_out.read_source_dataset`), the Study Instance UID, and where the source has them the
  Issuer of Patient ID, the Study Description and its Specific Character Set (so a name in the source's letters is
  written as it was read).
- **Encapsulated Document Series**: Modality ``DOC`` (PS3.3 C.24.1: the one modality of an encapsulated document), a
  series of its own, numbered after the SR and the GSPS of its reading (902 for a prediction, 912 for a review:
  :data:`~.dicom_out.SERIES_NUMBERS`), described as the SR's is.
- **General Equipment**: scintiseg (:data:`~.dicom_out.EQUIPMENT`), as on the SR and GSPS. **SC Equipment**: Conversion
  Type ``WSD`` (workstation: a document a program made, as DCMTK's ``pdf2dcm`` says it; ``SYN`` names a synthetic
  image, and the PDF is a report, not an image).
- **Encapsulated Document**: Document Title :data:`DOCUMENT_TITLE` (a review's names its reader:
  :func:`document_title`); Concept Name LOINC 18748-4 "Diagnostic Imaging
  Report" (CID 7000, Diagnostic Imaging Report Document Titles; chosen over 49118-3, which DICOM's tables give two
  meanings, "Nuclear Medicine Report" in CID 7000 and "NM unspecified body region" in CID 100); MIME Type
  ``application/pdf``; Burned In Annotation ``YES`` (the page prints the patient's name and id); the Source Instance
  Sequence naming the source images the page shows (Type 1C: required when the document holds content of other
  instances); Verification Flag ``UNVERIFIED``, ``VERIFIED`` only for a review a reader signed (``scintiseg review
  --reader``), as the SR says it; Content Date and Time when it is written, Acquisition DateTime empty (Type 2: a
  document is not acquired).
- **Encapsulated Document** bytes: the PDF as written to ``report.pdf``, with one zero byte after it when its length
  is odd (an OB value has an even length, PS3.5 7.1.1) and its own length in Encapsulated Document Length
  (0042,0015), so that a reader gets the file back byte for byte.

Written in Explicit VR Little Endian with a file meta header (PS3.10), atomically. Checked with dciodvfy (Debian's
dicom3tools) in tests/report/test_dicom_pdf.py: no error.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from scintiseg.io.atomic import atomic_path
from scintiseg.predict.prediction import Prediction
from scintiseg.report.dicom_out import EQUIPMENT, TYPE2_COPIED, declare_character_set, distinct_sources, per_view_sources, series_number_of
from scintiseg.report.html import display_name

#: Encapsulated PDF Storage (PS3.4 B.5).
ENCAPSULATED_PDF_STORAGE = "1.2.840.10008.5.1.4.1.1.104.1"
#: The document's title, as PACS lists it (a prediction's; a reviewed report's: :func:`document_title`).
DOCUMENT_TITLE = "scintiseg bone scan lesion report (machine draft)"


def document_title(prediction: Prediction) -> str:
    """The Document Title of ``prediction``'s report: :data:`DOCUMENT_TITLE` for the network's own reading; for a
    review, whose outlines are a reader's, "... (reviewed by Jane Doe)" when a reader signed it, "... (reviewed
    outlines, not signed)" otherwise (audit 74, finding 5: a VERIFIED document was titled "machine draft"). The page
    inside still says "not a diagnosis" either way (:func:`~.report_pdf.caution`)."""
    review = prediction.review
    if not review:
        return DOCUMENT_TITLE
    signer = (review.get("reader") or {}).get("name")
    said = f"reviewed by {display_name(signer)}" if signer else "reviewed outlines, not signed"
    return f"scintiseg bone scan lesion report ({said})"
#: Attributes copied from the source beside :data:`~.dicom_out.TYPE2_COPIED` when it has them (Type 3 or 1C).
COPIED_WHERE_PRESENT = ("SpecificCharacterSet", "IssuerOfPatientID", "StudyDescription")


def encapsulated_pdf(prediction: Prediction, source_ds, pdf: bytes) -> Dataset:
    """The Encapsulated PDF dataset of ``pdf`` (module docstring), in the patient and study of ``source_ds`` (one
    dataset holding every view, or a mapping view -> dataset, :func:`~.dicom_out.per_view_sources`).

    Example::

        ds = encapsulated_pdf(prediction, read_source_dataset("nm1.dcm"), Path("report.pdf").read_bytes())
        ds.EncapsulatedDocument[: ds.EncapsulatedDocumentLength]   # the PDF's bytes
    """
    import highdicom as hd  # lazy: start-up time (the UIDs the SR and GSPS get, from highdicom's root)

    sources = distinct_sources(per_view_sources(prediction, source_ds))
    first = sources[0]
    ds = Dataset()
    for keyword in COPIED_WHERE_PRESENT:
        if keyword in first and first.get(keyword) not in (None, ""):
            setattr(ds, keyword, first.get(keyword))
    for keyword in (*TYPE2_COPIED, "StudyInstanceUID"):
        setattr(ds, keyword, first.get(keyword, ""))
    review = prediction.review or {}
    signed = bool((review.get("reader") or {}).get("name"))
    now = datetime.datetime.now()
    sop_uid = hd.UID()
    ds.SOPClassUID = ENCAPSULATED_PDF_STORAGE
    ds.SOPInstanceUID = sop_uid
    ds.InstanceCreationDate = now.strftime("%Y%m%d")
    ds.InstanceCreationTime = now.strftime("%H%M%S")
    ds.Modality = "DOC"
    ds.SeriesInstanceUID = hd.UID()
    ds.SeriesNumber = series_number_of(prediction, "pdf")
    ds.SeriesDescription = "scintiseg report (PDF), reviewed" if review else "scintiseg report (PDF)"
    for keyword, value in EQUIPMENT.items():
        setattr(ds, keyword, value)
    ds.ConversionType = "WSD"
    ds.InstanceNumber = 1
    ds.ContentDate = now.strftime("%Y%m%d")
    ds.ContentTime = now.strftime("%H%M%S")
    ds.AcquisitionDateTime = ""
    ds.BurnedInAnnotation = "YES"
    references = []
    for source in sources:
        item = Dataset()
        item.ReferencedSOPClassUID = source.SOPClassUID
        item.ReferencedSOPInstanceUID = source.SOPInstanceUID
        references.append(item)
    ds.SourceInstanceSequence = references
    ds.DocumentTitle = document_title(prediction)
    concept = Dataset()
    concept.CodeValue, concept.CodingSchemeDesignator, concept.CodeMeaning = "18748-4", "LN", "Diagnostic Imaging Report"
    ds.ConceptNameCodeSequence = [concept]
    ds.VerificationFlag = "VERIFIED" if signed else "UNVERIFIED"
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = pdf + b"\0" * (len(pdf) % 2)
    ds.EncapsulatedDocumentLength = len(pdf)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ENCAPSULATED_PDF_STORAGE
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = pydicom.uid.PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    return ds


def write_encapsulated_pdf(prediction: Prediction, source_ds, path: str | Path, *, pdf: bytes) -> None:
    """Write :func:`encapsulated_pdf` of ``pdf`` to ``path`` atomically (Explicit VR Little Endian, with a file meta
    header); the arguments before ``pdf`` are :func:`~.dicom_out.write_sr`'s."""
    ds = encapsulated_pdf(prediction, source_ds, pdf)
    declare_character_set(ds)  # a reader's name beyond ASCII in the Document Title
    with atomic_path(path) as tmp:
        ds.save_as(tmp, enforce_file_format=True)
