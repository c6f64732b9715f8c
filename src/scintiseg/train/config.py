"""The training configuration: one typed dataclass, loaded from YAML, every field a CLI flag.

Precedence, lowest first: the paper defaults below < ``--config FILE.yaml`` < flags given on the
command line. The resolved configuration is written to ``RUN/config.yaml`` (and stored in every
checkpoint) so a run can be repeated exactly with ``scintiseg train --config RUN/config.yaml``.

Defaults follow paper A Table 1 (Adam, learning rate 1e-4, batch 32, 200 epochs), which paper B's
Table 2 shares as far as the text says; paper B's loss constants are alpha = 0.4, nu = 0.004, mu = 0.

Example::

    config = TrainConfig(data="data/crops", out="runs/dpunet", model="dpunet",
                         model_args={"pooling": "fusion", "dac": "dac2", "rmp": True}, epochs=20)
    config.save_yaml("runs/dpunet/config.yaml")
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scintiseg.errors import ScintisegError
from scintiseg.io.atomic import write_text_atomic

#: Model input built from the two views (see :mod:`scintiseg.train.data`).
INPUT_MODES: tuple[str, ...] = ("ant", "post", "aggregate", "two_channel")
#: Intensity normalisations (:func:`scintiseg.prepare.intensity.normalise`).
NORMALISATIONS: tuple[str, ...] = ("none", "percentile", "log", "zscore")

_CHOICES: dict[str, tuple[str, ...]] = {
    "input_mode": INPUT_MODES,
    "normalisation": NORMALISATIONS,
    "loss": ("bce", "dice", "dice_bce", "chan_vese"),
    "supervised_loss": ("bce", "dice", "dice_bce"),
    "optimizer": ("adam", "adamw", "sgd"),
    "device": ("auto", "cpu", "cuda"),
    "monitor": ("val_dsc", "val_dsc_image", "val_loss"),
}


@dataclass
class TrainConfig:
    """Everything one training run needs. Each field is the CLI flag ``--field-name``.

    Args:
        data: data-set folder (the layout of :mod:`scintiseg.io.dataset`, usually thoracic crops) with
            a ``splits.json`` from ``scintiseg dataset split``.
        out: run folder (config, checkpoints, CSV log).
        model: registry name for :func:`scintiseg.models.create_model`.
        model_args: keyword arguments of the model (``--model-arg pooling=fusion``); ``in_channels`` is
            set from ``input_mode``.
        input_mode: ``ant``; ``post`` (mirrored and aligned to ANT); ``aggregate`` (I_Ant + Mirr(I_Post),
            paper B Eq. 4); ``two_channel`` (ANT and aligned mirrored POST as two channels).
        normalisation: intensity normalisation of the model input.
        epochs: training epochs (paper A: 200).
        batch_size: images per optimiser step, over all processes (paper A: 32).
        lr: learning rate (paper A: 1e-4).
        optimizer: ``adam`` (papers), ``adamw`` or ``sgd`` (momentum 0.9).
        weight_decay: L2 weight decay.
        loss: ``bce``, ``dice``, ``dice_bce`` (default; paper A does not state its loss) or ``chan_vese``
            (paper B: l_S + alpha l_U).
        supervised_loss: l_S of the ``chan_vese`` loss.
        alpha: weight of paper B's unsupervised term (0.4).
        nu: Chan-Vese length weight (0.004).
        mu: Chan-Vese area weight (0).
        alpha_rampup: fraction of training over which alpha ramps up (sigmoid schedule); 0 disables it.
        labelled: share of *training patients* whose labels are used (paper B: 0.37). With a
            supervised loss the other patients are left out; with ``chan_vese`` they contribute l_U only.
        fold: use ``folds[fold]`` of ``splits.json`` for train/validation; None holds out
            ``val_fraction`` of the training patients instead (seeded, patient-level).
        val_fraction: share of training patients held out for validation when ``fold`` is None.
        seed: seeds weight initialisation, data order, label selection and augmentation.
        augment: random flips / small rotations and translations on the fly (paper B §3.2.1).
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
        amp: bfloat16 autocast on CUDA (ignored on the CPU, where it is slower).
        channels_last: channels-last memory format for the model and batches.
        threads: torch intra-op threads on the CPU (0: leave PyTorch's default).
        early_stopping: stop after this many epochs without improvement of ``monitor`` (0: off).
        monitor: validation quantity that picks the best checkpoint.
        threshold: probability above which a pixel is predicted lesion.
        max_train_images: cap on training images per epoch after the split (0: no cap; for smoke runs).
        head_prior: initial lesion probability of every pixel, set through the bias of the network's
            1-channel output convolution, ``b = -log((1 - p) / p)`` (the prior initialisation of Lin et al.
            2017, RetinaNet §4.1). Lesions cover under 1 % of a thoracic crop; from PyTorch's default
            init (p about 0.5) the BCE term spends hundreds of steps pushing everything to background
            before the Dice term moves (measured in docs/demo.md). 0 keeps PyTorch's initialisation.
        tensorboard: also log to ``RUN/tensorboard`` (needs the ``tensorboard`` package).
        progress: show a tqdm progress bar (rank 0 only).
    """

    data: str = ""
    out: str = ""
    model: str = "dpunet"
    model_args: dict[str, Any] = field(default_factory=dict)
    input_mode: str = "ant"
    normalisation: str = "percentile"
    epochs: int = 200
    batch_size: int = 32
    lr: float = 1e-4
    optimizer: str = "adam"
    weight_decay: float = 0.0
    loss: str = "dice_bce"
    supervised_loss: str = "dice_bce"
    alpha: float = 0.4
    nu: float = 0.004
    mu: float = 0.0
    alpha_rampup: float = 0.0
    labelled: float = 1.0
    fold: int | None = None
    val_fraction: float = 0.2
    seed: int = 0
    augment: bool = False
    device: str = "auto"
    amp: bool = True
    channels_last: bool = False
    threads: int = 0
    early_stopping: int = 0
    monitor: str = "val_dsc"
    threshold: float = 0.5
    max_train_images: int = 0
    head_prior: float = 0.0
    tensorboard: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ScintisegError` naming the first field with an impossible value."""
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                raise ScintisegError(f"{name} must be one of {', '.join(choices)}, got {getattr(self, name)!r}")
        checks = [
            ("epochs", self.epochs >= 1),
            ("batch_size", self.batch_size >= 1),
            ("lr", self.lr > 0),
            ("labelled", 0.0 <= self.labelled <= 1.0),
            ("val_fraction", 0.0 < self.val_fraction < 1.0),
            ("alpha", self.alpha >= 0),
            ("alpha_rampup", 0.0 <= self.alpha_rampup <= 1.0),
            ("threshold", 0.0 < self.threshold < 1.0),
            ("early_stopping", self.early_stopping >= 0),
            ("threads", self.threads >= 0),
            ("max_train_images", self.max_train_images >= 0),
            ("head_prior", 0.0 <= self.head_prior < 1.0),
        ]
        for name, ok in checks:
            if not ok:
                raise ScintisegError(f"{name} has an impossible value: {getattr(self, name)!r}")
        if not isinstance(self.model_args, dict):
            raise ScintisegError(f"model_args must be a mapping, got {self.model_args!r}")
        if self.loss != "chan_vese" and self.labelled == 0.0:
            raise ScintisegError("labelled = 0 leaves nothing to learn with a supervised loss; use --loss chan_vese")

    @property
    def in_channels(self) -> int:
        """Channels of the model input for ``input_mode``."""
        return 2 if self.input_mode == "two_channel" else 1

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML-able dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: str | Path | None = None) -> "TrainConfig":
        """Build from a dict, converting values to the field types; unknown keys are an error."""
        if not isinstance(data, dict):
            raise ScintisegError("a training configuration must be a mapping", path=path)
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ScintisegError(f"unknown configuration keys: {', '.join(unknown)}", path=path)
        hints = typing.get_type_hints(cls)
        values = {}
        for key, value in data.items():
            try:
                values[key] = coerce(value, hints[key])
            except (TypeError, ValueError) as exc:
                raise ScintisegError(f"configuration key {key!r}: {exc}", path=path) from None
        try:
            return cls(**values)
        except ScintisegError as exc:
            raise ScintisegError(exc.problem, path=path) from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> "TrainConfig":
        return cls.from_dict(read_yaml(path), path=path)

    def save_yaml(self, path: str | Path) -> None:
        """Write the configuration atomically as YAML."""
        write_text_atomic(path, yaml.safe_dump(self.to_dict(), sort_keys=False))

    def replace(self, **changes: Any) -> "TrainConfig":
        """A validated copy with some fields changed."""
        merged = self.to_dict()
        merged.update(changes)
        return TrainConfig.from_dict(merged)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; a clear error when the file is missing or malformed."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ScintisegError(f"cannot read configuration ({exc.strerror})", path=path) from None
    except yaml.YAMLError as exc:
        raise ScintisegError(f"malformed YAML ({' '.join(str(exc).split())})", path=path) from None
    if not isinstance(data, dict):
        raise ScintisegError("a configuration file must hold a mapping", path=path)
    return data


def coerce(value: Any, annotation: Any) -> Any:
    """Convert ``value`` (from YAML or a CLI string) to the field type ``annotation``."""
    args = typing.get_args(annotation)
    if type(None) in args:
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            return None
        annotation = next(a for a in args if a is not type(None))
    origin = typing.get_origin(annotation)
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            raise TypeError(f"expected a mapping, got {value!r}")
        return dict(value)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ValueError(f"expected true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"expected an integer, got {value!r}")
        return int(value)
    if annotation is float:
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        return float(value)
    if annotation is str:
        return "" if value is None else str(value)
    return value


def parse_model_args(items: list[str] | None) -> dict[str, Any]:
    """``["pooling=fusion", "rmp=true", "width=16"]`` -> ``{"pooling": "fusion", "rmp": True, "width": 16}``.

    Values are read as YAML scalars, so numbers, booleans and ``null`` get their types.
    """
    return parse_key_values(items, "--model-arg")


def parse_key_values(items: list[str] | None, flag: str) -> dict[str, Any]:
    """Repeated ``KEY=VALUE`` flags (``flag`` names them in errors) -> dict of YAML-typed values."""
    parsed: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ScintisegError(f"{flag} expects KEY=VALUE, got {item!r}")
        try:
            parsed[key.strip()] = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            parsed[key.strip()] = text
    return parsed
