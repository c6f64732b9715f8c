"""Tests for scintiseg.models.checkpoint: the file format, a network rebuilt from it, and what it refuses.

Every ``torch.load`` in the package must pass ``weights_only=True``: a checkpoint is untrusted input, and a
pickle can run any code while it loads. The crafted file below would create a marker file when unpickled
by plain ``torch.load``; each loader must refuse it in one line and leave no marker behind.
"""

import ast
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import scintiseg
import scintiseg.models.checkpoint as checkpoint_module
from scintiseg.errors import ScintisegError
from scintiseg.models import create_model
from scintiseg.models.checkpoint import (
    BEST,
    CHECKPOINT_DIR,
    FORMAT,
    LAST,
    RESUME_KEYS,
    VERSION,
    checkpoint_path,
    load_checkpoint,
    load_model_from_checkpoint,
    save_checkpoint,
    save_network,
    state_dict_mismatch,
)
from support import assert_all_lists_public_names

SOURCE = Path(scintiseg.__file__).resolve().parent


class _OpensMarker:
    """Unpickles as ``open(marker, "w")``: code run by ``torch.load`` unless ``weights_only=True``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def code_running_checkpoint(path: Path, marker: Path) -> Path:
    """A file shaped like a scintiseg checkpoint whose ``model_config`` would create ``marker`` on loading."""
    network = create_model("dpunet", width=4, depth=4)
    torch.save({"format": FORMAT, "version": VERSION, "model": network.state_dict(),
                "model_config": _OpensMarker(marker)}, path)
    return path


def _tiny_state(**changes) -> dict:
    torch.manual_seed(0)
    network = create_model("dpunet", width=4, depth=4)
    return {"epoch": 1, "model": network.state_dict(), "model_config": dict(network.config)} | changes


def test_a_saved_network_comes_back_identical_in_eval_mode(tmp_path):
    torch.manual_seed(0)
    network = create_model("dpunet", width=4, depth=4)
    path = save_checkpoint({"epoch": 3, "model": network.state_dict(), "model_config": dict(network.config)},
                           tmp_path / "net.pt")
    state = torch.load(path, weights_only=True)  # only tensors and plain values: loads without pickled code
    assert state["format"] == "scintiseg-checkpoint" and state["epoch"] == 3
    assert state["version"] == VERSION and state["scintiseg_version"] == scintiseg.__version__
    rebuilt, state = load_model_from_checkpoint(path)
    assert not rebuilt.training and state["epoch"] == 3
    x = torch.rand(1, 1, 80, 80)
    with torch.no_grad():
        assert torch.equal(rebuilt(x), network.eval()(x))


def test_missing_and_foreign_files_are_clear_errors(tmp_path):
    with pytest.raises(ScintisegError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "absent.pt")
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(ScintisegError, match="not a scintiseg checkpoint"):
        load_checkpoint(foreign)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a zip file")
    with pytest.raises(ScintisegError, match="not a loadable checkpoint"):
        load_checkpoint(garbage)


@pytest.mark.parametrize("content", [b")garbage", bytes(range(7, 107)), b"hello\n"])
def test_an_unreadable_file_says_what_it_is_not_in_one_line(tmp_path, content):
    """torch.load's messages for these are empty (``UnpicklingError: ``) or a bare number (``KeyError: 105``):
    the error names the file and says it is not a PyTorch file, on one line."""
    bad = tmp_path / "bad.pt"
    bad.write_bytes(content)
    with pytest.raises(ScintisegError) as error:
        load_checkpoint(bad)
    message = str(error.value)
    assert "bad.pt" in message and "not a PyTorch file" in message and "\n" not in message
    said = message.replace(str(bad), "")  # the temporary path may hold any number (pytest-105/...)
    assert not said.rstrip().endswith(":") and "105" not in said


def test_run_folder_layout(tmp_path):
    assert checkpoint_path(tmp_path) == tmp_path / CHECKPOINT_DIR / BEST
    assert checkpoint_path(tmp_path, "last") == tmp_path / CHECKPOINT_DIR / LAST
    with pytest.raises(ScintisegError, match="'best' or 'last'"):
        checkpoint_path(tmp_path, "first")


# ------------------------------------------------------------------------------------------ untrusted pickles


def test_the_crafted_file_really_runs_code_when_loaded_without_weights_only(tmp_path):
    marker = tmp_path / "marker"
    path = code_running_checkpoint(tmp_path / "evil.pt", marker)
    torch.load(path, weights_only=False)  # what every loader must never do
    assert marker.exists()


@pytest.mark.parametrize("loader", [load_checkpoint, load_model_from_checkpoint])
def test_checkpoint_loaders_refuse_a_pickle_that_runs_code(loader, tmp_path):
    marker = tmp_path / "marker"
    path = code_running_checkpoint(tmp_path / "evil.pt", marker)
    with pytest.raises(ScintisegError) as error:
        loader(path)
    message = str(error.value)
    assert message.startswith(f"{path}: refused") and "open" in message and "weights_only=True" in message
    assert "\n" not in message
    assert not marker.exists()


def test_training_resume_refuses_a_pickle_that_runs_code(tmp_path):
    """``scintiseg train --resume`` reads ``last.pt`` through :func:`load_checkpoint`."""
    from scintiseg.train.config import TrainConfig
    from scintiseg.train.data import Sample, SegmentationDataset
    from scintiseg.train.loop import TrainData, train

    marker = tmp_path / "marker"
    run = tmp_path / "run"
    (run / CHECKPOINT_DIR).mkdir(parents=True)
    code_running_checkpoint(run / CHECKPOINT_DIR / LAST, marker)
    image, target = np.zeros((1, 32, 32), np.float32), np.zeros((1, 32, 32), np.float32)
    samples = [Sample(f"C{i}", f"P{i}", image, target) for i in range(2)]
    data = TrainData(SegmentationDataset(samples), SegmentationDataset(samples))
    config = TrainConfig(out=str(run), model="unet", model_args={"width": 4, "depth": 2}, epochs=1,
                         batch_size=2, normalisation="none", progress=False, threads=1)
    with pytest.raises(ScintisegError, match="refused") as error:
        train(config, resume=True, data=data)
    assert "\n" not in str(error.value) and not marker.exists()


def _torch_load_calls() -> list[tuple[str, int, bool]]:
    """Every ``torch.load(...)`` in the package: (file, line, passes ``weights_only=True``)."""
    calls = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load" \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch":
                safe = any(k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True
                           for k in node.keywords)
                calls.append((path.relative_to(SOURCE).as_posix(), node.lineno, safe))
    return calls


@pytest.mark.parametrize(
    "safe",
    [pytest.param(safe, id=f"{file}:{line}")
     for file, line, safe in _torch_load_calls()],
)
def test_every_torch_load_in_the_package_passes_weights_only_true(safe):
    assert safe, "torch.load without weights_only=True runs pickled code from the file"


def test_the_package_has_torch_load_calls_to_check():
    assert any(file == "models/checkpoint.py" for file, _, _ in _torch_load_calls())


# ------------------------------------------------------------------------------------- versions and contents


def _one_line_error(path, function=load_model_from_checkpoint) -> str:
    with pytest.raises(ScintisegError) as error:
        function(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message


def test_a_newer_format_names_both_versions_and_the_writer(tmp_path):
    path = tmp_path / "future.pt"
    torch.save(_tiny_state(format=FORMAT, version=VERSION + 1, scintiseg_version="9.9.0"), path)
    message = _one_line_error(path)
    assert (f"checkpoint format {VERSION + 1} is newer than this scintiseg ({scintiseg.__version__}) "
            f"reads ({VERSION}); made by scintiseg 9.9.0") in message


@pytest.mark.parametrize("version", [None, 0, "1", True])
def test_a_missing_or_malformed_format_version_is_refused(version, tmp_path):
    path = tmp_path / "odd.pt"
    state = _tiny_state(format=FORMAT, version=version)
    if version is None:
        del state["version"]
    torch.save(state, path)
    assert f"checkpoint format version {version!r} is not one scintiseg writes" in _one_line_error(path)


def test_a_missing_key_is_named(tmp_path):
    path = tmp_path / "partial.pt"
    state = _tiny_state()
    del state["model_config"]
    save_checkpoint(state, path)
    assert f"checkpoint lacks model_config; made by scintiseg {scintiseg.__version__}" in _one_line_error(path)
    full = save_checkpoint(_tiny_state(), tmp_path / "model_only.pt")
    message = _one_line_error(full, lambda p: load_checkpoint(p, required=RESUME_KEYS))
    assert "checkpoint lacks optimizer, history, best, rng" in message
    assert load_checkpoint(full)["epoch"] == 1  # prediction needs only the model keys


def test_an_unknown_network_is_named_with_the_known_ones(tmp_path):
    path = save_checkpoint(_tiny_state(model_config={"name": "transunet", "width": 4}), tmp_path / "x.pt")
    message = _one_line_error(path)
    assert "holds a 'transunet' network, which this scintiseg" in message and "dpunet" in message


def test_arguments_the_network_does_not_take_are_named(tmp_path):
    config = dict(create_model("dpunet", width=4, depth=4).config) | {"attention": "swin"}
    path = save_checkpoint(_tiny_state(model_config=config), tmp_path / "x.pt")
    assert "'dpunet' network cannot be built here: model 'dpunet' does not take attention" in _one_line_error(path)


@pytest.mark.parametrize("change", [{"width": 10**30}, {"width": None}, {"depth": float("inf")}, {"depth": {"a": 1}},
                                    {"depth": 2**31}])
def test_a_hostile_model_config_is_one_line_and_allocates_nothing(change, tmp_path):
    # found by benchmarks/bench_fuzz.py: these raised TypeError / OverflowError deep in torch, and a width
    # of 10^30 tried to allocate the network; it is now built on the meta device first
    config = dict(create_model("dpunet", width=4, depth=4).config) | change
    path = save_checkpoint(_tiny_state(model_config=config), tmp_path / "x.pt")
    assert "'dpunet' network cannot be built" in _one_line_error(path)


def test_a_damaged_file_read_down_torchs_legacy_path_is_one_error_and_no_warning(tmp_path, monkeypatch):
    """Found by benchmarks/bench_fuzz.py (seed 515151, checkpoint 1070): two zero bytes at offset 2954 of the fuzzer's
    unet checkpoint sent torch.load down its legacy path, which warned "TypedStorage is deprecated" before failing."""
    import io

    model = create_model("unet", width=4, depth=2)
    state = {"format": "scintiseg-checkpoint", "version": 1, "epoch": 1, "model": model.state_dict(),
             "model_config": dict(model.config), "config": {"model": "unet", "epochs": 1},
             "history": [{"epoch": 1, "train_loss": 0.5, "val_dsc": 0.1}],
             "best": {"epoch": 1, "value": 0.1, "monitor": "val_dsc"}, "early_stopping_wait": 0}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = bytearray(buffer.getvalue())
    data[2954:2956] = b"\0\0"
    damaged = tmp_path / "best.pt"
    damaged.write_bytes(bytes(data))
    # torch warns of TypedStorage once a process: as if for the first time
    monkeypatch.setitem(torch.storage._warn_typed_storage_removal.__dict__, "has_warned", False)
    assert _warnings_of_a_refused_load(damaged) == []


def test_a_plain_pickle_of_another_protocol_is_one_error_and_no_warning(tmp_path):
    """Found by benchmarks/bench_fuzz.py (seed 999003, checkpoint 94): a file that is a pickle of protocol 4, not
    torch's zip, made torch's weights-only unpickler warn "Detected pickle protocol 4" before it failed."""
    import pickle

    foreign = tmp_path / "foreign.pt"
    foreign.write_bytes(pickle.dumps({"epoch": 1}, protocol=4))
    assert _warnings_of_a_refused_load(foreign) == []


def _warnings_of_a_refused_load(path) -> list[str]:
    """The warnings ``load_checkpoint(path)`` gives while it refuses the file (recorded, not made errors: an error
    raised inside torch.load would be swallowed with torch's own failure)."""
    import warnings

    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        with pytest.raises(ScintisegError, match="not a loadable checkpoint"):
            load_checkpoint(path)
    return [str(w.message) for w in said]


def test_weights_of_another_shape_name_the_first_differing_tensor(tmp_path):
    wider = dict(create_model("dpunet", width=8, depth=4).config)
    path = save_checkpoint(_tiny_state(model_config=wider), tmp_path / "x.pt")
    message = _one_line_error(path)
    assert "weights do not fit the 'dpunet' network the checkpoint names" in message
    first = next(iter(_tiny_state()["model"]))
    assert f"{first} is (4, 1, 3, 3) in the file but (8, 1, 3, 3) in the network (and " in message


def test_a_weight_of_the_same_size_in_another_shape_does_not_fit():
    expected = {"conv.weight": torch.zeros(4, 2)}
    assert state_dict_mismatch(expected, {"conv.weight": torch.zeros(2, 4)}) == (
        "conv.weight is (2, 4) in the file but (4, 2) in the network")
    assert state_dict_mismatch(expected, {"conv.weight": torch.ones(4, 2)}) == ""


def test_missing_and_unexpected_weights_are_counted(tmp_path):
    weights = dict(_tiny_state()["model"])
    dropped = list(weights)[:3]
    for key in dropped:
        del weights[key]
    weights["extra.weight"] = torch.zeros(1)
    path = save_checkpoint(_tiny_state(model=weights), tmp_path / "x.pt")
    message = _one_line_error(path)
    assert f"3 weight(s) missing ({dropped[0]}, {dropped[1]}, and 1 more)" in message
    assert "1 unexpected weight(s) (extra.weight)" in message


def test_a_model_entry_that_is_not_a_state_dict_is_refused(tmp_path):
    path = tmp_path / "x.pt"  # written by hand: save_checkpoint refuses to write it (the next test)
    torch.save(_tiny_state(model={"layer": [1, 2, 3]}, format=FORMAT, version=VERSION), path)
    assert "its 'model' entry is not a state dict of tensors" in _one_line_error(path)


@pytest.mark.parametrize("state, message", [
    (lambda net: net.state_dict(), "a bare state dict, not a checkpoint: save_network"),
    (lambda net: {"epoch": 1}, "no 'model' entry: save_network"),
    (lambda net: {"model": {"layer": [1, 2, 3]}, "model_config": dict(net.config)}, "not a state dict of tensors"),
    (lambda net: {"model": net.state_dict(), "config": dict(net.config)}, "its 'config' is a network's ('dpunet')"),
    (lambda net: [net.state_dict()], "a checkpoint is a dict"),
])
def test_save_checkpoint_refuses_what_no_loader_reads_and_writes_nothing(tmp_path, state, message):
    """API audit 74, finding 13: these were written, then load_model said "checkpoint lacks model, model_config"."""
    network = create_model("dpunet", width=4, depth=4)
    with pytest.raises(ScintisegError, match=re.escape(message)):
        save_checkpoint(state(network), tmp_path / "x.pt")
    assert not list(tmp_path.iterdir())


def test_save_network_writes_what_load_model_reads_with_its_input_contract(tmp_path):
    from scintiseg.predict import load_model

    torch.manual_seed(0)
    network = create_model("rdinet", in_channels=2, width=4, depth=2, t=1).eval()
    path = save_network(network, tmp_path / "net.pt", data={"input_mode": "two_channel", "pixel_mm": 2.26}, epoch=7)
    rebuilt, state = load_model_from_checkpoint(path)
    assert state["model_config"] == network.config and state["epoch"] == 7 and state["data"]["pixel_mm"] == 2.26
    x = torch.rand(1, 2, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), network(x))
    loaded = load_model(path)
    assert (loaded.input_mode, loaded.in_channels, loaded.pixel_mm) == ("two_channel", 2, 2.26)
    one_view = save_network(create_model("unet", width=4, depth=2), tmp_path / "unet.pt")
    assert "data" not in load_checkpoint(one_view) and load_model(one_view).input_mode == "ant"  # the defaults


def test_save_network_refuses_a_network_it_cannot_rebuild_or_feed(tmp_path):
    two = create_model("rdinet", in_channels=2, width=4, depth=2)
    with pytest.raises(ScintisegError, match="input mode 'ant' feeds 1 channel.*rdinet network takes 2"):
        save_network(two, tmp_path / "a.pt")
    with pytest.raises(ScintisegError, match="input mode 'two_channel' feeds 2 channel.*unet network takes 1"):
        save_network(create_model("unet", width=4, depth=2), tmp_path / "b.pt", data={"input_mode": "two_channel"})
    with pytest.raises(ScintisegError, match="a Conv2d has no config naming one"):
        save_network(torch.nn.Conv2d(1, 1, 1), tmp_path / "c.pt")
    with pytest.raises(ScintisegError, match="window size -1 is not a positive integer"):
        save_network(two, tmp_path / "d.pt", data={"input_mode": "two_channel", "window_size": -1})
    with pytest.raises(ScintisegError, match="writes model_config from the network"):
        save_network(two, tmp_path / "e.pt", data={"input_mode": "two_channel"}, model_config={"name": "unet"})
    assert not list(tmp_path.iterdir())


def test_a_checkpoint_written_before_the_version_tag_still_loads(tmp_path):
    """Files from before ``scintiseg_version`` existed (the shipped weights among them) load unchanged."""
    state = _tiny_state(format=FORMAT, version=1)
    path = tmp_path / "old.pt"
    torch.save(state, path)
    model, loaded = load_model_from_checkpoint(path)
    assert "scintiseg_version" not in loaded
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state["model"].items())


WEIGHTS = Path(scintiseg.__file__).resolve().parent / "weights"


@pytest.mark.parametrize("name, expected", [
    ("phantom_lesions.pt", ("lesions", "ant", "robust", 256, 2.26, "whole", 0)),
    ("phantom_regions.pt", ("regions", "ant", "robust", 448, 4.52, "whole", 27)),
])
def test_the_shipped_checkpoints_record_their_whole_input_contract(name, expected):
    """Both shipped networks record every field they read: no default of :data:`formats.TASK_DEFAULTS` decides how
    they are fed, so a change to a default cannot change a shipped model's predictions."""
    from scintiseg.formats import InputContract

    path = WEIGHTS / name
    if not path.is_file():
        pytest.skip(f"this install has no {name}")
    contract = InputContract.from_state(load_checkpoint(path), path)
    assert (contract.task, contract.input_mode, contract.normalisation, contract.window_size, contract.pixel_mm,
            contract.window, len(contract.classes)) == expected
    needed = {"input_mode", "normalisation", "window_size", "pixel_mm", "window"}
    assert needed <= contract.recorded and (contract.task == "lesions") != ({"task", "classes"} <= contract.recorded)


def test_all_lists_every_public_function_and_class_and_no_helper():
    """API audit 74, finding 16: without ``__all__``, ``from scintiseg.models.checkpoint import *`` also gave the names the module imports
    (``torch``, ``Path``, ...)."""
    assert_all_lists_public_names(checkpoint_module)
