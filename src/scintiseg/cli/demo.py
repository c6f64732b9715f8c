"""``scintiseg demo``: the whole pipeline on phantom data in one command (``make demo``).

Example::

    scintiseg demo --out runs/demo                       # the default demo (about 10 minutes on 2 cores)
    scintiseg demo --out runs/demo-crops --recipe crops  # the crop-trained demo of before issue 13
    scintiseg demo --out /tmp/d --patients 2 --epochs 1 --pool-patients 2 --val-patients 1 \
        --train-profile small --width 4 --size 128 --batch-size 2   # a smoke run
"""

from __future__ import annotations

import argparse

from scintiseg.cli.arguments import seed
from scintiseg.config import add_arguments, from_args
from scintiseg.experiments.demo import DemoSettings, run_demo


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``scintiseg demo``: one flag per :class:`DemoSettings` field."""
    parser = subparsers.add_parser(
        "demo",
        help="phantom test cohort -> train DPU-Net and U-Net -> evaluate -> predict -> report.md",
        description="Train paper A's DPU-Net (fusion + DAC_2 + RMP) and the max-pooling U-Net with the same budget "
        "(default recipe 'synthetic': on domain-randomised phantom patients made on the fly, windows of the whole "
        "body, as the shipped model), evaluate both on the thoracic crops of a held-out phantom cohort, predict "
        "on a held-out whole-body phantom scan and on a real scan, and write OUT/report.md. Finished steps are "
        "skipped, so rerunning an interrupted demo resumes it.",
    )
    # a bad --seed is argparse's usage error, as on every command (cli.arguments.seed); numbers are argparse's too
    add_arguments(parser, DemoSettings, typed=True, types={"seed": seed})
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo with the flags' settings and print where the report is."""
    report = run_demo(from_args(DemoSettings, args))
    print(f"report: {report}")
    return 0
