"""``scintiseg compare BASELINE FOLLOWUP --out DIR``: a follow-up scan read against its baseline."""

from __future__ import annotations

import argparse
import sys

HELP = "compare a patient's follow-up scan with the baseline: new lesions, lesions not seen, BSI change"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``compare``."""
    parser = subparsers.add_parser(
        "compare",
        help=HELP,
        description=(
            "Compare two predictions of one patient's scans (the output folders of scintiseg predict or review, the "
            "earlier first): each follow-up view is registered onto the baseline view by the skeleton-region maps, "
            "each lesion is new, persisting or no longer seen (a lesion outlined on both views counted once), and "
            "the BSI change is given in points and per bone, with the PCWG3 rule the count of new lesions is read "
            "against. Each folder's lesions are the outlines its LabelMe files hold (a reader's corrections count). "
            "Writes OUT/comparison.json and OUT/comparison.html. Exit code 0: written; 2: bad input (nothing written)."
        ),
    )
    parser.add_argument("baseline", metavar="BASELINE", help="the earlier scan's prediction folder")
    parser.add_argument("follow_up", metavar="FOLLOWUP", help="the later scan's prediction folder")
    parser.add_argument("--out", required=True, help="output folder for the comparison")
    parser.add_argument("--baseline-scan", action="append", default=None, metavar="FILE",
                        help="the baseline's scan file, when no longer where its report says (repeat for ANT and POST "
                             "files)")
    parser.add_argument("--follow-up-scan", action="append", default=None, metavar="FILE",
                        help="the follow-up's scan file, when no longer where its report says")
    parser.add_argument("--model", default=None,
                        help="the model that made both predictions, when it was not the shipped one (run folder, "
                             "checkpoint or .onnx)")
    parser.add_argument("--engine", choices=("torch", "onnx", "onnx-int8"), default=None,
                        help="inference engine (default: onnx)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scintiseg.report.follow_up_folder import compare_folders, summary_line  # lazy: start-up time

    record = compare_folders(args.baseline, args.follow_up, args.out, model=args.model, engine=args.engine,
                             baseline_scans=args.baseline_scan, follow_up_scans=args.follow_up_scan)
    print(f"compared: {summary_line(record)} -> {args.out}", file=sys.stderr)
    return 0
