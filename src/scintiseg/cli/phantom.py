"""``scintiseg phantom``: generate a phantom data set; ``scintiseg phantom calibrate``: compare with a real scan."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scintiseg.cli.arguments import seed
from scintiseg.errors import ScintisegError
from scintiseg.phantom.config import PROFILE_HELP, PhantomConfig, profile_with


def _load_config(args: argparse.Namespace) -> PhantomConfig:
    """The ``--profile``, with the ``--config`` YAML laid over it (nested like ``phantom_config.json``)."""
    return profile_with(args.profile, getattr(args, "config", None))


def _generate(args: argparse.Namespace) -> int:
    from scintiseg.io.dataset import MANIFEST_NAME  # lazy: start-up time
    from scintiseg.phantom.cohort import write_cohort  # lazy: start-up time

    if args.out is None:
        raise ScintisegError("--out DIR is required")
    if args.workers is not None and args.workers < 1:
        raise ScintisegError(f"--workers must be at least 1 (1: in this process), got {args.workers}")
    if (Path(args.out) / MANIFEST_NAME).exists():  # its manifest and same-named files would be replaced (session 61)
        raise ScintisegError(f"already holds a data set ({MANIFEST_NAME}): give a new --out folder, or remove this one "
                             "first", path=args.out)
    config = _load_config(args)
    manifest = write_cohort(args.patients, args.out, seed=args.seed, config=config, workers=args.workers,
                            progress=sys.stderr.isatty() or args.patients > 20)
    lesions = sum(len(c.meta.get("lesions", [])) for c in manifest.cases)
    print(f"wrote {len(manifest.cases)} patients ({lesions} lesions) to {args.out}")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from scintiseg.phantom.calibrate import calibrate, format_table  # lazy: start-up time

    config = _load_config(args)
    report = calibrate(args.real, config=config, seed=args.seed, out=args.out)
    print(format_table(report))
    if args.out:
        print(f"wrote {Path(args.out) / 'calibration.png'} and calibration.json")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``phantom`` (generate) and ``phantom calibrate``."""
    profiles = "; ".join(f"{k}: {v}" for k, v in PROFILE_HELP.items()).replace("%", "%%")  # argparse formats help
    parser = subparsers.add_parser(
        "phantom",
        help="generate synthetic 99mTc-MDP whole-body scans with lesion masks",
        description="Generate a data set of physics-based phantom bone scans (ANT + POST DICOM, LabelMe, masks, "
        "region and lesion-instance maps, dataset.json). Same seed, same bytes. See docs/phantom.md.",
    )
    parser.add_argument("--patients", type=int, default=10, help="number of patients (default 10)")
    parser.add_argument("--out", help="output data-set folder")
    parser.add_argument("--seed", type=seed, default=0, help="cohort seed (default 0)")
    parser.add_argument("--profile", default="default", help=f"configuration profile ({profiles})")
    parser.add_argument("--config", help="YAML file overriding profile settings (nested like phantom_config.json)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all available CPUs)")
    parser.set_defaults(func=_generate)
    actions = parser.add_subparsers(dest="phantom_command", metavar="SUBCOMMAND")
    cal = actions.add_parser(
        "calibrate",
        help="compare a phantom scan with a real one (counts, percentiles, body size, contrast, noise)",
        description="Generate one phantom patient at the real scan's count level and compare total counts, count "
        "percentiles inside the body, body height and width, a bone-to-soft-tissue estimate and noise; "
        "with --out, write calibration.png (side by side) and calibration.json.",
    )
    cal.add_argument("--real", required=True, help="real whole-body scan (any file scintiseg reads)")
    cal.add_argument("--out", help="folder for calibration.png and calibration.json")
    cal.add_argument("--seed", type=seed, default=0, help="phantom seed (default 0)")
    cal.add_argument("--profile", default="default", help="configuration profile")
    cal.add_argument("--config", help="YAML overrides")
    cal.set_defaults(func=_calibrate)
