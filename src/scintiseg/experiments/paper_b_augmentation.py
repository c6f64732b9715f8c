"""Experiment ``paper-b-augmentation``: one model trained on D1, D2 and D3, tested on the same real patients.

Paper B §3.2 / Table 3 (values lost from the seed text except the D2 row at 37 % labels): D1 = original
thoracic crops, D2 = D1 + geometric augmentation (§3.2.1), D3 = D1 + DCGAN samples (§3.2.2). Paper B
finds D2 best. Our protocol, so that only the augmentation differs between rows:

1. **D1** is a copy of the crops with a patient-level split (``test = 0.3`` as paper B's 70/30, plus
   ``folds`` so that every row validates on the same real patients, fold 0); an existing
   ``splits.json`` with folds is kept.
2. **GAN**: :func:`scintiseg.gan.train.train_gan` on D1's fold-0 training patients, the patients every
   row trains on: D1's test patients are left out automatically, and fold 0's validation patients with
   ``held_out_fold = 0`` (forced here); or a run trained beforehand (``gan_run``; e.g. longer, on a GPU,
   with ``scintiseg gan train --data D1 --held-out-fold 0``), which must not have seen D1's test patients
   nor fold 0's validation patients (:func:`scintiseg.gan.d3.check_gan_run`, run before any other work
   and again by :func:`scintiseg.gan.d3.build_d3`). *(session 63, 2026-12-06)* Before, the GAN trained on every D1
   training patient, fold 0's validation patients included: the D3 row's samples were learned from the
   images and masks of the patients all rows validate on (a validation leak in D3 only; the cells are now
   tested with ``last.pt``, but validation still shapes the log). A GAN run folder written before then is
   refused; delete it (``out/datasets/gan_run``) to train one anew.
3. **D2** = :func:`scintiseg.prepare.augment_dataset.augment_dataset` of D1 with ``factor`` (paper B:
   2,280 / 112 ~ 20); its ``splits.json`` is D1's with each training case's augmented copies appended
   to the train lists. Copies of test patients are written but listed in no split.
4. **D3** = D1 + ``(factor - 1) x |D1 train|`` GAN samples (:func:`scintiseg.gan.d3.build_d3`), so D2 and
   D3 train on the same number of images; in each fold, D3 keeps ``(factor - 1) x |fold train|`` of
   them, as many as D2's fold has copies.
5. Every row trains the paper B model (:data:`~scintiseg.experiments.specs.PAPER_B_BASE`: RDI-Net t = 3,
   Chan-Vese loss; ``fold = 0``) and is evaluated on **D1's test patients** (the runner's ``data``); the
   rows are :data:`~scintiseg.experiments.specs.PAPER_B_AUGMENTATION`'s.

**Labels: 100 %, not paper B's 37 %.** Paper B's Table 3 is at 37 % labelled patients. Our G generates
masks and learns them from every training patient's mask, so at 37 % a D3 network would receive the
unlabelled patients' lesion masks through G's samples (a label leak D1 and D2 do not have); the labelled
share is also redrawn per run seed, so a leak-free D3 would need one GAN per run. We therefore run all
three rows fully supervised and refuse ``labelled < 1`` here; the paper's D2 numbers stay beside ours
for reference, not as a like-for-like comparison.

Each row runs through :func:`scintiseg.experiments.runner.run_experiment` as a one-row experiment on its
own folder; D1, D2 and D3 share the same test cases (ids, files and ``splits.json`` "test"), so all rows
are tested on identical images, and the table over the three rows is written at the end.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from scintiseg.errors import ScintisegError
from scintiseg.experiments.runner import (
    cell_config,
    cell_result,
    check_field_of_view,
    prepare_test_set,
    run_experiment,
    slug,
)
from scintiseg.experiments.specs import PAPER_B_AUGMENTATION, ExperimentSpec
from scintiseg.experiments.tables import write_outputs
from scintiseg.gan.config import GanConfig
from scintiseg.gan.d3 import build_d3, check_gan_run, copy_case
from scintiseg.gan.sample import sample_dataset
from scintiseg.gan.train import CHECKPOINT_NAME, train_gan
from scintiseg.io import dataset as ds
from scintiseg.io.atomic import write_text_atomic
from scintiseg.prepare.augment_dataset import augment_dataset
from scintiseg.prepare.splits import split_dataset

NAME = PAPER_B_AUGMENTATION.name
#: The validation fold of every row (the spec's ``fold``); the GAN never sees its patients.
VAL_FOLD = int(PAPER_B_AUGMENTATION.base.get("fold", 0))
#: Paper B's D2 size over D1 size: 2,280 / 112.
PAPER_B_FACTOR = 20


def _copy_with_split(data: Path, out: Path, test: float, folds: int, seed: int) -> Path:
    """D1: the real (not training-derived) cases of ``data`` with a patient-level split and folds."""
    manifest = ds.load_manifest(data)
    real = [c for c in manifest.cases if c.origin not in ds.TRAINING_DERIVED_ORIGINS]
    for case in real:
        copy_case(data, out, case)
    ds.save_manifest(replace(manifest, cases=real, view_cases={}), out)  # (the count per view was of all the cases)
    existing = data / ds.SPLITS_NAME
    if existing.is_file() and len(real) == len(manifest.cases):
        splits = ds.load_splits(data)
        if splits.get("folds"):
            write_text_atomic(out / ds.SPLITS_NAME, existing.read_text(encoding="utf-8"))
            return out
    split_dataset(out, test=test, seed=seed, folds=folds)
    return out


def _d2_splits(d1_splits: dict, d2_manifest: ds.DatasetManifest) -> dict:
    """D1's split with each listed case's augmented copies appended next to it (train lists only)."""
    copies: dict[str, list[str]] = {}
    for case in d2_manifest.cases:
        parent = case.meta.get("parent_case") if case.origin == "augment" else None
        if parent:
            copies.setdefault(parent, []).append(case.case_id)
    grow = lambda ids: list(ids) + [c for i in ids for c in copies.get(i, [])]  # noqa: E731
    splits = dict(d1_splits)
    splits["train"] = grow(d1_splits["train"])
    splits["folds"] = [{"train": grow(f["train"]), "val": list(f["val"])} for f in d1_splits.get("folds") or []]
    return splits


def prepare_datasets(
    data: str | Path,
    out: str | Path,
    *,
    factor: int = PAPER_B_FACTOR,
    gan_settings: dict[str, Any] | None = None,
    test: float = 0.3,
    folds: int = 3,
    seed: int = 0,
    progress: bool = True,
    gan_run: str | Path | None = None,
    gan_minutes: float | None = None,
) -> dict[str, Path]:
    """Build D1, D2, D3 (and the GAN run) under ``out/datasets``; steps already done are skipped.

    ``gan_run`` uses a trained run instead of training one (``gan_settings`` are then ignored); it must not have
    seen D1's test patients nor the validation patients of fold :data:`VAL_FOLD`. ``gan_minutes`` bounds the GAN's
    training time (:func:`scintiseg.gan.train.train_gan`). The GAN trained here holds out fold :data:`VAL_FOLD`'s
    validation patients (``held_out_fold``; a different value in ``gan_settings`` is refused).

    Returns:
        ``{"D1": path, "D2": path, "D3": path, "gan": run path}``.
    """
    if factor < 2:
        raise ScintisegError(f"augmentation factor must be at least 2, got {factor}")
    gan_config = GanConfig.from_dict({"seed": seed, "held_out_fold": VAL_FOLD, **(gan_settings or {})})  # bad settings fail first
    if gan_config.held_out_fold != VAL_FOLD:
        raise ScintisegError(f"{NAME} validates every row on fold {VAL_FOLD}: its GAN must hold out that fold's patients "
                             f"(held_out_fold {VAL_FOLD}, not {gan_config.held_out_fold})")
    if gan_run is not None and not (Path(gan_run) / CHECKPOINT_NAME).is_file():
        raise ScintisegError("not a GAN run folder (no checkpoints/last.pt)", path=gan_run)
    data, root = Path(data), Path(out) / "datasets"
    paths = {"D1": root / "d1", "D2": root / f"d2_x{factor}", "D3": root / f"d3_x{factor}",
             "gan": Path(gan_run) if gan_run is not None else root / "gan_run"}
    if not (paths["D1"] / ds.MANIFEST_NAME).is_file():
        _copy_with_split(data, paths["D1"], test, folds, seed)
    d1_splits = ds.load_splits(paths["D1"])

    if gan_run is None:
        gan_done = (paths["gan"] / CHECKPOINT_NAME).is_file()
        if gan_done:  # a run written before session 63 learned from the validation patients: refused, not resumed
            try:
                check_gan_run(paths["gan"], paths["D1"], VAL_FOLD)
            except ScintisegError as exc:
                raise ScintisegError(f"{exc.problem}; this experiment's GAN run was trained before session 63: delete it, "
                                     f"{root}/gan_samples_* and {paths['D3']} to rebuild D3 without the leak",
                                     path=exc.path) from None
        if not (gan_done and gan_minutes is not None):  # a time-bounded run that has ended is not extended
            train_gan(paths["D1"], paths["gan"], gan_config, resume=gan_done, progress=progress, max_minutes=gan_minutes)
    check_gan_run(paths["gan"], paths["D1"], VAL_FOLD)  # before D2 and D3 are built on it

    if not (paths["D2"] / ds.MANIFEST_NAME).is_file():
        d2 = augment_dataset(paths["D1"], paths["D2"], factor=factor, seed=seed, progress=progress)
        write_text_atomic(paths["D2"] / ds.SPLITS_NAME, json.dumps(_d2_splits(d1_splits, d2), indent=1) + "\n")

    if not (paths["D3"] / ds.MANIFEST_NAME).is_file():
        n_gan = (factor - 1) * len(d1_splits["train"])
        samples = root / f"gan_samples_{n_gan}"
        if not (samples / ds.MANIFEST_NAME).is_file():
            sample_dataset(paths["gan"], n_gan, samples, seed=seed, progress=progress)
        build_d3(paths["D1"], samples, paths["D3"], gan_run=paths["gan"], val_fold=VAL_FOLD)
    _match_d2_fold_sizes(paths["D3"], d1_splits, factor)
    return paths


def _match_d2_fold_sizes(d3: Path, d1_splits: dict, factor: int) -> None:
    """Give each D3 fold as many GAN cases as D2's fold has augmented copies.

    D3's ``train`` list holds ``(factor - 1) x |D1 train|`` GAN cases, as many as D2 has copies. A fold
    trains on fewer real patients (the rest validate), and D2's fold holds only the copies of those, so
    each D3 fold keeps the first ``(factor - 1) x |fold train|`` GAN cases: every row then trains on
    the same number of images in every fold. Rewrites ``splits.json`` only when it changes.
    """
    splits = ds.load_splits(d3)
    real = set(d1_splits["train"])
    gan_ids = [c for c in splits["train"] if c not in real]
    folds = []
    for d1_fold in d1_splits.get("folds") or []:
        n = (factor - 1) * len(d1_fold["train"])
        folds.append({"train": list(d1_fold["train"]) + gan_ids[:n], "val": list(d1_fold["val"])})
    if folds != (splits.get("folds") or []):
        write_text_atomic(d3 / ds.SPLITS_NAME, json.dumps({**splits, "folds": folds}, indent=1) + "\n")


def augmentation_spec(paths: dict[str, Path]) -> ExperimentSpec:
    """:data:`~scintiseg.experiments.specs.PAPER_B_AUGMENTATION` with its rows on D1, D2 and D3."""
    rows = tuple(
        replace(row, overrides={**row.overrides, "data": str(paths[key])})
        for row, key in zip(PAPER_B_AUGMENTATION.rows, ("D1", "D2", "D3"), strict=True)
    )
    return replace(PAPER_B_AUGMENTATION, rows=rows)


def run_paper_b_augmentation(
    data: str | Path,
    out: str | Path | None = None,
    *,
    runs: int | None = None,
    settings: dict[str, Any] | None = None,
    factor: int = PAPER_B_FACTOR,
    gan_settings: dict[str, Any] | None = None,
    seed: int = 0,
    progress: bool = True,
    gan_run: str | Path | None = None,
    gan_minutes: float | None = None,
    test_set: Any = None,
    test_sets: str | Path | None = None,
    workers: int | None = None,
) -> Path:
    """Prepare D1/D2/D3 and the GAN, then train and evaluate every row; returns ``table.md``'s path.

    Args:
        data: the thoracic crops (original images; a ``splits.json`` with folds is reused).
        out: experiment folder (default ``runs/experiments/paper-b-augmentation``).
        runs: training runs per row (default 3).
        settings: TrainConfig overrides for every row (e.g. ``{"epochs": 20}``).
        factor: D2 / D1 size ratio (paper B ~20); D3 gets as many GAN samples as D2 has copies.
        gan_settings: GanConfig overrides (e.g. ``{"epochs": 100}``).
        seed: seeds the split, the augmentation, the GAN and its samples.
        progress: progress bars.
        gan_run: a trained ``scintiseg gan train`` run to sample D3 from (trained on D1's fold-0 training
            patients only: ``--held-out-fold 0``); default: train one here with ``gan_settings``.
        gan_minutes: wall-clock bound of the GAN training done here.
        test_set, test_sets, workers: the shared test set of every row
            (:func:`scintiseg.experiments.runner.run_experiment`); None: D1's test patients.
    """
    if float((settings or {}).get("labelled", 1.0)) < 1.0:
        raise ScintisegError(f"{NAME} runs with 100 % labelled patients: the GAN learns masks from every "
                             "training patient, so fewer labels would leak through D3 (docs/gan.md)")
    seen = check_field_of_view(PAPER_B_AUGMENTATION, data)  # thoracic crops, before D1, D2, D3 or the GAN are made
    out = Path(out or Path("runs") / "experiments" / NAME)
    paths = prepare_datasets(data, out, factor=factor, gan_settings=gan_settings, seed=seed, progress=progress,
                             gan_run=gan_run, gan_minutes=gan_minutes)
    spec = augmentation_spec(paths)
    runs = runs or spec.runs
    # The runner trains and tests every row on one data folder. D1, D2 and D3 hold the same test cases
    # (same ids, same files, same splits.json "test"), so each row runs as a one-row experiment on its own
    # folder -- tested on identical images -- and the table is written once over all rows.
    evaluator = prepare_test_set(test_set, paths["D1"], out, test_sets=test_sets, workers=workers, progress=progress)
    evaluation = evaluator.folder_name if evaluator else "eval-test"
    results: list[dict] = []
    for row in spec.rows:
        single = replace(spec, rows=(row,))
        run_experiment(single, data=row.overrides["data"], out=out, runs=runs, settings=settings, progress=progress,
                       test_set=evaluator)
        for k in range(runs):
            result = cell_result(out / slug(row.name) / f"run{k}", evaluation)
            if result is not None:
                results.append({"row": row.name, "run": k, **result})
    used = cell_config(spec, spec.rows[0], paths["D1"], out, 0, dict(settings or {})).to_dict()
    return write_outputs(spec, results, out, settings=used, runs=runs, data=str(paths["D1"]), evaluation=evaluation,
                         test_set=str(evaluator.root) if evaluator else None, field_of_view=seen)
