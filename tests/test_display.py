"""The one display window (scintiseg.display)."""

import numpy as np
import pytest

from scintiseg.display import DISPLAY_PERCENTILE, HOT_OBJECT_CAP, display_window, render_display


def test_window_ignores_zero_background():
    counts = np.zeros((64, 64))
    counts[10:20, 10:20] = np.arange(100).reshape(10, 10) + 1
    # 3,996 zero pixels would pull a percentile of all pixels to 0; the window uses the body only.
    assert display_window(counts) == np.percentile(np.arange(100) + 1, DISPLAY_PERCENTILE)


def test_window_of_an_empty_image_is_one():
    assert display_window(np.zeros((8, 8))) == 1.0


def test_render_is_inverted_and_saturates_above_the_window():
    counts = np.zeros((32, 32))
    counts[:20, :] = np.linspace(1, 100, 32)
    counts[20, 0] = 10_000  # a bladder-like outlier saturates instead of squashing the skeleton
    rendered = render_display(counts)
    assert rendered.dtype == np.uint8
    assert rendered[25, 5] == 255  # no counts: white
    assert rendered[20, 0] == 0  # above the window: black
    row = rendered[0, :].astype(int)
    assert np.all(np.diff(row) <= 0)  # more counts, darker
    assert row[0] > 200 and row[-1] < 10


@pytest.fixture(scope="module")
def real_scan(real_nm1):
    from scintiseg.io import read_scan

    return read_scan(real_nm1)


def test_a_hot_object_over_half_a_percent_of_the_frame_does_not_whiten_the_bone():
    """Bone at 100 counts over the frame, a 'bladder' at 20x over 2 % of it: the 99.5th percentile lies in the
    bladder (2000), which would render the bone at grey 242 (nearly white); the window is capped at 4 x the
    95th percentile (400) and the bone is mid-grey."""
    counts = np.full((100, 100), 100.0)
    counts[:2, :] = 2000.0
    assert np.percentile(counts[counts > 0], DISPLAY_PERCENTILE) == 2000.0
    assert display_window(counts) == HOT_OBJECT_CAP * 100.0
    rendered = render_display(counts)
    assert 150 < rendered[50, 50] < 200 and rendered[0, 0] == 0


def test_the_cap_leaves_ordinary_scans_alone(real_scan):
    """On NM1 and on phantom views (whose p99.5 is at most 3.2 x their p95) the window is the 99.5th percentile."""
    from scintiseg.phantom.config import profile
    from scintiseg.phantom.patient import generate_patient

    images = [real_scan.view("ANT")]
    for name, seed in (("default", 960000), ("randomised", 960001)):
        scan = generate_patient(seed, profile(name)).scan
        images += [scan.view(view) for view in scan.views]
    for image in images:
        positive = image[image > 0].astype(float)
        assert display_window(image) == np.percentile(positive, DISPLAY_PERCENTILE)


def test_nm1_with_a_hot_bladder_shows_its_skeleton(real_scan):
    """NM1 with a 13.5 cm bladder at 10 x its brightest pixel (1.1 % of the frame): NM1's hottest bone (its top
    1 %, grey 12 on the plain scan) renders at grey 141, not nearly white (242 before the cap, window 2780)."""
    ant = real_scan.view("ANT").astype(np.float64)
    rows, cols = np.mgrid[: ant.shape[0], : ant.shape[1]]
    hot = ant.copy()
    hot[((rows - 505) ** 2 + (cols - 128) ** 2) <= 30**2] = ant.max() * 10
    bone = ant >= np.percentile(ant[ant > 0], 99)  # NM1's hottest bone
    plain, shown = render_display(ant)[bone].mean(), render_display(hot)[bone].mean()
    assert display_window(hot) < 0.15 * hot.max()  # not the bladder's level (2780 counts)
    assert plain < 30 and shown < 160


def test_render_maps_counts_linearly_to_the_nearest_grey_level():
    """Half the window is grey 127 (255 - round(127.5)), a quarter 191 (255 - round(63.75))."""
    counts = np.full((20, 20), 100.0)
    counts[0, :3] = [0.0, 50.0, 25.0]
    assert display_window(counts) == 100.0
    assert render_display(counts)[0, :4].tolist() == [255, 127, 191, 0]
