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


def test_region_loss_is_cross_entropy_plus_one_minus_the_mean_dice_of_the_present_classes():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 6, 6)
    target = torch.zeros(2, 1, 6, 6)
    target[0, 0, :3] = 1.0
    target[1, 0, 2:5, 1:4] = 3.0  # classes 0, 1 and 3 present, class 2 absent
    ids = target[:, 0].long()
    probability = torch.softmax(logits, dim=1)
    dices = []
    for k in (0, 1, 3):  # per class, pooled over the batch
        truth = (ids == k).float()
        p = probability[:, k]
        dices.append((2 * (p * truth).sum() + 1) / (p.sum() + truth.sum() + 1))
    expected = torch.nn.functional.cross_entropy(logits, ids) + 1 - torch.stack(dices).mean()
    loss, _ = RegionLoss()(logits, target)
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)
