"""The patient-level split of a data set: which patients test, and the folds that validate (``scintiseg dataset split``).

The policy moved here from :mod:`scintiseg.io.dataset` (session 64): io reads and writes the files
(:func:`~scintiseg.io.dataset.load_splits` reads ``splits.json`` and checks it, :func:`~scintiseg.io.dataset.save_splits`
writes it), and what a split holds is decided here, where every caller may import it (``train``, ``experiments``, the
CLI). ``scintiseg dataset export-nnunet`` hands :func:`patient_folds` to :func:`scintiseg.io.nnunet.export_nnunet`,
which io may not import.

The rules (:func:`split_dataset`): a patient's cases, and the cases derived from them (a parent key in ``meta``,
:data:`~scintiseg.io.dataset.PARENT_KEYS`), never fall on both sides; cases generated from training data (GAN,
augmented: :data:`~scintiseg.io.dataset.TRAINING_DERIVED_ORIGINS`) and pseudo-labelled cases never test or
validate; where a person outlined some patients only theirs test or validate (session 50).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    PARENT_KEYS,
    PSEUDO_KEY,
    TRAINING_DERIVED_ORIGINS,
    Case,
    DatasetManifest,
    load_manifest,
    person_views,
    save_splits,
)


def _is_training_derived(case: Case) -> bool:
    """``case`` was generated from training data (GAN, augmented) or holds a pseudo-label: it never tests or
    validates."""
    meta = case.meta if isinstance(case.meta, dict) else {}
    origin = str(meta.get("origin", case.origin))
    # A pseudo-labelled view's truth is a model's own prediction (``dataset import --pseudo-labels``):
    # scoring a model against it would measure agreement with itself, so such a case trains only.
    return case.origin in TRAINING_DERIVED_ORIGINS or origin in TRAINING_DERIVED_ORIGINS or bool(meta.get(PSEUDO_KEY))


def _scorable(groups: list[list[str]], manifest: DatasetManifest, derived: set[str]) -> list[list[str]]:
    """The patient groups that may test or validate: none derived from training data (generated, pseudo-labelled)
    and, when a person outlined some patients, only groups holding one of them (session 50: a patient without an
    outline cannot be scored, and held out it would only be lost to training and adaptation)."""
    candidates = [g for g in groups if not derived & set(g)]
    outlined = {c.patient_id for c in manifest.cases if person_views(c) and not _is_training_derived(c)}
    with_truth = [g for g in candidates if outlined & set(g)]
    return with_truth or candidates


def _patient_groups(manifest: DatasetManifest) -> list[list[str]]:
    """Patients that must stay on one side: one patient, joined with the patients of parent cases."""
    parent_of = {c.case_id: c.patient_id for c in manifest.cases}
    link = {p: p for p in parent_of.values()}

    def find(p: str) -> str:
        while link[p] != p:
            link[p] = link[link[p]]
            p = link[p]
        return p

    for case in manifest.cases:
        for key in PARENT_KEYS:
            parent = case.meta.get(key) if isinstance(case.meta, dict) else None
            if isinstance(parent, str) and parent in parent_of:
                link[find(case.patient_id)] = find(parent_of[parent])
    groups: dict[str, list[str]] = {}
    for patient in sorted(link):
        groups.setdefault(find(patient), []).append(patient)
    return sorted(groups.values())


def split_dataset(
    root: str | Path, test: float = 0.2, seed: int = 0, folds: int | None = None, *, write: bool = True
) -> dict:
    """Patient-level train/test split (and K folds of the training part); writes ``root/splits.json``.

    * A patient's cases never fall on both sides, in the test split or in any fold. Cases linked by a
      parent key in ``meta`` (``parent_case``, ``parent``, ``source_case``) join their parent's patient.
    * Cases generated from training data (origin ``gan`` or ``augment``, on the case or in ``meta``) and
      cases holding pseudo-labels (``meta["pseudo"]``, a model's own confident predictions) never land
      in test: their patient group goes to train, and in folds it stays in every fold's train part
      (validation is on real images only).
    * When a person outlined some patients (a LabelMe file or mask that is no pseudo-label), only their groups are
      dealt into test and folds; a patient without any outline trains (session 50: nothing of it can be scored).
      A data set outlined nowhere (a site's unlabelled scans) is dealt whole, as before.
    * ``round(test * n)`` of the ``n`` eligible patient groups go to test (at least one when ``test > 0``
      and at least two groups are eligible), chosen with ``numpy.random.default_rng(seed)``.

    Args:
        root: the data set folder.
        test: share of eligible patient groups held out for test.
        seed: seeds the permutation (same seed, same split).
        folds: K for K-fold cross-validation of the training part (None: no folds).
        write: write ``splits.json`` (atomically).

    Returns:
        ``{"format_version", "seed", "test_fraction", "train": [case ids], "test": [case ids],
        "folds": [{"train": [...], "val": [...]}], "test_patients": [...]}``; case ids in manifest order.
    """
    root = Path(root)
    if not 0 <= float(test) < 1:
        raise ScintisegError(f"test share must be in [0, 1), got {test}")
    manifest = load_manifest(root)
    if not manifest.cases:
        raise ScintisegError("the data set has no cases to split", path=root / MANIFEST_NAME)
    groups = _patient_groups(manifest)
    derived_patients = {c.patient_id for c in manifest.cases if _is_training_derived(c)}
    eligible = _scorable(groups, manifest, derived_patients)
    dealt = {tuple(g) for g in eligible}
    forced = [g for g in groups if tuple(g) not in dealt]
    rng = np.random.default_rng(seed)
    order = [eligible[i] for i in rng.permutation(len(eligible))]
    n_test = int(np.floor(test * len(eligible) + 0.5))
    if test > 0 and n_test == 0 and len(eligible) >= 2:
        n_test = 1
    n_test = min(n_test, max(len(eligible) - 1, 0)) if len(eligible) > 1 else n_test
    test_patients = {p for g in order[:n_test] for p in g}
    train_groups = order[n_test:]
    in_order = lambda patients: [c.case_id for c in manifest.cases if c.patient_id in patients]  # noqa: E731
    all_train = {p for g in train_groups + forced for p in g}
    splits: dict = {
        "format_version": FORMAT_VERSION,
        "seed": int(seed),
        "test_fraction": float(test),
        "train": in_order(all_train),
        "test": in_order(test_patients),
        "test_patients": sorted(test_patients),
        "folds": [],
    }
    if folds is not None:
        splits["folds"] = _folds(train_groups, all_train, int(folds), in_order)
    if write:
        save_splits(splits, root)
    return splits


def _folds(groups: list[list[str]], patients: set[str], folds: int, in_order) -> list[dict]:
    """``folds`` train / validation parts of ``patients``: the ``groups`` (in their order) dealt round."""
    if folds < 2 or folds > len(groups):
        raise ScintisegError(f"{folds} folds need at least {max(folds, 2)} real training patient groups, have {len(groups)}")
    parts = []
    for k in range(folds):
        val_patients = {p for i, g in enumerate(groups) if i % folds == k for p in g}
        parts.append({"train": in_order(patients - val_patients), "val": in_order(val_patients)})
    return parts


def patient_folds(manifest: DatasetManifest, case_ids: list[str], folds: int, seed: int = 0) -> list[dict]:
    """K folds of ``case_ids`` by patient, as :func:`split_dataset` deals its folds (session 49).

    A patient's cases, and the cases derived from them, share a fold; generated and pseudo-labelled cases are in
    every fold's train part. ``folds`` is capped at the number of patient groups that can validate (at least 2).

    Returns:
        ``[{"train": [case ids], "val": [case ids]}, ...]`` in manifest order.

    Raises:
        ScintisegError: fewer than two patient groups that can validate.
    """
    chosen = set(case_ids)
    patients = {c.patient_id for c in manifest.cases if c.case_id in chosen}
    derived = {c.patient_id for c in manifest.cases if c.case_id in chosen and _is_training_derived(c)}
    groups = [g for g in _patient_groups(manifest) if patients & set(g)]
    eligible = _scorable(groups, manifest, derived)
    order = [eligible[i] for i in np.random.default_rng(seed).permutation(len(eligible))]
    in_order = lambda members: [c.case_id for c in manifest.cases if c.case_id in chosen and c.patient_id in members]  # noqa: E731
    return _folds(order, patients, min(int(folds), max(len(order), 2)), in_order)
