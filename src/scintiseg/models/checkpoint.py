"""Checkpoints of a network: the file format, and loading a network from one.

Checkpoints load with ``torch.load(weights_only=True)``: tensors and plain JSON-able values only, so a
file that would run Python code while unpickling (a crafted or foreign ``.pt``) is refused, not run.
Training writes them (:mod:`scintiseg.train.loop`); prediction and evaluation read them, so the format
lives with the models, not with training.

A checkpoint is a dict::

    {"format": "scintiseg-checkpoint", "version": 1, "scintiseg_version": "0.1.0",
     "epoch": int (epochs completed),
     "model": state_dict, "model_config": {"name": ..., **kwargs}, "optimizer": state_dict,
     "config": TrainConfig.to_dict(), "history": [{"epoch": 1, "train_loss": ..., "val_dsc": ...}, ...],
     "best": {"epoch": int, "value": float, "monitor": str}, "early_stopping_wait": int,
     "rng": {"torch": ByteTensor},
     "data": {"input_mode": ..., "normalisation": ..., "window_size": int, ...,
              "real_scans": true, "adapted_on": [folder, ...]}}

The ``data`` block is the network's *input contract*: what input it reads and what it answers (``task``; a region
network adds ``"task": "regions", "classes": [...]``; a whole-body model ``pixel_mm`` and ``"window": "whole"``).
Every reader reads it through :class:`scintiseg.formats.InputContract` (``InputContract.from_state(state, path)``),
which fills what a file does not record with its task's stated defaults (:data:`scintiseg.formats.TASK_DEFAULTS`)
and refuses a malformed record in one line naming the file. It lives in :mod:`scintiseg.formats`, not here, because an
ONNX model's sidecar holds the same record and reading it must not import torch.

The ``data`` block's last two keys say what the network learned from besides phantoms (:func:`scintiseg.formats.provenance`;
absent when nothing): real patients' scans among its training cases, and the folders of a site's scans it was
adapted to. Whatever is made from a network keeps them: a run started from it (``--init``), an adapted model, a
mean or interpolation of weights (:mod:`scintiseg.models.interpolate`), a packaged model; the report's disclaimer
reads them (:mod:`scintiseg.predict.loader`).

``version`` is the *format* version: a reader reads every version up to :data:`VERSION` and refuses a
newer one with a message naming both (and ``scintiseg_version``, the package that wrote the file, when
the file records it; files written before that field existed load unchanged). Every other problem a
file can have (a missing key, a network this install does not know, weights whose names or shapes do
not fit the network the file names) is one :class:`~scintiseg.errors.ScintisegError` line naming the file.

It is written atomically (a temporary file beside the target, then a rename), so an interrupted run
never leaves a truncated ``last.pt`` behind: resuming always finds the last *complete* epoch.

Example::

    checkpoint = load_checkpoint("runs/dpunet/checkpoints/best.pt")
    model, checkpoint = load_model_from_checkpoint("runs/dpunet/checkpoints/best.pt")
"""

from __future__ import annotations

import pickle
import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from scintiseg import __version__
from scintiseg.errors import ScintisegError
from scintiseg.formats import InputContract, check_format_version, made_by
from scintiseg.io.atomic import atomic_path
from scintiseg.models.registry import create_model, list_models

__all__ = [
    "FORMAT", "VERSION", "CHECKPOINT_DIR", "LAST", "BEST", "MODEL_KEYS", "RESUME_KEYS",
    "save_checkpoint", "save_network", "load_checkpoint", "load_weights_only", "checkpoint_path", "epoch_checkpoint_path",
    "load_model_from_checkpoint", "network_from_checkpoint", "state_dict_mismatch",
]

FORMAT = "scintiseg-checkpoint"
#: Format version written, and the newest one this code reads.
VERSION = 1
CHECKPOINT_DIR = "checkpoints"
LAST = "last.pt"
BEST = "best.pt"
#: What every checkpoint holds: enough to rebuild the network.
MODEL_KEYS: tuple[str, ...] = ("model", "model_config")
#: What training needs to resume a run from ``last.pt``.
RESUME_KEYS: tuple[str, ...] = (*MODEL_KEYS, "epoch", "optimizer", "history", "best", "rng")
#: How many differing weight names a mismatch message lists before "and N more".
_LISTED = 2


def save_checkpoint(state: Mapping[str, Any], path: str | Path) -> Path:
    """Write ``state`` plus the format tags (format, version, writing scintiseg) to ``path`` atomically.

    What the readers need (module docstring): ``model``, the network's state dict, in every checkpoint (refused
    here without it: a file of no weights is no checkpoint, and a bare ``net.state_dict()`` passed as ``state``
    was written, then refused by every loader, API audit 74); ``model_config``, the ``config`` that rebuilds the
    network, for every loader that builds one (``load_model_from_checkpoint``, ``scintiseg.predict.load_model``,
    evaluation: :data:`MODEL_KEYS`; ``train --init`` reads ``model`` alone, so a file without it is still written);
    ``data``, the input contract, where the network does not read the defaults
    (:class:`scintiseg.formats.InputContract`); training's resume needs :data:`RESUME_KEYS`.
    :func:`save_network` writes the first three from a network.

    Raises:
        ScintisegError: ``state`` that is not a mapping, or has no ``model`` state dict of tensors; a network's
            config under ``config`` (training's key) where ``model_config`` is missing.
    """
    path = Path(path)
    if not isinstance(state, Mapping):
        raise ScintisegError(f"a checkpoint is a dict with 'model' and 'model_config', got {type(state).__name__}",
                             path=path)
    if "model" not in state:
        bare = bool(state) and all(isinstance(value, torch.Tensor) for value in state.values())
        raise ScintisegError(("a bare state dict, not a checkpoint" if bare else "no 'model' entry") + ": "
                             "save_network(network, path) writes one the loaders read ({'model': state_dict, "
                             "'model_config': network.config, 'data': ...})", path=path)
    if not isinstance(state["model"], Mapping) or not all(isinstance(v, torch.Tensor) for v in state["model"].values()):
        raise ScintisegError("its 'model' entry is not a state dict of tensors (network.state_dict())", path=path)
    config = state.get("config")
    if "model_config" not in state and isinstance(config, Mapping) and config.get("name") in list_models():
        # "config" is training's (TrainConfig.to_dict()); a network's config there was written, then never found
        raise ScintisegError(f"its 'config' is a network's ({config['name']!r}): a checkpoint keeps that under "
                             "'model_config' (save_network(network, path) writes it so)", path=path)
    payload = {**state, "format": FORMAT, "version": VERSION, "scintiseg_version": __version__}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def save_network(network: torch.nn.Module, path: str | Path, *, data: Mapping[str, Any] | None = None,
                 **extra: Any) -> Path:
    """Write ``network`` as a checkpoint every loader reads: its weights, the config that rebuilds it, its input.

    Args:
        network: a network made by :func:`~scintiseg.models.registry.create_model` (its ``config`` names it and
            every argument).
        path: the ``.pt`` file to write (atomically).
        data: its input contract (:class:`scintiseg.formats.InputContract`: ``input_mode``, ``normalisation``,
            ``window_size``, ``pixel_mm``, ``window``, ...); what it leaves out reads as the task's default, for a
            lesion network one view (``ant``), percentile-normalised, in paper B's 256-px thoracic window.
        extra: further entries (``epoch``, ``history``, a training ``config``), written as they are.

    Returns:
        ``path``.

    Raises:
        ScintisegError: a network without a ``config`` naming it (not made by ``create_model``); a ``data`` record
            the readers refuse; a lesion network whose ``in_channels`` is not what its input mode feeds
            (``two_channel`` 2, every other mode 1: the rule of :mod:`scintiseg.prepare.model_input`), which
            ``load_model`` would accept and prediction then fail on; ``extra`` naming ``model`` or ``model_config``.

    Example::

        net = create_model("rdinet", in_channels=2, width=8)
        save_network(net, "rdinet.pt", data={"input_mode": "two_channel", "pixel_mm": 2.26, "window": "whole"})
        model = scintiseg.predict.load_model("rdinet.pt")
    """
    path = Path(path)
    config = getattr(network, "config", None)
    if not isinstance(config, Mapping) or not isinstance(config.get("name"), str):
        raise ScintisegError(f"save_network takes a network made by create_model (its config rebuilds it); a "
                             f"{type(network).__name__} has no config naming one", path=path)
    clash = sorted({"model", "model_config"} & set(extra))
    if clash:
        raise ScintisegError(f"save_network writes {', '.join(clash)} from the network; do not pass it", path=path)
    record = dict(data or {})
    contract = InputContract.from_state({"data": record, "config": extra.get("config") or {}}, path)
    channels = int(getattr(network, "in_channels", 1))
    fed = 2 if contract.input_mode == "two_channel" else 1
    if contract.task == "lesions" and channels != fed:
        raise ScintisegError(f"input mode {contract.input_mode!r} feeds {fed} channel(s), but the {config['name']} "
                             f"network takes {channels} (give data={{'input_mode': ...}} to match)", path=path)
    state = {**extra, "model": network.state_dict(), "model_config": dict(config)}
    if record:
        state["data"] = record
    return save_checkpoint(state, path)


def load_checkpoint(
    path: str | Path, map_location: str | torch.device = "cpu", *, required: Iterable[str] = MODEL_KEYS
) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` and check its format tags and keys.

    Args:
        path: the ``.pt`` file.
        map_location: where tensors are loaded (``torch.load``'s argument).
        required: keys the caller needs (:data:`MODEL_KEYS` by default; training's resume passes
            :data:`RESUME_KEYS`).

    Raises:
        ScintisegError: a missing file; a file that is not a checkpoint, or would run code when loaded;
            a format version newer than :data:`VERSION` (or not one at all); a required key missing.
    """
    path = Path(path)
    if not path.is_file():
        raise ScintisegError("no such checkpoint", path=path)
    state = load_weights_only(path, "checkpoint", map_location)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ScintisegError("not a scintiseg checkpoint", path=path)
    check_format_version("checkpoint", state.get("version"), VERSION, state, path)
    missing = [key for key in required if key not in state]
    if missing:
        raise ScintisegError(f"checkpoint lacks {', '.join(missing)}{made_by(state)}", path=path)
    return state


def load_weights_only(path: str | Path, what: str = "checkpoint", map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``: tensors and plain values only, never pickled code.

    Every ``.pt`` scintiseg reads goes through here (segmentation checkpoints, the GAN's trainer state and
    generator). A file that would run Python code while unpickling (a crafted or foreign ``.pt``) is
    refused, naming the callable it would have called; that and an unreadable file are one
    :class:`~scintiseg.errors.ScintisegError` line naming ``path`` and ``what`` it should have been.
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():  # a damaged or foreign file read down torch's legacy path warns of its
            # own internals (a storage class it deprecates, a pickle protocol it was not written with) before failing
            warnings.filterwarnings("ignore", message="TypedStorage is deprecated", category=UserWarning)
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's message spans lines and suggests weights_only=False; its one informative line is kept
        code = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
        if code:
            raise ScintisegError(
                f"refused {what}: loading it would call {code.group(1)} (a pickled Python object, not only "
                "tensors and plain values); scintiseg loads it with torch.load(weights_only=True)",
                path=path,
            ) from None
        detail = re.search(r"WeightsUnpickler error: (.*)", str(exc))
        reason = detail.group(1).strip() if detail else _first_line(exc)
        raise ScintisegError(f"not a loadable {what}: {reason or _NOT_TORCH}", path=path) from None
    except Exception as exc:  # torch raises many types for a corrupt or foreign file
        reason = _first_line(exc)
        raise ScintisegError(f"not a loadable {what}: {_NOT_TORCH} ({type(exc).__name__}"
                             f"{': ' + reason if reason else ''})", path=path) from None


#: What a file torch.load cannot read at all is (garbage, a text file, a truncated download).
_NOT_TORCH = "not a PyTorch file (torch.save's zip archive or pickle); truncated, or another format"


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message, at most 120 characters; '' when it has none or says nothing
    in words (torch.load's ``KeyError: 105`` on a text file)."""
    lines = str(exc).strip().splitlines()
    line = lines[0][:120] if lines else ""
    return line if any(c.isalpha() for c in line) else ""


def checkpoint_path(run_dir: str | Path, which: str = "best") -> Path:
    """``RUN/checkpoints/best.pt`` or ``last.pt``."""
    if which not in ("best", "last"):
        raise ScintisegError(f"checkpoint must be 'best' or 'last', got {which!r}")
    return Path(run_dir) / CHECKPOINT_DIR / (BEST if which == "best" else LAST)


def epoch_checkpoint_path(run_dir: str | Path, epoch: int) -> Path:
    """``RUN/checkpoints/epoch_NNNN.pt``: the checkpoint a run keeps after ``epoch`` with ``save_every``."""
    return Path(run_dir) / CHECKPOINT_DIR / f"epoch_{epoch:04d}.pt"


def load_model_from_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict]:
    """Rebuild the network from a checkpoint's ``model_config`` and load its weights (eval mode).

    Raises:
        ScintisegError: everything :func:`load_checkpoint` refuses, a network this install does not know or
            cannot build from the recorded arguments, and weights that do not fit that network.
    """
    state = load_checkpoint(path, map_location=map_location)
    model = network_from_checkpoint(state, path)
    model.eval()
    return model, state


def network_from_checkpoint(state: Mapping[str, Any], path: str | Path) -> torch.nn.Module:
    """The network ``state["model_config"]`` names, holding ``state["model"]``; ``path`` is for messages."""
    config = state["model_config"]
    name = config.get("name") if isinstance(config, dict) else None
    if not isinstance(name, str):
        raise ScintisegError(f"checkpoint's model_config names no network{made_by(state)}", path=path)
    if name not in list_models():
        raise ScintisegError(
            f"checkpoint holds a {name!r} network, which this scintiseg ({__version__}) does not know "
            f"(it knows {', '.join(list_models())}){made_by(state)}",
            path=path,
        )
    # The network is first built on the meta device (shapes, no memory): a hostile model_config (a width
    # of 10^30, a depth of None) fails here in one line instead of allocating or raising deep inside torch,
    # and weights that do not fit are found before anything real is built.
    try:
        with torch.device("meta"):
            skeleton = create_model(**config)
    except ScintisegError as exc:
        raise ScintisegError(f"checkpoint's {name!r} network cannot be built here: {exc.problem}{made_by(state)}", path=path) from None
    except (TypeError, ValueError, OverflowError, RuntimeError, MemoryError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise ScintisegError(
            f"checkpoint's {name!r} network cannot be built from its model_config ({type(exc).__name__}: {reason})"
            f"{made_by(state)}",
            path=path,
        ) from None
    mismatch = state_dict_mismatch(skeleton.state_dict(), state["model"])
    if mismatch:
        raise ScintisegError(f"weights do not fit the {name!r} network the checkpoint names: {mismatch}{made_by(state)}", path=path)
    model = create_model(**config)
    model.load_state_dict(state["model"])
    return model


def state_dict_mismatch(expected: Mapping[str, torch.Tensor], found: Any) -> str:
    """What keeps ``found`` from loading into a network whose state dict is ``expected``; ``""`` if nothing.

    ``load_state_dict``'s own message spans many lines and lists every weight; this one names the first
    few of each kind (missing, unexpected, different shape) on one line.
    """
    if not isinstance(found, Mapping) or not all(isinstance(value, torch.Tensor) for value in found.values()):
        return "its 'model' entry is not a state dict of tensors"
    problems = []
    missing = [key for key in expected if key not in found]
    unexpected = [key for key in found if key not in expected]
    reshaped = [key for key in expected if key in found and tuple(found[key].shape) != tuple(expected[key].shape)]
    if missing:
        problems.append(f"{len(missing)} weight(s) missing ({_first(missing)})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected weight(s) ({_first(unexpected)})")
    if reshaped:
        key = reshaped[0]
        more = f" (and {len(reshaped) - 1} more)" if len(reshaped) > 1 else ""
        problems.append(
            f"{key} is {tuple(found[key].shape)} in the file but {tuple(expected[key].shape)} in the network{more}"
        )
    return "; ".join(problems)


def _first(keys: list[str]) -> str:
    listed = ", ".join(keys[:_LISTED])
    return listed + (f", and {len(keys) - _LISTED} more" if len(keys) > _LISTED else "")
