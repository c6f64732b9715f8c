import numpy as np
import pytest

from scintiseg.predict.engines import OnnxEngine, TorchEngine
from scintiseg.predict.export import export_onnx, onnx_bytes, sidecar_path
from scintiseg.predict.loader import load_model


def test_onnx_matches_torch_logits(make_tiny_network):
    network = make_tiny_network()
    batch = np.random.default_rng(0).random((2, 1, 256, 256), dtype=np.float32) * 3
    torch_logits = TorchEngine(network)(batch)
    onnx_logits = OnnxEngine(onnx_bytes(network, 1, 256))(batch)
    assert onnx_logits.shape == torch_logits.shape == (2, 1, 256, 256)
    assert np.abs(onnx_logits - torch_logits).max() < 1e-4
    assert np.abs(torch_logits).max() > 1e-3  # not a trivially zero network


def test_exported_file_loads_with_sidecar(make_tiny_network, tmp_path):
    network = make_tiny_network()
    path = export_onnx(network, tmp_path / "m.onnx", in_channels=1, size=256,
                       sidecar={"in_channels": 1, "data": {"input_mode": "ant", "normalisation": "log", "window_size": 256}})
    model = load_model(path, engine="onnx")
    assert (model.input_mode, model.normalisation, model.window_size) == ("ant", "log", 256)
    assert model.info["disclaimer"]
    sidecar_path(path).unlink()
    with pytest.raises(Exception, match="sidecar"):
        load_model(path, engine="onnx")


def test_checkpoint_with_both_engines_agrees(tiny_checkpoint, nm1_scan):
    from scintiseg.predict.pipeline import PredictSettings, model_probabilities

    settings = PredictSettings()
    torch_prob, _, _ = model_probabilities(nm1_scan, load_model(tiny_checkpoint, engine="torch"), settings)
    onnx_prob, _, _ = model_probabilities(nm1_scan, load_model(tiny_checkpoint, engine="onnx"), settings)
    assert np.abs(torch_prob["ANT"] - onnx_prob["ANT"]).max() < 1e-5


def test_packaged_shipped_model_loads_with_disclaimer(tiny_checkpoint, tmp_path):
    from scintiseg.predict.shipped import package_run

    path = package_run(tiny_checkpoint, "3 test phantoms", tmp_path / "shipped.pt", command="pytest")
    model = load_model(path)
    assert model.info["trained_on"] == "3 test phantoms" and model.info["synthetic"] is True
    assert "not a clinical device" in model.info["disclaimer"]
