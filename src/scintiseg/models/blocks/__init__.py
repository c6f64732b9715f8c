"""Building blocks of the networks of paper A (He et al. 2024) and paper B (Lin et al. 2022).

One concept per file; each cites the paper section and the reference code whose semantics it follows.
"""

from scintiseg.models.blocks.coord_attention import CoordinateAttention
from scintiseg.models.blocks.dac import DenseAtrousConvolution, dac_layout
from scintiseg.models.blocks.dilated_residual import DilatedResidualBlock, dilated_output_size
from scintiseg.models.blocks.double_conv import DoubleConv
from scintiseg.models.blocks.dual_pooling import DualPoolingFusion, make_pooling
from scintiseg.models.blocks.inception import InceptionBlock
from scintiseg.models.blocks.recurrent import RecurrentConvBlock
from scintiseg.models.blocks.rmp import ResidualMultiKernelPooling
from scintiseg.models.blocks.upsampling import UPSAMPLE_MODES, make_upsampling

__all__ = [
    "CoordinateAttention",
    "DenseAtrousConvolution",
    "DilatedResidualBlock",
    "DoubleConv",
    "DualPoolingFusion",
    "InceptionBlock",
    "RecurrentConvBlock",
    "ResidualMultiKernelPooling",
    "UPSAMPLE_MODES",
    "dac_layout",
    "dilated_output_size",
    "make_pooling",
    "make_upsampling",
]
