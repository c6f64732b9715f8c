"""Three-reader consensus (paper B §2.2): per-lesion area differences, seeded choice, re-annotation."""

from __future__ import annotations

import time

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.prepare.consensus import area_difference, compare_readers, consensus
from scintiseg.scan import Annotation, Shape


def _mask(*boxes, shape=(40, 40)):
    mask = np.zeros(shape, dtype=bool)
    for r0, r1, c0, c1 in boxes:
        mask[r0:r1, c0:c1] = True
    return mask


def test_area_difference_is_one_minus_iou():
    a, b = _mask((0, 10, 0, 10)), _mask((0, 10, 5, 15))
    assert area_difference(a, b) == pytest.approx(1 - 50 / 150)
    assert area_difference(a, a) == 0.0 and area_difference(~a & a, ~a & a) == 0.0


def test_lesions_are_matched_not_confused_by_order():
    a = _mask((0, 10, 0, 10), (20, 30, 20, 30))
    b = _mask((20, 30, 20, 30), (0, 10, 0, 10))
    pair = compare_readers(a, b)
    assert pair.lesion_differences == [0.0, 0.0] and pair.unmatched == 0


def test_a_missed_lesion_is_a_full_difference_even_if_small():
    # The image-level IoU hides a small missed lesion; the per-lesion comparison does not.
    big = (0, 30, 0, 30)
    a, b = _mask(big, (35, 37, 35, 37)), _mask(big)
    pair = compare_readers(a, b)
    assert pair.image_difference < 0.05
    assert pair.unmatched == 1 and pair.max_lesion_difference == 1.0


def test_agreeing_readers_give_a_seeded_choice():
    anns = [Annotation.from_mask(_mask((5, 25, 5, 25)), view="ANT") for _ in range(3)]
    anns[1] = Annotation.from_mask(_mask((5, 25, 5, 24)), view="ANT")  # 1 - 380/400 = 0.05
    decisions = [consensus(anns, threshold=0.05, seed=s) for s in range(20)]
    assert all(d["decision"] == "accept" for d in decisions)
    chosen = [d["ground_truth_reader"] for d in decisions]
    assert set(chosen) == {0, 1, 2}
    assert consensus(anns, seed=3)["ground_truth_reader"] == chosen[3]
    assert len(decisions[0]["pairs"]) == 3


def test_disagreeing_readers_are_flagged():
    anns = [Annotation.from_mask(_mask(box)) for box in ((5, 25, 5, 25), (5, 25, 5, 25), (5, 25, 8, 25))]
    decision = consensus(anns, threshold=0.05, seed=0)
    assert decision["decision"] == "re-annotate" and decision["ground_truth_reader"] is None
    agree = {tuple(p["readers"]): p["agree"] for p in decision["pairs"]}
    assert agree == {(0, 1): True, (0, 2): False, (1, 2): False}


def test_empty_readers_agree_and_sizes_must_match():
    empty = Annotation([], image_shape=(10, 10))
    assert consensus([empty, empty, empty])["decision"] == "accept"
    with pytest.raises(ScintisegError, match="different sizes"):
        consensus([empty, Annotation([], image_shape=(10, 11))])


def test_many_small_lesions_are_compared_quickly():
    # Issue 14: three copies of a valid LabelMe file with 500 small polygons did not finish in 20 s
    # (every lesion of one reader was compared with every lesion of the other as a whole-image mask).
    squares = [(4 + 10 * (k // 5), 8 + 50 * (k % 5)) for k in range(500)]  # (row, col) corners, 4 x 4 px
    shapes = [Shape("lesion", [[c, r], [c + 3, r], [c + 3, r + 3], [c, r + 3]]) for r, c in squares]
    readers = [Annotation(list(shapes), image_shape=(1024, 256)) for _ in range(3)]
    readers[2].shapes[0] = Shape("lesion", [[8, 4], [11, 4], [11, 6], [8, 6]])  # 12 of 16 px: difference 0.25
    start = time.perf_counter()
    decision = consensus(readers, threshold=0.05)
    elapsed = time.perf_counter() - start
    assert decision["lesions_per_reader"] == [500, 500, 500]
    assert decision["decision"] == "re-annotate"
    by_pair = {tuple(p["readers"]): p for p in decision["pairs"]}
    assert by_pair[(0, 1)]["max_lesion_area_difference"] == 0.0 and by_pair[(0, 1)]["unmatched_lesions"] == 0
    assert by_pair[(0, 2)]["max_lesion_area_difference"] == pytest.approx(0.25)
    assert sorted(by_pair[(1, 2)]["lesion_area_differences"])[-2:] == [0.0, 0.25]
    assert elapsed < 3.0  # about 0.5 s on 2 idle cores; the generous bound absorbs a busy CI machine


def test_lesion_matching_with_touching_and_split_lesions():
    # One reader's lesion overlaps two of the other's: only the better one is its partner, the other is
    # unmatched (difference 1); the differences follow reader a's lesion order, as before.
    a = _mask((0, 10, 0, 10), (20, 30, 0, 10))
    b = _mask((0, 10, 0, 6), (0, 10, 7, 10), (20, 30, 0, 10))
    pair = compare_readers(a, b)
    assert pair.lesion_differences == [pytest.approx(1 - 60 / 100), 0.0, 1.0]
    assert pair.unmatched == 1


def test_grouped_matching_equals_one_assignment_over_all_lesions():
    # The matching solves each group of overlapping lesions on its own; the reference solves one dense
    # assignment over every pair of whole-lesion masks, as the paper's procedure reads.
    from scipy import ndimage
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(7)
    eight = np.ones((3, 3), dtype=bool)
    for _ in range(30):
        a = ndimage.binary_opening(rng.random((48, 48)) < 0.45)
        b = ndimage.binary_opening(rng.random((48, 48)) < 0.45)
        la, na = ndimage.label(a, structure=eight)
        lb, nb = ndimage.label(b, structure=eight)
        iou = np.array([[1 - area_difference(la == i, lb == j) for j in range(1, nb + 1)] for i in range(1, na + 1)])
        rows, cols = linear_sum_assignment(-iou)
        expected = sorted(1 - iou[r, c] for r, c in zip(rows, cols) if iou[r, c] > 0)
        pair = compare_readers(a, b)
        assert sorted(pair.lesion_differences)[: len(expected)] == pytest.approx(expected)
        assert pair.unmatched == na + nb - 2 * len(expected)
