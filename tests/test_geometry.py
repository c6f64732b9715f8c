"""Masks <-> polygons: exact round trip, degenerate components, holes, tolerance, LabelMe's rasterisation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw
from scipy import ndimage

from scintiseg.errors import ScintisegError
from scintiseg.geometry import (
    DEFAULT_TOLERANCE,
    component_polygon,
    mask_to_polygons,
    shape_to_mask,
    shapes_to_mask,
)
from scintiseg.predict.contours import mask_contours
from scintiseg.scan import Annotation

EIGHT = np.ones((3, 3), dtype=bool)


def _union(polygons, image_shape):
    mask = np.zeros(image_shape, dtype=bool)
    for points in polygons:
        mask |= shape_to_mask(points, image_shape)
    return mask


@st.composite
def blobs(draw):
    """Random hole-free 8-connected blobs (smoothed noise, largest component)."""
    size = draw(st.integers(6, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    field = rng.random((size, size)) < draw(st.floats(0.3, 0.7))
    smooth = ndimage.gaussian_filter(field.astype(float), draw(st.floats(0.4, 3.0))) > 0.5
    labels, count = ndimage.label(ndimage.binary_fill_holes(smooth), EIGHT)
    if count == 0:
        return None
    sizes = ndimage.sum(labels > 0, labels, range(1, count + 1))
    return labels == (int(np.argmax(sizes)) + 1)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blobs())
def test_round_trip_is_exact_on_random_blobs(mask):
    if mask is None:
        return
    (polygon,) = mask_to_polygons(mask)
    np.testing.assert_array_equal(shape_to_mask(polygon, mask.shape), mask)
    # Through boundary-pixel centres: every vertex is an integer pixel of the blob.
    assert np.array_equal(polygon, np.rint(polygon))
    assert mask[polygon[:, 1].astype(int), polygon[:, 0].astype(int)].all()


def test_round_trip_is_exact_on_noise_with_thin_parts():
    # Raw noise: one-pixel necks, diagonal chains, lines, single pixels; every component comes back.
    rng = np.random.default_rng(3)
    for _ in range(40):
        mask = rng.random((24, 24)) < rng.uniform(0.05, 0.5)
        labels, count = ndimage.label(mask, EIGHT)
        filled = np.logical_or.reduce([ndimage.binary_fill_holes(labels == k) for k in range(1, count + 1)])
        polygons = mask_to_polygons(mask)
        assert len(polygons) == count
        np.testing.assert_array_equal(_union(polygons, mask.shape), filled)


def test_one_and_two_pixel_components_are_degenerate_triangles():
    mask = np.zeros((8, 8), dtype=bool)
    mask[1, 5] = True
    mask[4, 2] = mask[5, 3] = True  # two pixels, diagonal neighbours
    single, pair = mask_to_polygons(mask)
    np.testing.assert_array_equal(single, [[5, 1], [5, 1], [5, 1]])  # (x, y) = (col, row)
    np.testing.assert_array_equal(pair, [[2, 4], [3, 5], [2, 4]])
    np.testing.assert_array_equal(shape_to_mask(single, mask.shape), mask & (np.arange(8)[:, None] < 3))
    np.testing.assert_array_equal(shape_to_mask(pair, mask.shape), mask & (np.arange(8)[:, None] >= 3))


@pytest.mark.parametrize("pixels", [
    [(5, c) for c in range(1, 7)],  # row
    [(r, 4) for r in range(0, 8)],  # column touching the border
    [(r, r) for r in range(1, 6)],  # diagonal
    [(r, 2) for r in range(1, 5)] + [(4, c) for c in range(3, 7)],  # L of one-pixel lines
])
def test_one_pixel_wide_lines_keep_three_vertices_and_their_pixels(pixels):
    mask = np.zeros((9, 9), dtype=bool)
    rows, cols = zip(*pixels)
    mask[list(rows), list(cols)] = True
    (polygon,) = mask_to_polygons(mask)
    assert len(np.unique(polygon, axis=0)) >= 3 or len(pixels) <= 2
    np.testing.assert_array_equal(shape_to_mask(polygon, mask.shape), mask)


def test_holes_are_filled_and_give_one_polygon():
    mask = np.zeros((12, 12), dtype=bool)
    mask[1:10, 1:10] = True
    mask[3:8, 3:8] = False  # a hole
    mask[5, 5] = True  # an island inside the hole: its own component, inside the filled outline
    outline, island = mask_to_polygons(mask)
    np.testing.assert_array_equal(shape_to_mask(outline, mask.shape), ndimage.binary_fill_holes(mask))
    np.testing.assert_array_equal(island, [[5, 5]] * 3)


def test_tolerance_zero_keeps_every_boundary_pixel_and_default_only_drops_straight_runs():
    mask = np.zeros((20, 20), dtype=bool)
    mask[3:15, 4:12] = True
    mask[8:12, 12:16] = True
    boundary = mask & ~ndimage.binary_erosion(mask)  # pixels with an edge-neighbour outside
    (full,) = mask_to_polygons(mask, tolerance=0)
    (simplified,) = mask_to_polygons(mask)
    assert {tuple(p) for p in full.astype(int)} == {(c, r) for r, c in zip(*np.nonzero(boundary))}
    # Only the straight runs go: 6 convex corners, and the 2 concave ones, each cut by one diagonal step.
    assert len(simplified) == 10 and {tuple(p) for p in simplified} <= {tuple(p) for p in full}
    np.testing.assert_array_equal(shape_to_mask(simplified, mask.shape), mask)
    np.testing.assert_array_equal(shape_to_mask(full, mask.shape), mask)


def test_a_coarse_tolerance_changes_the_raster():
    # The tolerance is applied: 1.5 px cuts the corners of a disc, the default keeps it exact.
    rows, cols = np.mgrid[:25, :25]
    disc = (rows - 12) ** 2 + (cols - 12) ** 2 <= 49
    assert not np.array_equal(shape_to_mask(mask_to_polygons(disc, tolerance=1.5)[0], disc.shape), disc)
    np.testing.assert_array_equal(shape_to_mask(mask_to_polygons(disc, tolerance=DEFAULT_TOLERANCE)[0], disc.shape), disc)


def test_min_area_and_raster_order():
    mask = np.zeros((12, 12), dtype=bool)
    mask[6:9, 1:4] = True  # first pixel (6, 1)
    mask[2, 8] = True  # one pixel, first in raster order
    assert [p[:, 1].min() for p in mask_to_polygons(mask)] == [2, 6]
    (big,) = mask_to_polygons(mask, min_area=2)
    assert big[:, 1].min() == 6


def test_offset_translates_the_polygon():
    component = np.zeros((5, 6), dtype=bool)
    component[1:4, 1:5] = True
    np.testing.assert_array_equal(component_polygon(component, (10, 20)), component_polygon(component) + [20, 10])


def test_polygon_rectangle_and_circle_rasterise_as_labelme():
    # Edges included: a square through pixel centres (1,1)-(3,3) covers 3x3 pixels.
    assert shape_to_mask(np.array([[1, 1], [3, 1], [3, 3], [1, 3]]), (5, 5)).sum() == 9
    # A rectangle (two corners, any order) is the axis-aligned polygon through its four corners.
    a = shape_to_mask(np.array([[6, 7], [2, 1]]), (10, 10), "rectangle")
    b = shape_to_mask(np.array([[2, 1], [6, 7]]), (10, 10), "rectangle")
    polygon = shape_to_mask(np.array([[2, 1], [6, 1], [6, 7], [2, 7]]), (10, 10))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, polygon)
    assert a.sum() == 5 * 7
    # A circle: centre, then a point on the circumference, which is inside (edges included).
    circle = shape_to_mask(np.array([[10, 10], [10, 14]]), (21, 21), "circle")
    assert circle[10, 10] and circle[14, 10] and circle[10, 6] and circle[6, 10] and circle[10, 14]
    np.testing.assert_array_equal(circle, circle[::-1, :])
    np.testing.assert_array_equal(circle, circle[:, ::-1])
    np.testing.assert_array_equal(circle, circle.T)
    rows, cols = np.mgrid[:21, :21]
    assert not circle[(rows - 10) ** 2 + (cols - 10) ** 2 > 5**2].any()


def _random_shape(rng, image_shape):
    """A polygon (often self-intersecting), rectangle or circle, fractional, partly outside the image."""
    height, width = image_shape
    kind = str(rng.choice(["polygon", "rectangle", "circle"]))
    low, high = (-0.2 * width, -0.2 * height), (1.2 * width, 1.2 * height)
    if kind == "polygon":
        centre = rng.uniform(low, high)
        points = centre + rng.normal(0, rng.uniform(0.5, 0.2 * max(image_shape)), (int(rng.integers(3, 40)), 2))
    elif kind == "rectangle":
        points = rng.uniform(low, high, (2, 2))
    else:
        centre = rng.uniform(low, high)
        points = np.stack([centre, centre + rng.normal(0, rng.uniform(0, 0.2 * max(image_shape)), 2)])
    if rng.random() < 0.3:
        points = np.round(points)  # on pixel centres, where edge pixels matter most
    return points, kind


def _labelme_shape_to_mask(points, image_shape, shape_type):
    """LabelMe's ``utils.shape.shape_to_mask`` (one canvas, points as tuples), rectangle corners sorted as PIL needs."""
    canvas = Image.new("L", image_shape[::-1], 0)
    draw = ImageDraw.Draw(canvas)
    xy = [tuple(point) for point in np.asarray(points, dtype=np.float64).tolist()]
    if shape_type == "circle":
        (cx, cy), (px, py) = xy
        d = math.hypot(cx - px, cy - py)
        draw.ellipse([cx - d, cy - d, cx + d, cy + d], outline=1, fill=1)
    elif shape_type == "rectangle":
        (x0, y0), (x1, y1) = xy
        draw.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], outline=1, fill=1)
    else:
        draw.polygon(xy=xy, outline=1, fill=1)
    return np.array(canvas, dtype=bool)


def test_shapes_on_one_canvas_are_the_union_of_each_shape_on_its_own_canvas():
    # PIL sets pixels to the ink and blends nothing, so one canvas for all shapes gives the same pixels
    # as LabelMe's one canvas per shape ORed together.
    rng = np.random.default_rng(14)
    for _ in range(150):
        image_shape = (int(rng.integers(1, 60)), int(rng.integers(1, 60)))
        shapes = [_random_shape(rng, image_shape) for _ in range(int(rng.integers(1, 15)))]
        each = [_labelme_shape_to_mask(points, image_shape, kind) for points, kind in shapes]
        for (points, kind), expected in zip(shapes, each):
            np.testing.assert_array_equal(shape_to_mask(points, image_shape, kind), expected)
        np.testing.assert_array_equal(shapes_to_mask(shapes, image_shape), np.logical_or.reduce(each))
    assert not shapes_to_mask([], (3, 4)).any() and shapes_to_mask([], (3, 4)).shape == (3, 4)
    with pytest.raises(ScintisegError, match="does not enclose"):
        shapes_to_mask([(np.array([[0, 0], [2, 2], [0, 2]]), "polygon"), (np.array([[1, 1]]), "point")], (3, 3))


def test_labelme_writer_and_predicted_contours_give_the_same_polygons():
    rng = np.random.default_rng(5)
    mask = ndimage.gaussian_filter(rng.random((40, 40)), 1.5) > 0.55
    mask[0, 30:33] = True  # a line on the border
    mask[38, 2] = True  # a single pixel
    written = [s.points for s in Annotation.from_mask(mask).shapes]
    predicted = [c.points for c in mask_contours(mask)]
    assert len(written) == len(predicted) > 3
    key = lambda points: points.tobytes()  # noqa: E731 -- the callers differ only in their order
    for a, b in zip(sorted(written, key=key), sorted(predicted, key=key)):
        np.testing.assert_array_equal(a, b)


def test_invalid_input_is_a_project_error():
    with pytest.raises(ScintisegError, match="2-D"):
        mask_to_polygons(np.ones((2, 2, 2), dtype=bool))
    with pytest.raises(ScintisegError, match="does not enclose"):
        shape_to_mask(np.array([[0, 0]]), (3, 3), "point")
