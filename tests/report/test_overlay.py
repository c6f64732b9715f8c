"""The review overlay (report/overlay.py): a palette picture of the scan in the display window, the lesion
outlines in red, their ids, and the model's window in blue."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from support import blob_settings
from scintiseg.display import render_display
from scintiseg.io import Scan
from scintiseg.predict.pipeline import predict_from_probabilities
from scintiseg.report.overlay import (
    BLUE_INDEX,
    CONTOUR_COLOUR,
    OVERLAY_PALETTE,
    RED_INDEX,
    WHITE_INDEX,
    WINDOW_COLOUR,
    overlay_image,
    png_bytes,
)


@pytest.fixture(scope="module")
def lesion_view(nm1_scan, make_blobs):
    """NM1's ANT view with two blob lesions, the second seen only in part of the view."""
    scan = Scan({"ANT": nm1_scan.view("ANT")}, nm1_scan.pixel_spacing, source=None)
    prob = make_blobs(scan.shape, [(300, 100, 5), (600, 150, 5)])
    coverage = np.zeros(scan.shape, dtype=bool)
    coverage[200:800, :] = True
    prediction = predict_from_probabilities(scan, {"ANT": prob}, {"ANT": coverage}, settings=blob_settings(0.5, 4))
    return scan.view("ANT"), prediction.views["ANT"]


def _rgb(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def test_palette_is_greys_white_red_and_blue():
    assert len(OVERLAY_PALETTE) == 256
    assert OVERLAY_PALETTE[:WHITE_INDEX] == tuple((g, g, g) for g in range(WHITE_INDEX))
    assert OVERLAY_PALETTE[WHITE_INDEX] == (255, 255, 255)
    assert OVERLAY_PALETTE[RED_INDEX] == CONTOUR_COLOUR and OVERLAY_PALETTE[BLUE_INDEX] == WINDOW_COLOUR


def test_scan_is_the_display_rendering_enlarged_away_from_the_drawing(lesion_view):
    counts, result = lesion_view
    rgb = _rgb(overlay_image(counts, result, scale=2))
    expected = np.repeat(np.repeat(render_display(counts), 2, axis=0), 2, axis=1)
    grey = (rgb[..., 0] == rgb[..., 1]) & (rgb[..., 1] == rgb[..., 2])
    assert grey.mean() > 0.98  # all but the outlines, ids and window frame
    diff = np.abs(rgb[..., 0].astype(int) - expected.astype(int))
    assert np.all(diff[grey & (expected >= WHITE_INDEX)] <= 2)  # the lightest greys (253, 254) become white
    # The ids' white halo (its edge blends towards the scan), nothing else: lighter than the scan, and rare.
    halo = grey & (expected < WHITE_INDEX) & (diff > 0)
    assert np.all(rgb[..., 0][halo] > expected[halo]) and 0 < halo.mean() < 0.005


def test_contours_ids_and_window_are_drawn_where_they_belong(lesion_view):
    counts, result = lesion_view
    assert len(result.contours) == 2
    rgb = _rgb(overlay_image(counts, result, scale=2))
    red = np.all(rgb == CONTOUR_COLOUR, axis=-1)
    for contour in result.contours:
        for x, y in contour.points[:: max(len(contour.points) // 8, 1)]:
            r, c = int(round(y * 2 + 0.5)), int(round(x * 2 + 0.5))
            assert red[max(r - 1, 0):r + 2, max(c - 1, 0):c + 2].any()
    # Each id sits above-left of its lesion: red pixels in the box just above the outline's top-left corner.
    for contour in result.contours:
        x0, y0 = (min(p[i] for p in contour.points) * 2 for i in (0, 1))
        assert red[max(int(y0) - 20, 0):int(y0), max(int(x0) - 24, 0):int(x0)].any()
    blue_rows = np.flatnonzero(np.all(rgb == WINDOW_COLOUR, axis=-1).any(axis=1))
    assert blue_rows.min() == 400 and blue_rows.max() == 1599  # the covered rows 200..799, enlarged twice


def test_background_without_outlines_has_no_red(lesion_view):
    counts, result = lesion_view
    rgb = _rgb(overlay_image(counts, result, scale=1, outlines=False))
    assert rgb.shape[:2] == counts.shape and not np.all(rgb == CONTOUR_COLOUR, axis=-1).any()


def test_given_display_rendering_is_used_and_checked(lesion_view):
    counts, result = lesion_view
    display = render_display(counts)
    assert np.array_equal(_rgb(overlay_image(counts, result, display=display)), _rgb(overlay_image(counts, result)))
    with pytest.raises(ValueError, match="does not match"):
        overlay_image(counts, result, display=display[:10])


def test_png_round_trip_keeps_the_palette_picture(lesion_view):
    counts, result = lesion_view
    image = overlay_image(counts, result)
    decoded = Image.open(io.BytesIO(png_bytes(image)))
    assert decoded.mode == "P" and np.array_equal(_rgb(decoded), _rgb(image))


def test_outline_vertices_lie_on_the_centres_of_the_enlarged_pixels(lesion_view):
    """At scale 3 the pixel (r, c) becomes rows 3r..3r+2 and columns 3c..3c+2: each outline vertex (a pixel centre)
    is drawn on the middle one, (3r + 1, 3c + 1)."""
    counts, result = lesion_view
    red = np.all(_rgb(overlay_image(counts, result, scale=3)) == CONTOUR_COLOUR, axis=-1)
    assert result.contours
    for contour in result.contours:
        for x, y in contour.points:
            assert red[int(round(y)) * 3 + 1, int(round(x)) * 3 + 1]
