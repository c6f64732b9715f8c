"""Evaluate a trained run on held-out patients: pixel metrics, lesion detection, overlays of best/worst cases.

Outputs (all written atomically) in ``RUN/eval-<split>/`` unless another folder is given::

    metrics.json      pooled and per-image DSC / Recall / CPA / IoU, lesion detection, timing, settings
    per_case.csv      one row per image: case_id, patient_id, its own dsc / recall / cpa / iou, lesion_pixels,
                      predicted_pixels, its pixel counts tp / fp / fn, lesions, detected, false_positives
    overlays/best_1_<case>.png ... worst_1_<case>.png   input with true (green) and predicted (red) outlines

``per_case.csv``'s ``tp``, ``fp`` and ``fn`` (true-positive, false-positive and false-negative pixels of the image,
the column names :mod:`scintiseg.experiments.paired` reads) make two evaluations of the same images comparable
image by image without recovering the counts from the rounded DSC: the demo's paired comparison of its two networks
reads them (:mod:`scintiseg.experiments.demo.comparison`, through
:func:`scintiseg.experiments.test_set.read_image_scores`, which still recovers them from a file written before they
were added). TN is left out: no metric the tables print reads it, and it is the image's size minus the other three.

Which cases: ``test`` comes from the data set's ``splits.json`` (patients never seen in training);
``val``, ``train`` from the run's own ``split.json``; ``all`` is every case of the data set. Of them only views a
person outlined are scored (an empty outline is a reader's "no lesion"): a view without an annotation has unknown
lesions, and a pseudo-label is the model's own prediction (:mod:`scintiseg.train.data`, "What a sample's target is";
session 50: before, both were scored, the first as lesion-free). ``metrics.json`` counts what was left out
(``left_out``: the views of each case's scan without a person's outline, session 63). A whole-body model (its checkpoint records ``pixel_mm``: the shipped model, an adapted one, one trained
on a data set of whole-body scans) reads each scan resampled to that pixel size, as prediction does, and is scored on
that grid (the masks carried by area, kept where they cover half a pixel); of a scan that spans a whole body every
view is scored (ANT and POST, each its own image ``<case>_<VIEW>``, session 51), as prediction reads it; a crop, and
every scan a crop model reads, is one image (ANT), unless the run trained with ``views="each"`` (each view its own
image, POST mirrored, as it trained: session 63). Views of several sizes
cannot be scored in one batch: that is one error pointing at ``predict`` and :func:`evaluate_predictions` (session 50).

Another tool's masks (:func:`evaluate_predictions`, session 49): nnU-Net's predictions of the views that
``scintiseg dataset export-nnunet`` wrote, or any tool's one mask per view named ``<case>_<VIEW>.nii.gz`` or
``.png`` (:func:`scintiseg.io.nnunet.nnunet_identifier`), or the whole prediction pipeline's: a ``scintiseg predict``
(or ``review``) output folder of the data set's images, each scan's folder found by the source its ``report.json``
names (the data set's image, or the file ``dataset import`` made the case from, by its SHA-256) and its
``<VIEW>_mask.png`` read (on the image as stored, so a case the data set reads turned,
``read_turned``, has its mask turned with it); scored with the same metrics against the same split, each view at its own
matrix (the data set's annotation, not a model's input grid). Its rows are named as a run's are, ``<case>_<VIEW>`` with
the data set's case id as it is (:func:`~scintiseg.train.data.image_id`), not by the mask file's nnU-Net identifier,
so the tables of the shipped, adapted and trained models join on ``case_id`` (researcher audit 74: ``1_2_826_..._ANT``
beside a run's ``1.2.826..._ANT``); a run reading one image per case (a crop's ANT) names its row ``<case>``, to be
joined on this table's ``<case>_ANT`` (:func:`~scintiseg.train.data.image_id`). A study's mask named ``<case>`` (no view), of a model
reading the two views fused (``export-nnunet --fuse``, session 50), is scored where the case has no mask of its own
views: on ANT's grid against the union of both views' outlines, the target the export wrote
(:func:`scintiseg.prepare.model_input.fused_counts`). :func:`score_predictions` scores such a folder without writing
(:class:`ScoredPredictions`), so that ``evaluate --predictions A --against B``
(:mod:`scintiseg.experiments.prediction_comparison`) scores both folders before it writes anything.

Example::

    metrics = evaluate_run("runs/dpunet", data="data/crops", split="test")
    print(metrics["pooled"]["dsc"], metrics["detection"]["sensitivity"])
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from scintiseg.display import display_window
from scintiseg.errors import ScintisegError
from scintiseg.formats import InputContract
from scintiseg.io.atomic import atomic_path, write_text_atomic
from scintiseg.io.dataset import (SPLIT_NAMES, case_turn, load_case, load_manifest, load_splits, person_views, read_json,
                                  turned_array)
from scintiseg.io.import_sources import file_sha256
from scintiseg.io.nnunet import MASK_ENDINGS, nnunet_identifier, read_nnunet_mask
from scintiseg.metrics import METRIC_NAMES, confusion_counts, lesion_detection, per_image_scores, summarise
from scintiseg.models.checkpoint import checkpoint_path, load_model_from_checkpoint
from scintiseg.models.device import select_device
from scintiseg.prepare.model_input import fused_counts
from scintiseg.train.config import TrainConfig
from scintiseg.train.data import PERSON, TRUTHS, Sample, image_id, load_samples
from scintiseg.train.loop import predict_probabilities


def cases_of_split(run_dir: str | Path, data: str | Path, split: str) -> list[str]:
    """Case ids of ``split`` (see the module docstring for where each comes from)."""
    if split == "test":
        return list(load_splits(data).get("test", []))
    if split == "all":
        return [case.case_id for case in load_manifest(data).cases]
    if split in ("val", "train"):
        path = Path(run_dir) / "split.json"
        if not path.is_file():
            raise ScintisegError("the run has no split.json (trained on preloaded data?)", path=path)
        record = read_json(path)  # a damaged file: one line naming it (a JSONDecodeError traceback before)
        ids = record.get(split) if isinstance(record, dict) else None
        if not isinstance(ids, list) or not all(isinstance(case_id, str) for case_id in ids):
            raise ScintisegError(f"not a run's split record (no list of case ids under {split!r}): train the run again "
                                 "into a new --out, or evaluate --split test", path=path)
        return list(ids)
    raise ScintisegError(f"unknown split {split!r} (choose from {', '.join(SPLIT_NAMES)})")


def evaluate_samples(
    model: torch.nn.Module,
    samples: list[Sample],
    *,
    threshold: float = 0.5,
    batch_size: int = 8,
    device: torch.device | str = "cpu",
    config: TrainConfig | None = None,
) -> tuple[dict, list[dict], np.ndarray]:
    """Metrics of ``model`` on ``samples``.

    Returns:
        ``(metrics, rows, predictions)``: the metrics dict (``pooled``, ``per_image``, ``detection``,
        ``images``, ``seconds_per_image``), one dict per image, and the ``(N, H, W)`` boolean predictions.
    """
    if not samples:
        raise ScintisegError("no images to evaluate")
    shapes = sorted({tuple(s.image.shape[-2:]) for s in samples})
    if len(shapes) > 1:
        raise ScintisegError(f"images of {len(shapes)} sizes ({shapes[0][0]}x{shapes[0][1]}, {shapes[-1][0]}x"
                             f"{shapes[-1][1]}) cannot be scored in one batch: score the model's predictions with "
                             "`scintiseg predict` and `scintiseg evaluate --predictions` (each view at its own matrix)")
    device = torch.device(device)
    model = model.to(device)
    images = torch.from_numpy(np.stack([s.image for s in samples]).astype(np.float32))
    targets = np.stack([s.target[0] > 0.5 for s in samples])
    # A scan resampled to a whole-body model's pixel size has any matrix (2048 x 512 at 1.1 mm -> 997 x 249): the
    # network's sides must be multiples of 2**depth, so pad at the bottom and right (zero: the normalised
    # background) and crop the output back.
    rows, cols = images.shape[-2:]
    multiple = 2 ** int(getattr(model, "depth", 0) or 0)
    images = torch.nn.functional.pad(images, (0, -cols % multiple, 0, -rows % multiple))
    started = time.perf_counter()
    probabilities = predict_probabilities(model, images, batch_size, device, config)[..., :rows, :cols]
    seconds = time.perf_counter() - started
    predictions = (probabilities[:, 0] > threshold).numpy()
    counts = confusion_counts(predictions, targets)
    summary = summarise(counts)
    rows = [image_row(sample.case_id, sample.patient_id, counts[i], lesion_detection(predictions[i], targets[i]))
            for i, sample in enumerate(samples)]
    metrics = {
        "pooled": summary["pooled"],
        "per_image": summary["per_image"],
        "detection": lesion_detection(predictions, targets),
        "images": len(samples),
        "seconds_per_image": seconds / len(samples),
        "threshold": threshold,
        "empty_image_rule": "an image with no lesion and no prediction scores 1 on every per-image metric; "
        "an undefined per-image Recall or CPA (zero denominator) is left out of the mean",
    }
    return metrics, rows, predictions


def image_row(case_id: str, patient_id: str, counts: np.ndarray, detection: dict) -> dict:
    """One image's row of ``per_case.csv`` (module docstring), in the file's column order: the one builder of both
    writers' rows (:func:`evaluate_samples`, :func:`score_predictions`).

    Args:
        case_id, patient_id: the image's names (``<case>_<VIEW>`` for a view scored on its own, the data set's case
            id as it is: :func:`~scintiseg.train.data.image_id`).
        counts: the image's TP, FP, FN, TN (a row of :func:`scintiseg.metrics.confusion_counts`); the lesion and
            predicted pixels are TP + FN and TP + FP.
        detection: :func:`scintiseg.metrics.lesion_detection` of the image.
    """
    scores = per_image_scores(counts)
    tp, fp, fn, _tn = (int(value) for value in counts)
    return {"case_id": case_id, "patient_id": patient_id, **{name: float(scores[name][0]) for name in METRIC_NAMES},
            "lesion_pixels": tp + fn, "predicted_pixels": tp + fp, "tp": tp, "fp": fp, "fn": fn,
            "lesions": detection["lesions"], "detected": detection["detected"],
            "false_positives": detection["false_positives"]}


def json_safe(value):
    """``value`` with NaN and infinities replaced by None, so the file is strict JSON."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _csv_text(rows: list[dict]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buffer.getvalue()


def save_overlay(image: np.ndarray, target: np.ndarray, prediction: np.ndarray, title: str, path: Path) -> None:
    """PNG of ``image`` with the true lesion outline in green and the predicted one in red."""
    import matplotlib  # lazy: start-up time

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: start-up time

    rows, cols = image.shape
    size = (4, 4) if rows <= 1.5 * cols else (max(3.0, 8 * cols / rows + 0.6), 8)  # a whole-body view: taller
    figure, axis = plt.subplots(figsize=size, dpi=100)
    axis.imshow(image, cmap="gray_r", interpolation="nearest")
    if target.any():
        axis.contour(target.astype(float), levels=[0.5], colors="lime", linewidths=1.0)
    if prediction.any():
        axis.contour(prediction.astype(float), levels=[0.5], colors="red", linewidths=1.0)
    axis.set_title(title, fontsize=8)
    axis.set_axis_off()
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)


def write_overlays(samples: list[Sample], rows: list[dict], predictions: np.ndarray, folder: Path, count: int) -> list[Path]:
    """Overlays of the ``count`` best and ``count`` worst images by per-image DSC (lesion images first).

    No image is drawn twice: the worst are taken from the images not drawn as best, so with fewer than ``2 * count``
    images to rank there are fewer worst than best (none with ``count`` or fewer; session 63: a 2-image test set drew
    the same two images as best and as worst).
    """
    order = sorted(
        range(len(rows)),
        key=lambda i: (rows[i]["lesion_pixels"] == 0, -(rows[i]["dsc"] if not math.isnan(rows[i]["dsc"]) else -1)),
    )
    with_lesions = [i for i in order if rows[i]["lesion_pixels"] > 0] or order
    best = with_lesions[:count]
    worst = [i for i in reversed(with_lesions) if i not in best][:count]
    written = []
    for label, chosen in (("best", best), ("worst", worst)):
        for rank, i in enumerate(chosen, start=1):
            path = folder / f"{label}_{rank}_{rows[i]['case_id']}.png"
            title = f"{rows[i]['case_id']}  DSC {rows[i]['dsc']:.3f}\n(green: truth, red: prediction)"
            save_overlay(samples[i].image[0], samples[i].target[0] > 0.5, predictions[i], title, path)
            written.append(path)
    return written


def evaluate_run(
    run_dir: str | Path,
    data: str | Path | None = None,
    *,
    split: str = "test",
    checkpoint: str = "best",
    out: str | Path | None = None,
    overlays: int = 3,
    threshold: float | None = None,
    device: str = "auto",
) -> dict:
    """Evaluate the run's best (or last) checkpoint on a split and write the outputs.

    Args:
        run_dir: the run folder written by ``scintiseg train``.
        data: data-set folder (default: the one the run was trained on).
        split: ``test``, ``val``, ``train`` or ``all``.
        checkpoint: ``best`` or ``last``.
        out: output folder (default ``RUN/eval-<split>``).
        overlays: how many best and worst cases to draw (0: none).
        threshold: probability threshold in (0, 1] (default: the run's).
        device: ``auto``, ``cpu`` or ``cuda``.

    Returns:
        the metrics dict also written to ``metrics.json``.

    Raises:
        ScintisegError: a threshold outside (0, 1], an ``out`` that is a file (both before any work), a run
            without the checkpoint, an empty split.
    """
    run_dir = Path(run_dir)
    if threshold is not None and not 0.0 < threshold <= 1.0:
        raise ScintisegError(f"threshold must lie in (0, 1], got {threshold}")
    folder = Path(out) if out else run_dir / f"eval-{split}"
    if folder.exists() and not folder.is_dir():
        raise ScintisegError("output exists and is not a folder", path=folder)
    torch_device = select_device(None if device == "auto" else device)
    source = checkpoint_path(run_dir, checkpoint)
    model, state = load_model_from_checkpoint(source, map_location=torch_device)
    config = TrainConfig.from_dict(state["config"])
    data = Path(data or config.data)
    case_ids = cases_of_split(run_dir, data, split)
    if not case_ids:
        raise ScintisegError(f"the {split} split is empty", path=data)
    # A whole-body model reads every scan at its pixel size (the checkpoint's record, as prediction resamples);
    # a crop model (no pixel size) reads the data set as it is.
    pixel_mm = InputContract.from_state(state, source).pixel_mm
    read = load_samples(data, case_ids, config.input_mode, config.normalisation, keep=TRUTHS,
                        pixel_mm=pixel_mm, every_view=pixel_mm is not None, views=config.views)
    samples = [sample for sample in read if sample.truth == PERSON]
    left_out = {truth: sum(s.truth == truth for s in read) for truth in TRUTHS if truth != PERSON}
    if not samples:
        raise ScintisegError(f"no case of the {split} split has a person's outline of the views the model reads "
                             f"({left_out['unknown']} unannotated, {left_out['pseudo']} pseudo-labelled)", path=data)
    metrics, rows, predictions = evaluate_samples(
        model, samples, threshold=threshold or config.threshold, batch_size=config.batch_size,
        device=torch_device, config=config,
    )
    metrics.update(run=str(run_dir), data=str(data), split=split, checkpoint=checkpoint,
                   epoch=int(state["epoch"]), model=state["model_config"], left_out=left_out)
    write_text_atomic(folder / "metrics.json", json.dumps(json_safe(metrics), indent=1) + "\n")
    write_text_atomic(folder / "per_case.csv", _csv_text(rows))
    if overlays:
        write_overlays(samples, rows, predictions, folder / "overlays", overlays)
    return metrics


class _PredictedScans:
    """The scans a ``scintiseg predict`` (or ``review``) output folder holds, each ``(its scan folder, {view: {"mask":
    file name, ...}})`` from its ``report.json`` (one that cannot be read is passed over: its views are then missing,
    and said so), found for a data set's case by the case's image, or, for a case ``dataset import`` made, by the
    SHA-256 it recorded of its source file(s) (``meta["sha256"]``, ``meta["view_sha256"]``): the archive predicted
    rather than the data set's copy of it."""

    def __init__(self, predictions: Path) -> None:
        self.by_path: dict[Path, tuple[Path, dict]] = {}
        self._by_hash: dict[str, tuple[Path, dict]] | None = None
        for report in sorted(predictions.glob("*/report.json")):
            try:
                facts = json.loads(report.read_text(encoding="utf-8"))
                views = {name: dict(view.get("files", {})) for name, view in facts["views"].items()}
                named = [facts["input"].get("source")] + list((facts["input"].get("view_sources") or {}).values())
                sources = [Path(p).resolve() for p in named if isinstance(p, str) and p]
            except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
                continue
            for source in sources:
                self.by_path.setdefault(source, (report.parent, views))

    def of(self, data: Path, case) -> tuple[Path, dict] | None:
        """The scan folder and views predicted from ``case``'s image or, by hash, from the file it was imported from."""
        found = self.by_path.get((data / case.image).resolve())
        recorded = [case.meta.get("sha256"), *dict(case.meta.get("view_sha256") or {}).values()]
        recorded = [h for h in recorded if isinstance(h, str) and h]
        if found is not None or not recorded:
            return found
        if self._by_hash is None:
            self._by_hash = {}
            for source, entry in self.by_path.items():
                try:
                    self._by_hash.setdefault(file_sha256(source), entry)
                except OSError:  # the predicted file moved or went: found by its path or not at all
                    continue
        return next((self._by_hash[h] for h in recorded if h in self._by_hash), None)


def _scan_views(data: Path, case, labels: dict[str, int], annotated: set[str]) -> set[str]:
    """The views of ``case``'s scan: its annotated views where they are ANT and POST (a scan holds no more), else read
    from its image (session 63: the data set's ``views``, the views every case shares, counted 3 unannotated views
    of an imported data set with one lone POST scan where 5 were)."""
    if {"ANT", "POST"} <= annotated:
        return annotated
    return set(load_case(data, case, labels=labels)[0].view_names)


def evaluate_predictions(
    predictions: str | Path,
    data: str | Path,
    *,
    split: str = "test",
    out: str | Path | None = None,
    overlays: int = 3,
) -> dict:
    """Score another tool's masks of a data set's views (module docstring) and write the outputs of
    :func:`evaluate_run`.

    Args:
        predictions: folder of one mask per annotated view of the split, ``<case>_<VIEW>`` + one of
            :data:`scintiseg.io.nnunet.MASK_ENDINGS` (nnU-Net's output folder; ``<case>`` of a study whose ANT and
            POST are both annotated: a fused prediction, module docstring), or ``scintiseg predict``'s folder of
            the data set's images.
        data: the data set folder.
        split: ``test`` (the data set's ``splits.json``) or ``all``.
        out: output folder (default ``PREDICTIONS/eval-<split>``).
        overlays: how many best and worst views to draw (0: none).

    Returns:
        the metrics dict also written to ``metrics.json`` (``pooled`` and ``per_image`` over views).

    Raises:
        ScintisegError: another split, an ``out`` that is a file, an empty split, a view's mask missing (the
            count and the first named), unreadable or of another size.
    """
    folder = prediction_output_folder(predictions, split, out)
    scored = score_predictions(predictions, data, split=split)
    scored.write(folder, overlays)
    return scored.metrics


def prediction_output_folder(predictions: str | Path, split: str, out: str | Path | None = None) -> Path:
    """Where :func:`evaluate_predictions` writes: ``out``, or ``PREDICTIONS/eval-<split>``.

    Raises:
        ScintisegError: it exists and is not a folder (checked before any work).
    """
    folder = Path(out) if out else Path(predictions) / f"eval-{split}"
    if folder.exists() and not folder.is_dir():
        raise ScintisegError("output exists and is not a folder", path=folder)
    return folder


@dataclass
class ScoredPredictions:
    """A folder of masks scored by :func:`score_predictions` and not yet written, so that a caller scoring two
    folders (``evaluate --against``, :mod:`scintiseg.experiments.prediction_comparison`) writes nothing when the
    second cannot be scored.

    Attributes:
        metrics: what ``metrics.json`` holds.
        rows: one dict per scored view (``per_case.csv``'s rows), in the order of ``counts``.
        counts: ``(N, 4)`` TP, FP, FN, TN of each view.
        drawn: ``drawn(index)`` -> the view as an overlay draws it and its predicted mask (read when asked).
    """

    metrics: dict
    rows: list[dict]
    counts: np.ndarray
    drawn: Callable[[int], tuple[Sample, np.ndarray]]

    def image_records(self) -> list[dict]:
        """Each view's row (``per_case.csv``'s, which holds its pixel counts ``tp``, ``fp``, ``fn``): the per-image
        records :func:`scintiseg.experiments.paired.row_scores` reads."""
        return [dict(row) for row in self.rows]

    def write(self, folder: str | Path, overlays: int = 3) -> None:
        """``metrics.json``, ``per_case.csv`` and ``overlays`` best and worst views' overlays into ``folder``."""
        folder = Path(folder)
        write_text_atomic(folder / "metrics.json", json.dumps(json_safe(self.metrics), indent=1) + "\n")
        write_text_atomic(folder / "per_case.csv", _csv_text(self.rows))
        if overlays:
            write_overlays(_ReadAgain(len(self.rows), lambda i: self.drawn(i)[0]), self.rows,
                           _ReadAgain(len(self.rows), lambda i: self.drawn(i)[1]), folder / "overlays", overlays)


def score_predictions(predictions: str | Path, data: str | Path, *, split: str = "test") -> ScoredPredictions:
    """Score another tool's masks of a data set's views as :func:`evaluate_predictions` does, writing nothing.

    Raises:
        ScintisegError: as :func:`evaluate_predictions`, but for the output folder.
    """
    if split not in ("test", "all"):
        raise ScintisegError(f"another tool's masks are scored on the data set's test split or all of it, not {split!r} "
                             "(the train and val parts are a run's own)")
    predictions, data = Path(predictions), Path(data)
    if not predictions.is_dir():
        raise ScintisegError("no such folder of predicted masks", path=predictions)
    case_ids = cases_of_split(predictions, data, split)
    manifest = load_manifest(data)
    found, stored = {}, set()  # stored: masks on the case's image as stored (a predict folder's)

    def mask_file(case_id: str, view: str | None) -> Path | None:
        identifier = nnunet_identifier(case_id, view)
        return next((predictions / f"{identifier}{end}" for end in MASK_ENDINGS
                     if (predictions / f"{identifier}{end}").is_file()), None)

    wanted: list[tuple[str, str | None]] = []  # (case, view), view None for a study's fused mask
    left_out = {"unknown": 0, "pseudo": 0}  # views without a person's outline (module docstring)
    for case_id in case_ids:
        case = manifest.case(case_id)
        annotated = set(case.labels) | set(case.masks)
        views = sorted(person_views(case))
        left_out["pseudo"] += len(annotated) - len(views)
        left_out["unknown"] += len(_scan_views(data, case, manifest.labels, annotated) - annotated)
        fused = mask_file(case_id, None) if {"ANT", "POST"} <= set(views) else None
        if fused is not None and not any(mask_file(case_id, view) for view in views):
            found[case_id, None] = fused
            wanted.append((case_id, None))
        else:
            wanted += [(case_id, view) for view in views]
    if not wanted:
        raise ScintisegError(f"the {split} split has no view a person outlined ({left_out['unknown']} unannotated, "
                             f"{left_out['pseudo']} pseudo-labelled)", path=data)
    reports = None
    for case_id, view in wanted:
        if view is None:
            continue
        found[case_id, view] = mask_file(case_id, view)
        if found[case_id, view] is None:
            reports = _PredictedScans(predictions) if reports is None else reports
            folder_views = reports.of(data, manifest.case(case_id))
            mask_name = (folder_views or (None, {}))[1].get(view, {}).get("mask")
            found[case_id, view] = folder_views[0] / mask_name if mask_name else None
            stored.add((case_id, view))
    missing = [nnunet_identifier(*key) for key, path in found.items() if path is None]
    if missing:
        raise ScintisegError(f"no mask for {len(missing)} of the {len(wanted)} views (first: {missing[0]}"
                             f"{MASK_ENDINGS[0]}, or its case image's view in a `scintiseg predict` folder, or the "
                             "case's own name for a study of ANT and POST fused)",
                             path=predictions)
    loaded: dict[str, tuple] = {}

    def view_of(index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ``index``-th view's counts, true mask and predicted mask, read when needed rather than held: a test
        set of whole-body views would not fit in memory."""
        case_id, view = wanted[index]
        if case_id not in loaded:
            loaded.clear()
            loaded[case_id] = load_case(data, manifest.case(case_id), labels=manifest.labels)
        scan, masks = loaded[case_id]
        if view is None:  # a fused study: on ANT's grid, the union of both views' outlines (module docstring)
            try:
                channels, truth = fused_counts(scan, masks, "two_channel")  # either fused mode: the same target
            except ScintisegError as exc:  # e.g. views too far apart to align: name the case
                raise ScintisegError(f"case {case_id}: {exc.problem}", path=data / manifest.case(case_id).image) from None
            return channels[0], truth, read_nnunet_mask(found[case_id, None], truth.shape)
        mask = read_nnunet_mask(found[case_id, view], masks[view].shape)
        if (case_id, view) in stored:
            mask = turned_array(mask, case_turn(manifest.case(case_id)))
        return scan.view(view), masks[view], mask

    @functools.lru_cache(maxsize=1)  # write_overlays asks for a view's sample, then for its prediction
    def drawn(index: int) -> tuple[Sample, np.ndarray]:
        """The ``index``-th view as an overlay draws it: in the report's display window, with its prediction."""
        counts_, truth, mask = view_of(index)
        shown = np.clip(counts_ / display_window(counts_), 0.0, 1.0).astype(np.float32)
        return Sample(rows[index]["case_id"], rows[index]["patient_id"], shown[None], truth[None]), mask

    rows, counts, detections = [], [], []
    for index, (case_id, view) in enumerate(wanted):
        _, truth, mask = view_of(index)
        count = confusion_counts(mask, truth)
        detection = lesion_detection(mask, truth)
        counts.append(count)
        detections.append(detection)
        rows.append(image_row(image_id(case_id, view), manifest.case(case_id).patient_id, count[0], detection))
    summary = summarise(np.concatenate(counts))
    lesions = sum(d["lesions"] for d in detections)
    detected = sum(d["detected"] for d in detections)
    false_positives = sum(d["false_positives"] for d in detections)
    metrics = {
        "pooled": summary["pooled"],
        "per_image": summary["per_image"],
        "detection": {"lesions": lesions, "detected": detected,
                      "sensitivity": detected / lesions if lesions else math.nan,
                      "predicted": sum(d["predicted"] for d in detections), "false_positives": false_positives,
                      "fp_per_image": false_positives / len(wanted), "images": len(wanted)},
        "images": len(wanted),
        "empty_image_rule": "an image with no lesion and no prediction scores 1 on every per-image metric; "
        "an undefined per-image Recall or CPA (zero denominator) is left out of the mean",
        "predictions": str(predictions), "data": str(data), "split": split, "left_out": left_out,
    }
    return ScoredPredictions(metrics, rows, np.concatenate(counts), drawn)


class _ReadAgain:
    """A sequence of ``length`` items made by ``make(index)`` when asked (:func:`write_overlays` asks for a few)."""

    def __init__(self, length: int, make) -> None:
        self.length, self.make = length, make

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int):
        return self.make(index)
