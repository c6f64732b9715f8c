"""ONNX export (opset 17) and onnxruntime parity on a small DPU-Net with every paper-A block."""

import numpy as np
import onnxruntime
import pytest
import torch

from scintiseg.models import create_model


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("dpunet", {"width": 4, "depth": 2, "pooling": "fusion", "dac": "dac2", "rmp": True}),
        ("rdinet", {"width": 4, "depth": 2, "t": 2, "in_channels": 2}),
    ],
)
def test_export_and_onnxruntime_parity(tmp_path, name, kwargs):
    torch.manual_seed(0)
    model = create_model(name, **kwargs).eval()
    x = torch.randn(2, model.in_channels, 32, 32)
    path = tmp_path / "model.onnx"
    torch.onnx.export(
        model, (x,), str(path), opset_version=17, dynamo=False, input_names=["image"], output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
    )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (onnx_out,) = session.run(None, {"image": x.numpy()})
    with torch.no_grad():
        torch_out = model(x).numpy()
    assert onnx_out.shape == (2, 1, 32, 32)
    assert np.abs(onnx_out - torch_out).max() < 1e-4
