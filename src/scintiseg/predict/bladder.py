"""The bladder's activity on a whole-body view, and the lesions that lie beside it.

Why. Urine in the bladder (and on the skin) is the hottest thing on most bone scans, it projects over the
sacrum, the pubis and the acetabula, and it is where readers and clinical tools go wrong both ways: a lesion
at its edge may be urine, and a pelvic lesion may be hidden by it (BONENAVI misses "lesions overlapping urine";
clinical reports carry a bladder-overlap flag: ``../shared/reference/landscape.md``). So a lesion outlined
within :data:`BESIDE_MM` of the bladder's activity is marked (``beside: "bladder"`` in its record) and its view
flagged ``lesion_beside_bladder_<VIEW>``, for the reader to check, typically on a post-void image.

How (our choices; no paper describes this step). The bladder is the hot spot of the pelvis: the view's counts
(Gaussian :data:`SMOOTH_PX` px) above :data:`HOT_FACTOR` times its normal bone (the median counts of the bone the
region map names), in connected pieces; a piece is the bladder's when its centroid lies within the rows of the
pelvis and sacrum of the learned map (their 10th to 90th percentile row, :data:`PELVIC_MARGIN_MM` beyond), within
:data:`MIDLINE_MM` of the body's midline, and it covers at least :data:`MIN_AREA_MM2`; of several, the one with
the most counts above normal bone; a piece lying mostly on the map's lumbar spine is not the bladder's (session 34:
on a superscan or beside a small bladder a hot L4-L5 was taken for it, and its lesions marked beside the bladder).
The region map cannot say "not bone" here (it names the bladder's pixels
sacrum or pelvis, as they lie over them), so the counts decide. A view without named bones (a crop, the
atlas's partial views) has no bladder found. On NM1 the bladder found is the one a reader sees (2,860 mm^2,
5.9 times its normal bone).

**A call that covers the bladder** (session 35, :func:`bladder_calls`): a call of the network covering at least
:data:`BLADDER_COVER` of the bladder's hot spot is the network outlining the urine, not a lesion beside it, and is
left out as a reading rule's call (:mod:`.rule_calls`: counted, flagged ``bladder_activity_<VIEW>``, kept for review,
restorable). Measured on the shipped model's calls that touch the hot spot (scratch, session 35; the share of the
spot each covers): the independent phantom's (``benchmarks/independent_phantom.py``, seeds 0-39 and their
lesion-free twins) cover 0.01-0.83, 12 at 0.4 or more, one of them a lesion merged with the bladder (0.52); held
out, seeds 1000-1039, 2 at 0.4 or more, no lesion; the 100 default phantom patients' 14 cover 0.0-0.73, one at 0.4
or more, a lesion under the bladder (0.73); NM1's real-background hybrids 1 call, 0.01. Covering, not lying on: a
lesion at the bladder's edge lies on part of the spot but covers little of it (session 33: leaving out calls lying
70 % or more on the spot cost 9 of the default phantom's lesions, conspicuous ones among them).

An injection site (a hot spot in the soft tissue of an arm) was measured the same way and not built: by counts
alone it cannot be told from the arm's bone foci (joints, humeral lesions, axillary nodes): on 60 domain-
randomised phantom patients, at 15 times the normal bone 22 of 52 injection sites were found beside 2 other arm
spots, at 5 times 44 beside 53 (session 21). Where a lesion lies tells it better: :mod:`.distal_arm`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from scintiseg.predict.nearby import within_mm
from scintiseg.predict.regions import REGION_IDS, SkeletonRegions

#: Gaussian sigma (pixels) of the counts the hot spot is found on.
SMOOTH_PX: float = 1.0
#: A pixel is hot above this many times the view's normal bone (median counts of the named bone).
HOT_FACTOR: float = 2.5
#: Least area of the bladder's hot spot (a 32 mm disc; a bladder of 100 ml projects over about 4,000 mm^2).
MIN_AREA_MM2: float = 800.0
#: Largest distance (mm) of the hot spot's centroid from the body's midline.
MIDLINE_MM: float = 60.0
#: Rows beyond the pelvis and sacrum (mm) where the hot spot's centroid may lie.
PELVIC_MARGIN_MM: float = 30.0
#: A lesion within this distance (mm) of the bladder's hot spot is beside it.
BESIDE_MM: float = 10.0
#: The value of a lesion record's ``beside`` for a lesion beside the bladder.
BESIDE_BLADDER = "bladder"
#: A call covering at least this share of the bladder's hot spot is the bladder's activity (module docstring).
BLADDER_COVER: float = 0.4

_PELVIC = np.array([REGION_IDS["pelvis"], REGION_IDS["sacrum"]])
_LUMBAR = REGION_IDS["lumbar_spine"]


def bladder_mask(counts: np.ndarray, regions: SkeletonRegions, pixel_mm: tuple[float, float]) -> np.ndarray | None:
    """The bladder's hot spot on one view (boolean, the view's shape), or None when none is found (module
    docstring)."""
    if not regions.named or not regions.bone.any():
        return None
    pelvic_rows = np.nonzero(np.isin(regions.labels, _PELVIC))[0]
    if pelvic_rows.size == 0:
        return None
    counts = np.asarray(counts, dtype=np.float32)
    reference = float(np.median(counts[regions.bone]))
    if reference <= 0:
        return None
    row_mm, col_mm = float(pixel_mm[0]), float(pixel_mm[1])
    first, last = np.percentile(pelvic_rows, (10, 90))
    margin = PELVIC_MARGIN_MM / row_mm
    smooth = ndi.gaussian_filter(counts, SMOOTH_PX)
    pieces, count = ndi.label(smooth > HOT_FACTOR * reference, structure=np.ones((3, 3), dtype=bool))
    best, best_excess = None, 0.0
    for index, piece in enumerate(ndi.find_objects(pieces), start=1):
        mask = pieces[piece] == index
        if mask.sum() * row_mm * col_mm < MIN_AREA_MM2:
            continue
        rows, cols = np.nonzero(mask)
        centre_row, centre_col = rows.mean() + piece[0].start, cols.mean() + piece[1].start
        if not first - margin <= centre_row <= last + margin:
            continue
        if abs(centre_col - regions.midline) * col_mm > MIDLINE_MM:
            continue
        named = regions.labels[piece][mask]
        if np.count_nonzero(named == _LUMBAR) * 2 > mask.sum():  # over the lumbar spine: a lesion, not urine
            continue
        excess = float((smooth[piece][mask] - reference).sum())
        if excess > best_excess:
            best, best_excess = index, excess
    return None if best is None else pieces == best


def surroundings(spot: np.ndarray | None, pixel_mm: tuple[float, float]) -> np.ndarray | None:
    """The pixels within :data:`BESIDE_MM` of ``spot`` (it included): a lesion with a pixel there is beside it."""
    if spot is None:
        return None
    return within_mm(spot, pixel_mm, BESIDE_MM)


def bladder_calls(mask: np.ndarray, spot: np.ndarray | None, cover: float = BLADDER_COVER) -> np.ndarray:
    """The pixels of ``mask``'s components (8-connected) that cover at least ``cover`` of the bladder's hot spot
    ``spot`` (:func:`bladder_mask`, None when the view has none): the network outlining the urine (module
    docstring). No bladder: nothing."""
    out = np.zeros(mask.shape, dtype=bool)
    if spot is None or not mask.any():
        return out
    components, count = ndi.label(mask, structure=np.ones((3, 3), dtype=bool))
    covered = np.bincount(components[spot], minlength=count + 1)[1:]
    return np.isin(components, 1 + np.flatnonzero(covered >= cover * np.count_nonzero(spot)))
