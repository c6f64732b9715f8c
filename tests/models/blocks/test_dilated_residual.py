"""Dilated residual block (paper B §2.3.1): Eq. 3 output size, kept grid, 1x1 identity path, receptive field."""

import pytest
import torch

from scintiseg.models.blocks.dilated_residual import DilatedResidualBlock, dilated_output_size


@pytest.mark.parametrize(("size", "kernel", "dilation", "padding", "stride"), [(32, 3, 2, 0, 1), (33, 3, 3, 1, 2), (20, 5, 2, 2, 1), (17, 3, 1, 1, 2)])
def test_eq3_matches_torch(size, kernel, dilation, padding, stride):
    conv = torch.nn.Conv2d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation)
    assert conv(torch.zeros(1, 1, size, size)).shape[-1] == dilated_output_size(size, kernel, dilation, padding, stride)


def test_shape_identity_path_and_receptive_field():
    block = DilatedResidualBlock(3, 6, dilations=(2, 3)).eval()
    x = torch.randn(2, 3, 24, 20)
    assert block(x).shape == (2, 6, 24, 20)
    identity_conv = block.identity[0]
    assert identity_conv.kernel_size == (1, 1) and identity_conv.out_channels == 6
    assert sum(isinstance(m, torch.nn.PReLU) for m in block.residual) == 2
    x = torch.zeros(1, 3, 31, 31, requires_grad=True)
    block.residual(x)[0, :, 15, 15].sum().backward()
    active = (x.grad[0].abs().sum(0) > 0).nonzero()
    # dilations 2 and 3 with 3x3 kernels: 1 + 2*2 + 2*3 = 11
    assert int(active[:, 0].max() - active[:, 0].min() + 1) == 11


def test_output_is_the_sum_of_the_identity_and_residual_paths():
    torch.manual_seed(0)
    block = DilatedResidualBlock(3, 4).eval()
    x = torch.randn(2, 3, 12, 12)
    with torch.no_grad():
        identity, residual = block.identity(x), block.residual(x)
        assert identity.abs().sum() > 0 and residual.abs().sum() > 0
        torch.testing.assert_close(block(x), identity + residual)
