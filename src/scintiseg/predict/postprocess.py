"""From a probability map to lesion components: threshold, then drop components below a minimum area.

Paper B (§2.3) ends each lesion with a closed curve drawn around the thresholded network output; it
leaves the threshold and any small-component filter open. Choices made here:

- the probability threshold is 0.5 by default (the decision boundary of the sigmoid the models end with);
- connectivity is 8-neighbour (scikit-image ``connectivity=2``), so a lesion touching itself only at a
  corner stays one lesion, as a reader would see it;
- components smaller than ``min_area_px`` pixels are removed (default 4 px, about 20 mm^2 at 2.26 mm
  pixels: smaller than the system PSF, so not a resolvable lesion on a planar scan; physics.md, Camera);
- holes inside a component are kept as they are here; the contour step (:mod:`.contours`) draws only the
  outer boundary, so the final lesion is the filled outline.
"""

from __future__ import annotations

import numpy as np
from skimage.measure import label

#: Default probability threshold (sigmoid decision boundary).
DEFAULT_THRESHOLD: float = 0.5
#: Default minimum lesion area in pixels.
DEFAULT_MIN_AREA_PX: int = 4


def threshold_probability(
    probability: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    coverage: np.ndarray | None = None,
) -> np.ndarray:
    """Boolean mask of pixels whose probability is at least ``threshold`` (and inside ``coverage``).

    Args:
        probability: 2-D map in [0, 1]; NaN (outside what the model saw) counts as background.
        threshold: probability threshold in (0, 1].
        coverage: optional boolean map of the pixels the model saw; pixels outside it are background.

    Returns:
        Boolean mask of the shape of ``probability``.
    """
    if not 0.0 < float(threshold) <= 1.0:
        raise ValueError(f"threshold must lie in (0, 1], got {threshold}")
    prob = np.nan_to_num(np.asarray(probability, dtype=np.float32), nan=0.0)
    mask = prob >= threshold
    if coverage is not None:
        mask &= np.asarray(coverage, dtype=bool)
    return mask


def remove_small_components(mask: np.ndarray, min_area_px: int = DEFAULT_MIN_AREA_PX) -> np.ndarray:
    """``mask`` without the 8-connected components of fewer than ``min_area_px`` pixels.

    Example::

        clean = remove_small_components(prob >= 0.5, min_area_px=4)
    """
    mask = np.asarray(mask, dtype=bool)
    if min_area_px <= 1 or not mask.any():
        return mask.copy()
    labels = label(mask, connectivity=2)
    sizes = np.bincount(labels.ravel())
    keep = sizes >= int(min_area_px)
    keep[0] = False
    return keep[labels]


def lesion_components(
    probability: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    min_area_px: int = DEFAULT_MIN_AREA_PX,
    coverage: np.ndarray | None = None,
) -> np.ndarray:
    """Threshold then remove small components: the candidate lesion mask of one view."""
    return remove_small_components(threshold_probability(probability, threshold, coverage), min_area_px)
