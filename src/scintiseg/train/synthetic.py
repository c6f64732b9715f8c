"""Training on phantom patients made on the fly: a refreshed pool of randomly framed, degraded windows.

Issue 13: a model trained on one fixed cohort of one phantom profile learned that phantom. Following
SynthSeg (Billot et al., Medical Image Analysis 2023), the training data here are *generated while the
network trains*, from a domain-randomised profile (``randomised``: anatomy, uptake, lesions, counts,
collimator all widened, :mod:`scintiseg.phantom.config`), and every view then goes through the
degradations of real archives (:func:`scintiseg.prepare.degrade.random_degradation`: another camera
matrix, region crops, 8-bit/JPEG export, flips), so the network can rely only on what is invariant: a
focal excess of uptake over the bone it sits on.

One training sample is made like this (:func:`patient_samples`), patient ``i`` of a run seeded ``s``
drawing everything from ``SeedSequence([s, i])``:

1. ``generate_patient`` makes the ANT and POST views with their lesion masks (the Rose rule);
2. each view is resampled to the model's pixel size (:mod:`scintiseg.prepare.resample`; counts kept,
   the mask carried by area and thresholded at one half) when the phantom's camera differs;
3. each view is degraded at random (matrix round trip, framing, export, flip);
4. the model input is built by :func:`scintiseg.prepare.model_input.model_input`, *the builder prediction
   uses*, on the whole framed view (so normalisation sees what a user's file holds), POST mirrored;
5. ``windows_per_view`` windows of ``window_size`` are cut from it (:func:`cut_window`): with probability
   :data:`LESION_FOCUS` centred near a random visible-lesion pixel (lesions cover under 1 % of a whole
   body, so uniform windows would rarely hold one; nnU-Net oversamples foreground for the same reason,
   a third of its patches), otherwise placed uniformly; sides shorter than the window are zero-padded.

**Region task** (``task="regions"``, issue 15: the skeleton-region network). The same patients, camera
and degradations, but the target is the phantom's region map (:data:`scintiseg.phantom.regions.REGION_NAMES`,
27 classes with background 0) instead of the lesion mask: it is resampled to the model's pixel size by
nearest neighbour, framed like the image, never flipped (a flip would swap the patient's sides, which the
labels name; real exports that are flipped must be un-flipped by their reader), mirrored with POST onto
ANT's orientation by the model-input builder (so the patient's right is always on the image left), and
the windows are placed uniformly (no lesion focus). Choice: a coarser pixel (4.52 mm, the recipe) is
enough to name a bone and gives the network the whole body's context in one window.

The pool (:class:`SyntheticPool`) holds the windows of ``pool_patients`` patients. Before each epoch
after the first, the oldest ``refresh`` share of them is replaced by new patients, which a worker
process has been generating while the previous epoch trained, so generation overlaps the optimiser
steps. The patients of epoch ``e`` are the indices ``[e R, e R + P)`` (``P`` patients, ``R`` replaced
per epoch): a pure function of the epoch, so a resumed run rebuilds exactly the pool it stopped with.
Validation windows come from their own patients (indices from :data:`VALIDATION_OFFSET`), fixed for
the run. Only single-view input (``input_mode="ant"``) is made: every view is one sample, which is what
lets one network read ANT, mirrored POST, or a one-view export.
"""

from __future__ import annotations

import math
import multiprocessing
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.losses import BOX_LESION
from scintiseg.phantom.config import PhantomConfig, profile
from scintiseg.phantom.patient import generate_patient
from scintiseg.prepare.degrade import random_degradation
from scintiseg.prepare.model_input import model_input
from scintiseg.prepare.resample import resample_counts, resample_labels, resample_map
from scintiseg.prepare.windows import window_at
from scintiseg.scan import Scan
from scintiseg.train.data import Sample, SegmentationDataset

#: Probability that a window is centred near a visible lesion (when the view has one).
LESION_FOCUS = 0.5
#: Patient indices of validation patients start here (training never reaches them).
VALIDATION_OFFSET = 10_000_000


@dataclass(frozen=True)
class SyntheticSettings:
    """What the on-the-fly generator makes (the synthetic fields of :class:`~scintiseg.train.config.TrainConfig`).

    Attributes:
        profile: phantom profile name (``randomised`` for domain randomisation).
        pixel_mm: the model's pixel size; views are resampled to it.
        window_size: side of the square training window.
        windows_per_view: windows cut from each view of each patient.
        normalisation: intensity normalisation of the model input.
        degrade: apply :func:`~scintiseg.prepare.degrade.random_degradation` to every view.
        seed: the run's seed.
        task: ``lesions`` (target: the lesion mask) or ``regions`` (target: the region map; module docstring).
        phantom: the phantom to draw from when not ``profile`` alone: the profile with
            :attr:`scintiseg.train.config.TrainConfig.synthetic_config` laid over it, read once by the training
            process, so that every generator process and the validation patients draw from the same phantom.
    """

    profile: str = "randomised"
    pixel_mm: float = 2.26
    window_size: int = 256
    windows_per_view: int = 2
    normalisation: str = "robust"
    degrade: bool = True
    seed: int = 0
    task: str = "lesions"
    phantom: PhantomConfig | None = None

    def phantom_config(self) -> PhantomConfig:
        return self.phantom if self.phantom is not None else profile(self.profile)


def _to_model_grid(image: np.ndarray, mask: np.ndarray, from_mm: tuple[float, float], pixel_mm: float):
    to_mm = (pixel_mm, pixel_mm)
    counts = resample_counts(image, from_mm, to_mm)
    if counts.shape == image.shape:
        return np.asarray(image, dtype=np.float32), np.asarray(mask, dtype=bool)
    return counts, resample_map(mask.astype(np.float32), counts.shape) >= 0.5


def cut_window(image: np.ndarray, target: np.ndarray, size: int, rng: np.random.Generator,
               focus: float = LESION_FOCUS) -> tuple[np.ndarray, np.ndarray]:
    """A ``size`` x ``size`` window of a ``(C, H, W)`` input and its ``(1, H, W)`` target (module docstring).

    A side shorter than ``size`` is zero-padded, the image placed at a random offset inside the window; the window
    is cut by :func:`scintiseg.prepare.windows.window_at`, as a data set's tiles are, as float32.
    """
    _, rows, cols = image.shape
    lesion = np.argwhere((target[0] > 0.5) | (target[0] == BOX_LESION))  # a lesion, or a box said to hold one
    centre = lesion[rng.integers(len(lesion))] if len(lesion) and rng.random() < focus else None

    def span(length: int, at: int | None) -> tuple[int, int]:
        """(source start, destination start) along one axis."""
        if length <= size:
            return 0, int(rng.integers(0, size - length + 1))
        if at is None:
            return int(rng.integers(0, length - size + 1)), 0
        jitter = int(rng.integers(-size // 3, size // 3 + 1))
        return int(np.clip(at - size // 2 + jitter, 0, length - size)), 0

    r0, dr = span(rows, None if centre is None else int(centre[0]))
    c0, dc = span(cols, None if centre is None else int(centre[1]))
    return (window_at(image, r0, c0, size, offset=(dr, dc), dtype=np.float32),
            window_at(target, r0, c0, size, offset=(dr, dc), dtype=np.float32))


def training_views(index: int, settings: SyntheticSettings,
                   config: PhantomConfig | None = None) -> list[tuple[Scan, np.ndarray, np.random.Generator]]:
    """Steps 1-3 for patient ``index``: per view, a one-view scan at the model's pixel size (degraded),
    its target on the view's grid (the lesion mask, or the region map for ``task="regions"``), and the
    view's random generator (which then places the windows); deterministic.

    The scan is what a user's file would be: :func:`patient_samples` builds the model input from it with
    the builder prediction uses, so a test can assert that training and prediction see the same numbers.
    """
    config = config or settings.phantom_config()
    sequence = np.random.SeedSequence([int(settings.seed), int(index)])
    patient_seed, *view_seeds = sequence.generate_state(3, dtype=np.uint32)
    patient = generate_patient(int(patient_seed), config, patient_id=f"SYN{index}")
    regions = settings.task == "regions"
    views = []
    for view, view_seed in zip(patient.scan.view_names, view_seeds):
        rng = np.random.default_rng(int(view_seed))
        image, mask = _to_model_grid(patient.scan.view(view), patient.masks[view], patient.scan.pixel_spacing,
                                     settings.pixel_mm)
        labels = resample_labels(patient.regions[view], image.shape) if regions else None
        if settings.degrade and regions:
            image, mask, _, labels = random_degradation(image, mask, rng, settings.pixel_mm, p_flip=0.0, labels=labels)
        elif settings.degrade:
            image, mask, _ = random_degradation(image, mask, rng, settings.pixel_mm)
        scan = Scan({view: np.asarray(image, dtype=np.float32)}, pixel_spacing=(settings.pixel_mm,) * 2,
                    patient_id=f"SYN{index}")
        target = np.asarray(labels, dtype=np.uint8) if regions else np.asarray(mask, dtype=bool)
        views.append((scan, target, rng))
    return views


def patient_samples(index: int, settings: SyntheticSettings, config: PhantomConfig | None = None) -> list[Sample]:
    """The training windows of patient ``index`` (module docstring, steps 1-5); deterministic.

    For ``task="regions"`` the target window holds region ids (as float32, cast back by the loss).
    """
    samples = []
    regions = settings.task == "regions"
    for scan, view_target, rng in training_views(index, settings, config):
        view = scan.view_names[0]
        built = model_input(scan, "ant", settings.normalisation, view=view)
        if regions:
            target = built.sources[view].to_input(view_target)[None].astype(np.float32)
        else:
            target = built.target({view: view_target})
        for k in range(settings.windows_per_view):
            window, window_target = cut_window(built.image, target, settings.window_size, rng,
                                               focus=0.0 if regions else LESION_FOCUS)
            samples.append(Sample(f"SYN{index}_{view}_{k}", f"SYN{index}", window, window_target))
    return samples


def _ignore_interrupt() -> None:
    """Generator processes leave Ctrl-C to the training process, which stops them (no second traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _make_patients(job: tuple[list[int], SyntheticSettings]) -> list[list[Sample]]:
    indices, settings = job
    config = settings.phantom_config()
    return [patient_samples(i, settings, config) for i in indices]


class SyntheticPool:
    """The refreshed pool of training windows (module docstring).

    Args:
        settings: what to generate.
        pool_patients: patients whose windows the pool holds (``P``).
        refresh: share of the pool replaced before each epoch after the first (``R = ceil(refresh P)``).
        workers: generator processes (0: generate in this process, between epochs).
        progress: a callable ``progress(done, total)`` while the first pool is made, or None.
    """

    def __init__(self, settings: SyntheticSettings, pool_patients: int, refresh: float, workers: int = 1,
                 progress=None) -> None:
        if pool_patients < 1:
            raise ScintisegError(f"pool_patients must be at least 1, got {pool_patients}")
        if not 0.0 <= refresh <= 1.0:
            raise ScintisegError(f"refresh must lie in [0, 1], got {refresh}")
        self.settings, self.size, self.workers = settings, int(pool_patients), int(workers)
        self.per_epoch = int(math.ceil(refresh * self.size))
        self._patients: dict[int, list[Sample]] = {}
        self._pending: tuple[int, list[tuple[list[int], Future]]] | None = None
        self._executor: ProcessPoolExecutor | None = None
        self._progress = progress

    def indices(self, epoch: int) -> range:
        """Patient indices in the pool at ``epoch``."""
        start = epoch * self.per_epoch
        return range(start, start + self.size)

    def _executor_or_none(self) -> ProcessPoolExecutor | None:
        if self.workers < 1:
            return None
        if self._executor is None:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            self._executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=context,
                                                 initializer=_ignore_interrupt)
        return self._executor

    def _generate(self, indices: list[int]) -> dict[int, list[Sample]]:
        executor = self._executor_or_none()
        made: dict[int, list[Sample]] = {}
        if executor is None:
            for n, i in enumerate(indices):
                made[i] = patient_samples(i, self.settings)
                if self._progress:
                    self._progress(n + 1, len(indices))
            return made
        chunks = [indices[k::self.workers] for k in range(self.workers)]
        for chunk, result in zip(chunks, executor.map(_make_patients, [(c, self.settings) for c in chunks])):
            made.update(zip(chunk, result))
        return made

    def _prefetch(self, epoch: int) -> None:
        """Start making the patients that enter the pool at ``epoch`` in the worker (no-op without one)."""
        executor = self._executor_or_none()
        new = [i for i in self.indices(epoch) if i not in self._patients]
        if executor is None or not new:
            return
        # One job per worker, so every generator process works on the next epoch (not only the first).
        chunks = [new[k::self.workers] for k in range(self.workers) if new[k::self.workers]]
        self._pending = (epoch, [(chunk, executor.submit(_make_patients, (chunk, self.settings))) for chunk in chunks])

    def dataset(self, epoch: int) -> SegmentationDataset:
        """The training windows of ``epoch``; starts generating those of ``epoch + 1`` in the background."""
        wanted = list(self.indices(epoch))
        if self._pending is not None:
            pending_epoch, jobs = self._pending
            self._pending = None
            for chunk, future in jobs:
                result = future.result()
                if pending_epoch == epoch:
                    self._patients.update(zip(chunk, result))
        missing = [i for i in wanted if i not in self._patients]
        if missing:
            self._patients.update(self._generate(missing))
        self._patients = {i: self._patients[i] for i in wanted}
        if self.per_epoch:
            self._prefetch(epoch + 1)
        samples = [s for i in wanted for s in self._patients[i]]
        return SegmentationDataset(samples)

    def close(self) -> None:
        """Stop the generator processes now. A worker in the middle of a job (the first pool, or the next
        epoch's patients) is terminated rather than waited for: after Ctrl-C the interpreter would otherwise
        join it at exit, and the run would stop only when its whole chunk of patients was made (minutes with a
        large pool). The patients it was making are not needed: a resumed run regenerates them by index."""
        if self._executor is not None:
            # CPython's ProcessPoolExecutor keeps its workers in ``_processes`` (no public handle to them).
            processes = list((getattr(self._executor, "_processes", None) or {}).values())
            self._executor.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                if process.is_alive():
                    process.terminate()
            self._executor = None


def validation_dataset(settings: SyntheticSettings, patients: int) -> SegmentationDataset:
    """Fixed validation windows of ``patients`` patients that training never sees."""
    if patients < 1:
        raise ScintisegError(f"val_patients must be at least 1, got {patients}")
    config = settings.phantom_config()
    samples = [s for i in range(patients) for s in patient_samples(VALIDATION_OFFSET + i, settings, config)]
    return SegmentationDataset(samples)
