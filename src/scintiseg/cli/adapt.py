"""``scintiseg adapt``: fine-tune a lesion model on a site's scans (unlabelled: paper B's Chan-Vese term; normal
scans: labelled negatives and the background of inserted lesions, :mod:`scintiseg.train.hybrid_site`).

Example::

    scintiseg dataset import /archive/bonescans --out data/site            # optional: DICOM -> data set
    scintiseg adapt --unlabelled data/site --out runs/site --epochs 8       # the shipped model, adapted
    scintiseg predict /archive/bonescans --model runs/site --out predictions
    scintiseg adapt --unlabelled data/site --out runs/site --resume         # continue an interrupted run
    scintiseg adapt --normals /archive/normal --out runs/site-normals      # normal scans, lesions inserted
    scintiseg adapt --unlabelled /archive/read --boxes /archive/read_boxes --out runs/site-boxes  # readers' boxes
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scintiseg.cli.arguments import seed
from scintiseg.train.adapt_config import AdaptSettings

HELP = "adapt a lesion model to a site's own scans (unlabelled: paper B's Chan-Vese loss; normal: inserted lesions)"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``scintiseg adapt``."""
    defaults = AdaptSettings()
    parser = subparsers.add_parser(
        "adapt", help=HELP,
        description="Fine-tune a model on a site's scans without outlines: paper B's Chan-Vese term on the site's "
        "windows, the supervised term on phantom windows of the model's own recipe (and on the labelled cases of "
        "a data set, e.g. predictions corrected in LabelMe), so the model does not drift into segmenting bone; and/or on "
        "the site's normal scans as labelled negatives with lesions inserted anew each epoch (hybrid images); and/or "
        "on readers' hot-spot boxes of the scans (--boxes), taught as boxes, not as outlines. "
        "Writes a run folder that `scintiseg predict --model RUN` reads.",
    )
    parser.add_argument("--model", default=None,
                        help="run folder or checkpoint (.pt) to start from; default: the shipped phantom-trained model")
    parser.add_argument("--unlabelled", type=Path, metavar="DIR",
                        help="the site's scans: a folder of DICOM/PNG/TIFF files or a data set (dataset import output)")
    parser.add_argument("--normals", type=Path, metavar="DIR",
                        help="the site's normal scans (reported free of metastases; counts as acquired): each is a "
                        "labelled negative, and each epoch the real background of new inserted lesions (hybrid images)")
    parser.add_argument("--boxes", default=[], metavar="DIR", action="append",
                        help="the readers' hot-spot boxes of the --unlabelled scans (a folder of Pascal VOC XML, "
                        "BS-80K's Abnormal / Normal; repeat for several): each annotated view is taught 'a lesion lies "
                        "in this box' and 'nothing outside the lesion boxes' (the box tightness prior), not an outline")
    parser.add_argument("--include-test", action="store_true",
                        help="adapt on a data set's test split too (default: its test patients are left out, image and "
                        "outline, so `evaluate --split test` measures scans the adapted model never saw)")
    parser.add_argument("--out", required=True, type=Path, metavar="RUN", help="run folder to write")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help=f"adaptation epochs (default {defaults.epochs})")
    parser.add_argument("--alpha", type=float, default=None,
                        help=f"weight of the Chan-Vese term (default: paper B's {defaults.alpha} with --unlabelled; 0 with "
                        "--normals alone, where no window is unlabelled)")
    parser.add_argument("--share", type=float, default=defaults.share,
                        help=f"share of site windows in each epoch (default {defaults.share})")
    parser.add_argument("--lr", type=float, default=defaults.lr, help=f"learning rate (default {defaults.lr:g})")
    parser.add_argument("--pool-patients", type=int, default=defaults.pool_patients,
                        help=f"phantom patients per epoch (default {defaults.pool_patients})")
    parser.add_argument("--val-patients", type=int, default=defaults.val_patients,
                        help=f"phantom validation patients (default {defaults.val_patients})")
    parser.add_argument("--synthetic", default="", metavar="PROFILE",
                        help="phantom profile of the supervised term (default: the model's own)")
    parser.add_argument("--freeze-norm", action=argparse.BooleanOptionalAction, default=defaults.freeze_norm,
                        help="keep the model's BatchNorm statistics fixed while adapting")
    parser.add_argument("--seed", type=seed, default=defaults.seed)
    parser.add_argument("--threads", type=int, default=defaults.threads, help="torch threads on the CPU (0: default)")
    parser.add_argument("--generator-workers", type=int, default=defaults.generator_workers,
                        help="processes generating phantom patients (0: none)")
    parser.add_argument("--device", default=defaults.device, choices=("auto", "cpu", "cuda"))
    parser.add_argument("--resume", action="store_true", help="continue from RUN/checkpoints/last.pt")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def _alpha(args: argparse.Namespace) -> float:
    """``--alpha``, or its default: paper B's with unlabelled scans, 0 without (the term is there to learn from them)."""
    if args.alpha is not None:
        return args.alpha
    return AdaptSettings().alpha if args.unlabelled is not None or args.normals is None else 0.0


def run(args: argparse.Namespace) -> int:
    from scintiseg.predict.loader import SHIPPED_WEIGHTS  # lazy: start-up time
    from scintiseg.predict.pipeline import upright_reader  # lazy: start-up time
    from scintiseg.train.adapt import adapt  # lazy: start-up time

    settings = AdaptSettings(
        epochs=args.epochs, alpha=_alpha(args), share=args.share, lr=args.lr, pool_patients=args.pool_patients,
        val_patients=args.val_patients, synthetic=args.synthetic, seed=args.seed, threads=args.threads,
        generator_workers=args.generator_workers, device=args.device, progress=not args.quiet,
        freeze_norm=args.freeze_norm, normals=str(args.normals) if args.normals else "",
        boxes=[str(b) for b in args.boxes], include_test=args.include_test,
    )
    result = adapt(args.model or SHIPPED_WEIGHTS, args.unlabelled, args.out, settings, resume=args.resume,
                   orient=upright_reader())
    if result.epochs_run:
        print(f"adapted: lowest validation loss {result.best_value:.4f} at epoch {result.best_epoch}; "
              f"run in {result.run_dir} (scintiseg predict SCANS --model {result.run_dir})")
    return 0
