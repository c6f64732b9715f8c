"""Tests of :mod:`scintiseg.gan.evaluate`: ``scintiseg gan evaluate``, generated vs real crops written as a report.

An untrained 32-pixel GAN run (tests/gan/conftest.py's ``tiny_run``) against four 64 x 64 phantom crops
(``real_crops``); the statistics themselves: tests/gan/test_quality.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.gan.evaluate import evaluate_run
from scintiseg.gan.train import NORMALISATION_NAME
from scintiseg.io.dataset import load_manifest, save_manifest


def test_evaluate_writes_the_report_and_grids_and_counts_what_it_compared(tiny_run, real_crops, tmp_path):
    out = tmp_path / "evaluation"
    stats = evaluate_run(tiny_run, real_crops, out, n=5, seed=0, progress=False)
    assert (stats["n_real"], stats["n_generated"]) == (4, 5)
    names = {"quality.json", "quality.md", "spectrum.png", "grid_real.png", "grid_generated.png", "nearest.png"}
    assert {p.name for p in out.iterdir()} == names
    written = json.loads((out / "quality.json").read_text())
    assert written["n_real"] == 4 and not any(key.startswith("_") for key in written)  # arrays stay in memory
    assert len(stats["memorisation"]["_distance"]) == 5  # each generated sample's nearest training case
    assert "run run (epoch" in (out / "quality.md").read_text()


def test_the_memorisation_reference_is_the_runs_training_cases(tiny_run, real_crops, tmp_path, monkeypatch):
    from scintiseg.gan import evaluate as module

    normalisation = json.loads((tiny_run / NORMALISATION_NAME).read_text())
    normalisation["training_cases"] = ["P000", "P002"]
    (tiny_run / NORMALISATION_NAME).write_text(json.dumps(normalisation))
    seen = {}

    def spy(real, generated, training, sqrt_ceiling):
        seen.update(real=real, training=training)
        return compare(real, generated, training, sqrt_ceiling)

    compare = module.compare
    monkeypatch.setattr(module, "compare", spy)
    stats = evaluate_run(tiny_run, real_crops, tmp_path / "out", n=3, seed=0, progress=False)
    assert stats["n_real"] == 4 and len(seen["real"]) == 4  # every real crop is compared
    training, real = seen["training"], seen["real"]
    assert len(training) == 2 and training[0] is real[0] and training[1] is real[2]  # P000 and P002, in manifest order
    assert set(np.asarray(stats["memorisation"]["_nearest"]).tolist()) <= {0, 1}


def test_gan_cases_are_not_real_and_two_real_cases_are_needed(tiny_run, real_crops, tmp_path):
    manifest = load_manifest(real_crops)
    for case in manifest.cases[1:]:
        case.origin = "gan"
    save_manifest(manifest, real_crops)
    with pytest.raises(ScintisegError, match="need at least two real cases"):
        evaluate_run(tiny_run, real_crops, tmp_path / "out", n=2, progress=False)
    assert not (tmp_path / "out").exists()


def test_a_crop_that_is_not_square_is_refused(tiny_run, dataset_factory, tmp_path):
    data = dataset_factory(patients=2, shape=(32, 16))
    with pytest.raises(ScintisegError, match=r"case P000_0 is \(32, 16\), not a square thoracic crop"):
        evaluate_run(tiny_run, data, tmp_path / "out", n=2, progress=False)
