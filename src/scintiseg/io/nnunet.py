"""nnU-Net v2's raw data-set layout: a scintiseg data set written for nnU-Net, and nnU-Net's masks read back (session 49).

Why. nnU-Net (Isensee et al., Nature Methods 18:203, 2021) is the baseline a medical-imaging researcher compares a
new network against (../shared/reference/landscape.md), and what its users ask of it is what a bone-scan data set
needs: splits by patient (its own five folds split cases, so the ANT and POST of one patient, or two studies of one
patient, fall on both sides unless a ``splits_final.json`` is written by hand) and a reading of the data it does not
do (LabelMe outlines, DICOM views, studies stored head-down). ``scintiseg dataset export-nnunet`` writes a data set
as nnU-Net v2 reads it, with the folds by patient; ``scintiseg evaluate --predictions`` scores nnU-Net's masks (or
any tool's written with these names) with the metrics and split of ``scintiseg evaluate``; and ``scintiseg
annotations from-masks`` turns the label files of a data set prepared for nnU-Net (``labelsTr``), or any tool's masks,
into LabelMe outlines of their images for ``scintiseg dataset import --labels`` (:func:`mask_of`).

Layout (nnU-Net v2's ``documentation/dataset_format.md``)::

    OUT/Dataset501_BoneScan/
        dataset.json          channel_names {"0": "counts"}, labels {"background": 0, "lesion": 1}, numTraining,
                              file_ending ".nii.gz", name, description, reference; and the Decathlon lists
                              "training" (image, label, fold) and "test" (image, label) that MONAI's
                              load_decathlon_datalist reads (nnU-Net v2 finds its files by their names)
        imagesTr/<case>_<VIEW>_0000.nii.gz     labelsTr/<case>_<VIEW>.nii.gz
        imagesTs/<case>_<VIEW>_0000.nii.gz     labelsTs/<case>_<VIEW>.nii.gz      the data set's test patients
        splits_final.json     folds by patient: copy into nnUNet_preprocessed/Dataset501_BoneScan/ after planning

Choices nnU-Net's format leaves open:

- *One 2-D case per annotated view* (nnU-Net's ``2d`` configuration), ANT and POST as read: upright (a case stored
  head-down is turned, :func:`scintiseg.io.dataset.load_case`), POST not mirrored (nnU-Net mirrors in training and at
  inference). A view without an annotation is left out (nnU-Net has no use for an unlabelled image) and counted; a
  view annotated with no lesion is a negative case. Identifier ``<case>_<VIEW>`` with characters other than letters,
  digits, ``-`` and ``_`` written ``_``.
- *Or one case per study, its two views fused* (``--fuse two_channel|aggregate``, session 50): ANT and POST as the
  network of that scintiseg input mode reads them (:mod:`scintiseg.prepare.model_input`): POST mirrored and aligned
  to ANT by whole pixels, then two channels (``_0000`` ANT, ``_0001`` the mirrored POST) or paper B's sum (Eq. 4,
  one channel), in counts; the label the union of both views' outlines on ANT's grid (a lesion seen in either view
  is a lesion), as scintiseg's own fused networks are trained. So nnU-Net is compared with paper B's view fusion on
  the same input. Identifier ``<case>``; a study with only one view outlined is left out and counted (its other view's
  lesions are unknown, not absent). A test case's pseudo-labelled view (the model's own prediction, possible where
  pseudo-labels were imported after the split) is left out of ``labelsTs``: it is no truth to score on. The fusion is handed in by the caller (:class:`Fusion`): it is prepare's, which
  io may not import.
- *NIfTI, not PNG*: nnU-Net reads a 2-D NIfTI's pixel size (its SimpleITK reader) and resamples scans of different
  matrices to one spacing; its PNG reader takes every image as 1 x 1. Written with nibabel, the first voxel axis x
  (the columns), the pixel size in the affine and ``pixdim``; scintiseg's NIfTI reader reads the files back upright.
- *Counts as stored*: ``uint16`` where they are integers from 0 to 65535 (DICOM counts), else ``float32`` (an 8-bit
  export stays its grey levels). Channel name ``counts``: nnU-Net z-scores every channel not named ``CT``, per image.
- *Folds*: the data set's own (``splits.json`` ``folds``) when it has them, else :data:`FOLDS` by patient group
  (:func:`scintiseg.prepare.splits.patient_folds`, seeded: a patient's cases and the cases derived from them in one
  fold; augmented and GAN cases in every fold's train part), fewer where there are fewer patient groups. Identifiers
  are listed per fold as nnU-Net's ``splits_final.json`` holds them. The split policy is prepare's, which io may not
  import: the caller hands it in (:data:`DealFolds`), as it hands in the fusion.
- The data set's test split is ``imagesTs`` / ``labelsTs`` (nnU-Net trains on none of it); the caller makes the
  split where the data set has none, as ``scintiseg train`` does, so both see the same test patients.
- Written into a hidden folder beside the target and renamed into place when complete; an existing target, or
  another data set of the same id in ``OUT`` (nnU-Net refuses two), is refused first.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.io.atomic import staging_folder
from scintiseg.io.dataset import DatasetManifest, load_case, load_manifest, person_views
from scintiseg.io.file_keys import output_stem
from scintiseg.io.images import read_mask_png
from scintiseg.io.nifti import nifti_voxels
from scintiseg.scan import Scan

#: nnU-Net's default number of cross-validation folds.
FOLDS = 5
#: The file ending of every image and label written.
FILE_ENDING = ".nii.gz"
#: The one input channel's name (module docstring: nnU-Net z-scores it).
CHANNEL_NAME = "counts"
#: The data-set id and name when none is given (nnU-Net reserves 001-010 for the Medical Segmentation Decathlon).
DEFAULT_ID, DEFAULT_NAME = 501, "BoneScan"
#: The endings of a mask file read back (:func:`read_nnunet_mask`), looked for in this order.
MASK_ENDINGS: tuple[str, ...] = (".nii.gz", ".nii", ".png")
#: What nnU-Net appends to an image's name for its first channel, and its label file's name lacks.
CHANNEL_SUFFIX = "_0000"

#: The two views a fused case needs outlined.
FUSED_VIEWS = ("ANT", "POST")

#: How folds are dealt where the splits hold none: ``(manifest, case ids, folds, seed) -> [{"train": [case ids],
#: "val": [case ids]}, ...]``, :func:`scintiseg.prepare.splits.patient_folds` (module docstring, "Folds").
DealFolds = Callable[[DatasetManifest, list[str], int, int], list[dict]]

__all__ = ["DealFolds", "Fusion", "NnunetExport", "export_nnunet", "export_target", "mask_of", "nnunet_folder_name", "nnunet_identifier", "read_nnunet_mask",
           "write_nifti_view"]


@dataclass
class NnunetExport:
    """What :func:`export_nnunet` wrote: the folder, the training and test identifiers, the folds, what was left out."""

    folder: Path
    training: list[str] = field(default_factory=list)
    test: list[str] = field(default_factory=list)
    folds: list[dict] = field(default_factory=list)
    unannotated_views: int = 0
    #: With a fusion: studies left out because only one of their views is outlined.
    unpaired_cases: int = 0
    #: Test cases' pseudo-labelled views (fused: studies) left out: no person's truth to score on.
    pseudo_test: int = 0


@dataclass(frozen=True)
class Fusion:
    """How a study's ANT and POST become one nnU-Net case (module docstring, "one case per study").

    Attributes:
        mode: the scintiseg input mode it reproduces (``two_channel``, ``aggregate``).
        channel_names: one name per channel, for ``dataset.json``.
        combine: ``(scan, masks) -> (channels (C, H, W) counts, target (H, W) bool)``
            (:func:`scintiseg.prepare.model_input.fused_counts`).
    """

    mode: str
    channel_names: tuple[str, ...]
    combine: Callable[[Scan, dict[str, np.ndarray]], tuple[np.ndarray, np.ndarray]]


def nnunet_identifier(case_id: str, view: str | None = None) -> str:
    """nnU-Net's case identifier of a case's view, ``<case>_<VIEW>`` (of a fused study, ``<case>``), other characters
    than ``A-Za-z0-9_-`` written ``_``."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", case_id if view is None else f"{case_id}_{view}")


def nnunet_folder_name(dataset_id: int, name: str) -> str:
    """``Dataset<ID>_<NAME>``, as nnU-Net finds a data set (id 1-999, three digits; name of letters, digits, ``-``, ``_``).

    Raises:
        ScintisegError: an id outside 1-999 or a name nnU-Net's folder lookup would not find.
    """
    if not 1 <= int(dataset_id) <= 999:
        raise ScintisegError(f"an nnU-Net data-set id is 1 to 999, got {dataset_id}")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", name):
        raise ScintisegError(f"an nnU-Net data-set name is letters, digits, '-' and '_', got {name!r}")
    return f"Dataset{int(dataset_id):03d}_{name}"


def write_nifti_view(array: np.ndarray, spacing: tuple[float, float], path: Path) -> None:
    """One 2-D view as NIfTI-1: x the columns, the (row, column) ``spacing`` in mm in the affine (module docstring)."""
    import nibabel  # lazy: start-up time

    array = np.asarray(array)
    if array.dtype == bool:
        array = array.astype(np.uint8)
    else:  # counts: uint16 where they are whole numbers in its range, else float32 (module docstring)
        whole = bool(np.isfinite(array).all()) and np.array_equal(array, np.round(array))
        in_range = array.size and 0 <= float(array.min()) and float(array.max()) <= 65535
        array = array.astype(np.uint16 if whole and in_range else np.float32)
    affine = np.diag([float(spacing[1]), float(spacing[0]), 1.0, 1.0])
    image = nibabel.Nifti1Image(np.ascontiguousarray(array.T), affine)
    image.header.set_xyzt_units("mm")
    nibabel.save(image, str(path))


def read_nnunet_mask(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """A predicted lesion mask of a view of ``shape`` (rows, columns): nnU-Net's NIfTI (x the columns, as written
    here; a non-square one stored rows first, as a NumPy array saved as it is, is read so too), or an 8-bit PNG of
    0/1 (or 0/255); every non-zero label is lesion. A NIfTI of values that are no labels (NaN, negative, fractions:
    a probability map) is refused rather than read as lesion wherever it is not 0.

    Raises:
        ScintisegError: a file that cannot be read, or one of another size than ``shape`` (named, with the file).
    """
    path = Path(path)
    if path.name.endswith(".png"):
        mask = read_mask_png(path)
    else:
        data = np.squeeze(nifti_voxels(path))
        if data.ndim != 2:
            raise ScintisegError(f"a mask must be one 2-D image, got shape {data.shape}", path=path)
        odd = ~np.isfinite(data) | (data < 0) | (data != np.round(data)) if data.dtype.kind == "f" else data < 0
        if odd.any():  # a probability map or a float image read as lesion wherever it is not 0 (session 61)
            raise ScintisegError(f"a mask holds labels (0, or a positive whole number for lesion), not "
                                 f"{data[odd].flat[0]!r}: threshold a probability map first", path=path)
        mask = (data if data.shape == tuple(shape) and data.shape[0] != data.shape[1] else data.T) != 0
    if mask.shape != tuple(shape):
        raise ScintisegError(f"size mismatch: the mask is {mask.shape[0]}x{mask.shape[1]}, the view "
                             f"{shape[0]}x{shape[1]}", path=path)
    return mask


def mask_of(image: str | Path, masks: str | Path) -> Path | None:
    """The mask in folder ``masks`` of the image file ``image``: its name without the image suffix
    (:func:`scintiseg.io.file_keys.output_stem`), or without nnU-Net's :data:`CHANNEL_SUFFIX` too, and one of
    :data:`MASK_ENDINGS` (``imagesTr/P001_ANT_0000.nii.gz`` -> ``labelsTr/P001_ANT.nii.gz``); None when there is none."""
    stem = output_stem(image)
    stems = [stem] + ([stem[: -len(CHANNEL_SUFFIX)]] if stem.endswith(CHANNEL_SUFFIX) and len(stem) > len(CHANNEL_SUFFIX) else [])
    return next((Path(masks) / f"{name}{end}" for name in stems for end in MASK_ENDINGS
                 if (Path(masks) / f"{name}{end}").is_file()), None)


def _identifiers(manifest: DatasetManifest, case_ids: list[str], fused: bool = False,
                 person_only: set[str] = frozenset()) -> dict[str, list[tuple[str | None, str]]]:
    """case id -> [(view, identifier)] of its annotated views (fused: [(None, identifier)] of a study with both
    views annotated), a pseudo-labelled view left out of a case in ``person_only`` (a test case: no person's truth);
    two views of one identifier refused."""
    seen: dict[str, str] = {}
    out: dict[str, list[tuple[str | None, str]]] = {}
    for case_id in case_ids:
        case = manifest.case(case_id)
        annotated = sorted(person_views(case) if case_id in person_only else set(case.labels) | set(case.masks))
        if fused:
            annotated = [None] if set(FUSED_VIEWS) <= set(annotated) else []
        for view in annotated:
            identifier = nnunet_identifier(case_id, view)
            if identifier in seen:
                raise ScintisegError(f"cases {seen[identifier]!r} and {case_id!r} both give the nnU-Net identifier "
                                     f"{identifier!r}: rename one")
            seen[identifier] = case_id
            out.setdefault(case_id, []).append((view, identifier))
    return out


def export_target(out: str | Path, dataset_id: int = DEFAULT_ID, name: str = DEFAULT_NAME) -> Path:
    """The folder :func:`export_nnunet` would write, ``out/Dataset<ID>_<NAME>``, checked before any work.

    Raises:
        ScintisegError: a bad id or name, ``out`` a file, the target already there, or another data set of the id in
            ``out`` (nnU-Net refuses two).
    """
    out = Path(out)
    target = out / nnunet_folder_name(dataset_id, name)
    if out.exists() and not out.is_dir():
        raise ScintisegError("the nnU-Net raw folder is a file", path=out)
    if target.exists():
        raise ScintisegError("already exists: choose another id or name, or remove it", path=target)
    taken = sorted(p.name for p in out.glob(f"Dataset{int(dataset_id):03d}_*")) if out.is_dir() else []
    if taken:
        raise ScintisegError(f"nnU-Net would find two data sets of id {int(dataset_id):03d} ({taken[0]} is there): "
                             "choose another id", path=out)
    return target


def export_nnunet(root: str | Path, out: str | Path, splits: dict, *, dataset_id: int = DEFAULT_ID,
                  name: str = DEFAULT_NAME, folds: int = FOLDS, seed: int = 0, progress: bool = False,
                  fusion: Fusion | None = None, deal_folds: DealFolds | None = None) -> NnunetExport:
    """Write the data set at ``root`` as nnU-Net v2's raw data set ``out/Dataset<ID>_<NAME>`` (module docstring).

    Args:
        root: the data set folder.
        out: nnU-Net's raw folder (``nnUNet_raw``), made when missing.
        splits: the data set's splits (:func:`scintiseg.io.dataset.load_splits`): ``train`` and ``test`` case ids,
            and ``folds`` when it has them.
        dataset_id, name: nnU-Net's data-set id and name.
        folds: folds made by patient where ``splits`` has none.
        seed: seeds those folds.
        progress: a tqdm bar on stderr.
        fusion: one case per study, its two views fused (module docstring); None: one case per view.
        deal_folds: makes those folds (:func:`scintiseg.prepare.splits.patient_folds`); needed only where ``splits``
            has no folds.

    Raises:
        ScintisegError: a bad id or name, the target or another data set of the id already in ``out``, ``out`` a
            file, no annotated view (fused: no study with both views annotated) among the training cases, an
            unreadable case (named).
        ValueError: ``splits`` without folds and no ``deal_folds``.
    """
    root, out = Path(root), Path(out)
    target = export_target(out, dataset_id, name)
    folder_name = target.name
    manifest = load_manifest(root)
    train_ids, test_ids = list(splits.get("train", [])), list(splits.get("test", []))
    views = _identifiers(manifest, train_ids + test_ids, fused=fusion is not None, person_only=set(test_ids))
    annotated = {c: set(manifest.case(c).labels) | set(manifest.case(c).masks) for c in train_ids + test_ids}
    pseudo = {c: len(annotated[c] - person_views(manifest.case(c))) for c in test_ids}  # left out: no truth
    if fusion is None:
        unannotated = sum(max(len(manifest.views) - len(annotated[c]), 0) for c in train_ids + test_ids)
        unpaired, pseudo_test = 0, sum(pseudo.values())
    else:
        unannotated = 0
        pseudo_test = sum(c not in views and pseudo[c] > 0 and set(FUSED_VIEWS) <= annotated[c] for c in test_ids)
        unpaired = sum(c not in views and bool(annotated[c]) for c in train_ids + test_ids) - pseudo_test
    training = [identifier for c in train_ids for _, identifier in views.get(c, [])]
    if not training and fusion is not None:
        raise ScintisegError(f"no training study with both {' and '.join(FUSED_VIEWS)} annotated: a fused case needs "
                             "both views' outlines", path=root)
    if not training:
        raise ScintisegError("no annotated view among the training cases: nnU-Net needs labelled images", path=root)
    own = splits.get("folds")
    if not own and deal_folds is None:
        raise ValueError("the splits hold no folds: hand in deal_folds (scintiseg.prepare.splits.patient_folds)")
    try:
        own = own or deal_folds(manifest, [c for c in train_ids if c in views], folds, seed)
    except ScintisegError as exc:  # one patient: nnU-Net could not validate on another
        raise ScintisegError(f"nnU-Net's folds by patient: {exc.problem} (each fold validates on other patients than "
                             "it trains on)", path=root) from None
    fold_list = [{part: [i for c in fold[part] for _, i in views.get(c, [])] for part in ("train", "val")}
                 for fold in own]
    out.mkdir(parents=True, exist_ok=True)
    staging = staging_folder(out, folder_name)
    result = NnunetExport(folder=target, training=training, folds=fold_list, unannotated_views=unannotated,
                          unpaired_cases=unpaired, pseudo_test=pseudo_test)
    channel_names = fusion.channel_names if fusion else (CHANNEL_NAME,)
    try:
        for sub in ("imagesTr", "labelsTr") + (("imagesTs", "labelsTs") if test_ids else ()):
            (staging / sub).mkdir()
        chosen = [(c, "Tr") for c in train_ids] + [(c, "Ts") for c in test_ids]
        for case_id, part in tqdm(chosen, desc="export", unit="case", disable=not progress):
            if case_id not in views:
                continue
            scan, masks = load_case(root, manifest.case(case_id), labels=manifest.labels)
            for view, identifier in views[case_id]:
                if fusion is None:
                    channels, label = scan.view(view)[None], masks[view]
                else:
                    try:
                        channels, label = fusion.combine(scan, masks)
                    except ScintisegError as exc:  # e.g. views too far apart to align: name the case
                        raise ScintisegError(f"case {case_id}: {exc.problem}",
                                             path=root / manifest.case(case_id).image) from None
                    if len(channels) != len(channel_names):
                        raise ScintisegError(f"the fusion gave {len(channels)} channels, it names {len(channel_names)}")
                for k, channel in enumerate(channels):
                    write_nifti_view(channel, scan.pixel_spacing, staging / f"images{part}" / f"{identifier}_{k:04d}{FILE_ENDING}")
                write_nifti_view(label, scan.pixel_spacing, staging / f"labels{part}" / f"{identifier}{FILE_ENDING}")
                if part == "Ts":
                    result.test.append(identifier)
        (staging / "splits_final.json").write_text(json.dumps(fold_list, indent=1) + "\n", encoding="utf-8")
        cases = ("one 2-D case per annotated view, counts as stored" if fusion is None else
                 f"one 2-D case per study, ANT and POST fused as scintiseg's {fusion.mode} input (POST mirrored and "
                 "aligned to ANT, counts), the label the union of both views' outlines on ANT's grid")
        description = (f"Planar bone scans exported by scintiseg from {root.name}: {cases}, lesion = 1; "
                       "splits_final.json holds folds by patient.")
        val_fold = {i: k for k, fold in enumerate(fold_list) for i in fold["val"]}

        def entry(part: str, i: str) -> dict:
            """A Decathlon list entry (MONAI reads a multi-channel case's image as a list of files)."""
            images = [f"images{part}/{i}_{k:04d}{FILE_ENDING}" for k in range(len(channel_names))]
            return {"image": images[0] if len(images) == 1 else images, "label": f"labels{part}/{i}{FILE_ENDING}"}

        dataset_json = {"channel_names": {str(k): n for k, n in enumerate(channel_names)}, "labels": {"background": 0, "lesion": 1},
                        "numTraining": len(training), "file_ending": FILE_ENDING, "name": name,
                        "description": description, "reference": "scintiseg dataset export-nnunet",
                        "training": [{**entry("Tr", i), **({"fold": val_fold[i]} if i in val_fold else {})}
                                     for i in training],
                        "test": [entry("Ts", i) for i in result.test]}
        (staging / "dataset.json").write_text(json.dumps(dataset_json, indent=1) + "\n", encoding="utf-8")
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result
