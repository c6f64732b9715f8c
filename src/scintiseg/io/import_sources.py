"""The scans a data-set import reads (:mod:`scintiseg.io.importer` says what it does and why): one record per scan
file, or per study of two files joined, read as prediction reads it (a body stored lying stood, a page of two views
split, a view stored mirrored mirrored back), judged upright by the region network when the command hands its
judgement over, and the import's report of what was read, skipped, turned and warned about."""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.io import SPLIT_COLUMN, read_scan, split_page, stood_scan
from scintiseg.io.dataset import HEAD_DOWN, STOOD_OTHER_WAY, STOOD_TURNS, TURNS, Case
from scintiseg.io.dicom import is_dicom
from scintiseg.io.file_keys import scan_stem
from scintiseg.io.layout import QUARTER_CLOCKWISE, QUARTER_COUNTERCLOCKWISE, split_at
from scintiseg.io.patient_sides import MIRRORED_KEY, mirrored_back
from scintiseg.io.view_names import view_from_path
from scintiseg.io.view_pairs import join_views, joined_name
from scintiseg.scan import Annotation, Scan

#: ``Case.meta`` key (session 63): view -> the SHA-256 of every LabelMe file imported as that view's labels, oldest
#: first (:mod:`scintiseg.io.importer`, "Labels imported once"). A file whose bytes are listed is not imported again.
LABEL_SHA256 = "label_sha256"
#: The named ``patient_from`` rules; ``"regex:PATTERN"`` is the third kind.
PATIENT_RULES: tuple[str, ...] = ("stem", "parent")
REGEX_PREFIX = "regex:"


@dataclass
class ImportReport:
    """What :func:`~scintiseg.io.importer.import_dataset` did.

    Args:
        added: the new cases, in manifest order.
        kept: how many cases the data set already had (left unchanged, except ``updated`` ones).
        updated: cases already in the data set whose labels were added or corrected (marked reviewed), or
            given a pseudo-label.
        skipped: (path, reason) of every source file that became no case.
        unmatched_labels: (path, reason) of every LabelMe file that was not written into the data set.
        warnings: (path, message): 8-bit display exports, readers' warnings.
        pseudo: (case id, view) of every pseudo-label written this run (:mod:`scintiseg.io.importer`, "Pseudo-labels").
        turned: (path, how) of every new scan stored turned, to be read upright (:mod:`scintiseg.io.importer`, "Scans
            stored head-down").
        stood: (path, how) of every new scan stored lying, its image written standing (:mod:`scintiseg.io.importer`, "Bodies
            stored lying"; ``how``: :data:`~scintiseg.io.dataset.STOOD_TURNS`).
        split: (path, column) of every new page of two views side by side, imported as an ANT+POST case cut at that
            column (:mod:`scintiseg.io.importer`, "Pages of two views").
        mirrored: (path, views) of every file with views its DICOM header says are stored mirrored, imported
            mirrored back (:mod:`scintiseg.io.importer`, "Views stored mirrored").
        read_normal: views given an empty outline as read and found free of lesions (``read_normal``, session 50).
        view_cases: how many cases of the data set, after the import, hold each view (the manifest's ``view_cases``:
            :mod:`scintiseg.io.dataset`); empty where not counted (an earlier case's image unreadable) or nothing
            was written.
        manifest: path of the ``dataset.json`` written; None when nothing was written: no data set in ``out`` yet and
            no scan found to make one of (an empty or mistyped source folder is not an empty data set).
    """

    added: list[Case] = field(default_factory=list)
    kept: int = 0
    updated: list[Case] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    unmatched_labels: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    pseudo: list[tuple[str, str]] = field(default_factory=list)
    turned: list[tuple[str, str]] = field(default_factory=list)
    stood: list[tuple[str, str]] = field(default_factory=list)
    split: list[tuple[str, int]] = field(default_factory=list)
    mirrored: list[tuple[str, list[str]]] = field(default_factory=list)
    read_normal: int = 0
    view_cases: dict[str, int] = field(default_factory=dict)
    manifest: Path | None = None


@dataclass
class ScanSource:
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
    #: Views whose annotation is a prediction corrected by a person (the correction loop).
    corrected: set[str] = field(default_factory=set)
    #: Views whose annotation is a confident unedited prediction taken as a pseudo-label.
    pseudo: set[str] = field(default_factory=set)
    #: The SHA-256 of the LabelMe file each view's annotation came from (recorded in ``meta["label_sha256"]``).
    label_sha256: dict[str, str] = field(default_factory=dict)
    #: An existing case's ``meta["label_sha256"]``: view -> the LabelMe files imported before (never again).
    imported_labels: dict[str, set[str]] = field(default_factory=dict)
    #: Other names the scan goes by (an existing case: its id and the stem of its original file).
    aliases: tuple[str, ...] = ()
    #: A study's two views joined from two files (:mod:`scintiseg.io.view_pairs`): each view's file (the anterior
    #: one is ``path``); empty for a scan read from one file.
    view_files: dict[str, Path] = field(default_factory=dict)
    #: The SHA-256 of each view's file of a joined study (``sha256`` is the anterior file's).
    view_sha256: dict[str, str] = field(default_factory=dict)
    #: The name of a joined study (what its two file names share, :func:`~scintiseg.io.view_pairs.joined_name`).
    name: str = ""
    #: How a file holding a body lying was turned to stand (:data:`~scintiseg.io.dataset.STOOD_TURNS`), or the page
    #: column where a page of two views was cut (``scan`` is then the standing or split scan; a standing view,
    #: about 4:1, is never also a page, about 2:1), and the file's (rows, columns); ``""`` and None for a file read
    #: as stored. A study's two files: both stood alike (each view's own file), else ``""`` and None.
    stood: str = ""
    split_column: int | None = None
    stored_shape: tuple[int, int] | None = None
    #: How the (standing) scan is read upright by the data set's readers (:data:`~scintiseg.io.dataset.TURNS`).
    turn: str = ""

    def read_frame(self, mask: np.ndarray, view: str | None = None) -> dict[str, np.ndarray]:
        """A 2-D array of the file as stored (an outline's mask), per view of ``scan``: turned and cut as the scan
        was (:mod:`scintiseg.io.importer`, "Bodies stored lying", "Pages of two views"); ``view``: the view whose own file it is
        (a study's two files, each stood). A view mirrored back after standing is mirrored with it."""
        if self.stood:
            mask = np.rot90(mask, STOOD_TURNS[self.stood])
        if self.split_column is not None:
            return dict(zip(("ANT", "POST"), split_at(mask, self.split_column)))
        view = view or self.scan.view_names[0]
        if view in (self.scan.metadata.get(MIRRORED_KEY) or []):  # stood, then mirrored back (patient_sides)
            mask = mask[:, ::-1]
        return {view: np.ascontiguousarray(mask)}

    @property
    def relative_folder(self) -> Path:
        return self.path.parent.relative_to(self.root) if self.root != self.path else Path()

    @property
    def stems(self) -> set[str]:
        return {scan_stem(self.path).lower(), *(a.lower() for a in self.aliases),
                *(scan_stem(f).lower() for f in self.view_files.values()), *([self.name.lower()] if self.name else [])}

    @property
    def hashes(self) -> set[str]:
        """The SHA-256 of every file the scan was read from."""
        return {self.sha256, *self.view_sha256.values()} - {""}

    def view_named_by(self, stem: str, json_path: Path) -> str | None:
        """The view of a joined study that a LabelMe file matched by ``stem`` belongs to: the one view whose file
        has that stem, of two such the one in the LabelMe file's folder, else the view its folder names
        (BS-80K's ``wholeBodyPOST/``); None for a scan of one file or when nothing says."""
        named = [view for view, f in self.view_files.items() if scan_stem(f).lower() == stem.lower()]
        if len(named) == 1:
            return named[0]
        here = [view for view in named if self.view_files[view].parent.resolve() == json_path.parent.resolve()]
        if len(here) == 1:
            return here[0]
        if named:
            found = view_from_path(json_path)
            return found[0] if found is not None and found[0] in named else None
        return None


def imported_labels(meta: dict) -> dict[str, list[str]]:
    """A case's ``meta["label_sha256"]`` (:data:`LABEL_SHA256`) as view -> digests; empty where it is missing or not
    that shape (a data set imported before session 63)."""
    found = meta.get(LABEL_SHA256)
    if not isinstance(found, dict):
        return {}
    return {view: [d for d in digests if isinstance(d, str)] for view, digests in found.items()
            if isinstance(view, str) and isinstance(digests, list)}


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
        return scan_stem(path)
    if rule == "parent":
        return path.parent.name
    match = re.search(rule[len(REGEX_PREFIX):], path.name)
    return match.group(1) if match and match.group(1) else None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recorded(report: ImportReport, path: Path, caught: list[warnings.WarningMessage]) -> None:
    """The warnings raised while ``path`` was read, listed for it; a ResourceWarning is not: it is raised when the
    garbage collector happens to finalise some earlier unclosed file, whichever file is being read then."""
    for warning in caught:
        if issubclass(warning.category, ResourceWarning):
            continue
        text = str(warning.message)
        report.warnings.append((str(path), text.removeprefix(f"{path}: ")))


#: What tells two people with one Patient ID apart: ``Scan.metadata`` keys (the DICOM header's, as
#: :func:`scintiseg.io.dicom.read_dicom` records them) and their names in a warning. Not the Patient's Age: one
#: person's scans a year apart differ in it.
PATIENT_FACTS: dict[str, str] = {"patient_sex": "Patient's Sex", "patient_birth_date": "Birth Date"}


def patient_facts(metadata: dict) -> dict[str, str]:
    """The :data:`PATIENT_FACTS` a scan's header gives, as compared: Sex upper-case (``M``, ``F``, ``O``), Birth
    Date its digits (``19500101``; an old ``1950-01-01`` is the same date); a blank value is not known."""
    facts = {}
    for key in PATIENT_FACTS:
        value = str(metadata.get(key) or "").strip()
        value = re.sub(r"\D", "", value) if key == "patient_birth_date" else value.upper()
        if value:
            facts[key] = value
    return facts


def shared_patient_ids(earlier: list[tuple[str, Path, dict]], new: list[tuple[str, Path, dict]],
                       report: ImportReport) -> None:
    """One warning per Patient ID whose files say two people: a file of ``new`` that disagrees on
    :data:`PATIENT_FACTS`, where both say them, with one of ``earlier`` (the data set's cases) or an earlier one of
    ``new`` (each: patient id, file, ``Scan.metadata``), listed in ``report.warnings`` with that file and what differs.
    Two of ``earlier`` were warned about when they were new.

    Cases are grouped by Patient ID (:mod:`scintiseg.io.importer`, "Patients"), and a split keeps a patient's
    cases in one subset; two cohorts that number their patients alike (``phantom`` runs of other seeds, two
    departments' ``P001``) would be one patient each, the patient-level split wrong without a word (the researcher
    audit's finding 7). [Choice: warn, and group by the Patient ID as before: two scans of one person whose header
    was mistyped once are one patient, and which of the two it is only a person can say. The fix is the user's:
    other Patient IDs for one cohort's files. ``phantom`` writes its patients' sex (no birth date: it draws an age),
    so two of its cohorts are told apart where a Patient ID's two patients differ in sex.]
    """
    by_id: dict[str, list[tuple[Path, dict[str, str], bool]]] = {}
    for files, is_new in ((earlier, False), (new, True)):
        for patient_id, path, metadata in files:
            facts = patient_facts(metadata)
            if facts:
                by_id.setdefault(patient_id, []).append((path, facts, is_new))
    for patient_id, found in by_id.items():
        pair = next(((there, here) for i, here in enumerate(found) if here[2] for there in found[:i]
                     if any(key in there[1] and key in here[1] and there[1][key] != here[1][key]
                            for key in PATIENT_FACTS)), None)
        if pair is None:
            continue
        (there, theirs, _), (here, ours, _) = pair
        differ = " and ".join(f"{name} ({ours[key]} here, {theirs[key]} there)" for key, name in PATIENT_FACTS.items()
                              if key in ours and key in theirs and ours[key] != theirs[key])
        report.warnings.append((str(here), f"Patient ID {patient_id!r} is also that of {there}, but the two "
                                f"disagree on {differ}: two people? They are one patient of the data set, kept in one "
                                "subset by every split; give one of them another Patient ID if they are two people"))


def read_source(path: Path, root: Path, rule: str, report: ImportReport, view: str | None = None,
                 as_predicted: bool = False, pixel_spacing: tuple[float, float] | None = None) -> ScanSource | None:
    """The scan in ``path`` (``view`` and ``pixel_spacing``: as :func:`~scintiseg.io.read_scan`; ``as_predicted``: a body stored lying
    stood and a page of two views split, as prediction reads them: :func:`~scintiseg.io.stood_scan`,
    :func:`~scintiseg.io.split_page`), or None (the reason added to ``report.skipped``)."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dicom = is_dicom(path)
            scan = read_scan(path, view=view, pixel_spacing=pixel_spacing)
        sha256 = file_sha256(path)
    except ScintisegError as exc:
        report.skipped.append((str(path), exc.problem))
        return None
    except OSError as exc:
        report.skipped.append((str(path), f"cannot read ({exc.strerror or exc})"))
        return None
    recorded(report, path, caught)
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
    source = ScanSource(path=path, root=root, scan=scan, sha256=sha256, dicom=dicom, patient_id=patient_id,
                     display_export=display_export)
    standing = stood_scan(scan) if as_predicted else None
    page = split_page(scan) if as_predicted and standing is None else None  # (a standing view is never a page)
    if standing is not None or page is not None:
        source.scan, source.stored_shape = page or standing, scan.shape
        source.stood = QUARTER_CLOCKWISE if standing is not None else ""
        source.split_column = None if page is None else int(page.metadata[SPLIT_COLUMN])
    if as_predicted:  # a DICOM view its header says is stored mirrored, mirrored back as prediction reads it
        source.scan = mirrored_back(source.scan)
        if source.scan.metadata.get(MIRRORED_KEY):
            report.mirrored.append((str(path), list(source.scan.metadata[MIRRORED_KEY])))
    return source


def judge(source: ScanSource, orient: Callable[[Scan], tuple[Scan, str]] | None, report: ImportReport,
          check_views: Callable[[Scan], str] | None = None) -> None:
    """How ``source``'s scan is read upright by ``orient`` (:mod:`scintiseg.io.importer`): ``source.turn`` set to ``""`` or one of
    :data:`~scintiseg.io.dataset.TURNS`, and a body stored lying that the reader's quarter turn left head-down
    (:data:`~scintiseg.io.dataset.STOOD_OTHER_WAY`) taken as ``orient`` stands it; a turn the data set's readers do
    not make is listed as a warning. Listed in ``report.turned`` and ``report.stood``. ``check_views``: what to say of
    the scan as read upright (its views named the other way round: :func:`scintiseg.predict.view_labels.swapped_note`),
    listed as a warning when it says anything."""
    how, upright = "", source.scan
    if orient is not None:
        try:
            upright, how = orient(source.scan)
        except ScintisegError as exc:
            report.warnings.append((str(source.path), f"cannot judge how it stands ({exc.problem}); imported "
                                    + ("as the reader reads it" if source.stored_shape is not None else "as stored")))
            how = ""
        if how == STOOD_OTHER_WAY and source.stood:  # (a stood view is one body: never a page as well)
            source.scan, source.stood, how = upright, QUARTER_COUNTERCLOCKWISE, ""
        elif how and how not in TURNS:
            report.warnings.append((str(source.path), f"read turned ({how}) by prediction; imported as stored"))
            how = ""
    source.turn = how
    if check_views is not None:
        note = check_views(upright if how else source.scan)
        if note:
            report.warnings.append((str(source.path), note))
    if how:
        report.turned.append((str(source.path), how))
    if source.stood:
        report.stood.append((str(source.path), source.stood))
    if source.split_column is not None:
        report.split.append((str(source.path), source.split_column))


def _not_16_bit(scan: Scan) -> str:
    """Why the views cannot be written as 16-bit DICOM counts unchanged (a joined study is kept as one), or ""."""
    stack = np.stack(list(scan.views.values()))
    if stack.dtype == np.int16 or stack.dtype in (np.uint8, np.uint16):
        return ""
    if stack.dtype.kind == "f" and not (np.isfinite(stack).all() and (np.rint(stack) == stack).all()):
        return "its counts are not whole numbers, and one case is kept as 16-bit DICOM"
    if stack.size and (stack.min() < 0 or stack.max() > np.iinfo(np.uint16).max):
        return "its counts do not fit 16 bits (0-65535), and one case is kept as 16-bit DICOM"
    return ""


def _study_patient(source: ScanSource, rule: str, name: str) -> str:
    """The patient of one file of a study named ``name``: its DICOM Patient ID, else, where the patient comes from the
    file name (``rule`` ``"stem"``), the study's name rather than one view's file name."""
    if not (source.dicom and source.scan.patient_id.strip()) and rule == "stem":
        return name
    return source.patient_id


#: How ``orient`` reads a one-view file (:func:`_held`), in a warning's words.
_HELD_WORDS: dict[str, str] = {"": "read as stored", HEAD_DOWN: "stored head-down", STOOD_OTHER_WAY: "stood the other way"}


def _held(source: ScanSource, orient: Callable[[Scan], tuple[Scan, str]]) -> str:
    """How ``orient`` reads ``source``'s one-view scan upright (``""``: as it is; one it cannot judge counts so)."""
    try:
        return orient(source.scan)[1]
    except ScintisegError:
        return ""


def joined_sources(pair: list[ScanSource | None], known: dict, rule: str, report: ImportReport,
                   orient: Callable[[Scan], tuple[Scan, str]] | None = None) -> list[ScanSource]:
    """A study's ANT and POST files (:func:`~scintiseg.io.view_pairs.find_view_pairs`) as one two-view source, or
    the readable ones as they are: when one could not be read, when either is already a case of the data set (its
    cases never change), or when the two cannot be one scan (a warning says why). With ``orient``, also when it
    reads the two files otherwise, one alone and then the other (one exported head-down, or stood the other way):
    the joined scan's views would disagree about the head, and a case records one turn for both (session 28). Two
    files imported apart keep one patient, the study's name, where the patient comes from the file name (``rule``
    ``"stem"``, a file without a DICOM Patient ID), as joined they would: a split keeps them in one subset."""
    ant, post = pair
    if ant is None or post is None:
        return [s for s in pair if s is not None]
    if ant.sha256 in known or post.sha256 in known:
        if known.get(ant.sha256) != known.get(post.sha256):  # either is a case of its own: keep them so
            return [ant, post]
    # (else both, or neither, are files of one joined case: joined again, they are that case's scan)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scan = join_views(ant.scan, post.scan)
        problem = _not_16_bit(scan)
    except ScintisegError as exc:
        problem = exc.problem
    if not problem and orient is not None:
        held = [_held(source, orient) for source in (ant, post)]
        if held[0] != held[1]:
            words = [_HELD_WORDS.get(how, how) for how in held]
            problem = (f"the two files are not stored alike ({ant.path.name} {words[0]}, {post.path.name} {words[1]}); "
                       "each is read on its own")
    name = joined_name(ant.path, post.path)
    if problem:
        report.warnings.append((str(ant.path), f"imported apart from {post.path.name} (its other view): {problem}"))
        for source in (ant, post):
            source.patient_id = _study_patient(source, rule, name)
        return [ant, post]
    recorded(report, ant.path, caught)
    patient_id = _study_patient(ant, rule, name)
    both_stood = bool(ant.stood) and (ant.stood, ant.stored_shape) == (post.stood, post.stored_shape)
    return [ScanSource(path=ant.path, root=ant.root, scan=scan, sha256=ant.sha256, dicom=ant.dicom and post.dicom,
                    patient_id=patient_id, display_export=ant.display_export or post.display_export,
                    view_files={"ANT": ant.path, "POST": post.path},
                    view_sha256={"ANT": ant.sha256, "POST": post.sha256}, name=name,
                    stood=ant.stood if both_stood else "", stored_shape=ant.stored_shape if both_stood else None)]
