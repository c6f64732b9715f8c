"""``OUT/worklist.html``: a batch's scans in the order to read them, each linked to its report.

Why. A department runs ``scintiseg predict`` over a day's folder of scans; ``summary.csv`` lists them in the order
they were read, for a program. Triage tools of the field (EXINI aBSI's and BONENAVI's "probability of abnormality",
``../shared/reference/landscape.md``) give a reader a list sorted by the model's confidence that a scan holds a
lesion, so that the likely abnormal scans are read first. This page is that list: one row per **scan** (a study whose
two views came as two files is one row, as it is one report), with its patient and study, the triage score (report.json
``summary.triage_score``: the largest lesion probability the model gave inside what it saw), the lesions (distinct:
a lesion seen in both views counted once), the Soloway grade, the BSI with the share of the skeleton it covers, the QC
flags, and a link to the scan's ``report.html``.

Choices [all choice]:
- **Order.** Inputs that could not be read or predicted come first, one row per input file ("read without the
  model": the model has said nothing about them, and a worklist must not let them sink to the bottom); then the scans by triage score, highest
  first (equal scores, as where the model is sure and the score reaches 1, by the larger BSI, then more lesions;
  full ties keep the order of the inputs). A scan with a QC flag keeps its place by score: the flag is shown on its
  row, not used to move it (a flag says why the score may be wrong, not which way).
- **A scan kept as a reader corrected it** (summary status ``kept``: its folder's LabelMe files edited, so a re-run did
  not predict it again, :mod:`.batch`) is a scan row like the others, by its score, with the patient, date and values
  of its folder's ``report.json`` (the model's, from the run that wrote it: the corrections count once it is
  reviewed) and a link to that report, marked "kept: a reader's corrections"; a review of it written into the same
  folder (a ``report.json`` whose ``review.source_folder`` is the kept folder) is linked beside it. A review written
  elsewhere (``review OUT --out REV``) is not known here: ``REV/worklist.html`` lists it. Audit 74: such a scan topped
  the list as "Not read by the model: read it without", with no patient, date or link.
- **An earlier run's scans** (status ``earlier``: scan folders of ``OUT`` whose inputs were not in this run, which
  :mod:`.batch` lists so that the page describes the folder, not the last run alone) are scan rows by their score,
  marked "earlier run" (and "a reader's corrections" where its LabelMe files were edited:
  :func:`~scintiseg.predict.review.is_edited`); an input an earlier run could not read (``failed earlier``) is among
  the inputs first, marked so. The page says how many rows came from earlier runs.
- **Values** come from each scan's ``report.json`` as written by the run (scan-level summary; the summary row's values
  where the report cannot be read). A later ``scintiseg review`` of a scan changes its report, not this page: the
  page says so.
- **Scores** are printed with 3 decimals in every row (:func:`_score`; audit 74: ``1`` beside ``0.999``), never
  rounded up to 1.000 from below, and ``<0.001`` below that.
- **No cut-off** is drawn: the score ranks, it does not decide (its ROC on a department's labelled scans, and the
  score needed for a chosen sensitivity: ``scintiseg predict --labels``, :mod:`.image_labels`). Every scan is still
  to be read.
- Self-contained HTML (no script, no external resource; inline CSS, a print style in landscape), every text from a
  file escaped, links relative (``<output>/report.html``), so the folder can be moved or archived whole.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

from scintiseg.io.atomic import write_text_atomic
from scintiseg.io.not_scans import prediction_report
from scintiseg.predict.review import is_edited
from scintiseg.report.html import display_date, display_name

WORKLIST_NAME = "worklist.html"

_STYLE = """
body{font-family:sans-serif;margin:1.5em;color:#111;background:#fff}
h1{font-size:1.4em;margin:0 0 .3em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #999;padding:3px 7px;text-align:right;vertical-align:top} th{background:#e8eef7}
td.t,th.t{text-align:left} td.nw{white-space:nowrap} td.link{overflow-wrap:anywhere;min-width:10em}
tr.failed td{background:#fde2e1} tr.kept td{background:#e6f0fa} tr.earlier td{background:#f1f1f1} .tag{font-size:.85em;font-weight:bold}
td.flags{font-size:.85em;text-align:left;max-width:22em;overflow-wrap:anywhere}
.warn{background:#fff3cd;border:1px solid #d9a400;padding:.5em .8em;margin:.8em 0}
.note{font-size:.85em;color:#333}
@page{size:A4 landscape;margin:12mm}
@media print{body{margin:0;font-size:9pt;-webkit-print-color-adjust:exact;print-color-adjust:exact}
 table{font-size:7.5pt} thead{display:table-header-group} tr{break-inside:avoid}}
"""


@dataclass
class WorklistEntry:
    """One row of the worklist: a scan (one or two input files) or an input that failed."""

    inputs: list[str]
    status: str
    output: str = ""
    views: list[str] = field(default_factory=list)
    patient: dict = field(default_factory=dict)
    study: dict = field(default_factory=dict)
    triage_score: float | None = None
    lesion_count: int | None = None
    soloway_grade: int | None = None
    bsi_percent: float | None = None
    bsi_covered_mass_percent: float | None = None
    qc_flags: list[str] = field(default_factory=list)
    error: str = ""
    disclaimer: str = ""
    review: str = ""  # the link to a review of this scan's folder written into the batch's folder, if any
    edited: bool = False  # its LabelMe files edited by a reader (shown for a folder of an earlier run)


def _number(value, kind=float):
    """A summary value as ``kind``, or None where it is missing or empty (a CSV row's ``""``)."""
    if value is None or value == "":
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        return None


def _read_report(path: Path) -> dict | None:
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None


#: Summary statuses of a row that names a scan folder with a report (:mod:`.batch`): a scan row; any other status is an
#: input without one, listed first.
SCAN_STATUSES = ("ok", "kept", "earlier")


def _resolved(path: Path | str) -> str:
    try:
        return str(Path(path).resolve())
    except (OSError, RuntimeError):
        return str(path)


def _reviews_in(out: Path) -> dict[str, str]:
    """The reviews written into ``out`` (a folder whose ``report.json`` records ``review.source_folder``): the reviewed
    folder, resolved -> the review's ``report.html``, relative to ``out`` (the first by name where there are several)."""
    found: dict[str, str] = {}
    for folder in sorted(out.iterdir()) if out.is_dir() else []:
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        review = (prediction_report(folder) or {}).get("review")
        source = review.get("source_folder") if isinstance(review, dict) else None
        if isinstance(source, str) and source:
            found.setdefault(_resolved(source), f"{folder.name}/report.html")
    return found


def worklist_entries(out: str | Path, rows: list[dict]) -> list[WorklistEntry]:
    """The worklist's rows, in reading order (module docstring), from a batch's summary rows (``ScanResult.row()``
    dicts, or the rows of ``summary.csv``) and each scan's ``OUT/<output>/report.json``."""
    out = Path(out)
    failed: list[WorklistEntry] = []
    scans: dict[str, WorklistEntry] = {}
    reviews = _reviews_in(out)
    for row in rows:
        if row.get("status") not in SCAN_STATUSES or not row.get("output"):
            failed.append(WorklistEntry([str(row.get("input", ""))], str(row.get("status") or "failed"),
                                        error=str(row.get("error") or "")))
            continue
        name = str(row["output"])
        entry = scans.get(name)
        if entry is not None:  # a study's second file: the same scan, the same report
            entry.inputs.append(str(row.get("input", "")))
            continue
        report = _read_report(out / name / "report.json")
        summary = (report or {}).get("summary") if isinstance((report or {}).get("summary"), dict) else None
        source = summary if summary is not None else row
        flags = source.get("qc_flags") or []
        if isinstance(flags, str):
            flags = [flag for flag in flags.split(";") if flag]
        scans[name] = WorklistEntry(
            [str(row.get("input", ""))], str(row["status"]), name,
            views=list((report or {}).get("views") or [v for v in str(row.get("views") or "").split(",") if v]),
            patient=dict((report or {}).get("patient") or {}), study=dict((report or {}).get("study") or {}),
            triage_score=_number(source.get("triage_score")),
            lesion_count=_number(source.get("distinct_lesion_count", source.get("lesion_count")), int),
            soloway_grade=_number(source.get("soloway_grade"), int),
            bsi_percent=_number(source.get("bsi_percent")),
            bsi_covered_mass_percent=_number(source.get("bsi_covered_mass_percent")),
            qc_flags=[str(flag) for flag in flags], error=str(row.get("error") or ""),
            disclaimer=str(((report or {}).get("model") or {}).get("disclaimer") or ""),
            review=reviews.get(_resolved(out / name), ""),
            edited=row["status"] == "earlier" and (out / name).is_dir() and is_edited(out / name))
    return failed + sorted(scans.values(), key=_reading_order)  # sorted() is stable: full ties keep the inputs' order


def _reading_order(entry: WorklistEntry) -> tuple[float, float, float]:
    """Highest triage score first; among equal scores (the score, rounded to 5 decimals, reaches 1 where the
    model is sure) the larger BSI, then more lesions; a missing value last."""
    def high_first(value) -> float:
        return -float(value) if value is not None else float("inf")

    return high_first(entry.triage_score), high_first(entry.bsi_percent), high_first(entry.lesion_count)


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _blank(value, fmt: str = "{}") -> str:
    return "–" if value is None else _e(fmt.format(value))


def _score(value: float | None) -> str:
    """A probability to 3 decimals in every row, so that a column of scores reads alike (audit 74: ``1`` stood next
    to ``0.999``; 3 significant digits gave 1 digit to a score that reaches 1 and 3 to one that does not): never
    rounded up to the certainty it is not (0.9997 -> ``0.999``; ``1.000`` only for a recorded 1, a score the report
    rounded to 1), and ``<0.001`` for a score below that (not ``0.000``, which reads as none)."""
    if value is None:
        return "–"
    if 0.0 < value < 0.0005:
        return "&lt;0.001"
    text = f"{value:.3f}"
    return "0.999" if text == "1.000" and value < 1.0 else text


def _bsi(entry: WorklistEntry) -> str:
    if entry.bsi_percent is None:
        return "–"
    covered = entry.bsi_covered_mass_percent
    partial = covered is not None and covered < 99.5
    return _e(f"{entry.bsi_percent:.2f}") + (f" <span class=\"note\">({_e(f'{covered:.0f}')} % seen)</span>" if partial else "")


def _row(rank: int, entry: WorklistEntry) -> str:
    inputs = "<br>".join(_e(Path(text).name) for text in entry.inputs)
    if entry.status not in SCAN_STATUSES:
        when = " (an earlier run)" if entry.status == "failed earlier" else ""
        return (f'<tr class="failed"><td>{rank}</td><td class="t link">{inputs}</td>'
                f'<td class="t" colspan="8"><b>Not read by the model{when}: read it without.</b> {_e(entry.error)}'
                "</td></tr>")
    name, patient_id = display_name(entry.patient.get("name")), entry.patient.get("id")
    patient = (_e(name) + (f'<br><span class="note">{_e(patient_id)}</span>' if patient_id else "")) if name else _e(patient_id)
    link = f'<a href="{_e(entry.output)}/report.html">{_e(entry.output)}</a>' + _tag(entry)
    css = f' class="{entry.status}"' if entry.status in ("kept", "earlier") else ""
    return (f"<tr{css}><td>{rank}</td><td class=\"t link\">{link}<br><span class=\"note\">{inputs}</span></td>"
            f"<td class=\"t\">{patient or '–'}</td><td class=\"t nw\">{_e(display_date(entry.study.get('study_date'))) or '–'}</td>"
            f"<td class=\"t nw\">{_e(', '.join(entry.views))}</td><td>{_score(entry.triage_score)}</td>"
            f"<td>{_blank(entry.lesion_count)}</td><td>{_blank(entry.soloway_grade)}</td><td>{_bsi(entry)}</td>"
            f"<td class=\"flags\">{_e(', '.join(entry.qc_flags)) or 'none'}</td></tr>")


def _tag(entry: WorklistEntry) -> str:
    """What the scan cell says beside its link where the row is not this run's prediction (module docstring), and the
    link to a review of the folder."""
    tag = ""
    if entry.status == "kept":
        tag = ('<br><span class="tag">kept: a reader\'s corrections</span> <span class="note">(not predicted again; '
               "its report's values, the model's until it is reviewed)</span>")
    if entry.status == "earlier":
        tag = ('<br><span class="tag">earlier run</span> <span class="note">(its input was not in this run'
               + ("; a reader's corrections in its LabelMe files" if entry.edited else "") + ")</span>")
    if entry.review:
        tag += f'<br><span class="note">review: <a href="{_e(entry.review)}">{_e(entry.review.split("/")[0])}</a></span>'
    return tag


def worklist_html(entries: list[WorklistEntry], title: str = "") -> str:
    """The page of :func:`worklist_entries`' rows (a complete HTML document)."""
    failed = sum(entry.status not in SCAN_STATUSES for entry in entries)
    kept = sum(entry.status == "kept" for entry in entries)
    earlier = sum(entry.status in ("earlier", "failed earlier") for entry in entries)
    disclaimer = next((entry.disclaimer for entry in entries if entry.disclaimer), "")
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">',
        f"<title>scintiseg worklist{(' – ' + _e(title)) if title else ''}</title><style>{_STYLE}</style></head><body>",
        "<h1>Worklist: scans in the order to read them</h1>",
        f'<p class="note">{len(entries) - failed} scan(s) by the model\'s triage score, highest first'
        + (f" ({kept} kept as a reader corrected them, marked)" if kept else "")
        + (f"; {failed} input(s) the model could not read, first" if failed else "")
        + (f"; {earlier} row(s) from earlier runs into this folder, whose inputs were not in this run, marked"
           if earlier else "")
        + ". The score is the largest lesion probability the model gave inside what it saw: it orders the reading, "
          "it does not clear a scan. Every scan is to be read. Values as the model wrote them; a later review "
          "changes the scan's report, not this list.</p>",
    ]
    if disclaimer:
        parts.append(f'<p class="warn"><strong>Not a clinical device.</strong> {_e(disclaimer)}</p>')
    parts += [
        '<table id="worklist"><thead><tr><th>#</th><th class="t">Scan (report)</th><th class="t">Patient</th>'
        '<th class="t">Study date</th><th class="t">Views</th><th>Triage score</th><th>Lesions</th>'
        '<th>Soloway</th><th>BSI %</th><th class="t">QC flags</th></tr></thead><tbody>',
        *(_row(rank, entry) for rank, entry in enumerate(entries, start=1)),
        "</tbody></table>",
        '<p class="note">Lesions: distinct lesions (one seen on both views counted once). BSI: Bone Scan Index, % of '
        "the skeleton's mass involved; \"% seen\" where the views cover part of the skeleton only. QC flags: "
        "explained in each scan's report.</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_worklist(out: str | Path, rows: list[dict]) -> Path:
    """``OUT/worklist.html`` of a batch's summary rows (atomic); returns its path."""
    out = Path(out)
    path = out / WORKLIST_NAME
    write_text_atomic(path, worklist_html(worklist_entries(out, rows), title=out.name))
    return path


__all__ = ["SCAN_STATUSES", "WORKLIST_NAME", "WorklistEntry", "worklist_entries", "worklist_html", "write_worklist"]
