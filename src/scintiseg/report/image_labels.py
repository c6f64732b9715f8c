"""Image-level labels against a batch's predictions: does the triage score put the abnormal scans first?

Archives and public sets label scans, not pixels: normal or abnormal per scan or view (BS-80K, realdata.md), the
report's conclusion in a department. With such labels, ``scintiseg predict SCANS --out OUT --labels LABELS.csv``
measures what a worklist gets from the model: the ROC AUC of the triage score (the largest lesion probability,
:mod:`scintiseg.report.batch`) for abnormal against normal scans, with a 95 % bootstrap interval (scans resampled
within each class, 2,000 times, seed 0), beside two baselines any tool must beat: **the brightest pixel** (the
scan's largest count or grey level; a model whose score ranks abnormal scans worse than this has learned
nothing a threshold on counts would not) and the predicted BSI; and, at the model's own operating point (a lesion
found or not), the sensitivity and specificity; and, for a worklist's cut-off, the **score needed for a chosen
sensitivity** (:data:`TARGET_SENSITIVITIES`, session 73; :func:`sensitivity_cutoffs`): the highest triage score that
still puts that share of the abnormal scans at or above it, the specificity there and the share of all scans below it
(what a department could read last). Written to ``OUT/triage.json``; one line on stderr.

The labels file is a CSV with a header: a file column (the first of ``input``, ``file``, ``image``, ``filename``,
``name``, ``path``) and a label column (the first of ``label``, ``abnormal``, ``lesion``, ``class``, ``target``)
whose values are ``1``/``0``, ``true``/``false``, ``yes``/``no``, ``abnormal``/``normal``, ``positive``/
``negative`` or ``lesion``/``none`` (any case). A row names a scan by its path as given to ``predict``, its file
name or its file name without suffix; scans without a label and labels without a scan are counted, not guessed.
BS-80K's own lists are read as they are (session 22): ``wholeBodyANT/wholeBodyANT.txt``, no header, a line per image
``0001.jpg 1``, the names relative to the list's folder (the ANT and POST folders both hold a ``0001.jpg``, so each
list's names are kept as full paths); ``--labels`` may be given once per list (:func:`read_label_files`).
The file is read and checked before anything is predicted: a bad file is one line and exit 2. A study's ANT and POST
files predicted as one scan (:mod:`scintiseg.io.view_pairs`) keep a row each, scored by their own view (its
triage score, lesions and brightest pixel), so labels given per view stay per view; a label that names the scan
instead (its output name, what the two file names share: ``0123`` for ``0123_ANT.png`` and ``0123_POST.png``, as a
set labelled per patient gives it) scores the scan once, by its own triage score, lesions and brightest pixel.

Choices the task left open, stated: a scan that failed to predict is left out (counted); a summary row whose values
are not this run's prediction (``kept``: a folder a reader corrected, not predicted again; ``earlier``, ``failed
earlier``: an earlier run's, whose input was not in this run; :mod:`scintiseg.report.batch`) is left out and counted
(``not_this_run``): it may hold another model's output; ties in the AUC count
one half (Mann-Whitney); without a scan of either class the AUC is not computed (null).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
from scipy import stats

from scintiseg.errors import ScintisegError
from scintiseg.io.atomic import write_text_atomic
from scintiseg.io.file_keys import file_keys, find_by_name

FILE_COLUMNS = ("input", "file", "image", "filename", "name", "path")
LABEL_COLUMNS = ("label", "abnormal", "lesion", "class", "target")
LABEL_VALUES = {
    "1": True, "0": False, "true": True, "false": False, "yes": True, "no": False, "abnormal": True,
    "normal": False, "positive": True, "negative": False, "lesion": True, "none": False,
}
TRIAGE_NAME = "triage.json"
#: Bootstrap resamples of the AUC's interval.
RESAMPLES = 2000
#: The sensitivities a worklist cut-off is given for (:func:`sensitivity_cutoffs`) [choice: the range a triage tool
#: is set to, where missing an abnormal scan costs more than reading a normal one first].
TARGET_SENSITIVITIES = (0.90, 0.95, 0.99)


def read_image_labels(path: str | Path) -> dict[str, bool]:
    """``{file as written: abnormal}`` from a labels CSV (module docstring).

    Raises:
        ScintisegError: a missing or unreadable file, no file or label column, an unknown label value, or a
            file named twice with different labels.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeError) as exc:
        raise ScintisegError(f"cannot read the labels ({exc.__class__.__name__}: {exc})", path=path) from None
    if _is_name_label_list(text):
        return _read_name_label_list(text, path)
    try:
        rows = list(csv.DictReader(text.splitlines()))
    except csv.Error as exc:  # e.g. a field over the csv module's 131,072 characters: a traceback before session 52
        raise ScintisegError(f"not a labels CSV ({exc})", path=path) from None
    header = {name.strip().lower(): name for name in (rows[0].keys() if rows else []) if name}
    file_column = next((header[c] for c in FILE_COLUMNS if c in header), None)
    label_column = next((header[c] for c in LABEL_COLUMNS if c in header), None)
    if file_column is None or label_column is None:
        raise ScintisegError(f"labels need a header with a file column ({', '.join(FILE_COLUMNS)}) and a label "
                             f"column ({', '.join(LABEL_COLUMNS)})", path=path)
    labels: dict[str, bool] = {}
    for number, row in enumerate(rows, start=2):
        name, value = (row.get(file_column) or "").strip(), (row.get(label_column) or "").strip().lower()
        if not name:
            continue
        if value not in LABEL_VALUES:
            raise ScintisegError(f"line {number}: label {value!r} is none of {', '.join(LABEL_VALUES)}", path=path)
        if name in labels and labels[name] != LABEL_VALUES[value]:
            raise ScintisegError(f"line {number}: {name!r} is labelled both abnormal and normal", path=path)
        labels[name] = LABEL_VALUES[value]
    if not labels:
        raise ScintisegError("no labelled scan in the file", path=path)
    return labels


def _is_name_label_list(text: str) -> bool:
    """Whether ``text`` is BS-80K's per-folder list (``0001.jpg 1`` per line, no header): no comma on its first line
    and every non-blank line two whitespace-separated fields, the second a label value."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    return bool(lines) and "," not in text.splitlines()[0] and all(
        len(fields) == 2 and fields[1].lower() in LABEL_VALUES for fields in lines)


def _read_name_label_list(text: str, path: Path) -> dict[str, bool]:
    """A BS-80K list: each file named relative to the list's own folder (``wholeBodyANT/wholeBodyANT.txt`` names
    ``wholeBodyANT/0001.jpg``), keyed by its resolved path, so that the ANT and POST folders' ``0001.jpg`` stay two
    scans (:func:`~scintiseg.io.file_keys.file_keys` gives a scan's resolved path too).

    The folder is resolved once: a plain file name that is not a symbolic link resolves to the resolved folder joined
    with it, and only other names (a sub-folder, ``..``, a link) are resolved each, so that a list of 100,000 lines
    reads in a fraction of a second (resolving every line took 6 s, and the fuzzer timed out under load, session 58)."""
    labels: dict[str, bool] = {}
    folder = str(path.parent.resolve())
    keys: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, value = line.split()
        if "\0" in name:  # no file can be named so; resolve() would raise ValueError (the fuzzer, session 52)
            raise ScintisegError(f"line {number}: the file name holds a NUL byte", path=path)
        key = keys.get(name)
        if key is None:
            joined = os.path.join(folder, name)
            plain = name not in (".", "..") and os.sep not in name and (os.altsep is None or os.altsep not in name)
            key = keys[name] = joined if plain and not os.path.islink(joined) else str((path.parent / name).resolve())
        if key in labels and labels[key] != LABEL_VALUES[value.lower()]:
            raise ScintisegError(f"line {number}: {name!r} is labelled both abnormal and normal", path=path)
        labels[key] = LABEL_VALUES[value.lower()]
    return labels


def read_label_files(paths: list[str | Path]) -> dict[str, bool]:
    """The labels of several files (``--labels`` given more than once: BS-80K's ANT and POST lists) as one mapping.

    Raises:
        ScintisegError: what :func:`read_image_labels` raises, or a file named by two label files with different
            labels (naming both files).
    """
    merged: dict[str, bool] = {}
    origin: dict[str, Path] = {}
    for path in map(Path, paths):
        for key, value in read_image_labels(path).items():
            if key in merged and merged[key] != value:
                raise ScintisegError(f"{key!r} is labelled {'normal' if value else 'abnormal'} in {origin[key]} and "
                                     f"{'abnormal' if value else 'normal'} here", path=path)
            merged[key], origin[key] = value, path
    return merged


def write_image_labels(path: str | Path, labels: dict[str, bool]) -> int:
    """A labels CSV that :func:`read_image_labels` reads back: ``file,label`` with ``abnormal``/``normal``, in the
    order of ``labels`` (atomic: never half-written). Returns how many are abnormal."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")  # quotes a name that holds a comma
    writer.writerow(("file", "label"))
    writer.writerows((name, "abnormal" if abnormal else "normal") for name, abnormal in labels.items())
    write_text_atomic(path, text.getvalue())
    return sum(bool(abnormal) for abnormal in labels.values())


def label_of(labels: dict[str, bool], scan_path: str | Path) -> bool | None:
    """The label of a scan, found by its path as given, its file name or its stem; None when unlabelled."""
    return find_by_name(labels, scan_path)


def _auc(positives: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """The ROC AUC of ``positives`` against ``negatives`` along the last axis: the Mann-Whitney U statistic over
    ``n_pos n_neg``, the share of (abnormal, normal) pairs ranked right, ties counting one half."""
    # The p-value is not used: "asymptotic" skips the exact null distribution "auto" computes for small samples.
    u = stats.mannwhitneyu(positives, negatives, axis=-1, method="asymptotic").statistic
    return u / (positives.shape[-1] * negatives.shape[-1])


def roc_auc(scores: np.ndarray, abnormal: np.ndarray) -> float | None:
    """Mann-Whitney ROC AUC (:func:`scipy.stats.mannwhitneyu`; ties count one half); None without both classes."""
    scores, abnormal = np.asarray(scores, dtype=np.float64), np.asarray(abnormal, dtype=bool)
    if abnormal.all() or not abnormal.any():
        return None
    return float(_auc(scores[abnormal], scores[~abnormal]))


#: Scores resampled per call of :func:`_auc` in :func:`auc_interval` (resamples x scans): 8 MB a block, whatever
#: the number of labelled scans.
_BLOCK_CELLS = 1_000_000


def auc_interval(scores: np.ndarray, abnormal: np.ndarray, resamples: int = RESAMPLES, seed: int = 0) -> list[float] | None:
    """95 % percentile-bootstrap interval of :func:`roc_auc`, scans resampled within each class.

    Not :func:`scipy.stats.bootstrap` (which resamples each class too): the resamples are drawn as they have been
    since session 17, per resample the abnormal scans then the normal ones from ``np.random.default_rng(seed)``, so
    that the intervals docs/predict.md reports repeat exactly; SciPy draws its resamples otherwise, and its
    interval differs in the third decimal. The resamples' AUCs are :func:`roc_auc`'s, computed a block of
    resamples at a time.
    """
    scores, abnormal = np.asarray(scores, dtype=np.float64), np.asarray(abnormal, dtype=bool)
    if roc_auc(scores, abnormal) is None:
        return None
    rng = np.random.default_rng(seed)
    pos, neg = scores[abnormal], scores[~abnormal]
    block = max(1, _BLOCK_CELLS // scores.size)
    values = []
    for start in range(0, resamples, block):
        draws = [(rng.choice(pos, pos.size), rng.choice(neg, neg.size)) for _ in range(min(block, resamples - start))]
        values.append(_auc(np.stack([a for a, _ in draws]), np.stack([b for _, b in draws])))
    values = np.concatenate(values)
    return [round(float(np.percentile(values, 2.5)), 4), round(float(np.percentile(values, 97.5)), 4)]


def _report(out: Path, output: str) -> dict | None:
    """A scan's report.json, or None when it cannot be read."""
    try:
        report = json.loads((out / output / "report.json").read_text())
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def _brightest(report: dict | None, views: str = "") -> float | None:
    """The largest count (or grey level) over the views of a summary row (``views``, comma-separated: one view of a
    study joined from two files, :mod:`scintiseg.io.view_pairs`), else over the scan's views, from its report."""
    try:
        counts = report["input"]["counts"]
        chosen = [name for name in views.split(",") if name in counts] or list(counts)
        return float(max(counts[name]["max"] for name in chosen))
    except (ValueError, KeyError, TypeError):
        return None


def _scan_row(out: Path, row: dict, label: bool) -> tuple:
    """(label, triage, brightest, BSI, a lesion found) of a whole scan joined from two files (a label naming the
    scan, not a file): the scan's triage score and lesions from its report.json, the brightest pixel of its views."""
    report = _report(out, row["output"])
    try:
        triage, lesions = float(report["summary"]["triage_score"]), int(report["summary"]["lesion_count"])
    except (ValueError, KeyError, TypeError):
        triage, lesions = float(row["triage_score"]), int(row["lesion_count"])
    bsi = float(row["bsi_percent"]) if row["bsi_percent"] else None
    return label, triage, _brightest(report), bsi, lesions > 0


def sensitivity_cutoffs(scores: np.ndarray, abnormal: np.ndarray,
                        targets: tuple[float, ...] = TARGET_SENSITIVITIES) -> list[dict]:
    """For each target sensitivity, the highest score ``cutoff`` with at least that share of the abnormal scans at or
    above it (a scan at or above the cut-off is "read first"), the sensitivity and specificity it gives (a normal scan
    below it counts as cleared) and the share of all scans below it; an empty list without a scan of either class.
    Ties: scans of one score fall on one side together, so the sensitivity reached may exceed the target."""
    scores, abnormal = np.asarray(scores, dtype=np.float64), np.asarray(abnormal, dtype=bool)
    if not abnormal.any() or abnormal.all():
        return []
    positives = np.sort(scores[abnormal])[::-1]
    rows = []
    for target in targets:
        needed = max(1, int(np.ceil(target * positives.size - 1e-9)))  # abnormal scans that must be at or above it
        cutoff = float(positives[needed - 1])
        above = scores >= cutoff
        rows.append({"target_sensitivity": target, "cutoff": cutoff,
                     "sensitivity": round(float(above[abnormal].mean()), 4),
                     "specificity": round(float((~above[~abnormal]).mean()), 4),
                     "share_below": round(float((~above).mean()), 4)})
    return rows


def evaluate_triage(out: str | Path, labels: dict[str, bool]) -> dict:
    """The triage score, the brightest pixel and the BSI against image-level ``labels``, over the scans of a
    batch's ``OUT/summary.csv`` (module docstring)."""
    out = Path(out)
    try:
        rows = list(csv.DictReader((out / "summary.csv").read_text().splitlines()))
    except OSError as exc:
        raise ScintisegError(f"no batch summary to evaluate ({exc.strerror})", path=out / "summary.csv") from None
    kept, unlabelled, failed, not_this_run, used = [], [], 0, 0, set()
    joined = Counter(row["output"] for row in rows if row["status"] == "ok" and row["output"])
    scored_scans: set[str] = set()
    for row in rows:
        label = label_of(labels, row["input"])
        scan_label = None
        if label is None and joined[row["output"]] > 1:  # a study's two files: a label may name the scan
            scan_label = labels.get(row["output"])
        if label is None and scan_label is None:
            unlabelled.append(row["input"])
            continue
        if scan_label is not None:
            used.add(row["output"])
            if row["output"] in scored_scans:  # the scan's other file: scored once, as a scan
                continue
            scored_scans.add(row["output"])
            kept.append(_scan_row(out, row, scan_label))
            continue
        used.update(k for k in file_keys(row["input"]) if k in labels)
        if row["status"] not in ("ok", "failed"):  # kept, earlier: not this run's prediction (module docstring)
            not_this_run += 1
            continue
        if row["status"] != "ok":
            failed += 1
            continue
        bsi = float(row["bsi_percent"]) if row["bsi_percent"] else None  # none for a partial view (a crop)
        kept.append((label, float(row["triage_score"]), _brightest(_report(out, row["output"]), row.get("views") or ""), bsi, int(row["lesion_count"]) > 0))
    abnormal = np.array([k[0] for k in kept], dtype=bool)
    result: dict = {"scans": len(kept), "abnormal": int(abnormal.sum()), "normal": int((~abnormal).sum()),
                    "failed": failed, "not_this_run": not_this_run, "unlabelled_scans": len(unlabelled), "labels_without_scan": len(set(labels) - used)}
    triage = np.array([k[1] for k in kept])
    result["triage_auc"] = roc_auc(triage, abnormal)
    result["triage_auc_ci95"] = auc_interval(triage, abnormal)
    brightest = [k[2] for k in kept]
    result["brightest_pixel_auc"] = roc_auc(np.array(brightest), abnormal) if None not in brightest else None
    bsi = [k[3] for k in kept]
    result["bsi_auc"] = roc_auc(np.array(bsi), abnormal) if None not in bsi else None
    found = np.array([k[4] for k in kept], dtype=bool)
    result["cutoffs"] = sensitivity_cutoffs(triage, abnormal)
    result["operating_point"] = {
        "rule": "a lesion found (lesion_count > 0)",
        "sensitivity": float(found[abnormal].mean()) if abnormal.any() else None,
        "specificity": float((~found[~abnormal]).mean()) if (~abnormal).any() else None,
    }
    return result


def write_triage(out: str | Path, result: dict) -> Path:
    """``OUT/triage.json`` (atomic)."""
    path = Path(out) / TRIAGE_NAME
    write_text_atomic(path, json.dumps(result, indent=1) + "\n")
    return path


def format_score(value: float | None) -> str:
    """An AUC, share or rate for a terminal line: three decimals, or ``n/a``."""
    return "n/a" if value is None else f"{value:.3f}"


def triage_line(result: dict) -> str:
    """One line for the terminal."""
    fmt = format_score

    ci = result["triage_auc_ci95"]
    op = result["operating_point"]
    return (f"triage against the labels ({result['scans']} scans, {result['abnormal']} abnormal): ROC AUC "
            f"{fmt(result['triage_auc'])}" + (f" ({ci[0]:.3f}-{ci[1]:.3f})" if ci else "")
            + f"; the brightest pixel {fmt(result['brightest_pixel_auc'])}; BSI {fmt(result['bsi_auc'])}; a lesion found: "
            f"sensitivity {fmt(op['sensitivity'])}, specificity {fmt(op['specificity'])}"
            + "".join(f"; for sensitivity {row['target_sensitivity']:.2f}: triage >= {row['cutoff']:.4g}, specificity "
                      f"{row['specificity']:.3f}, {100 * row['share_below']:.0f} % of scans below"
                      for row in result.get("cutoffs") or [] if row["target_sensitivity"] == 0.95))
