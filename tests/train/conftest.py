"""Tiny synthetic segmentation data for the training tests (32 x 32 images, bright discs as lesions)."""

from __future__ import annotations

import numpy as np
import pytest

from types import SimpleNamespace

from scintiseg.train.data import Sample, SegmentationDataset


class FakePool:
    """A stand-in for ``SyntheticPool`` in the mix tests: ``windows`` labelled all-lesion windows per epoch."""

    def __init__(self, windows: int, size: int = 32) -> None:
        self.settings = SimpleNamespace(window_size=size)
        self.windows, self.closed = windows, False

    def dataset(self, epoch: int) -> SegmentationDataset:
        size = self.settings.window_size
        samples = [Sample(f"syn{epoch}_{k}", "s", np.zeros((1, size, size), np.float32),
                          np.ones((1, size, size), np.float32)) for k in range(self.windows)]
        return SegmentationDataset(samples)

    def close(self) -> None:
        self.closed = True


def synthetic_samples(count: int, size: int = 32, seed: int = 0, prefix: str = "C") -> list[Sample]:
    """``count`` images: a smooth background, one or two bright discs (the lesions) and Poisson noise."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size]
    samples = []
    for i in range(count):
        mask = np.zeros((size, size), bool)
        for _ in range(rng.integers(1, 3)):
            r, c = rng.integers(5, size - 5, 2)
            mask |= (rows - r) ** 2 + (cols - c) ** 2 <= rng.integers(4, 10)
        expected = 20.0 + 10.0 * np.sin(rows / 5.0) ** 2 + 60.0 * mask
        image = rng.poisson(expected).astype(np.float32)
        image = (image - image.mean()) / image.std()
        samples.append(Sample(f"{prefix}{i:03d}", f"P{i:03d}", image[None], mask[None].astype(np.float32)))
    return samples


def synthetic_data(train: int = 12, val: int = 4, seed: int = 0, labelled: list[bool] | None = None):
    from scintiseg.train.loop import TrainData

    return TrainData(
        SegmentationDataset(synthetic_samples(train, seed=seed), labelled),
        SegmentationDataset(synthetic_samples(val, seed=seed + 100, prefix="V")),
    )


@pytest.fixture
def tiny_config(tmp_path):
    from scintiseg.train.config import TrainConfig

    def make(**changes):
        base = dict(
            out=str(tmp_path / "run"), model="unet", model_args={"width": 4, "depth": 2}, epochs=3,
            batch_size=4, lr=3e-3, normalisation="none", progress=False, threads=1,
        )
        base.update(changes)
        return TrainConfig(**base)

    return make


@pytest.fixture
def make_data():
    """The :func:`synthetic_data` factory, as a fixture (test modules here are not a package)."""
    return synthetic_data


def write_tiny_dataset(root, patients: int = 8, size: int = 32, seed: int = 0, test: float = 0.25,
                       pixel_mm: float = 2.26):
    """A dual-view data set on disk (DICOM ANT+POST of ``pixel_mm`` pixels, PNG masks per view) with a patient-level
    split. With ``size x pixel_mm`` of at least 1 m its views count as whole-body scans (train.data)."""
    from scintiseg.io.dataset import Case, DatasetManifest, save_manifest
    from scintiseg.io.dicom import write_dicom
    from scintiseg.io.images import write_mask_png
    from scintiseg.prepare.splits import split_dataset
    from scintiseg.prepare.views import mirror
    from scintiseg.scan import Scan

    root.mkdir(parents=True, exist_ok=True)
    cases = []
    for i, sample in enumerate(synthetic_samples(patients, size=size, seed=seed)):
        counts = np.clip(sample.image[0] * 15 + 40, 0, None).astype(np.uint16)
        mask = sample.target[0] > 0
        scan = Scan({"ANT": counts, "POST": mirror(counts).copy()}, pixel_spacing=(pixel_mm, pixel_mm),
                    patient_id=f"P{i:03d}")
        case_id = f"P{i:03d}"
        write_dicom(scan, root / "images" / f"{case_id}.dcm")
        write_mask_png(mask, root / "masks" / f"{case_id}_ANT.png")
        write_mask_png(mirror(mask).copy(), root / "masks" / f"{case_id}_POST.png")
        cases.append(Case(case_id, case_id, f"images/{case_id}.dcm",
                          masks={"ANT": f"masks/{case_id}_ANT.png", "POST": f"masks/{case_id}_POST.png"},
                          synthetic=True, origin="phantom"))
    save_manifest(DatasetManifest("tiny", ["ANT", "POST"], (pixel_mm, pixel_mm), cases), root)
    split_dataset(root, test=test, seed=seed)
    return root


@pytest.fixture(scope="session")
def tiny_split_dataset(tmp_path_factory):
    """A session-wide tiny on-disk data set (8 patients, 2 of them test)."""
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny_dataset"))
