"""scintiseg.predict.nearby: the pixels within a distance of a mask, computed in the mask's box."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from scintiseg.predict.nearby import within_mm


@pytest.mark.parametrize("pixel_mm, distance_mm", [((2.26, 2.26), 10.0), ((4.5, 2.0), 20.0), ((1.1, 1.1), 3.0)])
def test_the_same_pixels_as_the_whole_view_transform(pixel_mm, distance_mm):
    rng = np.random.default_rng(3)
    for _ in range(5):
        mask = np.zeros((300, 80), bool)
        for r, c in rng.integers((0, 0), (300, 80), size=(3, 2)):  # pieces anywhere, at the edges too
            mask[max(r - 3, 0):r + 3, max(c - 2, 0):c + 4] = True
        whole = ndi.distance_transform_edt(~mask, sampling=pixel_mm) <= distance_mm
        assert (within_mm(mask, pixel_mm, distance_mm) == whole).all()


def test_an_empty_mask_has_nothing_near_it():
    assert not within_mm(np.zeros((40, 40), bool), (2.0, 2.0), 10.0).any()


def test_a_pixel_reaches_exactly_its_distance():
    mask = np.zeros((41, 41), bool)
    mask[20, 20] = True
    near = within_mm(mask, (2.0, 2.0), 10.0)
    assert near[20, 15] and not near[20, 14] and near[25, 20] and not near[26, 20] and near.sum() == 81
