"""``scintiseg train``: train a segmentation network; every TrainConfig field is a flag.

Example::

    scintiseg train --data data/crops --model dpunet --model-arg pooling=fusion --model-arg dac=dac2 \\
        --model-arg rmp=true --epochs 50 --out runs/dpunet
    scintiseg train --out runs/dpunet --resume                    # continue an interrupted run
    torchrun --nproc_per_node 2 -m scintiseg train --data ... --out ...   # DDP
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from scintiseg.config import add_arguments, from_args, read_yaml
from scintiseg.train.config import TrainConfig


def resolve_config(args: argparse.Namespace) -> TrainConfig:
    """Defaults < ``--config`` YAML (or ``RUN/config.yaml`` with ``--resume``) < flags given."""
    config_file = getattr(args, "config", None)
    if config_file is None and getattr(args, "resume", False) and getattr(args, "out", None):
        saved = Path(args.out) / "config.yaml"
        config_file = saved if saved.is_file() else None
    values = read_yaml(config_file) if config_file is not None else {}
    return from_args(TrainConfig, args, values, path=config_file)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``scintiseg train``."""
    parser = subparsers.add_parser(
        "train",
        help="train a segmentation network (paper defaults: Adam, lr 1e-4, batch 32, 200 epochs)",
        description="Train a network on a data set with a patient-level split; writes config, checkpoints "
        "(best and last) and a CSV log to the run folder. Runs under torchrun as DDP.",
    )
    parser.add_argument("--config", type=Path, default=None, help="YAML file with TrainConfig fields")
    parser.add_argument("--resume", action="store_true", help="continue from RUN/checkpoints/last.pt")
    add_arguments(parser, TrainConfig)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scintiseg.train.loop import train  # lazy: start-up time

    config = resolve_config(args)
    result = train(config, resume=args.resume)
    if result.epochs_run and int(os.environ.get("RANK", "0")) == 0:
        print(f"best {config.monitor} {result.best_value:.4f} at epoch {result.best_epoch}; run in {result.run_dir}")
        if config.task == "lesions":
            print(f"a whole-body model: `scintiseg predict` reads every scan at {result.pixel_mm:g} mm, the whole body"
                  if result.pixel_mm else "a model of partial views (crops): `scintiseg predict` reads the thoracic "
                  "window of a whole-body scan")
    return 0
