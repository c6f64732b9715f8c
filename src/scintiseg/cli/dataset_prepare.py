"""Preparation subcommands of ``scintiseg dataset``: ``crop`` and ``augment``.

``cli/dataset.py`` calls :func:`register` with its subparsers, so these read as
``scintiseg dataset crop DIR --out DIR2`` and ``scintiseg dataset augment DIR --out DIR2``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from scintiseg.cli.arguments import seed
from scintiseg.errors import ScintisegError


def register(dataset_subparsers: argparse._SubParsersAction) -> None:
    """Add ``dataset crop`` and ``dataset augment`` to the ``dataset`` command's subparsers."""
    crop = dataset_subparsers.add_parser(
        "crop",
        help="turn a whole-body data set into a thoracic-crop data set",
        description="Crop every case of a whole-body data set to its SIZE x SIZE thoracic region (paper B "
        "§2.1) and write a new data set in the same layout: images as multi-frame NM DICOM, masks, region and "
        "instance maps and LabelMe annotations cut with the same boxes, the boxes stored in each case's "
        "meta['crop'] and the parent case in meta['parent_case'].",
    )
    crop.add_argument("dataset", type=Path, metavar="DIR", help="whole-body data-set folder (with dataset.json)")
    crop.add_argument("--out", required=True, type=Path, metavar="DIR2", help="new data-set folder")
    crop.add_argument("--size", type=int, default=256, help="crop size in pixels (default 256)")
    crop.add_argument(
        "--workers", type=int, default=1, help="processes to use (default 1; 0 = one per CPU core)"
    )
    crop.set_defaults(func=run_crop)

    augment = dataset_subparsers.add_parser(
        "augment",
        help="expand a data set by flips, rotations and translations (paper B D1 -> D2)",
        description="Write a data set FACTOR times as large: every case plus FACTOR - 1 copies flipped, "
        "rotated and translated together with their masks, maps and annotations (paper B §3.2.1). Copies "
        "keep their patient id (splits stay patient-level) and are marked origin='augment', synthetic, with "
        "meta['parent_case'] and the transform in meta['augment'].",
    )
    augment.add_argument("dataset", type=Path, metavar="DIR", help="data-set folder (with dataset.json)")
    augment.add_argument("--out", required=True, type=Path, metavar="DIR2", help="new data-set folder")
    augment.add_argument("--factor", type=int, default=20, help="output cases per input case (default 20)")
    augment.add_argument("--seed", type=seed, default=0, help="seed of the random transforms (default 0)")
    augment.add_argument("--max-angle", type=float, default=10.0, help="largest rotation in degrees (default 10)")
    augment.add_argument(
        "--max-shift", type=float, default=0.1, help="largest translation as a fraction of the size (default 0.1)"
    )
    augment.add_argument("--hflip-prob", type=float, default=0.5, help="probability of a left-right flip (0.5)")
    augment.add_argument("--vflip-prob", type=float, default=0.0, help="probability of a top-bottom flip (0)")
    augment.set_defaults(func=run_augment)


def run_crop(args: argparse.Namespace) -> int:
    from scintiseg.prepare.crop_dataset import crop_dataset  # lazy: start-up time

    if args.size <= 0:
        raise ScintisegError(f"--size must be positive, got {args.size}")
    if args.workers < 0:
        raise ScintisegError(f"--workers must be 0 (one per CPU core) or more, got {args.workers}")
    workers = args.workers if args.workers > 0 else (os.cpu_count() or 1)
    from scintiseg.io.dataset import load_manifest  # lazy: start-up time

    total = len(load_manifest(args.dataset).cases)
    manifest = crop_dataset(args.dataset, args.out, size=args.size, workers=workers)  # warns per skipped case
    skipped = total - len(manifest.cases)
    print(f"{len(manifest.cases)} cases cropped to {args.size} x {args.size} -> {args.out}"
          + (f"; {skipped} skipped (named above and in dataset.json's description)" if skipped else ""))
    return 0


def run_augment(args: argparse.Namespace) -> int:
    from scintiseg.prepare.augment_dataset import augment_dataset  # lazy: start-up time

    manifest = augment_dataset(
        args.dataset,
        args.out,
        factor=args.factor,
        seed=args.seed,
        max_angle=args.max_angle,
        max_shift=args.max_shift,
        hflip_prob=args.hflip_prob,
        vflip_prob=args.vflip_prob,
    )
    print(f"{len(manifest.cases)} cases (x{args.factor}) -> {args.out}")
    return 0
