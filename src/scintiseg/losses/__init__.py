"""Segmentation losses: BCE, soft Dice, Dice + BCE, the losses of box labels, paper B's semi-supervised
Chan-Vese loss, and the region network's loss. One family per module:

- :mod:`~scintiseg.losses.supervised`: :func:`bce_loss`, :func:`dice_loss`, :func:`dice_bce_loss`;
- :mod:`~scintiseg.losses.boxes`: items labelled by boxes instead of outlines, :func:`box_loss` (Hsu et al.'s
  box tightness prior) and :func:`box_pairwise_loss` (BoxInst), their target values :data:`BOX_LESION`,
  :data:`BOX_IGNORE`;
- :mod:`~scintiseg.losses.chan_vese`: paper B's unsupervised loss :func:`chan_vese_loss` (Eq. 7), its reading
  of alpha and of "v = 0.004, and u = 0" ("The regularisers": :data:`PAPER_B_AREA_WEIGHT`,
  :data:`PAPER_B_LENGTH_WEIGHT`);
- :mod:`~scintiseg.losses.segmentation`: :class:`SegmentationLoss`, the one loss object of the training loop
  (supervised only, or paper B's ``l_S + alpha(progress) * l_U``), built by name with :func:`build_loss`;
- :mod:`~scintiseg.losses.regions`: :class:`RegionLoss`, the skeleton-region network's cross-entropy + Dice.

Every segmentation loss takes the network's *logits* ``(B, 1, H, W)`` and a float target ``(B, 1, H, W)`` in
{0, 1} (or box values, :mod:`~scintiseg.losses.boxes`); paper B's also takes the input image and a per-item
``labelled`` flag, so that one batch can mix labelled and unlabelled images.

Example::

    loss_fn = build_loss("chan_vese", alpha=0.4, area_weight=0.004, length_weight=0.0)
    total, parts = loss_fn(logits, target, image=images, labelled=flags, progress=epoch / epochs)
    total.backward()
"""

from scintiseg.losses.boxes import (
    BOX_IGNORE,
    BOX_LESION,
    MIN_BAG_SHARE,
    PAIR_OFFSETS,
    PAIR_SIMILARITY,
    box_loss,
    box_pairwise_loss,
    has_boxes,
)
from scintiseg.losses.chan_vese import PAPER_B_AREA_WEIGHT, PAPER_B_LENGTH_WEIGHT, chan_vese_loss, normalise_for_centroids
from scintiseg.losses.regions import RegionLoss
from scintiseg.losses.segmentation import LOSS_NAMES, SegmentationLoss, build_loss, sigmoid_rampup
from scintiseg.losses.supervised import bce_loss, dice_bce_loss, dice_loss

__all__ = [
    "BOX_IGNORE",
    "BOX_LESION",
    "LOSS_NAMES",
    "MIN_BAG_SHARE",
    "PAIR_OFFSETS",
    "PAIR_SIMILARITY",
    "PAPER_B_AREA_WEIGHT",
    "PAPER_B_LENGTH_WEIGHT",
    "RegionLoss",
    "SegmentationLoss",
    "bce_loss",
    "box_loss",
    "box_pairwise_loss",
    "build_loss",
    "chan_vese_loss",
    "dice_bce_loss",
    "dice_loss",
    "has_boxes",
    "normalise_for_centroids",
    "sigmoid_rampup",
]
