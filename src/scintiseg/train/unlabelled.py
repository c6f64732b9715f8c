"""A site's own scans as training windows for site adaptation (issue 16); the epoch mix with the phantom is in
:mod:`scintiseg.train.site_mix`.

Paper B (§2.4, Eqs. 6-7) trains with ``l = l_S(labelled) + alpha l_U(all)``: the Chan-Vese term ``l_U``
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
   (or a lesion box) for labelled ones (as the phantom windows are, :data:`~scintiseg.train.synthetic.LESION_FOCUS`).

**Read as prediction reads them.** A file of a plain folder is read as ``scintiseg predict`` reads it
(:func:`scintiseg.io.read_scan` with ``split_views=True, view="name"``: a page of ANT and POST side by side is
the two views, a body stored lying is stood up, a view named POST by its file or folder name is mirrored into
ANT's orientation), so the adapted model is taught on the views it will be asked about. With ``orient`` (the
region network's judgement, :func:`scintiseg.predict.pipeline.read_upright`, which ``scintiseg adapt`` passes in:
training code does not import prediction), a scan stored head-down is read with its rows reversed, its outlines
and boxes with it, and a lying body stood the wrong way is turned half a turn more; each is listed
(:attr:`SiteScans.turned`). Without it scans are read as stored. A data set's case that ``dataset import`` found
stored head-down (``meta["read_turned"]``) is read upright by the data set's reader whether or not ``orient`` is
given; boxes drawn on its file follow, and it is listed too. Boxes drawn on a file holding a body lying follow the
body as it was stood (the reader's ``metadata["stood"]``, or a data set's ``meta["stood"]`` written by ``dataset
import``), either way; boxes drawn on a page of two views side by side are cut with it onto the two views (the
reader's ``metadata["split_column"]``, or a data set's ``meta["split_at_column"]``; :func:`scintiseg.io.voc.split_boxes`).

**Hot-spot boxes** (``boxes``: Pascal VOC files, BS-80K's ``Abnormal`` / ``Normal``, :mod:`scintiseg.io.voc`).
A view without an outline whose file has a box annotation is labelled *by its boxes*: its target is
:data:`~scintiseg.losses.BOX_LESION` inside each lesion box, :data:`~scintiseg.losses.BOX_IGNORE` inside a box
marked difficult or of an unknown label, and background everywhere else, benign boxes included, so that
:func:`scintiseg.losses.box_loss` teaches "a lesion lies somewhere in here" and "nothing here" without
taking any outline as truth (``scintiseg annotations from-boxes`` instead outlines each box at its hot spot's
half maximum and teaches that outline). [Choice: outside every box is background, the assumption of every
box-supervised method and of ``from-boxes``: a reader who boxes hot spots boxes every lesion of the image.]
A file's annotation is found as ``scintiseg predict --boxes`` finds it (:func:`scintiseg.io.voc.annotation_of`:
its path, file name or stem; in a data set, each view's original file, then the case's image), and only for a
one-view file or a view whose own file it annotates (a VOC file names no view). One whose declared size is not
the view's is not used (listed in :attr:`SiteScans.box_notes`); an outline of the view always wins.

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
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.io import SPLIT_COLUMN, read_scan
from scintiseg.io.dataset import HEAD_DOWN, MANIFEST_NAME, STOOD_KEY, STOOD_TURNS, TURNED_KEY, load_case
from scintiseg.io.dataset import SPLIT_KEY, STORED_SHAPE_KEY, load_manifest
from scintiseg.io.importer import PSEUDO, VIEW_SOURCES
from scintiseg.io.patient_sides import MIRRORED_KEY
from scintiseg.io.not_scans import DATASET_MANIFEST, OS_LITTER, dataset_files, dicom_not_a_scan
from scintiseg.io.voc import VocAnnotation, VocBox, annotation_of, box_kind, box_slices, quarter_turned_boxes
from scintiseg.io.voc import columns_reversed_boxes, page_boxes, rows_reversed_boxes
from scintiseg.losses import BOX_IGNORE, BOX_LESION
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
    #: The target holds a reader's hot-spot boxes (module docstring, "Hot-spot boxes"), not an outline.
    boxed: bool = False


@dataclass
class SiteScans:
    """A site's scans, built into whole-view model inputs at the model's pixel size (module docstring).

    Attributes:
        views: every view read, in file order.
        skipped: ``(path, reason)`` of every file that could not be read (listed, never raised).
        source: the folder read.
        box_notes: ``(path, reason)`` of every box annotation found and not used (the scan stays in).
        turned: ``(path or case id, what was done)`` of every scan ``orient`` turned (module docstring).
        left_out: case ids of a data set not read because the caller held them out (its test split,
            :func:`scintiseg.train.adapt.held_out_cases`).
        real: a data set's case read here is a real patient's scan (its manifest does not mark it ``synthetic``);
            False for a plain folder, whose files carry no such mark (the adapted model's reports then name the
            folder, :mod:`scintiseg.predict.loader`).
    """

    views: list[SiteView]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    source: str = ""
    box_notes: list[tuple[str, str]] = field(default_factory=list)
    turned: list[tuple[str, str]] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    real: bool = False

    @property
    def labelled_views(self) -> int:
        """Views with a person's outline (pseudo-labelled and boxed views not counted)."""
        return sum(v.labelled and not v.pseudo and not v.boxed for v in self.views)

    @property
    def boxed_views(self) -> int:
        """Views labelled by a reader's hot-spot boxes (module docstring, "Hot-spot boxes")."""
        return sum(v.boxed for v in self.views)

    @property
    def pseudo_views(self) -> int:
        """Views whose target is a pseudo-label; trained with ``l_S`` like labelled views."""
        return sum(v.labelled and v.pseudo for v in self.views)

    @property
    def unlabelled_views(self) -> int:
        return sum(not v.labelled for v in self.views)


def scan_files(folder: Path) -> list[Path]:
    """Files under ``folder`` (sorted, recursive; hidden names, an operating system's litter (``Thumbs.db``), LabelMe
    ``.json`` and Pascal VOC ``.xml`` files skipped, and DICOM files that hold no planar scan: a DICOMDIR, an SR, a CT slice, SPECT; of a data set's folder
    found inside, its case images only: :mod:`scintiseg.io.not_scans`)."""
    if folder.is_file():
        return [folder]
    files = []
    for here, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        in_dataset = dataset_files(here) if DATASET_MANIFEST in names else None
        if in_dataset is not None:
            dirs[:] = []
            files += in_dataset[0]
            continue
        files += [Path(here) / n for n in sorted(names)
                  if not n.startswith(".") and n.lower() not in OS_LITTER and not n.lower().endswith((".json", ".xml"))]
    return [path for path in files if dicom_not_a_scan(path) is None]


def _masks_to_grid(masks: dict[str, np.ndarray], scan: Scan) -> dict[str, np.ndarray]:
    """Masks on the resampled scan's grid: carried by area, thresholded at one half (as the phantom's)."""
    return {view: (resample_map(np.asarray(mask, dtype=np.float32), scan.shape) >= 0.5
                   if mask.shape != scan.shape else np.asarray(mask, dtype=bool)) for view, mask in masks.items()}


def box_masks(boxes: Collection[VocBox], shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The lesion boxes' and the unknown boxes' pixels on a view of ``shape`` (module docstring, "Hot-spot
    boxes"); benign boxes are background and mark nothing. Boxes are clipped to the view."""
    lesion, unknown = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
    for box in boxes:
        kind = box_kind(box)
        if kind == "normal":
            continue
        (lesion if kind == "lesion" else unknown)[box_slices(box, shape)] = True
    return lesion, unknown & ~lesion


def build_views(scan: Scan, masks: dict[str, np.ndarray] | None, case_id: str, *, pixel_mm: float,
                normalisation: str, pseudo: Collection[str] = (),
                boxes: dict[str, Collection[VocBox]] | None = None) -> list[SiteView]:
    """Steps 1-2 of the module docstring for one scan: one :class:`SiteView` per view.

    Args:
        scan: the scan as read (any pixel size).
        masks: view -> lesion mask on the scan's grid of every annotated view; a view without one
            (or ``masks=None``) is unlabelled: its outline is unknown, not empty.
        case_id: a name for the samples.
        pixel_mm: the model's pixel size.
        normalisation: the model's intensity normalisation.
        pseudo: the views among ``masks`` whose mask is a pseudo-label.
        boxes: view -> a reader's hot-spot boxes on the scan's grid; a view in ``masks`` ignores its boxes.
    """
    resampled = resample_scan(scan, (pixel_mm, pixel_mm))
    grid_masks = _masks_to_grid(masks or {}, resampled)
    boxed = {view: box_masks(found, scan.view(view).shape) for view, found in (boxes or {}).items()
             if view not in grid_masks}
    views = []
    for view in resampled.view_names:
        built = model_input(resampled, "ant", normalisation, view=view)
        labelled = view in grid_masks
        target = built.target({view: grid_masks[view]}) if labelled else np.zeros((1, *built.image.shape[-2:]), np.float32)
        if view in boxed:
            lesion, unknown = (built.target(_masks_to_grid({view: m}, resampled))[0] > 0 for m in boxed[view])
            target[0][unknown] = BOX_IGNORE
            target[0][lesion] = BOX_LESION
        views.append(SiteView(case_id, resampled.patient_id or case_id, view, built.image, target,
                              labelled or view in boxed, pseudo=labelled and view in pseudo, boxed=view in boxed))
    return views


def _first_annotation(annotations: dict[str, VocAnnotation], files: Collection[str | Path]) -> VocAnnotation | None:
    """The annotation of the first of ``files`` that has one (:func:`scintiseg.io.voc.annotation_of`)."""
    return next((a for a in (annotation_of(annotations, f) for f in files) if a is not None), None)


def view_boxes(annotations: dict[str, VocAnnotation], scan: Scan, files: Collection[str | Path],
               per_view: dict | None = None, notes: list[tuple[str, str]] | None = None) -> dict[str, tuple[VocBox, ...]]:
    """view -> the boxes that label it (module docstring, "Hot-spot boxes").

    Args:
        annotations: the box annotations (:func:`scintiseg.io.voc.read_voc_folders`).
        scan: the scan as read.
        files: the scan's file(s), tried in order (a data set's case: its original file, then its image).
        per_view: view -> that view's own original file (a joined study's ``meta["view_sources"]``).
        notes: where an annotation found and not used is listed with the reason.
    """
    notes = [] if notes is None else notes
    candidates = {str(v): [f] for v, f in (per_view or {}).items() if v in scan.view_names and f}
    if len(scan.view_names) == 1:
        candidates.setdefault(scan.view_names[0], []).extend(files)
    elif not candidates and (whole := _first_annotation(annotations, files)) is not None:
        notes.append((str(whole.path), f"boxes for {Path(str(next(iter(files)))).name}, a file of two views "
                                       f"({' and '.join(scan.view_names)}): a box names no view, not used"))
    found = {}
    for view, tried in candidates.items():
        annotation = _first_annotation(annotations, tried)
        if annotation is None:
            continue
        shape = scan.view(view).shape
        if annotation.shape is not None and tuple(annotation.shape) != tuple(shape):
            notes.append((str(annotation.path), f"boxes for a {annotation.shape[0]}x{annotation.shape[1]} image, view "
                                                f"{view} is {shape[0]}x{shape[1]}: not used"))
            continue
        found[view] = annotation.boxes
    return found


#: What ``orient`` returns (:func:`scintiseg.predict.pipeline.read_upright`): the scan, and ``""`` (as stored),
#: :data:`ROWS_REVERSED` or another turn's name.
Orient = Callable[[Scan], tuple[Scan, str]]
#: ``orient``'s word for a scan read with its rows reversed (stored head-down): outlines and boxes follow.
ROWS_REVERSED = HEAD_DOWN


def _stood_boxes(boxes: dict[str, VocAnnotation], scan: Scan, files: list[str | Path], how: str,
                 notes: list[tuple[str, str]], per_view: dict | None = None) -> dict[str, tuple[VocBox, ...]]:
    """The boxes drawn on the lying file ``files`` names (``per_view``: each view's own file, a study's two files
    both stood), on the standing scan ``scan`` it was stood to by the turn ``how``
    (:data:`~scintiseg.io.dataset.STOOD_TURNS`: a data set's ``meta["stood"]``, the reader's ``metadata["stood"]``);
    boxes are looked for by those files only (a data set's image is standing)."""
    k = STOOD_TURNS[how]
    as_stored = scan.with_views({view: np.rot90(scan.view(view), -k) for view in scan.view_names})
    found = view_boxes(boxes, as_stored, files, per_view, notes)
    return {view: quarter_turned_boxes(found_boxes, as_stored.view(view).shape, k) for view, found_boxes in found.items()}


def _mirrored_boxes(found: dict[str, tuple[VocBox, ...]], scan: Scan, mirrored: object) -> dict[str, tuple[VocBox, ...]]:
    """``found`` (boxes drawn on the file as stored) on ``scan``, whose views ``mirrored`` lists were read mirrored
    back (their DICOM header said they were stored mirrored: :mod:`scintiseg.io.patient_sides`)."""
    views = mirrored if isinstance(mirrored, list) else []
    return {view: columns_reversed_boxes(boxes, scan.view(view).shape[1]) if view in views else boxes
            for view, boxes in found.items()}


def _page_boxes(boxes: dict[str, VocAnnotation], files: list[str | Path], cut: object, page: object, width: int,
                notes: list[tuple[str, str]]) -> dict[str, tuple[VocBox, ...]]:
    """The boxes drawn on a page of two views side by side (``files``: the page), on its views of ``width`` columns,
    as the page was cut at column ``cut`` (:func:`scintiseg.io.voc.split_boxes`); ``page``: its (rows, columns). A
    record that does not fit, or a declared size that is not the page's, leaves them unused (listed in ``notes``)."""
    annotation = _first_annotation(boxes, files)
    if annotation is None:
        return {}
    placed = page_boxes(annotation, cut, page, width)
    if isinstance(placed, str):
        notes.append((str(annotation.path), f"{placed}: not used"))
        return {}
    return placed


def _oriented(scan: Scan, masks: dict[str, np.ndarray] | None, boxes: dict[str, tuple[VocBox, ...]], name: str,
              orient: Orient | None, site: SiteScans):
    """``scan``, its masks and boxes as ``orient`` reads the scan (module docstring); a turn is listed in
    ``site.turned``, and boxes that cannot follow one are listed in ``site.box_notes`` and dropped."""
    if orient is None:
        return scan, masks, boxes
    upright, how = orient(scan)
    if not how:
        return scan, masks, boxes
    site.turned.append((name, how))
    if how == ROWS_REVERSED:
        masks = None if masks is None else {view: np.ascontiguousarray(np.asarray(m)[::-1]) for view, m in masks.items()}
        boxes = {view: rows_reversed_boxes(found, scan.view(view).shape[0]) for view, found in boxes.items()}
    elif boxes:
        site.box_notes.append((name, f"the scan was read turned ({how}): its boxes not used"))
        boxes = {}
    return upright, masks, boxes


def read_site(folder: str | Path, *, pixel_mm: float, normalisation: str, progress: bool = False,
              boxes: dict[str, VocAnnotation] | None = None, orient: Orient | None = None,
              leave_out: Collection[str] = ()) -> SiteScans:
    """The site's scans in ``folder`` built for a model of ``pixel_mm`` and ``normalisation``.

    A folder with a ``dataset.json`` is read as a data set (labelled cases labelled, views listed in
    ``meta["pseudo"]`` pseudo-labelled, the others unlabelled);
    any other folder is walked for files :func:`scintiseg.io.read_scan` reads, all unlabelled. A file it
    cannot read is skipped and listed. With ``boxes`` (:func:`scintiseg.io.voc.read_voc_folders`), a view
    without an outline whose file has a box annotation is labelled by its boxes; with ``orient``, scans stored
    head-down are read turned (module docstring). A data set's cases named in ``leave_out`` are not read at all
    (neither image nor outline; listed in :attr:`SiteScans.left_out`).

    Raises:
        ScintisegError: the folder does not exist, or not one scan could be read from it.
    """
    folder = Path(folder)
    if not folder.exists():
        raise ScintisegError("no such file or folder", path=folder)
    site = SiteScans(views=[], source=str(folder))
    if (folder / MANIFEST_NAME).is_file():
        manifest = load_manifest(folder)
        held_out = set(leave_out)
        site.left_out = [case.case_id for case in manifest.cases if case.case_id in held_out]
        cases = [case for case in manifest.cases if case.case_id not in held_out]
        labels = manifest.labels  # the manifest read once, not per case
        if manifest.cases and not cases:
            raise ScintisegError("every case of this data set is held out (its test split): nothing left to adapt on",
                                 path=folder)
        for case in tqdm(cases, desc="site scans", unit="case", disable=not progress, leave=False):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the data set's own check reports them
                    scan, masks = load_case(folder, case, labels=labels)
                pseudo = case.meta.get(PSEUDO, [])
                found = {}
                source = case.meta.get("source")
                per_view = case.meta.get(VIEW_SOURCES) if isinstance(case.meta.get(VIEW_SOURCES), dict) else None
                if boxes and case.meta.get(STOOD_KEY) in STOOD_TURNS and SPLIT_KEY not in case.meta:  # stood at import
                    found = _stood_boxes(boxes, scan, [str(source)] if source else [], case.meta[STOOD_KEY],
                                         site.box_notes, per_view)
                    found = _mirrored_boxes(found, scan, case.meta.get(MIRRORED_KEY))
                elif boxes and SPLIT_KEY in case.meta:  # a page split at import: the boxes drawn on it are cut with it
                    found = _page_boxes(boxes, [str(source)] if source else [], case.meta[SPLIT_KEY],
                                        case.meta.get(STORED_SHAPE_KEY), scan.shape[1], site.box_notes)
                elif boxes and case.meta.get(MIRRORED_KEY):  # mirrored back at import: a box drawn on the file
                    found = _mirrored_boxes(view_boxes(boxes, scan, [str(source)] if source else [], per_view,
                                                       site.box_notes), scan, case.meta[MIRRORED_KEY])
                    found = found or view_boxes(boxes, scan, [folder / case.image], None, site.box_notes)
                elif boxes:
                    found = view_boxes(boxes, scan, [*([str(source)] if source else []), folder / case.image],
                                       per_view, site.box_notes)
                if scan.metadata.get(TURNED_KEY) == HEAD_DOWN:  # the data set read it upright: the boxes follow
                    site.turned.append((case.case_id, ROWS_REVERSED))
                    found = {view: rows_reversed_boxes(found_boxes, scan.view(view).shape[0])
                             for view, found_boxes in found.items()}
                scan, masks, found = _oriented(scan, masks, found, case.case_id, orient, site)
                site.views += build_views(scan, masks, case.case_id, pixel_mm=pixel_mm, normalisation=normalisation,
                                          pseudo=pseudo if isinstance(pseudo, list) else [], boxes=found)
                site.real = site.real or not case.synthetic
            except ScintisegError as exc:
                site.skipped.append((case.case_id, exc.problem))
    else:
        for path in tqdm(scan_files(folder), desc="site scans", unit="file", disable=not progress, leave=False):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # e.g. an assumed pixel spacing: the file is still usable
                    scan = read_scan(path, split_views=True, view="name")  # as prediction reads it
                if boxes and scan.metadata.get(STOOD_KEY) in STOOD_TURNS:  # a lying body stood: the boxes follow
                    turns = len(site.turned)
                    scan, _, _ = _oriented(scan, None, {}, str(path), orient, site)  # (the other way: metadata says)
                    found = _stood_boxes(boxes, scan, [path], scan.metadata[STOOD_KEY], site.box_notes)
                    found = _mirrored_boxes(found, scan, scan.metadata.get(MIRRORED_KEY))
                    if site.turned[turns:] and site.turned[-1][1] == ROWS_REVERSED:
                        found = {view: rows_reversed_boxes(b, scan.view(view).shape[0]) for view, b in found.items()}
                else:
                    if boxes and SPLIT_COLUMN in scan.metadata:  # a page split by the reader: its boxes cut with it
                        found = _page_boxes(boxes, [path], scan.metadata[SPLIT_COLUMN],
                                            scan.metadata.get(STORED_SHAPE_KEY), scan.shape[1], site.box_notes)
                    else:
                        found = view_boxes(boxes, scan, [path], notes=site.box_notes) if boxes else {}
                        found = _mirrored_boxes(found, scan, scan.metadata.get(MIRRORED_KEY))
                    scan, _, found = _oriented(scan, None, found, str(path), orient, site)
                site.views += build_views(scan, None, path.stem, pixel_mm=pixel_mm, normalisation=normalisation,
                                          boxes=found)
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
