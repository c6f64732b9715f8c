"""Tests of :mod:`scintiseg.gan.grid`: where each sample's views land in the grid, their grey scale, and the red
outline of the mask channel (threshold 0.5, inner boundary)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from scintiseg.gan.grid import grid_image, save_sample_grid

GAP = 2
RED = (255, 40, 40)


def samples_of(n: int, views: int, size: int) -> np.ndarray:
    """(n, 2V, S, S): image channel v of sample i a constant ``-1 + (i * views + v) / 20``; masks empty (-1)."""
    out = np.full((n, 2 * views, size, size), -1.0, np.float32)
    for i in range(n):
        for v in range(views):
            out[i, v] = -1.0 + (i * views + v) / 20.0
    return out


def tile_origin(i: int, v: int, views: int, size: int, columns: int) -> tuple[int, int]:
    """Top-left pixel of view ``v`` of sample ``i`` (the layout of the module: tiles of V views, 3 gaps between)."""
    r, c = divmod(i, columns)
    tile_w = views * size + (views - 1) * GAP
    return GAP + r * (size + GAP), GAP + c * (tile_w + 3 * GAP) + v * (size + GAP)


@pytest.mark.parametrize("n, views, columns, expect_columns", [(5, 2, None, 3), (4, 1, None, 2), (1, 2, None, 1),
                                                               (5, 1, 5, 5), (7, 2, 2, 2)])
def test_the_grid_has_ceil_sqrt_n_columns_unless_told_and_each_tile_in_its_place(n, views, columns, expect_columns):
    size = 8
    samples = samples_of(n, views, size)
    grid = grid_image(samples, views, columns)
    rows = math.ceil(n / expect_columns)
    tile_w = views * size + (views - 1) * GAP
    assert grid.dtype == np.uint8 and grid.shape == (rows * (size + GAP) + GAP, expect_columns * (tile_w + 3 * GAP) + GAP, 3)
    for i in range(n):
        for v in range(views):
            y, x = tile_origin(i, v, views, size, expect_columns)
            tile = grid[y : y + size, x : x + size]
            expected = np.uint8(np.clip((samples[i, v, 0, 0] + 1.0) * 127.5, 0, 255))
            assert (tile == expected).all(), (i, v)


def test_generator_units_map_to_grey_from_black_to_white_and_are_clipped():
    values = np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0], np.float32)
    samples = np.full((1, 2, 6, 6), -1.0, np.float32)
    samples[0, 0] = values[None, :]  # one value per column
    grid = grid_image(samples, views=1)
    row = grid[GAP, GAP : GAP + 6]
    assert (row[:, 0] == row[:, 1]).all() and (row[:, 1] == row[:, 2]).all()  # grey
    assert row[:, 0].tolist() == [0, 0, 127, 191, 255, 255]


def test_the_background_and_gaps_are_dark_grey():
    grid = grid_image(samples_of(2, 2, 4), views=2)
    assert (grid[:GAP] == 40).all() and (grid[:, :GAP] == 40).all()
    y, x = tile_origin(0, 0, 2, 4, 2)
    assert (grid[y : y + 4, x + 4 : x + 4 + GAP] == 40).all()  # between ANT and POST of one sample


def test_each_view_is_outlined_in_red_along_the_inner_boundary_of_its_own_mask():
    size, views = 16, 2
    samples = samples_of(1, views, size)
    samples[0, views + 1, 4:10, 5:12] = 0.5  # POST's mask: a 6 x 7 rectangle at exactly the threshold
    samples[0, views + 0, 2:4, 2:4] = 0.49  # ANT's mask: below the threshold, no outline
    grid = grid_image(samples, views)
    ant = grid[GAP : GAP + size, GAP : GAP + size]
    y, x = tile_origin(0, 1, views, size, 1)
    post = grid[y : y + size, x : x + size]
    red = (post == RED).all(axis=2)
    expected = np.zeros((size, size), bool)
    expected[4:10, 5:12] = True
    expected[5:9, 6:11] = False  # the inner boundary only: the rectangle's outermost pixels
    assert (red == expected).all()
    assert not (ant == RED).all(axis=2).any()
    assert (post[~red] == post[0, 0]).all()  # the image itself untouched outside the outline


def test_the_saved_png_is_the_grid_itself(tmp_path):
    samples = samples_of(3, 2, 8)
    samples[1, 3, 2:6, 2:6] = 1.0
    path = save_sample_grid(samples, 2, tmp_path / "epoch_0010.png", columns=2)
    assert path == tmp_path / "epoch_0010.png"
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert (np.asarray(image.convert("RGB")) == grid_image(samples, 2, 2)).all()
    assert [p.name for p in tmp_path.iterdir()] == ["epoch_0010.png"]  # written atomically: no leftovers
