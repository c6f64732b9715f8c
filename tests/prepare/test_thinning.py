import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.prepare.thinning import binomial_thin


@pytest.mark.parametrize("p", [0.25, 0.5, 0.8])
def test_thinned_poisson_is_poisson_of_scaled_rate(p):
    rng = np.random.default_rng(0)
    rate = 30.0
    counts = rng.poisson(rate, size=200_000).astype(np.uint16)
    thin = binomial_thin(counts, p, rng).astype(np.float64)
    n = thin.size
    # Poisson(p * rate): mean == variance == p * rate. Standard errors: sqrt(var/n) and ~sqrt(2 var^2/n).
    expected = p * rate
    assert abs(thin.mean() - expected) < 5 * np.sqrt(expected / n)
    assert abs(thin.var() - expected) < 5 * np.sqrt(2 * expected**2 / n + expected / n)
    # Scaling instead of thinning would give variance p^2 * rate: far from Poisson.
    assert abs((p * counts).var() - expected) > 10 * np.sqrt(2 * expected**2 / n)


def test_thinning_keeps_shape_dtype_and_never_adds_counts():
    counts = np.random.default_rng(1).poisson(5.0, size=(64, 32)).astype(np.uint16)
    thin = binomial_thin(counts, 0.5, 3)
    assert thin.shape == counts.shape and thin.dtype == counts.dtype
    assert (thin <= counts).all()
    assert np.array_equal(binomial_thin(counts, 1.0, 0), counts) and not binomial_thin(counts, 0.0, 0).any()


def test_same_seed_same_result():
    counts = np.full((16, 16), 10, dtype=np.int32)
    assert np.array_equal(binomial_thin(counts, 0.3, 7), binomial_thin(counts, 0.3, 7))
    assert not np.array_equal(binomial_thin(counts, 0.3, 7), binomial_thin(counts, 0.3, 8))


def test_bad_inputs_are_errors():
    with pytest.raises(ScintisegError, match=r"\[0, 1\]"):
        binomial_thin(np.ones(4, dtype=int), 1.5)
    with pytest.raises(ScintisegError, match="whole counts"):
        binomial_thin(np.array([1.5, 2.0]), 0.5)
    with pytest.raises(ScintisegError, match="non-negative"):
        binomial_thin(np.array([-1, 2]), 0.5)
