"""``scintiseg demo``: the whole pipeline on phantom data in one command (``make demo``).

Example::

    scintiseg demo --out runs/demo                       # the default demo (about 10 minutes on 2 cores)
    scintiseg demo --out runs/demo-crops --recipe crops  # the crop-trained demo of before issue 13
    scintiseg demo --out /tmp/d --patients 2 --epochs 1 --pool-patients 2 --val-patients 1 \
        --train-profile small --width 4 --size 128 --batch-size 2   # a smoke run
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scintiseg.cli.arguments import seed
from scintiseg.experiments.demo import DemoSettings, run_demo
from scintiseg.experiments.demo.settings import DEFAULT_REAL_SCAN, RECIPE_DEFAULTS, RECIPES


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``scintiseg demo``."""
    defaults = DemoSettings()
    parser = subparsers.add_parser(
        "demo",
        help="phantom test cohort -> train DPU-Net and U-Net -> evaluate -> predict -> report.md",
        description="Train paper A's DPU-Net (fusion + DAC_2 + RMP) and the max-pooling U-Net with the same budget "
        "(default recipe 'synthetic': on domain-randomised phantom patients made on the fly, windows of the whole "
        "body, as the shipped model), evaluate both on the thoracic crops of a held-out phantom cohort, predict "
        "on a held-out whole-body phantom scan and on a real scan, and write OUT/report.md. Finished steps are "
        "skipped, so rerunning an interrupted demo resumes it.",
    )
    parser.add_argument("--out", type=Path, default=Path(defaults.out), help=f"output folder (default {defaults.out})")
    parser.add_argument("--recipe", choices=RECIPES, default=defaults.recipe,
                        help="training recipe: 'synthetic' (issue 13: phantom patients made on the fly, whole-body "
                        "windows; default) or 'crops' (thoracic crops of the cohort, the demo before issue 13)")
    synthetic, crops = RECIPE_DEFAULTS["synthetic"], RECIPE_DEFAULTS["crops"]
    parser.add_argument("--patients", type=int, default=None,
                        help=f"phantom cohort patients (default {synthetic['patients']}, all test patients; "
                        f"--recipe crops: {crops['patients']}, of which --test-fraction are test)")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"epochs per network (default {synthetic['epochs']}; --recipe crops: {crops['epochs']})")
    parser.add_argument("--size", type=int, default=defaults.size,
                        help=f"model input: thoracic crop and training window size (default {defaults.size})")
    parser.add_argument("--width", type=int, default=defaults.width,
                        help=f"network base width (default {defaults.width}; the registry's CPU preset is 16)")
    parser.add_argument("--depth", type=int, default=None, help="network depth (default: the preset, 4)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help=f"batch size (default {defaults.batch_size})")
    parser.add_argument("--lr", type=float, default=defaults.lr, help=f"Adam learning rate (default {defaults.lr:g})")
    parser.add_argument("--head-prior", type=float, default=defaults.head_prior,
                        help=f"initial lesion probability of the output layer (default {defaults.head_prior:g}; 0: PyTorch's init)")
    parser.add_argument("--augment", action=argparse.BooleanOptionalAction, default=defaults.augment,
                        help="on-the-fly flips, rotations and translations while training (default on)")
    parser.add_argument("--test-fraction", type=float, default=defaults.test_fraction,
                        help=f"--recipe crops: share of patients held out for test (default {defaults.test_fraction:g})")
    parser.add_argument("--train-profile", default=defaults.train_profile,
                        help=f"synthetic recipe: phantom profile of the training patients (default {defaults.train_profile}; "
                        "'small' for smoke runs)")
    parser.add_argument("--pixel-mm", type=float, default=defaults.pixel_mm,
                        help=f"synthetic recipe: the model's pixel size in mm (default {defaults.pixel_mm:g})")
    parser.add_argument("--pool-patients", type=int, default=defaults.pool_patients,
                        help=f"synthetic recipe: generated patients per epoch (default {defaults.pool_patients})")
    parser.add_argument("--refresh", type=float, default=defaults.refresh,
                        help=f"synthetic recipe: share of the pool replaced before each epoch (default {defaults.refresh:g})")
    parser.add_argument("--windows-per-view", type=int, default=defaults.windows_per_view,
                        help=f"synthetic recipe: training windows per view (default {defaults.windows_per_view})")
    parser.add_argument("--val-patients", type=int, default=defaults.val_patients,
                        help=f"synthetic recipe: generated validation patients (default {defaults.val_patients})")
    parser.add_argument("--generator-workers", type=int, default=defaults.generator_workers,
                        help=f"synthetic recipe: processes generating patients beside training (default "
                        f"{defaults.generator_workers}; 0: between epochs)")
    parser.add_argument("--seed", type=seed, default=defaults.seed, help="cohort, split and training seed (default 0)")
    parser.add_argument("--real", default=None,
                        help=f"real whole-body scan to predict on (default {DEFAULT_REAL_SCAN}, relative to the "
                        "repository; '' skips it)")
    parser.add_argument("--workers", type=int, default=None, help="processes for phantom and crop (default: all CPUs)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for training (default: 1 when the machine is busy, else PyTorch's; 0: PyTorch's)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo with the flags' settings and print where the report is."""
    settings = DemoSettings(
        out=str(args.out), recipe=args.recipe, patients=args.patients, epochs=args.epochs, size=args.size,
        width=args.width, depth=args.depth, batch_size=args.batch_size, lr=args.lr, head_prior=args.head_prior,
        augment=args.augment, test_fraction=args.test_fraction, train_profile=args.train_profile,
        pixel_mm=args.pixel_mm, pool_patients=args.pool_patients, refresh=args.refresh,
        windows_per_view=args.windows_per_view, val_patients=args.val_patients,
        generator_workers=args.generator_workers, seed=args.seed, real_scan=args.real,
        workers=args.workers, threads=args.threads, progress=not args.no_progress,
    )
    report = run_demo(settings)
    print(f"report: {report}")
    return 0
