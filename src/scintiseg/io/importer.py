"""Import a folder of a department's own scans as a data set (``scintiseg dataset import``, issue 16).

Walks the given files and folders (recursively, in sorted order, skipping hidden names and the output
folder) and writes a data set in the layout of :mod:`scintiseg.io.dataset` that ``scintiseg dataset
check`` passes:

* **Scans**: every file :func:`scintiseg.io.read_scan` reads (DICOM, 16-bit PNG or TIFF, ``.npy``) becomes
  one case. Its image is copied byte for byte to ``images/<case><suffix>`` (atomically), or hard-linked
  there with ``link=True`` (no second copy on disk; a symlink would point outside the data set folder,
  which :func:`scintiseg.io.dataset.resolve` refuses; across file systems, where no hard link can be made,
  the file is copied with a warning). DICOM keeps its views (a two-frame NM file is one ANT+POST case), a plain image is one
  ``VIEW``. An 8-bit PNG/TIFF is accepted with one warning per file: it is a display export (windowed grey
  levels), not counts, and is marked ``meta["display_export"]``. A file that cannot be read is skipped
  and listed with the reader's one-line reason; nothing raises on a bad file.
* **Labels**: every ``.json`` file under the sources and under ``labels_dir`` is a LabelMe candidate,
  read with :func:`scintiseg.io.labelme.read_labelme`. It belongs to a scan when its file stem, or the stem
  of its ``imagePath``, is the scan's file stem, optionally followed by ``_ANT`` or ``_POST`` (any case),
  which names the view. Otherwise the view comes from the ``"view"`` key scintiseg writes (which wins over a
  suffix, as in :func:`~scintiseg.io.labelme.read_labelme`), else it is ``VIEW``. A single-view scan takes
  an annotation of any matching view; an ANT+POST scan needs the view named. When two scans share a stem,
  the one in the annotation's own folder wins, then the one at the same relative folder under its source.
  The annotation's size must equal the scan's. Each matched annotation is written as
  ``labels/<case>_<VIEW>.json`` with the view's display rendering embedded (as
  :func:`scintiseg.prepare.case_arrays.write_case_arrays` writes them; LabelMe opens them without the
  DICOM file). Unmatched, ambiguous or unreadable LabelMe files are listed with the reason.
* **Patients**: a DICOM file's Patient ID groups its cases; a file without one (not DICOM, or an empty
  PatientID) gets its patient id from ``patient_from``: ``"stem"`` (the file name without suffix, the
  default), ``"parent"`` (the name of the folder holding the file) or ``"regex:PATTERN"`` (the first group
  of ``re.search(PATTERN, file name)``; a file it does not match is skipped and listed).
* **Case ids**: the file stem reduced to ``[A-Za-z0-9._-]``; when taken, ``<folder>_<stem>``, then
  ``-2``, ``-3``, ... in walk order.

Re-running on the same sources is idempotent: a source whose SHA-256 is already in the manifest
(``meta["sha256"]``) is left alone, so existing cases, their files and ids never change, and only new
files are added (a file edited since is new content and becomes a new case). Within one run, a file with
the same content as an earlier one is skipped as a duplicate. The manifest is written last and
atomically, so an interrupted run leaves the previous data set (or none) behind, plus copied files that
the next run overwrites.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.atomic import atomic_path, remove_stale_partials
from scintiseg.io.dataset import MANIFEST_NAME, Case, DatasetManifest, load_manifest, save_manifest
from scintiseg.io.dicom import is_dicom
from scintiseg.io.labelme import read_labelme, write_labelme
from scintiseg.scan import VIEW_NAMES, Annotation, Scan

#: The named ``patient_from`` rules; ``"regex:PATTERN"`` is the third kind.
PATIENT_RULES: tuple[str, ...] = ("stem", "parent")
REGEX_PREFIX = "regex:"
#: Suffix of an image file copied from a DICOM source, whatever the source's name.
DICOM_SUFFIX = ".dcm"
_VIEW_SUFFIX = re.compile(r"^(?P<stem>.+)_(?P<view>ANT|POST)$", re.IGNORECASE)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class ImportReport:
    """What :func:`import_dataset` did.

    Args:
        added: the new cases, in manifest order.
        kept: how many cases the data set already had (left unchanged).
        skipped: (path, reason) of every source file that became no case.
        unmatched_labels: (path, reason) of every LabelMe file that was not written into the data set.
        warnings: (path, message): 8-bit display exports, readers' warnings.
        manifest: path of the ``dataset.json`` written.
    """

    added: list[Case] = field(default_factory=list)
    kept: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    unmatched_labels: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    manifest: Path | None = None


@dataclass
class _Source:
    """One readable scan file found by the walk."""

    path: Path
    root: Path
    scan: Scan
    sha256: str
    dicom: bool
    patient_id: str
    display_export: bool
    case_id: str = ""
    annotations: dict[str, tuple[Path, Annotation]] = field(default_factory=dict)

    @property
    def relative_folder(self) -> Path:
        return self.path.parent.relative_to(self.root) if self.root != self.path else Path()


def check_patient_rule(rule: str) -> str:
    """``rule`` when it is ``stem``, ``parent`` or ``regex:PATTERN`` with one group; else a ScintisegError."""
    if rule in PATIENT_RULES:
        return rule
    if rule.startswith(REGEX_PREFIX):
        try:
            pattern = re.compile(rule[len(REGEX_PREFIX):])
        except re.error as exc:
            raise ScintisegError(f"--patient-from {rule!r}: not a regular expression ({exc})") from None
        if pattern.groups != 1:
            raise ScintisegError(f"--patient-from {rule!r}: the pattern needs exactly one group, it has {pattern.groups}")
        return rule
    raise ScintisegError(f"--patient-from {rule!r}: expected one of {', '.join(PATIENT_RULES)} or regex:PATTERN")


def patient_from_name(path: Path, rule: str) -> str | None:
    """The patient id ``rule`` (see :func:`check_patient_rule`) gives file ``path``; None when a regex misses."""
    if rule == "stem":
        return path.stem
    if rule == "parent":
        return path.parent.name
    match = re.search(rule[len(REGEX_PREFIX):], path.name)
    return match.group(1) if match and match.group(1) else None


def _walk(sources: list[Path], skip: Path) -> tuple[list[tuple[Path, Path]], list[tuple[Path, Path]], list[Path]]:
    """(scan candidates, LabelMe candidates) as (file, its source root), and missing sources; sorted, no
    hidden names, nothing under ``skip`` (the output folder)."""
    scans, jsons, missing = [], [], []
    seen: set[Path] = set()
    for source in sources:
        if not source.exists():
            missing.append(source)
            continue
        if source.is_file():
            files, root = [source], source
        else:
            files, root = [], source
            for folder, dirs, names in os.walk(source):
                here = Path(folder)
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (here / d).resolve() != skip)
                files += [here / n for n in sorted(names) if not n.startswith(".")]
        for path in files:
            resolved = path.resolve()
            if resolved in seen or not path.is_file():
                continue
            seen.add(resolved)
            (jsons if path.suffix.lower() == ".json" else scans).append((path, root))
    return scans, jsons, missing


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _recorded(report: ImportReport, path: Path, caught: list[warnings.WarningMessage]) -> None:
    for warning in caught:
        text = str(warning.message)
        report.warnings.append((str(path), text.removeprefix(f"{path}: ")))


def _read_source(path: Path, root: Path, rule: str, report: ImportReport) -> _Source | None:
    """The scan in ``path``, or None (the reason added to ``report.skipped``)."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dicom = is_dicom(path)
            scan = read_scan(path)
        sha256 = _sha256(path)
    except ScintisegError as exc:
        report.skipped.append((str(path), exc.problem))
        return None
    except OSError as exc:
        report.skipped.append((str(path), f"cannot read ({exc.strerror or exc})"))
        return None
    _recorded(report, path, caught)
    patient_id = scan.patient_id.strip() if dicom else ""
    if not patient_id:
        patient_id = patient_from_name(path, rule) or ""
        if not patient_id:
            report.skipped.append((str(path), f"no Patient ID and --patient-from {rule!r} does not match the name"))
            return None
    display_export = not dicom and next(iter(scan.views.values())).dtype.itemsize == 1
    if display_export:
        report.warnings.append((str(path), "8-bit image: a display export (grey levels), not counts; "
                                "imported, but export the counts (16-bit or DICOM) if you can"))
    return _Source(path=path, root=root, scan=scan, sha256=sha256, dicom=dicom, patient_id=patient_id,
                   display_export=display_export)


def _case_id(source: _Source, taken: set[str]) -> str:
    def clean(text: str) -> str:
        return _UNSAFE.sub("_", text).strip("._") or "case"

    stem = clean(source.path.stem)
    candidates = [stem]
    if source.path.parent.name:
        candidates.append(f"{clean(source.path.parent.name)}_{stem}")
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    n = 2
    while f"{candidates[-1]}-{n}" in taken:
        n += 1
    return f"{candidates[-1]}-{n}"


def _label_keys(path: Path, annotation: Annotation) -> list[tuple[str, str | None]]:
    """(scan stem, view named by an ``_ANT``/``_POST`` suffix or None) the file may belong to, by priority:
    its own stem, then its ``imagePath``'s."""
    stems = [path.stem]
    if annotation.image_path:
        stems.append(Path(annotation.image_path.replace("\\", "/")).stem)
    keys: list[tuple[str, str | None]] = []
    for stem in stems:
        match = _VIEW_SUFFIX.match(stem)
        for key in ([(match["stem"], match["view"].upper())] if match else []) + [(stem, None)]:
            if key not in keys:
                keys.append(key)
    return keys


def _pick(candidates: list[_Source], json_path: Path, json_root: Path) -> _Source | None:
    """The one scan among same-stem ``candidates``: alone, in the annotation's folder, or at its relative folder."""
    if len(candidates) == 1:
        return candidates[0]
    here = [s for s in candidates if s.path.parent.resolve() == json_path.parent.resolve()]
    if len(here) == 1:
        return here[0]
    relative = json_path.parent.relative_to(json_root) if json_root != json_path else Path()
    mirrored = [s for s in candidates if s.relative_folder == relative]
    return mirrored[0] if len(mirrored) == 1 else None


def _target_view(scan: Scan, annotation_view: str, suffix_view: str | None) -> tuple[str | None, str]:
    """The scan view an annotation goes to, or (None, why not)."""
    view = annotation_view if annotation_view != "VIEW" else (suffix_view or "VIEW")
    names = scan.view_names
    if len(names) == 1:
        if names[0] == "VIEW" or view in ("VIEW", names[0]):
            return names[0], ""
        return None, f"annotation is for view {view}, the scan has only {names[0]}"
    if view == "VIEW":
        return None, f"the scan has views {' and '.join(names)}; name the view (<stem>_ANT.json or a \"view\" key)"
    if view not in names:
        return None, f"annotation is for view {view}, the scan has {', '.join(names)}"
    return view, ""


def _match_labels(
    jsons: list[tuple[Path, Path]], scans: list[_Source], read_root: Path, report: ImportReport
) -> None:
    """Attach each LabelMe file to its scan and view (``_Source.annotations``); list the others."""
    by_stem: dict[str, list[_Source]] = {}
    for source in scans:
        by_stem.setdefault(source.path.stem.lower(), []).append(source)
    for json_path, json_root in jsons:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                annotation = read_labelme(json_path, root=read_root)
        except ScintisegError as exc:
            report.unmatched_labels.append((str(json_path), f"unreadable: {exc.problem}"))
            continue
        except OSError as exc:
            report.unmatched_labels.append((str(json_path), f"unreadable: {exc}"))
            continue
        _recorded(report, json_path, caught)
        reason = "no scan with this file stem or imagePath"
        for stem, suffix_view in _label_keys(json_path, annotation):
            candidates = by_stem.get(stem.lower(), [])
            if not candidates:
                continue
            source = _pick(candidates, json_path, json_root)
            if source is None:
                reason = f"ambiguous: {len(candidates)} scans are named {stem}"
                break
            view, reason = _target_view(source.scan, annotation.view, suffix_view)
            if view is None:
                break
            if annotation.image_shape != source.scan.shape:
                reason = (f"size mismatch: labels are for a {annotation.image_shape[0]}x{annotation.image_shape[1]} "
                          f"image, {source.path.name} is {source.scan.shape[0]}x{source.scan.shape[1]}")
                break
            if view in source.annotations:
                reason = f"{source.path.name} view {view} already has labels from {source.annotations[view][0]}"
                break
            source.annotations[view] = (json_path, annotation)
            reason = ""
            break
        if reason:
            report.unmatched_labels.append((str(json_path), reason))


def _place_image(source: Path, target: Path, link: bool) -> bool:
    """Copy ``source`` to ``target`` atomically, or hard-link it with ``link``; False when a link was asked
    for but the file system refused it (another device, no hard links) and the file was copied instead."""
    try:
        with atomic_path(target) as tmp:
            if link:
                tmp.unlink()
                try:
                    os.link(source, tmp)
                    return True
                except OSError:
                    pass
            shutil.copyfile(source, tmp)
    except OSError as exc:  # a full disk, no permission: the manifest (written last) is not touched
        raise ScintisegError(f"cannot write the image ({exc.strerror or type(exc).__name__})", path=target) from None
    return not link


def _manifest_views(cases: list[Case], views_of: dict[str, list[str]], previous: list[str]) -> list[str]:
    """The views every image has (canonical order), ``["VIEW"]`` when they share none."""
    if not cases:
        return previous or ["VIEW"]
    common = set(VIEW_NAMES)
    for case in cases:
        common &= set(views_of.get(case.case_id, previous))
    return [v for v in VIEW_NAMES if v in common] or ["VIEW"]


def import_dataset(
    sources: list[str | Path],
    out: str | Path,
    *,
    labels_dir: str | Path | None = None,
    link: bool = False,
    patient_from: str = "stem",
    progress: bool = False,
) -> ImportReport:
    """Import scans (and their LabelMe files) into the data set folder ``out``; see the module docstring.

    Args:
        sources: files and folders of scans (walked recursively); LabelMe ``.json`` files among them count.
        out: the data set folder, created when missing; an existing data set there is extended.
        labels_dir: another folder of LabelMe files.
        link: hard-link the images instead of copying them (copied, with a warning, where that fails).
        patient_from: ``"stem"``, ``"parent"`` or ``"regex:PATTERN"``: the patient id of a file without a
            DICOM Patient ID.
        progress: show a tqdm progress bar (stderr).

    Returns:
        The report: cases added, skipped files and unmatched LabelMe files with their reasons, warnings.

    Raises:
        ScintisegError: a bad ``patient_from`` rule, a missing ``labels_dir``, an ``out`` that is a file,
            an unreadable existing manifest in ``out``, no source that exists, or an image that cannot be written.

    Example::

        report = import_dataset(["scans/"], "data/own", labels_dir="outlines/")
        check_dataset("data/own").valid  # True
    """
    rule = check_patient_rule(patient_from)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ScintisegError("not a folder: the data set to import into must be a folder", path=out)
    source_paths = [Path(s) for s in sources]
    label_root = None if labels_dir is None else Path(labels_dir)
    if label_root is not None and not label_root.is_dir():
        raise ScintisegError("labels folder not found", path=label_root)
    manifest = load_manifest(out) if (out / MANIFEST_NAME).is_file() else None
    report = ImportReport(kept=0 if manifest is None else len(manifest.cases))

    scan_files, json_files, missing = _walk(source_paths, out.resolve())
    if missing and len(missing) == len(source_paths):
        raise ScintisegError("no such file or folder", path=missing[0])
    report.skipped += [(str(m), "no such file or folder") for m in missing]
    if label_root is not None:
        json_files += _walk([label_root], out.resolve())[1]

    known = {} if manifest is None else {
        c.meta.get("sha256"): c.case_id for c in manifest.cases if isinstance(c.meta.get("sha256"), str)
    }
    taken = set() if manifest is None else {c.case_id for c in manifest.cases}
    fresh: list[_Source] = []
    existing_sources: dict[str, _Source] = {}
    files = tqdm(scan_files, desc="importing", unit="file", disable=not progress, leave=False)
    for path, root in files:
        source = _read_source(path, root, rule, report)
        if source is None:
            continue
        if source.sha256 in known:
            existing_sources[known[source.sha256]] = source
            continue
        earlier = next((s for s in fresh if s.sha256 == source.sha256), None)
        if earlier is not None:
            report.skipped.append((str(path), f"same content as {earlier.path}"))
            continue
        source.case_id = _case_id(source, taken)
        taken.add(source.case_id)
        fresh.append(source)

    every_folder = [p.resolve() if p.is_dir() else p.resolve().parent for p in source_paths if p.exists()]
    if label_root is not None:
        every_folder.append(label_root.resolve())
    read_root = Path(os.path.commonpath(every_folder)) if every_folder else Path.cwd()
    _match_labels(json_files, fresh + list(existing_sources.values()), read_root, report)
    for case_id, source in existing_sources.items():
        case = manifest.case(case_id)
        for view, (json_path, _) in source.annotations.items():
            if view not in case.labels:
                report.unmatched_labels.append(
                    (str(json_path), f"case {case_id} was imported without these labels; a re-run changes no "
                     "existing case (remove it from dataset.json to import it again)"))

    for folder in ("images", "labels"):
        if (out / folder).is_dir():
            remove_stale_partials(out / folder)
    views_of: dict[str, list[str]] = {}
    for source in tqdm(fresh, desc="writing", unit="case", disable=not progress, leave=False):
        suffix = DICOM_SUFFIX if source.dicom else source.path.suffix.lower()
        image = f"images/{source.case_id}{suffix}"
        if not _place_image(source.path, out / image, link):
            report.warnings.append((str(source.path), "cannot hard-link here (another file system?); copied"))
        labels = {}
        for view in VIEW_NAMES:
            if view in source.annotations:
                rel = f"labels/{source.case_id}_{view}.json"
                annotation = replace(source.annotations[view][1], view=view, image_path=None)
                write_labelme(annotation, out / rel, image=source.scan.view(view))
                labels[view] = rel
        meta = {"source": source.path.relative_to(source.root).as_posix() if source.root != source.path
                else source.path.name, "sha256": source.sha256}
        if source.display_export:
            meta["display_export"] = True
        report.added.append(Case(case_id=source.case_id, patient_id=source.patient_id, image=image, labels=labels,
                                 origin="clinical", meta=meta))
        views_of[source.case_id] = source.scan.view_names

    if manifest is None:
        spacings = Counter(tuple(s.scan.pixel_spacing) for s in fresh)
        spacing = spacings.most_common(1)[0][0] if spacings else (2.26, 2.26)
        manifest = DatasetManifest(name=out.resolve().name, views=[], pixel_spacing=spacing,
                                   description="Imported with scintiseg dataset import.")
    for case_id, source in existing_sources.items():
        views_of[case_id] = source.scan.view_names
    cases = manifest.cases + report.added
    manifest = replace(manifest, cases=cases, views=_manifest_views(cases, views_of, manifest.views))
    out.mkdir(parents=True, exist_ok=True)
    report.manifest = save_manifest(manifest, out)
    return report
