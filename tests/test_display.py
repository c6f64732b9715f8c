"""The one display window (scintiseg.display)."""

import numpy as np

from scintiseg.display import DISPLAY_PERCENTILE, display_window, render_display


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
