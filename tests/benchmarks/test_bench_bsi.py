"""benchmarks/bench_bsi.py: lesion extents for the BSI; here the hotspots found by intensity alone."""

from __future__ import annotations

import numpy as np
import pytest
from support import benchmark_module

from scintiseg.predict.regions import SkeletonRegions


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("bench_bsi") as module:
        yield module


def _bone_with_a_hot_spot():
    labels = np.zeros((60, 40), dtype=np.int16)
    labels[10:50, 10:30] = 3  # one bone region
    regions = SkeletonRegions("ANT", labels, labels > 0, np.ones((60, 40), bool), 0, 59, 20.0, [])
    counts = np.where(labels > 0, 100.0, 5.0)
    counts[25:32, 15:22] = 300.0  # three times the bone's level
    return regions, counts


def test_intensity_hotspots_are_added_to_the_network_and_can_require_its_probability(bench):
    regions, counts = _bone_with_a_hot_spot()
    coverage = np.ones(counts.shape, dtype=bool)
    silent = np.zeros(counts.shape, dtype=np.float32)
    found = bench._intensity(2.0)(silent, coverage, counts, regions)
    assert found[28, 18] and not found[12, 12] and not found[2, 2]  # the hot spot, not the normal bone or outside
    assert not bench._intensity(4.0)(silent, coverage, counts, regions).any()  # below 4 x normal: nothing
    assert not bench._intensity(2.0, min_probability=0.01)(silent, coverage, counts, regions).any()
    hinted = silent.copy()
    hinted[28, 18] = 0.02
    assert bench._intensity(2.0, min_probability=0.01)(hinted, coverage, counts, regions)[28, 18]
