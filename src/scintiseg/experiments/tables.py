"""Experiment outputs: results CSV, a Markdown table beside the paper's numbers, and a PNG plot."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from scintiseg.experiments.specs import TABLE_METRICS, ExperimentSpec
from scintiseg.io.atomic import atomic_path, write_text_atomic
from scintiseg.metrics import mean_std


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def row_statistics(spec: ExperimentSpec, results: list[dict]) -> list[dict[str, Any]]:
    """Per row: ``{metric: (mean, std)}`` over its runs, plus the run count."""
    stats = []
    for row in spec.rows:
        mine = [r for r in results if r["row"] == row.name]
        entry: dict[str, Any] = {"row": row, "runs": len(mine)}
        for key in (*TABLE_METRICS, "iou", "dsc_image", "sensitivity", "fp_per_image", *spec.extra_columns):
            entry[key] = mean_std(float(r[key]) for r in mine if r.get(key) is not None)
        stats.append(entry)
    return stats


def markdown_table(spec: ExperimentSpec, results: list[dict], settings: dict, runs: int, data: str) -> str:
    """The experiment's Markdown report: ours (mean +- std) beside the paper's value for each metric."""
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
            ours = f"{_fmt(mean)} ± {_fmt(std)}" if entry["runs"] > 1 else _fmt(mean)  # one run has no spread
            cells += [ours, _fmt(entry["row"].paper.get(metric))]
        for key in ("iou", "dsc_image", "sensitivity", "fp_per_image"):
            cells.append(_fmt(entry[key][0], 3))
        for key in spec.extra_columns:
            mean = entry[key][0]
            cells.append(_fmt(mean, 0) if key == "parameters" else _fmt(mean, 4))
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Ours: pixel scores pooled over all test images, mean ± sample standard deviation over "
        f"{runs} training runs (seeds 0..{runs - 1}); 'n/a' in the paper column: the value is not in the "
        "seed text. Per-image DSC counts an image with no lesion and no prediction as 1.",
        "",
        f"Data: `{data}`. Settings shared by every cell (first row shown; rows change model / loss / "
        "labelled share as named):",
        "",
        "```yaml",
        *(f"{k}: {v}" for k, v in settings.items() if k not in ("out", "data", "seed")),
        "```",
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


def plot(spec: ExperimentSpec, results: list[dict], path: Path) -> None:
    """Bars (one group per row) or lines against ``Row.x``: DSC, Recall, CPA with std error bars."""
    import matplotlib  # lazy: start-up time

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: start-up time

    stats = row_statistics(spec, results)
    figure, axis = plt.subplots(figsize=(max(6, 1.3 * len(stats)), 4), dpi=100)
    if spec.plot == "line":
        xs = [entry["row"].x for entry in stats]
        for metric in TABLE_METRICS:
            means = [entry[metric][0] for entry in stats]
            stds = [entry[metric][1] for entry in stats]
            axis.errorbar(xs, means, yerr=stds, marker="o", capsize=3, label=f"{metric.upper()} (ours)")
            paper = [(entry["row"].x, entry["row"].paper.get(metric)) for entry in stats if entry["row"].paper.get(metric)]
            if paper:
                axis.scatter(*zip(*paper), marker="*", s=120, label=f"{metric.upper()} (paper)")
        axis.set_xlabel(spec.x_label)
    else:
        positions = np.arange(len(stats))
        width = 0.8 / len(TABLE_METRICS)
        for i, metric in enumerate(TABLE_METRICS):
            means = [entry[metric][0] for entry in stats]
            stds = [entry[metric][1] for entry in stats]
            axis.bar(positions + i * width, means, width, yerr=stds, capsize=2, label=f"{metric.upper()} (ours)")
            paper = [entry["row"].paper.get(metric) for entry in stats]
            axis.scatter(positions + i * width, [math.nan if p is None else p for p in paper], marker="_", s=200,
                         color="black", zorder=3, label="paper" if i == 0 else None)
        axis.set_xticks(positions + width, [entry["row"].name for entry in stats], rotation=20, ha="right", fontsize=7)
    axis.set_ylim(0, 1)
    axis.set_ylabel("score (pooled over test pixels)")
    axis.set_title(spec.title, fontsize=8)
    axis.legend(fontsize=7)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)


def write_outputs(spec: ExperimentSpec, results: list[dict], out: Path, *, settings: dict, runs: int, data: str) -> Path:
    """Write ``results.csv``, ``table.md`` and ``<name>.png`` in ``out``; returns the table's path."""
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "results.csv", results_csv(results))
    table = out / "table.md"
    write_text_atomic(table, markdown_table(spec, results, settings, runs, data))
    plot(spec, results, out / f"{spec.name}.png")
    return table
