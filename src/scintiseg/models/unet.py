"""The plain U-Net baseline of paper A (Ronneberger et al. 2015), with max or average pooling.

Paper A (He et al. 2024) §2.2 and Table 2 rows 1-2: a U-Net encoder-decoder with skip connections,
down-sampling by max pooling (the original) or by average pooling. Width and depth are not stated in
the paper; ``width`` is the channel count of the first level, doubled at every down-sampling
(Ronneberger's 64-128-256-512-1024 is ``width=64, depth=4``), and ``depth`` is the number of
down-samplings.

Choices left open (ours, each an argument): padded 3x3 convolutions with BatchNorm
(:class:`~scintiseg.models.blocks.double_conv.DoubleConv`); up-sampling by a 2x2 transposed convolution
("up-conv 2x2" in Ronneberger) or by bilinear interpolation followed by a 1x1 convolution
(:func:`~scintiseg.models.blocks.upsampling.make_upsampling`); a 1x1 convolution head giving one lesion logit
per pixel.

:class:`UNet` is also the backbone that :class:`~scintiseg.models.dpunet.DPUNet` extends (pooling choice
per encoder step and context modules in the bottleneck).
"""

from __future__ import annotations

import torch
from torch import nn

from scintiseg.errors import ScintisegError
from scintiseg.models.base import SegmentationNetwork
from scintiseg.models.blocks.double_conv import DoubleConv
from scintiseg.models.blocks.dual_pooling import make_pooling
from scintiseg.models.blocks.upsampling import make_upsampling


class UNet(SegmentationNetwork):
    """U-Net with a selectable pooling per encoder step.

    Args:
        in_channels: image channels (1 view/aggregate, or 2 = ANT + aligned mirrored POST).
        width: channels of the first level; level ``i`` has ``width * 2**i``.
        depth: number of down-samplings (inputs must be multiples of ``2**depth``).
        pooling: ``"max"`` or ``"avg"``, used at every encoder step.
        upsample: ``"transpose"`` (2x2 transposed convolution) or ``"bilinear"`` (+ 1x1 convolution).
        batch_norm: BatchNorm after every 3x3 convolution.
        classes: output channels: 1 (lesion logits, the papers' task) or the number of classes of a
            multi-class map (the skeleton-region network of issue 15: 27 region logits, softmax over them).

    Example::

        model = UNet(in_channels=1, width=16, depth=4, pooling="avg")
        logits = model(torch.randn(2, 1, 256, 256))   # (2, 1, 256, 256)
    """

    allowed_poolings: tuple[str, ...] = ("max", "avg")

    def __init__(
        self,
        in_channels: int = 1,
        width: int = 16,
        depth: int = 4,
        pooling: str = "max",
        upsample: str = "transpose",
        batch_norm: bool = True,
        classes: int = 1,
    ) -> None:
        super().__init__(in_channels, depth, min_bottleneck=self._min_bottleneck())
        if width < 1:
            raise ScintisegError(f"width must be >= 1, got {width}")
        if classes < 1:
            raise ScintisegError(f"classes must be >= 1, got {classes}")
        if pooling not in self.allowed_poolings:
            raise ScintisegError(
                f"{type(self).__name__}: unknown pooling {pooling!r}; choose one of {', '.join(self.allowed_poolings)}"
            )
        widths = [width * 2**level for level in range(depth + 1)]
        self.widths = widths
        self.encoders = nn.ModuleList(
            DoubleConv(in_channels if level == 0 else widths[level - 1], widths[level], batch_norm) for level in range(depth)
        )
        self.pools = nn.ModuleList(make_pooling(pooling, widths[level]) for level in range(depth))
        self.bottleneck = DoubleConv(widths[depth - 1], widths[depth], batch_norm)
        self.context, context_channels = self._build_context(widths[depth])
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        channels = context_channels
        for level in reversed(range(depth)):
            self.ups.append(make_upsampling(upsample, channels, widths[level]))
            self.decoders.append(DoubleConv(2 * widths[level], widths[level], batch_norm))
            channels = widths[level]
        self.head = nn.Conv2d(widths[0], classes, kernel_size=1)

    def _min_bottleneck(self) -> int:
        """Smallest bottleneck grid the context modules accept (1 for a plain U-Net)."""
        return 1

    def _build_context(self, channels: int) -> tuple[nn.Module, int]:
        """Modules after the bottleneck convolutions, and their output channels (none for a plain U-Net)."""
        return nn.Identity(), channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        skips = []
        for encoder, pool in zip(self.encoders, self.pools):
            x = encoder(x)
            skips.append(x)
            x = pool(x)
        x = self.context(self.bottleneck(x))
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips)):
            x = decoder(torch.cat([up(x), skip], dim=1))
        return self.head(x)
