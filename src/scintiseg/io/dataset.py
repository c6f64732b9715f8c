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

Every path in the manifest is relative to ``DIR`` and must stay inside it. ``dataset.json``::

    {"format_version": 1, "name": "...", "description": "...", "views": ["ANT", "POST"],
     "pixel_spacing": [2.26, 2.26], "labels": {"background": 0, "lesion": 1},
     "region_names": {"1": "skull", ...},
     "cases": [{"case_id": "P0001", "patient_id": "P0001", "image": "images/P0001.dcm",
                "labels": {"ANT": "labels/P0001_ANT.json", "POST": "labels/P0001_POST.json"},
                "masks": {...}, "regions": {...}, "synthetic": true, "origin": "phantom",
                "meta": {"lesions": [...]}}]}
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from scintiseg.errors import ScintisegError
from scintiseg.io.atomic import write_text_atomic

MANIFEST_NAME = "dataset.json"
SPLITS_NAME = "splits.json"
FORMAT_VERSION = 1


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

    def to_json(self) -> dict:
        data = asdict(self)
        data["pixel_spacing"] = list(self.pixel_spacing)
        return data

    @classmethod
    def from_json(cls, data: dict, path: Path | None = None) -> "DatasetManifest":
        try:
            cases = [Case(**c) for c in data.get("cases", [])]
            return cls(
                name=str(data["name"]),
                views=list(data["views"]),
                pixel_spacing=tuple(float(v) for v in data["pixel_spacing"]),
                cases=cases,
                labels=dict(data.get("labels", {"background": 0, "lesion": 1})),
                region_names={str(k): str(v) for k, v in data.get("region_names", {}).items()},
                description=str(data.get("description", "")),
                format_version=int(data.get("format_version", FORMAT_VERSION)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ScintisegError(f"not a valid scintiseg manifest ({type(exc).__name__}: {exc})", path=path) from None


def resolve(root: str | Path, relative: str) -> Path:
    """``root / relative``, refusing absolute paths and paths that escape ``root``."""
    root = Path(root).resolve()
    candidate = (root / relative).resolve()
    if Path(relative).is_absolute() or not candidate.is_relative_to(root):
        raise ScintisegError(f"path {relative!r} lies outside the data set folder", path=root / MANIFEST_NAME)
    return candidate


def load_manifest(root: str | Path) -> DatasetManifest:
    """Read ``root/dataset.json``."""
    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        raise ScintisegError(f"no {MANIFEST_NAME} here: not a scintiseg data set folder", path=root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScintisegError(f"malformed JSON ({exc})", path=path) from None
    if not isinstance(data, dict):
        raise ScintisegError("malformed manifest: top level is not an object", path=path)
    return DatasetManifest.from_json(data, path=path)


def save_manifest(manifest: DatasetManifest, root: str | Path) -> Path:
    """Write ``root/dataset.json`` atomically; returns its path."""
    path = Path(root) / MANIFEST_NAME
    write_text_atomic(path, json.dumps(manifest.to_json(), indent=1) + "\n")
    return path
