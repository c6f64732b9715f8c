"""What the demo does: :class:`DemoSettings`, the two networks it compares, the torch-thread policy and
the real scan it predicts on.

The real scan's default is looked up relative to the repository that holds this package (found from
this file's own location), never relative to the working directory, so ``scintiseg demo`` finds it from
any folder; a path given on the command line (``--real PATH``) is taken as given, like every other path.
"""

from __future__ import annotations

import math
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from scintiseg.config import Config, option, path_text
from scintiseg.errors import ScintisegError

#: The real scan the demo predicts on by default, relative to the repository that holds the package.
DEFAULT_REAL_SCAN = "../shared/data/real/nema-wg04-nm1-wholebody.dcm"
#: The study UIDs of NEMA WG04's NM1 (the repository's copies: uncompressed and RLE lossless). A scan is described
#: as NM1 only when it is one of them: a file made from NM1 (a follow-up written by the demo, a copy re-encoded by
#: another tool) carries NM1's patient name but a study of its own.
NM1_STUDY_UIDS: frozenset[str] = frozenset({
    "1.3.6.1.4.1.5962.1.2.8.20040826185059.5457",
    "1.3.6.1.4.1.5962.1.2.8.20031208063649.855",
})
#: The training recipes: ``synthetic`` (issue 13, the default: phantom patients made on the fly from the
#: domain-randomised profile, windows of the whole body) and ``crops`` (the demo before issue 13: thoracic
#: crops of the demo's own phantom cohort).
RECIPES: tuple[str, ...] = ("synthetic", "crops")
#: Per recipe, the defaults of the settings left None (``DemoSettings.__post_init__``; reasons there).
RECIPE_DEFAULTS: dict[str, dict[str, int]] = {
    "synthetic": {"patients": 20, "epochs": 24},
    "crops": {"patients": 100, "epochs": 40},
}
#: Epochs of each network in the default demo (the ``synthetic`` recipe).
DEFAULT_EPOCHS = RECIPE_DEFAULTS["synthetic"]["epochs"]
#: The two networks the demo compares: paper A's full model and its max-pooling U-Net baseline.
DEMO_MODELS: dict[str, tuple[str, dict]] = {
    "dpunet": ("dpunet", {"pooling": "fusion", "dac": "dac2", "rmp": True}),
    "unet": ("unet", {"pooling": "max"}),
}
#: What each network is called in the report, and its row in paper A Table 2.
MODEL_TITLES: dict[str, str] = {
    "dpunet": "DPU-Net (fusion + DAC_2 + RMP)",
    "unet": "U-Net, max pooling",
}
PAPER_A_ROWS: dict[str, str] = {"dpunet": "Fusion + DAC_2 + RMP", "unet": "U-Net, max pooling"}
#: What a sentence or a table's column calls each network.
MODEL_SHORT_TITLES: dict[str, str] = {"dpunet": "DPU-Net", "unet": "U-Net"}


@dataclass
class DemoSettings(Config):
    """Everything the demo does; each field is a ``scintiseg demo`` flag (``--real`` sets ``real_scan``), and
    :meth:`validate`'s messages name the flags.

    Two training recipes (``recipe``):

    * ``synthetic`` (default; issue 13, the shipped model's recipe of ``scripts/train_shipped_model.sh`` at a
      demo's scale): both networks train on phantom patients made on the fly from the domain-randomised
      profile ``train_profile`` (:mod:`scintiseg.train.synthetic`), resampled to ``pixel_mm``, degraded like
      real archives, normalised with ``robust`` and cut into randomly placed ``size`` x ``size`` windows of
      the whole body. The demo's own phantom cohort (default profile) is then test data only: all of its
      ``patients`` are the held-out test set, and prediction tiles the whole view.
    * ``crops`` (the demo before issue 13): thoracic crops of the cohort, ``test_fraction`` of its patients
      held out for test, the rest for training and validation; input counts / body p99; prediction sees the
      thoracic window only.

    Default budget of the ``synthetic`` recipe, chosen to fit about 10 minutes on 2 idle cores (figures from
    the 2-core development machine: a training step of the width-8 DPU-Net at batch 8 and 256 x 256 takes
    0.5-1 s, the old demo measured 0.8 s per step with its validation, the U-Net about 0.67 s; one
    ``randomised`` patient takes about 0.5 s to generate on one core)::

        windows per epoch  = pool_patients x 2 views x windows_per_view = 16 x 2 x 2 = 64 -> 8 steps of batch 8
        steps per network  = 24 epochs x 8 = 192 (the old demo: 320 steps on 64 fixed crops)
        training           = 192 x 0.8 s = 154 s (DPU-Net), 192 x 0.67 s = 129 s (U-Net)
        generation up front = (val_patients + pool_patients) x 0.5 s = (6 + 16) x 0.5 s = 11 s per network
        generation beside   = 23 epochs x ceil(0.25 x 16) = 92 new patients x 0.5 s = 46 core-s, which
                              takes about 23 s from training's two cores
        per network         = about 188 s (DPU-Net) and 163 s (U-Net): 351 s for both
        test cohort         = 20 default patients (about 0.35 core-s each: 4 s on 2 cores), crops 1 s,
                              evaluation 3 s, whole-view prediction of 2 scans about 10 s, report and imports 15 s
        total               = about 385 s (6.5 minutes); at 1 s per step (the slow end) about 8 minutes
                              (at 32 epochs, the default before the measurement below: about 500 s, and
                              10.5 minutes at 1 s per step)

    Measured instead (2026-11-29, 32 epochs, one torch thread, the automatic choice on a machine busy at the
    start): 805 s, of which DPU-Net 444 s (13.9 s per epoch) and U-Net 343 s (10.7 s). The default is
    therefore 24 epochs: 24 x (13.9 + 10.7) = 590 s of training, about 610 s (10 minutes) in all.

    At 24 epochs each network thus sees 16 + 23 x 4 = 108 distinct training patients (432 windows), against 64 crops in
    the ``crops`` recipe. ``refresh`` 0.25 rather than the shipped recipe's 0.5: each patient's four windows
    stay for four epochs (seen under new random flips and rotations each time), which halves generation and
    buys about 35 more optimiser steps per network in the same time. 20 test patients: the old demo's test
    set (comparable numbers) at a fifth of its cohort, as nobody is trained on the cohort any more.

    Args:
        out: output folder.
        recipe: ``synthetic`` or ``crops`` (see above).
        patients: phantom patients generated (default profile). ``synthetic``: all of them are test
            patients; ``crops``: ``test_fraction`` of them are. None: 20 (``synthetic``) or 100 (``crops``).
        epochs: training epochs of each network. None: 24 (``synthetic``) or 40 (``crops``).
        size: side of the square model input in pixels: the thoracic crop, and the training window of the
            ``synthetic`` recipe.
        width: base channel width of both networks (None: the registry's ``default`` preset, 16).
        depth: encoder depth (None: the preset's 4).
        batch_size: images per optimiser step.
        lr: Adam learning rate.
        head_prior: initial lesion probability of the output layer (``TrainConfig.head_prior``).
        augment: on-the-fly flips, rotations and translations (paper B §3.2.1) while training.
        test_fraction: ``crops`` recipe: share of patients held out for the test metrics.
        train_profile: ``synthetic`` recipe: the phantom profile training patients are made from
            (``randomised``; ``small`` makes the test suite's tiny demo fast).
        pixel_mm: ``synthetic`` recipe: the model's pixel size (recorded in the checkpoint; prediction
            resamples every scan to it). 2.26 mm is the phantom's and NM1's own.
        pool_patients: ``synthetic`` recipe: patients whose windows make one epoch.
        refresh: ``synthetic`` recipe: share of the pool replaced by new patients before each epoch.
        windows_per_view: ``synthetic`` recipe: training windows cut from each view of a patient.
        val_patients: ``synthetic`` recipe: generated validation patients (fixed; they pick the best epoch).
        generator_workers: ``synthetic`` recipe: processes generating patients while the network trains
            (0: between epochs, in the training process). Not in :meth:`fingerprint`: patient ``i`` is the
            same whichever process makes it.
        seed: phantom cohort, split and training seed.
        real_scan: a real whole-body scan to predict on, as given (relative paths to the working
            directory); None: :data:`DEFAULT_REAL_SCAN` relative to the repository that holds the
            package; '': none.
        workers: processes for phantom generation and cropping (None: all CPUs).
        threads: torch threads for training and prediction; 0: PyTorch's default (all cores); None:
            automatic, one thread when the machine was already busy when the demo started (1-minute load
            average at least 3/4 of the CPUs), else PyTorch's default. Measured on the 2-core development
            machine at load 6: a DPU-Net training step took 0.28 s per image with one thread and 0.9-1.3 s
            with two (two threads wait on each other when other jobs hold the cores).
        progress: progress bars on stderr.
    """

    kind: ClassVar[str] = "demo settings"
    said_as_flags: ClassVar[bool] = True

    out: str = option("runs/demo", parse=path_text, help="output folder")
    recipe: str = option(
        "synthetic", choices=RECIPES,
        help="training recipe: 'synthetic' (issue 13: phantom patients made on the fly, whole-body windows) or "
             "'crops' (thoracic crops of the cohort, the demo before issue 13)")
    patients: int | None = option(
        None, help="phantom cohort patients",
        default_help=f"{RECIPE_DEFAULTS['synthetic']['patients']}, all test patients; --recipe crops: "
                     f"{RECIPE_DEFAULTS['crops']['patients']}, of which --test-fraction are test")
    epochs: int | None = option(
        None, help="epochs per network",
        default_help=f"{RECIPE_DEFAULTS['synthetic']['epochs']}; --recipe crops: {RECIPE_DEFAULTS['crops']['epochs']}")
    size: int = option(256, help="model input: thoracic crop and training window size")
    width: int | None = option(8, help="network base width; the registry's CPU preset is 16")
    depth: int | None = option(None, help="network depth", default_help="the preset, 4")
    batch_size: int = option(8, help="batch size")
    lr: float = option(1e-3, help="Adam learning rate")
    head_prior: float = option(0.01, help="initial lesion probability of the output layer; 0: PyTorch's init")
    augment: bool = option(True, help="on-the-fly flips, rotations and translations while training")
    test_fraction: float = option(0.2, help="--recipe crops: share of patients held out for test")
    train_profile: str = option(
        "randomised", help="synthetic recipe: phantom profile of the training patients; 'small' for smoke runs")
    pixel_mm: float = option(2.26, help="synthetic recipe: the model's pixel size in mm")
    pool_patients: int = option(16, help="synthetic recipe: generated patients per epoch")
    refresh: float = option(0.25, help="synthetic recipe: share of the pool replaced before each epoch")
    windows_per_view: int = option(2, help="synthetic recipe: training windows per view")
    val_patients: int = option(6, help="synthetic recipe: generated validation patients")
    generator_workers: int = option(
        1, help="synthetic recipe: processes generating patients beside training; 0: between epochs")
    seed: int = option(0, help="cohort, split and training seed")
    real_scan: str | None = option(
        None, flags=("--real",), help="real whole-body scan to predict on",
        default_help=f"{DEFAULT_REAL_SCAN}, relative to the repository; a missing scan is skipped")
    workers: int | None = option(None, help="processes for phantom and crop", default_help="all CPUs")
    threads: int | None = option(
        None, help="torch threads for training; 0: PyTorch's",
        default_help="1 when the machine is busy, else PyTorch's")
    progress: bool = option(True, help="progress bars on stderr")

    def __post_init__(self) -> None:
        defaults = RECIPE_DEFAULTS.get(self.recipe, RECIPE_DEFAULTS["synthetic"])
        if self.patients is None:
            self.patients = defaults["patients"]
        if self.epochs is None:
            self.epochs = defaults["epochs"]
        super().__post_init__()

    @property
    def synthetic(self) -> bool:
        """Whether the networks train on phantom patients made on the fly (the ``synthetic`` recipe)."""
        return self.recipe == "synthetic"

    def validate(self) -> None:
        """Raise :class:`~scintiseg.errors.ScintisegError` for settings no demo can run with: those of every typed
        configuration (:meth:`Config.validate`: the recipe one of :data:`RECIPES`, no NaN or infinite number, the
        seed), then the demo's own. Runs when the settings are made."""
        super().validate()
        if self.synthetic and self.patients < 1:
            raise ScintisegError(f"--patients must be at least 1 (the test patients), got {self.patients}")
        if not self.synthetic and self.patients < 5:
            raise ScintisegError(f"--patients must be at least 5 (train, validation and test need patients), got {self.patients}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ScintisegError("--epochs, --batch-size and --lr must be positive")
        if self.size < 80 or self.size % 16:
            raise ScintisegError(f"--size must be a multiple of 16 and at least 80 (RMP pools need it), got {self.size}")
        if not self.synthetic and not 0.0 < self.test_fraction < 0.5:
            raise ScintisegError(f"--test-fraction must lie in (0, 0.5), got {self.test_fraction}")
        if self.synthetic:
            from scintiseg.phantom.config import profile_names  # lazy: start-up time (the phantom package loads its generator)

            checks = [("--pool-patients", self.pool_patients >= 1), ("--refresh", 0.0 <= self.refresh <= 1.0),
                      ("--windows-per-view", self.windows_per_view >= 1), ("--val-patients", self.val_patients >= 1),
                      ("--pixel-mm", 0.2 <= self.pixel_mm <= 10.0), ("--generator-workers", self.generator_workers >= 0)]
            for flag, ok in checks:
                if not ok:
                    raise ScintisegError(f"{flag} has an impossible value: {getattr(self, flag[2:].replace('-', '_'))!r}")
            if self.train_profile not in profile_names():
                raise ScintisegError(f"--train-profile must be one of {', '.join(profile_names())}, got {self.train_profile!r}")

    def fingerprint(self) -> dict:
        """The settings that decide the data and the models (a resumed demo must match them)."""
        keys = ["recipe", "patients", "epochs", "size", "width", "depth", "batch_size", "lr", "head_prior", "augment", "seed"]
        keys += (["train_profile", "pixel_mm", "pool_patients", "refresh", "windows_per_view", "val_patients"]
                 if self.synthetic else ["test_fraction"])
        return {key: getattr(self, key) for key in keys}

    def command(self) -> str:
        """The ``scintiseg demo`` command that makes this demo again into the same folder: ``--out``, every
        :meth:`fingerprint` setting that differs from its default (a folder made with other settings is refused, so
        a bare ``--out`` repeats only a default demo) and the ``--real`` scan when one was given."""
        defaults = DemoSettings(recipe=self.recipe)  # the recipe's own patients and epochs
        words = ["scintiseg", "demo", "--out", str(self.out)]
        for key, value in self.fingerprint().items():
            if value == getattr(DemoSettings() if key == "recipe" else defaults, key):
                continue
            flag = "--" + key.replace("_", "-")
            if isinstance(value, bool):
                words.append(flag if value else f"--no-{flag[2:]}")
            elif value is not None:  # width and depth None: the preset's, which no flag but the default gives
                words += [flag, repr(value) if isinstance(value, float) else str(value)]
        if self.real_scan is not None:
            words += ["--real", self.real_scan]
        return shlex.join(words)

    def training_patients(self) -> int:
        """Distinct generated patients each network trains on (``synthetic``): the first pool and the refreshes."""
        return self.pool_patients + (self.epochs - 1) * math.ceil(self.refresh * self.pool_patients)


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask where the platform has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def load_average() -> list[float]:
    """The 1, 5 and 15-minute load averages, rounded; empty where the platform has none."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def training_threads(settings: DemoSettings, load: list[float] | None = None) -> int:
    """``settings.threads``, or the automatic choice described in :class:`DemoSettings`.

    ``load`` is the load average when the demo started: measured later, it would count the demo's own
    phantom processes and always pick one thread.
    """
    if settings.threads is not None:
        return settings.threads
    load = load or load_average()
    return 1 if load and load[0] >= 0.75 * cpu_count() else 0


def repository_root() -> Path | None:
    """The source checkout that holds this package: the nearest folder above it with a ``pyproject.toml``.

    None when the package is installed outside any checkout.
    """
    for folder in Path(__file__).resolve().parents:
        if (folder / "pyproject.toml").is_file():
            return folder
    return None


def resolve_real_scan(path: str | None) -> tuple[Path | None, str]:
    """The real scan to predict on, or None and why it is skipped (one line for the console and report).

    Args:
        path: as :attr:`DemoSettings.real_scan`: a path as given, None for the repository's copy
            (:data:`DEFAULT_REAL_SCAN` relative to :func:`repository_root`, whatever the working
            directory), '' for none.

    Returns:
        ``(scan_path, "")`` when the file exists, else ``(None, message)``.
    """
    if path == "":
        return None, "no --real scan given"
    if path is not None:
        candidate = Path(path)
        if candidate.is_file():
            return candidate, ""
        return None, (f"real scan not found at {path!r} (pass --real PATH; the repository's copy is "
                      f"{DEFAULT_REAL_SCAN} relative to the repository)")
    root = repository_root()
    if root is None:
        return None, (f"the default real scan ({DEFAULT_REAL_SCAN}) lies relative to the repository, and this "
                      "scintiseg is installed outside one; pass --real PATH")
    candidate = (root / DEFAULT_REAL_SCAN).resolve()
    if candidate.is_file():
        return candidate, ""
    return None, (f"real scan not found at {str(candidate)!r} (the default, {DEFAULT_REAL_SCAN} relative to the "
                  f"repository {root}); pass --real PATH")
