"""benchmarks/bench_candidates.py: the features of a predicted lesion and the shares a rule keeps.

A symmetric body of 100 counts with a hot joint on both sides (normal), a one-sided lesion, and three predicted
components: on the lesion, on one of the joints, on the midline. Results in docs/robustness.md.
"""

from __future__ import annotations

import numpy as np
import pytest
from support import benchmark_module


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("bench_candidates") as module:
        yield module


def _case():
    counts = np.zeros((100, 81))
    counts[10:90, 10:71] = 100.0  # symmetric about column 40
    counts[20:26, 15:21] = counts[20:26, 60:66] = 300.0  # a joint on each side: normal, symmetric
    counts[60:66, 15:21] = 300.0  # a lesion on the left only
    truth = np.zeros(counts.shape, bool)
    truth[60:66, 15:21] = True
    labels = np.zeros(counts.shape, np.int32)
    labels[60:66, 15:21] = 1  # the lesion
    labels[20:26, 60:66] = 2  # the right joint: a false positive
    labels[40:44, 38:43] = 3  # on the midline: a false positive without a mirror ratio
    probability = np.zeros(counts.shape)
    probability[labels == 1], probability[labels == 2], probability[labels == 3] = 0.99, 0.7, 0.6
    return counts, labels, probability, truth


def test_component_features_separate_a_one_sided_lesion_from_a_bilateral_joint(bench):
    records = bench.component_features(*_case())
    lesion, joint, midline = records
    assert (lesion["lesion"], joint["lesion"], midline["lesion"]) == (True, False, False)
    assert (lesion["peak"], joint["peak"], midline["peak"]) == (0.99, 0.7, 0.6)
    assert (lesion["area"], joint["area"], midline["area"]) == (36, 36, 20)
    assert lesion["mirror"] > 1.5  # its mirror image is plain bone
    assert joint["mirror"] == pytest.approx(1.0, abs=0.02)  # its mirror image is the other joint
    assert midline["mirror"] is None


def test_keep_fractions_count_each_kind_and_skip_missing_features(bench):
    records = bench.component_features(*_case())
    peak = bench.keep_fractions(records, "peak", (0.65, 0.9))
    assert peak["0.65"] == {"lesions": 1.0, "false_positives": 0.5}
    assert peak["0.9"] == {"lesions": 1.0, "false_positives": 0.0}
    assert peak["n"] == {"lesions": 1, "false_positives": 2}
    mirror = bench.keep_fractions(records, "mirror", (1.2,))
    assert mirror["n"] == {"lesions": 1, "false_positives": 1}  # the midline one has no mirror ratio
    assert mirror["1.2"] == {"lesions": 1.0, "false_positives": 0.0}


def test_paired_feature_marks_the_components_paired_with_the_other_view(bench):
    counts, labels, probability, truth = _case()
    assert [r["paired"] for r in bench.component_features(counts, labels, probability, truth)] == [None] * 3
    records = bench.component_features(counts, labels, probability, truth, paired={1, 3})
    assert [r["paired"] for r in records] == [1, 0, 1]
    kept = bench.keep_fractions(records, "paired", (1,))
    assert kept["1"] == {"lesions": 1.0, "false_positives": 0.5}
