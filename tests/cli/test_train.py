"""``scintiseg train`` / ``evaluate`` on the command line: config precedence, errors, kill -9 and --resume."""

import argparse
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml

from scintiseg.cli import main
from scintiseg.cli.train import resolve_config
from scintiseg.models.checkpoint import checkpoint_path
from scintiseg.train.config import TrainConfig
from support import conftest_of


@pytest.fixture(scope="module")
def tiny_split_dataset(tmp_path_factory):
    return conftest_of("train").write_tiny_dataset(tmp_path_factory.mktemp("cli_dataset"))


def _args(data, out, *extra):
    return ["train", "--data", str(data), "--out", str(out), "--model", "unet", "-m", "width=4", "-m", "depth=2",
            "--batch-size", "4", "--normalisation", "zscore", "--no-progress", "--threads", "1", *extra]


def test_yaml_then_flags_override_and_resolved_config_saved(tiny_split_dataset, tmp_path):
    config_file = tmp_path / "c.yaml"
    config_file.write_text(yaml.safe_dump({"epochs": 5, "lr": 0.003, "model_args": {"pooling": "avg"}}))
    out = tmp_path / "run"
    assert main(_args(tiny_split_dataset, out, "--config", str(config_file), "--epochs", "1")) == 0
    saved = TrainConfig.from_yaml(out / "config.yaml")
    assert saved.epochs == 1 and saved.lr == 0.003  # flag beats YAML, YAML beats default
    assert saved.model_args == {"pooling": "avg", "width": 4, "depth": 2}
    assert main(["evaluate", "--run", str(out), "--overlays", "0"]) == 0
    assert (out / "eval-test" / "metrics.json").is_file()


def test_bad_input_is_one_line_and_exit_2(tiny_split_dataset, tmp_path, capsys):
    assert main(_args(tiny_split_dataset, tmp_path / "r", "--labelled", "1.5")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "labelled" in err[0]
    assert main(_args(tmp_path / "nowhere", tmp_path / "r2")) == 2
    assert main(["train", "--config", str(tmp_path / "missing.yaml")]) == 2
    for flag, value, said in [("--lr", "inf", "lr must be a finite number, got inf"),
                              ("--lr", "nan", "lr must be a finite number, got nan"),
                              ("--seed", "-1", "seed must be a whole number from 0 to 4294967295, got -1")]:
        capsys.readouterr()
        assert main(_args(tiny_split_dataset, tmp_path / "r3", flag, value)) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].endswith(said) and not (tmp_path / "r3").exists()


def test_a_bad_synthetic_config_is_one_line_naming_the_file_and_nothing_is_written(tmp_path, capsys):
    bad = tmp_path / "poses.yaml"
    bad.write_text("anatomy:\n  arm_positions: {feet: 1.0}\n")
    base = ["train", "--synthetic", "small", "--model", "unet", "-m", "width=4", "-m", "depth=2", "--pixel-mm", "9.04",
            "--window-size", "32", "--epochs", "1", "--no-progress", "--threads", "1"]
    for given, said in [(bad, "poses.yaml: anatomy.arm_positions: unknown position(s) 'feet'"),
                        (tmp_path / "missing.yaml", "missing.yaml: cannot read configuration")]:
        capsys.readouterr()
        assert main([*base, "--synthetic-config", str(given), "--out", str(tmp_path / "run")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and said in err[0] and not (tmp_path / "run").exists()


def test_kill_mid_run_then_resume_finishes(tiny_split_dataset, tmp_path):
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "scintiseg", *_args(tiny_split_dataset, out, "--epochs", "40")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = checkpoint_path(out, "last")
    deadline = time.monotonic() + 60
    while not last.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert last.exists(), "the run never wrote a checkpoint"
    epoch_at_kill = torch.load(last, weights_only=True)["epoch"]
    assert epoch_at_kill < 40
    assert main(_args(tiny_split_dataset, out, "--epochs", "40")) == 2  # refuses to overwrite without --resume
    assert main(["train", "--out", str(out), "--resume", "--no-progress"]) == 0
    state = torch.load(last, weights_only=True)
    assert state["epoch"] == 40 and len(state["history"]) == 40
    assert [row["epoch"] for row in state["history"]] == list(range(1, 41))
    assert not list(out.rglob("*.part"))


def test_the_last_lines_say_whether_predict_will_read_the_whole_body(tiny_split_dataset, tmp_path, capsys):
    """A data set of crops makes a crop model, one of whole-body scans (112 rows of 9 mm) a whole-body model: said."""
    assert main(_args(tiny_split_dataset, tmp_path / "crops", "--epochs", "1")) == 0
    assert "a model of partial views (crops): `scintiseg predict` reads the thoracic window" in capsys.readouterr().out
    whole = conftest_of("train").write_tiny_dataset(tmp_path / "whole", patients=6, size=112, pixel_mm=9.0)
    assert main(_args(whole, tmp_path / "whole_run", "--epochs", "1", "--pixel-mm", "9", "--window-size", "64")) == 0
    assert "a whole-body model: `scintiseg predict` reads every scan at 9 mm, the whole body" in capsys.readouterr().out


def test_init_gives_the_run_its_models_recipe_under_the_flags(tiny_split_dataset, tmp_path, capsys):
    """`--init CKPT` alone fine-tunes the checkpoint's network with its arguments, input mode and normalisation (before,
    the defaults: another network, refused, or the same one fed `percentile` inputs); a flag or --config overrides a
    field; another network given by flag does not take the checkpoint's arguments (its weights are refused in one
    line); `--init shipped` is the shipped model."""
    from scintiseg.models.checkpoint import save_checkpoint
    from scintiseg.predict.loader import SHIPPED_WEIGHTS

    network = create_model_for_test()
    start = tmp_path / "start.pt"
    save_checkpoint({"epoch": 1, "model": network.state_dict(), "model_config": dict(network.config),
                     "data": {"input_mode": "ant", "normalisation": "zscore", "window_size": 32}}, start)
    base = ["train", "--data", str(tiny_split_dataset), "--batch-size", "4", "--epochs", "1", "--no-progress",
            "--threads", "1", "--init", str(start)]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    saved = yaml.safe_load((tmp_path / "a" / "config.yaml").read_text())
    assert saved["model"] == "unet" and saved["model_args"]["width"] == 4 and saved["model_args"]["depth"] == 2
    assert saved["normalisation"] == "zscore"
    assert main([*base, "--out", str(tmp_path / "b"), "--normalisation", "percentile", "-m", "upsample=transpose"]) == 0
    saved = yaml.safe_load((tmp_path / "b" / "config.yaml").read_text())
    assert saved["normalisation"] == "percentile" and saved["model_args"]["width"] == 4  # -m merged into them
    capsys.readouterr()
    assert main([*base, "--out", str(tmp_path / "c"), "--model", "dpunet"]) == 2
    assert "its weights do not fit dpunet" in capsys.readouterr().err
    config = resolve_config(argparse.Namespace(init="shipped", data=str(tiny_split_dataset), out=str(tmp_path / "d")))
    assert config.init == str(SHIPPED_WEIGHTS) and config.model == "rdinet" and config.normalisation == "robust"


def create_model_for_test():
    from scintiseg.models import create_model

    return create_model("unet", width=4, depth=2)


def test_a_new_run_does_not_read_a_config_yaml_left_in_its_folder(tmp_path):
    from scintiseg.cli import build_parser

    (tmp_path / "config.yaml").write_text("epochs: 7\n")
    fresh = resolve_config(build_parser("train").parse_args(["train", "--out", str(tmp_path), "--data", "d"]))
    assert fresh.epochs == TrainConfig().epochs != 7
    resumed = resolve_config(build_parser("train").parse_args(["train", "--out", str(tmp_path), "--data", "d", "--resume"]))
    assert resumed.epochs == 7


def test_a_resumed_run_does_not_read_its_init_checkpoint_again(tmp_path):
    from scintiseg.cli import build_parser

    (tmp_path / "config.yaml").write_text(f"init: {tmp_path / 'moved.pt'}\ndata: d\n")  # the init file since moved
    resumed = resolve_config(build_parser("train").parse_args(["train", "--out", str(tmp_path), "--resume"]))
    assert resumed.init == str(tmp_path / "moved.pt")


def test_only_rank_0_says_where_the_run_is(tmp_path, monkeypatch, capsys):
    from types import SimpleNamespace

    import scintiseg.train.loop as loop

    monkeypatch.setattr(loop, "train", lambda config, resume: SimpleNamespace(
        epochs_run=1, best_value=0.5, best_epoch=1, run_dir=tmp_path, pixel_mm=None))
    monkeypatch.setenv("RANK", "1")
    assert main(["train", "--data", "d", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out == ""
    monkeypatch.setenv("RANK", "0")
    assert main(["train", "--data", "d", "--out", str(tmp_path)]) == 0
    assert "at epoch 1; run in" in capsys.readouterr().out
