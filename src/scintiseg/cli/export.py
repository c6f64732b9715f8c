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


def _check_out(out: Path, source: Path, loaded: Path) -> None:
    """Refuse, before anything is written, an output that would destroy something.

    Choices: the model and its sidecar replace existing regular files (re-exporting over an old export is
    the normal case), but never the checkpoint being exported (``loaded``, the file the model was read from;
    for a run folder also the other checkpoint it may hold: ``checkpoints/best.pt`` and ``last.pt``), and
    never anything that is not a regular file (a FIFO, a device, a socket, or a folder where the sidecar
    goes): the atomic write would replace it with a regular file.

    Raises:
        ScintisegError: naming the output and the problem.
    """
    from scintiseg.io.atomic import same_file  # lazy: start-up time
    from scintiseg.models.checkpoint import checkpoint_path  # lazy: start-up time
    from scintiseg.predict.export import sidecar_path  # lazy: start-up time

    inputs = [loaded, *([checkpoint_path(source, which) for which in ("best", "last")] if source.is_dir() else [source])]
    for target, what in ((out, "the ONNX file"), (sidecar_path(out), "its sidecar")):
        for checkpoint in inputs:
            if same_file(target, checkpoint):
                raise ScintisegError(f"is the checkpoint being exported: {what} would overwrite it; give --out "
                                     f"another file or a folder", path=target)
        if target.exists() and not target.is_file():
            raise ScintisegError(f"exists and is not a regular file: {what} would replace it; give --out a new or "
                                 f"regular file, or a folder", path=target)


def run(args: argparse.Namespace) -> int:
    """Export; nothing is written unless the parity check passes (:func:`.predict.export.export_onnx`'s ``check``),
    so a failed export leaves an existing model and sidecar at ``--out`` untouched."""
    from scintiseg.predict.export import export_onnx, max_logit_difference  # lazy: start-up time
    from scintiseg.predict.loader import load_model  # lazy: start-up time

    source = Path(args.run)
    if source.suffix.lower() == ".onnx" and source.is_file():
        raise ScintisegError("already an ONNX export: --run takes a training run folder or a checkpoint (.pt)",
                             path=source)
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
    _check_out(out, source, Path(model.info.get("source") or source))
    sidecar = {  # export_onnx adds the format tags, the opset and in_channels
        "data": {"input_mode": model.input_mode, "normalisation": model.normalisation, "window_size": model.window_size,
                 "window": model.window, **({"pixel_mm": model.pixel_mm} if model.pixel_mm else {})},
        "model_config": model.info.get("model_config", {}),
        "shipped": {k: v for k, v in model.info.items() if k not in ("model_config", "source", "disclaimer")},
        "exported_from": str(source),
    }
    rng = np.random.default_rng(0)
    batch = rng.random((1, model.in_channels, model.window_size, model.window_size), dtype=np.float32) * 2
    difference = float("nan")

    def parity(data: bytes) -> None:
        nonlocal difference
        difference = max_logit_difference(model.network, data, batch)
        if not difference < 1e-4:  # NaN fails too
            raise ScintisegError(f"ONNX logits differ from torch by {difference:.2e} (>= 1e-4): not written, "
                                 f"an existing file there is left as it was", path=out)

    path = export_onnx(model.network, out, in_channels=model.in_channels, size=model.window_size, sidecar=sidecar,
                       check=parity)
    print(f"wrote {path} (max |torch - onnx| logit difference {difference:.2e})", file=sys.stderr)
    return 0
