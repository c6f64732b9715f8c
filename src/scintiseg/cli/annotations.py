"""``scintiseg annotations consensus A.json B.json C.json``: three-reader consensus (paper B §2.2)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scintiseg.io.atomic import write_text_atomic
from scintiseg.io.labelme import read_labelme
from scintiseg.prepare.consensus import DEFAULT_THRESHOLD, consensus


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``annotations`` with its ``consensus`` subcommand."""
    parser = subparsers.add_parser(
        "annotations",
        help="work with physicians' LabelMe annotations (reader consensus)",
        description="Work with physicians' LabelMe annotations.",
    )
    sub = parser.add_subparsers(dest="annotations_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])
    cmd = sub.add_parser(
        "consensus",
        help="accept one reader's labels at random when all readers agree, else flag for re-annotation",
        description="Paper B §2.2: the area difference (1 - IoU) between every pair of readers' lesion curves "
        "must be within the threshold; then one reader's labels are chosen at random (seeded) as ground "
        "truth, otherwise the image is flagged for re-annotation. Lesions are matched between readers; see "
        "docs/io.md. Prints (or writes with --out) the decision and the pairwise table as JSON.",
    )
    cmd.add_argument("readers", nargs="+", metavar="READER.json", help="one LabelMe file per reader (2 or more)")
    cmd.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="largest area difference (default 0.05)")
    cmd.add_argument("--seed", type=int, default=0, help="seed of the random choice of reader (default 0)")
    cmd.add_argument("--label", action="append", default=None, help="lesion label(s) (default: lesion)")
    cmd.add_argument("--root", default=None, help="folder imagePath must stay inside (default: each JSON's folder)")
    cmd.add_argument("--out", default=None, help="write the decision JSON here instead of printing it")
    cmd.set_defaults(func=run_consensus)


def run_consensus(args: argparse.Namespace) -> int:
    annotations = [read_labelme(path, root=args.root) for path in args.readers]
    decision = consensus(annotations, threshold=args.threshold, seed=args.seed, labels=args.label or ["lesion"])
    decision["files"] = [str(Path(p)) for p in args.readers]
    if decision["ground_truth_reader"] is not None:
        decision["ground_truth_file"] = decision["files"][decision["ground_truth_reader"]]
    text = json.dumps(decision, indent=1) + "\n"
    if args.out:
        write_text_atomic(args.out, text)
        print(f"{decision['decision']}: {args.out}")
    else:
        print(text, end="")
    return 0
