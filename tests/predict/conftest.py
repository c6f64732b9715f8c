"""Fixtures of the prediction tests: the real NM1 scan and its regions, a tiny untrained checkpoint, a blob scan."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def nm1_path(real_nm1) -> Path:
    """The real NM1 file (the root conftest's fixture: skipped, naming the path, where ../shared is not beside)."""
    return real_nm1


@pytest.fixture(scope="session")
def nm1_scan(nm1_path):
    from scintiseg.io import read_scan

    return read_scan(nm1_path)


@pytest.fixture(scope="module")
def nm1_regions(nm1_scan):
    """NM1's ANT regions by the shipped region network, as the pipeline reads them."""
    from scintiseg.predict.pipeline import PredictSettings, analyse_counts

    network = PredictSettings().region_network("onnx")
    if network is None:
        pytest.skip("no shipped region network")
    return analyse_counts(nm1_scan, ["ANT"], network).regions["ANT"]


def tiny_network(seed: int = 0, in_channels: int = 1):
    """An untrained DPU-Net small enough for tests (about 0.3 M parameters, 40 ms per 256 x 256 window)."""
    import torch

    from scintiseg.models import create_model

    torch.manual_seed(seed)
    return create_model("dpunet", in_channels=in_channels, width=4, depth=4).eval()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A checkpoint in the training format holding the untrained tiny network (input mode ``ant``)."""
    from scintiseg.models.checkpoint import save_checkpoint

    network = tiny_network()
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    save_checkpoint(
        {"epoch": 0, "model": network.state_dict(), "model_config": dict(network.config),
         "config": {"input_mode": "ant", "normalisation": "percentile", "data": "untrained test model"}},
        path,
    )
    return path


def blob_probability(shape: tuple[int, int], blobs: list[tuple[int, int, int]]) -> np.ndarray:
    """Probability 0.9 in discs (row, col, radius), 0.1 elsewhere."""
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    prob = np.full(shape, 0.1, dtype=np.float32)
    for r, c, radius in blobs:
        prob[(rows - r) ** 2 + (cols - c) ** 2 <= radius**2] = 0.9
    return prob


@pytest.fixture(scope="session")
def make_blobs():
    """:func:`blob_probability` as a fixture (test folders are not packages)."""
    return blob_probability


@pytest.fixture(scope="session")
def make_tiny_network():
    """:func:`tiny_network` as a fixture."""
    return tiny_network
