"""Tests for scintiseg.metrics: hand-computed values, MONAI cross-check, empty-image rule, detection."""

import math

import numpy as np
import pytest
import torch
from monai.metrics import DiceMetric

import scintiseg.metrics
from scintiseg.errors import ScintisegError
from scintiseg.metrics import (
    MIN_COMPONENT_PRECISION,
    confusion_counts,
    cpa,
    dsc,
    iou,
    lesion_detection,
    mean_std,
    recall,
    summarise,
)
from support import assert_all_lists_public_names


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


def _two_blobs() -> np.ndarray:
    target = np.zeros((64, 64), bool)
    target[10:14, 10:14] = True  # 16 px
    target[40:45, 30:35] = True  # 25 px
    return target


def test_a_flood_detects_nothing_and_is_one_false_positive():
    """Session 74's audit: every pixel called (a flooded, untrained network) scored sensitivity 1 with no false
    positive. The flood is one component, 41 of 4,096 pixels lesion (1 %), under the 10 % share."""
    target = _two_blobs()
    result = lesion_detection(np.ones_like(target), target)
    assert result["sensitivity"] == 0.0 and result["detected"] == 0
    assert result["predicted"] == 1 and result["false_positives"] == 1 and result["fp_per_image"] == 1.0
    # the old rule (touching is enough) is min_precision=0: there the flood found both
    old = lesion_detection(np.ones_like(target), target, min_precision=0.0)
    assert old["sensitivity"] == 1.0 and old["false_positives"] == 0


def test_an_outline_three_times_its_lesion_still_detects_it():
    target = np.zeros((32, 32), bool)
    target[10:14, 10:14] = True  # 16 px
    pred = np.zeros_like(target)
    pred[8:14, 8:16] = True  # 48 px around it: a third lesion
    assert pred.sum() == 3 * target.sum() and (pred >= target).all()
    result = lesion_detection(pred, target)
    assert result["detected"] == 1 and result["false_positives"] == 0


def test_the_share_is_at_least_ten_percent_of_the_components_pixels():
    """MIN_COMPONENT_PRECISION, ``>=``: a one-pixel lesion under a line of 10 pixels counts, under 11 not."""
    assert MIN_COMPONENT_PRECISION == 0.1
    target = np.zeros((5, 20), bool)
    target[2, 0] = True
    pred = np.zeros_like(target)
    pred[2, 0:10] = True  # 1 of 10 px lesion
    assert (lesion_detection(pred, target)["detected"], lesion_detection(pred, target)["false_positives"]) == (1, 0)
    pred[2, 10] = True  # 1 of 11
    assert (lesion_detection(pred, target)["detected"], lesion_detection(pred, target)["false_positives"]) == (0, 1)
    assert lesion_detection(pred, target, min_precision=1 / 11)["detected"] == 1
    with pytest.raises(ScintisegError, match="min_precision"):
        lesion_detection(pred, target, min_precision=1.5)


def test_a_blob_mostly_over_the_bladder_touching_a_lesion_is_a_false_positive_and_detects_nothing():
    target = np.zeros((40, 40), bool)
    target[5:8, 5:8] = True  # 9 px lesion
    pred = np.zeros_like(target)
    pred[7:20, 7:20] = True  # 169 px, 1 of them on the lesion's corner
    result = lesion_detection(pred, target)
    assert result["detected"] == 0 and result["false_positives"] == 1


def test_a_merged_component_over_two_lesions_detects_both_when_it_counts():
    """Merged: the share is the component's pixels in either lesion; counting, it detects each lesion it covers."""
    target = np.zeros((20, 30), bool)
    target[5:9, 5:9] = True  # 16 px
    target[5:9, 15:19] = True  # 16 px, not touching the first
    pred = np.zeros_like(target)
    pred[4:10, 4:20] = True  # 96 px over both: 32 / 96 lesion
    result = lesion_detection(pred, target)
    assert result["lesions"] == 2 and result["predicted"] == 1
    assert result["detected"] == 2 and result["false_positives"] == 0
    # the same bridge widened to 480 px (32 / 480 < 10 %): one false positive, neither lesion detected
    wide = pred.copy()
    wide[0:20, 4:28] = True
    result = lesion_detection(wide, target)
    assert result["detected"] == 0 and result["false_positives"] == 1


def test_a_split_lesion_is_detected_once_and_only_its_imprecise_piece_is_a_false_positive():
    """Split: each component's share is its own; the lesion is detected once, by the counting pieces together."""
    target = np.zeros((40, 40), bool)
    target[10:20, 10:20] = True  # 100 px
    pred = np.zeros_like(target)
    pred[10:20, 10:13] = True  # 30 px, all lesion
    pred[10:20, 16:19] = True  # 30 px, all lesion: a second component
    result = lesion_detection(pred, target)
    assert result["predicted"] == 2 and result["detected"] == 1 and result["false_positives"] == 0
    # neither piece covers more than half the lesion, together they do (60 of 100 px)
    assert lesion_detection(pred, target, min_overlap=0.5)["detected"] == 1
    # beside a counting piece, one touching the lesion by one column (10 px) and spreading outside (210 px, 5 %
    # lesion): a false positive, whose pixels in the lesion do not count towards min_overlap
    split = np.zeros_like(target)
    split[10:20, 10:13] = True  # 30 px, all lesion
    split[10:20, 19:40] = True  # 210 px, 10 of them lesion
    result = lesion_detection(split, target, min_overlap=0.35)  # 30 px < 35 of 100; with the other's 10 px, 40
    assert result["predicted"] == 2 and result["false_positives"] == 1 and result["detected"] == 0
    assert lesion_detection(split, target)["detected"] == 1  # still found by the counting piece


def test_class_confusion_rows_are_the_truth_columns_the_prediction_and_overlap_is_read_from_it():
    from scintiseg.metrics import class_confusion, class_overlap, confusion_overlap

    truth = np.array([[0, 1, 1, 2]])
    predicted = np.array([[1, 1, 2, 2]])
    joint = class_confusion(predicted, truth, 3)
    np.testing.assert_array_equal(joint, [[0, 1, 0], [0, 1, 1], [0, 0, 1]])  # truth 0 called 1; truth 1 once called 2
    np.testing.assert_array_equal(confusion_overlap(joint), class_overlap(predicted, truth, 3))
    np.testing.assert_array_equal(confusion_overlap(joint), [[0, 0, 1], [1, 1, 1], [1, 1, 0]])


def _probability_pair():
    """The API audit's example (session 74): a 10 x 10 lesion, a call shifted by 2 px, as probabilities 0.01 / 0.9."""
    truth = np.zeros((64, 64), bool)
    truth[10:20, 10:20] = True
    probability = np.full((64, 64), 0.01, np.float32)
    probability[12:22, 12:22] = 0.9
    return probability, truth


@pytest.mark.parametrize("metric", [dsc, recall, cpa, iou, confusion_counts, lesion_detection])
def test_a_probability_map_is_refused_not_scored_as_lesion_wherever_it_is_not_zero(metric):
    """Before: every pixel of p > 0 was lesion, so this map scored DSC 0.05 (its 0.5 mask: 0.64) and 1 false positive."""
    probability, truth = _probability_pair()
    with pytest.raises(ScintisegError, match=r"prediction holds 0\.01 \(float32\), not a binary mask.*threshold"):
        metric(probability, truth)
    with pytest.raises(ScintisegError, match="target holds"):
        metric(truth, torch.from_numpy(probability) - 0.5)  # logits: never exactly 0
    assert dsc(probability > 0.5, truth) == pytest.approx(0.64)


@pytest.mark.parametrize("odd", [np.nan, -1.0, 2.0, 0.5])
def test_any_value_other_than_0_and_1_is_refused(odd):
    pred, target = _pair()
    values = pred.astype(np.float64)
    values[0, 0] = odd
    with pytest.raises(ScintisegError, match="not a binary mask"):
        dsc(values, target)


def test_bool_0_1_of_any_dtype_and_0_255_integers_are_the_same_mask():
    """0/255 integers are an 8-bit mask image, read as io.images.read_mask_png reads it (255 = lesion); a float 255
    is more likely an intensity and is refused, and so is a mask mixing 1 and 255."""
    pred, target = _pair()
    expected = confusion_counts(pred, target).tolist()
    for same in (pred.astype(np.uint8), pred.astype(np.float32), pred.astype(np.uint8) * 255,
                 pred.astype(np.int32) * 255, torch.from_numpy(pred).float(), torch.from_numpy(pred).bfloat16()):
        assert confusion_counts(same, target).tolist() == expected
    with pytest.raises(ScintisegError, match="holds 255"):
        dsc(pred.astype(np.float32) * 255, target)
    mixed = pred.astype(np.uint8) * 255
    mixed[0, 0] = 1
    with pytest.raises(ScintisegError, match="mixes 1 and 255"):
        dsc(mixed, target)
    with pytest.raises(ScintisegError, match="dtype <U1"):
        dsc(np.full(target.shape, "x"), target)


def test_a_channel_axis_of_more_than_one_is_refused_not_cut_to_its_first_channel():
    """Before: (N, 3, H, W) was scored on channel 0 only; (N, 1, H, W) is still one mask per image."""
    stack = np.zeros((2, 3, 8, 8), bool)
    stack[:, 1:, 2:4, 2:4] = True  # lesions only in channels 1 and 2
    with pytest.raises(ScintisegError, match=r"got \(2, 3, 8, 8\): 3 channels"):
        dsc(stack, stack)
    one = stack[:, 1:2]
    assert confusion_counts(one, one)[:, 0].tolist() == [4, 4]


def test_masks_of_different_shapes_are_one_scintiseg_error():
    pred, target = _pair()
    with pytest.raises(ScintisegError, match="differ in shape"):
        dsc(pred, target[:5])
    with pytest.raises(ScintisegError, match="differ in shape"):
        lesion_detection(pred, target[:5])


def test_all_lists_the_public_names_and_no_helper():
    assert_all_lists_public_names(scintiseg.metrics)
    assert "_as_bool_stack" not in scintiseg.metrics.__all__
