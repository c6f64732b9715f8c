"""BatchNorm folding keeps the outputs and removes the BatchNorm layers it folded."""

import torch

from scintiseg.models import create_model
from scintiseg.models.inference import fold_batch_norm, prepare_for_inference


def test_folding_keeps_outputs_and_removes_sequential_batchnorms():
    torch.manual_seed(0)
    model = create_model("rdinet", width=4, depth=2, t=1)
    model.train()
    for _ in range(3):  # non-trivial running statistics
        model(torch.randn(2, 1, 32, 32))
    model.eval()
    x = torch.randn(2, 1, 32, 32)
    folded = fold_batch_norm(model)
    n_before = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    n_after = sum(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert n_after < n_before
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model(x), atol=1e-4, rtol=1e-4)
        prepared = prepare_for_inference(model)
        torch.testing.assert_close(prepared(x.contiguous(memory_format=torch.channels_last)), model(x), atol=1e-4, rtol=1e-4)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())  # the original is untouched


def test_folding_removes_every_conv_batchnorm_pair_and_leaves_eval_mode():
    torch.manual_seed(0)
    model = create_model("unet", width=4, depth=2)
    model.train()
    model(torch.randn(2, 1, 16, 16))
    folded = fold_batch_norm(model)  # a model still in training mode
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert not folded.training
    x = torch.randn(1, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model.eval()(x), atol=1e-4, rtol=1e-4)
