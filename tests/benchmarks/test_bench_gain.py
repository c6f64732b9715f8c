"""benchmarks/bench_gain.py: the same images with the network's input times a gain."""

from __future__ import annotations

import numpy as np
import pytest
from support import benchmark_module

from scintiseg.predict.loader import load_model
from scintiseg.predict.pipeline import PredictSettings, predict_scan


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("bench_gain") as module:
        yield module


def test_gain_one_is_the_plain_prediction_and_a_gain_reaches_the_network(bench, real_nm1):
    model = load_model(None)
    calls = []
    engine = model.engine
    spy = bench.replace(model, engine=lambda images: calls.append(np.asarray(images).copy()) or engine(images))
    (_, scan, truth), = [case for case in bench.nm1_sets(real_nm1, 1, 0, 70_000) if case[0] == "nm1"][:1]
    plain = predict_scan(scan, model, PredictSettings())
    same = predict_scan(scan, bench.gained(model, 1.0), PredictSettings())
    assert np.array_equal(plain.views["ANT"].labels, same.views["ANT"].labels)
    predict_scan(scan, bench.gained(spy, 1.5), PredictSettings())
    predict_scan(scan, spy, PredictSettings())
    half = len(calls) // 2
    np.testing.assert_allclose(calls[0], 1.5 * calls[half], rtol=1e-6)
    scored = bench.score(plain, truth)
    assert scored["lesions"] >= 1 and 0 <= scored["found"] <= scored["lesions"] and scored["images"] == 1


def test_the_summary_counts_lesions_false_positives_and_ranks_images(bench):
    rows = [
        {"set": "s", "gain": 1.0, "negative": False, "lesions": 2, "found": 1, "false": 1, "score": 0.9, "images": 1},
        {"set": "s", "gain": 1.0, "negative": True, "lesions": 0, "found": 0, "false": 2, "score": 0.4, "images": 2},
        {"set": "s", "gain": 1.0, "negative": False, "lesions": 0, "found": 0, "false": 0, "score": 0.99, "images": 1},
    ]  # the last holds only invisible lesions: neither abnormal nor normal for the AUC
    summary = bench.summarise(rows)["s"]["1.0"]
    assert summary == {"sensitivity": 0.5, "lesions": 2, "false_per_image": 0.75, "triage_auc": 1.0, "images": 4}
