"""Is the adapted model better on the site's own patients? ``scintiseg adapt --normals``' check after adapting.

Why. Adapting to a site's normal scans moves the model towards the site's camera and patients, and the measurements say
it can cost lesions as it saves false calls (docs/own-data.md: on one camera 40 % fewer false calls for about a fifth
fewer lesions found). Without outlines a department could not see which it got. So, when ``adapt --normals`` held
patients out of training (:func:`scintiseg.train.hybrid_site.split_normals`: a fifth of them, from five patients on),
both the model it started from and the adapted one read the same cases made of the held-out patients' scans, whole
body, through the whole prediction pipeline (:func:`scintiseg.predict.pipeline.predict_scan`), and each metric's
difference gets a paired bootstrap interval over the held-out patients and a verdict.

The cases (:func:`check_cases`):

- **each held-out normal scan as acquired**: the false calls a department would see on its normal patients;
- **``cases`` hybrid copies of it with 1-3 inserted lesions each** (:func:`scintiseg.phantom.hybrid.make_hybrid_case`,
  placed as the adaptation placed them: by metastatic site where it did; at the scan's own count level, fraction 1;
  seeds from the run's seed on a stream no training or validation draw uses), whose visible lesions are the truth.

What is compared (adapted minus the start, :data:`CHECKED_METRICS`): **lesion-views found** over the hybrid copies'
views (a lesion visible in a view is found there when a called component lies on it of which at least 10 % is
lesion, :func:`scintiseg.metrics.lesion_detection`; a lesion seen on ANT and POST counts in each, as the benchmarks count),
**false calls per normal view** over the scans as acquired, and the **pooled DSC** of the hybrid copies' views.
The method is ``scintiseg evaluate --predictions A --against B``'s (:mod:`.prediction_comparison`): a paired
percentile bootstrap over patients, 2,000 resamples, seed 0, 95 %, one run per model; verdicts "adapted higher" /
"adapted lower" (for false calls "adapted fewer" / "adapted more") when the interval lies on one side of 0, "not
decided" when it holds 0, "too few patients" under 5.

Choices and limits:

- **Patients held out of training, not out of the epoch choice**: their hybrid windows (other lesions) chose
  ``best.pt`` among the epochs (:mod:`scintiseg.train.adapt`, "Which weights"), so the check leans a little towards
  the adapted model; it is still the only measure here on patients the adapted model never trained on [choice: holding
  out a second group would take more of a small site's scans from training].
- **Inserted lesions stand for the site's metastases**: contrast 1.2-8, 5-40 mm, placed as in training; a site's
  real lesions may be fainter, larger or elsewhere. Outlined cases measure real ones (``evaluate --against``); the
  command says so.
- **Counts as acquired** (fraction 1): the site's own count level, not the thinned copies of training.
- A held-out group of fewer than 5 patients (a site with 5-22 normal patients holds out 1-4) gives every verdict
  "too few patients"; the numbers are still written.

Writes ``RUN/site_check.json`` and ``RUN/site_check.md`` (atomically); ``scintiseg adapt`` prints the table.

Example::

    check = check_adaptation(load_model(), load_model("runs/site"), result.held_out_normals, cases=4, seed=0)
    print("\\n".join(site_check_lines(check)))
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.experiments.paired import N_RESAMPLES, paired_difference, row_scores
from scintiseg.experiments.prediction_comparison import MIN_PATIENTS, MetricComparison, bootstrap_method
from scintiseg.io.atomic import write_text_atomic
from scintiseg.metrics import confusion_counts, lesion_detection
from scintiseg.phantom.hybrid import HybridSource, make_hybrid_case
from scintiseg.predict.loader import LoadedModel
from scintiseg.predict.pipeline import PredictSettings, predict_scan
from scintiseg.train.adapt_config import CHECK_CASES
from scintiseg.train.evaluate import image_row, json_safe

#: Hybrid copies with lesions per held-out normal scan (``adapt --check-cases``'s default).
CASES_PER_SCAN = CHECK_CASES
#: The seed stream of the check's lesions (the training windows draw on 17, the held-out split on 18).
_CHECK_STREAM = 19
#: (metric of :data:`scintiseg.experiments.paired.RATIO_METRICS`, label, lower is better, the views it is read on).
CHECKED_METRICS: tuple[tuple[str, str, bool, str], ...] = (
    ("sensitivity", "lesion-views found", False, "lesion"),
    ("fp_per_image", "false calls per normal view", True, "normal"),
    ("dsc", "pooled DSC", False, "lesion"),
)
JSON_NAME, MARKDOWN_NAME = "site_check.json", "site_check.md"


@dataclass(frozen=True)
class SiteCheck:
    """The adapted model against the one it started from on the held-out patients' scans (module docstring).

    Attributes:
        before, after: what each model is (a path, or "the shipped model").
        scans, patients: the held-out normal scans read, and their patients (the bootstrap's unit).
        lesion_views, normal_views: views of the hybrid copies, and of the scans as acquired.
        lesions: inserted lesions visible in at least one view of their copy.
        visible_lesion_views: the (lesion, view) pairs where an inserted lesion is visible, what lesion-views found
            counts (a lesion seen on ANT and POST counts in each, as ``evaluate`` and the benchmarks count).
        metrics: one :class:`~scintiseg.experiments.prediction_comparison.MetricComparison` per
            :data:`CHECKED_METRICS` entry, A = the adapted model, B = the start.
        cases, seed, resamples: how many copies per scan, the seed of their lesions, the bootstrap's resamples.
    """

    before: str
    after: str
    scans: int
    patients: int
    lesion_views: int
    normal_views: int
    lesions: int
    visible_lesion_views: int
    metrics: tuple[MetricComparison, ...]
    cases: int
    seed: int
    resamples: int

    def as_dict(self) -> dict:
        """What ``site_check.json`` holds (NaN written as null)."""
        return json_safe({
            "adapted": self.after, "started_from": self.before, "held_out_scans": self.scans,
            "patients": self.patients, "hybrid_views": self.lesion_views, "normal_views": self.normal_views,
            "visible_lesions": self.lesions, "visible_lesion_views": self.visible_lesion_views,
            "cases_per_scan": self.cases, "seed": self.seed,
            "method": bootstrap_method("adapted - started from", self.resamples, 0),
            "metrics": [{"metric": m.metric, "label": m.label, "lower_is_better": m.lower_is_better, "adapted": m.a,
                         "started_from": m.b, "difference": m.difference.estimate, "low": m.difference.low,
                         "high": m.difference.high, "verdict": verdict_text(m.verdict)} for m in self.metrics],
        })


def verdict_text(verdict: str) -> str:
    """:attr:`MetricComparison.verdict` with A named: "adapted higher", "adapted fewer", ..."""
    return verdict.replace("A ", "adapted ", 1) if verdict.startswith("A ") else verdict


def check_cases(source: HybridSource, cases: int, seed: int, index: int):
    """The scan as acquired (a negative) and ``cases`` hybrid copies with lesions of held-out scan ``index``; no copy
    where the scan has no free skeleton for a lesion (training makes such a scan a negative,
    :mod:`scintiseg.train.hybrid_site`)."""
    seeds = np.random.SeedSequence([int(seed), _CHECK_STREAM, int(index)]).generate_state(max(cases, 1))
    yield make_hybrid_case(source, 1.0, 0, negative=True)
    for case_seed in seeds[:cases]:
        try:
            yield make_hybrid_case(source, 1.0, int(case_seed))
        except ScintisegError:  # no free skeleton: no copy of this scan has a lesion
            return


def _view_record(patient: str, name: str, mask: np.ndarray, truth: np.ndarray) -> dict:
    counts = confusion_counts(mask, truth)[0]
    return image_row(name, patient, counts, lesion_detection(mask, truth))


def check_adaptation(before: LoadedModel, after: LoadedModel, held_out: Sequence[tuple[str, HybridSource]], *,
                     cases: int = CASES_PER_SCAN, seed: int = 0, settings: PredictSettings | None = None,
                     names: tuple[str, str] = ("the model it started from", "the adapted model"),
                     n_resamples: int = N_RESAMPLES, progress: Callable[[int, int], None] | None = None) -> SiteCheck:
    """Read the held-out scans and their hybrid copies with both models and compare them (module docstring).

    Args:
        before, after: the model adaptation started from, and the adapted one.
        held_out: ``(case id, prepared scan)`` of each held-out normal scan (``AdaptResult.held_out_normals``).
        cases: hybrid copies with lesions per scan.
        seed: seeds the copies' lesions (the run's seed).
        settings: prediction settings of both (default: ``scintiseg predict``'s).
        names: what ``before`` and ``after`` are, for the report.
        progress: called with (scans done, scans) after each scan.

    Raises:
        ScintisegError: no held-out scan, or none with free skeleton for a lesion.
    """
    if not held_out:
        raise ScintisegError("no held-out normal scan to check the adapted model on")
    records: dict[str, dict[str, list[dict]]] = {"before": {"lesion": [], "normal": []},
                                                 "after": {"lesion": [], "normal": []}}
    lesions = 0
    for index, (case_id, source) in enumerate(held_out):
        patient = source.scan.patient_id or case_id  # the held-out patient's, not the copy's (named by its case id)
        for case in check_cases(source, cases, seed, index):
            kind = "normal" if case.negative else "lesion"
            lesions += sum(any(info["visible"].values()) for info in case.lesions)
            for key, model in (("before", before), ("after", after)):
                prediction = predict_scan(case.scan, model, settings)
                for view, truth in case.masks.items():
                    records[key][kind].append(_view_record(patient, f"{case.case_id}_{view}",
                                                           prediction.views[view].mask, truth))
        if progress is not None:
            progress(index + 1, len(held_out))
    if not records["after"]["lesion"]:
        raise ScintisegError("no held-out scan had free skeleton for an inserted lesion: no lesion to check on")
    compared = []
    for metric, label, lower_is_better, views in CHECKED_METRICS:
        a, b = row_scores([records["after"][views]], metric), row_scores([records["before"][views]], metric)
        difference = paired_difference(a, b, n_resamples=n_resamples, seed=0, resample_runs=False)
        compared.append(MetricComparison(metric, label, lower_is_better, a.value, b.value, difference, len(a.patients)))
    patients = len({source.scan.patient_id or case_id for case_id, source in held_out})
    return SiteCheck(before=names[0], after=names[1], scans=len(held_out), patients=patients,
                     lesion_views=len(records["after"]["lesion"]), normal_views=len(records["after"]["normal"]),
                     lesions=lesions,
                     visible_lesion_views=sum(int(row["lesions"]) for row in records["after"]["lesion"]),
                     metrics=tuple(compared), cases=int(cases), seed=int(seed), resamples=n_resamples)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _number(value: float, sign: bool = False) -> str:
    return "n/a" if not np.isfinite(value) else (f"{value:+.3f}" if sign else f"{value:.3f}")


def site_check_lines(check: SiteCheck) -> list[str]:
    """The check as printed by ``scintiseg adapt``: a heading, one line per metric, and what it stands on."""
    lines = [f"check on {_count(check.patients, 'held-out patient')} ({_count(check.scans, 'normal scan')} as "
             f"acquired, and {_count(check.cases, 'copy', 'copies')} of each with inserted lesions: "
             f"{_count(check.lesions, 'visible lesion')}, {check.visible_lesion_views} lesion-views): adapted against "
             f"{check.before}, 95 % paired bootstrap over patients",
             f"  {'':30s} {'adapted':>8s} {'before':>8s} {'difference':>11s}  {'95 % interval':20s}  verdict"]
    for m in check.metrics:
        interval = f"[{_number(m.difference.low, True)}, {_number(m.difference.high, True)}]"
        lines.append(f"  {m.label:30s} {_number(m.a):>8s} {_number(m.b):>8s} "
                     f"{_number(m.difference.estimate, True):>11s}  {interval:20s}  {verdict_text(m.verdict)}")
    lines.append("  (inserted lesions on patients whose lesion-free scans also chose the epoch: outlined cases "
                 "measure real ones, docs/own-data.md)")
    return lines


def site_check_markdown(check: SiteCheck) -> str:
    """``site_check.md``: the table and what it stands on."""
    rows = "\n".join(
        f"| {m.label} | {_number(m.a)} | {_number(m.b)} | {_number(m.difference.estimate, True)} | "
        f"[{_number(m.difference.low, True)}, {_number(m.difference.high, True)}] | {verdict_text(m.verdict)} |"
        for m in check.metrics)
    return (f"# Site check: {check.after} against {check.before}\n\n"
            f"{check.patients} patients held out of adaptation: {check.scans} normal scans as acquired "
            f"({check.normal_views} views), and {check.cases} copies of each with 1-3 inserted lesions "
            f"({check.lesion_views} views, {check.lesions} visible lesions in {check.visible_lesion_views} "
            f"lesion-views; seed {check.seed}). Adapted minus before, "
            f"95 % percentile bootstrap over patients, paired, {check.resamples} resamples; under {MIN_PATIENTS} "
            "patients every verdict is \"too few patients\".\n\n"
            "| metric | adapted | before | difference | 95 % interval | verdict |\n|---|---|---|---|---|---|\n"
            f"{rows}\n\n"
            "These patients' lesion-free scans (with other inserted lesions) also chose the adapted epoch, which leans "
            "the check a little towards the adapted model; inserted lesions stand in for the site's own. Cases your "
            "readers outlined measure real lesions: `scintiseg evaluate --predictions ADAPTED --against BEFORE "
            "--data DATA` (docs/own-data.md).\n")


def write_site_check(check: SiteCheck, run_dir: str | Path) -> Path:
    """Write ``site_check.md`` and then ``site_check.json`` into the run folder, each atomically (the JSON, which a
    program reads, last: present, both are whole); returns the Markdown file's path."""
    folder = Path(run_dir)
    write_text_atomic(folder / MARKDOWN_NAME, site_check_markdown(check))
    write_text_atomic(folder / JSON_NAME, json.dumps(check.as_dict(), indent=1) + "\n")
    return folder / MARKDOWN_NAME


__all__ = ["CASES_PER_SCAN", "CHECKED_METRICS", "SiteCheck", "check_adaptation", "check_cases", "site_check_lines",
           "site_check_markdown", "verdict_text", "write_site_check"]
