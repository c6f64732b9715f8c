"""select_device: CUDA when available, else the CPU; a CUDA asked for and missing is said."""

import warnings

import pytest
import torch

from scintiseg.models.device import autocast_dtype, select_device


def test_picks_cpu_without_cuda_and_cuda_with_it(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device().type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_device().type == "cuda"
    assert select_device("cpu").type == "cpu"
    assert autocast_dtype(torch.device("cpu")) is None


def test_cuda_asked_for_without_one_runs_on_the_cpu_and_says_so(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="--device cuda: no CUDA device visible"):
        assert select_device("cuda").type == "cpu"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # automatic and CPU choices are silent
        assert select_device().type == "cpu" and select_device("cpu").type == "cpu"


def test_autocast_dtype_is_bfloat16_on_a_gpu_that_has_it_and_none_elsewhere(monkeypatch):
    """None means no autocast (docs/models.md; API audit 74 finding 8: the doc said float32 on the CPU)."""
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    assert autocast_dtype(torch.device("cuda")) is torch.bfloat16
    assert autocast_dtype(torch.device("cpu")) is None
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False)
    assert autocast_dtype(torch.device("cuda")) is None
