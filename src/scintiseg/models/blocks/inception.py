"""Paper B's inception block, which extracts multi-scale features and halves the resolution.

Lin et al. (2022), §2.3.2 and Fig. 3: "several convolutions with different kernels (1x3/3x1, 1x7/7x1,
1x1, and 5x5) and a max pooling with stride = 2 after a 1x1 convolution to capture hierarchal
features and halve the resolution of the grid. The DepthConcat concatenates the outputs" (after
Szegedy et al. 2014/2016). Five parallel branches::

    1x3 -> 3x1 | 1x7 -> 7x1 | 1x1 | 5x5 | 1x1 -> maxpool(stride 2)      -> DepthConcat

The figure is lost, so where the resolution halves is our reading, exposed as ``reduction``:

* ``"branch_stride"`` (default; an Inception-v2/v3 grid-reduction block): the last convolution of each
  convolution branch has stride 2, the pool branch pools with stride 2, all five are concatenated at
  half resolution.
* ``"concat_pool"``: the four convolution branches run at full resolution, are concatenated, and the
  "1x1 convolution -> max pooling with stride 2" closes the block.

Other choices (ours): every convolution is followed by BatchNorm and ReLU (Inception-v2); the max
pool is 3x3 with padding 1 (Inception's overlapping pool; exactly halves even sizes); the output
channels are split as evenly as possible over the five branches (the first branches take the
remainder).
"""

from __future__ import annotations

import torch
from torch import nn

from scintiseg.errors import ScintisegError

INCEPTION_REDUCTIONS: tuple[str, ...] = ("branch_stride", "concat_pool")


def _conv_bn_relu(
    in_channels: int, out_channels: int, kernel: tuple[int, int], stride: int = 1
) -> nn.Sequential:
    padding = (kernel[0] // 2, kernel[1] // 2)
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=padding, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def _split_channels(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if index < extra else 0) for index in range(parts)]


class InceptionBlock(nn.Module):
    """Five-branch inception block that halves H and W (paper B Fig. 3).

    Args:
        in_channels: input channels.
        out_channels: output channels (sum of the branches; at least 5).
        reduction: ``"branch_stride"`` or ``"concat_pool"`` (see the module docstring).

    Example::

        block = InceptionBlock(16, 32)   # (B, 16, 64, 64) -> (B, 32, 32, 32)
    """

    def __init__(self, in_channels: int, out_channels: int, reduction: str = "branch_stride") -> None:
        super().__init__()
        if reduction not in INCEPTION_REDUCTIONS:
            raise ScintisegError(f"unknown inception reduction {reduction!r}; choose one of {', '.join(INCEPTION_REDUCTIONS)}")
        if out_channels < 5:
            raise ScintisegError(f"an inception block needs at least 5 output channels, got {out_channels}")
        self.reduction = reduction
        stride = 2 if reduction == "branch_stride" else 1
        if reduction == "branch_stride":
            c3, c7, c1, c5, cp = _split_channels(out_channels, 5)
        else:
            c3, c7, c1, c5 = _split_channels(out_channels, 4)
        self.branch_3 = nn.Sequential(_conv_bn_relu(in_channels, c3, (1, 3)), _conv_bn_relu(c3, c3, (3, 1), stride))
        self.branch_7 = nn.Sequential(_conv_bn_relu(in_channels, c7, (1, 7)), _conv_bn_relu(c7, c7, (7, 1), stride))
        self.branch_1 = _conv_bn_relu(in_channels, c1, (1, 1), stride)
        self.branch_5 = _conv_bn_relu(in_channels, c5, (5, 5), stride)
        if reduction == "branch_stride":
            self.branch_pool = nn.Sequential(_conv_bn_relu(in_channels, cp, (1, 1)), nn.MaxPool2d(3, stride=2, padding=1))
        else:
            self.branch_pool = nn.Sequential(
                _conv_bn_relu(out_channels, out_channels, (1, 1)), nn.MaxPool2d(3, stride=2, padding=1)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch_3(x), self.branch_7(x), self.branch_1(x), self.branch_5(x)]
        if self.reduction == "branch_stride":
            return torch.cat([*branches, self.branch_pool(x)], dim=1)
        return self.branch_pool(torch.cat(branches, dim=1))
