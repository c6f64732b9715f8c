"""``scintiseg info PATH [--json]``: what a scan file holds (views, shape, dtype, spacing, counts, patient; for an export,
the counts behind its grey levels where its histogram tells them, :mod:`scintiseg.prepare.export_gain`). For a folder
(session 73: a department's export folder is the first thing a physicist looks into), one line per file predict
would read (:func:`scintiseg.io.scan_files.expand_inputs`): its views, matrix, pixel size, counts or grey levels,
patient and study date, or why it cannot be read; ``--json`` a list of the same facts; exit 1 when some file cannot be
read, as ``predict``. A study's two files that ``predict`` joins into one scan (:func:`scintiseg.io.view_pairs.
find_view_pairs`, :func:`~scintiseg.io.view_pairs.join_views`) say so, with the scan's patient (session 74: each
file's own line named its own patient, ``0003_ANT``, where predict reads the study as one scan of patient ``0003``),
and two it finds but cannot join say why they are read apart; the last line counts the pairs joined."""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.scan_files import expand_inputs
from scintiseg.io.view_pairs import find_view_pairs, join_views
from scintiseg.io.patient_sides import MIRRORED_KEY, ORIENTATION_KEY
from scintiseg.prepare.export_gain import GainEstimate, export_gains
from scintiseg.scan import Scan


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``info``."""
    parser = subparsers.add_parser(
        "info",
        help="show the views, shape, pixel spacing and counts of a scan file",
        description="Show what a scan file holds: views, shape, dtype, pixel spacing, total and maximum "
        "counts per view, patient id. Reads DICOM (any transfer syntax pydicom decodes), Interfile, MetaImage, "
        "NIfTI, .npy, .npz, 16-bit PNG, TIFF, 8-bit exports, and raw matrices (with --shape and --dtype).",
    )
    parser.add_argument("path", help="scan file, or a folder: one line per scan file in it")
    parser.add_argument("--json", action="store_true", help="print the facts as one JSON object")
    parser.add_argument("--shape", help="ROWSxCOLS of a raw headerless matrix, e.g. 1024x256")
    parser.add_argument("--dtype", default=None, help="element type of a raw matrix (default uint16)")
    parser.add_argument(
        "--byteorder", choices=("little", "big"), default="little", help="byte order of a raw matrix"
    )
    parser.add_argument(
        "--pixel-spacing", default=None, metavar="MM",
        help="pixel size, as scintiseg predict takes it: for a file without one, or one whose own is no camera's",
    )
    parser.set_defaults(func=run)


#: What the reader assumed or undid, as ``scan.metadata`` records it, added to ``--json``.
READING_NOTES = ("pixel_spacing_assumed", "turned_upright", "views_split", "display_inverted", "view_from_name",
                 "nifti_axes", "npz_arrays", "energy_window_read", "colour_painted", "colour_table", "colour_table_off",
                 "panels_blanked", "frame_lines_blanked", "display_gamma", ORIENTATION_KEY, MIRRORED_KEY)
#: The patient directions of DICOM's orientation letters, as ``info`` words them.
DIRECTIONS = {"L": "the patient's left", "R": "the patient's right", "H": "the head", "F": "the feet",
              "A": "the front", "P": "the back"}
#: Said after a pixel spacing the reader assumed (a PNG, JPEG, TIFF or .npy file records none).
ASSUMED = " (assumed: the file records none)"


def field_mm(scan: Scan) -> str:
    """The view's extent, rows x columns in mm (a whole-body view about 2 m x 0.6 m: a wrong spacing shows here)."""
    return " x ".join(f"{n * mm:.0f}" for n, mm in zip(scan.shape, scan.pixel_spacing))


def gain_line(name: str, estimate: GainEstimate | None) -> str:
    """One view's counts read from its export's comb (:func:`~scintiseg.prepare.export_gain.estimate_export_gain`), in
    words."""
    if estimate is None:
        return f"counts         {name}: not told by the grey levels (no comb of counts in their histogram)"
    bound = (f" or more (the top grey level may be clipped: {100 * estimate.clipped_share:.2g} % of the pixels there)"
             if estimate.lower_bound else "")
    return (f"counts         {name}: about {estimate.counts_total:,.0f}{bound}, at {estimate.gain:.2f} grey levels per "
            "count (read from the steps between its grey levels)")


def format_table(scan: Scan) -> str:
    """The human-readable summary: a header block and one aligned row per view."""
    facts = scan.summary()
    spacing = " x ".join(f"{v:g}" for v in facts["pixel_spacing"])
    lines = [
        f"file           {facts['source']}",
        f"patient id     {facts['patient_id'] or '-'}",
        f"shape          {facts['shape'][0]} x {facts['shape'][1]} ({facts['dtype']})",
        f"pixel spacing  {spacing} mm" + (ASSUMED if scan.metadata.get("pixel_spacing_assumed") else ""),
        f"field          {field_mm(scan)} mm (rows x columns)",
        "",
    ]
    for key in ("nifti_axes", "turned_upright", "views_split"):
        if scan.metadata.get(key):
            lines[-1:-1] = [f"layout         {scan.metadata[key]}"]
    if scan.metadata.get("view_from_name"):
        lines[-1:-1] = [f"view           {scan.metadata['view_from_name']}"]
    if scan.metadata.get("npz_arrays"):
        lines[-1:-1] = [f"arrays         {scan.metadata['npz_arrays']}"]
    orientation = scan.metadata.get(ORIENTATION_KEY) or {}
    mirrored = scan.metadata.get(MIRRORED_KEY) or []
    for view, letters in orientation.items():  # the view's directions from the DICOM header, as read (io.patient_sides)
        along = [DIRECTIONS.get(letter, letter) for letter in str(letters).split("\\")]
        told = "; the header says it is stored mirrored: read mirrored back" if view in mirrored else ""
        lines[-1:-1] = [f"sides          {view}: columns toward {' and rows toward '.join(along)} as read{told}"]
    if scan.metadata.get("colour_table"):
        off = scan.metadata.get("colour_table_off", 0)
        lines[-1:-1] = [f"values         shown through the colour table {scan.metadata['colour_table']}, read back to "
                        "its grey levels" + (f"; {off} pixels off the table painted over" if off else "")]
    if scan.metadata.get("colour_painted"):
        lines[-1:-1] = [f"values         {scan.metadata['colour_painted']} pixels of coloured annotations painted over"]
    if scan.metadata.get("panels_blanked"):
        sides = ", ".join(f"{side} {depth} px" for side, depth in scan.metadata["panels_blanked"].items())
        lines[-1:-1] = [f"values         a screen capture's flat panels set to the background ({sides})"]
    if scan.metadata.get("frame_lines_blanked"):
        drawn = ", ".join(scan.metadata["frame_lines_blanked"])
        lines[-1:-1] = [f"values         a screen capture's frame and separator lines set to the background ({drawn})"]
    if scan.metadata.get("display_gamma"):
        lines[-1:-1] = [f"values         shown through a display gamma of {scan.metadata['display_gamma']:g} (read from the "
                        "noise), read back to linear grey levels"]
    if scan.metadata.get("energy_window_read"):
        lines[-1:-1] = [f"frames         {scan.metadata['energy_window_read']}"]
    eight_bit = facts["dtype"] == "uint8"  # an 8-bit export (JPEG, 8-bit PNG or DICOM): grey levels, not counts
    if eight_bit:
        inverted = ", read back from an inverted display" if scan.metadata.get("display_inverted") else ""
        lines[-1:-1] = [f"values         grey levels of an 8-bit export, not counts{inverted}"]
    gains = export_gains(scan)
    if eight_bit or any(estimate is not None for estimate in gains.values()):
        lines[-1:-1] = [gain_line(name, estimate) for name, estimate in gains.items()]
    rows = [("view", "total grey levels", "max grey level") if eight_bit else ("view", "total counts", "max counts")]
    rows += [(name, f"{c['total']:,}", f"{c['max']:g}") for name, c in facts["counts"].items()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        lines.append(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}")
    return "\n".join(lines)


def _read(path, args: argparse.Namespace) -> Scan:
    """``path`` read as `scintiseg predict` reads it: views split and named alike."""
    return read_scan(path, shape=args.shape, dtype=args.dtype, byteorder="<" if args.byteorder == "little" else ">",
                     split_views=True, view="name", pixel_spacing=args.pixel_spacing)


def json_facts(scan: Scan) -> dict:
    """The facts ``--json`` prints of one scan."""
    facts = scan.summary()
    facts.update({key: scan.metadata[key] for key in READING_NOTES if key in scan.metadata})
    gains = export_gains(scan)
    if facts["dtype"] == "uint8" or any(estimate is not None for estimate in gains.values()):
        facts["export_gain"] = {name: None if estimate is None else estimate.to_dict() for name, estimate in gains.items()}
    facts["field_mm"] = [round(n * mm, 1) for n, mm in zip(scan.shape, scan.pixel_spacing)]
    return facts


def folder_line(path: Path, root: Path, scan: Scan | None, problem: str = "") -> str:
    """One file of a folder: its path under ``root``, then its views, matrix, pixel size (``assumed`` where the file
    gives none), counts (grey levels of an 8-bit export), patient and study date; or why it cannot be read."""
    name = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    if scan is None:
        return f"{name}  cannot be read: {problem}"
    facts = scan.summary()
    spacing = " x ".join(f"{v:g}" for v in facts["pixel_spacing"]) + " mm"
    spacing += " (assumed)" if scan.metadata.get("pixel_spacing_assumed") else ""
    unit = "grey levels" if facts["dtype"] == "uint8" else "counts"
    totals = ", ".join(f"{view} {counts['total']:,}" for view, counts in facts["counts"].items())
    study = str(scan.metadata.get("study_date") or "")
    study = f"{study[:4]}-{study[4:6]}-{study[6:]}" if len(study) == 8 and study.isdigit() else study
    return (f"{name}  {'+'.join(facts['views'])}  {facts['shape'][0]} x {facts['shape'][1]}  {spacing}  {unit} "
            f"{totals}  patient {facts['patient_id'] or '-'}" + (f"  study {study}" if study else ""))


def run_folder(args: argparse.Namespace) -> int:
    """``info FOLDER``: a line (or a JSON object) per scan file in it, a study's two files noting how predict reads them
    (module docstring)."""
    root = Path(args.path)
    files = sorted(expand_inputs([root]))
    if not files:
        raise ScintisegError("no scan file in this folder", path=root)
    scans: dict[Path, Scan] = {}
    rows: dict[Path, dict] = {}
    lines: dict[Path, str] = {}
    for path in files:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # (a file's reading notes: its own `info` says them)
                scans[path] = _read(path, args)
        except ScintisegError as exc:
            rows[path] = {"file": str(path), "error": exc.problem}
            lines[path] = folder_line(path, root.resolve(), None, exc.problem)
            continue
        rows[path] = {"file": str(path)} | json_facts(scans[path])
        lines[path] = folder_line(path, root.resolve(), scans[path])
    joined = sum(_note_pair(group, scans, rows, lines) for group in find_view_pairs(files)
                 if len(group) == 2 and all(path in scans for path in group))
    unread = sum("error" in row for row in rows.values())
    print(json.dumps([rows[path] for path in files], indent=1) if args.json else "\n".join(
        [lines[path] for path in files]
        + [f"{len(files)} file(s), {len(files) - unread} read, {unread} cannot be read"
           + (f"; {joined} study's two files joined into one scan" if joined == 1 else "")
           + (f"; {joined} studies' two files joined into one scan each" if joined > 1 else "")]))
    return 1 if unread else 0  # as predict: 1 when some input cannot be read


def _note_pair(pair: tuple[Path, ...], scans: dict[Path, Scan], rows: dict[Path, dict], lines: dict[Path, str]) -> bool:
    """Each of a study's two files noted as predict reads them: joined into one scan (``joined_with``, the scan's
    ``scan_patient``; True) or read apart (``read_apart``: why; False)."""
    try:
        joined = join_views(scans[pair[0]], scans[pair[1]])
    except ScintisegError as exc:
        for path, other in zip(pair, pair[::-1]):
            rows[path]["read_apart"] = {"from": str(other), "why": exc.problem}
            lines[path] += f"  read apart from {other.name}: {exc.problem}"
        return False
    for path, other in zip(pair, pair[::-1]):
        rows[path] |= {"joined_with": str(other), "scan_patient": joined.patient_id}
        lines[path] += f"  joined with {other.name} as one scan (patient {joined.patient_id or '-'})"
    return True


def run(args: argparse.Namespace) -> int:
    if Path(args.path).is_dir():
        return run_folder(args)
    scan = _read(args.path, args)
    if args.json:
        print(json.dumps(json_facts(scan), indent=1))
    else:
        print(format_table(scan))
    return 0
