"""Calls at the elbow, forearm or hand: more often the injection site or a joint than a metastasis.

Why. 99mTc-MDP is injected into an arm vein, at the elbow or the back of the hand, and a paravenous injection
leaves a hot spot there; the hand's small joints take up the tracer when they are degenerative; metastases
beyond the elbow (acral metastases) are rare. The shipped model calls such hot spots: on 90 phantom patients
(60 ``randomised``, 30 ``shifted``; session 21) 41 of its 197 false positives lay on an injection site; within
:data:`NEAR_MM` of the learned map's forearms or hands lay 38 of them and 9 of the other 156 false positives, and
none of its 224 true lesions (the true arm lesions lie on the proximal humerus, 238 mm or more from a forearm).

From session 21 to 36 such a lesion was marked (``beside: "forearm_or_hand"``, flag
``lesion_at_forearm_or_hand_<VIEW>``) and counted: "an acral metastasis is rare, not impossible", and a call left
out was then thrown away. Since session 35 a reading rule's call is kept for review, outlined and restorable
(:mod:`.rule_calls`), which is what issue 15 asks of the injection site among the hard negatives ("reported
separately so a user can see them"). So since session 37 a call with a pixel within :data:`NEAR_MM` of the map's
forearms or hands, and named an arm's bone (:data:`ARM_REGIONS`) or no bone, is left out as a reading rule's call
(:func:`distal_arm_calls`; ``views.V.distal_arm_calls``, flag ``distal_arm_<VIEW>``), and a reader who judges it an
acral metastasis restores it. A call named another bone stays a lesion, marked as before: the hands lie beside the
hips, and the independent phantom's held-out seeds (1000-1039) have a pelvic lesion 20 mm from a hand. Measured (session 37, one run
each, scratch ``runs/s37/distal.py`` and ``bench_wholebody.py``): of the calls within the margin, 44 false positives
and no true lesion on the 100 default phantom patients, 11 and none on the independent phantom's seeds 0-39 (and
their twins), none at all on NM1's 60 real-background hybrids (whose lesions may lie on any bone, hands included).
With the rule off (``PredictSettings(distal_arm=False)``) such a lesion is marked as before. A view without named
bones (a crop) is not judged.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from scintiseg.predict.nearby import within_mm
from scintiseg.predict.regions import REGION_IDS, REGION_NAMES, SkeletonRegions

#: The learned map's regions beyond the elbow.
DISTAL_ARM_REGIONS: tuple[str, ...] = ("forearm_left", "forearm_right", "hand_left", "hand_right")
#: A lesion with a pixel within this distance (mm) of them is marked (the antecubital injection site lies over
#: the distal humerus, up to 17 mm from the forearm on the phantom patients above).
NEAR_MM: float = 20.0
#: Least area (mm^2) of a piece of forearm or hand in the map: a stray label of a few pixels beside the trunk
#: (NM1's map names 44 pixels beside its pelvis "hand_right") marks nothing.
MIN_PIECE_MM2: float = 400.0
#: The value of a lesion record's ``beside`` for such a lesion.
BESIDE_DISTAL_ARM = "forearm_or_hand"

#: The learned map's regions a call near a forearm or hand is left out on (the antecubital injection site lies over
#: the distal humerus); a call named any other bone stays a lesion, marked.
ARM_REGIONS: tuple[str, ...] = ("humerus_left", "humerus_right", *DISTAL_ARM_REGIONS)

_DISTAL = np.array([REGION_IDS[name] for name in DISTAL_ARM_REGIONS])
_LEFT_OUT_ON = {*ARM_REGIONS, REGION_NAMES[0]}  # an arm's bone, or none named


def distal_arm_surroundings(regions: SkeletonRegions, pixel_mm: tuple[float, float]) -> np.ndarray | None:
    """The pixels within :data:`NEAR_MM` of the view's forearms and hands, or None when none is named."""
    if not regions.named:
        return None
    pieces, count = ndi.label(np.isin(regions.labels, _DISTAL))
    if count == 0:
        return None
    areas = ndi.sum(np.ones_like(pieces), pieces, range(1, count + 1)) * float(pixel_mm[0]) * float(pixel_mm[1])
    distal = np.isin(pieces, 1 + np.flatnonzero(areas >= MIN_PIECE_MM2))
    if not distal.any():
        return None
    return within_mm(distal, pixel_mm, NEAR_MM)


def distal_arm_calls(mask: np.ndarray, near: np.ndarray | None, regions: SkeletonRegions) -> np.ndarray:
    """The pixels of ``mask``'s components (8-connected) with a pixel in ``near`` (:func:`distal_arm_surroundings`;
    None: no forearm or hand named, nothing left out) whose region (:meth:`~.regions.SkeletonRegions.region_of`, the
    majority named bone; ``other``: none named, the soft tissue) is an arm's (:data:`ARM_REGIONS`): a pelvic or
    femoral lesion beside a hand is judged by the other rules (module docstring)."""
    out = np.zeros(mask.shape, dtype=bool)
    if near is None or not mask.any():
        return out
    components, _ = ndi.label(mask, structure=np.ones((3, 3)))
    for index in np.unique(components[near & mask]):
        call = components == index
        if regions.region_of(call) in _LEFT_OUT_ON:
            out |= call
    return out
