"""Calls off the skeleton: a hot spot in the soft tissue is not a bone lesion.

Why. A bone-scan lesion lies on bone, and clinical tools segment the skeleton and score the hotspots on it, its
Bone Scan Index a share of skeletal mass (EXINI's aBSI, BONENAVI: ``../shared/reference/landscape.md``). The soft tissue has its own hot spots: urine on the
skin of the pelvis and thighs ("a common artifact", physics.md), a paravenous injection, an axillary node. The
shipped lesion network calls some of them: on the independently built phantom (``benchmarks/independent_phantom.py``,
session 29) 6 of the 49 false positives on seeds 0-39 and their lesion-free twins lay wholly in the soft tissue,
urine on the skin between the thighs and beside the pelvis, 11-50 mm (median pixel) from the nearest bone its
learned region map names (session 37, scratch ``runs/s37/offbone.py``). So a call whose pixels lie, for the most part,
more than :data:`OFF_SKELETON_MM` from every bone of the view's region map is left out as a reading rule's call
(:mod:`.rule_calls`: counted, ``views.V.off_skeleton_calls``, flagged ``off_skeleton_<VIEW>``, kept for review and
restorable).

Choices no paper makes (all [E]):

* the distance is read from the region map's bones (``SkeletonRegions.bone``: the learned map's named pixels, grown
  by 2 px for the camera's blur; the atlas's is the counts above the body's Otsu level, which every hot spot passes,
  so with the atlas no call is left out): no count threshold tells a hot skin spot from bone;
* the median pixel of the call decides (more than half of it beyond the margin), not its nearest pixel: a spot of
  urine touches the femur's outline now and then (11 mm median, 2.8 mm nearest, on the independent phantom), and the
  learned map leaves gaps between neighbouring bones where a bone lesion can fall wholly on "other" (a hip lesion of
  the default phantom, 5.1 mm median; a pelvic one of the independent phantom, 4.4 mm);
* :data:`OFF_SKELETON_MM` 10 mm, the system resolution (FWHM) of a LEHR collimator at 15-20 cm (physics.md: 9-11
  mm): a bone lesion's counts spread about that far beyond its bone, so a call centred farther out is not the
  bone's. Of 308 calls on true lesions of 100 default phantom patients, 44 + 54 on two independent phantom sets and
  36 on NM1's real-background hybrids none stands beyond it (largest median 5.1 mm); no false positive of the
  default phantom or of NM1's hybrids does either;
* a view without named bones (a crop: ``SkeletonRegions.named`` False) is not judged.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi

from scintiseg.predict.nearby import grown_box
from scintiseg.predict.regions import SkeletonRegions

#: A call whose median pixel lies farther than this (mm) from every bone of the region map is off the skeleton.
OFF_SKELETON_MM: float = 10.0


def median_distance_to_bone(call: np.ndarray, bone: np.ndarray, pixel_mm: tuple[float, float], margin_mm: float) -> float:
    """The median distance (mm) of ``call``'s pixels from the nearest pixel of ``bone``, exact up to ``margin_mm``
    (inf when no bone lies within ``margin_mm`` of the call; beyond the margin the value only says "farther"): the
    transform runs in the call's bounding box grown by the margin (:func:`~.nearby.grown_box`), where every bone
    pixel that near lies."""
    box = grown_box(call, pixel_mm, margin_mm)
    if box is None:
        raise ValueError("an empty call has no distance")
    near = np.asarray(bone[box], dtype=bool)
    if not near.any():
        return math.inf
    distance = ndi.distance_transform_edt(~near, sampling=(float(pixel_mm[0]), float(pixel_mm[1])))
    return float(np.median(distance[np.asarray(call[box], dtype=bool)]))


def off_skeleton_calls(mask: np.ndarray, regions: SkeletonRegions, pixel_mm: tuple[float, float],
                       margin_mm: float = OFF_SKELETON_MM) -> np.ndarray:
    """The pixels of ``mask``'s components (8-connected) that lie off the skeleton (module docstring)."""
    out = np.zeros(mask.shape, dtype=bool)
    if not regions.named or not mask.any():
        return out
    components, count = ndi.label(mask, structure=np.ones((3, 3)))
    bone = np.asarray(regions.bone, dtype=bool)
    for index in range(1, count + 1):
        call = components == index
        if median_distance_to_bone(call, bone, pixel_mm, margin_mm) > margin_mm:
            out |= call
    return out
