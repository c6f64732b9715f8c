"""scintiseg.cli.arguments: a seed out of range is argparse's usage error naming the flag, on every command taking one;
and every default a help text states is the one the parser uses."""

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


def _stated_defaults():
    """(command, flag, the default its help states, the parser's default) for every option of every command whose
    help states a default of one word or number ("(default 10)") and whose parser holds one (not a typed config's
    options, which argparse leaves unset and the config fills)."""
    import argparse
    import re

    from scintiseg.cli import COMMANDS, build_parser

    def walk(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, [*path, name])
            elif action.help and action.default not in (None, argparse.SUPPRESS) and action.option_strings:
                for stated in re.findall(r"\(default:? ([\w.-]+)\)", action.help):
                    yield " ".join(path), action.option_strings[0], stated, action.default

    for command in COMMANDS:
        yield from (row for row in walk(build_parser(command), []) if row[0].split()[0] == command)


def test_every_default_a_help_text_states_is_the_default_the_parser_uses():
    rows = list(_stated_defaults())
    assert len(rows) >= 20  # the walk reaches the subcommands (phantom --patients, dataset split --test, ...)
    assert ("phantom", "--patients", "10", 10) in rows
    wrong = [row for row in rows if str(row[3]) != row[2] and not _same_number(row[2], row[3])]
    assert not wrong, wrong


def _same_number(stated: str, default) -> bool:
    try:
        return float(stated) == float(default)
    except (TypeError, ValueError):
        return False
