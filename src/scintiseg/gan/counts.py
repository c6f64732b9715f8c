"""Counts <-> the generator's value range, and back to integer counts.

A DCGAN's generator ends in tanh (Radford et al. 2015 §3), so real images must be mapped into
[-1, 1] and generated ones mapped back to counts so that they travel through the same pipeline as real
crops (files hold counts; :mod:`scintiseg.prepare.intensity` normalises them for a model later).

Our transform (paper B does not describe one), per case, all views together::

    s = 99th percentile of the case's counts              (the case's count scale)
    u = sqrt(counts / s)                                  (Anscombe-like: Poisson noise gets ~constant variance)
    x = 2 * min(u, c) / c - 1                             (c = ``sqrt_ceiling``; counts above c^2 * s saturate)

The inverse maps x to *expected* counts ``s * ((x + 1) / 2 * c)^2``. A generated image has no scale of its
own, so at sampling time ``s`` is drawn from the training cases' scales (resampled with the sampling
seed): G learns the shape of the count distribution, the training set supplies its level. Expected counts
become non-negative integers by Poisson sampling (default; restores the counting noise that a lower
native resolution smooths away) or by rounding.
"""

from __future__ import annotations

import numpy as np

#: Percentile that defines a case's count scale.
SCALE_PERCENTILE = 99.0


def case_scale(views: list[np.ndarray]) -> float:
    """The count scale ``s`` of one case: the 99th percentile of all its views' counts (at least 1)."""
    values = np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in views])
    return max(float(np.percentile(values, SCALE_PERCENTILE)), 1.0)


def counts_to_model(counts: np.ndarray, scale: float, sqrt_ceiling: float) -> np.ndarray:
    """Counts -> generator units in [-1, 1] (float32)."""
    u = np.sqrt(np.clip(np.asarray(counts, dtype=np.float64), 0, None) / scale)
    return (2.0 * np.minimum(u, sqrt_ceiling) / sqrt_ceiling - 1.0).astype(np.float32)


def model_to_expected_counts(x: np.ndarray, scale: float | np.ndarray, sqrt_ceiling: float) -> np.ndarray:
    """Generator units -> expected counts (float64, >= 0). ``scale`` broadcasts against ``x``."""
    u = (np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0) + 1.0) / 2.0 * sqrt_ceiling
    return np.asarray(scale, dtype=np.float64) * u * u


def to_integer_counts(expected: np.ndarray, method: str, rng: np.random.Generator) -> np.ndarray:
    """Expected counts -> uint16 counts by ``"poisson"`` sampling or ``"round"``-ing (clipped to 65535)."""
    expected = np.clip(np.asarray(expected, dtype=np.float64), 0.0, 65535.0)
    if method == "poisson":
        values = rng.poisson(expected)
    elif method == "round":
        values = np.rint(expected)
    else:
        raise ValueError(f"unknown count method {method!r}")
    return np.clip(values, 0, 65535).astype(np.uint16)
