"""select_device: CUDA when available, else the CPU."""

import torch

from scintiseg.models.device import autocast_dtype, select_device


def test_picks_cpu_without_cuda_and_cuda_with_it(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device().type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_device().type == "cuda"
    assert select_device("cpu").type == "cpu"
    assert autocast_dtype(torch.device("cpu")) is None
