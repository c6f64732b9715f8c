"""DDP: ``torchrun --nproc_per_node 2 -m scintiseg train`` with two gloo processes on a tiny data set."""

import json
import os
import subprocess
import sys

import torch

from scintiseg.models.checkpoint import checkpoint_path


def test_torchrun_two_cpu_processes(tiny_split_dataset, tmp_path):
    run = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "scintiseg", "train", "--data", str(tiny_split_dataset), "--out", str(run), "--model", "unet",
        "-m", "width=4", "-m", "depth=2", "--epochs", "2", "--batch-size", "4", "--normalisation", "zscore",
        "--no-progress", "--threads", "1", "--device", "cpu",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["epochs_run"] == 2
    state = torch.load(checkpoint_path(run, "last"), weights_only=True)
    assert not any(key.startswith("module.") for key in state["model"])  # the unwrapped model is saved
    assert done.stdout.count("best val_dsc") == 1  # only rank 0 reports
    assert not list(run.rglob("*.part"))
