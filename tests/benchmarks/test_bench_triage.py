"""The triage-versus-burden benchmark (benchmarks/bench_triage.py): its AUC, its scores and its report.

The run and its numbers are in docs/predict.md ("Triage score"); here the AUC is checked on known rankings
and ``main`` on stand-in cases whose ranking by each score is known.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from support import benchmark_module


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("bench_triage") as module:
        yield module


def test_roc_auc_of_known_rankings(bench):
    labels = [True, True, False, False]
    assert bench.roc_auc([0.9, 0.8, 0.2, 0.1], labels) == 1.0
    assert bench.roc_auc([0.1, 0.2, 0.8, 0.9], labels) == 0.0
    assert bench.roc_auc([0.5, 0.5, 0.5, 0.5], labels) == 0.5  # ties count half
    assert bench.roc_auc([0.9, 0.1, 0.5, 0.05], labels) == 0.75


def test_scan_scores_are_the_triage_score_and_the_mean_burden_of_the_views(bench):
    probability = np.zeros((4, 4), dtype=np.float32)
    probability[:2, :2] = 0.8
    ant = SimpleNamespace(bsi={"bsi_percent": 1.0}, probability=probability, mask=probability > 0.5)
    post = SimpleNamespace(bsi={"bsi_percent": 3.0}, probability=probability * 0, mask=probability > 2)
    scores = bench.scan_scores(SimpleNamespace(views={"ANT": ant, "POST": post}, triage_score=0.8))
    assert scores == {"triage": 0.8, "bsi": 2.0, "summed_probability": pytest.approx(1.6)}


def test_main_reports_each_score_and_its_difference_to_the_triage_score(bench, monkeypatch, capsys):
    # The triage score ranks these six cases perfectly, the BSI in reverse, the summed probability by chance.
    stand_ins = [({"triage": t, "bsi": 1 - t, "summed_probability": s}, t > 0.5)
                 for t, s in ((0.9, 1.0), (0.8, 0.0), (0.7, 1.0), (0.3, 0.0), (0.2, 1.0), (0.1, 0.0))]
    monkeypatch.setattr(bench, "cases", lambda args, model, settings: iter(stand_ins))
    monkeypatch.setattr(bench, "load_model", lambda spec, **_: None)
    assert bench.main(["--resamples", "200"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["positives"], out["negatives"]) == (3, 3)
    assert out["triage"] == 1.0 and out["bsi"] == 0.0 and 0.0 < out["summed_probability"] < 1.0
    mean, low, high = out["bsi - triage"]
    assert mean == -1.0 and low == high == -1.0
