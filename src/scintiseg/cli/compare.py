"""``scintiseg compare BASELINE FOLLOWUP --out DIR``: a follow-up scan read against its baseline; ``scintiseg compare
PRED_ROOT --out DIR``: every patient's successive scans in a folder of predictions."""

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
            "Writes OUT/comparison.json, OUT/comparison.html and, for DICOM scans, OUT/sr.dcm (the follow-up's "
            "measurements, each persisting lesion carrying its baseline lesion's tracking UID) and OUT/gsps.dcm (the "
            "follow-up's outlines on its images, a layer per status, for a PACS). Given one folder of "
            "predictions instead (the folder "
            "scintiseg predict wrote a batch into), the folders are grouped by patient ID, ordered by study date, and "
            "each scan is compared with the one before it into OUT/<patient>_<baseline>_to_<follow-up>, with "
            "OUT/summary.csv (its rows also read each comparison with the next: the next scan's new lesions, "
            "whether this scan's new lesions are seen again, PCWG3's 2+2 pattern) and a page per patient over time, "
            "OUT/<patient>_series.html (the BSI against the study date). Given three or more folders, they are one "
            "patient's scans in the order given (image exports carry no patient ID or date to group them by), "
            "compared the same way into OUT. Exit code 0: written; 1: some comparisons of a batch or series failed; "
            "2: bad input (nothing written)."
        ),
    )
    parser.add_argument("baseline", metavar="BASELINE",
                        help="the earlier scan's prediction folder (or, alone, a folder of prediction folders)")
    parser.add_argument("follow_up", metavar="FOLLOWUP", nargs="?", default=None,
                        help="the later scan's prediction folder")
    parser.add_argument("later", metavar="LATER", nargs="*", default=[],
                        help="later scans' prediction folders, in order: a series of one patient's scans, each "
                             "compared with the one before, as a batch compares a patient's")
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
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def _said(results: list, out: str) -> int:
    """The lines of a batch or a series: failures, each 2+2 pattern, each comparison's warnings (whose outlines, one
    study twice: since session 62), the counts; exit 1 when a comparison failed."""
    counts = {status: sum(r.status == status for r in results) for status in ("compared", "left out", "failed")}
    for result in results:
        for warning in (result.record.get("summary") or {}).get("warnings") or []:  # session 62
            print(f"{result.output}: warning: {warning}", file=sys.stderr)
        if result.status == "failed":
            print(f"scintiseg compare: {result.error}", file=sys.stderr)
        elif result.series is not None and result.series.two_plus_two:
            print(f"{result.patient_id or 'the patient'}: {result.series.new_lesions} new lesions on "
                  f"{result.follow_up.name}, {result.series.next_new_lesions} more on the next scan "
                  f"{result.series.days_to_next} days later: PCWG3's 2+2 pattern, for a reader to confirm",
                  file=sys.stderr)
    pages = sorted({r.series_page for r in results if r.series_page})
    print(f"{counts['compared']} comparison(s) written, {counts['left out']} folder(s) left out, "
          f"{counts['failed']} failed; summary: {out}/summary.csv"
          + (f"; {len(pages)} patient page(s) over time: {out}/{pages[0] if len(pages) == 1 else '<patient>_series.html'}"
             if pages else ""), file=sys.stderr)
    return 1 if counts["failed"] else 0


def run(args: argparse.Namespace) -> int:
    from scintiseg.errors import ScintisegError  # lazy: start-up time
    from scintiseg.report.follow_up_batch import compare_batch  # lazy: start-up time
    from scintiseg.report.follow_up_folder import compare_folders, summary_line  # lazy: start-up time

    if args.follow_up is None or args.later:  # a folder of prediction folders, or a series of three or more
        if args.baseline_scan or args.follow_up_scan:
            raise ScintisegError("--baseline-scan and --follow-up-scan name one pair's files: give BASELINE and "
                                 "FOLLOWUP alone", path=args.baseline)
        if args.later:
            from scintiseg.report.follow_up_batch import compare_series  # lazy: start-up time

            results = compare_series([args.baseline, args.follow_up, *args.later], args.out, model=args.model,
                                     engine=args.engine)
        else:
            results = compare_batch(args.baseline, args.out, model=args.model, engine=args.engine,
                                    progress=not args.quiet)
        return _said(results, args.out)

    record = compare_folders(args.baseline, args.follow_up, args.out, model=args.model, engine=args.engine,
                             baseline_scans=args.baseline_scan, follow_up_scans=args.follow_up_scan)
    print(f"compared: {summary_line(record)} -> {args.out}", file=sys.stderr)
    for warning in record["summary"]["warnings"]:  # one side a reader's, one study twice (session 62)
        print(f"scintiseg compare: warning: {warning}", file=sys.stderr)
    return 0
