"""Reading and writing scans, annotations and data sets.

``read_scan(path)`` reads any supported scan file (DICOM, Interfile, MetaImage, NIfTI, NumPy ``.npy`` / ``.npz``,
PNG, JPEG, TIFF, BMP, GIF, WebP, raw matrices) into a :class:`~scintiseg.scan.Scan`: the dispatcher and its pixel
spacing rules are :mod:`scintiseg.io.read`; the image repairs it applies live beside their array-level checks
(:mod:`scintiseg.io.layout`, :mod:`scintiseg.io.panels`, :mod:`scintiseg.io.images`,
:mod:`scintiseg.io.display_curve`). This package only names them; each file format is its own module.
"""

from __future__ import annotations

from scintiseg.errors import ScintisegError
from scintiseg.io.dicom import is_dicom, read_dicom
from scintiseg.io.display_curve import GAMMA_KEY, LOSSLESS_SYNTAXES, undo_display_curve
from scintiseg.io.file_keys import scan_stem
from scintiseg.io.images import (
    assumed_pixel_spacing,
    cameras_field,
    check_view_field,
    lossy_picture,
    parse_pixel_spacing,
    read_image,
    reading_notes,
    undo_display_inversion,
)
from scintiseg.io.interfile import is_interfile, read_interfile
from scintiseg.io.layout import (
    QUARTER_CLOCKWISE,
    SPLIT_COLUMN,
    STOOD_KEY,
    STORED_SHAPE_KEY,
    bodies_side_by_side,
    refuse_many_bodies,
    split_page,
    split_side_by_side,
    stand_lying_body,
    stood_scan,
)
from scintiseg.io.library_messages import ReaderWarning
from scintiseg.io.metaimage import is_metaimage, read_metaimage
from scintiseg.io.nifti import SNIFF_BYTES, is_nifti
from scintiseg.io.npz import is_npz, read_npz
from scintiseg.io.panels import LINES_KEY, PANELS_KEY, blank_flat_panels, blank_frame_lines, display_area
from scintiseg.io.patient_sides import ORIENTATION_KEY, mirrored_back, turned_letters, with_letters_moved
from scintiseg.io.read import VIEW_CHOICES, header_data_files, read_scan
from scintiseg.io.view_names import view_from_path
from scintiseg.scan import Scan

__all__ = ["SPLIT_COLUMN", "VIEW_CHOICES", "header_data_files", "read_scan", "split_page", "stood_scan"]
# The rest were importable from here when the dispatcher lived in this file (before session 64): still so, but
# import them from their modules.
__all__ += [
    "GAMMA_KEY", "LINES_KEY", "LOSSLESS_SYNTAXES", "ORIENTATION_KEY", "PANELS_KEY", "QUARTER_CLOCKWISE",
    "ReaderWarning", "SNIFF_BYTES", "STOOD_KEY", "STORED_SHAPE_KEY", "Scan", "ScintisegError",
    "assumed_pixel_spacing", "blank_flat_panels", "blank_frame_lines", "bodies_side_by_side", "cameras_field",
    "check_view_field", "display_area", "is_dicom", "is_interfile", "is_metaimage", "is_nifti", "is_npz",
    "lossy_picture", "mirrored_back", "parse_pixel_spacing", "read_dicom", "read_image", "read_interfile",
    "read_metaimage", "read_npz", "reading_notes", "refuse_many_bodies", "scan_stem", "split_side_by_side",
    "stand_lying_body", "turned_letters", "undo_display_curve", "undo_display_inversion", "view_from_path",
    "with_letters_moved",
]
