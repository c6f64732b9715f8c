"""Recurrent convolutional block: convolutions applied the documented number of times (forward hooks)."""

import pytest
import torch

from scintiseg.errors import ScintisegError
from scintiseg.models.blocks.recurrent import RecurrentConvBlock


def count_calls(modules):
    counts = {id(m): 0 for m in modules}

    def hook(module, inputs, output):
        counts[id(module)] += 1

    handles = [m.register_forward_hook(hook) for m in modules]
    return counts, handles


@pytest.mark.parametrize("t", [0, 1, 3])
def test_separate_kernels_feedforward_once_recurrent_t_times(t):
    block = RecurrentConvBlock(3, 4, t=t)
    counts, _ = count_calls([block.feedforward, *block.recurrent, *block.norms])
    y = block(torch.randn(2, 3, 8, 8))
    assert y.shape == (2, 4, 8, 8)
    assert counts[id(block.feedforward)] == 1
    assert sum(counts[id(m)] for m in block.recurrent) == t
    assert len(block.norms) == t + 1 and all(counts[id(n)] == 1 for n in block.norms)


@pytest.mark.parametrize("t", [0, 2, 3])
def test_shared_kernel_is_applied_t_plus_1_times_like_r2unet(t):
    block = RecurrentConvBlock(4, 4, t=t, kernels="shared", norm="shared")
    counts, _ = count_calls([block.conv, *block.norms])
    block(torch.randn(1, 4, 8, 8))
    assert counts[id(block.conv)] == t + 1
    assert len(block.norms) == 1 and counts[id(block.norms[0])] == t + 1


def test_shared_kernel_matches_r2unet_recurrence():
    """R2U-Net Recurrent_block: x1 = conv(x); repeat t times: x1 = conv(x + x1)."""
    torch.manual_seed(0)
    block = RecurrentConvBlock(3, 3, t=2, kernels="shared", norm="shared").eval()
    u = torch.randn(1, 3, 6, 6)

    def step(v):
        return torch.relu(block.norms[0](block.conv(v)))

    with torch.no_grad():
        x1 = step(u)
        for _ in range(2):
            x1 = step(u + x1)
        torch.testing.assert_close(block(u), x1)


def test_weights_are_shared_over_time_unless_untied():
    tied = RecurrentConvBlock(4, 4, t=3)
    untied = RecurrentConvBlock(4, 4, t=3, untied=True)
    n_tied = sum(p.numel() for p in tied.parameters())
    assert n_tied == sum(p.numel() for p in RecurrentConvBlock(4, 4, t=3).parameters())
    assert sum(p.numel() for p in untied.parameters()) == n_tied + 2 * 4 * 4 * 9
    with pytest.raises(ScintisegError):
        RecurrentConvBlock(4, 4, t=-1)


def test_separate_kernels_follow_eq5():
    """Liang & Hu: x(0) = f(N0(W_F u)); x(k) = f(N_k(W_F u + W_R x(k-1)))."""
    torch.manual_seed(0)
    block = RecurrentConvBlock(3, 4, t=2).eval()
    u = torch.randn(1, 3, 6, 6)
    with torch.no_grad():
        drive = block.feedforward(u)
        x = torch.relu(block.norms[0](drive))
        for step in (1, 2):
            x = torch.relu(block.norms[step](drive + block.recurrent[0](x)))
        torch.testing.assert_close(block(u), x)
