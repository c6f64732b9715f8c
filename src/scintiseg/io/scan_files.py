"""The scan files of the paths a command is given: files as given, folders walked for what may be a scan.

``scintiseg predict``, ``scintiseg info`` and the annotation commands take files and folders alike; a folder is walked
recursively for regular files that are not hidden and not obviously something else (:data:`SKIP_SUFFIXES`:
annotations such as Pascal VOC boxes beside their images, reports, notes), not an operating system's litter
(:data:`scintiseg.io.not_scans.OS_LITTER`), not in an earlier prediction's output folder, not a DICOM object without an
image or with one that is no planar scan (:mod:`scintiseg.io.not_scans`); of a data set's folder, its case images only.
An Interfile or MetaImage header's data file is read with its header, not as a file of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from scintiseg.errors import ScintisegError
from scintiseg.io.read import header_data_files
from scintiseg.io.not_scans import (
    DATASET_MANIFEST,
    OS_LITTER,
    REPORT_NAME,
    dataset_files,
    dicom_not_a_scan,
    prediction_report,
)

#: Suffixes of files that are never scans; ``.pdf``: a printed report (``scintiseg predict --pdf`` writes them, and a
#: department files them beside the scans), which no reader reads as a scan.
SKIP_SUFFIXES = {".json", ".csv", ".txt", ".md", ".html", ".pdf", ".py", ".yaml", ".yml", ".log", ".xml"}


def expand_inputs(inputs: list[str | Path]) -> list[Path]:
    """Files given, and the candidate files inside folders given (sorted), each once.

    Raises:
        ScintisegError: an input that does not exist.
    """
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            for found in walk_folder(path):
                files.append(found)
        elif path.exists():
            files.append(path)
        else:
            raise ScintisegError("no such file or folder", path=path)
    unique: dict[Path, None] = {}
    for f in files:
        unique.setdefault(f.resolve(), None)
    data = header_data_files(list(unique))  # an Interfile or MetaImage header's data file is read with its header
    return [f for f in unique if f not in data]


def walk_folder(root: Path) -> list[Path]:
    """The candidate scan files under ``root`` (sorted): not hidden, not of :data:`SKIP_SUFFIXES`, not in an earlier
    prediction's folder (a ``report.json`` scintiseg wrote), not a DICOM object without an image (a DICOMDIR, an SR, a
    presentation state) or with one that is no planar scan (a CT slice, SPECT: :mod:`scintiseg.io.not_scans`); of a
    data set's folder (its ``dataset.json``), its case images only, not its masks and maps."""
    found: list[Path] = []
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if REPORT_NAME in names and prediction_report(here) is not None:
            dirs[:] = []  # an earlier prediction's outputs are not scans
            continue
        in_dataset = dataset_files(here) if DATASET_MANIFEST in names else None
        if in_dataset is not None:
            dirs[:] = []  # a data set's masks, region and instance maps are not scans
            found += in_dataset[0]
            continue
        for name in sorted(names):
            path = here / name
            if name.startswith(".") or name.lower() in OS_LITTER or path.suffix.lower() in SKIP_SUFFIXES or not path.is_file():
                continue
            if dicom_not_a_scan(path) is None:
                found.append(path)
    return sorted(found)



__all__ = ["SKIP_SUFFIXES", "expand_inputs", "walk_folder"]
