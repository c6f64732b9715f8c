"""Segmentation metrics of both papers: DSC, Recall, CPA (precision), IoU; lesion-level detection.

Pixel metrics (paper A §3.1, Eqs. (1)-(3); paper B's Eqs. 10-12 are lost from its text)::

    DSC = 2 TP / (2 TP + FP + FN)    Recall = TP / (TP + FN)    CPA = TP / (TP + FP)    IoU = TP / (TP + FP + FN)

Two ways of summarising a test set, which differ when lesion sizes vary (neither paper says which it
used; we report both):

- **pooled**: TP, FP, FN summed over every pixel of every test image, then one score;
- **per image**: one score per image, then the mean.

How an image counts when a denominator is zero (per image only):

- an image with **no lesion and no prediction** scores ``empty_score`` (default 1.0: a correct
  "nothing here") on all four metrics;
- otherwise a metric whose denominator is zero is *undefined* (NaN) and left out of the mean: Recall
  of an image without lesions (it has predictions, so its DSC, IoU and CPA are 0), CPA of an image
  with lesions but no prediction (its Recall, DSC and IoU are 0).

Lesion-level detection: lesions and predicted components are the 8-connected components of the masks
(scikit-image ``label``); touching lesions are one lesion. A predicted component **counts** only when at least
:data:`MIN_COMPONENT_PRECISION` (10 %) of its own pixels lie in true lesions (a precision criterion on the component,
``>=``: 1 pixel of 10 counts, 1 of 11 does not). A component that counts is no false positive;
every other component is one, and detects nothing, even where it touches a lesion (session 74: before, touching was
enough, so a prediction of every pixel scored sensitivity 1 and no false positive, and a flooded, untrained network
ranked as the best detector). A true lesion is *detected* when the pixels of the counting components inside it are
more than ``min_overlap`` of its pixels (strictly; default 0: one pixel). What counts in the two shapes between:

- **merged** (one component over two lesions): its share is its pixels in either lesion over all its pixels; when it
  counts, it detects each lesion it covers by more than ``min_overlap``, so both (a reader sees both marked; the
  pixel metrics, not this count, carry the outline's quality);
- **split** (one lesion under two components): each component's share is its own; the lesion is detected once
  (``detected`` counts lesions, not components), by the pixels of the counting ones together, and none of the counting
  ones is a false positive; one under the share is a false positive beside it.

A component that counts but touches only lesions it covers by ``min_overlap`` or less is neither a hit nor a false
positive (as before). ``min_precision=0`` restores the old rule (a component counts when it touches a lesion).
This is what ``scintiseg evaluate`` counts, against the *visible* lesions of the masks (labels);
``benchmarks/bench_wholebody.py`` counts per lesion instance, and calls a call touching any true lesion, visible or not,
no false positive, so its false positives per view are not this function's (session 62: the docs quoted the two as one
measure).

**Input.** Every pixel and detection metric takes *binary* masks, a prediction and its target alike: a NumPy array
or a torch tensor of shape (H, W), (N, H, W) or (N, 1, H, W), holding bool, 0/1 (any numeric dtype), or 0/255 (an
integer dtype: an 8-bit mask image as read from a PNG, 255 = lesion, the reading of
:func:`scintiseg.io.images.read_mask_png`; a float 255 is refused, it is more likely an intensity than a mask). Anything
else is refused with a :class:`~scintiseg.errors.ScintisegError` naming the argument and a value it holds: a
probability map or logits used to count every pixel that is not exactly 0 as lesion (a map of probabilities 0.01
and 0.9 scored DSC 0.05 where its 0.5-threshold mask scores 0.64), and an (N, C, H, W) stack with C > 1 used to be
scored on its first channel only (API audit, session 74). The metrics take no ``threshold=`` argument [choice]: the
threshold is a setting of the model (``TrainConfig.threshold``, ``PredictSettings.threshold``) that every caller in
the package already applies, probabilities and logits need different ones (0.5 and 0), and one more threshold here
could score other masks than the ones a run reports. Threshold first: ``dsc(probability > 0.5, truth)``.

Example::

    counts = confusion_counts(predictions, targets)          # (N, 4) TP FP FN TN
    summary = summarise(counts)                              # {"pooled": {...}, "per_image": {...}}
    det = lesion_detection(predictions, targets)             # sensitivity, fp_per_image, ...
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
from numpy.typing import ArrayLike
from skimage.measure import label as label_components

from scintiseg.errors import ScintisegError

__all__ = [
    "METRIC_NAMES", "MIN_COMPONENT_PRECISION",
    "confusion_counts", "scores_from_counts", "per_image_scores", "pooled_scores", "summarise",
    "dsc", "recall", "cpa", "iou", "lesion_detection", "mean_std",
    "class_confusion", "confusion_overlap", "class_overlap", "class_dice",
]

#: The four pixel metrics, in the order tables print them.
METRIC_NAMES: tuple[str, ...] = ("dsc", "recall", "cpa", "iou")

#: Least share of a predicted component's pixels that must lie in true lesions for it to count (detect the lesions
#: it touches, and be no false positive). 10 %: an outline up to ten times its lesion's area still counts (a disc
#: about 3.2 times the lesion's radius, a margin far wider than a trained network's blur; a one-pixel lesion under a
#: 3 x 3 blob is 11 %), while a flood of the image (lesions cover well under 1 % of a crop's pixels) or a blob mostly
#: over the bladder or an injection site does not. Neither paper states a detection criterion; this one is ours.
MIN_COMPONENT_PRECISION: float = 0.1


def _as_bool_stack(masks: ArrayLike, name: str = "masks") -> np.ndarray:
    """``(N, H, W)`` bool from binary masks of shape (H, W), (N, H, W) or (N, 1, H, W) (module docstring, "Input").

    Raises:
        ScintisegError: another shape (a channel axis of more than one channel among them), or a value that is no
            mask value (a probability, a logit, a label id other than 1); ``name`` says which argument.
    """
    if hasattr(masks, "detach"):  # a torch tensor: bfloat16 has no NumPy dtype, so floats go through float32
        masks = masks.detach().cpu()
        masks = (masks.float() if masks.is_floating_point() else masks).numpy()
    array = np.asarray(masks)
    if array.ndim == 2:
        array = array[None]
    if array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 3:
        channels = (f": {array.shape[1]} channels, where the metrics score one lesion mask per image (pass that "
                    "channel, or class map == lesion id)") if array.ndim == 4 else ""
        raise ScintisegError(f"{name} must have shape (H, W), (N, H, W) or (N, 1, H, W), got {array.shape}{channels}")
    if array.dtype == bool:
        return array
    if array.dtype.kind not in "uif":
        raise ScintisegError(f"{name} must be a binary mask (bool, 0/1 or 0/255), got dtype {array.dtype}")
    background = array == 0
    lesion = array == 1
    if (background | lesion).all():
        return lesion
    if array.dtype.kind in "ui":
        full = array == 255  # an 8-bit mask image: 255 = lesion
        if (background | full).all():
            return full
        if (background | lesion | full).all():
            raise ScintisegError(f"{name} mixes 1 and 255: a mask is 0/1 or 0/255, not both")
    odd = array[~(background | lesion)].flat[0].item()
    raise ScintisegError(
        f"{name} holds {f'{odd:.4g}' if isinstance(odd, float) else odd} ({array.dtype}), not a binary mask (bool, 0/1, or 0/255 integers): threshold "
        "probabilities (p > 0.5) or logits (> 0) first"
    )


def confusion_counts(prediction: ArrayLike, target: ArrayLike) -> np.ndarray:
    """Per-image pixel counts ``(N, 4)`` int64: columns TP, FP, FN, TN, of binary masks (module docstring, "Input")."""
    pred = _as_bool_stack(prediction, "prediction")
    truth = _as_bool_stack(target, "target")
    if pred.shape != truth.shape:
        raise ScintisegError(f"prediction {pred.shape} and target {truth.shape} differ in shape")
    tp = (pred & truth).sum(axis=(1, 2))
    fp = (pred & ~truth).sum(axis=(1, 2))
    fn = (~pred & truth).sum(axis=(1, 2))
    tn = (~pred & ~truth).sum(axis=(1, 2))
    return np.stack([tp, fp, fn, tn], axis=1).astype(np.int64)


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator > 0 else math.nan


def scores_from_counts(tp: float, fp: float, fn: float) -> dict[str, float]:
    """DSC, Recall, CPA, IoU from counts; NaN where a denominator is zero (no empty-image rule)."""
    return {
        "dsc": _ratio(2 * tp, 2 * tp + fp + fn),
        "recall": _ratio(tp, tp + fn),
        "cpa": _ratio(tp, tp + fp),
        "iou": _ratio(tp, tp + fp + fn),
    }


def per_image_scores(counts: np.ndarray, empty_score: float = 1.0) -> dict[str, np.ndarray]:
    """Scores per image from ``(N, 4)`` counts, with the empty-image rule of the module docstring."""
    counts = np.asarray(counts, dtype=np.int64).reshape(-1, 4)
    out = {name: np.empty(len(counts)) for name in METRIC_NAMES}
    for i, (tp, fp, fn, _tn) in enumerate(counts):
        empty = tp + fp + fn == 0
        scores = {n: empty_score for n in METRIC_NAMES} if empty else scores_from_counts(tp, fp, fn)
        for name in METRIC_NAMES:
            out[name][i] = scores[name]
    return out


def pooled_scores(counts: np.ndarray) -> dict[str, float]:
    """Scores of the counts summed over all images (NaN only if a denominator is zero over the whole set)."""
    tp, fp, fn, _tn = np.asarray(counts, dtype=np.int64).reshape(-1, 4).sum(axis=0)
    return scores_from_counts(tp, fp, fn)


def summarise(counts: np.ndarray, empty_score: float = 1.0) -> dict[str, dict[str, float]]:
    """``{"pooled": {metric: value}, "per_image": {metric: nan-mean}}`` of ``(N, 4)`` counts."""
    per_image = per_image_scores(counts, empty_score=empty_score)
    means = {}
    for name, values in per_image.items():
        finite = values[~np.isnan(values)]
        means[name] = float(finite.mean()) if finite.size else math.nan
    return {"pooled": pooled_scores(counts), "per_image": means}


def dsc(prediction: ArrayLike, target: ArrayLike) -> float:
    """Pooled Dice similarity coefficient of binary masks (all images together)."""
    return pooled_scores(confusion_counts(prediction, target))["dsc"]


def recall(prediction: ArrayLike, target: ArrayLike) -> float:
    """Pooled Recall = TP / (TP + FN)."""
    return pooled_scores(confusion_counts(prediction, target))["recall"]


def cpa(prediction: ArrayLike, target: ArrayLike) -> float:
    """Pooled class pixel accuracy (precision) = TP / (TP + FP), paper A Eq. (3). Paper B's own definition (its
    Eq. 11) is lost from its text, whose symbol list also names TN; we take paper A's, which needs none."""
    return pooled_scores(confusion_counts(prediction, target))["cpa"]


def iou(prediction: ArrayLike, target: ArrayLike) -> float:
    """Pooled intersection over union = TP / (TP + FP + FN)."""
    return pooled_scores(confusion_counts(prediction, target))["iou"]


def lesion_detection(prediction: ArrayLike, target: ArrayLike, min_overlap: float = 0.0,
                     min_precision: float = MIN_COMPONENT_PRECISION) -> dict[str, float]:
    """Lesion-level detection from connected components (8-connectivity), the rule of the module docstring.

    Args:
        prediction: binary masks, (H, W), (N, H, W) or (N, 1, H, W) (module docstring, "Input").
        target: binary masks of the same shape.
        min_overlap: a true lesion counts as detected when the pixels of counting components inside it exceed
            this fraction of its area (0: any such pixel).
        min_precision: a predicted component counts when at least this share of its pixels lies in true lesions
            (default :data:`MIN_COMPONENT_PRECISION`; 0: when it touches one, the rule before session 74).

    Raises:
        ScintisegError: masks that are not binary or differ in shape, ``min_precision`` outside 0 to 1.

    Returns:
        ``lesions`` (true lesions), ``detected``, ``sensitivity`` (detected / lesions, NaN if none),
        ``predicted`` (predicted components), ``false_positives`` (predicted components that do not count:
        touching no true lesion, or under ``min_precision``), ``fp_per_image`` and ``images``.

    Example::

        truth = np.zeros((64, 64), bool); truth[10:14, 10:14] = True
        lesion_detection(np.ones_like(truth), truth)["false_positives"]   # 1: a flood is 0.4 % lesion
    """
    if not 0.0 <= min_precision <= 1.0:
        raise ScintisegError(f"min_precision is a share of a component's pixels, 0 to 1, got {min_precision}")
    preds = _as_bool_stack(prediction, "prediction")
    truths = _as_bool_stack(target, "target")
    if preds.shape != truths.shape:
        raise ScintisegError(f"prediction {preds.shape} and target {truths.shape} differ in shape")
    lesions = detected = predicted = false_positives = 0
    for pred, truth in zip(preds, truths):
        truth_labels, n_truth = label_components(truth, connectivity=2, return_num=True)
        pred_labels, n_pred = label_components(pred, connectivity=2, return_num=True)
        lesions += n_truth
        predicted += n_pred
        size = np.bincount(pred_labels.ravel(), minlength=n_pred + 1)
        inside = np.bincount(pred_labels[truth].ravel(), minlength=n_pred + 1)
        counts = (inside > 0) & (inside >= min_precision * size)
        counts[0] = False  # the background label
        false_positives += n_pred - int(counts.sum())
        if n_truth:
            area = np.bincount(truth_labels.ravel(), minlength=n_truth + 1)[1:]
            hit = np.bincount(truth_labels[counts[pred_labels]].ravel(), minlength=n_truth + 1)[1:]
            detected += int(((hit > 0) & (hit > min_overlap * area)).sum())
    images = len(preds)
    return {
        "lesions": lesions,
        "detected": detected,
        "sensitivity": _ratio(detected, lesions),
        "predicted": predicted,
        "false_positives": false_positives,
        "fp_per_image": _ratio(false_positives, images),
        "images": images,
    }


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1; 0 for one value) of the finite values, e.g. over runs."""
    array = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if array.size == 0:
        return math.nan, math.nan
    return float(array.mean()), float(array.std(ddof=1)) if array.size > 1 else 0.0


def class_confusion(prediction, target, classes: int) -> np.ndarray:
    """``(classes, classes)`` pixel counts: row = the target's class id, column = the prediction's.

    ``prediction`` and ``target`` are integer label maps of one shape (any number of images), ids 0 to
    ``classes - 1``; pooled over all their pixels. Sum several to pool over more images.
    """
    prediction = np.asarray(prediction).ravel().astype(np.int64)
    target = np.asarray(target).ravel().astype(np.int64)
    if prediction.shape != target.shape:
        raise ScintisegError(f"prediction and target differ in size: {prediction.size} vs {target.size}")
    return np.bincount(target * classes + prediction, minlength=classes * classes).reshape(classes, classes)


def confusion_overlap(joint: np.ndarray) -> np.ndarray:
    """``(classes, 3)`` true positives, false positives, false negatives of each class from a :func:`class_confusion`."""
    joint = np.asarray(joint)
    tp = np.diag(joint)
    return np.stack([tp, joint.sum(axis=0) - tp, joint.sum(axis=1) - tp], axis=1)


def class_overlap(prediction, target, classes: int) -> np.ndarray:
    """``(classes, 3)`` counts (true positives, false positives, false negatives) of each class id.

    ``prediction`` and ``target`` are integer label maps of one shape (any number of images); pooled over
    all their pixels. Sum the counts of several calls to pool over more images.
    """
    return confusion_overlap(class_confusion(prediction, target, classes))


def class_dice(counts: np.ndarray) -> np.ndarray:
    """Dice of each class from :func:`class_overlap` counts; NaN for a class absent from both maps."""
    counts = np.asarray(counts, dtype=np.float64)
    tp, fp, fn = counts[:, 0], counts[:, 1], counts[:, 2]
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * tp / denominator, np.nan)
