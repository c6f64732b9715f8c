"""What every scintiseg network shares: input checks, ``in_channels`` and a rebuildable ``config``.

A network takes counts-normalised images ``(B, in_channels, H, W)``, a tensor of its weights' dtype, and returns
lesion logits ``(B, 1, H, W)``. ``H`` and ``W`` must be multiples of ``2**depth`` (every encoder step halves the grid
and the decoder must land back on the input grid exactly); anything else raises
:class:`~scintiseg.errors.ScintisegError` rather than silently cropping or padding.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from scintiseg.errors import ScintisegError


#: Deepest network built: inputs must be multiples of ``2**depth`` (256 px at 8, a thoracic crop's side), and level
#: ``i`` has ``width * 2**i`` channels. A checkpoint's ``depth`` beyond it (a damaged file: 2**31) is refused in one
#: line instead of building layers without end.
MAX_DEPTH = 8


class SegmentationNetwork(nn.Module):
    """Base class: stores ``in_channels``, ``depth`` and the ``config`` the registry created it with.

    Args:
        in_channels: image channels the network expects (1 = one view or the aggregated view,
            2 = ANT + aligned mirrored POST).
        depth: number of resolution halvings; inputs must be multiples of ``2**depth``.
        min_bottleneck: smallest grid (pixels) the deepest level accepts (e.g. the largest RMP pool).
    """

    def __init__(self, in_channels: int, depth: int, min_bottleneck: int = 1) -> None:
        super().__init__()
        if in_channels < 1:
            raise ScintisegError(f"in_channels must be >= 1, got {in_channels}")
        if not 1 <= depth <= MAX_DEPTH:
            raise ScintisegError(f"depth must lie in 1..{MAX_DEPTH}, got {depth}")
        self.in_channels = int(in_channels)
        self.depth = int(depth)
        self.min_bottleneck = int(min_bottleneck)
        #: ``{"name": registry name, **kwargs}``; ``create_model(**model.config)`` rebuilds the network.
        self.config: dict[str, Any] = {}

    @property
    def size_multiple(self) -> int:
        """Input height and width must be multiples of this number."""
        return 2**self.depth

    def check_input(self, x: torch.Tensor) -> None:
        """Raise :class:`ScintisegError` when ``x`` is not a ``(B, in_channels, H, W)`` tensor of the network's dtype
        with a valid size.

        The dtype expected is the parameters' (float32 unless the network was cast with ``.double()``, ``.half()``,
        ...); under ``torch.autocast`` the autocast dtype (bfloat16 on CUDA, :func:`~.device.autocast_dtype`) is
        accepted too, since autocast casts the weights to it. Counts arrive as uint16 / int16 and a NumPy array is the
        natural thing to pass: both used to fail deep inside the first convolution with torch's own message (API
        audit 74, finding 5). Nothing is checked while tracing (ONNX export) or compiling, where every input is a
        tensor the exporter made.
        """
        if torch.jit.is_tracing() or torch.compiler.is_compiling():
            return
        name = type(self).__name__
        parameter = next(self.parameters(), None)
        expected = parameter.dtype if parameter is not None else torch.float32
        if not isinstance(x, torch.Tensor):
            raise ScintisegError(
                f"{name} expects a {expected} tensor (B, {self.in_channels}, H, W), got {type(x).__name__}: normalise "
                f"the counts first (scintiseg.prepare.model_input), then torch.from_numpy(image).to({expected})"
            )
        accepted = {expected}
        if torch.amp.is_autocast_available(x.device.type) and torch.is_autocast_enabled(x.device.type):  # not "meta"
            accepted.add(torch.get_autocast_dtype(x.device.type))
        if x.dtype not in accepted:
            raise ScintisegError(
                f"{name} expects a {expected} tensor (B, {self.in_channels}, H, W), got {x.dtype}: normalise the counts "
                f"first (scintiseg.prepare.model_input), then x.to({expected})"
            )
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ScintisegError(
                f"{type(self).__name__} expects input (B, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        height, width = x.shape[-2:]
        multiple = self.size_multiple
        if height % multiple or width % multiple:
            raise ScintisegError(
                f"{type(self).__name__} with depth {self.depth} needs H and W that are multiples of "
                f"{multiple}, got {height} x {width} (crop or pad the image)"
            )
        smallest = min(height, width) // multiple
        if smallest < self.min_bottleneck:
            raise ScintisegError(
                f"{type(self).__name__}: the bottleneck would be {smallest} px but needs at least "
                f"{self.min_bottleneck} px (largest RMP pool); use an input of at least "
                f"{self.min_bottleneck * multiple} px or a smaller depth"
            )
