"""A tiny untrained GAN run folder, shared by the sampling and quality tests."""

import json

import pytest

from scintiseg.gan.config import GanConfig
from scintiseg.gan.train import CONFIG_NAME, NORMALISATION_NAME, GanTrainer, save_trainer


def make_run(run_dir, **changes):
    base = dict(views=["ANT", "POST"], native_size=32, output_size=64, latent_dim=16, base_width=8, batch_size=4, seed=3)
    base.update(changes)
    config = GanConfig(**base)
    trainer = GanTrainer(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    config.save_yaml(run_dir / CONFIG_NAME)
    normalisation = {"views": config.views, "scales": [50.0, 80.0, 120.0], "pixel_spacing": [2.26, 2.26], "source_size": 64}
    (run_dir / NORMALISATION_NAME).write_text(json.dumps(normalisation))
    save_trainer(trainer, run_dir)
    return run_dir


@pytest.fixture
def tiny_run(tmp_path):
    return make_run(tmp_path / "run")


@pytest.fixture
def run_factory(tmp_path):
    """make_run(name, **config changes) -> a run folder under tmp_path."""
    return lambda name, **changes: make_run(tmp_path / name, **changes)


def write_real_crops(root, n_patients=4, size=64, seed=0):
    """A tiny data set of 'thoracic crops': ANT+POST counts with one hot disc each, masks and LabelMe."""
    import numpy as np

    from scintiseg.io.dataset import Case, DatasetManifest, save_manifest
    from scintiseg.io.dicom import write_dicom
    from scintiseg.io.images import write_mask_png
    from scintiseg.scan import Scan

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    body = ((yy - size / 2) / (0.48 * size)) ** 2 + ((xx - size / 2) / (0.42 * size)) ** 2 < 1
    cases = []
    for p in range(n_patients):
        cy, cx = rng.integers(size // 4, 3 * size // 4, 2)
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= 9
        views, masks = {}, {}
        for view in ("ANT", "POST"):
            expected = np.where(body, 40.0, 0.3) * np.where(mask, 3.0, 1.0)
            views[view] = rng.poisson(expected).astype(np.uint16)
        case_id = f"P{p:03d}"
        write_dicom(Scan(views, (2.26, 2.26), patient_id=case_id), root / "images" / f"{case_id}.dcm")  # the manifest's
        for view in views:
            write_mask_png(mask, root / "masks" / f"{case_id}_{view}.png")
            masks[view] = f"masks/{case_id}_{view}.png"
        cases.append(Case(case_id, case_id, f"images/{case_id}.dcm", masks=masks, synthetic=True, origin="phantom"))
    save_manifest(DatasetManifest("crops", ["ANT", "POST"], (2.26, 2.26), cases), root)
    return root


@pytest.fixture
def real_crops(tmp_path):
    return write_real_crops(tmp_path / "crops")
