"""Checkpoints that load with ``torch.load(weights_only=True)``: tensors and plain JSON-able values only.

A checkpoint is a dict::

    {"format": "scintiseg-checkpoint", "version": 1, "epoch": int (epochs completed),
     "model": state_dict, "model_config": {"name": ..., **kwargs}, "optimizer": state_dict,
     "config": TrainConfig.to_dict(), "history": [{"epoch": 1, "train_loss": ..., "val_dsc": ...}, ...],
     "best": {"epoch": int, "value": float, "monitor": str}, "early_stopping_wait": int,
     "rng": {"torch": ByteTensor}}

It is written atomically (a temporary file beside the target, then a rename), so an interrupted run
never leaves a truncated ``last.pt`` behind: resuming always finds the last *complete* epoch.

Example::

    checkpoint = load_checkpoint("runs/dpunet/checkpoints/best.pt")
    model = create_model(**checkpoint["model_config"]); model.load_state_dict(checkpoint["model"])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from scintiseg.errors import ScintisegError
from scintiseg.io.atomic import atomic_path

FORMAT = "scintiseg-checkpoint"
VERSION = 1
CHECKPOINT_DIR = "checkpoints"
LAST = "last.pt"
BEST = "best.pt"


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` (plus format tags) to ``path`` atomically; returns the path."""
    path = Path(path)
    payload = {"format": FORMAT, "version": VERSION, **state}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``; a clear error for a missing or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise ScintisegError("no such checkpoint", path=path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt or foreign file
        raise ScintisegError(f"not a loadable checkpoint ({type(exc).__name__})", path=path) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ScintisegError("not a scintiseg checkpoint", path=path)
    return state


def checkpoint_path(run_dir: str | Path, which: str = "best") -> Path:
    """``RUN/checkpoints/best.pt`` or ``last.pt``."""
    if which not in ("best", "last"):
        raise ScintisegError(f"checkpoint must be 'best' or 'last', got {which!r}")
    return Path(run_dir) / CHECKPOINT_DIR / (BEST if which == "best" else LAST)


def load_model_from_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict]:
    """Rebuild the network from a checkpoint's ``model_config`` and load its weights (eval mode)."""
    from scintiseg.models import create_model

    state = load_checkpoint(path, map_location=map_location)
    model = create_model(**state["model_config"])
    model.load_state_dict(state["model"])
    model.eval()
    return model, state
