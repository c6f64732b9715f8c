"""Dual-pooling fusion (paper A Fig. 2) against a hand computation on a small tensor."""

import pytest
import torch

from scintiseg.errors import ScintisegError
from scintiseg.models.blocks.dual_pooling import DualPoolingFusion, make_pooling


def test_fusion_equals_hand_computation():
    """1 channel, 4x4 input: max- and avg-pool by hand, CoordAtt weights by hand from the max map."""
    block = DualPoolingFusion(1).eval()
    with torch.no_grad():
        block.attention.conv1.weight.zero_()
        block.attention.conv1.bias.zero_()
        block.attention.conv1.weight[:, 0] = 1.0  # every hidden channel = the strip mean
        block.attention.conv_h.weight.fill_(0.5 / 8)  # a_h = sigmoid(0.5 * mean of hswish(hidden))
        block.attention.conv_h.bias.fill_(0.0)
        block.attention.conv_w.weight.fill_(-1.0 / 8)
        block.attention.conv_w.bias.fill_(1.0)
    x = torch.tensor([[1.0, 2.0, 0.0, 4.0], [3.0, 0.0, 1.0, 1.0], [0.0, 0.0, 2.0, 2.0], [8.0, 4.0, 2.0, 6.0]])
    max_pooled = torch.tensor([[3.0, 4.0], [8.0, 6.0]])
    avg_pooled = torch.tensor([[1.5, 1.5], [3.0, 3.0]])
    row_means = max_pooled.mean(dim=1)  # [3.5, 7.0]
    col_means = max_pooled.mean(dim=0)  # [5.5, 5.0]
    eps = block.attention.bn1.eps

    def hswish(v):
        v = v / (1 + eps) ** 0.5  # BatchNorm in eval mode with running mean 0, var 1
        return v * torch.clamp(v + 3, 0, 6) / 6

    a_h = torch.sigmoid(0.5 * hswish(row_means))  # (2,)
    a_w = torch.sigmoid(-1.0 * hswish(col_means) + 1.0)  # (2,)
    expected = avg_pooled * a_h[:, None] * a_w[None, :]
    with torch.no_grad():
        out = block(x[None, None])
    torch.testing.assert_close(out[0, 0], expected)


def test_fusion_weights_come_from_max_and_scale_the_average():
    torch.manual_seed(0)
    block = DualPoolingFusion(8).eval()
    x = torch.randn(2, 8, 16, 16)
    with torch.no_grad():
        out = block(x)
        a_h, a_w = block.attention.weights(torch.nn.functional.max_pool2d(x, 2))
        expected = torch.nn.functional.avg_pool2d(x, 2) * a_h * a_w
    assert out.shape == (2, 8, 8, 8)
    torch.testing.assert_close(out, expected)
    assert ((out.abs() <= torch.nn.functional.avg_pool2d(x, 2).abs() + 1e-6)).all()  # weights in (0, 1)


def test_make_pooling_kinds():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert make_pooling("max", 1)(x)[0, 0, 0, 0] == 5.0
    assert make_pooling("avg", 1)(x)[0, 0, 0, 0] == 2.5
    assert isinstance(make_pooling("fusion", 1), DualPoolingFusion)
    with pytest.raises(ScintisegError, match="unknown pooling"):
        make_pooling("median", 1)
