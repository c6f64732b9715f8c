"""Tests of :mod:`scintiseg.experiments.demo.comparison`: DPU-Net minus U-Net per metric, paired over the test patients,
read from both evaluations' ``per_case.csv``, with hand-checkable cases (one network better on every patient, two equal
networks, images that do not match).

Elsewhere: test_markdown.py (the table in report.md), test_run.py (run_demo records it in demo.json),
tests/experiments/test_paired.py and test_prediction_comparison.py (the bootstrap and the verdicts themselves).
"""

from __future__ import annotations

import json
import math
import random
import re

import numpy as np
import pytest

from scintiseg.experiments.demo.comparison import FIRST, SECOND, compare_networks, comparison_lines, console_line
from scintiseg.experiments.paired import paired_difference, row_scores
from scintiseg.train.evaluate import json_safe
from support import per_case_row, write_per_case

EVALUATED = {FIRST: {"images": 6}, SECOND: {"images": 6}}


def _by_metric(comparison: dict) -> dict:
    return {m["metric"]: m for m in comparison["metrics"]}


@pytest.mark.parametrize("better", [FIRST, SECOND])
def test_a_network_better_on_every_patient_is_decided_for_it(tmp_path, better):
    """6 patients: one network outlines every lesion exactly (50 of 50 pixels); the other finds half of each lesion's
    pixels and adds a false blob of 10 pixels. Every patient differs by the same amount, so every bootstrap draw gives
    the same difference: DSC 1 - 50 / 85, Recall 1 - 1/2, CPA 1 - 25 / 35, FP / image 0 - 1, exactly."""
    worse = SECOND if better == FIRST else FIRST
    write_per_case(tmp_path, better, [per_case_row(f"C{p}", f"P{p}", 50, 0, 0) for p in range(6)])
    write_per_case(tmp_path, worse, [per_case_row(f"C{p}", f"P{p}", 25, 10, 25, false_blobs=1) for p in range(6)])
    comparison = compare_networks(tmp_path, EVALUATED)
    assert (comparison["images"], comparison["patients"]) == (6, 6)
    found = _by_metric(comparison)
    sign = 1 if better == FIRST else -1  # the difference is always DPU-Net minus U-Net
    name = {FIRST: "DPU-Net", SECOND: "U-Net"}[better]
    for metric, gain in (("dsc", 1 - 50 / 85), ("recall", 0.5), ("cpa", 1 - 25 / 35)):
        m = found[metric]
        assert (m[better], m[worse]) == pytest.approx((1.0, 1 - gain)), metric
        assert (m["difference"], m["low"], m["high"]) == pytest.approx((sign * gain,) * 3), metric
        assert m["verdict"] == f"{name} higher", metric
    fp = found["fp_per_image"]
    assert (fp[better], fp[worse], fp["difference"]) == (0.0, 1.0, -sign * 1.0)
    assert fp["lower_is_better"] and fp["verdict"] == f"{name} fewer"  # fewer is better: the better one is named
    # Both find every lesion (a pixel of it is enough): no difference, and a zero-width interval holds 0.
    assert (found["sensitivity"]["difference"], found["sensitivity"]["verdict"]) == (0.0, "not decided")


def test_equal_networks_differ_by_exactly_zero_and_are_not_decided(tmp_path):
    rows = [per_case_row(f"C{p}", f"P{p // 2}", tp, fp, 50 - tp, false_blobs=int(fp > 0)) for p, (tp, fp) in
            enumerate([(50, 0), (10, 30), (0, 5), (40, 2), (25, 25), (5, 0), (33, 1), (49, 60), (0, 0), (20, 3)])]
    write_per_case(tmp_path, FIRST, rows)
    write_per_case(tmp_path, SECOND, rows)
    comparison = compare_networks(tmp_path, EVALUATED)
    assert (comparison["images"], comparison["patients"]) == (10, 5)
    for m in comparison["metrics"]:
        assert (m["difference"], m["low"], m["high"]) == (0.0, 0.0, 0.0), m["metric"]
        assert m[FIRST] == m[SECOND] and m["verdict"] == "not decided", m["metric"]


def test_the_interval_is_paired_over_patients_with_its_defaults_and_one_run(tmp_path):
    """Differences that vary from patient to patient: the interval is paired.py's (2000 draws, seed 0) over the
    patients, with no run resampled (one run per network); two images of one patient are drawn together."""
    rng = np.random.default_rng(3)
    first, second = [], []
    for p in range(8):
        for view in ("A", "B"):
            for rows in (first, second):
                tp, fp, blobs = (int(v) for v in rng.integers(0, (40, 40, 3)))
                rows.append(per_case_row(f"C{p}{view}", f"P{p}", tp, fp, 20, false_blobs=blobs))
    write_per_case(tmp_path, FIRST, first)
    write_per_case(tmp_path, SECOND, second)
    comparison = compare_networks(tmp_path, EVALUATED)
    assert comparison["method"] == {"interval": "percentile bootstrap, paired", "unit": "patient", "confidence": 0.95,
                                    "resamples": 2000, "seed": 0, "resample_runs": False, "runs_per_network": 1,
                                    "min_patients": 5}
    for metric in ("dsc", "recall", "fp_per_image"):
        expected = paired_difference(row_scores([first], metric), row_scores([second], metric), resample_runs=False)
        m = _by_metric(comparison)[metric]
        assert (m["difference"], m["low"], m["high"]) == pytest.approx((expected.estimate, expected.low, expected.high))
        assert m["low"] < m["high"]  # the patients' noise, not a single value


def test_images_are_matched_by_case_id_not_by_row_order(tmp_path):
    rng = np.random.default_rng(1)
    first = [per_case_row(f"C{p}", f"P{p}", *(int(v) for v in rng.integers(0, 50, 2)), 10) for p in range(7)]
    second = [per_case_row(f"C{p}", f"P{p}", *(int(v) for v in rng.integers(0, 50, 2)), 10) for p in range(7)]
    write_per_case(tmp_path, FIRST, first)
    write_per_case(tmp_path / "ordered", SECOND, second)
    write_per_case(tmp_path / "ordered", FIRST, first)
    shuffled = list(second)
    random.Random(0).shuffle(shuffled)
    assert shuffled != second
    write_per_case(tmp_path, SECOND, shuffled)
    assert compare_networks(tmp_path, EVALUATED) == compare_networks(tmp_path / "ordered", EVALUATED)


@pytest.mark.parametrize("change, reason", [
    (lambda rows: rows[:-1], r"different test images \(6 and 5 images; C5 scored for the DPU-Net only\)"),
    (lambda rows: rows[:-1] + [per_case_row("X9", "P5", 1, 1, 1)], r"images \(6 and 6 images; C5 scored for the DPU-"),
    (lambda rows: rows + [per_case_row("C9", "P9", 1, 1, 1)], r"\(6 and 7 images; C9 scored for the U-Net only\)"),
    (lambda rows: rows[:-1] + [per_case_row("C5", "P0", 1, 1, 1)], r"test image C5 belongs to another patient"),
    (lambda rows: rows + [rows[0]], r"the U-Net's evaluation scores test image C0 twice"),
], ids=["one-missing", "one-other", "one-more", "other-patient", "twice"])
def test_other_test_images_give_no_table_but_the_reason(tmp_path, change, reason):
    rows = [per_case_row(f"C{p}", f"P{p}", 30, 5, 20) for p in range(6)]
    write_per_case(tmp_path, FIRST, rows)
    write_per_case(tmp_path, SECOND, change(list(rows)))
    comparison = compare_networks(tmp_path, EVALUATED)
    assert list(comparison) == ["skipped"]
    lines = comparison_lines(comparison)
    assert len(lines) == 1 and lines[0].startswith("No paired comparison of the DPU-Net and the U-Net on the test ")
    assert re.search(reason, lines[0]), lines[0]


def test_a_network_not_evaluated_or_without_per_image_scores_gives_the_reason(tmp_path):
    rows = [per_case_row(f"C{p}", f"P{p}", 30, 5, 20) for p in range(6)]
    write_per_case(tmp_path, FIRST, rows)
    assert compare_networks(tmp_path, {FIRST: {"images": 6}}) == {
        "skipped": "the U-Net was not evaluated on the test images"}
    missing = tmp_path / SECOND / "eval-test" / "per_case.csv"
    assert compare_networks(tmp_path, EVALUATED) == {
        "skipped": f"the U-Net's evaluation has no per-image scores ({missing} is missing)"}
    missing.parent.mkdir(parents=True)
    missing.write_text("case_id,patient_id,dsc,lesion_pixels,predicted_pixels\nC0,P0,0.5,", encoding="utf-8")
    assert compare_networks(tmp_path, EVALUATED)["skipped"].startswith(
        f"the U-Net's per-image scores cannot be read ({missing}: malformed per-image scores (line 2")


def test_a_per_case_csv_written_before_the_pixel_counts_is_compared_by_its_recovered_counts(tmp_path):
    """A demo folder evaluated before per_case.csv held tp, fp and fn is reused by a resumed demo: the counts are
    recovered exactly from the DSC and the pixel counts, so the comparison is the same."""
    first = [per_case_row(f"C{p}", f"P{p}", 10 + 5 * p, 3 * p, 40 - 5 * p, false_blobs=p % 3) for p in range(6)]
    second = [per_case_row(f"C{p}", f"P{p}", 40 - 4 * p, p, 10 + 4 * p) for p in range(6)]
    for folder in ("new", "old"):
        write_per_case(tmp_path / folder, FIRST, first)
    write_per_case(tmp_path / "new", SECOND, second)
    write_per_case(tmp_path / "old", SECOND, [{k: v for k, v in r.items() if k not in ("tp", "fp", "fn")}
                                               for r in second])
    assert "tp" not in (tmp_path / "old" / SECOND / "eval-test" / "per_case.csv").read_text().splitlines()[0]
    assert compare_networks(tmp_path / "old", EVALUATED) == compare_networks(tmp_path / "new", EVALUATED)


def test_too_few_patients_give_no_verdict_and_the_report_says_why(tmp_path):
    """The tiny test demo's 2 test patients: the values and the difference, but "too few patients"."""
    write_per_case(tmp_path, FIRST, [per_case_row("C0", "P0", 50, 0, 0), per_case_row("C1", "P1", 50, 0, 0)])
    write_per_case(tmp_path, SECOND, [per_case_row("C0", "P0", 0, 0, 50), per_case_row("C1", "P1", 0, 0, 50)])
    comparison = compare_networks(tmp_path, EVALUATED)
    assert {m["verdict"] for m in comparison["metrics"]} == {"too few patients"}
    assert _by_metric(comparison)["dsc"]["difference"] == 1.0
    text = "\n".join(comparison_lines(comparison))
    assert "no verdict below 5 test patients" in text
    assert console_line(comparison).endswith("too few patients (one run each; every metric in the report)")


def test_the_table_gives_both_values_the_difference_its_interval_and_the_verdict(tmp_path):
    write_per_case(tmp_path, FIRST, [per_case_row(f"C{p}", f"P{p}", 50, 0, 0) for p in range(6)])
    write_per_case(tmp_path, SECOND, [per_case_row(f"C{p}", f"P{p}", 25, 10, 25, false_blobs=1) for p in range(6)])
    comparison = json.loads(json.dumps(json_safe(compare_networks(tmp_path, EVALUATED))))  # as demo.json holds it
    lines = comparison_lines(comparison)
    assert lines[:2] == ["| metric | DPU-Net | U-Net | DPU-Net - U-Net [95% interval] | verdict |",
                         "|---|---:|---:|---|---|"]
    assert lines[2] == "| DSC (pooled) | 1.000 | 0.588 | +0.412 [+0.412, +0.412] | DPU-Net higher |"
    assert "| FP / image (lower is better) | 0.00 | 1.00 | -1.00 [-1.00, -1.00] | DPU-Net fewer |" in lines
    assert len([line for line in lines if line.startswith("|")]) == 2 + 6  # header, rule, six metrics
    note = lines[-1]
    assert "test-patient noise only, not the run-to-run variance" in note and "docs/results.md" in note
    assert "over the test patients (2000 resamples, seed 0" in note and "too few patients" not in note
    assert math.isclose(comparison["metrics"][0]["difference"], 1 - 50 / 85)
    assert console_line(comparison) == ("      DPU-Net - U-Net: pooled DSC +0.412 [+0.412, +0.412] over 6 test "
                                        "patient(s), DPU-Net higher (one run each; every metric in the report)")
