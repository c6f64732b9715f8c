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
    """The mixed-precision dtype worth using on ``device``: bfloat16 on CUDA, ``None`` (float32) on the CPU.

    On 2-core CPUs bfloat16 convolutions are slower than float32, so CPU runs stay in float32.
    """
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None
