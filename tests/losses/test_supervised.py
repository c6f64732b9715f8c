"""scintiseg.losses.supervised: known values, and the soft Dice against MONAI's DiceLoss."""

import math

import pytest
import torch
from monai.losses import DiceLoss

from scintiseg.losses.supervised import bce_loss, dice_bce_loss, dice_loss
from support import conftest_of

square_batch = conftest_of("losses").square_batch


def test_dice_loss_matches_monai_batch_and_per_image():
    torch.manual_seed(0)
    logits = torch.randn(3, 1, 8, 8)
    target = (torch.rand(3, 1, 8, 8) > 0.7).float()
    for batch in (True, False):
        ours = dice_loss(logits, target, smooth=1.0, batch=batch)
        theirs = DiceLoss(sigmoid=True, batch=batch, smooth_nr=1.0, smooth_dr=1.0)(logits, target)
        assert torch.allclose(ours, theirs, atol=1e-6)


@pytest.mark.parametrize("shape", [(3, 1, 8, 8), (8, 1, 128, 128), (32, 1, 256, 256)])  # the last: a training batch
@pytest.mark.parametrize("batch", [True, False])
@pytest.mark.parametrize("lesions", [0.01, 0.0])  # a few lesion pixels, and lesion-free windows
def test_dice_loss_value_and_gradient_are_monais(shape, batch, lesions):
    """dice_loss(smooth=1, batch=b) is MONAI's DiceLoss(sigmoid=True, batch=b, smooth_nr=1, smooth_dr=1), value and
    gradient, in float32, to float32 rounding (not bit for bit: the sums run in another order)."""
    generator = torch.Generator().manual_seed(sum(shape) + batch)
    logits = 3 * torch.randn(shape, generator=generator)
    target = (torch.rand(shape, generator=generator) < lesions).float()
    ours_in, theirs_in = logits.clone().requires_grad_(True), logits.clone().requires_grad_(True)
    ours = dice_loss(ours_in, target, smooth=1.0, batch=batch)
    theirs = DiceLoss(sigmoid=True, batch=batch, smooth_nr=1.0, smooth_dr=1.0)(theirs_in, target)
    ours.backward()
    theirs.backward()
    assert ours.dtype == theirs.dtype == torch.float32
    torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-7)
    scale = float(theirs_in.grad.abs().max())
    assert scale > 0
    torch.testing.assert_close(ours_in.grad, theirs_in.grad, rtol=1e-5, atol=1e-5 * scale)


def test_dice_loss_near_zero_for_perfect_and_near_one_for_disjoint():
    _, mask = square_batch()
    perfect = (mask * 2 - 1) * 50
    assert dice_loss(perfect, mask).item() < 1e-3
    assert dice_loss(-perfect, mask).item() > 0.99


def test_bce_known_value_and_dice_bce_is_sum():
    logits = torch.zeros(1, 1, 2, 2)
    target = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])
    assert bce_loss(logits, target).item() == pytest.approx(math.log(2))
    assert dice_bce_loss(logits, target).item() == pytest.approx(
        dice_loss(logits, target).item() + math.log(2), rel=1e-6
    )
