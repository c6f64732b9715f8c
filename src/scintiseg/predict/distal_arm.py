"""Lesions at the elbow, forearm or hand: more often the injection site or a joint than a metastasis.

Why. 99mTc-MDP is injected into an arm vein, at the elbow or the back of the hand, and a paravenous injection
leaves a hot spot there; the hand's small joints take up the tracer when they are degenerative; metastases
beyond the elbow (acral metastases) are rare. The shipped model calls such hot spots: on 90 phantom patients
(60 ``randomised``, 30 ``shifted``; session 21) 41 of its 197 false positives lay on an injection site; with this
mark, 38 of them and 9 of the other 156 false positives are marked, and none of its 224 true lesions (the true arm
lesions lie on the proximal humerus, 238 mm or more from a forearm). So a lesion within :data:`NEAR_MM` of the
learned map's forearms or hands is marked (``beside: "forearm_or_hand"``, flag ``lesion_at_forearm_or_hand_<VIEW>``)
for the reader to check the injection arm. It is marked, not removed: an acral metastasis is rare, not impossible,
and the lesion's record, the BSI and the triage score stay as they are. A view without named bones (a crop) gets
no mark.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from scintiseg.predict.nearby import within_mm
from scintiseg.predict.regions import REGION_IDS, SkeletonRegions

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

_DISTAL = np.array([REGION_IDS[name] for name in DISTAL_ARM_REGIONS])


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
