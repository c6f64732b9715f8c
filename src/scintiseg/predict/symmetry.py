"""Calls in a paired bone that their mirror image across the skeleton's midline matches: a symmetric pattern.

Why. A reader reads a bone scan against its other side: uptake that is the same on the left and the right (both
hip joints, both ischial tuberosities, both shoulders, both knees, the costochondral junctions) is anatomy or
degenerative change, while a metastasis is rarely matched by one of the same height at the mirror spot. The shipped
lesion network calls such pairs: on a phantom built without reading scintiseg's (``benchmarks/independent_phantom.py``)
24 of its 139 false positives on 40 patients lay on the pelvis, most of them pairs at the ischial tuberosities of
a posterior view (looked at, session 30). So a call whose majority learned region is a bone of one side, the pelvis
or the sacrum, and which lies away from the midline, is compared with the same spot mirrored across the skeleton's
midline, and left out when its peak is not clearly higher than the mirror's (below :data:`SYMMETRY_RATIO` times):
the view counts them (``ViewPrediction.symmetric_calls``, report.json ``views.V.symmetric_calls``) and is flagged
``symmetric_<VIEW>``. Left out, not marked, as :mod:`.spine_pattern` leaves out the spine's: a call its other side
matches is what a reader reads as normal; the triage score, the network's largest probability, is unchanged.
Measured: docs/predict.md, "Calls matched by their other side".

Choices the reading rule leaves open (all [E]):

* the midline at the call's rows is the median column of the learned map's midline bones (spine, sacrum, sternum,
  skull) within :data:`MIDLINE_ROWS_MM` of the call's peak row, where at least :data:`MIN_MIDLINE_PX` such pixels
  lie; below the pelvis (no midline bone) the point half-way between the call's bone and its other-side twin (the
  median columns of ``femur_left`` and ``femur_right`` in those rows, say); else the body's midline. The skeleton's
  midline, not the body's, so a patient lying off-centre or with one arm away from the body is mirrored about the
  spine (NM1: the body's midline lies 9 columns off its spine);
* the mirror is taken across the skeleton's axis through that midline point, which leans as the patient lies
  (:func:`~.skeleton_axis.axis_slope`; a column when the patient lies straight): tilted by 6 degrees, a hip's mirror
  spot lies some 20 mm above or below its own row (session 36);
* a call within :data:`MIN_OFFSET_MM` of that axis is not judged (its mirror spot is itself);
* the call's peak is the maximum of the counts smoothed by a Gaussian of sigma 1 pixel (noise); the mirror's is
  the maximum of the same counts in a window :data:`WINDOW_HALF_MM` on each side of the mirrored peak (the two sides
  of a patient are never placed exactly alike), over the map's bone only, and not over the bladder's activity or
  within :data:`~.bladder.BESIDE_MM` of it (:func:`~.bladder.bladder_mask`), which projects over the pelvis near
  the midline and would hide a pelvic lesion beside it; other calls may lie in the window: pairs are compared with
  pairs, so both calls of a symmetric pair are left out;
* :data:`SYMMETRY_RATIO` 1.1, as :data:`~.spine_pattern.PATTERN_RATIO`: the two calls of a pair of one height
  stand at 1.0 give or take the noise;
* a view without named bones (a crop) is not judged; a call on the spine or sternum is never judged (the spine's
  calls have :mod:`.spine_pattern`).

Limit (stated on the report with the flag): metastases of one height at both mirror spots, a symmetric pattern of
disease, are left out together. Intensity does not tell them from paired anatomy: kept from 3 times normal bone
(session 43, measured, not adopted), such pairs came back on the phantom (5 lesion-views of 100 patients) and so did
NM1's sternoclavicular joint (3.6-3.9 times its bone) on one view in seven (docs/robustness.md, "Bilateral disease").
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from scintiseg.predict.bladder import bladder_mask, surroundings
from scintiseg.predict.regions import REGION_IDS, REGION_NAMES, SkeletonRegions
from scintiseg.predict.rule_calls import calls_left_out
from scintiseg.predict.skeleton_axis import axis_slope, distance_from_axis, reflect

#: A call whose peak is below this multiple of its mirror's is the symmetric pattern.
SYMMETRY_RATIO: float = 1.1
#: Half-size (mm) of the window about the mirrored peak in which the mirror's peak is read.
WINDOW_HALF_MM: float = 10.0
#: A call whose peak lies closer than this (mm) to the skeleton's midline is not judged.
MIN_OFFSET_MM: float = 15.0
#: Rows (mm) above and below the call's peak over which the skeleton's midline is read.
MIDLINE_ROWS_MM: float = 30.0
#: Fewest midline-bone pixels for the skeleton's midline to be read there (else the body's).
MIN_MIDLINE_PX: int = 5

_MIDLINE_IDS = np.array([REGION_IDS[name] for name in
                         ("skull", "cervical_spine", "thoracic_spine", "lumbar_spine", "sacrum", "sternum")])
#: Regions whose calls are judged: the bones of one side, and the pelvis and sacrum (the sacroiliac joints).
JUDGED_IDS: frozenset[int] = frozenset(
    {index for name, index in REGION_IDS.items() if name.endswith(("_left", "_right"))}
    | {REGION_IDS["pelvis"], REGION_IDS["sacrum"]}
)


def _twin(region: int) -> int | None:
    """The id of the other side's bone of ``region`` (``femur_left`` -> ``femur_right``), None for a midline one."""
    name = REGION_NAMES[region]
    for side, other in (("_left", "_right"), ("_right", "_left")):
        if name.endswith(side):
            return REGION_IDS[name[: -len(side)] + other]
    return None


def skeleton_midline(region_labels: np.ndarray, row: int, pixel_mm: tuple[float, float], fallback: float,
                     region: int | None = None) -> float:
    """The column of the skeleton's midline near ``row`` (module docstring): the median column of the midline bones
    within :data:`MIDLINE_ROWS_MM` of it; else half-way between ``region`` and its other-side twin there; else
    ``fallback`` (the body's midline)."""
    half = max(int(round(MIDLINE_ROWS_MM / pixel_mm[0])), 1)
    band = region_labels[max(row - half, 0):row + half + 1]
    cols = np.nonzero(np.isin(band, _MIDLINE_IDS))[1]
    if cols.size >= MIN_MIDLINE_PX:
        return float(np.median(cols))
    twin = None if region is None else _twin(region)
    if twin is not None:
        own, other = np.nonzero(band == region)[1], np.nonzero(band == twin)[1]
        if own.size >= MIN_MIDLINE_PX and other.size >= MIN_MIDLINE_PX:
            return float(np.median(own) + np.median(other)) / 2.0
    return float(fallback)


def mirror_ratio(smooth: np.ndarray, call: np.ndarray, regions: SkeletonRegions, pixel_mm: tuple[float, float],
                 excluded: np.ndarray | None = None, region: int | None = None, slope: float | None = None) -> float:
    """The call's peak (``smooth`` counts) over the largest bone counts in the window about its mirror spot; NaN when
    the call is too near the midline or the window holds no bone outside ``excluded`` (nothing to compare with).
    ``region``: the call's learned region, whose other-side twin gives the midline where no midline bone lies;
    ``slope``: the view's :func:`~.skeleton_axis.axis_slope` when the caller has it (None: read here)."""
    labels = np.asarray(regions.labels)
    rr, cc = np.nonzero(call)
    peak_at = int(np.argmax(smooth[rr, cc]))
    row, col = int(rr[peak_at]), int(cc[peak_at])
    midline = skeleton_midline(labels, row, pixel_mm, regions.midline, region)
    slope = axis_slope(labels, pixel_mm) if slope is None else slope
    if distance_from_axis(col, midline, slope, pixel_mm) < MIN_OFFSET_MM:
        return float("nan")
    mirror_row, mirror_col = reflect(row, col, midline, slope, pixel_mm)
    centre, mirror = int(round(mirror_row)), int(round(mirror_col))
    half_rows = max(int(round(WINDOW_HALF_MM / pixel_mm[0])), 1)
    half_cols = max(int(round(WINDOW_HALF_MM / pixel_mm[1])), 1)
    top, bottom = max(centre - half_rows, 0), min(centre + half_rows + 1, smooth.shape[0])
    left, right = max(mirror - half_cols, 0), min(mirror + half_cols + 1, smooth.shape[1])
    if top >= bottom or left >= right:
        return float("nan")
    inside = labels[top:bottom, left:right] > 0
    if excluded is not None:
        inside &= ~excluded[top:bottom, left:right]
    if not inside.any():
        return float("nan")
    mirror_peak = float(smooth[top:bottom, left:right][inside].max())
    return float(smooth[row, col] / mirror_peak) if mirror_peak > 0 else math.inf  # any unit: no absolute floor


def symmetric_calls(counts: np.ndarray, mask: np.ndarray, regions: SkeletonRegions,
                    pixel_mm: tuple[float, float], ratio: float = SYMMETRY_RATIO,
                    bladder_spot: Callable[[], np.ndarray | None] | None = None) -> np.ndarray:
    """The pixels of ``mask``'s components (8-connected) that their mirror image matches (module docstring).
    ``bladder_spot`` gives the view's bladder spot when the caller finds it anyway (:func:`~.bladder.bladder_mask`,
    found once per view); None: found here, when the first call is judged."""
    bladder: list[np.ndarray | None] = []  # found once, when the first call is judged, with the skeleton's axis
    find = bladder_spot or (lambda: bladder_mask(counts, regions, pixel_mm))
    slope: list[float] = []

    def to_mirror(smooth: np.ndarray, call: np.ndarray, region: int) -> float:
        if not bladder:
            bladder.append(surroundings(find(), pixel_mm))
            slope.append(axis_slope(np.asarray(regions.labels), pixel_mm))
        return mirror_ratio(smooth, call, regions, pixel_mm, bladder[0], region, slope[0])

    return calls_left_out(counts, mask, regions, JUDGED_IDS, to_mirror, ratio)
