"""The demo's pictures: learning curves and a whole-body scan with true and predicted lesions.

matplotlib is imported inside each function (``Agg`` back end), so importing the demo package writes
nothing into ``~/.cache/matplotlib`` or ``~/.config/matplotlib``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from scintiseg.display import display_window
from scintiseg.experiments.demo.settings import MODEL_TITLES
from scintiseg.io.atomic import atomic_path


def truth_overlay(counts: np.ndarray, truth: np.ndarray, predicted: np.ndarray, coverage: np.ndarray,
                  title: str, path: Path) -> None:
    """A whole-body view with its true (green) and predicted (red) lesions.

    When the model saw the whole view (``coverage`` all true): the view twice, the truth alone on the left
    and the prediction over the truth on the right. Otherwise the whole view (left, the window the model saw
    framed in blue) and that window enlarged (right).
    """
    import matplotlib  # lazy: start-up time

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: start-up time

    whole = bool(coverage.all())
    rows = np.flatnonzero(coverage.any(axis=1))
    cols = np.flatnonzero(coverage.any(axis=0))
    window = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)) if rows.size else (slice(None), slice(None))
    everything = (slice(None), slice(None))
    if whole:
        panels = [(everything, truth, np.zeros_like(predicted), "truth (green)"),
                  (everything, truth, predicted, "prediction (red) over the truth (green)")]
        ratios, size = [1, 1], (6.0, 10.0)  # two tall whole-body views side by side
    else:
        panels = [(everything, truth, predicted, "whole body (ANT)"),
                  (window, truth, predicted, "model window: green truth, red prediction")]
        ratios, size = [1, 2.2], (7.5, 7.5)
    vmax = display_window(counts)
    figure, axes = plt.subplots(1, 2, figsize=size, dpi=100, gridspec_kw={"width_ratios": ratios})
    for axis, (part, true_part, predicted_part, label) in zip(axes, panels):
        axis.imshow(counts[part], cmap="gray_r", vmin=0, vmax=vmax, interpolation="nearest")
        if true_part[part].any():
            axis.contour(true_part[part].astype(float), levels=[0.5], colors="lime", linewidths=1.0)
        if predicted_part[part].any():
            axis.contour(predicted_part[part].astype(float), levels=[0.5], colors="red", linewidths=1.0)
        axis.set_axis_off()
        axis.set_title(label, fontsize=9)
    if rows.size and not whole:
        axes[0].add_patch(plt.Rectangle((cols[0] - 0.5, rows[0] - 0.5), len(cols), len(rows), fill=False,
                                        edgecolor="royalblue", linewidth=1.0))
    figure.suptitle(textwrap.fill(title, 70), fontsize=10)  # wrapped: a long title runs off the figure's edges
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)


def learning_curves(runs: dict[str, list[dict]], path: Path) -> None:
    """Validation DSC and training loss per epoch of both networks."""
    import matplotlib  # lazy: start-up time

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: start-up time

    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4), dpi=100)
    for key, history in runs.items():
        epochs = [row["epoch"] for row in history]
        axes[0].plot(epochs, [row["train_loss"] for row in history], marker="o", label=MODEL_TITLES[key])
        axes[1].plot(epochs, [row["val_dsc"] for row in history], marker="o", label=MODEL_TITLES[key])
    axes[0].set(xlabel="epoch", ylabel="training loss (Dice + BCE)")
    axes[1].set(xlabel="epoch", ylabel="validation DSC (pooled)", ylim=(0, 1))
    axes[1].legend(fontsize=8)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)
