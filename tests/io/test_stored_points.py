"""Points on a view as read placed back on the file as stored (scintiseg.io.stored_points): for every way a view can
be stored (quarter turns, mirrored or not) and read (the reader's stand and mirror, the prediction's half turn), each
read pixel's point lands on the stored pixel it came from."""

from __future__ import annotations

import numpy as np
import pytest

from scintiseg.io import stood_scan
from scintiseg.io.layout import LYING_ASPECT, QUARTER_COUNTERCLOCKWISE, SIDE_BY_SIDE_ASPECT, STOOD_KEY
from scintiseg.io.layout import is_side_by_side, stand_lying_body
from scintiseg.io.patient_sides import ORIENTATION_KEY, mirrored_back
from scintiseg.io.layout import split_at
from scintiseg.io.stored_points import points_as_stored, stored_as_read
from scintiseg.scan import Scan
from support import EIGHT, stored_way as _stored, upright_letters as _letters


def _stored_and_read(k: int, flip: bool) -> tuple[np.ndarray, Scan]:
    """A 600 x 150 view whose pixels code their row and column (row x 1000 + column), stored turned ``k`` quarters
    (mirrored with ``flip``) with orientation letters saying so, and the scan as the reader and the prediction read it:
    stood, mirrored back, and half a turn more where the head came out below (pipeline.stood_the_other_way), recorded."""
    rows, cols = np.mgrid[0:600, 0:150]
    stored = {name: _stored(a, k, flip) for name, a in (("code", rows * 1000 + cols), ("rows", rows), ("cols", cols))}
    scan = Scan({"ANT": stored["code"]}, pixel_spacing=(2.6, 2.6),
                metadata={ORIENTATION_KEY: {"ANT": _letters(stored["rows"], stored["cols"], "L")}})
    read = mirrored_back(stood_scan(scan) or scan)
    if read.metadata.get("turned_upright") and read.view("ANT")[0, 0] // 1000 > read.view("ANT")[-1, 0] // 1000:
        read = read.with_views({"ANT": np.rot90(read.view("ANT"), 2)})
        read.metadata[STOOD_KEY] = QUARTER_COUNTERCLOCKWISE
    return stored["code"], read


@pytest.mark.parametrize("k, flip", EIGHT)
def test_every_read_pixel_goes_back_to_the_stored_pixel_it_came_from(k, flip):
    stored, read = _stored_and_read(k, flip)
    image = read.view("ANT")
    picked = np.array([(0, 0), (5, 17), (149, 599), (77, 300), (3, 420)] if image.shape == (600, 150)
                      else [(0, 0), (17, 5), (599, 149), (300, 77), (420, 3)], dtype=float)  # (column, row)
    back = points_as_stored(picked, "ANT", read.metadata, image.shape).astype(int)
    for (x, y), (xs, ys) in zip(picked.astype(int), back):
        assert stored[ys, xs] == image[y, x]


def test_a_view_read_as_stored_keeps_its_points():
    points = np.array([[1.0, 2.0], [3.5, 4.5]])
    np.testing.assert_array_equal(points_as_stored(points, "ANT", {}, (10, 8)), points)
    np.testing.assert_array_equal(points_as_stored(points, "POST", {"mirrored": ["ANT"]}, (10, 8)), points)


@pytest.mark.parametrize("cut", [100, 128, 170])
def test_points_of_a_split_page_go_back_to_their_side_of_the_page(cut):
    from scintiseg.io.layout import split_at

    page = np.arange(40 * 256).reshape(40, 256) + 1
    views = split_at(page, cut)
    width = views.shape[2]
    for view, image in zip(("ANT", "POST"), views):
        lit = np.argwhere(image > 0)[:: 37][:, ::-1].astype(float)  # (column, row) of pixels holding the page
        back = points_as_stored(lit, view, {"split_column": cut}, (40, width)).astype(int)
        for (x, y), (xs, ys) in zip(lit.astype(int), back):
            assert page[ys, xs] == image[y, x]


@pytest.mark.parametrize("k, flip", EIGHT)
def test_an_array_of_the_stored_file_lands_on_the_view_as_the_reader_read_the_counts(k, flip):
    """stored_as_read is the reading itself: a label image drawn on the file, placed with the reading's record, is the
    view as read pixel for pixel (stand, the prediction's other quarter, mirror back)."""
    stored, read = _stored_and_read(k, flip)
    np.testing.assert_array_equal(stored_as_read(stored, "ANT", read.metadata), read.view("ANT"))


def test_an_array_of_a_split_page_is_cut_as_the_page_was():
    page = np.arange(40 * 30).reshape(40, 30)
    views = split_at(page, 13)
    for index, view in enumerate(("ANT", "POST")):
        np.testing.assert_array_equal(stored_as_read(page, view, {"split_column": 13}), views[index])
    np.testing.assert_array_equal(stored_as_read(page, "ANT", {}), page)  # read as stored: unchanged


@pytest.mark.parametrize("cols", [1536, 2048, 3072])
def test_no_file_is_both_stood_and_split(cols):
    """The module docstring's claim that no reading both stands and splits a file: a file just wide enough to be stood
    (LYING_ASPECT times as wide as tall) stands too tall to be a page of two views, at any length."""
    assert LYING_ASPECT > SIDE_BY_SIDE_ASPECT[1]
    lying = np.zeros((int(cols // LYING_ASPECT), cols))
    lying[20:-20, 40:-40] = 50.0  # a body lying across the file
    standing = stand_lying_body(lying)
    assert standing is not None and not is_side_by_side(standing.shape)
