"""Inference engines: the same network run by PyTorch or by ONNX Runtime.

An engine maps a float32 batch ``(B, C, H, W)`` to float32 logits ``(B, 1, H, W)``. Both run on the CPU
by default (a clinic's workstation); the torch engine honours ``device``. ONNX Runtime is usually faster
on a CPU and needs no PyTorch at inference; ``tests/predict/test_export.py`` checks that both give the
same logits (max absolute difference below 1e-4). A model ONNX Runtime cannot run (an opset or IR version
newer than it knows, a corrupt file) is one :class:`~scintiseg.errors.ScintisegError` line naming the
runtime's version, the model's opset and IR version, and the runtime's own reason.

``onnx-int8`` (opt-in, not the default): the ONNX model with part of its convolutions in 8-bit integers, by
ONNX Runtime's static post-training quantisation (:func:`quantise_int8`; ``onnxruntime.quantization.
quantize_static``, QDQ format, per-channel signed weights, unsigned activations, MinMax calibration on
windows the caller supplies; the loader uses phantom scans, :func:`scintiseg.predict.loader.calibration_windows`).
Which convolutions: only those with a fan-in (input channels x kernel area) of at least
:data:`INT8_MIN_FAN_IN` and at least :data:`INT8_MIN_OUT_CHANNELS` outputs. Measured on the shipped
``rdinet`` ``small`` (2 threads, AVX2 CPU without VNNI, docs/benchmarks.md "Whole body, both views"):
quantising every operator made the forward about 1.2x *slower* than float32 (ONNX Runtime's blocked NCHWc
float kernels beat its int8 kernels on the 8- and 16-channel full-resolution layers, 3-13x per layer), while
the 64- and 128-channel layers at 1/8 and 1/16 resolution ran 2-3x faster in int8; so the engine quantises
those only [choice: of fan-in thresholds 576, 288 and 144 (12, 17, 22 convolutions), 288 and 144 ran
the forward fastest (0.92 and 0.91 of float's, under load) and 288 moved the probability of a held-out
phantom less (at most 0.03 against 0.06, calibrated on one patient); in the whole pipeline the gain did not show (benchmarks.md)].
A CPU with VNNI / AMX integer instructions may gain more; the accuracy cost is measured beside the speed.

ONNX Runtime's worker threads do not spin-wait between operators here (:data:`ONNX_SPINNING`, session
option ``session.intra_op.allow_spinning = 0``). Spinning keeps a thread busy after its share of an
operator so that the next one starts sooner; prediction runs the region network beside the lesion
network (:func:`scintiseg.predict.pipeline.predict_scan`), and with two sessions on two cores each
session's spinning threads take the cores the other needs. Measured on one whole-body ANT + POST scan
(``benchmarks/bench_predict.py --phantom 0 --repeats 31 --batch 0 --engines onnx --trees ...``, warm
processes called in turn, four runs): 0.712-0.765 s without spinning against 0.797-0.837 s with it; the
lesion network alone (10 windows, nothing beside it) runs 0.358 s without spinning against 0.312 s with
it, so a caller running one session alone may pass ``spinning=True``.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

import numpy as np
from scipy.special import expit, logit

from scintiseg.errors import ScintisegError

ENGINES: tuple[str, ...] = ("torch", "onnx", "onnx-int8")
#: Engines run by ONNX Runtime.
ONNX_ENGINES: tuple[str, ...] = ("onnx", "onnx-int8")
#: Whether ONNX Runtime's threads spin-wait between operators (module docstring: why not).
ONNX_SPINNING = False
#: ``onnx-int8`` quantises a convolution when input channels x kernel area reach this (module docstring).
INT8_MIN_FAN_IN = 288
#: ... and it has at least this many output channels.
INT8_MIN_OUT_CHANNELS = 16


class Engine(Protocol):
    name: str

    def __call__(self, batch: np.ndarray) -> np.ndarray: ...


class TorchEngine:
    """Run a ``torch.nn.Module`` in eval mode under ``torch.inference_mode``.

    Args:
        model: the network (moved to ``device`` and set to eval).
        device: ``"cpu"`` (default) or any torch device string.
    """

    name = "torch"

    def __init__(self, model, device: str = "cpu") -> None:
        import torch  # lazy: start-up time (the ONNX engine runs without PyTorch)

        from scintiseg.models.inference import prepare_for_inference  # lazy: start-up time (imports torch)

        self._torch = torch
        self.device = torch.device(device)
        # BatchNorm folded into a copy and channels-last: forward 0.51 -> 0.39 s on the shipped model's 10
        # whole-body windows (2 threads, back to back; logits within 4e-6). The caller's network is untouched.
        self.model = prepare_for_inference(model.to(self.device))

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
            x = x.contiguous(memory_format=torch.channels_last)
            return self.model(x).float().contiguous().cpu().numpy()


class OnnxEngine:
    """Run an ONNX model with ONNX Runtime's CPU provider.

    Args:
        model: path of a ``.onnx`` file or the serialised model bytes.
        threads: intra-op threads (default: ``OMP_NUM_THREADS`` if set, else ONNX Runtime's default).
        name: the engine's name in reports.
        spinning: let idle threads spin-wait between operators (default :data:`ONNX_SPINNING`; module docstring).
    """

    name = "onnx"

    def __init__(self, model: str | os.PathLike[str] | bytes, threads: int | None = None, name: str = "onnx",
                 spinning: bool = ONNX_SPINNING) -> None:
        import onnxruntime as ort  # lazy: start-up time

        options = ort.SessionOptions()
        if threads is None and os.environ.get("OMP_NUM_THREADS", "").isdigit():
            threads = int(os.environ["OMP_NUM_THREADS"])
        if threads:
            options.intra_op_num_threads = int(threads)
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        self.name = name
        source = model if isinstance(model, bytes) else os.fspath(model)
        try:
            self.session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
            # a damaged file can load with an input or output name that is not UTF-8 (UnicodeDecodeError; session 66)
            self.input_name = self.session.get_inputs()[0].name
            #: Dimensions of the input and output: ints where fixed, names where dynamic.
            self.input_shape: list = list(self.session.get_inputs()[0].shape)
            self.output_shape: list = list(self.session.get_outputs()[0].shape)
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
            raise ScintisegError(
                f"ONNX Runtime {ort.__version__} cannot run this model{_model_stamp(model)}: {_runtime_reason(exc)}",
                path=None if isinstance(model, bytes) else model,
            ) from None

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)})[0]


class MeanEngine:
    """The mean of several engines' lesion probabilities, returned as logits as every engine returns them.

    ``scintiseg predict --model A --model B`` (:func:`scintiseg.predict.loader.load_models`). Not from either
    paper: an ensemble of networks trained apart, each pixel's probability the mean of theirs, so a call
    survives where they agree. Measured in session 53 (docs/robustness.md, "A whole-body model trained from
    scratch on a phantom data set, and two-model means"): the shipped model and one trained from scratch on a
    whole-body phantom data set, averaged, made 0.05 false calls per NM1 view (NM1's own hot spots) in place of
    1.03 at the same sensitivity, and raised the triage AUC on every real background, but found fewer faint lesions of
    the phantom (0.39 of its lesion-views against 0.44); each member runs on every window, so the network's
    time is the members' sum. [choice: the mean of probabilities, not of logits, so that one network's
    extreme logit does not outvote the other's; the larger of the two, also measured, kept both networks'
    false calls.]

    Args:
        engines: two or more engines fed the same batch; each returns ``(B, 1, H, W)`` logits.

    Raises:
        ScintisegError: (on a call) an engine returns more than one output channel (a region network: its
            classes are a softmax, not one probability).
    """

    def __init__(self, engines: Iterable[Engine]) -> None:
        self.engines: tuple[Engine, ...] = tuple(engines)
        if len(self.engines) < 2:
            raise ValueError("a mean of engines needs two or more")
        #: The members' engine name (they are loaded with one ``--engine``): the region network follows it.
        self.name = str(getattr(self.engines[0], "name", "torch"))

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        total: np.ndarray | None = None
        for engine in self.engines:
            logits = np.asarray(engine(batch), dtype=np.float64)
            if logits.ndim != 4 or logits.shape[1] != 1:
                raise ScintisegError(f"a mean of models needs one lesion probability per pixel; a model returned "
                                     f"{logits.shape[1] if logits.ndim == 4 else '?'} channels")
            probability = expit(logits)
            total = probability if total is None else total + probability
        return logit(np.clip(total / len(self.engines), 1e-12, 1.0 - 1e-12)).astype(np.float32)


def int8_convolutions(model: bytes, min_fan_in: int = INT8_MIN_FAN_IN, min_out_channels: int = INT8_MIN_OUT_CHANNELS) -> list[str]:
    """Names of the ``Conv`` nodes of an ONNX model that :func:`quantise_int8` quantises (module docstring)."""
    import onnx  # lazy: start-up time, and only for the int8 engine

    proto = onnx.load_from_string(model)
    weights = {init.name: tuple(init.dims) for init in proto.graph.initializer}
    chosen = []
    for node in proto.graph.node:
        shape = weights.get(node.input[1]) if node.op_type == "Conv" and len(node.input) > 1 else None
        if node.name and shape is not None and len(shape) == 4:
            out_channels, in_channels, kh, kw = shape
            if in_channels * kh * kw >= min_fan_in and out_channels >= min_out_channels:
                chosen.append(node.name)
    return chosen


def quantise_int8(model: bytes, calibration: Iterable[np.ndarray], *, nodes: list[str] | None = None) -> bytes:
    """ONNX model bytes with ``nodes`` (default: :func:`int8_convolutions`) quantised to 8 bits (module docstring).

    ONNX Runtime's ``quantize_static``: QDQ format (QuantizeLinear / DequantizeLinear pairs around each
    quantised node, which ONNX Runtime fuses into integer kernels), per-channel int8 weights, uint8
    activations (the x86 ``U8S8`` kernels), MinMax ranges over ``calibration`` (float32 batches ``(B, C,
    H, W)``, the network's input). The files ONNX Runtime's quantiser needs are written to a temporary
    folder and removed; nothing is kept on disk.

    Raises:
        ScintisegError: no calibration batch.
    """
    from onnxruntime.quantization import (  # lazy: start-up time, and only for the int8 engine
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    batches = [np.ascontiguousarray(batch, dtype=np.float32) for batch in calibration]
    if not batches:
        raise ScintisegError("int8 quantisation needs at least one calibration batch")
    chosen = int8_convolutions(model) if nodes is None else list(nodes)
    input_name = OnnxEngine(model).input_name

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter(batches)

        def get_next(self) -> dict | None:
            batch = next(self._batches, None)
            return None if batch is None else {input_name: batch}

    with tempfile.TemporaryDirectory(prefix="scintiseg-int8-") as folder:
        source, target = Path(folder) / "float.onnx", Path(folder) / "int8.onnx"
        source.write_bytes(model)
        quantize_static(source, target, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_quantize=chosen)
        return target.read_bytes()


def tensor_predictor(engine: Engine, activation: Callable[[np.ndarray], np.ndarray] | None = None) -> Callable:
    """``engine`` as a function of torch tensors: the ``predictor`` MONAI's sliding-window inference calls.

    Engines are numpy in, numpy out (so the ONNX engine needs no PyTorch); MONAI hands its windows over as
    CPU tensors and blends the tensors it gets back. ``activation`` (e.g. the sigmoid) is applied to the
    logits before they are returned.

    Example::

        predictor = tensor_predictor(model.engine, activation=scipy.special.expit)
        sliding_window_inference(inputs, (256, 256), 8, predictor, mode="gaussian")
    """
    import torch  # lazy: start-up time (the ONNX engine runs without PyTorch)

    def predictor(batch, *args, **kwargs):  # noqa: ARG001 (MONAI may pass extra arguments)
        logits = engine(batch.detach().cpu().numpy())
        out = logits if activation is None else activation(logits)
        return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32)).to(batch.device)

    return predictor


def _model_stamp(model: str | os.PathLike[str] | bytes) -> str:
    """`` (opset N, IR version M)`` read with the ``onnx`` package, or ``""`` when the file is not even that."""
    try:
        import onnx  # lazy: start-up time, and only on this error path

        proto = onnx.load_from_string(model) if isinstance(model, bytes) else onnx.load(os.fspath(model), load_external_data=False)
    except Exception:  # not an ONNX protobuf at all: the runtime's reason says so
        return ""
    opsets = [entry.version for entry in proto.opset_import if entry.domain in ("", "ai.onnx")]
    return f" (opset {opsets[0] if opsets else 'unknown'}, IR version {proto.ir_version})"


def _runtime_reason(exc: Exception) -> str:
    """ONNX Runtime's message without its ``[ONNXRuntimeError] ... model.cc:256 <C++ signature>`` prefix."""
    text = " ".join(str(exc).split())
    prefixed = re.search(r"\S+\.(?:h|cc|cpp):\d+ [^()]*\([^)]*\) (.+)", text)
    return prefixed.group(1) if prefixed else text
