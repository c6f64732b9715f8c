"""The pixels within a distance (mm) of a mask: what the marks "beside the bladder" and "at a forearm or hand" read.

A Euclidean distance transform over a whole 1024 x 256 view costs about 5 ms, and a view needs several (the bladder
for the symmetry rule and the lesion marks, the forearms and hands); the pixels within ``distance_mm`` of a mask lie
within its bounding box grown by that distance, so the transform is run there only. Same pixels as the whole-view
transform (tests/predict/test_nearby.py), a fraction of the cost (the bladder's box is a few thousand pixels).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi


def grown_box(mask: np.ndarray, pixel_mm: tuple[float, float], distance_mm: float) -> tuple[slice, slice] | None:
    """The bounding box of ``mask``'s pixels grown by ``distance_mm`` (and a pixel) on every side, clipped to the image:
    every pixel within that distance of the mask lies in it. None for an empty mask."""
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return None
    grow = [math.ceil(distance_mm / float(size)) + 1 for size in pixel_mm]
    return (slice(max(rows.min() - grow[0], 0), min(rows.max() + grow[0] + 1, mask.shape[0])),
            slice(max(cols.min() - grow[1], 0), min(cols.max() + grow[1] + 1, mask.shape[1])))


def within_mm(mask: np.ndarray, pixel_mm: tuple[float, float], distance_mm: float) -> np.ndarray:
    """Boolean map of the pixels at most ``distance_mm`` from a pixel of ``mask`` (the mask included), distances
    measured between pixel centres with the pixel sizes ``pixel_mm`` (rows, columns); all False for an empty mask."""
    mask = np.asarray(mask, dtype=bool)
    out = np.zeros(mask.shape, dtype=bool)
    box = grown_box(mask, pixel_mm, distance_mm)
    if box is None:
        return out
    sampling = (float(pixel_mm[0]), float(pixel_mm[1]))
    out[box] = ndi.distance_transform_edt(~mask[box], sampling=sampling) <= distance_mm
    return out
