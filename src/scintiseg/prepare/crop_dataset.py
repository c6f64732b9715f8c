"""Whole-body data set -> thoracic-crop data set in the same layout (``scintiseg dataset crop``).

Every case is cropped with :func:`scintiseg.prepare.crop.thoracic_crop`; its images become multi-frame NM
DICOM files of the crop, and its masks, region maps, instance maps and LabelMe annotations are cut with
the *same* per-view boxes (POST's box is ANT's mirrored, see :mod:`scintiseg.prepare.crop`). LabelMe
shapes lying wholly inside the box are moved exactly (points shifted by the box corner); a shape crossing
the box edge is rasterised, cut and traced again. The new case keeps its case and patient ids (so splits
stay patient-level), gets ``origin="crop"`` and records ``meta["crop"] = {view: {top, left, height, width}}``,
``meta["crop_whole_shape"]`` and ``meta["parent_case"]``. Lesion metadata in ``meta["lesions"]`` is kept;
when the case has instance maps (the phantom's ``meta["instances"]``), each lesion's per-view ``bbox`` is
recomputed in crop coordinates and ``in_crop`` (wholly inside the crop in every view showing it) added.

A case whose thorax cannot be cropped (no body outline: e.g. a scan of a few hundred thousand counts whose
background is as bright as its soft tissue) is skipped, not the whole data set: it is named with its
reason in a warning and in the new manifest's description, and the others are cropped [choice: one
unreadable case of 60 domain-randomised phantoms used to stop the command with nothing written]. With no
case left the command fails. The manifest is written last: a run that fails leaves no ``dataset.json`` behind.
"""

from __future__ import annotations

import concurrent.futures
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import MANIFEST_NAME, READ_RECORD_KEYS, Case, DatasetManifest, load_manifest, save_manifest
from scintiseg.prepare.case_arrays import (
    CaseArrays,
    annotation_through,
    case_entry_with,
    lesion_boxes,
    load_case_arrays,
    write_case_arrays,
)
from scintiseg.prepare.crop import CropBox, thoracic_crop
from scintiseg.scan import Annotation


def crop_annotation(annotation: Annotation, box: CropBox) -> Annotation:
    """``annotation`` in the crop's coordinates (exact shift for shapes inside the box, else re-traced)."""
    inside, crossing = [], []
    for shape in annotation.shapes:
        pts = shape.points
        wholly_inside = (
            pts[:, 0].min() >= box.left and pts[:, 0].max() <= box.left + box.width - 1
            and pts[:, 1].min() >= box.top and pts[:, 1].max() <= box.top + box.height - 1
        )
        if wholly_inside:
            inside.append(replace(shape, points=pts - np.array([box.left, box.top], dtype=np.float64)))
        else:
            crossing.append(shape)
    shapes = list(inside)
    if crossing:
        partial = Annotation(shapes=crossing, image_shape=annotation.image_shape, view=annotation.view)
        shapes += annotation_through(partial, box.crop, (box.height, box.width)).shapes
    return Annotation(shapes=shapes, image_shape=(box.height, box.width), view=annotation.view,
                      flags=dict(annotation.flags))


def crop_case_arrays(arrays: CaseArrays, size: int | tuple[int, int] = 256) -> tuple[CaseArrays, dict[str, CropBox], tuple[int, int]]:
    """Crop a case's scan and everything drawn on it; returns (cropped arrays, boxes, whole-body shape)."""
    result = thoracic_crop(arrays.scan, size=size)
    boxes = result.boxes
    cropped = CaseArrays(
        scan=result.scan,
        annotations={v: crop_annotation(a, boxes[v]) for v, a in arrays.annotations.items() if v in boxes},
        masks={v: boxes[v].crop(m) for v, m in arrays.masks.items() if v in boxes},
        label_maps={
            name: {v: boxes[v].crop(m) for v, m in maps.items() if v in boxes}
            for name, maps in arrays.label_maps.items()
        },
    )
    return cropped, boxes, result.whole_shape


def _lesions_in_crop(meta: dict, whole: CaseArrays, cropped: CaseArrays) -> list | None:
    """``meta["lesions"]`` with per-view ``bbox`` in crop coordinates and ``in_crop`` (wholly inside in every
    view that shows it), when the case has instance maps."""
    instances = whole.label_maps.get("instances")
    lesions = lesion_boxes(meta, cropped.label_maps.get("instances"))
    if lesions is None or not instances:
        return None
    for index, lesion in enumerate(lesions, start=1):
        lesion_id = int(lesion.get("id", index))
        seen = [v for v, ids in instances.items() if (ids == lesion_id).any()]
        lesion["in_crop"] = bool(seen) and all(
            int((cropped.label_maps["instances"][v] == lesion_id).sum()) == int((instances[v] == lesion_id).sum())
            for v in seen
        )
    return lesions


def crop_one_case(src: Path, out: Path, case: Case, size) -> Case:
    """Crop one case of data set ``src`` into ``out``; returns its manifest entry."""
    arrays = load_case_arrays(src, case)
    try:
        cropped, boxes, whole_shape = crop_case_arrays(arrays, size)
    except ScintisegError as exc:
        raise ScintisegError(f"case {case.case_id}: {exc.problem}", path=src / case.image) from None
    paths = write_case_arrays(cropped, out, case.case_id)
    meta = {k: v for k, v in case.meta.items() if k not in READ_RECORD_KEYS}  # the source file no longer maps on
    meta["crop"] = {v: {k: val for k, val in b.to_json().items() if k != "view"} for v, b in boxes.items()}
    meta["crop_whole_shape"] = list(whole_shape)
    meta["parent_case"] = case.case_id
    lesions = _lesions_in_crop(meta, arrays, cropped)
    if lesions is not None:
        meta["lesions"] = lesions
    return case_entry_with(case, paths, origin="crop", meta=meta)


def crop_dataset(
    src: str | Path, out: str | Path, *, size: int | tuple[int, int] = 256, workers: int = 1, progress: bool = True
) -> DatasetManifest:
    """Write the thoracic-crop version of data set ``src`` into ``out`` (module docstring).

    Args:
        src: whole-body data-set folder (with ``dataset.json``).
        out: new folder; must not already hold a data set.
        size: crop size (pixels).
        workers: processes to use (1: in this process).
        progress: show a tqdm bar on stderr.

    Returns:
        The new manifest (already saved).
    """
    src, out = Path(src), Path(out)
    manifest = load_manifest(src)
    if (out / MANIFEST_NAME).exists():
        raise ScintisegError("output folder already holds a data set; choose a new folder", path=out)
    if out.resolve() == src.resolve():
        raise ScintisegError("output folder is the input data set", path=out)
    out.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(manifest.cases), desc="crop", unit="case", disable=not progress)
    cases: list[Case] = []
    skipped: list[tuple[str, str]] = []

    def collect(case: Case, result) -> None:
        try:
            cases.append(result())
        except ScintisegError as exc:  # this case only (module docstring)
            skipped.append((case.case_id, exc.problem.removeprefix(f"case {case.case_id}: ")))
            warnings.warn(f"{exc}; case skipped", stacklevel=3)
        bar.update()

    if workers > 1:
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(crop_one_case, src, out, case, size) for case in manifest.cases]
            for case, future in zip(manifest.cases, futures):
                collect(case, future.result)
    else:
        for case in manifest.cases:
            collect(case, lambda case=case: crop_one_case(src, out, case, size))
    bar.close()
    if not cases:
        raise ScintisegError(f"no case could be cropped (first: {skipped[0][0]}: {skipped[0][1]})" if skipped
                             else "the data set has no cases", path=src)
    height, width = (size, size) if isinstance(size, int) else size
    note = f"Thoracic {height} x {width} crops (scintiseg dataset crop)."
    if skipped:
        note += f" Skipped {len(skipped)} case(s) that could not be cropped: " + "; ".join(
            f"{case_id} ({problem})" for case_id, problem in skipped) + "."
    new = manifest.derived("thorax", note, cases)
    save_manifest(new, out)
    return new
