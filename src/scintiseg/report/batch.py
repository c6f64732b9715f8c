"""Batch prediction: many inputs, one output folder, atomic per scan, a summary CSV.

- Inputs are files or folders; a folder is searched recursively for regular files that are not hidden
  and not obviously something else (``.json``, ``.csv``, ``.txt``, ``.md``, ``.html``, ``.py``, ``.yaml``,
  ``.xml``: annotations such as Pascal VOC boxes beside their images), not an operating system's litter (``Thumbs.db``,
  ``desktop.ini``: :data:`scintiseg.io.not_scans.OS_LITTER`), not a DICOM object without an image (a CD
  export's DICOMDIR, an SR, a presentation state) and not in an earlier prediction's output folder
  (:mod:`scintiseg.io.not_scans`; the walk: :func:`scintiseg.io.scan_files.expand_inputs`, shared with ``info``);
  each file is read by content (:func:`scintiseg.io.read_scan`).
- Each scan's outputs go to ``OUT/<name>/`` where ``<name>`` is the input file name without suffix
  (characters other than letters, digits, ``.``, ``_``, ``-`` become ``_``; repeats get ``-2``, ``-3``).
  They are written into a hidden temporary folder inside ``OUT`` and renamed into place when complete, so
  a half-done scan never looks complete; a previous result of the same scan is replaced only then
  (:class:`OutputNames`: another scan's folder of that name, or a folder that is no result, keeps its place and the
  scan takes ``NAME-2``; a result a reader corrected is not replaced, and that input is ``kept``, below).
- An input whose earlier result in ``OUT`` holds a reader's corrections (an edited LabelMe file) is not predicted again
  and its folder is left as the reader left it: its summary rows have the status ``kept``, the folder as ``output``
  and the values of that folder's ``report.json`` (the model's from the run that wrote it: the corrections count once
  the folder is reviewed), and one line on stderr says so. Such an input is done, not failed (audit 74: it was a
  ``failed`` row, exit 1, and "Not read by the model" at the top of the worklist, with no patient, date or link).
- A file that cannot be read or predicted is reported (one line on stderr, a ``failed`` row in the
  summary) and skipped; the others are processed. Statuses of this run's inputs: ``ok`` (predicted by this run),
  ``kept``, ``failed``; of an earlier run's: ``earlier``, ``failed earlier`` (below).
- **An earlier run's scans stay in the list** [choice]. A run into an ``OUT`` that holds other scans' folders (a
  one-file predict after the morning's batch) lists them too, after its own rows, so that ``summary.csv`` and the
  worklist describe the folder as it stands, not the last run alone (audit 74: the list held the one new scan while
  five folders stayed; merging is what a department reading from one folder expects, and each folder's
  ``report.json`` holds what its row needs): every scan folder of ``OUT`` (a ``report.json`` of predict's, not a
  hidden one) that no input of this run wrote, kept or named as its source is an ``earlier`` row per input file
  (:func:`earlier_rows`: the files its report names, a joined study's two with their views' values, as this run writes
  them; ``seconds`` 0: not timed by this run; ``error`` saying where it came from). A review written into ``OUT``
  (``review.source_folder`` naming a scan folder there) is no row of its own: the worklist links it beside the folder
  it reviewed. An input the earlier run listed ``failed`` (its ``summary.csv``, read before it is removed) that is
  not an input of this run and has no folder is a ``failed earlier`` row, its reason kept: the model has still said
  nothing about it. An earlier run stopped before its summary leaves no such rows (its folders are listed). Only this
  run's inputs count in the exit code, the console line and the ``--labels`` / ``--boxes`` measures.
- A study's two views stored as two files (``0123_ANT.jpg`` + ``0123_POST.jpg``, or two one-view DICOM files of one
  study; the rules: :mod:`scintiseg.io.view_pairs`) are predicted as **one scan** into one folder, named by what the
  two names share (``OUT/0123/``): one report with both views, ANT-POST pairs and the two views' BSI. Two files that
  cannot be one scan (other matrices, pixel sizes, one holding the body lying and the other standing), or whose
  joined views disagree about where the head is (one file stored head-down: one view raises
  ``no_upright_head_<VIEW>``, :mod:`scintiseg.predict.orientation`), are predicted separately, with one line saying
  why, so each file gets the checks of a scan of its own.
  ``join=False`` (``scintiseg predict --no-join-views``) predicts every file alone.
- ``OUT/summary.csv`` (written atomically, last) has one row per input *file*. Nothing is written outside ``OUT``.
  The two rows of a joined study name the same ``output``; each gives the view its file held (``views``), that
  view's triage score and lesion count, and the scan's Soloway grade, BSI and QC flags; ``seconds`` is half the
  scan's time each. ``error`` says why for a ``failed`` row and what was kept for a ``kept`` one.
  Its ``triage_score`` column (report.json ``summary.triage_score``: the largest lesion probability the
  model gave inside what it saw, the calls a reading rule left out set aside, over the scan's views) lets a
  worklist be sorted (highest first: the scans the model is surest hold a lesion); empty for a failed input.
- ``OUT/worklist.html`` (written just before the summary; :mod:`scintiseg.report.worklist`): the scans in the order to
  read them, inputs the model could not read first, then by triage score (``kept`` and ``earlier`` scans among them,
  marked), each linked to its report.
- A run stopped (Ctrl-C, SIGTERM: :mod:`scintiseg.cli`) keeps the scan folders it finished, removes the one in
  progress and writes no ``summary.csv``, whose presence says the run went through; the line it prints says how
  many inputs were done. An earlier run's ``summary.csv`` (and the files predict wrote beside it) is removed when a
  run starts, its ``failed`` rows read first (above) (session 73: an interrupted re-run left the earlier run's
  summary, as if it had gone through).
- One run at a time per ``OUT``: a run holds :class:`OutputLock` (``OUT/.scintiseg.lock``) from its first
  output to its summary, and a second run on the same folder is refused at once, in one line naming the
  holder's pid. Two runs would otherwise replace each other's scan folders and summary.
"""

from __future__ import annotations

import csv
import fcntl
import io
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.atomic import staging_folder, write_text_atomic
from scintiseg.io.file_keys import output_stem
from scintiseg.io.not_scans import BATCH_FILES, REPORT_NAME, prediction_batch_files, prediction_report
from scintiseg.io.scan_files import expand_inputs
from scintiseg.io.view_pairs import READ_APART_KEY, find_view_pairs, join_views, joined_name, study_patient
from scintiseg.predict.loader import LoadedModel
from scintiseg.predict.orientation import NO_UPRIGHT_HEAD_FLAG
from scintiseg.predict.pipeline import PredictSettings, predict_scan
from scintiseg.predict.review import is_edited
from scintiseg.predict.prediction import Prediction
from scintiseg.report.outputs import write_outputs
from scintiseg.report.worklist import WORKLIST_NAME, write_worklist
from scintiseg.scan import Scan

SUMMARY_NAME = "summary.csv"
LOCK_NAME = ".scintiseg.lock"
#: Names a scan's folder never takes: the files a run writes beside the folders (session 73: an input named
#: ``worklist.html.png`` got the folder ``worklist.html``, and the run ended without its summary).
RESERVED_NAMES = frozenset({SUMMARY_NAME, LOCK_NAME, WORKLIST_NAME, *BATCH_FILES})
SUMMARY_COLUMNS = (
    "input", "status", "output", "views", "triage_score", "lesion_count", "soloway_grade", "bsi_percent",
    "bsi_covered_mass_percent", "qc_flags", "seconds", "error",
)


@dataclass
class ScanResult:
    """One row of the summary."""

    input: Path
    status: str
    output: str = ""
    summary: dict = field(default_factory=dict)
    views: str = ""
    seconds: float = 0.0
    error: str = ""

    def row(self) -> dict:
        s = self.summary
        return {
            "input": str(self.input),
            "status": self.status,
            "output": self.output,
            "views": self.views,
            "triage_score": s.get("triage_score", ""),
            "lesion_count": s.get("lesion_count", ""),
            "soloway_grade": "" if s.get("soloway_grade") is None else s["soloway_grade"],
            "bsi_percent": "" if s.get("bsi_percent") is None else s["bsi_percent"],
            "bsi_covered_mass_percent": s.get("bsi_covered_mass_percent", ""),
            "qc_flags": ";".join(s.get("qc_flags", [])),
            "seconds": f"{self.seconds:.3f}",
            "error": self.error,
        }


def output_name(path: Path, taken: set[str]) -> str:
    """Safe, unique folder name for an input file: its name without a known image suffix
    (:func:`~scintiseg.io.file_keys.output_stem`)."""
    return unique_name(output_stem(path), taken)


def unique_name(stem: str, taken: set[str]) -> str:
    """``stem`` as a safe folder name not in ``taken`` (then added to it)."""
    base = re.sub(r"[^A-Za-z0-9._-]", "_", stem) or "scan"
    name, index = base, 2
    while name in taken or name in RESERVED_NAMES:
        name, index = f"{base}-{index}", index + 1
    taken.add(name)
    return name


def _resolved(source) -> str | None:
    """A source path resolved, as a key (None for none)."""
    if not isinstance(source, (str, Path)) or not str(source):
        return None
    try:
        return str(Path(source).resolve())
    except (OSError, RuntimeError):
        return str(source)


def _same_input(report: dict, scan: Scan) -> bool:
    """Whether ``report`` (an earlier result in the output folder) is of ``scan`` read from the same file: the same
    source file (the caller matched it), the same views from the same files (a study's two files joined is not its
    ANT file predicted alone: both name the ANT file as their source), no other study UID, and no other counts in any
    view (``input.counts``: the same file re-exported with another patient, or replaced, is another scan). A study UID
    alone does not say: a study holds several scans (a whole body and a spot view, a repeat), exported under one file
    name in each series' folder."""
    uid = str(report.get("study_uid") or "")
    if uid and scan.study_uid and uid != scan.study_uid:
        return False
    facts = report.get("input") if isinstance(report.get("input"), dict) else {}
    if facts.get("views") is not None and list(facts.get("views") or []) != list(scan.view_names):
        return False
    if _view_files(facts.get("view_sources")) != _view_files(scan.metadata.get("view_sources")):
        return False
    counts = facts.get("counts")
    if isinstance(counts, dict):
        now = scan.summary()["counts"]
        for view, recorded in counts.items():
            if view in now and isinstance(recorded, dict) and recorded.get("total") != now[view]["total"]:
                return False
    return True


def _view_files(sources) -> dict | None:
    """A study's view -> file record (``view_sources``) with each file resolved; None for a scan of one file."""
    return None if not isinstance(sources, dict) else {view: _resolved(path) for view, path in sources.items()}


class KeptByReader(ScintisegError):
    """:meth:`OutputNames.claim`'s answer for an input whose earlier result holds a reader's corrections: the folder is
    kept and the input is not predicted (module docstring). Not a failure: each caller turns it into ``kept`` rows
    (:func:`kept_rows`) before it handles a :class:`~scintiseg.errors.ScintisegError`; it is one nevertheless, so that a
    caller that does not know it still reports one line, not a traceback.

    Args:
        folder: the kept folder.
        source: the input file.
    """

    def __init__(self, folder: Path, source) -> None:
        self.folder = Path(folder)
        super().__init__(f"its earlier result {self.folder} holds a reader's corrections (an edited LabelMe file): "
                         "kept as the reader left it, not predicted again (its values are that report's; move the "
                         "folder away, or predict into another --out, to predict the scan again)", path=source)


class OutputNames:
    """The folder names of a run's scans in ``out``: each input's own earlier result where it has one (read once at the
    start of the run), else a new name that no entry of ``out`` has.

    A folder is replaced only by a result of the same scan read from the same file (:func:`_same_input`); another
    scan's folder of the same name, or anything that is not a result, keeps its place and the scan takes ``NAME-2``,
    ``NAME-3``, ... (session 73: PACS exports name every study's files ``IM000001``, and a second run replaced the first
    run's other patient); a result a reader corrected is not replaced (:meth:`claim` says so: :class:`KeptByReader`),
    and a review of the scan written into ``out`` is left as it is (the scan's own unedited result is replaced, else
    it takes a new name). Names looked at and passed over stay free for the input whose result they hold.
    """

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.taken: set[str] = {entry.name for entry in self.out.iterdir()} if self.out.is_dir() else set()
        self.given: set[str] = set()
        self.earlier: dict[str, list[str]] = {}  # source file -> the folders whose reports name it, in name order
        for name in sorted(self.taken):
            report = prediction_report(self.out / name) if (self.out / name).is_dir() else None
            source = _resolved((report or {}).get("input", {}).get("source") if isinstance(
                (report or {}).get("input"), dict) else None)
            if source is not None:
                self.earlier.setdefault(source, []).append(name)

    def earlier_folder(self, path: Path) -> Path | None:
        """The first folder of ``out`` whose report names ``path`` as its source, if any."""
        names = self.earlier.get(_resolved(path) or "")
        return None if not names else self.out / names[0]

    def claim(self, stem: str, scan: Scan) -> str:
        """The folder name for ``scan``'s outputs (class docstring); ``stem``: the name a new folder starts from.

        Raises:
            KeptByReader: the scan's earlier result holds a reader's corrections (an edited LabelMe file:
                :func:`~scintiseg.predict.review.is_edited`), and no unedited result of it is there to replace:
                predicting again would replace them, so the scan is not predicted and the folder is kept.
        """
        kept = []  # this input's earlier results a reader corrected or reviewed: never replaced
        for own in self.earlier.get(_resolved(scan.source) or "", []):
            report = prediction_report(self.out / own) if own not in self.given else None
            if report is None or not _same_input(report, scan):
                continue
            if is_edited(self.out / own):
                kept.append((own, "a review" if isinstance(report.get("review"), dict) else "edited"))
                continue
            self.given.add(own)  # the input's own unedited result: replaced (a review of it elsewhere in out stays)
            return own
        edited = [own for own, what in kept if what != "a review"]
        if edited:
            raise KeptByReader(self.out / edited[0], scan.source)
        name = unique_name(stem, self.taken)  # (beside a review of this scan, which stays as it is)
        self.given.add(name)
        return name

    def release(self, name: str) -> None:
        """Give back a name :meth:`claim` gave and nothing was written to (a pair predicted apart after all)."""
        self.given.discard(name)
        if not (self.out / name).exists():
            self.taken.discard(name)


def publish_folder(tmp: Path, final: Path) -> None:
    """Rename a finished temporary folder into place, replacing an older result only now."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _predict_into(scan: Scan, out: Path, name: str, model: LoadedModel, settings: PredictSettings, dicom: bool,
                  accept: Callable[[Prediction], bool] | None = None, pdf: bool = False) -> dict | None:
    """Predict ``scan`` and write its outputs into ``out/name`` atomically; returns its report, or None when
    ``accept`` refuses the prediction (nothing is then left in ``out``). The hidden folder is there from the start,
    so a scan in progress shows."""
    tmp = _partial_folder(out / name)
    try:
        prediction = predict_scan(scan, model, settings)
        refused = accept is not None and not accept(prediction)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if refused:
        shutil.rmtree(tmp, ignore_errors=True)
        return None
    return write_published(prediction, out / name, dicom, tmp=tmp, pdf=pdf)


def _partial_folder(final: Path) -> Path:
    """A new hidden temporary folder beside ``final`` for its outputs."""
    return staging_folder(final.parent, final.name)


def write_published(prediction: Prediction, final: Path, dicom: bool = True, *, tmp: Path | None = None,
                    finish: Callable[[Path], None] | None = None, pdf: bool = False) -> dict:
    """Write every output of ``prediction`` into a hidden temporary folder beside ``final`` (``tmp``, or a new one)
    and rename it into place when complete (an older ``final`` replaced only then); returns the report. On any
    failure nothing is left. ``finish``: called with the temporary folder once the outputs are in it, before it is
    published (a review adds its reader's outlines of no lesion to the LabelMe files). ``pdf``: also the report as
    PDF (:func:`~scintiseg.report.outputs.write_outputs`)."""
    tmp = tmp or _partial_folder(final)
    try:
        report = write_outputs(prediction, tmp, dicom=dicom, pdf=pdf)
        if finish is not None:
            finish(tmp)
        publish_folder(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return report


def predict_one(path: Path, out: Path, names: OutputNames, model: LoadedModel, settings: PredictSettings,
                read_kwargs: dict, dicom: bool, pdf: bool = False) -> ScanResult:
    """Read, predict and write one input into its folder of ``out`` (:meth:`OutputNames.claim`) atomically."""
    start = time.perf_counter()
    scan = read_scan(path, **read_kwargs)
    try:
        name = names.claim(output_stem(path), scan)
    except KeptByReader as kept:
        return kept_rows(kept, [(path, None)], start)[0]
    report = _predict_into(scan, out, name, model, settings, dicom, pdf=pdf)
    return ScanResult(path, "ok", name, report["summary"], ",".join(report["views"]), time.perf_counter() - start)


def report_rows(report: dict, status: str, name: str, files: list[tuple[Path, str | None]], seconds: float,
                note: str = "") -> list[ScanResult]:
    """The summary rows of one scan folder's ``report`` (its ``report.json``, as written or read back): one per input
    file; a file given with its view (a study's two files joined into one scan) gets that view's triage score and
    lesion count beside the scan's grade, BSI and flags (module docstring), a file given with None the scan's.
    ``seconds`` is shared out over the files. Values of a report read back are taken only where they have the types a
    written one has (a hand-edited ``report.json`` may hold anything)."""
    summary = report.get("summary") if isinstance(report.get("summary"), dict) else {}
    summary = {key: value for key, value in summary.items() if key != "qc_flags" or isinstance(value, list)}
    if "qc_flags" in summary:
        summary["qc_flags"] = [str(flag) for flag in summary["qc_flags"]]
    views = report.get("views") if isinstance(report.get("views"), dict) else {}
    by_view = summary.get("lesion_count_by_view") if isinstance(summary.get("lesion_count_by_view"), dict) else {}
    rows = []
    for path, view in files:
        if view is None:
            rows.append(ScanResult(path, status, name, summary, ",".join(map(str, views)), seconds / len(files), note))
            continue
        own = views.get(view) if isinstance(views.get(view), dict) else {}
        rows.append(ScanResult(path, status, name, summary | {"triage_score": own.get("triage_score", ""),
                                                             "lesion_count": by_view.get(view, "")},
                               view, seconds / len(files), note))
    return rows


def kept_rows(kept: KeptByReader, files: list[tuple[Path, str | None]], start: float) -> list[ScanResult]:
    """The ``kept`` rows of the input file(s) whose earlier result ``kept`` names (module docstring), with that
    folder's values (:func:`report_rows`), and the line on stderr."""
    tqdm.write(f"scintiseg predict: kept {kept.folder}: a reader corrected it (an edited LabelMe file), so "
               f"{', '.join(str(path) for path, _ in files)} is not predicted again (move the folder away to predict it "
               "again)", file=sys.stderr)
    report = prediction_report(kept.folder) or {}
    return report_rows(report, "kept", kept.folder.name, files, time.perf_counter() - start, kept.problem)


def _failed(path: Path, exc: ScintisegError, start: float, folder: Path | None = None) -> ScanResult:
    """A failed input's row; the line and the row say so when its output ``folder`` still holds an earlier run's
    report (kept: a reader may have edited its outlines; before session 61 nothing said it was not this run's)."""
    problem = exc.problem
    if folder is not None and (folder / REPORT_NAME).is_file() and str(folder) not in problem:
        problem += f" ({folder} holds an earlier run's report, not this run's)"
    tqdm.write(f"scintiseg predict: skipped {path}: {problem}", file=sys.stderr)
    return ScanResult(path, "failed", seconds=time.perf_counter() - start, error=problem)


def predict_pair(pair: tuple[Path, Path], out: Path, names: OutputNames, model: LoadedModel,
                 settings: PredictSettings, read_kwargs: dict, dicom: bool, pdf: bool = False) -> list[ScanResult]:
    """A study's ANT and POST files (:func:`scintiseg.io.view_pairs.find_view_pairs`) predicted as one scan into
    one folder, with a summary row per file (module docstring); as two scans when they cannot be joined."""
    start = time.perf_counter()
    scans: dict[Path, Scan] = {}
    unread: dict[Path, ScintisegError] = {}
    for path in pair:
        try:
            scans[path] = read_scan(path, **read_kwargs)
        except ScintisegError as exc:
            unread[path] = exc
    joined = None
    if not unread:
        try:
            joined = join_views(scans[pair[0]], scans[pair[1]])
        except ScintisegError as exc:
            tqdm.write(f"scintiseg predict: {pair[0]} and {pair[1]} predicted as separate scans: {exc.problem}", file=sys.stderr)
            _note_apart(pair, scans, exc.problem)
    if joined is None:
        return _predict_apart(pair, scans, unread, out, names, model, settings, dicom, pdf)
    headless: list[str] = []

    def views_agree(prediction: Prediction) -> bool:  # one file stored head-down? (scintiseg.predict.orientation)
        headless.extend(flag.removeprefix(NO_UPRIGHT_HEAD_FLAG + "_") for flag in prediction.qc_flags
                        if flag.startswith(NO_UPRIGHT_HEAD_FLAG + "_"))
        return not headless

    try:
        name = names.claim(joined_name(*pair), joined)
        report = _predict_into(joined, out, name, model, settings, dicom, accept=views_agree, pdf=pdf)
    except KeptByReader as kept:
        return kept_rows(kept, list(zip(pair, ("ANT", "POST"))), start)
    except ScintisegError as exc:
        return [_failed(path, exc, start, names.earlier_folder(pair[0])) for path in pair]
    if report is None:  # each file gets the head-down check alone
        names.release(name)
        why = (f"{headless[0]} shows no upright head where the other view does (a file stored head-down?); each view "
               "is read on its own")
        tqdm.write(f"scintiseg predict: {pair[0]} and {pair[1]} predicted as separate scans: {why}", file=sys.stderr)
        _note_apart(pair, scans, why)
        return _predict_apart(pair, scans, unread, out, names, model, settings, dicom, pdf)
    return report_rows(report, "ok", name, list(zip(pair, ("ANT", "POST"))), time.perf_counter() - start)


def _note_apart(pair: tuple[Path, Path], scans: dict[Path, Scan], why: str) -> None:
    """Record in each file's scan (both were read) that it is read apart from its other view's file, and why
    (report.json ``input.read_apart``, the report page's source line), so the report says what the console said; and
    name both scans' patient as :func:`~scintiseg.io.view_pairs.join_views` names a joined study's (the two reports
    name one patient)."""
    patient = study_patient(scans[pair[0]], scans[pair[1]])
    for path, other in (pair, pair[::-1]):
        scans[path].metadata[READ_APART_KEY] = {"other_file": str(other), "why": why}
        scans[path].patient_id = patient or scans[path].patient_id


def _predict_apart(pair: tuple[Path, Path], scans: dict[Path, Scan], unread: dict[Path, ScintisegError], out: Path,
                   names: OutputNames, model: LoadedModel, settings: PredictSettings, dicom: bool,
                   pdf: bool = False) -> list[ScanResult]:
    """A study's two files predicted as two scans, each into its own folder (an unreadable one failed)."""
    results = []
    for path in pair:
        start = time.perf_counter()
        try:
            if path in unread:
                raise unread[path]
            name = names.claim(output_stem(path), scans[path])
            report = _predict_into(scans[path], out, name, model, settings, dicom, pdf=pdf)
            results.append(ScanResult(path, "ok", name, report["summary"], ",".join(report["views"]), time.perf_counter() - start))
        except KeptByReader as kept:
            results.append(kept_rows(kept, [(path, None)], start)[0])
        except ScintisegError as exc:
            results.append(_failed(path, exc, start, names.earlier_folder(path)))
    return results


class OutputLock:
    """Exclusive use of an output folder by one process: ``fcntl.flock`` on ``FOLDER/.scintiseg.lock``.

    The lock file holds the holder's pid (for the refusal message) and is removed on release. The lock
    itself is the kernel's, not the file's: it ends when its holder exits, however it exits, so a file
    left behind by a killed run (a stale lock) is simply locked again by the next run; a recycled pid
    cannot keep a folder locked. Acquiring never waits: a folder in use is refused at once.

    Example::

        with OutputLock("out"):
            ...  # write into out/
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            ScintisegError: another process holds it (the message names its pid), or the folder is not writable.
        """
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise ScintisegError(f"cannot write here ({exc.strerror})", path=self.folder) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                raise ScintisegError(
                    f"in use by another scintiseg predict (pid {holder}); wait or choose another --out", path=self.folder
                ) from None
            # A holder releasing just now removes the file after we opened it: we then hold a lock on a file
            # nobody else will open, so start again with the file that is there now.
            if _same_file(fd, self.path):
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd = fd

    def release(self) -> None:
        """Remove the lock file, then drop the lock (in that order, see :meth:`acquire`)."""
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (opened.st_dev, opened.st_ino) == (on_disk.st_dev, on_disk.st_ino)


#: The ``error`` of an ``earlier`` row (module docstring).
EARLIER_NOTE = "an earlier run's result in this folder (its input was not in this run)"


def earlier_failures(out: Path) -> list[dict]:
    """The rows ``failed`` (or ``failed earlier``) of the ``summary.csv`` an earlier run left in ``out``, read before a
    run removes it (module docstring); none where ``out`` holds no summary of predict's."""
    if SUMMARY_NAME not in prediction_batch_files(out):
        return []
    try:
        text = (out / SUMMARY_NAME).read_text(encoding="utf-8", errors="surrogateescape")
        rows = list(csv.DictReader(io.StringIO(text)))
    except (OSError, csv.Error):
        return []
    return [row for row in rows if row.get("status") in ("failed", "failed earlier") and row.get("input")]


def _report_files(report: dict) -> list[tuple[Path, str | None]]:
    """The input file(s) a scan folder's ``report`` names, for :func:`report_rows`: a study's two files joined with
    their views (``input.view_sources``), else the one source file; none where it names no file."""
    facts = report.get("input") if isinstance(report.get("input"), dict) else {}
    sources = facts.get("view_sources")
    if isinstance(sources, dict) and len(sources) > 1 and all(isinstance(f, str) and f for f in sources.values()):
        return [(Path(file), str(view)) for view, file in sources.items()]
    source = facts.get("source")
    return [(Path(source), None)] if isinstance(source, str) and source else []


def earlier_rows(out: Path, files: list[Path], results: list[ScanResult],
                 failures: list[dict] | None = None) -> list[ScanResult]:
    """The rows of ``out``'s scans that this run's ``results`` (of its input ``files``) do not list: an ``earlier`` row
    per file of each scan folder no input of this run wrote, kept or named as its source, a review of a folder there
    left out (the worklist links it), and a ``failed earlier`` row per earlier ``failures`` row whose input is neither
    an input of this run nor the source of a folder (module docstring)."""
    out = Path(out)
    inputs = {_resolved(path) for path in files}
    written = {result.output for result in results if result.output}
    folders: dict[str, dict] = {}
    for entry in sorted(out.iterdir()) if out.is_dir() else []:
        report = prediction_report(entry) if entry.is_dir() and not entry.name.startswith(".") else None
        if report is not None:
            folders[entry.name] = report
    rows: list[ScanResult] = []
    sources: set[str | None] = set()
    for name, report in folders.items():
        named = _report_files(report)
        sources.update(_resolved(path) for path, _ in named)
        if name in written or not named or any(_resolved(path) in inputs for path, _ in named):
            continue
        review = report.get("review") if isinstance(report.get("review"), dict) else {}
        reviewed = review.get("source_folder")
        if isinstance(reviewed, str) and reviewed and Path(reviewed).name in folders \
                and _resolved(Path(reviewed).parent) == _resolved(out):
            continue  # a review of a folder listed here: linked beside it
        rows.extend(report_rows(report, "earlier", name, named, 0.0, EARLIER_NOTE))
    known = inputs | sources
    for row in failures or []:
        if _resolved(row["input"]) in known:
            continue
        rows.append(ScanResult(Path(row["input"]), "failed earlier", error=str(row.get("error") or "")))
    return rows


def summary_csv(results: list, columns: tuple[str, ...] = SUMMARY_COLUMNS) -> str:
    """The CSV of ``results`` (each with a ``row()`` dict of ``columns``: :class:`ScanResult`'s by default)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for result in results:
        writer.writerow(result.row())
    return buffer.getvalue()


def run_batch(
    inputs: list[str | Path],
    out: str | Path,
    model: LoadedModel,
    settings: PredictSettings | None = None,
    *,
    read_kwargs: dict | None = None,
    dicom: bool = True,
    progress: bool = True,
    join: bool = True,
    pdf: bool = False,
) -> list[ScanResult]:
    """Predict every input into ``out`` (see the module docstring); returns one result per input (the ``earlier``
    rows the summary and worklist add are not among them).

    ``join``: a study's ANT and POST stored as two files are predicted as one scan
    (:mod:`scintiseg.io.view_pairs`), unless ``read_kwargs`` names the view of every input (``view="ANT"``).
    ``pdf``: each scan's report also as ``report.pdf`` (and ``report_pdf.dcm`` for DICOM input with ``dicom``;
    :func:`~scintiseg.report.outputs.write_outputs`).

    Raises:
        ScintisegError: no input files, an input that does not exist, or ``out`` in use by another run.

    Example::

        results = run_batch(["scans/"], "out", load_model())
        failed = [r for r in results if r.status == "failed"]
    """
    settings = settings or PredictSettings()
    out = Path(out)
    files = expand_inputs(inputs)
    if not files:
        raise ScintisegError("no input files found", path=", ".join(str(i) for i in inputs))
    if out.exists() and not out.is_dir():
        raise ScintisegError("is a file, not a folder: give --out a folder", path=out)
    out.mkdir(parents=True, exist_ok=True)
    read_kwargs = dict(read_kwargs or {})
    join = join and read_kwargs.get("view") in (None, "name")
    groups = find_view_pairs(files) if join else [(path,) for path in files]
    results: list[ScanResult] = []
    with OutputLock(out):
        failures = earlier_failures(out)  # (its inputs not read by the model: listed again, module docstring)
        # An earlier run's summary (and its worklist, triage.json, boxes.json) describes that run: gone before this one
        # writes anything, so that a summary present always says the run that left it went through.
        for name in prediction_batch_files(out):
            (out / name).unlink(missing_ok=True)
        names = OutputNames(out)
        bar = tqdm(total=len(files), desc="predict", unit="file", disable=not progress or len(files) < 2, file=sys.stderr)
        try:
            for group in groups:
                if len(group) == 2:
                    results.extend(predict_pair(group, out, names, model, settings, read_kwargs | {"view": "name"},
                                                dicom, pdf))
                else:
                    path, start = group[0], time.perf_counter()
                    try:
                        results.append(predict_one(path, out, names, model, settings, read_kwargs, dicom, pdf))
                    except ScintisegError as exc:
                        results.append(_failed(path, exc, start, names.earlier_folder(path)))
                bar.update(len(group))
        except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM (scintiseg.cli): what is done stays, no summary claims all
            exc.add_note(f"{len(results)} of {len(files)} input(s) done into {out}, no {SUMMARY_NAME} written "
                         "(run again to predict every input)")
            raise
        finally:
            bar.close()
        listed = results + earlier_rows(out, files, results, failures)
        write_worklist(out, [result.row() for result in listed])  # before the summary, whose presence says all is done
        write_text_atomic(out / SUMMARY_NAME, summary_csv(listed))
    return results
