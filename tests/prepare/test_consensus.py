"""Three-reader consensus (paper B §2.2): per-lesion area differences, seeded choice, re-annotation."""

from __future__ import annotations

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.prepare.consensus import area_difference, compare_readers, consensus
from scintiseg.scan import Annotation


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
