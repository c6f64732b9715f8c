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
    """Defaults < the ``--init`` checkpoint's recipe < ``--config`` YAML (or ``RUN/config.yaml`` with ``--resume``) <
    flags given. ``--init shipped`` is the shipped lesion model."""
    config_file = getattr(args, "config", None)
    resuming = getattr(args, "resume", False)
    if config_file is None and resuming and getattr(args, "out", None):
        saved = Path(args.out) / "config.yaml"
        config_file = saved if saved.is_file() else None
    values = read_yaml(config_file) if config_file is not None else {}
    init = getattr(args, "init", None) or values.get("init")
    if init == "shipped":
        from scintiseg.predict.loader import SHIPPED_WEIGHTS  # lazy: start-up time (torch)

        init = str(SHIPPED_WEIGHTS)
        if getattr(args, "init", None):
            args.init = init
        else:
            values["init"] = init
    if init and not resuming:  # a resumed run's config.yaml holds every field already
        values = _under_init_recipe(values, args, init)
    return from_args(TrainConfig, args, values, path=config_file)


def _under_init_recipe(values: dict, args: argparse.Namespace, init: str) -> dict:
    """``values`` with the fields of ``init``'s recipe (``train.loop.init_recipe``) that neither they nor a flag set;
    its network arguments only when the network is the same (another network's weights are refused anyway)."""
    from scintiseg.train.loop import init_recipe  # lazy: start-up time (torch)

    recipe = init_recipe(init)
    model = getattr(args, "model", None) or values.get("model")
    if model and model != recipe.get("model"):
        recipe.pop("model_args", None)
    elif "model_args" in recipe:
        values = {**values, "model_args": {**recipe["model_args"], **(values.get("model_args") or {})}}
    return {**{k: v for k, v in recipe.items() if getattr(args, k, None) is None}, **values}


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
