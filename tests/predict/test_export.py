"""Tests for scintiseg.predict.export and the ONNX engine: parity with torch, the sidecar format, and the
one-line refusals of an ONNX model from another scintiseg version or one ONNX Runtime cannot run."""

import json
import shutil

import numpy as np
import onnx
import onnxruntime
import pytest

import scintiseg
from scintiseg.errors import ScintisegError
from scintiseg.predict.engines import OnnxEngine, TorchEngine
from scintiseg.predict.export import OPSET, SIDECAR_FORMAT, SIDECAR_VERSION, export_onnx, onnx_bytes, sidecar_path
from scintiseg.predict.loader import load_model

DATA = {"input_mode": "ant", "normalisation": "log", "window_size": 256}


@pytest.fixture(scope="module")
def exported(tmp_path_factory, make_tiny_network):
    """One exported tiny network (``m.onnx`` and its sidecar); tests copy it before changing anything."""
    return export_onnx(make_tiny_network(), tmp_path_factory.mktemp("onnx") / "m.onnx", in_channels=1, size=256,
                       sidecar={"data": DATA})


@pytest.fixture
def copy(exported, tmp_path):
    """A fresh copy of the exported model and sidecar: (model path, sidecar dict)."""
    path = tmp_path / "m.onnx"
    shutil.copy(exported, path)
    shutil.copy(sidecar_path(exported), sidecar_path(path))
    return path, json.loads(sidecar_path(path).read_text())


def _refusal(path) -> str:
    with pytest.raises(ScintisegError) as error:
        load_model(path, engine="onnx")
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_onnx_matches_torch_logits(make_tiny_network):
    network = make_tiny_network()
    batch = np.random.default_rng(0).random((2, 1, 256, 256), dtype=np.float32) * 3
    torch_logits = TorchEngine(network)(batch)
    onnx_logits = OnnxEngine(onnx_bytes(network, 1, 256))(batch)
    assert onnx_logits.shape == torch_logits.shape == (2, 1, 256, 256)
    assert np.abs(onnx_logits - torch_logits).max() < 1e-4
    assert np.abs(torch_logits).max() > 1e-3  # not a trivially zero network


def test_exported_file_loads_with_sidecar(copy):
    path, _ = copy
    model = load_model(path, engine="onnx")
    assert (model.input_mode, model.normalisation, model.window_size) == ("ant", "log", 256)
    assert model.info["disclaimer"]
    sidecar_path(path).unlink()
    with pytest.raises(ScintisegError, match="no sidecar m.onnx.json next to the ONNX file"):
        load_model(path, engine="onnx")


def test_the_sidecar_records_format_version_writer_and_opset(copy):
    _, meta = copy
    assert meta["format"] == SIDECAR_FORMAT and meta["version"] == SIDECAR_VERSION
    assert meta["scintiseg_version"] == scintiseg.__version__ and meta["opset"] == OPSET
    assert meta["in_channels"] == 1 and meta["data"] == DATA


def test_the_format_tags_are_written_over_what_the_caller_passes(make_tiny_network, tmp_path):
    """A sidecar copied from an older export (its version, channels) does not outvote what this one wrote."""
    stale = {"data": DATA, "format": "other", "version": 99, "in_channels": 2, "opset": 11}
    path = export_onnx(make_tiny_network(), tmp_path / "m.onnx", in_channels=1, size=256, sidecar=stale)
    meta = json.loads(sidecar_path(path).read_text())
    assert (meta["format"], meta["version"], meta["in_channels"], meta["opset"]) == (
        SIDECAR_FORMAT, SIDECAR_VERSION, 1, OPSET)


def test_the_parity_check_is_the_largest_difference(monkeypatch):
    from scintiseg.predict import export

    torch_logits = np.zeros((1, 1, 8, 8), np.float32)
    onnx_logits = torch_logits.copy()
    onnx_logits[0, 0, 3, 3] = 0.5  # one pixel off: the mean would hide it
    monkeypatch.setattr(export, "TorchEngine", lambda network: lambda batch: torch_logits)
    monkeypatch.setattr(export, "OnnxEngine", lambda model: lambda batch: onnx_logits)
    assert export.max_logit_difference(None, b"", torch_logits) == 0.5


def test_a_sidecar_written_before_the_version_field_still_loads(copy):
    path, meta = copy
    for key in ("version", "scintiseg_version", "opset"):
        del meta[key]
    sidecar_path(path).write_text(json.dumps(meta))
    assert load_model(path, engine="onnx").window_size == 256


def test_a_newer_sidecar_format_names_both_versions_and_the_writer(copy):
    path, meta = copy
    sidecar_path(path).write_text(json.dumps(meta | {"version": SIDECAR_VERSION + 1, "scintiseg_version": "0.4.0"}))
    assert _refusal(path) == (
        f"{sidecar_path(path)}: sidecar format {SIDECAR_VERSION + 1} is newer than this scintiseg "
        f"({scintiseg.__version__}) reads ({SIDECAR_VERSION}); made by scintiseg 0.4.0; upgrade scintiseg to load it"
    )


@pytest.mark.parametrize(
    "change, problem",
    [({"format": None}, 'not a scintiseg ONNX sidecar (no "format": "scintiseg-onnx")'),
     ({"format": "other-tool"}, "not a scintiseg ONNX sidecar"),
     ({"in_channels": 0}, "sidecar in_channels 0 is not a positive integer"),
     ({"data": DATA | {"input_mode": "sideways"}}, "unknown input mode 'sideways'")],
)
def test_a_foreign_or_inconsistent_sidecar_is_named(copy, change, problem):
    path, meta = copy
    sidecar_path(path).write_text(json.dumps({k: v for k, v in (meta | change).items() if v is not None}))
    assert _refusal(path).startswith(f"{sidecar_path(path)}: {problem}")


def test_unreadable_sidecar_json_is_named(copy):
    path, _ = copy
    sidecar_path(path).write_text("{not json")
    assert _refusal(path).startswith(f"{sidecar_path(path)}: unreadable sidecar")


@pytest.mark.parametrize("change, problem", [
    ({"shipped": "x"}, "sidecar shipped must be an object, not str"),
    ({"shipped": [1, 2]}, "sidecar shipped must be an object, not list"),
    ({"model_config": 10**30}, "sidecar model_config must be an object, not int"),
])
def test_a_sidecar_record_of_another_json_type_is_named(copy, change, problem):
    """Session 66 (bench_fuzz.py, kind sidecar): ``"shipped": "x"`` or a ``model_config`` that is no object was an
    AttributeError traceback from the loader's ``_info``."""
    path, meta = copy
    sidecar_path(path).write_text(json.dumps(meta | change))
    assert _refusal(path).startswith(f"{sidecar_path(path)}: {problem}")
    sidecar_path(path).write_text(json.dumps(meta | {"shipped": None}))  # none recorded: read as before
    assert load_model(path, engine="onnx").window_size == 256


def test_a_sidecar_nested_too_deeply_is_named(copy):
    """Session 66 (bench_fuzz.py, kind sidecar): a RecursionError traceback from json.loads before."""
    path, _ = copy
    sidecar_path(path).write_text('{"format": "scintiseg-onnx", "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert _refusal(path) == f"{sidecar_path(path)}: unreadable sidecar (nested too deeply)"


def test_a_model_with_other_input_channels_than_its_sidecar_is_refused(copy):
    path, meta = copy
    sidecar_path(path).write_text(json.dumps(meta | {"in_channels": 2}))
    assert _refusal(path) == (
        f"{path}: the ONNX model takes input (batch, 1, height, width) but its sidecar says 2 channel(s) of "
        "256 x 256 pixels"
    )


def test_a_model_fixed_to_another_window_size_is_refused(copy):
    path, _ = copy
    proto = onnx.load(path)
    for dim in proto.graph.input[0].type.tensor_type.shape.dim[2:]:
        dim.dim_value = 128  # a model exported with fixed 128 x 128 inputs
    onnx.save(proto, path)
    assert "takes input (batch, 1, 128, 128) but its sidecar says 1 channel(s) of 256 x 256" in _refusal(path)


def test_an_opset_onnx_runtime_cannot_run_is_one_line_naming_both(copy):
    path, _ = copy
    proto = onnx.load(path)
    for entry in proto.opset_import:
        if entry.domain in ("", "ai.onnx"):
            entry.version = 99
    onnx.save(proto, path)
    message = _refusal(path)
    assert message.startswith(f"{path}: ONNX Runtime {onnxruntime.__version__} cannot run this model (opset 99, IR version")
    assert "Opset 99" in message and "onnxruntime::" not in message  # the runtime's reason, not its C++ signature


def test_a_file_that_is_not_onnx_is_one_line(copy):
    path, _ = copy
    path.write_bytes(b"not a protobuf at all")
    assert _refusal(path).startswith(f"{path}: ONNX Runtime {onnxruntime.__version__} cannot run this model: ")


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


@pytest.mark.parametrize("epoch, read", [(7, 7), (0, 0), ([1], None), (-1, None), (True, None), ("7", None)])
def test_an_exported_models_epoch_is_its_sidecars_where_a_whole_number(copy, epoch, read):
    """The epoch an export recorded in ``shipped`` is the loaded model's (None before session 66); a value no export
    writes is read as unknown, not carried into report.json."""
    path, meta = copy
    sidecar_path(path).write_text(json.dumps(meta | {"shipped": {"epoch": epoch}}))
    assert load_model(path, engine="onnx").info["epoch"] == read
