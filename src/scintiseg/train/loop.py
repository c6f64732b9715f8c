"""The training loop: one epoch of optimisation, validation on held-out patients, checkpoints, resume.

What a run folder holds (only rank 0 writes; every file is written atomically)::

    RUN/config.yaml              the resolved TrainConfig
    RUN/synthetic_phantom.json   a ``--synthetic-config`` run's phantom: the profile with the YAML laid over it
    RUN/split.json               the case ids used for train / val / test and the labelled ones
    RUN/log.csv                  one row per epoch: losses, validation DSC/Recall/CPA/IoU, lr, seconds
    RUN/checkpoints/last.pt      after every epoch (model, optimiser, history, RNG state)
    RUN/checkpoints/best.pt      whenever the monitored validation score improves
    RUN/checkpoints/epoch_NNNN.pt  every ``save_every`` epochs when it is set (the same contents as last.pt)
    RUN/summary.json             written when the run ends: best epoch and score, epochs run, finished

Repeatability: the weights are initialised from ``seed``; the data order of epoch ``e`` comes from a
generator seeded with ``(seed, e)`` (or DistributedSampler's ``set_epoch``), and the global torch RNG
state is stored in every checkpoint, so a CPU run resumed from ``last.pt`` continues exactly as the
uninterrupted run would have. Interrupting mid-epoch loses only that epoch.

Example::

    result = train(TrainConfig(data="data/crops", out="runs/unet", model="unet", epochs=5))
    print(result.best_epoch, result.best_value)
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler
from torch.utils.data.distributed import DistributedSampler
from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.formats import InputContract, provenance
from scintiseg.io.atomic import remove_stale_partials, write_text_atomic
from scintiseg.io.dataset import SPLITS_NAME, load_manifest, load_splits
from scintiseg.losses import RegionLoss, SegmentationLoss, build_loss
from scintiseg.metrics import class_dice, class_overlap, confusion_counts, summarise
from scintiseg.models import create_model
from scintiseg.models.checkpoint import (
    BEST,
    CHECKPOINT_DIR,
    LAST,
    RESUME_KEYS,
    epoch_checkpoint_path,
    load_checkpoint,
    save_checkpoint,
    state_dict_mismatch,
)
from scintiseg.models.device import autocast_dtype
from scintiseg.phantom.config import PhantomConfig
from scintiseg.phantom.regions import REGION_CLASSES
from scintiseg.prepare.augment import RandomGeometric
from scintiseg.prepare.gain import RandomGain
from scintiseg.prepare.model_input import input_views
from scintiseg.scan import PARTIAL_VIEW_MM
from scintiseg.train.config import TrainConfig
from scintiseg.train.data import (
    PERSON,
    PSEUDO_LABEL,
    UNKNOWN,
    SegmentationDataset,
    SplitCases,
    WholeBodyWindows,
    any_view_truth,
    case_patients,
    case_truth,
    generated_cases,
    load_samples,
    spans_whole_body_case,
    made_split,
    save_made_split,
    split_cases,
)
from scintiseg.train.degraded_data import DegradedDataPool, dataset_views
from scintiseg.train.distributed import DistributedContext
from scintiseg.train.synthetic import SyntheticPool, SyntheticSettings, validation_dataset

log = logging.getLogger(__name__)

#: Columns of ``RUN/log.csv``, in order.
LOG_COLUMNS: tuple[str, ...] = (
    "epoch", "train_loss", "train_supervised", "train_unsupervised", "alpha",
    "val_loss", "val_dsc", "val_recall", "val_cpa", "val_iou", "val_dsc_image", "lr", "seconds",
)


@dataclass
class TrainData:
    """The datasets of one run and the split they came from.

    ``pool`` is set for synthetic training (:mod:`scintiseg.train.synthetic`) and site adaptation
    (:class:`scintiseg.train.site_mix.MixedPool`, which has the same interface), and for a whole-body data set
    degraded anew every epoch (:class:`scintiseg.train.degraded_data.DegradedDataPool`): each epoch then trains on
    ``pool.dataset(epoch)``, and ``train`` is the windows of epoch ``first_epoch`` (the first of this
    process), which that epoch reuses instead of asking the pool again (asking twice would throw away the
    patients the generator made meanwhile for the next epoch, and make them again).
    """

    train: SegmentationDataset
    val: SegmentationDataset
    split: SplitCases | None = None
    pool: SyntheticPool | DegradedDataPool | None = None
    first_epoch: int = 0
    #: the pixel size (mm) whole-body scans of a data set were resampled to (:mod:`scintiseg.train.data`,
    #: "Whole-body data sets"); ``None`` for a data set of partial views
    pixel_mm: float | None = None
    #: whether a training case is a real patient's scan (a data set case not marked ``synthetic``): the checkpoint
    #: says so (``data.real_scans``), so that the report does not call the model trained on phantoms only
    real_scans: bool = False
    #: the folders of a site's scans the run was adapted to (:mod:`scintiseg.train.adapt`): the checkpoint says so
    #: (``data.adapted_on``), and the report calls the model adapted to a site's scans, not trained on phantoms only
    adapted_on: tuple[str, ...] = ()

    def for_epoch(self, epoch: int) -> SegmentationDataset:
        """The training images of ``epoch``."""
        if self.pool is None or epoch == self.first_epoch:
            return self.train
        return self.pool.dataset(epoch)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


@dataclass
class TrainResult:
    """What :func:`train` returns: the run folder, best epoch and score, the metric history."""

    run_dir: Path
    best_epoch: int
    best_value: float
    epochs_run: int
    stopped_early: bool
    history: list[dict] = field(default_factory=list)
    #: the pixel size (mm) a whole-body model reads scans at (recorded in its checkpoint); None for a crop model
    pixel_mm: float | None = None


#: A ``--synthetic-config`` run's phantom (the profile with the YAML laid over it), in the run folder.
SYNTHETIC_PHANTOM = "synthetic_phantom.json"


def synthetic_settings(config: TrainConfig) -> SyntheticSettings:
    """What the on-the-fly generator of a ``--synthetic`` run makes."""
    return SyntheticSettings(profile=config.synthetic, pixel_mm=config.pixel_mm, window_size=config.window_size,
                             windows_per_view=config.windows_per_view, normalisation=config.normalisation,
                             degrade=config.degrade, seed=config.seed, task=config.task,
                             phantom=config.phantom_settings() if config.synthetic_config else None)


def prepare_synthetic_data(config: TrainConfig, start_epoch: int = 0) -> TrainData:
    """The refreshed pool of generated training windows and fixed generated validation windows."""
    settings = synthetic_settings(config)
    bar = tqdm(desc="phantom validation", unit="patient", total=config.val_patients, leave=False,
               disable=not config.progress)
    val = validation_dataset(settings, config.val_patients)
    bar.update(config.val_patients)
    bar.close()
    pool = SyntheticPool(settings, config.pool_patients, config.refresh, workers=config.generator_workers)
    try:
        first = pool.dataset(start_epoch)
    except BaseException:
        pool.close()
        raise
    return TrainData(first, val, None, pool, first_epoch=start_epoch)


@dataclass
class PlannedSplit:
    """What :func:`plan_split` settles before any image is read: the run's cases by subset and what each case's truth
    is, and the split made for a data set without ``splits.json`` (None when it has one), not yet saved."""

    split: SplitCases
    truth: dict[str, str]
    every_view: bool
    named: str  # the views whose outlines count, for messages ("any view", "ANT and POST")
    made: dict | None


def plan_split(config: TrainConfig) -> PlannedSplit:
    """The patient-level split of ``config.data`` the run would train on (:func:`prepare_data`), reading no image but the
    first case's (whether it spans a whole body). The split of a data set without ``splits.json`` is made here and
    not saved (:func:`~scintiseg.train.data.made_split`): :func:`prepare_data` saves it once the images are read, so
    that a run the split leaves nothing to train on changes nothing in the data set (researcher audit 74:
    ``experiment`` saved it, then failed), and :func:`scintiseg.experiments.runner.run_experiment` asks this of each
    row before its test set is made.

    Raises:
        ScintisegError: the split leaves too few patients to train and validate on (naming the data set; and when the
            split was made here, that it was not saved), or ``splits.json`` is unusable.
    """
    if not config.data:
        raise ScintisegError("no data set given (--data DIR)")
    patients_of = case_patients(config.data)
    manifest = load_manifest(config.data)
    read = input_views(config.input_mode, manifest.views)
    # every view its own input: whole-body scans, or crops read view by view (views "each": session 63, before which
    # a crop outlined on POST alone was left out as having no outline of ANT)
    every_view = (config.input_mode == "ant" and bool(manifest.cases)
                  and (config.views == "each" or spans_whole_body_case(config.data, manifest.cases[0], manifest.labels)))
    truth = {case.case_id: any_view_truth(case) if every_view else case_truth(case, read) for case in manifest.cases}
    made = made_split(config.data, config.seed)
    try:
        split = split_cases(
            patients_of,
            made if made is not None else load_splits(config.data),
            fold=config.fold,
            val_fraction=config.val_fraction,
            labelled=config.labelled,
            seed=config.seed,
            generated=generated_cases(config.data),
            outlined={case_id for case_id, said in truth.items() if said == PERSON},
            annotated={case_id for case_id, said in truth.items() if said != UNKNOWN},
        )
    except ScintisegError as exc:
        if exc.path is not None:
            raise
        unsaved = f"; no {SPLITS_NAME} was written (the split made for this run is not saved)" if made is not None else ""
        raise ScintisegError(exc.problem + unsaved, path=config.data) from None
    return PlannedSplit(split, truth, every_view, "any view" if every_view else " and ".join(read), made)


def prepare_data(config: TrainConfig) -> TrainData:
    """Split the data set by patient (:func:`plan_split`) and preload the train and validation images.

    Only cases with a truth train and validate (:mod:`scintiseg.train.data`, "What a sample's target is"): a
    supervised loss trains on cases whose views read are annotated, pseudo-labels included; the Chan-Vese loss takes
    the others as unlabelled; validation is on cases a person outlined. Where every view is its own input (input
    mode ``ant`` on whole-body scans, judged by the data set's first case: a data set mixing kinds is refused below)
    that is view by view: a case trains when one of its views is annotated, and :func:`load_samples` leaves out its
    views without an annotation (session 63: before, the manifest's shared views decided for the whole case). What
    training leaves out is warned about: cases, or views where views are left out. A split made for a data set
    without ``splits.json`` is saved (and said) only once the images read leave something to train and validate on.
    """
    if config.synthetic:
        return prepare_synthetic_data(config)
    planned = plan_split(config)
    split, truth, every_view, named, made = (planned.split, planned.truth, planned.every_view, planned.named,
                                             planned.made)
    manifest = load_manifest(config.data)
    train_ids = split.train
    supervised = config.loss != "chan_vese"
    unknown: list[str] = []
    left_views: list[str] | None = [] if supervised and every_view else None  # views load_samples leaves out
    if supervised:  # a supervised loss has no use for an image without labels
        unknown = [c for c in train_ids if truth.get(c) == UNKNOWN]
        if unknown and not every_view:
            warnings.warn(f"{config.data}: {len(unknown)} training case(s) without an outline of {named} "
                          f"left out (their lesions are unknown, not absent), e.g. {unknown[0]}", stacklevel=2)
        train_ids = [c for c in train_ids if c in split.labelled and truth.get(c) != UNKNOWN]
    if config.max_train_images:
        train_ids = train_ids[: config.max_train_images]
    if not train_ids:
        raise ScintisegError("no training images left after the split and the labelled share", path=config.data)
    keep = (PERSON, PSEUDO_LABEL) if supervised else (PERSON, PSEUDO_LABEL, UNKNOWN)
    # whole-body scans (train.data): tiles, and for training one more window on each lesion
    windows = WholeBodyWindows(config.pixel_mm, config.window_size)
    pool = None
    if config.degrade_data:  # train.degraded_data: the training scans degraded anew every epoch
        views = dataset_views(config.data, train_ids, config.pixel_mm, input_mode=config.input_mode, keep=keep,
                              labelled=split.labelled, left_out=left_views)
        if not views:
            raise ScintisegError(f"no training case with an outline of {named} (unannotated cases have "
                                 "no truth to learn from)", path=config.data)
        pool = DegradedDataPool(views, config.pixel_mm, config.normalisation, config.window_size, seed=config.seed)
        first = pool.dataset(0)
        train_samples = first.samples
    else:
        train_samples = load_samples(config.data, train_ids, config.input_mode, config.normalisation, keep=keep,
                                     windows=replace(windows, around_lesions=True), views=config.views,
                                     left_out=left_views)
    if left_views or (every_view and unknown):  # say views where views were left out, cases where whole cases were
        said = ([f"{len(left_views)} view(s) without an outline (e.g. {left_views[0]})"] if left_views else []) + (
            [f"{len(unknown)} case(s) without an outline of any view (e.g. {unknown[0]})"] if unknown else [])
        warnings.warn(f"{config.data}: training left out {' and '.join(said)}: their lesions are unknown, not absent",
                      stacklevel=2)
    val_samples = load_samples(config.data, split.val, config.input_mode, config.normalisation, keep=(PERSON,),
                               windows=windows, views=config.views)
    if not train_samples:
        raise ScintisegError(f"no training case with an outline of {named} (unannotated cases have no "
                             "truth to learn from)", path=config.data)
    if not val_samples:  # a fold of a splits.json made before session 50 may validate on unannotated patients only
        raise ScintisegError(f"no validation case a person outlined ({named}) in "
                             f"{'fold ' + str(config.fold) if config.fold is not None else 'the validation patients'}: "
                             "`scintiseg dataset split` deals only outlined patients into folds", path=config.data)
    whole = next((s for s in train_samples + val_samples if s.whole_body), None)
    partial = next((s for s in train_samples + val_samples if not s.whole_body), None)
    if whole is not None and partial is not None:
        raise ScintisegError(f"whole-body scans (e.g. {whole.case_id}) and partial views (e.g. {partial.case_id}: "
                             f"shorter than {PARTIAL_VIEW_MM / 1000:g} m) cannot train one model: train on one kind "
                             "(`scintiseg dataset crop` makes thoracic crops of whole-body scans)", path=config.data)
    pixel_mm = float(config.pixel_mm) if whole is not None else None
    if made is not None:  # the split holds: saved and said
        save_made_split(config.data, made)
    trained = set(train_ids)
    real = any(not case.synthetic for case in manifest.cases if case.case_id in trained)
    if pool is not None:
        return TrainData(first, SegmentationDataset(val_samples), split, pool, pixel_mm=pixel_mm, real_scans=real)
    flags = [s.case in split.labelled and s.truth != UNKNOWN for s in train_samples]
    return TrainData(SegmentationDataset(train_samples, flags), SegmentationDataset(val_samples), split,
                     pixel_mm=pixel_mm, real_scans=real)


def init_recipe(path: str | Path) -> dict:
    """How the network of the checkpoint at ``path`` was made and fed, as :class:`TrainConfig` fields: ``model`` and
    ``model_args`` (its ``model_config``), ``input_mode`` and ``normalisation``, ``task`` for a region network, and
    for a whole-body model its ``pixel_mm`` and ``window_size``. ``scintiseg train --init`` takes them under ``--config`` and the flags given
    (session 51), so a fine-tune reads scans as its starting model was trained to: before, a run with the defaults
    normalised by ``percentile`` a model trained on ``robust`` inputs, or refused its weights for another network.

    Raises:
        ScintisegError: an unreadable checkpoint (named).
    """
    state = load_checkpoint(Path(path), map_location="cpu", required=("model",))
    made = dict(state.get("model_config") or {})
    # only what the checkpoint records: a field it does not is the flags' and TrainConfig's, not a default guessed here
    data = InputContract.from_state(state, path)
    recipe: dict = {}
    name = made.pop("name", None)
    made.pop("in_channels", None)  # the input mode decides it
    if isinstance(name, str) and name:
        recipe.update(model=name, model_args=made)
    for key in ("input_mode", "normalisation"):
        if key in data.recorded:
            recipe[key] = getattr(data, key)
    if data.task == "regions":  # a region network goes on learning regions
        recipe["task"] = "regions"
    if {"pixel_mm", "window"} <= data.recorded and data.window == "whole":
        recipe["pixel_mm"] = data.pixel_mm
        if "window_size" in data.recorded:
            recipe["window_size"] = data.window_size
    return recipe


def load_init(config: TrainConfig) -> dict | None:
    """The checkpoint ``config.init`` names, read once for both the weights (:func:`build_model`) and what its
    model learned from (:func:`learned_from`); None without ``--init``."""
    return load_checkpoint(Path(config.init), map_location="cpu", required=("model",)) if config.init else None


def learned_from(data: TrainData, start: dict | None) -> dict:
    """What the checkpoint's ``data`` block says the run learned from besides phantoms (:mod:`scintiseg.predict.loader`
    reads it for the report's disclaimer): ``real_scans`` when a training case is a real patient's scan, ``adapted_on``
    the folders of a site's scans it was adapted to. A run started from ``init`` (``--init``, and every adaptation)
    keeps what that model learned from too: its weights carry it (session 61; before, a fine-tune on phantoms of a model
    trained on a department's scans was called trained on phantoms only). ``start``: that checkpoint as
    :func:`load_init` read it."""
    return provenance([start.get("data") if start else None,
                       {"real_scans": data.real_scans, "adapted_on": list(data.adapted_on)}])


def build_model(config: TrainConfig, in_channels: int, pixel_mm: float | None = None,
                start: dict | None = None) -> torch.nn.Module:
    """The network of ``config`` with ``in_channels`` input channels (the data decide); ``pixel_mm``: the pixel size
    a data set's whole-body scans were resampled to (:attr:`TrainData.pixel_mm`), to check ``init`` against;
    ``start``: ``config.init`` as :func:`load_init` read it (read here when not given)."""
    model = create_model(config.model, **config.network_arguments(in_channels))
    if config.init:
        state = start if start is not None else load_init(config)
        try:
            model.load_state_dict(state["model"])
        except RuntimeError:
            made = state.get("model_config") or {}
            made_for = f" (they were made for {made.get('name', '?')} {_arguments(made)})" if made else ""
            raise ScintisegError(f"its weights do not fit {config.model} {_arguments(dict(model.config))}{made_for}",
                                 path=config.init) from None
        whole_body_mm = InputContract.from_state(state, config.init).pixel_mm  # None: a crop model
        if whole_body_mm and not config.synthetic and pixel_mm is None:  # a whole-body model tuned on partial views
            warnings.warn(f"{config.init}: a whole-body model (scans resampled to {whole_body_mm} mm) fine-tuned on "
                          "partial views (crops), which record no pixel size: `scintiseg predict` reads the result as "
                          "a thoracic-crop model. Whole-body scans in the data set make a whole-body run; "
                          "`scintiseg adapt` fine-tunes on a site's scans", stacklevel=2)
        elif whole_body_mm and pixel_mm is not None and abs(float(whole_body_mm) - pixel_mm) > 1e-6:
            warnings.warn(f"{config.init}: a whole-body model of {whole_body_mm} mm pixels fine-tuned at {pixel_mm:g} mm "
                          f"(--pixel-mm): its lesions and bones will look {whole_body_mm / pixel_mm:.2g} times as large "
                          "as they did", stacklevel=2)
    elif config.head_prior > 0 and config.task == "lesions":
        initialise_head_prior(model, config.head_prior)
    return model


def _arguments(model_config: dict) -> str:
    """``width=8 depth=4 ...``: a network's arguments in one line (for error messages)."""
    return " ".join(f"{k}={v}" for k, v in model_config.items() if k not in ("name", "in_channels")) or "(defaults)"


def initialise_head_prior(model: torch.nn.Module, prior: float) -> None:
    """Set the bias of the 1-channel output convolution so every pixel starts at probability ``prior``.

    The output layer is ``model.head`` when the network has one, else its last ``Conv2d`` with one output
    channel and a bias (Lin et al. 2017, RetinaNet §4.1; see ``TrainConfig.head_prior``).
    """
    head = getattr(model, "head", None)
    if not (isinstance(head, torch.nn.Conv2d) and head.out_channels == 1 and head.bias is not None):
        convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.out_channels == 1 and m.bias is not None]
        if not convs:
            raise ScintisegError(f"head_prior: {type(model).__name__} has no 1-channel output convolution with a bias")
        head = convs[-1]
    with torch.no_grad():
        head.bias.fill_(-math.log((1.0 - prior) / prior))


def freeze_normalisation(model: torch.nn.Module) -> int:
    """Put every normalisation layer with running statistics in evaluation mode (``TrainConfig.freeze_norm``).

    Returns:
        how many layers were frozen (0 for a network without such layers).
    """
    frozen = 0
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._NormBase) and module.track_running_stats:
            module.eval()
            frozen += 1
    return frozen


def freeze_modules(model: torch.nn.Module, names: list[str]) -> list[torch.nn.Module]:
    """Fix the weights of ``model``'s top-level modules called ``names`` (``TrainConfig.freeze``).

    Returns:
        the frozen modules, whose normalisation layers the loop puts back in evaluation mode each epoch.

    Raises:
        ScintisegError: a name that is not a top-level module of the network (the known ones named), or every
            trainable weight frozen.
    """
    children = dict(model.named_children())
    unknown = [name for name in names if name not in children]
    if unknown:
        raise ScintisegError(f"freeze: {type(model).__name__} has no module {', '.join(unknown)} "
                             f"(its modules: {', '.join(children)})")
    frozen = [children[name] for name in dict.fromkeys(names)]
    for module in frozen:
        module.requires_grad_(False)
    if not any(parameter.requires_grad for parameter in model.parameters()):
        raise ScintisegError(f"freeze: {', '.join(names)} leaves no weight of {type(model).__name__} to train")
    return frozen


def build_optimizer(config: TrainConfig, parameters) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(parameters, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)


def build_loss_from_config(config: TrainConfig) -> SegmentationLoss | RegionLoss:
    """The training loss a config names: :class:`~scintiseg.losses.RegionLoss` for the region network, else
    :func:`~scintiseg.losses.build_loss` with the config's loss name and options."""
    if config.task == "regions":
        return RegionLoss()
    return build_loss(
        config.loss,
        supervised=config.supervised_loss,
        alpha=config.alpha,
        area_weight=config.area_weight,
        length_weight=config.length_weight,
        alpha_rampup=config.alpha_rampup,
    )


def _autocast(config: TrainConfig, device: torch.device):
    dtype = autocast_dtype(device) if config.amp else None
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


@torch.no_grad()
def predict_probabilities(
    model: torch.nn.Module,
    images: torch.Tensor,
    batch_size: int,
    device: torch.device,
    config: TrainConfig | None = None,
) -> torch.Tensor:
    """Sigmoid probabilities ``(N, 1, H, W)`` float32 on the CPU for ``images`` ``(N, C, H, W)``."""
    model.eval()
    outputs = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size].to(device)
        if config is not None and config.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        with _autocast(config, device) if config is not None else nullcontext():
            logits = model(batch)
        outputs.append(torch.sigmoid(logits.float()).cpu())
    return torch.cat(outputs)


def validate(
    model: torch.nn.Module,
    data: SegmentationDataset,
    loss_fn: SegmentationLoss,
    config: TrainConfig,
    device: torch.device,
) -> dict[str, float]:
    """Validation loss and DSC / Recall / CPA / IoU (pooled) and DSC (per image) at ``config.threshold``.

    For ``task="regions"``: the loss and ``val_dsc`` = mean over the regions present of the pooled Dice of
    the arg-max map (the other scores are NaN: they are lesion scores).
    """
    if config.task == "regions":
        return _validate_regions(model, data, loss_fn, config, device)
    model.eval()
    losses, counts = [], []
    with torch.no_grad():
        for start in range(0, len(data), config.batch_size):
            images = data.images[start : start + config.batch_size].to(device)
            targets = data.targets[start : start + config.batch_size].to(device)
            if config.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            with _autocast(config, device):
                logits = model(images)
            loss, _ = loss_fn(logits.float(), targets, image=images)
            losses.append(float(loss) * len(images))
            predictions = (torch.sigmoid(logits.float()) > config.threshold).cpu().numpy()
            counts.append(confusion_counts(predictions, targets.cpu().numpy() > 0.5))
    summary = summarise(np.concatenate(counts))
    pooled = summary["pooled"]
    return {
        "val_loss": sum(losses) / len(data),
        "val_dsc": _finite(pooled["dsc"]),
        "val_recall": _finite(pooled["recall"]),
        "val_cpa": _finite(pooled["cpa"]),
        "val_iou": _finite(pooled["iou"]),
        "val_dsc_image": _finite(summary["per_image"]["dsc"]),
    }


def _validate_regions(model, data: SegmentationDataset, loss_fn, config: TrainConfig, device) -> dict[str, float]:
    model.eval()
    classes = len(REGION_CLASSES)
    losses, counts = [], np.zeros((classes, 3), dtype=np.int64)
    with torch.no_grad():
        for start in range(0, len(data), config.batch_size):
            images = data.images[start : start + config.batch_size].to(device)
            targets = data.targets[start : start + config.batch_size].to(device)
            with _autocast(config, device):
                logits = model(images)
            loss, _ = loss_fn(logits.float(), targets)
            losses.append(float(loss) * len(images))
            counts += class_overlap(logits.argmax(dim=1).cpu().numpy(), targets[:, 0].long().cpu().numpy(), classes)
    dice = class_dice(counts)[1:]
    nan = float("nan")
    return {"val_loss": sum(losses) / len(data), "val_dsc": _finite(float(np.nanmean(dice))), "val_recall": nan,
            "val_cpa": nan, "val_iou": nan, "val_dsc_image": nan}


def _finite(value: float) -> float:
    """NaN (no lesion and no prediction in the whole validation set) counts as 0 for model selection."""
    return 0.0 if math.isnan(value) else float(value)


def _improved(value: float, best: float | None, monitor: str) -> bool:
    if best is None:
        return True
    return value < best if monitor == "val_loss" else value > best


def _write_log(run_dir: Path, history: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LOG_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in history:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    write_text_atomic(run_dir / "log.csv", buffer.getvalue())


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    generator = torch.Generator()
    generator.manual_seed(int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0]))
    return generator


def _loader(data: SegmentationDataset, config: TrainConfig, context: DistributedContext, epoch: int) -> DataLoader:
    per_process = max(1, config.batch_size // context.world_size)
    if context.is_distributed:
        sampler = DistributedSampler(
            data, num_replicas=context.world_size, rank=context.rank, shuffle=True, seed=config.seed
        )
        sampler.set_epoch(epoch)
    else:
        sampler = RandomSampler(data, generator=_epoch_generator(config.seed, epoch))
    return DataLoader(data, batch_size=per_process, sampler=sampler, num_workers=0, drop_last=False)


def _augmenter(config: TrainConfig, epoch: int):
    """Paper B §3.2.1 flips / rotations / translations on the fly, seeded by ``(seed, epoch)`` for resumability."""
    seed = int(np.random.SeedSequence([config.seed, epoch, 7919]).generate_state(1)[0])
    return RandomGeometric(seed=seed)


def _gain_seed(config: TrainConfig, epoch: int) -> int:
    """The random gains' seed of ``epoch`` (resumable, apart from the geometric augmentation's)."""
    return int(np.random.SeedSequence([config.seed, epoch, 104729]).generate_state(1)[0])


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    data: TrainData | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> TrainResult:
    """Train ``config.model`` on ``config.data`` and write the run folder ``config.out``.

    Args:
        config: the resolved configuration.
        resume: continue from ``RUN/checkpoints/last.pt`` when it exists (a fresh start otherwise).
            Without it an existing checkpoint in ``RUN`` is an error (nothing is overwritten).
        data: preloaded datasets (tests, experiments); default: :func:`prepare_data`.
        on_batch: called as ``on_batch(epoch, batch_index)`` after every optimiser step (tests use it
            to interrupt a run mid-epoch).

    Returns:
        a :class:`TrainResult`.
    """
    if not config.out:
        raise ScintisegError("no run folder given (--out RUN)")
    config.check_network()  # again: a field set after the config was made; before anything is read or written
    run_dir = Path(config.out)
    last_path, best_path = run_dir / CHECKPOINT_DIR / LAST, run_dir / CHECKPOINT_DIR / BEST
    refuse_overwriting(run_dir, resume)
    if resume:
        refuse_a_changed_phantom(config, run_dir)
    if config.threads:
        torch.set_num_threads(config.threads)
    context = DistributedContext.from_environment(config.device)
    made = None
    if data is None and config.synthetic:  # the generator's worker process is closed with the run
        made = data = prepare_synthetic_data(config, _resume_epoch(last_path) if resume else 0)
    try:
        return _train(config, run_dir, last_path, best_path, context, resume, data, on_batch)
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM (scintiseg.cli): say where the run can go on from
        exc.add_note(stopped_note(run_dir, last_path))
        raise
    finally:
        context.close()
        if made is not None:
            made.close()


def refuse_a_changed_phantom(config: TrainConfig, run_dir: Path) -> None:
    """Refuse to resume a ``--synthetic-config`` run whose YAML now gives another phantom than the one it started
    with (kept in ``RUN/``:data:`SYNTHETIC_PHANTOM`): the rest of the run would draw from patients unlike the first."""
    kept = run_dir / SYNTHETIC_PHANTOM
    if config.synthetic_config and kept.is_file() and PhantomConfig.from_json(kept) != config.phantom_settings():
        raise ScintisegError(f"gives another phantom than the run started with ({kept}); resume with the file as it "
                             "was, or give another --out", path=config.synthetic_config)


def refuse_overwriting(run_dir: Path, resume: bool) -> None:
    """Refuse a run folder whose checkpoints the run would overwrite: one holding ``last.pt`` without ``resume``,
    and one holding ``best.pt`` with no ``last.pt`` to go on from (session 61: only ``last.pt`` was looked at, so a
    run folder whose ``last.pt`` was deleted to save space lost its ``best.pt`` to a fresh run)."""
    last, best = run_dir / CHECKPOINT_DIR / LAST, run_dir / CHECKPOINT_DIR / BEST
    if last.exists() and not resume:
        raise ScintisegError("run folder already holds a checkpoint: use --resume or another --out", path=run_dir)
    if best.exists() and not last.exists():
        raise ScintisegError(f"run folder holds {CHECKPOINT_DIR}/{BEST} and no {LAST} to resume from: a new run "
                             "would overwrite it; give another --out", path=run_dir)


def stopped_note(run_dir: Path, last_path: Path) -> str:
    """What a stopped run left: the last finished epoch and how to go on from it, or that none finished."""
    if not last_path.exists():
        return f"no epoch finished, {run_dir} holds no checkpoint"
    return (f"epoch {_resume_epoch(last_path)} was the last finished, in {last_path}: the same command with --resume "
            "goes on from it")


def diverged(loss: float, epoch: int, batch_index: int, lr: float, run_dir: Path, last_path: Path) -> ScintisegError:
    """The error of a run whose loss is no longer a number: its weights would turn NaN at the next step and every
    later epoch would train and save nothing of use, so the run stops there (what it keeps is said; a lower learning
    rate is the usual cure, and ``--resume`` would go on from the last finished epoch with the same one)."""
    kept = (f"epoch {_resume_epoch(last_path)} was the last finished, in {last_path}" if last_path.exists()
            else f"no epoch finished, {run_dir} holds no checkpoint")
    return ScintisegError(f"the training loss is {loss} at epoch {epoch + 1}, batch {batch_index + 1}: the run diverged "
                          f"(learning rate {lr:g}; try a lower --lr); {kept}")


def _resume_epoch(last_path: Path) -> int:
    """The epoch a resumed run continues with (0 without a checkpoint)."""
    if not last_path.exists():
        return 0
    return int(load_checkpoint(last_path, required=RESUME_KEYS)["epoch"])


def _train(config, run_dir, last_path, best_path, context, resume, data, on_batch) -> TrainResult:
    device = context.device
    data = data or prepare_data(config)
    # A synthetic run trains on windows of the whole body at one pixel size, and so does a data set of whole-body
    # scans (train.data, "Whole-body data sets"): prediction resamples to it and tiles the whole view.
    whole_body_mm = float(config.pixel_mm) if config.synthetic or data.pixel_mm else None
    torch.manual_seed(config.seed)
    start = load_init(config)
    model = build_model(config, data.train.in_channels, data.pixel_mm, start).to(device)
    learned = learned_from(data, start)
    del start
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    frozen = freeze_modules(model, config.freeze)
    optimizer = build_optimizer(config, [parameter for parameter in model.parameters() if parameter.requires_grad])
    loss_fn = build_loss_from_config(config)

    history: list[dict] = []
    best_epoch, best_value, wait, start_epoch = 0, None, 0, 0
    if resume and last_path.exists():
        if context.is_main:  # left by a writer killed mid-checkpoint, or mid-log (log.csv, summary.json)
            for folder in (last_path.parent, run_dir):
                remove_stale_partials(folder)
        state = load_checkpoint(last_path, map_location=device, required=RESUME_KEYS)
        mismatch = state_dict_mismatch(model.state_dict(), state["model"])
        if mismatch:  # another --model (or -m) than the run's, or another run's last.pt: torch's traceback before
            raise ScintisegError(f"its weights are not this run's {config.model} {_arguments(dict(model.config))}: "
                                 f"{mismatch}; resume with the run's own network, or give another --out", path=last_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history = list(state["history"])
        start_epoch = int(state["epoch"])
        best_epoch, best_value = int(state["best"]["epoch"]), state["best"]["value"]
        wait = int(state.get("early_stopping_wait", 0))
        torch.set_rng_state(state["rng"]["torch"].cpu())
        log.info("resuming %s after epoch %d", run_dir, start_epoch)

    if context.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        config.save_yaml(run_dir / "config.yaml")
        if config.synthetic_config:  # the phantom itself, not only the path of a file that may change
            config.phantom_settings().save_json(run_dir / SYNTHETIC_PHANTOM)
        if data.split is not None:
            split = {"train": data.split.train, "val": data.split.val, "test": data.split.test,
                     "labelled": sorted(data.split.labelled)}
            write_text_atomic(run_dir / "split.json", json.dumps(split, indent=1) + "\n")
    context.barrier()

    writer = None
    if config.tensorboard and context.is_main:
        try:
            from torch.utils.tensorboard import SummaryWriter  # lazy: start-up time, and an optional package
        except ImportError:
            raise ScintisegError("--tensorboard needs the 'tensorboard' package (pip install tensorboard)") from None
        writer = SummaryWriter(str(run_dir / "tensorboard"))

    network = context.wrap(model)
    bar = tqdm(
        total=config.epochs, initial=start_epoch, desc=f"train {config.model}", unit="epoch",
        disable=not (config.progress and context.is_main), dynamic_ncols=True,
    )
    stopped_early = start_epoch > 0 and config.early_stopping > 0 and wait >= config.early_stopping
    last_val = history[-1]["val_dsc"] if history else float("nan")
    epoch = start_epoch
    for epoch in range(start_epoch, config.epochs if not stopped_early else start_epoch):
        started = time.perf_counter()
        network.train()
        if config.freeze_norm:
            freeze_normalisation(network)
        for module in frozen:
            freeze_normalisation(module)
        loader = _loader(data.for_epoch(epoch), config, context, epoch)
        augment = _augmenter(config, epoch) if config.augment else None
        gain = RandomGain(config.gain_jitter, seed=_gain_seed(config, epoch)) if config.gain_jitter else None
        totals = {"loss": 0.0, "supervised": 0.0, "unsupervised": 0.0, "alpha": 0.0}
        seen = 0
        for batch_index, batch in enumerate(loader):
            images = batch["image"].to(device)
            targets = batch["target"].to(device)
            if augment is not None:
                images, targets = augment(images, targets)
            if gain is not None:
                images = gain(images)
            if config.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            progress = (epoch + batch_index / max(len(loader), 1)) / config.epochs
            optimizer.zero_grad(set_to_none=True)
            with _autocast(config, device):
                logits = network(images)
            loss, parts = loss_fn(logits.float(), targets, image=images, labelled=batch["labelled"], progress=progress)
            batch_loss = float(loss.detach())  # one device sync a batch, for the check, the totals and the bar
            if not math.isfinite(context.mean(batch_loss)):  # every process stops at the same batch
                raise diverged(batch_loss, epoch, batch_index, optimizer.param_groups[0]["lr"], run_dir, last_path)
            loss.backward()
            optimizer.step()
            count = len(images)
            seen += count
            totals["loss"] += batch_loss * count
            for key in ("supervised", "unsupervised", "alpha"):
                totals[key] += parts.get(key, 0.0) * count
            bar.set_postfix(loss=f"{batch_loss:.4f}", val_dsc=f"{last_val:.3f}")
            if on_batch is not None:
                on_batch(epoch, batch_index)
        train_stats = {k: context.mean(v / max(seen, 1)) for k, v in totals.items()}
        scores = validate(model, data.val, loss_fn, config, device)
        row = {
            "epoch": epoch + 1,
            "train_loss": train_stats["loss"],
            "train_supervised": train_stats["supervised"],
            "train_unsupervised": train_stats["unsupervised"],
            "alpha": train_stats["alpha"],
            **scores,
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": time.perf_counter() - started,
        }
        history.append(row)
        last_val = scores["val_dsc"]
        value = scores[config.monitor]
        improved = _improved(value, best_value, config.monitor)
        if improved:
            best_epoch, best_value, wait = epoch + 1, value, 0
        else:
            wait += 1
        state = {
            "epoch": epoch + 1,
            "model": model.state_dict(),
            "model_config": dict(getattr(model, "config", {}) or {"name": config.model}),
            "optimizer": optimizer.state_dict(),
            "config": config.to_dict(),
            # What prediction needs to build the same input (scintiseg.predict.loader reads it).
            "data": {"input_mode": config.input_mode, "normalisation": config.normalisation,
                     "window_size": int(data.train.images.shape[-1]),
                     # a whole-body model's pixel size (the checkpoint contract of predict.loader)
                     **({"pixel_mm": whole_body_mm, "window": "whole"} if whole_body_mm else {}),
                     # A region network says so, with the names of its classes (predict.regions reads them).
                     **({"task": "regions", "classes": list(REGION_CLASSES)} if config.task == "regions" else {}),
                     # real patients' scans among the training cases, a site's scans adapted to, and what the
                     # --init model learned from (predict.loader: no "phantoms only" disclaimer)
                     **learned},
            "history": history,
            "best": {"epoch": best_epoch, "value": best_value, "monitor": config.monitor},
            "early_stopping_wait": wait,
            "rng": {"torch": torch.get_rng_state()},
        }
        if context.is_main:
            if improved:
                save_checkpoint(state, best_path)
            save_checkpoint(state, last_path)
            if config.save_every and (epoch + 1) % config.save_every == 0:
                save_checkpoint(state, epoch_checkpoint_path(run_dir, epoch + 1))
            _write_log(run_dir, history)
            if writer is not None:
                for key, val in row.items():
                    if key != "epoch":
                        writer.add_scalar(key, val, epoch + 1)
        context.barrier()
        bar.update(1)
        bar.set_postfix(loss=f"{train_stats['loss']:.4f}", val_dsc=f"{last_val:.3f}")
        if config.early_stopping and wait >= config.early_stopping:
            stopped_early = True
            break
    bar.close()
    if writer is not None:
        writer.close()
    result = TrainResult(
        run_dir=run_dir,
        best_epoch=best_epoch,
        best_value=float("nan") if best_value is None else float(best_value),
        epochs_run=len(history),
        stopped_early=stopped_early,
        history=history,
        pixel_mm=whole_body_mm,
    )
    if context.is_main:
        summary = {
            "finished": True,
            "best_epoch": result.best_epoch,
            "best_value": result.best_value,
            "monitor": config.monitor,
            "epochs_run": result.epochs_run,
            "stopped_early": stopped_early,
            "world_size": context.world_size,
            "train_images": len(data.train),
            "val_images": len(data.val),
            "parameters": sum(p.numel() for p in model.parameters()),
            "seconds": sum(r["seconds"] for r in history),
        }
        write_text_atomic(run_dir / "summary.json", json.dumps(summary, indent=1) + "\n")
    context.barrier()
    return result
