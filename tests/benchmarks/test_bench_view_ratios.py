"""benchmarks/bench_view_ratios.py: the spine's brightness against ribs and skull, per view."""

from __future__ import annotations

import numpy as np
import pytest
from support import benchmark_module


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("bench_view_ratios") as module:
        yield module


def test_one_patient_per_profile_and_nm1_give_finite_ratios_and_the_posterior_spine_is_brighter(bench):
    result = bench.measure(1)
    assert {row["profile"] for row in result["phantom"]} == {"default", "randomised", "shifted", "low-count"}
    for row in result["phantom"]:
        assert all(np.isfinite(v) and v > 0 for v in row["ratios"].values()), row
    for profile in ("default", "shifted"):  # the physics: the spine lies nearer the posterior camera
        ratio = {row["view"]: row["ratios"]["spine/skull"] for row in result["phantom"] if row["profile"] == profile}
        assert ratio["POST"] > ratio["ANT"], (profile, ratio)
    if result["nm1"] is not None:
        assert all(np.isfinite(v) for v in result["nm1"].values())
    lines = bench.summary_lines(result)
    assert len(lines) == 2 and lines[0].startswith("thoracic_spine/ribs: phantom ANT ")
