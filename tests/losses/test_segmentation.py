"""scintiseg.losses.segmentation: the training loop's loss, its masking of unlabelled items, boxes and alpha's ramp."""

import math

import pytest
import torch

from scintiseg.errors import ScintisegError
from scintiseg.losses.boxes import box_loss, has_boxes
from scintiseg.losses.chan_vese import chan_vese_loss
from scintiseg.losses.segmentation import SegmentationLoss, build_loss, sigmoid_rampup
from scintiseg.losses.supervised import bce_loss, dice_bce_loss
from support import conftest_of

_shared = conftest_of("losses")
square_batch, boxed_target = _shared.square_batch, _shared.boxed_target


def test_sigmoid_rampup_schedule():
    assert sigmoid_rampup(0.0, 0.0) == 1.0
    assert sigmoid_rampup(0.0, 0.5) == pytest.approx(math.exp(-5))
    assert sigmoid_rampup(0.25, 0.5) == pytest.approx(math.exp(-5 * 0.25))
    assert sigmoid_rampup(0.9, 0.5) == 1.0


def test_semi_supervised_loss_ignores_targets_of_unlabelled_items():
    image, mask = square_batch()
    torch.manual_seed(1)
    logits = torch.randn_like(mask)
    loss = SegmentationLoss("chan_vese", supervised="bce", alpha=0.4, area_weight=0.004)
    labelled = torch.tensor([True, False])
    total_a, parts = loss(logits, mask, image=image, labelled=labelled)
    garbage = mask.clone()
    garbage[1] = 1 - garbage[1]
    total_b, _ = loss(logits, garbage, image=image, labelled=labelled)
    assert total_a.item() == pytest.approx(total_b.item())
    expected = bce_loss(logits[:1], mask[:1]) + 0.4 * chan_vese_loss(logits, image)
    assert total_a.item() == pytest.approx(expected.item(), rel=1e-6)
    assert parts["alpha"] == pytest.approx(0.4)


def test_semi_supervised_loss_without_labels_is_pure_chan_vese_and_keeps_gradient():
    image, mask = square_batch()
    logits = torch.randn_like(mask, requires_grad=True)
    loss = build_loss("chan_vese", alpha=0.4, alpha_rampup=0.5)
    total, parts = loss(logits, mask, image=image, labelled=torch.tensor([False, False]), progress=0.25)
    assert parts["supervised"] == 0.0
    assert parts["alpha"] == pytest.approx(0.4 * math.exp(-5 * 0.25))
    total.backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_unknown_loss_is_a_user_error():
    with pytest.raises(ScintisegError):
        build_loss("focal")


def test_segmentation_loss_takes_the_box_loss_for_boxed_items_weighted_by_items():
    _, mask = square_batch(24)
    target = torch.cat([mask[:1], boxed_target(), mask[1:]])
    assert has_boxes(target).tolist() == [False, True, False]
    torch.manual_seed(2)
    logits = torch.randn_like(target)
    image = torch.rand_like(target)
    for name in ("dice_bce", "chan_vese"):
        loss = SegmentationLoss(name, supervised="dice_bce", alpha=0.4)
        total, parts = loss(logits, target, image=image)
        outlined = torch.tensor([True, False, True])
        boxed = box_loss(logits[1:2], target[1:2], image=image[1:2])  # with the input: the pairwise term too
        assert boxed > box_loss(logits[1:2], target[1:2])
        supervised = (2 * dice_bce_loss(logits[outlined], target[outlined]) + boxed) / 3
        assert parts["supervised"] == pytest.approx(float(supervised), rel=1e-6)
        # Without a boxed item the loss is what it always was.
        plain, _ = loss(logits[outlined], target[outlined], image=image[outlined])
        extra = 0.4 * chan_vese_loss(logits[outlined], image[outlined]) if name == "chan_vese" else 0.0
        assert float(plain) == pytest.approx(float(dice_bce_loss(logits[outlined], target[outlined]) + extra), rel=1e-6)


def test_the_total_uses_the_ramped_alpha():
    """l = l_S + alpha(progress) l_U: the ramped weight that parts reports is the one the total is built with."""
    image, mask = square_batch()
    torch.manual_seed(4)
    logits = torch.randn_like(mask)
    loss = build_loss("chan_vese", supervised="bce", alpha=0.4, alpha_rampup=0.5)
    for progress in (0.0, 0.25, 1.0):
        total, parts = loss(logits, mask, image=image, progress=progress)
        weight = 0.4 * sigmoid_rampup(progress, 0.5)
        assert parts["alpha"] == pytest.approx(weight)
        expected = bce_loss(logits, mask) + weight * chan_vese_loss(logits, image)
        assert float(total) == pytest.approx(float(expected), rel=1e-6)


def test_an_unlabelled_item_holding_boxes_adds_no_supervised_loss():
    image, mask = square_batch(24)
    torch.manual_seed(2)
    logits = torch.randn_like(mask)
    target = mask.clone()
    target[1] = boxed_target()[0]  # an unlabelled item whose target happens to hold boxes
    labelled = torch.tensor([True, False])
    total, _ = SegmentationLoss("dice_bce")(logits, target, image=image, labelled=labelled)
    assert total.item() == pytest.approx(dice_bce_loss(logits[:1], mask[:1]).item(), rel=1e-6)
