"""``scintiseg predict INPUT... --out DIR``: lesions, regions, BSI and reports for whole-body scans."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from scintiseg.config import add_arguments, from_args
from scintiseg.errors import ScintisegError
from scintiseg.predict.settings import PredictSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``predict``."""
    parser = subparsers.add_parser(
        "predict",
        help="find lesions on whole-body scans and write reports (JSON, HTML, LabelMe, PNG, DICOM SR/GSPS, PDF)",
        description=(
            "Predict bone-metastasis lesions on whole-body planar bone scans (DICOM single/multi-frame, 16-bit "
            "PNG/TIFF, 8-bit exports, .npy, .npz, NIfTI, Interfile, MetaImage, raw) or folders of them. Per scan, "
            "OUT/<name>/ receives report.json, report.html, LabelMe JSON, mask and overlay PNGs per view and, for "
            "DICOM input, a TID 1500 SR and a GSPS (with --pdf also report.pdf and, for DICOM input, report_pdf.dcm); "
            "OUT/summary.csv lists every input. A scan whose earlier folder in OUT holds a reader's corrections (an "
            "edited LabelMe file) is not predicted again: its folder is kept, listed 'kept'. Exit code 0: all scans "
            "done (kept ones included); 1: some failed; 2: bad arguments."
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="scan files or folders of scans")
    parser.add_argument("--out", required=True, help="output folder (nothing is written outside it)")
    parser.add_argument("--model", action="append", default=None,
                        help="run folder, checkpoint (.pt) or .onnx file, or 'shipped'; default: the shipped phantom-trained "
                             "model. Given twice or more: the mean of the models' lesion probabilities (docs/predict.md)")
    parser.add_argument("--engine", choices=("torch", "onnx", "onnx-int8"), default="onnx",
                        help="inference engine (default onnx: ONNX Runtime, exported at load; torch: PyTorch; onnx-int8: partly 8-bit, opt-in, docs/predict.md)")
    # --threshold, --min-area, --window, --regions, --region-model, --tiling: the settings report.json records
    add_arguments(parser, PredictSettings, typed=True)
    parser.add_argument(
        "--pixel-spacing", default=None, metavar="MM",
        help="pixel size of inputs without one (PNG, JPEG, TIFF, .npy, raw; .npz, NIfTI that record none): MM or "
             "ROWxCOL; default: a whole-body view's 2.3 m over its rows, else 2.26 mm, with a warning; DICOM files keep "
             "their own unless it is no camera's (a pixel outside 0.1-20 mm, a side under 10 mm or over 4 m)",
    )
    parser.add_argument(
        "--pixel-spacing-over-header", action="store_true",
        help="--pixel-spacing replaces every file's own too (DICOM, Interfile, MetaImage, NIfTI, .npz): for a header "
             "that kept a resampled image's old pixel size, which reads as a short body (report.json input."
             "pixel_spacing_over_header keeps the file's own; review reads the scan the same way)",
    )
    parser.add_argument(
        "--labels", default=None, metavar="CSV", action="append",
        help="image-level labels (a CSV: file, normal/abnormal; or BS-80K's per-folder list 'name label'; repeat for "
             "several files): also measure the triage score's ROC AUC against them and "
             "against the brightest pixel, into OUT/triage.json (docs/predict.md)",
    )
    parser.add_argument(
        "--boxes", default=None, metavar="DIR", action="append",
        help="hot-spot boxes (a folder of Pascal VOC XML, BS-80K's labels: Abnormal / Normal; repeat for several "
             "folders, as BS-80K's ant/ and post/): also measure the "
             "lesion boxes found, the normal boxes called and the calls in no box, into OUT/boxes.json (docs/predict.md)",
    )
    parser.add_argument(
        "--no-split-views", action="store_true",
        help="read a plain image about twice as tall as wide as one view, not as ANT (left) and POST (right) side "
             "by side, one at least three times as wide as tall as it is, not as a body lying on its side, and a "
             "DICOM view as stored, not mirrored back where its orientation attributes say it is stored mirrored "
             "(docs/io.md)",
    )
    parser.add_argument(
        "--no-join-views", action="store_true",
        help="predict every file alone, even a study's ANT and POST stored as two files (by default joined into one "
             "scan: 0123_ANT.png + 0123_POST.png, or two one-view DICOM files of one study; docs/io.md)",
    )
    parser.add_argument(
        "--view", choices=("auto", "ANT", "POST"), default="auto",
        help="the view a one-view image holds (sides and bones are named from it): ANT, POST, or auto (default: "
             "what the file name says, a word ant/anterior or post/posterior, else its folder's beside a folder "
             "named for the other view (wholeBodyANT/, wholeBodyPOST/), else anterior; docs/io.md)",
    )
    parser.add_argument("--no-dicom", action="store_true", help="do not write DICOM SR/GSPS (nor report_pdf.dcm)")
    parser.add_argument(
        "--pdf", action="store_true",
        help="also write each scan's report as report.pdf (A4: images with numbered outlines, BSI and its scope, triage, "
             "QC flags, lesion table, draft findings) and, for DICOM input, report_pdf.dcm, the same PDF as a DICOM "
             "Encapsulated PDF in the scan's study for PACS; opt-in, about 0.17 s more per scan (docs/predict.md)",
    )
    parser.add_argument("--shape", default=None, help="ROWSxCOLS of raw inputs")
    parser.add_argument("--dtype", default=None, help="element type of raw inputs (default uint16)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scintiseg.predict.loader import load_models  # lazy: start-up time
    from scintiseg.predict.view_labels import VIEWS_SWAPPED_FLAG  # lazy: start-up time (the pipeline imports it)
    from scintiseg.io.images import RAW_DTYPES, parse_pixel_spacing, parse_shape  # lazy: start-up time
    from scintiseg.io.read import prediction_read_kwargs  # lazy: start-up time
    from scintiseg.report.batch import run_batch  # lazy: start-up time

    settings = from_args(PredictSettings, args, name_flags=True)  # before any scan: "--threshold must lie in (0, 1]"
    if settings.region_model is not None:  # a region network given is the one that names the bones
        settings = replace(settings, regions="learned")
    spacing = None if args.pixel_spacing is None else parse_pixel_spacing(args.pixel_spacing)
    if args.pixel_spacing_over_header and spacing is None:
        raise ScintisegError("--pixel-spacing-over-header needs --pixel-spacing MM (the size that replaces the files' own)")
    if args.shape is not None:  # the raw inputs' flags are checked once, not file by file (every file skipped)
        parse_shape(args.shape)
    if args.dtype is not None and args.dtype not in RAW_DTYPES:
        raise ScintisegError(f"--dtype must be one of {', '.join(RAW_DTYPES)}, got {args.dtype!r}")
    labels = None
    if args.labels is not None:  # checked before any scan
        from scintiseg.report.image_labels import read_label_files  # lazy: only with --labels (scipy.stats)

        labels = read_label_files(args.labels)
    boxes = None
    if args.boxes is not None:  # checked before any scan
        from scintiseg.io.voc import read_voc_folders  # lazy: only with --boxes

        boxes = read_voc_folders(args.boxes)
    model = load_models(args.model or (), engine=args.engine)
    # the reading read_for_prediction gives the Python API (one function builds both: they cannot drift apart)
    read_kwargs = prediction_read_kwargs(shape=args.shape, dtype=args.dtype, pixel_spacing=spacing,
                                         pixel_spacing_over_header=args.pixel_spacing_over_header,
                                         split_views=not args.no_split_views,
                                         view="name" if args.view == "auto" else args.view)
    settings.region_network(args.engine)  # a region model that cannot load stops here, in one line, before any scan
    results = run_batch(args.inputs, args.out, model, settings, read_kwargs=read_kwargs, dicom=not args.no_dicom,
                        progress=not args.quiet, join=not args.no_join_views, pdf=args.pdf)
    failed = [r for r in results if r.status == "failed"]
    kept = len({r.output for r in results if r.status == "kept"})
    done = sum(r.status == "ok" for r in results)
    scans = len({r.output for r in results if r.status == "ok"})
    what = f"{done} scan(s) predicted" if scans == done else f"{done} files predicted as {scans} scan(s) (a study's ANT and POST files joined)"
    if kept:  # a reader's corrections kept: done, not failed (audit 74: they were failures, exit 1)
        what += f", {kept} kept as a reader corrected them (not predicted again)"
    for result in results:  # a scan whose every side may be the wrong one is said here, not only in its report
        flags = [str(flag) for flag in result.summary.get("qc_flags") or []] if result.status == "ok" else []
        if VIEWS_SWAPPED_FLAG in flags:
            print(f"warning: {result.input}: ANT and POST look named the other way round (views_swapped: the lumbar "
                  "spine stands out less on POST): check the view names; if swapped, every side is the wrong one",
                  file=sys.stderr)
        for flag in flags:  # session 62: said in the report only before
            view = flag.rsplit("_", 1)[-1]
            if flag.startswith("no_upright_head_"):
                print(f"warning: {result.input}: the {view} view shows no upright head while the other does "
                      f"({flag}): if it is stored head-down, its regions and sides are wrong; check the file",
                      file=sys.stderr)
            elif flag.startswith("pixel_spacing_doubtful_"):
                print(f"warning: {result.input}: the {view} view is wider than a camera's field or its body taller "
                      f"than a patient at the pixel size read ({flag}): the pixel size is probably wrong, or two "
                      "views lie side by side in one image; give --pixel-spacing, or the views as two files",
                      file=sys.stderr)
    print(f"{what}, {len(failed)} failed; summary: {args.out}/summary.csv", file=sys.stderr)
    if labels is not None:
        from scintiseg.report.image_labels import evaluate_triage, triage_line, write_triage  # lazy: only with --labels

        result = evaluate_triage(args.out, labels)
        write_triage(args.out, result)
        print(triage_line(result) + f" -> {args.out}/triage.json", file=sys.stderr)
    if boxes is not None:
        from scintiseg.report.box_labels import boxes_line, evaluate_boxes, write_boxes  # lazy: only with --boxes

        result = evaluate_boxes(args.out, boxes)
        write_boxes(args.out, result)
        print(boxes_line(result) + f" -> {args.out}/boxes.json", file=sys.stderr)
    return 1 if failed else 0
