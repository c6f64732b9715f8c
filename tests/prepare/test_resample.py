"""Area-weighted resampling: counts conserved, maps averaged, Poisson kept, round trips."""

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.prepare.resample import overlap_matrix, resample_counts, resample_map, resample_scan, resampled_shape
from scintiseg.scan import Scan


def test_overlap_columns_sum_to_one():
    for n_in, n_out in [(10, 5), (5, 10), (7, 3), (256, 213)]:
        weights = overlap_matrix(n_in, n_out)
        assert weights.shape == (n_out, n_in)
        np.testing.assert_allclose(weights.sum(axis=0), 1.0, atol=1e-5)


def test_halving_sums_two_by_two_blocks():
    image = np.arange(64, dtype=np.float32).reshape(8, 8)
    out = resample_counts(image, (1.13, 1.13), (2.26, 2.26))
    expected = image.reshape(4, 2, 4, 2).sum(axis=(1, 3))
    np.testing.assert_allclose(out, expected, rtol=1e-5)


@pytest.mark.parametrize("shape, factor", [((1024, 256), (2, 2)), ((300, 77), (3, 7)), ((64, 60), (1, 4))])
def test_whole_factor_shrinking_equals_the_overlap_matrices(shape, factor):
    image = np.random.default_rng(1).poisson(5.0, size=shape).astype(np.float32)
    to = (2.26 * factor[0], 2.26 * factor[1])
    out = resample_counts(image, (2.26, 2.26), to)
    rows, cols = resampled_shape(shape, (2.26, 2.26), to)
    expected = overlap_matrix(shape[0], rows) @ image @ overlap_matrix(shape[1], cols).T
    assert out.shape == expected.shape == (shape[0] // factor[0], shape[1] // factor[1]) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_counts_conserved_for_any_factor():
    rng = np.random.default_rng(0)
    image = rng.poisson(5.0, size=(300, 77)).astype(np.float32)
    for to in [(1.0, 1.0), (2.26, 2.26), (4.5, 4.5), (3.1, 1.7)]:
        out = resample_counts(image, (2.26, 2.26), to)
        assert out.shape == resampled_shape(image.shape, (2.26, 2.26), to)
        assert out.sum() == pytest.approx(image.sum(), rel=1e-5)


def test_fine_matrix_summed_is_poisson():
    # A 2x finer acquisition brought to the model's size has the statistics of a native one: mean = variance.
    rng = np.random.default_rng(1)
    fine = rng.poisson(1.5, size=(400, 400)).astype(np.float32)
    coarse = resample_counts(fine, (1.13, 1.13), (2.26, 2.26))
    assert coarse.mean() == pytest.approx(6.0, rel=0.02)
    assert coarse.var() == pytest.approx(coarse.mean(), rel=0.05)


def test_map_round_trip_keeps_range_and_constants():
    rng = np.random.default_rng(2)
    prob = rng.uniform(size=(128, 64)).astype(np.float32)
    back = resample_map(prob, (257, 130))
    assert back.shape == (257, 130)
    assert back.min() >= prob.min() - 1e-6 and back.max() <= prob.max() + 1e-6
    np.testing.assert_allclose(resample_map(np.full((50, 20), 0.3, np.float32), (101, 33)), 0.3, atol=1e-6)


def test_round_trip_of_a_blob_stays_in_place():
    blob = np.zeros((200, 100), dtype=np.float32)
    blob[80:100, 40:60] = 1.0
    there = resample_map(blob, (100, 50))
    back = resample_map(there, (200, 100))
    assert (back > 0.5).sum() == pytest.approx(400, rel=0.1)
    rows, cols = np.nonzero(back > 0.5)
    assert rows.mean() == pytest.approx(89.5, abs=1) and cols.mean() == pytest.approx(49.5, abs=1)


def test_scan_resampled_with_spacing_and_same_spacing_untouched():
    scan = Scan({"ANT": np.ones((64, 32), np.uint16), "POST": np.ones((64, 32), np.uint16)}, pixel_spacing=(4.52, 4.52))
    out = resample_scan(scan, (2.26, 2.26))
    assert out.shape == (128, 64) and out.pixel_spacing == (2.26, 2.26)
    assert out.view("POST").sum() == pytest.approx(64 * 32, rel=1e-5)
    assert resample_scan(scan, (4.52, 4.52)) is scan


def test_bad_sizes_and_dimensions_refused():
    with pytest.raises(ScintisegError):
        overlap_matrix(0, 3)
    with pytest.raises(ScintisegError):
        resample_counts(np.ones((2, 3, 4)), (1, 1), (2, 2))


def test_resample_labels_keeps_names_and_round_trips():
    from scintiseg.prepare.resample import resample_labels

    labels = np.arange(12, dtype=np.int16).reshape(3, 4)
    fine = resample_labels(labels, (6, 8))
    assert set(np.unique(fine)) == set(range(12))  # no averaged (new) label
    assert np.array_equal(fine[::2, ::2], labels)
    assert np.array_equal(resample_labels(fine, (3, 4)), labels)


def test_resample_labels_takes_the_label_under_each_output_pixels_centre():
    from scintiseg.prepare.resample import resample_labels

    labels = 10 * np.arange(9, dtype=np.int16)[:, None] + np.arange(9, dtype=np.int16)[None, :]  # row r, col c: 10 r + c
    coarse = resample_labels(labels, (3, 3))
    # The middle row and column of each 3 x 3 block.
    assert np.array_equal(coarse, [[11, 14, 17], [41, 44, 47], [71, 74, 77]])
