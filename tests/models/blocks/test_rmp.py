"""RMP: C + 4 output channels, pooled maps piecewise constant before up-sampling, clear size error."""

import pytest
import torch

from scintiseg.errors import ScintisegError
from scintiseg.models.blocks.rmp import CENET_POOL_SIZES, ResidualMultiKernelPooling


def test_output_has_c_plus_4_channels_and_keeps_input():
    block = ResidualMultiKernelPooling(6)
    x = torch.randn(2, 6, 16, 16)
    y = block(x)
    assert y.shape == (2, 10, 16, 16)
    torch.testing.assert_close(y[:, 4:], x)
    assert block.pool_sizes == (2, 3, 4, 5)
    assert len(block.convs) == 1 and block.convs[0].out_channels == 1


def test_each_map_is_the_upsampled_1x1_conv_of_a_max_pool():
    torch.manual_seed(0)
    block = ResidualMultiKernelPooling(3, pool_sizes=(4,))
    x = torch.randn(1, 3, 8, 8)
    pooled = torch.nn.functional.max_pool2d(x, 4)
    expected = torch.nn.functional.interpolate(block.convs[0](pooled), size=(8, 8), mode="bilinear", align_corners=False)
    torch.testing.assert_close(block(x)[:, :1], expected)


def test_cenet_pool_sizes_and_separate_convs():
    block = ResidualMultiKernelPooling(4, CENET_POOL_SIZES, shared_conv=False)
    assert block(torch.randn(1, 4, 12, 12)).shape == (1, 8, 12, 12)
    assert len(block.convs) == 4


def test_bottleneck_smaller_than_largest_pool_is_a_clear_error():
    block = ResidualMultiKernelPooling(4)
    block(torch.randn(1, 4, 5, 5))
    with pytest.raises(ScintisegError, match="at least 5 x 5"):
        block(torch.randn(1, 4, 4, 4))


def test_every_map_pools_with_its_own_window():
    torch.manual_seed(0)
    block = ResidualMultiKernelPooling(3)
    x = torch.randn(1, 3, 20, 20)
    with torch.no_grad():
        y = block(x)
        for index, size in enumerate((2, 3, 4, 5)):
            pooled = torch.nn.functional.max_pool2d(x, size)
            expected = torch.nn.functional.interpolate(block.convs[0](pooled), size=(20, 20), mode="bilinear", align_corners=False)
            torch.testing.assert_close(y[:, index:index + 1], expected)
