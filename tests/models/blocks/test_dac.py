"""DAC blocks: branch receptive fields measured from input gradients, residual sum, weight sharing."""

import pytest
import torch

from scintiseg.errors import ScintisegError
from scintiseg.models.blocks.dac import DenseAtrousConvolution, dac_layout


def measured_receptive_fields(block: DenseAtrousConvolution, size: int = 45) -> list[int]:
    """Width of the input region that reaches the centre pixel of each branch (positive weights: no cancellation)."""
    with torch.no_grad():
        for parameter in block.parameters():
            parameter.copy_(parameter.abs() + 0.01)
    x = torch.rand(1, block.tail.in_channels if block.shared else block.branch_tails[0].in_channels, size, size) + 0.1
    x.requires_grad_(True)
    fields = []
    for index in range(4):
        x.grad = None
        branch = block.branch_outputs(x)[index]
        branch[0, :, size // 2, size // 2].sum().backward()
        active = (x.grad[0].abs().sum(dim=0) > 0).nonzero()
        rows = active[:, 0]
        cols = active[:, 1]
        assert rows.max() - rows.min() == cols.max() - cols.min()
        fields.append(int(rows.max() - rows.min() + 1))
    return fields


@pytest.mark.parametrize(
    ("variant", "form", "expected"),
    [
        ("raw", "cascade", [3, 7, 9, 19]),
        ("dac1", "cascade", [3, 9, 11, 21]),
        ("dac2", "cascade", [3, 5, 7, 9]),
        ("dac2", "dilated", [3, 5, 7, 9]),
    ],
)
@pytest.mark.parametrize("shared", [True, False])
def test_branch_receptive_fields_measured_from_gradients(variant, form, expected, shared):
    block = DenseAtrousConvolution(2, variant, shared=shared, dac2_form=form)
    assert measured_receptive_fields(block) == expected
    assert list(dac_layout(variant, form).receptive_fields()) == expected


def test_output_is_input_plus_branch_sum():
    torch.manual_seed(0)
    block = DenseAtrousConvolution(3, "raw")
    x = torch.randn(2, 3, 12, 12)
    expected = x + sum(block.branch_outputs(x))
    torch.testing.assert_close(block(x), expected)
    assert block(x).shape == x.shape


def test_shared_weights_follow_cenet_and_unshared_cost_more():
    channels = 4
    shared = DenseAtrousConvolution(channels, "raw", shared=True)
    per_conv = channels * channels * 9 + channels
    # CE-Net: three 3x3 convs (dilation 1, 3, 5) and one 1x1, no BatchNorm
    assert sum(p.numel() for p in shared.parameters()) == 3 * per_conv + channels * channels + channels
    assert [conv.dilation[0] for conv in shared.convs] == [1, 3, 5]
    unshared = DenseAtrousConvolution(channels, "raw", shared=False)
    # branches use 1, 1, 2, 3 convs + three tails
    assert sum(p.numel() for p in unshared.parameters()) == 7 * per_conv + 3 * (channels * channels + channels)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in shared.modules())
    assert all(conv.bias.abs().sum() == 0 for conv in shared.convs)


def test_unknown_variant_is_a_clear_error():
    with pytest.raises(ScintisegError, match="unknown DAC variant"):
        DenseAtrousConvolution(4, "dac3")
    with pytest.raises(ScintisegError, match="dac2_form"):
        DenseAtrousConvolution(4, "dac2", dac2_form="spiral")


def test_raw_dac_matches_the_cenet_formula():
    """CE-Net DACblock: b1 = relu(d1 x), b2 = relu(c(d3 x)), b3 = relu(c(d3 d1 x)), b4 = relu(c(d5 d3 d1 x))."""
    torch.manual_seed(0)
    block = DenseAtrousConvolution(3, "raw")
    with torch.no_grad():
        for conv in [*block.convs, block.tail]:
            conv.bias.normal_()  # non-zero biases: every branch has negative pre-activations to rectify
    d1, d3, d5 = block.convs
    x = torch.randn(1, 3, 20, 20)
    with torch.no_grad():
        branches = [torch.relu(d1(x)), torch.relu(block.tail(d3(x))), torch.relu(block.tail(d3(d1(x)))),
                    torch.relu(block.tail(d5(d3(d1(x)))))]
        outputs = block.branch_outputs(x)
        assert len(outputs) == len(branches) == 4
        for got, expected in zip(outputs, branches, strict=True):
            torch.testing.assert_close(got, expected)
        torch.testing.assert_close(block(x), x + sum(branches))
