"""The calls a reading rule leaves out: what :mod:`.spine_pattern` and :mod:`.symmetry` share.

A reading rule judges each call (an 8-connected component of the lesion mask) whose majority learned region it
reads, by the ratio of the call's peak to a reference read elsewhere on the view's counts (smoothed by a Gaussian of
sigma 1 pixel: noise), and leaves the call out when the ratio is below its cut; a ratio of NaN (nothing to compare
with) keeps the call. A view without named bones (a crop) is not judged.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import numpy as np
from scipy import ndimage as ndi

from scintiseg.predict.regions import SkeletonRegions

#: ``ratio(smooth, call, region)``: the call's peak over the rule's reference (NaN: not judged).
Ratio = Callable[[np.ndarray, np.ndarray, int], float]


def calls_left_out(counts: np.ndarray, mask: np.ndarray, regions: SkeletonRegions, judged: Collection[int],
                   ratio: Ratio, cut: float) -> np.ndarray:
    """The pixels of ``mask``'s components whose majority region of ``regions`` is in ``judged`` and whose ``ratio``
    is below ``cut`` (module docstring); the counts are smoothed once, when the first call is judged."""
    out = np.zeros(mask.shape, dtype=bool)
    if not regions.named or not mask.any():
        return out
    components, count = ndi.label(mask, structure=np.ones((3, 3)))
    labels = np.asarray(regions.labels)
    smooth = None
    for index in range(1, count + 1):
        call = components == index
        region = int(np.bincount(labels[call].astype(np.int64)).argmax())
        if region not in judged:
            continue
        if smooth is None:
            smooth = ndi.gaussian_filter(np.asarray(counts, dtype=np.float64), 1.0)
        if ratio(smooth, call, region) < cut:
            out |= call
    return out


def component_count(mask: np.ndarray) -> int:
    """The number of ``mask``'s 8-connected components (calls)."""
    return int(ndi.label(mask, structure=np.ones((3, 3)))[1]) if mask.any() else 0
