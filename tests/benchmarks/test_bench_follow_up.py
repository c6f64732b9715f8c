"""The follow-up benchmark (benchmarks/bench_follow_up.py): the move it makes and the map it gives back agree, and a
short run on NM1 scores its pairs. The numbers are in docs/predict.md ("Comparing a follow-up scan")."""

from __future__ import annotations

import json

import numpy as np
import pytest
from support import benchmark_module


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("bench_follow_up") as module:
        yield module


@pytest.mark.parametrize("turn, spacing", [(0.0, 2.26), (2.5, 2.26), (-2.0, 2.0)])
def test_the_moved_image_lies_where_the_map_says(bench, turn, spacing):
    image = np.zeros((400, 120), np.uint16)
    image[200:203, 60:63] = 1000  # one bright square
    moved, to_source = bench.moved(image, 2.26, (11.0, -7.0), turn, spacing, order=1)
    rows, cols = np.nonzero(moved >= 0.5 * moved.max())
    source_rows, source_cols = to_source(rows, cols)
    assert abs(source_rows.mean() - 201) < 0.6 and abs(source_cols.mean() - 61) < 0.6
    if turn == 0.0 and spacing == 2.26:  # a whole-pixel shift keeps the counts exactly
        assert moved.sum() == image.sum() and (rows.mean(), cols.mean()) == (201 + 5, 61 - 3)


def test_a_short_run_on_nm1_scores_every_pair(bench, tmp_path, real_nm1, capsys):
    bench.NM1 = real_nm1
    out = tmp_path / "follow_up.json"
    assert bench.main(["--source", "nm1", "--pairs", "3", "--json-out", str(out)]) == 0
    record = json.loads(out.read_text())
    summary, pairs = record["summary"], record["pairs"]
    assert summary["pairs"] == 3 and [p["visible_new"] <= p_index for p_index, p in enumerate(pairs)] == [True] * 3
    for pair in pairs:
        assert pair["found_new"] + pair["found_matched"] + pair["missed"] == pair["visible_new"]
    assert summary["registration_mm"]["median"] < 3.0
    assert "pair 2:" in capsys.readouterr().err


def test_a_series_keeps_scan_1s_lesions_on_scan_2_and_scores_the_pattern(bench, tmp_path, real_nm1):
    from scintiseg.io import read_scan

    case = bench.make_series(read_scan(real_nm1), 3, 0.5, np.random.default_rng(0))  # (3, 3): three, then three more
    assert len(case["scans"]) == 3 and not case["truths"][0]["ANT"].any()
    first, second = (set(np.unique(truth["ANT"]).tolist()) - {0} for truth in case["truths"][1:])
    assert first == {1, 2, 3} and second == {1, 2, 3, 4, 5, 6}  # the same draw: scan 1's lesions, then three more
    assert set(case["new_on_2"]) <= {4, 5, 6} and set(case["new_on_1"]) <= {1, 2, 3}
    bench.NM1 = real_nm1
    out = tmp_path / "series.json"
    assert bench.main(["--source", "nm1", "--pairs", "4", "--series", "--json-out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["summary"]["series"] == 4 and record["summary"]["two_plus_two"]["negatives"] >= 2
    for row in record["series"]:
        assert row["seen_again"] <= row["found_new_on_1"] <= row["new_on_1"]
        assert row["pattern"] == bool(row["step"]["two_plus_two"])
