"""Intensity normalisation: from counts to the numbers a model sees.

Counts of a bone scan are not on a fixed scale: injected activity, uptake time, patient size and scan
speed change the count level of the whole image by a factor of several between patients (paper B §2.1),
and the papers do not say how they scale their 16-bit inputs. The choice is therefore left open and
selectable; the experiments compare the methods (:data:`METHODS`):

- ``"none"``: the counts as float32.
- ``"percentile"``: counts divided by the ``percentile``-th percentile (99th by default) of the counts inside
  the body. Removes the patient's count level; keeps the image linear (a lesion twice as hot stays twice
  as hot). Hot spots above the percentile exceed 1.
- ``"log"``: ``log1p(counts)``. Compresses the bright bladder and injection sites; a global count factor
  becomes an additive offset, not removed.
- ``"zscore"``: ``(counts - mean) / std`` with mean and std over the body only, so that the empty
  background does not dominate the statistics. Background pixels become negative.
- ``"robust"``: counts divided by the ``robust_percentile``-th percentile (90th) of the image **smoothed
  with a Gaussian of** ``robust_sigma_mm`` (10 mm) inside the body. Linear like ``"percentile"``, but stable
  from 0.15 M to 6 M counts per view and for 8-bit exports (issue 13, "Intensity"); see below.

The body is :func:`scintiseg.prepare.body.body_mask` unless a mask is given. If no body is found (an
empty crop), the whole image is used (``"robust"``: every pixel with smoothed counts above zero, so that
zero padding does not pull the scale down), so normalisation never fails on an image the model must still
see; an image without any count (all zeros, an empty array) comes back unchanged, never divided by zero.

Why ``"robust"`` (measured: ``benchmarks/bench_normalisation.py``, docs/prepare.md "Intensity"):

- At 0.15 M counts per view a whole-body view has about 1 count per body pixel, and the 99th percentile of
  the raw counts is a handful of counts that jumps with the Poisson noise: ``"percentile"``'s scale is then
  an integer from the top of the noise, not the patient's uptake. Smoothing first averages over about
  ``4 pi sigma^2`` pixels (about 250 pixels at 10 mm and 2.26 mm), which brings the relative noise of a
  smoothed soft-tissue pixel at 1 count per pixel to about 6 %, and the percentile is taken of an
  estimate of the *expected* counts. The smoothing is fixed in mm, not pixels, so a resampled scan gets
  the same statistic.
- The 90th percentile of a whole-body view's smoothed body lies on the bone ridge (spine, pelvis, joints),
  not in the bladder or an injection site (each about 1-3 % of the body, with uptake from none to very
  hot); so the scale follows bone uptake, and an 8-bit export whose window clips the hottest pixels (the
  bladder first) keeps it.
- A global gain (exports: 1.2-3 grey levels per count) multiplies the smoothed image, its percentile and
  the body mask's threshold alike, so the output is gain-invariant exactly.
Choices left open and why: Gaussian rather than median smoothing (linear, so gain-invariant, and an
unbiased estimate of the expected counts under Poisson noise); sigma 10 mm and the 90th percentile: of
3/6/10 mm x 90/95/99 measured on phantoms and NM1 (the benchmark), 6 and 10 mm at the 90th percentile
are best (the 99th is two to ten times worse: it sits in the bladder and in the pixels an export clips);
on a body whose bone ridge covers only about 12 % of it (tests/prepare/test_intensity.py) the 90th
percentile at 6 mm drifts by 6 % at 0.15 M counts (the soft tissue's noise tail reaches it), at 10 mm
by about 1 %. The scale is a level of the smoothed image; nothing is smoothed in the output.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from scintiseg.errors import ScintisegError
from scintiseg.prepare.body import body_mask as find_body

#: The selectable normalisation methods.
METHODS: tuple[str, ...] = ("none", "percentile", "log", "zscore", "robust")
#: Gaussian smoothing (mm) and percentile of the ``"robust"`` method (module docstring).
ROBUST_SIGMA_MM = 10.0
ROBUST_PERCENTILE = 90.0


def normalise(
    image: np.ndarray,
    method: str = "percentile",
    body_mask: np.ndarray | None = None,
    *,
    percentile: float = 99.0,
    pixel_spacing: tuple[float, float] = (2.26, 2.26),
    robust_sigma_mm: float = ROBUST_SIGMA_MM,
    robust_percentile: float = ROBUST_PERCENTILE,
) -> np.ndarray:
    """Normalise a count image (or a ``(C, H, W)`` stack, each channel on its own) by ``method``.

    Args:
        image: counts, 2-D (or 3-D: channels first).
        method: one of :data:`METHODS`.
        body_mask: boolean mask of the body (2-D, shared by all channels); found from the counts when None
            and the method needs it (for a stack: from the sum of the channels, but ``"robust"`` finds each
            channel's own).
        percentile: the body percentile used by ``"percentile"``.
        pixel_spacing: passed to the body finder; sets the smoothing of ``"robust"`` in pixels.
        robust_sigma_mm: the Gaussian smoothing of ``"robust"``, in mm.
        robust_percentile: the percentile of the smoothed body used by ``"robust"``.

    Returns:
        float32 array of ``image``'s shape.

    Example::

        x = normalise(crop.view("ANT"), "zscore")
    """
    if method not in METHODS:
        raise ScintisegError(f"unknown intensity normalisation {method!r} (choose from {', '.join(METHODS)})")
    image = np.asarray(image, dtype=np.float32)
    options = {
        "percentile": percentile,
        "pixel_spacing": pixel_spacing,
        "robust_sigma_mm": robust_sigma_mm,
        "robust_percentile": robust_percentile,
    }
    if image.size == 0 and image.ndim in (2, 3):
        return image.copy()
    if image.ndim == 3:
        mask = body_mask
        # "robust" finds each channel's own body when none is given (its fall-back ignores zero padding).
        if mask is None and method in ("percentile", "zscore") and image.size:
            mask = _body_or_all(image.sum(axis=0), pixel_spacing)
        return np.stack([normalise(ch, method, mask, **options) for ch in image])
    if image.ndim != 2:
        raise ScintisegError(f"normalise needs a 2-D image or a (C, H, W) stack, got shape {image.shape}")
    if method == "robust":
        scale = robust_scale(image, pixel_spacing, body_mask, sigma_mm=robust_sigma_mm, percentile=robust_percentile)
        return image / scale if scale > 0 else image.copy()
    if method == "none":
        return image.copy()
    if method == "log":
        return np.log1p(np.maximum(image, 0.0))
    mask = _body_or_all(image, pixel_spacing) if body_mask is None else np.asarray(body_mask, dtype=bool)
    if mask.shape != image.shape:
        raise ScintisegError(f"body mask of shape {mask.shape} does not match image of shape {image.shape}")
    inside = image[mask] if mask.any() else image.ravel()
    if method == "percentile":
        scale = float(np.percentile(inside, percentile))
        return image / scale if scale > 0 else image.copy()
    mean, std = float(inside.mean()), float(inside.std())
    return (image - mean) / (std if std > 0 else 1.0)


def _body_or_all(image: np.ndarray, pixel_spacing: tuple[float, float]) -> np.ndarray:
    try:
        return find_body(image, pixel_spacing, check=True)
    except ScintisegError:
        return np.ones(image.shape, dtype=bool)


def robust_scale(
    image: np.ndarray,
    pixel_spacing: tuple[float, float] = (2.26, 2.26),
    body_mask: np.ndarray | None = None,
    *,
    sigma_mm: float = ROBUST_SIGMA_MM,
    percentile: float = ROBUST_PERCENTILE,
) -> float:
    """The divisor of the ``"robust"`` method: a percentile of the Gaussian-smoothed counts in the body.

    Args:
        image: 2-D counts (or grey levels of an export).
        pixel_spacing: (row, column) mm; the smoothing is ``sigma_mm`` in both directions.
        body_mask: the body; found from the counts when None (module docstring for the fall-backs).
        sigma_mm: Gaussian smoothing in mm.
        percentile: percentile of the smoothed counts inside the body.

    Returns:
        The scale (0.0 for an image without positive counts).
    """
    image = np.asarray(image, dtype=np.float32)
    if image.size == 0 or not float(image.max()) > 0:
        return 0.0
    sigma_px = (sigma_mm / float(pixel_spacing[0]), sigma_mm / float(pixel_spacing[1]))
    smooth = ndi.gaussian_filter(image, sigma=sigma_px, mode="reflect")
    if body_mask is not None:
        mask = np.asarray(body_mask, dtype=bool)
        if mask.shape != image.shape:
            raise ScintisegError(f"body mask of shape {mask.shape} does not match image of shape {image.shape}")
    else:
        try:
            mask = find_body(image, pixel_spacing, check=True)
        except ScintisegError:
            mask = smooth > 0
    inside = smooth[mask] if mask.any() else smooth[smooth > 0]
    if inside.size == 0:
        return 0.0
    return max(float(np.percentile(inside, percentile)), 0.0)
