"""The segmentation loss the training loop calls: supervised only, or paper B's ``l_S + alpha * l_U``.

:class:`SegmentationLoss` (built by name with :func:`build_loss`) takes the network's logits ``(B, 1, H, W)``, the
float target, and for paper B's loss the input image and a per-item ``labelled`` flag, so that one batch can mix
labelled and unlabelled images: ``l = l_S(labelled items) + alpha(progress) * l_U(all items)``, with ``l_U`` the
Chan-Vese loss and alpha read as the weight of the whole of it (:mod:`scintiseg.losses.chan_vese`). ``l_S`` is
one of :mod:`scintiseg.losses.supervised`'s losses, or :func:`~scintiseg.losses.boxes.box_loss` for the items
labelled by boxes (:mod:`scintiseg.losses.boxes`).
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from scintiseg.errors import ScintisegError
from scintiseg.losses.boxes import box_loss, has_boxes
from scintiseg.losses.chan_vese import PAPER_B_AREA_WEIGHT, PAPER_B_LENGTH_WEIGHT, chan_vese_loss
from scintiseg.losses.supervised import bce_loss, dice_bce_loss, dice_loss

#: Names accepted by :func:`build_loss` (and by ``scintiseg train --loss``).
LOSS_NAMES: tuple[str, ...] = ("bce", "dice", "dice_bce", "chan_vese")


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
        alpha: weight of l_U (paper B: 0.4, assigned to "Eqs. 7, 8" without saying where it multiplies; we
            use ``l_S + alpha l_U``: :mod:`scintiseg.losses.chan_vese`).
        area_weight: Chan & Vese's nu, the area weight of l_U (paper B: 0.004).
        length_weight: Chan & Vese's mu, the length weight of l_U (paper B: 0).
        alpha_rampup: fraction of training over which alpha ramps up with a sigmoid schedule (0: off).

    Calling it with ``(logits, target, image=..., labelled=..., progress=...)`` returns
    ``(total, parts)``, ``parts`` a dict of floats (``supervised``, ``unsupervised``, ``alpha``).
    Items whose ``labelled`` flag is False contribute only l_U; their target is ignored. A batch
    without a labelled item has l_S = 0. Labelled items whose target holds boxes
    (:func:`~scintiseg.losses.boxes.has_boxes`) take :func:`~scintiseg.losses.boxes.box_loss` instead of the
    supervised loss; l_S is then the mean of the two, weighted by their numbers of items [choice: a boxed window
    counts as much as an outlined one].
    """

    def __init__(
        self,
        name: str = "dice_bce",
        supervised: str = "dice_bce",
        alpha: float = 0.4,
        area_weight: float = PAPER_B_AREA_WEIGHT,
        length_weight: float = PAPER_B_LENGTH_WEIGHT,
        alpha_rampup: float = 0.0,
    ) -> None:
        super().__init__()
        if name not in LOSS_NAMES:
            raise ScintisegError(f"unknown loss {name!r} (choose from {', '.join(LOSS_NAMES)})")
        if (supervised if name == "chan_vese" else name) not in _SUPERVISED:
            raise ScintisegError(f"unknown supervised loss {supervised!r} (choose from {', '.join(_SUPERVISED)})")
        self.name = name
        self.supervised = supervised if name == "chan_vese" else name
        self.alpha, self.alpha_rampup = float(alpha), float(alpha_rampup)
        self.area_weight, self.length_weight = float(area_weight), float(length_weight)

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
        boxed = labelled & has_boxes(target)
        outlined = labelled & ~boxed
        supervised = logits.sum() * 0.0  # keeps the graph (and DDP's gradient hooks) connected
        if bool(boxed.any()):
            n_outlined, n_boxed = int(outlined.sum()), int(boxed.sum())
            if n_outlined:
                supervised = supervised + n_outlined * supervised_fn(logits[outlined], target[outlined])
            pairs = None if image is None else image[boxed]
            supervised = (supervised + n_boxed * box_loss(logits[boxed], target[boxed], image=pairs)) / (n_outlined + n_boxed)
        elif bool(labelled.any()):
            supervised = supervised_fn(logits[labelled], target[labelled])
        parts = {"supervised": float(supervised.detach())}
        if self.name != "chan_vese":
            return supervised, parts
        if image is None:
            raise ScintisegError("the Chan-Vese loss needs the input image")
        weight = self.alpha * sigmoid_rampup(progress, self.alpha_rampup)
        unsupervised = chan_vese_loss(logits, image, area_weight=self.area_weight, length_weight=self.length_weight)
        parts.update(unsupervised=float(unsupervised.detach()), alpha=weight)
        return supervised + weight * unsupervised, parts


def build_loss(name: str, **kwargs) -> SegmentationLoss:
    """The :class:`SegmentationLoss` called ``name`` (see :data:`LOSS_NAMES`) with its keyword options: the losses'
    constructor by name, the one training builds its loss with (``scintiseg train --loss``).

    Example::

        loss_fn = build_loss("chan_vese", supervised="dice_bce", alpha=0.4, alpha_rampup=0.1)
    """
    return SegmentationLoss(name, **kwargs)
