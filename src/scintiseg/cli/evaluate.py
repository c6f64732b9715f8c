"""``scintiseg evaluate``: metrics JSON/CSV and overlay PNGs of a trained run on held-out patients.

Example::

    scintiseg evaluate --run runs/dpunet --data data/crops --split test
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scintiseg.io.dataset import SPLIT_NAMES


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``scintiseg evaluate``."""
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate a trained run (DSC, Recall, CPA, IoU, lesion detection, overlays)",
        description="Evaluate a run's best checkpoint on a split of a data set; writes metrics.json, "
        "per_case.csv and overlays of the best and worst cases to RUN/eval-SPLIT (or --out).",
    )
    parser.add_argument("--run", type=Path, required=True, help="run folder written by `scintiseg train`")
    parser.add_argument("--data", type=Path, default=None, help="data-set folder (default: the run's)")
    parser.add_argument("--split", choices=SPLIT_NAMES, default="test", help="which cases (default: test)")
    parser.add_argument("--checkpoint", choices=("best", "last"), default="best", help="default: best")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: RUN/eval-SPLIT)")
    parser.add_argument("--overlays", type=int, default=3, help="best and worst cases to draw (default: 3)")
    parser.add_argument("--threshold", type=float, default=None, help="probability threshold (default: the run's)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scintiseg.train.evaluate import evaluate_run  # lazy: start-up time (torch, the training loop)

    metrics = evaluate_run(
        args.run, args.data, split=args.split, checkpoint=args.checkpoint, out=args.out,
        overlays=args.overlays, threshold=args.threshold, device=args.device,
    )
    pooled, image, det = metrics["pooled"], metrics["per_image"], metrics["detection"]
    print(f"{metrics['split']}: {metrics['images']} images")
    print("pooled    " + "  ".join(f"{k.upper()} {v:.4f}" for k, v in pooled.items()))
    print("per image " + "  ".join(f"{k.upper()} {v:.4f}" for k, v in image.items()))
    print(f"lesions: sensitivity {det['sensitivity']:.3f}, false positives per image {det['fp_per_image']:.2f}")
    print(f"written to {args.out or args.run / f'eval-{args.split}'}")
    return 0
