"""``scintiseg export``: the ONNX file and its sidecar (what they hold, where they go, that they reload as the same
model), the torch / ONNX Runtime parity check, and the one-line refusals (exit 2) of a run that cannot be read and
of an output that would destroy something."""

import json
import math
import os
import shutil
import stat

import numpy as np
import pytest

from scintiseg.cli import main


def _tiny_checkpoint(run_dir, path, **changes):
    """The run's tiny checkpoint saved again at ``path`` with ``changes`` to its state."""
    import torch

    from scintiseg.models.checkpoint import FORMAT, checkpoint_path, save_checkpoint

    state = torch.load(checkpoint_path(run_dir, "best"), weights_only=True)
    assert state["format"] == FORMAT
    return save_checkpoint({k: v for k, v in state.items() if k not in ("format", "version", "scintiseg_version")}
                           | changes, path)


def test_export_then_predict_with_onnx(run_dir, scans, tmp_path):
    assert main(["export", "--run", str(run_dir), "--format", "onnx"]) == 0
    assert (run_dir / "model.onnx").is_file() and (run_dir / "model.onnx.json").is_file()
    out = tmp_path / "out"
    assert main(["predict", str(scans), "--out", str(out), "--model", str(run_dir), "--engine", "onnx", "--quiet", "--no-dicom"]) == 0
    report = json.loads((out / "nm1" / "report.json").read_text())
    assert report["model"]["engine"] == "onnx"
    assert not (out / "nm1" / "sr.dcm").exists()


def test_export_into_a_folder_writes_model_onnx_there_and_under_a_file_is_refused(run_dir, tmp_path, capsys):
    folder = tmp_path / "models"
    folder.mkdir()
    assert main(["export", "--run", str(run_dir), "--out", str(folder)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["model.onnx", "model.onnx.json"]
    capsys.readouterr()
    taken = tmp_path / "taken.txt"
    taken.write_text("x")
    assert main(["export", "--run", str(run_dir), "--out", str(taken / "m.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"scintiseg export: error: {taken}: not a folder: the ONNX file cannot be written under it"


def test_export_refuses_to_overwrite_the_checkpoint_it_exports(run_dir, tmp_path, capsys):
    from scintiseg.models.checkpoint import checkpoint_path

    checkpoint = tmp_path / "X.pt"
    shutil.copy(checkpoint_path(run_dir, "best"), checkpoint)
    original = checkpoint.read_bytes()
    best = checkpoint_path(run_dir, "best").read_bytes()
    (tmp_path / "link.pt").symlink_to(checkpoint)
    for source, out in ((checkpoint, checkpoint), (checkpoint, tmp_path / "link.pt"),
                        (run_dir, checkpoint_path(run_dir, "best")), (run_dir, checkpoint_path(run_dir, "last"))):
        assert main(["export", "--run", str(source), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"scintiseg export: error: {out}: is the checkpoint being exported: the ONNX file would "
                       f"overwrite it; give --out another file or a folder"]
    assert checkpoint.read_bytes() == original and checkpoint_path(run_dir, "best").read_bytes() == best
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.pt", "link.pt"]
    assert not checkpoint_path(run_dir, "last").exists() and not (run_dir / "checkpoints" / "best.pt.json").exists()


def test_a_failed_parity_check_leaves_an_existing_export_untouched(run_dir, tmp_path, capsys, monkeypatch):
    import scintiseg.predict.export

    folder = tmp_path / "exp"
    folder.mkdir()
    keep = folder / "keep.onnx"
    assert main(["export", "--run", str(run_dir), "--out", str(keep)]) == 0
    # an earlier good export of another network: bytes this export cannot write again
    keep.write_bytes(keep.read_bytes() + b"another network")
    sidecar = folder / "keep.onnx.json"
    sidecar.write_text(json.dumps(json.loads(sidecar.read_text()) | {"exported_from": "another run"}))
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert sorted(before) == ["keep.onnx", "keep.onnx.json"]
    capsys.readouterr()
    monkeypatch.setattr(scintiseg.predict.export, "max_logit_difference", lambda *args: 1.0)
    for out in (keep, folder / "new.onnx"):
        assert main(["export", "--run", str(run_dir), "--out", str(out)]) == 2
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # no temporaries left either
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"scintiseg export: error: {out}: ONNX logits differ from torch by 1.00e+00 (>= 1e-4): "
                       f"not written, an existing file there is left as it was"]  # and no "wrote ..." line


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_export_refuses_to_replace_a_fifo_or_a_folder_where_the_sidecar_goes(run_dir, tmp_path, capsys):
    pipe = tmp_path / "pipe.onnx"
    os.mkfifo(pipe)
    assert main(["export", "--run", str(run_dir), "--out", str(pipe)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"scintiseg export: error: {pipe}: exists and is not a regular file: the ONNX file would replace "
                   f"it; give --out a new or regular file, or a folder"]
    assert stat.S_ISFIFO(pipe.lstat().st_mode)
    (tmp_path / "m.onnx.json").mkdir()
    assert main(["export", "--run", str(run_dir), "--out", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"scintiseg export: error: {tmp_path / 'm.onnx.json'}: exists and is not a regular file: its "
                   f"sidecar would replace it; give --out a new or regular file, or a folder"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx.json", "pipe.onnx"]


@pytest.mark.parametrize("data", [{}, {"pixel_mm": 2.4, "window": "whole"}], ids=["no-pixel-size", "pixel-size"])
def test_a_checkpoint_exports_beside_itself_and_reloads_as_the_same_model(run_dir, tmp_path, capsys, data):
    """Default output CHECKPOINT.onnx; the sidecar holds the reading contract (the pixel size only where one was
    recorded), the network's config and provenance without the path it was read from or the disclaimer; loaded with
    ``--engine onnx`` it reads scans as the checkpoint does and gives its logits, at another batch and image size too
    (dynamic axes)."""
    from scintiseg.predict.loader import load_model

    checkpoint = _tiny_checkpoint(run_dir, tmp_path / "X.pt", epoch=5, **({"data": data} if data else {}))
    assert main(["export", "--run", str(checkpoint)]) == 0
    onnx = tmp_path / "X.onnx"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.onnx", "X.onnx.json", "X.pt"]
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"wrote {onnx} (max |torch - onnx| logit difference ") and line.endswith(")")
    assert float(line.rsplit(" ", 1)[1][:-1]) < 1e-4

    sidecar = json.loads((tmp_path / "X.onnx.json").read_text())
    assert sidecar["data"] == {"input_mode": "ant", "normalisation": "percentile", "window_size": 256,
                               "window": data.get("window", "thoracic"), **({"pixel_mm": 2.4} if data else {})}
    torch_model = load_model(checkpoint, engine="torch")
    assert sidecar["model_config"] == torch_model.info["model_config"] and sidecar["model_config"]["name"] == "dpunet"
    assert sidecar["shipped"] == {"name": "dpunet", "epoch": 5, "trained_on": "unknown", "synthetic": True}
    assert sidecar["exported_from"] == str(checkpoint)
    assert (sidecar["format"], sidecar["opset"], sidecar["in_channels"]) == ("scintiseg-onnx", 17, 1)

    onnx_model = load_model(onnx, engine="onnx")
    for name in ("input_mode", "normalisation", "window_size", "window", "pixel_mm", "in_channels"):
        assert getattr(onnx_model, name) == getattr(torch_model, name), name
    for key in ("name", "epoch", "trained_on", "synthetic", "disclaimer"):
        assert onnx_model.info[key] == torch_model.info[key], key
    batch = np.random.default_rng(1).random((2, 1, 96, 128), dtype=np.float32) * 3
    torch_logits, onnx_logits = torch_model.engine(batch), onnx_model.engine(batch)
    assert onnx_logits.shape == torch_logits.shape == (2, 1, 96, 128)
    np.testing.assert_allclose(onnx_logits, torch_logits, atol=1e-4)


def test_a_run_folder_exports_its_best_checkpoint_else_its_last(run_dir, tmp_path):
    from scintiseg.models.checkpoint import checkpoint_path

    run = tmp_path / "run"
    _tiny_checkpoint(run_dir, checkpoint_path(run, "last"), epoch=7)
    assert main(["export", "--run", str(run)]) == 0
    sidecar = json.loads((run / "model.onnx.json").read_text())
    assert sidecar["shipped"]["epoch"] == 7 and sidecar["exported_from"] == str(run)
    _tiny_checkpoint(run_dir, checkpoint_path(run, "best"), epoch=3)
    assert main(["export", "--run", str(run)]) == 0  # over the earlier export: the normal case
    assert json.loads((run / "model.onnx.json").read_text())["shipped"]["epoch"] == 3
    assert sorted(p.name for p in run.iterdir()) == ["checkpoints", "model.onnx", "model.onnx.json"]


@pytest.mark.parametrize("difference, code", [(5e-5, 0), (1e-4, 2), (math.nan, 2)], ids=["below", "at", "nan"])
def test_the_parity_check_passes_below_1e_4_only_on_a_random_batch_at_the_window_size(run_dir, tmp_path, capsys,
                                                                                      monkeypatch, difference, code):
    """1e-4 itself fails, and so does NaN (a network whose ONNX logits are not numbers); the check compares the
    serialised model on one random, not constant, batch of the model's channels and window size."""
    import scintiseg.predict.export

    seen = []

    def measured(network, data, batch):
        seen.append((data, batch))
        return difference

    monkeypatch.setattr(scintiseg.predict.export, "max_logit_difference", measured)
    out = tmp_path / "m.onnx"
    assert main(["export", "--run", str(run_dir), "--out", str(out)]) == code
    ((data, batch),) = seen
    assert isinstance(data, bytes) and data
    assert batch.shape == (1, 1, 256, 256) and batch.dtype == np.float32 and 0 <= batch.min() < batch.max() < 2
    assert batch.std() > 0.5  # uniform on [0, 2): about 0.58
    err = capsys.readouterr().err.strip().splitlines()
    if code == 0:
        assert err == [f"wrote {out} (max |torch - onnx| logit difference 5.00e-05)"]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m.onnx.json"]
    else:
        assert err == [f"scintiseg export: error: {out}: ONNX logits differ from torch by {difference:.2e} (>= 1e-4): "
                       f"not written, an existing file there is left as it was"]
        assert list(tmp_path.iterdir()) == []


def test_an_output_under_folders_not_made_yet_makes_them_and_under_a_file_names_that_file(run_dir, tmp_path, capsys):
    deep = tmp_path / "new" / "deeper" / "m.onnx"
    assert main(["export", "--run", str(run_dir), "--out", str(deep)]) == 0
    assert sorted(p.name for p in deep.parent.iterdir()) == ["m.onnx", "m.onnx.json"]
    capsys.readouterr()
    taken = tmp_path / "taken.txt"
    taken.write_text("x")
    out = taken / "sub" / "m.onnx"
    assert main(["export", "--run", str(run_dir), "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"scintiseg export: error: {taken}: not a folder: the ONNX file cannot be written under it\n"
    assert taken.read_text() == "x"


@pytest.mark.parametrize("make, problem", [
    (lambda path: None, "no such model file or run folder"),
    (lambda path: path.mkdir(), "no checkpoints/best.pt or last.pt in this run folder"),
    (lambda path: path.with_suffix(".pt").write_bytes(b"not a checkpoint"), "not a loadable checkpoint: "),
    (lambda path: path.with_suffix(".onnx").write_bytes(b"not an export"),
     "already an ONNX export: --run takes a training run folder or a checkpoint (.pt)\n"),
], ids=["missing", "empty-folder", "corrupt-pt", "onnx-file"])
def test_a_run_that_cannot_be_read_is_one_line_naming_it_and_nothing_is_written(tmp_path, capsys, make, problem):
    source = tmp_path / "in" / "given"
    source.parent.mkdir()
    make(source)
    source = next(source.parent.iterdir(), source)  # the file made, with its suffix
    before = sorted(tmp_path.rglob("*"))
    assert main(["export", "--run", str(source), "--out", str(tmp_path / "out" / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"scintiseg export: error: {source}: {problem}")
    assert sorted(tmp_path.rglob("*")) == before


def test_a_format_other_than_onnx_is_refused_before_anything_is_read(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["export", "--run", str(tmp_path / "nowhere"), "--format", "torchscript"])
    assert stopped.value.code == 2
    assert "argument --format: invalid choice: 'torchscript' (choose from 'onnx')" in capsys.readouterr().err
