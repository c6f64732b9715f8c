"""Data set D3 of paper B (§3.2.2): the original crops (D1) plus GAN samples, with D1's split kept.

Paper B compares D1 (originals), D2 (+ geometric augmentation) and D3 (+ DCGAN samples) on test
patients. For the comparison to mean anything the three must share the same *real* test patients, and
no augmented or generated image may be derived from a test patient. So D3 is built *from D1 and its
``splits.json``*:

- every D1 case and every GAN case is copied into one new folder (data-set paths must stay inside their
  folder, so files are copied, not linked); GAN case ids are unique by construction
  (:mod:`scintiseg.gan.sample`);
- ``splits.json``: D1's ``test`` unchanged; GAN cases appended to ``train`` and to every fold's ``train``,
  never to ``test`` or a fold's ``val`` (validation stays on real patients);
- the GAN must have been trained on D1's training patients only (``scintiseg gan train`` does that
  when D1 has a ``splits.json``); :func:`build_d3` checks the run's training cases and patients against
  D1's test set (:func:`check_gan_run`);
- with ``val_fold`` (session 63) the run must not have seen that fold's validation patients either
  (``scintiseg gan train --held-out-fold F``): a network trained on D3 and validated on fold F would
  otherwise be validated on patients G learned from. The ``paper-b-augmentation`` experiment validates
  every row on fold 0 and builds D3 so. D3's other folds still receive the same samples, so only fold
  ``val_fold`` of D3 is leak-free.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from scintiseg.errors import ScintisegError
from scintiseg.gan.train import read_normalisation
from scintiseg.io import dataset as ds
from scintiseg.io import read_scan
from scintiseg.io.atomic import write_text_atomic
from scintiseg.prepare.case_arrays import case_label_map_paths


def copy_case(src_root: Path, dst_root: Path, case: ds.Case) -> None:
    """Copy every file ``case`` names from ``src_root`` to the same relative paths under ``dst_root``.

    The files are the image, LabelMe files, masks, region and lesion-instance maps; a file that already
    exists under ``dst_root`` is an error (two cases would share it).
    """
    label_maps = [rel for paths in case_label_map_paths(case).values() for rel in paths.values()]
    paths = [case.image, *case.labels.values(), *case.masks.values(), *label_maps]
    for relative in paths:
        target = ds.resolve(dst_root, relative)
        if target.exists():
            raise ScintisegError(f"two cases write the same file {relative}", path=dst_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ds.resolve(src_root, relative), target)


def check_gan_run(gan_run: str | Path, d1: str | Path, val_fold: int | None = None) -> None:
    """Refuse a GAN run that learned from a D1 test patient, or, with ``val_fold``, from a patient of that fold's
    validation list.

    The run's ``normalisation.json`` lists its ``training_cases`` (and ``training_patients`` where recorded); both
    are compared with D1's, as case ids and as patient ids (a run trained on another copy of the crops shares them).

    Raises:
        ScintisegError: naming the first leaked cases or patients, or a ``val_fold`` that D1's ``splits.json``
            does not have.
    """
    gan_run, d1 = Path(gan_run), Path(d1)
    normalisation = read_normalisation(gan_run)
    trained_cases = {str(c) for c in normalisation.get("training_cases", [])}
    trained_patients = {str(p) for p in normalisation.get("training_patients", [])}
    splits = ds.load_splits(d1)
    patient_of = {c.case_id: c.patient_id for c in ds.load_manifest(d1).cases}
    trained_patients |= {patient_of[c] for c in trained_cases if c in patient_of}

    def seen(cases: list[str]) -> list[str]:
        patients = {patient_of.get(str(c), str(c)) for c in cases}
        return sorted((trained_cases & {str(c) for c in cases}) | (trained_patients & patients))

    leaked = seen(list(splits["test"]))
    if leaked:
        raise ScintisegError(f"the GAN was trained on D1 test cases ({', '.join(leaked[:3])}): D3 would leak them", path=gan_run)
    if val_fold is None:
        return
    folds = splits.get("folds") or []
    if not 0 <= val_fold < len(folds):
        raise ScintisegError(f"D1's {ds.SPLITS_NAME} has {len(folds)} folds, no validation fold {val_fold}", path=d1)
    leaked = seen(list(folds[val_fold]["val"]))
    if leaked:
        raise ScintisegError(f"the GAN was trained on validation patients of fold {val_fold} ({', '.join(leaked[:3])}): "
                             f"D3 would leak them into validation; train it with `scintiseg gan train --held-out-fold {val_fold}`",
                             path=gan_run)


def build_d3(d1: str | Path, generated: str | Path, out: str | Path, gan_run: str | Path | None = None,
             val_fold: int | None = None) -> ds.DatasetManifest:
    """Write D3 = D1 + the GAN data set ``generated`` into ``out`` (see the module docstring).

    Args:
        d1: the original crops, with a ``splits.json``.
        generated: a ``scintiseg gan sample`` data set.
        out: new folder.
        gan_run: the GAN's run folder; when given, its training cases must not include D1 test cases
            (:func:`check_gan_run`).
        val_fold: with ``gan_run``, the fold whose validation patients the GAN must not have seen either
            (the fold a network trained on D3 validates on); None: not checked.

    Returns:
        D3's manifest (saved, with ``splits.json``).
    """
    d1, generated, out = Path(d1), Path(generated), Path(out)
    if (out / ds.MANIFEST_NAME).exists():
        raise ScintisegError("output folder already holds a data set", path=out)
    real, fake = ds.load_manifest(d1), ds.load_manifest(generated)
    splits = ds.load_splits(d1)
    if sorted(real.views) != sorted(fake.views):
        raise ScintisegError(f"GAN views {fake.views} differ from D1's {real.views}", path=generated)
    if any(c.origin != "gan" for c in fake.cases):
        raise ScintisegError("the generated data set holds cases whose origin is not 'gan'", path=generated)
    if gan_run is not None:
        check_gan_run(gan_run, d1, val_fold)
    if real.cases and fake.cases:
        real_shape = read_scan(ds.resolve(d1, real.cases[0].image)).shape
        fake_shape = read_scan(ds.resolve(generated, fake.cases[0].image)).shape
        if tuple(real_shape) != tuple(fake_shape):
            raise ScintisegError(f"GAN samples are {fake_shape[0]}x{fake_shape[1]}, D1's crops {real_shape[0]}x{real_shape[1]}: "
                                 "sample a GAN whose output_size is the crops' size", path=generated)
    clash = {c.case_id for c in real.cases} & {c.case_id for c in fake.cases}
    if clash:
        raise ScintisegError(f"case ids in both data sets: {', '.join(sorted(clash)[:3])}", path=generated)
    for case in real.cases:
        copy_case(d1, out, case)
    for case in fake.cases:
        copy_case(generated, out, case)
    gan_ids = [c.case_id for c in fake.cases]
    d3_splits = dict(splits)
    d3_splits["train"] = list(splits["train"]) + gan_ids
    d3_splits["folds"] = [{"train": list(f["train"]) + gan_ids, "val": list(f["val"])} for f in splits.get("folds") or []]
    d3_splits["gan_cases"] = len(gan_ids)
    manifest = replace(
        real,
        name=f"{real.name}-d3",
        cases=list(real.cases) + list(fake.cases),
        description=f"D3 (paper B §3.2.2): {real.name} plus {len(gan_ids)} DCGAN samples from {fake.name}.",
        view_cases={},  # (D1's count per view counted D1's cases only)
    )
    write_text_atomic(out / ds.SPLITS_NAME, json.dumps(d3_splits, indent=1) + "\n")
    ds.save_manifest(manifest, out)
    return manifest
