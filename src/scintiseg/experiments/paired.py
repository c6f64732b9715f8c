"""Bootstrap 95 % intervals of experiment rows and of **paired** differences between rows on the same patients.

Every row of an experiment is tested on the same held-out patients (:mod:`scintiseg.experiments.test_set`),
so two rows can be compared patient by patient: the difference of their scores on one resampled set of
patients cancels what the patients share (how hard their lesions are), which an unpaired comparison of two
means leaves in the noise. A table then says which differences are real: those whose interval excludes 0.

Choices (the issue asks for a percentile bootstrap over test patients; what it leaves open is fixed here):

- **Resampling unit: the test patient**, not the pixel or the image. A patient's images (ANT and POST for a
  single-view network, one fused image for ``aggregate``) share its anatomy and lesions, so they are drawn
  together: one draw of ``P`` patients with replacement gives every image of a drawn patient the weight
  "number of times drawn" (:func:`resample_weights`). Pixels of one image are far from independent, so a
  pixel bootstrap would give intervals much too narrow.
- **Paired**: both rows of a difference see the *same* draw of patients (and of runs, below), so rows tested
  on different images of one patient (single view vs aggregated) are still paired, by patient.
- **Runs are resampled too** (``resample_runs=True``, the default): a row's value is the mean over its
  training runs, and runs of one row differ by their seed as much as rows differ by their method
  (docs/results.md), so an interval over patients alone would call seed luck a real difference. Each
  bootstrap replicate draws the row's runs with replacement as well; when both rows have the same runs
  (seed ``k`` of either row sees the same validation hold-out and labelled patients) the run draw is
  shared, i.e. paired by seed. With ``K`` runs the bootstrap sees ``(K - 1) / K`` of the run-to-run
  variance (2/3 at 3 runs, 1/2 at 2 runs): intervals from 2-3 runs are somewhat too narrow, and with one
  run they hold the test-patient noise only. ``resample_runs=False`` gives the interval of the trained
  networks at hand (test-set noise only).
- **Metrics are ratios of sums** (:data:`RATIO_METRICS`): pooled DSC = 2 sum TP / (2 sum TP + sum FP + sum FN)
  over the drawn images, as the tables' DSC is pooled (paper A §3.2 does not say pooled or per image; the
  tables print pooled, and per image beside it). Recall, CPA and IoU likewise; ``dsc_image`` is the mean of
  the per-image DSC (an image with no lesion and no prediction scores 1, :mod:`scintiseg.metrics`);
  lesion sensitivity = sum detected / sum lesions; false positives per image = sum FP components / images.
  A run's value is computed on the drawn patients, then the mean over the (drawn) runs is taken.
- **A run whose metric is undefined is left out of its row's mean** (e.g. CPA = TP / (TP + FP) of a run
  that predicts no pixel at all): the row's value is the mean over the runs that have one, as the tables'
  mean +- SD over runs is (:func:`scintiseg.metrics.mean_std` skips it), and each replicate likewise
  averages the drawn runs that have one; a replicate none of whose drawn runs has one is left out and
  counted. So the estimate and its interval describe the same runs (before, one undefined run made the
  estimate undefined while replicates without that run still gave an interval).
- **2,000 resamples**, seeded (``seed=0``): an interval's ends are the 2.5th and 97.5th percentiles of the
  replicates, whose Monte-Carlo standard error at 2,000 replicates is about 3 % of the interval's
  half-width for a normal-shaped distribution (sqrt(0.025 x 0.975 / 2000) / phi(1.96) = 0.06 SD against
  1.96 SD); Efron & Tibshirani (1993, *An Introduction to the Bootstrap*) ask for at least 1,000 for
  percentile intervals. The same seed gives the same patient draws for every metric and pair.
- **Percentile interval** (Efron & Tibshirani 1993, ch. 13), not BCa: BCa's jackknife over patients with
  resampled runs is not defined, and at 200+ patients the two barely differ. A replicate whose denominator
  is 0 (e.g. no lesion among the drawn patients) is left out and counted.
- **No multiple-comparison correction**: a table with 5 comparisons at 95 % expects 0.25 false "real"
  verdicts by chance; the tables say how many comparisons they hold.

Example::

    a = row_scores([run0_images, run1_images], "dsc")    # per-image dicts with patient_id, tp, fp, fn
    b = row_scores([run0_images_b, run1_images_b], "dsc")
    d = paired_difference(a, b)                          # Interval(estimate, low, high, ...)
    print(d.estimate, d.low, d.high, d.excludes_zero)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from scintiseg.errors import ScintisegError

#: Resamples of every interval (module docstring).
N_RESAMPLES = 2000
#: Confidence level of every interval.
CONFIDENCE = 0.95

_Column = Callable[[Mapping[str, np.ndarray]], np.ndarray]

#: metric -> (numerator, denominator) per image; a row's value is sum(numerator) / sum(denominator).
RATIO_METRICS: dict[str, tuple[_Column, _Column]] = {
    "dsc": (lambda c: 2 * c["tp"], lambda c: 2 * c["tp"] + c["fp"] + c["fn"]),
    "recall": (lambda c: c["tp"], lambda c: c["tp"] + c["fn"]),
    "cpa": (lambda c: c["tp"], lambda c: c["tp"] + c["fp"]),
    "iou": (lambda c: c["tp"], lambda c: c["tp"] + c["fp"] + c["fn"]),
    "dsc_image": (lambda c: c["dsc"], lambda c: np.ones_like(c["dsc"])),
    "sensitivity": (lambda c: c["detected"], lambda c: c["lesions"]),
    "fp_per_image": (lambda c: c["false_positives"], lambda c: np.ones_like(c["false_positives"])),
}
#: The per-image columns :data:`RATIO_METRICS` read.
IMAGE_COLUMNS: tuple[str, ...] = ("tp", "fp", "fn", "dsc", "lesions", "detected", "false_positives")


@dataclass(frozen=True)
class RowScores:
    """One metric of one row as per-patient sums: ``sums[k, p] = (numerator, denominator)`` of run ``k``.

    Attributes:
        metric: a key of :data:`RATIO_METRICS`.
        patients: the test patients, in the order of ``sums``' second axis.
        runs: the run indices (seeds), in the order of ``sums``' first axis.
        sums: ``(K, P, 2)`` float array.
    """

    metric: str
    patients: tuple[str, ...]
    runs: tuple[int, ...]
    sums: np.ndarray

    def per_run(self) -> np.ndarray:
        """The metric of each run on all patients, ``(K,)`` (NaN where the denominator is 0)."""
        numerator, denominator = self.sums[..., 0].sum(axis=1), self.sums[..., 1].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)

    @property
    def value(self) -> float:
        """The row's value: the mean over runs of each run's metric on all patients (runs where it is
        undefined left out; NaN when no run has one)."""
        return _mean_defined(self.per_run()[None, :])[0]


def row_scores(runs: Sequence[Sequence[Mapping]], metric: str, run_ids: Sequence[int] | None = None) -> RowScores:
    """Per-patient sums of ``metric`` for each run of a row.

    Args:
        runs: for each run, its per-image records (``patient_id`` and the columns of :data:`IMAGE_COLUMNS`
            that ``metric`` reads); every run must cover the same patients.
        metric: a key of :data:`RATIO_METRICS`.
        run_ids: the runs' indices (default 0..K-1).

    Raises:
        ScintisegError: an unknown metric, no runs, or runs tested on different patients.
    """
    if metric not in RATIO_METRICS:
        raise ScintisegError(f"unknown metric {metric!r} (choose from {', '.join(RATIO_METRICS)})")
    if not runs:
        raise ScintisegError("a row needs at least one evaluated run")
    numerator_of, denominator_of = RATIO_METRICS[metric]
    patients = tuple(sorted({str(record["patient_id"]) for record in runs[0]}))
    index = {patient: i for i, patient in enumerate(patients)}
    sums = np.zeros((len(runs), len(patients), 2))
    for k, records in enumerate(runs):
        mine = sorted({str(record["patient_id"]) for record in records})
        if tuple(mine) != patients:
            raise ScintisegError(f"run {k} was tested on other patients than run 0 ({len(mine)} against "
                                 f"{len(patients)}): every run of an experiment must share one test set")
        columns = {name: np.asarray([float(record[name]) for record in records]) for name in IMAGE_COLUMNS
                   if all(name in record for record in records)}
        where = np.asarray([index[str(record["patient_id"])] for record in records])
        np.add.at(sums[k, :, 0], where, numerator_of(columns))
        np.add.at(sums[k, :, 1], where, denominator_of(columns))
    ids = tuple(int(k) for k in (run_ids if run_ids is not None else range(len(runs))))
    return RowScores(metric, patients, ids, sums)


@dataclass(frozen=True)
class Interval:
    """A bootstrap estimate with its percentile interval.

    Attributes:
        estimate: the statistic on all patients and runs (not the bootstrap mean).
        low, high: the interval's ends.
        confidence: e.g. 0.95.
        resamples: replicates used; ``dropped``: replicates left out (a zero denominator).
    """

    estimate: float
    low: float
    high: float
    confidence: float
    resamples: int
    dropped: int = 0

    @property
    def excludes_zero(self) -> bool:
        """True when the whole interval lies on one side of 0: a real difference."""
        return self.low > 0 or self.high < 0


@dataclass
class PairedStatistics:
    """The bootstrap intervals of an experiment, as :func:`scintiseg.experiments.tables.paired_statistics` finds them
    (written to ``table.md`` and ``paired.csv``, drawn by :mod:`~scintiseg.experiments.plots`).

    Attributes:
        reference: the row every other row is compared with.
        rows: row -> metric -> interval of the row's value (mean over runs).
        versus_reference: row -> metric -> interval of row - reference.
        pairs: ``(a, b, interval of a - b)`` in pooled DSC, every pair of rows once.
        patients, images: the test set's size (of the reference row).
    """

    reference: str
    rows: dict[str, dict[str, Interval]] = field(default_factory=dict)
    versus_reference: dict[str, dict[str, Interval]] = field(default_factory=dict)
    pairs: list[tuple[str, str, Interval]] = field(default_factory=list)
    patients: int = 0
    images: int = 0


def resample_weights(n_patients: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``(B, P)`` how many times each patient is drawn in each of ``B`` draws of ``P`` patients with replacement."""
    draws = rng.integers(0, n_patients, size=(n_resamples, n_patients))
    weights = np.zeros((n_resamples, n_patients))
    np.add.at(weights, (np.arange(n_resamples)[:, None], draws), 1.0)
    return weights


def _replicates(scores: RowScores, weights: np.ndarray, run_draws: np.ndarray | None) -> np.ndarray:
    """``(B,)`` the row's value in each replicate: per-run ratios of weighted sums, mean over the drawn runs."""
    numerator = weights @ scores.sums[..., 0].T  # (B, K)
    denominator = weights @ scores.sums[..., 1].T
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)
    if run_draws is not None:
        ratio = np.take_along_axis(ratio, run_draws, axis=1)
    return _mean_defined(ratio)


def _mean_defined(values: np.ndarray) -> np.ndarray:
    """Mean over the last axis of the finite values; NaN where there is none (module docstring)."""
    finite = np.isfinite(values)
    count = finite.sum(axis=-1)
    total = np.where(finite, values, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _interval(estimate: float, replicates: np.ndarray, confidence: float) -> Interval:
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return Interval(estimate, math.nan, math.nan, confidence, 0, int(replicates.size))
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return Interval(float(estimate), float(low), float(high), confidence, int(finite.size),
                    int(replicates.size - finite.size))


def _run_draws(n_runs: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, n_runs, size=(n_resamples, n_runs))


def bootstrap_interval(
    scores: RowScores,
    *,
    n_resamples: int = N_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
    resample_runs: bool = True,
) -> Interval:
    """Percentile interval of one row's value (mean over runs), resampling patients (and runs)."""
    rng = np.random.default_rng(seed)
    weights = resample_weights(len(scores.patients), n_resamples, rng)
    draws = _run_draws(len(scores.runs), n_resamples, rng) if resample_runs else None
    return _interval(scores.value, _replicates(scores, weights, draws), confidence)


def paired_difference(
    a: RowScores,
    b: RowScores,
    *,
    n_resamples: int = N_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
    resample_runs: bool = True,
) -> Interval:
    """Percentile interval of ``a - b`` (row values), both rows on the same draw of patients.

    Runs are drawn once for both rows when the rows have the same run indices (paired by seed), else
    independently per row (module docstring).

    Raises:
        ScintisegError: the rows differ in metric or were tested on different patients.
    """
    if a.metric != b.metric:
        raise ScintisegError(f"cannot compare {a.metric} with {b.metric}")
    if a.patients != b.patients:
        raise ScintisegError(f"the rows were tested on different patients ({len(a.patients)} and {len(b.patients)}): "
                             "a paired difference needs one shared test set")
    rng = np.random.default_rng(seed)
    weights = resample_weights(len(a.patients), n_resamples, rng)
    draws_a = draws_b = None
    if resample_runs:
        draws_a = _run_draws(len(a.runs), n_resamples, rng)
        draws_b = draws_a if a.runs == b.runs else _run_draws(len(b.runs), n_resamples, rng)
    replicates = _replicates(a, weights, draws_a) - _replicates(b, weights, draws_b)
    return _interval(a.value - b.value, replicates, confidence)
