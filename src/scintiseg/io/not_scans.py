"""Files a folder of scans holds that are not scans: passed over when a folder is walked, never reported as failures.

Why. A department's CD or PACS export carries a ``DICOMDIR`` at its root (the Media Storage Directory, no pixel data),
often reports and presentation states beside the images (DICOM SR, GSPS, Key Objects, encapsulated PDF), and a folder
a user predicts into may hold scintiseg's own earlier outputs (``report.json`` with its masks, overlays, SR and GSPS).
Walked as scans they were failures in ``summary.csv`` ("no pixel data in this DICOM file") and made ``scintiseg
predict`` exit 1, or, for the PNG overlays and masks of an earlier prediction, predicted as if they were scans (session
23). A file named on the command line is still read, and says what it is.

- :func:`dicom_without_image`: a DICOM file whose SOP Class holds no image (:data:`NON_IMAGE_SOP_CLASSES`, read from
  its header without pixel data), or one named ``DICOMDIR``.
- :func:`prediction_report`: a folder's ``report.json`` when scintiseg wrote it (``"format": "scintiseg-report"``).
- :func:`not_planar` / :func:`dicom_not_a_scan` (session 47): an image that is no planar scan, by its header: another
  modality's image (CT, MR, PET, ultrasound, angiography: :data:`OTHER_MODALITY_SOP_CLASSES`; a SPECT/CT study's
  folder holds hundreds of CT slices beside its planar views), or a nuclear-medicine acquisition that is not planar
  (Image Type's third value :data:`NOT_PLANAR_IMAGE_TYPES`: SPECT projections and reconstructions, gated and dynamic
  studies). Walked, they are passed over with the images without pixel data; named, they are refused in one line by
  :func:`scintiseg.io.dicom.read_dicom` (a CT slice was "pixel data holds negative counts", SPECT projections "64
  frames of one energy window"). Planar views are NM Image Storage of Image Type ``WHOLE BODY`` or ``STATIC``, or a
  Secondary Capture of any; a file whose class or type is not known is read as a scan.
- :func:`dataset_files` (session 49): a scintiseg data set's folder (its ``dataset.json``) holds, besides the case
  images, PNG lesion masks, region and instance maps, which are no scans: walked, the folder gives its case images
  (and, to ``dataset import``, its LabelMe files) and nothing else. Before, ``scintiseg predict data/site`` predicted
  each mask and map as a scan (a 6-patient phantom data set: 42 files as 24 "scans" where 6 were).
- :func:`prediction_batch_files` (session 63): the files ``scintiseg predict`` writes at the root of its output folder
  (``summary.csv``, ``worklist.html``, and with ``--labels`` / ``--boxes`` ``triage.json`` / ``boxes.json``), recognised by name and
  content, in a folder whose ``summary.csv`` is predict's. ``dataset import`` of a prediction folder (the correction
  loop) listed them as an unrecognised scan and unreadable LabelMe files on every run.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

#: SOP Class UIDs of DICOM objects without an image, exactly or as a prefix (ending in ``.``): the Media Storage
#: Directory (DICOMDIR), structured reports and Key Object Selection (``...88.``), presentation states (``...11.``),
#: encapsulated documents (``...104.``), raw data and spatial registrations (``...66``), RT objects (``...481.``).
NON_IMAGE_SOP_CLASSES: tuple[str, ...] = (
    "1.2.840.10008.1.3.10",
    "1.2.840.10008.5.1.4.1.1.88.",
    "1.2.840.10008.5.1.4.1.1.11.",
    "1.2.840.10008.5.1.4.1.1.104.",
    "1.2.840.10008.5.1.4.1.1.66",
    "1.2.840.10008.5.1.4.1.1.66.",
    "1.2.840.10008.5.1.4.1.1.481.",
)
#: SOP Class UIDs of other modalities' images (exactly, or as a prefix ending in ``.``) -> what to call them.
OTHER_MODALITY_SOP_CLASSES: dict[str, str] = {
    "1.2.840.10008.5.1.4.1.1.2": "a CT image", "1.2.840.10008.5.1.4.1.1.2.": "a CT image",
    "1.2.840.10008.5.1.4.1.1.4": "an MR image", "1.2.840.10008.5.1.4.1.1.4.": "an MR image",
    "1.2.840.10008.5.1.4.1.1.128": "a PET image", "1.2.840.10008.5.1.4.1.1.128.": "a PET image",
    "1.2.840.10008.5.1.4.1.1.130": "a PET image",
    "1.2.840.10008.5.1.4.1.1.6.": "an ultrasound image", "1.2.840.10008.5.1.4.1.1.3.1": "an ultrasound image",
    "1.2.840.10008.5.1.4.1.1.12.": "an X-ray angiography or fluoroscopy image",
}
#: Image Type (0008,0008) third values of a nuclear-medicine acquisition that is not a planar view (the NM Image IOD
#: also has ``STATIC`` and ``WHOLE BODY``, both planar).
NOT_PLANAR_IMAGE_TYPES: frozenset[str] = frozenset({"TOMO", "GATED TOMO", "RECON TOMO", "RECON GATED TOMO", "GATED",
                                                    "DYNAMIC"})
REPORT_NAME = "report.json"
REPORT_FORMAT = "scintiseg-report"
#: A scintiseg data set's manifest (:mod:`scintiseg.io.dataset`).
DATASET_MANIFEST = "dataset.json"
#: The batch summary ``scintiseg predict`` writes at the root of its output folder, and the first columns of its
#: header (:data:`scintiseg.report.batch.SUMMARY_COLUMNS`; io sits below report, so the names are repeated here).
BATCH_SUMMARY = "summary.csv"
BATCH_SUMMARY_HEADER = "input,status,output,"
#: The other files predict writes beside it (``--labels``: triage.json, ``--boxes``: boxes.json) -> keys every such
#: file has (:mod:`scintiseg.report.image_labels`, :mod:`scintiseg.report.box_labels`).
BATCH_FILES: dict[str, tuple[str, ...]] = {"triage.json": ("scans", "triage_auc"),
                                           "boxes.json": ("images", "lesion_boxes")}
#: Files an operating system leaves in folders it shows (Windows' thumbnail caches and folder settings; macOS's start
#: with a dot, passed over as hidden): never scans, passed over by a folder walk (session 73: every export folder
#: copied off a Windows share "failed" on its Thumbs.db).
OS_LITTER: frozenset[str] = frozenset({"thumbs.db", "ehthumbs.db", "ehthumbs_vista.db", "desktop.ini"})
#: The pages predict writes beside it (session 73: the worklist, :mod:`scintiseg.report.worklist`) -> text their
#: first kilobyte holds.
BATCH_PAGES: dict[str, str] = {"worklist.html": "<title>scintiseg worklist"}

__all__ = ["NON_IMAGE_SOP_CLASSES", "NOT_PLANAR_IMAGE_TYPES", "OS_LITTER", "OTHER_MODALITY_SOP_CLASSES", "dicom_not_a_scan",
           "dataset_files", "dicom_without_image", "not_planar", "prediction_batch_files", "prediction_report"]


def _is_non_image(uid: str) -> bool:
    return any(uid.startswith(cls) if cls.endswith(".") else uid == cls for cls in NON_IMAGE_SOP_CLASSES)


def _header(path: Path):
    """The header tags the checks below read (SOP Class, Image Type; no pixel data), or None for a file that is not
    DICOM or cannot be read (reading it as a scan says why)."""
    import pydicom  # lazy: start-up time

    try:
        with open(path, "rb") as handle:
            if handle.read(132)[128:132] != b"DICM":
                return None
        with warnings.catch_warnings():  # pydicom's notes on a damaged header: the scan's read reports them
            warnings.simplefilter("ignore")
            return pydicom.dcmread(path, stop_before_pixels=True,
                                   specific_tags=["SOPClassUID", "MediaStorageSOPClassUID", "ImageType"])
    except Exception:
        return None


def _without_image(path: Path, ds) -> str | None:
    uid = str(ds.get("SOPClassUID", "") or ds.file_meta.get("MediaStorageSOPClassUID", "") or "")
    if uid == "1.2.840.10008.1.3.10" or path.name.upper() == "DICOMDIR":
        return "a DICOMDIR (the export's index, no image)"
    return f"DICOM object of SOP Class {uid} (no image)" if uid and _is_non_image(uid) else None


def dicom_without_image(path: str | Path) -> str | None:
    """What a DICOM file without an image is (``"a DICOMDIR"``, ``"DICOM object 1.2.840... (no image)"``), or None
    for anything else, an image or a file that is not DICOM (reads the header only; never raises)."""
    path = Path(path)
    ds = _header(path)
    try:
        return None if ds is None else _without_image(path, ds)
    except Exception:  # a value pydicom cannot convert: reading it as a scan says why
        return None


def not_planar(sop_class: str, image_type: object) -> str | None:
    """What an image of SOP Class ``sop_class`` and Image Type ``image_type`` (the header's value: a list, a
    backslash-separated text, or None) is when it is no planar scan (module docstring), else None."""
    for uid, what in OTHER_MODALITY_SOP_CLASSES.items():
        if sop_class.startswith(uid) if uid.endswith(".") else sop_class == uid:
            return f"{what} (SOP Class {sop_class}), not a planar bone scan"
    values = image_type.split("\\") if isinstance(image_type, str) else list(image_type or [])
    kind = str(values[2]).strip().upper() if len(values) > 2 else ""
    if kind in NOT_PLANAR_IMAGE_TYPES:
        what = "SPECT" if "TOMO" in kind else kind.lower()
        return f"a {what} acquisition (Image Type {kind}), not a planar bone scan"
    return None


def dicom_not_a_scan(path: str | Path) -> str | None:
    """What a DICOM file is when it holds no planar scan: no image (:func:`dicom_without_image`) or another kind of
    image (:func:`not_planar`); None for a planar image, an unknown one or a file that is not DICOM (the header read
    once, no pixel data; never raises)."""
    path = Path(path)
    ds = _header(path)
    if ds is None:
        return None
    try:
        return _without_image(path, ds) or not_planar(str(ds.get("SOPClassUID", "") or ""), ds.get("ImageType"))
    except Exception:  # a value pydicom cannot convert: reading it as a scan says why
        return None


def prediction_report(folder: str | Path) -> dict | None:
    """``folder/report.json`` when it is a scintiseg prediction report (a ``predict`` output folder), else None."""
    try:
        with open(Path(folder) / REPORT_NAME, "rb") as handle:
            data = json.loads(handle.read(1 << 24).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) and data.get("format") == REPORT_FORMAT else None


def prediction_batch_files(folder: str | Path, names: list[str] | None = None) -> set[str]:
    """The names in ``folder`` (of ``names``, default its listing) that are ``scintiseg predict``'s own batch files:
    ``summary.csv`` when its header is predict's, and beside it ``triage.json`` / ``boxes.json`` when they hold the
    keys predict writes (:data:`BATCH_FILES`) and ``worklist.html`` when it is predict's page (:data:`BATCH_PAGES`);
    empty for any other folder. A user's file of the same name that is not predict's (another CSV, a broken or foreign
    JSON) is not one, and is read (and reported) as any other file."""
    root = Path(folder)
    try:
        names = sorted(p.name for p in root.iterdir()) if names is None else names
        with open(root / BATCH_SUMMARY, "rb") as handle:
            header = handle.read(len(BATCH_SUMMARY_HEADER)).decode("utf-8", "replace")
    except OSError:
        return set()
    if BATCH_SUMMARY not in names or header != BATCH_SUMMARY_HEADER:
        return set()
    found = {BATCH_SUMMARY}
    for name, keys in BATCH_FILES.items():
        if name not in names:
            continue
        try:
            with open(root / name, "rb") as handle:
                data = json.loads(handle.read(1 << 24).decode("utf-8"))
        except (OSError, ValueError, RecursionError):
            continue
        if isinstance(data, dict) and all(key in data for key in keys):
            found.add(name)
    for name, marker in BATCH_PAGES.items():
        if name not in names:
            continue
        try:
            with open(root / name, "rb") as handle:
                if marker in handle.read(1024).decode("utf-8", "replace"):
                    found.add(name)
        except OSError:
            continue
    return found


def dataset_files(folder: str | Path) -> tuple[list[Path], list[Path]] | None:
    """``(case images, LabelMe files)`` of the scintiseg data set in ``folder`` (its ``dataset.json``: an object with
    ``format_version`` and a list of ``cases``), each an existing file inside ``folder``, sorted; None when ``folder``
    holds no such manifest (an unreadable one included: the folder is then walked as any other)."""
    root = Path(folder)
    try:
        with open(root / DATASET_MANIFEST, "rb") as handle:
            data = json.loads(handle.read(1 << 26).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not (isinstance(data, dict) and "format_version" in data and isinstance(data.get("cases"), list)):
        return None
    inside = root.resolve()
    images, labels = set(), set()
    for case in data["cases"]:
        if not isinstance(case, dict):
            continue
        named = [(images, case.get("image"))]
        if isinstance(case.get("labels"), dict):
            named += [(labels, relative) for relative in case["labels"].values()]
        for into, relative in named:
            if isinstance(relative, str) and relative:
                path = (root / relative).resolve()
                if path.is_relative_to(inside) and path.is_file():
                    into.add(path)
    return sorted(images), sorted(labels)
