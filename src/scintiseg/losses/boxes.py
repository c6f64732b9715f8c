"""Losses of items labelled by boxes instead of outlines: a reader's hot-spot boxes, BS-80K's Pascal VOC
``Abnormal`` / ``Normal``.

Such an item's target holds :data:`BOX_LESION` inside each lesion box and :data:`BOX_IGNORE` where nothing is
known, and :func:`box_loss` (the box tightness prior of Hsu et al. 2019, with BoxInst's pairwise term,
:func:`box_pairwise_loss`) takes the place of the supervised loss l_S for it
(:class:`~scintiseg.losses.segmentation.SegmentationLoss`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from scipy import ndimage as ndi

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
    most probable pixel should be lesion. The loss is
    :func:`~scintiseg.losses.supervised.dice_bce_loss`'s, batch-pooled, over the known pixels (targets ``0``
    and ``1``) together with one value per bag, its largest logit, whose target is 1.
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
        smooth: the Dice's additive constant (:func:`~scintiseg.losses.supervised.dice_loss`).
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
