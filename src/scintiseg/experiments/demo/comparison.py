"""DPU-Net against the U-Net on the demo's test images: each metric's paired difference with its bootstrap interval over
the test patients, for ``demo.json`` and the test-metrics section of ``report.md``.

Before, the report said only that "a small difference between the two networks is within run-to-run spread", whatever
the difference was. This module says, per metric, whether these test patients tell the two networks apart, with the
method of ``scintiseg evaluate --predictions A --against B`` (:mod:`scintiseg.experiments.prediction_comparison`), whose
code it reuses.

Choices:

- **Read from both evaluations' files**, not from the state: each network's ``<run>/eval-test/per_case.csv``
  (:func:`scintiseg.train.evaluate.evaluate_run`; its ``tp``, ``fp`` and ``fn`` columns, or, in a file written before
  they were added, the counts :func:`scintiseg.experiments.test_set.read_image_scores` recovers exactly). A resumed
  demo that reused an evaluation is thus compared as one that made it.
- **The same images, matched by case id, or no table**: both files must name the same test images (each once, each of
  the same patient in both); the U-Net's rows are put in the DPU-Net's order by case id. Two files of other images, a
  network not evaluated (its step failed, or a caller's state lacks it) or a file missing or damaged give no table but
  one line saying why (``{"skipped": reason}``): nothing is compared that is not paired.
- **DPU-Net minus U-Net**, the paper's model minus its baseline, per metric of
  :data:`~scintiseg.experiments.prediction_comparison.COMPARED_METRICS`: pooled DSC, recall and CPA, the mean per-image
  DSC, lesion sensitivity and false positives per image (pooled IoU is left out: over one set of images it follows
  from the pooled DSC, IoU = DSC / (2 - DSC), so its verdict is DSC's). Each network's value is recomputed from the
  file (:func:`scintiseg.experiments.paired.row_scores`), the same number as ``metrics.json``'s.
- **Paired percentile bootstrap over test patients**, 2,000 resamples, seed 0, 95 %
  (:func:`scintiseg.experiments.paired.paired_difference`, its defaults): both networks on each draw of patients, so how
  hard the drawn patients' lesions are cancels out of the difference. **One run per network**
  (``resample_runs=False``): the interval holds the test-patient noise only, not the run-to-run variance of training
  (another seed, or another torch thread count, can move either network by more: docs/results.md has repeated runs);
  the report says so under the table.
- **Verdicts** are :class:`~scintiseg.experiments.prediction_comparison.MetricComparison`'s with A and B named: "DPU-Net
  higher" or "U-Net higher" when the interval lies wholly on one side of 0; for false positives per image, where fewer
  is better, "DPU-Net fewer" or "U-Net fewer" (the network named is always the one the metric favours); "not decided"
  when the interval holds 0; "undefined" where the metric has no value (lesion sensitivity of images without a
  lesion); "too few patients" below :data:`~scintiseg.experiments.prediction_comparison.MIN_PATIENTS` = 5 test
  patients (a bootstrap over fewer has too few distinct draws; the tiny test demo's 2 patients give it). No
  correction for the six comparisons, as in ``comparison.md``.

Example::

    comparison = compare_networks(Path("runs/demo"), state.metrics)   # what demo.json's "comparison" holds
    print("\\n".join(comparison_lines(comparison)))                    # report.md's table, or its one line
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Mapping

from scintiseg.errors import ScintisegError
from scintiseg.experiments.demo.settings import DEMO_MODELS, MODEL_SHORT_TITLES
from scintiseg.experiments.paired import CONFIDENCE, N_RESAMPLES, paired_difference, row_scores

#: The networks of the difference: the first minus the second (DPU-Net minus U-Net).
FIRST, SECOND = tuple(DEMO_MODELS)
#: What the report calls each compared metric, in its order: the test-metrics table's column names.
LABELS: dict[str, str] = {
    "dsc": "DSC (pooled)",
    "recall": "Recall (pooled)",
    "cpa": "CPA (pooled)",
    "sensitivity": "lesion sensitivity",
    "fp_per_image": "FP / image",
    "dsc_image": "DSC / image",
}
#: The per-image columns a comparison needs of both files.
NEEDED_COLUMNS: tuple[str, ...] = ("case_id", "patient_id", "tp", "fp", "fn", "dsc", "lesions", "detected",
                                   "false_positives")


def _per_case(out: Path, key: str) -> str:
    return str(out / key / "eval-test" / "per_case.csv")


def _verdict(verdict: str) -> str:
    """:attr:`MetricComparison.verdict` with the network it favours named (module docstring)."""
    named = {"A higher": f"{MODEL_SHORT_TITLES[FIRST]} higher", "A lower": f"{MODEL_SHORT_TITLES[SECOND]} higher",
             "A fewer": f"{MODEL_SHORT_TITLES[FIRST]} fewer", "A more": f"{MODEL_SHORT_TITLES[SECOND]} fewer"}
    return named.get(verdict, verdict)


def _read(out: Path, key: str, evaluated: Mapping[str, object]) -> tuple[list[dict] | None, str]:
    """A network's per-image records, or None and why there are none."""
    from scintiseg.experiments.test_set import read_image_scores  # lazy: start-up time (torch)

    title = MODEL_SHORT_TITLES[key]
    if evaluated.get(key) is None:
        return None, f"the {title} was not evaluated on the test images"
    folder = out / key / "eval-test"
    try:
        records = read_image_scores(folder) if (folder / "per_case.csv").is_file() else None
    except ScintisegError as error:
        return None, f"the {title}'s per-image scores cannot be read ({error})"
    if records is None:
        return None, f"the {title}'s evaluation has no per-image scores ({_per_case(out, key)} is missing)"
    if not records:
        return None, f"the {title}'s evaluation scored no image"
    lacking = next((name for name in NEEDED_COLUMNS if any(name not in record for record in records)), None)
    if lacking is not None:
        return None, f"{_per_case(out, key)} has no {lacking} column"
    return records, ""


def _matched(first: list[dict], second: list[dict]) -> tuple[list[dict] | None, str]:
    """``second``'s records in ``first``'s order of case ids, or None and why the two cannot be paired."""
    names = {FIRST: MODEL_SHORT_TITLES[FIRST], SECOND: MODEL_SHORT_TITLES[SECOND]}
    for key, records in ((FIRST, first), (SECOND, second)):
        counted = Counter(str(record["case_id"]) for record in records)
        twice = next((case for case, count in counted.items() if count > 1), None)
        if twice is not None:
            return None, f"the {names[key]}'s evaluation scores test image {twice} twice"
    by_case = {str(record["case_id"]): record for record in second}
    ids_first = [str(record["case_id"]) for record in first]
    only_first = [case for case in ids_first if case not in by_case]
    only_second = [case for case in by_case if case not in set(ids_first)]
    if only_first or only_second:
        example = (f"{only_first[0]} scored for the {names[FIRST]} only" if only_first else
                   f"{only_second[0]} scored for the {names[SECOND]} only")
        return None, (f"the two networks were evaluated on different test images ({len(first)} and {len(second)} "
                      f"images; {example})")
    moved = next((record["case_id"] for record in first
                  if str(record["patient_id"]) != str(by_case[str(record["case_id"])]["patient_id"])), None)
    if moved is not None:
        return None, f"test image {moved} belongs to another patient in each network's evaluation"
    return [by_case[case] for case in ids_first], ""


def compare_networks(out: Path, evaluated: Mapping[str, object], *, n_resamples: int = N_RESAMPLES,
                     seed: int = 0) -> dict:
    """DPU-Net minus U-Net on the test images both were evaluated on (module docstring).

    Args:
        out: the demo's folder (each network's ``<key>/eval-test/per_case.csv`` is read).
        evaluated: each network's test metrics (``DemoState.metrics``): a network without them was not evaluated.
        n_resamples, seed: the bootstrap's.

    Returns:
        what ``demo.json``'s ``comparison`` holds: ``images``, ``patients``, ``method`` and, per metric, both
        networks' values, the difference, its interval and the verdict (NaN where undefined); or ``{"skipped":
        reason}`` when the two cannot be compared.
    """
    from scintiseg.experiments.prediction_comparison import (  # lazy: start-up time (torch, through the evaluation)
        COMPARED_METRICS,
        MIN_PATIENTS,
        MetricComparison,
    )

    first, why = _read(out, FIRST, evaluated)
    second, why_second = _read(out, SECOND, evaluated) if first is not None else (None, "")
    if first is None or second is None:
        return {"skipped": why or why_second}
    second, why = _matched(first, second)
    if second is None:
        return {"skipped": why}
    metrics = []
    for metric, _label, lower_is_better in COMPARED_METRICS:
        a, b = row_scores([first], metric), row_scores([second], metric)
        difference = paired_difference(a, b, n_resamples=n_resamples, seed=seed, resample_runs=False)
        verdict = MetricComparison(metric, LABELS[metric], lower_is_better, a.value, b.value, difference,
                                   len(a.patients)).verdict
        metrics.append({"metric": metric, "label": LABELS[metric], "lower_is_better": lower_is_better,
                        FIRST: a.value, SECOND: b.value, "difference": difference.estimate, "low": difference.low,
                        "high": difference.high, "verdict": _verdict(verdict), "replicates": difference.resamples,
                        "replicates_dropped": difference.dropped})
    return {"difference": f"{FIRST} - {SECOND}", "images": len(first),
            "patients": len({str(record["patient_id"]) for record in first}),
            "method": {"interval": "percentile bootstrap, paired", "unit": "patient", "confidence": CONFIDENCE,
                       "resamples": n_resamples, "seed": seed, "resample_runs": False, "runs_per_network": 1,
                       "min_patients": MIN_PATIENTS},
            "metrics": metrics}


def _number(value, digits: int, sign: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def _digits(metric: str) -> int:
    """The test-metrics table's: 2 decimals for false positives per image, 3 for the rest."""
    return 2 if metric == "fp_per_image" else 3


def comparison_lines(comparison: Mapping) -> list[str]:
    """``report.md``'s lines of the comparison: the table and what it means, or one line saying why there is none."""
    a, b = MODEL_SHORT_TITLES[FIRST], MODEL_SHORT_TITLES[SECOND]
    if "metrics" not in comparison:
        why = comparison.get("skipped") or "not computed"
        return [f"No paired comparison of the {a} and the {b} on the test patients: {why}."]
    method = comparison["method"]
    patients = comparison["patients"]
    lines = [f"| metric | {a} | {b} | {a} - {b} [{method['confidence']:.0%} interval] | verdict |",
             "|---|---:|---:|---|---|"]
    for m in comparison["metrics"]:
        digits = _digits(m["metric"])
        label = m["label"] + (" (lower is better)" if m["lower_is_better"] else "")
        lines.append(f"| {label} | {_number(m[FIRST], digits)} | {_number(m[SECOND], digits)} "
                     f"| {_number(m['difference'], digits, True)} [{_number(m['low'], digits, True)}, "
                     f"{_number(m['high'], digits, True)}] | {m['verdict']} |")
    text = (f"{a} minus {b} on the same {comparison['images']} test image(s) of {patients} patient(s), with its "
            f"{method['confidence']:.0%} paired percentile bootstrap interval over the test patients "
            f"({method['resamples']} resamples, seed {method['seed']}; both networks on each draw: "
            "`scintiseg.experiments.paired`). \"not decided\": the interval holds 0, these test patients cannot tell "
            "the two networks apart. Each network is one training run, so the interval holds the test-patient noise "
            "only, not the run-to-run variance: another training seed can move either network by more than this "
            "(docs/results.md has repeated runs). No correction for the six comparisons; IoU is left out (it "
            "follows from the pooled DSC).")
    if patients < method["min_patients"]:
        text += (f" \"too few patients\": no verdict below {method['min_patients']} test patients (too few distinct "
                 "bootstrap draws to stand for patient-to-patient noise).")
    return [*lines, "", text]


def console_line(comparison: Mapping) -> str:
    """One progress line: the pooled DSC's difference and verdict, or why there is no comparison."""
    a, b = MODEL_SHORT_TITLES[FIRST], MODEL_SHORT_TITLES[SECOND]
    if "metrics" not in comparison:
        return f"      no paired comparison: {comparison.get('skipped') or 'not computed'}"
    dsc = next(m for m in comparison["metrics"] if m["metric"] == "dsc")
    return (f"      {a} - {b}: pooled DSC {_number(dsc['difference'], 3, True)} [{_number(dsc['low'], 3, True)}, "
            f"{_number(dsc['high'], 3, True)}] over {comparison['patients']} test patient(s), {dsc['verdict']} "
            "(one run each; every metric in the report)")
