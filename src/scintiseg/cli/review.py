"""``scintiseg review PRED_DIR --out DIR``: the report again from a reader's corrected outlines."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from scintiseg.errors import ScintisegError

HELP = "write a prediction's report again from the outlines a reader corrected in its LabelMe files"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``review``."""
    parser = subparsers.add_parser(
        "review",
        help=HELP,
        description=(
            "After a reader has corrected a prediction's outlines in LabelMe (PRED_DIR/ANT.labelme.json, "
            "POST.labelme.json: false calls deleted, outlines redrawn, missed lesions drawn, a left-out call relabelled "
            "'lesion'), write every output again into OUT from those outlines: lesion table, regions, BSI, Soloway "
            "grade, pairs, HTML, DICOM SR and GSPS. The scan is read again from the file the report names and predicted "
            "again with the report's settings (regions, probabilities, triage score); report.json's 'review' says what "
            "the reader changed and each lesion's 'origin'. Exit code 0: written; 2: bad input (nothing written)."
        ),
    )
    parser.add_argument("folder", metavar="PRED_DIR", help="one scan's output folder of scintiseg predict")
    parser.add_argument("--out", required=True, help="output folder for the reviewed report (not PRED_DIR)")
    parser.add_argument("--scan", action="append", default=None, metavar="FILE",
                        help="the scan file, when it is no longer where the report says (repeat for a study's ANT "
                             "and POST files)")
    parser.add_argument("--model", default=None,
                        help="the model that made the prediction, when it was not the shipped one (run folder, "
                             "checkpoint or .onnx)")
    parser.add_argument("--engine", choices=("torch", "onnx", "onnx-int8"), default=None,
                        help="inference engine (default: the report's)")
    parser.add_argument("--no-dicom", action="store_true", help="do not write DICOM SR/GSPS")
    parser.set_defaults(func=run)


def _same_model(report_model: dict, loaded: dict) -> bool:
    """Whether the report's model and the loaded one are the same network and weights file (by name)."""
    def key(info: dict) -> tuple:
        return (info.get("name"), str(info.get("model_config")), info.get("epoch"), Path(str(info.get("source"))).name)

    return key(report_model) == key(loaded)


def run(args: argparse.Namespace) -> int:
    from dataclasses import fields  # lazy: start-up time

    from scintiseg.io.not_scans import prediction_report  # lazy: start-up time
    from scintiseg.predict.loader import load_model  # lazy: start-up time
    from scintiseg.predict.pipeline import PredictSettings, predict_scan  # lazy: start-up time
    from scintiseg.predict.review import (  # lazy: start-up time
        network_outlines, reader_masks, review_line, review_record, reviewed, scan_as_predicted)
    from scintiseg.report.batch import publish_folder  # lazy: start-up time
    from scintiseg.report.outputs import write_outputs  # lazy: start-up time

    folder, out = Path(args.folder), Path(args.out)
    report = prediction_report(folder)
    if report is None:
        raise ScintisegError("no scintiseg report.json here: give the folder scintiseg predict wrote for one scan",
                             path=folder)
    if out.resolve() == folder.resolve():
        raise ScintisegError("--out must be another folder than PRED_DIR (the reader's files stay as they are)",
                             path=out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and prediction_report(out) is None)):
        raise ScintisegError("exists and is not a scintiseg report folder: give a new --out", path=out)
    scan = scan_as_predicted(report, folder, args.scan)
    views = list(report.get("views") or {})
    masks = reader_masks(folder, views, scan.shape)
    network = {view: network_outlines(folder, view, scan.shape) for view in views}
    given = report.get("settings") if isinstance(report.get("settings"), dict) else {}
    names = {field.name for field in fields(PredictSettings)}
    settings = PredictSettings(**{key: value for key, value in given.items() if key in names})
    report_model = report.get("model") if isinstance(report.get("model"), dict) else {}
    engine = args.engine or (report_model.get("engine") if report_model.get("engine") in ("torch", "onnx", "onnx-int8")
                             else "onnx")
    model = load_model(args.model, engine=engine)
    if args.model is None and not _same_model(report_model, dict(model.info)):
        raise ScintisegError(f"the prediction was made by another model ({report_model.get('source')}, epoch "
                             f"{report_model.get('epoch')}) than the shipped one: give it with --model",
                             path=folder / "report.json")
    settings.region_network(engine)  # a region model that cannot load stops here, in one line
    prediction = predict_scan(scan, model, settings, reader_masks=masks)
    if sorted(prediction.views) != sorted(views):
        raise ScintisegError(f"predicted again, the scan gives views {', '.join(prediction.views)}, not the "
                             f"report's {', '.join(views)}", path=folder / "report.json")
    record = review_record(prediction, network, folder.resolve())
    prediction = reviewed(prediction, record)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        written = write_outputs(prediction, tmp, dicom=not args.no_dicom)
        publish_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    bsi = written["summary"].get("bsi_percent")
    before = (report.get("summary") or {}).get("bsi_percent")
    bsi_text = "" if bsi is None else f"; BSI {bsi:.3g} %" + ("" if before is None else f" (network: {before:.3g} %)")
    print(f"reviewed: {review_line(record)}{bsi_text} -> {out}", file=sys.stderr)
    return 0

