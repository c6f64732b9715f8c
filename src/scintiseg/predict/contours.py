"""Closed lesion contours (paper B §2.3) and the mask they define.

Each 8-connected component of the post-processed mask gets one closed polygon through the centres of its
boundary pixels: :func:`skimage.measure.find_contours` at level 0.999 on the zero-padded component (so
the curve runs a thousandth of a pixel outside the centres of the inside pixels), rounded to the pixel
centres, consecutive duplicates dropped, and exactly collinear vertices removed
(:func:`skimage.measure.approximate_polygon`, tolerance 0.01 px). Only the outer boundary is kept, so a
lesion with a hole is reported as its filled outline.

Why through the pixel centres: LabelMe rasterises a polygon with PIL ``polygon(outline=1, fill=1)``
(edges included; :meth:`scintiseg.scan.Shape.to_mask`), so a polygon through the boundary-pixel centres
rasterises back to the component itself (exactly for about 95 % of random blobs; otherwise a few pixels
along one-pixel-wide necks). A curve at level 0.5 (half-way between pixels) would grow every lesion by a
ring of pixels (about 30 % of a small lesion's area).

The *final* lesion mask is the rasterisation of these polygons, so every output (PNG mask, LabelMe JSON,
measurements, DICOM contours) agrees by construction: opening the LabelMe file gives back the PNG mask
pixel for pixel. Where two polygons' rasters touch, the pixel goes to the lower lesion id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.measure import approximate_polygon, find_contours, label, regionprops

from scintiseg.scan import Shape

#: find_contours level: just inside 1 so the curve passes (after rounding) through boundary-pixel centres.
_CONTOUR_LEVEL = 0.999
#: Douglas-Peucker tolerance that removes only (numerically) collinear vertices.
_COLLINEAR_TOLERANCE = 0.01


@dataclass(frozen=True)
class Contour:
    """One lesion outline: ``points`` is an (N, 2) float array of ``(x, y) = (col, row)``, first != last."""

    points: np.ndarray

    def to_shape(self, label: str = "lesion", group_id: int | None = None, description: str = "") -> Shape:
        return Shape(label=label, points=self.points, shape_type="polygon", group_id=group_id, description=description)

    def to_mask(self, image_shape: tuple[int, int]) -> np.ndarray:
        return self.to_shape().to_mask(image_shape)

    def translated(self, d_row: float, d_col: float) -> "Contour":
        return Contour(points=self.points + np.array([d_col, d_row], dtype=np.float64))


def component_contour(component: np.ndarray, offset: tuple[int, int] = (0, 0)) -> Contour:
    """The outer closed contour of one connected component (a boolean array, typically its bounding box).

    Args:
        component: boolean array holding one 8-connected component.
        offset: (row, col) of ``component[0, 0]`` in the full image.
    """
    padded = np.pad(np.asarray(component, dtype=np.float32), 1)
    curves = find_contours(padded, _CONTOUR_LEVEL, fully_connected="high")
    outer = np.round(max(curves, key=len))
    keep = np.r_[True, np.any(np.diff(outer, axis=0) != 0, axis=1)]
    outer = approximate_polygon(outer[keep], tolerance=_COLLINEAR_TOLERANCE)
    if len(outer) > 1 and np.array_equal(outer[0], outer[-1]):
        outer = outer[:-1]
    if len(outer) < 3:
        # A single pixel or a straight line of pixels: LabelMe needs three vertices; repeat the ends.
        outer = np.vstack([outer, outer[::-1]])[:3] if len(outer) == 2 else np.repeat(outer[:1], 3, axis=0)
    rows = outer[:, 0] - 1 + offset[0]
    cols = outer[:, 1] - 1 + offset[1]
    return Contour(points=np.column_stack([cols, rows]).astype(np.float64))


def mask_contours(mask: np.ndarray) -> list[Contour]:
    """One outer contour per 8-connected component of ``mask``, ordered top to bottom, then left to right."""
    labels = label(np.asarray(mask, dtype=bool), connectivity=2)
    contours = []
    for region in sorted(regionprops(labels), key=lambda r: (r.bbox[0], r.bbox[1])):
        r0, c0, _, _ = region.bbox
        contours.append(component_contour(region.image, offset=(r0, c0)))
    return contours


def rasterise_contours(contours: list[Contour], image_shape: tuple[int, int]) -> np.ndarray:
    """Label map (int32; 0 = background, lesion k = the k-th contour, from 1) rasterised as LabelMe does.

    Where rasters overlap the lower id wins, so every pixel belongs to at most one lesion.
    """
    labels = np.zeros(image_shape, dtype=np.int32)
    for index, contour in enumerate(contours, start=1):
        raster = contour.to_mask(image_shape)
        labels[raster & (labels == 0)] = index
    return labels
