"""Hotspot extents for the Bone Scan Index: lesions grown by probability or by counts (issue 15; measured, not used).

Measured with ``benchmarks/bench_bsi.py`` (docs/predict.md, "Bone Scan Index"). Clinical BSI tools (EXINI
aBSI, BONENAVI; landscape.md) segment *hotspots* by intensity relative to normal bone and take the involved
mass from them. Two such extents grow each lesion that :func:`scintiseg.predict.postprocess.lesion_components`
finds:

- :func:`hysteresis_components`: the lesions grown to the connected pixels of probability >= ``low``
  (hysteresis, as :func:`skimage.filters.apply_hysteresis_threshold`; seeds are the lesions *after* the
  small-component filter, so a sub-PSF speck seeds nothing);
- :func:`hotspot_extent`: each lesion grown to the connected pixels of its own skeletal region whose counts
  (Gaussian, sigma 1 px, against Poisson noise) reach a level set by the normal bone: ``ratio`` x the
  region's normal-bone level, or that level plus ``fraction`` of the lesion's peak excess (0.5: the
  half-maximum isocontour of the excess, the usual nuclear-medicine size convention). Normal-bone level:
  the median counts of the region's bone pixels away from every lesion (:func:`regional_normal_bone`,
  median as in :mod:`.measurements`), or the median of a ring 3-6 px around the lesion
  (``background="ring"``). A lesion whose peak does not exceed its level keeps the network's outline.

On 30 held-out default and 30 randomised phantom patients none improved the BSI's correlation with the
truth on both profiles (the network misses about half of the visible lesions, most of them with a
probability under 0.05, which no extent can recover), so the pipeline keeps the network's outline.

The functions stay so that ``benchmarks/bench_bsi.py`` can measure them again for a new lesion model.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.measure import label

from scintiseg.predict.postprocess import DEFAULT_MIN_AREA_PX, DEFAULT_THRESHOLD, lesion_components, threshold_probability
from scintiseg.predict.regions import SkeletonRegions

#: Dilation (px) around lesions excluded from a region's normal-bone level.
NORMAL_MARGIN_PX: int = 2
#: Inner and outer radius (px) of the ring around a lesion for its local background (``background="ring"``).
RING_PX: tuple[int, int] = (3, 6)
#: Fewest normal-bone pixels for a region's own level (else the view's).
MIN_NORMAL_PX: int = 20


def grow_from_seeds(candidate: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """``seeds`` plus every 8-connected component of ``candidate`` that touches a seed pixel.

    Binary reconstruction by dilation (hysteresis thresholding when ``candidate`` is a low threshold and
    ``seeds`` a high one, as :func:`skimage.filters.apply_hysteresis_threshold`).
    """
    seeds = np.asarray(seeds, dtype=bool)
    candidate = np.asarray(candidate, dtype=bool) | seeds
    if not seeds.any():
        return seeds.copy()
    labels = label(candidate, connectivity=2)
    keep = np.zeros(int(labels.max()) + 1, dtype=bool)
    keep[np.unique(labels[seeds])] = True
    keep[0] = False
    return keep[labels]


def hysteresis_components(
    probability: np.ndarray,
    low: float,
    threshold: float = DEFAULT_THRESHOLD,
    min_area_px: int = DEFAULT_MIN_AREA_PX,
    coverage: np.ndarray | None = None,
) -> np.ndarray:
    """The lesions of :func:`lesion_components` grown to the connected pixels of probability >= ``low``."""
    seeds = lesion_components(probability, threshold, min_area_px, coverage)
    return grow_from_seeds(threshold_probability(probability, low, coverage), seeds)


def regional_normal_bone(
    smooth: np.ndarray, regions: SkeletonRegions, lesion_mask: np.ndarray, coverage: np.ndarray | None = None
) -> np.ndarray:
    """Median (smoothed) counts of normal bone per region id; NaN for a region with too few such pixels.

    Normal bone = the region's bone pixels that the model saw, away from every lesion (dilated by
    :data:`NORMAL_MARGIN_PX`). A region with fewer than :data:`MIN_NORMAL_PX` of them takes the median of
    the whole view's normal bone.
    """
    lesion_mask = np.asarray(lesion_mask, dtype=bool)
    near = ndi.binary_dilation(lesion_mask, iterations=NORMAL_MARGIN_PX) if lesion_mask.any() else lesion_mask
    normal = regions.bone & ~near & (regions.labels > 0)
    if coverage is not None:
        normal &= np.asarray(coverage, dtype=bool)
    size = int(max(regions.labels.max(), 0)) + 1
    levels = np.full(size, np.nan)
    ids, values = regions.labels[normal].astype(np.int64), smooth[normal].astype(np.float64)
    if values.size == 0:
        return levels
    overall = float(np.median(values))
    order = np.argsort(ids, kind="stable")
    ids, values = ids[order], values[order]
    starts = np.searchsorted(ids, np.arange(size + 1))
    for rid in range(1, size):
        chunk = values[starts[rid]:starts[rid + 1]]
        levels[rid] = float(np.median(chunk)) if chunk.size >= MIN_NORMAL_PX else overall
    return levels


def hotspot_extent(
    seeds: np.ndarray,
    counts: np.ndarray,
    regions: SkeletonRegions,
    coverage: np.ndarray | None = None,
    fraction: float | None = 0.5,
    ratio: float | None = None,
    within: str = "region",
    sigma: float = 1.0,
    background: str = "region",
) -> np.ndarray:
    """Each seed lesion grown to its hotspot: the connected pixels of its region above a level set by the counts.

    The seed's region is the one holding most of its pixels (a seed on no bone keeps its outline).

    Args:
        seeds: boolean mask of the lesions to grow (e.g. :func:`lesion_components`).
        counts: the view's raw counts.
        regions: the view's regions; ``regions.bone`` gives the normal-bone pixels.
        coverage: pixels the model saw (growth and normal bone stay inside).
        fraction: level = normal + ``fraction`` x (seed's smoothed peak - normal); used when ``ratio`` is None.
        ratio: level = ``ratio`` x normal.
        within: ``region`` (grow inside the seed's region) or ``bone`` (any labelled bone).
        sigma: Gaussian sigma (px) of the counts before the comparison (0: none).
        background: ``region`` (median of the region's normal bone) or ``ring`` (median of the seed's
            region in a ring :data:`RING_PX` around it, the region's level when under :data:`MIN_NORMAL_PX`).

    Returns:
        Boolean mask: the seeds and their grown hotspots.

    Example::

        grown = hotspot_extent(lesion_components(prob), counts, regions, coverage, fraction=0.5)
    """
    seeds = np.asarray(seeds, dtype=bool)
    if not seeds.any():
        return seeds.copy()
    smooth = ndi.gaussian_filter(np.asarray(counts, dtype=np.float32), sigma) if sigma > 0 else np.asarray(counts, np.float32)
    levels = regional_normal_bone(smooth, regions, seeds, coverage)
    seen = np.ones_like(seeds) if coverage is None else np.asarray(coverage, dtype=bool)
    region_labels = np.asarray(regions.labels)
    out = seeds.copy()
    components = label(seeds, connectivity=2)
    for index, box in enumerate(ndi.find_objects(components), start=1):
        if box is None:
            continue
        seed = np.zeros_like(seeds)
        seed[box] = components[box] == index
        ids = region_labels[seed]
        ids = ids[ids > 0]
        if ids.size == 0:
            continue
        rid = int(np.bincount(ids).argmax())
        normal = levels[rid]
        if background == "ring":
            ring = ndi.binary_dilation(seed, iterations=RING_PX[1]) & ~ndi.binary_dilation(seeds, iterations=RING_PX[0])
            ring &= (region_labels == rid) & seen
            if ring.sum() >= MIN_NORMAL_PX:
                normal = float(np.median(smooth[ring]))
        if not np.isfinite(normal):
            continue
        peak = float(smooth[seed].max())
        level = ratio * normal if ratio is not None else normal + fraction * (peak - normal)
        if peak <= normal or peak < level:
            continue
        allowed = (region_labels == rid) if within == "region" else (region_labels > 0)
        out |= grow_from_seeds((smooth >= level) & allowed & seen, seed)
    return out
