"""The decoder's up-sampling block: known values of both modes, the order of the bilinear mode, a clear error."""

import pytest
import torch

from scintiseg.errors import ScintisegError
from scintiseg.models import blocks, rdinet, unet
from scintiseg.models.blocks.upsampling import UPSAMPLE_MODES, make_upsampling


@pytest.mark.parametrize("mode", UPSAMPLE_MODES)
def test_doubles_the_grid_and_maps_the_channels(mode):
    up = make_upsampling(mode, 6, 3)
    assert up(torch.randn(2, 6, 5, 7)).shape == (2, 3, 10, 14)


def test_transpose_puts_each_pixel_times_the_2x2_kernel_in_its_own_block():
    """Ronneberger's up-conv 2x2: stride 2 = kernel size, so output block (i, j) is ``x[i, j] * kernel + bias``."""
    up = make_upsampling("transpose", 1, 1)
    with torch.no_grad():
        up.weight.copy_(torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
        up.bias.fill_(0.5)
    x = torch.tensor([[[[1.0, -2.0], [0.0, 10.0]]]])
    expected = torch.tensor([[1.0, 2.0, -2.0, -4.0], [3.0, 4.0, -6.0, -8.0], [0.0, 0.0, 10.0, 20.0],
                             [0.0, 0.0, 30.0, 40.0]]) + 0.5
    with torch.no_grad():
        torch.testing.assert_close(up(x)[0, 0], expected)


def test_bilinear_interpolates_then_convolves_which_equals_the_other_order():
    """The docstring's claim: the 1x1 convolution after the interpolation gives the map it would give before it
    (both linear, interpolation weights summing to one, so the bias passes unchanged)."""
    torch.manual_seed(0)
    up = make_upsampling("bilinear", 4, 2)
    assert [type(m).__name__ for m in up] == ["Upsample", "Conv2d"]  # checkpoint keys ups.N.1.*
    x = torch.randn(2, 4, 6, 5)
    conv = up[1]
    interpolate = torch.nn.functional.interpolate
    with torch.no_grad():
        after = conv(interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
        before = interpolate(conv(x), scale_factor=2, mode="bilinear", align_corners=False)
        torch.testing.assert_close(up(x), after)
        torch.testing.assert_close(after, before)


def test_an_unknown_mode_is_a_clear_error_naming_the_modes():
    with pytest.raises(ScintisegError, match="unknown upsample 'nearest'; choose one of transpose, bilinear"):
        make_upsampling("nearest", 4, 2)


def test_the_networks_build_their_decoders_with_this_block():
    """U-Net (so DPU-Net) and RDI-Net take it from here, and the blocks package exports it."""
    assert unet.make_upsampling is make_upsampling is rdinet.make_upsampling is blocks.make_upsampling
    assert blocks.UPSAMPLE_MODES is UPSAMPLE_MODES
