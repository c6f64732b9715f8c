"""``scintiseg compare PRED_ROOT --out DIR``: every patient's follow-up scans read against the scan before, for a
folder of predictions (``scintiseg predict``'s or ``review``'s output folder, one folder per scan).

The folders are grouped by the patient ID their reports name and each patient's scans ordered by study date (the
scans' DICOM headers); each scan is compared with the one before it (:mod:`.follow_up_folder`) into
``DIR/<patient>_<baseline>_to_<follow-up>``, the model loaded once and each folder read back once. ``DIR/summary.csv``
has a row per comparison, and one per folder left out with the reason: no patient ID (an image file's ID is its name,
which says nothing of the patient), the patient's only scan here, no
study date among several (their order is unknown: name the pair to compare it), a folder that cannot be read back
(its ``report.json`` damaged, whose patient is then unknown, or its settings unusable among them).
Rows in patient and date order. A patient's comparisons are also read together (:mod:`scintiseg.predict.series`):
each row gives what the next comparison adds, the new lesions of the next scan and its interval, how many of this
scan's new lesions the next scan sees again or no longer sees, and whether the two show PCWG3's 2+2 pattern (two or
more new lesions, then two or more further ones at least six weeks later), which a reader applies when the row's
follow-up is the first scan after treatment starts. A failed comparison breaks the series there: the row before it has no next scan.
Two columns say what went wrong (session 74, a reading physician's audit, finding 13): ``warnings``, on a ``compared``
row, the comparison's warnings (``summary.warnings``: one side a reader's outlines and the other the network's, one
study compared with itself), joined by :data:`WARNINGS_JOIN`; before, the summary had none of them. ``error``, on a
``left out`` or ``failed`` row only, why it was not compared. What reading a folder back warns of (outlines a reader
labelled as no lesion, the network run again for a folder without its masks) is about the folder, not a comparison:
a line on stderr, as ``review`` says it.
Each patient with a comparison also gets ``DIR/<patient>_series.html`` (:mod:`.follow_up_series_html`: the BSI
against the study date and a row per scan, linking each comparison's page), named in the rows' ``series_page``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.io.atomic import write_text_atomic
from scintiseg.io.not_scans import REPORT_NAME, prediction_report
from scintiseg.predict.follow_up import FollowUp
from scintiseg.predict.loader import LoadedModel, load_model
from scintiseg.predict.series import SeriesStep, read_series
from scintiseg.report.batch import SUMMARY_NAME, summary_csv, unique_name
from scintiseg.report.follow_up_folder import check_pair, study_date, write_comparison
from scintiseg.report.follow_up_series_html import series_html
from scintiseg.report.predicted_again import PredictedAgain, damaged_report, predict_again, report_of

#: How a batch or a series names the option for a scan file gone from where its report says: only a pair compared alone
#: takes one.
PAIR_SCAN_FLAGS = "--baseline-scan or --follow-up-scan, comparing its pair alone"

SUMMARY_COLUMNS = (
    "patient_id", "baseline", "follow_up", "status", "output", "baseline_date", "follow_up_date", "interval_days",
    "new_lesions", "persisting_lesions", "lesions_not_seen", "outside_field", "two_or_more_new", "bsi_baseline",
    "bsi_follow_up", "bsi_change_points", "flags", "next_scan_new_lesions", "days_to_next_scan",
    "new_seen_on_next_scan", "new_not_seen_on_next_scan", "pcwg3_2plus2", "series_page", "warnings", "error",
)
#: What joins a comparison's warnings in the summary's ``warnings`` cell (each a sentence holding commas).
WARNINGS_JOIN = " | "


def _blank(value) -> object:
    return "" if value is None else value


@dataclass
class PairResult:
    """One row of the summary: a comparison made, or a folder left out (``baseline`` None) with why."""

    patient_id: str
    follow_up: Path
    status: str
    baseline: Path | None = None
    output: str = ""
    record: dict = field(default_factory=dict)
    error: str = ""
    series: SeriesStep | None = None
    series_page: str = ""

    def row(self) -> dict:
        r = self.record
        s = r.get("summary", {})
        early, late = r.get("baseline", {}), r.get("follow_up", {})
        return {
            "patient_id": self.patient_id, "baseline": "" if self.baseline is None else str(self.baseline),
            "follow_up": str(self.follow_up), "status": self.status, "output": self.output,
            "baseline_date": early.get("study_date") or "", "follow_up_date": late.get("study_date") or "",
            "interval_days": "" if r.get("interval_days") is None else r["interval_days"],
            "new_lesions": s.get("new_lesions", ""), "persisting_lesions": s.get("persisting_lesions", ""),
            "lesions_not_seen": s.get("lesions_not_seen", ""),
            "outside_field": sum((s.get("outside_field") or {}).values()) if s else "",
            "two_or_more_new": s.get("two_or_more_new", ""),
            "bsi_baseline": "" if early.get("bsi_percent") is None else early["bsi_percent"],
            "bsi_follow_up": "" if late.get("bsi_percent") is None else late["bsi_percent"],
            "bsi_change_points": "" if s.get("bsi_change_points") is None else s["bsi_change_points"],
            "flags": ";".join(s.get("flags", [])), **self._series_columns(), "series_page": self.series_page,
            "warnings": WARNINGS_JOIN.join(s.get("warnings") or []), "error": self.error,
        }

    def _series_columns(self) -> dict:
        step = self.series
        if step is None:
            return {}
        pattern = step.two_plus_two
        return {"next_scan_new_lesions": _blank(step.next_new_lesions), "days_to_next_scan": _blank(step.days_to_next),
                "new_seen_on_next_scan": _blank(step.seen_again_next),
                "new_not_seen_on_next_scan": _blank(step.not_seen_next),
                "pcwg3_2plus2": "" if pattern is None else ("yes" if pattern else "no")}


def _patient(report: dict) -> str:
    """The patient ID of a DICOM scan's report ('' for an image file's, whose ID is its name)."""
    patient = report.get("patient") if isinstance(report.get("patient"), dict) else {}
    return str(patient.get("id") or "").strip() if report.get("study_uid") else ""


def _read_together(chain: list[tuple[PairResult, FollowUp]]) -> None:
    """Give each row of a patient's unbroken run of comparisons its series step."""
    steps = read_series([comparison for _, comparison in chain],
                        [row.record.get("interval_days") for row, _ in chain])
    for (row, _), step in zip(chain, steps):
        row.series = step


def _write_series_page(compared: list[PairResult], out: Path, taken: set[str], disclaimer: str | None) -> None:
    """The patient's page over time (:mod:`.follow_up_series_html`), named in each of its rows."""
    page = unique_name(f"{compared[0].patient_id}_series".lstrip("_"), taken) + ".html"
    items = [{"record": row.record, "output": row.output, "step": row.series.record() if row.series else None}
             for row in compared]
    write_text_atomic(out / page, series_html(compared[0].record["patient"], items, disclaimer))
    for row in compared:
        row.series_page = page


def compare_batch(root: str | Path, out: str | Path, *, model: str | Path | None = None, engine: str | None = None,
                  progress: bool = True) -> list[PairResult]:
    """Compare each patient's successive scans among ``root``'s prediction folders into ``out`` (module docstring).

    Raises:
        ScintisegError: ``root`` holds no prediction folder (or is one whose ``report.json`` is damaged), or ``out``
            is ``root``.
    """
    root, out = Path(root), Path(out)
    reports = {p: prediction_report(p) for p in sorted(root.iterdir()) if p.is_dir()} if root.is_dir() else {}
    folders = [folder for folder, report in reports.items() if report is not None]
    damaged = {folder: error for folder, report in reports.items()  # a report.json there but unreadable: failed
               if report is None and (error := damaged_report(folder)) is not None}
    if not folders and not damaged:
        if (root / REPORT_NAME).exists():
            report_of(root)  # a damaged one says so
        raise ScintisegError("no scintiseg report.json here nor in its folders: give two prediction folders, or the "
                             "folder scintiseg predict wrote them into", path=root)
    if out.resolve() == root.resolve():
        raise ScintisegError("--out must be another folder than PRED_ROOT", path=out)
    groups: dict[str, list[Path]] = {}
    results = [PairResult("", folder, "failed", error=str(error)) for folder, error in damaged.items()]
    for folder in folders:
        patient = _patient(reports[folder])
        if patient:
            groups.setdefault(patient, []).append(folder)
        else:
            results.append(PairResult("", folder, "left out",
                                      error="no patient ID (not a DICOM scan): name the pair to compare it"))
    loaded = load_model(model, engine=engine or "onnx")
    out.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    for patient in tqdm(sorted(groups), desc="compare", unit="patient", disable=not progress or len(groups) < 2,
                        file=sys.stderr):
        group = groups[patient]
        if len(group) < 2:
            results.append(PairResult(patient, group[0], "left out", error="the patient's only scan here"))
            continue
        read: list[tuple[Path, PredictedAgain]] = []
        for folder in group:
            try:
                read.append((folder, predict_again(folder, model=loaded, check_model=model is None,
                                                   scan_flag=PAIR_SCAN_FLAGS)))
            except ScintisegError as exc:
                results.append(PairResult(patient, folder, "failed", error=str(exc)))
        dated = sorted((item for item in read if study_date(item[1].prediction)),
                       key=lambda item: (study_date(item[1].prediction), item[0].name))
        results += [PairResult(patient, folder, "left out", error="no study date: name the pair to compare it")
                    for folder, again in read if not study_date(again.prediction)]
        results += _compare_in_order(patient, dated, out, taken)
    write_text_atomic(out / SUMMARY_NAME, summary_csv(results, SUMMARY_COLUMNS))
    return results


def _compare_in_order(patient: str, scans: list[tuple[Path, PredictedAgain]], out: Path,
                      taken: set[str]) -> list[PairResult]:
    """One patient's scans, in order, each compared with the one before into ``out``, read together, and the
    patient's page over time; a row per comparison (a failed one breaks the series there)."""
    results: list[PairResult] = []
    chain: list[tuple[PairResult, FollowUp]] = []
    disclaimer = None
    for early, late in zip(scans, scans[1:]):
        name = unique_name(f"{patient}_{early[0].name}_to_{late[0].name}".lstrip("_"), taken)
        try:
            record, comparison = write_comparison(early, late, out / name)
        except ScintisegError as exc:
            results.append(PairResult(patient, late[0], "failed", early[0], error=str(exc)))
            _read_together(chain)
            chain = []
            continue
        results.append(PairResult(patient, late[0], "compared", early[0], name, record))
        chain.append((results[-1], comparison))
        disclaimer = disclaimer or comparison.follow_up.model_info.get("disclaimer")
    _read_together(chain)
    compared = [row for row in results if row.status == "compared"]
    if compared:
        _write_series_page(compared, out, taken, disclaimer)
    return results


def compare_series(folders: list[str | Path], out: str | Path, *, model: str | Path | LoadedModel | None = None,
                   engine: str | None = None) -> list[PairResult]:
    """One patient's scans in the order given (``scintiseg compare A B C ... --out DIR``: three or more prediction
    folders, e.g. image exports, which carry no patient ID or date for a batch to group and order them): each
    compared with the one before into ``out`` with ``summary.csv`` and the patient's page, as a batch writes a
    patient's. Checked before anything is written, as a pair is (:func:`~.follow_up_folder.compare_folders`).

    Raises:
        ScintisegError: one line, nothing written: a folder that is no prediction's, one given twice, ``out`` one of
            them or someone else's folder, two patients (DICOM IDs), a scan dated before the one given before it.
    """
    folders, out = [Path(folder) for folder in folders], Path(out)
    for folder in folders:
        report_of(folder)
    seen: set[Path] = set()
    for folder in folders:
        if folder.resolve() in seen:
            raise ScintisegError("the folder is given twice: give each scan's folder once", path=folder)
        seen.add(folder.resolve())
    if out.resolve() in seen:
        raise ScintisegError("--out must be a new folder, not one of those compared", path=out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / SUMMARY_NAME).is_file())):
        raise ScintisegError("exists and is not a scintiseg comparison folder: give a new --out", path=out)
    loaded = model if isinstance(model, LoadedModel) else load_model(model, engine=engine or "onnx")
    read = [(folder, predict_again(folder, model=loaded, check_model=model is None, scan_flag=PAIR_SCAN_FLAGS))
            for folder in folders]
    for early, late in zip(read, read[1:]):
        check_pair(early[1], late[1], (early[0], late[0]))
    out.mkdir(parents=True, exist_ok=True)
    results = _compare_in_order(_patient(read[0][1].report), read, out, set())
    write_text_atomic(out / SUMMARY_NAME, summary_csv(results, SUMMARY_COLUMNS))
    return results
