"""A whole-body data set's training scans degraded like real archives, drawn anew every epoch (session 54).

The ``--synthetic`` recipe degrades every phantom view it makes (:func:`scintiseg.prepare.degrade.random_degradation`:
another camera matrix, region crops, 8-bit/JPEG export, flips), so a model trained that way reads what archives
hold. A data set of whole-body scans (:mod:`scintiseg.train.data`, "Whole-body data sets") trains on its scans as
they were written: measured in session 53, a model trained from scratch on 160 phantom patients of a data set
found 68 of the 166 lesion boxes of 500 NM1 region crops where the shipped model (trained on degraded views) found
103 (docs/robustness.md). With ``degrade_data`` (``scintiseg train --data DS --degrade-data``) the training
scans go through the same degradations, as SynthSeg and nnU-Net augment, on the fly:

1. each training case is read once, resampled to the model's pixel size (:func:`scintiseg.train.data.resample_case`,
   as :func:`scintiseg.train.data.load_samples` reads it), and each view kept with its lesion mask;
2. before epoch ``e`` every view ``j`` is degraded with the generator of ``SeedSequence([seed, e, j])`` (a pure
   function of the epoch, so a resumed run trains on what it would have trained on), made a one-view scan at the
   model's pixel size, built into the model input by the builder prediction uses (POST mirrored), and cut into
   tiles plus one window on each lesion (:func:`scintiseg.train.data.cut_windows`), as the undegraded scans are.

Choices the recipe leaves open: validation stays on the undegraded scans' tiles, so ``val_dsc`` keeps measuring
the data set as written and can be compared with a run without ``degrade_data``; the draw is
:func:`~scintiseg.prepare.degrade.random_degradation`'s own mixture (half of the views keep the whole body, a
flip in half), so about half of each epoch still trains on whole views; only whole-body scans read one view per
input (input mode ``ant``) can be degraded this way (a crop is already framed; the fused modes need two aligned
views, which independent degradations of each view would misalign), and anything else is refused in one line.
The views are degraded in the training process between epochs (about 0.1 s a view on one core: about 20 s of each
5-minute epoch for 102 training patients). Off by default. Measured (docs/robustness.md, "A data set's training
scans degraded like archives" and "Two more seeds"): session 53's run with it finds 97 of those 166 boxes (68
without it) and more lesions at the humeri, sternum and pelvis on three seeds, at more false calls on real
backgrounds (NM1's hybrids 1.15-2.10 per view against 0.60 without it); the default phantom's Bone Scan Index r
0.895, 0.892 and 0.824 on the three seeds (shipped 0.856), so it does not reliably raise the correlation; on twice
the patients (230 training) 0.905 at the checkpoint validation picked, with NM1's bladder called (session 56).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import load_case, load_manifest
from scintiseg.prepare.degrade import random_degradation
from scintiseg.prepare.model_input import model_input
from scintiseg.scan import Scan, spans_whole_body
from scintiseg.train.data import (
    PERSON,
    PSEUDO_LABEL,
    UNKNOWN,
    Sample,
    SegmentationDataset,
    case_truth,
    cut_windows,
    resample_case,
)


@dataclass(frozen=True)
class TrainingView:
    """One view of a training case at the model's pixel size: its counts, its lesion mask and what its target is."""

    case_id: str
    patient_id: str
    view: str
    counts: np.ndarray
    mask: np.ndarray
    truth: str
    labelled: bool


def dataset_views(root: str | Path, case_ids: list[str], pixel_mm: float, *, input_mode: str = "ant",
                  keep: tuple[str, ...] = (PERSON, PSEUDO_LABEL),
                  labelled: set[str] | None = None, left_out: list[str] | None = None) -> list[TrainingView]:
    """Every view of the given cases of the data set at ``root``, resampled to ``pixel_mm`` (module docstring, step 1);
    only views whose truth is in ``keep``; ``labelled`` names the cases whose labels train (None: all; a view
    without an annotation never trains on its labels, as in :func:`scintiseg.train.loop.prepare_data`). ``left_out``,
    where given, gets ``"<case> <VIEW>"`` of each view left out for its truth (as
    :func:`scintiseg.train.data.load_samples` names them).

    Raises:
        ScintisegError: ``input_mode`` is not ``ant``, or a case is not a whole-body scan (module docstring).
    """
    if input_mode != "ant":
        raise ScintisegError(f"--degrade-data degrades each view on its own and needs input mode ant, not {input_mode}")
    manifest = load_manifest(root)
    views = []
    for case_id in case_ids:
        case = manifest.case(case_id)
        scan, masks = load_case(root, case, labels=manifest.labels)
        if not spans_whole_body(scan.shape[0], scan.pixel_spacing[0]):
            raise ScintisegError(f"--degrade-data degrades whole-body scans; case {case_id} is a partial view "
                                 f"({scan.shape[0]} rows of {scan.pixel_spacing[0]:g} mm)", path=root)
        scan, masks = resample_case(scan, masks, pixel_mm)
        for view in scan.view_names:
            truth = case_truth(case, (view,))
            if truth not in keep:
                if left_out is not None:
                    left_out.append(f"{case.case_id} {view}")
                continue
            mask = masks.get(view, np.zeros(scan.shape, bool))
            views.append(TrainingView(case.case_id, case.patient_id, view, np.asarray(scan.view(view), np.float32),
                                      mask.astype(bool), truth,
                                      (labelled is None or case.case_id in labelled) and truth != UNKNOWN))
    return views


def degraded_samples(view: TrainingView, rng: np.random.Generator, pixel_mm: float, normalisation: str,
                     window_size: int) -> list[Sample]:
    """``view`` degraded once with ``rng`` and cut into training windows (module docstring, step 2)."""
    image, mask, _ = random_degradation(view.counts, view.mask, rng, pixel_mm)
    scan = Scan({view.view: image}, pixel_spacing=(pixel_mm, pixel_mm), patient_id=view.patient_id)
    built = model_input(scan, "ant", normalisation, view=view.view)
    return [Sample(view.case_id, view.patient_id, np.ascontiguousarray(window), np.ascontiguousarray(target),
                   view.truth, whole_body=True)
            for window, target in cut_windows(built.image, built.target({view.view: mask}), window_size,
                                           around_lesions=True)]


class DegradedDataPool:
    """The training windows of a whole-body data set, its views degraded anew every epoch (module docstring).

    It has :class:`~scintiseg.train.synthetic.SyntheticPool`'s interface (``dataset(epoch)``, ``close()``), so the
    training loop runs it as it runs a synthetic pool.

    Args:
        views: the training views (:func:`dataset_views`).
        pixel_mm: the model's pixel size (the views are at it).
        normalisation: the model input's normalisation.
        window_size: side of the training windows.
        seed: the run's seed.
    """

    def __init__(self, views: list[TrainingView], pixel_mm: float, normalisation: str, window_size: int,
                 seed: int = 0) -> None:
        if not views:
            raise ScintisegError("no training views to degrade")
        self.views, self.pixel_mm, self.normalisation = views, float(pixel_mm), normalisation
        self.window_size, self.seed = int(window_size), int(seed)

    def dataset(self, epoch: int) -> SegmentationDataset:
        """The windows of every view degraded with the draws of ``epoch``, with each case's ``labelled`` flag."""
        samples, flags = [], []
        for j, view in enumerate(self.views):
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, int(epoch), j]))
            made = degraded_samples(view, rng, self.pixel_mm, self.normalisation, self.window_size)
            samples += made
            flags += [view.labelled] * len(made)
        return SegmentationDataset(samples, flags)

    def close(self) -> None:
        """Nothing to stop: the views are degraded in the training process."""
