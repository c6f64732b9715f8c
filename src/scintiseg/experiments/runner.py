"""Run an experiment spec: train and evaluate every (row, run) cell, skip finished cells, write the table.

Layout of ``OUT`` (default ``runs/experiments/<name>``)::

    OUT/<row-slug>/run<k>/          a normal run folder (config.yaml, checkpoints/, log.csv, eval-.../)
    OUT/experiment.json             name, runs, data, test set, settings: what ``report`` rereads
    OUT/results.csv, paired.csv     one line per finished cell; every bootstrap interval
    OUT/table.md                    mean +- std per row beside the paper's numbers, then paired differences
    OUT/<name>.png                  the plot

**Test set.** With ``test_set`` (a :class:`~scintiseg.experiments.test_set.PhantomTestSet`, the CLI's
default: 200 phantom patients, both views) every cell is scored on one shared held-out cohort generated
once under ``test_sets`` (default ``OUT/../test-sets``, so the experiments of one folder share it) and
the evaluation folder is ``run<k>/eval-<test set name>``; with a data-set path, on every case of it; with
None, on the training data set's own test split (``run<k>/eval-test``, the earlier behaviour). Training reads the
training data set's own patients: its train patients, less the 20 % held out for validation
(:mod:`scintiseg.experiments.specs`, "Settings the papers leave open"), at the size the data set has. Each cell is
tested with the spec's checkpoint (``last``: the network after its epochs, as the papers test; ``best`` on
validation before session 63), which its ``metrics.json`` records: a finished cell tested with another is refused.

**Field of view.** A data set whose images are not the spec's field of view (every paper table's: thoracic crops) is
refused before anything is made (:func:`check_field_of_view`; ``scintiseg dataset crop`` makes the crops).

A cell is finished when its evaluation folder holds ``metrics.json``; an interrupted cell resumes its
training from ``last.pt``. Run ``k`` trains with ``seed = k``.

Example::

    run_experiment("paper-a-table2", data="data/crops", out="runs/a2", runs=2, settings={"epochs": 20},
                   test_set=PhantomTestSet(patients=200))
    report_experiment("runs/a2")   # tables and plot again from the run folders
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.experiments.specs import EXPERIMENTS, PAPER_B_AUGMENTATION, ExperimentSpec, Row, slug
from scintiseg.experiments.tables import EXPERIMENT_FILE, write_outputs
from scintiseg.experiments.test_set import (
    PhantomTestSet,
    TestSetEvaluator,
    build_test_set,
    check_disjoint,
    crop_size_of,
)
from scintiseg.io.dataset import load_manifest
from scintiseg.scan import PARTIAL_VIEW_MM
from scintiseg.train.config import CHAN_VESE_ONLY, TrainConfig
from scintiseg.train.data import spans_whole_body_case
from scintiseg.train.evaluate import evaluate_run
from scintiseg.train.loop import build_model, plan_split, train

__all__ = ["cell_config", "cell_result", "check_field_of_view", "prepare_test_set", "report_experiment",
           "run_experiment", "slug"]

#: Every spec ``report`` can find by name.
_SPECS: dict[str, ExperimentSpec] = {**EXPERIMENTS, PAPER_B_AUGMENTATION.name: PAPER_B_AUGMENTATION}


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


def read_record(path: Path, remedy: str) -> dict:
    """The JSON object in ``path``; anything else (a damaged file, another program's) is one line naming it and
    ``remedy`` (session 61: a damaged cell's metrics.json ended a re-run or ``experiment report`` in a traceback)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ScintisegError(f"cannot be read as JSON ({type(exc).__name__}: {' '.join(str(exc).split())[:120]}): "
                             f"{remedy}", path=path) from None
    if not isinstance(record, dict):
        raise ScintisegError(f"holds no JSON object: {remedy}", path=path)
    return record


def cell_result(run_dir: Path, evaluation: str = "eval-test") -> dict | None:
    """Flat metrics of a finished cell (None when ``run_dir/evaluation/metrics.json`` does not exist)."""
    path = run_dir / evaluation / "metrics.json"
    if not path.is_file():
        return None
    again = f"remove {run_dir} to train and evaluate that cell again"
    metrics = read_record(path, again)
    summary_path = run_dir / "summary.json"
    summary = read_record(summary_path, again) if summary_path.is_file() else {}
    if not all(isinstance(metrics.get(key), dict) for key in ("pooled", "per_image", "detection")):
        raise ScintisegError(f"is not an evaluation's metrics (no pooled, per_image and detection): {again}", path=path)
    flat = {name: metrics["pooled"].get(name) for name in ("dsc", "recall", "cpa", "iou")}
    flat.update({f"{name}_image": value for name, value in metrics["per_image"].items()})
    flat.update(
        sensitivity=metrics["detection"].get("sensitivity"),
        fp_per_image=metrics["detection"].get("fp_per_image"),
        images=metrics.get("images"),
        seconds_per_image=metrics.get("seconds_per_image"),
        parameters=summary.get("parameters"),
        epochs_run=summary.get("epochs_run"),
        train_seconds=summary.get("seconds"),
    )
    return flat


def _spec(spec: ExperimentSpec | str) -> ExperimentSpec:
    if isinstance(spec, ExperimentSpec):
        return spec
    if spec not in _SPECS:
        raise ScintisegError(f"unknown experiment {spec!r} (choose from {', '.join(_SPECS)})")
    return _SPECS[spec]


def prepare_test_set(
    test_set: TestSetEvaluator | PhantomTestSet | str | Path | None,
    data: str | Path,
    out: Path,
    *,
    test_sets: str | Path | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> TestSetEvaluator | None:
    """The evaluator of ``test_set`` (generated first when it is a phantom cohort not yet made); None: the data's split.

    An evaluator passes through unchanged.

    A :class:`PhantomTestSet` without a size takes the size of ``data``'s images; its patients must not be
    training patients and its pixels must be ``data``'s (:func:`~scintiseg.experiments.test_set.check_disjoint`).
    """
    if test_set is None or isinstance(test_set, TestSetEvaluator):
        return test_set
    if isinstance(test_set, PhantomTestSet):
        if test_set.size is None:
            test_set = replace(test_set, size=crop_size_of(data))
        root = build_test_set(test_set, Path(test_sets) if test_sets else out.parent / "test-sets",
                              workers=workers, progress=progress)
        name = test_set.name
    else:
        root, name = Path(test_set), None
    check_disjoint(data, root)
    return TestSetEvaluator(root, name=name)


#: A cell's configuration keys that say how it ran, not what it learned (a re-run may change them).
HOW_IT_RAN = frozenset({"out", "data", "progress", "threads", "device", "generator_workers", "tensorboard"})


def _check_same_data(run_dir: Path, data: str | Path, config: TrainConfig | None = None) -> None:
    """Refuse to resume or re-evaluate a cell that was trained on another data set, or (``config``) with another
    recipe: a re-run with other settings (``-m width=16``, more epochs) reused the cells trained with the first ones
    and recorded the new settings beside them (session 61)."""
    saved = run_dir / "config.yaml"
    if saved.is_file():
        before = TrainConfig.from_yaml(saved)
        trained_on = Path(before.data)
        if trained_on.resolve() != Path(data).resolve():
            raise ScintisegError(f"this cell was trained on {trained_on}, not {data}: use another --out", path=run_dir)
        if config is not None:
            old, new = before.to_dict(), config.to_dict()
            # a cell trained with another loss did not learn from the Chan-Vese keys (session 63: the renamed Chan-Vese
            # weights made every earlier cell look trained otherwise, paper A's included)
            chan_vese = "chan_vese" in (old.get("loss"), new["loss"])
            unread = HOW_IT_RAN | (frozenset() if chan_vese else frozenset(CHAN_VESE_ONLY))
            changed = [key for key in new if key not in unread and old.get(key) != new[key]]
            if changed:
                key = changed[0]
                raise ScintisegError(f"this cell was trained with {key} {old.get(key)!r}, not {new[key]!r}"
                                     f"{f' (and {len(changed) - 1} more)' if len(changed) > 1 else ''}: use another --out",
                                     path=run_dir)


def field_of_view(data: str | Path) -> str:
    """``"whole-body"`` or ``"crop"``: the field of view of data set ``data``, judged by its first case as training
    judges it (a view of at least :data:`~scintiseg.scan.PARTIAL_VIEW_MM` spans a whole body,
    :func:`~scintiseg.train.data.spans_whole_body_case`); training refuses a data set that mixes the two
    (:func:`~scintiseg.train.loop.prepare_data`), so one case tells the kind of a set that can train."""
    manifest = load_manifest(data)
    if not manifest.cases:
        raise ScintisegError("the data set has no cases", path=data)
    return "whole-body" if spans_whole_body_case(data, manifest.cases[0], manifest.labels) else "crop"


def check_field_of_view(spec: ExperimentSpec, data: str | Path) -> str:
    """Refuse a data set whose images are not the field of view ``spec`` trains and tests on
    (:attr:`ExperimentSpec.field_of_view`; every paper table is on thoracic crops, :mod:`scintiseg.experiments.specs`).
    Researcher audit 74: ``paper-a-table2`` on whole-body views trained whole-body models on windows and wrote a
    normal-looking table beside the paper's numbers. Returns the data set's field of view."""
    found = field_of_view(data)
    if found == spec.field_of_view:
        return found
    metre = f"{PARTIAL_VIEW_MM / 1000:g} m"
    if found == "whole-body":
        raise ScintisegError(f"a data set of whole-body views (at least {metre}), but {spec.name} trains and tests on "
                             f"thoracic crops, as the paper's table does: make them with `scintiseg dataset crop {data} "
                             "--out CROPS` and give --data CROPS", path=data)
    raise ScintisegError(f"a data set of partial views (crops, under {metre}), but {spec.name} trains and tests on "
                         "whole-body views: give the whole-body data set the crops were cut from", path=data)


def _check_network_fits(config: TrainConfig, data: str | Path) -> None:
    """Refuse, before anything trains, a cell whose network cannot read ``data``'s images (session 63: a DPU-Net too
    deep for 64 x 64 crops failed after three rows had trained)."""
    in_channels = config.in_channels
    model = build_model(replace(config, init=""), in_channels)
    rows, cols = crop_size_of(data)
    model.check_input(torch.empty(1, in_channels, rows, cols, device="meta"))


def _check_tested_with(run_dir: Path, evaluation: str, checkpoint: str) -> None:
    """Refuse a finished cell tested with another checkpoint than the spec's (before session 63: ``best``)."""
    path = run_dir / evaluation / "metrics.json"
    if path.is_file():
        tested = read_record(path, f"remove {run_dir} to train and evaluate that cell again").get("checkpoint", "best")
        if tested != checkpoint:
            raise ScintisegError(f"this cell was tested with {tested}.pt, not {checkpoint}.pt: use another --out",
                                 path=run_dir)


def run_experiment(
    spec: ExperimentSpec | str,
    data: str | Path,
    out: str | Path | None = None,
    *,
    runs: int | None = None,
    settings: dict[str, Any] | None = None,
    progress: bool = True,
    test_set: TestSetEvaluator | PhantomTestSet | str | Path | None = None,
    test_sets: str | Path | None = None,
    workers: int | None = None,
) -> Path:
    """Train and evaluate every cell of ``spec`` not yet finished, then write table, CSVs and plot.

    Args:
        spec: an :class:`ExperimentSpec` or its name.
        data: data-set folder with ``splits.json`` (training and validation patients).
        out: experiment folder (default ``runs/experiments/<name>``).
        runs: runs per row (default: the spec's: paper A's 5; 3 for paper B, which averages 10).
        settings: TrainConfig overrides applied to every cell (epochs, batch_size, model_args width, ...).
        progress: show progress bars.
        test_set: the shared test set (module docstring): a :class:`PhantomTestSet` (``size=None``: the size
            of ``data``'s images), a data-set folder, or None for ``data``'s own test split.
        test_sets: where phantom test sets are generated (default ``OUT/../test-sets``).
        workers: processes generating the phantom test set (default: every CPU).

    Returns:
        the path of ``table.md``.
    """
    spec = _spec(spec)
    out = Path(out or Path("runs") / "experiments" / spec.name)
    runs = runs or spec.runs
    settings = dict(settings or {})
    settings.setdefault("progress", False)
    cells = [(row, k) for row in spec.rows for k in range(runs)]
    record = out / EXPERIMENT_FILE
    if record.is_file():  # another experiment's folder: its record, table and plot would be replaced (session 61)
        name = read_record(record, "the experiment's own record; rerun the experiment into a new --out").get("name")
        if name != spec.name:
            raise ScintisegError(f"holds the experiment {name!r}, not {spec.name!r}: use another --out", path=out)
    seen = check_field_of_view(spec, data)  # before the test set is made or anything trains
    for row, k in cells:  # a bad setting fails before the test set is made or anything trains
        config = cell_config(spec, row, data, out, k, settings)
        if k == 0:  # a network that cannot read the data's images (too deep for the crop size) fails here too
            _check_network_fits(config, data)
            if not config.synthetic:  # and a split that leaves too few patients to train on, saving no split
                plan_split(config)
    evaluator = prepare_test_set(test_set, data, out, test_sets=test_sets, workers=workers, progress=progress)
    evaluation = evaluator.folder_name if evaluator else "eval-test"
    results: list[dict] = []
    for row, k in tqdm(cells, desc=spec.name, unit="cell", disable=not progress):
        config = cell_config(spec, row, data, out, k, settings)
        run_dir = Path(config.out)
        _check_same_data(run_dir, data, config)
        _check_tested_with(run_dir, evaluation, spec.checkpoint)
        result = cell_result(run_dir, evaluation)
        if result is None:
            if not (run_dir / "summary.json").is_file():
                train(config, resume=True)
            if evaluator:
                evaluator.evaluate(run_dir, checkpoint=spec.checkpoint)
            else:
                evaluate_run(run_dir, data, split="test", checkpoint=spec.checkpoint, overlays=0)
            result = cell_result(run_dir, evaluation)
        results.append({"row": row.name, "run": k, **result})
    used = cell_config(spec, spec.rows[0], data, out, 0, settings).to_dict()
    return write_outputs(spec, results, out, settings=used, runs=runs, data=str(data), evaluation=evaluation,
                         test_set=str(evaluator.root) if evaluator else None, field_of_view=seen)


def _guess_spec(out: Path) -> ExperimentSpec:
    """The spec whose row folders ``out`` holds (an experiment folder written before ``experiment.json``)."""
    present = {path.name for path in out.iterdir() if path.is_dir()}
    for spec in _SPECS.values():
        if all(slug(row.name) in present for row in spec.rows):
            return spec
    raise ScintisegError(f"no {EXPERIMENT_FILE} and no experiment whose row folders are all here", path=out)


def read_experiment(folder: str | Path) -> tuple[ExperimentSpec, dict]:
    """The spec an experiment folder was run with and its ``experiment.json`` record (``{}`` when absent).

    Without ``experiment.json`` (a folder from before it existed) the spec is the one named like the folder,
    else the one whose row folders are all present.

    Raises:
        ScintisegError: not a folder, or no spec fits it.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ScintisegError("not an experiment folder", path=folder)
    record_path = folder / EXPERIMENT_FILE
    if record_path.is_file():
        record = read_record(record_path, "the experiment's own record; rerun the experiment into a new --out")
        if "spec" not in record and "name" not in record:
            raise ScintisegError("names no experiment (no spec or name)", path=record_path)
        try:
            return (ExperimentSpec.from_json(record["spec"]) if "spec" in record else _spec(record["name"])), record
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ScintisegError(f"its experiment spec is malformed ({type(exc).__name__}: {exc})",
                                 path=record_path) from None
    if folder.name in _SPECS:
        return _SPECS[folder.name], {}
    return _guess_spec(folder), {}


def report_experiment(out: str | Path) -> Path:
    """Write ``table.md``, the CSVs and the plot of experiment folder ``out`` again from its run folders.

    Reads ``experiment.json`` (the spec as it was run; a folder from before it existed: the spec is the one whose row folders are
    all present, the evaluation ``eval-test``) and every finished cell ``ROW/run<k>/<evaluation>``; trains
    and evaluates nothing.

    Returns:
        the path of ``table.md``.
    """
    out = Path(out)
    spec, record = read_experiment(out)
    evaluation = record.get("evaluation", "eval-test")
    results: list[dict] = []
    largest = 0
    for row in spec.rows:
        runs = sorted(out.glob(f"{slug(row.name)}/run*"), key=lambda p: int(p.name[3:]) if p.name[3:].isdigit() else -1)
        for run_dir in runs:
            if not run_dir.name[3:].isdigit():
                continue
            result = cell_result(run_dir, evaluation)
            if result is not None:
                k = int(run_dir.name[3:])
                largest = max(largest, k + 1)
                results.append({"row": row.name, "run": k, **result})
    if not results:
        raise ScintisegError(f"no finished cell (no ROW/run<k>/{evaluation}/metrics.json)", path=out)
    settings = record.get("settings")
    if settings is None:
        first = out / slug(results[0]["row"]) / f"run{results[0]['run']}" / "config.yaml"
        settings = TrainConfig.from_yaml(first).to_dict() if first.is_file() else {}
    return write_outputs(spec, results, out, settings=settings, runs=max(record.get("runs", 0), largest),
                         data=record.get("data") or str(settings.get("data", "?")), evaluation=evaluation,
                         test_set=record.get("test_set"), field_of_view=record.get("field_of_view"))
