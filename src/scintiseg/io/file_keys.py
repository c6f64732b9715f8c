"""How a side file (labels, boxes) names the scan it belongs to: by its path as given or resolved, its file name or
its stem.

Labels CSVs and annotation folders name an image as they please: ``scans/0001.jpg``, ``0001.jpg`` or ``0001`` (and a
VOC file's own stem is ``0001`` for ``0001.jpg``), or by its full path (BS-80K's label lists, read relative to their
own folder). A scan is found under the first of :func:`file_keys` that a mapping holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


#: Double suffixes that are one format's (``scan.nii.gz`` is ``scan``).
DOUBLE_SUFFIXES = (".nii.gz",)


#: Suffixes an output's name leaves out (:func:`output_stem`; the double ``.nii.gz`` first).
IMAGE_SUFFIXES = (".nii.gz", ".dcm", ".dicom", ".ima", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif",
                  ".webp", ".npy", ".npz", ".raw", ".img", ".bin", ".h00", ".hdr", ".mhd", ".mha", ".nii")


def output_stem(path: str | Path) -> str:
    """A scan file's name without a known image suffix (:data:`IMAGE_SUFFIXES`), for naming what is written from it.

    Only a known suffix goes: a DICOM file named by its SOP Instance UID (``1.2.840.113619.2.55.3.604688119.969.dcm``,
    or the UID alone) keeps every component, where cutting at the first dot named every output ``1`` and the last
    dot (``Path.stem``) gave files one component apart the same name (session 32)."""
    name = Path(path).name
    lower = name.lower()
    suffix = next((end for end in IMAGE_SUFFIXES if lower.endswith(end) and len(name) > len(end)), "")
    return name[:len(name) - len(suffix)] if suffix else name


def scan_stem(path: str | Path) -> str:
    """A scan file's name without its suffix, a double one (:data:`DOUBLE_SUFFIXES`) counting as one."""
    path = Path(path)
    for suffix in DOUBLE_SUFFIXES:
        if path.name.lower().endswith(suffix) and len(path.name) > len(suffix):
            return path.name[:-len(suffix)]
    return path.stem


def file_keys(path: str | Path) -> tuple[str, str, str, str]:
    """The names a side file may give a scan at ``path``: the path as given, the path resolved (a side file that
    names its scans relative to its own folder, as BS-80K's label lists do), its file name, its stem."""
    path = Path(path)
    return str(path), str(path.resolve()), path.name, scan_stem(path)


def find_by_name(mapping: dict[str, T], path: str | Path) -> T | None:
    """``mapping``'s value for the scan at ``path`` under the first of its :func:`file_keys`; None when absent."""
    for key in file_keys(path):
        if key in mapping:
            return mapping[key]
    return None
