"""Tests for scintiseg.experiments.paired: bootstrap intervals that would be wrong if the statistics were."""

import numpy as np
import pytest
from scipy import stats

from scintiseg.errors import ScintisegError
from scintiseg.experiments.paired import (
    bootstrap_interval,
    paired_difference,
    resample_weights,
    row_scores,
)
from scintiseg.metrics import pooled_scores


def _records(values, views=("ANT",), patients=None, column="dsc"):
    """Per-image records: one image per (patient, view), the per-image ``column`` from ``values[p]``."""
    patients = patients or [f"P{i:03d}" for i in range(len(values))]
    return [{"patient_id": p, "view": v, column: float(value), "tp": 0, "fp": 0, "fn": 0,
             "lesions": 0, "detected": 0, "false_positives": 0}
            for p, value in zip(patients, values) for v in views]


def test_identical_rows_give_an_interval_around_zero():
    rng = np.random.default_rng(1)
    a = row_scores([_records(rng.uniform(0, 1, 200))], "dsc_image")
    d = paired_difference(a, a)
    assert d.estimate == 0 and d.low == 0 and d.high == 0 and not d.excludes_zero


def test_rows_with_independent_noise_of_one_distribution_are_not_told_apart():
    rng = np.random.default_rng(2)
    difficulty = rng.uniform(0.2, 0.8, 200)
    a = row_scores([_records(difficulty + rng.normal(0, 0.05, 200))], "dsc_image")
    b = row_scores([_records(difficulty + rng.normal(0, 0.05, 200))], "dsc_image")
    d = paired_difference(a, b)
    assert d.low < 0 < d.high and not d.excludes_zero
    assert d.high - d.low < 0.05  # pairing removes the shared difficulty (SD 0.17) from the noise


def test_a_constant_shift_is_found_centred_on_the_shift():
    rng = np.random.default_rng(3)
    base = rng.uniform(0.2, 0.8, 200)
    a = row_scores([_records(base + 0.03 + rng.normal(0, 0.02, 200))], "dsc_image")
    b = row_scores([_records(base)], "dsc_image")
    d = paired_difference(a, b)
    assert d.excludes_zero and d.low > 0
    assert d.low < 0.03 < d.high and abs((d.low + d.high) / 2 - 0.03) < 0.005
    unpaired_sd = np.sqrt(base.var() * 2 / 200)  # the same shift between unpaired means would be within noise
    assert 0.03 < 2 * 1.96 * unpaired_sd


def test_patients_are_resampled_not_images_so_two_views_of_a_patient_stay_together():
    rng = np.random.default_rng(4)
    values = rng.uniform(0, 1, 100)
    one_view = bootstrap_interval(row_scores([_records(values)], "dsc_image"), seed=7)
    two_views = bootstrap_interval(row_scores([_records(values, views=("ANT", "POST"))], "dsc_image"), seed=7)
    # Same patients drawn, each patient's two identical views weigh together: the same interval. An image
    # bootstrap would see 200 independent images and give an interval about 1/sqrt(2) as wide.
    assert two_views.low == pytest.approx(one_view.low) and two_views.high == pytest.approx(one_view.high)
    weights = resample_weights(5, 1000, np.random.default_rng(0))
    assert weights.shape == (1000, 5) and np.all(weights.sum(axis=1) == 5)


def test_pooled_dsc_is_a_ratio_of_sums_not_a_mean_of_ratios():
    records = [{"patient_id": "A", "tp": 90, "fp": 10, "fn": 0}, {"patient_id": "A", "tp": 0, "fp": 0, "fn": 10},
               {"patient_id": "B", "tp": 1, "fp": 3, "fn": 5}]
    scores = row_scores([records], "dsc")
    counts = np.array([[r["tp"], r["fp"], r["fn"], 0] for r in records])
    assert scores.value == pytest.approx(pooled_scores(counts)["dsc"])
    assert scores.sums.shape == (1, 2, 2)  # two patients: A's two images summed


def test_matches_scipy_paired_percentile_bootstrap():
    rng = np.random.default_rng(5)
    base = rng.uniform(0.2, 0.8, 150)
    x, y = base + rng.normal(0.01, 0.03, 150), base
    ours = paired_difference(row_scores([_records(x)], "dsc_image"), row_scores([_records(y)], "dsc_image"),
                             n_resamples=4000)
    theirs = stats.bootstrap((x, y), lambda a, b, axis: a.mean(axis=axis) - b.mean(axis=axis), paired=True,
                             n_resamples=4000, method="percentile", random_state=1).confidence_interval
    half = (theirs.high - theirs.low) / 2
    assert abs(ours.low - theirs.low) < 0.1 * half and abs(ours.high - theirs.high) < 0.1 * half


def test_the_interval_covers_the_true_difference_about_95_percent_of_the_time():
    rng = np.random.default_rng(6)
    covered = 0
    trials = 200
    for trial in range(trials):
        base = rng.uniform(0.2, 0.8, 60)
        a = row_scores([_records(base + 0.02 + rng.normal(0, 0.05, 60))], "dsc_image")
        b = row_scores([_records(base)], "dsc_image")
        d = paired_difference(a, b, n_resamples=500, seed=trial)
        covered += d.low <= 0.02 <= d.high
    assert 0.88 <= covered / trials <= 0.99


def test_runs_are_resampled_so_seed_luck_widens_the_interval():
    rng = np.random.default_rng(8)
    base = rng.uniform(0.2, 0.8, 200)
    runs_a = [_records(base + shift) for shift in (0.0, 0.06, 0.12)]  # runs of row a differ by their seed
    runs_b = [_records(base + 0.06) for _ in range(3)]
    a, b = row_scores(runs_a, "dsc_image"), row_scores(runs_b, "dsc_image")
    fixed = paired_difference(a, b, resample_runs=False)
    resampled = paired_difference(a, b)
    assert fixed.high - fixed.low < 1e-9  # the same images, a constant difference per run: no test-set noise
    assert resampled.low < -0.02 and resampled.high > 0.02 and not resampled.excludes_zero


def test_rows_on_different_patients_cannot_be_paired():
    a = row_scores([_records([0.5, 0.6])], "dsc_image")
    b = row_scores([_records([0.5, 0.6], patients=["X", "Y"])], "dsc_image")
    with pytest.raises(ScintisegError, match="different patients"):
        paired_difference(a, b)
    with pytest.raises(ScintisegError, match="other patients"):
        row_scores([_records([0.5, 0.6]), _records([0.5])], "dsc_image")
    with pytest.raises(ScintisegError, match="unknown metric"):
        row_scores([_records([0.5])], "f1")


def test_lesion_sensitivity_and_false_positives_per_image_are_sums_over_the_drawn_images():
    records = [{"patient_id": "A", "lesions": 3, "detected": 2, "false_positives": 1},
               {"patient_id": "B", "lesions": 1, "detected": 1, "false_positives": 0},
               {"patient_id": "B", "lesions": 0, "detected": 0, "false_positives": 3}]
    assert row_scores([records], "sensitivity").value == pytest.approx(3 / 4)
    assert row_scores([records], "fp_per_image").value == pytest.approx(4 / 3)


def test_a_run_that_predicts_nothing_has_no_cpa_and_is_left_out_of_estimate_and_interval_alike():
    """CPA = TP / (TP + FP) of a run with no predicted pixel is undefined: the row's CPA is the mean over
    the runs that have one, and the interval is built around that same estimate (not NaN beside an interval)."""
    rng = np.random.default_rng(11)
    patients = [f"P{i:03d}" for i in range(60)]

    def run(tp_scale, fp_scale):
        return [{"patient_id": p, "tp": float(rng.poisson(tp_scale)), "fp": float(rng.poisson(fp_scale)), "fn": 5.0}
                for p in patients]

    learned = run(20, 10)
    silent = [dict(r, tp=0.0, fp=0.0) for r in run(1, 1)]  # predicts nothing: TP = FP = 0 everywhere
    both = row_scores([learned, silent], "cpa")
    alone = row_scores([learned], "cpa")
    assert np.isnan(both.per_run()[1])
    assert both.value == pytest.approx(alone.value) and 0.5 < both.value < 0.8
    interval = bootstrap_interval(both)
    assert np.isfinite([interval.low, interval.high]).all() and interval.low <= both.value <= interval.high
    assert interval.dropped < 0.35 * interval.resamples  # only replicates that drew the silent run twice
    other = row_scores([run(20, 20), run(20, 20)], "cpa")
    difference = paired_difference(both, other)
    assert difference.estimate == pytest.approx(both.value - other.value) and difference.excludes_zero
    assert np.isnan(row_scores([silent], "cpa").value)


def test_rows_with_the_same_seeds_are_paired_by_seed():
    """Run k of both rows shares seed k (module docstring): a row that is the other plus 0.01 on every run gives
    0.01 in every replicate, however much the runs differ; runs drawn apart would turn seed luck into width."""
    rng = np.random.default_rng(9)
    base = rng.uniform(0.2, 0.8, 200)
    luck = (0.0, 0.06, 0.12)  # seed luck, shared by both rows
    a = row_scores([_records(base + s + 0.01) for s in luck], "dsc_image")
    b = row_scores([_records(base + s) for s in luck], "dsc_image")
    d = paired_difference(a, b)
    assert d.estimate == pytest.approx(0.01)
    assert d.low == pytest.approx(0.01, abs=1e-9) and d.high == pytest.approx(0.01, abs=1e-9)
    assert d.excludes_zero


def test_every_patient_can_be_drawn_including_the_last():
    weights = resample_weights(3, 2000, np.random.default_rng(0))
    assert (weights > 0).any(axis=0).all()  # each of the 3 patients appears in some draw
    assert abs(weights.mean(axis=0) - 1).max() < 0.1  # each drawn once per draw on average


def test_a_rows_value_is_the_mean_over_runs_of_each_runs_pooled_score_not_pooled_over_runs():
    """The tables print mean +- SD over runs; the estimate of an interval is that mean, however many pixels each
    run's images hold (pooling over runs would weight the run with more predicted pixels)."""
    run0 = [{"patient_id": "A", "tp": 10, "fp": 0, "fn": 0}]  # DSC 1
    run1 = [{"patient_id": "A", "tp": 10, "fp": 80, "fn": 0}]  # DSC 20 / 100 = 0.2
    scores = row_scores([run0, run1], "dsc")
    assert scores.per_run() == pytest.approx([1.0, 0.2])
    assert scores.value == pytest.approx(0.6)  # pooled over the runs: 40 / 120 = 0.33
    assert bootstrap_interval(scores, n_resamples=200).estimate == pytest.approx(0.6)
