"""Experiment outputs: the Markdown table beside the paper's numbers, paired differences, CSVs, the plot.

``write_outputs`` writes, in the experiment folder (every file atomically)::

    experiment.json   what :func:`scintiseg.experiments.runner.report_experiment` needs to write all this again
    results.csv       one line per finished cell (row, run): pooled and per-image scores, detection, timing
    paired.csv        every bootstrap interval: each row's value, each row - reference, every pair (pooled DSC)
    table.md          mean +- SD over runs beside the paper's numbers, then the paired differences
    <name>.png        the plot (:mod:`scintiseg.experiments.plots`)

The per-image scores come from the cells' evaluation folders (``ROW/run<k>/<evaluation>/per_image.csv``,
:func:`scintiseg.experiments.test_set.read_image_scores`); the intervals are those of
:mod:`scintiseg.experiments.paired` (percentile bootstrap over test patients and runs, 2,000 resamples).
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from scintiseg.experiments import plots
from scintiseg.experiments.paired import (
    CONFIDENCE,
    N_RESAMPLES,
    Interval,
    PairedStatistics,
    RowScores,
    bootstrap_interval,
    paired_difference,
    row_scores,
)
from scintiseg.experiments.specs import TABLE_METRICS, ExperimentSpec, slug
from scintiseg.experiments.test_set import read_image_scores
from scintiseg.io.atomic import write_text_atomic
from scintiseg.metrics import mean_std
from scintiseg.train.config import unread_fields

#: Metrics of the paired-difference table, in its column order, with their headers.
PAIRED_METRICS: dict[str, str] = {
    "dsc": "DSC", "recall": "Recall", "cpa": "CPA", "dsc_image": "DSC per image",
    "sensitivity": "lesion sens.", "fp_per_image": "FP / image",
}
EXPERIMENT_FILE = "experiment.json"


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _signed(value: float, digits: int = 3) -> str:
    return "n/a" if math.isnan(value) else f"{value:+.{digits}f}"


def format_interval(interval: Interval, digits: int = 3) -> str:
    """``+0.012 [-0.004, +0.029]``, in bold when the interval excludes 0."""
    text = f"{_signed(interval.estimate, digits)} [{_signed(interval.low, digits)}, {_signed(interval.high, digits)}]"
    return f"**{text}**" if interval.excludes_zero else text


def row_statistics(spec: ExperimentSpec, results: list[dict]) -> list[dict[str, Any]]:
    """Per row: ``{metric: (mean, std)}`` over its runs, plus the run count."""
    stats = []
    for row in spec.rows:
        mine = [r for r in results if r["row"] == row.name]
        entry: dict[str, Any] = {"row": row, "runs": len(mine)}
        for key in (*TABLE_METRICS, "iou", "dsc_image", "sensitivity", "fp_per_image", *spec.extra_columns):
            values = [float(r[key]) for r in mine if r.get(key) is not None]
            entry[key] = mean_std(values)
            entry[f"{key}_defined"] = sum(not math.isnan(v) for v in values)  # e.g. no CPA without a predicted pixel
        stats.append(entry)
    return stats


def image_scores(spec: ExperimentSpec, results: list[dict], out: Path, evaluation: str) -> dict[str, dict[int, list[dict]]]:
    """row -> run -> per-image records, for the finished cells of ``results`` that have them."""
    found: dict[str, dict[int, list[dict]]] = {}
    for result in results:
        records = read_image_scores(out / slug(result["row"]) / f"run{result['run']}" / evaluation)
        if records:
            found.setdefault(result["row"], {})[int(result["run"])] = records
    return found


def paired_statistics(
    spec: ExperimentSpec, scores: dict[str, dict[int, list[dict]]], *, n_resamples: int = N_RESAMPLES, seed: int = 0
) -> PairedStatistics | None:
    """Intervals of every row and of every difference; None when no row has per-image scores."""
    names = [row.name for row in spec.rows if scores.get(row.name)]
    if not names:
        return None
    reference = spec.reference_row.name if spec.reference_row.name in names else names[0]
    by_metric: dict[str, dict[str, RowScores]] = {}
    for metric in PAIRED_METRICS:
        by_metric[metric] = {}
        for name in names:
            runs = sorted(scores[name])
            by_metric[metric][name] = row_scores([scores[name][k] for k in runs], metric, runs)
    options = {"n_resamples": n_resamples, "seed": seed}
    stats = PairedStatistics(reference=reference)
    first = scores[reference][min(scores[reference])]
    stats.patients, stats.images = len({r["patient_id"] for r in first}), len(first)
    for name in names:
        stats.rows[name] = {m: bootstrap_interval(by_metric[m][name], **options) for m in PAIRED_METRICS}
        if name != reference:
            stats.versus_reference[name] = {
                m: paired_difference(by_metric[m][name], by_metric[m][reference], **options) for m in PAIRED_METRICS
            }
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            stats.pairs.append((a, b, paired_difference(by_metric["dsc"][a], by_metric["dsc"][b], **options)))
    return stats


def _paired_markdown(stats: PairedStatistics, runs: int) -> list[str]:
    level = f"{CONFIDENCE:.0%}"
    lines = [
        "", f"## Paired differences against \"{stats.reference}\"", "",
        f"Row minus reference on the same {stats.patients} test patients ({stats.images} images of the reference "
        f"row), {level} percentile bootstrap intervals over test patients and runs ({N_RESAMPLES} resamples, "
        "seed 0; method: `scintiseg.experiments.paired`). **Bold**: the interval excludes 0, a real difference. "
        "DSC, Recall and CPA pooled over the drawn images; FP / image: lower is better.", "",
    ]
    header = ["Row", *PAIRED_METRICS.values()]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, intervals in stats.versus_reference.items():
        lines.append("| " + " | ".join([name, *(format_interval(intervals[m]) for m in PAIRED_METRICS)]) + " |")
    real = [f"{name} ({', '.join(f'{PAIRED_METRICS[m]} {_signed(i.estimate)}' for m, i in intervals.items() if i.excludes_zero)})"
            for name, intervals in stats.versus_reference.items() if any(i.excludes_zero for i in intervals.values())]
    count = len(stats.versus_reference) * len(PAIRED_METRICS)
    lines += ["", f"Real differences ({count} comparisons; at {level} about {count * (1 - CONFIDENCE):.1f} would be "
              f"'real' by chance): {'; '.join(real) if real else 'none'}."]
    lines += ["", "### Every pair of rows, pooled DSC (row a - row b)", "",
              "| a | b | DSC a - b |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {format_interval(interval)} |" for a, b, interval in stats.pairs]
    lines += ["", "Each row's pooled DSC with its interval: " + "; ".join(
        f"{name} {_fmt(i['dsc'].estimate, 3)} [{_fmt(i['dsc'].low, 3)}, {_fmt(i['dsc'].high, 3)}]"
        for name, i in stats.rows.items()) + "."]
    if runs < 3:
        lines += ["", f"With {runs} run(s) per row the bootstrap sees at most half of the run-to-run variance: "
                  "the intervals are too narrow (docs in `scintiseg.experiments.paired`)."]
    return lines


def _images_per_run(results: list[dict]) -> str:
    """"400 images", or each row's count where rows test on different numbers of images (single views against
    aggregated ones: session 63, the header gave the reference row's count for every row)."""
    counts: dict[str, int] = {}
    for result in results:
        if result.get("images") is not None:
            counts.setdefault(result["row"], int(result["images"]))
    if len(set(counts.values())) <= 1:
        return f"{next(iter(counts.values()), 0)} images"
    return "images: " + ", ".join(f"{row} {n}" for row, n in counts.items())


def settings_block(settings: dict, field_of_view: str | None = None) -> list[str]:
    """The lines of the table's settings: the fields the cells read as YAML, then the fields they did not read, named
    by reason (:func:`scintiseg.train.config.unread_fields`; researcher audit 74: ``pixel_mm``, ``window_size``,
    ``degrade`` and ``pool_patients`` were listed for crop cells as if they had applied). ``input_mode: ant`` beside
    ``views: each`` on crops says that each view is its own single-view image. ``field_of_view`` is the data set's
    (``crop``, ``whole-body``; None for a folder written before the record kept it: the fields that depend on it are
    listed as read).
    """
    whole_body = None if field_of_view is None else field_of_view == "whole-body"
    unread = unread_fields(settings, whole_body)
    read = {key: value for key, value in settings.items() if key not in unread and key not in ("out", "data", "seed")}
    lines = ["```yaml"]
    for key, value in read.items():
        note = ""
        if key == "input_mode" and value == "ant" and read.get("views") == "each" and not whole_body:
            note = "  # one view per image: ANT, and POST mirrored into ANT's orientation (views: each)"
        lines.append(f"{key}: {value}{note}")
    lines.append("```")
    reasons: dict[str, list[str]] = {}
    for key, why in unread.items():
        reasons.setdefault(why, []).append(key)
    if reasons:
        said = [", ".join(f"`{key}`" for key in keys) + f": {why}" for why, keys in reasons.items()]
        lines += ["", f"Not read by the first row's cells: {'; '.join(said)}."]
    return lines


def markdown_table(
    spec: ExperimentSpec, results: list[dict], settings: dict, runs: int, data: str,
    paired: PairedStatistics | None = None, test_set: str | None = None, field_of_view: str | None = None,
) -> str:
    """The experiment's Markdown report: ours (mean +- std) beside the paper's value, then paired differences, then
    the settings (:func:`settings_block`)."""
    stats = row_statistics(spec, results)
    header = ["Row", "runs"]
    for metric in TABLE_METRICS:
        header += [f"{metric.upper()} ours", f"{metric.upper()} paper"]
    header += ["IoU ours", "DSC per image", "lesion sens.", "FP / image", *spec.extra_columns]
    lines = [f"# {spec.title}", "", f"Source of the paper's numbers: {spec.source}.", ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for entry in stats:
        cells = [entry["row"].name, str(entry["runs"])]
        for metric in TABLE_METRICS:
            mean, std = entry[metric]
            # one run (or one run where the metric is defined) has no spread
            ours = f"{_fmt(mean)} ± {_fmt(std)}" if entry[f"{metric}_defined"] > 1 else _fmt(mean)
            if 0 < entry[f"{metric}_defined"] < entry["runs"]:
                ours += f" ({entry[f'{metric}_defined']} of {entry['runs']} runs)"
            cells += [ours, _fmt(entry["row"].paper.get(metric))]
        for key in ("iou", "dsc_image", "sensitivity", "fp_per_image"):
            mean, std = entry[key]
            cells.append(f"{_fmt(mean, 3)} ± {_fmt(std, 3)}" if entry["runs"] > 1 and key != "iou" else _fmt(mean, 3))
        for key in spec.extra_columns:
            mean = entry[key][0]
            cells.append(_fmt(mean, 0) if key == "parameters" else _fmt(mean, 4))
        lines.append("| " + " | ".join(cells) + " |")
    tested = f"the shared test set `{test_set}`" if test_set else "the data set's test patients"
    size = f" ({paired.patients} patients, {_images_per_run(results)} per run)" if paired else ""
    lines += [
        "",
        f"Ours: tested on {tested}{size}; pixel scores pooled over all test images, mean ± sample standard "
        f"deviation over {runs} training runs (seeds 0..{runs - 1}); 'n/a' in the paper column: the value is not "
        "in the seed text; '(k of n runs)': the metric is undefined for the other runs (CPA of a run that "
        "predicts no pixel) and the mean and the paired intervals leave them out. Per-image DSC counts an "
        "image with no lesion and no prediction as 1; lesion "
        "sensitivity and false positives per image count 8-connected components, a predicted one counting (no false "
        "positive, detecting the lesions it touches) when at least 10 % of its pixels are lesion (`scintiseg.metrics`).",
    ]
    if paired:
        lines += _paired_markdown(paired, runs)
    lines += [
        "",
        f"Data: `{data}`{f' ({field_of_view})' if field_of_view else ''}. Settings shared by every cell (first row "
        "shown; rows change model / loss / labelled share as named):",
        "",
        *settings_block(settings, field_of_view),
    ]
    if spec.notes:
        lines += ["", spec.notes]
    return "\n".join(lines) + "\n"


def results_csv(results: list[dict]) -> str:
    buffer = io.StringIO()
    if results:
        keys = list(dict.fromkeys(k for r in results for k in r))
        writer = csv.DictWriter(buffer, fieldnames=keys)
        writer.writeheader()
        for r in results:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return buffer.getvalue()


def paired_csv(stats: PairedStatistics) -> str:
    """Every interval: ``kind`` (row, versus_reference, pair), rows a and b, metric, estimate, low, high, real."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["kind", "a", "b", "metric", "estimate", "low", "high", "real", "resamples"])

    def line(kind, a, b, metric, i: Interval):
        writer.writerow([kind, a, b, metric, f"{i.estimate:.6g}", f"{i.low:.6g}", f"{i.high:.6g}",
                         int(i.excludes_zero), i.resamples])

    for name, intervals in stats.rows.items():
        for metric, interval in intervals.items():
            line("row", name, "", metric, interval)
    for name, intervals in stats.versus_reference.items():
        for metric, interval in intervals.items():
            line("versus_reference", name, stats.reference, metric, interval)
    for a, b, interval in stats.pairs:
        line("pair", a, b, "dsc", interval)
    return buffer.getvalue()


def write_outputs(
    spec: ExperimentSpec,
    results: list[dict],
    out: Path,
    *,
    settings: dict,
    runs: int,
    data: str,
    evaluation: str = "eval-test",
    test_set: str | None = None,
    field_of_view: str | None = None,
) -> Path:
    """Write the files of the module docstring in ``out``; returns the table's path.

    The cells' per-image scores are read and paired first, so a damaged score file or rows tested on different
    patients (:mod:`.paired`'s refusals) leave every file of ``out`` as it was, none rewritten (session 66).

    Args:
        spec: the experiment.
        results: one flat dict per finished cell (``row``, ``run`` and the scores of
            :func:`scintiseg.experiments.runner.cell_result`).
        out: the experiment folder.
        settings: the resolved TrainConfig of the first cell (shown in the table).
        runs: runs per row asked for.
        data: the training data set.
        evaluation: the cells' evaluation folder (``eval-test``: the data set's test split;
            ``eval-<test set>``: the shared test set).
        test_set: the shared test set's folder, when there is one.
        field_of_view: the training data set's (``crop``, ``whole-body``: what the settings block leaves out); None
            where it is not known (a folder written before ``experiment.json`` kept it).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    record = {"name": spec.name, "spec": spec.to_json(), "runs": runs, "data": data, "evaluation": evaluation, "test_set": test_set,
              "settings": settings, "field_of_view": field_of_view}
    paired = paired_statistics(spec, image_scores(spec, results, out, evaluation))  # read before anything is written
    write_text_atomic(out / EXPERIMENT_FILE, json.dumps(record, indent=1, default=str) + "\n")
    write_text_atomic(out / "results.csv", results_csv(results))
    if paired:
        write_text_atomic(out / "paired.csv", paired_csv(paired))
    table = out / "table.md"
    write_text_atomic(table, markdown_table(spec, results, settings, runs, data, paired, test_set, field_of_view))
    plots.plot_experiment(spec, row_statistics(spec, results), paired, out / f"{spec.name}.png")
    return table
