"""scintiseg.prepare.box_outlines: the hot spot inside a lesion box, at its half maximum above the box's border."""

from __future__ import annotations

import numpy as np

from scintiseg.io.voc import VocBox
from scintiseg.prepare.box_outlines import box_outline, outlines_from_boxes


def _spot(shape=(60, 40), centre=(30, 20), sigma=3.0, peak=40.0, floor=10.0) -> np.ndarray:
    rows, cols = np.indices(shape)
    return floor + peak * np.exp(-((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2) / (2 * sigma**2))


def test_the_outline_is_the_half_maximum_extent_above_the_border_and_holds_the_peak():
    image = _spot()
    outline = box_outline(image, VocBox("Abnormal", (18, 42), (8, 32)))
    # a Gaussian's half maximum lies at sigma sqrt(2 ln 2) = 3.53 px: a disc of about 39 pixels
    assert outline[30, 20] and 33 <= outline.sum() <= 47
    rows, cols = np.nonzero(outline)
    assert rows.min() >= 18 and rows.max() <= 42 and cols.min() >= 8 and cols.max() <= 32
    assert np.hypot(rows - 30, cols - 20).max() <= 4.6
    # brighter surroundings (a hot bone under the box) raise the border: the outline stays the spot's
    assert box_outline(image + 30.0, VocBox("Abnormal", (18, 42), (8, 32))).sum() == outline.sum()


def test_flat_and_outside_boxes_give_nothing_and_only_lesion_boxes_are_outlined():
    image = _spot()
    image[48:] = 10.0  # the floor, flat below row 48
    assert not box_outline(np.full((20, 20), 7.0), VocBox("Abnormal", (2, 10), (2, 10))).any()
    assert not box_outline(image, VocBox("Abnormal", (100, 120), (50, 60))).any()
    boxes = [VocBox("Abnormal", (18, 42), (8, 32)), VocBox("Normal", (0, 15), (0, 39)),
             VocBox("Abnormal", (0, 15), (0, 39), difficult=True), VocBox("Abnormal", (50, 59), (0, 5))]
    mask, empty = outlines_from_boxes(image, boxes)
    assert np.array_equal(mask, box_outline(image, boxes[0]))  # the benign and difficult boxes are not outlined
    assert empty == 1  # the last box frames only the flat floor


def test_a_few_dark_border_pixels_do_not_lower_the_background():
    """The background is the border's median: a corner of the box outside the body (0 counts) leaves the outline."""
    image = _spot()
    box = VocBox("Abnormal", (18, 42), (8, 32))
    dark = image.copy()
    dark[18:22, 8:12] = 0.0
    assert np.array_equal(box_outline(dark, box), box_outline(image, box))


def test_the_outline_is_the_part_holding_the_peak_with_its_holes_filled():
    rows, cols = np.indices((60, 60))
    radius = np.hypot(rows - 30, cols - 20)
    image = 10.0 + 40.0 * np.exp(-((radius - 6.0) ** 2) / 2.0)  # a hot ring around a cold centre
    image += 30.0 * np.exp(-((rows - 30) ** 2 + (cols - 45) ** 2) / 8.0)  # a weaker spot beside it, in the box
    outline = box_outline(image, VocBox("Abnormal", (15, 45), (5, 55)))
    assert outline[30, 20] and outline[30, 26]  # the ring's centre is inside the outline
    assert not outline[30, 45] and not outline[:, 36:].any()  # the weaker spot is not
