"""The model registry: names, presets, argument checks, paper A Table 2 rows."""

import pytest
import torch

from scintiseg.errors import ScintisegError
from scintiseg.models import create_model, list_models, list_presets
from scintiseg.models.blocks.dac import DenseAtrousConvolution
from scintiseg.models.blocks.dual_pooling import DualPoolingFusion
from scintiseg.models.blocks.rmp import ResidualMultiKernelPooling
from scintiseg.models.dpunet import PAPER_A_TABLE2


def test_every_issue_model_is_registered_with_both_presets():
    assert {"unet", "dpunet", "rdinet", "monai_basicunet", "monai_dynunet"} <= set(list_models())
    for name in list_models():
        presets = list_presets(name)
        assert {"default", "paper"} <= set(presets)


def test_presets_set_width_and_depth_and_kwargs_override_them():
    paper = create_model("unet", preset="paper")
    assert paper.config["width"] == 64 and paper.config["depth"] == 4
    assert paper.encoders[0][0].out_channels == 64 and paper.bottleneck[0].out_channels == 1024
    small = create_model("unet", width=8, depth=3)
    assert small.config["width"] == 8 and small.widths == [8, 16, 32, 64]


def test_example_from_the_issue():
    model = create_model("dpunet", pooling="fusion", dac="dac2", rmp=True, width=32, depth=4)
    assert model.config == {**model.config, "name": "dpunet", "pooling": "fusion", "dac": "dac2", "rmp": True, "width": 32}
    assert model.in_channels == 1


@pytest.mark.parametrize("row", list(PAPER_A_TABLE2))
def test_every_table2_row_builds_with_the_right_blocks(row):
    arguments = PAPER_A_TABLE2[row]
    model = create_model("dpunet", width=4, depth=2, **arguments)
    modules = list(model.modules())
    assert any(isinstance(m, DualPoolingFusion) for m in modules) == (arguments["pooling"] == "fusion")
    dacs = [m for m in modules if isinstance(m, DenseAtrousConvolution)]
    assert len(dacs) == (arguments["dac"] is not None)
    assert any(isinstance(m, ResidualMultiKernelPooling) for m in modules) == arguments["rmp"]
    pool = type(model.pools[0]).__name__
    assert pool == {"max": "MaxPool2d", "avg": "AvgPool2d", "fusion": "DualPoolingFusion"}[arguments["pooling"]]
    assert model(torch.randn(1, 1, 32, 32)).shape == (1, 1, 32, 32)


def test_plain_unet_equals_dpunet_without_extras():
    unet = create_model("unet", width=4, depth=2, pooling="avg")
    dpunet = create_model("dpunet", width=4, depth=2, pooling="avg", dac=None, rmp=False)
    dpunet.load_state_dict(unet.state_dict())  # same parameters, same names


def test_errors_are_clear():
    with pytest.raises(ScintisegError, match="unknown model"):
        create_model("segformer")
    with pytest.raises(ScintisegError, match="does not take"):
        create_model("unet", dac="dac2")
    with pytest.raises(ScintisegError, match="no preset"):
        create_model("unet", preset="huge")
    with pytest.raises(ScintisegError, match="pooling"):
        create_model("unet", pooling="fusion")
    with pytest.raises(ScintisegError, match="fixed depth"):
        create_model("monai_basicunet", depth=3)


def test_rmp_bottleneck_too_small_is_a_clear_error():
    model = create_model("dpunet", width=4, depth=3, rmp=True)
    with pytest.raises(ScintisegError, match="at least 5 px"):
        model(torch.randn(1, 1, 32, 32))  # bottleneck 4 x 4 < largest pool 5


@pytest.mark.parametrize("name", ["unet", "dpunet", "rdinet", "monai_basicunet", "monai_dynunet"])
def test_default_preset_maps_a_256_crop_to_256_logits(name):
    model = create_model(name).eval()
    with torch.inference_mode():
        assert model(torch.randn(1, model.in_channels, 256, 256)).shape == (1, 1, 256, 256)
