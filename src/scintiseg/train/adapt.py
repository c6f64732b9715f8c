"""Site adaptation: fine-tune a trained model on a site's unlabelled scans (``scintiseg adapt``, issue 16).

The recipe (each choice with its reason; the data are :mod:`scintiseg.train.unlabelled`):

* **Start**: the given model's weights (``TrainConfig.init``); its training configuration, read from the
  checkpoint, supplies the network, normalisation, pixel size, window size and the phantom profile of the
  supervised term, so the adapted model reads scans exactly as the original did and prediction treats it
  the same way (the checkpoint records ``pixel_mm`` and ``window: whole``).
* **Loss**: paper B's ``l_S + alpha l_U`` (``loss="chan_vese"``, :class:`scintiseg.losses.SegmentationLoss`)
  with the paper's ``alpha = 0.4``, area weight ``nu = 0.004`` and length weight ``mu = 0`` (Chan & Vese's notation,
  set whatever the model was trained with; before session 63 the 0.004 weighted the length), no ramp-up (the network
  is trained already; a ramp exists to keep ``l_U`` from shaping a random network).
* **Supervised term**: phantom windows generated on the fly by the model's own recipe (its profile, e.g.
  ``randomised``, degradations on) plus any labelled cases of the site's data set (outlines, or predictions
  corrected in LabelMe). Without it ``l_U`` would pull the network towards the two-phase Chan-Vese
  partition of the image: all bright bone. ``pool_patients`` 16, half replaced each
  epoch, and 8 fixed validation patients [choice: a fine-tuning run of minutes on a
  CPU; the shipped recipe used 48 and 12].
* **Mix**: one site window per phantom window (:data:`scintiseg.train.adapt_config.SITE_SHARE`).
* **Orientation**: every scan is read as ``scintiseg predict`` reads it (:mod:`scintiseg.train.unlabelled`,
  "Read as prediction reads them"): ``scintiseg adapt`` passes the region network's judgement (``orient``), so a
  scan stored head-down teaches an upright patient, not an upside-down one; each turned scan is listed in
  ``adapt.json`` (``turned``) and warned about.
* **Hot-spot boxes** (``boxes``, optional): a reader's Pascal VOC boxes of the site's scans (BS-80K's
  ``Abnormal`` / ``Normal``) label the views they annotate, trained with the box tightness prior
  (:func:`scintiseg.losses.box_loss`) instead of outlines made from the boxes
  (:mod:`scintiseg.train.unlabelled`, "Hot-spot boxes").
* **Normal scans** (``normals``, optional; :mod:`scintiseg.train.hybrid_site`): scans the site's reports
  called free of metastases are supervised windows on real anatomy: each a negative, and each epoch the
  background of new inserted lesions (hybrid images). With them the site's share of windows is split
  half and half (:mod:`scintiseg.train.site_mix`); the unlabelled scans become optional.
* **Optimiser**: Adam at ``lr = 1e-4`` [choice: a tenth of the shipped recipe's 1e-3, the usual step down
  for fine-tuning], 8 epochs by default, the recipe's batch size and augmentation.
* **Which weights are the adapted model**: ``best.pt`` is the epoch with the lowest loss on the *phantom*
  validation windows (``monitor="val_loss"``), the drift guard: a site's unlabelled scans have no truth to
  choose on, so of the adapted epochs it keeps the one that lost least where the truth is known. [Choice:
  the loss, not the DSC: on a few validation patients the DSC at 0.5 is often flat (0 in the first
  measurement, docs/results.md), so every epoch would tie with the first; the loss moves continuously.]
  Every epoch has seen site windows, so it is always an adapted model; ``last.pt`` is the last epoch.
  With normal scans, hybrid windows of them (fixed lesions) join the validation windows, so the site's own
  truth chooses the epoch too: of held-out patients when there are at least five
  (:func:`scintiseg.train.hybrid_site.split_normals`), else of the training scans with lesions the run never
  trains on (the same backgrounds: it rewards fitting the site, and the phantom windows guard the drift).
  ``scintiseg predict --model RUN`` uses ``best.pt``.
* **The test split** (session 50): a data set's test patients are left out of adaptation whole, image and
  outline (:func:`held_out_cases`), as ``scintiseg train`` leaves them out, so ``scintiseg evaluate --split test``
  (of the adapted run, or of its predictions) measures scans the adapted model never saw. The split is the data
  set's ``splits.json``; a data set without one that holds a person's outlines gets one made as ``train`` makes it
  (:func:`scintiseg.train.data.training_splits`: a fifth of the patients a person outlined, seeded, saved and said).
  [Choice: the test cases' images are left out too, not only their outlines: the Chan-Vese term would otherwise
  fit the network to the very images it is then scored on (transductive adaptation), and a published measurement
  would carry that advantage unsaid. A data set of unlabelled scans only has nothing to measure, so nothing is held
  out unless it has a split.] ``include_test`` (``--include-test``) adapts on every case, for a department that
  measures elsewhere; ``adapt.json`` records which cases were left out (``test_split``).

* **The check after adapting** (session 72): :func:`adapt` returns the held-out normal scans with the run
  (:class:`AdaptResult`), and ``scintiseg adapt`` has the model it started from and the adapted one read them and
  copies with inserted lesions (:mod:`scintiseg.experiments.site_check`, which may import prediction; this module may
  not).

What the site folder held and what was used is written to ``RUN/adapt.json`` (atomically) beside the
usual run files (:mod:`scintiseg.train.loop`).

Example::

    result = adapt("runs/shipped/checkpoints/best.pt", "data/site", "runs/site", epochs=8)
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path

import torch

from scintiseg.errors import ScintisegError
from scintiseg.formats import InputContract
from scintiseg.io.atomic import write_text_atomic
from scintiseg.io.dataset import MANIFEST_NAME, SPLITS_NAME, load_manifest, load_splits, person_views
from scintiseg.io.voc import read_voc_folders
from scintiseg.losses import PAPER_B_AREA_WEIGHT, PAPER_B_LENGTH_WEIGHT
from scintiseg.models.checkpoint import CHECKPOINT_DIR, LAST, checkpoint_path, load_checkpoint
from scintiseg.phantom.hybrid import HybridSource
from scintiseg.train.adapt_config import FALLBACK_PROFILE, AdaptSettings
from scintiseg.train.config import TrainConfig
from scintiseg.train.loop import TrainData, TrainResult, prepare_synthetic_data, refuse_overwriting, train
from scintiseg.train.data import SegmentationDataset, training_splits
from scintiseg.train.hybrid_site import Regions, read_normals, split_normals, validation_windows
from scintiseg.train.site_mix import MixedPool
from scintiseg.train.unlabelled import ROWS_REVERSED, Orient, read_site


def model_checkpoint(model: str | Path) -> Path:
    """The ``.pt`` file of ``model``: the file itself, or a run folder's ``best.pt`` (else ``last.pt``)."""
    path = Path(model)
    if path.is_dir():
        for which in ("best", "last"):
            if checkpoint_path(path, which).is_file():
                return checkpoint_path(path, which)
        raise ScintisegError("no checkpoints/best.pt or last.pt in this run folder", path=path)
    if not path.is_file():
        raise ScintisegError("no such model file or run folder", path=path)
    return path


def held_out_cases(site: str | Path | None, seed: int) -> tuple[list[str], str]:
    """The cases of the data set ``site`` that adaptation leaves out: its test split (module docstring).

    Returns:
        ``(case ids, where the split came from)``: ``splits.json`` (the data set's), ``made`` (a data set with a
        person's outlines and no split: one made and saved by :func:`scintiseg.train.data.training_splits`, which
        warns), or ``""`` with no case (a plain folder of scans, or a data set of unlabelled scans without a split).

    Raises:
        ScintisegError: an unreadable ``dataset.json`` or ``splits.json``.
    """
    if site is None or not (Path(site) / MANIFEST_NAME).is_file():
        return [], ""
    root = Path(site)
    if (root / SPLITS_NAME).is_file():
        return list(load_splits(root)["test"]), SPLITS_NAME
    if not any(person_views(case) for case in load_manifest(root).cases):
        return [], ""
    return list(training_splits(root, seed)["test"]), "made"


def adaptation_config(model: str | Path, out: str | Path, settings: AdaptSettings) -> TrainConfig:
    """The :class:`TrainConfig` of an adaptation run: the model's own recipe, fine-tuned (module docstring).

    Raises:
        ScintisegError: an unreadable checkpoint, or one whose network does not read single views
            (``input_mode`` other than ``ant``: site windows are single views).
    """
    path = model_checkpoint(model)
    state = load_checkpoint(path, map_location="cpu", required=("model", "config"))
    recorded = dict(state["config"]) if isinstance(state.get("config"), dict) else {}
    known = {k: v for k, v in recorded.items() if k in TrainConfig.__dataclass_fields__}
    base = TrainConfig.from_dict(known)
    # what the network reads, as prediction reads it (a crop model records no pixel size: the recipe's is kept)
    data = InputContract.from_state(state, path)
    if base.input_mode != "ant" or data.input_mode != "ant":
        raise ScintisegError(f"adaptation needs a single-view model (input_mode ant), this one reads "
                             f"{base.input_mode}", path=path)
    if getattr(base, "task", "lesions") != "lesions":
        raise ScintisegError("adaptation is for lesion models, not the region network", path=path)
    profile_name = settings.synthetic or base.synthetic or FALLBACK_PROFILE
    config = base.updated({
        "data": "", "out": str(out), "init": str(path), "loss": "chan_vese", "alpha": settings.alpha,
        "alpha_rampup": 0.0, "area_weight": PAPER_B_AREA_WEIGHT, "length_weight": PAPER_B_LENGTH_WEIGHT,
        "epochs": settings.epochs, "lr": settings.lr, "synthetic": profile_name, "synthetic_config": "",
        "pool_patients": settings.pool_patients, "refresh": 0.5, "val_patients": settings.val_patients,
        "seed": settings.seed, "threads": settings.threads, "generator_workers": settings.generator_workers,
        "device": settings.device, "progress": settings.progress, "freeze_norm": settings.freeze_norm,
        "early_stopping": 0, "monitor": "val_loss",
        "tensorboard": False, "pixel_mm": data.pixel_mm if data.pixel_mm is not None else base.pixel_mm,
        # the window the network was trained on: its data record's, else its recipe's (else the default)
        "window_size": data.window_size if "window_size" in data.recorded else base.window_size,
        "normalisation": data.normalisation,
    })
    config.validate()
    return config


@dataclass
class AdaptResult(TrainResult):
    """What :func:`adapt` returns: the run's :class:`~scintiseg.train.loop.TrainResult`, and the normal scans of the
    patients held out of training (``(case id, prepared scan)``; empty without ``--normals`` of five patients or more),
    which the check after adapting reads (:mod:`scintiseg.experiments.site_check`)."""

    held_out_normals: list[tuple[str, HybridSource]] = field(default_factory=list)


def adapt(model: str | Path, site: str | Path | None, out: str | Path, settings: AdaptSettings | None = None, *,
          resume: bool = False, orient: Orient | None = None,
          regions: Regions | None = None) -> AdaptResult:
    """Fine-tune ``model`` on the scans in ``site`` (module docstring) and write the run folder ``out``.

    Args:
        model: a ``.pt`` checkpoint or a run folder.
        site: a folder of scans (DICOM, 16-bit PNG/TIFF, ...) or a data set (``dataset import`` output); None
            when ``settings.normals`` names the site's normal scans instead.
        out: the run folder.
        settings: what to change (defaults: :class:`AdaptSettings`).
        resume: continue an interrupted adaptation from ``out/checkpoints/last.pt``.
        orient: reads a scan upright as prediction does (:func:`scintiseg.predict.pipeline.read_upright` with the
            region network; ``scintiseg adapt`` passes it): scans stored head-down are then trained turned.
        regions: the skeleton-region maps of a scan (:func:`scintiseg.predict.pipeline.region_labeller`; ``scintiseg
            adapt`` passes it): with ``settings.placement`` ``sites`` (the default), lesions inserted into the normal
            scans are then placed by metastatic site (:mod:`scintiseg.train.hybrid_site`); without it, or with
            ``uniform``, uniformly on the skeleton away from every hot spot.

    Returns:
        the run's :class:`AdaptResult` (its :class:`~scintiseg.train.loop.TrainResult` and the held-out normal scans).

    Raises:
        ScintisegError: a missing model or site folder, a site folder with no readable scan, neither site
            scans nor normal scans, a run folder that already holds a checkpoint (without ``resume``), an
            unreadable box annotation, or boxes that annotate none of the site's scans.
    """
    settings = settings or AdaptSettings()
    if not 0.0 <= settings.share < 1.0:
        raise ScintisegError(f"--share must lie in [0, 1), got {settings.share}")
    if site is None and not settings.normals:
        raise ScintisegError("give the site's scans (--unlabelled DIR), its normal scans (--normals DIR), or both")
    if settings.boxes and site is None:
        raise ScintisegError("--boxes labels the scans of --unlabelled DIR: give them")
    annotations = read_voc_folders(list(settings.boxes)) if settings.boxes else None  # a bad file fails here, first
    config = adaptation_config(model, out, settings)
    last = Path(out) / CHECKPOINT_DIR / LAST
    refuse_overwriting(Path(out), resume)
    if resume and last.exists() and not (Path(out) / "adapt.json").is_file():  # a `train` run's folder (session 61:
        # resumed as an adaptation, its best.pt kept the unadapted weights and its log mixed two runs)
        raise ScintisegError("is not an adaptation run (no adapt.json): --resume goes on with an interrupted "
                             "`scintiseg adapt`; give another --out", path=out)
    if config.threads:
        torch.set_num_threads(config.threads)
    test_cases, split_from = held_out_cases(site, config.seed)
    if test_cases and settings.include_test:
        warnings.warn(f"{site}: adapting on its test split too (--include-test): `scintiseg evaluate --split test` on "
                      "this data set no longer measures scans the adapted model never saw", stacklevel=2)
    elif test_cases:
        count = f"{len(test_cases)} case{'s' * (len(test_cases) != 1)}"
        warnings.warn(f"{site}: its test split ({count}) left out of adaptation, so `scintiseg evaluate --split test` "
                      "measures scans the adapted model never saw (--include-test uses them)", stacklevel=2)
    left_out = [] if settings.include_test else test_cases
    scans = (None if site is None else
             read_site(site, pixel_mm=config.pixel_mm, normalisation=config.normalisation, progress=config.progress,
                       boxes=annotations, orient=orient, leave_out=left_out))
    if annotations is not None and not scans.boxed_views:
        unused = (f"; {len(scans.box_notes)} found and not used, e.g. {scans.box_notes[0][0]}: {scans.box_notes[0][1]}"
                  if scans.box_notes else "")
        raise ScintisegError(f"no scan here has a usable box annotation in {', '.join(map(str, settings.boxes))} "
                             f"(matched by file name or stem, as predict --boxes does{unused})", path=site)
    for path, reason in scans.box_notes if scans else []:
        warnings.warn(f"{path}: {reason}", stacklevel=2)
    # a data set of normal scans with a test split (its splits.json; none is made for it): left out as the site's
    normals_test = (list(load_splits(settings.normals)["test"]) if settings.normals
                    and (Path(settings.normals) / SPLITS_NAME).is_file() else [])
    if normals_test and not settings.include_test:
        warnings.warn(f"{settings.normals}: its test split ({len(normals_test)} case{'s' * (len(normals_test) != 1)}) "
                      "left out of adaptation (--include-test uses them)", stacklevel=2)
    normals = (read_normals(settings.normals, pixel_mm=config.pixel_mm, normalisation=config.normalisation,
                            progress=config.progress, orient=orient,
                            regions=regions if settings.placement == "sites" else None,
                            leave_out=[] if settings.include_test else normals_test) if settings.normals else None)
    train_normals, held_out = split_normals(normals, config.seed) if normals else (None, None)
    for path, reason in [*(scans.skipped if scans else []), *(normals.skipped if normals else [])]:
        warnings.warn(f"{path}: skipped: {reason}", stacklevel=2)
    for path, how in [*(scans.turned if scans else []), *(normals.turned if normals else [])]:
        warnings.warn(f"{path}: stored {'head-down' if how == ROWS_REVERSED else 'lying, stood the wrong way'}: read "
                      "turned, as predict reads it", stacklevel=2)
    start = int(load_checkpoint(last, required=("epoch",))["epoch"]) if resume and last.exists() else 0
    phantom = prepare_synthetic_data(config, start)
    try:
        mixed = MixedPool(phantom.pool, scans, settings.share, config.seed, train_normals)
        val = phantom.val
        if normals is not None:
            site_val = validation_windows(held_out or train_normals, len(val), window_size=config.window_size,
                                          seed=config.seed)
            val = SegmentationDataset(list(val.samples) + site_val)
        # what the reports say it learned from (scintiseg.predict.loader): the site's folders, and real patients'
        # scans where a data set's manifest says so (a plain folder's files carry no such mark), of the site's scans
        # or of its normal ones (session 63: before, a data set's real normal scans were not counted)
        data = TrainData(mixed.mix(phantom.train, start), val, None, mixed, first_epoch=start,
                         real_scans=bool((scans and scans.real) or (normals and normals.real)),
                         adapted_on=tuple(str(f) for f in (site, settings.normals) if f))
    except BaseException:
        phantom.close()
        raise
    record = {
        "model": str(config.init), "site": None if site is None else str(site), "share": settings.share,
        "alpha": settings.alpha,
        "site_views": {"unlabelled": scans.unlabelled_views if scans else 0, "labelled": scans.labelled_views if scans else 0,
                       "pseudo": scans.pseudo_views if scans else 0, "boxed": scans.boxed_views if scans else 0},
        "boxes": list(map(str, settings.boxes)),
        "test_split": {"from": split_from or None, "cases": test_cases, "left_out": left_out,
                       "include_test": settings.include_test},
        "turned": [{"path": p, "how": h} for p, h in [*(scans.turned if scans else []), *(normals.turned if normals else [])]],
        "normals": {"folder": settings.normals, "scans": len(normals.sources), "views": normals.views,
                    "held_out_scans": len(held_out.sources) if held_out else 0,
                    "validation": ("held-out patients" if held_out else "the training scans, new lesions"),
                    "lesions_placed": ("by metastatic site on the learned region map, a long bone's at its proximal end"
                                       if normals.by_site else
                                       "uniformly on the estimated skeleton, away from its hot spots")}
        if normals else None,
        "skipped": [{"path": p, "reason": r} for p, r in [*(scans.skipped if scans else []),
                                                          *(normals.skipped if normals else [])]],
        "phantom_profile": config.synthetic, "pixel_mm": config.pixel_mm, "normalisation": config.normalisation,
        "real_scans": data.real_scans,  # a data set's case not marked synthetic was read (the loader's disclaimer)
    }
    Path(out).mkdir(parents=True, exist_ok=True)
    write_text_atomic(Path(out) / "adapt.json", json.dumps(record, indent=1) + "\n")
    try:
        result = train(config, resume=resume, data=data)
    finally:
        data.close()
    return AdaptResult(**{f.name: getattr(result, f.name) for f in fields(result)},
                       held_out_normals=list(held_out.sources) if held_out else [])
