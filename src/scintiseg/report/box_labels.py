"""Hot-spot boxes against a batch's predictions: which labelled lesions were outlined, which benign hot spots called?

Image labels (:mod:`scintiseg.report.image_labels`) say whether the model ranks abnormal scans first; boxes say
*which* hot spots it gets right. BS-80K, the largest public bone-scan set, marks every hot spot of its 8-bit views
and crops with a Pascal VOC box, ``Abnormal`` (a lesion) or ``Normal`` (physiological or benign: the bladder, a
kidney, an injection site, a degenerative joint; realdata.md), read by :mod:`scintiseg.io.voc`. With them,
``scintiseg predict SCANS --out OUT --boxes DIR`` measures on a site's own real scans what the phantom benchmarks
measure on synthetic ones, and writes ``OUT/boxes.json`` and one line:

- **lesion boxes found** (sensitivity): a box is found when a predicted lesion (a connected part, 8-neighbour, of
  the view's ``V_mask.png``, the outlines the report draws) has a pixel inside it;
- **normal boxes called**: the same for the benign hot spots, the real hard negatives (the share called, and how
  many per image);
- **calls**: every predicted lesion is on a lesion box, on normal boxes only, or in **no box** (a call on something
  nobody marked; per image, the false positives a reader would have to dismiss, together with those on normal boxes);
- the image-level **triage** with each image abnormal when it holds a lesion box and normal when it holds no box
  of a lesion's label at all (one whose only lesion boxes are ``difficult`` is left out), the ROC AUC of the
  largest probability against the brightest pixel's, as ``--labels`` gives it;
- per image, the same counts, so that the misses and false calls can be opened one by one.

Choices the task left open, stated: a box is widened by :data:`MARGIN_PX` pixel on every side before it is
compared (VOC's 1-based coordinates against tools that write 0-based ones, and a box drawn tight to a hot spot
whose outline spreads a pixel further); a box marked ``difficult`` and a box whose label is neither a lesion's
(:data:`LESION_LABELS`) nor a benign hot spot's (:data:`NORMAL_LABELS`, any case) is not scored, and a call on it
counts as neither right nor wrong (the unknown labels are listed in the result); boxes are placed on one-view
images and on pages of two views (a BS-80K file holds one view or one crop; a study's ANT and POST files predicted as
one scan, :mod:`scintiseg.io.view_pairs`, are each scored on their own view), and another file of two views (a DICOM
file that names them: a box names no view), a scan whose size is
not the declared one, or one without an annotation is left out and counted; a failed scan is left out and counted,
and so is a summary row whose values are not this run's prediction (``not_this_run``: ``kept``, a folder a reader
corrected, not predicted again, and ``earlier`` / ``failed earlier``, an earlier run's, :mod:`scintiseg.report.batch`:
its masks may be another model's).
Boxes drawn on a file holding a body lying, which the reader stood (report.json's ``input.stood``), are turned
with it (:func:`scintiseg.io.voc.quarter_turned_boxes`, exact), their declared size checked against the file's; boxes
drawn on a page of two views side by side, which the reader split (``input.split_column``), are cut with it onto
the two views (:func:`scintiseg.io.voc.split_boxes`), and the page is scored as one image (its views' counts summed).
Boxes drawn on a DICOM view its header says is stored mirrored, which the reader mirrored back (``input.mirrored``,
:mod:`scintiseg.io.patient_sides`), are mirrored with it (:func:`scintiseg.io.voc.columns_reversed_boxes`).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from scintiseg.errors import ScintisegError
from scintiseg.io import SPLIT_COLUMN
from scintiseg.io.atomic import write_text_atomic
from scintiseg.io.layout import STOOD_KEY, STOOD_TURNS, STORED_SHAPE_KEY
from scintiseg.io.voc import LESION_LABELS, NORMAL_LABELS, VocAnnotation, VocBox, annotation_of, box_kind, box_slices
from scintiseg.io.patient_sides import MIRRORED_KEY
from scintiseg.io.voc import columns_reversed_boxes, page_boxes, quarter_turned_boxes
from scintiseg.report.image_labels import evaluate_triage, format_score

#: Pixels added on every side of a box before it is compared (module docstring).
MARGIN_PX = 1
BOXES_NAME = "boxes.json"


def box_window(box: VocBox, shape: tuple[int, int], margin: int = MARGIN_PX) -> tuple[slice, slice]:
    """The box widened by ``margin`` (the scoring's tolerance) and clipped to an image of ``shape``, as array slices."""
    return box_slices(box, shape, margin)


def score_image(mask: np.ndarray, boxes: tuple[VocBox, ...] | list[VocBox]) -> dict:
    """Boxes found / called and calls by where they lie, for one view's lesion ``mask`` (module docstring)."""
    parts, count = ndimage.label(np.asarray(mask) > 0, structure=np.ones((3, 3), dtype=bool))
    kinds = [box_kind(box) for box in boxes]
    touched = []  # per box: the ids of the predicted lesions with a pixel in it
    for box in boxes:
        window = parts[box_window(box, parts.shape)]
        touched.append(set(np.unique(window[window > 0]).tolist()))
    on = {kind: set().union(*[t for t, k in zip(touched, kinds) if k == kind]) for kind in ("lesion", "normal", "unscored")}
    calls = set(range(1, count + 1))
    return {
        "lesion_boxes": kinds.count("lesion"),
        "lesion_boxes_found": sum(bool(t) for t, k in zip(touched, kinds) if k == "lesion"),
        "normal_boxes": kinds.count("normal"),
        "normal_boxes_called": sum(bool(t) for t, k in zip(touched, kinds) if k == "normal"),
        "unscored_boxes": kinds.count("unscored"),
        "calls": count,
        "calls_on_lesion_boxes": len(on["lesion"]),
        "calls_on_normal_boxes_only": len(on["normal"] - on["lesion"]),
        "calls_in_no_box": len(calls - on["lesion"] - on["normal"] - on["unscored"]),
    }


def lesion_boxes(instances: np.ndarray, visible: np.ndarray, inside: np.ndarray | None = None,
                 label: str = "Abnormal") -> list[VocBox]:
    """Boxes a reader would draw around the lesions of a truth lesion-id map ``instances`` (0 = none) whose
    ``visible`` extents are what the view shows, as BS-80K boxes them: one per lesion with a pixel in ``inside``
    (a crop's polygon; default the whole view), around its visible part inside (all of its part inside when none is
    visible), in the coordinates of ``inside``'s bounding box. A lesion not visible, or with less than half of its
    visible extent inside, is marked ``difficult`` (no reader would score it; a call on it is not wrong)."""
    instances, visible = np.asarray(instances), np.asarray(visible, dtype=bool)
    inside = np.ones(instances.shape, dtype=bool) if inside is None else np.asarray(inside, dtype=bool)
    rows, cols = np.nonzero(inside)
    r0, c0 = (int(rows.min()), int(cols.min())) if rows.size else (0, 0)
    boxes = []
    for lesion_id in np.unique(instances[inside & (instances > 0)]):
        extent = instances == lesion_id
        seen = extent & visible
        part = extent & inside
        drawn = part & seen if (part & seen).any() else part
        rr, cc = np.nonzero(drawn)
        difficult = not seen.any() or (seen & inside).sum() < 0.5 * seen.sum()
        boxes.append(VocBox(label, (int(rr.min()) - r0, int(rr.max()) - r0), (int(cc.min()) - c0, int(cc.max()) - c0),
                            difficult=bool(difficult)))
    return boxes


def _one_view(out: Path, row: dict) -> tuple[list[tuple[str, Path]], dict] | str:
    """The views the boxes of a predicted file go on, each with its mask file, and the report's ``input``: the one
    view of a one-view file, the file's own view of a study's two files, both views of a page of two views split by
    the reader; or why the boxes cannot be placed."""
    try:
        report = json.loads((out / row["output"] / "report.json").read_text())
        views = report["views"]
        read = dict(report.get("input") or {})
    except (OSError, ValueError, KeyError, TypeError):
        return "no readable report.json"

    def mask(view: str) -> Path:
        return out / row["output"] / views[view].get("files", {}).get("mask", f"{view}_mask.png")

    own = row.get("views") or ""
    if own in views:  # a study's file joined with its other view's names its own view
        return [(own, mask(own))], read
    if len(views) == 1:
        return [(next(iter(views)), mask(next(iter(views))))], read
    if SPLIT_COLUMN in read and set(views) == {"ANT", "POST"}:  # a page the reader split
        return [("ANT", mask("ANT")), ("POST", mask("POST"))], read
    return f"{len(views)} views (boxes are placed on one-view images and on pages of two views)"


def _boxes_on_views(annotation: VocAnnotation, read: dict,
                    shapes: dict[str, tuple[int, int]]) -> dict[str, tuple[VocBox, ...]] | str:
    """The boxes, drawn on the file as stored, on the predicted views of ``shapes``: turned with a body the reader
    stood, cut with a page it split (``read``: the report's ``input``, :data:`scintiseg.report.report_json.READ_AS`;
    :func:`scintiseg.io.voc.quarter_turned_boxes`, :func:`~scintiseg.io.voc.page_boxes`); or why they cannot be."""
    if len(shapes) == 2:
        placed = page_boxes(annotation, read.get(SPLIT_COLUMN), read.get(STORED_SHAPE_KEY), shapes["ANT"][1])
        return f"{placed} ({annotation.path.name})" if isinstance(placed, str) else placed
    (view, shape), = shapes.items()
    found = _boxes_on_view(annotation, read, view, shape)
    return found if isinstance(found, str) else {view: found}


def _boxes_on_view(annotation: VocAnnotation, read: dict, view: str, shape: tuple[int, int]) -> tuple[VocBox, ...] | str:
    """The boxes of a one-view file on its predicted view of ``shape``, turned with a body the reader stood and
    mirrored with a view it mirrored back."""
    stood, stored = read.get(STOOD_KEY), read.get(STORED_SHAPE_KEY)
    turned = stood in STOOD_TURNS and isinstance(stored, list) and len(stored) == 2
    drawn_on = tuple(stored) if turned else shape
    if annotation.shape is not None and tuple(annotation.shape) != tuple(drawn_on):
        return (f"the image is {drawn_on[1]} x {drawn_on[0]}, the boxes' {annotation.path.name} declares "
                f"{annotation.shape[1]} x {annotation.shape[0]}")
    placed = quarter_turned_boxes(annotation.boxes, drawn_on, STOOD_TURNS[stood]) if turned else annotation.boxes
    # A view its DICOM header says is stored mirrored was read mirrored back (scintiseg.io.patient_sides).
    return columns_reversed_boxes(placed, shape[1]) if view in (read.get(MIRRORED_KEY) or []) else placed


def evaluate_boxes(out: str | Path, annotations: dict[str, VocAnnotation]) -> dict:
    """Every one-view scan of a batch's ``OUT/summary.csv`` against its boxes (module docstring)."""
    out = Path(out)
    try:
        rows = list(csv.DictReader((out / "summary.csv").read_text().splitlines()))
    except OSError as exc:
        raise ScintisegError(f"no batch summary to evaluate ({exc.strerror})", path=out / "summary.csv") from None
    images, skipped, failed, unannotated, not_this_run, used = [], [], 0, 0, 0, set()
    image_labels: dict[str, bool] = {}  # abnormal: a lesion box; normal: no box of a lesion's label at all
    for row in rows:
        annotation = annotation_of(annotations, row["input"])
        if annotation is None:
            unannotated += 1
            continue
        used.add(annotation.path)
        if row["status"] not in ("ok", "failed"):  # kept, earlier: not this run's prediction (module docstring)
            not_this_run += 1
            continue
        if row["status"] != "ok":
            failed += 1
            continue
        placed = _one_view(out, row)
        if isinstance(placed, str):
            skipped.append({"input": row["input"], "why": placed})
            continue
        views, read = placed
        try:
            masks = {view: np.asarray(Image.open(path)) for view, path in views}
        except OSError as exc:
            skipped.append({"input": row["input"], "why": f"no readable {Path(str(exc.filename)).name}"})
            continue
        boxes = _boxes_on_views(annotation, read, {view: m.shape[:2] for view, m in masks.items()})
        if isinstance(boxes, str):
            skipped.append({"input": row["input"], "why": boxes})
            continue
        parts = [score_image(masks[view], boxes[view]) for view in masks]
        scored = {key: sum(part[key] for part in parts) for key in parts[0]}
        images.append({"input": row["input"], "annotation": annotation.path.name, "view": "+".join(masks),
                       "triage_score": float(row["triage_score"]), **scored})
        if scored["lesion_boxes"] or not any(b.difficult and b.label.strip().lower() in LESION_LABELS
                                             for b in annotation.boxes):  # only difficult lesion boxes: neither
            image_labels[row["input"]] = scored["lesion_boxes"] > 0
    total = {key: sum(image[key] for image in images) for key in (
        "lesion_boxes", "lesion_boxes_found", "normal_boxes", "normal_boxes_called", "unscored_boxes", "calls",
        "calls_on_lesion_boxes", "calls_on_normal_boxes_only", "calls_in_no_box")}
    labels_seen = Counter(box.label for a in {a.path: a for a in annotations.values()}.values() for box in a.boxes)
    n = len(images)
    result = {
        "images": n, "failed": failed, "not_this_run": not_this_run, "skipped": len(skipped), "unannotated_scans": unannotated,
        "annotations_without_scan": len({a.path for a in annotations.values()} - used),
        **total,
        "sensitivity": round(total["lesion_boxes_found"] / total["lesion_boxes"], 4) if total["lesion_boxes"] else None,
        "normal_boxes_called_share": round(total["normal_boxes_called"] / total["normal_boxes"], 4) if total["normal_boxes"] else None,
        "false_calls_per_image": round((total["calls_on_normal_boxes_only"] + total["calls_in_no_box"]) / n, 4) if n else None,
        "labels": dict(labels_seen.most_common()),
        "unscored_labels": sorted({label for label in labels_seen
                                   if label.strip().lower() not in LESION_LABELS + NORMAL_LABELS}),
        "margin_px": MARGIN_PX,
        "skipped_scans": skipped,
        "per_image": images,
    }
    result["triage"] = evaluate_triage(out, image_labels) if image_labels else None
    return result


def write_boxes(out: str | Path, result: dict) -> Path:
    """``OUT/boxes.json`` (atomic)."""
    path = Path(out) / BOXES_NAME
    write_text_atomic(path, json.dumps(result, indent=1) + "\n")
    return path


def boxes_line(result: dict) -> str:
    """One line for the terminal."""
    fmt = format_score
    triage = result.get("triage") or {}
    line = (f"boxes ({result['images']} images): lesion boxes found {result['lesion_boxes_found']} of "
            f"{result['lesion_boxes']} ({fmt(result['sensitivity'])}); normal boxes called {result['normal_boxes_called']} "
            f"of {result['normal_boxes']}; false calls per image {fmt(result['false_calls_per_image'])} "
            f"({result['calls_in_no_box']} in no box); triage AUC {fmt(triage.get('triage_auc'))}, the brightest pixel "
            f"{fmt(triage.get('brightest_pixel_auc'))}")
    if result["unscored_labels"]:
        line += f"; labels not scored: {', '.join(result['unscored_labels'][:5])}"
    if result["skipped"]:
        line += f"; {result['skipped']} left out (boxes.json says why)"
    return line
