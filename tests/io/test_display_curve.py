"""Tests for scintiseg.io.display_curve: an 8-bit export shown through a display gamma read back to linear grey levels."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from scintiseg.io import read_scan
from scintiseg.io.display_curve import GAMMA_KEY, LINEAR_RANGE, MAX_SATURATED_SHARE, display_gamma, undo_display_curve


@pytest.fixture(scope="module")
def nm1_counts(real_nm1) -> np.ndarray:
    return read_scan(real_nm1).view("ANT").astype(np.float64)


def _export(counts: np.ndarray, window: float = 1.0, gamma: float = 1.0) -> np.ndarray:
    """``counts`` exported in 8 bits, the window's top at ``window`` of the hottest pixel, through ``gamma``."""
    linear = np.clip(counts / (window * counts.max()), 0, 1)
    return np.clip(np.round(255 * linear ** gamma), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("window", [1.0, 0.3])
@pytest.mark.parametrize("gamma", [0.5, 0.6])
def test_an_export_through_a_gamma_is_read_back_to_its_linear_grey_levels(tmp_path, nm1_counts, window, gamma):
    path = tmp_path / "bent.png"
    Image.fromarray(_export(nm1_counts, window, gamma)).save(path)
    scan = read_scan(path)
    assert scan.metadata[GAMMA_KEY] == pytest.approx(gamma, rel=0.12)
    linear = _export(nm1_counts, window)
    body = linear > 20
    assert np.mean(np.abs(scan.view("VIEW")[body].astype(float) - linear[body])) < 5  # grey levels; bent: 20-60
    assert np.mean(np.abs(_export(nm1_counts, window, gamma)[body].astype(float) - linear[body])) > 15


@pytest.mark.parametrize("window", [1.0, 0.3, 0.1])
def test_a_linear_export_is_left_as_it_is(tmp_path, nm1_counts, window):
    grey = _export(nm1_counts, window)
    path = tmp_path / "linear.png"
    Image.fromarray(grey).save(path)
    scan = read_scan(path)
    assert GAMMA_KEY not in scan.metadata
    np.testing.assert_array_equal(scan.view("VIEW"), grey)
    estimate = display_gamma(grey)
    if window == 0.1:  # a fifth of the body at 255: what is left unsaturated is the body's outline, not judged
        assert estimate is None and np.mean(grey[grey > 20] == 255) > MAX_SATURATED_SHARE
    else:
        assert LINEAR_RANGE[0] <= estimate <= LINEAR_RANGE[1]


def test_a_darkening_curve_and_a_jpeg_s_pixels_saved_as_png_are_left_as_they_are(tmp_path, nm1_counts):
    """A gamma over 1 reads like a JPEG's history (JPEG takes more noise from the low levels): neither is read back."""
    darker = _export(nm1_counts, 1.0, 1.6)
    assert display_gamma(darker) == pytest.approx(1.6, rel=0.12)
    Image.fromarray(darker).save(tmp_path / "darker.png")
    assert GAMMA_KEY not in read_scan(tmp_path / "darker.png").metadata
    Image.fromarray(_export(nm1_counts)).save(tmp_path / "export.jpg", quality=90)
    once_jpeg = np.asarray(Image.open(tmp_path / "export.jpg"))
    assert display_gamma(once_jpeg) > LINEAR_RANGE[1]  # JPEG 90 of NM1: read as about 2.2
    Image.fromarray(once_jpeg).save(tmp_path / "converted.png")
    scan = read_scan(tmp_path / "converted.png")
    assert GAMMA_KEY not in scan.metadata
    np.testing.assert_array_equal(scan.view("VIEW"), once_jpeg)


def test_a_jpeg_is_not_judged(tmp_path, nm1_counts):
    """JPEG's quantisation bends the noise itself (a linear JPEG 90 of NM1 reads as gamma 2.5): read as it is."""
    path = tmp_path / "bent.jpg"
    Image.fromarray(_export(nm1_counts, 1.0, 0.5)).save(path, quality=95)
    scan = read_scan(path)
    assert GAMMA_KEY not in scan.metadata
    np.testing.assert_array_equal(scan.view("VIEW"), np.asarray(Image.open(path)))


def test_counts_and_pictures_that_are_no_scan_are_not_judged(nm1_counts):
    counts = nm1_counts.astype(np.uint16)
    assert undo_display_curve([counts]) == ([counts], None)  # 16-bit counts: never
    expected = np.full((160, 40), 0.5)
    expected[10:150, 8:32], expected[20:120, 18:22] = 8.0, 40.0  # two flat areas and their edges, upsampled
    blocks = np.random.default_rng(2).poisson(np.kron(expected, np.ones((3, 3)))).astype(np.uint8)
    assert display_gamma(blocks) is None
    assert display_gamma(np.zeros((200, 60), np.uint8)) is None
