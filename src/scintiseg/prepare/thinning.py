"""Count-level augmentation by binomial thinning: a shorter acquisition of the same patient.

A gamma-camera pixel counts a Poisson number of photons, ``N ~ Poisson(lambda)``. Keeping each counted
photon independently with probability ``p`` gives ``Binomial(N, p)`` counts, and a binomially thinned
Poisson variable is again Poisson: ``Binomial(Poisson(lambda), p) ~ Poisson(p * lambda)``. Thinning a
scan is therefore *exactly* the scan that an acquisition ``p`` times as long (or with ``p`` times the
activity) would have given, noise included. Scaling counts by ``p`` would not be: it keeps the relative
noise of the long scan (variance ``p^2 lambda`` instead of ``p lambda``).

This is the physically correct count-level augmentation; it needs integer counts as acquired (not
interpolated or normalised images), so it runs before geometric augmentation and normalisation.
"""

from __future__ import annotations

import numpy as np

from scintiseg.errors import ScintisegError


def binomial_thin(counts: np.ndarray, p: float, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Keep each count with probability ``p``: ``Binomial(counts, p)`` per pixel.

    Args:
        counts: non-negative integer counts (any shape; floats holding whole numbers are accepted).
        p: keep probability in ``[0, 1]``: the ratio of the simulated to the real acquisition time.
        rng: a NumPy Generator or a seed.

    Returns:
        Thinned counts, same shape and dtype as ``counts``.

    Example::

        half_time = binomial_thin(scan.view("ANT"), 0.5, rng=np.random.default_rng(0))
    """
    if not 0.0 <= float(p) <= 1.0:
        raise ScintisegError(f"thinning probability must lie in [0, 1], got {p}")
    counts = np.asarray(counts)
    whole = np.rint(counts)
    if counts.dtype.kind == "f" and not np.array_equal(whole, counts):
        raise ScintisegError("binomial thinning needs whole counts, got fractional values (thin before interpolating)")
    if (whole < 0).any():
        raise ScintisegError("binomial thinning needs non-negative counts")
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return generator.binomial(whole.astype(np.int64), float(p)).astype(counts.dtype, copy=False)
