"""Tests for scintiseg.losses: known values, MONAI cross-checks, Chan-Vese properties, masking of unlabelled items."""

import math

import pytest
import torch
from monai.losses import DiceLoss

from scintiseg.errors import ScintisegError
from scintiseg.losses import (
    BOX_IGNORE,
    BOX_LESION,
    SegmentationLoss,
    bce_loss,
    box_loss,
    box_pairwise_loss,
    build_loss,
    chan_vese_loss,
    dice_bce_loss,
    dice_loss,
    has_boxes,
    sigmoid_rampup,
)


def _square_batch(size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """A (2,1,H,W) image with one bright square per item, and its mask."""
    mask = torch.zeros(2, 1, size, size)
    mask[0, :, 4:9, 4:9] = 1
    mask[1, :, 8:14, 2:6] = 1
    image = 10.0 + 90.0 * mask
    return image, mask


def test_dice_loss_matches_monai_batch_and_per_image():
    torch.manual_seed(0)
    logits = torch.randn(3, 1, 8, 8)
    target = (torch.rand(3, 1, 8, 8) > 0.7).float()
    for batch in (True, False):
        ours = dice_loss(logits, target, smooth=1.0, batch=batch)
        theirs = DiceLoss(sigmoid=True, batch=batch, smooth_nr=1.0, smooth_dr=1.0)(logits, target)
        assert torch.allclose(ours, theirs, atol=1e-6)


def test_dice_loss_near_zero_for_perfect_and_near_one_for_disjoint():
    _, mask = _square_batch()
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


def test_chan_vese_lower_for_the_true_partition_than_for_a_wrong_one():
    image, mask = _square_batch()
    right = chan_vese_loss((mask * 2 - 1) * 20, image, area_weight=0.0)
    shifted = torch.roll(mask, shifts=5, dims=3)
    wrong = chan_vese_loss((shifted * 2 - 1) * 20, image, area_weight=0.0)
    assert right.item() < 1e-6  # piecewise-constant image, exact partition: zero data term
    assert wrong.item() > 0.05


def test_chan_vese_hand_computed_value_and_length_term():
    # 1 x 4 image [0, 0, 1, 1]; soft mask y = [0.5]*4 -> c1 = c2 = 0.5, data = mean 0.25 = 0.25; TV = 0.
    image = torch.tensor([[[[0.0, 0.0, 1.0, 1.0]]]])
    logits = torch.zeros(1, 1, 1, 4)
    assert chan_vese_loss(logits, image, area_weight=0.0).item() == pytest.approx(0.25, abs=1e-5)
    # A hard step mask [0, 0, 1, 1] on two rows: data 0, row TV 0, column TV = mean(|diff|) = 1/3.
    step = torch.tensor([[[[-30.0, -30.0, 30.0, 30.0]]]])
    image2 = image.repeat(1, 1, 2, 1)
    step2 = step.repeat(1, 1, 2, 1)
    value = chan_vese_loss(step2, image2, area_weight=0.0, length_weight=1.0).item()
    assert value == pytest.approx(1.0 / 3.0, abs=1e-4)
    area = chan_vese_loss(step2, image2, area_weight=1.0, length_weight=0.0).item()
    assert area == pytest.approx(0.5, abs=1e-4)
    # Paper B's "v = 0.004, u = 0" in Chan & Vese's notation: 0.004 on the area, nothing on the length (session 63;
    # read the other way round before).
    assert chan_vese_loss(step2, image2).item() == pytest.approx(0.004 * 0.5, abs=1e-6)


def test_chan_vese_invariant_to_count_level():
    image, mask = _square_batch()
    logits = torch.randn_like(mask)
    assert torch.allclose(chan_vese_loss(logits, image), chan_vese_loss(logits, image * 37.0 + 5.0), atol=1e-6)


def test_chan_vese_gradient_moves_mask_towards_bright_region():
    image, mask = _square_batch()
    torch.manual_seed(0)  # y = 0.5 everywhere is a stationary point (c1 = c2): break the symmetry
    logits = (0.1 * torch.randn_like(mask)).requires_grad_(True)
    optimiser = torch.optim.Adam([logits], lr=0.2)
    for _ in range(150):
        optimiser.zero_grad()
        chan_vese_loss(logits, image, area_weight=0.0).backward()
        optimiser.step()
    predicted = logits.detach() > 0
    for item in range(2):  # Chan-Vese finds the partition (its two phases are symmetric, per item)
        agreement = (predicted[item] == mask[item].bool()).float().mean().item()
        assert max(agreement, 1.0 - agreement) > 0.95


def test_sigmoid_rampup_schedule():
    assert sigmoid_rampup(0.0, 0.0) == 1.0
    assert sigmoid_rampup(0.0, 0.5) == pytest.approx(math.exp(-5))
    assert sigmoid_rampup(0.25, 0.5) == pytest.approx(math.exp(-5 * 0.25))
    assert sigmoid_rampup(0.9, 0.5) == 1.0


def test_semi_supervised_loss_ignores_targets_of_unlabelled_items():
    image, mask = _square_batch()
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
    image, mask = _square_batch()
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


def test_region_loss_is_lowest_for_the_right_classes_and_ignores_absent_ones():
    import torch

    from scintiseg.losses import RegionLoss

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


def _boxed(size: int = 24) -> torch.Tensor:
    """A (1,1,H,W) box target: a lesion box rows 6-15, cols 8-13, an unknown box rows 18-21, cols 2-5."""
    target = torch.zeros(1, 1, size, size)
    target[0, 0, 6:16, 8:14] = BOX_LESION
    target[0, 0, 18:22, 2:6] = BOX_IGNORE
    return target


def test_box_loss_asks_a_lesion_on_every_row_and_column_of_a_lesion_box_not_the_box_itself():
    target = _boxed()
    low = torch.full_like(target, -8.0)
    disc = low.clone()  # a lesion touching every row and column of the box, as a tight box's lesion does
    disc[0, 0, 6:16, 10:12] = 8.0
    disc[0, 0, 10:12, 8:14] = 8.0
    filled = low.clone()
    filled[0, 0, 6:16, 8:14] = 8.0  # the whole box called lesion
    half = low.clone()
    half[0, 0, 6:11, 8:14] = 8.0  # a lesion on the upper rows only
    assert box_loss(disc, target) == pytest.approx(float(box_loss(filled, target)), abs=1e-6)
    assert box_loss(disc, target) < 0.01
    assert box_loss(half, target) > 0.1 > box_loss(disc, target)  # 5 of 10 rows without a lesion
    assert box_loss(low, target) > box_loss(half, target)
    # A call outside the boxes is background; a call in the unknown box costs nothing.
    outside, unknown = disc.clone(), disc.clone()
    outside[0, 0, 1:3, 18:20] = 8.0
    unknown[0, 0, 18:22, 2:6] = 8.0
    assert box_loss(outside, target) > box_loss(disc, target) + 1e-3
    assert box_loss(unknown, target) == pytest.approx(float(box_loss(disc, target)), abs=1e-7)


def test_box_loss_pushes_each_rows_best_pixel_up_and_nothing_in_the_unknown_box():
    target = _boxed()
    logits = torch.zeros_like(target)
    logits[0, 0, 6:16, 9] = 1.0  # each row's best pixel is column 9
    logits[0, 0, 6, 8:14] = torch.tensor([0.5, 1.0, 0.5, 0.5, 0.5, 0.5])  # each other column's best is in row 6
    logits.requires_grad_(True)
    box_loss(logits, target).backward()
    grad = logits.grad[0, 0]
    assert (grad[6:16, 9] < 0).all()  # gradient descent raises them
    assert grad[7:16, 10:14].abs().sum() == 0  # neither a row's nor a column's best: the box is no outline
    assert grad[18:22, 2:6].abs().sum() == 0 and (grad[0:5] > 0).all()  # unknown: nothing; background: lowered


def test_a_box_cut_by_the_window_edge_and_the_corner_rows_of_a_turned_box_are_no_bags():
    cut = torch.zeros(1, 1, 16, 16)
    cut[0, 0, 0:5, 4:9] = BOX_LESION  # its lesion may lie above the window
    low = torch.full_like(cut, -8.0)
    known = cut == 0  # the Dice + BCE of a lesion-free window: no bag
    expected = 1 - 1 / (torch.sigmoid(low[known]).sum() + 1) + bce_loss(low[known], cut[known])
    assert box_loss(low, cut) == pytest.approx(float(expected))
    # A box turned by 45 degrees: a diamond, whose corner rows and columns are a pixel or three long.
    rows, cols = torch.meshgrid(torch.arange(24), torch.arange(24), indexing="ij")
    diamond = ((rows - 12).abs() + (cols - 12).abs() <= 8)
    target = torch.where(diamond, BOX_LESION, 0.0)[None, None]
    logits = torch.full_like(target, -8.0)
    logits[0, 0, 8:17, 12] = 8.0  # the lesion along the middle rows and columns only
    logits[0, 0, 12, 8:17] = 8.0
    assert box_loss(logits, target) < 0.01  # the corners' short bags (under half the longest) are not asked


def test_segmentation_loss_takes_the_box_loss_for_boxed_items_weighted_by_items():
    _, mask = _square_batch(24)
    target = torch.cat([mask[:1], _boxed(), mask[1:]])
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


def test_the_pairwise_term_wants_a_lesion_box_labelled_along_its_hot_spots_edge():
    target = torch.zeros(1, 1, 24, 24)
    target[0, 0, 4:20, 4:20] = BOX_LESION
    image = torch.ones_like(target)  # flat bone ...
    image[0, 0, 9:15, 9:15] = 3.0  # ... and a hot spot three times as bright
    spot = torch.full_like(target, -6.0)
    spot[0, 0, 9:15, 9:15] = 6.0
    half = torch.full_like(target, -6.0)
    half[0, 0, 9:15, 9:12] = 6.0  # half of the hot spot: alike neighbours labelled apart
    noisy = spot.clone()
    noisy[0, 0, 16, 16] = 6.0  # a lone call on flat bone
    assert box_pairwise_loss(spot, target, image) < 0.01
    assert box_pairwise_loss(half, target, image) > 0.1
    assert box_pairwise_loss(noisy, target, image) > box_pairwise_loss(spot, target, image) + 0.01
    # Outside the lesion boxes the term says nothing.
    assert box_pairwise_loss(half, torch.zeros_like(target), image) == 0


def test_chan_vese_data_term_is_symmetric_in_its_two_phases():
    """Swapping inside and outside (y -> 1 - y) swaps c1 and c2 and leaves the data term unchanged; and the exact
    partition scores 0 whichever phase holds the lesion (c2 is the mean of g outside, over the outside's weight)."""
    torch.manual_seed(3)
    image = torch.rand(2, 1, 12, 12) * 50 + 10
    logits = torch.randn(2, 1, 12, 12) * 2
    forward = chan_vese_loss(logits, image, area_weight=0.0, reduce=False)
    swapped = chan_vese_loss(-logits, image, area_weight=0.0, reduce=False)
    torch.testing.assert_close(forward, swapped)
    square, mask = _square_batch()
    assert chan_vese_loss((1 - 2 * mask) * 20, square, area_weight=0.0).item() < 1e-6  # lesion outside the soft mask


def test_the_total_uses_the_ramped_alpha():
    """l = l_S + alpha(progress) l_U: the ramped weight that parts reports is the one the total is built with."""
    image, mask = _square_batch()
    torch.manual_seed(4)
    logits = torch.randn_like(mask)
    loss = build_loss("chan_vese", supervised="bce", alpha=0.4, alpha_rampup=0.5)
    for progress in (0.0, 0.25, 1.0):
        total, parts = loss(logits, mask, image=image, progress=progress)
        weight = 0.4 * sigmoid_rampup(progress, 0.5)
        assert parts["alpha"] == pytest.approx(weight)
        expected = bce_loss(logits, mask) + weight * chan_vese_loss(logits, image)
        assert float(total) == pytest.approx(float(expected), rel=1e-6)
