"""Tests for scintiseg.train.data: patient-level splits, labelled share, datasets (inputs: tests/prepare)."""

import json
import warnings

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import SPLITS_NAME, split_dataset
from scintiseg.train.data import AUTO_TEST_SHARE, SplitMadeWarning, split_cases
from scintiseg.train.loop import train
from support import conftest_of


def _patients():
    # 10 patients with two cases each (e.g. a crop and its augmentation)
    return {f"P{p}_{k}": f"P{p}" for p in range(10) for k in range(2)}


def test_split_keeps_patients_together_and_labelled_share_is_by_patient():
    patients_of = _patients()
    test = [c for c in patients_of if patients_of[c] in ("P0", "P1")]
    splits = {"seed": 0, "test": test, "train": [c for c in patients_of if c not in test]}
    split = split_cases(patients_of, splits, val_fraction=0.25, labelled=0.5, seed=3)
    groups = {name: {patients_of[c] for c in getattr(split, name)} for name in ("train", "val", "test")}
    assert groups["test"] == {"P0", "P1"}
    assert not (groups["train"] & groups["val"]) and not (groups["train"] & groups["test"])
    assert len(groups["val"]) == 2 and len(groups["train"]) == 6
    labelled_patients = {patients_of[c] for c in split.labelled}
    assert len(labelled_patients) == 3 and labelled_patients <= groups["train"]
    # both cases of a labelled patient are labelled
    assert all(c in split.labelled for c in split.train if patients_of[c] in labelled_patients)
    again = split_cases(patients_of, splits, val_fraction=0.25, labelled=0.5, seed=3)
    assert again == split


def test_generated_cases_never_validate_and_copies_of_val_patients_are_dropped():
    patients_of = _patients()  # case P<p>_1 plays the augmented copy of P<p>_0
    patients_of.update({f"G{g}": f"GAN{g}" for g in range(30)})  # GAN patients, more than the real ones
    generated = frozenset({f"P{p}_1" for p in range(10)} | {f"G{g}" for g in range(30)})
    splits = {"seed": 0, "test": ["P0_0", "P0_1"], "train": [c for c in patients_of if not c.startswith("P0_")]}
    for seed in range(5):
        split = split_cases(patients_of, splits, val_fraction=0.25, seed=seed, generated=generated)
        assert split.val and not set(split.val) & generated
        val_patients = {patients_of[c] for c in split.val}
        assert all(p.startswith("P") for p in val_patients)
        assert not any(patients_of[c] in val_patients for c in split.train)  # their copies are dropped
        assert {f"G{g}" for g in range(30)} <= set(split.train)


def test_split_uses_folds_and_refuses_leaks():
    patients_of = _patients()
    folds = [{"train": ["P2_0", "P2_1"], "val": ["P3_0"]}]
    split = split_cases(patients_of, {"test": ["P0_0"], "train": [], "folds": folds}, fold=0)
    assert split.val == ["P3_0"] and split.train == ["P2_0", "P2_1"]
    with pytest.raises(ScintisegError, match="both"):
        split_cases(patients_of, {"test": ["P2_0"], "train": [], "folds": folds}, fold=0)
    with pytest.raises(ScintisegError, match="fold 1"):
        split_cases(patients_of, {"test": [], "train": [], "folds": folds}, fold=1)


def test_cases_of_different_sizes_are_a_clear_error_not_a_numpy_traceback():
    from scintiseg.train.data import Sample, SegmentationDataset

    small = Sample("A", "A", np.zeros((1, 128, 128), np.float32), np.zeros((1, 128, 128), np.float32))
    large = Sample("GAN-1", "GAN-1", np.zeros((1, 256, 256), np.float32), np.zeros((1, 256, 256), np.float32))
    with pytest.raises(ScintisegError, match="A is 128x128, GAN-1 is 256x256"):
        SegmentationDataset([small, large])


def test_training_without_splits_makes_a_seeded_patient_split_saves_it_and_says_so(tmp_path, tiny_config):
    data = conftest_of("train").write_tiny_dataset(tmp_path / "data", patients=10)
    (data / SPLITS_NAME).unlink()
    with pytest.warns(SplitMadeWarning, match=f"no {SPLITS_NAME}: made a patient-level split .* seed 3"):
        train(tiny_config(data=str(data), out=str(tmp_path / "run"), epochs=1, seed=3, normalisation="percentile"))
    saved = json.loads((data / SPLITS_NAME).read_text())
    expected = split_dataset(data, test=AUTO_TEST_SHARE, seed=3, write=False)
    assert saved["test"] == expected["test"] and len(saved["test_patients"]) == 2  # 20 % of 10 patients
    # a second run finds the saved split and neither changes it nor warns again
    before = (data / SPLITS_NAME).read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SplitMadeWarning)
        train(tiny_config(data=str(data), out=str(tmp_path / "run2"), epochs=1, seed=4, normalisation="percentile"))
    assert (data / SPLITS_NAME).read_bytes() == before
