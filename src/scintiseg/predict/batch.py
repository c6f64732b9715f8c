"""Batch prediction: many inputs, one output folder, atomic per scan, a summary CSV.

- Inputs are files or folders; a folder is searched recursively for regular files that are not hidden
  and not obviously something else (``.json``, ``.csv``, ``.txt``, ``.md``, ``.html``, ``.py``, ``.yaml``);
  each file is read by content (:func:`scintiseg.io.read_scan`).
- Each scan's outputs go to ``OUT/<name>/`` where ``<name>`` is the input file name without suffix
  (characters other than letters, digits, ``.``, ``_``, ``-`` become ``_``; repeats get ``-2``, ``-3``).
  They are written into a hidden temporary folder inside ``OUT`` and renamed into place when complete, so
  a half-done scan never looks complete; a previous result of the same name is replaced only then.
- A file that cannot be read or predicted is reported (one line on stderr, a ``failed`` row in the
  summary) and skipped; the others are processed.
- ``OUT/summary.csv`` (written atomically, last) has one row per input. Nothing is written outside ``OUT``.
"""

from __future__ import annotations

import csv
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
from scintiseg.io.atomic import write_text_atomic
from scintiseg.predict.loader import LoadedModel
from scintiseg.predict.outputs import write_outputs
from scintiseg.predict.pipeline import PredictSettings, predict_scan

SKIP_SUFFIXES = {".json", ".csv", ".txt", ".md", ".html", ".py", ".yaml", ".yml", ".log"}
SUMMARY_NAME = "summary.csv"
SUMMARY_COLUMNS = (
    "input", "status", "output", "views", "lesion_count", "soloway_grade", "bsi_percent",
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
            "lesion_count": s.get("lesion_count", ""),
            "soloway_grade": s.get("soloway_grade", ""),
            "bsi_percent": s.get("bsi_percent", ""),
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
    return list(unique)


def output_name(path: Path, taken: set[str]) -> str:
    """Safe, unique folder name for an input file."""
    stem = path.name.split(".")[0] if not path.name.startswith(".") else path.name
    base = re.sub(r"[^A-Za-z0-9._-]", "_", stem) or "scan"
    name, index = base, 2
    while name in taken or name == SUMMARY_NAME:
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
    from scintiseg.io import read_scan

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
