"""The triage score's pixels: the network's probability outside the calls a reading rule left out.

Why. The triage score sorts a worklist (issue 15: "the chance that the scan holds a lesion"; docs/predict.md,
"Triage score"). Until session 43 it was the network's largest probability over the pixels it saw, so a scan whose
surest call was one the reading rules judge normal (the bladder's urine, the injection arm, a hot spot off the
skeleton, a call its other side matches, a vertebra no hotter than its neighbours) ranked as high as a scan with a
lesion: a lesion-free scan whose surest call was its urine or its injection site ranked with the scans whose report
lists a lesion. Now each view
sets those calls aside, with the pixels of the network's response around them, and its score is the largest
probability of what is left (:attr:`~.prediction.ViewPrediction.triage_score`); the network's own largest
probability stays in the report (``views.V.max_probability``).

Choices [E], measured (session 43, scratch ``runs/s43/triage.py``; docs/predict.md, "Triage score"):

* set aside with each left-out call is its **basin**, the pixels of probability at least :data:`BASIN_PROBABILITY`
  within :data:`BASIN_MM` of it and 8-connected to it there: a call is the component at the threshold
  (0.5), and the rim around it holds probabilities just under that, which would carry the call's rank on. Triage
  ROC AUC without a basin / with one down to 0.3 / 0.1 / 0.02 (the whole connected component, no distance limit, in
  the scratch that chose the level; the network's largest probability before: 100 default
  phantom patients 0.765 -> 0.802 / 0.802 / 0.806 / 0.805; the independent phantom's seeds 0-39 0.708 -> 0.713 /
  0.738 / 0.759 / 0.762, seeds 1000-1039 0.672 -> 0.748 / 0.729 / 0.738 / 0.741; NM1's 60 hybrids 0.820 -> 0.819
  in every column). The distance keeps a network that is unsure over a wide area from setting the view aside;
* a kept lesion's pixels are never set aside (its probability counts, however near a left-out call it lies);
* a view no rule judged (a crop without named bones, every rule off) keeps the network's largest probability.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

#: The probability down to which the network's response around a left-out call is set aside with it.
BASIN_PROBABILITY: float = 0.1
#: How far (mm) from a left-out call its basin reaches.
BASIN_MM: float = 10.0


def set_aside(probability: np.ndarray, left_out: np.ndarray, kept: np.ndarray | None = None,
              pixel_mm: float = 2.26, level: float = BASIN_PROBABILITY, reach_mm: float = BASIN_MM) -> np.ndarray:
    """The pixels the triage score leaves out (module docstring): ``left_out`` (the calls the reading rules left
    out) and the pixels of ``probability >= level`` connected to them within ``reach_mm`` of them (``pixel_mm`` a
    pixel's size), but no pixel of ``kept`` (the view's lesions). Worked in the calls' box grown by the reach."""
    left_out = np.asarray(left_out, dtype=bool)
    aside = left_out.copy()
    if not left_out.any():
        return aside
    reach = max(int(round(reach_mm / pixel_mm)), 1)
    rows, cols = np.flatnonzero(left_out.any(axis=1)), np.flatnonzero(left_out.any(axis=0))
    box = (slice(max(rows[0] - reach, 0), rows[-1] + reach + 1), slice(max(cols[0] - reach, 0), cols[-1] + reach + 1))
    seeds = left_out[box]
    near = ndi.binary_dilation(seeds, structure=np.ones((3, 3)), iterations=reach)
    components, _ = ndi.label((np.nan_to_num(probability[box], nan=0.0) >= level) & near, structure=np.ones((3, 3)))
    touched = np.unique(components[seeds])
    aside[box] |= np.isin(components, touched[touched > 0])
    return aside & ~np.asarray(kept, dtype=bool) if kept is not None else aside


def largest_probability(probability: np.ndarray, coverage: np.ndarray, aside: np.ndarray | None = None) -> float:
    """The largest ``probability`` over the ``coverage`` pixels not in ``aside`` (0 when none is left)."""
    keep = np.asarray(coverage, dtype=bool)
    if aside is not None:
        keep = keep & ~np.asarray(aside, dtype=bool)
    values = probability[keep]
    return float(np.nanmax(values)) if values.size and not np.isnan(values).all() else 0.0
