"""Predicted lesion contours: traced by scintiseg.geometry, numbered top to bottom, rasterised to a label map."""

import numpy as np
from scipy import ndimage as ndi

from scintiseg.predict.contours import mask_contours, rasterise_contours
from scintiseg.scan import Annotation


def test_contours_rasterise_back_to_random_blobs():
    rng = np.random.default_rng(1)
    for _ in range(30):
        field = ndi.gaussian_filter(rng.random((48, 48)), 3)
        mask = ndi.binary_fill_holes(field > np.quantile(field, 0.85))
        contours = mask_contours(mask)
        labels = rasterise_contours(contours, mask.shape)
        assert labels.max() == len(contours) == ndi.label(mask, structure=np.ones((3, 3)))[1]
        np.testing.assert_array_equal(labels > 0, mask)


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


def test_lesions_are_numbered_by_bounding_box_not_by_first_pixel():
    mask = np.zeros((12, 12), dtype=bool)
    mask[3, 5] = True  # first in raster order
    mask[3:8, 9] = True  # a second component reaching further left below:
    mask[7, 1:9] = True  # its bounding box starts at column 1
    first, second = mask_contours(mask)
    assert first.points[:, 0].min() == 1 and second.points[:, 0].min() == 5
    # The LabelMe writer keeps raster order; the polygons themselves are the same.
    written = [s.points for s in Annotation.from_mask(mask).shapes]
    np.testing.assert_array_equal(written[0], second.points)
    np.testing.assert_array_equal(written[1], first.points)
    labels = rasterise_contours([first, second], mask.shape)
    assert labels[7, 1] == 1 and labels[3, 5] == 2


def test_where_two_rasters_overlap_the_lower_id_takes_the_pixel():
    from scintiseg.predict.contours import Contour

    first = Contour(points=np.array([[1.0, 1.0], [5.0, 1.0], [5.0, 5.0], [1.0, 5.0]]))  # x = col, y = row
    second = Contour(points=np.array([[4.0, 4.0], [8.0, 4.0], [8.0, 8.0], [4.0, 8.0]]))
    labels = rasterise_contours([first, second], (10, 10))
    assert labels[4, 4] == labels[5, 5] == 1 and labels[6, 6] == 2 and labels[2, 2] == 1
    assert (labels == 1).sum() == 25 and (labels == 2).sum() == 25 - 4
