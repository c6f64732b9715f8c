"""benchmarks/bench_stage.py: the candidates' patches, their truth, the filter, and a stage that can learn.

Results in docs/robustness.md ("A second look at each candidate").
"""

from __future__ import annotations

import numpy as np
import pytest
from support import benchmark_module


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("bench_stage") as module:
        yield module


def _body():
    """A body symmetric about column 40 (100 counts), a joint on each side, a lesion on the left only."""
    counts = np.zeros((100, 81))
    counts[5:95, 10:71] = 100.0
    counts[20:26, 15:21] = counts[20:26, 60:66] = 300.0
    counts[60:66, 15:21] = 300.0
    labels = np.zeros(counts.shape, np.int32)
    labels[60:66, 15:21] = 1  # the lesion
    labels[20:26, 60:66] = 2  # the right joint
    return counts, labels


def test_sample_patch_covers_millimetres_whatever_the_matrix(bench):
    coarse = np.zeros((60, 60))
    coarse[28:32, 28:32] = 1.0  # a 4-pixel square at 2 mm: 8 mm
    fine = np.kron(coarse, np.ones((2, 2)))  # the same object at 1 mm
    a = bench.sample_patch(coarse, (29.5, 29.5), (2.0, 2.0), 72.0)
    b = bench.sample_patch(fine, (59.5, 59.5), (1.0, 1.0), 72.0)
    assert a.shape == b.shape == (bench.PATCH_PX, bench.PATCH_PX)
    centre = bench.PATCH_PX // 2
    assert a[centre - 1:centre + 1, centre - 1:centre + 1].min() > 0.5 and a[0, 0] == 0.0
    assert np.abs(a - b).max() < 0.35  # the same field of view, only the sampling differs
    assert abs(a.sum() - b.sum()) < 0.1 * a.sum()


def test_candidate_patches_see_the_lesion_its_mirror_and_its_probability(bench):
    counts, labels = _body()
    probability = np.where(labels > 0, 0.9, 0.0)
    ids, patches = bench.candidate_patches(counts, (2.0, 2.0), probability, labels, reference=100.0)
    assert ids.tolist() == [1, 2] and patches.shape == (2, 4, bench.PATCH_PX, bench.PATCH_PX)
    c = bench.PATCH_PX // 2
    lesion, joint = patches
    # Channel 0: log1p(counts / normal bone); the lesion's centre is 3x normal bone.
    assert lesion[0, c, c] == pytest.approx(np.log1p(3.0), rel=0.05)
    # Channel 3: the mirror image; plain bone under the lesion's mirror, the other joint under the joint's.
    assert lesion[3, c, c] == pytest.approx(np.log1p(1.0), rel=0.05)
    assert joint[3, c, c] == pytest.approx(joint[0, c, c], rel=0.05)
    assert lesion[2, c, c] == pytest.approx(0.9, abs=0.01)  # the probability
    assert lesion[1, c, c] < lesion[0, c, c]  # the 216 mm field is smoothed: the lesion is diluted


def test_candidate_labels_lesion_false_positive_and_unlabelled(bench):
    labels = np.zeros((10, 10), np.int32)
    labels[1:3, 1:3], labels[5:7, 5:7], labels[8:10, 0:2] = 1, 2, 3
    instances = np.zeros((10, 10), np.int32)
    instances[2:4, 2:4] = 7  # labelled lesion under candidate 1
    instances[8:10, 0:1] = 8  # a lesion too faint to be labelled, under candidate 3
    visible = instances == 7
    assert bench.candidate_labels(labels, np.array([1, 2, 3]), visible, instances).tolist() == [1, 0, -1]
    found, total, false = bench.found_and_false([{"instances": instances, "visible": visible}], [labels])
    assert (found, total, false) == (1, 1, 1)  # candidate 3 is on a lesion: not a false positive


def test_filter_labels_removes_only_the_candidates_below_the_cut(bench):
    labels = np.array([[1, 1, 0, 2], [0, 3, 3, 2]], np.int32)
    kept = bench.filter_labels(labels, np.array([1, 2, 3]), np.array([0.05, 0.6, 0.2]), cut=0.2)
    assert kept.tolist() == [[0, 0, 0, 2], [0, 3, 3, 2]]
    assert bench.filter_labels(labels, np.array([1, 2, 3]), np.array([0.05, 0.6, 0.2]), cut=0.0).tolist() == labels.tolist()


def test_stage_learns_a_separable_pair_of_classes(bench):
    rng = np.random.default_rng(0)
    patches = rng.normal(0.0, 0.1, (96, 4, bench.PATCH_PX, bench.PATCH_PX)).astype(np.float32)
    truth = np.array([1, 0] * 48, np.int8)
    patches[truth == 1, 0, 12:20, 12:20] += 2.0  # the lesions are hot in the middle, their mirrors are not
    net = bench.train_stage(patches, truth, epochs=6)
    scores = bench.stage_scores(net, patches)
    assert scores[truth == 1].min() > scores[truth == 0].max()
