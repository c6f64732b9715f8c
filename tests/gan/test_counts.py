"""Tests of :mod:`scintiseg.gan.counts`: counts to the generator's [-1, 1] range and back to integer counts."""

from __future__ import annotations

import numpy as np
import pytest

from scintiseg.gan.counts import case_scale, counts_to_model, model_to_expected_counts, to_integer_counts


def test_case_scale_is_the_99th_percentile_of_all_views_and_at_least_one():
    ant, post = np.arange(100, dtype=np.uint16).reshape(10, 10), np.arange(100, 200, dtype=np.uint16).reshape(10, 10)
    assert case_scale([ant, post]) == pytest.approx(np.percentile(np.arange(200), 99.0))  # both views, not one
    assert case_scale([np.zeros((4, 4)), np.full((4, 4), 0.5)]) == 1.0


def test_counts_map_by_square_root_onto_minus_one_to_one_and_saturate_above_the_ceiling():
    scale, ceiling = 50.0, 2.0
    counts = np.array([0.0, scale, ceiling**2 * scale, 10 * ceiling**2 * scale, -5.0])
    np.testing.assert_allclose(counts_to_model(counts, scale, ceiling), [-1.0, 0.0, 1.0, 1.0, -1.0], atol=1e-6)
    assert counts_to_model(counts, scale, ceiling).dtype == np.float32
    quarter = counts_to_model(np.array([scale / 4]), scale, ceiling)  # sqrt: a quarter of s is half of u = 1
    np.testing.assert_allclose(quarter, [2 * 0.5 / ceiling - 1], atol=1e-6)


def test_expected_counts_invert_the_mapping_below_the_ceiling():
    scale, ceiling = 80.0, 2.5
    counts = np.linspace(0, ceiling**2 * scale, 50)
    np.testing.assert_allclose(model_to_expected_counts(counts_to_model(counts, scale, ceiling), scale, ceiling), counts,
                               rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(model_to_expected_counts(np.array([-3.0, 3.0]), scale, ceiling),
                               [0.0, ceiling**2 * scale])  # outside [-1, 1]: clipped


def test_a_scale_per_sample_broadcasts():
    x = np.zeros((3, 2, 2))
    scales = np.array([1.0, 10.0, 100.0])[:, None, None]
    expected = model_to_expected_counts(x, scales, 2.0)  # x = 0: u = 1, counts = s
    np.testing.assert_allclose(expected[:, 0, 0], [1.0, 10.0, 100.0])


def test_integer_counts_by_rounding_or_poisson_sampling_within_uint16():
    rng = np.random.default_rng(0)
    expected = np.array([-2.0, 0.4, 0.6, 7.5, 1e6])
    rounded = to_integer_counts(expected, "round", rng)
    assert rounded.dtype == np.uint16 and rounded.tolist() == [0, 0, 1, 8, 65535]
    sampled = to_integer_counts(np.full(20000, 30.0), "poisson", rng)
    assert sampled.dtype == np.uint16
    assert sampled.mean() == pytest.approx(30.0, rel=0.02) and sampled.var() == pytest.approx(30.0, rel=0.05)
    with pytest.raises(ValueError, match="unknown count method 'floor'"):
        to_integer_counts(expected, "floor", rng)
