"""The skeleton's long axis, as a patient lies (scintiseg.predict.skeleton_axis)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scintiseg.predict.regions import REGION_IDS
from scintiseg.predict.skeleton_axis import axis_slope, distance_from_axis, reflect

SPACING = (2.26, 2.26)


def _trunk(tilt_deg: float, shape=(700, 200), centre=(350, 100), head_tilt_deg: float = 0.0) -> np.ndarray:
    """A spine (thoracic above lumbar) and a sacrum 17 px wide along a line through ``centre`` leaning ``tilt_deg``
    (columns grow downwards for a positive tilt), and a skull above it leaning ``head_tilt_deg``."""
    rows, cols = np.mgrid[:shape[0], :shape[1]].astype(np.float64)
    theta = math.radians(tilt_deg)
    along = (rows - centre[0]) * math.cos(theta) + (cols - centre[1]) * math.sin(theta)
    across = -(rows - centre[0]) * math.sin(theta) + (cols - centre[1]) * math.cos(theta)
    labels = np.zeros(shape, np.int16)
    column = np.abs(across) <= 8
    labels[column & (along >= -250) & (along < -20)] = REGION_IDS["thoracic_spine"]
    labels[column & (along >= -20) & (along < 100)] = REGION_IDS["lumbar_spine"]
    labels[(np.abs(across) <= 15) & (along >= 100) & (along < 160)] = REGION_IDS["sacrum"]
    head = math.radians(head_tilt_deg)
    head_across = -(rows - 60) * math.sin(head) + (cols - centre[1] + 250 * math.sin(theta)) * math.cos(head)
    labels[(np.abs(head_across) <= 40) & (rows >= 20) & (rows < 90)] = REGION_IDS["skull"]
    return labels


@pytest.mark.parametrize("tilt", [-8.0, 0.0, 3.0, 12.0])
def test_the_slope_is_the_trunk_s_lean(tilt):
    slope = axis_slope(_trunk(tilt), SPACING)
    assert slope == pytest.approx(math.tan(math.radians(tilt)), abs=0.01)


def test_the_head_turned_on_the_pillow_is_not_the_trunk():
    assert axis_slope(_trunk(0.0, head_tilt_deg=15.0), SPACING) == pytest.approx(0.0, abs=0.01)


def test_a_scoliotic_bend_is_not_a_tilt():
    # NM1-like: the lumbar spine 10 columns to one side of the thoracic spine and the sacrum, which stand in line.
    labels = _trunk(0.0)
    lumbar = labels == REGION_IDS["lumbar_spine"]
    labels[lumbar] = 0
    labels[np.roll(lumbar, 10, axis=1)] = REGION_IDS["lumbar_spine"]
    assert abs(axis_slope(labels, SPACING)) < 0.02  # about 1 degree


def test_no_axis_from_too_little_trunk_or_an_implausible_lean():
    rows = np.arange(700)[:, None]
    stub = np.where((rows >= 340) & (rows < 380), _trunk(6.0), 0).astype(np.int16)
    assert axis_slope(stub, SPACING) == 0.0  # 40 rows of spine: 88 mm < 100 mm
    assert axis_slope(np.where((rows >= 330) & (rows < 380), _trunk(6.0), 0), SPACING) != 0.0  # 50 rows: 111 mm
    assert axis_slope(np.zeros((700, 200), np.int16), SPACING) == 0.0
    assert axis_slope(_trunk(30.0), SPACING) == 0.0  # a map leaning 30 degrees named something else


def test_reflect_mirrors_across_the_leaning_axis():
    assert reflect(150, 60, 100.0, 0.0, SPACING) == pytest.approx((150, 140))  # straight: the column's mirror
    slope = math.tan(math.radians(8.0))
    row, col = reflect(150, 60, 100.0, slope, SPACING)
    # 40 px left of the axis, mirrored 2 x 40 x sin(8) cos(8) ~ 11 px down when the axis leans right going down.
    assert row == pytest.approx(150 - 2 * 40 * math.sin(math.radians(8)) * math.cos(math.radians(8)), abs=1e-6)
    assert reflect(row, col, 100.0 + slope * (row - 150), slope, SPACING) == pytest.approx((150, 60))  # back
    assert distance_from_axis(col, 100.0 + slope * (row - 150), slope, SPACING) == pytest.approx(
        distance_from_axis(60, 100.0, slope, SPACING))
    assert distance_from_axis(60, 100.0, 0.0, SPACING) == pytest.approx(40 * 2.26)


def test_reflect_works_in_mm_for_pixels_that_are_not_square():
    spacing = (4.0, 2.0)  # rows twice as tall as columns
    slope = 0.5 * math.tan(math.radians(10.0))  # 10 degrees in mm: 0.5 x tan(10) columns per row
    row, col = reflect(100, 50, 70.0, slope, spacing)
    # In mm the point and its mirror are equally far from the axis and their midpoint lies on it.
    mid_row, mid_col = (100 + row) / 2, (50 + col) / 2
    assert mid_col == pytest.approx(70.0 + slope * (mid_row - 100), abs=1e-9)
    assert distance_from_axis(col, 70.0 + slope * (row - 100), slope, spacing) == pytest.approx(
        distance_from_axis(50, 70.0, slope, spacing))
