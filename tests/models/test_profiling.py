"""Model profiling (``scintiseg models table``, ``benchmarks/bench_models.py``): parameter and FLOP counts of known
layers, the median timer, and what the timed inference and training step run (mode, memory format, the loss target,
the optimiser's steps), each per image."""

import inspect
import types

import pytest
import torch
from torch import nn

from scintiseg.models import profiling
from scintiseg.models.profiling import (
    ModelProfile,
    count_gflops,
    count_parameters,
    profile_model,
    time_inference,
    time_training_step,
)
from scintiseg.models.registry import create_model


class _Recorder(nn.Module):
    """``layer`` with a note, per call, of the mode, grad / inference mode, input memory format and output dtype."""

    def __init__(self, layer: nn.Module, in_channels: int | None = None) -> None:
        super().__init__()
        self.layer = layer
        if in_channels is not None:
            self.in_channels = in_channels
        self.calls: list[dict] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.layer(x)
        self.calls.append({"training": self.training, "grad": torch.is_grad_enabled(),
                           "inference": torch.is_inference_mode_enabled(), "shape": tuple(x.shape),
                           "channels_last": x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous(),
                           "dtype": y.dtype})
        return y


def _per_image_of_the_median(monkeypatch) -> list[float]:
    """Record what :func:`profiling._median_ms` returns (the real one runs)."""
    medians: list[float] = []
    real = profiling._median_ms

    def recorded(*args, **kwargs):
        medians.append(real(*args, **kwargs))
        return medians[-1]

    monkeypatch.setattr(profiling, "_median_ms", recorded)
    return medians


def test_count_parameters_counts_the_trainable_ones_only():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 1, 1))
    assert count_parameters(model) == (4 * 9 + 4) + (4 + 4) + (4 + 1)  # BatchNorm's running statistics are buffers
    model[0].requires_grad_(False)
    assert count_parameters(model) == 8 + 5


def test_flops_are_two_per_multiply_add_of_convolutions_and_nothing_for_element_wise_layers():
    conv = nn.Conv2d(1, 4, 3, padding=1, bias=False)
    expected = 2 * (8 * 8) * 4 * (1 * 3 * 3) / 1e9
    assert count_gflops(conv, size=8) == pytest.approx(expected, rel=1e-12)
    with_element_wise = nn.Sequential(conv, nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2))
    assert count_gflops(with_element_wise, size=8) == pytest.approx(expected, rel=1e-12)
    assert count_gflops(conv, size=16) == pytest.approx(4 * expected, rel=1e-12)  # the image area


def test_the_input_channels_come_from_the_argument_else_the_model_else_one():
    up = nn.ConvTranspose2d(2, 3, 2, stride=2)
    expected = 2 * (8 * 8) * 2 * 3 * (2 * 2) / 1e9  # each input pixel's 2x2 output patch
    assert count_gflops(_Recorder(up, in_channels=2), size=8) == pytest.approx(expected, rel=1e-12)
    assert count_gflops(up, size=8, in_channels=2) == pytest.approx(expected, rel=1e-12)
    one = _Recorder(nn.Conv2d(1, 1, 1), in_channels=5)
    count_gflops(one, size=4, in_channels=1)  # the argument wins over the attribute
    assert one.calls[-1]["shape"] == (1, 1, 4, 4)
    with pytest.raises(RuntimeError):  # no attribute: one channel, which the 2-channel layer refuses
        count_gflops(nn.Sequential(up), size=8)


@pytest.mark.parametrize("training", [True, False])
def test_flops_are_counted_in_eval_mode_without_grad_and_the_mode_is_restored(training):
    model = _Recorder(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))).train(training)
    running_mean = model.layer[1].running_mean.clone()
    count_gflops(model, size=8)
    (call,) = model.calls
    assert call["training"] is False and call["grad"] is False
    assert model.training is training and model.layer[1].training is training
    assert torch.equal(model.layer[1].running_mean, running_mean)  # eval: BatchNorm's statistics untouched


def test_a_registered_networks_flops_grow_with_the_image_area():
    model = create_model("unet", preset="small")
    assert count_gflops(model, 64) == pytest.approx(4 * count_gflops(model, 32), rel=1e-9)


def test_the_timer_is_the_median_of_the_timed_runs_after_untimed_warm_ups(monkeypatch):
    ticks = iter([0.0, 0.004, 1.0, 1.001, 2.0, 2.010])  # 4, 1 and 10 ms: median 4, mean 5
    monkeypatch.setattr(profiling, "time", types.SimpleNamespace(perf_counter=lambda: next(ticks)))
    calls = []
    assert profiling._median_ms(lambda: calls.append(1), 3, torch.device("cpu"), warmup=2) == pytest.approx(4.0)
    assert len(calls) == 5 and next(ticks, None) is None  # each timed run read the clock twice, the warm-ups never


@pytest.mark.parametrize("channels_last", [True, False])
def test_inference_is_timed_in_eval_and_inference_mode_per_image(monkeypatch, channels_last):
    medians = _per_image_of_the_median(monkeypatch)
    model = _Recorder(nn.Conv2d(3, 2, 3, padding=1)).train()
    images = torch.rand(4, 3, 16, 16)
    per_image = time_inference(model, images, repeats=3, channels_last=channels_last, warmup=2)
    assert len(model.calls) == 5
    assert all(c["training"] is False and c["inference"] is True and c["dtype"] == torch.float32 for c in model.calls)
    assert all(c["channels_last"] is channels_last and c["shape"] == (4, 3, 16, 16) for c in model.calls)
    assert per_image == pytest.approx(medians[0] / 4)


def test_autocast_reaches_the_timed_inference_and_training_step():
    model = _Recorder(nn.Conv2d(1, 1, 3, padding=1))
    images = torch.rand(2, 1, 8, 8)
    time_inference(model, images, repeats=1, autocast_dtype=torch.bfloat16, warmup=0)
    time_training_step(model, images, repeats=1, autocast_dtype=torch.bfloat16, warmup=0)
    assert [c["dtype"] for c in model.calls] == [torch.bfloat16, torch.bfloat16]


def _bias_only(images: torch.Tensor, masks: torch.Tensor | None, monkeypatch) -> tuple[float, _Recorder, float]:
    """The bias of a 1x1 convolution whose weight is frozen at 0 (its logit is the bias) after timed training steps
    (1 warm-up + 3 timed), the model, and the per-image time returned over the median."""
    medians = _per_image_of_the_median(monkeypatch)
    conv = nn.Conv2d(1, 1, 1)
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    conv.weight.requires_grad_(False)
    model = _Recorder(conv)
    per_image = time_training_step(model, images, masks, repeats=3, warmup=1)
    return conv.bias.item(), model, per_image * images.shape[0] / medians[0]


def test_the_training_step_is_an_adam_step_on_bce_against_the_masks_per_image(monkeypatch):
    """BCE's gradient at logit 0 is 0.5 - mean(mask), so each Adam step (lr 1e-4) moves the bias by 1e-4 towards
    the masks; four steps (warm-up included) 4e-4."""
    images = torch.rand(2, 1, 4, 4)
    bias, model, ratio = _bias_only(images, torch.ones(2, 1, 4, 4), monkeypatch)
    assert bias == pytest.approx(4e-4, rel=1e-3) and ratio == pytest.approx(1.0)
    assert len(model.calls) == 4 and all(c["training"] and c["grad"] and not c["inference"] for c in model.calls)
    bias, _, _ = _bias_only(images, torch.zeros(2, 1, 4, 4), monkeypatch)
    assert bias == pytest.approx(-4e-4, rel=1e-3)


def test_without_masks_the_training_target_is_the_first_channel_above_its_mean(monkeypatch):
    """Three pixels of four above the mean: the mask's mean is 3/4, so the bias rises; the second channel (all
    bright) is not the target (its mask would be empty: nothing above the mean, the bias would fall)."""
    first = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    images = torch.stack([first, torch.full((2, 2), 5.0)]).unsqueeze(0)  # (1, 2, 2, 2)
    conv = nn.Conv2d(2, 1, 1)
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    conv.weight.requires_grad_(False)
    time_training_step(conv, images, repeats=3, warmup=1)
    assert conv.bias.item() == pytest.approx(4e-4, rel=1e-3)
    inverted = torch.stack([1 - first, torch.full((2, 2), 5.0)]).unsqueeze(0)  # one pixel of four above the mean
    nn.init.zeros_(conv.bias)
    time_training_step(conv, inverted, repeats=3, warmup=1)
    assert conv.bias.item() == pytest.approx(-4e-4, rel=1e-3)


def test_a_profile_is_the_registered_networks_counts_and_its_timings_on_a_seeded_batch(monkeypatch):
    """Built by name and preset (here with two input channels, which the images and the FLOP count follow)."""
    built = []

    def two_channel(name, preset):
        built.append((name, preset))
        return create_model(name, preset=preset, in_channels=2)

    seen = {}

    def timed(function, value):
        def run(*args, **kwargs):
            seen[function.__name__] = inspect.signature(function).bind(*args, **kwargs).arguments
            return value
        return run

    monkeypatch.setattr(profiling, "create_model", two_channel)
    monkeypatch.setattr(profiling, "time_inference", timed(time_inference, 1.5))
    monkeypatch.setattr(profiling, "time_training_step", timed(time_training_step, 4.5))
    profile = profile_model("unet", "small", size=32, batch=3, repeats=5)
    model = create_model("unet", preset="small", in_channels=2)
    assert built == [("unet", "small")] and model.in_channels == 2
    assert profile == ModelProfile("unet", "small", count_parameters(model), count_gflops(model, 32), 1.5, 4.5)
    infer, train = seen["time_inference"], seen["time_training_step"]
    assert infer["repeats"] == train["repeats"] == 5 and "masks" not in train  # the default target
    images = infer["images"]
    assert images.shape == (3, 2, 32, 32) and torch.equal(images, train["images"]) and 0 <= images.min() < images.max() < 1
    profile_model("unet", "small", size=32, batch=3, repeats=5)
    assert torch.equal(seen["time_inference"]["images"], images)  # seeded: every row times the same images

    untimed = profile_model("unet", "small", size=32, timing=False)
    assert (untimed.infer_ms_per_image, untimed.train_ms_per_image) == (None, None)
    assert untimed.as_dict() == {"name": "unet", "preset": "small", "parameters": profile.parameters,
                                 "gflops_per_image": profile.gflops_per_image, "infer_ms_per_image": None,
                                 "train_ms_per_image": None}
