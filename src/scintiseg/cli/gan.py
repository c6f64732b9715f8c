"""``scintiseg gan``: DCGAN augmentation of thoracic crops (paper B §3.2.2, data set D3).

Example::

    scintiseg gan train --data data/crops --out runs/gan --epochs 200 --k 3
    scintiseg gan train --data data/crops --out runs/gan --epochs 3000 --lesion-aware --minutes 30
    scintiseg gan train --data data/crops --out runs/gan --epochs 300 --resume
    scintiseg gan sample --run runs/gan --n 1000 --out data/gan --seed 0
    scintiseg gan evaluate --run runs/gan --data data/crops
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scintiseg.cli.arguments import seed
from scintiseg.config import add_arguments, from_args, read_yaml
from scintiseg.errors import ScintisegError
from scintiseg.gan.config import LESION_AWARE, GanConfig


def resolve_config(args: argparse.Namespace) -> GanConfig:
    """Defaults < ``--config`` YAML < ``--lesion-aware`` < GanConfig flags given."""
    values = read_yaml(args.config) if args.config else {}
    if args.lesion_aware:
        values.update(LESION_AWARE)
    return from_args(GanConfig, args, values, path=args.config)


def _train(args: argparse.Namespace) -> int:
    from scintiseg.gan.train import train_gan  # lazy: start-up time

    config = resolve_config(args)
    if args.minutes is not None and not args.minutes > 0:
        raise ScintisegError(f"--minutes must be positive, got {args.minutes}")
    trainer = train_gan(args.data, args.out, config, resume=args.resume, progress=not args.quiet, max_minutes=args.minutes)
    last = trainer.history[-1] if trainer.history else {}
    print(
        f"{args.out}: epoch {trainer.epoch}, {trainer.g_steps} G steps / {trainer.d_steps} D steps"
        + (f", D loss {last['d_loss']:.3f}, G loss {last['g_loss']:.3f}" if last else "")
    )
    return 0


def _sample(args: argparse.Namespace) -> int:
    from scintiseg.gan.sample import sample_dataset  # lazy: start-up time

    out = sample_dataset(args.run, args.n, args.out, args.seed, progress=not args.quiet, batch_size=args.batch_size)
    print(f"{out}: {args.n} GAN cases (origin 'gan', one synthetic patient each)")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from scintiseg.gan.evaluate import evaluate_run  # lazy: start-up time

    out = Path(args.out) if args.out else Path(args.run) / "evaluation"
    stats = evaluate_run(args.run, args.data, out, n=args.n, seed=args.seed, progress=not args.quiet)
    m = stats["memorisation"]
    print(
        f"{out / 'quality.md'}: noise var/mean real {stats['noise']['real']['fano']:.2f} vs generated "
        f"{stats['noise']['generated']['fano']:.2f}; body-count W1 {stats['counts']['wasserstein_relative']}; "
        f"nearest-neighbour ratio {m['ratio']}, possible copies {100 * m['possible_copies']:.1f} %"
    )
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``scintiseg gan train|sample|evaluate``."""
    parser = subparsers.add_parser(
        "gan",
        help="DCGAN augmentation of thoracic crops (paper B §3.2.2, data set D3)",
        description="Train a DCGAN that generates thoracic crops with lesion masks, sample it into a data "
        "set of synthetic cases, and measure how close its samples are to real crops. See docs/gan.md.",
    )
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])
    sub = parser.add_subparsers(dest="gan_command", metavar="ACTION")

    train = sub.add_parser("train", help="train a DCGAN on a data set of thoracic crops",
                           description="Train G and D (Radford et al. 2015) with k D steps per G step on the "
                           "training patients of DATA; writes checkpoints, sample grids and history to RUN.")
    train.add_argument("--data", required=True, help="data set of thoracic crops (`scintiseg dataset crop`)")
    train.add_argument("--out", required=True, help="run folder (new, or an existing run with --resume)")
    train.add_argument("--config", help="GanConfig YAML (--lesion-aware and flags override it)")
    train.add_argument("--resume", action="store_true", help="continue RUN from its last checkpoint up to --epochs, with the run's saved config (only --epochs and --threads apply)")
    train.add_argument("--lesion-aware", action="store_true", help="the lesion-aware settings of docs/gan.md "
                       "(k = 1, resize G, flips, minibatch std, lesion oversampling, mask-area term); flags override them")
    train.add_argument("--minutes", type=float, default=None, help="stop after the epoch that ends past this wall-clock budget")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    add_arguments(train.add_argument_group("GanConfig fields (override --config and --lesion-aware)"), GanConfig)
    train.set_defaults(func=_train)

    sample = sub.add_parser("sample", help="write N generated cases as a data set",
                            description="Generate N crops with masks from a trained run; each case is its own "
                            "synthetic patient with origin 'gan' (never placed in a test split).")
    sample.add_argument("--run", required=True, help="a `gan train` run folder")
    sample.add_argument("--n", type=_positive, required=True, help="number of cases")
    sample.add_argument("--out", required=True, help="output data-set folder (new or empty)")
    sample.add_argument("--seed", type=seed, default=0, help="sampling seed (same seed, same data set)")
    sample.add_argument("--batch-size", type=_positive, default=64, help="generator batch size")
    sample.add_argument("--quiet", action="store_true", help="no progress bar")
    sample.set_defaults(func=_sample)

    evaluate = sub.add_parser("evaluate", help="quality report: generated vs real crops",
                              description="Count histograms, noise, power spectrum, lesion statistics, "
                              "nearest-neighbour memorisation check and sample grids (docs/gan.md).")
    evaluate.add_argument("--run", required=True, help="a `gan train` run folder")
    evaluate.add_argument("--data", required=True, help="the real crops (usually the training data set)")
    evaluate.add_argument("--out", help="report folder (default RUN/evaluation)")
    evaluate.add_argument("--n", type=_positive, default=200, help="generated samples to compare (default 200)")
    evaluate.add_argument("--seed", type=seed, default=0, help="sampling seed")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate.set_defaults(func=_evaluate)
