"""paper-b-augmentation: D1, D2, D3 share the real test patients; D2 and D3 train on as many images."""

import json

import pytest

from support import conftest_of

from scintiseg.errors import ScintisegError
from scintiseg.experiments.paper_b_augmentation import augmentation_spec, prepare_datasets
from scintiseg.experiments.specs import PAPER_B_AUGMENTATION, PAPER_B_BASE
from scintiseg.io import dataset as ds
from scintiseg.prepare.splits import split_dataset


@pytest.fixture
def six_crops(tmp_path):
    """Six patients: 2 test, and 2 + 2 in two folds, so that fold 0's training part (the GAN's data) holds two."""
    return conftest_of("gan").write_real_crops(tmp_path / "crops6", n_patients=6)


def test_spec_is_paper_b_model_fully_supervised_on_fold_0_with_the_papers_d2_row(tmp_path):
    paths = {"D1": tmp_path / "d1", "D2": tmp_path / "d2", "D3": tmp_path / "d3"}
    spec = augmentation_spec(paths)
    assert spec.base == {**PAPER_B_BASE, "labelled": 1.0, "fold": 0, "augment": False}  # D2's copies augment
    assert spec.base["model"] == "rdinet" and spec.base["loss"] == "chan_vese"
    assert [row.paper for row in spec.rows] == [{}, {"dsc": 0.683, "recall": 0.601, "cpa": 0.715}, {}]
    assert all("data" not in row.overrides for row in PAPER_B_AUGMENTATION.rows)  # filled in per run only


def test_prepared_datasets_share_test_patients_and_sizes(six_crops, tmp_path):
    gan = {"native_size": 32, "output_size": 64, "latent_dim": 16, "base_width": 8, "batch_size": 2, "epochs": 1}
    paths = prepare_datasets(six_crops, tmp_path / "exp", factor=2, gan_settings=gan, test=0.25, folds=2, progress=False)
    splits = {name: ds.load_splits(paths[name]) for name in ("D1", "D2", "D3")}
    assert splits["D1"]["test"] == splits["D2"]["test"] == splits["D3"]["test"] and splits["D1"]["test"]
    n_train = len(splits["D1"]["train"])
    assert len(splits["D2"]["train"]) == len(splits["D3"]["train"]) == 2 * n_train
    for name in ("D2", "D3"):
        origin = {c.case_id: c.origin for c in ds.load_manifest(paths[name]).cases}
        assert all(origin[c] not in ("gan", "augment") for c in splits[name]["test"])
        assert [f["val"] for f in splits[name]["folds"]] == [f["val"] for f in splits["D1"]["folds"]]
        assert [len(f["train"]) for f in splits[name]["folds"]] == [2 * len(f["train"]) for f in splits["D1"]["folds"]]
    spec = augmentation_spec(paths)
    assert [row.overrides["data"] for row in spec.rows] == [str(paths[k]) for k in ("D1", "D2", "D3")]
    assert spec.base["fold"] == 0
    # re-running skips finished steps (nothing is rebuilt or overwritten)
    again = prepare_datasets(six_crops, tmp_path / "exp", factor=2, gan_settings=gan, test=0.25, folds=2, progress=False)
    assert again == paths


def test_a_gan_trained_beforehand_is_used_and_not_retrained(six_crops, tmp_path):
    from scintiseg.gan.config import GanConfig
    from scintiseg.gan.train import load_trainer, train_gan

    gan = {"native_size": 32, "output_size": 64, "latent_dim": 16, "base_width": 8, "batch_size": 2, "epochs": 1}
    first = prepare_datasets(six_crops, tmp_path / "a", factor=2, gan_settings=gan, test=0.25, folds=2, progress=False)
    run = tmp_path / "own_gan"
    train_gan(first["D1"], run, GanConfig(**{**gan, "epochs": 2, "held_out_fold": 0}), progress=False)
    paths = prepare_datasets(first["D1"], tmp_path / "b", factor=2, gan_run=run, progress=False)
    assert paths["gan"] == run and load_trainer(run)["epoch"] == 2
    assert not (tmp_path / "b" / "datasets" / "gan_run").exists()
    gan_cases = [c for c in ds.load_manifest(paths["D3"]).cases if c.origin == "gan"]
    assert gan_cases and all(c.patient_id.startswith("GAN-") for c in gan_cases)


def test_augmentation_only_flags_are_refused_for_other_experiments(real_crops, capsys):
    from scintiseg.cli import main

    assert main(["experiment", "paper-a-table2", "--data", str(real_crops), "--factor", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--factor applies only to paper-b-augmentation" in err


def test_augmentation_experiment_is_fully_supervised_and_refuses_fewer_labels(real_crops, tmp_path):
    import pytest

    from scintiseg.errors import ScintisegError
    from scintiseg.experiments.paper_b_augmentation import run_paper_b_augmentation

    paths = {"D1": tmp_path / "d1", "D2": tmp_path / "d2", "D3": tmp_path / "d3"}
    assert augmentation_spec(paths).base["labelled"] == 1.0
    with pytest.raises(ScintisegError, match="100 % labelled"):
        run_paper_b_augmentation(real_crops, tmp_path / "exp", settings={"labelled": 0.37}, progress=False)
    assert not (tmp_path / "exp").exists()


def test_bad_gan_settings_fail_in_one_line_before_anything_is_written(real_crops, tmp_path, capsys):
    from scintiseg.cli import main

    out = tmp_path / "exp"
    args = ["experiment", "paper-b-augmentation", "--data", str(real_crops), "--out", str(out), "--gan-set", "bogus=1"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown gan config keys: bogus" in err
    assert not out.exists()


def test_a_gan_run_that_is_not_one_fails_in_one_line_before_anything_is_written(real_crops, tmp_path, capsys):
    from scintiseg.cli import main

    out = tmp_path / "exp"
    args = ["experiment", "paper-b-augmentation", "--data", str(real_crops), "--out", str(out), "--gan-run", str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not a GAN run folder" in err
    assert not out.exists()


def gan_training_patients(run):
    return set(json.loads((run / "normalisation.json").read_text())["training_patients"])


def test_the_experiments_gan_trains_on_fold_0s_training_patients_only(six_crops, tmp_path):
    """Session 63: the GAN learned from fold 0's validation patients, on which every row validates (a leak in D3)."""
    gan = {"native_size": 32, "output_size": 64, "latent_dim": 16, "base_width": 8, "batch_size": 2, "epochs": 1}
    paths = prepare_datasets(six_crops, tmp_path / "exp", factor=2, gan_settings=gan, test=0.25, folds=2, progress=False)
    splits = ds.load_splits(paths["D1"])
    patient_of = {c.case_id: c.patient_id for c in ds.load_manifest(paths["D1"]).cases}
    fold = augmentation_spec(paths).base["fold"]
    val = {patient_of[c] for c in splits["folds"][fold]["val"]}
    test = {patient_of[c] for c in splits["test"]}
    trained = gan_training_patients(paths["gan"])
    assert val and not trained & val and not trained & test
    assert trained == {patient_of[c] for c in splits["folds"][fold]["train"]}  # the patients every row trains on
    # the experiment's GAN cannot be told otherwise
    with pytest.raises(ScintisegError, match=r"GAN must hold out that fold's patients \(held_out_fold 0, not -1\)$"):
        prepare_datasets(six_crops, tmp_path / "exp2", factor=2, gan_settings={**gan, "held_out_fold": -1}, progress=False)


def test_a_gan_run_that_saw_fold_0s_validation_patients_is_refused_before_d2_and_d3(six_crops, tmp_path):
    from scintiseg.gan.config import GanConfig
    from scintiseg.gan.train import train_gan

    gan = {"native_size": 32, "output_size": 64, "latent_dim": 16, "base_width": 8, "batch_size": 2, "epochs": 1}
    d1 = tmp_path / "b" / "datasets" / "d1"
    conftest_of("gan").write_real_crops(d1, n_patients=6)
    splits = split_dataset(d1, test=0.25, seed=0, folds=2)
    run = tmp_path / "all_training_patients"
    train_gan(d1, run, GanConfig(**gan), progress=False)  # no held-out fold: every D1 training patient
    assert gan_training_patients(run) & set(splits["folds"][0]["val"])
    with pytest.raises(ScintisegError, match="validation patients of fold 0"):
        prepare_datasets(d1, tmp_path / "b", factor=2, gan_run=run, progress=False)
    assert not any((tmp_path / "b" / "datasets").glob("d[23]_x2"))


def test_a_factor_below_two_is_refused(six_crops, tmp_path):
    with pytest.raises(ScintisegError, match="at least 2, got 1"):
        prepare_datasets(six_crops, tmp_path / "exp", factor=1, progress=False)
    assert not (tmp_path / "exp").exists()


def test_the_table_gets_each_rows_runs_from_their_own_run_folders(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from scintiseg.experiments import paper_b_augmentation as module

    paths = {key: tmp_path / key.lower() for key in ("D1", "D2", "D3", "gan")}
    written = {}
    monkeypatch.setattr(module, "check_field_of_view", lambda spec, data: "crop")
    monkeypatch.setattr(module, "prepare_datasets", lambda *a, **k: paths)
    monkeypatch.setattr(module, "prepare_test_set", lambda *a, **k: None)
    monkeypatch.setattr(module, "run_experiment", lambda spec, **k: written.setdefault("data", []).append(k["data"]))
    monkeypatch.setattr(module, "cell_result", lambda folder, evaluation: {"folder": f"{folder.parent.name}/{folder.name}"})
    monkeypatch.setattr(module, "cell_config", lambda *a: SimpleNamespace(to_dict=lambda: {}))
    monkeypatch.setattr(module, "write_outputs", lambda spec, results, out, **k: written.setdefault("results", results))
    module.run_paper_b_augmentation(tmp_path / "crops", tmp_path / "exp", runs=2, progress=False)
    assert written["data"] == [str(paths[k]) for k in ("D1", "D2", "D3")]
    results = written["results"]
    assert [(r["row"], r["run"]) for r in results] == [(row.name, k) for row in PAPER_B_AUGMENTATION.rows for k in (0, 1)]
    assert all(r["folder"].endswith(f"/run{r['run']}") for r in results)
    assert len({r["folder"] for r in results}) == len(results)  # each row's own folder


def test_d1_keeps_a_given_folds_split_unless_it_lists_cases_d1_drops(six_crops, tmp_path):
    """D1 is the data set's real cases: its own folds split is kept as given, but a split that lists a case D1 drops
    (an augmented copy) is made afresh, so D1's split names only D1's cases."""
    from dataclasses import replace

    from scintiseg.experiments.paper_b_augmentation import _copy_with_split

    split_dataset(six_crops, test=0.34, seed=3, folds=2)
    given = (six_crops / ds.SPLITS_NAME).read_text()
    kept = _copy_with_split(six_crops, tmp_path / "kept", test=0.25, folds=2, seed=0)
    assert (kept / ds.SPLITS_NAME).read_text() == given
    manifest = ds.load_manifest(six_crops)
    copied = manifest.cases[0].case_id
    cases = [replace(c, origin="augment") if c.case_id == copied else c for c in manifest.cases]
    ds.save_manifest(replace(manifest, cases=cases), six_crops)
    assert copied in given
    fresh = _copy_with_split(six_crops, tmp_path / "fresh", test=0.25, folds=2, seed=0)
    own = {c.case_id for c in ds.load_manifest(fresh).cases}
    splits = ds.load_splits(fresh)
    listed = set(splits["train"]) | set(splits["test"]) | {c for f in splits["folds"] for part in f.values() for c in part}
    assert copied not in own and listed == own
