"""Inception block (paper B §2.3.2): halves resolution, depth-concatenates five branches."""

import pytest
import torch

from scintiseg.errors import ScintisegError
from scintiseg.models.blocks.inception import InceptionBlock


@pytest.mark.parametrize("reduction", ["branch_stride", "concat_pool"])
def test_halves_resolution_and_concatenates(reduction):
    block = InceptionBlock(4, 13, reduction)
    y = block(torch.randn(2, 4, 16, 24))
    assert y.shape == (2, 13, 8, 12)


def test_branch_kernels_and_channel_split():
    block = InceptionBlock(4, 12)
    kernels = [m.kernel_size for m in block.modules() if isinstance(m, torch.nn.Conv2d)]
    assert kernels == [(1, 3), (3, 1), (1, 7), (7, 1), (1, 1), (5, 5), (1, 1)]
    outs = [block.branch_3, block.branch_7, block.branch_1, block.branch_5]
    x = torch.randn(1, 4, 8, 8)
    sizes = [b(x).shape[1] for b in outs] + [block.branch_pool(x).shape[1]]
    assert sizes == [3, 3, 2, 2, 2]
    assert any(isinstance(m, torch.nn.MaxPool2d) and m.stride == 2 for m in block.branch_pool.modules())


def test_too_few_channels_is_an_error():
    with pytest.raises(ScintisegError):
        InceptionBlock(4, 4)


def test_pool_branch_is_a_1x1_convolution_then_a_max_pool():
    """Paper B: "a max pooling with stride = 2 after a 1x1 convolution"."""
    for reduction in ("branch_stride", "concat_pool"):
        first, last = InceptionBlock(4, 10, reduction).branch_pool
        assert first[0].kernel_size == (1, 1)
        assert isinstance(last, torch.nn.MaxPool2d) and last.stride == 2
