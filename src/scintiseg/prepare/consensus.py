"""Three-reader consensus on lesion annotations (paper B, §2.2).

Paper B has three physicians delineate every image. For each lesion, the *area difference* between
two readers' curves is compared with a threshold (5 %); when every pair agrees, one reader's labels are
taken at random as ground truth, otherwise the image goes back for re-annotation.

Choices the paper leaves open, made here:

* **Area difference** between two curves is ``1 - IoU`` of their rasterised areas (LabelMe's
  rasterisation, :meth:`scintiseg.scan.Annotation.to_mask`). It is symmetric and 0 for identical
  curves; a plain difference of areas would call two equal-sized lesions at different places "equal".
* **Per lesion**, as the paper says: a reader's lesions are the 8-connected components of the union of
  their lesion shapes (so one lesion drawn as two touching polygons is still one lesion). Two readers'
  lesions are paired by maximum total IoU (Hungarian assignment, ``scipy.optimize.linear_sum_assignment``);
  a lesion without a partner (one reader saw it, the other did not) has difference 1. A pair of readers
  agrees when every lesion difference is within the threshold.
* The per-image difference (``1 - IoU`` of the whole masks) is reported too, for reference.
* Two readers who both marked nothing agree (difference 0).
* The decision is per image (the unit that is re-annotated or accepted): all pairs agree -> one
  reader chosen with ``numpy.random.default_rng(seed)``; otherwise ``re-annotate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Sequence

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.scan import Annotation

#: Paper B §2.2: readers agree when the area difference is at most 5 %.
DEFAULT_THRESHOLD = 0.05


def area_difference(a: np.ndarray, b: np.ndarray) -> float:
    """``1 - IoU`` of two boolean masks (0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    if union == 0:
        return 0.0
    return float(1.0 - np.logical_and(a, b).sum() / union)


def lesion_masks(mask: np.ndarray) -> list[np.ndarray]:
    """The 8-connected components of ``mask``, one boolean mask each."""
    from scipy import ndimage

    labels, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    return [labels == i for i in range(1, count + 1)]


@dataclass
class PairComparison:
    """How two readers compare: per-lesion differences (matched and unmatched) and the image-level one."""

    reader_a: int
    reader_b: int
    image_difference: float
    lesion_differences: list[float] = field(default_factory=list)
    unmatched: int = 0

    @property
    def max_lesion_difference(self) -> float:
        return max(self.lesion_differences, default=0.0)

    def agrees(self, threshold: float) -> bool:
        # "Within the threshold" is inclusive; the epsilon keeps 1 - 380/400 from reading as 0.0500000001.
        return self.max_lesion_difference <= threshold + 1e-9

    def to_json(self, threshold: float) -> dict:
        return {
            "readers": [self.reader_a, self.reader_b],
            "image_area_difference": round(self.image_difference, 6),
            "lesion_area_differences": [round(d, 6) for d in self.lesion_differences],
            "max_lesion_area_difference": round(self.max_lesion_difference, 6),
            "unmatched_lesions": self.unmatched,
            "agree": self.agrees(threshold),
        }


def compare_readers(a: np.ndarray, b: np.ndarray, reader_a: int = 0, reader_b: int = 1) -> PairComparison:
    """Per-lesion area differences between two readers' masks (module docstring)."""
    from scipy.optimize import linear_sum_assignment

    lesions_a, lesions_b = lesion_masks(a), lesion_masks(b)
    differences: list[float] = []
    unmatched = 0
    if lesions_a and lesions_b:
        iou = np.array([[1.0 - area_difference(la, lb) for lb in lesions_b] for la in lesions_a])
        rows, cols = linear_sum_assignment(-iou)
        matched = [(r, c) for r, c in zip(rows, cols) if iou[r, c] > 0]
        differences = [1.0 - float(iou[r, c]) for r, c in matched]
        unmatched = len(lesions_a) + len(lesions_b) - 2 * len(matched)
    else:
        unmatched = len(lesions_a) + len(lesions_b)
    differences += [1.0] * unmatched
    return PairComparison(reader_a, reader_b, area_difference(a, b), differences, unmatched)


def consensus(
    annotations: Sequence[Annotation],
    threshold: float = DEFAULT_THRESHOLD,
    seed: int = 0,
    labels: Sequence[str] | None = ("lesion",),
) -> dict:
    """Decide between readers' annotations of one image (paper B §2.2).

    Args:
        annotations: one annotation per reader (three in the paper; two or more accepted), same image size.
        threshold: largest area difference (``1 - IoU``) at which two readers' lesions agree.
        seed: seeds the random choice of the ground-truth reader.
        labels: shape labels taken as lesion (None: every label).

    Returns:
        ``{"decision": "accept" | "re-annotate", "ground_truth_reader": index | None, "threshold",
        "seed", "pairs": [...]}``; each pair lists its per-lesion and image-level differences.

    Example::

        decision = consensus([read_labelme(p) for p in ("a.json", "b.json", "c.json")], seed=1)
    """
    if len(annotations) < 2:
        raise ScintisegError(f"consensus needs at least two readers, got {len(annotations)}")
    if not 0 <= threshold <= 1:
        raise ScintisegError(f"threshold must lie in [0, 1], got {threshold}")
    shapes = {tuple(a.image_shape) for a in annotations}
    if len(shapes) != 1:
        raise ScintisegError(f"readers annotated images of different sizes: {sorted(shapes)}")
    masks = [a.to_mask(labels) for a in annotations]
    pairs = [compare_readers(masks[i], masks[j], i, j) for i, j in combinations(range(len(masks)), 2)]
    agree = all(p.agrees(threshold) for p in pairs)
    chosen = int(np.random.default_rng(seed).integers(len(annotations))) if agree else None
    return {
        "decision": "accept" if agree else "re-annotate",
        "ground_truth_reader": chosen,
        "threshold": float(threshold),
        "seed": int(seed),
        "readers": len(annotations),
        "lesions_per_reader": [len(lesion_masks(m)) for m in masks],
        "pairs": [p.to_json(threshold) for p in pairs],
    }
