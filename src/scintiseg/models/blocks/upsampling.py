"""The decoder's up-sampling step: double the resolution and change the channel count.

Ronneberger et al. (2015) §2: every decoder step starts with "an upsampling of the feature map followed by a 2x2
convolution ('up-convolution') that halves the number of feature channels", usually written (as MONAI's
``UpSample`` ``mode="deconv"`` does) as a 2x2 transposed convolution with stride 2: ``"transpose"``. Paper A (He et
al. 2024, §2.2) keeps the U-Net decoder and paper B (Lin et al. 2022, §2.3) names only "upsampling"; neither says
how. Both :class:`~scintiseg.models.unet.UNet` (so DPU-Net) and
:class:`~scintiseg.models.rdinet.RDINet` take the choice as their ``upsample`` argument.

Choices (ours): ``"bilinear"`` is the parameter-light alternative, bilinear interpolation (``align_corners=False``,
PyTorch's default) followed by a 1x1 convolution (with bias) to the output channels. The convolution comes *after*
the interpolation; both are linear and the interpolation weights sum to one, so before it (MONAI's ``UpSample``
``mode="nontrainable"`` default ``pre_conv``) gives the same map at a quarter of the cost, but the order fixes the
checkpoint keys (``ups.N.1.weight``), so it stays. The transposed convolution carries a bias too (PyTorch's
default); neither mode adds normalisation or an activation (the decoder's convolutions that follow do).
"""

from __future__ import annotations

from torch import nn

from scintiseg.errors import ScintisegError

UPSAMPLE_MODES: tuple[str, ...] = ("transpose", "bilinear")


def make_upsampling(mode: str, in_channels: int, out_channels: int) -> nn.Module:
    """The up-sampling module of one decoder step: ``(B, in_channels, H, W) -> (B, out_channels, 2H, 2W)``.

    Args:
        mode: ``"transpose"`` (2x2 transposed convolution, stride 2) or ``"bilinear"`` (bilinear interpolation,
            then a 1x1 convolution).
        in_channels: channels of the map coming up from the level below.
        out_channels: channels of the result (the skip connection's, in a U-Net).

    Raises:
        ScintisegError: an unknown ``mode`` (naming the ones there are).

    Example::

        up = make_upsampling("transpose", 64, 32)   # (B, 64, 16, 16) -> (B, 32, 32, 32)
    """
    if mode == "transpose":
        return nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)
    if mode == "bilinear":
        return nn.Sequential(
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            nn.Conv2d(in_channels, out_channels, kernel_size=1),
        )
    raise ScintisegError(f"unknown upsample {mode!r}; choose one of {', '.join(UPSAMPLE_MODES)}")
