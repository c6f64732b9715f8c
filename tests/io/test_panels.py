"""Tests for scintiseg.io.panels: a screen capture's flat panels set to the scan's background, margins left alone."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from scintiseg.io import SPLIT_COLUMN, read_scan
from scintiseg.io.images import undo_display_inversion
from scintiseg.io.layout import split_at
from scintiseg.io.panels import LINES_KEY, MAX_LINE_WIDTH, MIN_PANEL_DEPTH, PANELS_KEY, blank_flat_panels, blank_frame_lines
from scintiseg.phantom import generate_patient


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


def _framed(grey: np.ndarray, margin: int, width: int, level: int) -> np.ndarray:
    """``grey`` in a viewport: a black ``margin`` around it, then a frame ``width`` pixels wide at ``level``, at the
    image's edge."""
    framed = np.pad(grey, margin + width)
    framed[:width], framed[-width:], framed[:, :width], framed[:, -width:] = level, level, level, level
    return framed


@pytest.mark.parametrize("width, level", [(1, 128), (2, 200), (3, 60)])
def test_a_viewport_s_frame_is_set_to_the_background_and_reported(tmp_path, nm1_grey, width, level):
    path = tmp_path / "framed.png"
    framed = _framed(nm1_grey, 6, width, level)
    Image.fromarray(framed).save(path)
    scan = read_scan(path)
    rows, cols = framed.shape
    last = f"{width - 1}" if width > 1 else ""
    assert sorted(scan.metadata[LINES_KEY]) == sorted(
        [f"{axis} {first}" + (f"-{first + width - 1}" if last else "")
         for axis in (("rows", "row")[width == 1], ("columns", "column")[width == 1])
         for first in (0, (rows if axis.startswith("row") else cols) - width)])
    np.testing.assert_array_equal(scan.view("VIEW"), np.pad(nm1_grey, 6 + width))  # the frame gone, nothing else moved


def test_a_separator_under_a_toolbar_merged_with_the_frame_is_one_line(tmp_path, nm1_grey):
    """A 3-row separator under the toolbar and the viewport's 1-px frame beside it, both grey 128: one line 4 rows
    thick, blanked with the frame (it was left as a band)."""
    view = np.pad(np.pad(nm1_grey, 6), 1, constant_values=128)
    window = np.full((view.shape[0] + 83, view.shape[1] + 120), 200, np.uint8)
    window[:80], window[80:83], window[83:, :view.shape[1]] = 60, 128, view
    path = tmp_path / "capture.png"
    Image.fromarray(window).save(path)
    scan = read_scan(path)
    assert "rows 80-83" in scan.metadata[LINES_KEY]
    assert not scan.view("VIEW")[:90].any()


def test_a_page_s_separator_and_inset_frames_are_blanked_before_the_split(tmp_path, nm1_grey):
    """Two viewports, each framed inside a black margin, a separator between them: the views split as without them."""
    def page(frame: int, separator: int) -> np.ndarray:
        view = np.pad(nm1_grey, 3)
        view[0], view[-1], view[:, 0], view[:, -1] = frame, frame, frame, frame  # inset in the page's margin
        view = np.pad(view, 5)
        return np.concatenate([view, np.full((view.shape[0], 3), separator, np.uint8), view[:, ::-1]], axis=1)

    path = tmp_path / "page.png"
    Image.fromarray(page(150, 220)).save(path)
    scan = read_scan(path, split_views=True)
    assert scan.metadata[LINES_KEY] == ["row 5", "row 1034", "column 5", "column 266", "columns 272-274", "column 280",
                                        "column 541"]
    assert scan.view_names == ["ANT", "POST"]
    np.testing.assert_array_equal(np.stack([scan.view("ANT"), scan.view("POST")]),
                                  split_at(page(0, 0), scan.metadata[SPLIT_COLUMN]))


def test_a_scan_s_own_rows_are_never_taken_for_lines(nm1_grey):
    """Exports of NM1 and a phantom patient at hard and soft windows, inverted, JPEG'd, as tight crops and at a
    BS-80K-like count level (a few grey levels per pixel, where soft tissue is nearly flat): no line found."""
    rng = np.random.default_rng(3)
    phantom = generate_patient(920001).scan.view("POST").astype(np.float64)
    images = []
    for counts in (nm1_grey.astype(np.float64), phantom):
        for window in (0.05, 0.3, 1.0):
            grey = np.clip(counts / (window * counts.max()) * 255, 0, 255).astype(np.uint8)
            images += [grey, 255 - grey, np.ascontiguousarray(grey[100:400, 20:236]), _jpeg(grey)]
        thinned = rng.binomial(counts.astype(np.int64), min(1.0, 5 / np.median(counts[counts > 0])))
        images += [np.clip(thinned * gain, 0, 255).astype(np.uint8) for gain in (1.2, 3.0)]
    band = np.pad(nm1_grey, 20)
    band[4:4 + MAX_LINE_WIDTH + 1] = 128  # a bar thicker than a line: prediction's burned-in check judges it
    images.append(band)
    for image in images:
        blanked, lines = blank_frame_lines(image)
        assert lines == [] and blanked is image


def _jpeg(grey: np.ndarray) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(grey).save(buffer, "JPEG", quality=75)
    return np.asarray(Image.open(buffer))


@pytest.mark.parametrize("window", [0.05, 0.1, 0.3])
def test_a_hard_window_s_saturated_body_and_black_margins_are_no_panels(real_nm1, window):
    """NM1 exported with the display window's top at 5-30 % of its hottest pixel: its torso mostly at 255, its black
    margins on every side. Before session 32 the margins were taken for panels on a white display and painted white,
    and a chest crop's saturated top rows for a white panel and painted black."""
    counts = read_scan(real_nm1).view("ANT").astype(np.float64)
    grey = np.clip(np.round(255 * counts / (window * counts.max())), 0, 255).astype(np.uint8)
    for image in (grey, np.ascontiguousarray(grey[100:400, 20:236]), _jpeg(grey)):
        assert blank_flat_panels(image)[1] == {}
