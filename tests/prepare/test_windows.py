"""Tests for scintiseg.prepare.windows: where training's and prediction's windows lie, and one window cut out."""

import numpy as np
import pytest

from scintiseg.prepare.windows import window_at, window_starts


@pytest.mark.parametrize("overlap", [0.0, 0.25, 0.5, 0.8])
def test_window_starts_are_monais(overlap):
    from monai.data.utils import dense_patch_slices
    from monai.inferers.utils import _get_scan_interval

    for size in (16, 37, 64):
        for length in range(size, 400, 13):
            step = _get_scan_interval([length], [size], 1, [overlap])
            expected = [s[0].start for s in dense_patch_slices([length], [size], step)]
            starts = window_starts(length, size, overlap)
            assert starts == expected, (length, size)
            assert starts[0] == 0 and starts[-1] + size == length  # the view is covered end to end


def test_window_starts_overlap_by_half_and_reach_the_end():
    assert window_starts(1024, 256) == [0, 128, 256, 384, 512, 640, 768]
    assert window_starts(300, 256) == [0, 44]
    assert window_starts(256, 256) == [0] and window_starts(100, 256) == [0]
    for length, size in ((1024, 256), (997, 256), (257, 256), (5000, 448)):
        starts = window_starts(length, size)
        covered = np.zeros(length, bool)
        for start in starts:
            covered[start:start + size] = True
        assert covered.all() and starts[-1] + size == length and np.diff(starts).max() <= size // 2


def test_training_and_prediction_place_their_windows_with_this_one_function():
    from scintiseg.predict import windows as predict_windows
    from scintiseg.train import data as train_data

    assert train_data.window_starts is predict_windows.window_starts is window_starts


def test_window_at_copies_the_window_and_pads_a_short_side_with_zeros_where_asked():
    array = np.arange(2 * 5 * 9, dtype=np.int16).reshape(2, 5, 9)
    window = window_at(array, 0, 3, 6)
    assert window.shape == (2, 6, 6) and window.dtype == np.int16 and not np.shares_memory(window, array)
    np.testing.assert_array_equal(window[:, :5], array[:, :, 3:9])
    assert not window[:, 5:].any()  # the rows past the array's end
    placed = window_at(array, 0, 3, 6, offset=(1, 0), dtype=np.float32)
    assert placed.dtype == np.float32 and not placed[:, 0].any()
    np.testing.assert_array_equal(placed[:, 1:], array[:, :, 3:9])
    short = window_at(array, 0, 0, 12, offset=(4, 2))
    np.testing.assert_array_equal(short[:, 4:9, 2:11], array)
    assert short.sum() == array.sum()
