"""Batch prediction: many inputs, one output folder, atomic per scan, a summary CSV.

- Inputs are files or folders; a folder is searched recursively for regular files that are not hidden
  and not obviously something else (``.json``, ``.csv``, ``.txt``, ``.md``, ``.html``, ``.py``, ``.yaml``,
  ``.xml``: annotations such as Pascal VOC boxes beside their images);
  each file is read by content (:func:`scintiseg.io.read_scan`).
- Each scan's outputs go to ``OUT/<name>/`` where ``<name>`` is the input file name without suffix
  (characters other than letters, digits, ``.``, ``_``, ``-`` become ``_``; repeats get ``-2``, ``-3``).
  They are written into a hidden temporary folder inside ``OUT`` and renamed into place when complete, so
  a half-done scan never looks complete; a previous result of the same name is replaced only then.
- A file that cannot be read or predicted is reported (one line on stderr, a ``failed`` row in the
  summary) and skipped; the others are processed.
- ``OUT/summary.csv`` (written atomically, last) has one row per input. Nothing is written outside ``OUT``.
  Its ``triage_score`` column (report.json ``summary.triage_score``: the largest lesion probability the
  model gave inside what it saw, over the scan's views) lets a worklist be sorted (highest first: the
  scans the model is surest hold a lesion); empty for a failed input.
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
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.atomic import write_text_atomic
from scintiseg.io.interfile import referenced_data_files
from scintiseg.predict.loader import LoadedModel
from scintiseg.predict.pipeline import PredictSettings, predict_scan
from scintiseg.report.outputs import write_outputs

SKIP_SUFFIXES = {".json", ".csv", ".txt", ".md", ".html", ".py", ".yaml", ".yml", ".log", ".xml"}
SUMMARY_NAME = "summary.csv"
LOCK_NAME = ".scintiseg.lock"
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


def expand_inputs(inputs: list[str | Path]) -> list[Path]:
    """Files given, and the candidate files inside folders given (sorted), each once.

    Raises:
        ScintisegError: an input that does not exist.
    """
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in found.relative_to(path).parts)
                if found.is_file() and not hidden and found.suffix.lower() not in SKIP_SUFFIXES:
                    files.append(found)
        elif path.exists():
            files.append(path)
        else:
            raise ScintisegError("no such file or folder", path=path)
    unique: dict[Path, None] = {}
    for f in files:
        unique.setdefault(f.resolve(), None)
    data = referenced_data_files(list(unique))  # an Interfile header's data file is read with its header
    return [f for f in unique if f not in data]


def output_name(path: Path, taken: set[str]) -> str:
    """Safe, unique folder name for an input file."""
    stem = path.name.split(".")[0] if not path.name.startswith(".") else path.name
    base = re.sub(r"[^A-Za-z0-9._-]", "_", stem) or "scan"
    name, index = base, 2
    while name in taken or name in (SUMMARY_NAME, LOCK_NAME):
        name, index = f"{base}-{index}", index + 1
    taken.add(name)
    return name


def _publish(tmp: Path, final: Path) -> None:
    """Rename a finished temporary folder into place, replacing an older result only now."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def predict_one(path: Path, out: Path, name: str, model: LoadedModel, settings: PredictSettings, read_kwargs: dict, dicom: bool) -> ScanResult:
    """Read, predict and write one input into ``out/name`` atomically."""
    start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=out))
    try:
        scan = read_scan(path, **read_kwargs)
        prediction = predict_scan(scan, model, settings)
        report = write_outputs(prediction, tmp, dicom=dicom)
        _publish(tmp, out / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ScanResult(path, "ok", name, report["summary"], ",".join(prediction.views), time.perf_counter() - start)


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


def summary_csv(results: list[ScanResult]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
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
) -> list[ScanResult]:
    """Predict every input into ``out`` (see the module docstring); returns one result per input.

    Raises:
        ScintisegError: no input files, an input that does not exist, or ``out`` in use by another run.

    Example::

        results = run_batch(["scans/"], "out", load_model())
        failed = [r for r in results if r.status != "ok"]
    """
    settings = settings or PredictSettings()
    out = Path(out)
    files = expand_inputs(inputs)
    if not files:
        raise ScintisegError("no input files found", path=", ".join(str(i) for i in inputs))
    out.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    results: list[ScanResult] = []
    with OutputLock(out):
        bar = tqdm(files, desc="predict", unit="scan", disable=not progress or len(files) < 2, file=sys.stderr)
        for path in bar:
            name = output_name(path, taken)
            start = time.perf_counter()
            try:
                results.append(predict_one(path, out, name, model, settings, read_kwargs or {}, dicom))
            except ScintisegError as exc:
                tqdm.write(f"scintiseg predict: skipped {path}: {exc.problem}", file=sys.stderr)
                results.append(ScanResult(path, "failed", seconds=time.perf_counter() - start, error=exc.problem))
        write_text_atomic(out / SUMMARY_NAME, summary_csv(results))
    return results
