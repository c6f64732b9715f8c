"""scripts/package_shipped.py: the developers' tool that writes the shipped checkpoint from a run (the library half is
``scintiseg.predict.shipped.package_run``, tested in tests/predict)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from scintiseg.models import create_model
from scintiseg.models.checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
from scintiseg.predict.loader import load_model

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "package_shipped.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("package_shipped", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_run_is_packaged_with_its_record_and_reads_as_trained(script, tmp_path, capsys):
    network = create_model("unet", width=4, depth=2)
    best = checkpoint_path(tmp_path / "run", "best")
    best.parent.mkdir(parents=True)
    save_checkpoint({"epoch": 2, "model": network.state_dict(), "model_config": dict(network.config),
                     "optimizer": {"state": {}, "param_groups": []}, "rng": {},
                     "data": {"input_mode": "ant", "normalisation": "robust", "window_size": 64, "pixel_mm": 2.26,
                              "window": "whole"}}, best)
    out = tmp_path / "shipped.pt"
    assert script.main(["--run", str(tmp_path / "run"), "--trained-on", "two phantoms", "--out", str(out),
                        "--command", "pytest"]) == 0
    assert capsys.readouterr().err.startswith(f"wrote {out} (")
    state = load_checkpoint(out)
    assert "optimizer" not in state and "rng" not in state
    assert state["shipped"] == {"trained_on": "two phantoms", "synthetic": True, "command": "pytest",
                                "source_run": str(tmp_path / "run")}
    model = load_model(out)
    assert (model.normalisation, model.window_size, model.pixel_mm, model.window) == ("robust", 64, 2.26, "whole")


def test_a_run_without_a_checkpoint_is_one_line_and_exit_code_2(script, tmp_path, capsys):
    assert script.main(["--run", str(tmp_path / "nothing"), "--trained-on", "x", "--out", str(tmp_path / "s.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("package_shipped.py: error: ") and "no such checkpoint" in err and err.count("\n") == 1
    assert not (tmp_path / "s.pt").exists()
