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

from scintiseg.errors import ScintisegError


#: GanConfig fields offered as flags (the rest come from --config YAML).
_FLAGS = {
    "epochs": (int, "passes of D over the real training images"),
    "k": (int, "discriminator steps per generator step (paper B: k = 3; Goodfellow et al. Algorithm 1)"),
    "batch_size": (int, "images per mini-batch"),
    "native_size": (int, "side G and D work at (32..256, a power of two); samples are up-sampled to the crops' size"),
    "base_width": (int, "channels of G's finest and D's first hidden layer"),
    "lr_g": (float, "Adam learning rate of G"),
    "lr_d": (float, "Adam learning rate of D"),
    "sample_every": (int, "save a sample grid every N epochs"),
    "checkpoint_every": (int, "save a checkpoint every N epochs"),
    "real_label": (float, "D's target for real images (0.9: one-sided label smoothing; default 1)"),
    "diff_augment": (str, "DiffAugment of D's inputs: none (default), translation, cutout, translation,cutout"),
    "lesion_oversample": (float, "draw real crops with a lesion this many times as often (default 1)"),
    "mask_match": (float, "weight of the mask-area term in G's loss (default 0: off)"),
    "seed": (int, "seed of weights, noise and batch order"),
    "threads": (int, "torch threads (0: torch's default)"),
}


def _train(args: argparse.Namespace) -> int:
    from scintiseg.gan.config import LESION_AWARE, GanConfig
    from scintiseg.gan.train import train_gan

    values = GanConfig.load(args.config).to_dict() if args.config else {}
    if args.lesion_aware:
        values.update(LESION_AWARE)
    for name in ("real_flip", "minibatch_std"):
        if getattr(args, name):
            values[name] = True
    for name in _FLAGS:
        value = getattr(args, name, None)
        if value is not None:
            values[name] = value
    if args.views:
        values["views"] = [v.strip().upper() for v in args.views.split(",") if v.strip()]
    if args.count_noise:
        values["count_noise"] = args.count_noise
    if args.upsample:
        values["upsample"] = args.upsample
    config = GanConfig.from_dict(values, path=args.config)
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
    from scintiseg.gan.sample import sample_dataset

    out = sample_dataset(args.run, args.n, args.out, args.seed, progress=not args.quiet, batch_size=args.batch_size)
    print(f"{out}: {args.n} GAN cases (origin 'gan', one synthetic patient each)")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from scintiseg.gan.evaluate import evaluate_run

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
    train.add_argument("--config", help="GanConfig YAML (flags override it)")
    train.add_argument("--resume", action="store_true", help="continue RUN from its last checkpoint up to --epochs, with the run's saved config (only --epochs and --threads apply)")
    train.add_argument("--views", help="comma-separated views G generates (default: ANT,POST)")
    train.add_argument("--upsample", choices=["transpose", "resize"], help="G's up-sampling: transpose (Radford et al., default) or resize (nearest x2 + 3x3 conv, Odena et al. 2016)")
    train.add_argument("--count-noise", choices=["poisson", "round"], help="expected counts -> integers (default poisson)")
    train.add_argument("--lesion-aware", action="store_true", help="the lesion-aware settings of docs/gan.md "
                       "(k = 1, resize G, flips, minibatch std, lesion oversampling, mask-area term); flags override them")
    train.add_argument("--real-flip", action="store_true", help="flip real images left-right at random for D")
    train.add_argument("--minibatch-std", action="store_true", help="minibatch standard deviation channel in D (Karras et al. 2018)")
    train.add_argument("--minutes", type=float, default=None, help="stop after the epoch that ends past this wall-clock budget")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    for name, (kind, text) in _FLAGS.items():
        train.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=None, help=text)
    train.set_defaults(func=_train)

    sample = sub.add_parser("sample", help="write N generated cases as a data set",
                            description="Generate N crops with masks from a trained run; each case is its own "
                            "synthetic patient with origin 'gan' (never placed in a test split).")
    sample.add_argument("--run", required=True, help="a `gan train` run folder")
    sample.add_argument("--n", type=_positive, required=True, help="number of cases")
    sample.add_argument("--out", required=True, help="output data-set folder (new or empty)")
    sample.add_argument("--seed", type=int, default=0, help="sampling seed (same seed, same data set)")
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
    evaluate.add_argument("--seed", type=int, default=0, help="sampling seed")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate.set_defaults(func=_evaluate)
