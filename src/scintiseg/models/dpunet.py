"""DPU-Net: paper A's U-Net with dual-pooling fusion, DAC and RMP in the bottleneck.

He et al. (2024), §2.2 and Fig. 1: the U-Net of :class:`~scintiseg.models.unet.UNet` with

* a pooling choice for every encoder step: ``"max"``, ``"avg"`` or ``"fusion"`` (the dual-pooling
  module, §2.2.1 and Fig. 2, :class:`~scintiseg.models.blocks.dual_pooling.DualPoolingFusion`);
* a DAC block (§2.2.2, Fig. 3; ``"raw"`` CE-Net, ``"dac1"``, ``"dac2"`` or ``None``) and an RMP block
  (pools 2/3/4/5) "in the bottleneck part of the U-Net network without making other major adjustments
  to the encoding and decoding parts".

Choices left open (ours): DAC and RMP follow the bottleneck's double convolution, in CE-Net's order
(DAC, then RMP); the RMP output's ``C + 4`` channels feed the first decoder up-sampling directly, as
CE-Net's ``decoder4`` takes 516 = 512 + 4 channels. With RMP the bottleneck must be at least 5 x 5
(largest pool), i.e. inputs of at least ``5 * 2**depth`` pixels. RMP's 1x1 convolution is shared by all the
pooled maps, as in CE-Net's ``SPPblock``; ``rmp_shared_conv=False`` gives each map its own.

Every row of paper A Table 2 is one call (see :data:`PAPER_A_TABLE2`)::

    create_model("dpunet", **PAPER_A_TABLE2["Fusion + DAC_2 + RMP"])
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from scintiseg.errors import ScintisegError
from scintiseg.models.blocks.dac import DenseAtrousConvolution
from scintiseg.models.blocks.rmp import PAPER_A_POOL_SIZES, ResidualMultiKernelPooling
from scintiseg.models.unet import UNet

#: Paper A Table 2: the row label -> the ``dpunet`` arguments that build it.
PAPER_A_TABLE2: dict[str, dict[str, object]] = {
    "U-Net (max pooling)": {"pooling": "max", "dac": None, "rmp": False},
    "U-Net (average pooling)": {"pooling": "avg", "dac": None, "rmp": False},
    "Fusion": {"pooling": "fusion", "dac": None, "rmp": False},
    "Fusion + raw DAC + RMP": {"pooling": "fusion", "dac": "raw", "rmp": True},
    "Fusion + DAC_1 + RMP": {"pooling": "fusion", "dac": "dac1", "rmp": True},
    "Fusion + DAC_2 + RMP": {"pooling": "fusion", "dac": "dac2", "rmp": True},
}


class DPUNet(UNet):
    """U-Net + dual pooling + DAC + RMP (paper A).

    Args:
        in_channels: image channels.
        width: channels of the first level (doubled per level).
        depth: number of down-samplings.
        pooling: ``"max"``, ``"avg"`` or ``"fusion"`` at every encoder step.
        dac: ``"raw"``, ``"dac1"``, ``"dac2"`` or ``None`` (no DAC).
        rmp: add the RMP block after the DAC.
        dac_shared: share DAC convolutions between branches (CE-Net) or not.
        dac2_form: ``"cascade"`` or ``"dilated"`` reading of DAC_2.
        rmp_pool_sizes: RMP windows (paper A 2/3/4/5; CE-Net 2/3/5/6).
        rmp_shared_conv: one 1x1 convolution for every RMP pooled map (CE-Net) or one each (``False``; the state
            dict then holds one ``convs.i`` per pool instead of ``convs.0``).
        upsample: ``"transpose"`` or ``"bilinear"``.
        batch_norm: BatchNorm in the U-Net convolutions.

    Example::

        model = DPUNet(width=16, depth=4, pooling="fusion", dac="dac2", rmp=True)
    """

    allowed_poolings = ("max", "avg", "fusion")

    def __init__(
        self,
        in_channels: int = 1,
        width: int = 16,
        depth: int = 4,
        pooling: str = "fusion",
        dac: str | None = "dac2",
        rmp: bool = True,
        dac_shared: bool = True,
        dac2_form: str = "cascade",
        rmp_pool_sizes: Sequence[int] = PAPER_A_POOL_SIZES,
        rmp_shared_conv: bool = True,
        upsample: str = "transpose",
        batch_norm: bool = True,
    ) -> None:
        if dac in ("none", ""):
            dac = None
        self._dac_options = (dac, dac_shared, dac2_form)
        self._rmp_options = (bool(rmp), tuple(rmp_pool_sizes), bool(rmp_shared_conv))
        if rmp and not self._rmp_options[1]:
            raise ScintisegError("rmp_pool_sizes must not be empty when rmp=True")
        super().__init__(in_channels, width, depth, pooling, upsample, batch_norm)

    def _min_bottleneck(self) -> int:
        use_rmp, pool_sizes, _ = self._rmp_options
        return max(pool_sizes) if use_rmp else 1

    def _build_context(self, channels: int) -> tuple[nn.Module, int]:
        dac, dac_shared, dac2_form = self._dac_options
        use_rmp, pool_sizes, shared_conv = self._rmp_options
        modules: list[nn.Module] = []
        if dac is not None:
            modules.append(DenseAtrousConvolution(channels, dac, shared=dac_shared, dac2_form=dac2_form))
        if use_rmp:
            rmp_block = ResidualMultiKernelPooling(channels, pool_sizes, shared_conv=shared_conv)
            modules.append(rmp_block)
            channels = rmp_block.out_channels
        return (nn.Sequential(*modules) if modules else nn.Identity()), channels
