"""The learned skeleton-region maps of a prediction folder against a reader's skeleton masks (``scintiseg evaluate
--predictions DIR --region-masks MASKS --class-map MAP.json``).

Why. The region map names every lesion's bone and weights the Bone Scan Index (:mod:`scintiseg.predict.bsi`), and it
had only been measured on phantoms (docs/predict.md, "Region Dice on held-out phantoms"). Public sets ship skeleton
masks of real scans (BS-80K: 12 bone classes, on which nnU-Net v2 reaches a macro Dice of 0.82-0.84;
``../shared/reference/realdata.md``); ``scintiseg predict`` writes each view's map as ``V_regions.png``
(:func:`scintiseg.report.outputs.write_region_png`), and this module scores those files against such masks.

**The class map** (:func:`read_class_map`): a JSON object, each key a value of the reader's masks (a whole number from
1; 0 is background) -> ``{"name": class name, "regions": [scintiseg region names merged into it]}``, e.g.
``{"1": {"name": "skull", "regions": ["skull", "mandible"]}, "2": {"name": "spine", "regions": ["cervical_spine",
"thoracic_spine", "lumbar_spine"]}}``. Refused in one line naming the file: malformed JSON, a key that is no mask
value, an entry without a name or a non-empty list of regions, a region scintiseg does not have
(:data:`scintiseg.predict.regions.REGION_NAMES`; ``other`` is none), a region in two classes, two classes of one
name, a class named ``none`` (the name of neither calling bone). A region in no class is predicted ``none``: the
masks do not outline it, so a pixel so named is as good as background.

**Finding a view's mask.** Each scan folder of ``DIR`` (``DIR`` itself, or its sub-folders, whose ``report.json``
scintiseg wrote: :func:`scintiseg.io.not_scans.prediction_report`) names each view's source file (``input.source``,
or a study's two files ``input.view_sources``). The masks are the label images of ``MASKS`` and its sub-folders
(:data:`scintiseg.io.images.LABEL_IMAGE_SUFFIXES`, read by :func:`scintiseg.io.images.read_label_image`), named for
the source file as :mod:`scintiseg.io.file_keys` names a scan (its stem, the name without a known image suffix):
``<stem>_<VIEW>`` (a file of two views, the phantom's ``regions/PH0001_ANT.png``), else ``<stem>`` when the file holds
that view alone (a one-view file, a study's own file) or is a page of two views the reader split (the mask is then the
page's). Masks of one stem in several folders (BS-80K's ``wholeBodyANT/0001.png`` and ``wholeBodyPOST/0001.png``) are
told apart by the view their path names (:func:`scintiseg.io.view_names.view_from_path`); more than one left is the
view refused (listed with the files), none a **missing** mask: counted and listed with the names looked for, never
guessed. Masks no view used are counted.

**Views read otherwise than stored** (report.json's ``input``, :data:`scintiseg.report.report_json.READ_AS`). A
mask is drawn on the file as stored; the region map is on the view as read, as ``V_mask.png`` is. A body stored lying
that the reader stood (``input.stood``, ``input.stored_shape``), a page of two views it split
(``input.split_column``), a DICOM view it mirrored back (``input.mirrored``) has its mask placed on the view the same
way (:func:`scintiseg.io.stored_points.stored_as_read`, exact), after its size is checked against the file's; a record
that does not fit (a stand without the file's shape, a view-named mask of a split page) refuses the view with the
reason, as does a mask of another size, a mask that cannot be read as a label image, a record of a page both stood and split
(no reading of scintiseg's does both: :mod:`scintiseg.io.stored_points`; refused), and a
partial view (QC ``partial_view_<VIEW>``: no bones named, its map all 0). A scan read head-down and turned (QC flag
``head_down``) needs nothing: its map is written on the rows as stored. This is what ``evaluate --predictions`` does for lesion masks (on the image as
stored, turned with the case) and ``predict --boxes`` for boxes (:mod:`scintiseg.report.box_labels`).

**Scores**, each view one image, its pixels mapped to classes (mask values by the class map; a mask value in no class
refuses the view, naming the values; predicted ids by the regions each class merges, the rest ``none``):

- per class **Dice** pooled over the images (its pixels summed, then one Dice) and the **mean over images** (an
  image where neither the mask nor the map has the class is left out, as nnU-Net leaves out such a case);
- **macro Dice**: the mean over classes of the per-image means (nnU-Net's ``foreground_mean``, the figure quoted for
  BS-80K) and of the pooled Dice (``macro_dice_pooled``), classes never seen left out;
- **pixel accuracy** over the pixels either calls bone (a class other than ``none`` in the mask or the map): the share
  named the same class;
- the **confusion table**, pixels of each true class (rows, ``none`` first) by predicted class, pooled;
- per image, its Dice per class, macro Dice and pixel accuracy.

The counts are :func:`scintiseg.metrics.class_confusion`'s, the Dice :func:`scintiseg.metrics.class_dice`'s.
``OUT/regions.json`` and ``OUT/regions.md`` (a table a person reads) are written atomically; ``OUT`` defaults to
``DIR/eval-regions``.

Example::

    result = evaluate_region_masks("pred", "bs80k/masks", "bs80k_classes.json")
    print(result["macro_dice"], result["images"], result["missing_masks"])
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.io import SPLIT_COLUMN
from scintiseg.io.atomic import write_text_atomic
from scintiseg.io.file_keys import output_stem, scan_stem
from scintiseg.io.images import LABEL_IMAGE_SUFFIXES, read_label_image, read_label_png
from scintiseg.io.layout import STOOD_KEY, STOOD_TURNS, STORED_SHAPE_KEY
from scintiseg.io.not_scans import REPORT_NAME, prediction_report
from scintiseg.io.stored_points import stored_as_read
from scintiseg.io.view_names import view_from_path
from scintiseg.metrics import class_confusion, class_dice, confusion_overlap
from scintiseg.predict.regions import REGION_IDS

#: The name of "no class": background in a mask, a region in no class (or ``other``) in a map.
NONE = "none"
#: The most a class-map file may hold (a map of 26 regions is about 2 kB).
CLASS_MAP_LIMIT = 1 << 20
REGIONS_JSON, REGIONS_MD = "regions.json", "regions.md"
#: The default output folder inside ``DIR``.
DEFAULT_OUT = "eval-regions"


@dataclass(frozen=True)
class MaskClass:
    """One class of a reader's masks: its ``value`` in the mask files, its ``name``, the scintiseg ``regions`` merged
    into it."""

    value: int
    name: str
    regions: tuple[str, ...]


def read_class_map(path: str | Path) -> tuple[MaskClass, ...]:
    """The classes of a class-map file (module docstring), in the order of their values.

    Raises:
        ScintisegError: one line naming the file and what is wrong with it.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            text = handle.read(CLASS_MAP_LIMIT + 1)
    except OSError as exc:
        raise ScintisegError(f"cannot read the class map ({exc.strerror})", path=path) from None
    if len(text) > CLASS_MAP_LIMIT:
        raise ScintisegError(f"a class map of more than {CLASS_MAP_LIMIT} bytes", path=path)
    try:
        document = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ScintisegError(f"not a JSON class map ({type(exc).__name__}: {exc})", path=path) from None
    if not isinstance(document, dict) or not document:
        raise ScintisegError('a class map is a JSON object of mask value -> {"name": ..., "regions": [...]}', path=path)
    classes, owner, names = [], {}, set()
    for key, entry in document.items():
        if not (key.isdigit() and key.isascii() and int(key) > 0):
            raise ScintisegError(f"key {key!r} is no mask value (a whole number from 1; 0 is background)", path=path)
        if not (isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"].strip()
                and isinstance(entry.get("regions"), list) and entry["regions"]
                and all(isinstance(region, str) for region in entry["regions"])):
            raise ScintisegError(f'value {key}: expected {{"name": "...", "regions": ["...", ...]}} (a name and a '
                                 "non-empty list of region names)", path=path)
        name = entry["name"].strip()
        if name == NONE or name in names:
            raise ScintisegError(f"value {key}: class name {name!r} " + (
                "is the name of no class" if name == NONE else "names two classes"), path=path)
        for region in entry["regions"]:
            if region not in REGION_IDS or REGION_IDS[region] == 0:
                known = ", ".join(r for r in REGION_IDS if REGION_IDS[r])
                raise ScintisegError(f"value {key}: unknown region {region!r} (scintiseg's regions: {known})", path=path)
            if region in owner:
                raise ScintisegError(f"region {region!r} is in two classes ({owner[region]!r} and {name!r})", path=path)
            owner[region] = name
        names.add(name)
        classes.append(MaskClass(int(key), name, tuple(entry["regions"])))
    return tuple(sorted(classes, key=lambda one: one.value))


def region_lookup(classes: tuple[MaskClass, ...]) -> np.ndarray:
    """Region id -> class index (0 ``none``, ``i + 1`` for ``classes[i]``), an array to index a map with."""
    lookup = np.zeros(len(REGION_IDS), dtype=np.int64)
    for index, one in enumerate(classes, start=1):
        for region in one.regions:
            lookup[REGION_IDS[region]] = index
    return lookup


def truth_classes(mask: np.ndarray, classes: tuple[MaskClass, ...]) -> np.ndarray | str:
    """A mask's values as class indexes (0 background, ``i + 1`` for ``classes[i]``); or why not: values in no class."""
    values = {one.value: index for index, one in enumerate(classes, start=1)}
    found = np.unique(mask)
    unknown = [int(v) for v in found if v != 0 and int(v) not in values]
    if unknown:
        return f"mask values {unknown[:5]} are in no class of the class map"
    lookup = np.zeros(int(found.max()) + 1 if found.size else 1, dtype=np.int64)
    for value, index in values.items():
        if value < lookup.size:
            lookup[value] = index
    return lookup[mask]


class MaskFolder:
    """The label images under a folder (module docstring, "Finding a view's mask"), by stem."""

    def __init__(self, folder: Path) -> None:
        self.by_stem: dict[str, list[Path]] = {}
        for path in sorted(folder.rglob("*")):
            if (path.suffix.lower() in LABEL_IMAGE_SUFFIXES and path.is_file()
                    and not any(part.startswith(".") for part in path.relative_to(folder).parts)):
                self.by_stem.setdefault(output_stem(path), []).append(path)
        self.used: set[Path] = set()

    def __len__(self) -> int:
        return sum(len(paths) for paths in self.by_stem.values())

    def find(self, source: str, view: str, alone: bool) -> tuple[Path | None, bool, list[str]] | str:
        """``(mask, named for the view, names looked for)`` of ``view`` of the file ``source`` (``alone``: the file
        holds no other view, or is a page the reader split; a mask of the file's stem may then be the view's); mask
        None when there is none; or why the view is refused (several masks fit)."""
        stems = list(dict.fromkeys((output_stem(source), scan_stem(source))))
        looked = [f"{stem}_{view}" for stem in stems] + (stems if alone else [])
        for name in looked:
            fits = self.by_stem.get(name, [])
            if len(fits) > 1:  # one stem in several folders: the view the folder (or name) names
                named = [path for path in fits if (view_from_path(path) or (None,))[0] == view]
                if len(named) != 1:
                    return (f"{len(fits)} masks fit and {len(named)} of them name {view} by name or folder "
                            f"({', '.join(str(p) for p in fits[:3])})")
                fits = named
            if fits:
                self.used.add(fits[0])
                return fits[0], name.endswith(f"_{view}") and name not in stems, looked
        return None, False, looked


def scan_folders(predictions: Path) -> tuple[list[tuple[Path, dict]], list[str]]:
    """The scan folders of a prediction folder with their reports (``predictions`` itself when it holds one, else its
    sub-folders that do), and the sub-folders whose ``report.json`` is no readable scintiseg report."""
    own = prediction_report(predictions)
    if own is not None:
        return [(predictions, own)], []
    found, unreadable = [], []
    for folder in sorted(p for p in predictions.iterdir() if p.is_dir()):
        report = prediction_report(folder)
        if report is not None:
            found.append((folder, report))
        elif (folder / REPORT_NAME).is_file():
            unreadable.append(folder.name)
    return found, unreadable


def placed_mask(mask: np.ndarray, view: str, read: dict, by_view: bool, shape: tuple[int, int]) -> np.ndarray | str:
    """The mask of the file as stored on ``view`` as read (module docstring, "Views read otherwise"), or why not."""
    stood = read.get(STOOD_KEY)
    split = read.get(SPLIT_COLUMN)
    stored = read.get(STORED_SHAPE_KEY)
    if stood is not None or split is not None:
        if stood is not None and stood not in STOOD_TURNS:
            return f"read turned {stood!r}, a turn scintiseg does not know"
        if split is not None and (by_view or not isinstance(split, int) or isinstance(split, bool)):
            return ("a page of two views the reader split: give the page's mask, named for the file"
                    if by_view else f"a page split at {split!r}, not a column")
        if stood is not None and split is not None:  # no reading does both (scintiseg.io.stored_points)
            return "read both stood and split, as no reading of scintiseg's is: its mask is not placed"
        if not (isinstance(stored, list) and len(stored) == 2):
            return "read turned or split, and the report does not give the file's rows and columns"
        if tuple(mask.shape) != tuple(stored):
            return (f"size mismatch: the mask is {mask.shape[0]}x{mask.shape[1]}, the file as stored "
                    f"{stored[0]}x{stored[1]}")
    placed = stored_as_read(mask, view, read)
    if placed.shape != tuple(shape):
        return f"size mismatch: the mask is {mask.shape[0]}x{mask.shape[1]}, the view {shape[0]}x{shape[1]}"
    return placed


def _dice_list(values: np.ndarray) -> list[float | None]:
    return [None if math.isnan(v) else round(float(v), 4) for v in values]


def _mean(values) -> float | None:
    finite = [v for v in values if v is not None and not math.isnan(v)]
    return round(float(np.mean(finite)), 4) if finite else None


def score_region_masks(predictions: str | Path, masks: str | Path, classes: tuple[MaskClass, ...]) -> dict:
    """Every view of a prediction folder against the reader's masks (module docstring); writes nothing.

    Returns:
        the result ``regions.json`` holds.

    Raises:
        ScintisegError: no such folders, no scan folder in ``predictions``, no label image in ``masks``, or no view
            scored (the first reason given).
    """
    predictions, masks = Path(predictions), Path(masks)
    for folder, what in ((predictions, "prediction"), (masks, "mask")):
        if not folder.is_dir():
            raise ScintisegError(f"no such {what} folder", path=folder)
    folders, unreadable = scan_folders(predictions)
    if not folders:
        raise ScintisegError("no scintiseg predict output here (no report.json in it or its sub-folders)",
                             path=predictions)
    found = MaskFolder(masks)
    if not len(found):
        raise ScintisegError(f"no label image here ({', '.join(LABEL_IMAGE_SUFFIXES)})", path=masks)
    lookup = region_lookup(classes)
    size = len(classes) + 1
    names = [NONE, *(one.name for one in classes)]
    total = np.zeros((size, size), dtype=np.int64)
    images, missing, refused = [], [], []
    for folder, report in folders:
        read = dict(report.get("input") or {})
        views = report.get("views") if isinstance(report.get("views"), dict) else {}
        sources = read.get("view_sources") if isinstance(read.get("view_sources"), dict) else {}
        for view, facts in views.items():
            where = {"folder": folder.name if folder != predictions else ".", "view": view}
            source = sources.get(view) or read.get("source")
            if not isinstance(source, str) or not source:
                refused.append(where | {"why": "the report names no source file"})
                continue
            alone = bool(sources) or len(views) == 1 or SPLIT_COLUMN in read
            fit = found.find(source, view, alone)
            if isinstance(fit, str):
                refused.append(where | {"why": fit})
                continue
            mask_path, by_view, looked = fit
            if mask_path is None:
                missing.append(where | {"looked_for": looked})
                continue
            where["mask"] = str(mask_path.relative_to(masks))
            name = (facts.get("files") or {}).get("regions") if isinstance(facts, dict) else None
            if not name or not (folder / name).is_file():
                refused.append(where | {"why": f"no {view}_regions.png (predicted before scintiseg wrote region maps: "
                                                "predict again)"})
                continue
            predicted = read_label_png(folder / name).astype(np.int64)
            if predicted.size and predicted.max() >= lookup.size:
                refused.append(where | {"why": f"region id {int(predicted.max())} in {name}, beyond scintiseg's"})
                continue
            flags = (report.get("summary") or {}).get("qc_flags") if isinstance(report.get("summary"), dict) else None
            if f"partial_view_{view}" in (flags or []):  # its map is all 0: scored, every class a miss
                refused.append(where | {"why": "a partial view (a crop, a spot view, or a pixel size read too small): "
                                                "no bones named"})
                continue
            try:
                mask = read_label_image(mask_path)
            except ScintisegError as exc:  # one unreadable mask: that view refused, the others scored
                refused.append(where | {"why": exc.problem})
                continue
            truth = placed_mask(mask, view, read, by_view, predicted.shape)
            truth = truth if isinstance(truth, str) else truth_classes(truth, classes)
            if isinstance(truth, str):
                refused.append(where | {"why": truth})
                continue
            joint = class_confusion(lookup[predicted], truth, size)
            total += joint
            dice = class_dice(confusion_overlap(joint))[1:]
            bone = joint.sum() - joint[0, 0]
            images.append(where | {
                "pixels": int(joint.sum()), "bone_pixels": int(bone),
                "dice": dict(zip(names[1:], _dice_list(dice))),
                "macro_dice": _mean(dice.tolist()),
                "pixel_accuracy": round(float((np.trace(joint) - joint[0, 0]) / bone), 4) if bone else None,
            })
    if not images:
        first = (refused[0]["why"] if refused else
                 f"no mask for any view (first looked for: {', '.join(missing[0]['looked_for'])})" if missing else
                 "no view")
        raise ScintisegError(f"no view scored: {first}", path=masks)
    pooled = class_dice(confusion_overlap(total))[1:]
    means = [_mean([image["dice"][name] for image in images]) for name in names[1:]]
    bone = total.sum() - total[0, 0]
    return {
        "images": len(images),
        "missing_masks": len(missing),
        "refused": len(refused),
        "unreadable_reports": unreadable,
        "masks": len(found),
        "masks_unused": len(found) - len(found.used),
        "classes": [{"value": one.value, "name": one.name, "regions": list(one.regions)} for one in classes],
        "dice_pooled": dict(zip(names[1:], _dice_list(pooled))),
        "dice_mean_over_images": dict(zip(names[1:], means)),
        "macro_dice": _mean(means),
        "macro_dice_pooled": _mean(pooled.tolist()),
        "pixel_accuracy": round(float((np.trace(total) - total[0, 0]) / bone), 4) if bone else None,
        "confusion": {"classes": names, "rows": "true class", "columns": "predicted class",
                      "pixels": total.tolist()},
        "predictions": str(predictions), "region_masks": str(masks),
        "per_image": images,
        "missing": missing,
        "refused_views": refused,
    }


def regions_markdown(result: dict) -> str:
    """``regions.md``: the scores as tables a person reads."""
    def shown(value) -> str:
        return "-" if value is None else f"{value:.3f}"

    lines = [
        "# Skeleton-region maps against the reader's masks", "",
        f"Predictions `{result['predictions']}`, masks `{result['region_masks']}`: {result['images']} views scored, "
        f"{result['missing_masks']} without a mask, {result['refused']} refused, {result['masks_unused']} of "
        f"{result['masks']} masks unused.", "",
        f"**Macro Dice {shown(result['macro_dice'])}** (mean over classes of the per-image mean; of the pooled Dice "
        f"{shown(result['macro_dice_pooled'])}); pixel accuracy over the pixels either calls bone "
        f"{shown(result['pixel_accuracy'])}.", "",
        "| value | class | scintiseg regions | Dice pooled | Dice mean over images |", "|---|---|---|---|---|",
    ]
    for one in result["classes"]:
        lines.append(f"| {one['value']} | {one['name']} | {', '.join(one['regions'])} | "
                     f"{shown(result['dice_pooled'][one['name']])} | "
                     f"{shown(result['dice_mean_over_images'][one['name']])} |")
    confusion = result["confusion"]
    lines += ["", "Confusion (pixels; rows: the mask's class, columns: the map's):", "",
              "| true \\ predicted | " + " | ".join(confusion["classes"]) + " |",
              "|---|" + "---|" * len(confusion["classes"])]
    for name, row in zip(confusion["classes"], confusion["pixels"]):
        lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
    lines += ["", "| scan folder | view | mask | macro Dice | pixel accuracy |", "|---|---|---|---|---|"]
    for image in result["per_image"]:
        lines.append(f"| {image['folder']} | {image['view']} | {image['mask']} | {shown(image['macro_dice'])} | "
                     f"{shown(image['pixel_accuracy'])} |")
    for key, title in (("missing", "Views without a mask"), ("refused_views", "Views refused")):
        if result[key]:
            lines += ["", f"{title}:", ""]
            lines += [f"- {item['folder']} {item['view']}: " + (
                item["why"] if "why" in item else "looked for " + ", ".join(item["looked_for"])) for item in result[key]]
    return "\n".join(lines) + "\n"


def region_masks_lines(result: dict, out: Path) -> list[str]:
    """What the command prints."""
    def shown(value) -> str:
        return "-" if value is None else f"{value:.3f}"

    lines = [f"regions: {result['images']} views scored, {result['missing_masks']} without a mask, "
             f"{result['refused']} refused (regions.json says why)",
             f"macro Dice {shown(result['macro_dice'])} (pooled {shown(result['macro_dice_pooled'])}), pixel accuracy "
             f"{shown(result['pixel_accuracy'])}",
             "per class " + "  ".join(f"{name} {shown(value)}" for name, value in result["dice_mean_over_images"].items()),
             f"written to {out}"]
    return lines


def evaluate_region_masks(predictions: str | Path, masks: str | Path, class_map: str | Path,
                          out: str | Path | None = None) -> tuple[dict, Path]:
    """Read the class map, score (:func:`score_region_masks`) and write ``OUT/regions.json`` and ``OUT/regions.md``
    (``OUT``: ``out``, default ``PREDICTIONS/eval-regions``); returns the result and ``OUT``.

    Raises:
        ScintisegError: as :func:`read_class_map` and :func:`score_region_masks`, or an ``out`` that is a file
            (checked before any work).
    """
    folder = Path(out) if out else Path(predictions) / DEFAULT_OUT
    if folder.exists() and not folder.is_dir():
        raise ScintisegError("output exists and is not a folder", path=folder)
    result = score_region_masks(predictions, masks, read_class_map(class_map))
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / REGIONS_JSON, json.dumps(result, indent=1, allow_nan=False) + "\n")
    write_text_atomic(folder / REGIONS_MD, regions_markdown(result))
    return result, folder
