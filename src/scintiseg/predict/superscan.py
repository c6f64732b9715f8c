"""The superscan pattern: the axial skeleton much brighter than the lower legs.

Why. A superscan is "diffusely increased skeletal uptake with absent or faint urinary tract and soft-tissue
activity" (physics.md: "absent kidneys + diffuse high bone uptake = superscan"; Soloway grade 4). In metastatic
disease (most often prostate cancer: up to a fifth of advanced cohorts; 1-3 % of mixed cancer cohorts) the tracer
goes to the axial skeleton and the proximal long bones, so the scan looks *good*, with crisp bones, and a reader or a
lesion detector that looks for foci brighter than the bone around them finds few: the disease is the bone. A BSI
summed from outlined lesions then understates it most where it is largest. So each whole-body view is read for the
pattern with the learned skeleton map: the median counts of its axial bones (thoracic and lumbar spine, sacrum,
pelvis, ribs) over the median counts of its lower legs (tibiae and fibulae), which a metastatic superscan spares
(the phantom's superscan raises every bone but the distal limbs: :func:`scintiseg.phantom.lesions.apply_superscan`).
The scan is flagged ``superscan_pattern`` when that ratio reaches :data:`AXIAL_TO_DISTAL_CUT` (POST decides where
the scan has it: the spine and pelvis lie nearer the posterior camera, so the ratio separates better there), and
its Soloway grade is then 4 (report.json, HTML). The ratio is reported per view (``views.V.axial_to_distal``).

Choices the pattern leaves open (all [E]):

* counts smoothed by a Gaussian of sigma 1 pixel (noise: at a BS-80K-like count level a lower leg holds 2-4
  counts per pixel, so the median of raw counts moves in whole counts); medians, so a few hot lesions or a hot
  joint move neither side;
* axial bones: the learned map's thoracic spine, lumbar spine, sacrum, pelvis and ribs (not the skull, which a
  metabolic superscan raises as well, nor the cervical spine, small and often partly out of the field);
  distal: ``tibia_fibula_left`` and ``tibia_fibula_right``, at least :data:`MIN_DISTAL_MM2` of them (a field cut
  at the knees is not judged: the knee joints alone would stand for the legs);
* the cuts, from scintiseg's phantom and the independently built one (``benchmarks/bench_superscan.py``, docs/
  predict.md "The superscan pattern"): on POST, normal and grade-3 patients stand at 1.24-1.59 (default profile),
  1.14-2.01 (shifted), 1.26-1.71 (independent phantom), superscans at 1.72-2.92 (default), 1.84-3.55
  (shifted); :data:`AXIAL_TO_DISTAL_CUT` POST 2.0 is above every normal but two shifted ones. ANT separates less
  (normals up to 1.32 / 1.30 / 1.39, superscans from 1.09) and NM1's ANT, a real normal scan, stands at 1.36, so
  ANT's cut 1.8 flags only the clearest ANT-only scans;
* a single view of unknown side (``VIEW``) is read at the higher of the two cuts;
* read on the learned map only (:mod:`.region_model`): the proportional atlas's boxes (``--regions atlas``) hold soft
  tissue beside the bones, and NM1 read through them stood at 6.9 (the learned map: 1.36);
* a view without named bones (a crop, a spot view) has no ratio, nor one whose ratio exceeds :data:`MAX_RATIO` (lower
  legs named where the image holds next to no counts); a scan with no view measured is not flagged.

Limits. A metabolic superscan (hyperparathyroidism, renal osteodystrophy) raises the limbs too and is not
flagged; renal failure (faint kidneys, normal bone) is not one. The kidneys are not read: their windows beside the
lumbar spine held too little soft tissue (ribs over it) on a quarter of the phantoms' posterior views, and where
measured they added no specificity (docs).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy import ndimage as ndi

from scintiseg.predict.regions import REGION_IDS, SkeletonRegions

#: Regions whose median counts stand for the axial skeleton.
AXIAL_REGIONS: tuple[str, ...] = ("thoracic_spine", "lumbar_spine", "sacrum", "pelvis", "ribs_left", "ribs_right")
#: Regions whose median counts stand for the distal limbs (the lower legs).
DISTAL_REGIONS: tuple[str, ...] = ("tibia_fibula_left", "tibia_fibula_right")
#: Fewest mm^2 of lower leg (learned map) for a view to be read.
MIN_DISTAL_MM2: float = 1000.0
#: Fewest mm^2 of axial bone for a view to be read.
MIN_AXIAL_MM2: float = 5000.0
#: A larger ratio is no skeleton's (lower legs named where the image holds none: a blanked or cut-off field).
MAX_RATIO: float = 20.0
#: Axial-to-distal ratio from which a view shows the superscan pattern; POST decides where the scan has it.
AXIAL_TO_DISTAL_CUT: dict[str, float] = {"POST": 2.0, "ANT": 1.8}
#: The scan-level QC flag.
SUPERSCAN_FLAG: str = "superscan_pattern"

_AXIAL_IDS = np.array([REGION_IDS[name] for name in AXIAL_REGIONS])
_DISTAL_IDS = np.array([REGION_IDS[name] for name in DISTAL_REGIONS])


def axial_to_distal(counts: np.ndarray, regions: SkeletonRegions, pixel_mm: tuple[float, float]) -> float:
    """The median counts of the view's axial bones over those of its lower legs (module docstring); NaN for a view
    without named bones, with too little of either, or whose lower legs hold (next to) no counts (a ratio above
    :data:`MAX_RATIO`)."""
    if not regions.named:
        return float("nan")
    labels = np.asarray(regions.labels)
    axial, distal = np.isin(labels, _AXIAL_IDS), np.isin(labels, _DISTAL_IDS)
    pixel_mm2 = float(pixel_mm[0]) * float(pixel_mm[1])
    if axial.sum() * pixel_mm2 < MIN_AXIAL_MM2 or distal.sum() * pixel_mm2 < MIN_DISTAL_MM2:
        return float("nan")
    smooth = ndi.gaussian_filter(np.asarray(counts, dtype=np.float64), 1.0)
    above, below = float(np.median(smooth[axial])), float(np.median(smooth[distal]))
    return above / below if below > 0 and above <= MAX_RATIO * below else float("nan")


def deciding_view(ratios: Mapping[str, float]) -> str | None:
    """The view whose ratio decides: POST where measured, else ANT, else any other measured view (a single image
    of unknown side, ``VIEW``), else None."""
    measured = [view for view, ratio in ratios.items() if math.isfinite(ratio)]
    for view in ("POST", "ANT", *sorted(measured)):
        if view in measured:
            return view
    return None


def view_cut(view: str) -> float:
    """The cut of ``view``: its :data:`AXIAL_TO_DISTAL_CUT`; for a view of unknown side the higher of the two."""
    return AXIAL_TO_DISTAL_CUT.get(view, max(AXIAL_TO_DISTAL_CUT.values()))


def superscan_pattern(ratios: Mapping[str, float]) -> bool:
    """Whether the scan shows the superscan pattern: the deciding view's ratio (:func:`deciding_view`) reaches its
    cut (:func:`view_cut`); False when no view was measured."""
    view = deciding_view(ratios)
    return view is not None and ratios[view] >= view_cut(view)
