"""Tests for scintiseg.io.panels: a screen capture's flat panels set to the scan's background, margins left alone."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from scintiseg.io import read_scan
from scintiseg.io.images import undo_display_inversion
from scintiseg.io.panels import MIN_PANEL_DEPTH, PANELS_KEY, blank_flat_panels


@pytest.fixture(scope="module")
def nm1_grey(real_nm1) -> np.ndarray:
    """NM1 as an 8-bit export (black margins, the hottest 0.1 % at 255)."""
    counts = read_scan(real_nm1).view("ANT").astype(np.float64)
    return np.clip(counts / np.percentile(counts, 99.9) * 255, 0, 255).astype(np.uint8)


def _capture(grey: np.ndarray, top: int = 0, right: int = 0, top_level: int = 190, right_level: int = 40) -> np.ndarray:
    """``grey`` in a viewer's window: a toolbar ``top`` rows deep above it (with icons), a side panel to its right."""
    rows, cols = grey.shape
    window = np.full((rows + top, cols + right), right_level, np.uint8)
    window[:top] = top_level
    for start in range(10, cols + right - 30, 60):  # buttons: darker squares over a tenth of the toolbar's rows
        window[top // 3:top // 3 + 6, start:start + 20] = 90
    window[top:, :cols] = grey
    return window


def test_a_toolbar_and_a_side_panel_are_set_to_the_background_and_reported(tmp_path, nm1_grey):
    path = tmp_path / "capture.png"
    Image.fromarray(_capture(nm1_grey, top=100, right=144)).save(path)
    scan = read_scan(path)
    view = scan.view("VIEW")
    assert scan.metadata[PANELS_KEY] == {"top": 100, "right": 144}
    assert view.shape == (1124, 400)  # nothing cropped: every coordinate is the file's
    np.testing.assert_array_equal(view[100:, :256], nm1_grey)
    assert not view[:100].any() and not view[:, 256:].any()


def test_an_inverted_capture_s_panel_ends_black_with_its_margin(tmp_path, nm1_grey):
    """On an inverted display the background is white; the panel is painted white, then turned back with the rest."""
    inverted = 255 - nm1_grey
    path = tmp_path / "inverted.png"
    Image.fromarray(_capture(inverted, right=144, right_level=150)).save(path)
    scan = read_scan(path)
    assert scan.metadata[PANELS_KEY] == {"right": 144} and scan.metadata.get("display_inverted")
    view = scan.view("VIEW")
    np.testing.assert_array_equal(view[:, :256], undo_display_inversion(inverted)[0])
    assert not view[:, 256:].any()


def test_a_scan_s_own_margins_and_counts_are_left_as_they_are(nm1_grey):
    assert blank_flat_panels(nm1_grey)[1] == {}  # black above the head and beside the arms: the background
    assert blank_flat_panels(255 - nm1_grey)[1] == {}  # white margins of an inverted display
    tight = nm1_grey[60:700, 40:220].copy()  # a body filling the frame: its commonest level is soft tissue's
    tight[:8] = 0  # a black margin above it
    assert blank_flat_panels(tight)[1] == {}
    counts = np.pad(nm1_grey.astype(np.uint16), ((100, 0), (0, 0)), constant_values=190)
    assert blank_flat_panels(counts)[1] == {}  # 16-bit counts hold no viewer's panel
    framed = _capture(nm1_grey, top=MIN_PANEL_DEPTH - 1)  # a frame thinner than a panel
    assert blank_flat_panels(framed)[1] == {}
