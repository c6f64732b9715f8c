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

The body is :func:`scintiseg.prepare.body.body_mask` unless a mask is given. If no body is found (an
empty crop), the whole image is used, so normalisation never fails on an image the model must still see.
"""

from __future__ import annotations

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.prepare.body import body_mask as find_body

#: The selectable normalisation methods.
METHODS: tuple[str, ...] = ("none", "percentile", "log", "zscore")


def normalise(
    image: np.ndarray,
    method: str = "percentile",
    body_mask: np.ndarray | None = None,
    *,
    percentile: float = 99.0,
    pixel_spacing: tuple[float, float] = (2.26, 2.26),
) -> np.ndarray:
    """Normalise a count image (or a ``(C, H, W)`` stack, each channel on its own) by ``method``.

    Args:
        image: counts, 2-D (or 3-D: channels first).
        method: one of :data:`METHODS`.
        body_mask: boolean mask of the body (2-D, shared by all channels); found from the counts when None
            and the method needs it.
        percentile: the body percentile used by ``"percentile"``.
        pixel_spacing: passed to the body finder.

    Returns:
        float32 array of ``image``'s shape.

    Example::

        x = normalise(crop.view("ANT"), "zscore")
    """
    if method not in METHODS:
        raise ScintisegError(f"unknown intensity normalisation {method!r} (choose from {', '.join(METHODS)})")
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3:
        mask = body_mask
        if mask is None and method in ("percentile", "zscore"):
            mask = _body_or_all(image.sum(axis=0), pixel_spacing)
        return np.stack([normalise(ch, method, mask, percentile=percentile) for ch in image])
    if image.ndim != 2:
        raise ScintisegError(f"normalise needs a 2-D image or a (C, H, W) stack, got shape {image.shape}")
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
