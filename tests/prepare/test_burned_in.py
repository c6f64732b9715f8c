"""scintiseg.prepare.burned_in: text and bars drawn into an 8-bit export are found and painted over; bones, hot spots
and lesions, clipped or not, are never taken for them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage as ndi

from scintiseg.prepare.burned_in import burned_in_mask, without_burned_in
from scintiseg.prepare.degrade import export_8bit


def _nm1_export(real_scan, window: float = 1.0) -> np.ndarray:
    counts = real_scan.view("ANT").astype(np.float64)
    return np.clip(counts / (window * counts.max()) * 255, 0, 255).round().astype(np.uint8)


def _annotated(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``grey`` with a workstation's annotations drawn in, and where they were drawn."""
    image = Image.fromarray(grey)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=18)
    for where, text in (((8, 8), "ANT"), ((230, 8), "R"), ((8, 990), "Tc-99m MDP 3h"), ((200, 500), "L")):
        draw.text(where, text, fill=255, font=font)
    for i in range(100):  # a grey-scale bar at the right edge, white at its top
        draw.line([(250, 300 + i), (255, 300 + i)], fill=int(255 * (1 - i / 100)))
    drawn = np.asarray(image)
    return drawn, drawn != grey


def test_text_and_a_grey_bar_are_found_and_nothing_else(real_scan):
    grey = _nm1_export(real_scan)
    drawn, where = _annotated(grey)
    mask = burned_in_mask(drawn)
    bright_drawing = where & (drawn >= 128)
    assert mask[bright_drawing].mean() > 0.97  # the letters and the bar's bright half
    assert mask[300:400, 250:256].mean() > 0.9  # the bar followed down its ramp
    assert not (mask & ~ndi.binary_dilation(where, iterations=2)).any()  # nothing away from what was drawn


@pytest.mark.parametrize("window", [1.0, 0.5, 0.3, 0.15])
def test_nm1_as_counts_or_as_an_export_windowed_any_way_holds_no_drawing(real_scan, window):
    assert not burned_in_mask(_nm1_export(real_scan, window)).any()
    assert not burned_in_mask(real_scan.view("ANT")).any()  # counts are never looked at


@pytest.mark.parametrize("profile_name, seed", [("small", 972004), ("default", 910008), ("high-count", 4243)])
def test_phantom_exports_hold_no_drawing_clipped_or_not(profile_name, seed):
    from scintiseg.phantom import generate_patient, profile

    scan = generate_patient(seed, profile(profile_name)).scan
    for view in scan.view_names:
        counts = scan.view(view).astype(np.float64)
        for saturation in (1.0, 0.6, 0.3):
            assert not burned_in_mask(export_8bit(counts, saturation=saturation)).any(), (view, saturation)


@pytest.mark.parametrize("fwhm_px", [3.0, 4.0, 6.0])
def test_a_small_hot_spot_clipped_flat_on_a_dark_background_is_not_a_drawing(fwhm_px):
    """The case a drawing is nearest to: a compact hot spot, clipped at 255, alone on a dark background."""
    rows, cols = np.mgrid[:128, :64]
    sigma = fwhm_px / 2.355
    spot = 1200.0 * np.exp(-((rows - 60) ** 2 + (cols - 30) ** 2) / (2 * sigma**2)) + 5.0
    assert not burned_in_mask(np.clip(spot, 0, 255).astype(np.uint8)).any()


def test_painting_fills_from_the_surroundings_and_leaves_the_rest():
    view = np.full((64, 64), 40, dtype=np.uint8)
    view[20:24, 10:50] = 255
    mask = np.zeros(view.shape, dtype=bool)
    mask[19:25, 9:51] = True
    painted = without_burned_in(view, mask)
    assert painted.dtype == np.uint8 and np.array_equal(painted[~mask], view[~mask])
    assert np.all(np.abs(painted[mask].astype(int) - 40) <= 1)
    assert without_burned_in(view, np.zeros_like(mask)) is view


@pytest.mark.parametrize("name", ["8NM1_f17_s61026_chest_left.jpg", "8NM1_f17_s61069_spine.jpg"])
def test_the_small_lesions_of_two_low_count_nm1_crops_are_not_drawings(name):
    """Two of the 500 BS-80K-like region crops of NM1 hybrids (benchmarks/make_region_crops.py, defaults) whose small
    inserted lesion was taken for a drawing before the drawn-white, flat-top rule (session 23)."""
    from scintiseg.io import read_scan

    crop = read_scan(Path(__file__).resolve().parents[1] / "data" / "burned_in" / name).view("VIEW")
    assert not burned_in_mask(crop).any()


def test_text_saved_as_jpeg_is_found_as_well(real_scan, tmp_path):
    drawn, where = _annotated(_nm1_export(real_scan))
    Image.fromarray(drawn).save(tmp_path / "drawn.jpg", quality=75)
    from scintiseg.io import read_scan

    mask = burned_in_mask(read_scan(tmp_path / "drawn.jpg").view("VIEW"))
    assert mask[where & (drawn >= 128)].mean() > 0.95


def _line(level: int, under: int = 0) -> np.ndarray:
    """A 64 x 64 8-bit view: a 2-pixel line at ``level`` over columns 10-29 (too short for a grey bar) on a square of
    ``under``."""
    view = np.zeros((64, 64), dtype=np.uint8)
    view[8:40, 4:48] = under
    view[20:22, 10:30] = level
    return view


def test_a_white_line_on_background_is_found_with_its_one_pixel_fringe():
    mask = burned_in_mask(_line(255))
    expected = np.zeros(mask.shape, dtype=bool)
    expected[19:23, 9:31] = True
    assert np.array_equal(mask, expected)


def test_a_line_not_drawn_white_or_lying_on_bright_tissue_is_no_drawing():
    assert burned_in_mask(_line(255)).any()
    assert not burned_in_mask(_line(200)).any()  # its top below MIN_WHITE: a structure of the scan
    assert not burned_in_mask(_line(255, under=60)).any()  # steep, but on tissue above a fifth of the top
