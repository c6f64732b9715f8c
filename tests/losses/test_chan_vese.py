"""scintiseg.losses.chan_vese: paper B's l_U, its known values and the properties of the Chan-Vese functional."""

import pytest
import torch

from scintiseg.losses.chan_vese import chan_vese_loss
from support import conftest_of

square_batch = conftest_of("losses").square_batch


def test_chan_vese_lower_for_the_true_partition_than_for_a_wrong_one():
    image, mask = square_batch()
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
    image, mask = square_batch()
    logits = torch.randn_like(mask)
    assert torch.allclose(chan_vese_loss(logits, image), chan_vese_loss(logits, image * 37.0 + 5.0), atol=1e-6)


def test_chan_vese_gradient_moves_mask_towards_bright_region():
    image, mask = square_batch()
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


def test_chan_vese_data_term_is_symmetric_in_its_two_phases():
    """Swapping inside and outside (y -> 1 - y) swaps c1 and c2 and leaves the data term unchanged; and the exact
    partition scores 0 whichever phase holds the lesion (c2 is the mean of g outside, over the outside's weight)."""
    torch.manual_seed(3)
    image = torch.rand(2, 1, 12, 12) * 50 + 10
    logits = torch.randn(2, 1, 12, 12) * 2
    forward = chan_vese_loss(logits, image, area_weight=0.0, reduce=False)
    swapped = chan_vese_loss(-logits, image, area_weight=0.0, reduce=False)
    torch.testing.assert_close(forward, swapped)
    square, mask = square_batch()
    assert chan_vese_loss((1 - 2 * mask) * 20, square, area_weight=0.0).item() < 1e-6  # lesion outside the soft mask
