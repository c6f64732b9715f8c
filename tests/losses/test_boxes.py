"""scintiseg.losses.boxes: the box tightness prior's bags, the unknown boxes, BoxInst's pairwise term."""

import pytest
import torch

from scintiseg.losses.boxes import BOX_LESION, box_loss, box_pairwise_loss
from scintiseg.losses.supervised import bce_loss
from support import conftest_of

boxed_target = conftest_of("losses").boxed_target


def test_box_loss_asks_a_lesion_on_every_row_and_column_of_a_lesion_box_not_the_box_itself():
    target = boxed_target()
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
    target = boxed_target()
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


def test_a_box_cut_by_the_left_or_right_window_edge_is_no_bag():
    for cols in (slice(0, 5), slice(11, 16)):
        cut = torch.zeros(1, 1, 16, 16)
        cut[0, 0, 4:9, cols] = BOX_LESION  # its lesion may lie beside the window
        low = torch.full_like(cut, -8.0)
        known = cut == 0
        expected = 1 - 1 / (torch.sigmoid(low[known]).sum() + 1) + bce_loss(low[known], cut[known])
        assert box_loss(low, cut) == pytest.approx(float(expected))


def test_box_loss_asks_a_lesion_on_every_column_too():
    target = boxed_target()
    stripe = torch.full_like(target, -8.0)
    stripe[0, 0, 6:16, 8:10] = 8.0  # every row of the box crossed, but only 2 of its 6 columns
    disc = torch.full_like(target, -8.0)
    disc[0, 0, 6:16, 10:12] = 8.0
    disc[0, 0, 10:12, 8:14] = 8.0
    assert box_loss(disc, target) < 0.01
    assert box_loss(stripe, target) > 0.1  # 4 column bags without a lesion
