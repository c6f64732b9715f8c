"""The inference engines (scintiseg.predict.engines): the partly 8-bit ONNX engine."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from scintiseg.errors import ScintisegError
from scintiseg.predict.engines import ENGINES, INT8_MIN_FAN_IN, OnnxEngine, int8_convolutions, quantise_int8
from scintiseg.predict.export import onnx_bytes


class TwoWidths(nn.Module):
    """A narrow full-resolution convolution (fan-in 9) and a wide one (fan-in 32 x 9 = 288)."""

    in_channels = 1

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.narrow = nn.Conv2d(1, 32, 3, padding=1)
        self.wide = nn.Conv2d(32, 32, 3, padding=1)
        self.head = nn.Conv2d(32, 1, 1)

    def forward(self, x):
        return self.head(torch.relu(self.wide(torch.relu(self.narrow(x)))))


@pytest.fixture(scope="module")
def float_model() -> bytes:
    return onnx_bytes(TwoWidths().eval(), 1, 32)


def batches(seed: int, count: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.gamma(2.0, 0.5, size=(2, 1, 32, 32)).astype(np.float32) for _ in range(count)]


def test_only_the_wide_convolutions_are_chosen(float_model):
    chosen = int8_convolutions(float_model)
    assert len(chosen) == 1 and "wide" in chosen[0]
    assert int8_convolutions(float_model, min_fan_in=9, min_out_channels=1) != chosen  # the rule decides
    assert 32 * 9 == INT8_MIN_FAN_IN and "onnx-int8" in ENGINES


def test_the_quantised_model_runs_close_to_float_and_holds_integer_nodes(float_model):
    import onnx

    quantised = quantise_int8(float_model, batches(0))
    ops = [node.op_type for node in onnx.load_from_string(quantised).graph.node]
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    test = batches(1, 1)[0]
    reference, got = OnnxEngine(float_model)(test), OnnxEngine(quantised, name="onnx-int8")(test)
    assert got.shape == reference.shape
    spread = float(reference.max() - reference.min())
    difference = float(np.abs(got - reference).max())
    assert 0 < difference < 0.05 * spread  # quantised (not the float model), yet close to it


def test_the_engine_name_is_reported():
    assert OnnxEngine(onnx_bytes(TwoWidths().eval(), 1, 32), name="onnx-int8").name == "onnx-int8"


def test_quantisation_without_calibration_is_refused(float_model):
    with pytest.raises(ScintisegError, match="calibration"):
        quantise_int8(float_model, [])


def test_threads_do_not_spin_unless_asked_and_the_output_does_not_depend_on_it(float_model):
    """Spin-waiting is a scheduling choice (module docstring): off by default, on when asked, same logits."""
    quiet, spinning = OnnxEngine(float_model), OnnxEngine(float_model, spinning=True)
    option = "session.intra_op.allow_spinning"
    assert quiet.session.get_session_options().get_session_config_entry(option) == "0"
    assert spinning.session.get_session_options().get_session_config_entry(option) == "1"
    batch = batches(7, 1)[0]
    np.testing.assert_array_equal(quiet(batch), spinning(batch))


def test_threads_are_given_or_read_from_omp_num_threads(float_model, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert OnnxEngine(float_model).session.get_session_options().intra_op_num_threads == 3
    assert OnnxEngine(float_model, threads=2).session.get_session_options().intra_op_num_threads == 2


class Constant:
    """An engine that returns the same logit everywhere (a stand-in network)."""

    def __init__(self, logit: float, channels: int = 1, name: str = "onnx") -> None:
        self.logit, self.channels, self.name = logit, channels, name

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return np.full((batch.shape[0], self.channels, *batch.shape[2:]), self.logit, np.float32)


def test_the_mean_engine_averages_probabilities_not_logits():
    from scipy.special import expit, logit

    from scintiseg.predict.engines import MeanEngine

    batch = np.zeros((2, 1, 8, 8), np.float32)
    # 0.9 and 0.2: the mean probability 0.55 is a call, the mean logit (2.197 - 1.386) / 2 = 0.405 would say 0.60
    engine = MeanEngine([Constant(float(logit(0.9))), Constant(float(logit(0.2)))])
    out = engine(batch)
    assert out.shape == (2, 1, 8, 8) and out.dtype == np.float32
    assert expit(out) == pytest.approx(np.full(out.shape, 0.55), abs=1e-6)
    # One network sure of a lesion (logit 40), the other sure of none (-40): one half, not an overflow
    assert expit(MeanEngine([Constant(40.0), Constant(-40.0)])(batch)) == pytest.approx(0.5, abs=1e-6)
    # Two copies of one network give its own logits back; the engine name is the members'
    same = MeanEngine([Constant(-3.25), Constant(-3.25)])
    assert same(batch) == pytest.approx(np.full((2, 1, 8, 8), -3.25), abs=1e-5) and same.name == "onnx"


def test_the_mean_engine_refuses_what_is_no_one_probability():
    from scintiseg.predict.engines import MeanEngine

    with pytest.raises(ValueError):
        MeanEngine([Constant(0.0)])
    with pytest.raises(ScintisegError, match="one lesion probability per pixel; a model returned 27 channels"):
        MeanEngine([Constant(0.0), Constant(0.0, channels=27)])(np.zeros((1, 1, 4, 4), np.float32))


def test_a_damaged_model_whose_input_name_is_not_utf8_is_one_line(float_model):
    """Session 66 (bench_fuzz.py, kind sidecar: bits flipped in model.onnx): ONNX Runtime loads a model whose input
    name is not UTF-8, and reading the name was a UnicodeDecodeError traceback."""
    damaged = float_model.replace(b"image", b"im\xffge")
    assert damaged != float_model
    with pytest.raises(ScintisegError, match="ONNX Runtime .* cannot run this model"):
        OnnxEngine(damaged)
