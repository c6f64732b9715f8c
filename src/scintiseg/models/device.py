"""Which device a model runs on: the one helper the training and prediction stages share."""

from __future__ import annotations

import warnings

import torch


def select_device(prefer: str | None = None) -> torch.device:
    """Pick the compute device: CUDA when available, else the CPU.

    Args:
        prefer: ``"cpu"`` or ``"cuda"`` to force a choice (``"cuda"`` falls back to the CPU, with a warning,
            when no GPU is visible); ``None`` picks automatically.

    Returns:
        the :class:`torch.device` to move models and batches to.

    Example::

        device = select_device()
        model = create_model("dpunet").to(device)
    """
    if prefer == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if prefer == "cuda":  # asked for, not there (no GPU, or a CPU build of torch): said, not silent
        warnings.warn("--device cuda: no CUDA device visible to torch; running on the CPU", stacklevel=2)
    return torch.device("cpu")


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """The mixed-precision dtype worth using on ``device``: bfloat16 on a CUDA GPU that supports it, else ``None``.

    ``None`` means *no autocast*: the network runs in its own dtype (float32), and the callers skip
    ``torch.autocast`` altogether (``scintiseg.train.loop._autocast``; :mod:`scintiseg.models.profiling` with
    ``enabled=dtype is not None``); ``torch.autocast("cpu", dtype=None)`` would instead autocast to the CPU's
    default, bfloat16. On 2-core CPUs bfloat16 convolutions are slower than float32, so CPU runs stay in float32.

    Example::

        dtype = autocast_dtype(device)
        with torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext():
            logits = model(images)
    """
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None
