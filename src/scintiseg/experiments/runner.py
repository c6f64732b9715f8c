"""Run an experiment spec: train and evaluate every (row, run) cell, skip finished cells, write the table.

Layout of ``OUT`` (default ``runs/experiments/<name>``)::

    OUT/<row-slug>/run<k>/          a normal run folder (config.yaml, checkpoints/, log.csv, eval-test/)
    OUT/results.csv                 one line per finished cell
    OUT/table.md                    mean +- std per row beside the paper's numbers, with the settings
    OUT/<name>.png                  the plot

A cell is finished when ``run<k>/eval-test/metrics.json`` exists; an interrupted cell resumes its training
from ``last.pt``. Run ``k`` trains with ``seed = k``.

Example::

    run_experiment(EXPERIMENTS["paper-a-table2"], data="data/crops", out="runs/a2", runs=2, epochs=20)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.experiments.specs import EXPERIMENTS, ExperimentSpec, Row
from scintiseg.experiments.tables import write_outputs
from scintiseg.train.config import TrainConfig
from scintiseg.train.evaluate import evaluate_run
from scintiseg.train.loop import train


def slug(text: str) -> str:
    """A folder name for a row: lower case, letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def cell_config(spec: ExperimentSpec, row: Row, data: str | Path, out: Path, run: int, settings: dict[str, Any]) -> TrainConfig:
    """The TrainConfig of one cell: spec base < row overrides < user settings, seed = run index."""
    values = dict(spec.base)
    for key, value in row.overrides.items():
        if key == "model_args":
            values["model_args"] = {**values.get("model_args", {}), **value} if row.overrides.get("model") is None else dict(value)
        else:
            values[key] = value
    user = dict(settings)
    user_model_args = user.pop("model_args", None) or {}
    values.update(user)
    values["model_args"] = {**values.get("model_args", {}), **user_model_args}
    values.update(data=str(data), out=str(out / slug(row.name) / f"run{run}"), seed=run)
    return TrainConfig.from_dict(values)


def cell_result(run_dir: Path) -> dict | None:
    """Flat metrics of a finished cell (None when not finished)."""
    path = run_dir / "eval-test" / "metrics.json"
    if not path.is_file():
        return None
    metrics = json.loads(path.read_text(encoding="utf-8"))
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else {}
    flat = {name: metrics["pooled"].get(name) for name in ("dsc", "recall", "cpa", "iou")}
    flat.update({f"{name}_image": value for name, value in metrics["per_image"].items()})
    flat.update(
        sensitivity=metrics["detection"].get("sensitivity"),
        fp_per_image=metrics["detection"].get("fp_per_image"),
        seconds_per_image=metrics.get("seconds_per_image"),
        parameters=summary.get("parameters"),
        epochs_run=summary.get("epochs_run"),
        train_seconds=summary.get("seconds"),
    )
    return flat


def run_experiment(
    spec: ExperimentSpec | str,
    data: str | Path,
    out: str | Path | None = None,
    *,
    runs: int | None = None,
    settings: dict[str, Any] | None = None,
    progress: bool = True,
) -> Path:
    """Train and evaluate every cell of ``spec`` not yet finished, then write table, CSV and plot.

    Args:
        spec: an :class:`ExperimentSpec` or its name.
        data: data-set folder with ``splits.json``.
        out: experiment folder (default ``runs/experiments/<name>``).
        runs: runs per row (default: the spec's, i.e. the paper's).
        settings: TrainConfig overrides applied to every cell (epochs, batch_size, model_args width, ...).
        progress: show progress bars.

    Returns:
        the path of ``table.md``.
    """
    if isinstance(spec, str):
        if spec not in EXPERIMENTS:
            raise ScintisegError(f"unknown experiment {spec!r} (choose from {', '.join(EXPERIMENTS)})")
        spec = EXPERIMENTS[spec]
    out = Path(out or Path("runs") / "experiments" / spec.name)
    runs = runs or spec.runs
    settings = dict(settings or {})
    settings.setdefault("progress", False)
    cells = [(row, k) for row in spec.rows for k in range(runs)]
    results: list[dict] = []
    for row, k in tqdm(cells, desc=spec.name, unit="cell", disable=not progress):
        config = cell_config(spec, row, data, out, k, settings)
        run_dir = Path(config.out)
        result = cell_result(run_dir)
        if result is None:
            if not (run_dir / "summary.json").is_file():
                train(config, resume=True)
            evaluate_run(run_dir, data, split="test", overlays=0)
            result = cell_result(run_dir)
        results.append({"row": row.name, "run": k, **result})
    used = cell_config(spec, spec.rows[0], data, out, 0, settings).to_dict()
    return write_outputs(spec, results, out, settings=used, runs=runs, data=str(data))
