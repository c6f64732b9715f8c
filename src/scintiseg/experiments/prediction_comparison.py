"""Two folders of masks of the same annotated views compared, A against B: ``scintiseg evaluate --predictions A
--against B``.

What it is for: a department that adapted the shipped model to its camera (``scintiseg adapt``) predicts the cases
its readers outlined with both models and asks whether the adapted one (A) is better than the shipped one (B), and by
how much beyond what a different handful of patients would have given. Two ``metrics.json`` side by side cannot say
that; this module gives, for each metric, A's value, B's value and A - B with its 95 % bootstrap interval.

Choices:

- **Two different folders**: ``--against`` naming the ``--predictions`` folder itself (the same folder once
  resolved) is refused: it could only print zero differences, "not decided", for what is almost surely a typo. Two
  different folders holding the same masks are compared as any two.
- **Scored as** ``evaluate --predictions`` **scores a folder**: both folders by
  :func:`scintiseg.train.evaluate.score_predictions` on the same data set and split, so each metric has the definition
  of ``metrics.json`` (pooled DSC, Recall and CPA: ratios of the pixel counts summed over the views; lesion
  sensitivity; false positives per view; the mean of the per-view DSC). Pooled IoU is left out: over one set of views
  it is a function of the pooled DSC (IoU = DSC / (2 - DSC)), so its verdict is DSC's.
- **The same views, or nothing**: both folders must hold a mask of every view a person outlined (the folder that
  lacks one is named with its first missing view) and score them the same way (a study's fused mask in one folder
  and a mask per view in the other is refused). Both are scored before anything is written: a refused comparison
  leaves ``OUT`` as it was.
- **Paired, over patients** (:mod:`scintiseg.experiments.paired`): every bootstrap replicate draws the patients with
  replacement once and computes A's and B's metric on that same draw, so how hard the drawn patients' lesions are
  cancels out of A - B; an unpaired comparison of two intervals would leave that in the noise and call far fewer
  differences. The unit is the patient, not the view: a patient's ANT and POST (and several scans of one patient)
  share anatomy and lesions, so they are drawn together. One evaluated folder is one run
  (``resample_runs=False``): the interval holds the case-to-case noise of these patients, not the training seed's.
- **2,000 replicates, seed 0, percentile interval** (:data:`~scintiseg.experiments.paired.N_RESAMPLES`): the same
  folders give the same interval every time. The estimate is A - B on all patients, not the replicates' mean.
- **Verdict**: "A higher" or "A lower" when the interval lies wholly on one side of 0, "not decided" when it holds 0
  (these patients cannot tell A from B; more outlined cases may); for false positives per view, where lower is
  better, "A fewer" or "A more". "undefined" where the metric has no value (lesion sensitivity of views without a
  lesion). No correction for multiple comparisons is made, as in the experiment tables: six intervals at 95 % give
  up to about 0.3 chance "decided" verdicts per comparison of two equal models (6 x 0.05, an expected count under
  exact coverage; fewer in practice: the metrics move together).
- **At least** :data:`MIN_PATIENTS` **= 5 patients for a verdict**: below it every verdict reads "too few patients"
  (A, B, A - B and the interval are still given). A percentile bootstrap over fewer patients has too few distinct
  resamples to stand for patient-to-patient noise: ``P`` patients drawn with replacement make C(2P - 1, P) distinct
  draws, 1, 3, 10 and 35 for 1 to 4 patients (one patient: an interval of zero width, which would read "decided"
  whatever the noise), 126 for 5; and with 3 or fewer, each patient drawn alone makes up more than 2.5 % of the
  draws, so an interval's end can be one patient's own value.

Outputs (written atomically beside A's ``metrics.json``, ``per_case.csv`` and overlays)::

    comparison.json   the settings and, per metric, A, B, A - B, the interval's ends and the verdict
    comparison.md     the same as a table, with this method in a sentence

Example::

    comparison = compare_prediction_folders("pred_adapted", "pred_shipped", "data/site", split="all")
    print("\\n".join(comparison_lines(comparison)))
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from scintiseg.errors import ScintisegError
from scintiseg.experiments.paired import CONFIDENCE, N_RESAMPLES, Interval, paired_difference, row_scores
from scintiseg.io.atomic import write_text_atomic
from scintiseg.train.evaluate import json_safe, prediction_output_folder, score_predictions

#: Fewer patients than this give every metric the verdict "too few patients" (module docstring).
MIN_PATIENTS = 5

#: The metrics compared, in the order printed: (key of :data:`scintiseg.experiments.paired.RATIO_METRICS`, label,
#: whether lower is better).
COMPARED_METRICS: tuple[tuple[str, str, bool], ...] = (
    ("dsc", "pooled DSC", False),
    ("recall", "pooled recall", False),
    ("cpa", "pooled CPA", False),
    ("sensitivity", "lesion sensitivity", False),
    ("fp_per_image", "false positives per view", True),
    ("dsc_image", "mean per-view DSC", False),
)


@dataclass(frozen=True)
class MetricComparison:
    """One metric of A and B and the paired interval of A - B.

    Attributes:
        metric: a key of :data:`COMPARED_METRICS`; ``label`` its name as printed.
        lower_is_better: true for false positives per view.
        a, b: each folder's value on all its views (NaN where undefined).
        difference: A - B with its percentile interval over patients.
        patients: how many patients the interval was drawn over.
    """

    metric: str
    label: str
    lower_is_better: bool
    a: float
    b: float
    difference: Interval
    patients: int

    @property
    def verdict(self) -> str:
        """``A higher`` / ``A lower`` (``A more`` / ``A fewer`` where lower is better), ``not decided`` when the
        interval holds 0, ``undefined`` when there is no interval, ``too few patients`` below
        :data:`MIN_PATIENTS`."""
        if self.patients < MIN_PATIENTS:
            return "too few patients"
        low, high = self.difference.low, self.difference.high
        if not (math.isfinite(low) and math.isfinite(high)):
            return "undefined"
        if not self.difference.excludes_zero:
            return "not decided"
        above = low > 0
        if self.lower_is_better:
            return "A more" if above else "A fewer"
        return "A higher" if above else "A lower"


@dataclass(frozen=True)
class PredictionComparison:
    """A against B on one data set's annotated views (:func:`compare_prediction_folders`).

    Attributes:
        predictions, against: folders A and B; ``data``, ``split``: what they were scored on.
        views, patients: how many views were scored, of how many patients (the bootstrap's unit).
        metrics: one :class:`MetricComparison` per entry of :data:`COMPARED_METRICS`.
        resamples, seed: the bootstrap's.
        folder: where the outputs were written.
    """

    predictions: Path
    against: Path
    data: Path
    split: str
    views: int
    patients: int
    metrics: tuple[MetricComparison, ...]
    resamples: int
    seed: int
    folder: Path

    def as_dict(self) -> dict:
        """What ``comparison.json`` holds (NaN written as null)."""
        return json_safe({
            "a": str(self.predictions), "b": str(self.against), "data": str(self.data), "split": self.split,
            "views": self.views, "patients": self.patients,
            "method": bootstrap_method("A - B", self.resamples, self.seed),
            "metrics": [{"metric": m.metric, "label": m.label, "lower_is_better": m.lower_is_better, "a": m.a,
                         "b": m.b, "difference": m.difference.estimate, "low": m.difference.low,
                         "high": m.difference.high, "verdict": m.verdict, "replicates": m.difference.resamples,
                         "replicates_dropped": m.difference.dropped} for m in self.metrics],
        })


def bootstrap_method(statistic: str, resamples: int, seed: int) -> dict:
    """The ``method`` record of a comparison file: the statistic, a paired percentile bootstrap over patients, one run
    per side."""
    return {"statistic": statistic, "interval": "percentile bootstrap, paired", "unit": "patient",
            "confidence": CONFIDENCE, "resamples": resamples, "seed": seed, "resample_runs": False,
            "min_patients": MIN_PATIENTS}


def compare_prediction_folders(
    predictions: str | Path,
    against: str | Path,
    data: str | Path,
    *,
    split: str = "test",
    out: str | Path | None = None,
    overlays: int = 3,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> PredictionComparison:
    """Score folders A (``predictions``) and B (``against``) on the same views, write A's evaluation and the comparison.

    Args:
        predictions: folder A, as :func:`scintiseg.train.evaluate.evaluate_predictions` takes it.
        against: folder B, the same kind of folder (e.g. the shipped model's predictions of the same cases).
        data: the data set folder whose outlines both are scored against.
        split: ``test`` or ``all``.
        out: output folder (default ``PREDICTIONS/eval-<split>``): A's ``metrics.json``, ``per_case.csv``,
            overlays, and ``comparison.json`` and ``comparison.md``.
        overlays: how many of A's best and worst views to draw (0: none).
        n_resamples, seed: the bootstrap's (module docstring).

    Returns:
        the comparison, also written to ``comparison.json`` and ``comparison.md``.

    Raises:
        ScintisegError: ``against`` the ``predictions`` folder itself; what
            :func:`~scintiseg.train.evaluate.evaluate_predictions` refuses, of either folder (a folder lacking a
            view's mask is named with the first view it lacks), or folders that score the views differently;
            nothing is written then.
    """
    if Path(predictions).resolve() == Path(against).resolve():
        raise ScintisegError("--against is the --predictions folder itself: compare two different folders",
                             path=against)
    folder = prediction_output_folder(predictions, split, out)
    scored_a = score_predictions(predictions, data, split=split)
    scored_b = score_predictions(against, data, split=split)
    views_a = [row["case_id"] for row in scored_a.rows]
    views_b = [row["case_id"] for row in scored_b.rows]
    if views_a != views_b:
        first = next((view for view in views_a if view not in views_b), None)
        where = (f"{first} there, not here" if first is not None else
                 f"{next(view for view in views_b if view not in views_a)} here, not there")
        raise ScintisegError(f"scores other views than {predictions} (first: {where}; a study's fused mask in one "
                             "folder and each view's mask in the other?): compare masks of the same views",
                             path=against)
    records_a, records_b = scored_a.image_records(), scored_b.image_records()
    compared = []
    for metric, label, lower_is_better in COMPARED_METRICS:
        a, b = row_scores([records_a], metric), row_scores([records_b], metric)
        difference = paired_difference(a, b, n_resamples=n_resamples, seed=seed, resample_runs=False)
        compared.append(MetricComparison(metric, label, lower_is_better, a.value, b.value, difference,
                                         len(a.patients)))
    comparison = PredictionComparison(
        predictions=Path(predictions), against=Path(against), data=Path(data), split=split, views=len(views_a),
        patients=len({row["patient_id"] for row in scored_a.rows}), metrics=tuple(compared), resamples=n_resamples,
        seed=seed, folder=folder,
    )
    scored_a.write(folder, overlays)
    write_text_atomic(folder / "comparison.json", json.dumps(comparison.as_dict(), indent=1) + "\n")
    write_text_atomic(folder / "comparison.md", comparison_markdown(comparison))
    return comparison


def _number(value: float, sign: bool = False) -> str:
    return "n/a" if not math.isfinite(value) else (f"{value:+.4f}" if sign else f"{value:.4f}")


def _interval_text(interval: Interval) -> str:
    return f"[{_number(interval.low, True)}, {_number(interval.high, True)}]"


def _patients_text(count: int) -> str:
    return f"{count} patient" + ("" if count == 1 else "s")


def _too_few_text(comparison: PredictionComparison) -> str:
    """Why there is no verdict, or nothing when there are enough patients."""
    if comparison.patients >= MIN_PATIENTS:
        return ""
    return (f"no verdict below {MIN_PATIENTS} patients (too few distinct bootstrap draws to stand for "
            "patient-to-patient noise)")


def _method_sentence(comparison: PredictionComparison) -> str:
    return (f"A - B with its {CONFIDENCE:.0%} paired percentile bootstrap interval over the "
            f"{_patients_text(comparison.patients)} ({comparison.resamples} resamples, seed {comparison.seed}; both "
            "folders on each draw)")


def comparison_lines(comparison: PredictionComparison) -> list[str]:
    """The printed table: a heading line, then one line per metric (A, B, A - B, interval, verdict)."""
    width = max(len(m.label) for m in comparison.metrics)
    too_few = _too_few_text(comparison)
    lines = [f"{comparison.split}: {comparison.views} views of {_patients_text(comparison.patients)}; "
             f"A = {comparison.predictions}, B = {comparison.against}; {_method_sentence(comparison)}; "
             "false positives: lower is better" + (f"; {too_few}" if too_few else ""),
             f"{'':{width}}  {'A':>7}  {'B':>7}  {'A - B':>8}  {'95 % interval':<20}  verdict"]
    for m in comparison.metrics:
        lines.append(f"{m.label:{width}}  {_number(m.a):>7}  {_number(m.b):>7}  {_number(m.difference.estimate, True):>8}"
                     f"  {_interval_text(m.difference):<20}  {m.verdict}")
    return lines


def comparison_markdown(comparison: PredictionComparison) -> str:
    """``comparison.md``: the table of :func:`comparison_lines` in Markdown, with the method."""
    lines = [f"# A against B on {comparison.views} annotated views of {_patients_text(comparison.patients)} "
             f"(split {comparison.split})", "",
             f"A: `{comparison.predictions}`; B: `{comparison.against}`; outlines: `{comparison.data}`.", "",
             "| Metric | A | B | A - B | 95 % interval | Verdict |", "|---|---|---|---|---|---|"]
    for m in comparison.metrics:
        label = m.label + (" (lower is better)" if m.lower_is_better else "")
        lines.append(f"| {label} | {_number(m.a)} | {_number(m.b)} | {_number(m.difference.estimate, True)} | "
                     f"{_interval_text(m.difference)} | {m.verdict} |")
    lines += ["", f"{_method_sentence(comparison)}, patients drawn with replacement, so a patient's views stay "
              "together (`scintiseg.experiments.paired`). \"not decided\": the interval holds 0, these patients cannot "
              "tell A from B. No correction for the six comparisons: up to about 0.3 chance \"decided\" verdicts per "
              "comparison of two equal models (fewer in practice: the metrics move together)."]
    too_few = _too_few_text(comparison)
    if too_few:
        lines += ["", f"\"too few patients\": {too_few}; A, B and A - B are as measured."]
    return "\n".join(lines + [""])
