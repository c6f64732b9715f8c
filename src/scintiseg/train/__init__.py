"""scintiseg.train: typed configuration, torch datasets, the training loop, checkpoints, DDP.

Example::

    from scintiseg.train import TrainConfig, train
    train(TrainConfig(data="data/crops", out="runs/unet", model="unet", epochs=10))
"""

from scintiseg.train.config import TrainConfig
from scintiseg.train.loop import TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "train"]
