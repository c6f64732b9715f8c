"""ONNX export of a trained network (``scintiseg export --run RUN --format onnx``).

The legacy TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``) is used: it needs no
extra package (the torch.export-based exporter needs ``onnxscript``) and handles every scintiseg
network. Opset 17; the batch axis and the spatial axes are dynamic, so one file serves the thoracic
crop and a future whole-body sliding window. A JSON *sidecar* (``<file>.json``) carries what the
network alone cannot say: the input mode, the normalisation, the window size and the provenance, so an
``.onnx`` file is a complete model for ``scintiseg predict --model FILE.onnx``.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np

from scintiseg.io.atomic import atomic_path, write_text_atomic

#: ONNX opset written.
OPSET = 17


def onnx_bytes(network, in_channels: int, size: int = 256) -> bytes:
    """Serialise ``network`` (eval mode, CPU) to ONNX bytes with dynamic batch and spatial axes."""
    import torch

    network = network.to("cpu").eval()
    dummy = torch.zeros(1, in_channels, size, size)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation and tracer warnings
        torch.onnx.export(
            network,
            dummy,
            buffer,
            dynamo=False,
            opset_version=OPSET,
            input_names=["image"],
            output_names=["logits"],
            dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch", 2: "height", 3: "width"}},
        )
    return buffer.getvalue()


def export_onnx(network, path: str | Path, *, in_channels: int, size: int = 256, sidecar: dict | None = None) -> Path:
    """Write ``network`` to ``path`` (atomically) and its sidecar ``path + '.json'``; returns the path."""
    path = Path(path)
    data = onnx_bytes(network, in_channels, size)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    if sidecar is not None:
        write_text_atomic(sidecar_path(path), json.dumps(sidecar, indent=1) + "\n")
    return path


def sidecar_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".json")


def max_logit_difference(network, onnx_model: bytes | str | Path, batch: np.ndarray) -> float:
    """Max absolute difference of torch and ONNX Runtime logits on ``batch`` (the parity check)."""
    from scintiseg.predict.engines import OnnxEngine, TorchEngine

    return float(np.abs(TorchEngine(network)(batch) - OnnxEngine(onnx_model)(batch)).max())
