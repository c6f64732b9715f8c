"""scintiseg.io.read: the read dispatcher, named by the package; the Scan-level repairs it applies beside their checks.

(read_scan's behaviour per format is tested with each format: test_images, test_dicom, test_layout, test_panels, ...)"""

import numpy as np
import pytest

import scintiseg.io
from scintiseg.errors import ScintisegError
from scintiseg.io import display_curve, images, layout, panels, read


def test_the_package_names_the_dispatcher_and_the_repairs_where_they_live():
    assert scintiseg.io.read_scan is read.read_scan and scintiseg.io.header_data_files is read.header_data_files
    assert scintiseg.io.stood_scan is layout.stood_scan and scintiseg.io.split_page is layout.split_page
    assert scintiseg.io.SPLIT_COLUMN == layout.SPLIT_COLUMN == "split_column"
    assert scintiseg.io.LOSSLESS_SYNTAXES is display_curve.LOSSLESS_SYNTAXES
    for name in ("blank_capture_panels", "blank_viewer_furniture", "inside_panels"):
        assert callable(getattr(panels, name))
    assert callable(images.undo_inverted_captures) and callable(display_curve.undo_scan_display_curve)


def test_an_unknown_view_choice_is_refused_before_the_file_is_read(tmp_path):
    np.save(tmp_path / "scan.npy", np.ones((64, 32), np.uint16))
    with pytest.raises(ScintisegError, match="view must be one of ANT, POST, name"):
        read.read_scan(tmp_path / "scan.npy", view="LAT")
