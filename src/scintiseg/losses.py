"""Segmentation losses: BCE, soft Dice, Dice + BCE, and paper B's semi-supervised Chan-Vese loss.

Every loss takes the network's *logits* ``(B, 1, H, W)`` and a float target ``(B, 1, H, W)`` in
{0, 1}. The semi-supervised loss also takes the input image and a per-item ``labelled`` flag, so that
one batch can mix labelled and unlabelled images (paper B §2.4.2, Eq. 6):

    l = l_S(labelled items) + alpha(progress) * l_U(all items)

with ``l_U`` the Chan-Vese (piecewise-constant Mumford-Shah) functional of the soft mask, driven by the
image alone (Eq. 7; Kim & Ye 2019, ``jongcye/CNN_MumfordShah_Loss``).

Example::

    loss_fn = build_loss("chan_vese", alpha=0.4, nu=0.004, mu=0.0)
    total, parts = loss_fn(logits, target, image=images, labelled=flags, progress=epoch / epochs)
    total.backward()
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from scintiseg.errors import ScintisegError

#: Names accepted by :func:`build_loss` (and by ``scintiseg train --loss``).
LOSS_NAMES: tuple[str, ...] = ("bce", "dice", "dice_bce", "chan_vese")


def bce_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Pixel-wise binary cross-entropy on logits, averaged over every pixel of the batch."""
    return F.binary_cross_entropy_with_logits(logits.float(), target.float())


def dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0, batch: bool = True) -> torch.Tensor:
    """Soft Dice loss ``1 - (2 sum(p t) + s) / (sum(p) + sum(t) + s)`` with ``p = sigmoid(logits)``.

    Args:
        logits: ``(B, 1, H, W)`` network output before the sigmoid.
        target: ``(B, 1, H, W)`` binary target.
        smooth: the additive constant ``s`` in numerator and denominator; it keeps the loss defined
            (and near 0) for an image with no lesion and no prediction.
        batch: pool the sums over the whole batch (MONAI ``DiceLoss(batch=True)``), so that images
            without lesions do not dominate; False averages the per-image losses instead.

    Returns:
        a scalar tensor in [0, 1].
    """
    probs = torch.sigmoid(logits.float())
    target = target.float()
    dims = (0, 1, 2, 3) if batch else (1, 2, 3)
    intersection = (probs * target).sum(dims)
    total = probs.sum(dims) + target.sum(dims)
    return (1.0 - (2.0 * intersection + smooth) / (total + smooth)).mean()


def dice_bce_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """Soft Dice (batch-pooled) plus BCE, equally weighted (our choice; paper A does not state its loss)."""
    return dice_loss(logits, target, smooth=smooth) + bce_loss(logits, target)


def normalise_for_centroids(image: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Rescale each item and channel of ``image`` to [0, 1] (min-max) before the Chan-Vese data term.

    Counts are not normalised in the clinic (methods.md, Data), so without this step the data term
    (and therefore alpha) would scale with the square of each patient's count level. Min-max per item
    makes ``l_U`` invariant to that level and to the intensity normalisation chosen for the model input.
    """
    image = image.float()
    flat = image.flatten(2)
    low = flat.min(dim=2).values[..., None, None]
    high = flat.max(dim=2).values[..., None, None]
    return (image - low) / (high - low).clamp_min(eps)


def chan_vese_loss(
    logits: torch.Tensor,
    image: torch.Tensor,
    nu: float = 0.004,
    mu: float = 0.0,
    eps: float = 1e-6,
    reduce: bool = True,
) -> torch.Tensor:
    """Paper B's unsupervised loss l_U (Eq. 7): the Chan-Vese functional of the soft mask.

    ``l_U = mean_r[(g(r) - c1)^2 y(r) + (g(r) - c2)^2 (1 - y(r))] + nu * Length(y) + mu * Area(y)``

    where ``y = sigmoid(logits)`` is the soft lesion mask, ``g`` the image rescaled to [0, 1] per item
    and channel (:func:`normalise_for_centroids`), and ``c1``, ``c2`` the means of ``g`` inside and
    outside the soft mask, ``c1 = sum(g y) / sum(y)``, ``c2 = sum(g (1 - y)) / sum(1 - y)``, per item
    and channel (Kim & Ye's ``levelsetLoss``). The centroids are *not* detached: as in Kim & Ye the
    gradient flows through them too.

    Choices the paper leaves open (Eq. 7 was lost from the text):

    - every term is normalised per pixel (a mean instead of a sum) so that alpha = 0.4 and
      nu = 0.004 are meaningful at any image size; Kim & Ye use sums with a weight of 1e-6;
    - Length(y) is the anisotropic total variation ``mean(|dy/drow|) + mean(|dy/dcol|)`` of the soft
      mask (Kim & Ye's ``gradientLoss2d`` with L1 penalty);
    - Area(y) is ``mean(y)`` (weight mu, 0 in the paper: printed "u = 0");
    - for a multi-channel input (ANT + mirrored POST) the data term is averaged over channels.

    Args:
        logits: ``(B, 1, H, W)``.
        image: ``(B, C, H, W)`` the network input (any normalisation).
        nu: weight of the length term (paper B: 0.004).
        mu: weight of the area term (paper B: 0).
        eps: keeps the centroids defined when the soft mask is all 0 or all 1.
        reduce: average over the batch; False returns one value per item ``(B,)``.
    """
    if logits.shape[0] != image.shape[0] or logits.shape[-2:] != image.shape[-2:]:
        raise ScintisegError(f"Chan-Vese loss: logits {tuple(logits.shape)} and image {tuple(image.shape)} differ")
    y = torch.sigmoid(logits.float())
    g = normalise_for_centroids(image, eps=eps)
    inside_weight = y.sum(dim=(2, 3), keepdim=True)
    outside_weight = (1.0 - y).sum(dim=(2, 3), keepdim=True)
    c1 = (g * y).sum(dim=(2, 3), keepdim=True) / (inside_weight + eps)
    c2 = (g * (1.0 - y)).sum(dim=(2, 3), keepdim=True) / (outside_weight + eps)
    data = ((g - c1) ** 2 * y + (g - c2) ** 2 * (1.0 - y)).mean(dim=(1, 2, 3))
    length = _mean_abs_difference(y, dim=2) + _mean_abs_difference(y, dim=3)
    area = y.mean(dim=(1, 2, 3))
    per_item = data + nu * length + mu * area
    return per_item.mean() if reduce else per_item


def _mean_abs_difference(y: torch.Tensor, dim: int) -> torch.Tensor:
    """Per-item mean of ``|y[i+1] - y[i]|`` along ``dim`` (0 when that axis has one pixel)."""
    if y.shape[dim] < 2:
        return y.new_zeros(y.shape[0])
    return torch.diff(y, dim=dim).abs().mean(dim=(1, 2, 3))


def sigmoid_rampup(progress: float, rampup: float) -> float:
    """Weight in [0, 1] rising as ``exp(-5 (1 - p / rampup)^2)`` until ``progress = rampup`` (Laine & Aila 2017).

    Args:
        progress: fraction of training done (epoch / epochs), >= 0.
        rampup: the fraction of training over which the weight ramps up; 0 disables the ramp (weight 1).
    """
    if rampup <= 0:
        return 1.0
    phase = 1.0 - min(max(progress, 0.0), rampup) / rampup
    return float(math.exp(-5.0 * phase * phase))


_SUPERVISED: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "bce": bce_loss,
    "dice": dice_loss,
    "dice_bce": dice_bce_loss,
}


class SegmentationLoss(nn.Module):
    """One loss object for the training loop: supervised only, or paper B's ``l_S + alpha * l_U``.

    Args:
        name: ``"bce"``, ``"dice"``, ``"dice_bce"`` or ``"chan_vese"``.
        supervised: the supervised term l_S used by ``"chan_vese"``. Paper B's Eq. 8 was lost from
            the text; ``"dice_bce"`` (our default) copes with lesions that cover ~1 % of the image,
            ``"bce"`` is Kim & Ye's cross-entropy.
        alpha: weight of l_U (paper B: 0.4; where it multiplies is not stated, we use ``l_S + alpha l_U``).
        nu: length weight (paper B: 0.004).
        mu: area weight (paper B: 0).
        alpha_rampup: fraction of training over which alpha ramps up with a sigmoid schedule (0: off).

    Calling it with ``(logits, target, image=..., labelled=..., progress=...)`` returns
    ``(total, parts)``, ``parts`` a dict of floats (``supervised``, ``unsupervised``, ``alpha``).
    Items whose ``labelled`` flag is False contribute only l_U; their target is ignored. A batch
    without a labelled item has l_S = 0.
    """

    def __init__(
        self,
        name: str = "dice_bce",
        supervised: str = "dice_bce",
        alpha: float = 0.4,
        nu: float = 0.004,
        mu: float = 0.0,
        alpha_rampup: float = 0.0,
    ) -> None:
        super().__init__()
        if name not in LOSS_NAMES:
            raise ScintisegError(f"unknown loss {name!r} (choose from {', '.join(LOSS_NAMES)})")
        if (supervised if name == "chan_vese" else name) not in _SUPERVISED:
            raise ScintisegError(f"unknown supervised loss {supervised!r} (choose from {', '.join(_SUPERVISED)})")
        self.name = name
        self.supervised = supervised if name == "chan_vese" else name
        self.alpha, self.nu, self.mu, self.alpha_rampup = float(alpha), float(nu), float(mu), float(alpha_rampup)

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        image: torch.Tensor | None = None,
        labelled: torch.Tensor | None = None,
        progress: float = 1.0,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        if labelled is None:
            labelled = torch.ones(logits.shape[0], dtype=torch.bool, device=logits.device)
        labelled = labelled.to(device=logits.device, dtype=torch.bool)
        supervised_fn = _SUPERVISED[self.supervised]
        if bool(labelled.any()):
            supervised = supervised_fn(logits[labelled], target[labelled])
        else:
            supervised = logits.sum() * 0.0  # keeps the graph (and DDP's gradient hooks) connected
        parts = {"supervised": float(supervised.detach())}
        if self.name != "chan_vese":
            return supervised, parts
        if image is None:
            raise ScintisegError("the Chan-Vese loss needs the input image")
        weight = self.alpha * sigmoid_rampup(progress, self.alpha_rampup)
        unsupervised = chan_vese_loss(logits, image, nu=self.nu, mu=self.mu)
        parts.update(unsupervised=float(unsupervised.detach()), alpha=weight)
        return supervised + weight * unsupervised, parts


def build_loss(name: str, **kwargs) -> SegmentationLoss:
    """The :class:`SegmentationLoss` called ``name`` (see :data:`LOSS_NAMES`) with its keyword options."""
    return SegmentationLoss(name, **kwargs)


class RegionLoss(nn.Module):
    """The loss of the skeleton-region network (issue 15): cross-entropy + soft Dice over the classes.

    Logits ``(B, K, H, W)``, target ``(B, 1, H, W)`` holding class ids (as floats, the datasets' format).
    ``loss = CE + (1 - mean soft Dice over the classes present in the batch's target)``, the DiceCE pairing
    nnU-Net trains with (Isensee et al. 2021). Choices: the Dice is pooled over the batch (a class absent
    from one window still counts where it appears in another); classes absent from the whole batch are left
    out of the mean (their Dice would be 0/0); background (class 0) counts like any class, since telling
    bone from soft tissue is half of the map. Called like :class:`SegmentationLoss` (``image``,
    ``labelled`` and ``progress`` are accepted and ignored) and returns ``(total, {"supervised": total})``.
    """

    def __init__(self, smooth: float = 1.0) -> None:
        super().__init__()
        self.smooth = float(smooth)

    def forward(self, logits: torch.Tensor, target: torch.Tensor, image: torch.Tensor | None = None,
                labelled: torch.Tensor | None = None, progress: float = 1.0) -> tuple[torch.Tensor, dict[str, float]]:
        classes = logits.shape[1]
        ids = target[:, 0].long().clamp_(0, classes - 1)
        ce = F.cross_entropy(logits, ids)
        probability = torch.softmax(logits, dim=1)
        one_hot = F.one_hot(ids, classes).permute(0, 3, 1, 2).to(probability.dtype)
        intersection = (probability * one_hot).sum(dim=(0, 2, 3))
        total = probability.sum(dim=(0, 2, 3)) + one_hot.sum(dim=(0, 2, 3))
        present = one_hot.sum(dim=(0, 2, 3)) > 0
        dice = (2 * intersection + self.smooth) / (total + self.smooth)
        loss = ce + (1.0 - dice[present].mean())
        return loss, {"supervised": float(loss.detach())}
