"""Lesion outlines from hot-spot boxes: the hot spot's half-maximum extent inside each ``Abnormal`` box.

BS-80K and other archives mark lesions with boxes (:mod:`scintiseg.io.voc`), not outlines; scintiseg's data sets,
LabelMe correction loop and training take outlines. :func:`box_outline` turns a box into the outline a reader
would draw around the hot spot it frames, so that a box-labelled archive becomes LabelMe files
(``scintiseg annotations from-boxes``) that a physician can correct and ``scintiseg dataset import`` and
``scintiseg adapt`` read.

The outline of a box (choices the sources leave open, stated): the view's counts (or grey levels) inside the box,
smoothed by a Gaussian of :data:`SMOOTH_PX` pixel (the Poisson noise of a few counts per pixel would otherwise
fray the edge); the **half-maximum extent above the box's own background**: the pixels at least half-way from the
median of the box's border pixels (what surrounds the hot spot, as the reader framed it) to the box's smoothed
maximum; of those, the connected part (8-neighbour) holding the maximum, holes filled. Half-maximum, because it
is the extent a lesion's truth has in the phantom (:mod:`scintiseg.phantom.patient`) and the one clinical hotspot tools report; a
box whose maximum does not stand above its border (a flat box) gives no outline and is counted.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from scintiseg.io.voc import VocBox, box_kind, box_slices

#: Gaussian smoothing (pixels) of the counts inside a box before its half maximum is taken.
SMOOTH_PX: float = 1.0


def box_outline(image: np.ndarray, box: VocBox) -> np.ndarray:
    """The hot spot's half-maximum extent inside ``box`` on ``image``'s grid (module docstring); all False for a
    flat box or a box outside the image."""
    image = np.asarray(image, dtype=np.float64)
    out = np.zeros(image.shape, dtype=bool)
    rows, cols = box_slices(box, image.shape)
    patch = image[rows, cols]
    if patch.size == 0:
        return out
    smooth = ndimage.gaussian_filter(patch, SMOOTH_PX, mode="nearest") if min(patch.shape) > 1 else patch
    border = np.concatenate([smooth[0], smooth[-1], smooth[:, 0], smooth[:, -1]])
    background, peak = float(np.median(border)), float(smooth.max())
    if not peak > background:
        return out
    hot = smooth >= background + 0.5 * (peak - background)
    parts, _ = ndimage.label(hot, structure=np.ones((3, 3), dtype=bool))
    keep = parts == parts[np.unravel_index(np.argmax(smooth), smooth.shape)]
    out[rows, cols] = ndimage.binary_fill_holes(keep)
    return out


def outlines_from_boxes(image: np.ndarray, boxes) -> tuple[np.ndarray, int]:
    """The union of :func:`box_outline` over the lesion boxes of ``boxes`` (:func:`scintiseg.io.voc.box_kind`:
    difficult, benign and unknown boxes give none), and how many lesion boxes gave no outline."""
    mask = np.zeros(np.shape(image), dtype=bool)
    empty = 0
    for box in boxes:
        if box_kind(box) != "lesion":
            continue
        outline = box_outline(image, box)
        empty += int(not outline.any())
        mask |= outline
    return mask, empty
