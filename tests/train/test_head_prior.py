"""``TrainConfig.head_prior``: the output bias starts every pixel at the given lesion probability."""

import pytest
import torch

from scintiseg.errors import ScintisegError
from scintiseg.train.config import TrainConfig
from scintiseg.train.loop import build_model


@pytest.mark.parametrize("name", ["unet", "dpunet", "rdinet"])
def test_prior_sets_initial_probability(name):
    torch.manual_seed(0)
    model = build_model(TrainConfig(model=name, model_args={"width": 4}, head_prior=0.01), 1).eval()
    with torch.no_grad():
        probability = torch.sigmoid(model(torch.rand(2, 1, 96, 96)))
    assert probability.mean().item() == pytest.approx(0.01, rel=0.05)


def test_zero_prior_keeps_pytorch_initialisation():
    torch.manual_seed(0)
    plain = build_model(TrainConfig(model="unet", model_args={"width": 4}), 1)
    torch.manual_seed(0)
    again = build_model(TrainConfig(model="unet", model_args={"width": 4}, head_prior=0.0), 1)
    assert torch.equal(plain.head.bias, again.head.bias) and abs(plain.head.bias.item()) < 1.0


def test_impossible_prior_is_rejected():
    with pytest.raises(ScintisegError, match="head_prior"):
        TrainConfig(head_prior=1.0)
