"""Paper A's down-sampling choices: max pooling, average pooling, or the dual-pooling fusion module.

He et al. (2024), §2.2.1 and Fig. 2: the same feature map is max-pooled and average-pooled (2x2,
stride 2). "We encode the max pooling results in two directions. The weight of the results is
multiplied by the average pooling results": the max-pooled map goes through the coordinate-attention
path (:class:`~scintiseg.models.blocks.coord_attention.CoordinateAttention`, official ``CoordAtt``
semantics) and the resulting direction weights multiply the average-pooled map::

    m = maxpool(x); a = avgpool(x); a_h, a_w = CoordAtt_weights(m); out = a * a_w * a_h

Choices the paper leaves open (ours): the pooling window is 2x2 with stride 2 like U-Net's; the output
has no residual (as in the official ``CoordAtt``); ``reduction`` is the official 32 (so small widths get
the floor of 8 hidden channels).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from scintiseg.errors import ScintisegError
from scintiseg.models.blocks.coord_attention import CoordinateAttention

PoolingKind = Literal["max", "avg", "fusion"]
POOLING_KINDS: tuple[str, ...] = ("max", "avg", "fusion")


class DualPoolingFusion(nn.Module):
    """Max- and average-pool the same map; weight the average-pooled map by coordinate attention of the max-pooled one.

    Args:
        channels: channels of the map (unchanged by the module).
        kernel_size: pooling window and stride (2 halves the resolution).
        reduction: coordinate-attention reduction (``mip = max(8, channels // reduction)``).

    Example::

        down = DualPoolingFusion(32)   # (B, 32, 64, 64) -> (B, 32, 32, 32)
    """

    def __init__(self, channels: int, kernel_size: int = 2, reduction: int = 32) -> None:
        super().__init__()
        self.max_pool = nn.MaxPool2d(kernel_size, stride=kernel_size)
        self.avg_pool = nn.AvgPool2d(kernel_size, stride=kernel_size)
        self.attention = CoordinateAttention(channels, channels, reduction=reduction)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a_h, a_w = self.attention.weights(self.max_pool(x))
        return self.avg_pool(x) * a_w * a_h


def make_pooling(kind: str, channels: int, kernel_size: int = 2) -> nn.Module:
    """The down-sampling module of one encoder step: ``"max"``, ``"avg"`` or ``"fusion"`` (paper A Table 2)."""
    if kind == "max":
        return nn.MaxPool2d(kernel_size, stride=kernel_size)
    if kind == "avg":
        return nn.AvgPool2d(kernel_size, stride=kernel_size)
    if kind == "fusion":
        return DualPoolingFusion(channels, kernel_size)
    raise ScintisegError(f"unknown pooling {kind!r}; choose one of {', '.join(POOLING_KINDS)}")
