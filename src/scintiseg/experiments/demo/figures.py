"""The demo's pictures: learning curves and a whole-body scan with true and predicted lesions.

matplotlib is imported inside each function (``Agg`` back end), so importing the demo package writes
nothing into ``~/.cache/matplotlib`` or ``~/.config/matplotlib``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scintiseg.display import display_window
from scintiseg.experiments.demo.settings import MODEL_TITLES
from scintiseg.io.atomic import atomic_path


def truth_overlay(counts: np.ndarray, truth: np.ndarray, predicted: np.ndarray, coverage: np.ndarray,
                  title: str, path: Path) -> None:
    """Whole-body view (left) and the model's window (right), truth in green and prediction in red."""
    import matplotlib  # lazy: start-up time

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: start-up time

    rows = np.flatnonzero(coverage.any(axis=1))
    cols = np.flatnonzero(coverage.any(axis=0))
    window = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)) if rows.size else (slice(None), slice(None))
    vmax = display_window(counts)
    figure, axes = plt.subplots(1, 2, figsize=(7.5, 7.5), dpi=100, gridspec_kw={"width_ratios": [1, 2.2]})
    for axis, part in zip(axes, ((slice(None), slice(None)), window)):
        axis.imshow(counts[part], cmap="gray_r", vmin=0, vmax=vmax, interpolation="nearest")
        if truth[part].any():
            axis.contour(truth[part].astype(float), levels=[0.5], colors="lime", linewidths=1.0)
        if predicted[part].any():
            axis.contour(predicted[part].astype(float), levels=[0.5], colors="red", linewidths=1.0)
        axis.set_axis_off()
    if rows.size:
        axes[0].add_patch(plt.Rectangle((cols[0] - 0.5, rows[0] - 0.5), len(cols), len(rows), fill=False,
                                        edgecolor="royalblue", linewidth=1.0))
    axes[0].set_title("whole body (ANT)", fontsize=9)
    axes[1].set_title("model window: green truth, red prediction", fontsize=9)
    figure.suptitle(title, fontsize=10)
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
