"""G and D: shapes and value ranges for each native size and number of views."""

import pytest
import torch

from scintiseg.gan.dcgan import Discriminator, Generator


@pytest.mark.parametrize("views,size", [(1, 32), (2, 32), (2, 64)])
def test_generator_shapes_and_ranges(views, size):
    torch.manual_seed(0)
    g = Generator(views=views, native_size=size, latent_dim=16, base_width=8)
    out = g(torch.randn(3, 16) * 5)  # large z pushes outputs towards the limits of their ranges
    assert out.shape == (3, 2 * views, size, size)
    images, masks = out[:, :views], out[:, views:]
    assert images.min() >= -1 and images.max() <= 1
    assert masks.min() >= 0 and masks.max() <= 1
    assert images.min() < 0 < images.max()  # tanh, not sigmoid, on the image channels


@pytest.mark.parametrize("views,size", [(1, 32), (2, 64)])
def test_discriminator_returns_one_logit_per_image(views, size):
    d = Discriminator(views=views, native_size=size, base_width=8)
    logits = d(torch.randn(5, 2 * views, size, size) * 10)
    assert logits.shape == (5,)
    assert torch.isfinite(logits).all()


def test_radford_architecture_no_pooling_and_leaky_relu():
    g, d = Generator(2, 64, 16, 8), Discriminator(2, 64, 8)
    kinds_g = {type(m).__name__ for m in g.modules()}
    kinds_d = {type(m).__name__ for m in d.modules()}
    assert "ConvTranspose2d" in kinds_g and "BatchNorm2d" in kinds_g
    assert "LeakyReLU" in kinds_d and "BatchNorm2d" in kinds_d
    assert not any("Pool" in k for k in kinds_g | kinds_d)
    strides = [m.stride for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert strides[:-1] == [(2, 2)] * (len(strides) - 1)


@pytest.mark.parametrize("upsample", ["transpose", "resize"])
@pytest.mark.parametrize("views,size", [(1, 32), (2, 64)])
def test_generator_upsample_modes_shapes_and_ranges(upsample, views, size):
    torch.manual_seed(0)
    g = Generator(views=views, native_size=size, latent_dim=16, base_width=8, upsample=upsample)
    out = g(torch.randn(3, 16) * 5)
    assert out.shape == (3, 2 * views, size, size)
    images, masks = out[:, :views], out[:, views:]
    assert images.min() >= -1 and images.max() <= 1 and images.min() < 0 < images.max()
    assert masks.min() >= 0 and masks.max() <= 1


def test_resize_generator_has_no_transposed_convolution_and_same_channel_plan():
    resize, transpose = Generator(2, 64, 16, 8, upsample="resize"), Generator(2, 64, 16, 8, upsample="transpose")
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in resize.modules())
    assert sum(isinstance(m, torch.nn.Upsample) for m in resize.modules()) == 4  # 4 -> 64 in four x2 steps
    kernels = {m.kernel_size for m in resize.modules() if isinstance(m, torch.nn.Conv2d)}
    assert kernels == {(3, 3)}
    widths = lambda g: [m.num_features for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert widths(resize) == widths(transpose)


def test_bad_upsample_mode_is_rejected():
    with pytest.raises(ValueError):
        Generator(1, 32, 16, 8, upsample="bilinear-ish")
