"""benchmarks/bench_superscan.py: the superscan pattern's ratio on phantom groups and NM1 (docs/predict.md)."""

from __future__ import annotations

import json

import pytest
from support import benchmark_module


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("bench_superscan") as module:
        yield module


def test_a_small_run_reads_the_superscans_above_the_drawn_patients(bench, tmp_path, real_nm1):
    out = tmp_path / "superscan.json"
    assert bench.main(["--profiles", "default", "--patients", "2", "--independent", "0", "--json-out", str(out)]) == 0
    result = json.loads(out.read_text())
    rows = {(row["source"], row["group"], row["superscan"]): row for row in result["rows"]}
    drawn, forced = rows[("default", "drawn", False)], rows[("default", "superscan", True)]
    assert drawn["scans"] == 2 and forced["scans"] == 1 and ("default", "grade3", False) not in rows  # 2 // 4 = 0
    assert forced["views"]["POST"]["min"] > drawn["views"]["POST"]["max"]
    assert drawn["flagged"] == 0
    nm1 = rows[("nm1", "drawn", False)]
    assert nm1["scans"] == 1 and list(nm1["views"]) == ["ANT"] and nm1["flagged"] == 0
    assert result["cuts"] == {"POST": 2.0, "ANT": 1.8}
