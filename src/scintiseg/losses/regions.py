"""The loss of the skeleton-region network (issue 15): cross-entropy + soft Dice over the bone-region classes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

class RegionLoss(nn.Module):
    """The loss of the skeleton-region network (issue 15): cross-entropy + soft Dice over the classes.

    Logits ``(B, K, H, W)``, target ``(B, 1, H, W)`` holding class ids (as floats, the datasets' format).
    ``loss = CE + (1 - mean soft Dice over the classes present in the batch's target)``, the DiceCE pairing
    nnU-Net trains with (Isensee et al. 2021). Choices: the Dice is pooled over the batch (a class absent
    from one window still counts where it appears in another); classes absent from the whole batch are left
    out of the mean (their Dice would be 0/0); background (class 0) counts like any class, since telling
    bone from soft tissue is half of the map. Called like
    :class:`~scintiseg.losses.segmentation.SegmentationLoss` (``image``, ``labelled`` and ``progress`` are
    accepted and ignored) and returns ``(total, {"supervised": total})``.
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
