"""The patient-level split policy (scintiseg.prepare.splits): split_dataset and patient_folds."""

from __future__ import annotations

import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import Case, load_manifest, load_splits, save_manifest
from scintiseg.prepare.splits import patient_folds, split_dataset


def _add_synthetic(root, origin, patient, parent=None):
    manifest = load_manifest(root)
    meta = {"parent_case": parent} if parent else {}
    manifest.cases.append(Case(f"{origin}_{patient}", patient, manifest.cases[0].image, synthetic=True, origin=origin, meta=meta))
    save_manifest(manifest, root)


@pytest.mark.parametrize("seed", range(3))
def test_split_separates_patients_and_keeps_synthetic_in_train(dataset_factory, seed):
    root = dataset_factory(patients=6, cases_per_patient=2, shape=(8, 8))
    _add_synthetic(root, "gan", "GAN001")
    _add_synthetic(root, "augment", "P003", parent="P003_0")
    _add_synthetic(root, "augment", "AUG9", parent="P005_1")  # other patient id, linked by its parent
    splits = split_dataset(root, test=0.34, seed=seed, folds=2)
    patient_of = {c.case_id: c.patient_id for c in load_manifest(root).cases}
    train_p = {patient_of[c] for c in splits["train"]}
    test_p = {patient_of[c] for c in splits["test"]}
    assert not train_p & test_p
    assert {"GAN001", "P003", "P005", "AUG9"} <= train_p
    assert len(test_p) == 1  # round(0.34 * 3 eligible patients)
    assert sorted(splits["train"] + splits["test"]) == sorted(patient_of)
    for fold in splits["folds"]:
        assert not {patient_of[c] for c in fold["train"]} & {patient_of[c] for c in fold["val"]}
        assert not {patient_of[c] for c in fold["val"]} & {"GAN001", "P003", "P005", "AUG9"}
        assert sorted(fold["train"] + fold["val"]) == sorted(splits["train"])
    assert load_splits(root) == splits
    assert split_dataset(root, test=0.34, seed=seed, folds=2, write=False) == splits


def test_split_seed_changes_the_split(dataset_factory):
    root = dataset_factory(patients=10, shape=(8, 8))
    tests = {tuple(split_dataset(root, test=0.3, seed=s, write=False)["test"]) for s in range(6)}
    assert len(tests) > 1


@pytest.mark.parametrize("seed", range(3))
def test_split_keeps_pseudo_labelled_cases_out_of_test(dataset_factory, seed):
    root = dataset_factory(patients=6, shape=(8, 8))
    manifest = load_manifest(root)
    pseudo = {manifest.cases[k].patient_id for k in (0, 3)}
    manifest.cases[0].meta["pseudo"] = ["ANT"]
    manifest.cases[3].meta["pseudo"] = ["ANT"]
    save_manifest(manifest, root)
    splits = split_dataset(root, test=0.5, seed=seed, write=False)
    patient_of = {c.case_id: c.patient_id for c in load_manifest(root).cases}
    assert pseudo <= {patient_of[c] for c in splits["train"]}
    assert len({patient_of[c] for c in splits["test"]}) == 2  # round(0.5 * 4 eligible patients)


@pytest.mark.parametrize("seed", range(4))
def test_only_patients_a_person_outlined_test_or_validate(dataset_factory, seed):
    """A site's data set: 4 of 10 patients outlined. Test and validation folds come from those 4 (the others
    cannot be scored, and held out would be lost to training); a data set outlined nowhere is dealt whole."""
    root = dataset_factory(patients=10, shape=(8, 8))
    manifest = load_manifest(root)
    for case in manifest.cases[4:]:
        case.labels = {}
    save_manifest(manifest, root)
    outlined = {c.patient_id for c in manifest.cases[:4]}
    splits = split_dataset(root, test=0.5, seed=seed, folds=2, write=False)
    patient_of = {c.case_id: c.patient_id for c in manifest.cases}
    assert {patient_of[c] for c in splits["test"]} <= outlined and len(splits["test"]) == 2  # half of 4
    assert {c.case_id for c in manifest.cases[4:]} <= set(splits["train"])
    for fold in splits["folds"]:
        assert {patient_of[c] for c in fold["val"]} <= outlined and fold["val"]
    for case in manifest.cases[:4]:
        case.labels = {}
    save_manifest(manifest, root)
    assert len(split_dataset(root, test=0.5, seed=seed, write=False)["test"]) == 5  # unlabelled: dealt whole


@pytest.mark.parametrize("seed", range(3))
def test_patient_folds_keep_a_patient_and_its_derived_cases_in_one_fold(dataset_factory, seed):
    """export-nnunet's folds of the training cases: by patient group, derived and generated cases only in train."""
    root = dataset_factory(patients=6, cases_per_patient=2, shape=(8, 8))
    _add_synthetic(root, "gan", "GAN001")
    _add_synthetic(root, "augment", "AUG9", parent="P005_1")
    manifest = load_manifest(root)
    patient_of = {c.case_id: c.patient_id for c in manifest.cases}
    chosen = [c for c in patient_of if not c.startswith("P000")]  # P000 is a test patient here
    folds = patient_folds(manifest, chosen, 3, seed)
    assert len(folds) == 3 and folds == patient_folds(manifest, chosen, 3, seed)
    val = [c for fold in folds for c in fold["val"]]
    assert sorted(val) == sorted(c for c in chosen if patient_of[c] not in {"GAN001", "AUG9", "P005"})
    for fold in folds:
        assert sorted(fold["train"] + fold["val"]) == sorted(chosen)
        assert not {patient_of[c] for c in fold["train"]} & {patient_of[c] for c in fold["val"]}
    assert len(patient_folds(manifest, chosen, 9, seed)) == 4  # capped at the 4 patient groups that can validate
    with pytest.raises(ScintisegError, match="2 folds need at least 2 real training patient groups, have 1"):
        patient_folds(manifest, ["P001_0", "P001_1", "gan_GAN001"], 5, seed)


def test_a_small_share_tests_one_patient_and_a_large_one_leaves_one_to_train(dataset_factory):
    root = dataset_factory(patients=2, shape=(8, 8))
    patient_of = {c.case_id: c.patient_id for c in load_manifest(root).cases}
    for test in (0.1, 0.9):  # round(0.2) = 0 and round(1.8) = 2 of the 2 patients
        splits = split_dataset(root, test=test, seed=0, write=False)
        assert len({patient_of[c] for c in splits["test"]}) == 1
        assert len({patient_of[c] for c in splits["train"]}) == 1
