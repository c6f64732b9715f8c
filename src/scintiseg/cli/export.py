"""``scintiseg export --run RUN --format onnx``: a trained network as an ONNX file for ``--engine onnx``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from scintiseg.errors import ScintisegError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``export``."""
    parser = subparsers.add_parser(
        "export",
        help="export a trained model to ONNX",
        description=(
            "Export the network of a training run (its checkpoints/best.pt, else last.pt) or of a checkpoint "
            "file to ONNX (opset 17, dynamic batch and image size), with a JSON sidecar holding the input mode, "
            "the normalisation and the format and scintiseg versions (checked when the model is loaded). "
            "Default output: RUN/model.onnx (found by `scintiseg predict --model RUN --engine onnx`). The torch "
            "and ONNX Runtime logits are compared on a random batch and the maximum difference is printed; "
            "above 1e-4 the export fails."
        ),
    )
    parser.add_argument("--run", required=True, help="run folder or checkpoint (.pt)")
    parser.add_argument("--format", choices=("onnx",), default="onnx", help="export format (onnx)")
    parser.add_argument("--out", default=None, help="output file, or a folder to write model.onnx into (default RUN/model.onnx, or CHECKPOINT.onnx)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scintiseg.predict.export import export_onnx, max_logit_difference  # lazy: start-up time
    from scintiseg.predict.loader import load_model  # lazy: start-up time

    source = Path(args.run)
    if args.out:
        out = Path(args.out)
        if out.is_dir():  # a folder given: the file name predict looks for in a run folder
            out = out / "model.onnx"
        above = next(parent for parent in out.parents if parent.exists())
        if not above.is_dir():
            raise ScintisegError("not a folder: the ONNX file cannot be written under it", path=above)
    else:
        out = source / "model.onnx" if source.is_dir() else source.with_suffix(".onnx")
    model = load_model(source, engine="torch")
    sidecar = {  # export_onnx adds the format tags, the opset and in_channels
        "data": {"input_mode": model.input_mode, "normalisation": model.normalisation, "window_size": model.window_size,
                 "window": model.window, **({"pixel_mm": model.pixel_mm} if model.pixel_mm else {})},
        "model_config": model.info.get("model_config", {}),
        "shipped": {k: v for k, v in model.info.items() if k not in ("model_config", "source", "disclaimer")},
        "exported_from": str(source),
    }
    path = export_onnx(model.network, out, in_channels=model.in_channels, size=model.window_size, sidecar=sidecar)
    rng = np.random.default_rng(0)
    batch = rng.random((1, model.in_channels, model.window_size, model.window_size), dtype=np.float32) * 2
    difference = max_logit_difference(model.network, path, batch)
    print(f"wrote {path} (max |torch - onnx| logit difference {difference:.2e})", file=sys.stderr)
    if difference >= 1e-4:
        raise ScintisegError(f"ONNX logits differ from torch by {difference:.2e} (>= 1e-4)", path=path)
    return 0
