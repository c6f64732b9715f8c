"""The spine-runs benchmark's geometry and scoring (benchmarks/bench_spine_runs.py), on hand-made maps.

The run and its numbers are in docs/robustness.md ("The bladder below an involved lumbar spine"); here a region
map of a known vertebral level, and stand-in predictions whose every state is known.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage as ndi
from support import benchmark_module

from scintiseg.predict.regions import REGION_IDS

SPACING = (2.0, 2.0)
LEVEL = 20  # rows per lumbar level: 5 levels over rows 100-200


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("bench_spine_runs") as module:
        yield module


def _labels():
    labels = np.zeros((300, 80), np.int16)
    labels[100:200, 32:49] = REGION_IDS["lumbar_spine"]
    labels[200:240, 25:56] = REGION_IDS["sacrum"]
    labels[60:62, 70:72] = REGION_IDS["lumbar_spine"]  # a speck of the map far above: no part of the level
    return labels


def test_each_vertebra_is_an_ellipse_on_its_own_level_of_the_segment(bench):
    geometry = bench.segment_geometry(_labels(), "lumbar_spine")
    assert geometry[0] == pytest.approx(LEVEL) and geometry[2] == 100
    masks = [bench.vertebra_mask((300, 80), geometry, k, SPACING) for k in range(5)]
    for k, mask in enumerate(masks):
        rows, cols = np.nonzero(mask)
        assert rows.mean() == pytest.approx(100 + (k + 0.5) * LEVEL, abs=0.5)  # the level's centre
        assert cols.mean() == pytest.approx(40, abs=0.5)  # the segment's middle column
        assert np.ptp(rows) + 1 <= bench.BODY_HEIGHT_SHARE * LEVEL + 1  # apart from the next level's
        assert np.ptp(cols) + 1 == pytest.approx(bench.BODY_WIDTH_MM / SPACING[1], abs=1)
    assert not np.any(np.sum(masks, axis=0) > 1)
    with pytest.raises(ValueError, match="beyond"):
        bench.vertebra_mask((300, 80), geometry, 6, SPACING)
    with pytest.raises(ValueError, match="names no thoracic_spine"):
        bench.segment_geometry(_labels(), "thoracic_spine")


def test_a_run_is_hotter_by_its_factor_only_over_its_vertebrae(bench):
    geometry = bench.segment_geometry(_labels(), "lumbar_spine")
    masks = [bench.vertebra_mask((300, 80), geometry, k, SPACING) for k in (3, 4)]
    counts = np.full((300, 80), 400.0)
    hot = bench.insert_run(counts, masks, 2.0, np.random.default_rng(0))
    inner = ndi.binary_erosion(np.any(masks, axis=0), iterations=3)  # the ellipses less their blurred rims
    assert hot[inner].mean() / 400.0 == pytest.approx(2.0, abs=0.05)
    far = np.zeros((300, 80), bool)
    far[:120] = True
    assert np.array_equal(hot[far], counts[far])


def _result(shape, called, left_out):
    labels = np.zeros(shape, np.int32)
    for n, box in enumerate(called, start=1):
        labels[box] = n
    calls = []
    for rule, box in left_out:
        mask = np.zeros(shape, bool)
        mask[box] = True
        calls.append(SimpleNamespace(rule=rule, contour=SimpleNamespace(to_mask=lambda shape, m=mask: m)))
    return SimpleNamespace(labels=labels, left_out=calls)


def test_each_vertebra_is_called_left_out_or_missed_and_the_other_calls_are_counted(bench):
    geometry = bench.segment_geometry(_labels(), "lumbar_spine")
    masks = [bench.vertebra_mask((300, 80), geometry, k, SPACING) for k in range(4)]
    result = _result((300, 80),
                     called=[np.s_[108:112, 38:42], np.s_[20:24, 10:14]],  # on L1; and a call far away
                     left_out=[("spine_pattern", np.s_[128:132, 38:42]),  # on L2
                               ("symmetric", np.s_[148:152, 38:42])])  # on L3, by another rule: not this one's
    states, other = bench.vertebra_states(result, masks)
    assert states == ["called", "left out", "missed", "missed"]
    assert other == 1
    records = [{"segment": "lumbar_spine", "first": 0, "run": 4, "factor": 2.0, "draw": 0, "states": states,
                "other_calls": other, "max_probability": [0.99, 0.8, 0.02, 0.3]}]
    table = bench.summary(records)
    assert "| lumbar_spine | 4 | 2 | 1 / 1 / 2 | 1 | 0.160 |" in table  # the median over the two missed only
    assert "**1 / 1 / 2**" in table


def test_the_cases_are_every_lumbar_run_and_four_thoracic_ones(bench):
    cases = bench.cases()
    lumbar = [c for c in cases if c[0] == "lumbar_spine"]
    assert sum(run for _, _, run in lumbar) == 35  # 5 + 4 x 2 + 3 x 3 + 2 x 4 + 5
    assert all(first + run <= 5 for _, first, run in lumbar)
    assert [c for c in cases if c[0] == "thoracic_spine"] == [("thoracic_spine", 4, r) for r in (1, 3, 5, 7)]


def test_a_scan_it_cannot_read_is_one_line_and_exit_status_2(bench, tmp_path, capsys):
    missing = tmp_path / "scan.dcm"
    assert bench.main(["--scan", str(missing), "--threads", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(missing) in err[0] and "no such file" in err[0]
