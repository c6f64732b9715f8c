"""``OUT/worklist.html``: a batch's scans in the order to read them, each linked to its report; and
``REV/worklist.html``, the list of a reviewed batch (``scintiseg review OUT --out REV``).

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
  page says so, and names the reviewed batch's own list (below).
- **Scores** are printed with 3 decimals in every row (:func:`_score`; audit 74: ``1`` beside ``0.999``), never
  rounded up to 1.000 from below, and ``<0.001`` below that.
- **No cut-off** is drawn: the score ranks, it does not decide (its ROC on a department's labelled scans, and the
  score needed for a chosen sensitivity: ``scintiseg predict --labels``, :mod:`.image_labels`). Every scan is still
  to be read.
- **A reviewed batch's list** (``kind="review"``, written by :func:`scintiseg.report.review_folder.review_batch` beside
  ``REV/summary.csv``; audit 74: a review wrote no list, and the predict list's "a later review changes the scan's
  report, not this list" left none of the signed reports). One row per scan folder of ``OUT``: a scan reviewed
  (``reviewed``) with the values of its reviewed ``REV/<name>/report.json`` and a link to it, marked with the reader
  who signed it (or "not signed"); the folders that could not be reviewed first ("Not reviewed", with the reason);
  the folders nobody edited (``not edited``: left out of the review, the model's report stands) last, with the
  values of their prediction's report and a link to it in ``OUT`` (relative: it holds while ``OUT`` and ``REV`` keep
  their places to each other). Reviewed scans are ordered by what the reader's outlines give, the reviewed BSI
  (larger first), then more lesions, the model's triage score breaking ties: the reading is done, and a triage score
  the review keeps (the network's, predicted again) would put a scan the reader cleared first (audit 74, finding 10:
  NM1 reviewed to no lesion kept 0.999); the folders not edited by triage score, as the predict list orders them.
- Self-contained HTML (no script, no external resource; inline CSS, a print style in landscape), every text from a
  file escaped, links relative (``<output>/report.html``), so the folder can be moved or archived whole (a reviewed
  batch's links into ``OUT`` excepted, above).
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from scintiseg.io.atomic import write_text_atomic
from scintiseg.io.not_scans import prediction_report
from scintiseg.predict.review import is_edited
from scintiseg.report.html import display_date, display_name, reader_name

WORKLIST_NAME = "worklist.html"

_STYLE = """
body{font-family:sans-serif;margin:1.5em;color:#111;background:#fff}
h1{font-size:1.4em;margin:0 0 .3em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #999;padding:3px 7px;text-align:right;vertical-align:top} th{background:#e8eef7}
td.t,th.t{text-align:left} td.nw{white-space:nowrap} td.link{overflow-wrap:anywhere;min-width:10em}
tr.failed td{background:#fde2e1} tr.kept td{background:#e6f0fa} tr.earlier td,tr.not_edited td{background:#f1f1f1}
.tag{font-size:.85em;font-weight:bold}
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
    link: str = ""  # the report's link, relative to the list's folder; default ``<output>/report.html``
    reader: str = ""  # a reviewed scan's reader (the report's review.reader), as the pages name them

    @property
    def href(self) -> str:
        return self.link or f"{self.output}/report.html"


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


#: Summary statuses of a row that names a scan folder with a report (:mod:`.batch`; a review's,
#: :mod:`.review_folder`: ``reviewed`` names its folder in ``REV``, ``not edited`` the prediction's folder as its
#: input): a scan row; any other status is an input without one, listed first.
SCAN_STATUSES = ("ok", "kept", "earlier", "reviewed", "not edited")
#: What the list is of: a prediction batch's scans, or a reviewed batch's (module docstring).
KINDS = ("predict", "review")


def _resolved(path: Path | str) -> str:
    try:
        return str(Path(path).resolve())
    except (OSError, RuntimeError):
        return str(path)


def _reviews_in(out: Path) -> dict[str, str]:
    """The reviews written into ``out`` (a folder whose ``report.json`` records ``review.source_folder``): the
    reviewed folder, resolved -> the review's ``report.html``, relative to ``out`` (the first by name where there are
    several)."""
    found: dict[str, str] = {}
    for folder in sorted(out.iterdir()) if out.is_dir() else []:
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        review = (prediction_report(folder) or {}).get("review")
        source = review.get("source_folder") if isinstance(review, dict) else None
        if isinstance(source, str) and source:
            found.setdefault(_resolved(source), f"{folder.name}/report.html")
    return found


def _link(report_page: Path, out: Path) -> str:
    """``report_page`` (outside ``out``) as a link from ``out``'s page: relative where a relative path reaches it."""
    try:
        return os.path.relpath(report_page.resolve(), out.resolve()).replace(os.sep, "/")
    except ValueError:  # another drive (Windows)
        return report_page.resolve().as_uri()


def worklist_entries(out: str | Path, rows: list[dict], kind: str = "predict") -> list[WorklistEntry]:
    """The worklist's rows, in reading order (module docstring), from a batch's summary rows (``ScanResult.row()``
    dicts, or the rows of ``summary.csv``) and each scan's ``OUT/<output>/report.json`` (a ``not edited`` row of a
    review: its input folder's). ``kind``: ``"predict"`` or ``"review"`` (:data:`KINDS`), which orders the scans."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    out = Path(out)
    failed: list[WorklistEntry] = []
    scans: dict[str, WorklistEntry] = {}
    reviews = _reviews_in(out)
    for row in rows:
        status = str(row.get("status") or "failed")
        folder = out / str(row["output"]) if row.get("output") else None
        left_out = Path(str(row.get("input", "")))  # a review left it out: the prediction's report stands
        if status == "not edited" and folder is None and (left_out / "report.json").is_file():
            folder = left_out
        if status not in SCAN_STATUSES or folder is None:
            failed.append(WorklistEntry([str(row.get("input", ""))], status, error=str(row.get("error") or "")))
            continue
        name = str(row["output"]) if row.get("output") else folder.name
        entry = scans.get(str(folder))
        if entry is not None:  # a study's second file: the same scan, the same report
            entry.inputs.append(str(row.get("input", "")))
            continue
        report = _read_report(folder / "report.json")
        summary = (report or {}).get("summary") if isinstance((report or {}).get("summary"), dict) else None
        source = summary if summary is not None else row
        flags = source.get("qc_flags") or []
        if isinstance(flags, str):
            flags = [flag for flag in flags.split(";") if flag]
        review = (report or {}).get("review") if isinstance((report or {}).get("review"), dict) else {}
        scans[str(folder)] = WorklistEntry(
            [str(row.get("input", ""))], status, name,
            views=list((report or {}).get("views") or [v for v in str(row.get("views") or "").split(",") if v]),
            patient=dict((report or {}).get("patient") or {}), study=dict((report or {}).get("study") or {}),
            triage_score=_number(source.get("triage_score")),
            lesion_count=_number(source.get("distinct_lesion_count", source.get("lesion_count")), int),
            soloway_grade=_number(source.get("soloway_grade"), int),
            bsi_percent=_number(source.get("bsi_percent")),
            bsi_covered_mass_percent=_number(source.get("bsi_covered_mass_percent")),
            qc_flags=[str(flag) for flag in flags], error=str(row.get("error") or ""),
            disclaimer=str(((report or {}).get("model") or {}).get("disclaimer") or ""),
            review=reviews.get(_resolved(folder), ""),
            edited=status == "earlier" and folder.is_dir() and is_edited(folder),
            link="" if row.get("output") else _link(folder / "report.html", out),
            reader=reader_name(review.get("reader")) or "" if status == "reviewed" else "")
    order = _reading_order if kind == "predict" else _reviewed_order
    return failed + sorted(scans.values(), key=order)  # sorted() is stable: full ties keep the inputs' order


def _reading_order(entry: WorklistEntry) -> tuple[float, float, float]:
    """Highest triage score first; among equal scores (the score, rounded to 5 decimals, reaches 1 where the
    model is sure) the larger BSI, then more lesions; a missing value last."""
    def high_first(value) -> float:
        return -float(value) if value is not None else float("inf")

    return high_first(entry.triage_score), high_first(entry.bsi_percent), high_first(entry.lesion_count)


def _reviewed_order(entry: WorklistEntry) -> tuple:
    """A reviewed batch's order (module docstring): the reviewed scans first, the larger reviewed BSI, then more
    lesions, then the higher triage score; then the folders left out of the review by :func:`_reading_order`."""
    def high_first(value) -> float:
        return -float(value) if value is not None else float("inf")

    if entry.status == "reviewed":
        return 0, high_first(entry.bsi_percent), high_first(entry.lesion_count), high_first(entry.triage_score)
    return 1, *_reading_order(entry)


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
    if 0.0 < value < 0.001:  # (0.0005-0.001 rounded up to 0.001 before the session's review, R3)
        return "&lt;0.001"
    text = f"{value:.3f}"
    return "0.999" if text == "1.000" and value < 1.0 else text


def _bsi(entry: WorklistEntry) -> str:
    if entry.bsi_percent is None:
        return "–"
    covered = entry.bsi_covered_mass_percent
    partial = covered is not None and covered < 99.5
    return _e(f"{entry.bsi_percent:.2f}") + (f" <span class=\"note\">({_e(f'{covered:.0f}')} % seen)</span>" if partial else "")


def _row(rank: int, entry: WorklistEntry, kind: str = "predict") -> str:
    inputs = "<br>".join(_e(Path(text).name) for text in entry.inputs)
    if entry.status not in SCAN_STATUSES:
        when = " (an earlier run)" if entry.status == "failed earlier" else ""
        say = f"Not read by the model{when}: read it without." if kind == "predict" else "Not reviewed:"
        return (f'<tr class="failed"><td>{rank}</td><td class="t link">{inputs}</td>'
                f'<td class="t" colspan="8"><b>{say}</b> {_e(entry.error)}</td></tr>')
    name, patient_id = display_name(entry.patient.get("name")), entry.patient.get("id")
    patient = (_e(name) + (f'<br><span class="note">{_e(patient_id)}</span>' if patient_id else "")) if name else _e(patient_id)
    link = f'<a href="{_e(entry.href)}">{_e(entry.output)}</a>' + _tag(entry)
    css = f' class="{entry.status.replace(" ", "_")}"' if entry.status in ("kept", "earlier", "not edited") else ""
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
               "the values are the model's, from its report: a review of the corrections has its own)</span>")
    if entry.status == "earlier":
        tag = ('<br><span class="tag">earlier run</span> <span class="note">(its input was not in this run'
               + ("; a reader's corrections in its LabelMe files" if entry.edited else "") + ")</span>")
    if entry.status == "reviewed":
        tag = f'<br><span class="note">reviewed by {_e(entry.reader)}</span>' if entry.reader else \
            '<br><span class="note">reviewed, not signed</span>'
    if entry.status == "not edited":
        tag = ('<br><span class="tag">not edited</span> <span class="note">(not reviewed: the model\'s report, in the '
               "prediction's folder)</span>")
    if entry.review:
        name = entry.review.split("/")[0]
        tag += f'<br><span class="note">review: <a href="{_e(entry.review)}">{_e(name)}</a></span>'
    return tag


def _heading(entries: list[WorklistEntry], kind: str) -> list[str]:
    """The page's title line and the paragraph that says what the list holds and in what order."""
    failed = sum(entry.status not in SCAN_STATUSES for entry in entries)
    if kind == "review":
        reviewed = sum(entry.status == "reviewed" for entry in entries)
        left = sum(entry.status == "not edited" for entry in entries)
        return ["<h1>Reviewed batch: the reports after review</h1>",
                f'<p class="note">{reviewed} scan(s) reviewed, the most involved first: the reviewed BSI, then '
                "lesions, as the reader's outlines give them (the model's triage score, kept by the review, breaks "
                "ties)" + (f"; {failed} folder(s) that could not be reviewed, first" if failed else "")
                + (f"; {left} folder(s) nobody edited, left out of the review (the model's report stands, not "
                   "reviewed: name such a folder to scintiseg review to confirm it as it stands), last, by the "
                   "model's triage score, linked in the prediction's folder" if left else "") + ".</p>"]
    kept = sum(entry.status == "kept" for entry in entries)
    earlier = sum(entry.status in ("earlier", "failed earlier") for entry in entries)
    return ["<h1>Worklist: scans in the order to read them</h1>",
            f'<p class="note">{len(entries) - failed} scan(s) by the model\'s triage score, highest first'
            + (f" ({kept} kept as a reader corrected them, marked)" if kept else "")
            + (f"; {failed} input(s) the model could not read, first" if failed else "")
            + (f"; {earlier} row(s) from earlier runs into this folder, whose inputs were not in this run, marked"
               if earlier else "")
            + ". The score is the largest lesion probability the model gave inside what it saw: it orders the "
              "reading, it does not clear a scan. Every scan is to be read. Values as the model wrote them: a later "
              "review (<code>scintiseg review OUT --out REV</code>) does not change this list; it writes the reviewed "
              "reports' own list, <code>REV/worklist.html</code>.</p>"]


def worklist_html(entries: list[WorklistEntry], title: str = "", kind: str = "predict") -> str:
    """The page of :func:`worklist_entries`' rows (a complete HTML document); ``kind`` as they were made for."""
    disclaimer = next((entry.disclaimer for entry in entries if entry.disclaimer), "")
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">',
        f"<title>scintiseg worklist{(' – ' + _e(title)) if title else ''}</title><style>{_STYLE}</style></head><body>",
        *_heading(entries, kind),
    ]
    if disclaimer:
        parts.append(f'<p class="warn"><strong>Not a clinical device.</strong> {_e(disclaimer)}</p>')
    parts += [
        '<table id="worklist"><thead><tr><th>#</th><th class="t">Scan (report)</th><th class="t">Patient</th>'
        '<th class="t">Study date</th><th class="t">Views</th><th>Triage score</th><th>Lesions</th>'
        '<th>Soloway</th><th>BSI %</th><th class="t">QC flags</th></tr></thead><tbody>',
        *(_row(rank, entry, kind) for rank, entry in enumerate(entries, start=1)),
        "</tbody></table>",
        '<p class="note">Lesions: distinct lesions (one seen on both views counted once). BSI: Bone Scan Index, % of '
        "the skeleton's mass involved; \"% seen\" where the views cover part of the skeleton only. QC flags: "
        "explained in each scan's report.</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_worklist(out: str | Path, rows: list[dict], kind: str = "predict") -> Path:
    """``OUT/worklist.html`` of a batch's summary rows (atomic); returns its path. ``kind``: ``"review"`` for a reviewed
    batch's (module docstring)."""
    out = Path(out)
    path = out / WORKLIST_NAME
    write_text_atomic(path, worklist_html(worklist_entries(out, rows, kind), title=out.name, kind=kind))
    return path


__all__ = ["KINDS", "SCAN_STATUSES", "WORKLIST_NAME", "WorklistEntry", "worklist_entries", "worklist_html",
           "write_worklist"]
