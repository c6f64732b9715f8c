"""Tests for scintiseg.predict.loader: every way ``--model`` is resolved refuses untrusted or foreign files.

A crafted ``.pt`` whose unpickling would create a marker file stands for any pickle that runs code; each
loader path (a checkpoint file, a run folder's best.pt or last.pt, the shipped weights, packaging a run)
must refuse it in one line naming the file, and the marker must not appear.
"""

import hashlib
import re
import shutil

import numpy as np
import pytest
import torch

import scintiseg
from scintiseg.errors import ScintisegError
from scintiseg.models import create_model
from scintiseg.models.checkpoint import FORMAT, VERSION, checkpoint_path, save_checkpoint
from scintiseg.predict import loader
from scintiseg.predict.loader import SHIPPED_WEIGHTS, load_model
from scintiseg.predict.shipped import package_run


class _OpensMarker:
    """Unpickles as ``open(marker, "w")``: code run by ``torch.load`` unless ``weights_only=True``."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.fixture
def evil(tmp_path, make_tiny_network):
    """(a checkpoint-shaped file that would create ``marker`` on loading, marker)."""
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "version": VERSION, "model": make_tiny_network().state_dict(),
                "model_config": _OpensMarker(marker), "config": {"input_mode": "ant"}}, path)
    return path, marker


def _assert_refused(call, path, marker):
    with pytest.raises(ScintisegError) as error:
        call()
    message = str(error.value)
    assert message.startswith(f"{path}: refused") and "weights_only=True" in message and "\n" not in message
    assert not marker.exists()


@pytest.mark.parametrize("engine", ["torch", "onnx"])
def test_a_checkpoint_file_that_runs_code_is_refused(evil, engine):
    path, marker = evil
    _assert_refused(lambda: load_model(path, engine=engine), path, marker)


@pytest.mark.parametrize("which", ["best", "last"])
def test_a_run_folder_whose_checkpoint_runs_code_is_refused(evil, tmp_path, which):
    path, marker = evil
    target = checkpoint_path(tmp_path / "run", which)
    target.parent.mkdir(parents=True)
    shutil.copy(path, target)
    _assert_refused(lambda: load_model(tmp_path / "run"), target, marker)


def test_shipped_weights_that_run_code_are_refused(evil, monkeypatch):
    path, marker = evil
    monkeypatch.setattr(loader, "SHIPPED_WEIGHTS", path)
    _assert_refused(lambda: load_model(None), path, marker)


def test_packaging_a_run_that_runs_code_is_refused(evil, tmp_path):
    path, marker = evil
    _assert_refused(lambda: package_run(path, "nothing", tmp_path / "shipped.pt"), path, marker)
    assert not (tmp_path / "shipped.pt").exists()


def test_the_shipped_weights_load_unchanged():
    """The shipped model (issue 13's recipe) loads as it is, untouched, with the grid it was trained on."""
    if not SHIPPED_WEIGHTS.is_file():
        pytest.skip("this install has no shipped model")
    before = hashlib.sha256(SHIPPED_WEIGHTS.read_bytes()).hexdigest()
    model = load_model(None)
    assert model.info["name"] == "rdinet" and model.info["synthetic"] is True
    assert "disclaimer" in model.info and "randomised" in model.info["trained_on"]
    assert (model.input_mode, model.normalisation, model.window_size, model.in_channels) == ("ant", "robust", 256, 1)
    assert model.pixel_mm == pytest.approx(2.26) and model.window == "whole"
    assert "scintiseg_version" in torch.load(SHIPPED_WEIGHTS, weights_only=True)
    assert hashlib.sha256(SHIPPED_WEIGHTS.read_bytes()).hexdigest() == before


def test_a_newer_checkpoint_is_refused_through_load_model(tmp_path, make_tiny_network):
    network = make_tiny_network()
    path = tmp_path / "future.pt"
    torch.save({"format": FORMAT, "version": VERSION + 2, "scintiseg_version": "0.4.0",
                "model": network.state_dict(), "model_config": dict(network.config)}, path)
    with pytest.raises(ScintisegError) as error:
        load_model(path)
    assert str(error.value) == (
        f"{path}: checkpoint format {VERSION + 2} is newer than this scintiseg ({scintiseg.__version__}) reads "
        f"({VERSION}); made by scintiseg 0.4.0; upgrade scintiseg to load it"
    )


def test_shapes_that_do_not_fit_are_refused_through_load_model(tmp_path, make_tiny_network):
    network = make_tiny_network()
    two_channels = dict(create_model("dpunet", in_channels=2, width=4, depth=4).config)
    path = save_checkpoint({"model": network.state_dict(), "model_config": two_channels}, tmp_path / "x.pt")
    with pytest.raises(ScintisegError, match=r"in the file but \(4, 2, 3, 3\) in the network"):
        load_model(path)


@pytest.mark.parametrize(
    "data, problem",
    [({"input_mode": "sideways"}, "unknown input mode 'sideways'"),
     ({"normalisation": "histogram"}, "unknown normalisation 'histogram'"),
     ({"window_size": "256"}, "window size '256' is not a positive integer"),
     ({"pixel_mm": "2.26"}, "pixel size '2.26' is not a number of mm"),
     ({"pixel_mm": 0.0}, "pixel size 0.0 is not a number of mm in [0.1, 20]"),
     ({"pixel_mm": True}, "pixel size True is not a number of mm"),
     ({"pixel_mm": float("nan")}, "pixel size nan is not a number of mm"),
     ({"window": "body"}, "unknown window mode 'body' (this scintiseg knows whole, thoracic)"),
     ({"input_mode": 3}, "input mode 3 is not a name"),
     ({"task": "bones"}, "a network for task 'bones', which this scintiseg does not know")],
)
def test_a_data_configuration_this_version_cannot_feed_is_named(tmp_path, make_tiny_network, data, problem):
    network = make_tiny_network()
    path = save_checkpoint({"model": network.state_dict(), "model_config": dict(network.config), "data": data},
                           tmp_path / "x.pt")
    with pytest.raises(ScintisegError) as error:
        load_model(path)
    assert str(error.value).startswith(f"{path}: {problem}")


def test_a_checkpoint_without_a_data_record_reads_its_training_config_and_the_old_defaults(tmp_path, make_tiny_network):
    """The first checkpoints (before 2026-11-21) recorded only their training config: its input mode and normalisation,
    paper B's 256-pixel thoracic crops (not the config's crop_size), no resampling (formats.TASK_DEFAULTS)."""
    network = make_tiny_network()
    path = save_checkpoint({"model": network.state_dict(), "model_config": dict(network.config),
                            "config": {"input_mode": "ant", "normalisation": "log", "crop_size": 128}}, tmp_path / "old.pt")
    model = load_model(path)
    assert (model.input_mode, model.normalisation, model.window_size, model.pixel_mm, model.window) == (
        "ant", "log", 256, None, "thoracic")


def test_packaging_keeps_the_data_configuration(tmp_path, make_tiny_network):
    network = make_tiny_network()
    run = save_checkpoint({"model": network.state_dict(), "model_config": dict(network.config),
                           "data": {"input_mode": "ant", "normalisation": "log", "window_size": 192}}, tmp_path / "run.pt")
    model = load_model(package_run(run, "nothing", tmp_path / "shipped.pt"))
    assert (model.normalisation, model.window_size) == ("log", 192)


def test_the_pixel_size_and_window_mode_are_read_from_checkpoint_and_sidecar(tmp_path, make_tiny_network):
    from scintiseg.predict.export import export_onnx

    network = make_tiny_network()
    data = {"input_mode": "ant", "normalisation": "percentile", "window_size": 256, "pixel_mm": 2.26, "window": "whole"}
    path = save_checkpoint({"model": network.state_dict(), "model_config": dict(network.config), "data": data},
                           tmp_path / "new.pt")
    model = load_model(path)
    assert (model.pixel_mm, model.window) == (2.26, "whole")
    onnx = export_onnx(network, tmp_path / "new.onnx", in_channels=1, sidecar={"data": data})
    exported = load_model(onnx, engine="onnx")
    assert (exported.pixel_mm, exported.window) == (2.26, "whole")
    old = save_checkpoint({"model": network.state_dict(), "model_config": dict(network.config),
                           "data": {"input_mode": "ant"}}, tmp_path / "old.pt")
    assert (load_model(old).pixel_mm, load_model(old).window) == (None, "thoracic")  # before issue 13: as it was


def test_int8_calibration_windows_are_what_the_tiler_feeds():
    # One two-view phantom patient at 2.26 mm: 5 windows of 256 x 256 per view, fed 4 at a time.
    batches = loader.calibration_windows("ant", "robust", 256, 2.26, seeds=(0,))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert all(b.shape[1:] == (1, 256, 256) and b.dtype == np.float32 for b in batches)
    assert float(max(b.max() for b in batches)) > 1.0  # robust-scaled counts: the bone ridge is near 1, hot spots above


def test_int8_calibration_windows_are_cut_at_the_models_pixel_size():
    # The phantom is made at 2.26 mm (5 windows a view there): at 4.52 mm each view is half as large, 3 windows.
    batches = loader.calibration_windows("ant", "robust", 256, 4.52, seeds=(0,))
    assert [len(b) for b in batches] == [4, 2]


def test_the_int8_engine_is_calibrated_and_named(monkeypatch, make_tiny_network):
    seen = {}

    def fake_windows(input_mode, normalisation, window_size, pixel_mm, seeds=loader.CALIBRATION_SEEDS):
        seen.update(input_mode=input_mode, window_size=window_size, pixel_mm=pixel_mm)
        return [np.random.default_rng(0).random((2, 1, window_size, window_size), dtype=np.float32)]

    monkeypatch.setattr(loader, "calibration_windows", fake_windows)
    model = loader.model_from_network(make_tiny_network(), engine="onnx-int8", pixel_mm=2.26, window="whole")
    assert model.engine.name == "onnx-int8"
    assert seen == {"input_mode": "ant", "window_size": 256, "pixel_mm": 2.26}
    assert model.engine(np.zeros((1, 1, 256, 256), dtype=np.float32)).shape == (1, 1, 256, 256)


@pytest.mark.parametrize("config, said", [
    ({"data": "", "synthetic": "randomised"}, "phantom patients made on the fly (profile randomised)"),
    ({"data": "data/crops", "synthetic": ""}, "data/crops"),
    ({}, "unknown"),
])
def test_a_run_says_what_it_was_trained_on(tmp_path, make_tiny_network, config, said):
    """A synthetic run has no data folder: its report said 'trained on' and nothing (the demo's NM1 report)."""
    network = make_tiny_network()
    path = save_checkpoint({"model": network.state_dict(), "model_config": dict(network.config), "config": config},
                           tmp_path / "run.pt")
    assert load_model(path).info["trained_on"] == said


def test_only_a_run_on_real_scans_loses_the_phantoms_only_disclaimer(tmp_path, make_tiny_network):
    """A checkpoint that records real patients' scans among its training cases (train --data on a site's data set)
    is not called trained on phantoms only; one that does not say so is, and so is a mean with a phantom model; every
    model keeps 'not a clinical device'."""
    from scintiseg.predict.loader import RESEARCH_DISCLAIMER, SYNTHETIC_DISCLAIMER, load_models

    network = make_tiny_network()
    data = {"input_mode": "ant", "normalisation": "robust", "window_size": 96}
    paths = {}
    for name, extra in (("real", {"real_scans": True}), ("phantom", {}), ("odd", {"real_scans": "yes"})):
        paths[name] = save_checkpoint({"model": network.state_dict(), "model_config": dict(network.config),
                                       "config": {"data": f"data/{name}"}, "data": {**data, **extra}},
                                      tmp_path / f"{name}.pt")
    real = load_model(paths["real"]).info
    assert real["synthetic"] is False and real["disclaimer"] == RESEARCH_DISCLAIMER
    assert "not a clinical device" in real["disclaimer"]
    for name in ("phantom", "odd"):  # no flag, or one that is not True: read as phantoms only
        info = load_model(paths[name]).info
        assert info["synthetic"] is True and info["disclaimer"] == SYNTHETIC_DISCLAIMER
    mean = load_models([str(paths["real"]), str(paths["phantom"])]).info
    assert mean["synthetic"] is False and mean["disclaimer"] == RESEARCH_DISCLAIMER
    assert load_models([str(paths["phantom"]), str(paths["odd"])]).info["disclaimer"] == SYNTHETIC_DISCLAIMER


def test_an_adapted_model_is_called_adapted_to_the_folders_it_saw_in_checkpoint_package_and_onnx(tmp_path,
                                                                                                  make_tiny_network):
    """``data.adapted_on`` (scintiseg adapt): the report names the site's folders and says the model was adapted to a
    site's scans, not trained on phantoms only; with real scans too the real-scans warning wins; a value that is not a
    list of folder names reads as none. Packaging and ONNX export keep it (before session 61 packaging always wrote
    ``synthetic: true``)."""
    from scintiseg.predict.export import export_onnx, read_sidecar, sidecar_path
    from scintiseg.predict.loader import ADAPTED_DISCLAIMER, RESEARCH_DISCLAIMER, SYNTHETIC_DISCLAIMER, load_models

    network = make_tiny_network()
    data = {"input_mode": "ant", "normalisation": "robust", "window_size": 96}
    config = {"synthetic": "randomised"}
    paths = {}
    for name, extra in (("site", {"adapted_on": ["/data/site", "/data/normals"]}), ("phantom", {}),
                        ("both", {"adapted_on": ["/data/site"], "real_scans": True}), ("odd", {"adapted_on": "/x"})):
        paths[name] = save_checkpoint({"model": network.state_dict(), "model_config": dict(network.config),
                                       "config": config, "data": {**data, **extra}}, tmp_path / f"{name}.pt")
    site = load_model(paths["site"]).info
    assert site["synthetic"] is False and site["disclaimer"] == ADAPTED_DISCLAIMER
    assert site["trained_on"] == ("phantom patients made on the fly (profile randomised), adapted to the scans in "
                                  "/data/site and /data/normals")
    assert site["adapted_on"] == ["/data/site", "/data/normals"] and "real_scans" not in site
    assert load_model(paths["both"]).info["disclaimer"] == RESEARCH_DISCLAIMER
    odd = load_model(paths["odd"]).info
    assert odd["synthetic"] is True and odd["disclaimer"] == SYNTHETIC_DISCLAIMER and "adapted_on" not in odd
    mean = load_models([str(paths["phantom"]), str(paths["site"])]).info
    assert mean["disclaimer"] == ADAPTED_DISCLAIMER and mean["adapted_on"] == ["/data/site", "/data/normals"]
    assert load_models([str(paths["site"]), str(paths["both"])]).info["disclaimer"] == RESEARCH_DISCLAIMER
    # packaged: the shipped record says not synthetic, and the disclaimer follows
    packaged = load_model(package_run(paths["site"], "the site's run", tmp_path / "packaged.pt")).info
    assert packaged["synthetic"] is False and packaged["disclaimer"] == ADAPTED_DISCLAIMER
    assert load_model(package_run(paths["phantom"], "phantoms", tmp_path / "p.pt")).info["synthetic"] is True
    # exported: the sidecar's record carries what it learned from, as `scintiseg export` writes it
    loaded = load_model(paths["both"])
    sidecar = {"data": data, "model_config": dict(network.config),
               "shipped": {k: v for k, v in loaded.info.items() if k not in ("model_config", "source", "disclaimer")}}
    onnx = export_onnx(network, tmp_path / "both.onnx", in_channels=1, size=96, sidecar=sidecar)
    assert read_sidecar(onnx)["shipped"]["adapted_on"] == ["/data/site"] and sidecar_path(onnx).is_file()
    exported = load_model(onnx, engine="onnx").info
    assert exported["disclaimer"] == RESEARCH_DISCLAIMER and exported["trained_on"] == loaded.info["trained_on"]


def test_models_given_twice_run_as_the_mean_of_their_probabilities(tmp_path, make_tiny_network):
    from scipy.special import expit

    from scintiseg.predict.loader import load_models

    data = {"input_mode": "ant", "normalisation": "robust", "window_size": 96, "pixel_mm": 2.26, "window": "whole"}
    network = make_tiny_network(1)
    first = save_checkpoint({"model": network.state_dict(), "model_config": dict(network.config), "data": data},
                            tmp_path / "a.pt")
    other = make_tiny_network(2)
    for parameter in other.parameters():  # a second network that differs from the first
        torch.nn.init.normal_(parameter, std=0.3)
    second = save_checkpoint({"model": other.state_dict(), "model_config": dict(other.config), "data": data},
                             tmp_path / "b.pt")
    one, two = load_model(first), load_model(second)
    mean = load_models([first, second])
    batch = np.random.default_rng(0).gamma(2.0, 0.5, size=(2, 1, 96, 96)).astype(np.float32)
    expected = (expit(one.engine(batch)) + expit(two.engine(batch))) / 2
    assert np.abs(expit(two.engine(batch)) - expit(one.engine(batch))).max() > 0.01  # the two differ
    assert expit(mean.engine(batch)) == pytest.approx(expected, abs=1e-5)
    assert (mean.normalisation, mean.window_size, mean.pixel_mm, mean.window) == ("robust", 96, 2.26, "whole")
    assert mean.info["name"] == f"mean of {one.info['name']} + {two.info['name']}" and len(mean.info["members"]) == 2
    assert load_models([first]).engine.__class__ is one.engine.__class__  # once: the model itself


def test_models_that_read_scans_otherwise_are_not_averaged(tmp_path, make_tiny_network):
    from scintiseg.predict.loader import load_models

    network = make_tiny_network()
    paths = [save_checkpoint({"model": network.state_dict(), "model_config": dict(network.config),
                              "data": {"input_mode": "ant", "normalisation": norm, "window_size": 64}},
                             tmp_path / f"{norm}.pt") for norm in ("robust", "log")]
    with pytest.raises(ScintisegError) as error:
        load_models(paths, engine="torch")  # (the ONNX export of a network too deep for 64-pixel windows fails)
    assert str(error.value) == (f"{paths[1]}: cannot average it with {paths[0]}: it reads scans with normalisation "
                                "'log', that one with 'robust'")


def test_models_at_other_pixel_sizes_are_not_averaged(tmp_path, make_tiny_network):
    from scintiseg.predict.loader import load_models

    network = make_tiny_network()
    paths = [save_checkpoint({"model": network.state_dict(), "model_config": dict(network.config),
                              "data": {"input_mode": "ant", "window_size": 64, "pixel_mm": mm}},
                             tmp_path / f"{mm}.pt") for mm in (2.26, 4.52)]
    with pytest.raises(ScintisegError, match="it reads scans with pixel_mm 4.52, that one with 2.26"):
        load_models(paths, engine="torch")


def test_a_run_folder_loads_best_before_last(tmp_path, make_tiny_network):
    network = make_tiny_network()
    for which, size in (("best", 96), ("last", 64)):
        target = checkpoint_path(tmp_path / "run", which)
        target.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint({"model": network.state_dict(), "model_config": dict(network.config),
                         "data": {"input_mode": "ant", "window_size": size}}, target)
    model = load_model(tmp_path / "run")
    assert model.window_size == 96 and model.info["source"].endswith("best.pt")


def test_the_torch_engine_runs_on_the_device_asked_for(tmp_path, make_tiny_network, monkeypatch):
    network = make_tiny_network()
    path = save_checkpoint({"model": network.state_dict(), "model_config": dict(network.config)}, tmp_path / "m.pt")
    monkeypatch.setattr(loader, "TorchEngine", lambda network, device="cpu": ("engine on", device))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # two GPUs, as far as the device check sees
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert load_model(path, engine="torch", device="cuda:1").engine == ("engine on", "cuda:1")
    assert load_model(tmp_path / "m.pt", engine="torch").engine == ("engine on", "cpu")


def test_the_shipped_model_by_name(tmp_path, monkeypatch):
    if not SHIPPED_WEIGHTS.is_file():
        pytest.skip("this install has no shipped model")
    assert load_model("shipped").info["source"] == str(SHIPPED_WEIGHTS)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shipped").mkdir()  # a run folder of that name comes first
    with pytest.raises(ScintisegError, match="no checkpoints/best.pt or last.pt in this run folder"):
        load_model("shipped")


def test_the_region_network_given_as_the_lesion_model_is_refused_naming_it(tmp_path):
    """Its 27 channels were read as one lesion logit: a 'lesion' and a triage score from the wrong network."""
    from scintiseg.predict.region_model import SHIPPED_REGION_WEIGHTS

    with pytest.raises(ScintisegError) as error:
        load_model(SHIPPED_REGION_WEIGHTS)
    assert str(error.value) == f"{SHIPPED_REGION_WEIGHTS}: a region network, not a lesion model (give it as --region-model)"


def test_a_device_the_engine_cannot_run_on_is_one_line_before_anything_loads(monkeypatch):
    """API audit 74, finding 4: ``device="cuda"`` without CUDA failed in torch's AssertionError, ``"gpu"`` in its
    list of every device type. Nothing is loaded first: the shipped weights are not read."""
    monkeypatch.setattr(loader, "load_checkpoint_model", lambda *a, **k: pytest.fail("loaded before the check"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device, engine, said in (
        ("gpu", "torch", "unknown device 'gpu': give 'cpu', 'cuda' or 'cuda:N'"),
        ("cuda:x", "torch", "unknown device 'cuda:x'"),
        (0, "torch", "device must be text such as 'cpu' or 'cuda', got 0"),
        ("cuda", "torch", "device 'cuda': PyTorch sees no such device on this machine"),
        ("cuda:1", "torch", "device 'cuda:1': PyTorch sees no such device"),
        ("cuda", "onnx", "engine 'onnx' runs on the CPU (ONNX Runtime's CPU provider): for device='cuda' load with "
                         "engine='torch'"),
    ):
        with pytest.raises(ScintisegError, match="^" + re.escape(said)):
            load_model(None, engine=engine, device=device)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ScintisegError, match="'cuda:1': PyTorch sees no such device"):
        load_model(None, engine="torch", device="cuda:1")
    loader.check_device("cuda:0", "torch")  # one GPU: its index 0 passes


def test_load_model_runs_what_scintiseg_predict_runs_by_default(tmp_path, make_tiny_network):
    """API audit 74, finding 7: load_model defaulted to PyTorch while ``scintiseg predict`` defaults to ONNX Runtime
    (a dependency), so a script's report named another engine than the command's for the same file."""
    import inspect

    from scintiseg.cli import build_parser

    predict_flags = build_parser("predict").parse_args(["predict", "scan.dcm", "--out", "o"])
    for function in (load_model, loader.load_models):
        assert inspect.signature(function).parameters["engine"].default == predict_flags.engine == "onnx"
    network = make_tiny_network()
    path = save_checkpoint({"model": network.state_dict(), "model_config": dict(network.config)}, tmp_path / "m.pt")
    assert load_model(path).engine.name == "onnx" and load_model(path, engine="torch").engine.name == "torch"


def test_a_network_wrapped_with_another_input_mode_or_an_unfit_window_is_refused_at_once():
    """The API audit's finding 14 (session 74): both were accepted and failed at the first prediction in words that
    never named the argument."""
    two = create_model("rdinet", in_channels=2, width=4)
    with pytest.raises(ScintisegError, match="input_mode 'ant' feeds 1 channel"):
        loader.model_from_network(two, input_mode="ant", pixel_mm=2.26, window="whole")
    assert loader.model_from_network(two, input_mode="two_channel", pixel_mm=2.26, window="whole").in_channels == 2
    one = create_model("unet", width=4)
    with pytest.raises(ScintisegError, match="window_size 100 is no multiple of 16"):
        loader.model_from_network(one, window_size=100, pixel_mm=2.26, window="whole")
