"""``scintiseg demo``: the whole pipeline on phantom data in one command (``make demo``).

Example::

    scintiseg demo --out runs/demo                       # the default demo (about 15 minutes on 2 cores)
    scintiseg demo --out /tmp/d --patients 6 --epochs 1 --width 4 --size 128   # a smoke run
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scintiseg.experiments.demo import DemoSettings, run_demo
from scintiseg.experiments.demo.settings import DEFAULT_EPOCHS, DEFAULT_REAL_SCAN


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``scintiseg demo``."""
    defaults = DemoSettings()
    parser = subparsers.add_parser(
        "demo",
        help="phantom cohort -> crops -> train DPU-Net and U-Net -> evaluate -> predict -> report.md",
        description="Generate a phantom cohort, cut thoracic crops, train paper A's DPU-Net (fusion + DAC_2 + RMP) "
        "and the max-pooling U-Net with the same budget, evaluate both on held-out patients, predict on a "
        "held-out whole-body phantom scan and on a real scan, and write OUT/report.md. Finished steps are "
        "skipped, so rerunning an interrupted demo resumes it.",
    )
    parser.add_argument("--out", type=Path, default=Path(defaults.out), help=f"output folder (default {defaults.out})")
    parser.add_argument("--patients", type=int, default=defaults.patients,
                        help=f"phantom patients (default {defaults.patients}; 20 %% are held out for test)")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help=f"epochs per network (default {DEFAULT_EPOCHS})")
    parser.add_argument("--size", type=int, default=defaults.size, help=f"thoracic crop size (default {defaults.size})")
    parser.add_argument("--width", type=int, default=defaults.width,
                        help=f"network base width (default {defaults.width}; the registry's CPU preset is 16)")
    parser.add_argument("--depth", type=int, default=None, help="network depth (default: the preset, 4)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help=f"batch size (default {defaults.batch_size})")
    parser.add_argument("--lr", type=float, default=defaults.lr, help=f"Adam learning rate (default {defaults.lr:g})")
    parser.add_argument("--head-prior", type=float, default=defaults.head_prior,
                        help=f"initial lesion probability of the output layer (default {defaults.head_prior:g}; 0: PyTorch's init)")
    parser.add_argument("--augment", action=argparse.BooleanOptionalAction, default=defaults.augment,
                        help="on-the-fly flips, rotations and translations while training (default on)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="cohort, split and training seed (default 0)")
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
        out=str(args.out), patients=args.patients, epochs=args.epochs, size=args.size, width=args.width,
        depth=args.depth, batch_size=args.batch_size, lr=args.lr, head_prior=args.head_prior, augment=args.augment,
        seed=args.seed, real_scan=args.real,
        workers=args.workers, threads=args.threads, progress=not args.no_progress,
    )
    report = run_demo(settings)
    print(f"report: {report}")
    return 0
