"""scintiseg.prepare.gain: a random gain per normalised training input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from scintiseg.prepare.gain import RandomGain


def test_each_image_gets_its_own_gain_within_the_spread_and_nothing_else_changes():
    images = torch.rand(64, 1, 8, 8) + 0.5
    out = RandomGain(0.3, seed=1)(images)
    ratio = (out / images).reshape(64, -1)
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), rtol=1e-5)  # one gain per image, contrast kept
    gains = ratio[:, 0].numpy()
    assert gains.min() >= math.exp(-0.3) - 1e-6 and gains.max() <= math.exp(0.3) + 1e-6
    assert np.log(gains).std() > 0.1 and abs(np.log(gains).mean()) < 0.06  # log-uniform about 1
    assert torch.equal(RandomGain(0.3, seed=1)(images), out)  # seeded: a resumed epoch draws the same gains
    assert RandomGain(0.0, seed=1)(images) is images


def test_a_spread_beyond_four_times_is_refused():
    with pytest.raises(ValueError, match="gain spread"):
        RandomGain(2.0)
