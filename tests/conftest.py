"""Shared fixtures: paths to the real NEMA NM1 files (read-only) and small synthetic scans."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from support import NO_REAL_NM1, REAL, REAL_NM1

REAL_NM1_RLE = REAL / "nema-wg04-nm1-wholebody-rle.dcm"


def _require(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(NO_REAL_NM1 if path == REAL_NM1 else f"the real file is not at {path}")
    return path


@pytest.fixture(scope="session")
def real_nm1() -> Path:
    """The uncompressed NEMA WG04 NM1 whole-body scan (explicit VR little endian)."""
    return _require(REAL_NM1)


@pytest.fixture(scope="session")
def real_nm1_rle() -> Path:
    """The same NM1 image, RLE lossless."""
    return _require(REAL_NM1_RLE)


@pytest.fixture
def small_scan():
    """A tiny two-view scan with Poisson counts and ids (not written anywhere)."""
    from scintiseg.scan import Scan

    rng = np.random.default_rng(0)
    ant = rng.poisson(20, size=(64, 16)).astype(np.uint16)
    post = rng.poisson(15, size=(64, 16)).astype(np.uint16)
    return Scan(
        {"ANT": ant, "POST": post},
        pixel_spacing=(2.4, 2.4),
        patient_id="P0001",
        patient_name="Phantom^One",
        study_uid="1.2.826.0.1.3680043.8.498.1",
        series_uid="1.2.826.0.1.3680043.8.498.2",
    )


def build_tiny_dataset(root: Path, patients: int = 4, cases_per_patient: int = 1, shape=(32, 16)) -> Path:
    """A valid data set folder: two-view DICOMs, one LabelMe file per view with one square lesion."""
    from scintiseg.io.dataset import Case, DatasetManifest, save_manifest
    from scintiseg.io.dicom import write_dicom
    from scintiseg.io.labelme import write_labelme
    from scintiseg.scan import Annotation, Scan

    rng = np.random.default_rng(1)
    cases = []
    for p in range(patients):
        for k in range(cases_per_patient):
            case_id = f"P{p:03d}_{k}"
            scan = Scan(
                {"ANT": rng.poisson(10, shape).astype(np.uint16), "POST": rng.poisson(8, shape).astype(np.uint16)},
                pixel_spacing=(2.26, 2.26), patient_id=f"P{p:03d}",  # the manifest's: measured, not assumed
            )
            write_dicom(scan, root / "images" / f"{case_id}.dcm")
            labels = {}
            for view in ("ANT", "POST"):
                mask = np.zeros(shape, dtype=bool)
                mask[4 + p % 5 : 9 + p % 5, 3:8] = True
                labels[view] = f"labels/{case_id}_{view}.json"
                write_labelme(Annotation.from_mask(mask, view=view), root / labels[view], image=scan.view(view))
            cases.append(Case(case_id=case_id, patient_id=f"P{p:03d}", image=f"images/{case_id}.dcm", labels=labels))
    save_manifest(DatasetManifest(name="tiny", views=["ANT", "POST"], pixel_spacing=(2.26, 2.26), cases=cases), root)
    return root


@pytest.fixture
def tiny_dataset(tmp_path) -> Path:
    """A valid 4-patient data set in a temporary folder (see :func:`build_tiny_dataset`)."""
    return build_tiny_dataset(tmp_path / "ds")


@pytest.fixture
def dataset_factory(tmp_path):
    """``dataset_factory(patients=..., cases_per_patient=..., shape=...)`` -> a new data set folder."""
    counter = iter(range(1000))

    def make(**kwargs) -> Path:
        return build_tiny_dataset(tmp_path / f"ds{next(counter)}", **kwargs)

    return make
