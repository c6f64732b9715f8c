"""Supervised segmentation losses on logits: pixel-wise BCE, soft Dice, and Dice + BCE.

Every loss takes the network's *logits* ``(B, 1, H, W)`` and a float target ``(B, 1, H, W)`` in {0, 1}, and
computes in float32 whatever the logits' dtype (bfloat16 under autocast).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bce_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Pixel-wise binary cross-entropy on logits, averaged over every pixel of the batch."""
    return F.binary_cross_entropy_with_logits(logits.float(), target.float())


def dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0, batch: bool = True) -> torch.Tensor:
    """Soft Dice loss ``1 - (2 sum(p t) + s) / (sum(p) + sum(t) + s)`` with ``p = sigmoid(logits)``.

    For one-channel logits this is MONAI's ``DiceLoss(sigmoid=True, batch=batch, smooth_nr=smooth,
    smooth_dr=smooth)``: value and gradient agree to float32 rounding, for both ``batch`` settings and the
    training's shapes (tests/losses/test_supervised.py). It is kept here rather than calling MONAI because
    importing ``monai.losses`` (and with it matplotlib) more than doubles the time ``import scintiseg.losses``
    takes (5.7 s -> 12.4 s on two busy cores, session 64), and because the two differ in the last bits of the
    gradient (relative 3e-7), so a run would no longer repeat an earlier one exactly; ours also casts bfloat16
    logits to float32 before the sums.

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
