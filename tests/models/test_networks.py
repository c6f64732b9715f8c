"""Every registered network through one generic tester (like smp's ``BaseModelTester``).

Each ``Test*`` class below sets a model name and tiny arguments; the tests of :class:`BaseModelTester`
then run for it (32 x 32 and 32 x 64 inputs).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from scintiseg.errors import ScintisegError
from scintiseg.models import create_model


def blob_batch(batch: int, channels: int, size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Images with two bright discs on noise, and their masks."""
    generator = torch.Generator().manual_seed(seed)
    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    masks = torch.zeros(batch, 1, size, size)
    for item in range(batch):
        for _ in range(2):
            r, c = torch.randint(4, size - 4, (2,), generator=generator)
            masks[item, 0] = torch.maximum(masks[item, 0], (((rows - r) ** 2 + (cols - c) ** 2) <= 9).float())
    images = masks.repeat(1, channels, 1, 1) * 2.0 + 0.3 * torch.randn(batch, channels, size, size, generator=generator)
    return images, masks


class BaseModelTester:
    """Subclass and set ``name`` and ``kwargs`` (tiny widths); every test below then runs for that model."""

    name: ClassVar[str]
    kwargs: ClassVar[dict[str, Any]]
    sizes: ClassVar[list[tuple[int, int]]] = [(32, 32), (32, 64)]
    bad_size: ClassVar[tuple[int, int]] = (34, 34)

    def build(self, **overrides: Any) -> torch.nn.Module:
        torch.manual_seed(0)
        return create_model(self.name, **{**self.kwargs, **overrides})

    def test_output_shape_is_one_logit_per_pixel(self):
        model = self.build().eval()
        for height, width in self.sizes:
            x = torch.randn(2, model.in_channels, height, width)
            with torch.no_grad():
                assert model(x).shape == (2, 1, height, width)

    def test_size_not_multiple_of_2_power_depth_is_a_clear_error(self):
        model = self.build().eval()
        with pytest.raises(ScintisegError, match="multiples of"):
            model(torch.randn(1, model.in_channels, *self.bad_size))

    def test_wrong_channel_count_is_a_clear_error(self):
        model = self.build().eval()
        with pytest.raises(ScintisegError, match="expects input"):
            model(torch.randn(1, model.in_channels + 1, *self.sizes[0]))

    @pytest.mark.parametrize("dtype", [torch.uint8, torch.int16, torch.float64, torch.float16, torch.bfloat16])
    def test_an_input_of_another_dtype_is_a_clear_error(self, dtype):
        """API audit 74, finding 5: counts as uint16 / int16, float64 or half used to fail with torch's own message."""
        model = self.build().eval()
        x = torch.zeros(1, model.in_channels, *self.sizes[0], dtype=dtype)
        with pytest.raises(ScintisegError, match=rf"expects a torch.float32 tensor .*, got {dtype}: normalise.*model_input"):
            model(x)

    def test_a_numpy_array_is_a_clear_error(self):
        model = self.build().eval()
        x = np.zeros((1, model.in_channels, *self.sizes[0]), np.float32)
        with pytest.raises(ScintisegError, match="got ndarray: .*torch.from_numpy"):
            model(x)

    def test_config_rebuilds_the_same_architecture(self):
        model = self.build()
        config = json.loads(json.dumps(model.config))  # survives a JSON round trip
        assert config["name"] == self.name
        rebuilt = create_model(**config)
        rebuilt.load_state_dict(model.state_dict())  # strict: same parameter names and shapes
        model.eval(), rebuilt.eval()
        x = torch.randn(1, model.in_channels, *self.sizes[0])
        with torch.no_grad():
            torch.testing.assert_close(rebuilt(x), model(x))

    def test_overfits_a_tiny_batch(self):
        model = self.build()
        images, masks = blob_batch(2, model.in_channels, self.sizes[0][0])
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        losses = []
        for _ in range(30):
            optimiser.zero_grad()
            loss = loss_fn(model(images), masks)
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        assert losses[-1] < 0.5 * losses[0], losses




class TestUNetMax(BaseModelTester):
    name = "unet"
    kwargs = {"width": 4, "depth": 2, "pooling": "max"}


class TestUNetAvgBilinear(BaseModelTester):
    name = "unet"
    kwargs = {"width": 4, "depth": 3, "pooling": "avg", "upsample": "bilinear"}


class TestDPUNetFusionDac2Rmp(BaseModelTester):
    name = "dpunet"
    kwargs = {"width": 4, "depth": 2, "pooling": "fusion", "dac": "dac2", "rmp": True}


class TestDPUNetRawDacUnshared(BaseModelTester):
    name = "dpunet"
    kwargs = {"width": 4, "depth": 2, "pooling": "fusion", "dac": "raw", "dac_shared": False, "rmp": True}


class TestDPUNetRmpConvPerPool(BaseModelTester):
    name = "dpunet"
    kwargs = {"width": 4, "depth": 2, "pooling": "max", "dac": "dac2", "rmp": True, "rmp_shared_conv": False}


class TestDPUNetDac1NoRmp(BaseModelTester):
    name = "dpunet"
    kwargs = {"width": 4, "depth": 3, "pooling": "avg", "dac": "dac1", "rmp": False}


class TestRDINetAggregated(BaseModelTester):
    name = "rdinet"
    kwargs = {"width": 4, "depth": 2, "t": 2, "in_channels": 1}


class TestRDINetTwoViews(BaseModelTester):
    name = "rdinet"
    kwargs = {"width": 4, "depth": 2, "t": 1, "in_channels": 2, "recurrent": "all", "recurrent_kernels": "shared"}


class TestMonaiBasicUNet(BaseModelTester):
    name = "monai_basicunet"
    kwargs = {"width": 4, "depth": 4}
    bad_size = (40, 40)


class TestMonaiDynUNet(BaseModelTester):
    name = "monai_dynunet"
    kwargs = {"width": 4, "depth": 2}


def test_rdinet_feature_sum_treats_views_symmetrically():
    """With feature_sum the two views go through one stem and are added: swapping them changes nothing."""
    torch.manual_seed(0)
    model = create_model("rdinet", width=4, depth=2, t=1, in_channels=2).eval()
    x = torch.randn(1, 2, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(x.flip(1)))


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("unet", {"width": 4, "depth": 2}), ("dpunet", {"width": 4, "depth": 2}), ("rdinet", {"width": 4, "depth": 2, "t": 1})],
)
def test_every_decoder_gets_its_levels_encoder_output_as_skip(name, kwargs):
    torch.manual_seed(0)
    model = create_model(name, **kwargs).eval()
    skips, decoder_inputs = {}, {}
    for level, encoder in enumerate(model.encoders):
        encoder.register_forward_hook(lambda m, i, o, level=level: skips.__setitem__(level, o))
    for index, decoder in enumerate(model.decoders):
        decoder.register_forward_pre_hook(lambda m, i, index=index: decoder_inputs.__setitem__(index, i[0]))
    with torch.no_grad():
        model(torch.randn(1, 1, 32, 32))
    depth = len(model.encoders)
    for level in range(depth):
        skip = skips[level]
        assert skip.abs().sum() > 0
        torch.testing.assert_close(decoder_inputs[depth - 1 - level][:, -skip.shape[1]:], skip)


def test_rdinet_feature_sum_adds_the_stem_features_of_the_two_views():
    torch.manual_seed(0)
    model = create_model("rdinet", width=4, depth=2, t=1, in_channels=2).eval()
    x = torch.randn(1, 2, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.aggregate(x), model.stem(x[:, :1]) + model.stem(x[:, 1:]))


def test_rdinet_runs_its_recurrent_block_in_the_bottleneck_t_times():
    from scintiseg.models.blocks.recurrent import RecurrentConvBlock

    torch.manual_seed(0)
    model = create_model("rdinet", width=4, depth=2, t=2).eval()
    blocks = [m for m in model.bottleneck.modules() if isinstance(m, RecurrentConvBlock)]
    assert len(blocks) == 1 and blocks[0].t == 2
    calls = []
    blocks[0].register_forward_hook(lambda m, i, o: calls.append(o.shape))
    with torch.no_grad():
        model(torch.randn(1, 1, 32, 32))
    assert len(calls) == 1
    assert not any(isinstance(m, RecurrentConvBlock) for m in create_model("rdinet", width=4, depth=2, t=0).modules())


def test_dpunet_keeps_its_dac_without_rmp():
    from scintiseg.models.blocks.dac import DenseAtrousConvolution

    model = create_model("dpunet", width=4, depth=2, dac="dac1", rmp=False)
    dacs = [m for m in model.context.modules() if isinstance(m, DenseAtrousConvolution)]
    assert len(dacs) == 1 and dacs[0].layout.tail_kernel == 3


# Session 67 mutation audit (docs/mutation-audit-s67/leftovers.md): the base checks and the MONAI wrappings.


def test_every_input_check_of_the_base_class_is_a_clear_error():
    """Width checked as well as height, 5-D input refused, the bottleneck from the shorter side."""
    unet = create_model("unet", width=4, depth=2).eval()
    with pytest.raises(ScintisegError, match="multiples of 4, got 32 x 34"):
        unet(torch.randn(1, 1, 32, 34))  # only the width is off
    with pytest.raises(ScintisegError, match="expects input"):
        unet(torch.randn(1, 1, 1, 32, 32))  # channel count right, dimensions wrong
    dpunet = create_model("dpunet", width=4, depth=3, rmp=True).eval()
    with pytest.raises(ScintisegError, match="bottleneck would be 4 px but needs at least 5 px"):
        dpunet(torch.randn(1, 1, 32, 64))  # the shorter side sets the bottleneck


def test_channels_and_depth_out_of_range_are_refused_when_built():
    with pytest.raises(ScintisegError, match="in_channels must be >= 1, got 0"):
        create_model("unet", in_channels=0, width=4, depth=2)
    with pytest.raises(ScintisegError, match=r"depth must lie in 1\.\.8, got 9"):
        create_model("unet", width=1, depth=9)


def test_monai_baselines_are_built_as_documented():
    basic = create_model("monai_basicunet", width=4, norm="batch")
    assert basic.net.final_conv.in_channels == 4  # features (w, 2w, 4w, 8w, 16w, w)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in basic.modules())
    dyn = create_model("monai_dynunet", width=4, depth=2, max_filters=8, norm="batch", res_block=True)
    assert list(dyn.net.filters) == [4, 8, 8]  # doubling from width, capped at max_filters
    assert type(dyn.net.input_block).__name__ == "UnetResBlock"
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in dyn.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in create_model("monai_dynunet", width=4, depth=2).modules())
    with pytest.raises(ScintisegError, match="unknown norm 'group'"):
        create_model("monai_dynunet", width=4, depth=2, norm="group")


def test_the_dtype_check_follows_the_weights_and_lets_autocast_through():
    """A network cast to float64 takes float64 (and refuses float32); under torch.autocast the autocast dtype passes
    as well as the weights' (training's bfloat16 path: scintiseg.train.loop._autocast), and a meta tensor (the
    experiment runner's size check) is no autocast device."""
    model = create_model("unet", width=4, depth=2).eval()
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        assert model.double()(x.double()).dtype == torch.float64
        with pytest.raises(ScintisegError, match="expects a torch.float64 tensor .*, got torch.float32"):
            model(x)
        model.float()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert model(x).dtype == torch.bfloat16
            assert model(x.bfloat16()).dtype == torch.bfloat16
            with pytest.raises(ScintisegError, match="got torch.float16"):
                model(x.half())
    model.check_input(torch.empty(1, 1, 32, 32, device="meta"))


@pytest.mark.parametrize("view_fusion", ["feature_sum", "concat"])
def test_rdinet_refuses_more_than_two_views(view_fusion):
    """API audit 74, finding 11: in_channels=3 built, and feature_sum added a third "view" through the shared stem;
    paper B's Eq. 4 combines ANT and mirrored POST, two views."""
    with pytest.raises(ScintisegError, match="rdinet takes 1 .* or 2 .* input channels, got in_channels=3"):
        create_model("rdinet", in_channels=3, width=4, depth=2, view_fusion=view_fusion)
    assert create_model("rdinet", in_channels=2, width=4, depth=2, view_fusion=view_fusion).in_channels == 2
