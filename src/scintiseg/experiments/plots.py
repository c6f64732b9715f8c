"""The experiment plot: each row's scores with their spread, and the paired differences against the reference.

Left panel: DSC, Recall and CPA of every row (bars, or lines against ``Row.x`` for a curve such as the
labelled share), with the 95 % bootstrap interval of the row's value when per-image scores exist
(:mod:`scintiseg.experiments.paired`), else mean +- SD over runs; the paper's values as black marks / stars.
Right panel (when per-image scores exist): row minus reference with its 95 % interval for the same three
metrics, a vertical line at 0; an interval clear of the line is a real difference.

Regenerate every plot and table of experiment folders from their run folders with
``scintiseg experiment report DIR...`` (:func:`scintiseg.experiments.runner.report_experiment`).
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from scintiseg.experiments.paired import PairedStatistics
from scintiseg.experiments.specs import TABLE_METRICS, ExperimentSpec
from scintiseg.io.atomic import atomic_path


def _spread(entry: dict[str, Any], metric: str, paired: PairedStatistics | None) -> tuple[float, float, float]:
    """(value, lower error, upper error): the bootstrap interval when there is one, else mean +- SD."""
    name = entry["row"].name
    if paired and name in paired.rows:
        interval = paired.rows[name][metric]
        return interval.estimate, interval.estimate - interval.low, interval.high - interval.estimate
    mean, std = entry[metric]
    return mean, std, std


def plot_experiment(spec: ExperimentSpec, stats: list[dict[str, Any]], paired: PairedStatistics | None, path: Path) -> None:
    """Write the plot of the module docstring to ``path`` (PNG, atomically).

    Args:
        spec: the experiment.
        stats: :func:`scintiseg.experiments.tables.row_statistics` of its results.
        paired: :func:`scintiseg.experiments.tables.paired_statistics`, or None (no per-image scores).
        path: the PNG.
    """
    import matplotlib  # lazy: start-up time

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: start-up time

    panels = 2 if paired and paired.versus_reference else 1
    figure, axes = plt.subplots(1, panels, figsize=(max(6, 1.3 * len(stats)) + 4 * (panels - 1), 4.2), dpi=100,
                                squeeze=False)
    axis = axes[0, 0]
    what = "95 % bootstrap interval" if paired else "± SD over runs"
    if spec.plot == "line":
        xs = [entry["row"].x for entry in stats]
        for metric in TABLE_METRICS:
            values = np.array([_spread(entry, metric, paired) for entry in stats])
            axis.errorbar(xs, values[:, 0], yerr=values[:, 1:].T, marker="o", capsize=3, label=f"{metric.upper()} (ours)")
            paper = [(entry["row"].x, entry["row"].paper.get(metric)) for entry in stats if entry["row"].paper.get(metric)]
            if paper:
                axis.scatter(*zip(*paper), marker="*", s=120, label=f"{metric.upper()} (paper)")
        axis.set_xlabel(spec.x_label)
    else:
        positions = np.arange(len(stats))
        width = 0.8 / len(TABLE_METRICS)
        for i, metric in enumerate(TABLE_METRICS):
            values = np.array([_spread(entry, metric, paired) for entry in stats])
            bars = axis.bar(positions + i * width, values[:, 0], width, yerr=values[:, 1:].T, capsize=2,
                            label=f"{metric.upper()} (ours)")
            for bar, entry in zip(bars, stats):  # a value of only some runs (CPA of runs predicting nothing): said
                defined = entry.get(f"{metric}_defined", entry["runs"])
                if 0 < defined < entry["runs"]:  # hatched over, the legend's patch left plain
                    axis.bar(bar.get_x(), bar.get_height(), bar.get_width(), align="edge", fill=False, hatch="//",
                             edgecolor="white", linewidth=0)
                    axis.annotate(f"{defined}/{entry['runs']} runs", (bar.get_x() + bar.get_width() / 2, 0.02),
                                  rotation=90, ha="center", va="bottom", fontsize=6)
            paper = [entry["row"].paper.get(metric) for entry in stats]
            axis.scatter(positions + i * width, [math.nan if p is None else p for p in paper], marker="_", s=200,
                         color="black", zorder=3, label="paper" if i == 0 else None)
        axis.set_xticks(positions + width, [entry["row"].name for entry in stats], rotation=20, ha="right", fontsize=7)
    axis.set_ylim(0, 1)
    axis.set_ylabel(f"score, pooled over test pixels ({what})", fontsize=8)
    axis.set_title(textwrap.fill(spec.title, 60), fontsize=8)  # long titles were cut at the figure edge
    axis.legend(fontsize=7)
    if panels == 2:
        forest = axes[0, 1]
        names = list(paired.versus_reference)
        for i, metric in enumerate(TABLE_METRICS):
            intervals = [paired.versus_reference[name][metric] for name in names]
            ys = np.arange(len(names)) + (i - 1) * 0.22
            estimates = np.array([iv.estimate for iv in intervals])
            errors = np.array([[iv.estimate - iv.low for iv in intervals], [iv.high - iv.estimate for iv in intervals]])
            forest.errorbar(estimates, ys, xerr=errors, fmt="o", capsize=3, label=metric.upper())
        forest.axvline(0, color="black", linewidth=0.8)
        forest.set_yticks(np.arange(len(names)), names, fontsize=7)
        forest.invert_yaxis()
        forest.set_xlabel(textwrap.fill(f"row - {paired.reference} (95 % interval)", 50), fontsize=8)
        forest.set_title(f"paired differences, {paired.patients} test patients", fontsize=8)
        forest.legend(fontsize=7)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", bbox_inches="tight")  # nothing cut off at the edges
    plt.close(figure)
