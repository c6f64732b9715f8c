"""A site's own scans as training windows for site adaptation (issue 16); the epoch mix with the phantom is in
:mod:`scintiseg.train.site_mix`.

Paper B (§2.4.2, Eq. 6-7) trains with ``l = l_S(labelled) + alpha l_U(all)``: the Chan-Vese term ``l_U``
needs only the image, so scans without outlines still teach the network what a site's images look like.
Site adaptation (:mod:`scintiseg.train.adapt`) uses it the other way round from the paper: the network is
already trained (on phantom patients), and a site's *unlabelled* scans are added while the supervised term
keeps working on phantom windows made by the model's own generator recipe, so the network does not drift
into segmenting all bright bone (which is what ``l_U`` alone would reward: bone is the brightest large
region of a bone scan).

**Site windows** (:class:`SiteScans`). A site's folder is read with :func:`scintiseg.io.read_scan` (DICOM,
16-bit PNG/TIFF, ``.npy``, 8-bit exports), or, when it holds a ``dataset.json``
(``scintiseg dataset import``), through the data set: its unlabelled cases are unlabelled, its labelled
cases (a physician's outlines, or predictions corrected in LabelMe and imported back:
``meta["reviewed"]``) are *labelled* site windows, with their masks as targets. Views whose labels are
pseudo-labels (the model's own confident predictions, imported with ``--pseudo-labels P``:
``meta["pseudo"]``, :data:`scintiseg.io.importer.PSEUDO`) are trained the same way, with ``l_S`` on their
predicted masks, and counted apart (:attr:`SiteScans.pseudo_views`, recorded in ``adapt.json``) so a run
says how much of its site supervision came from a person and how much from the model. [Choice: no lower
weight for pseudo-labels; the importer takes a view only when the model was confident on all of it, the
whole view or nothing, because ``l_S`` has no ignore mask (:mod:`scintiseg.io.importer`, "Pseudo-labels").]
Each scan is

1. resampled to the model's pixel size (:func:`scintiseg.prepare.resample.resample_scan`, counts kept;
   masks carried by area and thresholded at one half), as prediction does;
2. built into the model input of each view by :func:`scintiseg.prepare.model_input.model_input`, *the
   builder prediction uses*, on the whole view with the model's normalisation. **POST** is used like ANT:
   each view is its own sample, POST mirrored into ANT's orientation by the builder, which is how a
   single-view (``input_mode="ant"``) network reads it at prediction. [Choice: both views double the
   site's data; the papers' fused modes are not what the shipped model reads.]
3. cut into windows of the model's window size with :func:`scintiseg.train.synthetic.cut_window`: placed
   uniformly for unlabelled views (no lesion is known to aim at), and half of them centred near a lesion
   for labelled ones (as the phantom windows are, :data:`~scintiseg.train.synthetic.LESION_FOCUS`).

The built inputs are kept in memory and new windows are cut from them every epoch, from a generator
seeded with ``(seed, epoch)`` (so a resumed run cuts the same windows); only the cut is repeated.

**The mix** (:class:`scintiseg.train.site_mix.MixedPool`). Each epoch trains on all windows of the phantom pool of that epoch
(:class:`~scintiseg.train.synthetic.SyntheticPool`, ``labelled=True``) plus ``n_site = round(share / (1 -
share) x n_phantom)`` site windows, each from a site view drawn uniformly with replacement [choice:
``share`` = :data:`~scintiseg.train.adapt_config.SITE_SHARE` = 0.5, one site window per phantom window,
so every batch holds on average as many site windows, driving ``l_U``, as phantom windows, driving
``l_S``; drawing views with replacement lets a handful of site scans fill their share]. Unlabelled site windows carry ``labelled=False``: the
loss uses them for ``l_U`` only (:class:`scintiseg.losses.SegmentationLoss`); ``l_U`` is computed on
every window, phantom ones included, as paper B's Eq. 6 does.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.dataset import MANIFEST_NAME, lesion_label_names, load_case, load_manifest
from scintiseg.io.importer import PSEUDO
from scintiseg.prepare.model_input import model_input
from scintiseg.prepare.resample import resample_map, resample_scan
from scintiseg.scan import Scan
from scintiseg.train.data import Sample
from scintiseg.train.synthetic import LESION_FOCUS, cut_window

@dataclass
class SiteView:
    """One view of one site scan, built for the model: ``image`` ``(C, H, W)``, ``target`` ``(1, H, W)``."""

    case_id: str
    patient_id: str
    view: str
    image: np.ndarray
    target: np.ndarray
    labelled: bool
    #: The target is a pseudo-label (the model's confident prediction), not a person's outline.
    pseudo: bool = False


@dataclass
class SiteScans:
    """A site's scans, built into whole-view model inputs at the model's pixel size (module docstring).

    Attributes:
        views: every view read, in file order.
        skipped: ``(path, reason)`` of every file that could not be read (listed, never raised).
        source: the folder read.
    """

    views: list[SiteView]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    source: str = ""

    @property
    def labelled_views(self) -> int:
        """Views with a person's outline (pseudo-labelled views not counted: :attr:`pseudo_views`)."""
        return sum(v.labelled and not v.pseudo for v in self.views)

    @property
    def pseudo_views(self) -> int:
        """Views whose target is a pseudo-label; trained with ``l_S`` like labelled views."""
        return sum(v.labelled and v.pseudo for v in self.views)

    @property
    def unlabelled_views(self) -> int:
        return sum(not v.labelled for v in self.views)


def scan_files(folder: Path) -> list[Path]:
    """Files under ``folder`` (sorted, recursive; hidden names and LabelMe ``.json`` files skipped)."""
    if folder.is_file():
        return [folder]
    files = []
    for here, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files += [Path(here) / n for n in sorted(names) if not n.startswith(".") and not n.lower().endswith(".json")]
    return files


def _masks_to_grid(masks: dict[str, np.ndarray], scan: Scan) -> dict[str, np.ndarray]:
    """Masks on the resampled scan's grid: carried by area, thresholded at one half (as the phantom's)."""
    return {view: (resample_map(np.asarray(mask, dtype=np.float32), scan.shape) >= 0.5
                   if mask.shape != scan.shape else np.asarray(mask, dtype=bool)) for view, mask in masks.items()}


def build_views(scan: Scan, masks: dict[str, np.ndarray] | None, case_id: str, *, pixel_mm: float,
                normalisation: str, pseudo: Collection[str] = ()) -> list[SiteView]:
    """Steps 1-2 of the module docstring for one scan: one :class:`SiteView` per view.

    Args:
        scan: the scan as read (any pixel size).
        masks: view -> lesion mask on the scan's grid of every annotated view; a view without one
            (or ``masks=None``) is unlabelled: its outline is unknown, not empty.
        case_id: a name for the samples.
        pixel_mm: the model's pixel size.
        normalisation: the model's intensity normalisation.
        pseudo: the views among ``masks`` whose mask is a pseudo-label.
    """
    resampled = resample_scan(scan, (pixel_mm, pixel_mm))
    grid_masks = _masks_to_grid(masks or {}, resampled)
    views = []
    for view in resampled.view_names:
        built = model_input(resampled, "ant", normalisation, view=view)
        labelled = view in grid_masks
        target = built.target({view: grid_masks[view]}) if labelled else np.zeros((1, *built.image.shape[-2:]), np.float32)
        views.append(SiteView(case_id, resampled.patient_id or case_id, view, built.image, target, labelled,
                              pseudo=labelled and view in pseudo))
    return views


def read_site(folder: str | Path, *, pixel_mm: float, normalisation: str, progress: bool = False) -> SiteScans:
    """The site's scans in ``folder`` built for a model of ``pixel_mm`` and ``normalisation``.

    A folder with a ``dataset.json`` is read as a data set (labelled cases labelled, views listed in
    ``meta["pseudo"]`` pseudo-labelled, the others unlabelled);
    any other folder is walked for files :func:`scintiseg.io.read_scan` reads, all unlabelled. A file it
    cannot read is skipped and listed.

    Raises:
        ScintisegError: the folder does not exist, or not one scan could be read from it.
    """
    folder = Path(folder)
    if not folder.exists():
        raise ScintisegError("no such file or folder", path=folder)
    site = SiteScans(views=[], source=str(folder))
    if (folder / MANIFEST_NAME).is_file():
        manifest = load_manifest(folder)
        cases, labels = manifest.cases, lesion_label_names(manifest)  # the manifest read once, not per case
        for case in tqdm(cases, desc="site scans", unit="case", disable=not progress, leave=False):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the data set's own check reports them
                    scan, masks = load_case(folder, case, labels=labels)
                pseudo = case.meta.get(PSEUDO, [])
                site.views += build_views(scan, masks, case.case_id, pixel_mm=pixel_mm, normalisation=normalisation,
                                          pseudo=pseudo if isinstance(pseudo, list) else [])
            except ScintisegError as exc:
                site.skipped.append((case.case_id, exc.problem))
    else:
        for path in tqdm(scan_files(folder), desc="site scans", unit="file", disable=not progress, leave=False):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # e.g. an assumed pixel spacing: the file is still usable
                    scan = read_scan(path)
                site.views += build_views(scan, None, path.stem, pixel_mm=pixel_mm, normalisation=normalisation)
            except ScintisegError as exc:
                site.skipped.append((str(path), exc.problem))
            except OSError as exc:
                site.skipped.append((str(path), f"cannot read ({exc.strerror or exc})"))
    if not site.views:
        raise ScintisegError("no scan could be read here (DICOM, 16-bit PNG/TIFF or a data set folder)", path=folder)
    return site


def site_windows(site: SiteScans, count: int, window_size: int, seed: int, epoch: int) -> tuple[list[Sample], list[bool]]:
    """``count`` windows of site views drawn uniformly with replacement, cut anew for ``epoch`` (deterministic).

    Returns the samples and their ``labelled`` flags.
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(epoch), 16]))
    samples, flags = [], []
    for k, index in enumerate(rng.integers(len(site.views), size=int(count))):
        view = site.views[int(index)]
        image, target = cut_window(view.image, view.target, window_size, rng,
                                   focus=LESION_FOCUS if view.labelled else 0.0)
        samples.append(Sample(f"site_{view.case_id}_{view.view}_{epoch}_{k}", view.patient_id, image, target))
        flags.append(view.labelled)
    return samples, flags
