"""Demo settings: where the real scan is looked up, the thread policy, and settings no demo can run with."""

from __future__ import annotations

from pathlib import Path

import pytest

import scintiseg
from scintiseg.errors import ScintisegError
from scintiseg.experiments.demo import settings as demo_settings
from scintiseg.experiments.demo.settings import (
    DEFAULT_REAL_SCAN,
    DemoSettings,
    repository_root,
    resolve_real_scan,
    training_threads,
)


def test_repository_root_is_the_checkout_that_holds_the_package():
    root = repository_root()
    assert root is not None and (root / "pyproject.toml").is_file()
    assert Path(scintiseg.__file__).resolve().is_relative_to(root)


def test_default_real_scan_is_found_through_the_package_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expected = (repository_root() / DEFAULT_REAL_SCAN).resolve()
    path, message = resolve_real_scan(None)
    if expected.is_file():
        assert path == expected and message == ""
    else:
        assert path is None and DEFAULT_REAL_SCAN in message


def test_missing_default_real_scan_is_a_message_not_a_crash(tmp_path, monkeypatch):
    monkeypatch.setattr(demo_settings, "DEFAULT_REAL_SCAN", "no-such-folder/no-such-scan.dcm")
    path, message = resolve_real_scan(None)
    assert path is None
    assert "no-such-folder/no-such-scan.dcm" in message and "--real" in message


def test_given_real_scan_is_relative_to_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "scan.dcm").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert resolve_real_scan("scan.dcm") == (Path("scan.dcm"), "")
    # the repository-relative default spelled out is not looked up in the repository when given by hand
    assert resolve_real_scan(DEFAULT_REAL_SCAN)[0] is None
    assert resolve_real_scan("") == (None, "no --real scan given")


def test_threads_one_when_busy_at_start_else_pytorch_default():
    assert training_threads(DemoSettings(threads=3), load=[100.0]) == 3
    assert training_threads(DemoSettings(), load=[1000.0, 0.0, 0.0]) == 1
    assert training_threads(DemoSettings(), load=[0.0, 0.0, 0.0]) == 0


@pytest.mark.parametrize("changes, flag", [
    ({"size": 100}, "--size"), ({"recipe": "crops", "patients": 4}, "--patients"), ({"patients": 0}, "--patients"),
    ({"recipe": "crops", "test_fraction": 0.5}, "--test-fraction"), ({"recipe": "nets"}, "--recipe"),
    ({"pool_patients": 0}, "--pool-patients"), ({"refresh": 1.5}, "--refresh"), ({"val_patients": 0}, "--val-patients"),
    ({"train_profile": "nope"}, "--train-profile"),
])
def test_impossible_settings_are_refused(changes, flag):
    with pytest.raises(ScintisegError, match=flag):
        DemoSettings(**changes).validate()


def test_synthetic_recipe_tests_on_the_whole_cohort_so_four_patients_are_enough():
    DemoSettings(patients=4).validate()  # the crops recipe needs 5 (train, validation and test)


def test_recipe_decides_the_defaults_left_open_and_keeps_given_ones():
    synthetic, crops = DemoSettings(), DemoSettings(recipe="crops")
    assert (synthetic.patients, synthetic.epochs) == (20, 24)
    assert (crops.patients, crops.epochs) == (100, 40)  # the demo before issue 13
    assert DemoSettings(recipe="crops", patients=6, epochs=1).patients == 6


def test_training_patients_counts_the_first_pool_and_each_refresh():
    # 16 patients, then ceil(0.25 x 16) = 4 new ones before each of the 23 later epochs
    assert DemoSettings().training_patients() == 16 + 23 * 4
    assert DemoSettings(pool_patients=5, refresh=0.5, epochs=3).training_patients() == 5 + 2 * 3
    assert DemoSettings(refresh=0.0).training_patients() == 16


def test_fingerprint_holds_what_decides_the_data_of_each_recipe_only():
    synthetic = DemoSettings().fingerprint()
    assert synthetic["recipe"] == "synthetic" and synthetic["train_profile"] == "randomised"
    assert {"pixel_mm", "pool_patients", "refresh", "windows_per_view", "val_patients"} <= set(synthetic)
    assert "test_fraction" not in synthetic and "generator_workers" not in synthetic
    crops = DemoSettings(recipe="crops").fingerprint()
    assert crops["test_fraction"] == 0.2 and "pool_patients" not in crops
    assert DemoSettings(refresh=0.5).fingerprint() != synthetic
    assert DemoSettings(generator_workers=0).fingerprint() == synthetic  # the same patients either way



@pytest.mark.parametrize("changes, said", [
    ({"recipe": "nets"}, "--recipe must be one of synthetic, crops, got 'nets'"),
    ({"lr": float("nan")}, "--lr must be a finite number, got nan"),
    ({"head_prior": float("inf")}, "--head-prior must be a finite number, got inf"),
    ({"seed": -1}, "--seed must be a whole number from 0 to 4294967295, got -1"),
    ({"size": 100}, "--size must be a multiple of 16 and at least 80 (RMP pools need it), got 100"),
])
def test_settings_are_a_typed_configuration_checked_when_made_naming_the_flag(changes, said):
    """The rules of every configuration (scintiseg.config) and the demo's own, when the settings are made."""
    from scintiseg.config import Config

    assert issubclass(DemoSettings, Config)
    with pytest.raises(ScintisegError) as caught:
        DemoSettings(**changes)
    assert str(caught.value) == said


def test_demo_json_records_the_settings_in_their_order():
    from dataclasses import asdict

    assert list(asdict(DemoSettings())) == [
        "out", "recipe", "patients", "epochs", "size", "width", "depth", "batch_size", "lr", "head_prior", "augment",
        "test_fraction", "train_profile", "pixel_mm", "pool_patients", "refresh", "windows_per_view", "val_patients",
        "generator_workers", "seed", "real_scan", "workers", "threads", "progress"]
