"""``scintiseg dataset check|split`` (and the preparation subcommands of :mod:`scintiseg.cli.dataset_prepare`)."""

from __future__ import annotations

import argparse
import json
import sys

from scintiseg.cli import dataset_prepare
from scintiseg.io.dataset import SPLITS_NAME, check_dataset, split_dataset


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``dataset`` with ``check`` and ``split``; ``dataset_prepare`` adds ``augment`` and ``crop``."""
    parser = subparsers.add_parser(
        "dataset",
        help="check, split and prepare a data set folder (dataset.json layout)",
        description="Work on a data set folder with a dataset.json manifest (see docs/io.md).",
    )
    dataset_subparsers = parser.add_subparsers(dest="dataset_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda args: _help(parser))

    check = dataset_subparsers.add_parser(
        "check",
        help="validate every file, size and id of a data set",
        description="Validate a data set: missing files, size mismatches between images and labels, duplicate "
        "ids, mask values, empty annotations, points outside the image. Prints every problem on one line and "
        "a summary table. Exit 0 when valid (warnings allowed), 2 when there are errors.",
    )
    check.add_argument("dir", help="data set folder (holding dataset.json)")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(func=run_check)

    split = dataset_subparsers.add_parser(
        "split",
        help="patient-level train/test split (and folds), written to splits.json",
        description="Split a data set by patient: one patient's images never fall on both sides (also across "
        "folds); GAN and augmented cases always go to train. Writes DIR/splits.json.",
    )
    split.add_argument("dir", help="data set folder (holding dataset.json)")
    split.add_argument("--test", type=float, default=0.2, help="share of patients held out for test (default 0.2)")
    split.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    split.add_argument("--folds", type=int, default=None, help="K-fold cross-validation of the training part")
    split.set_defaults(func=run_split)

    dataset_prepare.register(dataset_subparsers)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_check(args: argparse.Namespace) -> int:
    report = check_dataset(args.dir, progress=sys.stderr.isatty())
    if args.json:
        print(json.dumps({"valid": report.valid, "summary": report.summary,
                          "problems": [vars(p) for p in report.problems]}, indent=1))
        return 0 if report.valid else 2
    for problem in report.problems:
        print(problem)
    if report.summary:
        if report.problems:
            print()
        width = max(len(key) for key in report.summary)
        for key, value in report.summary.items():
            print(f"{key:<{width}}  {value}")
    print(f"\n{'valid' if report.valid else 'INVALID'}: {len(report.errors)} errors, {len(report.warnings)} warnings")
    return 0 if report.valid else 2


def run_split(args: argparse.Namespace) -> int:
    splits = split_dataset(args.dir, test=args.test, seed=args.seed, folds=args.folds)
    print(f"train {len(splits['train'])} cases, test {len(splits['test'])} cases "
          f"({len(splits['test_patients'])} patients), {len(splits['folds'])} folds -> {args.dir}/{SPLITS_NAME}")
    return 0
