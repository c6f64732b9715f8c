"""The patient's sides from DICOM orientation attributes (scintiseg.io.patient_sides): the letters read from Image
Orientation (Patient) and Patient Orientation, and a view stored any of the eight ways (turned by quarters, mirrored)
read with the patient's sides where scintiseg's convention puts them, the reader's stand and the prediction's
head-down turns included."""

from __future__ import annotations

import numpy as np
import pytest

from scintiseg.io import stood_scan
from scintiseg.io.patient_sides import (
    IMAGE_LEFT, MIRRORED_KEY, ORIENTATION_KEY, cosines_from_letters, letters_from_codes, letters_from_cosines,
    mirrored_letters, turned_letters,
    mirrored_back, side_after_reading,
)
from scintiseg.scan import Scan
from support import EIGHT, stored_way as _stored, upright_letters as _letters


@pytest.mark.parametrize("cosines, letters", [
    ((1, 0, 0, 0, 0, -1), ("L", "F")),  # ANT seen from the front
    ((-1, 0, 0, 0, 0, -1), ("R", "F")),  # POST as acquired
    ((-1, 0, 0, 0, 0, 1), ("R", "H")),  # ANT turned half a turn
    ((0, 0, 1, 1, 0, 0), ("H", "L")),  # a body lying, head to the right
    ((0.98, 0.17, 0, 0, 0.05, -0.99), ("L", "F")),  # a slight tilt: the dominant direction
    (("1", "0", "0", "0", "0", "-1"), ("L", "F")),  # decimal strings, as pydicom may give DS values
])
def test_letters_from_cosines(cosines, letters):
    assert letters_from_cosines(cosines) == letters


@pytest.mark.parametrize("cosines", [(), (1, 0, 0, 0, 0), (1, 0, 0, 1, 0, 0), (1, 0, 0, -1, 0, 0),
                                     (0, 0, 0, 0, 0, -1), (float("nan"), 0, 0, 0, 0, -1), ("a", 0, 0, 0, 0, 1), None])
def test_cosines_that_say_nothing(cosines):
    assert letters_from_cosines(cosines) is None


@pytest.mark.parametrize("value, letters", [("L\\F", ("L", "F")), (["R", "F"], ("R", "F")), (["LA", "FP"], ("L", "F")),
                                            (["f", "r"], ("F", "R"))])
def test_letters_from_codes(value, letters):
    assert letters_from_codes(value) == letters


@pytest.mark.parametrize("value", [None, "", "L", ["L", "L"], ["L", "R"], ["X", "F"], ["L", ""], ["L", "F", "A"]])
def test_codes_that_say_nothing(value):
    assert letters_from_codes(value) is None


def test_a_view_out_of_the_coronal_plane_or_still_lying_says_nothing_of_its_sides():
    assert side_after_reading(("A", "F"), stood=False) is None  # a lateral view
    assert side_after_reading(("H", "L"), stood=False) is None  # a body still lying (a named DICOM before session 27)
    assert side_after_reading(("L", "F"), stood=True) == side_after_reading(("L", "F"), stood=False) == "R"
    assert side_after_reading(("L", "H"), stood=False) == "R"  # head-down standing: its rows are reversed
    assert side_after_reading(("L", "H"), stood=True) == "L"  # stood head-down: turned half a turn more


@pytest.mark.parametrize("view", ["ANT", "POST", "VIEW"])
@pytest.mark.parametrize("k, flip", EIGHT)
def test_every_way_of_storing_a_view_is_read_with_its_sides(view, k, flip):
    """A view 600 x 150 (a whole body, 4:1) stored each of the eight ways, its letters derived from where its upright
    pixels went; read as prediction reads it (the reader stands a lying body a quarter clockwise, mirrors back, and
    the prediction turns a view whose head is at the bottom: half a turn for a stood one, rows reversed for a
    standing one). The patient's sides come out where the convention puts them: every pixel back in its place."""
    rows, cols = np.mgrid[0:600, 0:150]
    plus_col = {"R": "L", "L": "R"}[IMAGE_LEFT[view]]  # the upright view's columns grow away from its image left
    code = rows * 1000 + cols
    stored = {name: _stored(a, k, flip) for name, a in (("code", code), ("rows", rows), ("cols", cols))}
    letters = _letters(stored["rows"], stored["cols"], plus_col)
    scan = Scan({view: stored["code"]}, pixel_spacing=(2.6, 2.6), metadata={ORIENTATION_KEY: {view: letters}})
    read = stood_scan(scan) or scan  # the reader's quarter clockwise for a body stored lying
    assert bool(read.metadata.get("turned_upright")) == (k % 2 == 1)
    read = mirrored_back(read)
    image = read.view(view)
    # The letters the reader keeps describe the view as it gave it, turned and mirrored (what a writer then states).
    assert read.metadata[ORIENTATION_KEY][view] == _letters(image // 1000, image % 1000, plus_col)
    head_at_bottom = image[0, 0] // 1000 > image[-1, 0] // 1000
    if head_at_bottom:  # the prediction's head-down check (a half turn for a stood body, else the rows reversed)
        image = np.rot90(image, 2) if read.metadata.get("turned_upright") else image[::-1]
    np.testing.assert_array_equal(image, code)
    # Mirrored back exactly when no turn undoes the way it was stored: a mirror after a quarter turn (the reader and the
    # prediction only turn a lying body), a mirror or a half turn alone of a standing one (its head-down turn reverses rows).
    assert read.metadata.get(MIRRORED_KEY, []) == ([view] if (flip if k % 2 else (k == 2) != flip) else [])


def test_views_without_letters_or_of_a_split_page_are_read_as_stored():
    image = np.arange(40 * 10).reshape(40, 10)
    bare = Scan({"ANT": image})
    assert mirrored_back(bare) is bare
    said = Scan({"ANT": image}, metadata={ORIENTATION_KEY: {"ANT": "R\\F"}})
    assert mirrored_back(said).metadata[MIRRORED_KEY] == ["ANT"]
    page = Scan({"ANT": image, "POST": image}, metadata={ORIENTATION_KEY: {"ANT": "R\\F"}, "views_split": "cut"})
    assert mirrored_back(page) is page
    other = Scan({"ANT": image, "POST": image}, metadata={ORIENTATION_KEY: {"POST": "L\\F", "ANT": "L\\F"}})
    fixed = mirrored_back(other)
    assert fixed.metadata[MIRRORED_KEY] == ["POST"]  # a POST exported as if seen from the front
    np.testing.assert_array_equal(fixed.view("POST"), image[:, ::-1])
    np.testing.assert_array_equal(fixed.view("ANT"), image)
    assert MIRRORED_KEY not in other.metadata  # the scan read is not changed



@pytest.mark.parametrize("k", [-1, 1, 2, 3, 4])
def test_turned_and_mirrored_letters_follow_the_pixels(k):
    rows, cols = np.mgrid[0:6, 0:4]
    letters = _letters(rows, cols, "L")  # an anterior view upright: "L\\F"
    assert turned_letters(letters, k) == _letters(np.rot90(rows, k), np.rot90(cols, k), "L")
    assert mirrored_letters(letters) == _letters(rows[:, ::-1], cols[:, ::-1], "L") == "R\\F"
    assert cosines_from_letters(letters) == (1, 0, 0, 0, 0, -1)
    assert letters_from_cosines(cosines_from_letters(turned_letters(letters, k))) == letters_from_codes(turned_letters(letters, k))
    assert turned_letters("nonsense", k) is None and mirrored_letters(None) is None and cosines_from_letters("") is None


def test_an_axial_placeholder_says_nothing_and_a_half_turned_view_is_read_right():
    # 1\0\0\0\1\0, an axial slice's orientation some writers put in by default: not a planar view's plane.
    assert letters_from_cosines((1, 0, 0, 0, 1, 0)) == ("L", "P") and side_after_reading(("L", "P"), stood=False) is None
    image = np.arange(600 * 150).reshape(600, 150)
    half = Scan({"ANT": np.rot90(image, 2)}, metadata={ORIENTATION_KEY: {"ANT": "R\\H"}})  # ANT turned half a turn
    read = mirrored_back(half)
    assert read.metadata[MIRRORED_KEY] == ["ANT"]
    np.testing.assert_array_equal(read.view("ANT")[::-1], image)  # then the head-down check reverses its rows
