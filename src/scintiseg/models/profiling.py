"""Size and speed of a network: parameters, GFLOPs per image, CPU milliseconds per image.

Used by ``scintiseg models table`` and ``benchmarks/bench_models.py``. FLOPs are counted with
:class:`torch.utils.flop_counter.FlopCounterMode` on one forward pass (a multiply-add counts as 2
FLOPs; convolutions, transposed convolutions and matrix products are counted, element-wise operations
such as BatchNorm, activations and pooling are not). Times are medians over ``repeats`` runs after one
warm-up, divided by the batch size; the training step is forward + binary cross-entropy + backward +
Adam step.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from scintiseg.models.registry import create_model


@dataclass
class ModelProfile:
    """One row of the model table."""

    name: str
    preset: str
    parameters: int
    gflops_per_image: float
    infer_ms_per_image: float | None = None
    train_ms_per_image: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_gflops(model: nn.Module, size: int = 256, in_channels: int | None = None) -> float:
    """GFLOPs of one forward pass on one ``size x size`` image."""
    channels = in_channels if in_channels is not None else getattr(model, "in_channels", 1)
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros(1, channels, size, size))
    model.train(was_training)
    return counter.get_total_flops() / 1e9


def _median_ms(function, repeats: int, device: torch.device, warmup: int = 1) -> float:
    for _ in range(warmup):  # allocations, oneDNN primitive creation
        function()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        function()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def _placed(model: nn.Module, images: torch.Tensor, channels_last: bool, train: bool) -> tuple[nn.Module, torch.Tensor]:
    """``model`` and ``images`` on the images' device in the chosen memory format, in train or eval mode."""
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(images.device, memory_format=memory_format).train(train)
    return model, images.contiguous(memory_format=memory_format)


def time_inference(
    model: nn.Module,
    images: torch.Tensor,
    repeats: int = 3,
    channels_last: bool = True,
    autocast_dtype: torch.dtype | None = None,
    warmup: int = 1,
) -> float:
    """Median milliseconds per image of ``model(images)`` in eval and inference mode."""
    device = images.device
    model, images = _placed(model, images, channels_last, train=False)

    def run() -> None:
        with torch.inference_mode(), torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            model(images)

    return _median_ms(run, repeats, device, warmup) / images.shape[0]


def time_training_step(
    model: nn.Module,
    images: torch.Tensor,
    masks: torch.Tensor | None = None,
    repeats: int = 3,
    channels_last: bool = True,
    autocast_dtype: torch.dtype | None = None,
    warmup: int = 1,
) -> float:
    """Median milliseconds per image of one optimisation step (forward, BCE loss, backward, Adam)."""
    device = images.device
    model, images = _placed(model, images, channels_last, train=True)
    if masks is None:
        masks = (images[:, :1] > images[:, :1].mean()).float()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = nn.BCEWithLogitsLoss()

    def step() -> None:
        optimiser.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            loss = loss_fn(model(images).float(), masks)
        loss.backward()
        optimiser.step()

    return _median_ms(step, repeats, device, warmup) / images.shape[0]


def profile_model(
    name: str, preset: str = "default", size: int = 256, batch: int = 1, repeats: int = 3, timing: bool = True
) -> ModelProfile:
    """Build ``name`` with ``preset`` and measure it on the CPU (see the module docstring)."""
    model = create_model(name, preset=preset)
    profile = ModelProfile(name, preset, count_parameters(model), count_gflops(model, size))
    if timing:
        generator = torch.Generator().manual_seed(0)
        images = torch.rand(batch, model.in_channels, size, size, generator=generator)
        profile.infer_ms_per_image = time_inference(model, images, repeats)
        profile.train_ms_per_image = time_training_step(model, images, repeats=repeats)
    return profile
