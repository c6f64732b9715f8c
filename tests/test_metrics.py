"""Tests for scintiseg.metrics: hand-computed values, MONAI cross-check, empty-image rule, detection."""

import math

import numpy as np
import pytest
import torch
from monai.metrics import DiceMetric

from scintiseg.metrics import (
    confusion_counts,
    cpa,
    dsc,
    iou,
    lesion_detection,
    mean_std,
    recall,
    summarise,
)


def _pair():
    target = np.zeros((10, 10), bool)
    target[2:6, 2:6] = True  # 16 px
    pred = np.zeros((10, 10), bool)
    pred[4:8, 2:6] = True  # 16 px, 8 overlap
    return pred, target


def test_hand_computed_pixel_metrics():
    pred, target = _pair()
    assert confusion_counts(pred, target).tolist() == [[8, 8, 8, 76]]
    assert dsc(pred, target) == pytest.approx(16 / 32)
    assert recall(pred, target) == pytest.approx(8 / 16)
    assert cpa(pred, target) == pytest.approx(8 / 16)
    assert iou(pred, target) == pytest.approx(8 / 24)


def test_dsc_matches_monai_per_image():
    rng = np.random.default_rng(0)
    pred = rng.random((4, 1, 12, 12)) > 0.6
    target = rng.random((4, 1, 12, 12)) > 0.7
    ours = summarise(confusion_counts(pred, target))["per_image"]["dsc"]
    metric = DiceMetric(include_background=True, reduction="mean")
    metric(torch.from_numpy(pred).float(), torch.from_numpy(target).float())
    assert ours == pytest.approx(metric.aggregate().item(), abs=1e-6)


def test_pooled_differs_from_per_image_and_empty_rule():
    pred, target = _pair()
    empty = np.zeros_like(pred)
    fp_only = np.zeros_like(pred)
    fp_only[0, 0] = True
    preds = np.stack([pred, empty, fp_only])
    targets = np.stack([target, empty, empty])
    summary = summarise(confusion_counts(preds, targets))
    # pooled: TP 8, FP 9, FN 8
    assert summary["pooled"]["dsc"] == pytest.approx(16 / 33)
    # per image DSC: 0.5, 1 (empty-empty), 0 (false positive on an empty image)
    assert summary["per_image"]["dsc"] == pytest.approx(0.5)
    # recall is undefined for the lesion-free image with a prediction -> excluded: (0.5 + 1) / 2
    assert summary["per_image"]["recall"] == pytest.approx(0.75)
    assert summarise(confusion_counts(preds, targets), empty_score=0.0)["per_image"]["dsc"] == pytest.approx(0.5 / 3)


def test_lesion_detection_counts_components():
    target = np.zeros((20, 20), bool)
    target[1:4, 1:4] = True  # lesion 1: detected
    target[10:14, 10:14] = True  # lesion 2: missed
    pred = np.zeros_like(target)
    pred[2:3, 2:6] = True  # touches lesion 1
    pred[17:19, 1:3] = True  # false positive
    result = lesion_detection(pred, target)
    assert result["lesions"] == 2 and result["detected"] == 1 and result["sensitivity"] == 0.5
    assert result["false_positives"] == 1 and result["fp_per_image"] == 1.0
    strict = lesion_detection(pred, target, min_overlap=0.5)  # only 2 of 9 pixels covered
    assert strict["detected"] == 0
    # diagonal neighbours are one component (8-connectivity)
    diag = np.zeros((5, 5), bool)
    diag[1, 1] = diag[2, 2] = True
    assert lesion_detection(diag, diag)["lesions"] == 1


def test_mean_std_over_runs():
    assert mean_std([1.0, 2.0, 3.0]) == pytest.approx((2.0, 1.0))
    assert mean_std([0.5]) == (0.5, 0.0)
    assert all(math.isnan(v) for v in mean_std([]))
    assert mean_std([0.5, float("nan"), 0.7]) == pytest.approx((0.6, math.sqrt(0.02)))  # NaN (undefined) skipped


def test_class_overlap_and_dice_per_class():
    from scintiseg.metrics import class_dice, class_overlap

    truth = np.array([[0, 1, 1, 2]])
    predicted = np.array([[0, 1, 2, 2]])
    counts = class_overlap(predicted, truth, 4)
    assert counts.tolist() == [[1, 0, 0], [1, 0, 1], [1, 1, 0], [0, 0, 0]]
    dice = class_dice(counts)
    assert dice[:3] == pytest.approx([1.0, 2 / 3, 2 / 3])
    assert np.isnan(dice[3])  # absent from both maps: undefined, not perfect


def test_cpa_is_tp_over_predicted_and_recall_tp_over_true_when_fp_and_fn_differ():
    """Paper A Eq. (3): CPA = TP / (TP + FP), the share of the predicted pixels that are lesion; Recall = TP / (TP + FN).
    _pair() has FP = FN, where the two cannot be told apart; here they differ."""
    target = np.zeros((10, 10), bool)
    target[2:6, 2:6] = True  # 16 px
    pred = np.zeros_like(target)
    pred[2:6, 2:4] = True  # 8 px, all inside the lesion: TP 8, FN 8
    pred[8, 0:4] = True  # 4 px outside it: FP 4
    assert confusion_counts(pred, target).tolist() == [[8, 4, 8, 80]]
    assert cpa(pred, target) == pytest.approx(8 / 12)
    assert recall(pred, target) == pytest.approx(8 / 16)
    assert cpa(pred & target, target) == 1.0  # a prediction wholly inside the lesion is wholly precise


def test_min_overlap_is_strict_a_lesion_covered_exactly_at_the_threshold_is_missed():
    """Module docstring: detected when the predicted pixels inside a lesion are *more than* min_overlap of it (strictly)."""
    target = np.zeros((8, 8), bool)
    target[2:4, 2:4] = True  # 4 px
    pred = np.zeros_like(target)
    pred[2:4, 2] = True  # 2 of its 4 px: exactly one half
    assert lesion_detection(pred, target, min_overlap=0.5)["detected"] == 0
    assert lesion_detection(pred, target, min_overlap=0.49)["detected"] == 1


def test_predicted_components_are_8_connected_so_a_diagonal_call_is_one_false_positive():
    """Predictions are labelled like the lesions (8-connectivity): two pixels touching at a corner are one call."""
    target = np.zeros((8, 8), bool)
    target[6, 6] = True
    pred = np.zeros_like(target)
    pred[1, 1] = pred[2, 2] = True  # one diagonal call, away from the lesion
    result = lesion_detection(pred, target)
    assert result["predicted"] == 1 and result["false_positives"] == 1


def test_class_confusion_rows_are_the_truth_columns_the_prediction_and_overlap_is_read_from_it():
    from scintiseg.metrics import class_confusion, class_overlap, confusion_overlap

    truth = np.array([[0, 1, 1, 2]])
    predicted = np.array([[1, 1, 2, 2]])
    joint = class_confusion(predicted, truth, 3)
    np.testing.assert_array_equal(joint, [[0, 1, 0], [0, 1, 1], [0, 0, 1]])  # truth 0 called 1; truth 1 once called 2
    np.testing.assert_array_equal(confusion_overlap(joint), class_overlap(predicted, truth, 3))
    np.testing.assert_array_equal(confusion_overlap(joint), [[0, 0, 1], [1, 1, 1], [1, 1, 0]])
