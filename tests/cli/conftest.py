"""Fixtures shared by the command tests: a tiny run folder (``scintiseg predict --model`` and ``scintiseg export
--run`` read it) and a folder holding the real NM1 scan."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A run folder holding an untrained tiny DPU-Net checkpoint."""
    import torch

    from scintiseg.models import create_model
    from scintiseg.models.checkpoint import checkpoint_path, save_checkpoint

    torch.manual_seed(0)
    network = create_model("dpunet", width=4, depth=4)
    run = tmp_path_factory.mktemp("run")
    save_checkpoint(
        {"epoch": 0, "model": network.state_dict(), "model_config": dict(network.config),
         "config": {"input_mode": "ant", "normalisation": "percentile"}},
        checkpoint_path(run, "best"),
    )
    return run


@pytest.fixture(scope="module")
def scans(tmp_path_factory, real_nm1) -> Path:
    """A folder holding a copy of the real NM1 scan as ``nm1.dcm`` (skipped where the real data is absent)."""
    folder = tmp_path_factory.mktemp("scans")
    shutil.copy(real_nm1, folder / "nm1.dcm")
    return folder
