"""Tests of :mod:`scintiseg.cli.dataset_prepare`: ``scintiseg dataset crop`` and ``scintiseg dataset augment``, their
options and refusals (what the crop and the augmentation write: tests/prepare/test_crop_dataset.py and
test_augment_dataset.py)."""

from __future__ import annotations

import argparse
import json

import pytest

from scintiseg.cli import main
from scintiseg.cli.dataset_prepare import register


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser


def test_the_options_default_to_the_papers_settings(tmp_path):
    crop = _parser().parse_args(["crop", "in", "--out", "out"])
    assert (crop.size, crop.workers) == (256, 1)
    augment = _parser().parse_args(["augment", "in", "--out", "out"])
    assert (augment.factor, augment.seed, augment.max_angle, augment.max_shift) == (20, 0, 10.0, 0.1)
    assert (augment.hflip_prob, augment.vflip_prob) == (0.5, 0.0)
    with pytest.raises(SystemExit):
        _parser().parse_args(["crop", "in"])  # --out is required


@pytest.mark.parametrize("option, value, said", [
    ("--size", "0", "--size must be positive, got 0"),
    ("--workers", "-1", "--workers must be 0 (one per CPU core) or more, got -1"),
])
def test_crop_refuses_a_size_or_worker_count_it_cannot_use_in_one_line(tiny_dataset, tmp_path, capsys, option, value,
                                                                        said):
    out = tmp_path / "crops"
    assert main(["dataset", "crop", str(tiny_dataset), "--out", str(out), option, value]) == 2
    assert capsys.readouterr().err.strip() == f"scintiseg dataset: error: {said}"
    assert not out.exists()


def test_augment_writes_factor_times_the_cases_and_says_so(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "augmented"
    assert main(["dataset", "augment", str(tiny_dataset), "--out", str(out), "--factor", "2", "--seed", "3"]) == 0
    cases = json.loads((out / "dataset.json").read_text())["cases"]
    assert len(cases) == 8 and sum(case["origin"] == "augment" for case in cases) == 4
    assert capsys.readouterr().out.strip() == f"8 cases (x2) -> {out}"


def test_augment_passes_every_option_on(tiny_dataset, tmp_path, monkeypatch):
    from types import SimpleNamespace

    import scintiseg.prepare.augment_dataset as augment_module

    given = {}

    def fake(dataset, out, **options):
        given.update(options)
        return SimpleNamespace(cases=[])

    monkeypatch.setattr(augment_module, "augment_dataset", fake)
    assert main(["dataset", "augment", str(tiny_dataset), "--out", str(tmp_path / "a"), "--factor", "3", "--seed", "4",
                 "--max-angle", "5", "--max-shift", "0.05", "--hflip-prob", "0.75", "--vflip-prob", "0.25"]) == 0
    assert given == {"factor": 3, "seed": 4, "max_angle": 5.0, "max_shift": 0.05, "hflip_prob": 0.75, "vflip_prob": 0.25}


def test_crop_workers_0_is_one_per_cpu_core(tiny_dataset, tmp_path, monkeypatch):
    from types import SimpleNamespace

    import scintiseg.prepare.crop_dataset as crop_module

    given = {}

    def fake(dataset, out, size, workers):
        given.update(size=size, workers=workers)
        return SimpleNamespace(cases=[])

    monkeypatch.setattr(crop_module, "crop_dataset", fake)
    monkeypatch.setattr("os.cpu_count", lambda: 7)
    assert main(["dataset", "crop", str(tiny_dataset), "--out", str(tmp_path / "c"), "--workers", "0", "--size", "64"]) == 0
    assert given == {"size": 64, "workers": 7}
