"""``scintiseg review PRED_DIR --out DIR``: the report again from a reader's corrected outlines."""

from __future__ import annotations

import argparse
import math
import sys

from scintiseg.errors import ScintisegError

HELP = "write a prediction's report again from the outlines a reader corrected in its LabelMe files"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``review``."""
    parser = subparsers.add_parser(
        "review",
        help=HELP,
        description=(
            "After a reader has corrected a prediction's outlines in LabelMe (PRED_DIR/ANT.labelme.json, "
            "POST.labelme.json: false calls deleted, outlines redrawn, missed lesions drawn, a left-out call "
            "relabelled 'lesion'), write every output again into OUT from those outlines: lesion table, regions, BSI, "
            "Soloway grade, pairs, HTML, DICOM SR and GSPS. The scan is read again from the file the report names and "
            "predicted again with the report's settings (regions, probabilities, triage score); report.json's "
            "'review' says what the reader changed and each lesion's 'origin'. Exit code 0: written; 1: some scan "
            "folders of a batch failed; 2: bad input (nothing written)."
        ),
    )
    parser.add_argument("folder", metavar="PRED_DIR",
                        help="one scan's output folder of scintiseg predict, or the folder it wrote them into (every "
                             "scan folder a reader edited is reviewed into OUT/<name>, with OUT/summary.csv and "
                             "OUT/worklist.html, the list of the reviewed reports)")
    parser.add_argument("--out", required=True,
                        help="output folder for the reviewed report (not PRED_DIR; one holding a review a reader "
                             "signed only with the same --reader)")
    parser.add_argument("--scan", action="append", default=None, metavar="FILE",
                        help="the scan file, when it is no longer where the report says (repeat for a study's ANT "
                             "and POST files)")
    parser.add_argument("--model", default=None,
                        help="the model that made the prediction, when it was not the shipped one (run folder, "
                             "checkpoint or .onnx)")
    parser.add_argument("--engine", choices=("torch", "onnx", "onnx-int8"), default=None,
                        help="inference engine (default: the report's)")
    parser.add_argument("--reader", default=None, metavar="NAME",
                        help="the reviewing reader's name (DICOM person name, e.g. Doe^Jane): on the page, and the SR "
                             "marked VERIFIED by them")
    parser.add_argument("--organization", default=None, help="the reader's organization (the SR's verifying "
                                                                "organization)")
    parser.add_argument("--no-dicom", action="store_true", help="do not write DICOM SR/GSPS (nor report_pdf.dcm)")
    parser.add_argument("--pdf", action="store_true",
                        help="also write the reviewed report as report.pdf and, for DICOM input, report_pdf.dcm (a DICOM "
                             "Encapsulated PDF), as scintiseg predict --pdf does")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path  # lazy: start-up time

    from scintiseg.predict.review import review_line  # lazy: start-up time
    from scintiseg.report.review_folder import review_batch, review_folder  # lazy: start-up time

    if not (Path(args.folder) / "report.json").is_file() and Path(args.folder).is_dir():  # a batch's output folder
        if args.scan:
            raise ScintisegError("--scan names one scan's file: review one prediction folder at a time",
                                 path=args.folder)
        results = review_batch(args.folder, args.out, model=args.model, engine=args.engine, dicom=not args.no_dicom,
                               reader=args.reader, organization=args.organization, progress=not args.quiet,
                               pdf=args.pdf)
        counts = {status: sum(r.status == status for r in results) for status in ("reviewed", "not edited", "failed")}
        for result in results:
            if result.status == "failed":
                print(f"scintiseg review: {result.error}", file=sys.stderr)
        print(f"{counts['reviewed']} scan(s) reviewed, {counts['not edited']} not edited (left out), "
              f"{counts['failed']} failed; summary: {args.out}/summary.csv, list: {args.out}/worklist.html",
              file=sys.stderr)
        return 1 if counts["failed"] else 0
    written, record, before = review_folder(args.folder, args.out, model=args.model, engine=args.engine,
                                            scans=args.scan, dicom=not args.no_dicom, reader=args.reader,
                                            organization=args.organization, pdf=args.pdf)
    bsi = written["summary"].get("bsi_percent")
    was = _recorded_bsi(before)
    whose = "earlier review" if "review" in before else "network"  # the BSI of the report gone over (session 62)
    bsi_text = "" if bsi is None else f"; BSI {bsi:.3g} %" + ("" if was is None else f" ({whose}: {was:.3g} %)")
    print(f"reviewed: {review_line(record)}{bsi_text} -> {args.out}", file=sys.stderr)
    return 0


def _recorded_bsi(report: dict) -> float | None:
    """The BSI the report gone over records (``summary.bsi_percent``), or None where it holds no finite number: a
    hand-edited ``report.json`` may hold anything there (session 66: a summary of another JSON type, or a BSI of text
    or 10**400, was a traceback after the review had been written)."""
    summary = report.get("summary")
    value = summary.get("bsi_percent") if isinstance(summary, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        value = float(value)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None
