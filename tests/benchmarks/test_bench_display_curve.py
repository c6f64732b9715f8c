"""benchmarks/bench_display_curve.py: lossless 8-bit exports through a display gamma, as bent and as read back."""

from __future__ import annotations

import json

import numpy as np
import pytest
from support import benchmark_module

from scintiseg.io import read_scan


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("bench_display_curve") as module:
        yield module


def test_a_bent_export_is_read_back_near_its_linear_levels(bench, real_nm1):
    linear = bench.export(read_scan(real_nm1).view("ANT"), 0.6)
    assert np.array_equal(bench.bend(linear, 1.0), linear)
    bent = bench.bend(linear, 0.5)
    assert bent.mean() > 2 * linear.mean()  # gamma 0.5 brightens
    case = bench.bench_shift.ShiftCase("nm1", bench.bench_shift.Scan({"ANT": bent}, pixel_spacing=(2.26, 2.26)),
                                       {}, {}, [])
    back, gamma = bench.read_back(case)
    assert gamma == pytest.approx(0.5, abs=0.06)
    body = linear > 20
    assert np.mean(np.abs(back.scan.view("ANT")[body].astype(float) - linear[body])) < 5


def test_a_run_reports_each_gamma_as_bent_and_read_back(bench, tmp_path, capsys):
    out = tmp_path / "curve.json"
    assert bench.main(["--gammas", "1", "0.5", "--floors", "--patients", "1", "--nm1-cases", "0",
                       "--json-out", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [(row["gamma"], row["reading"]) for row in rows] == [(1.0, "as bent"), (0.5, "as bent"), (0.5, "read back")]
    assert [row["read_back"] for row in rows] == [0, 1, 1] and rows[0]["median_gamma_read"] is None
    assert all(row["images"] == 2 for row in rows)
    assert "| phantom | gamma 0.5 | read back |" in capsys.readouterr().out


def test_a_raised_floor_blackens_what_lay_below_it(bench):
    grey = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert np.array_equal(bench.shown(grey, ("floor", 0.0)), grey)
    raised = bench.shown(grey, ("floor", 0.2))
    assert not raised[grey <= 51].any() and raised.max() == 255 and np.all(np.diff(raised.ravel().astype(int)) >= 0)


def test_nothing_to_run_is_refused(bench, capsys):
    assert bench.main(["--patients", "0", "--nm1-cases", "0"]) == 2
    assert bench.main(["--gammas", "0"]) == 2
    assert bench.main(["--floors", "0.95"]) == 2
    assert "error" in capsys.readouterr().err
