"""Coordinate attention: official CoordAtt semantics checked against a hand computation."""

import torch

from scintiseg.models.blocks.coord_attention import CoordinateAttention


def reference_coordatt(block: CoordinateAttention, x: torch.Tensor) -> torch.Tensor:
    """houqb/CoordAttention coordatt.py, written out step by step (BatchNorm in eval mode)."""
    n, c, h, w = x.shape
    x_h = x.mean(dim=3)  # (n, c, h)
    x_w = x.mean(dim=2)  # (n, c, w)
    y = torch.cat([x_h, x_w], dim=2)  # (n, c, h + w)
    y = torch.einsum("mc,ncl->nml", block.conv1.weight[:, :, 0, 0], y) + block.conv1.bias[None, :, None]
    bn = block.bn1
    y = (y - bn.running_mean[None, :, None]) / torch.sqrt(bn.running_var[None, :, None] + bn.eps)
    y = y * bn.weight[None, :, None] + bn.bias[None, :, None]
    y = y * torch.clamp(y + 3, 0, 6) / 6
    a_h = torch.sigmoid(torch.einsum("cm,nml->ncl", block.conv_h.weight[:, :, 0, 0], y[:, :, :h]) + block.conv_h.bias[None, :, None])
    a_w = torch.sigmoid(torch.einsum("cm,nml->ncl", block.conv_w.weight[:, :, 0, 0], y[:, :, h:]) + block.conv_w.bias[None, :, None])
    return x * a_h[:, :, :, None] * a_w[:, :, None, :]


def test_matches_the_official_computation():
    torch.manual_seed(1)
    block = CoordinateAttention(5).eval()
    with torch.no_grad():
        block.bn1.running_mean.uniform_(-0.5, 0.5)
        block.bn1.running_var.uniform_(0.5, 2.0)
    x = torch.randn(2, 5, 6, 7)
    with torch.no_grad():
        torch.testing.assert_close(block(x), reference_coordatt(block, x))


def test_hidden_width_is_max_8_c_over_32():
    assert CoordinateAttention(16).conv1.out_channels == 8
    assert CoordinateAttention(512).conv1.out_channels == 16
    assert CoordinateAttention(64, reduction=4).conv1.out_channels == 16


def test_the_activation_is_the_official_h_swish_bit_for_bit():
    """``torch.nn.Hardswish`` replaced a hand-written copy of the official ``h_swish`` (``x * relu6(x + 3) / 6``):
    the same float32 values everywhere, the kinks at -3 and 3 and the saturated tails included, so no checkpoint's
    output changes."""
    block = CoordinateAttention(8)
    assert isinstance(block.act, torch.nn.Hardswish)
    x = torch.cat([torch.linspace(-8, 8, 200_001), torch.tensor([-3.0, 3.0, -1e30, 1e30, 0.0])])
    official = x * torch.nn.functional.relu6(x + 3) / 6
    assert torch.equal(block.act(x), official)
