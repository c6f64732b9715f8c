"""Dense atrous convolution (DAC) blocks: CE-Net's raw DAC and paper A's DAC_1 and DAC_2.

Raw DAC — Gu et al. (2019), CE-Net, §II-B and Fig. 3; reference code ``Guzaiwang/CE-Net``,
``networks/cenet.py``, class ``DACblock``. Three 3x3 convolutions with dilation 1, 3, 5 and one 1x1
convolution, all ``C -> C`` with biases initialised to zero and **no BatchNorm**; the same modules are
**shared** between the four branches, and there is no nonlinearity inside a cascade::

    b1 = relu(d1(x))
    b2 = relu(c1x1(d3(x)))
    b3 = relu(c1x1(d3(d1(x))))
    b4 = relu(c1x1(d5(d3(d1(x)))))
    out = x + b1 + b2 + b3 + b4

The branch receptive fields are 3, 7, 9 and 19 (paper A §2.2.2 "raw" DAC).

DAC_1 — paper A (He et al. 2024) §2.2.2 and Fig. 3(a): "we directly modified the 1x1 convolution in
the last layer to 3x3". We replace the shared tail ``c1x1`` by a 3x3 (dilation 1) convolution, which
grows branches 2-4 by 2 pixels: receptive fields 3, 9, 11, 21 (branch 1 has no tail in CE-Net).

DAC_2 — paper A §2.2.2 and Fig. 3(b): "a perceptual field combination of 3, 5, 7 and 9", designed
against the gridding effect of large dilations. The figure is lost, so two readings are offered
(``dac2_form``):

* ``"cascade"`` (default): cascades of plain 3x3 convolutions of length 1, 2, 3, 4 (dilation 1
  everywhere, so no gridding at all), each of branches 2-4 closed by the 1x1 tail, as in CE-Net:
  ``b1 = c1(x)``, ``b2 = t(c2(c1(x)))``, ``b3 = t(c3(c2(c1(x))))``, ``b4 = t(c4(c3(c2(c1(x)))))``.
* ``"dilated"``: CE-Net's exact branch template with dilations (1, 2, 1) instead of (1, 3, 5):
  ``b1 = d1(x)``, ``b2 = t(d2(x))``, ``b3 = t(d2(d1(x)))``, ``b4 = t(d1'(d2(d1(x))))`` — also 3/5/7/9 and
  gridding-free (the dilations have no common factor > 1).

Weight sharing (``shared``) is our choice to expose: ``True`` reproduces CE-Net (one module per named
convolution, reused by every branch that contains it, and one shared tail); ``False`` gives every
branch its own convolutions and tail (more parameters, same receptive fields). With sharing, a
common cascade prefix is computed once and reused, which is mathematically identical to CE-Net's
repeated calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from scintiseg.errors import ScintisegError

DAC_VARIANTS: tuple[str, ...] = ("raw", "dac1", "dac2")
DAC2_FORMS: tuple[str, ...] = ("cascade", "dilated")


@dataclass(frozen=True)
class DACLayout:
    """The wiring of a DAC block.

    Attributes:
        dilations: dilation of each named 3x3 convolution (index = its name).
        branches: for each branch, the convolutions it applies in order (indices into ``dilations``).
        tail_kernel: kernel of the convolution that closes every branch but the first (1 or 3).
    """

    dilations: tuple[int, ...]
    branches: tuple[tuple[int, ...], ...]
    tail_kernel: int

    def receptive_fields(self) -> tuple[int, ...]:
        """Receptive field (pixels, one side) of each branch: ``1 + sum((k - 1) * d)``."""
        fields = []
        for index, branch in enumerate(self.branches):
            field = 1 + sum(2 * self.dilations[layer] for layer in branch)
            if index > 0:
                field += self.tail_kernel - 1
            fields.append(field)
        return tuple(fields)


def dac_layout(variant: str, dac2_form: str = "cascade") -> DACLayout:
    """The :class:`DACLayout` of ``"raw"`` (CE-Net), ``"dac1"`` or ``"dac2"`` (paper A Fig. 3)."""
    cenet_branches = ((0,), (1,), (0, 1), (0, 1, 2))
    if variant == "raw":
        return DACLayout((1, 3, 5), cenet_branches, tail_kernel=1)
    if variant == "dac1":
        return DACLayout((1, 3, 5), cenet_branches, tail_kernel=3)
    if variant == "dac2":
        if dac2_form == "cascade":
            return DACLayout((1, 1, 1, 1), ((0,), (0, 1), (0, 1, 2), (0, 1, 2, 3)), tail_kernel=1)
        if dac2_form == "dilated":
            return DACLayout((1, 2, 1), cenet_branches, tail_kernel=1)
        raise ScintisegError(f"unknown dac2_form {dac2_form!r}; choose one of {', '.join(DAC2_FORMS)}")
    raise ScintisegError(f"unknown DAC variant {variant!r}; choose one of {', '.join(DAC_VARIANTS)} or None")


class DenseAtrousConvolution(nn.Module):
    """A DAC block: four cascaded (atrous) convolution branches plus the input (residual sum).

    Args:
        channels: channels in and out (every convolution is ``C -> C``).
        variant: ``"raw"`` (CE-Net, receptive fields 3/7/9/19), ``"dac1"`` (1x1 tail -> 3x3) or
            ``"dac2"`` (receptive fields 3/5/7/9).
        shared: share convolutions between branches as CE-Net does (``False``: separate per branch).
        dac2_form: ``"cascade"`` or ``"dilated"`` reading of DAC_2 (see the module docstring).

    Example::

        dac = DenseAtrousConvolution(256, "dac2")   # (B, 256, 16, 16) -> same shape
        dac.layout.receptive_fields()                # (3, 5, 7, 9)
    """

    def __init__(self, channels: int, variant: str = "raw", shared: bool = True, dac2_form: str = "cascade") -> None:
        super().__init__()
        self.layout = dac_layout(variant, dac2_form)
        self.shared = shared

        def conv(dilation: int) -> nn.Conv2d:
            return nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation)

        def tail() -> nn.Conv2d:
            kernel = self.layout.tail_kernel
            return nn.Conv2d(channels, channels, kernel, padding=kernel // 2)

        n_branches = len(self.layout.branches)
        if shared:
            self.convs = nn.ModuleList(conv(d) for d in self.layout.dilations)
            self.tail = tail()
        else:
            self.branch_convs = nn.ModuleList(
                nn.ModuleList(conv(self.layout.dilations[layer]) for layer in branch) for branch in self.layout.branches
            )
            self.branch_tails = nn.ModuleList(tail() for _ in range(n_branches - 1))
        for module in self.modules():  # CE-Net: biases start at zero
            if isinstance(module, nn.Conv2d) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def branch_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The four branch outputs (after their ReLU), before the residual sum."""
        outputs = []
        if self.shared:
            prefixes: dict[tuple[int, ...], torch.Tensor] = {}
            for index, branch in enumerate(self.layout.branches):
                y = x
                for depth in range(1, len(branch) + 1):
                    key = branch[:depth]
                    if key not in prefixes:
                        prefixes[key] = self.convs[branch[depth - 1]](y)
                    y = prefixes[key]
                outputs.append(torch.relu(y if index == 0 else self.tail(y)))
        else:
            for index, convs in enumerate(self.branch_convs):
                y = x
                for layer in convs:
                    y = layer(y)
                outputs.append(torch.relu(y if index == 0 else self.branch_tails[index - 1](y)))
        return outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for branch in self.branch_outputs(x):
            out = out + branch
        return out
