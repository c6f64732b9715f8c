"""scripts/gpu_sweep.sh's device stage ``pick``: NM1 scoring, the choice, and what comes back from the device.

The GPU run of session 42 and why the script is split: docs/training.md ("A prepared GPU sweep"). Here ``pick``
runs on a hand-made training folder (one profile, one checkpoint carrying an optimizer's state like a training
run's) with one NM1 hybrid each way, so the whole stage runs in seconds on the CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import torch
import yaml

from scintiseg.models.checkpoint import load_checkpoint, save_checkpoint
from scintiseg.predict.loader import SHIPPED_WEIGHTS
from support import NO_REAL_NM1, REAL_NM1 as NM1

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu_sweep.sh"


def _sweep(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHON=sys.executable, **env)
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=environment,
                          timeout=240)


def test_an_unknown_stage_is_refused_with_the_usage():
    done = _sweep("sweep")
    assert done.returncode == 2
    assert "usage: gpu_sweep.sh train WORK" in done.stderr


@pytest.mark.skipif(not NM1.exists(), reason=NO_REAL_NM1)
def test_pick_scores_on_nm1_and_brings_back_the_pick_without_the_optimizer(tmp_path):
    work, results = tmp_path / "work", tmp_path / "results"
    checkpoints = work / "randomised-sites" / "checkpoints"
    checkpoints.mkdir(parents=True)
    state = load_checkpoint(SHIPPED_WEIGHTS)
    state["optimizer"] = {"state": {0: {"exp_avg": torch.ones(3)}}, "param_groups": [{"lr": 3e-4, "params": [0]}]}
    save_checkpoint(state, checkpoints / "epoch_0001.pt")
    (work / "randomised-sites" / "log.csv").write_text("epoch,val_dsc\n1,0.4\n")

    done = _sweep("pick", str(work), str(results), PROFILES="randomised-sites", NM1_CASES="1", PICK="1",
                  EVAL_JOBS="2")
    assert done.returncode == 0, done.stderr
    assert "2 models on NM1" in done.stdout

    picked = load_checkpoint(results / "randomised-sites_0001.pt")
    assert "optimizer" not in picked
    assert all(torch.equal(picked["model"][key], value) for key, value in state["model"].items())
    assert picked["model_config"] == state["model_config"]
    with tarfile.open(results / "device.tar.gz") as archive:
        names = set(archive.getnames())
    assert {"eval/shipped.nm1.json", "eval/randomised-sites_0001.nm1.json", "picked.txt",
            "randomised-sites/log.csv"} <= names
    assert not list(results.glob("*.part"))


def test_an_unknown_recipe_is_refused_in_one_line(tmp_path):
    done = _sweep("train", str(tmp_path / "work"), RECIPE="soup")
    assert done.returncode == 2
    assert done.stderr.strip() == "gpu_sweep.sh: RECIPE must be synthetic or data, not soup"
    assert not (tmp_path / "work").exists()


def test_the_data_recipe_trains_one_run_per_seed_from_scratch_on_one_split_data_set(tmp_path):
    work = tmp_path / "work"
    done = _sweep("train", str(work), "5", RECIPE="data", SEEDS="11 12", DATA_PATIENTS="4", DATA_PROFILE="small",
                  DATA_SEED="3", EPOCHS="1", TRAIN_ARGS="--batch-size 4 --max-train-images 1", DATA_INDEPENDENT="1")
    assert done.returncode == 0, done.stderr
    splits = json.loads((work / "data" / "splits.json").read_text())
    assert splits["seed"] == 3 and splits["test"]
    assert splits["train"][-1] == "IP200000" and "IP200000" not in splits["test"]  # the second generator only trains
    configs = {}
    for seed in (11, 12):
        run = work / f"seed_{seed}"
        assert (run / "checkpoints" / "best.pt").is_file(), (work / f"seed_{seed}.txt").read_text()
        configs[seed] = yaml.safe_load((run / "config.yaml").read_text())
        assert not (run / "soup_half.pt").exists()  # no interpolation back to the shipped weights from scratch
    assert [configs[s]["seed"] for s in (11, 12)] == [11, 12]
    for config in configs.values():
        assert config["degrade_data"] is True and config["init"] == "" and config["epochs"] == 1
        assert Path(config["data"]) == work / "data"
    # both runs held out the data set's own test patients, not a split of their own
    assert all(json.loads((work / f"seed_{s}" / "split.json").read_text())["test"] == splits["test"] for s in (11, 12))


@pytest.mark.skipif(not NM1.exists(), reason=NO_REAL_NM1)
def test_pick_of_the_data_recipe_brings_back_each_seeds_best(tmp_path):
    work, results = tmp_path / "work", tmp_path / "results"
    state = load_checkpoint(SHIPPED_WEIGHTS)
    checkpoints = work / "seed_7" / "checkpoints"
    checkpoints.mkdir(parents=True)
    save_checkpoint(state, checkpoints / "epoch_0001.pt")
    save_checkpoint(state, checkpoints / "best.pt")
    (work / "seed_7" / "log.csv").write_text("epoch,val_dsc\n1,0.4\n")

    done = _sweep("pick", str(work), str(results), RECIPE="data", SEEDS="7", NM1_CASES="1", PICK="1",
                  EVAL_JOBS="2")
    assert done.returncode == 0, done.stderr
    assert "3 models on NM1" in done.stdout
    assert (results / "seed_7_best.pt").is_file()
    picked = (work / "picked.txt").read_text().split()
    assert "seed_7_best" in picked and len(picked) == len(set(picked))
