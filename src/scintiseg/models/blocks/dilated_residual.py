"""Paper B's dilated residual convolution block.

Lin et al. (2022), §2.3.1 and Fig. 2: "there are two paths in the residual dilated convolution block.
In the residual mapping path, two dilated convolution (DilatedConv) layers are used ..., with each
followed by a batch normalization (BN) operation and parametric rectified linear unit (PReLU)"; the
identity path maps channels with a 1x1 convolution, and the two paths are summed. Eq. 3 gives the
output size of a dilated convolution, ``o = floor((i + 2p - k - (k - 1)(d - 1)) / s) + 1``
(:func:`dilated_output_size`).

Choices the paper leaves open (ours): 3x3 kernels, stride 1 and padding ``p = d (k - 1) / 2`` so the
grid is kept (``o = i`` by Eq. 3) and the skip connections of the encoder-decoder line up; dilation 2
for both convolutions by default (``dilations`` sets each); PReLU with one slope per channel; the 1x1
identity convolution is always present (even when channels match), as the figure describes it, with
BatchNorm after it so both summands are normalised; no activation after the sum.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def dilated_output_size(size: int, kernel: int, dilation: int = 1, padding: int = 0, stride: int = 1) -> int:
    """Paper B Eq. 3: output size of a dilated convolution, ``floor((i + 2p - k - (k-1)(d-1)) / s) + 1``."""
    return (size + 2 * padding - kernel - (kernel - 1) * (dilation - 1)) // stride + 1


class DilatedResidualBlock(nn.Module):
    """``identity(x) + PReLU(BN(DilatedConv(PReLU(BN(DilatedConv(x))))))`` with a 1x1 identity path.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        dilations: dilation of the first and second convolution.
        kernel_size: odd kernel size of the dilated convolutions.

    Example::

        block = DilatedResidualBlock(16, 32, dilations=(2, 2))   # (B, 16, H, W) -> (B, 32, H, W)
    """

    def __init__(
        self, in_channels: int, out_channels: int, dilations: Sequence[int] = (2, 2), kernel_size: int = 3
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for dilation in dilations:
            padding = dilation * (kernel_size - 1) // 2
            layers += [
                nn.Conv2d(channels, out_channels, kernel_size, padding=padding, dilation=dilation, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.PReLU(out_channels),
            ]
            channels = out_channels
        self.residual = nn.Sequential(*layers)
        self.identity = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.identity(x) + self.residual(x)
