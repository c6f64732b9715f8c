"""RDI-Net: paper B's recurrent dilated-inception segmentation network.

Lin et al. (2022), §2.3 and Fig. 1B: "cascaded layers ... which include the residual dilated
convolution, pooling, feature aggregation, inception connection, upsampling, and traditional
convolution", run "in a recurrent way" (§2.3.4, Eq. 5, t = 3 best). The figure, and with it the exact
order, is lost; this is our assembly, every choice an argument:

* **Feature aggregation** (§2.3.3, Eq. 4, ``I_Agg = I_Ant + Mirr(I_Post)``, "images (features)"):
  ``in_channels=1`` takes an already aggregated image (or one view). ``in_channels=2`` takes
  ``[ANT, aligned mirrored POST]``; with ``view_fusion="feature_sum"`` (default) one stem (shared
  weights) encodes each view and the two feature maps are **added** — Eq. 4 at the feature level;
  ``"concat"`` feeds both channels to the stem instead.
* **Encoder**: level ``i`` has ``width * 2**i`` channels; each level is a dilated residual block
  (:class:`~scintiseg.models.blocks.dilated_residual.DilatedResidualBlock`, §2.3.1) whose output is the
  skip connection, and the **inception block** (§2.3.2, halving the resolution,
  :class:`~scintiseg.models.blocks.inception.InceptionBlock`) down-samples to the next level
  (``down="maxpool"`` replaces it by 2x2 max pooling, for ablations like paper B Table 5).
* **Recurrent feature extraction** (§2.3.4): a recurrent convolutional block
  (:class:`~scintiseg.models.blocks.recurrent.RecurrentConvBlock`, ``t`` recurrent steps) after the
  bottleneck's dilated residual block (``recurrent="bottleneck"``, default: the context is widest and
  the grid smallest there, so test time grows slowly with t as paper B Table 4 reports), after every
  encoder level too (``"all"``), or nowhere (``"none"`` or ``t=0``). "We let the feature extraction network run in
  a recurrent way" (Fig. 1A's dotted arrow) could also be read as the whole encoder unrolled t times with its
  output fed back to its input; we take Eq. 5's recurrent convolutional layer (Liang & Hu's RCNN) [choice: Eq. 5 is
  written for one layer's feature maps, and a whole encoder unrolled would multiply the test time by t, where
  Table 4 says it grows slowly]. Eq. 5 names one W_R, tied over the steps (the default); Table 4 reports
  "significant increases of parameters" with t, which only one W_R per step gives (``recurrent_untied=True``:
  3.96 M parameters at t = 1 to 6.32 M at t = 5 at the default width, against a flat 3.96 M tied; the
  ``paper-b-recurrence`` experiment's setting).
* **Decoder** ("upsampling, and traditional convolution"): 2x2 transposed convolution (or bilinear;
  :func:`~scintiseg.models.blocks.upsampling.make_upsampling`, shared with the U-Net), concatenation with the skip,
  two 3x3 conv -> BN -> ReLU; a 1x1 head gives one logit per pixel.

``encoder_block="plain"`` swaps the dilated residual blocks for U-Net double convolutions (another
Table 5 ablation axis).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from scintiseg.errors import ScintisegError
from scintiseg.models.base import SegmentationNetwork
from scintiseg.models.blocks.dilated_residual import DilatedResidualBlock
from scintiseg.models.blocks.double_conv import DoubleConv
from scintiseg.models.blocks.inception import InceptionBlock
from scintiseg.models.blocks.recurrent import RecurrentConvBlock
from scintiseg.models.blocks.upsampling import make_upsampling

RECURRENT_PLACES: tuple[str, ...] = ("bottleneck", "all", "none")


class RDINet(SegmentationNetwork):
    """Recurrent dilated-residual / inception encoder-decoder (paper B).

    Args:
        in_channels: 1 (aggregated image or one view) or 2 (ANT, aligned mirrored POST); paper B combines two views
            (Eq. 4), so more is refused.
        width: channels of the first level (doubled per level).
        depth: number of down-samplings.
        t: recurrent steps of the recurrent block (paper B: 3; 0 disables the recurrence).
        dilations: dilations of the two convolutions of each dilated residual block.
        down: ``"inception"`` or ``"maxpool"`` down-sampling.
        inception_reduction: ``"branch_stride"`` or ``"concat_pool"`` (see :mod:`.blocks.inception`).
        recurrent: where the recurrent block goes: ``"bottleneck"``, ``"all"`` or ``"none"``.
        recurrent_kernels: ``"separate"`` (W_F, W_R; Liang & Hu) or ``"shared"`` (R2U-Net).
        recurrent_norm: ``"per_step"`` or ``"shared"`` BatchNorm.
        recurrent_untied: one W_R per step (parameters grow with t, as paper B Table 4 shows).
        view_fusion: with 2 input channels, ``"feature_sum"`` (shared stem, features added) or ``"concat"``.
        encoder_block: ``"dilated_residual"`` or ``"plain"`` (double 3x3 convolution).
        upsample: ``"transpose"`` or ``"bilinear"``.

    Example::

        model = RDINet(in_channels=2, width=16, depth=4, t=3)
        logits = model(torch.randn(1, 2, 256, 256))   # (1, 1, 256, 256)
    """

    def __init__(
        self,
        in_channels: int = 1,
        width: int = 16,
        depth: int = 4,
        t: int = 3,
        dilations: Sequence[int] = (2, 2),
        down: str = "inception",
        inception_reduction: str = "branch_stride",
        recurrent: str = "bottleneck",
        recurrent_kernels: str = "separate",
        recurrent_norm: str = "per_step",
        recurrent_untied: bool = False,
        view_fusion: str = "feature_sum",
        encoder_block: str = "dilated_residual",
        upsample: str = "transpose",
    ) -> None:
        super().__init__(in_channels, depth)
        if in_channels > 2:  # Eq. 4 sums two views; a third channel was silently summed in as one more "view"
            raise ScintisegError(f"rdinet takes 1 (one view, or ANT + mirrored POST aggregated) or 2 (ANT, aligned "
                                 f"mirrored POST) input channels, got in_channels={in_channels}")
        if 2 * width < 5 and down == "inception":
            raise ScintisegError(f"rdinet with inception down-sampling needs width >= 3, got {width}")
        if down not in ("inception", "maxpool"):
            raise ScintisegError(f"unknown down {down!r}; choose 'inception' or 'maxpool'")
        if t < 0:  # (t = -1 built a network without a word: session 61; t = 0 is no recurrence, as "none")
            raise ScintisegError(f"t (the recurrent block's steps; 0: none) must be >= 0, got {t}")
        if not dilations:
            raise ScintisegError("dilations must name at least one dilation rate")
        if recurrent not in RECURRENT_PLACES:
            raise ScintisegError(f"unknown recurrent {recurrent!r}; choose one of {', '.join(RECURRENT_PLACES)}")
        if view_fusion not in ("feature_sum", "concat"):
            raise ScintisegError(f"unknown view_fusion {view_fusion!r}; choose 'feature_sum' or 'concat'")
        if encoder_block not in ("dilated_residual", "plain"):
            raise ScintisegError(f"unknown encoder_block {encoder_block!r}; choose 'dilated_residual' or 'plain'")
        dilations = tuple(dilations)

        def feature_block(channels_in: int, channels_out: int) -> nn.Module:
            if encoder_block == "plain":
                return DoubleConv(channels_in, channels_out)
            return DilatedResidualBlock(channels_in, channels_out, dilations)

        def recurrent_block(channels: int) -> nn.Module:
            return RecurrentConvBlock(
                channels, channels, t, recurrent_kernels, recurrent_norm, untied=recurrent_untied
            )

        widths = [width * 2**level for level in range(depth + 1)]
        self.widths = widths
        self.sum_views = in_channels > 1 and view_fusion == "feature_sum"
        self.stem = feature_block(1 if self.sum_views else in_channels, widths[0])
        use_recurrent = t > 0 and recurrent != "none"
        self.encoders = nn.ModuleList()  # level 0 is the stem plus (optionally) a recurrent block
        self.downs = nn.ModuleList()
        channels = widths[0]
        for level in range(depth):
            layers: list[nn.Module] = []
            if level > 0:
                layers.append(feature_block(channels, widths[level]))
            if use_recurrent and recurrent == "all":
                layers.append(recurrent_block(widths[level]))
            self.encoders.append(nn.Sequential(*layers) if layers else nn.Identity())
            if down == "inception":
                self.downs.append(InceptionBlock(widths[level], widths[level + 1], inception_reduction))
                channels = widths[level + 1]
            else:
                self.downs.append(nn.MaxPool2d(2, stride=2))
                channels = widths[level]
        bottleneck: list[nn.Module] = [feature_block(channels, widths[depth])]
        if use_recurrent:
            bottleneck.append(recurrent_block(widths[depth]))
        self.bottleneck = nn.Sequential(*bottleneck)
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        channels = widths[depth]
        for level in reversed(range(depth)):
            self.ups.append(make_upsampling(upsample, channels, widths[level]))
            self.decoders.append(DoubleConv(2 * widths[level], widths[level]))
            channels = widths[level]
        self.head = nn.Conv2d(widths[0], 1, kernel_size=1)

    def aggregate(self, x: torch.Tensor) -> torch.Tensor:
        """Stem features; with two views and ``feature_sum``, ``stem(ANT) + stem(mirrored POST)`` (Eq. 4)."""
        if self.sum_views:
            views = x.unsqueeze(2).flatten(0, 1)  # (B * V, 1, H, W): one stem pass for every view
            features = self.stem(views)
            return features.unflatten(0, (x.shape[0], x.shape[1])).sum(dim=1)
        return self.stem(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        x = self.aggregate(x)
        skips = []
        for encoder, down in zip(self.encoders, self.downs):
            x = encoder(x)
            skips.append(x)
            x = down(x)
        x = self.bottleneck(x)
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips)):
            x = decoder(torch.cat([up(x), skip], dim=1))
        return self.head(x)
