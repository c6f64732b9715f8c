"""``scintiseg evaluate``: metrics JSON/CSV and overlay PNGs of a trained run on held-out patients.

Example::

    scintiseg evaluate --run runs/dpunet --data data/crops --split test
    scintiseg evaluate --predictions nnunet_out --data data/site          # nnU-Net's masks of the test views
    scintiseg evaluate --predictions pred_adapted --against pred_shipped --data data/site --split all   # A vs B
    scintiseg evaluate --predictions pred --region-masks bs80k/masks --class-map classes.json   # region maps
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import SPLIT_NAMES


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``scintiseg evaluate``."""
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate a trained run, or another tool's masks (DSC, Recall, CPA, IoU, lesion detection, overlays)",
        description="Evaluate a run's best checkpoint on a split of a data set; writes metrics.json, "
        "per_case.csv and overlays of the best and worst cases to RUN/eval-SPLIT (or --out). With --predictions, "
        "score another tool's masks instead, one per annotated view named <case>_<VIEW>.nii.gz (or .png): "
        "nnU-Net's predictions of the views `scintiseg dataset export-nnunet` wrote; or a `scintiseg predict` "
        "output folder of the data set's images (the whole pipeline's outlines). With --against B as well, score "
        "B's masks the same way and compare: per metric A, B, A - B with its 95 % paired bootstrap interval over "
        "patients and a verdict, printed and written to OUT/comparison.json and OUT/comparison.md. With --region-masks "
        "and --class-map instead of --data, score the folder's skeleton-region maps (V_regions.png) against a reader's "
        "skeleton masks: Dice per class, macro Dice, pixel accuracy, a confusion table, written to OUT/regions.json "
        "and OUT/regions.md (default OUT: DIR/eval-regions).",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", type=Path, help="run folder written by `scintiseg train`")
    source.add_argument("--predictions", type=Path, metavar="DIR",
                        help="folder of another tool's masks (with --data; split test or all)")
    parser.add_argument("--against", type=Path, metavar="DIR", default=None,
                        help="with --predictions: a second folder of masks of the same views (e.g. the shipped "
                        "model's) to compare A with, patient by patient")
    parser.add_argument("--region-masks", type=Path, metavar="MASKDIR", default=None,
                        help="with --predictions and --class-map: a folder of a reader's skeleton masks (PNG, TIFF or "
                        ".npy label images named for each scan file, <stem>_<VIEW> or <stem>) to score the predicted "
                        "region maps against")
    parser.add_argument("--class-map", type=Path, metavar="MAP.json", default=None,
                        help='with --region-masks: mask value -> {"name": class, "regions": [scintiseg regions merged '
                        'into it]}, e.g. {"1": {"name": "spine", "regions": ["cervical_spine", "thoracic_spine", '
                        '"lumbar_spine"]}}')
    parser.add_argument("--data", type=Path, default=None, help="data-set folder (default: the run's)")
    parser.add_argument("--split", choices=SPLIT_NAMES, default="test", help="which cases (default: test)")
    parser.add_argument("--checkpoint", choices=("best", "last"), default="best", help="default: best")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: RUN/eval-SPLIT or DIR/eval-SPLIT)")
    parser.add_argument("--overlays", type=int, default=3, help="best and worst cases to draw (default: 3)")
    parser.add_argument("--threshold", type=float, default=None, help="probability threshold (default: the run's)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scintiseg.train.evaluate import evaluate_predictions, evaluate_run  # lazy: start-up time (torch, the training loop)

    if args.region_masks is not None or args.class_map is not None:
        return _regions(args)
    if args.overlays < 0:
        raise ScintisegError(f"--overlays must be 0 (none) or more, got {args.overlays}")
    if args.against is not None and args.predictions is None:
        raise ScintisegError("--against compares two folders of masks: give it with --predictions, not --run "
                             "(predict with the run's model first)")
    if args.predictions is not None:
        if args.data is None:
            raise ScintisegError("--predictions needs --data: the data set the masks are scored against")
        if args.threshold is not None or args.checkpoint != "best":
            raise ScintisegError("--threshold and --checkpoint are a run's; --predictions scores masks as they are")
        if args.against is not None:
            return _compare(args)
        metrics = evaluate_predictions(args.predictions, args.data, split=args.split, out=args.out,
                                       overlays=args.overlays)
    else:
        metrics = evaluate_run(
            args.run, args.data, split=args.split, checkpoint=args.checkpoint, out=args.out,
            overlays=args.overlays, threshold=args.threshold, device=args.device,
        )
    pooled, image, det = metrics["pooled"], metrics["per_image"], metrics["detection"]
    left = metrics.get("left_out") or {}
    unit = "views" if args.predictions is not None else "cases"
    not_scored = (f" ({left.get('unknown', 0)} {unit} without an outline and {left.get('pseudo', 0)} pseudo-labelled "
                  "not scored: no person's truth)" if any(left.values()) else "")
    print(f"{metrics['split']}: {metrics['images']} images{not_scored}")
    print("pooled    " + "  ".join(f"{k.upper()} {v:.4f}" for k, v in pooled.items()))
    print("per image " + "  ".join(f"{k.upper()} {v:.4f}" for k, v in image.items()))
    print(f"lesions: sensitivity {det['sensitivity']:.3f}, false positives per image {det['fp_per_image']:.2f}")
    print(f"written to {args.out or (args.run or args.predictions) / f'eval-{args.split}'}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    """``--predictions A --against B``: A's evaluation written as without ``--against``, and the comparison."""
    from scintiseg.experiments.prediction_comparison import compare_prediction_folders, comparison_lines  # lazy: start-up time (torch)

    comparison = compare_prediction_folders(args.predictions, args.against, args.data, split=args.split,
                                            out=args.out, overlays=args.overlays)
    print("\n".join(comparison_lines(comparison)))
    print(f"written to {comparison.folder}")
    return 0


def _regions(args: argparse.Namespace) -> int:
    """``--predictions DIR --region-masks MASKDIR --class-map MAP.json``: the region maps against a reader's masks."""
    if args.predictions is None:
        raise ScintisegError("--region-masks scores a prediction folder's region maps: give it with --predictions DIR")
    if args.region_masks is None or args.class_map is None:
        raise ScintisegError("--region-masks and --class-map go together: the masks, and what their values mean")
    if args.data is not None or args.against is not None or args.threshold is not None or args.checkpoint != "best":
        raise ScintisegError("--region-masks takes --predictions, --class-map and --out only (no --data, --against, "
                             "--threshold or --checkpoint)")
    from scintiseg.report.region_masks import evaluate_region_masks, region_masks_lines  # lazy: start-up time (scipy, scikit-image)

    result, folder = evaluate_region_masks(args.predictions, args.region_masks, args.class_map, out=args.out)
    print("\n".join(region_masks_lines(result, folder)))
    return 0
