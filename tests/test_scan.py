"""The core types: Scan validation and summary, Shape rasterisation as LabelMe does it, annotations from masks."""

from __future__ import annotations

import numpy as np
import pytest

from scintiseg import geometry
from scintiseg.errors import ScintisegError
from scintiseg.scan import Annotation, Scan, Shape, mask_to_shapes, mirror


def test_views_are_ordered_and_summarised():
    post = np.full((4, 3), 2, dtype=np.uint16)
    ant = np.ones((4, 3), dtype=np.uint16)
    scan = Scan({"POST": post, "ANT": ant}, pixel_spacing=(2, 3), patient_id="P1")
    assert scan.view_names == ["ANT", "POST"] and scan.is_dual_view and scan.shape == (4, 3)
    facts = scan.summary()
    assert facts["counts"] == {"ANT": {"total": 12, "max": 1.0}, "POST": {"total": 24, "max": 2.0}}
    assert facts["pixel_spacing"] == [2.0, 3.0]


@pytest.mark.parametrize(
    "views, match",
    [
        ({}, "at least one view"),
        ({"LAT": np.ones((2, 2))}, "unknown view"),
        ({"ANT": np.ones(4)}, "2-D"),
        ({"ANT": np.ones((2, 2)), "POST": np.ones((3, 2))}, "differ in shape"),
        ({"ANT": np.array([[1.0, np.nan]])}, "NaN"),
        ({"ANT": np.array([[1, -1]])}, "negative"),
        ({"ANT": np.ones((2, 2)), "VIEW": np.ones((2, 2))}, "unnamed view"),
    ],
)
def test_invalid_scans(views, match):
    with pytest.raises(ScintisegError, match=match):
        Scan(views)


def test_bad_spacing_and_missing_view():
    with pytest.raises(ScintisegError, match="spacing"):
        Scan({"ANT": np.ones((2, 2))}, pixel_spacing=(0, 1))
    with pytest.raises(ScintisegError, match="no POST view"):
        Scan({"ANT": np.ones((2, 2))}).view("POST")


def test_polygon_edges_are_included():
    # A square through pixel centres (1,1)-(3,3): LabelMe fills it and its outline -> 3x3 pixels.
    square = Shape("lesion", [[1, 1], [3, 1], [3, 3], [1, 3]])
    mask = square.to_mask((5, 5))
    assert mask.sum() == 9 and mask[1:4, 1:4].all()


def test_rectangle_corners_in_any_order_and_circle():
    a = Shape("l", [[3, 4], [1, 1]], shape_type="rectangle").to_mask((6, 6))
    b = Shape("l", [[1, 1], [3, 4]], shape_type="rectangle").to_mask((6, 6))
    np.testing.assert_array_equal(a, b)
    assert a.sum() == 3 * 4
    circle = Shape("l", [[10, 10], [10, 14]], shape_type="circle").to_mask((21, 21))
    assert abs(circle.sum() - np.pi * 4**2) < 0.35 * np.pi * 4**2 and circle[10, 10] and not circle[0, 0]


def test_shape_validation():
    with pytest.raises(ScintisegError, match="at least 3"):
        Shape("l", [[0, 0], [1, 1]])
    with pytest.raises(ScintisegError, match="does not enclose"):
        Shape("l", [[0, 0]], shape_type="point")
    assert Shape("l", [[-3, 0], [1, 0], [1, 1]]).outside((5, 5))
    assert not Shape("l", [[-0.5, 0], [4.9, 0], [1, 4.5]]).outside((5, 5))


def test_annotation_filter_and_union():
    shapes = [Shape("lesion", [[0, 0], [1, 0], [1, 1]]), Shape("bladder", [[3, 3], [4, 3], [4, 4]])]
    ann = Annotation(shapes, image_shape=(5, 5))
    assert ann.labels == ["bladder", "lesion"]
    assert ann.to_mask(["lesion"])[:2, :2].any() and not ann.to_mask(["lesion"])[3:, 3:].any()
    assert ann.to_mask().sum() == ann.to_mask(["lesion"]).sum() + ann.to_mask(["bladder"]).sum()


def test_annotation_draws_all_its_shapes_on_one_canvas(monkeypatch):
    # One full-size canvas per shape made a LabelMe file of 1,534 large polygons take seconds (fuzz
    # input labelme4:67); the union is drawn on one canvas, and equals the per-shape union.
    rng = np.random.default_rng(12)
    shapes = [Shape("lesion", rng.uniform(-5, 45, (int(rng.integers(3, 30)), 2))) for _ in range(40)]
    shapes += [Shape("bladder", [[5, 5], [9, 30]], "rectangle"), Shape("lesion", [[20, 20], [24, 23]], "circle")]
    ann = Annotation(shapes, image_shape=(40, 32))
    expected = np.logical_or.reduce([s.to_mask(ann.image_shape) for s in shapes if s.label == "lesion"])
    canvases = []
    new_image = geometry.Image.new
    monkeypatch.setattr(geometry.Image, "new", lambda *args: canvases.append(args) or new_image(*args))
    np.testing.assert_array_equal(ann.to_mask(["lesion"]), expected)
    assert len(canvases) == 1


def test_mask_to_shapes_keeps_tiny_components_and_drops_below_min_area():
    mask = np.zeros((10, 10), dtype=bool)
    mask[2, 2] = True  # one pixel
    mask[5, 3:8] = True  # a straight line
    shapes = mask_to_shapes(mask, label="hot")
    assert [(s.label, s.shape_type) for s in shapes] == [("hot", "polygon")] * 2
    np.testing.assert_array_equal(Annotation(shapes, (10, 10)).to_mask(), mask)
    (line,) = mask_to_shapes(mask, min_area=2)
    assert line.points[:, 1].min() == 5


def test_from_mask_fills_holes_and_round_trips():
    mask = np.zeros((9, 9), dtype=bool)
    mask[1:8, 1:8] = True
    mask[4, 4] = False
    ann = Annotation.from_mask(mask, label="lesion", view="ANT")
    assert ann.view == "ANT" and ann.image_shape == (9, 9) and len(ann.shapes) == 1
    back = ann.to_mask()
    assert back[4, 4] and (back ^ mask).sum() == 1


def test_rows_reversed_outlines_rasterise_to_the_reversed_mask():
    rng = np.random.default_rng(7)
    height, width = 40, 30
    for shape_type, points in (("polygon", [[3.6, 4.2], [20.3, 6.9], [17.8, 25.5], [5.1, 19.7]]),
                               ("rectangle", [[4.7, 30.2], [12.4, 8.6]])):
        points = np.asarray(points) + rng.uniform(-0.4, 0.4, (len(points), 2))  # hand-drawn: between pixel centres
        annotation = Annotation([Shape("lesion", points, shape_type, group_id=3)], (height, width), view="POST")
        turned = annotation.rows_reversed()
        assert np.array_equal(turned.to_mask(), annotation.to_mask()[::-1])
        assert turned.view == "POST" and turned.shapes[0].group_id == 3
        assert np.abs(turned.shapes[0].points[:, 1] - (height - points[:, 1])).max() <= 1  # a pixel from the mirror
        assert np.allclose(turned.rows_reversed().shapes[0].points, points, rtol=0, atol=1e-9)  # twice is none
    circle = Annotation([Shape("lesion", [[10.3, 12.6], [14.1, 9.2]], "circle")], (height, width))
    moved = circle.rows_reversed().shapes[0].points
    assert np.hypot(*(moved[1] - moved[0])) == pytest.approx(np.hypot(3.8, 3.4))  # the radius is kept
    assert (circle.rows_reversed().to_mask() != circle.to_mask()[::-1]).sum() <= 2 * 9  # a pixel at the rim at most


def test_a_view_spans_a_whole_body_from_one_metre():
    """The rule training, prediction and `dataset check` share: a thoracic crop (256 rows of 2.26 mm) and a region crop
    are partial; a whole-body matrix at any camera's pixel size is not; the boundary is 1 m exactly."""
    from scintiseg.scan import PARTIAL_VIEW_MM, spans_whole_body

    assert PARTIAL_VIEW_MM == 1000.0
    assert not spans_whole_body(256, 2.26) and not spans_whole_body(200, 2.0)
    assert spans_whole_body(1024, 2.26) and spans_whole_body(512, 4.52) and spans_whole_body(2048, 1.13)
    assert spans_whole_body(500, 2.0) and not spans_whole_body(499, 2.0)


def test_mirror_flips_columns_of_a_view_or_a_stack_and_is_its_own_inverse():
    image = np.arange(6).reshape(2, 3)
    assert np.array_equal(mirror(image), [[2, 1, 0], [5, 4, 3]])
    assert np.array_equal(mirror(mirror(image)), image)
    stack = np.arange(24).reshape(2, 3, 4)
    assert np.array_equal(mirror(stack), stack[:, :, ::-1]) and mirror(stack).flags.c_contiguous


def test_a_scan_with_other_views_has_its_own_metadata():
    scan = Scan({"ANT": np.ones((4, 4), dtype=np.uint16)}, (2.26, 2.26), metadata={"a": 1})
    copy = scan.with_views({"ANT": np.zeros((4, 4), dtype=np.uint16)})
    copy.metadata["read_turned"] = "head_down"
    assert scan.metadata == {"a": 1} and copy.metadata == {"a": 1, "read_turned": "head_down"}
    assert scan.rows_reversed().metadata is not scan.metadata


def test_a_scan_made_without_a_pixel_size_says_it_was_assumed():
    """API audit 74, finding 15: ``Scan(views)`` took 2.26 mm without a mark, while read_scan marks a file without one
    (and prediction warns); a spacing given, and a copy, are left as they are; the caller's metadata dict is not
    changed."""
    from scintiseg.scan import DEFAULT_PIXEL_SPACING, SPACING_ASSUMED_KEY

    image = np.ones((4, 4), np.uint16)
    given_metadata = {"a": 1}
    made = Scan({"ANT": image}, metadata=given_metadata)
    assert made.pixel_spacing == DEFAULT_PIXEL_SPACING == (2.26, 2.26)
    assert made.metadata == {"a": 1, SPACING_ASSUMED_KEY: "no pixel_spacing given to Scan(); 2.26 mm, a 1024-row "
                                                          "whole-body view's"}
    assert given_metadata == {"a": 1}
    assert SPACING_ASSUMED_KEY not in Scan({"ANT": image}, (2.26, 2.26)).metadata  # given: measured
    assert made.with_views({"ANT": image * 2}).metadata[SPACING_ASSUMED_KEY] == made.metadata[SPACING_ASSUMED_KEY]
    read_why = {SPACING_ASSUMED_KEY: "a whole-body view's 2.3 m over its 1024 rows"}  # a reader's reason is kept
    assert Scan({"ANT": image}, metadata=read_why).metadata == read_why


@pytest.mark.parametrize("spacing", ["2.26", b"2.26", 2.26, (1.0, 2.0, 3.0), ("a", "b"), (None, 1.0), [1.0]])
def test_a_pixel_spacing_that_is_not_two_numbers_is_one_line(spacing):
    """``Scan(..., pixel_spacing="2.26")`` raised a bare ValueError ("could not convert string to float: '.'")."""
    with pytest.raises(ScintisegError, match=r"^pixel_spacing must be two numbers, \(row_mm, col_mm\) such as "
                                             r"\(2\.26, 2\.26\); got "):
        Scan({"ANT": np.ones((2, 2))}, pixel_spacing=spacing)
    assert Scan({"ANT": np.ones((2, 2))}, pixel_spacing=np.array([2.0, 3.0])).pixel_spacing == (2.0, 3.0)
