"""Start-up of the ``scintiseg`` command: light commands import no heavy library, ``--help`` lists every command.

The heavy imports are checked in a fresh interpreter (this test process has imported torch long ago).
Timings are in benchmarks/bench_startup.py and docs/benchmarks.md; here only the property that makes them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import subprocess
import sys

import pytest

import scintiseg.cli
from scintiseg.cli import COMMANDS, build_parser, main
from scintiseg.io.dicom import write_dicom

HEAVY = ("torch", "monai", "matplotlib")
#: cli modules that are not a top-level command: subcommands added under another command, and the argument types
#: the commands share.
NESTED_MODULES = {"dataset_prepare", "arguments"}

#: Run ``scintiseg ARGV`` in this interpreter, then print its exit code and the modules it imported.
PROBE = """
import json, sys
from scintiseg.cli import main
try:
    code = main(json.loads(sys.argv[1]))
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def run_fresh(argv: list[str], home) -> dict:
    """Exit code and ``sys.modules`` of ``scintiseg ARGV`` in a new interpreter whose HOME is ``home``."""
    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")}
    env["HOME"] = str(home)
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv)], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def heavy_in(modules: list[str]) -> set[str]:
    return {name.split(".")[0] for name in modules} & set(HEAVY)


def test_info_imports_no_torch_monai_or_matplotlib(small_scan, tmp_path):
    path = tmp_path / "scan.dcm"
    write_dicom(small_scan, path)
    home = tmp_path / "home"
    home.mkdir()
    probe = run_fresh(["info", str(path)], home)
    assert probe["code"] == 0
    assert heavy_in(probe["modules"]) == set()
    assert list(home.iterdir()) == []  # nothing cached into HOME (matplotlib would write ~/.cache/matplotlib)
    assert "scipy.ndimage" not in probe["modules"]  # the 8-bit readers' checks import it only for an 8-bit image


@pytest.mark.parametrize("argv", [["--version"], ["--help"]])
def test_version_and_help_import_no_heavy_library_not_even_numpy(argv, tmp_path):
    probe = run_fresh(argv, tmp_path)
    assert probe["code"] == 0
    assert heavy_in(probe["modules"]) == set()
    assert "numpy" not in probe["modules"]  # scintiseg.Scan is imported on first use, not by the package


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_help_imports_no_torch_monai_or_matplotlib(name, tmp_path):
    probe = run_fresh([name, "--help"], tmp_path)
    assert probe["code"] == 0
    assert heavy_in(probe["modules"]) == set()
    assert list(tmp_path.iterdir()) == []


NETWORKS_THEN_A_MONAI_BASELINE = """
import json, sys
from scintiseg.models import create_model
for name in ("unet", "dpunet", "rdinet"):
    create_model(name, width=4)
before = sorted({m.split(".")[0] for m in sys.modules} & {"monai", "matplotlib"})
create_model("monai_basicunet", width=4)
print(json.dumps([before, "monai" in sys.modules]))
"""


def test_only_a_monai_baseline_imports_monai(tmp_path):
    """MONAI imports matplotlib, which writes ``~/.cache/matplotlib``: our own networks must not load it."""
    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")}
    result = subprocess.run([sys.executable, "-c", NETWORKS_THEN_A_MONAI_BASELINE], env={**env, "HOME": str(tmp_path)},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [[], True]


def test_predict_with_the_shipped_model_imports_only_torch_and_leaves_home_alone(real_nm1, tmp_path):
    """Both window modes run the network through torch alone: the whole view's Gaussian-blended sliding
    windows are our own NumPy tiler (scintiseg.predict.windows), not MONAI's, whose ``monai.inferers``
    would import matplotlib and let it write its config and cache folders into HOME."""
    home = tmp_path / "home"
    home.mkdir()
    for name, window in (("thoracic", ["--window", "thoracic"]), ("own", [])):  # the shipped model's own: whole
        probe = run_fresh(["predict", str(real_nm1), "--out", str(tmp_path / name), "--quiet", *window], home)
        assert probe["code"] == 0
        assert heavy_in(probe["modules"]) == {"torch"}, name
        assert list(home.iterdir()) == [], name


def test_subcommand_help_imports_only_that_subcommand(tmp_path):
    probe = run_fresh(["info", "--help"], tmp_path)
    assert probe["code"] == 0
    assert {m for m in probe["modules"] if m.startswith("scintiseg.cli")} == {"scintiseg.cli", "scintiseg.cli.info"}


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    listed = capsys.readouterr().out
    modules = {info.name for info in pkgutil.iter_modules(scintiseg.cli.__path__)} - NESTED_MODULES
    assert {module for module, _ in COMMANDS.values()} == modules  # every cli module is a listed command
    flat = "".join(listed.split())  # argparse wraps long help lines
    for name, (_, help_line) in COMMANDS.items():
        assert f"\n    {name} " in listed and "".join(help_line.split()) in flat, name


@pytest.mark.parametrize("name", list(COMMANDS))
def test_table_help_is_the_help_the_module_registers(name):
    """The light table and the module's own ``register`` must agree, or ``--help`` would say something else."""
    module, help_line = COMMANDS[name]
    subparsers = argparse.ArgumentParser().add_subparsers()
    importlib.import_module(f"scintiseg.cli.{module}").register(subparsers)
    registered = {action.dest: action.help for action in subparsers._choices_actions}
    assert registered == {name: help_line}
    chosen = _subcommand_parsers(build_parser(name))[name]
    assert chosen.get_default("func") is not None  # the chosen command's full parser, with its function
    others = _subcommand_parsers(build_parser(None))
    assert others[name].get_default("func") is None  # the placeholder only lists it


def _subcommand_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_predict_pdf_leaves_home_alone_and_reuses_its_matplotlib_folder(real_nm1, tmp_path):
    """``--pdf`` draws with matplotlib, which would write ``~/.config/matplotlib`` and ``~/.cache/matplotlib``: its
    folder is this user's own in the temporary folder instead (scintiseg.report.matplotlib_home), kept for the next run."""
    home, temporary = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    temporary.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")}
    env.update(HOME=str(home), TMPDIR=str(temporary))
    for run in ("first", "second"):
        result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(
            ["predict", str(real_nm1), "--out", str(tmp_path / run), "--quiet", "--pdf"])], env=env,
            capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        assert (tmp_path / run / real_nm1.stem / "report.pdf").is_file()
        assert list(home.iterdir()) == [], run
        (folder,) = temporary.iterdir()
        assert folder.name == f"scintiseg-matplotlib-{os.getuid()}" and (folder.stat().st_mode & 0o777) == 0o700
        assert [p.name for p in folder.glob("fontlist-*.json")], run  # the font list built once, then reused
