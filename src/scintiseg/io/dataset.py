"""The data-set layout: a folder with a ``dataset.json`` manifest.

In the spirit of nnU-Net's ``dataset.json`` but fitting bone scans, where one *patient* may have several
*cases* (images: a scan, its thoracic crop, its augmentations), and one case holds one or two views::

    DIR/
      dataset.json              the manifest (this module)
      splits.json               patient-level split, written by ``scintiseg dataset split``
      images/<case>.dcm         any file :func:`scintiseg.io.read_scan` reads (multi-frame NM for ANT+POST)
      labels/<case>_<VIEW>.json LabelMe annotation per view (polygons labelled ``lesion``)
      masks/<case>_<VIEW>.png   optional 8-bit mask per view, 0 = background, 1 = lesion
      regions/<case>_<VIEW>.png optional skeleton-region label map per view (ids in ``region_names``)

Every path in the manifest is relative to ``DIR`` and must stay inside it. Reading ``dataset.json`` or
``splits.json`` checks every key's type (unknown top-level keys are ignored, unknown case keys refused):
a malformed file is one :class:`~scintiseg.errors.ScintisegError` line naming the file and the key or
case, never a traceback from deeper down. ``dataset.json``::

    {"format_version": 1, "name": "...", "description": "...", "views": ["ANT", "POST"],
     "view_cases": {"ANT": 8, "POST": 7},
     "pixel_spacing": [2.26, 2.26], "labels": {"background": 0, "lesion": 1},
     "region_names": {"1": "skull", ...},
     "cases": [{"case_id": "P0001", "patient_id": "P0001", "image": "images/P0001.dcm",
                "labels": {"ANT": "labels/P0001_ANT.json", "POST": "labels/P0001_POST.json"},
                "masks": {...}, "regions": {...}, "synthetic": true, "origin": "phantom",
                "meta": {"lesions": [...]}}]}

``views`` are the views *every* case holds (canonical order; ``["VIEW"]`` when the cases share none): what the readers
may take for granted (``dataset check`` refuses an image lacking one, training's default view of ``--input-mode ant``,
the GAN's views, the nnU-Net export's count of views left out). ``view_cases`` (optional; written by ``dataset
import``) counts the cases holding each view, so a set of 7 ANT+POST cases and one ANT-only scan reads
``"views": ["ANT"], "view_cases": {"ANT": 8, "POST": 7}``, not as if POST had been dropped (the researcher audit's
finding 5: training, evaluation and export use each case's own views). A manifest made from another
(:meth:`DatasetManifest.derived`: crops, augmentations) holds other cases and drops the count; ``dataset check``
counts the views of the images themselves.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.atomic import write_text_atomic
from scintiseg.io.images import read_label_png, read_mask_png
from scintiseg.io.labelme import read_labelme
from scintiseg.io.layout import STOOD_KEY, STOOD_TURNS, STORED_SHAPE_KEY
from scintiseg.io.patient_sides import MIRRORED_KEY
from scintiseg.io.reader_labels import label_kind, reader_lesions
from scintiseg.scan import PARTIAL_VIEW_MM, VIEW_NAMES, Scan, spans_whole_body

MANIFEST_NAME = "dataset.json"
SPLITS_NAME = "splits.json"
FORMAT_VERSION = 1
#: ``meta`` key of a case whose image is stored turned: how it is read upright (:data:`TURNS`). ``scintiseg dataset
#: import`` records the region network's judgement there, as prediction reads the scan; the file and its outlines
#: stay as stored, and :func:`load_case` and :func:`scintiseg.prepare.case_arrays.load_case_arrays` turn the image
#: and every annotation of the case together, so that training and evaluation see it as prediction does.
TURNED_KEY = "read_turned"
#: How a case is read upright: its rows reversed (a view stored head-down; the word
#: :func:`scintiseg.predict.pipeline.read_upright` uses). A data set's image is read without standing a lying body
#: (:func:`scintiseg.io.read_scan` without ``split_views``): a body stored lying is stood when it is imported
#: (:data:`STOOD_KEY`), so the reader's quarter turn never applies to a data set's image.
HEAD_DOWN = "head_down"
TURNS: tuple[str, ...] = (HEAD_DOWN,)
# ``meta["stood"]`` (STOOD_KEY, imported from scintiseg.io.layout with STOOD_TURNS: the reader's words) marks a case
# whose source file held a body lying on its side: ``scintiseg dataset import`` wrote the image standing, as
# prediction reads the file (scintiseg.io.stood_scan, and half a turn more when the region network finds the head at
# the bottom), and its outlines on that image, so every reader of the data set sees it standing with no turn of its
# own. The value says how the stored file was turned; a record, not an instruction. ``meta["stored_shape"]``
# (STORED_SHAPE_KEY, also the reader's word) is the (rows, columns) of a stood or split case's source file as stored.
#: ``meta`` key of a case whose source file was a page of two views side by side (one image): ``dataset import``
#: split it as prediction reads it (:func:`scintiseg.io.split_page`) into an ANT+POST case, and this is the page's
#: column where it was cut; a record, not an instruction, like :data:`STOOD_KEY`.
SPLIT_KEY = "split_at_column"
#: ``meta`` key listing the views whose annotation is a pseudo-label (``dataset import --pseudo-labels``).
PSEUDO_KEY = "pseudo"
#: ``meta`` keys that map a case's source file onto its image (:data:`STOOD_KEY`, :data:`SPLIT_KEY`,
#: :data:`STORED_SHAPE_KEY`, :data:`~scintiseg.io.patient_sides.MIRRORED_KEY`): a case made by cutting or moving the image (``dataset crop``, ``dataset augment``) drops
#: them, since what was drawn on the source file no longer lands on it that way.
READ_RECORD_KEYS: tuple[str, ...] = (STOOD_KEY, SPLIT_KEY, STORED_SHAPE_KEY, MIRRORED_KEY)
#: The word :func:`scintiseg.predict.pipeline.read_upright` says of a body stored lying that the reader's quarter
#: turn left head-down and half a turn more stands head-up (so the stored file was turned a quarter counter-clockwise).
STOOD_OTHER_WAY = "stood_the_other_way"
#: The names a part of a data set goes by: ``train`` and ``test`` of ``splits.json``, ``val`` of a fold (or
#: of a training run's own split), and ``all`` cases. ``scintiseg evaluate --split`` offers them.
SPLIT_NAMES: tuple[str, ...] = ("test", "val", "train", "all")


@dataclass
class Case:
    """One image of one patient, with its per-view annotation files.

    Args:
        case_id: unique within the data set.
        patient_id: cases of one patient share it; splits never separate them.
        image: relative path of the image file.
        labels: view -> relative path of a LabelMe JSON.
        masks: view -> relative path of a 0/1 PNG mask (optional; LabelMe is the source of truth when both exist).
        regions: view -> relative path of a skeleton-region label PNG (optional).
        synthetic: True for phantom, GAN or augmented images (never real patients' test data).
        origin: where the case came from: ``"phantom"``, ``"clinical"``, ``"crop"``, ``"augment"``, ``"gan"``.
        meta: JSON-able extras (lesion metadata, crop boxes, parent case id, ...).
    """

    case_id: str
    patient_id: str
    image: str
    labels: dict[str, str] = field(default_factory=dict)
    masks: dict[str, str] = field(default_factory=dict)
    regions: dict[str, str] = field(default_factory=dict)
    synthetic: bool = False
    origin: str = "clinical"
    meta: dict = field(default_factory=dict)


@dataclass
class DatasetManifest:
    """The content of ``dataset.json``; see the module docstring for the layout."""

    name: str
    views: list[str]
    pixel_spacing: tuple[float, float]
    cases: list[Case] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=lambda: {"background": 0, "lesion": 1})
    region_names: dict[str, str] = field(default_factory=dict)
    description: str = ""
    format_version: int = FORMAT_VERSION
    #: view -> how many cases hold it (module docstring); empty when not counted (then not written).
    view_cases: dict[str, int] = field(default_factory=dict)

    def case(self, case_id: str) -> Case:
        for case in self.cases:
            if case.case_id == case_id:
                return case
        raise ScintisegError(f"no case {case_id!r} in data set {self.name!r}")

    def patients(self) -> dict[str, list[Case]]:
        """patient id -> that patient's cases, in manifest order."""
        groups: dict[str, list[Case]] = {}
        for case in self.cases:
            groups.setdefault(case.patient_id, []).append(case)
        return groups

    def derived(self, suffix: str, note: str, cases: list[Case]) -> "DatasetManifest":
        """A new manifest made from this one: ``name-suffix``, ``note`` appended to the description, other cases.

        Views, spacing, label and region names carry over (crop, augment and GAN sets keep them); the count of cases
        per view (``view_cases``) does not: it counted the other cases.
        """
        description = f"{self.description} {note}" if self.description else note
        return replace(self, name=f"{self.name}-{suffix}", description=description, cases=list(cases), view_cases={})

    def to_json(self) -> dict:
        data = asdict(self)
        data["pixel_spacing"] = list(self.pixel_spacing)
        counts = data.pop("view_cases")
        if not counts:  # not counted: nothing written (a manifest reads as it did before the count)
            return data
        ordered = {}
        for key, value in data.items():
            ordered[key] = value
            if key == "views":  # the count written beside the views it qualifies
                ordered["view_cases"] = counts
        return ordered

    @classmethod
    def from_json(cls, data: Any, path: str | Path | None = None) -> "DatasetManifest":
        """The manifest a parsed ``dataset.json`` describes, its structure checked key by key.

        Unknown top-level keys are ignored (a later format's additions); unknown case keys are refused.

        Raises:
            ScintisegError: one line naming ``path`` and the offending key or case, e.g.
                ``dataset.json: malformed manifest: cases[3] ('P003'): labels must be an object, not a list``.
        """
        schema = _Schema(path, "malformed manifest")
        data = schema.document(data)
        version = schema.expect(data.get("format_version", FORMAT_VERSION), int, "format_version")
        if version > FORMAT_VERSION:
            schema.fail(f"format_version {version} is newer than this scintiseg reads ({FORMAT_VERSION})")
        if version < 1:
            schema.fail(f"format_version {version} is not one scintiseg writes")
        schema.required(data, "name", "views", "pixel_spacing")
        views = schema.string_list(data["views"], "views")
        spacing = data["pixel_spacing"]
        if not (isinstance(spacing, list) and len(spacing) == 2
                and all(_is_number(v) and math.isfinite(v) and v > 0 for v in spacing)):
            schema.fail(f"pixel_spacing must be two positive finite numbers [row_mm, col_mm], got {_short(spacing)}")
        labels = schema.expect(data.get("labels", {"background": 0, "lesion": 1}), dict, "labels")
        region_names = schema.expect(data.get("region_names", {}), dict, "region_names")
        view_cases = schema.expect(data.get("view_cases", {}), dict, "view_cases")
        for view, count in view_cases.items():
            if schema.expect(count, int, f"view_cases[{view!r}]") < 0:
                schema.fail(f"view_cases[{view!r}] is {count}, not a count of cases")
        for key in region_names:
            try:
                int(key)
            except ValueError:
                schema.fail(f"region_names key {_short(key)} is not an integer region id")
        return cls(
            name=schema.expect(data["name"], str, "name"),
            views=views,
            pixel_spacing=(float(spacing[0]), float(spacing[1])),
            cases=[_case_from_json(entry, f"cases[{i}]", schema)
                   for i, entry in enumerate(schema.expect(data.get("cases", []), list, "cases"))],
            labels={name: schema.expect(value, int, f"labels[{name!r}]") for name, value in labels.items()},
            region_names={key: schema.expect(name, str, f"region_names[{key!r}]") for key, name in region_names.items()},
            description=schema.expect(data.get("description", ""), str, "description"),
            format_version=version,
            view_cases=dict(view_cases),
        )


# --------------------------------------------------------------------------------------------- schema

#: JSON names of the Python types :func:`json.loads` returns, for messages.
_KIND_NAMES: dict[type, str] = {
    str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list", dict: "an object",
}
_CASE_FIELDS: dict[str, bool] = {f.name: f.default is MISSING and f.default_factory is MISSING for f in fields(Case)}
_CASE_PATH_MAPS: tuple[str, ...] = ("labels", "masks", "regions")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float):
        return "a number"
    return _KIND_NAMES.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Schema:
    """The type checks of one parsed JSON file: each failure is one ScintisegError naming the file and the key.

    The manifest and the splits are small fixed structures, so a few checks by hand say more than a schema
    language would (the keys and types are the module docstring's).
    """

    def __init__(self, path: str | Path | None, what: str) -> None:
        self.path, self.what = path, what

    def fail(self, problem: str) -> NoReturn:
        raise ScintisegError(f"{self.what}: {problem}", path=self.path)

    def document(self, data: Any) -> dict:
        """The parsed file, which must be a JSON object."""
        if not isinstance(data, dict):
            self.fail("top level is not an object")
        return data

    def expect(self, value: Any, kind: type, where: str) -> Any:
        """``value`` when it has JSON type ``kind`` (str, int, bool, list or dict; a boolean is no integer)."""
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            self.fail(f"{where} must be {_KIND_NAMES[kind]}, not {_json_kind(value)}")
        return value

    def required(self, data: dict, *keys: str, where: str = "") -> dict:
        for key in keys:
            if key not in data:
                self.fail(f"{where} lacks {key}" if where else f"lacks {key}")
        return data

    def relative_path(self, value: Any, where: str) -> str:
        self.expect(value, str, where)
        if not value:
            self.fail(f"{where} is an empty path")
        if "\0" in value:
            self.fail(f"{where} contains a NUL byte")
        return value

    def string_list(self, value: Any, where: str) -> list[str]:
        return [self.expect(item, str, f"{where}[{i}]") for i, item in enumerate(self.expect(value, list, where))]


def _case_from_json(entry: Any, where: str, schema: _Schema) -> Case:
    """One ``cases[i]`` entry of a manifest; ``where`` names it in messages (with its id once known)."""
    schema.expect(entry, dict, where)
    schema.required(entry, *(key for key, required in _CASE_FIELDS.items() if required), where=where)
    where = f"{where} ({_short(schema.expect(entry['case_id'], str, f'{where}: case_id'))})"
    unsafe = _unsafe_case_id(entry["case_id"])
    if unsafe:
        schema.fail(f"{where}: case_id {unsafe}")
    unknown = [_short(key) for key in entry if key not in _CASE_FIELDS]
    if unknown:
        schema.fail(f"{where} has unknown key(s) {', '.join(unknown[:3])}")
    values: dict[str, Any] = {
        "case_id": entry["case_id"],
        "patient_id": schema.expect(entry["patient_id"], str, f"{where}: patient_id"),
        "image": schema.relative_path(entry["image"], f"{where}: image"),
    }
    for key in _CASE_PATH_MAPS:
        if key in entry:
            views = schema.expect(entry[key], dict, f"{where}: {key}")
            values[key] = {view: schema.relative_path(rel, f"{where}: {key}[{view!r}]") for view, rel in views.items()}
    for key, kind in (("synthetic", bool), ("origin", str), ("meta", dict)):
        if key in entry:
            values[key] = schema.expect(entry[key], kind, f"{where}: {key}")
    return Case(**values)


def _unsafe_case_id(case_id: str) -> str:
    """Why ``case_id`` cannot name a case's files (crop, augment and export name theirs after it), or ``""``: an
    empty id, ``.`` or ``..``, a path separator or a control character (an id ``../x`` wrote outside the output
    folder before session 61)."""
    if not case_id.strip():
        return "is empty"
    if case_id in (".", "..") or "/" in case_id or "\\" in case_id:
        return "is a path, not a name (no '/', '\\', '.' or '..')"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in case_id):
        return "holds a control character"
    return ""


def _duplicate_ids(manifest: DatasetManifest) -> dict[str, int]:
    """Case ids that more than one case of ``manifest`` carries, with how many."""
    seen: dict[str, int] = {}
    for case in manifest.cases:
        seen[case.case_id] = seen.get(case.case_id, 0) + 1
    return {case_id: count for case_id, count in seen.items() if count > 1}


def read_json(path: Path) -> Any:
    """The parsed content of ``path``; unreadable, undecodable or malformed JSON is one ScintisegError."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScintisegError(f"cannot read ({type(exc).__name__}: {exc})", path=path) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScintisegError(f"malformed JSON ({exc})", path=path) from None
    except RecursionError:
        raise ScintisegError("malformed JSON (nested too deeply)", path=path) from None
    except ValueError:  # Python refuses to convert integers of more than 4300 digits
        raise ScintisegError("malformed JSON (a number of thousands of digits)", path=path) from None


def read_json_object(path: Path, what: str, advice: str = "") -> dict:
    """:func:`read_json` of a record that must be a JSON object: ``what`` names the record in the one-line error
    ("not <what> (not a JSON object)"), ``advice`` follows it after a semicolon (e.g. what to delete)."""
    record = read_json(path)
    if not isinstance(record, dict):
        raise ScintisegError(f"not {what} (not a JSON object)" + (f"; {advice}" if advice else ""), path=path)
    return record


def resolve(root: str | Path, relative: str) -> Path:
    """``root / relative``, refusing absolute paths and paths that escape ``root``."""
    if "\0" in relative:
        raise ScintisegError(f"path {relative!r} contains a NUL byte", path=Path(root) / MANIFEST_NAME)
    root = Path(root).resolve()
    candidate = (root / relative).resolve()
    if Path(relative).is_absolute() or not candidate.is_relative_to(root):
        raise ScintisegError(f"path {relative!r} lies outside the data set folder", path=root / MANIFEST_NAME)
    return candidate


def load_manifest(root: str | Path, *, unique_ids: bool = True) -> DatasetManifest:
    """Read ``root/dataset.json``; a case id that two cases carry is refused (their files would overwrite each other
    in crop, augment and export; since session 61) unless ``unique_ids`` is False (:func:`check_dataset` lists them
    among its other findings)."""
    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        raise ScintisegError(f"no {MANIFEST_NAME} here: not a scintiseg data set folder", path=root)
    manifest = DatasetManifest.from_json(read_json(path), path=path)
    twice = _duplicate_ids(manifest) if unique_ids else {}
    if twice:
        case_id, count = next(iter(twice.items()))
        raise ScintisegError(f"malformed manifest: duplicate case id {_short(case_id)} ({count} cases; every case "
                             "needs its own id)", path=path)
    return manifest


def save_manifest(manifest: DatasetManifest, root: str | Path) -> Path:
    """Write ``root/dataset.json`` atomically; returns its path."""
    path = Path(root) / MANIFEST_NAME
    write_text_atomic(path, json.dumps(manifest.to_json(), indent=1) + "\n")
    return path


# --------------------------------------------------------------------------------------------- cases

#: Case origins that are generated from training data: never test data (see
#: :func:`scintiseg.prepare.splits.split_dataset`).
TRAINING_DERIVED_ORIGINS: tuple[str, ...] = ("gan", "augment")
#: ``meta`` keys that may name the case an image was derived from.
PARENT_KEYS: tuple[str, ...] = ("parent_case", "parent", "source_case")


def _as_case(root: str | Path, case: "Case | str") -> Case:
    return case if isinstance(case, Case) else load_manifest(root).case(str(case))


def case_turn(case: Case) -> str:
    """How ``case``'s image is read upright (:data:`TURNED_KEY`): ``""`` (as stored) or one of :data:`TURNS`.

    Raises:
        ScintisegError: an unknown value.
    """
    how = case.meta.get(TURNED_KEY, "")
    problem = _turn_problem(how)
    if problem:
        raise ScintisegError(f"case {case.case_id}: {problem}")
    return str(how)


def _turn_problem(how: object) -> str:
    """What is wrong with a case's :data:`TURNED_KEY` value ``how`` (``""``: nothing)."""
    return "" if how in ("", *TURNS) else f"meta {TURNED_KEY} is {str(how)[:40]!r}, not one of {', '.join(TURNS)}"


def turned_array(array: np.ndarray, how: str) -> np.ndarray:
    """A view's 2-D mask or label map read as ``how`` says (:data:`TURNS`; ``""``: as it is)."""
    array = np.asarray(array)
    return np.ascontiguousarray(array[::-1]) if how == HEAD_DOWN else array


def turned_scan(scan: Scan, how: str) -> Scan:
    """``scan`` read as ``how`` says (:meth:`Scan.rows_reversed`), marked ``metadata[TURNED_KEY] = how``; the
    same object when ``how`` is empty."""
    if not how:
        return scan
    turned = scan.rows_reversed()
    turned.metadata[TURNED_KEY] = how
    return turned


#: A manifest's labels when a data set has no ``dataset.json`` to say them.
DEFAULT_LABELS: dict[str, int] = {"background": 0, "lesion": 1}


def manifest_labels(root: str | Path) -> dict[str, int]:
    """The labels of the manifest in ``root`` (:data:`DEFAULT_LABELS` where it has none)."""
    root = Path(root)
    return dict(load_manifest(root).labels) if (root / MANIFEST_NAME).is_file() else dict(DEFAULT_LABELS)


def load_case(
    root: str | Path, case: "Case | str", *, labels: dict[str, int] | None = None
) -> tuple[Scan, dict[str, np.ndarray]]:
    """Read one case: its scan and a boolean lesion mask per annotated view.

    The mask of a view comes from its LabelMe file (the source of truth) when the case has one, else
    from its PNG mask; views with neither are absent from the dict (callers treat them as unannotated).
    A LabelMe file's lesions are its shapes labelled a non-zero manifest label, or a reader's word for a lesion
    (``Lesion``, ``metastasis``, ``mets``; :func:`scintiseg.io.reader_labels.reader_lesions`, as ``scintiseg review``
    and ``dataset import`` read them; session 49: before, only the manifest's names counted, and a hand-made data
    set's ``Metastasis`` outlines trained as lesion-free views); a shape labelled as a finding that is no lesion
    (``bladder``, ``degenerative``, ``left_out``, a zero manifest label) is not one.
    A case stored head-down (:data:`TURNED_KEY`) comes back upright, its masks with it.

    Args:
        root: the data set folder.
        case: a :class:`Case` or a case id.
        labels: the manifest's labels, name -> class (default: read from ``root``'s manifest, once per call: pass
            them when loading many cases).

    Returns:
        ``(scan, {view: mask})``; the scan's ``patient_id`` is the case's when the file has none.

    Raises:
        ScintisegError: a missing or unreadable file, a path outside ``root``, a mask whose size differs
            from the image, an annotated view the scan does not have, an unknown :data:`TURNED_KEY`, a shape
            whose label says neither a lesion nor a finding that is not one (``lesion?``, ``L1``).
    """
    root = Path(root)
    case = _as_case(root, case)
    if labels is None:
        labels = manifest_labels(root)
    how = case_turn(case)
    scan = read_scan(resolve(root, case.image))
    if not scan.patient_id:
        scan = scan.with_views(scan.views, patient_id=case.patient_id)
    masks = {}
    for view in sorted(set(case.labels) | set(case.masks)):
        if view not in scan.views:
            raise ScintisegError(
                f"case {case.case_id} annotates view {view}, the image has {', '.join(scan.view_names)}",
                path=root / case.image,
            )
        if view in case.labels:
            source = resolve(root, case.labels[view])
            mask = reader_lesions(read_labelme(source, root=root), source, labels=labels).to_mask()
        else:
            source = resolve(root, case.masks[view])
            mask = read_mask_png(source)
        if mask.shape != scan.shape:
            raise ScintisegError(
                f"size mismatch: annotation is {mask.shape[0]}x{mask.shape[1]}, "
                f"image {case.image} is {scan.shape[0]}x{scan.shape[1]}",
                path=source,
            )
        masks[view] = turned_array(mask, how)
    return turned_scan(scan, how), masks


# --------------------------------------------------------------------------------------------- checking


@dataclass
class Problem:
    """One finding of :func:`check_dataset`: ``severity`` is ``"error"`` or ``"warning"``."""

    severity: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.path}: {self.message}"


@dataclass
class DatasetReport:
    """What :func:`check_dataset` found: problems and a summary (counts per category)."""

    problems: list[Problem] = field(default_factory=list)
    summary: dict = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def valid(self) -> bool:
        return not self.errors


def _check_case(root: Path, manifest: DatasetManifest, case: Case, report: DatasetReport, tally: dict) -> None:
    def add(severity: str, where, message: str) -> None:
        report.problems.append(Problem(severity, str(where), f"case {case.case_id}: {message}"))

    def guarded(where, action):
        """Run ``action`` and return its result; project errors and warnings become problems."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = action()
            except ScintisegError as exc:
                add("error", where, exc.problem)
                result = None
        for warning in caught:
            text = str(warning.message)
            add("warning", where, text.split(": ", 1)[1] if text.startswith(str(where)) else text)
        return result

    def locate(relative: str):
        try:
            path = resolve(root, relative)
        except ScintisegError as exc:
            add("error", root / MANIFEST_NAME, exc.problem)
            return None
        try:
            found = path.is_file()
        except OSError as exc:  # a name too long for the file system, a permission
            add("error", root / relative, f"cannot access it ({exc.strerror})")
            return None
        if not found:
            add("error", root / relative, "missing file")
            return None
        return path

    if not case.patient_id:
        add("error", root / MANIFEST_NAME, "no patient_id")
    turn_problem = _turn_problem(case.meta.get(TURNED_KEY, ""))
    if turn_problem:
        add("error", root / MANIFEST_NAME, turn_problem)
    stood = case.meta.get(STOOD_KEY)
    if stood is not None and stood not in STOOD_TURNS:  # a record only (nothing reads the case by it)
        add("warning", root / MANIFEST_NAME, f"meta {STOOD_KEY} is {str(stood)[:40]!r}, not one of {', '.join(STOOD_TURNS)}")
    image_path = locate(case.image)
    scan = guarded(image_path, lambda: read_scan(image_path)) if image_path else None
    if scan is not None:
        missing_views = [v for v in manifest.views if v not in scan.views]
        if missing_views and not (manifest.views == ["VIEW"] or scan.view_names == ["VIEW"]):
            add("error", image_path, f"image lacks view(s) {', '.join(missing_views)} listed in the manifest")
    shape = None if scan is None else scan.shape
    if scan is not None:  # what `train` makes of the data set (train.data, "Whole-body data sets")
        tally["whole_body" if spans_whole_body(scan.shape[0], scan.pixel_spacing[0]) else "partial"] += 1
        for view in scan.view_names:  # the views it holds, not only those the manifest says every case does
            tally["view_cases"][view] = tally["view_cases"].get(view, 0) + 1
    for view, relative in sorted(case.labels.items()):
        path = locate(relative)
        if path is None:
            continue
        annotation = guarded(path, lambda: read_labelme(path, root=root))
        if annotation is None:
            continue
        tally["labelled_views"] += 1
        if shape is not None and annotation.image_shape != shape:
            add("error", path, f"size mismatch: labels are for a {annotation.image_shape[0]}x"
                f"{annotation.image_shape[1]} image, {case.image} is {shape[0]}x{shape[1]}")
        if scan is not None and view not in scan.views:
            add("error", path, f"labels view {view}, the image has {', '.join(scan.view_names)}")
        lesions = guarded(path, lambda: reader_lesions(annotation, path, labels=manifest.labels))
        if lesions is None:
            continue
        if lesions.shapes:
            tally["lesion_views"] += 1
        for drawn in annotation.shapes:  # what a label the manifest does not name was read as (the summary says)
            if drawn.label not in manifest.labels:
                kind = "by_name" if label_kind(drawn.label) == "lesion" else "not_lesion"
                tally[kind][drawn.label] = tally[kind].get(drawn.label, 0) + 1
    for view, relative in sorted(case.masks.items()):
        path = locate(relative)
        if path is None:
            continue
        mask = guarded(path, lambda: read_mask_png(path))
        if mask is not None and shape is not None and mask.shape != shape:
            add("error", path, f"size mismatch: mask is {mask.shape[0]}x{mask.shape[1]}, "
                f"{case.image} is {shape[0]}x{shape[1]}")
        if mask is not None and view not in case.labels:
            tally["labelled_views"] += 1
            tally["lesion_views"] += int(bool(mask.any()))
    for view, relative in sorted(case.regions.items()):
        path = locate(relative)
        if path is None:
            continue
        regions = guarded(path, lambda: read_label_png(path))
        if regions is None:
            continue
        if shape is not None and regions.shape != shape:
            add("error", path, f"size mismatch: region map is {regions.shape[0]}x{regions.shape[1]}, "
                f"{case.image} is {shape[0]}x{shape[1]}")
        if manifest.region_names:
            unknown_ids = sorted(set(np.unique(regions).tolist()) - {0} - {int(k) for k in manifest.region_names})
            if unknown_ids:
                add("error", path, f"region ids {unknown_ids[:5]} not in the manifest's region_names")
    if not case.labels and not case.masks:
        tally["unannotated_cases"] += 1


def check_dataset(root: str | Path, progress: bool = False) -> DatasetReport:
    """Validate a data set folder: every file, every size, every id.

    Errors: an unreadable manifest, duplicate case ids, missing files, paths outside the folder, a ``splits.json``
    that :func:`load_splits` refuses,
    unreadable images or labels, size mismatches between an image and its labels/masks/regions,
    mask values other than 0/1 (and 0/255), LabelMe points outside the image, views the image lacks, a shape whose
    label says neither a lesion nor a finding that is not one (:func:`scintiseg.io.reader_labels.reader_lesions`).
    Warnings: masks stored as 0/255 (read as 0/1). A view outlined with no lesion (a reader's "no lesion") and a case
    with no annotation (lesions unknown: adaptation's unlabelled scans) are counted in the summary, not warned about
    (session 50: a site's data set holds hundreds of each), as is what the test split holds a person's outline of.
    The summary's ``views`` counts the images read holding each view (:func:`views_text`), not only the manifest's
    ``views``, the ones every case holds (module docstring).

    Args:
        root: the data set folder.
        progress: show a tqdm progress bar (stderr).

    Returns:
        The report; ``report.valid`` is True when there are no errors (warnings allowed).
    """
    root = Path(root)
    report = DatasetReport()
    try:
        manifest = load_manifest(root, unique_ids=False)
    except ScintisegError as exc:
        report.problems.append(Problem("error", exc.path or str(root), exc.problem))
        return report
    for case_id, count in _duplicate_ids(manifest).items():
        report.problems.append(Problem("error", str(root / MANIFEST_NAME), f"duplicate case id {case_id!r} ({count} cases)"))
    tally = {"labelled_views": 0, "lesion_views": 0, "unannotated_cases": 0, "by_name": {}, "not_lesion": {},
             "whole_body": 0, "partial": 0, "view_cases": {}}
    cases = manifest.cases
    if progress:
        cases = tqdm(cases, desc="checking", unit="case", leave=False)
    for case in cases:
        _check_case(root, manifest, case, report, tally)
    origins: dict[str, int] = {}
    for case in manifest.cases:
        origins[case.origin] = origins.get(case.origin, 0) + 1
    turned = sum(case.meta.get(TURNED_KEY) in TURNS for case in manifest.cases)
    stood = sum(case.meta.get(STOOD_KEY) in STOOD_TURNS for case in manifest.cases)
    split = sum(SPLIT_KEY in case.meta for case in manifest.cases)
    mirrored = sum(bool(case.meta.get(MIRRORED_KEY)) for case in manifest.cases)
    report.summary = {
        "name": manifest.name,
        "cases": len(manifest.cases),
        "patients": len(manifest.patients()),
        "views": (views_text(tally["view_cases"], tally["whole_body"] + tally["partial"],
                             read=len(manifest.cases)) if tally["view_cases"] else ",".join(manifest.views)),
        "labelled views": tally["labelled_views"],
        "views with lesions": tally["lesion_views"],
        **({"cases without outlines": tally["unannotated_cases"]} if tally["unannotated_cases"] else {}),
        **_test_split_summary(root, manifest, report),
        **_field_summary(tally["whole_body"], tally["partial"]),
        **({"outlines read as lesions by their label": _counted(tally["by_name"])} if tally["by_name"] else {}),
        **({"outlines of findings that are no lesion": _counted(tally["not_lesion"])} if tally["not_lesion"] else {}),
        "origins": ", ".join(f"{k} {v}" for k, v in sorted(origins.items())) or "-",
        **({"read turned (stored head-down)": turned} if turned else {}),
        **({"stood at import (stored lying)": stood} if stood else {}),
        **({"split at import (a page of two views)": split} if split else {}),
        **({"mirrored back at import (DICOM orientation)": mirrored} if mirrored else {}),
        "errors": len(report.errors),
        "warnings": len(report.warnings),
    }
    return report


def views_text(view_cases: dict[str, int], cases: int, read: int | None = None) -> str:
    """How many of ``cases`` hold each view, canonical order first: ``"ANT 8, POST 7 of 8 cases"``, as ``dataset
    check`` and ``dataset import`` say it (module docstring: a manifest's ``views`` are only the views every case
    holds). ``read``: the cases there are, when only ``cases`` of them could be read (``"of 7 cases read"``)."""
    order = sorted(view_cases, key=lambda view: (VIEW_NAMES.index(view) if view in VIEW_NAMES else len(VIEW_NAMES), view))
    counted = ", ".join(f"{view} {view_cases[view]}" for view in order)
    return f"{counted} of {cases} case{'s' if cases != 1 else ''}{' read' if read not in (None, cases) else ''}"


def _field_summary(whole: int, partial: int) -> dict[str, str]:
    """``{"field of view": ...}``: how many images span a whole body (:data:`~scintiseg.scan.PARTIAL_VIEW_MM`) and how
    many are partial views, and what ``scintiseg train`` makes of that (session 51)."""
    if not whole and not partial:
        return {}
    metre = f"{PARTIAL_VIEW_MM / 1000:g} m"
    if whole and partial:
        said = f"{whole} whole-body, {partial} partial (under {metre}): `train` needs one kind"
    elif whole:
        said = f"{whole} whole-body (at least {metre}): `train` makes a whole-body model"
    else:
        said = f"{partial} partial (crops, under {metre}): `train` makes a crop model"
    return {"field of view": said}


def _test_split_summary(root: Path, manifest: DatasetManifest, report: "DatasetReport") -> dict[str, str]:
    """``{"test split (splits.json)": "N cases, K outlined by a person"}`` when the data set has a split; a split
    ``load_splits`` refuses (unknown cases, a patient on both sides, malformed) is an error of the report."""
    if not (root / SPLITS_NAME).is_file():
        return {}
    try:
        test = set(load_splits(root)["test"])
    except ScintisegError as exc:
        report.problems.append(Problem("error", str(exc.path or root / SPLITS_NAME), exc.problem))
        return {}
    outlined = sum(bool(person_views(case)) for case in manifest.cases if case.case_id in test)
    return {"test split (splits.json)": f"{len(test)} cases, {outlined} outlined by a person"}


def _counted(counts: dict[str, int]) -> str:
    """``label count`` pairs, the commonest first (``Metastasis 12, mets 3``)."""
    return ", ".join(f"{label} {n}" for label, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))


# --------------------------------------------------------------------------------------------- splits


def person_views(case: Case) -> set[str]:
    """The views of ``case`` a person outlined: those with a LabelMe file or a mask, less those whose annotation is a
    pseudo-label (``meta["pseudo"]``, :data:`PSEUDO_KEY`: the model's own prediction). An empty outline is a reader's
    "no lesion"; a view with neither file has unknown lesions, not none (session 50)."""
    meta = case.meta if isinstance(case.meta, dict) else {}
    listed = meta.get(PSEUDO_KEY)
    return (set(case.labels) | set(case.masks)) - set(listed if isinstance(listed, list) else [])


def save_splits(splits: dict, root: str | Path) -> Path:
    """Write ``root/splits.json`` atomically (the split itself is :func:`scintiseg.prepare.splits.split_dataset`'s);
    returns its path."""
    path = Path(root) / SPLITS_NAME
    write_text_atomic(path, json.dumps(splits, indent=1) + "\n")
    return path


def load_splits(root: str | Path) -> dict:
    """Read and verify ``root/splits.json``: known case ids, no patient on both sides of any split."""
    root = Path(root)
    path = root / SPLITS_NAME
    if not path.is_file():
        raise ScintisegError("no splits.json: run `scintiseg dataset split` first", path=root)
    schema = _Schema(path, "malformed splits file")
    splits = schema.required(schema.document(read_json(path)), "train", "test")
    train, test = schema.string_list(splits["train"], "train"), schema.string_list(splits["test"], "test")
    pairs = [("train", "test", train, test)]
    folds = splits.get("folds")
    for k, fold in enumerate(schema.expect([] if folds is None else folds, list, "folds")):
        schema.required(schema.expect(fold, dict, f"folds[{k}]"), "train", "val", where=f"folds[{k}]")
        pairs.append((f"fold {k} train", f"fold {k} val", schema.string_list(fold["train"], f"folds[{k}].train"),
                      schema.string_list(fold["val"], f"folds[{k}].val")))
    patient_of = {c.case_id: c.patient_id for c in load_manifest(root).cases}
    for name_a, name_b, side_a, side_b in pairs:
        unknown = [c for c in side_a + side_b if c not in patient_of]
        if unknown:
            raise ScintisegError(f"cases not in the data set: {', '.join(map(str, unknown[:5]))}", path=path)
        leaked = sorted({patient_of[c] for c in side_a} & {patient_of[c] for c in side_b})
        if leaked:
            raise ScintisegError(f"patients {', '.join(leaked[:5])} are in both {name_a} and {name_b}", path=path)
    return splits
