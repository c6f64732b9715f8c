"""scintiseg.train: typed configuration, torch datasets, the training loop, DDP.

Checkpoints are written in the format of :mod:`scintiseg.models.checkpoint`.

Example::

    from scintiseg.train import TrainConfig, train
    train(TrainConfig(data="data/crops", out="runs/unet", model="unet", epochs=10))
"""

from typing import TYPE_CHECKING

from scintiseg.train.config import TrainConfig

if TYPE_CHECKING:
    from scintiseg.train.loop import TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "train"]

_LOOP_NAMES = ("TrainResult", "train")


def __getattr__(name: str):
    """``train`` and ``TrainResult`` on first use (PEP 562).

    The loop imports torch; ``scintiseg train --help`` and every reader of :mod:`.config` need only the
    configuration, and importing :mod:`scintiseg.train.config` runs this file first.
    """
    if name in _LOOP_NAMES:
        from scintiseg.train import loop  # lazy: start-up time

        return getattr(loop, name)
    raise AttributeError(f"module 'scintiseg.train' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names and the lazily imported ones (tab completion, ``help()``)."""
    return sorted(set(globals()) | set(__all__))
