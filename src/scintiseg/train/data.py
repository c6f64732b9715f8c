"""From a data-set folder to in-memory torch datasets: patient-level split, view mode, normalisation.

The flow for one case (:func:`load_samples`):

1. :func:`scintiseg.io.dataset.load_case` gives the :class:`~scintiseg.scan.Scan` (ANT and POST as
   acquired, usually a 256 x 256 thoracic crop) and its per-view lesion masks;
2. :func:`scintiseg.prepare.model_input.model_input` builds the normalised model input of the input mode
   (the same builder prediction uses) and :meth:`~scintiseg.prepare.model_input.ModelInput.target` its
   target: the masks of the views read, carried onto the input's grid.

**What a sample's target is** (:attr:`Sample.truth`, :func:`case_truth`, session 50). A view with no annotation has
unknown lesions, not none (the convention of ``dataset check``, ``export-nnunet``, ``evaluate --predictions`` and
site adaptation); a view whose annotation is a pseudo-label (``meta["pseudo"]``) holds the model's own prediction.
So a supervised loss trains only on cases whose views read are annotated (pseudo-labels included: that is what they
were imported for), validation and test scores only on cases a person outlined (an empty outline is a reader's "no
lesion"), and the Chan-Vese term (``loss="chan_vese"``) takes unannotated cases as unlabelled. Before session 50 an
imported site data set's scans without outlines trained, validated and were scored as lesion-free.
Where every view is its own input (input mode ``ant`` on whole-body scans) the truth is a view's: a case trains and
validates on each view annotated, and only its views without one are left out (:func:`any_view_truth`,
:func:`load_samples`'s ``left_out``; session 63: before, the data set's shared views (``dataset.json``'s ``views``)
decided for the whole case, so one lone POST scan in an imported data set left out every case without a POST
outline, its outlined ANT with it).

**Whole-body data sets** (session 51). A data set of whole-body scans (views of at least
:data:`~scintiseg.scan.PARTIAL_VIEW_MM`, 1 m) trains a whole-body model, as ``--synthetic`` and ``adapt`` do:
each scan is resampled to ``pixel_mm`` (counts conserved, masks carried by area), normalised whole (the same
builder prediction uses on a whole view; input mode ``ant`` reads every view, each its own input, as prediction
and the ``--synthetic`` recipe read them, where a data set of crops trains on ANT alone unless ``views="each"``, the
papers' experiments' setting since session 63), and its input and target
cut into square windows of ``window_size`` that overlap by half and reach every edge
(:func:`scintiseg.prepare.windows.window_starts`, as prediction places its own; a side
shorter than the window is zero-padded). The checkpoint then records ``pixel_mm`` and ``window: whole``, so ``scintiseg predict`` resamples every scan to that
size and tiles the whole body (:mod:`scintiseg.predict.loader`). [Choice: fixed tiles, not random windows: the data
set is preloaded, every pixel of every view trains, and a run is repeatable from its seed; augmentation adds the
shifts. Validation scores the windows too, so a pixel two windows share counts twice in ``val_dsc``;
``scintiseg evaluate --run`` scores whole views.] **Lesions oversampled** (session 52): a training case adds, beside
its tiles, one window centred on each lesion of each view (:attr:`WholeBodyWindows.around_lesions`; a lesion is an
8-connected part of the target, its centre its centre of mass, the window moved inside the view where the lesion lies
near an edge). Lesions cover under 1 % of a whole body: of the tiles of 30 default phantom patients (2.26 mm, 256
pixels) only 26 % hold a lesion pixel, with them 44 % (135 windows more to 420); the ``--synthetic`` recipe centres half its windows near a
lesion (:data:`~scintiseg.train.synthetic.LESION_FOCUS`) and nnU-Net a third of its patches for the same reason. A
centred window also shows every lesion whole with its surroundings, where a tile may cut it at its edge. Validation
keeps the tiles alone, so ``val_dsc`` is not weighted towards lesions. Before session 51 such a run trained on the whole views at the data set's matrix and recorded no pixel
size, and ``predict`` read it as a thoracic-crop model: the thorax only. Partial views (thoracic crops, the
papers' input) train as they are, as before; a data set mixing both kinds is refused in one line.

Splits are always by patient (``splits.json``): the test patients never reach training; validation
is ``folds[fold]`` or a seeded share of the training patients (of those a person outlined). With ``labelled < 1`` a seeded share
of the *training patients with labels* keeps its labels, drawn among them (session 63: among every training patient
before; paper B: "images of one patient never cross subsets").
The whole (small) data set is preloaded into memory: a DataLoader with ``num_workers=0`` is then
the fastest choice on a few CPU cores.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from torch.utils.data import Dataset

from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import SPLITS_NAME, Case, load_case, load_manifest, load_splits, person_views, save_splits
from scintiseg.prepare.model_input import model_input, model_inputs
from scintiseg.prepare.resample import resample_map, resample_scan
from scintiseg.prepare.splits import split_dataset
from scintiseg.prepare.windows import window_at, window_starts
from scintiseg.scan import Scan, spans_whole_body

#: :attr:`Sample.truth`: every view read outlined by a person; one of them a pseudo-label; one of them not annotated.
PERSON, PSEUDO_LABEL, UNKNOWN = "person", "pseudo", "unknown"
TRUTHS: tuple[str, ...] = (PERSON, PSEUDO_LABEL, UNKNOWN)


@dataclass
class Sample:
    """One model-ready image: ``image`` (C, H, W) float32, ``target`` (1, H, W) float32 in {0, 1}; ``truth`` says
    what the target is (module docstring: :data:`PERSON`, :data:`PSEUDO_LABEL`, :data:`UNKNOWN`)."""

    case_id: str
    patient_id: str
    image: np.ndarray
    target: np.ndarray
    truth: str = PERSON
    whole_body: bool = False
    source_case: str = ""  # the data set's case it was read from, where ``case_id`` names one of its views

    @property
    def case(self) -> str:
        """The data set's case id of the sample (``splits.json``'s, ``split.labelled``'s)."""
        return self.source_case or self.case_id


@dataclass(frozen=True)
class WholeBodyWindows:
    """How :func:`load_samples` reads a whole-body scan (module docstring, "Whole-body data sets"): resampled to
    ``pixel_mm``, cut into windows of ``size`` pixels; with ``around_lesions`` (training) one more window centred
    on each lesion."""

    pixel_mm: float
    size: int
    around_lesions: bool = False


def lesion_window_starts(target: np.ndarray, size: int) -> list[tuple[int, int]]:
    """First (row, column) of a ``size`` window centred on each lesion of ``target`` (H, W): an 8-connected part of
    its pixels above one half, centred at its centre of mass, the window moved inside the image (module docstring,
    "Lesions oversampled"); in the order :func:`scipy.ndimage.label` numbers them."""
    labels, count = ndimage.label(np.asarray(target) > 0.5, structure=np.ones((3, 3), bool))
    if not count:
        return []
    centres = ndimage.center_of_mass(np.ones(labels.shape), labels, range(1, count + 1))
    rows, cols = labels.shape
    return [(int(np.clip(round(r) - size // 2, 0, max(rows - size, 0))),
             int(np.clip(round(c) - size // 2, 0, max(cols - size, 0)))) for r, c in centres]


def cut_windows(image: np.ndarray, target: np.ndarray, size: int,
                around_lesions: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
    """``image`` (C, H, W) and ``target`` (1, H, W) cut into half-overlapping tiles
    (:func:`scintiseg.prepare.windows.window_starts`), short sides zero-padded at their end
    (:func:`scintiseg.prepare.windows.window_at`); with ``around_lesions`` then one window centred on each lesion
    (:func:`lesion_window_starts`). Every window is a new array of its input's type."""
    rows, cols = image.shape[-2:]
    corners = [(r, c) for r in window_starts(rows, size) for c in window_starts(cols, size)]
    if around_lesions:
        corners += lesion_window_starts(target[0], size)
    return [(window_at(image, r, c, size), window_at(target, r, c, size)) for r, c in corners]


def resample_case(scan: Scan, masks: dict[str, np.ndarray], pixel_mm: float) -> tuple[Scan, dict[str, np.ndarray]]:
    """``scan`` resampled to ``pixel_mm`` (counts conserved) and its masks carried onto the new grid by area, kept where
    they cover half a pixel, as prediction resamples a scan (module docstring, "Whole-body data sets")."""
    scan = resample_scan(scan, (pixel_mm, pixel_mm))
    return scan, {view: resample_map(np.asarray(mask, np.float32), scan.shape) >= 0.5 if mask.shape != scan.shape
                  else mask for view, mask in masks.items()}


def case_truth(case: Case, views) -> str:
    """What ``case``'s target over ``views`` (the views an input reads) is: :data:`UNKNOWN` when one of them has no
    annotation (LabelMe file or mask), :data:`PSEUDO_LABEL` when one holds a pseudo-label, else :data:`PERSON`."""
    views = set(views)
    if not views <= set(case.labels) | set(case.masks):
        return UNKNOWN
    return PERSON if views <= person_views(case) else PSEUDO_LABEL


def any_view_truth(case: Case) -> str:
    """What ``case``'s best view is, where every view is its own input (module docstring): :data:`PERSON` when a
    person outlined one of its views, :data:`PSEUDO_LABEL` when one holds a pseudo-label and none an outline, else
    :data:`UNKNOWN` (no view annotated)."""
    if person_views(case):
        return PERSON
    return PSEUDO_LABEL if set(case.labels) | set(case.masks) else UNKNOWN


def spans_whole_body_case(root: str | Path, case: Case, labels: dict[str, int] | None = None) -> bool:
    """Whether ``case`` of the data set at ``root`` is a whole-body scan (:func:`scintiseg.scan.spans_whole_body`),
    read to know it."""
    scan, _ = load_case(root, case, labels=labels)
    return spans_whole_body(scan.shape[0], scan.pixel_spacing[0])


@dataclass
class SplitCases:
    """Case ids per subset, and which training cases keep their labels."""

    train: list[str]
    val: list[str]
    test: list[str]
    labelled: set[str] = field(default_factory=set)


class SegmentationDataset(Dataset):
    """In-memory dataset of :class:`Sample` objects with a per-item "labels usable" flag.

    Items are dicts: ``image`` (C, H, W), ``target`` (1, H, W), ``labelled`` (bool tensor), ``index``.
    """

    def __init__(self, samples: list[Sample], labelled: list[bool] | None = None) -> None:
        if not samples:
            raise ScintisegError("no images in this subset")
        first = samples[0]
        odd = next((s for s in samples if s.image.shape[-2:] != first.image.shape[-2:]), None)
        if odd is not None:
            size = lambda sample: "x".join(map(str, sample.image.shape[-2:]))  # noqa: E731
            raise ScintisegError(f"cases of different image sizes cannot train together: {first.case_id} is "
                                 f"{size(first)}, {odd.case_id} is {size(odd)}")
        self.samples = samples
        images = np.stack([s.image for s in samples]).astype(np.float32, copy=False)
        targets = np.stack([s.target for s in samples]).astype(np.float32, copy=False)
        for sample, image, target in zip(samples, images, targets):  # one copy in memory: the samples' arrays
            sample.image, sample.target = image, target  # become views of the stacked ones (a site's tiles: GBs)
        self.images, self.targets = torch.from_numpy(images), torch.from_numpy(targets)
        flags = [True] * len(samples) if labelled is None else list(labelled)
        self.labelled = torch.tensor(flags, dtype=torch.bool)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {
            "image": self.images[index],
            "target": self.targets[index],
            "labelled": self.labelled[index],
            "index": torch.tensor(index),
        }

    @property
    def in_channels(self) -> int:
        return int(self.images.shape[1])


#: Share of patients held out for test when training makes the split itself (:func:`training_splits`).
AUTO_TEST_SHARE = 0.2


class SplitMadeWarning(UserWarning):
    """Training found no ``splits.json`` and made one (:func:`training_splits`)."""


def training_splits(root: str | Path, seed: int) -> dict:
    """``root/splits.json``; when the data set has none, a seeded patient-level split made, saved and said.

    A department's own data set (issue 16) usually arrives without a split. Training then holds out
    :data:`AUTO_TEST_SHARE` of the patients for test with :func:`scintiseg.prepare.splits.split_dataset` (the
    rules of ``scintiseg dataset split``: patients never straddle, generated cases never test), seeded with
    the run's seed, writes it beside ``dataset.json`` so evaluation and later runs see the same test
    patients, and warns once (the CLI prints it as one ``warning:`` line). The same seed gives the same split.
    Training itself makes it with :func:`made_split` and saves it with :func:`save_made_split` only once the split
    has left it something to train and validate on.
    """
    made = made_split(root, seed)
    if made is not None:
        save_made_split(root, made)
    return load_splits(root)


def made_split(root: str | Path, seed: int) -> dict | None:
    """The split :func:`training_splits` would make for the data set at ``root``, not saved; None when it has a
    ``splits.json``. Training checks it before it is saved (:func:`save_made_split`), so that a run the split leaves
    nothing to train on does not change the user's data set (researcher audit 74: ``experiment`` saved one, then
    failed with "need at least two training patients with outlines")."""
    root = Path(root)
    if (root / SPLITS_NAME).is_file():
        return None
    return split_dataset(root, test=AUTO_TEST_SHARE, seed=seed, write=False)


def save_made_split(root: str | Path, splits: dict) -> None:
    """Save a split :func:`made_split` made as ``root/splits.json`` and say so (one :class:`SplitMadeWarning`)."""
    root = Path(root)
    save_splits(splits, root)
    warnings.warn(
        f"{root}: no {SPLITS_NAME}: made a patient-level split ({AUTO_TEST_SHARE:.0%} of patients held out "
        f"for test, of those with an outline where some have one; seed {splits['seed']}) and saved it as "
        f"{root / SPLITS_NAME}",
        SplitMadeWarning,
        stacklevel=3,
    )


def _seeded_share(items: list[str], share: float, seed: int) -> list[str]:
    """``round(share * len(items))`` items chosen with a seeded permutation, in input order."""
    count = int(math.floor(share * len(items) + 0.5))
    order = np.random.default_rng(seed).permutation(len(items))
    chosen = set(order[:count].tolist())
    return [item for i, item in enumerate(items) if i in chosen]


def _foreign_generated(cases: list[str], patients_of: dict[str, str], generated: frozenset[str] | set[str]) -> list[str]:
    """The generated cases of ``cases`` whose patient has no original case among them: a GAN sample (its own
    patient), a copy of another subset's patient. A copy of a patient of ``cases`` itself is that patient's image."""
    originals = {patients_of[c] for c in cases if c not in generated}
    return [c for c in cases if c in generated and patients_of[c] not in originals]


def split_cases(
    patients_of: dict[str, str],
    splits: dict,
    *,
    fold: int | None = None,
    val_fraction: float = 0.2,
    labelled: float = 1.0,
    seed: int = 0,
    generated: frozenset[str] | set[str] = frozenset(),
    outlined: set[str] | None = None,
    annotated: set[str] | None = None,
) -> SplitCases:
    """Train / val / test case ids from ``splits.json`` content, always separating patients.

    Args:
        patients_of: case id -> patient id for every case of the data set.
        splits: ``{"test": [case ids], "train": [case ids], "folds": [{"train", "val"}], "seed"}``.
        fold: use ``folds[fold]``; None holds out ``val_fraction`` of the training patients (seeded).
        val_fraction: share of training patients for validation (at least one patient).
        labelled: share of the training patients with labels (``annotated``) whose labels are kept.
        seed: seeds the validation hold-out and the labelled share.
        generated: ids of cases made from training data (origin ``augment`` or ``gan``). Without a
            fold they never validate: only patients with an original case are held out, only their
            original cases validate, and their generated copies are dropped (they would leak).
        outlined: ids of the cases a person outlined (:data:`PERSON`; None: every case). Without a fold the
            validation patients are drawn from their patients, for only such a case can validate.
        annotated: ids of the cases with labels to keep (a person's or pseudo-labels; None: every case): the
            labelled share is drawn among their training patients (session 63: before, among every training
            patient, so the unannotated ones, with no labels to keep, took part of the share).
    """
    unknown = [c for key in ("train", "test") for c in splits.get(key, []) if c not in patients_of]
    if unknown:
        raise ScintisegError(f"splits.json names cases that are not in the data set: {', '.join(unknown[:5])}")
    test = list(splits.get("test", []))
    leaked = _foreign_generated(test, patients_of, generated)
    if fold is not None:
        folds = splits.get("folds") or []
        if not 0 <= fold < len(folds):
            raise ScintisegError(f"fold {fold} does not exist (splits.json has {len(folds)} folds)")
        train, val = list(folds[fold]["train"]), list(folds[fold]["val"])
        leaked += _foreign_generated(val, patients_of, generated)
    if leaked:  # made from training data: scored, it would score the training data (session 63: taken as listed)
        raise ScintisegError(f"splits.json puts cases made from training data (a GAN sample, or a copy of a patient "
                             f"who trains) in {'test' if leaked[0] in test else f'fold {fold} validation'}: "
                             f"{', '.join(leaked[:5])}; they may only train (`scintiseg dataset split` never lists "
                             "them elsewhere)")
    if fold is None:
        pool = list(splits.get("train", []))
        patients = sorted({patients_of[c] for c in pool if c not in generated and (outlined is None or c in outlined)})
        if len(patients) < 2:  # say what the split left and what helps (researcher audit 74)
            kind = "" if outlined is None else " with outlines"
            tested = {patients_of[c] for c in test if outlined is None or c in outlined}
            raise ScintisegError(f"need at least two training patients{kind} to hold one out for validation; the split "
                                 f"left {len(patients)} in training and {len(tested)} in test: outline more patients, "
                                 "or hold fewer out for test (`scintiseg dataset split DIR --test SHARE`, 0 for none)")
        n_val = min(max(1, int(math.floor(val_fraction * len(patients) + 0.5))), len(patients) - 1)
        val_patients = set(_seeded_share(patients, n_val / len(patients), seed))
        train = [c for c in pool if patients_of[c] not in val_patients]
        val = [c for c in pool if patients_of[c] in val_patients and c not in generated]
    test_patients = {patients_of[c] for c in test}
    for name, subset in (("train", train), ("val", val)):
        leaked = sorted({patients_of[c] for c in subset} & test_patients)
        if leaked:
            raise ScintisegError(f"patients {', '.join(leaked[:5])} are in both {name} and test")
    train_patients = sorted({patients_of[c] for c in train if annotated is None or c in annotated})
    keep = set(_seeded_share(train_patients, labelled, seed + 1))
    return SplitCases(train=train, val=val, test=test, labelled={c for c in train if patients_of[c] in keep})


def image_id(case_id: str, view: str | None = None) -> str:
    """The name of one image of a case, as ``per_case.csv`` and a sample give it: ``<case>_<VIEW>`` for a view read on
    its own, the case id where one image stands for the case (a crop's ANT, a fused study), the data set's case id
    as it is. Both evaluations name their rows with it (:mod:`scintiseg.train.evaluate`), so the tables of a run that
    reads each view on its own (whole-body, ``--views each``), of another tool's masks and of a predict folder join
    on it (researcher audit 74: the masks' rows were named by nnU-Net's identifier, ``1_2_826_..._ANT`` for case
    ``1.2.826...``). A run reading one image per case (a crop's ANT) names the row by the case id, where
    ``evaluate --predictions`` scores each view (``<case>_ANT``, ``<case>_POST``): join its ``<case>`` on
    ``<case>_ANT`` (session 74's review, R2)."""
    return case_id if view is None else f"{case_id}_{view}"


def load_samples(root: str | Path, case_ids: list[str], input_mode: str, normalisation: str, *,
                 keep: tuple[str, ...] = TRUTHS, pixel_mm: float | None = None,
                 windows: WholeBodyWindows | None = None, every_view: bool = False,
                 views: str = "first", left_out: list[str] | None = None) -> list[Sample]:
    """Read and convert the given cases of the data set at ``root``, in order; only those whose
    :attr:`Sample.truth` is in ``keep`` (the truth of the views the input reads: module docstring).

    With ``pixel_mm`` (a whole-body model's pixel size) each scan is resampled to it first, as prediction resamples it
    (counts conserved), and its masks carried by area and kept where they cover half a pixel. With ``windows`` a
    scan that spans a whole body is resampled to ``windows.pixel_mm``, every view read (input mode ``ant``) and cut
    into windows (one sample each, :attr:`Sample.whole_body` set; module docstring, "Whole-body data sets"; with
    ``windows.around_lesions`` one more centred on each lesion, "Lesions oversampled"). With
    ``every_view`` (evaluating a whole-body model) every view of a scan that spans a whole body is read, as
    prediction reads it, each its own sample ``<case>_<VIEW>``. A partial view (a crop) is one sample, ANT, else the
    single view (``views="first"``), or with ``views="each"`` every view its own sample ``<case>_<VIEW>``, POST
    mirrored (input mode ``ant``): the papers' image sets hold both views (``TrainConfig.views``, session 63).
    ``left_out``, where given, gets ``"<case> <VIEW>"`` (views joined by ``and``) of each input left out for its
    truth, in order.
    """
    manifest = load_manifest(root)
    samples = []
    for case_id in case_ids:
        case = manifest.case(case_id)
        scan, masks = load_case(root, case, labels=manifest.labels)
        whole = spans_whole_body(scan.shape[0], scan.pixel_spacing[0])
        tiled = windows is not None and whole
        size = windows.pixel_mm if tiled else pixel_mm
        if size is not None:
            scan, masks = resample_case(scan, masks, size)
        if tiled or (every_view and whole) or (views == "each" and not whole):  # input mode ant: every view
            inputs = model_inputs(scan, input_mode, normalisation)
        else:
            inputs = [model_input(scan, input_mode, normalisation)]
        for built in inputs:
            truth = case_truth(case, built.sources)
            if truth not in keep:
                if left_out is not None:
                    left_out.append(f"{case.case_id} {' and '.join(built.sources)}")
                continue
            if not tiled:
                name = image_id(case.case_id, built.predicted_views[0] if len(inputs) > 1 else None)
                samples.append(Sample(name, case.patient_id, built.image, built.target(masks), truth,
                                      source_case=case.case_id))
                continue
            for image, target in cut_windows(built.image, built.target(masks), windows.size, windows.around_lesions):
                samples.append(Sample(case.case_id, case.patient_id, np.ascontiguousarray(image),
                                      np.ascontiguousarray(target), truth, whole_body=True))
    return samples


#: Case origins made from training data; such a case must never validate or test.
GENERATED_ORIGINS: frozenset[str] = frozenset({"augment", "gan"})


def case_patients(root: str | Path) -> dict[str, str]:
    """case id -> patient id of every case in the data set at ``root``."""
    return {case.case_id: case.patient_id for case in load_manifest(root).cases}


def generated_cases(root: str | Path) -> frozenset[str]:
    """Ids of the cases of the data set at ``root`` whose origin is in :data:`GENERATED_ORIGINS`."""
    return frozenset(case.case_id for case in load_manifest(root).cases if case.origin in GENERATED_ORIGINS)
