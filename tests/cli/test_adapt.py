"""``scintiseg adapt`` (issue 16): a model fine-tuned on a site's unlabelled scans with the Chan-Vese term,
the supervised term on the model's own phantom recipe; one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from scintiseg.cli import main
from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import load_manifest, save_manifest
from scintiseg.io.dicom import write_dicom
from scintiseg.io.images import write_png16
from scintiseg.io.voc import VocBox, write_voc
from scintiseg.models import create_model
from scintiseg.models.checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
from scintiseg.phantom import generate_patient, profile
from scintiseg.predict.loader import ADAPTED_DISCLAIMER, RESEARCH_DISCLAIMER, load_model
from scintiseg.train.adapt import adaptation_config
from scintiseg.train.adapt_config import AdaptSettings
from scintiseg.train.config import TrainConfig


def _model(folder: Path, **changes) -> Path:
    """A tiny U-Net checkpoint whose recipe is a fast synthetic one (profile small, 4.52 mm, 64 px windows)."""
    torch.manual_seed(0)
    network = create_model("unet", width=4, depth=2)
    recipe = dict(model="unet", model_args={"width": 4, "depth": 2}, synthetic="small", pixel_mm=4.52, window_size=64,
                  normalisation="robust", batch_size=4, generator_workers=0, progress=False)
    config = TrainConfig(**{**recipe, **changes})
    path = folder / "model.pt"
    save_checkpoint({"epoch": 3, "model": network.state_dict(), "model_config": dict(network.config),
                     "config": config.to_dict(), "data": {"input_mode": config.input_mode, "normalisation": "robust",
                                                          "window_size": 64, "pixel_mm": 4.52, "window": "whole"}}, path)
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    for k in range(2):
        write_dicom(generate_patient(500 + k, profile("small")).scan, folder / f"s{k}.dcm")
    (folder / "readme.txt").write_text("not a scan\n")
    return folder


def _args(model: Path, site: Path, out: Path, *extra: str) -> list[str]:
    return ["adapt", "--model", str(model), "--unlabelled", str(site), "--out", str(out), "--epochs", "1",
            "--pool-patients", "1", "--val-patients", "1", "--generator-workers", "0", "--threads", "1", "--quiet",
            *extra]


def test_adapt_fine_tunes_the_model_with_the_chan_vese_term_on_site_windows(tmp_path, site, capsys):
    model = _model(tmp_path)
    run = tmp_path / "run"
    assert main(_args(model, site, run, "--lr", "1e-3")) == 0
    captured = capsys.readouterr()
    assert "readme.txt: skipped" in captured.err and f"--model {run}" in captured.out
    assert f"with --model {model}, then `scintiseg evaluate --predictions ADAPTED --against BEFORE" in captured.out
    record = json.loads((run / "adapt.json").read_text())
    assert record["site_views"] == {"unlabelled": 4, "labelled": 0, "pseudo": 0, "boxed": 0}
    assert record["phantom_profile"] == "small" and record["boxes"] == []
    state = load_checkpoint(checkpoint_path(run, "last"))
    config = TrainConfig.from_dict(state["config"])
    assert (config.loss, config.alpha, config.init, config.model) == ("chan_vese", 0.4, str(model), "unet")
    assert state["data"]["pixel_mm"] == 4.52 and state["data"]["window"] == "whole"  # predict reads it as before
    # the reports say it was adapted to this folder's scans (a plain folder's files carry no real-or-phantom mark)
    assert state["data"]["adapted_on"] == [str(site)] and "real_scans" not in state["data"]
    assert record["real_scans"] is False
    info = load_model(run).info
    assert info["disclaimer"] == ADAPTED_DISCLAIMER and info["trained_on"].endswith(f"adapted to the scans in {site}")
    row = state["history"][0]
    assert row["train_unsupervised"] > 0 and row["alpha"] == 0.4
    # Fine-tuned from the model's weights: one or two Adam steps of 1e-3 moved each weight by at most a few
    # steps' worth (a fresh initialisation would differ by the weights' own size). Batch-norm statistics excluded.
    start = load_checkpoint(model)["model"]
    weights = [k for k in start if start[k].is_floating_point() and "running" not in k]
    moved = [float((state["model"][k] - start[k]).abs().max()) for k in weights]
    assert 0 < max(moved) < 0.01


def test_a_second_run_into_the_same_folder_and_a_missing_site_are_one_line(tmp_path, site, capsys):
    model = _model(tmp_path)
    run = tmp_path / "run"
    assert main(_args(model, site, run)) == 0
    capsys.readouterr()
    assert main(_args(model, site, run)) == 2
    assert "already holds a checkpoint" in capsys.readouterr().err
    assert main(_args(model, tmp_path / "nowhere", tmp_path / "run2")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nowhere" in err
    assert not (tmp_path / "run2" / "checkpoints").exists()


def test_adaptation_keeps_the_recipe_and_refuses_a_fused_view_model(tmp_path):
    model = _model(tmp_path)
    config = adaptation_config(model, tmp_path / "run", AdaptSettings(epochs=3, alpha=0.1))
    assert (config.synthetic, config.pixel_mm, config.window_size, config.normalisation) == ("small", 4.52, 64, "robust")
    assert (config.epochs, config.alpha, config.lr, config.alpha_rampup) == (3, 0.1, 1e-4, 0.0)
    assert not config.freeze_norm
    assert adaptation_config(model, tmp_path / "run", AdaptSettings(freeze_norm=True)).freeze_norm
    fused = tmp_path / "fused"
    fused.mkdir()
    with pytest.raises(ScintisegError, match="single-view"):
        adaptation_config(_model(fused, input_mode="two_channel", synthetic=""), tmp_path / "run", AdaptSettings())


def test_an_interrupted_adaptation_resumes_where_it_stopped(tmp_path, site, capsys):
    model = _model(tmp_path)
    run = tmp_path / "run"
    assert main(_args(model, site, run)) == 0
    first = load_checkpoint(checkpoint_path(run, "last"))["history"]
    assert main([*_args(model, site, run), "--epochs", "2", "--resume"]) == 0
    history = load_checkpoint(checkpoint_path(run, "last"))["history"]
    assert [row["epoch"] for row in history] == [1, 2] and history[0] == first[0]
    # a training run's folder (no adapt.json) is not resumed as an adaptation (it was, mixing the two runs' logs)
    (run / "adapt.json").unlink()
    assert main([*_args(model, site, run), "--epochs", "3", "--resume"]) == 2
    assert "is not an adaptation run (no adapt.json)" in capsys.readouterr().err
    assert [row["epoch"] for row in load_checkpoint(checkpoint_path(run, "last"))["history"]] == [1, 2]


def test_adapt_on_normal_scans_alone_trains_supervised_hybrid_windows(tmp_path, site, capsys):
    """``--normals`` without ``--unlabelled``: every window labelled, the Chan-Vese term off by default (the loss
    is the supervised term only), the normal scans counted in adapt.json; neither folder given is one line and
    exit 2."""
    model = _model(tmp_path)
    run = tmp_path / "run"
    # The site fixture's scans stand in for normal ones: the plumbing is tested here, the hybrids in
    # tests/train/test_hybrid_site.py.
    args = [a for a in _args(model, site, run, "--lr", "1e-3") if a not in ("--unlabelled", str(site))]
    assert main([*args, "--normals", str(site)]) == 0
    captured = capsys.readouterr()
    assert "readme.txt: skipped" in captured.err
    # two patients: none held out, so nothing to check the adapted model on, and it says so
    assert "no site check: under 5 patients" in captured.out and not (run / "site_check.json").exists()
    record = json.loads((run / "adapt.json").read_text())
    assert record["alpha"] == 0.0  # the default without unlabelled scans
    assert record["site"] is None and record["normals"] == {"folder": str(site), "scans": 2, "views": 4, "held_out_scans": 0,
                                                            "validation": "the training scans, new lesions",
                                                            "lesions_placed": "by metastatic site on the learned region map, a long "
                                                                              "bone's at its proximal end"}
    assert record["site_views"] == {"unlabelled": 0, "labelled": 0, "pseudo": 0, "boxed": 0}
    state = load_checkpoint(checkpoint_path(run, "last"))
    row = state["history"][0]
    assert row["train_supervised"] > 0 and row["train_loss"] == pytest.approx(row["train_supervised"])
    assert state["data"]["adapted_on"] == [str(site)]  # the normal scans' folder is a site's scans too
    # a plain folder's files carry no mark of a real patient: the report says adapted, not trained on real scans
    assert record["real_scans"] is False and load_model(run).info["disclaimer"] == ADAPTED_DISCLAIMER
    # --placement uniform: the placement before session 71, recorded as such
    uniform = [a for a in _args(model, site, tmp_path / "uniform", "--lr", "1e-3") if a not in ("--unlabelled", str(site))]
    assert main([*uniform, "--normals", str(site), "--placement", "uniform"]) == 0
    placed = json.loads((tmp_path / "uniform" / "adapt.json").read_text())["normals"]["lesions_placed"]
    assert placed == "uniformly on the estimated skeleton, away from its hot spots"
    capsys.readouterr()
    assert main(["adapt", "--model", str(model), "--out", str(tmp_path / "run2"), "--epochs", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--normals" in err
    assert not (tmp_path / "run2").exists()


def test_adapt_on_normals_of_five_patients_checks_the_adapted_model_on_the_held_out_one(tmp_path, site, capsys):
    """Five patients' normal scans: one is held out of training, and after adapting both models read its scan as
    acquired and ``--check-cases`` copies with inserted lesions (experiments/site_check.py): printed, and written to
    RUN/site_check.json and .md, each verdict "too few patients" (one patient)."""
    normals = tmp_path / "normals"
    normals.mkdir()
    for k in range(5):
        write_dicom(generate_patient(520 + k, profile("small")).scan, normals / f"n{k}.dcm")
    model, run = _model(tmp_path), tmp_path / "run"
    args = [a for a in _args(model, site, run) if a not in ("--unlabelled", str(site))]
    assert main([*args, "--normals", str(normals), "--check-cases", "1"]) == 0
    out = capsys.readouterr().out
    assert json.loads((run / "adapt.json").read_text())["normals"]["held_out_scans"] == 1
    record = json.loads((run / "site_check.json").read_text())
    assert (record["held_out_scans"], record["patients"], record["normal_views"], record["hybrid_views"]) == (1, 1, 2, 2)
    assert record["started_from"] == f"--model {model}" and record["adapted"] == str(run)
    assert [m["label"] for m in record["metrics"]] == ["lesion-views found", "false calls per normal view", "pooled DSC"]
    assert {m["verdict"] for m in record["metrics"]} == {"too few patients"}
    assert "check on 1 held-out patient (1 normal scan as acquired, and 1 copy of each with inserted lesions" in out and f"written to {run / 'site_check.md'}" in out
    assert (run / "site_check.md").read_text().startswith(f"# Site check: {run} against --model {model}")
    # a check stopped (or its files lost) is made again by --resume of the finished run, which trains no more
    (run / "site_check.json").unlink()
    assert main([*args, "--normals", str(normals), "--check-cases", "1", "--resume"]) == 0
    assert "check on 1 held-out patient" in capsys.readouterr().out
    assert json.loads((run / "site_check.json").read_text()) == record
    assert [row["epoch"] for row in load_checkpoint(checkpoint_path(run, "last"))["history"]] == [1]
    # --check-cases 0: no check, nothing written
    quiet = tmp_path / "unchecked"
    args = [a for a in _args(model, site, quiet) if a not in ("--unlabelled", str(site))]
    assert main([*args, "--normals", str(normals), "--check-cases", "0"]) == 0
    assert "check on" not in capsys.readouterr().out and not (quiet / "site_check.json").exists()


def test_adapt_on_a_data_set_of_real_normal_scans_says_the_model_saw_real_patients(tmp_path, site, capsys):
    """Session 63: normal scans given as a data set whose cases are not marked synthetic (as `dataset import` marks
    a patient's scan) are real patients' scans, counted as a site data set's are: adapt.json and the checkpoint say
    ``real_scans`` and a report of the model carries the real-patients disclaimer. Before, ``real_scans`` counted the
    unlabelled site's scans only, and the report said the model saw phantoms and a site's scans without outlines."""
    from scintiseg.io.dataset import Case, DatasetManifest

    data = tmp_path / "normals"
    (data / "images").mkdir(parents=True)
    cases = []
    for k in range(2):
        (data / "images" / f"s{k}.dcm").write_bytes((site / f"s{k}.dcm").read_bytes())
        cases.append(Case(case_id=f"s{k}", patient_id=f"N{k}", image=f"images/s{k}.dcm", origin="clinical"))
    save_manifest(DatasetManifest(name="normals", views=["ANT", "POST"], pixel_spacing=(4.52, 4.52), cases=cases), data)
    model, run = _model(tmp_path), tmp_path / "run"
    args = [a for a in _args(model, site, run) if a not in ("--unlabelled", str(site))]
    assert main([*args, "--normals", str(data)]) == 0
    capsys.readouterr()
    record = json.loads((run / "adapt.json").read_text())
    assert record["normals"]["scans"] == 2 and record["real_scans"] is True
    assert load_checkpoint(checkpoint_path(run, "last"))["data"]["real_scans"] is True
    info = load_model(run).info
    assert info["disclaimer"] == RESEARCH_DISCLAIMER and info["synthetic"] is False
    assert info["trained_on"].endswith(f"adapted to the scans in {data}")
    # The data set's test split stays out, as the site's does (session 63: before, its test patients' scans trained).
    (data / "splits.json").write_text(json.dumps({"seed": 0, "test": ["s1"], "train": ["s0"]}))
    again = tmp_path / "run-split"
    args = [a for a in _args(model, site, again) if a not in ("--unlabelled", str(site))]
    assert main([*args, "--normals", str(data)]) == 0
    assert "its test split (1 case) left out of adaptation" in capsys.readouterr().err
    assert json.loads((again / "adapt.json").read_text())["normals"]["scans"] == 1


def test_adapt_learns_from_readers_boxes_and_refuses_boxes_that_label_nothing(tmp_path, capsys):
    site, boxes = tmp_path / "site", tmp_path / "boxes"
    site.mkdir()
    for k in range(2):  # one-view files, as BS-80K's JPEGs: a VOC file names no view
        patient = generate_patient(510 + k, profile("small"))
        view = patient.scan.view("ANT")
        write_png16(view.astype("uint16"), site / f"p{k}.png")
        rows, cols = patient.masks["ANT"].nonzero()
        found = [VocBox("Abnormal", (int(rows.min()), int(rows.max())), (int(cols.min()), int(cols.max())))] if len(rows) else []
        write_voc(boxes / f"p{k}.xml", f"p{k}.png", view.shape, found)
    model, run = _model(tmp_path), tmp_path / "run"
    assert main(_args(model, site, run, "--boxes", str(boxes))) == 0
    capsys.readouterr()
    record = json.loads((run / "adapt.json").read_text())
    assert record["site_views"] == {"unlabelled": 0, "labelled": 0, "pseudo": 0, "boxed": 2}
    assert record["boxes"] == [str(boxes)] and record["turned"] == []
    assert load_checkpoint(checkpoint_path(run, "last"))["history"][0]["train_supervised"] > 0
    # Boxes of other files, a broken box file: one line each, before any training.
    other = tmp_path / "other"
    write_voc(other / "x.xml", "x.png", (10, 10), [])
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "p0.xml").write_text("<annotation><object>")
    wrong_size = tmp_path / "wrong_size"
    write_voc(wrong_size / "p0.xml", "p0.png", (10, 10), [])
    for folder, words in ((other, "no scan here has a usable box annotation"), (tmp_path / "bad", "malformed XML"),
                          (wrong_size, "1 found and not used, e.g.")):
        assert main(_args(model, site, tmp_path / f"run_{folder.name}", "--boxes", str(folder))) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err
        assert not (tmp_path / f"run_{folder.name}" / "checkpoints").exists()


def test_adapt_reads_a_scan_stored_head_down_turned_as_predict_does(tmp_path, capsys):
    site = tmp_path / "site"
    site.mkdir()
    scan = generate_patient(520, profile("small")).scan
    write_dicom(scan, site / "up.dcm")
    write_dicom(scan.with_views({v: scan.view(v)[::-1] for v in scan.view_names}), site / "down.dcm")
    model, run = _model(tmp_path), tmp_path / "run"
    assert main(_args(model, site, run)) == 0
    assert "down.dcm: stored head-down: read turned" in capsys.readouterr().err
    record = json.loads((run / "adapt.json").read_text())
    assert record["turned"] == [{"path": str(site / "down.dcm"), "how": "head_down"}]
    # The training side's word for a row reversal (outlines and boxes follow it) is the prediction side's.
    from scintiseg.predict.pipeline import UPRIGHT_ROWS_REVERSED
    from scintiseg.train.unlabelled import ROWS_REVERSED

    assert ROWS_REVERSED == UPRIGHT_ROWS_REVERSED


def test_adapt_on_a_data_set_leaves_its_test_patients_out_unless_told(tmp_path, capsys):
    """A data set with a reader's outlines and no split: one is made as ``train`` makes it, its test patient's
    scan is read neither as an image nor as an outline, and both are said (a warning line each, adapt.json);
    ``--include-test`` adapts on every case and warns that the test split is then no longer unseen."""
    model, data = _model(tmp_path), tmp_path / "ds"
    assert main(["phantom", "--patients", "5", "--profile", "small", "--seed", "7", "--out", str(data)]) == 0
    capsys.readouterr()
    run = tmp_path / "run"
    assert main(_args(model, data, run)) == 0
    err = capsys.readouterr().err
    splits = json.loads((data / "splits.json").read_text())
    assert len(splits["test"]) == 1 and "made a patient-level split" in err
    assert "its test split (1 case) left out of adaptation" in err
    record = json.loads((run / "adapt.json").read_text())
    assert record["test_split"] == {"from": "made", "cases": splits["test"], "left_out": splits["test"],
                                    "include_test": False}
    assert record["site_views"]["labelled"] == 8  # four patients' ANT and POST, not five
    assert record["real_scans"] is False  # the phantom's cases are marked synthetic
    manifest = load_manifest(data)
    manifest.cases[0].synthetic = False  # as `dataset import` marks a patient's scan
    save_manifest(manifest, data)
    assert main([*_args(model, data, tmp_path / "all"), "--include-test"]) == 0
    err = capsys.readouterr().err
    assert "adapting on its test split too" in err and "made a patient-level split" not in err
    record = json.loads((tmp_path / "all" / "adapt.json").read_text())
    assert record["test_split"]["left_out"] == [] and record["test_split"]["from"] == "splits.json"
    assert record["site_views"]["labelled"] == 10
    assert record["real_scans"] is True and load_model(tmp_path / "all").info["disclaimer"] == RESEARCH_DISCLAIMER


def _settings(*argv: str) -> AdaptSettings:
    """The :class:`AdaptSettings` ``scintiseg adapt ARGV`` resolves (no model is read)."""
    from scintiseg.cli import build_parser
    from scintiseg.cli.adapt import resolve_settings

    return resolve_settings(build_parser("adapt").parse_args(["adapt", "--out", "run", *argv]))


def test_every_setting_but_progress_is_a_flag_of_the_same_name_and_default():
    assert _settings("--unlabelled", "site") == AdaptSettings()
    given = _settings("--unlabelled", "site", "--epochs", "3", "--alpha", "0.2", "--share", "0.25", "--lr", "1e-3",
                      "--pool-patients", "4", "--val-patients", "2", "--synthetic", "small", "--freeze-norm",
                      "--seed", "7", "--threads", "1", "--generator-workers", "0", "--device", "cpu", "--normals",
                      "normal/", "--boxes", "a,b", "--boxes", "c", "--include-test", "--check-cases", "2",
                      "--quiet")
    assert given == AdaptSettings(epochs=3, alpha=0.2, share=0.25, lr=1e-3, pool_patients=4, val_patients=2,
                                  synthetic="small", freeze_norm=True, seed=7, threads=1, generator_workers=0,
                                  device="cpu", normals="normal", boxes=["a,b", "c"], include_test=True,
                                  check_cases=2, progress=False)
    # (a folder named as a path; one folder per --boxes, commas and all)


def test_alpha_defaults_to_paper_bs_with_unlabelled_scans_and_to_0_with_normal_scans_alone():
    assert _settings("--unlabelled", "site").alpha == _settings().alpha == 0.4
    assert _settings("--unlabelled", "site", "--normals", "normal").alpha == 0.4
    assert _settings("--normals", "normal").alpha == 0.0  # no unlabelled window for the Chan-Vese term
    assert _settings("--normals", "normal", "--alpha", "0.1").alpha == 0.1


@pytest.mark.parametrize("changes, said", [
    ({"share": 1.0}, "--share must lie in [0, 1), got 1.0"),
    ({"share": float("nan")}, "--share must lie in [0, 1), got nan"),
    ({"alpha": float("inf")}, "--alpha must be a finite number, got inf"),
    ({"seed": -1}, "--seed must be a whole number from 0 to 4294967295, got -1"),
    ({"device": "tpu"}, "--device must be one of auto, cpu, cuda, got 'tpu'"),
    ({"check_cases": -1}, "--check-cases must be 0 or more, got -1"),
])
def test_impossible_settings_are_one_line_naming_the_flag_when_made(changes, said):
    with pytest.raises(ScintisegError) as caught:
        AdaptSettings(**changes)
    assert str(caught.value) == said


@pytest.mark.parametrize("flag, value, said", [
    ("--epochs", "abc", "argument --epochs: invalid int value: 'abc'"),
    ("--device", "tpu", "argument --device: invalid choice: 'tpu'"),
])
def test_a_flag_that_is_no_number_or_choice_is_argparses_usage_error(flag, value, said, capsys):
    with pytest.raises(SystemExit) as stopped:
        _settings("--unlabelled", "site", flag, value)
    assert stopped.value.code == 2 and said in capsys.readouterr().err


def test_a_site_check_that_cannot_be_made_is_one_line_and_the_adaptation_stands(monkeypatch, capsys, tmp_path):
    """The check runs after the run folder is complete: a check it cannot make says why in one line, writes nothing
    and does not turn the command's exit status into a failure."""
    from types import SimpleNamespace

    from scintiseg.cli import adapt as cli_adapt
    from scintiseg.experiments import site_check

    def refuse(*args, **kwargs):
        raise ScintisegError("view ANT: no skeleton pixel is free for a lesion")

    monkeypatch.setattr(site_check, "check_adaptation", refuse)
    monkeypatch.setattr("scintiseg.predict.loader.load_model", lambda spec=None, **kwargs: object())
    result = SimpleNamespace(held_out_normals=[("n0", None)], run_dir=tmp_path)
    cli_adapt.check_site(SimpleNamespace(model=None), AdaptSettings(normals="n", progress=False), result,
                         "the shipped model")
    assert capsys.readouterr().out == "no site check: view ANT: no skeleton pixel is free for a lesion\n"
    assert not list(tmp_path.iterdir())

    def unwritable(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "site_check.md"))

    monkeypatch.setattr(site_check, "check_adaptation", lambda *args, **kwargs: object())
    monkeypatch.setattr(site_check, "write_site_check", unwritable)
    cli_adapt.check_site(SimpleNamespace(model=None), AdaptSettings(normals="n", progress=False), result,
                         "the shipped model")
    assert capsys.readouterr().out == f"no site check written: Permission denied ({tmp_path / 'site_check.md'})\n"
