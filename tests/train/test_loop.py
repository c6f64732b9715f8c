"""Tests for scintiseg.train.loop: run folder, repeatability, interrupt + resume, early stopping, semi-supervision."""

import csv
import json

import pytest
import torch

from scintiseg.errors import ScintisegError
from scintiseg.models.checkpoint import checkpoint_path, load_checkpoint, load_model_from_checkpoint, save_checkpoint
from scintiseg.train.config import TrainConfig
from scintiseg.train.loop import train
from support import conftest_of


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, or SIGTERM (scintiseg.cli raises it as one), arriving mid-epoch."""


def _weights(run_dir):
    return load_checkpoint(checkpoint_path(run_dir, "last"))["model"]


def test_run_folder_contents_and_weights_only_checkpoints(make_data, tiny_config):
    config = tiny_config()
    result = train(config, data=make_data())
    run = result.run_dir
    assert result.epochs_run == 3 and 1 <= result.best_epoch <= 3
    state = torch.load(checkpoint_path(run, "best"), weights_only=True)
    assert state["epoch"] == result.best_epoch and state["config"]["model"] == "unet"
    assert state["model_config"]["name"] == "unet"
    with open(run / "log.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert 0.0 <= float(rows[-1]["val_dsc"]) <= 1.0
    assert TrainConfig.from_yaml(run / "config.yaml") == config
    assert json.loads((run / "summary.json").read_text())["finished"] is True
    model, _ = load_model_from_checkpoint(checkpoint_path(run, "best"))
    assert model(torch.zeros(1, 1, 32, 32)).shape == (1, 1, 32, 32)
    assert not list(run.rglob("*.part"))
    with pytest.raises(ScintisegError, match="--resume"):
        train(config, data=make_data())
    # resumed with another network than the run's: one line naming last.pt (torch's traceback before session 61)
    with pytest.raises(ScintisegError, match=r"last.pt: its weights are not this run's unet width=8 .*resume with the"):
        train(tiny_config(model_args={"width": 8, "depth": 2}), data=make_data(), resume=True)
    # last.pt deleted (to save space): a new run, or one told to resume, would overwrite best.pt
    best = checkpoint_path(run, "best").read_bytes()
    checkpoint_path(run, "last").unlink()
    for resume in (False, True):
        with pytest.raises(ScintisegError, match="holds checkpoints/best.pt and no last.pt to resume from"):
            train(config, data=make_data(), resume=resume)
    assert checkpoint_path(run, "best").read_bytes() == best


def test_training_reduces_loss_and_finds_lesions(make_data, tiny_config):
    result = train(tiny_config(epochs=12, lr=1e-2), data=make_data(train=16))
    history = result.history
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"]
    assert max(r["val_dsc"] for r in history) > 0.3  # bright discs are easy: a broken loop stays near 0


def test_interrupt_mid_epoch_then_resume_matches_uninterrupted_run(make_data, tiny_config, tmp_path):
    reference = train(tiny_config(out=str(tmp_path / "ref")), data=make_data())

    def crash(epoch, batch_index):
        if epoch == 1 and batch_index == 1:
            raise Interrupted

    config = tiny_config(out=str(tmp_path / "crash"))
    with pytest.raises(Interrupted) as stopped:
        train(config, data=make_data(), on_batch=crash)
    assert load_checkpoint(checkpoint_path(config.out, "last"))["epoch"] == 1  # epoch 2 was lost mid-way
    assert stopped.value.__notes__ == [f"epoch 1 was the last finished, in {checkpoint_path(config.out, 'last')}: "
                                       "the same command with --resume goes on from it"]  # train's or adapt's
    resumed = train(config, resume=True, data=make_data())
    assert resumed.epochs_run == 3
    expected, got = _weights(reference.run_dir), _weights(config.out)
    assert all(torch.equal(expected[k], got[k]) for k in expected)
    assert [r["val_dsc"] for r in resumed.history] == [r["val_dsc"] for r in reference.history]


def test_a_random_gain_changes_what_is_learned_and_resumes_to_the_same_weights(make_data, tiny_config, tmp_path):
    plain = train(tiny_config(out=str(tmp_path / "plain")), data=make_data())
    reference = train(tiny_config(out=str(tmp_path / "ref"), gain_jitter=0.3), data=make_data())
    assert any(not torch.equal(a, b) for a, b in zip(_weights(plain.run_dir).values(), _weights(reference.run_dir).values()))

    def crash(epoch, batch_index):
        if epoch == 2 and batch_index == 0:
            raise Interrupted

    config = tiny_config(out=str(tmp_path / "crash"), gain_jitter=0.3)
    with pytest.raises(Interrupted):
        train(config, data=make_data(), on_batch=crash)
    train(config, resume=True, data=make_data())
    expected, got = _weights(reference.run_dir), _weights(config.out)
    assert all(torch.equal(expected[k], got[k]) for k in expected)


def test_resume_removes_what_a_killed_writer_left_in_the_run_folder(make_data, tiny_config):
    # SIGKILL between an atomic write's temporary file and its rename leaves ``.NAME.*.part`` behind (seen in CI:
    # ``.log.csv.7b7avh7s.part``); the resumed run deletes them in the run folder and in checkpoints/
    config = tiny_config(epochs=2)
    run = train(config, data=make_data()).run_dir
    left = [run / ".log.csv.7b7avh7s.part", run / "checkpoints" / ".last.pt.x1y2z3.part"]
    for path in left:
        path.write_text("half")
    (run / "notes.part").write_text("a user's file, not a temporary one")
    train(tiny_config(epochs=3), resume=True, data=make_data())
    assert not any(path.exists() for path in left)
    assert (run / "notes.part").exists()


def test_resume_from_a_last_checkpoint_without_optimizer_state_is_one_line(make_data, tiny_config):
    """A ``last.pt`` that prediction could read (model keys only) cannot resume training: one line, no KeyError."""
    config = tiny_config(epochs=1)
    train(config, data=make_data())
    last = checkpoint_path(config.out, "last")
    state = load_checkpoint(last)
    del state["optimizer"]
    save_checkpoint(state, last)
    with pytest.raises(ScintisegError) as error:
        train(tiny_config(epochs=2), resume=True, data=make_data())
    message = str(error.value)
    assert message.startswith(f"{last}: checkpoint lacks optimizer") and "\n" not in message


def test_seeds_make_runs_repeatable_and_different_seeds_differ(make_data, tiny_config, tmp_path):
    a = train(tiny_config(out=str(tmp_path / "a"), epochs=1), data=make_data())
    b = train(tiny_config(out=str(tmp_path / "b"), epochs=1), data=make_data())
    c = train(tiny_config(out=str(tmp_path / "c"), epochs=1, seed=5), data=make_data())
    wa, wb, wc = _weights(a.run_dir), _weights(b.run_dir), _weights(c.run_dir)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)


def test_early_stopping_stops_after_patience(make_data, tiny_config):
    # a learning rate too small to change float32 weights, no BatchNorm statistics: the validation loss
    # never improves after epoch 1
    config = tiny_config(epochs=10, lr=1e-12, early_stopping=2, monitor="val_loss",
                         model_args={"width": 4, "depth": 2, "batch_norm": False})
    result = train(config, data=make_data())
    assert result.stopped_early and result.epochs_run == 3 and result.best_epoch == 1


def test_semi_supervised_training_uses_chan_vese_on_unlabelled_items(make_data, tiny_config):
    flags = [True] * 4 + [False] * 8
    config = tiny_config(loss="chan_vese", alpha=0.4, alpha_rampup=0.5, labelled=0.37, epochs=2, augment=True)
    result = train(config, data=make_data(labelled=flags))
    first, last = result.history
    assert first["train_unsupervised"] > 0
    assert 0 < first["alpha"] < last["alpha"] <= 0.4 + 1e-9  # ramped up


def test_checkpoint_records_what_prediction_needs(tiny_split_dataset, tmp_path):
    """The input mode, normalisation and crop size travel with the weights (scintiseg.predict.loader reads them)."""
    from scintiseg.predict.loader import load_model

    config = TrainConfig(data=str(tiny_split_dataset), out=str(tmp_path / "run"), model="unet",
                         model_args={"width": 4, "depth": 2}, input_mode="ant", normalisation="log",
                         epochs=1, batch_size=4, progress=False)
    train(config)
    state = torch.load(checkpoint_path(tmp_path / "run", "last"), weights_only=True)
    assert state["data"] == {"input_mode": "ant", "normalisation": "log", "window_size": 32}  # the tiny crops' size
    model = load_model(tmp_path / "run", engine="torch", device="cpu")
    assert (model.input_mode, model.normalisation, model.window_size) == ("ant", "log", 32)


def _norm_statistics(state):
    return {k: v for k, v in state.items() if k.endswith(("running_mean", "running_var"))}


def test_freeze_norm_keeps_the_initial_statistics_while_the_weights_learn(make_data, tiny_config, tmp_path):
    start = train(tiny_config(out=str(tmp_path / "start"), epochs=1), data=make_data())
    init = checkpoint_path(start.run_dir, "last")
    before = _weights(start.run_dir)
    assert _norm_statistics(before), "the tiny network must hold BatchNorm layers for this test to mean anything"
    runs = {}
    for frozen in (True, False):
        config = tiny_config(out=str(tmp_path / f"frozen_{frozen}"), epochs=1, init=str(init), freeze_norm=frozen,
                             lr=1e-2)
        runs[frozen] = _weights(train(config, data=make_data()).run_dir)
    for key, value in _norm_statistics(before).items():
        assert torch.equal(runs[True][key], value), key
    assert any(not torch.equal(runs[False][k], v) for k, v in _norm_statistics(before).items())
    learned = [k for k in before if k.endswith("weight") and not torch.equal(runs[True][k], before[k])]
    assert learned, "with frozen statistics the convolutions and affine weights must still train"


def test_freeze_keeps_the_named_modules_and_trains_the_rest(make_data, tiny_config, tmp_path):
    """``freeze=["encoders", "bottleneck"]``: every weight and statistic of those modules stays the init's, the
    decoder's weights learn; an unknown module name or freezing everything is a one-line error."""
    start = train(tiny_config(out=str(tmp_path / "start"), epochs=1), data=make_data())
    init = str(checkpoint_path(start.run_dir, "last"))
    before = _weights(start.run_dir)
    config = tiny_config(out=str(tmp_path / "part"), epochs=1, init=init, freeze=["encoders", "bottleneck"], lr=1e-2)
    after = _weights(train(config, data=make_data()).run_dir)
    kept = [k for k in before if k.startswith(("encoders.", "bottleneck."))]
    assert kept and _norm_statistics({k: before[k] for k in kept}), "the frozen modules must hold norm layers"
    assert all(torch.equal(after[k], before[k]) for k in kept)
    assert any(not torch.equal(after[k], before[k]) for k in before if k.startswith(("decoders.", "head.")))
    with pytest.raises(ScintisegError, match="has no module encoder .*its modules: .*encoders"):
        train(tiny_config(out=str(tmp_path / "typo"), init=init, freeze=["encoder"]), data=make_data())
    every = ["encoders", "pools", "bottleneck", "context", "ups", "decoders", "head"]
    with pytest.raises(ScintisegError, match="leaves no weight"):
        train(tiny_config(out=str(tmp_path / "all"), init=init, freeze=every), data=make_data())


def test_save_every_keeps_the_checkpoints_of_those_epochs(make_data, tiny_config):
    """``save_every=2`` over 5 epochs keeps epochs 2 and 4 (each that epoch's weights, loadable for prediction)."""
    from scintiseg.models.checkpoint import epoch_checkpoint_path
    from scintiseg.predict.loader import load_model

    result = train(tiny_config(epochs=5, save_every=2), data=make_data())
    kept = sorted(p.name for p in (result.run_dir / "checkpoints").glob("epoch_*.pt"))
    assert kept == ["epoch_0002.pt", "epoch_0004.pt"]
    second, fourth = (load_checkpoint(epoch_checkpoint_path(result.run_dir, e)) for e in (2, 4))
    assert (second["epoch"], fourth["epoch"]) == (2, 4) and len(fourth["history"]) == 4
    assert not all(torch.equal(second["model"][k], fourth["model"][k]) for k in second["model"])
    last = _weights(result.run_dir)
    assert not all(torch.equal(fourth["model"][k], last[k]) for k in last)  # epoch 5 moved on
    assert load_model(epoch_checkpoint_path(result.run_dir, 4), engine="torch").window_size == 32


def test_save_every_off_keeps_only_best_and_last(make_data, tiny_config):
    result = train(tiny_config(epochs=2), data=make_data())
    assert sorted(p.name for p in (result.run_dir / "checkpoints").iterdir()) == ["best.pt", "last.pt"]


def test_a_run_stopped_in_its_first_epoch_says_it_left_no_checkpoint(make_data, tiny_config, tmp_path):
    def crash(epoch, batch_index):
        raise Interrupted

    config = tiny_config(out=str(tmp_path / "first"))
    with pytest.raises(Interrupted) as stopped:
        train(config, data=make_data(), on_batch=crash)
    assert stopped.value.__notes__ == [f"no epoch finished, {config.out} holds no checkpoint"]
    assert not checkpoint_path(config.out, "last").exists()


def test_fine_tuning_a_whole_body_model_on_crops_says_that_predict_will_read_a_crop_model(tmp_path, tiny_config):
    """`train --data CROPS --init <whole-body model>` records no pixel size, so predict reads the run as a
    thoracic-crop model: one warning says so and names `adapt`; a crop model's `--init` says nothing."""
    import warnings

    from scintiseg.models import create_model
    from scintiseg.models.checkpoint import save_checkpoint
    from support import conftest_of

    data = conftest_of("train").write_tiny_dataset(tmp_path / "data", patients=6)
    network = create_model("unet", width=4, depth=2)
    for name, record in (("whole.pt", {"pixel_mm": 2.26, "window": "whole"}), ("crop.pt", {})):
        save_checkpoint({"epoch": 1, "model": network.state_dict(), "model_config": dict(network.config),
                         "data": {"input_mode": "ant", "normalisation": "none", **record}}, tmp_path / name)
    config = tiny_config(data=str(data), out=str(tmp_path / "a"), epochs=1, init=str(tmp_path / "whole.pt"))
    with pytest.warns(UserWarning, match="whole-body model .* partial views .* reads the result as a thoracic-crop "
                      "model.*`scintiseg adapt"):
        train(config)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train(tiny_config(data=str(data), out=str(tmp_path / "b"), epochs=1, init=str(tmp_path / "crop.pt")))


def test_init_recipe_reads_how_the_shipped_networks_were_made_and_fed():
    """The recipe `train --init` takes: the lesion model's network, `robust` inputs, 2.26 mm whole-body windows of
    256; the region network's task, its classes among the arguments, 4.52 mm windows of 448."""
    from scintiseg.predict.loader import SHIPPED_WEIGHTS
    from scintiseg.predict.region_model import SHIPPED_REGION_WEIGHTS
    from scintiseg.train.loop import init_recipe

    lesions = init_recipe(SHIPPED_WEIGHTS)
    assert (lesions["model"], lesions["input_mode"], lesions["normalisation"]) == ("rdinet", "ant", "robust")
    assert (lesions["pixel_mm"], lesions["window_size"]) == (2.26, 256) and "task" not in lesions
    assert "in_channels" not in lesions["model_args"] and lesions["model_args"]["width"] == 8
    regions = init_recipe(SHIPPED_REGION_WEIGHTS)
    assert (regions["task"], regions["pixel_mm"], regions["window_size"]) == ("regions", 4.52, 448)
    assert regions["model_args"]["classes"] == 27


def test_init_recipe_takes_only_what_the_checkpoint_records(tmp_path):
    """A field the record does not hold is left to the flags and TrainConfig, not filled with the input contract's
    default (a region network's 4.52 mm) or the training config's value."""
    from scintiseg.models import create_model
    from scintiseg.train.loop import init_recipe

    network = create_model("unet", width=4, depth=2)
    cases = {
        "old.pt": ({"config": {"input_mode": "ant", "normalisation": "log", "pixel_mm": 9.0}}, {}),
        "regions.pt": ({"data": {"task": "regions", "classes": ["other", "skull"]}}, {"task": "regions"}),
        "crop.pt": ({"data": {"normalisation": "robust", "pixel_mm": 2.26, "window_size": 128}},
                    {"normalisation": "robust"}),  # a pixel size without "window": "whole" is no whole-body model
        "whole.pt": ({"data": {"pixel_mm": 2.26, "window": "whole"}}, {"pixel_mm": 2.26}),
    }
    for name, (record, expected) in cases.items():
        path = save_checkpoint({"model": network.state_dict(), "model_config": dict(network.config), **record},
                               tmp_path / name)
        recipe = init_recipe(path)
        assert recipe.pop("model") == "unet" and recipe.pop("model_args")["width"] == 4
        assert recipe == expected, name


def test_a_loss_that_is_no_longer_a_number_stops_the_run_saying_what_it_kept(make_data, tiny_config, monkeypatch):
    """A diverged run stops at the batch whose loss is NaN (its weights would be NaN from the next step on), in one
    line naming the epoch, the batch and the learning rate; the epochs finished before it are kept."""
    from scintiseg.train import loop

    build = loop.build_loss_from_config
    calls = {"n": 0}

    def poisoned(config):
        loss_fn = build(config)

        def call(*args, **kwargs):
            calls["n"] += torch.is_grad_enabled()  # training batches; validation runs without gradients
            loss, parts = loss_fn(*args, **kwargs)
            return (loss * float("nan") if calls["n"] == 5 and torch.is_grad_enabled() else loss), parts

        return call

    monkeypatch.setattr(loop, "build_loss_from_config", poisoned)
    config = tiny_config(epochs=3, batch_size=4)
    data = make_data()  # 12 training images: 3 batches an epoch, so the fifth is epoch 2's second
    with pytest.raises(ScintisegError, match=r"^the training loss is nan at epoch 2, batch 2: the run diverged "
                                             r"\(learning rate 0.003; try a lower --lr\); epoch 1 was the last "
                                             r"finished, in .*last.pt$"):
        train(config, data=data)
    state = load_checkpoint(checkpoint_path(config.out, "last"))
    assert state["epoch"] == 1 and all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def _imported_whole_body_mix(root):
    """Six whole-body cases (112 rows of 9 mm) as an imported site's data set holds them: P000 outlined on ANT only,
    P001 on POST only, P002 not at all, P003 on both; P004 (ANT only) and P005 (a lone POST scan) validate
    (fold 0). Returns the data set folder."""
    from scintiseg.io.dataset import SPLITS_NAME, load_case, load_manifest, save_manifest
    from scintiseg.io.dicom import write_dicom
    from scintiseg.scan import Scan
    from support import conftest_of

    data = conftest_of("train").write_tiny_dataset(root, patients=6, size=112, pixel_mm=9.0, test=0.0)
    manifest = load_manifest(data)
    lone = manifest.case("P005")
    scan, _ = load_case(data, lone)
    write_dicom(Scan({"POST": scan.view("POST")}, pixel_spacing=scan.pixel_spacing, patient_id="P005"), data / lone.image)
    for case_id, views in (("P000", ["POST"]), ("P001", ["ANT"]), ("P002", ["ANT", "POST"]), ("P004", ["POST"]),
                           ("P005", ["ANT"])):
        for view in views:
            manifest.case(case_id).masks.pop(view)
    save_manifest(manifest, data)
    ids = [f"P{i:03d}" for i in range(6)]
    (data / SPLITS_NAME).write_text(json.dumps({"train": ids, "test": [],
                                                "folds": [{"train": ids[:4], "val": ids[4:]}]}))
    return data


@pytest.mark.parametrize("views", [["POST"], ["ANT", "POST"], ["VIEW"]])
def test_a_whole_body_data_set_trains_every_outlined_view_whatever_views_its_cases_share(tmp_path, tiny_config, views):
    """Session 63: an imported data set's ``views`` are those every case shares (one lone POST scan makes them
    ["POST"]); a whole-body run reads every view as its own input, so a case trains on each outlined view and only its
    views without an outline are left out, counted as views. Before, the shared views decided for the whole case:
    with ["POST"] P000's outlined ANT never trained, with ["ANT", "POST"] P001's outlined POST did not."""
    from scintiseg.io.dataset import load_manifest, save_manifest
    from scintiseg.train.data import PERSON, WholeBodyWindows, load_samples, window_starts
    from scintiseg.train.loop import prepare_data

    data = _imported_whole_body_mix(tmp_path / "data")
    manifest = load_manifest(data)
    manifest.views = views
    save_manifest(manifest, data)
    config = tiny_config(data=str(data), fold=0, pixel_mm=9.0, window_size=64)
    with pytest.warns(UserWarning, match=r"training left out 2 view\(s\) without an outline \(e\.g\. P000 POST\) and "
                                         r"1 case\(s\) without an outline of any view \(e\.g\. P002\)"):
        prepared = prepare_data(config)
    trained = [s.case_id for s in prepared.train.samples]
    assert sorted(set(trained)) == ["P000", "P001", "P003"]
    # each case's windows are those of its outlined views alone (tiles and one on each lesion), the others said
    training = WholeBodyWindows(9.0, 64, around_lesions=True)
    for case_id, outlined, left in (("P000", 1, ["P000 POST"]), ("P001", 1, ["P001 ANT"]), ("P003", 2, [])):
        said: list[str] = []
        alone = load_samples(data, [case_id], "ant", "none", keep=(PERSON,), windows=training, left_out=said)
        assert trained.count(case_id) == len(alone) > outlined * len(window_starts(112, 64)) ** 2 and said == left
    # validation: P004's ANT and the lone P005's POST, each a view's tiles
    assert len(prepared.val) == 2 * len(window_starts(112, 64)) ** 2
    assert {s.case_id for s in prepared.val.samples} == {"P004", "P005"}
    # the views degraded anew every epoch are the same outlined views
    with pytest.warns(UserWarning, match=r"training left out 2 view\(s\) without an outline \(e\.g\. P000 POST\)"):
        degraded = prepare_data(tiny_config(data=str(data), fold=0, pixel_mm=9.0, window_size=64, degrade_data=True))
    assert sorted((v.case_id, v.view) for v in degraded.pool.views) == [
        ("P000", "ANT"), ("P001", "POST"), ("P003", "ANT"), ("P003", "POST")]


@pytest.mark.parametrize("monitor, best", [("val_dsc", max), ("val_loss", min)])
def test_best_pt_is_the_epoch_with_the_best_monitored_value(make_data, tiny_config, monitor, best):
    """The validation DSC is maximised, the validation loss minimised; best.pt holds that epoch."""
    result = train(tiny_config(epochs=8, lr=1e-2, monitor=monitor), data=make_data(train=16))
    values = [row[monitor] for row in result.history]
    assert len(set(values)) > 1  # else any epoch would do
    assert result.best_epoch == values.index(best(values)) + 1 and result.best_value == pytest.approx(best(values))
    assert torch.load(checkpoint_path(result.run_dir, "best"), weights_only=True)["epoch"] == result.best_epoch


def test_a_score_that_never_improves_keeps_the_first_epoch_as_best(make_data, tiny_config):
    """Ties are no improvement: a validation DSC equal every epoch keeps epoch 1 (as the loss does, early stopping)."""
    config = tiny_config(epochs=3, lr=1e-12, model_args={"width": 4, "depth": 2, "batch_norm": False})
    result = train(config, data=make_data())
    assert len({row["val_dsc"] for row in result.history}) == 1 and result.best_epoch == 1


def test_a_resumed_run_keeps_counting_epochs_without_improvement(make_data, tiny_config):
    """Early stopping's patience goes on across a resume: 2 epochs without improvement stop the run after epoch 3,
    interrupted after epoch 2 or not."""
    config = tiny_config(epochs=2, lr=1e-12, early_stopping=2, monitor="val_loss",
                         model_args={"width": 4, "depth": 2, "batch_norm": False})
    train(config, data=make_data())
    assert load_checkpoint(checkpoint_path(config.out, "last"))["early_stopping_wait"] == 1
    result = train(config.updated({"epochs": 10}), resume=True, data=make_data())
    assert result.stopped_early and result.epochs_run == 3


def test_each_epoch_trains_on_its_own_windows_of_a_refreshed_pool(make_data, tiny_config):
    """With a pool, epoch e trains on ``pool.dataset(e)``; the first epoch reuses the windows already made."""
    from support import conftest_of

    from scintiseg.train.loop import TrainData

    class Recording(conftest_of("train").FakePool):
        asked: list[int] = []

        def dataset(self, epoch):
            self.asked.append(epoch)
            return super().dataset(epoch)

    pool = Recording(4)
    plain = make_data()
    train(tiny_config(epochs=3), data=TrainData(pool.dataset(0), plain.val, None, pool))
    assert pool.asked == [0, 1, 2]


def test_each_epoch_shuffles_its_windows_in_another_order():
    from scintiseg.train.loop import _epoch_generator

    orders = [torch.randperm(50, generator=_epoch_generator(0, epoch)).tolist() for epoch in range(3)]
    assert len({tuple(o) for o in orders}) == 3  # three epochs, three orders
    assert orders[1] == torch.randperm(50, generator=_epoch_generator(0, 1)).tolist()


def test_a_model_it_cannot_build_stops_training_before_anything_is_written_into_the_data_folder(tmp_path, tiny_config):
    """API audit 74, finding 3: ``train`` saved the split it made into the data folder (``splits.json``), then failed
    on the unknown model. The name is checked first, also when it was set after the configuration was made."""
    from scintiseg.io.dataset import SPLITS_NAME

    data = conftest_of("train").write_tiny_dataset(tmp_path / "data", patients=8)
    (data / SPLITS_NAME).unlink()
    before = {path: path.read_bytes() for path in data.rglob("*") if path.is_file()}
    config = tiny_config(data=str(data), out=str(tmp_path / "run"), epochs=1)
    config.model = "foo"  # past the check on construction (TrainConfig(model="foo") is refused there)
    with pytest.raises(ScintisegError, match="unknown model 'foo'"):
        train(config)
    config.model, config.model_args = "unet", {"width": 4, "depth": 2, "pooling": "median"}
    with pytest.raises(ScintisegError, match="UNet: unknown pooling 'median'"):
        train(config)
    assert {path: path.read_bytes() for path in data.rglob("*") if path.is_file()} == before
    assert not (data / SPLITS_NAME).exists() and not (tmp_path / "run").exists()
