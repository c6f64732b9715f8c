"""One large held-out phantom test set shared by every row of every experiment, and its evaluation.

Issue 17: with 12 test crops holding 6-7 lesions no row of a table could be told from another. The phantom
makes test data free, so every experiment tests on one large cohort of phantom patients that no training
set holds, generated once and reused by every row, run and experiment (training keeps the papers' size).

**The cohort.** :class:`PhantomTestSet` names it: ``patients`` patients of a phantom ``profile``, cohort
seed ``seed`` (default :data:`TEST_SET_SEED`; patient ``i`` gets ``SeedSequence([seed, i])``, so test
patients are distinct from those of a training cohort made with another seed; :func:`check_disjoint`
refuses a training set that shares a patient seed), cut with the training crops' method and size
(:func:`scintiseg.prepare.crop_dataset.crop_dataset`). :func:`build_test_set` writes
``ROOT/<cohort>/wholebody`` (kept for whole-body evaluation and shared by every crop size),
``ROOT/<cohort>/crops<H>x<W>`` and, last, ``ROOT/<cohort>/crops<H>x<W>.json``; a complete one is reused.

**Both views.** A single-view network (``input_mode="ant"``) is scored on ANT and on the mirrored POST of
every patient (:func:`scintiseg.prepare.model_input.model_inputs`: one input per view, each against its
own view's mask), a fused network (``aggregate``, ``two_channel``) on one image per patient against the
union of the views' masks. Images of one patient stay together in the bootstrap
(:mod:`scintiseg.experiments.paired`).

**Per-image scores.** :meth:`TestSetEvaluator.evaluate` writes ``RUN/eval-<name>/per_image.csv`` (one
line per image: ``image_id, case_id, patient_id, view, tp, fp, fn``, the per-image DSC / Recall / CPA /
IoU, ``lesions, detected, false_positives``) and then ``metrics.json`` (pooled, per-image mean, lesion
detection, seconds per image), so rows can be compared image by image. :func:`read_image_scores` reads it,
or the ``per_case.csv`` of :func:`scintiseg.train.evaluate.evaluate_run` (older experiments, and the demo), which
holds each image's TP, FP and FN; from a ``per_case.csv`` written before it held them, it recovers them from the DSC
and the pixel counts.

Example::

    crops = build_test_set(PhantomTestSet(patients=200, size=(128, 128)), "runs/test-sets")
    evaluator = TestSetEvaluator(crops)
    metrics = evaluator.evaluate("runs/a2/u-net-max-pooling/run0")   # writes eval-<name>/
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from scintiseg.errors import ScintisegError
from scintiseg.io import dataset as ds
from scintiseg.io.atomic import write_text_atomic
from scintiseg.metrics import METRIC_NAMES, confusion_counts, lesion_detection
from scintiseg.models.checkpoint import checkpoint_path, load_model_from_checkpoint
from scintiseg.models.device import select_device
from scintiseg.phantom.cohort import write_cohort
from scintiseg.phantom.config import profile as phantom_profile
from scintiseg.prepare.crop_dataset import crop_dataset
from scintiseg.prepare.model_input import model_inputs
from scintiseg.train.config import TrainConfig
from scintiseg.train.data import Sample
from scintiseg.train.evaluate import evaluate_samples, json_safe

#: Cohort seed of the shared test patients (issue 17); training cohorts in docs/results.md use seed 0.
TEST_SET_SEED = 17_000
#: Patients of the shared test set by default (issue 17: at least 200).
TEST_PATIENTS = 200
PER_IMAGE_NAME = "per_image.csv"


@dataclass(frozen=True)
class PhantomTestSet:
    """The shared phantom test cohort: how many patients, which profile and seed, which crop size."""

    patients: int = TEST_PATIENTS
    size: tuple[int, int] | None = None  # None: the training crops' size (the runner fills it in)
    profile: str = "default"
    seed: int = TEST_SET_SEED

    @property
    def cohort_name(self) -> str:
        """The cohort's folder name (its whole-body scans serve every crop size)."""
        return f"phantom-{self.profile}-seed{self.seed}-n{self.patients}"

    @property
    def name(self) -> str:
        """The test set's name, which says everything that makes it (``eval-<name>`` in a run folder)."""
        if self.size is None:
            raise ScintisegError("the test set's crop size is not set")
        return f"{self.cohort_name}-{self.size[0]}x{self.size[1]}"


def crop_size_of(data: str | Path) -> tuple[int, int]:
    """``(rows, cols)`` of the images of data set ``data`` (its first case; a crop data set is uniform)."""
    manifest = ds.load_manifest(data)
    if not manifest.cases:
        raise ScintisegError("the data set has no cases", path=data)
    scan, _ = ds.load_case(data, manifest.cases[0])
    return tuple(int(n) for n in scan.view(scan.view_names[0]).shape)  # type: ignore[return-value]


def finished_test_set(marker: Path, wanted: dict) -> bool:
    """Whether the test set whose completion ``marker`` (written last) records is there and made as ``wanted``.

    Raises:
        ScintisegError: the marker records other settings (the folder belongs to another test set).
    """
    if not marker.is_file():
        return False
    # a damaged file: one line naming it (a JSONDecodeError traceback before session 66)
    found = ds.read_json_object(marker, "a test set's record", f"delete {marker.parent} to make the test set again")
    if {k: found.get(k) for k in wanted} != wanted:
        raise ScintisegError(f"this test-set folder was made with {found}, not {wanted}", path=marker)
    return True


def build_test_set(spec: PhantomTestSet, root: str | Path, *, workers: int | None = None, progress: bool = True) -> Path:
    """Generate (or reuse) the cohort ``spec`` under ``root/<spec.name>``; returns its crop data set folder.

    Args:
        spec: the cohort.
        root: where test sets live (several experiments share one).
        workers: processes for the phantom and the crops (default: every CPU).
        progress: progress bars on stderr.

    Raises:
        ScintisegError: fewer than one patient, or a folder of that name made with other settings.
    """
    if spec.patients < 1:
        raise ScintisegError(f"a test set needs at least one patient, got {spec.patients}")
    folder = Path(root) / spec.cohort_name
    size = f"{spec.size[0]}x{spec.size[1]}"
    crops, marker = folder / f"crops{size}", folder / f"crops{size}.json"
    wanted = {**asdict(spec), "size": list(spec.size)}
    if finished_test_set(marker, wanted):
        return crops
    wholebody = folder / "wholebody"
    config = phantom_profile(spec.profile)
    if not (wholebody / ds.MANIFEST_NAME).is_file():
        write_cohort(spec.patients, wholebody, seed=spec.seed, config=config, workers=workers, progress=progress)
    if not (crops / ds.MANIFEST_NAME).is_file():
        crop_dataset(wholebody, crops, size=spec.size, workers=max(1, workers or 1), progress=progress)
    write_text_atomic(marker, json.dumps({**wanted, "pixel_mm": config.camera.pixel_mm}, indent=1) + "\n")
    return crops


def check_disjoint(train_data: str | Path, test_data: str | Path) -> None:
    """Refuse a training set that holds a test patient (same phantom patient seed, ``meta["seed"]``).

    Cases without a recorded seed (real scans, GAN samples) cannot be matched and pass; the phantom's
    patients record theirs. Also refuses a different pixel size, which would test another task.
    """
    train_manifest, test_manifest = ds.load_manifest(train_data), ds.load_manifest(test_data)
    seeds = lambda manifest: {c.meta["seed"] for c in manifest.cases if "seed" in c.meta}  # noqa: E731
    shared = seeds(train_manifest) & seeds(test_manifest)
    if shared:
        raise ScintisegError(f"{len(shared)} test patients are also in the training data {train_data} "
                             "(same phantom seed): choose another --test-seed", path=test_data)
    train_mm, test_mm = float(train_manifest.pixel_spacing[0]), float(test_manifest.pixel_spacing[0])
    if not math.isclose(train_mm, test_mm, rel_tol=0.01):
        raise ScintisegError(f"test pixels are {test_mm} mm, training pixels ({train_data}) {train_mm} mm",
                             path=test_data)


@dataclass
class TestImages:
    """Model-ready test images of one input mode and normalisation, with the view each is scored on."""

    __test__ = False  # not a pytest test class

    samples: list[Sample]
    views: list[str]

    @property
    def patients(self) -> int:
        return len({sample.patient_id for sample in self.samples})


def load_test_images(root: str | Path, input_mode: str, normalisation: str) -> TestImages:
    """Every original case of data set ``root``, one image per view a network of ``input_mode`` predicts."""
    manifest = ds.load_manifest(root)
    samples, views = [], []
    for case in manifest.cases:
        if case.origin in ds.TRAINING_DERIVED_ORIGINS:
            continue
        scan, masks = ds.load_case(root, case)
        for built in model_inputs(scan, input_mode, normalisation):
            view = built.predicted_views[0]
            samples.append(Sample(f"{case.case_id}/{view}", case.patient_id, built.image, built.target(masks)))
            views.append(view)
    if not samples:
        raise ScintisegError("the test set has no original cases", path=root)
    return TestImages(samples, views)


def _per_image_csv(records: list[dict]) -> str:
    lines = [",".join(records[0])]
    for record in records:
        lines.append(",".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in record.values()))
    return "\n".join(lines) + "\n"


class TestSetEvaluator:
    """Scores trained runs on one test set; keeps the test images of each input mode in memory.

    Args:
        root: the test set (a data set folder; every original case is a test case).
        name: the evaluation folder is ``RUN/eval-<name>`` (default: the test set's folder name, with
            the cohort's for the ``crops<H>x<W>`` of :func:`build_test_set`, i.e. :attr:`PhantomTestSet.name`).
        device: ``auto``, ``cpu`` or ``cuda``.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, root: str | Path, name: str | None = None, device: str = "auto") -> None:
        self.root = Path(root)
        if not (self.root / ds.MANIFEST_NAME).is_file():
            raise ScintisegError("not a data set (no dataset.json)", path=self.root)
        phantom_crops = self.root.name.startswith("crops") and (self.root.parent / f"{self.root.name}.json").is_file()
        self.name = name or (f"{self.root.parent.name}-{self.root.name[5:]}" if phantom_crops else self.root.name)
        self.device = select_device(None if device == "auto" else device)
        self._images: dict[tuple[str, str], TestImages] = {}

    @property
    def folder_name(self) -> str:
        return f"eval-{self.name}"

    def images(self, input_mode: str, normalisation: str) -> TestImages:
        key = (input_mode, normalisation)
        if key not in self._images:
            self._images[key] = load_test_images(self.root, input_mode, normalisation)
        return self._images[key]

    def evaluate(self, run_dir: str | Path, checkpoint: str = "best") -> dict:
        """Score ``run_dir``'s checkpoint on every test image; write ``per_image.csv``, then ``metrics.json``."""
        run_dir = Path(run_dir)
        model, state = load_model_from_checkpoint(checkpoint_path(run_dir, checkpoint), map_location=self.device)
        config = TrainConfig.from_dict(state["config"])
        images = self.images(config.input_mode, config.normalisation)
        if config.threads:
            torch.set_num_threads(config.threads)
        metrics, rows, predictions = evaluate_samples(model, images.samples, threshold=config.threshold,
                                                      batch_size=config.batch_size, device=self.device, config=config)
        targets = np.stack([sample.target[0] > 0.5 for sample in images.samples])
        counts = confusion_counts(predictions, targets)
        records = []
        for i, (row, view) in enumerate(zip(rows, images.views)):
            records.append({
                "image_id": row["case_id"], "case_id": row["case_id"].rsplit("/", 1)[0],
                "patient_id": row["patient_id"], "view": view,
                "tp": int(counts[i, 0]), "fp": int(counts[i, 1]), "fn": int(counts[i, 2]),
                **{name: row[name] for name in METRIC_NAMES},
                "lesions": row["lesions"], "detected": row["detected"], "false_positives": row["false_positives"],
            })
        by_view = {view: lesion_detection(predictions[[v == view for v in images.views]],
                                          targets[[v == view for v in images.views]])
                   for view in sorted(set(images.views))}
        metrics.update(run=str(run_dir), test_set=str(self.root), checkpoint=checkpoint, epoch=int(state["epoch"]),
                       model=state["model_config"], patients=images.patients, detection_by_view=by_view)
        folder = run_dir / self.folder_name
        write_text_atomic(folder / PER_IMAGE_NAME, _per_image_csv(records))
        write_text_atomic(folder / "metrics.json", json.dumps(json_safe(metrics), indent=1) + "\n")
        return metrics


def _number(text: str) -> float:
    return math.nan if text in ("", "nan", "None") else float(text)


def read_image_scores(eval_dir: str | Path) -> list[dict] | None:
    """Per-image records of an evaluation folder (None when it holds none).

    Reads ``per_image.csv``, else ``per_case.csv`` of :func:`scintiseg.train.evaluate.evaluate_run`, with its
    ``tp``, ``fp`` and ``fn`` columns; a ``per_case.csv`` without them (written before they were added) has TP
    recovered as ``round(DSC x (lesion_pixels + predicted_pixels) / 2)`` (exact: the file holds DSC to 6 digits
    and an image of a few thousand pixels), FP = predicted - TP and FN = lesion - TP.
    """
    eval_dir = Path(eval_dir)
    for name in (PER_IMAGE_NAME, "per_case.csv"):
        path = eval_dir / name
        if path.is_file():
            try:
                with path.open(encoding="utf-8", newline="") as handle:
                    rows = list(csv.DictReader(handle))
            except (OSError, UnicodeDecodeError, csv.Error) as exc:
                raise ScintisegError(f"malformed per-image scores ({type(exc).__name__}: {exc}): evaluate the cell "
                                     "again", path=path) from None
            break
    else:
        return None
    records = []
    for line, row in enumerate(rows, start=2):
        try:
            records.append(_image_record(row))
        except (TypeError, ValueError, OverflowError, KeyError) as exc:  # a cut or edited file: a traceback before
            # session 66 (OverflowError: an infinite DSC, rounded)
            problem = f"no {exc} column" if isinstance(exc, KeyError) else "a value missing or not a number"
            raise ScintisegError(f"malformed per-image scores (line {line}: {problem}): evaluate the cell again",
                                 path=path) from None
    return records


def _image_record(row: dict) -> dict:
    """One row of a ``per_image.csv`` or ``per_case.csv`` as :func:`read_image_scores` returns it."""
    record: dict = {key: value for key, value in row.items() if key in ("image_id", "case_id", "patient_id", "view")}
    for key in ("tp", "fp", "fn", *METRIC_NAMES, "lesions", "detected", "false_positives"):
        if key in row:
            record[key] = _number(row[key])
    if "tp" not in record:
        lesion, predicted = _number(row["lesion_pixels"]), _number(row["predicted_pixels"])
        tp = float(round(record["dsc"] * (lesion + predicted) / 2)) if lesion + predicted > 0 else 0.0
        record.update(tp=tp, fp=predicted - tp, fn=lesion - tp)
    return record

