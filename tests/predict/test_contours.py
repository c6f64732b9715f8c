import numpy as np
from scipy import ndimage as ndi

from scintiseg.predict.contours import mask_contours, rasterise_contours


def test_contours_rasterise_back_to_random_blobs():
    rng = np.random.default_rng(1)
    exact = 0
    total = 0
    for _ in range(30):
        field = ndi.gaussian_filter(rng.random((48, 48)), 3)
        mask = ndi.binary_fill_holes(field > np.quantile(field, 0.85))
        contours = mask_contours(mask)
        labels = rasterise_contours(contours, mask.shape)
        assert labels.max() == len(contours) == ndi.label(mask, structure=np.ones((3, 3)))[1]
        error = ((labels > 0) ^ mask).sum()
        # Differences only along one-pixel necks: a few pixels at most.
        assert error <= 0.05 * mask.sum() + 3
        exact += error == 0
        total += 1
    assert exact / total >= 0.8


def test_single_pixel_and_line_give_valid_polygons():
    mask = np.zeros((8, 8), dtype=bool)
    mask[1, 1] = True
    mask[5, 2:7] = True
    contours = mask_contours(mask)
    assert [len(c.points) >= 3 for c in contours] == [True, True]
    assert ((rasterise_contours(contours, mask.shape) > 0) == mask).all()


def test_points_are_xy_and_ordered_top_to_bottom():
    mask = np.zeros((30, 20), dtype=bool)
    mask[20:24, 2:5] = True
    mask[3:6, 12:18] = True
    first, second = mask_contours(mask)
    assert first.points[:, 1].min() == 3 and first.points[:, 0].min() == 12  # x = col, y = row
    assert second.points[:, 1].min() == 20
