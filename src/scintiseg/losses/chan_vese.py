"""Paper B's unsupervised loss l_U: the Chan-Vese (piecewise-constant Mumford-Shah) functional of the soft mask.

Paper B trains on a batch that mixes labelled and unlabelled images (paper B §2.4, Eqs. 6-8):

    l = l_S(labelled items) + alpha(progress) * l_U(all items)

with ``l_U`` the Chan-Vese functional of the soft mask, driven by the image alone (Eq. 7; Kim & Ye 2019,
``jongcye/CNN_MumfordShah_Loss``), :func:`chan_vese_loss`. Eq. 6 itself is the unweighted sum ``l_S + l_U``; the
text assigns alpha = 0.4 to "Eqs. 7, 8" without saying where it multiplies (Eqs. 7 and 8 were lost from the text).
We read it as the weight of the whole of Eq. 7 [choice: the semi-supervised reading of Kim & Ye, whose loss is
``l_S + lambda l_U``]; :class:`~scintiseg.losses.segmentation.SegmentationLoss` makes the sum.

**The regularisers** (session 63). Chan & Vese (2001, Eq. 3) write their energy
``mu Length(C) + nu Area(inside C) + lambda_1 ... + lambda_2 ...``: mu weights the length, nu the area. Paper B
defines only ``Area(.)`` ("the area inside the curve, ... defined by Chan and Vese (2001)") and prints
"v = 0.004, and u = 0": in that notation an area weight of 0.004 and no length term
(:data:`PAPER_B_AREA_WEIGHT`, :data:`PAPER_B_LENGTH_WEIGHT`). Until session 62 the weights were read the other
way round (0.004 on the length, following the methods digest); the configuration's old keys ``nu`` (then the
length weight) and ``mu`` (then the area weight) are read for what they meant
(:class:`scintiseg.train.config.TrainConfig`). Either term is below 1 % of ``l_U`` at these weights
(docs/training.md, "Chan-Vese loss").
"""

from __future__ import annotations

import torch

from scintiseg.errors import ScintisegError

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
