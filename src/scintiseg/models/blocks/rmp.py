"""Residual multi-kernel pooling (RMP), CE-Net's ``SPPblock`` with paper A's pool sizes.

Gu et al. (2019), CE-Net, §II-C and Fig. 4; reference code ``Guzaiwang/CE-Net``, ``networks/cenet.py``,
class ``SPPblock``: max pooling at several window sizes with stride = window, **one shared** 1x1
convolution (with bias) to a single channel applied to every pooled map, bilinear up-sampling back to
the input size, and concatenation ``[p1, p2, p3, p4, x]`` (C + number-of-pools channels).

Paper A (He et al. 2024, §2.2.2) uses windows 2, 3, 4, 5 ("2x2, 3x3, 4x4 and 5x5 pooling"); CE-Net
used 2, 3, 5, 6. Choices left open: bilinear interpolation with ``align_corners=False`` (PyTorch's
default, which CE-Net's ``F.upsample`` used); pooling floors partial windows (``ceil_mode=False``);
``shared_conv=False`` gives each pooled map its own 1x1 convolution.

The block needs an input at least as large as its largest window; a smaller one raises
:class:`~scintiseg.errors.ScintisegError`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from scintiseg.errors import ScintisegError

PAPER_A_POOL_SIZES: tuple[int, ...] = (2, 3, 4, 5)
CENET_POOL_SIZES: tuple[int, ...] = (2, 3, 5, 6)


class ResidualMultiKernelPooling(nn.Module):
    """RMP: ``cat([up(conv1x1(maxpool_k(x))) for k in pool_sizes] + [x])``.

    Args:
        channels: input channels ``C``; the output has ``C + len(pool_sizes)`` channels.
        pool_sizes: max-pool windows (= strides); paper A: (2, 3, 4, 5).
        shared_conv: one 1x1 convolution for every pooled map (CE-Net) or one each.

    Example::

        rmp = ResidualMultiKernelPooling(256)   # (B, 256, 16, 16) -> (B, 260, 16, 16)
    """

    def __init__(self, channels: int, pool_sizes: Sequence[int] = PAPER_A_POOL_SIZES, shared_conv: bool = True) -> None:
        super().__init__()
        self.pool_sizes = tuple(int(size) for size in pool_sizes)
        if not self.pool_sizes or min(self.pool_sizes) < 1:
            raise ScintisegError(f"RMP pool sizes must be positive integers, got {pool_sizes}")
        self.pools = nn.ModuleList(nn.MaxPool2d(size, stride=size) for size in self.pool_sizes)
        n_convs = 1 if shared_conv else len(self.pool_sizes)
        self.convs = nn.ModuleList(nn.Conv2d(channels, 1, kernel_size=1) for _ in range(n_convs))
        self.out_channels = channels + len(self.pool_sizes)

    @property
    def min_size(self) -> int:
        """Smallest input height/width the block accepts (its largest pooling window)."""
        return max(self.pool_sizes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        if not torch.jit.is_tracing() and min(height, width) < self.min_size:
            raise ScintisegError(
                f"RMP needs a bottleneck of at least {self.min_size} x {self.min_size} px (largest pool), "
                f"got {height} x {width}; use larger inputs or a smaller depth"
            )
        maps = []
        for index, pool in enumerate(self.pools):
            conv = self.convs[index if len(self.convs) > 1 else 0]
            maps.append(nn.functional.interpolate(conv(pool(x)), size=(height, width), mode="bilinear", align_corners=False))
        return torch.cat([*maps, x], dim=1)
