"""One data-set case in memory: the scan and every per-view array that must move with it.

``scintiseg dataset crop`` and ``scintiseg dataset augment`` turn one case into new ones by a geometric
operation (a crop box, a flip-rotate-translate). Everything drawn on a view must undergo the same
operation: LabelMe annotations, lesion masks, skeleton-region maps and lesion-instance maps. This
module reads all of a case's files into a :class:`CaseArrays`, and writes one back in the data-set
layout of :mod:`scintiseg.io.dataset` (``images/<case>.dcm``, ``labels/<case>_<VIEW>.json``,
``masks/``, ``regions/``, ``instances/``), returning the manifest entry's paths.

Per-view label maps are read from the case fields named in :data:`LABEL_MAP_FIELDS` (``regions``) or,
when the case has no such field, from ``case.meta`` under that name (the phantom keeps its lesion-instance
maps in ``meta["instances"]``); :func:`case_entry_with` puts new paths back in the same place.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from scintiseg.io import read_scan
from scintiseg.io.dataset import HEAD_DOWN, TURNED_KEY, Case, case_turn, resolve, turned_array, turned_scan
from scintiseg.io.dicom import write_dicom
from scintiseg.io.images import read_label_png, read_mask_png, write_label_png, write_mask_png
from scintiseg.io.labelme import read_labelme, write_labelme
from scintiseg.scan import Annotation, Scan

#: Case fields holding view -> path of an integer label map (nearest-pixel resampling).
LABEL_MAP_FIELDS: tuple[str, ...] = ("regions", "instances")


@dataclass
class CaseArrays:
    """A case's scan plus its per-view annotations, masks and label maps (all in the scan's frame).

    Args:
        scan: the views (POST as acquired).
        annotations: view -> LabelMe annotation.
        masks: view -> boolean lesion mask.
        label_maps: field name (``"regions"``, ``"instances"``) -> view -> integer label map.
    """

    scan: Scan
    annotations: dict[str, Annotation] = field(default_factory=dict)
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    label_maps: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


def case_label_map_paths(case: Case) -> dict[str, dict[str, str]]:
    """name -> view -> relative path, for every label map the case has (as a field or in ``meta``)."""
    names = {f.name for f in fields(case)}
    out = {}
    for name in LABEL_MAP_FIELDS:
        value = getattr(case, name) if name in names else case.meta.get(name)
        if isinstance(value, dict) and value and all(isinstance(v, str) for v in value.values()):
            out[name] = dict(value)
    return out


def case_entry_with(case: Case, paths: dict, **changes) -> Case:
    """``case`` with the file paths of :func:`write_case_arrays` (label maps back where they came from)."""
    names = {f.name for f in fields(case)}
    meta = dict(changes.pop("meta", case.meta))
    meta.pop(TURNED_KEY, None)  # the arrays were read upright (load_case_arrays) and are written so
    updates = {"image": paths["image"], "labels": paths["labels"], "masks": paths["masks"]}
    for name in LABEL_MAP_FIELDS:
        if name in paths:
            if name in names:
                updates[name] = paths[name]
            else:
                meta[name] = paths[name]
    return replace(case, meta=meta, **updates, **changes)


def lesion_boxes(meta: dict, instances: dict[str, np.ndarray] | None) -> list | None:
    """``meta["lesions"]`` with each lesion's per-view ``bbox`` ([top, left, bottom, right), None if absent)
    recomputed from ``instances`` (view -> lesion-id map); None when there is nothing to update."""
    lesions = meta.get("lesions")
    if not isinstance(lesions, list) or not instances or not all(isinstance(x, dict) for x in lesions):
        return None
    out = []
    for index, lesion in enumerate(lesions, start=1):
        lesion_id = int(lesion.get("id", index))
        boxes = {}
        for view, ids in instances.items():
            rows = np.flatnonzero((ids == lesion_id).any(axis=1))
            cols = np.flatnonzero((ids == lesion_id).any(axis=0))
            boxes[view] = [int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1] if rows.size else None
        out.append({**lesion, "bbox": boxes})
    return out


def load_case_arrays(root: str | Path, case: Case) -> CaseArrays:
    """Read every file of ``case`` in data set ``root``; a case stored head-down (``meta["read_turned"]``,
    :data:`scintiseg.io.dataset.TURNED_KEY`) comes back upright, its image, outlines, masks and maps alike."""
    root = Path(root)
    how = case_turn(case)
    scan = turned_scan(read_scan(resolve(root, case.image)), how)
    annotations = {view: read_labelme(resolve(root, rel), root=root) for view, rel in case.labels.items()}
    if how == HEAD_DOWN:
        annotations = {view: annotation.rows_reversed() for view, annotation in annotations.items()}
    masks = {view: turned_array(read_mask_png(resolve(root, rel)), how) for view, rel in case.masks.items()}
    label_maps = {
        name: {view: turned_array(read_label_png(resolve(root, rel)), how) for view, rel in paths.items()}
        for name, paths in case_label_map_paths(case).items()
    }
    return CaseArrays(scan=scan, annotations=annotations, masks=masks, label_maps=label_maps)


def write_case_arrays(arrays: CaseArrays, root: str | Path, case_id: str) -> dict:
    """Write ``arrays`` under ``root`` in the data-set layout; returns the Case fields with the new paths.

    LabelMe files embed their view's image (LabelMe opens them without the DICOM file).
    """
    root = Path(root)
    image = f"images/{case_id}.dcm"
    write_dicom(arrays.scan, root / image)
    out: dict = {"image": image, "labels": {}, "masks": {}}
    for view, annotation in arrays.annotations.items():
        rel = f"labels/{case_id}_{view}.json"
        write_labelme(annotation, root / rel, image=arrays.scan.view(view) if view in arrays.scan.views else None)
        out["labels"][view] = rel
    for view, mask in arrays.masks.items():
        rel = f"masks/{case_id}_{view}.png"
        write_mask_png(mask, root / rel)
        out["masks"][view] = rel
    for name, maps in arrays.label_maps.items():
        out[name] = {}
        for view, labels in maps.items():
            rel = f"{name}/{case_id}_{view}.png"
            write_label_png(labels, root / rel)
            out[name][view] = rel
    return out


def annotation_through(
    annotation: Annotation, transform, image_shape: tuple[int, int], *, view: str | None = None
) -> Annotation:
    """Move an annotation with an array operation: rasterise, ``transform`` the mask, trace polygons again.

    Shapes keep their label and ``group_id`` (each (label, group) traced separately, so a lesion id kept
    in ``group_id`` survives); ``transform`` maps a boolean mask of the
    annotation's image shape to one of ``image_shape``.
    """
    shapes = []
    groups = sorted({(s.label, s.group_id) for s in annotation.shapes}, key=lambda g: (g[0], g[1] is not None, g[1] or 0))
    for label, group_id in groups:
        members = [s for s in annotation.shapes if s.label == label and s.group_id == group_id]
        mask = Annotation(shapes=members, image_shape=annotation.image_shape).to_mask()
        moved = np.asarray(transform(mask), dtype=bool)
        if moved.shape != tuple(image_shape):
            raise ValueError(f"transform gave shape {moved.shape}, expected {image_shape}")
        shapes += [replace(s, group_id=group_id) for s in Annotation.from_mask(moved, label=label).shapes]
    return Annotation(shapes=shapes, image_shape=tuple(image_shape), view=view or annotation.view,
                      flags=dict(annotation.flags))
