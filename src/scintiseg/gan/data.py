"""The real training images of a DCGAN: thoracic crops read from a data set, at G's native resolution.

Only the *training* patients are used: when the data set has a ``splits.json`` (``scintiseg dataset
split``), patients of its test subset are left out, so that GAN samples added to a training set can
never carry a test patient's image into it. With ``held_out_fold`` (``GanConfig.held_out_fold``) the
patients of that fold's validation list are left out too (session 63): a network validated on that fold
and trained on the samples would otherwise be validated on patients G learned from (the
``paper-b-augmentation`` experiment, whose rows validate on fold 0, trains its GAN so). Cases with ``origin == "gan"`` are never used (a GAN is not
trained on another GAN's output), nor cases without an annotation of every view the GAN draws (session 50): D sees
image and mask together, and an unannotated view's lesions are unknown, not absent (:mod:`scintiseg.train.data`).

Counts are area-averaged down to ``native_size`` (mean counts per original pixel, so the count scale
is unchanged) and mapped to [-1, 1] by :mod:`scintiseg.gan.counts`; masks are area-averaged too, so a
real mask at native resolution has fractional edges just as G's sigmoid output has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.gan.counts import case_scale, counts_to_model
from scintiseg.io import dataset as ds


@dataclass
class TrainingImages:
    """Real images ready for D.

    Args:
        tensor: (N, 2V, S, S) float32: V images in [-1, 1], then V masks in [0, 1].
        scales: (N,) count scale of each case (:func:`scintiseg.gan.counts.case_scale`).
        case_ids: the data set's case ids, in order.
        patient_ids: their patient ids.
        pixel_spacing: (row, column) mm of the source crops.
        source_size: side of the source crops (256 for thoracic crops).
        held_out_patients: the patients left out (test, and the held-out fold's validation patients), sorted.
    """

    tensor: torch.Tensor
    scales: np.ndarray
    case_ids: list[str]
    patient_ids: list[str]
    pixel_spacing: tuple[float, float]
    source_size: int
    held_out_patients: list[str] = field(default_factory=list)


def to_native(views: list[np.ndarray], masks: list[np.ndarray], native_size: int, sqrt_ceiling: float) -> tuple[np.ndarray, float]:
    """One case's views (counts) and masks -> (2V, S, S) generator-unit array, and the case's count scale."""
    scale = case_scale(views)
    counts = torch.as_tensor(np.stack([np.asarray(v, dtype=np.float32) for v in views]))[None]
    mask = torch.as_tensor(np.stack([np.asarray(m, dtype=np.float32) for m in masks]))[None]
    if counts.shape[-1] != native_size or counts.shape[-2] != native_size:
        counts = F.interpolate(counts, size=(native_size, native_size), mode="area")
        mask = F.interpolate(mask, size=(native_size, native_size), mode="area")
    images = counts_to_model(counts[0].numpy(), scale, sqrt_ceiling)
    return np.concatenate([images, mask[0].numpy().clip(0, 1)], axis=0), scale


def held_out_patients(root: Path, fold: int | None = None) -> set[str]:
    """Patient ids the GAN must not learn from: the data set's test subset (empty without ``splits.json``),
    plus, with ``fold``, the patients of that fold's ``val`` list.

    ``splits.json`` lists case ids under ``"test"`` and ``folds[i]["val"]``; every patient with a case there
    is held out.

    Raises:
        ScintisegError: ``fold`` given but the data set has no ``splits.json`` or no such fold.
    """
    root = Path(root)
    if not (root / ds.SPLITS_NAME).is_file():
        if fold is not None:
            raise ScintisegError(f"cannot hold out the validation patients of fold {fold}: the data set has no "
                                 f"{ds.SPLITS_NAME} (`scintiseg dataset split --folds K`)", path=root)
        return set()
    splits = ds.load_splits(root)
    listed = list(splits["test"])
    if fold is not None:
        folds = splits.get("folds") or []
        if not 0 <= fold < len(folds):
            raise ScintisegError(f"cannot hold out the validation patients of fold {fold}: {ds.SPLITS_NAME} has "
                                 f"{len(folds)} folds", path=root / ds.SPLITS_NAME)
        listed += list(folds[fold]["val"])
    patient_of = {c.case_id: c.patient_id for c in ds.load_manifest(root).cases}
    return {patient_of.get(str(name), str(name)) for name in listed}


def load_training_images(root: str | Path, views: list[str], native_size: int, sqrt_ceiling: float, progress: bool = False,
                         held_out_fold: int | None = None) -> TrainingImages:
    """Read every real training case of the data set at ``root`` (see the module docstring).

    ``held_out_fold``: leave that fold's validation patients out as well (:func:`held_out_patients`).
    """
    root = Path(root)
    manifest = ds.load_manifest(root)
    missing = [v for v in views if v not in manifest.views]
    if missing:
        raise ScintisegError(f"data set has views {manifest.views}, the GAN needs {views}", path=root / ds.MANIFEST_NAME)
    excluded = held_out_patients(root, held_out_fold)
    cases = [c for c in manifest.cases if c.origin != "gan" and c.patient_id not in excluded
             and set(views) <= set(c.labels) | set(c.masks)]
    if len(cases) < 2:
        raise ScintisegError(f"need at least 2 real training cases, found {len(cases)}", path=root / ds.MANIFEST_NAME)
    arrays, scales, size = [], [], None
    iterator = cases
    if progress:
        iterator = tqdm(cases, desc="reading crops", unit="case", leave=False)
    for case in iterator:
        scan, masks = ds.load_case(root, case)
        if scan.shape[0] != scan.shape[1]:
            raise ScintisegError(f"case {case.case_id} is {scan.shape}, not a square thoracic crop", path=root)
        size = scan.shape[0]
        view_masks = [masks.get(v, np.zeros(scan.shape, dtype=bool)) for v in views]
        array, scale = to_native([scan.view(v) for v in views], view_masks, native_size, sqrt_ceiling)
        arrays.append(array)
        scales.append(scale)
    return TrainingImages(
        tensor=torch.as_tensor(np.stack(arrays)),
        scales=np.asarray(scales),
        case_ids=[c.case_id for c in cases],
        patient_ids=[c.patient_id for c in cases],
        pixel_spacing=tuple(manifest.pixel_spacing),
        source_size=int(size),
        held_out_patients=sorted(excluded),
    )


def lesion_weights(tensor: torch.Tensor, views: int, oversample: float) -> torch.Tensor | None:
    """Sampling weight of each real image: ``oversample`` with a lesion (any mask value > 0), else 1.

    Returns ``None`` for ``oversample == 1`` (a uniform pass over the images).
    """
    if oversample == 1.0:
        return None
    has_lesion = tensor[:, views:].flatten(1).amax(dim=1) > 0
    return torch.where(has_lesion, float(oversample), 1.0).double()


def mask_means(tensor: torch.Tensor, views: int, weights: torch.Tensor | None = None) -> torch.Tensor:
    """(V,) mean mask value per view over the real images, weighted as they are drawn for D."""
    per_image = tensor[:, views:].double().mean(dim=(2, 3))  # (N, V)
    if weights is None:
        return per_image.mean(dim=0).float()
    return ((per_image * weights[:, None]).sum(dim=0) / weights.sum()).float()
