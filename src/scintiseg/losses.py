"""Segmentation losses: BCE, soft Dice, Dice + BCE, and paper B's semi-supervised Chan-Vese loss.

Every loss takes the network's *logits* ``(B, 1, H, W)`` and a float target ``(B, 1, H, W)`` in
{0, 1}. The semi-supervised loss also takes the input image and a per-item ``labelled`` flag, so that
one batch can mix labelled and unlabelled images (paper B §2.4, Eqs. 6-8):

    l = l_S(labelled items) + alpha(progress) * l_U(all items)

with ``l_U`` the Chan-Vese (piecewise-constant Mumford-Shah) functional of the soft mask, driven by the
image alone (Eq. 7; Kim & Ye 2019, ``jongcye/CNN_MumfordShah_Loss``). Eq. 6 itself is the unweighted sum
``l_S + l_U``; the text assigns alpha = 0.4 to "Eqs. 7, 8" without saying where it multiplies (Eqs. 7 and 8
were lost from the text). We read it as the weight of the whole of Eq. 7 [choice: the semi-supervised
reading of Kim & Ye, whose loss is ``l_S + lambda l_U``].

**The regularisers** (session 63). Chan & Vese (2001, Eq. 3) write their energy
``mu Length(C) + nu Area(inside C) + lambda_1 ... + lambda_2 ...``: mu weights the length, nu the area. Paper B
defines only ``Area(.)`` ("the area inside the curve, ... defined by Chan and Vese (2001)") and prints
"v = 0.004, and u = 0": in that notation an area weight of 0.004 and no length term
(:data:`PAPER_B_AREA_WEIGHT`, :data:`PAPER_B_LENGTH_WEIGHT`). Until session 62 the weights were read the other
way round (0.004 on the length, following the methods digest); the configuration's old keys ``nu`` (then the
length weight) and ``mu`` (then the area weight) are read for what they meant
(:class:`scintiseg.train.config.TrainConfig`). Either term is below 1 % of ``l_U`` at these weights
(docs/training.md, "Chan-Vese loss").

A labelled item may also be labelled by **boxes** instead of outlines (a reader's hot-spot boxes, BS-80K's
Pascal VOC ``Abnormal`` / ``Normal``): its target then holds :data:`BOX_LESION` inside each lesion box and
:data:`BOX_IGNORE` where nothing is known, and :func:`box_loss` takes the place of ``l_S`` for it.

Example::

    loss_fn = build_loss("chan_vese", alpha=0.4, area_weight=0.004, length_weight=0.0)
    total, parts = loss_fn(logits, target, image=images, labelled=flags, progress=epoch / epochs)
    total.backward()
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from scipy import ndimage as ndi
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


#: Target value of a pixel inside a box a reader marked as holding a lesion (:func:`box_loss`): the lesion lies
#: somewhere in the box, the pixel's own label is unknown. Negative, so no interpolated {0, 1} mask can hold it;
#: geometric augmentation moves targets by the nearest pixel (:mod:`scintiseg.prepare.augment`), which keeps it.
BOX_LESION = -1.0
#: Target value of a pixel whose label is unknown and constrained by nothing (a box marked difficult, or of a
#: label that names neither a lesion nor a benign hot spot): no loss at all.
BOX_IGNORE = -2.0
#: A row or column of a lesion box shorter than this share of the box's longest is no bag of :func:`box_loss`.
MIN_BAG_SHARE = 0.5


def has_boxes(target: torch.Tensor) -> torch.Tensor:
    """``(B,)`` bool: which items of a ``(B, 1, H, W)`` target are labelled by boxes (hold a negative value)."""
    return (target < 0).flatten(1).any(dim=1)


#: Two pixels of a lesion box whose smoothed inputs differ by at most this share of the larger are "alike"
#: (:func:`box_pairwise_loss`).
PAIR_SIMILARITY = 0.2
#: The neighbours of :func:`box_pairwise_loss`: BoxInst's 3 x 3 neighbourhood at dilation 2, each pair once.
PAIR_OFFSETS = ((0, 2), (2, 0), (2, 2), (2, -2))


def _shifted_pair(tensor: torch.Tensor, dy: int, dx: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``tensor[..., y, x]`` and ``tensor[..., y + dy, x + dx]`` over every ``(y, x)`` where both exist."""
    height, width = tensor.shape[-2:]
    left, right = max(0, -dx), width - max(0, dx)
    return (tensor[..., 0:height - dy, left:right], tensor[..., dy:height, left + dx:right + dx])


def box_pairwise_loss(logits: torch.Tensor, target: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """BoxInst's pairwise term (Tian et al. 2021, CVPR, Eq. 3): two alike neighbouring pixels of a lesion box
    should take the same label, ``-log(p_i p_j + (1 - p_i)(1 - p_j))`` averaged over such pairs.

    [Choices for counts.] BoxInst calls two pixels alike by their colour distance in Lab; here by the model
    input's first channel smoothed over 3 x 3 pixels (a count image is noisy pixel by pixel): alike when the
    two differ by at most :data:`PAIR_SIMILARITY` of the larger, a relative measure as counts are (a lesion's
    edge doubles the count over a few pixels). Measured on the lesion boxes of 500 BS-80K-like 8-bit phantom
    crops (docs/own-data.md): 45 / 77 / 93 % of the pairs are alike at 0.1 / 0.2 / 0.3, so 0.2 leaves the
    steepest quarter, the hot spot's edge, free to change label. Pairs are taken where both pixels lie in lesion
    boxes (:data:`BOX_LESION`), the pixels whose label the rest of :func:`box_loss` leaves open.
    """
    smoothed = F.avg_pool2d(image[:, :1].float(), 3, stride=1, padding=1, count_include_pad=False)
    inside = target == BOX_LESION
    log_yes, log_no = F.logsigmoid(logits.float()), F.logsigmoid(-logits.float())
    losses = []
    for dy, dx in PAIR_OFFSETS:
        (yes_a, yes_b), (no_a, no_b) = _shifted_pair(log_yes, dy, dx), _shifted_pair(log_no, dy, dx)
        (in_a, in_b), (s_a, s_b) = _shifted_pair(inside, dy, dx), _shifted_pair(smoothed, dy, dx)
        alike = in_a & in_b & ((s_a - s_b).abs() <= PAIR_SIMILARITY * torch.maximum(s_a, s_b).clamp_min(1e-6))
        if bool(alike.any()):
            same = torch.logaddexp(yes_a + yes_b, no_a + no_b)
            losses.append(-same[alike])
    return torch.cat(losses).mean() if losses else logits.sum() * 0.0


def box_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0,
             image: torch.Tensor | None = None) -> torch.Tensor:
    """The loss of items labelled by boxes: the outlines' Dice + BCE, each box's rows and columns standing in
    for its unknown lesion pixels (the box tightness prior).

    The target is ``0`` (background: outside every lesion box, and inside benign boxes), ``1`` (an
    outline, where one is given), :data:`BOX_LESION` (inside a lesion box) or :data:`BOX_IGNORE` (no loss).

    The tightness prior of Hsu et al. (2019, "Weakly supervised instance segmentation using the bounding box
    tightness prior", NeurIPS), multiple-instance learning: a box drawn tightly around a lesion is crossed by
    the lesion on every row and every column, so each row and each column of the box is a positive bag whose
    most probable pixel should be lesion. The loss is :func:`dice_bce_loss`'s, batch-pooled, over the known
    pixels (targets ``0`` and ``1``) together with one value per bag, its largest logit, whose target is 1.
    [Choice: Hsu et al. add ``-log`` of each bag's maximum to a separate term, BoxInst (Tian et al. 2021,
    CVPR) a Dice of the mask's projections onto the axes, which is bounded; pooling the bags with the known
    pixels into the outlines' own Dice + BCE keeps the two kinds of label on one scale, and the Dice term
    weighs a false call outside the boxes against the boxes' lesions as it weighs a false call against an
    outline's lesion pixels. The first version, ``-log`` of the maxima plus a BCE averaged over the known
    pixels, called 3.5 times as many hot spots outside the boxes of new crops as adapting on outlines did
    (docs/own-data.md).]

    [Further choices.] A box is a connected region of :data:`BOX_LESION` pixels in the window (boxes that touch merge into one, whose bags are then the weaker constraint "a lesion on this row of
    either box"). A box that touches the window's edge gives no bags (the window or the augmentation may have
    cut its lesion off) but its pixels stay out of the background term. Rows and columns shorter than
    :data:`MIN_BAG_SHARE` of the box's longest are not bags: after the training's small rotations a box is no
    longer axis-aligned, and the rows that cross only a corner need not cross the lesion.

    With the input ``image``, BoxInst's pairwise term (:func:`box_pairwise_loss`) is added, weight 1 as in
    BoxInst: it asks the box's alike neighbours for one label, so the lesion the bags ask for follows its hot
    spot's edge instead of any shape that touches every row and column (docs/own-data.md: after the same four
    epochs, 0.15 calls outside the boxes per held-out crop with it, 0.22 without, and fewer lesions found).

    Args:
        logits: ``(B, 1, H, W)``.
        target: ``(B, 1, H, W)`` as above.
        smooth: the Dice's additive constant (:func:`dice_loss`).
        image: the ``(B, C, H, W)`` model input, for the pairwise term; None leaves it out.

    Returns:
        a scalar tensor (0 with a connected graph when nothing in the batch carries a loss).
    """
    logits = logits.float()
    known = (target == 0) | (target == 1)
    inside = (target[:, 0] == BOX_LESION).cpu().numpy()
    height, width = inside.shape[-2:]
    bags = []
    for item, mask in enumerate(inside):
        if not mask.any():
            continue
        labels, _ = ndi.label(mask)
        for number, where in enumerate(ndi.find_objects(labels), start=1):
            rows, cols = where
            if rows.start == 0 or cols.start == 0 or rows.stop == height or cols.stop == width:
                continue
            box = torch.from_numpy(labels[where] == number).to(logits.device)
            scores = logits[item, 0][where].masked_fill(~box, float("-inf"))
            for axis in (1, 0):  # each row's best pixel, then each column's
                length = box.sum(dim=axis)
                keep = length >= MIN_BAG_SHARE * length.max()
                bags.append(scores.amax(dim=axis)[keep])
    values = torch.cat([logits[known], *bags])
    if not len(values):
        return logits.sum() * 0.0
    truth = torch.cat([target[known].float(), torch.ones(len(values) - int(known.sum()), device=logits.device)])
    probs = torch.sigmoid(values)
    dice = 1.0 - (2.0 * (probs * truth).sum() + smooth) / (probs.sum() + truth.sum() + smooth)
    total = dice + F.binary_cross_entropy_with_logits(values, truth)
    return total if image is None else total + box_pairwise_loss(logits, target, image)


#: Paper B's "v = 0.004": Chan & Vese's nu, the weight of the area inside the curve (module docstring).
PAPER_B_AREA_WEIGHT = 0.004
#: Paper B's "u = 0": Chan & Vese's mu, the weight of the curve's length.
PAPER_B_LENGTH_WEIGHT = 0.0


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
    area_weight: float = PAPER_B_AREA_WEIGHT,
    length_weight: float = PAPER_B_LENGTH_WEIGHT,
    eps: float = 1e-6,
    reduce: bool = True,
) -> torch.Tensor:
    """Paper B's unsupervised loss l_U (Eq. 7): the Chan-Vese functional of the soft mask.

    ``l_U = mean_r[(g(r) - c1)^2 y(r) + (g(r) - c2)^2 (1 - y(r))] + nu * Area(y) + mu * Length(y)``

    with ``nu = area_weight`` and ``mu = length_weight`` in Chan & Vese's notation (module docstring, "The
    regularisers"; paper B: nu = 0.004, mu = 0).

    where ``y = sigmoid(logits)`` is the soft lesion mask, ``g`` the image rescaled to [0, 1] per item
    and channel (:func:`normalise_for_centroids`), and ``c1``, ``c2`` the means of ``g`` inside and
    outside the soft mask, ``c1 = sum(g y) / sum(y)``, ``c2 = sum(g (1 - y)) / sum(1 - y)``, per item
    and channel (Kim & Ye's ``levelsetLoss``). The centroids are *not* detached, as in Kim & Ye; being the
    y-weighted means, they minimise the data term, so the gradient through them is zero (measured: detaching them
    changes the gradient by under 1e-11) and only the soft mask's own gradient moves it.

    Choices the paper leaves open (Eq. 7 was lost from the text):

    - every term is normalised per pixel (a mean instead of a sum) so that alpha = 0.4 and
      nu = 0.004 are meaningful at any image size; Kim & Ye use sums with a weight of 1e-6;
    - Area(y) is ``mean(y)``, the soft mask's share of the image (weight nu: 0.004 in the paper);
    - Length(y) is the anisotropic total variation ``mean(|dy/drow|) + mean(|dy/dcol|)`` of the soft
      mask (Kim & Ye's ``gradientLoss2d`` with L1 penalty; weight mu, 0 in the paper: printed "u = 0");
    - for a multi-channel input (ANT + mirrored POST) the data term is averaged over channels.

    Args:
        logits: ``(B, 1, H, W)``.
        image: ``(B, C, H, W)`` the network input (any normalisation).
        area_weight: Chan & Vese's nu, the weight of Area(y) (paper B: 0.004).
        length_weight: Chan & Vese's mu, the weight of Length(y) (paper B: 0).
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
    per_item = data + area_weight * area + length_weight * length
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
        alpha: weight of l_U (paper B: 0.4, assigned to "Eqs. 7, 8" without saying where it multiplies; we
            use ``l_S + alpha l_U``: module docstring).
        area_weight: Chan & Vese's nu, the area weight of l_U (paper B: 0.004).
        length_weight: Chan & Vese's mu, the length weight of l_U (paper B: 0).
        alpha_rampup: fraction of training over which alpha ramps up with a sigmoid schedule (0: off).

    Calling it with ``(logits, target, image=..., labelled=..., progress=...)`` returns
    ``(total, parts)``, ``parts`` a dict of floats (``supervised``, ``unsupervised``, ``alpha``).
    Items whose ``labelled`` flag is False contribute only l_U; their target is ignored. A batch
    without a labelled item has l_S = 0. Labelled items whose target holds boxes (:func:`has_boxes`) take
    :func:`box_loss` instead of the supervised loss; l_S is then the mean of the two, weighted by their
    numbers of items [choice: a boxed window counts as much as an outlined one].
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
