"""Recurrent convolutional block (RCL) for paper B's recurrent feature extraction.

Lin et al. (2022), §2.3.4, Eq. 5, after Liang & Hu (2015, CVPR) "Recurrent convolutional neural
network for object recognition": ``x(t) = f(W_F * u(t) + W_R * x(t-1) + b)``, the feed-forward input
``u`` fixed over time and the recurrent weights shared over time steps; paper B finds t = 3 best
(Fig. 8). Public variants differ, so the choices are explicit arguments:

(a) ``kernels``:
    * ``"separate"`` (default, Liang & Hu): a feed-forward kernel ``W_F`` (``in -> out``), applied
      **once** (its result is reused at every step since ``u`` does not change), and a recurrent kernel
      ``W_R`` (``out -> out``) applied **t** times::

          x(0) = f(N_0(W_F * u));   x(k) = f(N_k(W_F * u + W_R * x(k-1))),  k = 1..t

    * ``"shared"`` (R2U-Net, Alom et al. 2018; reference code ``LeeJunHyun/Image_Segmentation``,
      ``network.py``, ``Recurrent_block``): one 3x3 conv used for both roles, applied **t + 1** times
      to ``u + x(k-1)``; when ``in != out`` a 1x1 convolution first maps ``u`` to ``out`` channels (as
      R2U-Net's ``RRCNN_block`` does)::

          x(0) = f(N_0(W * u));   x(k) = f(N_k(W * (u + x(k-1)))),  k = 1..t

(b) ``norm``: ``"per_step"`` (default) gives each step ``k = 0..t`` its own BatchNorm ``N_k`` (the
    activation statistics differ per step; Liang & Hu normalise per step with LRN); ``"shared"`` uses
    one BatchNorm for every step (R2U-Net's ``conv`` Sequential contains its BN).

(c) what **t** counts: the number of *recurrent* steps after the feed-forward pass, as in Eq. 5 and in
    R2U-Net's ``t`` — so ``t = 0`` is a plain conv -> BN -> ReLU, and the block always makes ``t + 1``
    state updates (``W_R`` used t times in ``"separate"``, ``W`` used t + 1 times in ``"shared"``).

``untied=True`` (``"separate"`` only) gives each recurrent step its own ``W_R``: this is not Eq. 5, but it
is the reading under which paper B's Table 4 reports parameters that grow with t.
"""

from __future__ import annotations

import torch
from torch import nn

from scintiseg.errors import ScintisegError

RECURRENT_KERNELS: tuple[str, ...] = ("separate", "shared")
RECURRENT_NORMS: tuple[str, ...] = ("per_step", "shared")


class RecurrentConvBlock(nn.Module):
    """Recurrent convolutional layer unrolled for ``t`` recurrent steps.

    Args:
        in_channels: channels of the feed-forward input ``u``.
        out_channels: channels of the state ``x``.
        t: recurrent steps (0 = feed-forward only); paper B: 3.
        kernels: ``"separate"`` (W_F, W_R) or ``"shared"`` (one kernel, R2U-Net).
        norm: ``"per_step"`` or ``"shared"`` BatchNorm.
        kernel_size: odd kernel size of the convolutions.
        untied: one ``W_R`` per step (``"separate"`` only).

    Example::

        rcl = RecurrentConvBlock(32, 32, t=3)   # W_F applied once, W_R three times
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        t: int = 3,
        kernels: str = "separate",
        norm: str = "per_step",
        kernel_size: int = 3,
        untied: bool = False,
    ) -> None:
        super().__init__()
        if t < 0:
            raise ScintisegError(f"the number of recurrent steps t must be >= 0, got {t}")
        if kernels not in RECURRENT_KERNELS:
            raise ScintisegError(f"unknown recurrent kernels {kernels!r}; choose one of {', '.join(RECURRENT_KERNELS)}")
        if norm not in RECURRENT_NORMS:
            raise ScintisegError(f"unknown recurrent norm {norm!r}; choose one of {', '.join(RECURRENT_NORMS)}")
        if untied and kernels != "separate":
            raise ScintisegError("untied recurrent weights need kernels='separate'")
        self.t = t
        self.kernels = kernels
        padding = kernel_size // 2
        if kernels == "separate":
            self.feedforward = nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, bias=False)
            n_recurrent = (t if untied else 1) if t > 0 else 0
            self.recurrent = nn.ModuleList(
                nn.Conv2d(out_channels, out_channels, kernel_size, padding=padding, bias=False) for _ in range(n_recurrent)
            )
        else:
            self.project = (
                nn.Identity() if in_channels == out_channels else nn.Conv2d(in_channels, out_channels, 1)
            )
            self.conv = nn.Conv2d(out_channels, out_channels, kernel_size, padding=padding, bias=False)
        n_norms = t + 1 if norm == "per_step" else 1
        self.norms = nn.ModuleList(nn.BatchNorm2d(out_channels) for _ in range(n_norms))
        self.act = nn.ReLU(inplace=False)

    def _norm(self, step: int) -> nn.Module:
        return self.norms[step if len(self.norms) > 1 else 0]

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        if self.kernels == "separate":
            drive = self.feedforward(u)
            x = self.act(self._norm(0)(drive))
            for step in range(1, self.t + 1):
                w_r = self.recurrent[step - 1 if len(self.recurrent) > 1 else 0]
                x = self.act(self._norm(step)(drive + w_r(x)))
            return x
        u = self.project(u)
        x = self.act(self._norm(0)(self.conv(u)))
        for step in range(1, self.t + 1):
            x = self.act(self._norm(step)(self.conv(u + x)))
        return x
