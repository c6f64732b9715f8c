"""Coordinate attention (Hou, Zhou & Feng, CVPR 2021), with the official code's semantics.

Reference code: ``houqb/CoordAttention``, ``coordatt.py``, class ``CoordAtt(inp, oup, reduction=32)``:

1. strip *average* pooling along W -> ``(n, c, h, 1)`` and along H -> ``(n, c, 1, w)`` (transposed to
   ``(n, c, w, 1)``), concatenated on the spatial axis -> ``(n, c, h + w, 1)``;
2. one shared 1x1 convolution (with bias) to ``mip = max(8, inp // reduction)`` channels, BatchNorm,
   h-swish ``x * relu6(x + 3) / 6`` (the official ``h_swish``; :class:`torch.nn.Hardswish` computes the same, bit
   for bit in float32 and float64, and exports to ONNX as one ``HardSwish`` node at opset 17);
3. split back into the H and W parts, a 1x1 convolution each back to ``oup`` channels, plain sigmoid;
4. output ``identity * a_w * a_h`` (no residual).

Used by paper A (He et al. 2024, §2.2.1, Fig. 2) inside the dual-pooling fusion module, where the
attention weights are computed from one tensor and applied to another; :meth:`CoordinateAttention.weights`
exposes step 1-3 for that purpose.

The strip pools are written as ``mean`` over one axis (identical to ``AdaptiveAvgPool2d((None, 1))``)
so the block exports to ONNX as ``ReduceMean``.
"""

from __future__ import annotations

import torch
from torch import nn


class CoordinateAttention(nn.Module):
    """Coordinate attention: direction-aware channel attention from two strip poolings.

    Args:
        in_channels: channels of the map the weights are computed from (``inp``).
        out_channels: channels of the map the weights multiply (``oup``); defaults to ``in_channels``.
        reduction: ``mip = max(8, in_channels // reduction)`` (official default 32).
        min_hidden: the floor 8 of the official code.

    Example::

        attention = CoordinateAttention(64)
        y = attention(x)                 # x * a_h * a_w, same shape as x
        a_h, a_w = attention.weights(x)  # (B, C, H, 1), (B, C, 1, W)
    """

    def __init__(
        self, in_channels: int, out_channels: int | None = None, reduction: int = 32, min_hidden: int = 8
    ) -> None:
        super().__init__()
        out_channels = in_channels if out_channels is None else out_channels
        hidden = max(min_hidden, in_channels // reduction)
        self.conv1 = nn.Conv2d(in_channels, hidden, kernel_size=1)
        self.bn1 = nn.BatchNorm2d(hidden)
        self.act = nn.Hardswish()
        self.conv_h = nn.Conv2d(hidden, out_channels, kernel_size=1)
        self.conv_w = nn.Conv2d(hidden, out_channels, kernel_size=1)

    def weights(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention weights ``(a_h, a_w)`` of shapes ``(B, C, H, 1)`` and ``(B, C, 1, W)``, in (0, 1)."""
        height, width = x.shape[-2:]
        x_h = x.mean(dim=3, keepdim=True)  # (n, c, h, 1)
        x_w = x.mean(dim=2, keepdim=True).transpose(2, 3)  # (n, c, w, 1)
        y = self.act(self.bn1(self.conv1(torch.cat([x_h, x_w], dim=2))))
        y_h, y_w = torch.split(y, [height, width], dim=2)
        a_h = torch.sigmoid(self.conv_h(y_h))
        a_w = torch.sigmoid(self.conv_w(y_w.transpose(2, 3)))
        return a_h, a_w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a_h, a_w = self.weights(x)
        return x * a_w * a_h
