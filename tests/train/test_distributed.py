"""DDP: ``torchrun --nproc_per_node 2 -m scintiseg train`` with two gloo processes on a tiny data set."""

import json
import os
import subprocess
import sys
from datetime import timedelta

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


def test_only_global_rank_0_owns_the_outputs():
    from scintiseg.train.distributed import DistributedContext

    assert DistributedContext(rank=0, world_size=4, local_rank=0).is_main
    assert not DistributedContext(rank=2, world_size=4, local_rank=0).is_main  # rank 0 of the second machine


def _mean_of_ranks(rank: int, store: str, means) -> None:
    import torch.distributed as dist

    from scintiseg.train.distributed import DistributedContext

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2,
                            timeout=timedelta(seconds=60))  # a stuck peer fails the test instead of hanging it
    means[rank] = DistributedContext(rank=rank, world_size=2).mean(float(rank + 1))
    dist.destroy_process_group()


def test_mean_is_the_mean_over_the_processes(tmp_path):
    import torch.multiprocessing as mp

    with mp.Manager() as manager:
        means = manager.dict()
        mp.spawn(_mean_of_ranks, args=(str(tmp_path / "store"), means), nprocs=2)
        assert dict(means) == {0: 1.5, 1: 1.5}


def test_close_leaves_a_process_group_it_did_not_start(tmp_path):
    import torch.distributed as dist

    from scintiseg.train.distributed import DistributedContext

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        DistributedContext(initialised_here=False).close()
        assert dist.is_initialized()
        DistributedContext(initialised_here=True).close()
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
