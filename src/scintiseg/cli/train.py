"""``scintiseg train``: train a segmentation network; every TrainConfig field is a flag.

Example::

    scintiseg train --data data/crops --model dpunet --model-arg pooling=fusion --model-arg dac=dac2 \\
        --model-arg rmp=true --epochs 50 --out runs/dpunet
    scintiseg train --out runs/dpunet --resume                    # continue an interrupted run
    torchrun --nproc_per_node 2 -m scintiseg train --data ... --out ...   # DDP
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import typing
from pathlib import Path

from scintiseg.errors import ScintisegError
from scintiseg.train.config import _CHOICES, TrainConfig, coerce, parse_model_args, read_yaml

_HELP = {
    "data": "data-set folder with dataset.json and splits.json (usually thoracic crops)",
    "out": "run folder (config.yaml, checkpoints/, log.csv)",
    "model": "network name (see `scintiseg models`)",
    "input_mode": "model input built from the views",
    "normalisation": "intensity normalisation of the input",
    "labelled": "share of training patients whose labels are used (paper B: 0.37)",
    "fold": "use folds[FOLD] of splits.json for train/validation",
    "early_stopping": "stop after this many epochs without improvement (0: off)",
}


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--field-name`` flag per TrainConfig field (default: not given, so YAML and defaults apply)."""
    hints = typing.get_type_hints(TrainConfig)
    defaults = TrainConfig()
    for item in dataclasses.fields(TrainConfig):
        if item.name == "model_args":
            continue
        flag = "--" + item.name.replace("_", "-")
        default = getattr(defaults, item.name)
        help_text = f"{_HELP.get(item.name, item.name.replace('_', ' '))} (default: {default})"
        if hints[item.name] is bool:
            parser.add_argument(flag, dest=item.name, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=help_text)
        else:
            parser.add_argument(flag, dest=item.name, default=argparse.SUPPRESS, metavar=item.name.upper(),
                                choices=_CHOICES.get(item.name), help=help_text)
    parser.add_argument("--model-arg", "-m", dest="model_arg", action="append", metavar="KEY=VALUE",
                        help="model keyword argument, repeatable (e.g. -m pooling=fusion -m dac=dac2 -m rmp=true)")


def resolve_config(args: argparse.Namespace) -> TrainConfig:
    """Defaults < ``--config`` YAML (or ``RUN/config.yaml`` with ``--resume``) < flags given."""
    values: dict = {}
    config_file = getattr(args, "config", None)
    if config_file is None and getattr(args, "resume", False) and getattr(args, "out", None):
        saved = Path(args.out) / "config.yaml"
        config_file = saved if saved.is_file() else None
    if config_file is not None:
        values.update(read_yaml(config_file))
    hints = typing.get_type_hints(TrainConfig)
    for item in dataclasses.fields(TrainConfig):
        if item.name in vars(args) and item.name != "model_args":
            try:
                values[item.name] = coerce(getattr(args, item.name), hints[item.name])
            except (TypeError, ValueError) as exc:
                raise ScintisegError(f"--{item.name.replace('_', '-')}: {exc}") from None
    if getattr(args, "model_arg", None):
        values["model_args"] = {**values.get("model_args", {}), **parse_model_args(args.model_arg)}
    return TrainConfig.from_dict(values, path=config_file)


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
    add_config_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scintiseg.train.loop import train

    config = resolve_config(args)
    result = train(config, resume=args.resume)
    if result.epochs_run and int(os.environ.get("RANK", "0")) == 0:
        print(f"best {config.monitor} {result.best_value:.4f} at epoch {result.best_epoch}; run in {result.run_dir}")
    return 0
