"""Tests for ``scintiseg experiment``: the shared-test-set flags and ``experiment report``."""

import argparse

import pytest

from scintiseg.cli import experiment as cli_experiment
from scintiseg.cli import main
from scintiseg.errors import ScintisegError
from scintiseg.experiments import test_set
from support import conftest_of


def _parse(*argv):
    parser = argparse.ArgumentParser()
    cli_experiment.register(parser.add_subparsers())
    return parser.parse_args(["experiment", *argv])


def test_cli_defaults_are_the_libraries():
    # the CLI keeps its own copies so that --help imports no torch
    assert cli_experiment.TEST_SEED == test_set.TEST_SET_SEED
    assert cli_experiment.TEST_PATIENTS == test_set.TEST_PATIENTS >= 200


def test_test_set_flags_choose_the_shared_test_set(tmp_path):
    chosen = cli_experiment._test_set(_parse("paper-a-table2", "--data", "d"))
    assert chosen == test_set.PhantomTestSet(patients=200, size=None, profile="default", seed=17_000)
    assert cli_experiment._test_set(_parse("paper-a-table2", "--data", "d", "--test-patients", "0")) is None
    args = _parse("paper-a-table2", "--data", "d", "--test-patients", "300", "--test-profile", "shifted", "--test-seed", "3")
    assert cli_experiment._test_set(args) == test_set.PhantomTestSet(300, None, "shifted", 3)
    assert cli_experiment._test_set(_parse("paper-a-table2", "--data", "d", "--test-data", str(tmp_path))) == tmp_path
    with pytest.raises(ScintisegError, match="0 or more"):
        cli_experiment._test_set(_parse("paper-a-table2", "--data", "d", "--test-patients", "-1"))


def test_report_and_run_refuse_what_they_cannot_do(tmp_path, capsys):
    assert main(["experiment", "report", str(tmp_path)]) == 2
    assert "no experiment.json" in capsys.readouterr().err
    assert main(["experiment", "report", str(tmp_path / "missing")]) == 2
    assert main(["experiment", "report"]) == 2
    assert "at least one experiment folder" in capsys.readouterr().err
    assert main(["experiment", "paper-a-table2"]) == 2
    assert "--data is required" in capsys.readouterr().err
    assert main(["experiment", "paper-a-table2", str(tmp_path), "--data", "d"]) == 2
    assert "for `report` only" in capsys.readouterr().err
    assert main(["experiment", "paper-a-table2", "--data", str(tmp_path), "--workers", "-2"]) == 2  # was: it ran
    assert "--workers must be at least 1, got -2" in capsys.readouterr().err


def test_run_refuses_zero_runs_and_gan_options_elsewhere(tmp_path, capsys):
    assert main(["experiment", "paper-a-table2", "--data", str(tmp_path), "--runs", "0"]) == 2
    assert "--runs must be at least 1, got 0" in capsys.readouterr().err
    assert main(["experiment", "paper-a-table2", "--data", str(tmp_path), "--factor", "4"]) == 2
    assert "--factor applies only to" in capsys.readouterr().err


def test_run_passes_its_options_on(tmp_path, monkeypatch):
    import scintiseg.experiments.runner as runner

    given = {}

    def fake(name, data, out, **options):
        given.update(name=name, **options)
        return tmp_path / "table.md"

    monkeypatch.setattr(runner, "run_experiment", fake)
    assert main(["experiment", "paper-a-table2", "--data", str(tmp_path), "--runs", "2", "--epochs", "3", "-m", "width=8",
                 "--set", "batch_size=8", "--no-progress", "--test-patients", "0", "--workers", "2"]) == 0
    assert given["runs"] == 2 and given["progress"] is False and given["workers"] == 2 and given["test_set"] is None
    assert given["settings"] == {"batch_size": 8, "epochs": 3, "model_args": {"width": 8}}


@pytest.mark.parametrize("name", ["paper-a-table2", "paper-b-augmentation"])
def test_a_whole_body_data_set_is_refused_in_one_line_naming_it_and_the_crop_command(name, tmp_path, capsys):
    """Researcher audit 74: the papers' crop tables ran on whole-body views without a word and wrote a normal-looking
    table beside the paper's numbers."""
    data = conftest_of("train").write_tiny_dataset(tmp_path / "wb", size=64, pixel_mm=16.0)  # 1.02 m views
    before = sorted(path.relative_to(data) for path in data.rglob("*"))
    out = tmp_path / "exp"
    assert main(["experiment", name, "--data", str(data), "--out", str(out), "--test-patients", "0", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{data}: a data set of whole-body views" in err
    assert f"{name} trains and tests on thoracic crops" in err and f"`scintiseg dataset crop {data} --out CROPS`" in err
    assert not out.exists() and sorted(path.relative_to(data) for path in data.rglob("*")) == before


def test_a_split_leaving_too_few_outlined_patients_is_one_line_and_leaves_the_data_set_as_it_was(tmp_path, capsys):
    """Researcher audit 74: "made a patient-level split ... saved it as data/bx/splits.json", then "error: need at
    least two training patients with outlines": the data folder changed by a run that did nothing."""
    from scintiseg.io.dataset import SPLITS_NAME, load_manifest, save_manifest

    data = conftest_of("train").write_tiny_dataset(tmp_path / "bx")
    (data / SPLITS_NAME).unlink()
    manifest = load_manifest(data)
    for case in manifest.cases[2:]:
        case.masks.clear()
    save_manifest(manifest, data)
    before = sorted(path.relative_to(data) for path in data.rglob("*"))
    out = tmp_path / "exp"
    args = ["experiment", "paper-b-labels", "--data", str(data), "--out", str(out), "--test-patients", "0", "--runs", "1"]
    assert main([*args, "--epochs", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "made a patient-level split" not in err
    assert "the split left 1 in training and 1 in test" in err and "`scintiseg dataset split DIR --test SHARE`" in err
    assert not out.exists() and sorted(path.relative_to(data) for path in data.rglob("*")) == before
