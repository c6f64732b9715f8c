"""What the demo does: :class:`DemoSettings`, the two networks it compares, the torch-thread policy and
the real scan it predicts on.

The real scan's default is looked up relative to the repository that holds this package (found from
this file's own location), never relative to the working directory, so ``scintiseg demo`` finds it from
any folder; a path given on the command line (``--real PATH``) is taken as given, like every other path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from scintiseg.errors import ScintisegError

#: The real scan the demo predicts on by default, relative to the repository that holds the package.
DEFAULT_REAL_SCAN = "../shared/data/real/nema-wg04-nm1-wholebody.dcm"
#: Epochs of each network in the default demo (chosen to fit about 15 minutes on 2 cores).
DEFAULT_EPOCHS = 40
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


@dataclass
class DemoSettings:
    """Everything the demo does; each field is a ``scintiseg demo`` flag.

    Args:
        out: output folder.
        patients: phantom patients generated (the test split holds ``test_fraction`` of them).
        epochs: training epochs of each network.
        size: side of the square thoracic crop in pixels (the model's input).
        width: base channel width of both networks (None: the registry's ``default`` preset, 16).
        depth: encoder depth (None: the preset's 4).
        batch_size: images per optimiser step.
        lr: Adam learning rate.
        head_prior: initial lesion probability of the output layer (``TrainConfig.head_prior``).
        augment: on-the-fly flips, rotations and translations (paper B §3.2.1) while training.
        test_fraction: share of patients held out for the test metrics.
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

    out: str = "runs/demo"
    patients: int = 100
    epochs: int = DEFAULT_EPOCHS
    size: int = 256
    width: int | None = 8
    depth: int | None = None
    batch_size: int = 8
    lr: float = 1e-3
    head_prior: float = 0.01
    augment: bool = True
    test_fraction: float = 0.2
    seed: int = 0
    real_scan: str | None = None
    workers: int | None = None
    threads: int | None = None
    progress: bool = True

    def validate(self) -> None:
        """Raise :class:`~scintiseg.errors.ScintisegError` for settings no demo can run with."""
        if self.patients < 5:
            raise ScintisegError(f"--patients must be at least 5 (train, validation and test need patients), got {self.patients}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ScintisegError("--epochs, --batch-size and --lr must be positive")
        if self.size < 80 or self.size % 16:
            raise ScintisegError(f"--size must be a multiple of 16 and at least 80 (RMP pools need it), got {self.size}")
        if not 0.0 < self.test_fraction < 0.5:
            raise ScintisegError(f"--test-fraction must lie in (0, 0.5), got {self.test_fraction}")

    def fingerprint(self) -> dict:
        """The settings that decide the data and the models (a resumed demo must match them)."""
        keys = ("patients", "epochs", "size", "width", "depth", "batch_size", "lr", "head_prior", "augment", "test_fraction", "seed")
        return {key: getattr(self, key) for key in keys}


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
                      "scintiseg is installed outside one; pass --real PATH, or --real '' to skip it")
    candidate = (root / DEFAULT_REAL_SCAN).resolve()
    if candidate.is_file():
        return candidate, ""
    return None, (f"real scan not found at {str(candidate)!r} (the default, {DEFAULT_REAL_SCAN} relative to the "
                  f"repository {root}); pass --real PATH, or --real '' to skip it")
