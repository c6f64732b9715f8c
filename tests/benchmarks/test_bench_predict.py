"""benchmarks/bench_predict.py: the model it times, one or the mean of several (`--model A,B`, as `predict --model A
--model B`). Its timings are in docs/benchmarks.md."""

from __future__ import annotations

import pytest
from support import benchmark_module

from scintiseg.predict.engines import MeanEngine
from scintiseg.predict.loader import SHIPPED_WEIGHTS


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("bench_predict") as module:
        yield module


def test_comma_joined_models_are_timed_as_their_mean(bench):
    if not SHIPPED_WEIGHTS.is_file():
        pytest.skip("this install has no shipped model")
    one, what = bench.load(None, "torch")
    assert what == "shipped" and not isinstance(one.engine, MeanEngine)
    mean, what = bench.load("shipped,shipped", "torch")
    assert what == "shipped,shipped" and isinstance(mean.engine, MeanEngine) and len(mean.engine.engines) == 2
    assert mean.info["name"] == "mean of rdinet + rdinet"
