import numpy as np
import pytest

from scintiseg.predict.postprocess import lesion_components, remove_small_components, threshold_probability


def test_threshold_respects_value_nan_and_coverage():
    prob = np.array([[0.2, 0.5, 0.9], [np.nan, 0.7, 0.49]], dtype=np.float32)
    assert threshold_probability(prob, 0.5).tolist() == [[False, True, True], [False, True, False]]
    coverage = np.array([[True, True, False], [True, True, True]])
    assert threshold_probability(prob, 0.5, coverage).tolist() == [[False, True, False], [False, True, False]]
    with pytest.raises(ValueError):
        threshold_probability(prob, 0.0)


def test_small_components_removed_with_8_connectivity():
    mask = np.zeros((10, 10), dtype=bool)
    mask[1, 1] = mask[2, 2] = True  # diagonal pair: one 8-connected component of 2 px
    mask[5:7, 5:7] = True  # 4 px
    kept = remove_small_components(mask, 3)
    assert not kept[1, 1] and not kept[2, 2]
    assert kept[5:7, 5:7].all() and kept.sum() == 4
    assert remove_small_components(mask, 2).sum() == 6


def test_lesion_components_chain():
    prob = np.zeros((20, 20), dtype=np.float32)
    prob[2:6, 2:6] = 0.8
    prob[10, 10] = 0.99
    mask = lesion_components(prob, 0.5, 4)
    assert mask.sum() == 16 and not mask[10, 10]


def test_a_minimum_of_two_pixels_removes_single_pixels():
    mask = np.zeros((10, 10), dtype=bool)
    mask[1, 1] = True  # a lone pixel
    mask[5, 5:7] = True  # 2 px
    kept = remove_small_components(mask, 2)
    assert not kept[1, 1] and kept[5, 5:7].all() and kept.sum() == 2
    assert remove_small_components(mask, 1).sum() == 3
