"""A prediction's folder written again from a reader's corrected outlines (``scintiseg review``): the steps around
:mod:`scintiseg.predict.review`, which says what is read, what is computed again and how origins are told.

:func:`review_batch` does it for a batch's output folder (``scintiseg predict``'s ``OUT``, one folder per scan): each
scan folder a reader edited is reviewed into ``OUT2/<name>``, the model loaded once; a folder nobody edited is listed
``not edited`` and left out (reviewing it would sign outlines nobody looked at: name its folder to confirm it as it
stands), a folder that cannot be reviewed (its ``report.json`` damaged or its settings unusable among them) is
listed ``failed`` with its one-line reason, and ``OUT2/summary.csv`` has a row per folder (``predict``'s columns).
``OUT2/worklist.html`` lists them for a reader (:mod:`scintiseg.report.worklist`, ``kind="review"``): the reviewed scans
with their reviewed values and reader, the failed folders first, the folders not edited last, linked in ``OUT``
(audit 74: a reviewed batch had no list of its signed reports).
A folder whose scan moved is listed ``failed`` saying to review that folder alone with ``--scan`` (session 62: it said
"give it with --scan", an option a batch refuses).

Session 62 besides: an ``--out`` that holds a review a reader signed (``--reader``: a VERIFIED SR) is refused unless
this run is signed by the same reader (before, a run without ``--reader`` silently replaced it with an unsigned one);
the outlines a reader labelled as no lesion (``bladder``, ...) are kept in the reviewed LabelMe file, as drawn (before,
only their count in ``report.json`` kept them); ``review.network_outlines`` says per view where the network's own
lesions came from (:class:`~scintiseg.report.predicted_again.PredictedAgain`).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.io.atomic import write_text_atomic
from scintiseg.io.labelme import annotation_to_json
from scintiseg.io.not_scans import REPORT_NAME, prediction_report
from scintiseg.predict.loader import LoadedModel, load_model
from scintiseg.predict.prediction import Prediction
from scintiseg.predict.review import LABELME_NAME, is_edited, not_lesion_findings, review_record, reviewed
from scintiseg.report.batch import SUMMARY_NAME, ScanResult, summary_csv, write_published
from scintiseg.report.predicted_again import damaged_report, predict_again, report_of
from scintiseg.report.worklist import write_worklist
from scintiseg.scan import Annotation, Shape

def review_folder(folder: str | Path, out: str | Path, *, model: str | Path | LoadedModel | None = None,
                  engine: str | None = None, scans: list[str | Path] | None = None,
                  dicom: bool = True, reader: str | None = None, organization: str | None = None,
                  check_model: bool | None = None, scan_flag: str = "--scan", pdf: bool = False) -> tuple[dict, dict, dict]:
    """Write ``folder``'s prediction again into ``out`` from the reader's outlines in its LabelMe files.

    Args:
        folder: one scan's output folder of ``scintiseg predict`` (its LabelMe files edited by a reader).
        out: the reviewed folder (not ``folder``; an existing one only an earlier report of the same scan, replaced
            when complete, and not a review a reader signed unless ``reader`` is that reader: session 62).
        model: the model that predicted: None, the shipped one, checked against the report's; a run, checkpoint or
            ONNX file, or a loaded model, taken as given.
        engine: the inference engine (default: the report's).
        scans: the scan file(s), when no longer where the report says.
        dicom: write the SR and GSPS for DICOM input.
        reader: the reviewing reader's name (DICOM person name, ``Family^Given``): recorded in the review, shown on
            the page, and the SR's person observer and verifying observer (VERIFIED, COMPLETE); None: an
            UNVERIFIED SR, as a prediction's.
        organization: the reader's organization (the SR's verifying organization; "unknown" when not given).
        check_model: whether the model must be the report's (default: when ``model`` is None, the shipped one).
        scan_flag: how the scan is given when it is not where the report says (named in that refusal).
        pdf: also write the reviewed report as ``report.pdf`` (and ``report_pdf.dcm`` for DICOM input with ``dicom``).

    Returns:
        The reviewed report as written, the review record (:func:`~scintiseg.predict.review.review_record`) and the
        prediction's own report.

    Raises:
        ScintisegError: one line, nothing written (:mod:`scintiseg.predict.review` lists the cases).
    """
    folder, out = Path(folder), Path(out)
    if reader is not None and not reader.strip():
        raise ScintisegError("--reader is empty: give the reviewing reader's name, e.g. Doe^Jane")
    report = report_of(folder)
    if out.resolve() == folder.resolve():
        raise ScintisegError("--out must be another folder than PRED_DIR (the reader's files stay as they are)",
                             path=out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and prediction_report(out) is None)):
        raise ScintisegError("exists and is not a scintiseg report folder: give a new --out", path=out)
    there = prediction_report(out) if out.is_dir() else None
    if there is not None and not same_scan(there, report):  # its files, a reader's edits too, would be replaced
        raise ScintisegError("holds the report of another scan: give a new --out (a review goes over its own scan's "
                             "report only)", path=out)
    signed = _signed_by(there)
    if signed and signed != (reader or "").strip():  # a signed report replaced by another's or an unsigned one
        raise ScintisegError(
            f"holds a review signed by {signed} (a VERIFIED SR): give another --out to keep it, or --reader {signed} "
            f"to sign the review again" + (f" (this run's reader is {reader.strip()})" if reader else
                                            " (this run names no reader)"), path=out)
    again = predict_again(folder, model=model, engine=engine, scans=scans, check_model=check_model,
                          scan_flag=scan_flag)
    prediction, network = again.prediction, again.network
    earlier = report.get("review") if isinstance(report.get("review"), dict) else None
    record = review_record(prediction, network, folder.resolve(), earlier=earlier)
    record["network_outlines"] = dict(again.network_sources)
    for view, benign in again.not_lesions.items():
        if benign and view in record["views"]:  # the reader's relabelled calls: part of what the reader decided
            record["views"][view]["not_lesions"] = dict(benign)
    benign_found = not_lesion_findings(prediction, {view: shapes for view, shapes in again.not_lesion_shapes.items()
                                                    if view in record["views"]})
    if benign_found:  # each with its place, for the words of the report (audit 74, finding 3)
        record["not_lesion_findings"] = benign_found
    for view, dismissed in again.left_out_dismissed.items():
        if dismissed and view in record["views"]:  # left-out calls the reader deleted: no longer listed (session 65)
            record["views"][view]["left_out_dismissed"] = dismissed
    if reader:
        record["reader"] = {"name": reader.strip(), "organization": organization}
    prediction = reviewed(prediction, record)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = write_published(prediction, out, dicom, pdf=pdf,  # the reader's outlines of no lesion put back first
                              finish=lambda tmp: _keep_not_lesions(tmp, prediction, again.not_lesion_shapes))
    return written, record, report


def _signed_by(report: dict | None) -> str:
    """The reader who signed the review ``report`` holds (``review.reader.name``), or ``""``."""
    review = (report or {}).get("review")
    signer = review.get("reader") if isinstance(review, dict) else None
    name = signer.get("name") if isinstance(signer, dict) else None
    return name.strip() if isinstance(name, str) else ""


def _keep_not_lesions(folder: Path, prediction: Prediction, shapes: dict[str, list[Shape]]) -> None:
    """Add to each reviewed view's LabelMe file in ``folder`` the outlines its reader labelled as no lesion
    (``bladder``, ``degenerative``, ...), as drawn (their ``group_id`` dropped: the network's lesion ids are
    renumbered). Session 62: they were dropped from the file, only ``review.views.V.not_lesions`` counting them, so a
    review of the review, or an import, no longer saw what the reader had decided."""
    for view, kept in shapes.items():
        if not kept or view not in prediction.views:
            continue
        path = folder / LABELME_NAME.format(view=view)
        document = json.loads(path.read_text(encoding="utf-8"))
        extra = annotation_to_json(Annotation(shapes=list(kept), image_shape=prediction.views[view].labels.shape,
                                              view=view))["shapes"]
        document["shapes"] = list(document.get("shapes") or []) + extra
        write_text_atomic(path, json.dumps(document, indent=1) + "\n")


def same_scan(one: dict, other: dict) -> bool:
    """Whether two reports are of one scan: the same source file, its path resolved (session 61: `review --out`
    another study's prediction folder replaced its report and LabelMe files), and not two study UIDs that differ. A
    study UID alone does not make one scan (session 73: a study holds several, a whole body and a spot view)."""
    uids = [str(r.get("study_uid") or "") for r in (one, other)]
    if all(uids) and uids[0] != uids[1]:
        return False
    sources = [(r.get("input") or {}).get("source") if isinstance(r.get("input"), dict) else None for r in (one, other)]
    if not all(isinstance(source, str) and source for source in sources):
        return False
    return sources[0] == sources[1] or Path(sources[0]).resolve() == Path(sources[1]).resolve()


def _alone(folder: Path, out: Path) -> str:
    """How a batch's folder whose scan moved is given its scan (``--scan`` is refused for a batch; session 62: the
    refusal said "give it with --scan")."""
    return f"--scan in a review of this folder alone: scintiseg review {folder} --out {out} --scan FILE"


def review_batch(root: str | Path, out: str | Path, *, model: str | Path | None = None, engine: str | None = None,
                 dicom: bool = True, reader: str | None = None, organization: str | None = None,
                 progress: bool = True, pdf: bool = False) -> list[ScanResult]:
    """Review every edited scan folder of a batch's output folder ``root`` into ``out/<name>`` (module docstring);
    one :class:`~scintiseg.report.batch.ScanResult` per scan folder, ``out/worklist.html`` and ``out/summary.csv``
    written. ``dicom``, ``reader``,
    ``organization`` and ``pdf`` as :func:`review_folder` takes them.

    Raises:
        ScintisegError: ``root`` holds no prediction folder (or is one whose ``report.json`` is damaged), or ``out``
            is ``root``.
    """
    root, out = Path(root), Path(out)
    folders: list[Path] = []
    damaged: dict[Path, ScintisegError] = {}  # a report.json there but unreadable: listed failed, as it says
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        if prediction_report(folder) is not None:
            folders.append(folder)
        elif (error := damaged_report(folder)) is not None:
            damaged[folder] = error
            folders.append(folder)
    if not folders:
        if (root / REPORT_NAME).exists():
            report_of(root)  # a damaged one says so
        raise ScintisegError("no scintiseg report.json here nor in its folders: give a prediction's folder, or the "
                             "folder scintiseg predict wrote them into", path=root)
    if out.resolve() == root.resolve():
        raise ScintisegError("--out must be another folder than PRED_DIR (the reader's files stay as they are)",
                             path=out)
    loaded = load_model(model, engine=engine or "onnx")
    out.mkdir(parents=True, exist_ok=True)
    results: list[ScanResult] = []
    for folder in tqdm(folders, desc="review", unit="scan", disable=not progress or len(folders) < 2, file=sys.stderr):
        start = time.perf_counter()
        if folder in damaged:
            results.append(ScanResult(folder, "failed", error=str(damaged[folder])))
            continue
        if not is_edited(folder):
            results.append(ScanResult(folder, "not edited", error="no LabelMe file edited: name the folder to "
                                                                  "confirm it as it stands"))
            continue
        try:
            written, _, _ = review_folder(folder, out / folder.name, model=loaded, check_model=model is None,
                                          dicom=dicom, reader=reader, organization=organization,
                                          scan_flag=_alone(folder, out / folder.name), pdf=pdf)
        except ScintisegError as exc:
            results.append(ScanResult(folder, "failed", error=str(exc), seconds=time.perf_counter() - start))
            continue
        results.append(ScanResult(folder, "reviewed", folder.name, written["summary"], ",".join(written["views"]),
                                  time.perf_counter() - start))
    write_worklist(out, [result.row() for result in results], kind="review")  # before the summary, as predict's
    write_text_atomic(out / SUMMARY_NAME, summary_csv(results))
    return results
