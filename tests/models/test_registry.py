"""The model registry: names, presets, argument checks, paper A Table 2 rows."""


import pytest
import torch

from scintiseg.errors import ScintisegError
from scintiseg.models import create_model, list_models, list_presets
from scintiseg.models.blocks.dac import DenseAtrousConvolution
from scintiseg.models.blocks.dual_pooling import DualPoolingFusion
from scintiseg.models.blocks.rmp import ResidualMultiKernelPooling
from scintiseg.models.dpunet import PAPER_A_TABLE2
import scintiseg.models.registry as registry_module
from scintiseg.models.registry import COMMON_PRESETS
from support import assert_all_lists_public_names


def test_every_issue_model_is_registered_with_both_presets():
    assert {"unet", "dpunet", "rdinet", "monai_basicunet", "monai_dynunet"} <= set(list_models())
    for name in list_models():
        presets = list_presets(name)
        assert {"default", "paper"} <= set(presets)


def test_presets_are_the_common_three_and_only_monai_dynunet_overrides_one():
    """What the registry's docstring says: default, paper and small for every network; dpunet's are the common ones
    (``create_model("dpunet", preset="paper")`` is the 64-wide network), monai_dynunet's paper preset is nnU-Net's."""
    for name in list_models():
        expected = dict(COMMON_PRESETS)
        if name == "monai_dynunet":
            expected["paper"] = {"width": 32, "depth": 5}
        assert list_presets(name) == expected, name
    assert create_model("dpunet", preset="paper").encoders[0][0].out_channels == 64


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


def test_rmp_with_a_1x1_convolution_per_pool_is_reachable_by_name():
    """``rmp_shared_conv=False`` (RMP's one-convolution-per-pooled-map variant) through ``create_model``; the default
    keeps CE-Net's one shared convolution and the state-dict keys of every DPU-Net saved before the argument."""
    torch.manual_seed(0)
    shared = create_model("dpunet", width=4, depth=2).eval()
    separate = create_model("dpunet", width=4, depth=2, rmp_shared_conv=False).eval()
    assert shared.config["rmp_shared_conv"] is True and separate.config["rmp_shared_conv"] is False
    rmp_keys = sorted(k for k in shared.state_dict() if k.startswith("context.1."))
    assert rmp_keys == ["context.1.convs.0.bias", "context.1.convs.0.weight"]
    assert sorted(k for k in separate.state_dict() if k.startswith("context.1.convs.")) == sorted(
        f"context.1.convs.{i}.{p}" for i in range(4) for p in ("weight", "bias"))
    assert create_model(**separate.config).state_dict().keys() == separate.state_dict().keys()
    # the four convolutions set to the shared one give the shared network's output; one changed, another output
    separate_state = {k: v for k, v in shared.state_dict().items() if not k.startswith("context.1.convs.")}
    for i in range(4):
        separate_state[f"context.1.convs.{i}.weight"] = shared.state_dict()["context.1.convs.0.weight"]
        separate_state[f"context.1.convs.{i}.bias"] = shared.state_dict()["context.1.convs.0.bias"]
    separate.load_state_dict(separate_state)
    image = torch.randn(1, 1, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(separate(image), shared(image))
        separate.context[1].convs[2].bias += 1.0
        assert not torch.allclose(separate(image), shared(image))


def test_plain_unet_equals_dpunet_without_extras():
    """A DP-UNet without its extras (average pooling, no DAC, no RMP) is the plain U-Net: the U-Net's state dict
    loads strictly (same names and shapes), and then both give the same output on one input (eval mode: batch
    norm's running statistics, part of the state dict, are used)."""
    torch.manual_seed(0)
    unet = create_model("unet", width=4, depth=2, pooling="avg").eval()
    dpunet = create_model("dpunet", width=4, depth=2, pooling="avg", dac=None, rmp=False).eval()
    image = torch.randn(2, 1, 32, 32)
    with torch.inference_mode():
        expected = unet(image)
        assert not torch.allclose(dpunet(image), expected)  # its own random weights: a different output
    dpunet.load_state_dict(unet.state_dict())
    with torch.inference_mode():
        torch.testing.assert_close(dpunet(image), expected, rtol=0, atol=0)  # the same operations: bit for bit


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


def test_a_networks_own_preset_changes_only_what_it_names(monkeypatch):
    from scintiseg.models import registry
    from scintiseg.models.unet import UNet

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # the test's entry is dropped after it
    registry.register_model("deeper_unet", UNet, "a U-Net whose paper preset is one level deeper",
                            {"paper": {"depth": 5}, "tiny": {"width": 2}})
    presets = list_presets("deeper_unet")
    assert presets["paper"] == {**COMMON_PRESETS["paper"], "depth": 5}
    assert presets["small"] == COMMON_PRESETS["small"] and presets["tiny"] == {"width": 2}


def test_all_lists_every_public_function_and_class_and_no_helper():
    """API audit 74, finding 16: without ``__all__``, ``from scintiseg.models.registry import *`` also gave the names the module imports
    (``torch``, ``Path``, ...)."""
    assert_all_lists_public_names(registry_module)
