"""Pairing ANT and POST lesions: one lesion seen in both views is one lesion with two outlines (issue 15).

A planar bone scan projects the body along the antero-posterior axis onto both heads, so a lesion seen
from the front and from behind lies at the same (row, col) of the two projections once POST (stored as
acquired, mirrored relative to ANT) is mirrored and moved onto ANT. That move is the translation
:func:`scintiseg.prepare.views.align_post_to_ant` estimates from the whole views (the body outline and
skeleton dominate it; integer pixels, so a label map stays a label map). Each POST lesion's label map is
mirrored and shifted with :func:`scintiseg.prepare.views.align_mask`, then compared with every ANT lesion:

- **Overlap** = |ANT lesion ∩ aligned POST lesion| / min(|ANT lesion|, |POST lesion|) (the overlap
  coefficient, not the IoU). The two outlines of one lesion differ in size: the lesion is attenuated by
  a different depth of tissue in each view (fainter, so a smaller outline above the threshold) and blurred
  by a collimator PSF that widens with the distance to the head (physics.md), so a small outline lying
  inside a large one is a full match (overlap 1) where its IoU would be low. Two outlines are a candidate
  pair when the overlap is at least :data:`MIN_OVERLAP` (0.2).
- **Centroid distance** in mm (row and column spacing of the scan), for small lesions that a residual
  misregistration of a pixel or two moves off each other (a 3-pixel lesion shifted by 2 pixels barely
  overlaps): two outlines whose centroids are at most :data:`PAIR_RADIUS_MM` (15 mm, about 6.6 pixels
  at 2.26 mm) apart are also a candidate pair. 15 mm is below the centre-to-centre spacing of adjacent
  vertebral bodies (about 20-35 mm) and of adjacent ribs in projection, so neighbouring bones do not pair,
  and about twice the 2 px (4.5 mm) residual error of the integer shift plus a lesion's radius.
- **One to one**: candidate pairs are assigned by the Hungarian algorithm
  (:func:`scipy.optimize.linear_sum_assignment`) on the cost ``1 - (overlap + IoU) / 2`` for outlines that
  overlap by at least :data:`MIN_OVERLAP`, and ``1 + distance / PAIR_RADIUS_MM`` (always worse than any
  overlap) for candidates by distance only. The IoU half breaks the ties of the overlap coefficient: where
  lesions close together merge into one outline on one view and stay apart on the other, each of the
  separate outlines lies wholly inside the merged one (overlap 1), and the most similar one (the largest
  share of the merged outline) is chosen; on phantoms that is the lesion that makes up most of the merged
  outline (docs/predict.md, "ANT-POST pairing"). Pairs that are no candidate get a cost so large that the assignment first
  maximises the number of candidate pairs and is then the cheapest; they are dropped afterwards.

A scan with one view, or whose POST must move more than ``max_shift_px`` pixels (rows + columns) to lie on
ANT (the ``views_misaligned`` QC flag, :data:`scintiseg.predict.windows.MISALIGNED_PX`), gets no pairs:
a larger shift means the views are not one pass of one patient, or the body moved, and positions no longer
correspond.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage as ndi
from scipy.optimize import linear_sum_assignment

from scintiseg.errors import ScintisegError
from scintiseg.prepare.views import align_mask, estimate_shift, mirror

#: Smallest overlap coefficient (intersection / smaller area) that makes two outlines a candidate pair.
MIN_OVERLAP = 0.2
#: Largest centroid distance (mm) that makes two outlines a candidate pair (module docstring: why 15 mm).
PAIR_RADIUS_MM = 15.0
#: Cost of a non-candidate pair in the assignment (larger than any sum of candidate costs, each <= 2).
_NO_PAIR = 1e6


@dataclass(frozen=True)
class LesionPair:
    """One lesion seen in both views.

    Attributes:
        ant_id: the ANT lesion's id.
        post_id: the POST lesion's id.
        overlap: intersection over the smaller of the two areas, POST mirrored and aligned onto ANT.
        distance_mm: distance of the two centroids, POST mirrored and aligned onto ANT.
    """

    ant_id: int
    post_id: int
    overlap: float
    distance_mm: float

    def to_dict(self) -> dict:
        return asdict(self) | {"overlap": round(self.overlap, 4), "distance_mm": round(self.distance_mm, 2)}


def post_shift(ant: np.ndarray, post: np.ndarray, max_shift_px: float) -> tuple[float, float] | None:
    """The integer (rows, cols) shift that puts the mirrored POST on ANT, or None when the views are too far apart.

    The shift is :func:`~scintiseg.prepare.views.estimate_shift`'s (the one
    :func:`~scintiseg.prepare.views.align_post_to_ant` applies); None when it moves POST by more than
    ``max_shift_px`` rows + columns, or when the views cannot be aligned at all (one of them holds no counts,
    or the best shift lies beyond the alignment's own bound).
    """
    try:
        shift = estimate_shift(ant, mirror(post))
    except ScintisegError:
        return None
    if abs(shift[0]) + abs(shift[1]) > max_shift_px:
        return None
    return shift


def pair_lesions(
    ant_labels: np.ndarray,
    ant_ids: list[int],
    post_labels: np.ndarray,
    post_ids: list[int],
    shift: tuple[float, float],
    pixel_spacing: tuple[float, float],
    *,
    min_overlap: float = MIN_OVERLAP,
    radius_mm: float = PAIR_RADIUS_MM,
) -> list[LesionPair]:
    """Pair the lesions of ANT and POST one to one (rules in the module docstring).

    Args:
        ant_labels: int map of ANT, lesion k = k (1-based, in the order of ``ant_ids``).
        ant_ids: the ANT lesions' ids, label k -> ``ant_ids[k - 1]``.
        post_labels: int map of POST *as acquired*, lesion k = k.
        post_ids: the POST lesions' ids.
        shift: the (rows, cols) shift that moves the mirrored POST onto ANT (:func:`post_shift`).
        pixel_spacing: (row, col) mm.
        min_overlap: smallest overlap coefficient of a candidate pair.
        radius_mm: largest centroid distance of a candidate pair.

    Returns:
        The pairs, in the order of the ANT ids.

    Example::

        shift = post_shift(scan.view("ANT"), scan.view("POST"), MISALIGNED_PX)
        pairs = pair_lesions(ant.labels, [l.id for l in ant.lesions], post.labels, [l.id for l in post.lesions],
                             shift, scan.pixel_spacing)
    """
    n_ant, n_post = len(ant_ids), len(post_ids)
    if n_ant == 0 or n_post == 0:
        return []
    ant_labels = np.asarray(ant_labels, dtype=np.int64)
    aligned = np.asarray(align_mask(np.asarray(post_labels, dtype=np.int64), shift), dtype=np.int64)
    both = (ant_labels > 0) & (aligned > 0)
    joint = np.bincount(ant_labels[both] * (n_post + 1) + aligned[both], minlength=(n_ant + 1) * (n_post + 1))
    intersection = joint.reshape(n_ant + 1, n_post + 1)[1:, 1:].astype(np.float64)
    ant_area = np.bincount(ant_labels.ravel(), minlength=n_ant + 1)[1:].astype(np.float64)
    post_area = np.bincount(aligned.ravel(), minlength=n_post + 1)[1:].astype(np.float64)
    smaller = np.minimum(ant_area[:, None], post_area[None, :])
    overlap = np.divide(intersection, smaller, out=np.zeros_like(intersection), where=smaller > 0)
    union = ant_area[:, None] + post_area[None, :] - intersection
    iou = np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)

    index_ant, index_post = np.arange(1, n_ant + 1), np.arange(1, n_post + 1)
    ant_centres = np.array(ndi.center_of_mass(np.ones_like(ant_labels), ant_labels, index_ant), dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):  # a POST lesion shifted wholly off the image has no centre
        post_centres = np.array(ndi.center_of_mass(np.ones_like(aligned), aligned, index_post), dtype=np.float64)
    scale = np.asarray(pixel_spacing, dtype=np.float64)
    delta = (ant_centres[:, None, :] - post_centres[None, :, :]) * scale
    distance = np.sqrt((delta**2).sum(axis=-1))
    distance = np.where(np.isfinite(distance), distance, np.inf)

    by_overlap = overlap >= min_overlap
    by_distance = distance <= radius_mm
    cost = np.full((n_ant, n_post), _NO_PAIR)
    cost[by_distance] = 1.0 + distance[by_distance] / radius_mm
    cost[by_overlap] = 1.0 - (overlap[by_overlap] + iou[by_overlap]) / 2.0
    rows, cols = linear_sum_assignment(cost)
    return [
        LesionPair(int(ant_ids[i]), int(post_ids[j]), float(overlap[i, j]), float(distance[i, j]))
        for i, j in zip(rows, cols)
        if by_overlap[i, j] or by_distance[i, j]
    ]
