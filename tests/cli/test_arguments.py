"""scintiseg.cli.arguments: a seed out of range is argparse's usage error naming the flag, on every command taking one."""

import pytest

from scintiseg.cli import main


@pytest.mark.parametrize("command", [
    ["experiment", "paper-a-table2", "--data", "DIR", "--test-seed"],
    ["phantom", "--patients", "1"],
    ["phantom", "calibrate", "--real", "x.dcm"],
    ["dataset", "split", "DIR"],
    ["dataset", "export-nnunet", "DIR"],
    ["dataset", "augment", "DIR"],
    ["annotations", "consensus", "A.json"],
    ["adapt", "--unlabelled", "DIR"],
    ["demo"],
    ["gan", "sample", "--run", "RUN", "--n", "1"],
    ["gan", "evaluate", "--run", "RUN"],
])
@pytest.mark.parametrize(("seed", "problem"), [
    ("-5", "must be a whole number from 0 to 4294967295, got -5"),
    ("4294967296", "must be a whole number from 0 to 4294967295, got 4294967296"),
    ("1.5", None),
])
def test_a_bad_seed_stops_before_any_work_naming_the_flag(command, seed, problem, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        flag = [] if command[-1].endswith("-seed") else ["--seed"]
        main([*command, *flag, seed, "--out", str(tmp_path / "out")])
    assert stopped.value.code == 2 and not (tmp_path / "out").exists()
    error = capsys.readouterr().err.strip().splitlines()[-1]
    said = command[-1] if not flag else "--seed"
    assert f"argument {said}:" in error and (problem is None or error.endswith(problem)), error


def test_a_seed_that_is_no_whole_number_is_said_so():
    import argparse

    from scintiseg.cli.arguments import seed

    assert seed("7") == 7
    with pytest.raises(argparse.ArgumentTypeError, match="not a whole number: '1.5'"):
        seed("1.5")
