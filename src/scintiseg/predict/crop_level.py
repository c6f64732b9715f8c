"""The level of a polygon crop: its input brought to the level its whole view would have given it (issue 15).

The ``robust`` normalisation (:mod:`scintiseg.prepare.intensity`) divides a view by the 90th percentile of its
smoothed body, which on a whole-body view lies on the bone ridge. A region crop as BS-80K cuts them (a polygon
around the spine, the pelvis, the skull or a half-chest, the outside set to 0; realdata.md) holds mostly bone, so
its 90th percentile lies higher on the bone: measured on phantom and NM1 crops, a spine crop's is 1.3-1.6 times its
whole view's, a skull crop's 1.4-1.9, a pelvis crop's 1.2-1.4 (``benchmarks/fit_crop_level.py``). The crop then
reaches the network darker than the network's whole-view training taught it, and the network's calls follow the
level (docs/robustness.md, "Gain"): on NM1's spine crops half of the lesions were found, on its skull crops one in
fifteen. With each crop scaled by its *own whole view's* level (an oracle) the lesion boxes found rose from 99 to
118 of 180 on NM1 crops and from 39 to 66 of 259 on low-count phantom crops, with fewer calls in no box on the
phantom (38 -> 22) and a few more on NM1 (5 -> 11) (docs/predict.md, "Region crops", last change).

A crop does not hold its whole view, so the level is estimated from the crop (:func:`crop_level`): the lower part
of a polygon crop's smoothed distribution (the 30th percentile: the dimmer bone and the soft tissue between the
bones, which the cut keeps in every kind of crop) follows the whole view's bone ridge more closely than its top
does. ``log(whole level / crop's 90th percentile) = A + B log(P30 / P90)``, with ``A``, ``B`` fitted by least
squares on polygon crops of phantom patients of four profiles (``benchmarks/fit_crop_level.py``; the constants
below) and tested on NM1's crops, which the fit never saw.

Choices left open, and why:

- **Which views**: partial views (:func:`scintiseg.predict.edges.is_partial_field`) predicted by a whole-view model
  (the views whose edges :mod:`.edges` extends; a model of thoracic crops reads crops as it was trained) taken for
  polygon crops
  (:func:`is_polygon_crop`): zeros connected to the image's edge cover at least :data:`MIN_OUTSIDE` of it and hold
  at least :data:`MIN_CORNERS` of its corners, and no run of zeros reaches from an edge to the opposite one while
  something lit reaches an edge (the air beside a body that a rectangle cuts; at low counts air is zeros). A
  rectangular crop or a spot view is left at its own level: the fit does not hold for them (its estimate would
  brighten NM1's thoracic, pelvis and half-body rectangles 1.7-1.9 times, where their own 90th percentile is within
  0.15 in log of the whole view's level; ``fit_crop_level.py`` prints both, and docs/predict.md the predictions).
- **Smoothing and pixels**: as the normalisation (Gaussian of 10 mm), over the pixels inside the polygon (not the
  blanked outside), so the zeros do not pull the percentiles down.
- **The gain is bounded** to :data:`GAIN_RANGE`: a crop far outside what the fit saw is not scaled beyond about the
  ratios measured between a crop's own level and its whole view's (0.74-2.61).
- **No gain near 1** (:data:`DEAD_BAND`, 0.10 in log): a correction smaller than the estimate's own error (rms 0.10
  on NM1's crops) is not made. Measured against applying every gain: the same lesions found within one, fewer calls
  in no box (NM1 crops 21 -> 14, held out 15 -> 13, as counts 105 -> 93; phantom 41 -> 41), most of them on the
  left half-chest, whose cut joint the network calls at the slightest brightening.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from scintiseg.prepare.intensity import ROBUST_SIGMA_MM

#: ``log(whole level / P90) = A + B log(P30 / P90)`` (module docstring; ``benchmarks/fit_crop_level.py``).
A: float = 0.375
B: float = 0.903
#: Least share of the image that must be blanked outside (edge-connected zeros) for a view to count as a polygon crop.
MIN_OUTSIDE: float = 0.05
#: Fewest of the image's four corners that must lie in the blanked outside (a polygon's bounding box leaves its
#: corners outside).
MIN_CORNERS: int = 3
#: The gain applied is clipped to this range.
GAIN_RANGE: tuple[float, float] = (0.5, 2.5)
#: A gain within this (natural-log) distance of 1 is not applied: the estimate's own error on NM1's crops.
DEAD_BAND: float = 0.10
#: Percentiles of the smoothed inside: the estimate's (low) and the normalisation's (high).
LOW_PERCENTILE, HIGH_PERCENTILE = 30.0, 90.0


def blanked_outside(image: np.ndarray) -> tuple[np.ndarray, bool]:
    """Zeros of a 2-D image connected to its edge, as a bool mask, and whether one such run of zeros reaches two
    opposite edges while something lit reaches an edge too: the air beside a body that the crop cuts. A polygon
    crop's outside is its corners (each reaching two neighbouring edges), or a margin all round a polygon that
    reaches no edge."""
    zero = np.asarray(image) == 0
    labels, _ = ndimage.label(zero)
    top, bottom, left, right = (set(np.unique(side).tolist()) - {0}
                                for side in (labels[0], labels[-1], labels[:, 0], labels[:, -1]))
    lit_edge = not (zero[0].all() and zero[-1].all() and zero[:, 0].all() and zero[:, -1].all())
    beside = bool((top & bottom) or (left & right)) and lit_edge
    return np.isin(labels, list(top | bottom | left | right)), beside


def is_polygon_crop(image: np.ndarray) -> bool:
    """Whether a 2-D image looks like a polygon cut from a view with its outside set to 0 (module docstring): a
    blanked outside of at least :data:`MIN_OUTSIDE` of the image, holding at least :data:`MIN_CORNERS` of its
    corners, and no run of zeros from one edge to the opposite one beside something lit at an edge (the air beside
    a body that a rectangular crop or a spot view cuts; a margin of zeros all round a polygon is allowed)."""
    image = np.asarray(image)
    if image.ndim != 2 or min(image.shape) < 2:
        return False
    return _is_polygon(*blanked_outside(image))


def _is_polygon(outside: np.ndarray, spans: bool) -> bool:
    corners = int(outside[0, 0]) + int(outside[0, -1]) + int(outside[-1, 0]) + int(outside[-1, -1])
    return bool(MIN_OUTSIDE <= outside.mean() < 1.0 and corners >= MIN_CORNERS and not spans)


def crop_percentiles(image: np.ndarray, pixel_mm: float, outside: np.ndarray | None = None) -> tuple[float, float] | None:
    """``(P30, P90)`` of a 2-D image smoothed as the normalisation smooths it, over the pixels not blanked outside
    (``outside``: :func:`blanked_outside`'s mask, found when None); None when nothing is inside or the inside has no
    positive level."""
    image = np.asarray(image, dtype=np.float32)
    if outside is None:
        outside, _ = blanked_outside(image)
    if outside.all():
        return None
    smooth = ndimage.gaussian_filter(image, ROBUST_SIGMA_MM / float(pixel_mm), mode="reflect")
    low, high = np.percentile(smooth[~outside], [LOW_PERCENTILE, HIGH_PERCENTILE])
    if not (low > 0 and high > 0):
        return None
    return float(low), float(high)


def crop_level(image: np.ndarray, pixel_mm: float) -> float | None:
    """The estimated level of a polygon crop's whole view, in the image's units, or None when the image is not a
    polygon crop (:func:`is_polygon_crop`) or has no level.

    Example::

        level = crop_level(normalised[0], 2.26)   # the input then is normalised[0] / level
    """
    image = np.asarray(image)
    if image.ndim != 2 or min(image.shape) < 2:
        return None
    outside, spans = blanked_outside(image)
    found = crop_percentiles(image, pixel_mm, outside) if _is_polygon(outside, spans) else None
    if found is None:
        return None
    low, high = found
    return float(high * np.exp(A + B * np.log(low / high)))


def level_inputs(images: np.ndarray, pixel_mm: float) -> tuple[np.ndarray, list[float]]:
    """Normalised inputs ``(N, C, rows, cols)`` of partial views, each polygon crop scaled to its estimated whole-view
    level (:func:`crop_level` of its first channel, gain clipped to :data:`GAIN_RANGE`, none within
    :data:`DEAD_BAND` of 1); the gain of each (1.0: left as it was)."""
    images = np.asarray(images, dtype=np.float32)
    out, gains = images.copy(), []
    for index, image in enumerate(images):
        level = crop_level(image[0], pixel_mm)
        gain = 1.0 if level is None else float(np.clip(1.0 / level, *GAIN_RANGE))
        if abs(np.log(gain)) < DEAD_BAND:
            gain = 1.0
        out[index] *= gain
        gains.append(gain)
    return out, gains
