"""scintiseg.losses.regions: the skeleton-region network's cross-entropy + Dice."""

import pytest
import torch

from scintiseg.losses.regions import RegionLoss


def test_region_loss_is_lowest_for_the_right_classes_and_ignores_absent_ones():
    target = torch.zeros(1, 1, 8, 8)
    target[0, 0, :, 4:] = 2.0  # classes 0 and 2 present, class 1 absent
    right = torch.full((1, 3, 8, 8), -10.0)
    right[0, 0, :, :4] = 10.0
    right[0, 2, :, 4:] = 10.0
    wrong = right[:, [2, 1, 0]]  # the two present classes swapped
    loss = RegionLoss()
    good, parts = loss(right, target)
    bad, _ = loss(wrong, target)
    assert float(good) < 0.01 < float(bad)
    assert parts["supervised"] == pytest.approx(float(good))
