"""The U-Net convolution unit: (3x3 conv -> BatchNorm -> ReLU) twice.

Ronneberger et al. (2015) §2 use two unpadded 3x3 convolutions with ReLU per level. We pad them
("same" convolutions) so the output grid equals the input grid and no crop of the skip connection is
needed, and we add BatchNorm (as every current U-Net implementation does, MONAI's ``BasicUNet``
included); ``batch_norm=False`` restores the BN-free original. Paper A (He et al. 2024, §2.2) keeps
the U-Net encoder and decoder "without major adjustments" and states neither choice.
"""

from __future__ import annotations

from torch import nn


class DoubleConv(nn.Sequential):
    """Two padded 3x3 convolutions, each followed by BatchNorm (optional) and ReLU.

    Args:
        in_channels: input channels.
        out_channels: output channels of both convolutions.
        batch_norm: add BatchNorm after each convolution (the convolutions then carry no bias).

    Example::

        block = DoubleConv(1, 16)   # (B, 1, H, W) -> (B, 16, H, W)
    """

    def __init__(self, in_channels: int, out_channels: int, batch_norm: bool = True) -> None:
        layers: list[nn.Module] = []
        for channels_in in (in_channels, out_channels):
            layers.append(nn.Conv2d(channels_in, out_channels, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)
