"""From a data-set folder to in-memory torch datasets: patient-level split, view mode, normalisation.

The flow for one case (:func:`case_sample`):

1. :func:`scintiseg.io.dataset.load_case` gives the :class:`~scintiseg.scan.Scan` (ANT and POST as
   acquired, usually a 256 x 256 thoracic crop) and its per-view lesion masks;
2. the *input mode* builds the model input and its target:

   - ``ant``: the anterior view and its mask (a single-view ``VIEW`` scan is used as is);
   - ``post``: the posterior view mirrored and aligned to ANT (:func:`~scintiseg.prepare.views.align_post_to_ant`)
     and its mask moved the same way;
   - ``aggregate``: ``I_Ant + Mirr(I_Post)`` (paper B Eq. 4), target the union of both masks;
   - ``two_channel``: ANT and the aligned mirrored POST as two channels, target the union;

3. each channel is normalised (:func:`scintiseg.prepare.intensity.normalise`).

Splits are always by patient (``splits.json``): the test patients never reach training; validation
is ``folds[fold]`` or a seeded share of the training patients. With ``labelled < 1`` a seeded share
of the *training patients* keeps its labels (paper B: "images of one patient never cross subsets").
The whole (small) data set is preloaded into memory: a DataLoader with ``num_workers=0`` is then
the fastest choice on a few CPU cores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from scintiseg.errors import ScintisegError
from scintiseg.scan import Scan

@dataclass
class Sample:
    """One model-ready image: ``image`` (C, H, W) float32, ``target`` (1, H, W) float32 in {0, 1}."""

    case_id: str
    patient_id: str
    image: np.ndarray
    target: np.ndarray


@dataclass
class SplitCases:
    """Case ids per subset, and which training cases keep their labels."""

    train: list[str]
    val: list[str]
    test: list[str]
    labelled: set[str] = field(default_factory=set)


class SegmentationDataset(Dataset):
    """In-memory dataset of :class:`Sample` objects with a per-item "labels usable" flag.

    Items are dicts: ``image`` (C, H, W), ``target`` (1, H, W), ``labelled`` (bool tensor), ``index``.
    """

    def __init__(self, samples: list[Sample], labelled: list[bool] | None = None) -> None:
        if not samples:
            raise ScintisegError("no images in this subset")
        first = samples[0]
        odd = next((s for s in samples if s.image.shape[-2:] != first.image.shape[-2:]), None)
        if odd is not None:
            size = lambda sample: "x".join(map(str, sample.image.shape[-2:]))  # noqa: E731
            raise ScintisegError(f"cases of different image sizes cannot train together: {first.case_id} is "
                                 f"{size(first)}, {odd.case_id} is {size(odd)}")
        self.samples = samples
        self.images = torch.from_numpy(np.stack([s.image for s in samples]).astype(np.float32))
        self.targets = torch.from_numpy(np.stack([s.target for s in samples]).astype(np.float32))
        flags = [True] * len(samples) if labelled is None else list(labelled)
        self.labelled = torch.tensor(flags, dtype=torch.bool)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {
            "image": self.images[index],
            "target": self.targets[index],
            "labelled": self.labelled[index],
            "index": torch.tensor(index),
        }

    @property
    def in_channels(self) -> int:
        return int(self.images.shape[1])


def load_splits_file(root: str | Path) -> dict:
    """Read and verify ``root/splits.json`` (written by ``scintiseg dataset split``)."""
    from scintiseg.io.dataset import load_splits

    return load_splits(root)


def _seeded_share(items: list[str], share: float, seed: int) -> list[str]:
    """``round(share * len(items))`` items chosen with a seeded permutation, in input order."""
    count = int(math.floor(share * len(items) + 0.5))
    order = np.random.default_rng(seed).permutation(len(items))
    chosen = set(order[:count].tolist())
    return [item for i, item in enumerate(items) if i in chosen]


def split_cases(
    patients_of: dict[str, str],
    splits: dict,
    *,
    fold: int | None = None,
    val_fraction: float = 0.2,
    labelled: float = 1.0,
    seed: int = 0,
    generated: frozenset[str] | set[str] = frozenset(),
) -> SplitCases:
    """Train / val / test case ids from ``splits.json`` content, always separating patients.

    Args:
        patients_of: case id -> patient id for every case of the data set.
        splits: ``{"test": [case ids], "train": [case ids], "folds": [{"train", "val"}], "seed"}``.
        fold: use ``folds[fold]``; None holds out ``val_fraction`` of the training patients (seeded).
        val_fraction: share of training patients for validation (at least one patient).
        labelled: share of training patients whose labels are kept.
        seed: seeds the validation hold-out and the labelled share.
        generated: ids of cases made from training data (origin ``augment`` or ``gan``). Without a
            fold they never validate: only patients with an original case are held out, only their
            original cases validate, and their generated copies are dropped (they would leak).
    """
    unknown = [c for key in ("train", "test") for c in splits.get(key, []) if c not in patients_of]
    if unknown:
        raise ScintisegError(f"splits.json names cases that are not in the data set: {', '.join(unknown[:5])}")
    test = list(splits.get("test", []))
    if fold is not None:
        folds = splits.get("folds") or []
        if not 0 <= fold < len(folds):
            raise ScintisegError(f"fold {fold} does not exist (splits.json has {len(folds)} folds)")
        train, val = list(folds[fold]["train"]), list(folds[fold]["val"])
    else:
        pool = list(splits.get("train", []))
        patients = sorted({patients_of[c] for c in pool if c not in generated})
        if len(patients) < 2:
            raise ScintisegError("need at least two training patients to hold one out for validation")
        n_val = min(max(1, int(math.floor(val_fraction * len(patients) + 0.5))), len(patients) - 1)
        val_patients = set(_seeded_share(patients, n_val / len(patients), seed))
        train = [c for c in pool if patients_of[c] not in val_patients]
        val = [c for c in pool if patients_of[c] in val_patients and c not in generated]
    test_patients = {patients_of[c] for c in test}
    for name, subset in (("train", train), ("val", val)):
        leaked = sorted({patients_of[c] for c in subset} & test_patients)
        if leaked:
            raise ScintisegError(f"patients {', '.join(leaked[:5])} are in both {name} and test")
    train_patients = sorted({patients_of[c] for c in train})
    keep = set(_seeded_share(train_patients, labelled, seed + 1))
    return SplitCases(train=train, val=val, test=test, labelled={c for c in train if patients_of[c] in keep})


def _normalise(image: np.ndarray, method: str, pixel_spacing: tuple[float, float]) -> np.ndarray:
    if method == "none":
        return np.asarray(image, dtype=np.float32)
    from scintiseg.prepare.intensity import normalise

    return np.asarray(normalise(image, method, pixel_spacing=pixel_spacing), dtype=np.float32)


def model_input(
    scan: Scan, masks: dict[str, np.ndarray], input_mode: str, normalisation: str = "none"
) -> tuple[np.ndarray, np.ndarray]:
    """The model input ``(C, H, W)`` float32 and target ``(1, H, W)`` float32 of one scan.

    Args:
        scan: ANT and POST as acquired (or a single ``VIEW`` for ``input_mode="ant"``).
        masks: view -> boolean lesion mask; a view without a mask counts as lesion-free.
        input_mode: ``ant``, ``post``, ``aggregate`` or ``two_channel`` (module docstring).
        normalisation: method of :func:`scintiseg.prepare.intensity.normalise`, applied per channel
            after the views are combined.
    """
    from scintiseg.prepare.views import align_mask, align_post_to_ant

    empty = np.zeros(scan.shape, dtype=bool)
    mask_of = {name: np.asarray(masks.get(name, empty), dtype=bool) for name in scan.view_names}
    if input_mode == "ant":
        name = "ANT" if "ANT" in scan.views else next(iter(scan.views))
        channels, target = [scan.view(name)], mask_of[name]
    else:
        if not scan.is_dual_view:
            raise ScintisegError(
                f"input mode {input_mode!r} needs ANT and POST; the scan has {', '.join(scan.view_names)}",
                path=scan.source,
            )
        ant = scan.view("ANT")
        shift, post_aligned = align_post_to_ant(ant, scan.view("POST"))
        post_mask = align_mask(mask_of["POST"], shift)
        if input_mode == "post":
            channels, target = [post_aligned], post_mask
        elif input_mode == "aggregate":
            summed = np.asarray(ant, dtype=np.float32) + np.asarray(post_aligned, dtype=np.float32)
            channels, target = [summed], mask_of["ANT"] | post_mask
        elif input_mode == "two_channel":
            channels, target = [ant, post_aligned], mask_of["ANT"] | post_mask
        else:
            raise ScintisegError(f"unknown input mode {input_mode!r}")
    image = np.stack([_normalise(np.asarray(c, dtype=np.float32), normalisation, scan.pixel_spacing) for c in channels])
    return image.astype(np.float32), target[None].astype(np.float32)


def load_samples(root: str | Path, case_ids: list[str], input_mode: str, normalisation: str) -> list[Sample]:
    """Read and convert the given cases of the data set at ``root``, in order."""
    from scintiseg.io.dataset import load_case, load_manifest

    manifest = load_manifest(root)
    samples = []
    for case_id in case_ids:
        case = manifest.case(case_id)
        scan, masks = load_case(root, case)
        image, target = model_input(scan, masks, input_mode, normalisation)
        samples.append(Sample(case.case_id, case.patient_id, image, target))
    return samples


#: Case origins made from training data; such a case must never validate or test.
GENERATED_ORIGINS: frozenset[str] = frozenset({"augment", "gan"})


def case_patients(root: str | Path) -> dict[str, str]:
    """case id -> patient id of every case in the data set at ``root``."""
    from scintiseg.io.dataset import load_manifest

    return {case.case_id: case.patient_id for case in load_manifest(root).cases}


def generated_cases(root: str | Path) -> frozenset[str]:
    """Ids of the cases of the data set at ``root`` whose origin is in :data:`GENERATED_ORIGINS`."""
    from scintiseg.io.dataset import load_manifest

    return frozenset(case.case_id for case in load_manifest(root).cases if case.origin in GENERATED_ORIGINS)
