"""Tests of :mod:`scintiseg.models.blocks.double_conv`: the U-Net unit keeps the grid, is two 3 x 3 convolutions
(a 5 x 5 receptive field), and adds BatchNorm in place of the convolutions' bias (or leaves both as the original)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from scintiseg.models.blocks.double_conv import DoubleConv


@pytest.mark.parametrize("batch_norm", [True, False])
@pytest.mark.parametrize("shape", [(2, 3, 16, 16), (1, 3, 7, 13)])
def test_the_output_keeps_the_grid_with_out_channels_and_is_non_negative(batch_norm, shape):
    block = DoubleConv(3, 5, batch_norm=batch_norm)
    x = torch.randn(shape)
    before = x.clone()
    y = block(x)
    assert y.shape == (shape[0], 5, *shape[2:])
    assert (y >= 0).all()  # ReLU last
    assert torch.equal(x, before)  # the in-place ReLUs never touch the input (a skip connection reuses it)


def test_with_batch_norm_each_conv_has_no_bias_and_is_followed_by_batch_norm_then_relu():
    block = DoubleConv(2, 6)
    assert [type(m) for m in block] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU] * 2
    convs = [m for m in block if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(2, 6), (6, 6)]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) and c.bias is None for c in convs)
    assert all(m.num_features == 6 for m in block if isinstance(m, nn.BatchNorm2d))


def test_without_batch_norm_it_is_the_original_conv_relu_twice():
    torch.manual_seed(0)
    block = DoubleConv(2, 4, batch_norm=False)
    assert [type(m) for m in block] == [nn.Conv2d, nn.ReLU] * 2
    first, second = block[0], block[2]
    assert first.bias is not None and second.bias is not None
    x = torch.randn(1, 2, 9, 9)
    expected = F.relu(F.conv2d(F.relu(F.conv2d(x, first.weight, first.bias, padding=1)), second.weight, second.bias, padding=1))
    torch.testing.assert_close(block(x), expected)


def test_one_output_pixel_sees_a_5_by_5_input_window():
    torch.manual_seed(1)
    block = DoubleConv(1, 4, batch_norm=True).eval()
    with torch.no_grad():  # every path active: weights positive and an input away from ReLU's zero
        for m in block:
            if isinstance(m, nn.Conv2d):
                m.weight.uniform_(0.1, 1.0)
    x = torch.rand(1, 1, 15, 15, requires_grad=True)
    block(x)[0, :, 7, 7].sum().backward()
    seen = x.grad[0, 0] != 0
    expected = torch.zeros(15, 15, dtype=torch.bool)
    expected[5:10, 5:10] = True
    assert torch.equal(seen, expected)
