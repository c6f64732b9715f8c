"""Closed lesion contours (paper B §2.4 and its abstract) and the lesion label map they define.

Each 8-connected component of the post-processed mask gets one closed polygon through the centres of its
boundary pixels, traced by :func:`scintiseg.geometry.mask_to_polygons` (the contour convention, the
simplification tolerance and the one- or two-pixel cases are stated there). Only the outer boundary is
kept, so a lesion with a hole is reported as its filled outline.

Why through the pixel centres: LabelMe rasterises a polygon with PIL ``polygon(outline=1, fill=1)``
(edges included; :func:`scintiseg.geometry.shape_to_mask`), so a polygon through the boundary-pixel
centres rasterises back to the filled component itself. A curve at level 0.5 (half-way between pixels)
would grow every lesion by a ring of pixels (about 30 % of a small lesion's area).

The *final* lesion mask is the rasterisation of these polygons, so every output (PNG mask, LabelMe JSON,
measurements, DICOM contours) agrees by construction: opening the LabelMe file gives back the PNG mask
pixel for pixel (its ``lesion`` shapes; the calls a reading rule left out are shapes of another label,
:data:`~scintiseg.io.predicted_labels.LEFT_OUT_LABEL`, in no mask). Lesions are numbered top to bottom, then left
to right (by the top-left corner of their bounding box); where two polygons' rasters touch, the pixel goes to the
lower lesion id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scintiseg.geometry import mask_to_polygons, shape_to_mask
from scintiseg.scan import Shape


@dataclass(frozen=True)
class Contour:
    """One lesion outline: ``points`` is an (N, 2) float array of ``(x, y) = (col, row)``, first != last
    (except the degenerate triangle of a one- or two-pixel lesion, :mod:`scintiseg.geometry`)."""

    points: np.ndarray

    def to_shape(self, label: str = "lesion", group_id: int | None = None, description: str = "") -> Shape:
        return Shape(label=label, points=self.points, shape_type="polygon", group_id=group_id, description=description)

    def to_mask(self, image_shape: tuple[int, int]) -> np.ndarray:
        return shape_to_mask(self.points, image_shape)

    def to_list(self) -> list[list[float]]:
        """The points as report.json writes them: ``[[x, y], ...]``, rounded to 0.01 pixel."""
        return [[round(float(x), 2), round(float(y), 2)] for x, y in self.points]


def mask_contours(mask: np.ndarray) -> list[Contour]:
    """One outer contour per 8-connected component of ``mask``, ordered top to bottom, then left to right.

    The order is that of each component's bounding-box corner (top row, then left column); the polygon's
    extreme vertices are boundary-pixel centres, so its own minima are that corner.
    """
    polygons = mask_to_polygons(mask)
    # sorted() is stable: ties keep geometry's raster order, as regionprops' label order did.
    ordered = sorted(polygons, key=lambda points: (points[:, 1].min(), points[:, 0].min()))
    return [Contour(points=points) for points in ordered]


def rasterise_contours(contours: list[Contour], image_shape: tuple[int, int]) -> np.ndarray:
    """Label map (int32; 0 = background, lesion k = the k-th contour, from 1) rasterised as LabelMe does.

    Where rasters overlap the lower id wins, so every pixel belongs to at most one lesion.
    """
    labels = np.zeros(image_shape, dtype=np.int32)
    for index, contour in enumerate(contours, start=1):
        raster = contour.to_mask(image_shape)
        labels[raster & (labels == 0)] = index
    return labels
