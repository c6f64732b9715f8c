"""Tests for ``scintiseg experiment``: the shared-test-set flags and ``experiment report``."""

import argparse

import pytest

from scintiseg.cli import experiment as cli_experiment
from scintiseg.cli import main
from scintiseg.errors import ScintisegError
from scintiseg.experiments import test_set


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
