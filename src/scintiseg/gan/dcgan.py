"""The DCGAN generator G and discriminator D (Radford et al. 2015), producing image *and* lesion mask.

Paper B §3.2.2 builds data set D3 from DCGAN samples but does not say how those samples got labels.
Ours carry them: G outputs ``2 * V`` channels for ``V`` views, the first ``V`` are images (tanh, in
[-1, 1], see :mod:`scintiseg.gan.counts`) and the last ``V`` are lesion masks (sigmoid, in [0, 1],
thresholded when saved). D sees the same ``2 * V`` channels, so it judges image and mask *together*
and G must learn masks that sit on hot spots.

Architecture guidelines of Radford et al. (2015) §3, followed here:

- no pooling: strided transposed convolutions (kernel 4, stride 2) up-sample in G, strided convolutions
  (kernel 4, stride 2) down-sample in D;
- optional ``upsample="resize"`` (not in Radford et al.): each of G's stride-2 transposed convolutions
  is replaced by nearest-neighbour up-sampling x2 followed by a 3 x 3 convolution (padding 1), the
  "resize-convolution" of Odena et al. (2016, "Deconvolution and checkerboard artifacts", Distill).
  In a kernel-4 / stride-2 transposed convolution each output-pixel parity is made by its own 2 x 2
  sub-kernel, so unless training makes them agree it paints a period-2 checkerboard (worse when
  stacked); resize-convolution makes every output pixel with the same kernel. The channel plan, batch
  norm and ReLU are unchanged. The projection of z to the 4 x 4 map, a stride-1 transposed
  convolution of a 1 x 1 input in "transpose" mode, is exactly a linear map; "resize" mode writes it
  as ``nn.Linear`` (same weights count, same N(0, 0.02) initialisation, Radford et al. §3 call this
  layer "fully connected … just a matrix multiplication"), so resize mode has no transposed
  convolution at all. Nearest (not bilinear) up-sampling: Odena et al. report it worked best.
- batch norm in both, except G's output layer and D's input layer;
- ReLU in G (tanh / sigmoid at the output), LeakyReLU(0.2) in D;
- no fully connected hidden layers: z is projected to a 4 x 4 map by a transposed convolution (resize
  mode: the equivalent ``nn.Linear``), and D's last layer is a 4 x 4 convolution to a single logit;
- weights N(0, 0.02), batch-norm scales N(1, 0.02).

Optional ``minibatch_std=True`` in D (not in Radford et al.): Karras et al. (2018, "Progressive growing
of GANs", §3) append to D's last hidden map one channel holding the average over features and
positions of the per-feature standard deviation across the batch, so D can tell a batch of near-
identical samples from a varied real batch and G is pushed away from mode collapse. The whole batch is
one group (Karras et al.'s description; their code uses groups of 4).

D returns a *logit* (no sigmoid) so that the loss can use the numerically stable
``binary_cross_entropy_with_logits``; ``sigmoid(D(x))`` is the paper's probability D(x).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _widths(native_size: int, base_width: int, max_width: int) -> list[int]:
    """Channel widths from the 4 x 4 map to the finest hidden map (coarse to fine)."""
    steps = int(math.log2(native_size)) - 2  # 4 -> native_size in stride-2 steps
    return [min(base_width * 2 ** (steps - 1 - i), max_width) for i in range(steps)]


def init_dcgan_weights(module: nn.Module) -> None:
    """Radford et al. (2015) §4: conv weights N(0, 0.02); batch-norm scale N(1, 0.02), shift 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


#: G's up-sampling modes: Radford et al.'s transposed convolution, Odena et al.'s resize-convolution.
UPSAMPLE_MODES = ("transpose", "resize")


def _up(w_in: int, w_out: int, mode: str, bias: bool) -> list[nn.Module]:
    """One x2 up-sampling step of G: transposed conv (kernel 4, stride 2) or nearest x2 + 3 x 3 conv."""
    if mode == "transpose":
        return [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=bias)]
    return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(w_in, w_out, 3, 1, 1, bias=bias)]


class Generator(nn.Module):
    """G: noise ``z`` (B, latent_dim) -> (B, 2V, S, S): V images in [-1, 1] then V masks in [0, 1].

    Args:
        views: number of views V (image channels; as many mask channels).
        native_size: output side S, a power of two >= 8.
        latent_dim: size of z.
        base_width: channels of the finest hidden map, doubled per coarser scale.
        max_width: cap on any layer's channels.
        upsample: ``"transpose"`` (Radford et al.: kernel-4 stride-2 transposed convolutions) or
            ``"resize"`` (Odena et al. 2016: nearest up-sampling x2 then a 3 x 3 convolution).

    Example::

        g = Generator(views=2, native_size=64)
        x = g(torch.randn(4, 100))          # (4, 4, 64, 64)
    """

    def __init__(
        self,
        views: int = 2,
        native_size: int = 64,
        latent_dim: int = 100,
        base_width: int = 32,
        max_width: int = 256,
        upsample: str = "transpose",
    ) -> None:
        super().__init__()
        if upsample not in UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}, got {upsample!r}")
        self.views = views
        self.latent_dim = latent_dim
        self.upsample = upsample
        widths = _widths(native_size, base_width, max_width)
        if upsample == "transpose":
            projection: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, widths[0], 4, 1, 0, bias=False)]
        else:
            projection = [nn.Flatten(), nn.Linear(latent_dim, widths[0] * 16, bias=False), nn.Unflatten(1, (widths[0], 4, 4))]
        layers: list[nn.Module] = [*projection, nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)]
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            layers += [*_up(w_in, w_out, upsample, bias=False), nn.BatchNorm2d(w_out), nn.ReLU(inplace=True)]
        layers += _up(widths[-1], 2 * views, upsample, bias=True)
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        raw = self.net(z.view(z.shape[0], self.latent_dim, 1, 1))
        images = torch.tanh(raw[:, : self.views])
        masks = torch.sigmoid(raw[:, self.views :])
        return torch.cat([images, masks], dim=1)


class MinibatchStd(nn.Module):
    """Append the batch's mean feature standard deviation as one constant channel (Karras et al. 2018 §3)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std = torch.sqrt(x.var(dim=0, unbiased=False) + 1e-8).mean()
        return torch.cat([x, std.expand(x.shape[0], 1, *x.shape[2:])], dim=1)


class Discriminator(nn.Module):
    """D: (B, 2V, S, S) images + masks -> (B,) logits of "real".

    Args:
        views: number of views V (the input has 2V channels).
        native_size: input side S, a power of two >= 8.
        base_width: channels of the first layer, doubled per coarser scale.
        max_width: cap on any layer's channels.
        minibatch_std: append :class:`MinibatchStd` before the last (4 x 4 -> logit) convolution.
    """

    def __init__(self, views: int = 2, native_size: int = 64, base_width: int = 32, max_width: int = 256,
                 minibatch_std: bool = False) -> None:
        super().__init__()
        widths = _widths(native_size, base_width, max_width)[::-1]  # fine to coarse
        layers: list[nn.Module] = [nn.Conv2d(2 * views, widths[0], 4, 2, 1, bias=True), nn.LeakyReLU(0.2, inplace=True)]
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.LeakyReLU(0.2, inplace=True)]
        if minibatch_std:
            layers.append(MinibatchStd())
        layers.append(nn.Conv2d(widths[-1] + int(minibatch_std), 1, 4, 1, 0, bias=True))
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(x.shape[0])
