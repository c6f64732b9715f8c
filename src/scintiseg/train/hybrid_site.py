"""A site's *normal* scans as labelled training windows: hybrid images with lesions inserted anew each epoch.

Site adaptation (:mod:`scintiseg.train.adapt`) with unlabelled scans teaches a model only what a site's images
look like (paper B's Chan-Vese term); it cannot teach what on them is *not* a lesion. A department can say
which scans are normal: those its report called free of metastases. Such a scan has a known truth, an empty
mask, so it is a supervised negative: the site's own normal variants (degenerative joints, a hot sternoclavicular
joint, the bladder, an injection site, its camera's noise and blur) become background to learn. And it is the
real background of the standard way to get lesion truth on real anatomy, **hybrid images**
(``../shared/reference/realdata.md``; :mod:`scintiseg.phantom.hybrid`): the real counts thinned binomially to a
lower level, synthetic lesions added as Poisson excess blurred by the camera's PSF, their extents the mask. A
model adapted on them sees lesions on the site's real bone, not only on the phantom's.

**Windows** (:func:`hybrid_windows`). Each epoch, cases are drawn until the epoch's share of windows is filled;
a case is one normal scan (uniformly, with replacement), a count level log-uniform in
:data:`COUNT_FRACTIONS` (the source's counts down to a quarter: a site's shorter or lower-dose scans), and,
with probability :data:`NEGATIVE_SHARE`, no lesion (the thinned normal scan itself, a negative); otherwise
:class:`~scintiseg.phantom.hybrid.HybridConfig`'s lesions (1-3, contrast 1.2-8, 5-40 mm), visible by the
phantom's Rose criterion. **Where** (session 71): with the scan's skeleton-region maps (``regions``, the learned
region network's, which ``scintiseg adapt`` hands over), each region gets its share of metastases
(:func:`scintiseg.phantom.sites.region_shares`: spine, pelvis and ribs most; a femur's or humerus's at its proximal
end since session 72, :func:`scintiseg.phantom.hybrid.proximal_part`) and the scan counts as known normal, so
its hot spots on named bones (a hot sternum, sacroiliac joints, a degenerative vertebra) take lesions too
(:func:`scintiseg.phantom.hybrid.prepare_source`); the bladder, hot spots off the bones and anything on a bone ten
times hotter than the view's named bone (an injection site or urine seen over it) stay free. Without the maps (a
caller that has no region network, or ``scintiseg adapt --placement uniform``) lesions fall uniformly on the skeleton
away from every hot spot, as before session 71: on the second independent phantom's normal scans that put 4 % of them
on the thoracic and lumbar spine, and the model adapted on them found 30 % fewer of that site's metastases, against
20 % fewer placed by site (docs/own-data.md, "Where the inserted lesions go"). Every view of the case is built as
prediction builds it (:func:`scintiseg.train.unlabelled.build_views`: resampled to the model's pixel size, POST
mirrored) and gives
:data:`WINDOWS_PER_VIEW` windows, half of them centred near a lesion as the phantom's. All hybrid windows are
labelled (``l_S``), negatives included. Seeds: ``(seed, epoch)``, so a resumed run makes the same cases.
[Choices: a quarter negatives, as ``benchmarks/make_site_hybrids.py``; new lesions every epoch, so a handful
of normal scans yields many different cases; the count range of ``bench_shift.py``'s two levels.]

**Which epoch** (:func:`split_normals`, :func:`validation_windows`). With at least
:data:`MIN_PATIENTS_TO_HOLD_OUT` patients, a fifth of them (:data:`HELD_OUT_SHARE`, at least one; drawn with the
run's seed) is held out of training, and the adaptation's validation windows are the phantom ones plus as many
hybrid windows of the held-out scans (fixed lesions): ``best.pt`` is then the epoch that did best on the site's own
patients it did not train on, with the phantom's truth beside them as a drift guard. With fewer patients every
scan trains, and the validation hybrids are made from the training scans with lesions of their own (fixed, never
trained on; the backgrounds are seen ones, so this measures the fit to the site, not its generalisation)
[choice: without them ``best.pt`` was chosen on the phantom alone and was the first epoch in every run measured,
docs/own-data.md].

**What it assumes.** The scans are normal. A metastasis in a scan given as normal is taught as background, so a
department should pass scans whose report (or a second reader) found no metastasis; a degenerative or traumatic
hot spot is fine, and is what the scans are for. Integer counts as acquired (an 8-bit export or a
rescaled image cannot be thinned; such a file is skipped and listed).

Example::

    normals = read_normals("data/site_normals", pixel_mm=2.26, normalisation="robust")
    samples = hybrid_windows(normals, 64, window_size=256, seed=0, epoch=3)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np
from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.dataset import MANIFEST_NAME, TURNED_KEY, Case, load_case, load_manifest
from scintiseg.phantom.hybrid import HybridSource, make_hybrid_case, prepare_source
from scintiseg.scan import Scan
from scintiseg.train.data import Sample
from scintiseg.train.synthetic import LESION_FOCUS, cut_window
from scintiseg.train.unlabelled import build_views, scan_files

#: The skeleton-region maps of a scan as read (view -> ids of ``phantom.regions.REGION_NAMES`` on its grid), handed
#: over by the command (training does not import prediction): :func:`scintiseg.predict.pipeline.region_labeller`.
Regions = Callable[[Scan], Mapping[str, np.ndarray]]
#: Count level of a hybrid case: the kept fraction of the normal scan's counts, log-uniform in this range.
COUNT_FRACTIONS: tuple[float, float] = (0.25, 1.0)
#: Share of cases that are the thinned normal scan with no lesion (negatives).
NEGATIVE_SHARE: float = 0.25
#: Windows cut from each view of a case.
WINDOWS_PER_VIEW: int = 2
#: Share of the normal scans' patients held out to choose the adapted epoch on, when there are at least
#: :data:`MIN_PATIENTS_TO_HOLD_OUT` patients.
HELD_OUT_SHARE: float = 0.2
MIN_PATIENTS_TO_HOLD_OUT: int = 5
#: The "epoch" whose seeds make the held-out validation cases (fixed for the run; no training epoch reaches it).
VALIDATION_EPOCH: int = 10_000_000


@dataclass
class NormalScans:
    """A site's normal scans, prepared for lesion insertion, and what the windows are built for.

    Attributes:
        sources: ``(case id, prepared scan)`` per readable scan, in file order.
        pixel_mm: the model's pixel size.
        normalisation: the model's intensity normalisation.
        skipped: ``(path, reason)`` of every file that could not be used (listed, never raised).
        source: the folder read.
        turned: ``(path, what was done)`` of every scan read turned (:func:`read_normals`'s ``orient``).
        real: a data set's case read here is a real patient's scan (its manifest does not mark it ``synthetic``), as
            :class:`scintiseg.train.unlabelled.SiteScans` says it; False for a plain folder, whose files carry no such
            mark (session 63: before, an adaptation on a data set's real normal scans alone was recorded as trained
            on phantoms only).
        by_site: the inserted lesions are placed by metastatic site on each scan's region map (``regions`` given to
            :func:`read_normals`); False: uniformly on the estimated skeleton, away from every hot spot.
    """

    sources: list[tuple[str, HybridSource]]
    pixel_mm: float
    normalisation: str
    skipped: list[tuple[str, str]] = field(default_factory=list)
    source: str = ""
    turned: list[tuple[str, str]] = field(default_factory=list)
    real: bool = False
    by_site: bool = False

    @property
    def views(self) -> int:
        """Views over all normal scans."""
        return sum(len(hybrid.scan.views) for _, hybrid in self.sources)


def _scans(folder: Path, leave_out: frozenset[str] = frozenset()) -> list[tuple[str, str, Callable[[], Scan], bool]]:
    """``(name, case id, reader, real)`` of each scan in ``folder``: a data set's cases (``dataset.json``; a case with a
    lesion outline is refused, it is not normal; its patient is the data set's, ``real`` unless the manifest marks it
    ``synthetic``; the cases in ``leave_out`` passed over), else every file under it (case id: the file's stem; never
    said ``real``), read as prediction reads it (a page of two views split, a lying body stood, a view named by its
    file name)."""
    if not (folder / MANIFEST_NAME).is_file():
        return [(str(path), path.stem, partial(read_scan, path, split_views=True, view="name"), False)
                for path in scan_files(folder)]

    manifest = load_manifest(folder)
    labels = manifest.labels  # read once, not by load_case for every case

    def case_scan(case: Case) -> Scan:
        scan, masks = load_case(folder, case, labels=labels)
        if any(np.asarray(mask).any() for mask in masks.values()):
            raise ScintisegError("has a lesion outline: not a normal scan")
        # the data set's patient, not the file's PatientID (a PNG's is its stem, as is the DICOM an import writes):
        # split_normals keeps a patient's scans on one side (session 63: before, two scans of one patient imported
        # as N1_2023.png and N1_2024.png could fall on both sides of the validation split)
        return replace(scan, patient_id=case.patient_id) if case.patient_id else scan

    return [(case.case_id, case.case_id, partial(case_scan, case), not case.synthetic) for case in manifest.cases
            if case.case_id not in leave_out]


def read_normals(folder: str | Path, *, pixel_mm: float, normalisation: str, progress: bool = False,
                 orient: Callable[[Scan], tuple[Scan, str]] | None = None,
                 regions: Regions | None = None,
                 leave_out: Sequence[str] = ()) -> NormalScans:
    """The normal scans in ``folder`` (any file :func:`scintiseg.io.read_scan` reads), prepared for insertion.

    A data set folder (``dataset.json``) is read case by case, and a case with a lesion outline is refused; its cases
    in ``leave_out`` (the test split of its ``splits.json``, as ``scintiseg adapt`` passes it) are not read
    (session 63: before, a data set's test patients' normal scans trained). A
    file that cannot be read, an 8-bit image (an export: grey levels, not counts, so thinning it would not give
    the noise of a shorter scan), one whose counts cannot be thinned (not whole non-negative numbers), or one
    with no body to place a lesion on, is skipped and listed. With ``orient``
    (:func:`scintiseg.predict.pipeline.read_upright`), a scan stored head-down is read turned, as prediction reads it
    (listed in ``NormalScans.turned``), as is a data set's case that ``dataset import`` recorded head-down, which the
    data set reads upright. With ``regions`` (view -> skeleton-region map of the scan as read, on its grid:
    :func:`scintiseg.predict.pipeline.region_labeller`), lesions are placed by metastatic site and may sit on the
    scan's normal hot bone (module docstring).

    Raises:
        ScintisegError: the folder does not exist, or not one scan could be used.
    """
    folder = Path(folder)
    if not folder.exists():
        raise ScintisegError("no such file or folder", path=folder)
    normals = NormalScans([], float(pixel_mm), normalisation, source=str(folder), by_site=regions is not None)
    for name, case_id, read, real in tqdm(_scans(folder, frozenset(leave_out)), desc="normal scans", unit="file", disable=not progress,
                                          leave=False):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. an assumed pixel spacing: the file is still usable
                scan = read()
            if scan.metadata.get(TURNED_KEY):  # a data set's case recorded head-down at import, read upright
                normals.turned.append((name, str(scan.metadata[TURNED_KEY])))
            if orient is not None:
                scan, how = orient(scan)
                if how:
                    normals.turned.append((name, how))
            if any(np.asarray(image).dtype == np.uint8 for image in scan.views.values()):
                raise ScintisegError("an 8-bit image (an export?): inserted lesions need the counts as acquired")
            normals.sources.append((case_id, prepare_source(scan, regions=regions(scan) if regions else None,
                                                            known_normal=True)))
            normals.real = normals.real or real
        except ScintisegError as exc:
            normals.skipped.append((name, exc.problem))
        except OSError as exc:
            normals.skipped.append((name, f"cannot read ({exc.strerror or exc})"))
    if not normals.sources:
        raise ScintisegError("no normal scan could be used here (whole-body counts as acquired: DICOM or "
                             "16-bit PNG/TIFF)", path=folder)
    return normals


def hybrid_windows(normals: NormalScans, count: int, *, window_size: int, seed: int, epoch: int) -> list[Sample]:
    """``count`` labelled windows of hybrid cases made for ``epoch`` (module docstring; deterministic).

    Returns:
        The samples (targets: the inserted lesions' visible extents; empty for a negative case).
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(epoch), 17]))
    low, high = (math.log(f) for f in COUNT_FRACTIONS)
    samples: list[Sample] = []
    cases = 0
    while len(samples) < count:
        case_id, source = normals.sources[int(rng.integers(len(normals.sources)))]
        fraction = float(math.exp(rng.uniform(low, high)))
        case_seed = int(rng.integers(2**31 - 1))
        negative = bool(rng.random() < NEGATIVE_SHARE)
        try:
            case = make_hybrid_case(source, fraction, case_seed, negative=negative)
        except ScintisegError:  # no free skeleton left for a lesion: the scan serves as a negative
            case = make_hybrid_case(source, fraction, case_seed, negative=True)
        name = f"{case_id}_e{epoch}_c{cases}"
        cases += 1
        for view in build_views(case.scan, case.masks, name, pixel_mm=normals.pixel_mm,
                                normalisation=normals.normalisation):
            for k in range(WINDOWS_PER_VIEW):
                if len(samples) == count:
                    return samples
                image, target = cut_window(view.image, view.target, window_size, rng, focus=LESION_FOCUS)
                samples.append(Sample(f"hybrid_{name}_{view.view}_{k}", view.patient_id, image, target))
    return samples


def split_normals(normals: NormalScans, seed: int) -> tuple[NormalScans, NormalScans | None]:
    """The normal scans to train on and those held out to validate on (module docstring, "Which epoch").

    Scans are grouped by patient id (a data set's case's patient, :func:`read_normals`; a file's PatientID; the case
    id when a scan has none), so no patient is on both sides.

    Returns:
        ``(train, held_out)``; ``held_out`` is None under :data:`MIN_PATIENTS_TO_HOLD_OUT` patients.
    """
    patients = sorted({source.scan.patient_id or case for case, source in normals.sources})
    if len(patients) < MIN_PATIENTS_TO_HOLD_OUT:
        return normals, None
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 18]))
    held = {patients[i] for i in rng.permutation(len(patients))[: max(1, round(HELD_OUT_SHARE * len(patients)))]}
    is_held = [(source.scan.patient_id or case) in held for case, source in normals.sources]
    train = [item for item, out in zip(normals.sources, is_held) if not out]
    held_out = [item for item, out in zip(normals.sources, is_held) if out]
    return replace(normals, sources=train), replace(normals, sources=held_out, skipped=[])


def validation_windows(normals: NormalScans, count: int, *, window_size: int, seed: int) -> list[Sample]:
    """``count`` fixed hybrid windows of ``normals`` (the held-out scans, or the training ones with lesions no
    training epoch draws): the same for every epoch of a run."""
    return hybrid_windows(normals, count, window_size=window_size, seed=seed, epoch=VALIDATION_EPOCH)
