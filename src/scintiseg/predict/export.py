"""ONNX export of a trained network (``scintiseg export --run RUN --format onnx``), and its sidecar format.

The legacy TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``) is used: it needs no
extra package (the torch.export-based exporter needs ``onnxscript``) and handles every scintiseg
network. Opset 17; the batch axis and the spatial axes are dynamic, so one file serves the thoracic
crop and a future whole-body sliding window. A JSON *sidecar* (``<file>.json``) carries what the
network alone cannot say: the input mode, the normalisation, the window size and the provenance, so an
``.onnx`` file is a complete model for ``scintiseg predict --model FILE.onnx``.

The sidecar is versioned like a checkpoint (:mod:`scintiseg.models.checkpoint`)::

    {"format": "scintiseg-onnx", "version": 1, "scintiseg_version": "0.1.0", "opset": 17,
     "in_channels": 1, "data": {"input_mode": ..., "normalisation": ..., "window_size": ...},
     "model_config": {...}, "shipped": {...}, "exported_from": "RUN"}

:func:`read_sidecar` refuses a missing or foreign sidecar and a newer format version, and
:func:`signature_mismatch` a model whose input or output does not fit what the sidecar says, each in one
line naming the file (sidecars written before ``version`` existed are version 1).
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from scintiseg import __version__
from scintiseg.errors import ScintisegError
from scintiseg.formats import check_format_version, made_by
from scintiseg.io.atomic import atomic_path
from scintiseg.predict.engines import OnnxEngine, TorchEngine

#: ONNX opset written.
OPSET = 17
#: The sidecar's ``format`` tag, and the newest sidecar version written and read.
SIDECAR_FORMAT = "scintiseg-onnx"
SIDECAR_VERSION = 1
#: The sidecar's entries that are JSON objects, where present (``scintiseg export`` writes each).
SIDECAR_RECORDS = ("data", "model_config", "shipped")


def onnx_bytes(network, in_channels: int, size: int = 256) -> bytes:
    """Serialise ``network`` (eval mode, CPU) to ONNX bytes with dynamic batch and spatial axes."""
    import torch  # lazy: start-up time

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


def export_onnx(network, path: str | Path, *, in_channels: int, size: int = 256, sidecar: dict | None = None,
                check: Callable[[bytes], object] | None = None) -> Path:
    """Write ``network`` to ``path`` and its sidecar ``path + '.json'`` (both atomically); returns the path.

    ``sidecar`` holds the data configuration and provenance; the format tags, the opset and
    ``in_channels`` are added here, so every exported file can be checked by :func:`read_sidecar`.
    ``check`` (``scintiseg export``'s torch / ONNX parity check) is called with the serialised model
    before anything is written: if it raises, ``path`` and its sidecar are left as they were. Both files
    are written to temporaries beside their targets and only then renamed into place (the model first),
    so a failure while writing either also leaves the old pair untouched.
    """
    path = Path(path)
    data = onnx_bytes(network, in_channels, size)
    if check is not None:
        check(data)
    tags = {"format": SIDECAR_FORMAT, "version": SIDECAR_VERSION, "scintiseg_version": __version__, "opset": OPSET,
            "in_channels": int(in_channels)}
    text = json.dumps({**(sidecar or {}), **tags}, indent=1) + "\n"
    # exits innermost first: the model is renamed into place, then the sidecar
    with atomic_path(sidecar_path(path)) as side_tmp, atomic_path(path) as tmp:
        tmp.write_bytes(data)
        side_tmp.write_text(text, encoding="utf-8")
    return path


def sidecar_path(path: str | Path) -> Path:
    """``model.onnx`` -> ``model.onnx.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def read_sidecar(onnx_path: str | Path) -> dict[str, Any]:
    """The checked sidecar of an exported ``.onnx`` file.

    Raises:
        ScintisegError: no sidecar, unreadable JSON, not a scintiseg sidecar, a newer format version, or
            an ``in_channels`` that is not a positive integer.
    """
    onnx_path = Path(onnx_path)
    side = sidecar_path(onnx_path)
    if not side.is_file():
        raise ScintisegError(f"no sidecar {side.name} next to the ONNX file (written by `scintiseg export`)", path=onnx_path)
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScintisegError(f"unreadable sidecar ({exc})", path=side) from None
    except RecursionError:  # a RecursionError traceback before session 66
        raise ScintisegError("unreadable sidecar (nested too deeply)", path=side) from None
    if not isinstance(meta, dict) or meta.get("format") != SIDECAR_FORMAT:
        raise ScintisegError(f'not a scintiseg ONNX sidecar (no "format": "{SIDECAR_FORMAT}")', path=side)
    check_format_version("sidecar", meta.get("version", 1), SIDECAR_VERSION, meta, side)
    channels = meta.get("in_channels", 1)
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise ScintisegError(f"sidecar in_channels {channels!r} is not a positive integer{made_by(meta)}", path=side)
    for key in SIDECAR_RECORDS:  # the loader reads them as objects (an AttributeError traceback before session 66)
        if meta.get(key) is not None and not isinstance(meta[key], dict):
            raise ScintisegError(f"sidecar {key} must be an object, not {type(meta[key]).__name__}{made_by(meta)}",
                                 path=side)
    return meta


def signature_mismatch(input_shape: list, output_shape: list, in_channels: int, window_size: int) -> str:
    """What keeps an ONNX model with these input/output shapes from running as the sidecar says; ``""`` if nothing.

    A dimension is an int (fixed) or a name (dynamic, as :func:`onnx_bytes` writes batch and spatial axes);
    a fixed one must equal what prediction feeds: ``(batch, in_channels, window, window)`` in, one logit
    channel out.
    """
    expected_in = ("batch", in_channels, window_size, window_size)
    if len(input_shape) != 4 or any(isinstance(got, int) and i > 0 and got != want for i, (got, want) in enumerate(zip(input_shape, expected_in))):
        shown = ", ".join(str(d) for d in input_shape)
        return (f"the ONNX model takes input ({shown}) but its sidecar says {in_channels} channel(s) of "
                f"{window_size} x {window_size} pixels")
    if len(output_shape) != 4 or (isinstance(output_shape[1], int) and output_shape[1] != 1):
        shown = ", ".join(str(d) for d in output_shape)
        return f"the ONNX model gives output ({shown}); scintiseg needs one logit channel (batch, 1, height, width)"
    return ""


def max_logit_difference(network, onnx_model: bytes | str | Path, batch: np.ndarray) -> float:
    """Max absolute difference of torch and ONNX Runtime logits on ``batch`` (the parity check)."""
    return float(np.abs(TorchEngine(network)(batch) - OnnxEngine(onnx_model)(batch)).max())
