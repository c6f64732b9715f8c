"""benchmarks/bench_box_outlines.py: outlines drawn from boxes against the lesions' true extents."""

from __future__ import annotations

import numpy as np
import pytest
from support import benchmark_module


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("bench_box_outlines") as module:
        yield module


def test_dice_and_a_measured_crop_set(bench, real_nm1):
    a = np.zeros((5, 5), bool)
    a[1:3, 1:3] = True
    b = np.zeros((5, 5), bool)
    b[1:3, 1:4] = True
    assert bench.dice(a, a) == 1.0 and bench.dice(a, b) == pytest.approx(0.8) and bench.dice(a, ~a) == 0.0
    crops = bench.make_region_crops
    result = bench.measure(crops.nm1_cases(real_nm1, 2, 0, 61_000, 0.17), np.random.default_rng(0))
    assert set(result) == {"counts", "jpeg"} and result["counts"]["boxes"] >= 1
    assert 0.0 <= result["jpeg"]["dice_median"] <= 1.0 and 0.0 <= result["counts"]["share_dice_0.5"] <= 1.0
