"""Differentiable augmentation of D's inputs for small data sets (Zhao et al. 2020, "Differentiable
Augmentation for Data-Efficient GAN Training", policy ``translation,cutout``).

With a few dozen real crops D memorises the training images within a few hundred steps (D(x) -> 1,
D(G(z)) -> 0) and G gets no useful gradient. DiffAugment applies the *same kind* of random,
differentiable transform to every image D sees — real and generated, in D's and in G's step — so D
cannot memorise exact images while G still learns the un-augmented distribution (the transforms are not
applied to G's output outside D).

Following the reference code (mit-han-lab/data-efficient-gans ``DiffAugment_pytorch.py``):
translation by up to 1/8 of the size in each direction, filling with "empty" (image channels -1 = zero
counts, mask channels 0); cutout of one square of half the size, filled the same way. Off by default
(``diff_augment: none``) so that ``k``-only runs reproduce paper B's plain DCGAN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def _empty_like(x: torch.Tensor, views: int) -> torch.Tensor:
    fill = torch.zeros_like(x)
    fill[:, :views] = -1.0
    return fill


def translate(x: torch.Tensor, views: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image by a random integer offset (up to 1/8 of its size), filling with empty."""
    n, _, h, w = x.shape
    pad = max(1, int(h * TRANSLATION_RATIO))
    fill = _empty_like(x, views)
    padded = F.pad(x - fill, (pad, pad, pad, pad)) + F.pad(fill, (pad, pad, pad, pad), mode="replicate")
    offsets = torch.randint(0, 2 * pad + 1, (n, 2), generator=generator)
    return torch.stack([padded[i, :, oy : oy + h, ox : ox + w] for i, (oy, ox) in enumerate(offsets.tolist())])


def cutout(x: torch.Tensor, views: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Blank one random square of half the image size per image (set to empty)."""
    n, _, h, w = x.shape
    size = int(h * CUTOUT_RATIO)
    centres = torch.randint(0, h, (n, 2), generator=generator)
    yy, xx = torch.arange(h).view(1, h, 1), torch.arange(w).view(1, 1, w)
    cy, cx = centres[:, 0].view(n, 1, 1), centres[:, 1].view(n, 1, 1)
    keep = ((yy - cy).abs() >= size // 2) | ((xx - cx).abs() >= size // 2)
    keep = keep[:, None].to(x.dtype)
    return x * keep + _empty_like(x, views) * (1 - keep)


def diff_augment(x: torch.Tensor, policy: str, views: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply ``policy`` (``none``, ``translation``, ``translation,cutout``) to a batch of D inputs."""
    for name in [p for p in policy.split(",") if p and p != "none"]:
        if name == "translation":
            x = translate(x, views, generator)
        elif name == "cutout":
            x = cutout(x, views, generator)
        else:
            raise ValueError(f"unknown DiffAugment op {name!r}")
    return x
