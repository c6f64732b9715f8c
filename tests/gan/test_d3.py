"""D3 = D1 + GAN samples: the real test split is kept and no synthetic case ever lands in a test split."""

import json

import pytest

from scintiseg.errors import ScintisegError
from scintiseg.gan.d3 import build_d3, check_gan_run
from scintiseg.gan.sample import sample_dataset
from scintiseg.io import dataset as ds
from scintiseg.prepare.splits import split_dataset


def test_d3_keeps_d1_test_patients_and_puts_gan_cases_in_train_only(real_crops, run_factory, tmp_path):
    split_dataset(real_crops, test=0.25, seed=0, folds=2)
    d1_splits = ds.load_splits(real_crops)
    run = run_factory("run", output_size=64)
    generated = sample_dataset(run, 3, tmp_path / "gan", seed=0, progress=False)
    manifest = build_d3(real_crops, generated, tmp_path / "d3", gan_run=run)
    splits = ds.load_splits(tmp_path / "d3")
    gan_ids = {c.case_id for c in manifest.cases if c.origin == "gan"}
    assert len(gan_ids) == 3 and len(manifest.cases) == 7
    assert splits["test"] == d1_splits["test"]
    assert gan_ids <= set(splits["train"])
    assert all(gan_ids <= set(f["train"]) and not gan_ids & set(f["val"]) for f in splits["folds"])
    assert ds.check_dataset(tmp_path / "d3").valid


def test_split_dataset_never_puts_gan_cases_in_test(real_crops, run_factory, tmp_path):
    run = run_factory("run", output_size=64)
    generated = sample_dataset(run, 4, tmp_path / "gan", seed=1, progress=False)
    split_dataset(real_crops, test=0.25, seed=0)
    merged = build_d3(real_crops, generated, tmp_path / "d3")
    for seed in range(5):
        splits = split_dataset(tmp_path / "d3", test=0.5, seed=seed, folds=2, write=False)
        gan = {c.case_id for c in merged.cases if c.origin == "gan"}
        assert not gan & set(splits["test"])
        assert all(not gan & set(f["val"]) for f in splits["folds"])


def test_d3_refuses_a_gan_trained_on_test_cases(real_crops, run_factory, tmp_path):
    split_dataset(real_crops, test=0.25, seed=0)
    run = run_factory("run", output_size=64)
    norm = json.loads((run / "normalisation.json").read_text())
    norm["training_cases"] = ds.load_splits(real_crops)["test"]
    (run / "normalisation.json").write_text(json.dumps(norm))
    generated = sample_dataset(run, 2, tmp_path / "gan", seed=0, progress=False)
    with pytest.raises(ScintisegError, match="leak"):
        build_d3(real_crops, generated, tmp_path / "d3", gan_run=run)


def test_d3_copies_every_file_a_case_names_including_phantom_instance_maps(real_crops, run_factory, tmp_path):
    import numpy as np

    from scintiseg.io.images import read_label_png, write_label_png

    manifest = ds.load_manifest(real_crops)
    first = manifest.cases[0]
    labels = np.zeros((64, 64), dtype=np.uint16)
    labels[10:14, 20:25] = 7
    write_label_png(labels, real_crops / "instances" / f"{first.case_id}_ANT.png")
    first.meta["instances"] = {"ANT": f"instances/{first.case_id}_ANT.png"}  # where the phantom keeps them
    ds.save_manifest(manifest, real_crops)
    split_dataset(real_crops, test=0.25, seed=0)
    generated = sample_dataset(run_factory("run", output_size=64), 2, tmp_path / "gan", seed=0, progress=False)
    build_d3(real_crops, generated, tmp_path / "d3")
    copied = read_label_png(tmp_path / "d3" / "instances" / f"{first.case_id}_ANT.png")
    assert np.array_equal(copied, labels)
    assert ds.check_dataset(tmp_path / "d3").valid


def test_d3_refuses_samples_of_another_size_than_the_crops(real_crops, run_factory, tmp_path):
    split_dataset(real_crops, test=0.25, seed=0)
    generated = sample_dataset(run_factory("run", output_size=32), 2, tmp_path / "gan", seed=0, progress=False)
    with pytest.raises(ScintisegError, match="GAN samples are 32x32, D1's crops 64x64"):
        build_d3(real_crops, generated, tmp_path / "d3")
    assert not (tmp_path / "d3" / ds.MANIFEST_NAME).exists()


def test_d3_with_a_validation_fold_refuses_a_gan_that_saw_that_folds_patients(real_crops, run_factory, tmp_path):
    """Session 63: a GAN trained on fold F's validation patients leaks them into the validation of a D3 network."""
    split_dataset(real_crops, test=0.25, seed=0, folds=2)
    splits = ds.load_splits(real_crops)
    val0 = splits["folds"][0]["val"]
    run = run_factory("run", output_size=64)
    norm = json.loads((run / "normalisation.json").read_text())
    norm["training_cases"] = list(splits["train"])  # every training patient: fold 0's validation patients included
    norm["training_patients"] = list(splits["train"])
    (run / "normalisation.json").write_text(json.dumps(norm))
    generated = sample_dataset(run, 2, tmp_path / "gan", seed=0, progress=False)
    with pytest.raises(ScintisegError, match=f"validation patients of fold 0 \\({val0[0]}"):
        build_d3(real_crops, generated, tmp_path / "d3", gan_run=run, val_fold=0)
    assert not (tmp_path / "d3" / ds.MANIFEST_NAME).exists()
    # ... also when only the patient, not the case id, is listed (a run trained on another copy of the crops)
    norm["training_cases"] = []
    (run / "normalisation.json").write_text(json.dumps(norm))
    with pytest.raises(ScintisegError, match="validation patients of fold 0"):
        build_d3(real_crops, generated, tmp_path / "d3", gan_run=run, val_fold=0)
    # the fold-0 training patients only: accepted
    norm["training_cases"] = norm["training_patients"] = list(splits["folds"][0]["train"])
    (run / "normalisation.json").write_text(json.dumps(norm))
    build_d3(real_crops, generated, tmp_path / "d3", gan_run=run, val_fold=0)
    assert ds.check_dataset(tmp_path / "d3").valid


def test_a_gan_run_whose_normalisation_json_is_no_object_is_refused_in_one_line(real_crops, run_factory):
    """Session 66: a list in normalisation.json was an AttributeError traceback in `experiment paper-b-augmentation
    --gan-run RUN`."""
    split_dataset(real_crops, test=0.25, seed=0)
    run = run_factory("run", output_size=64)
    (run / "normalisation.json").write_text("[]")
    with pytest.raises(ScintisegError, match="not a JSON object") as error:
        check_gan_run(run, real_crops)
    assert str(error.value).startswith(f"{run / 'normalisation.json'}: ")


def test_a_validation_fold_that_d1_lacks_is_refused_in_one_line(real_crops, run_factory):
    split_dataset(real_crops, test=0.25, seed=0, folds=2)
    run = run_factory("run", output_size=64)
    norm = json.loads((run / "normalisation.json").read_text())
    norm["training_cases"] = norm["training_patients"] = []
    (run / "normalisation.json").write_text(json.dumps(norm))
    check_gan_run(run, real_crops, val_fold=1)  # the last fold exists
    for fold in (2, -1):
        with pytest.raises(ScintisegError, match=f"has 2 folds, no validation fold {fold}"):
            check_gan_run(run, real_crops, val_fold=fold)
