"""Calls on the spine that are no hotter than the vertebrae above and below: the normal segmental pattern.

Why. A reader calls a vertebra when it is hotter than its neighbours; a column whose every level shows the same
spot (the vertebral bodies standing apart, the posterior elements near the camera on a posterior view) is normal,
however beaded it looks. The shipped lesion network calls such beads: on a phantom built without reading
scintiseg's (``benchmarks/independent_phantom.py``, session 29) 261 of its 331 false positives on 40 patients lay on
the posterior lumbar column, and on scintiseg's own phantom with the discs widened to 0.3 of a level its lumbar
calls rose from 9 to 51 (docs/robustness.md, "An independently built phantom"). So a call whose majority learned
region is the cervical, thoracic or lumbar spine is compared with the same spot one and two vertebral levels above
and below, and left out when its peak is not clearly higher than theirs (below :data:`PATTERN_RATIO` times): the
view counts them (``ViewPrediction.spine_pattern_calls``, report.json ``views.V.spine_pattern_calls``) and is flagged
``spine_pattern_<VIEW>``. Left out, not marked (unlike :mod:`.bladder` and :mod:`.distal_arm`): such a call is what a
reader reads as normal; the triage score, the network's largest probability, is unchanged.

Choices the reading rule leaves open (all [E]):

* a vertebral level is the segment's height on the learned map over its number of vertebrae (7 cervical, 12
  thoracic, 5 lumbar), the height the rows of its pieces (8-connected) holding :data:`PIECE_SHARE` of its pixels or
  more span (:func:`vertebral_level`), not the map's whole row extent of that region: the map names a few pixels of
  lumbar spine some 40-100 rows above the lumbar spine on most views of the independent phantom, and 8 pixels 90 rows
  above it on NM1 turned 4 degrees, which stretched the level and read the neighbours vertebrae too far. Against the
  level of the truth map (session 39, shipped network, seeds 0-39): the whole extent read the lumbar level at 1.08 /
  2.21 / 2.41 times it (10th / 50th / 90th percentile of 160 views; 115 over 1.3 times), the pieces at 1.05 / 1.09 /
  1.14 (none); on 60 default-phantom patients 18 of 120 views and none. Shares of 3 % and 10 % call the same;
* the call's peak and each neighbour are maxima of the counts smoothed by a Gaussian of sigma 1 pixel (noise);
  a neighbour is read in a window :data:`WINDOW_LEVEL_SHARE` of a level tall on each side of the row one or two
  levels away and :data:`WINDOW_HALF_WIDTH_MM` wide on each side of the peak's column, on the map's spine and
  sacrum only (the sacrum stands for the level below L5), each window moved along the skeleton's axis as the patient
  lies (:func:`~.skeleton_axis.axis_slope`; straight above and below when the patient lies straight; session 36). Not
  along the mapped column's own middle, which was tried: it follows a scoliosis too, but on NM1 turned 4 degrees it
  left out NM1's own lumbar focus (called on the straight scan) on 29 of 30 views, against 9 along the axis, and it
  cost a default-phantom lesion at the cut. The neighbours' windows may hold other calls: beads are compared with
  beads;
* the comparison is with the quieter side: the median of the neighbours above and that of those below, the lower
  of the two (two neighbours at least in all), so a hot structure on one side (the bladder below L5: NM1 read
  mirrored had its lumbar focus at 0.77 times a median of all four that held the bladder) or one involved
  neighbour does not hide a lesion; so too the last lumbar levels of a beaded column, whose quieter side reaches
  the sacrum, stay called;
* :data:`PATTERN_RATIO` 1.3, "not clearly hotter than its neighbours": beads of one height stand at 1.0 give or
  take the noise, so a cut at 1.0 would keep about half of them. Session 29 cut at 1.1, session 33 at 1.2 with the
  stretched levels; chosen again with the pieces' level (session 39) on the shipped network's spine calls with the
  rules off (peak over the quieter side): on 40 independent-phantom patients and their lesion-free twins the 262
  calls on no lesion stand at 0.93 / 1.03 / 1.17 (10th / 50th / 90th percentile), 18 of them reach 1.2 and 6 reach
  1.3, while the 27 on a lesion stand at 1.16 / 1.48 / 1.90 (21 and 18 kept); on its held-out seeds 1000-1039 21
  and 5 of 250 beads, 33 and 32 of 39 lesion calls; on 60 default-phantom patients 83 and 80 of 89 lesion calls,
  18 and 11 of 19 others. End to end the cut 1.3 with the pieces' level takes the independent phantom from 0.24 to
  0.21 false positives per view and its held-out seeds from 0.17 to 0.11, the 100 default patients from 0.31 to
  0.28, NM1's hybrids from 1.05 to 1.02, for one lesion-view per set (docs/robustness.md, "The spine rule's level
  from the map's pieces"); NM1's recurring lumbar focus stands 1.40 times its quieter side (either level) and stays
  called on 56 of 60 hybrid views;
* a call broad enough to cover much of a vertebra (:data:`BROAD_CALL_SHARE`, a quarter of a level squared, in mm:
  :func:`is_broad`) stays from :data:`BROAD_CALL_RATIO` 1.15 times its quieter side: a bead is a spot of the
  posterior elements, a reader calls a vertebra hotter over its body even by little, and a lesion spread over a
  whole vertebra stands lower at its peak than a focal one. Measured on the shipped network's spine calls with the
  rules off (session 40, scratch ``runs/s40/spinefeat.py``): the beads' calls cover 0.04 / 0.10 / 0.22 of a level
  squared (10th / 50th / 90th percentile, 245-255 lumbar calls on each half of the independent phantom), the lumbar
  lesion calls 0.14-0.20 / 0.26-0.30 / 0.45-0.49; of the 9 lesion calls the cut left out on its seeds 0-39, at
  1.06-1.28, 7 are broad and 5 of those reach 1.15 (seeds 1000-1039: 7 at 1.00-1.23, none both; 60
  default-phantom patients: 8, 3 both). Other reads of "hotter" were tried and separate nothing: the peak over the
  median of every level of the segment, and the call's mean over the same shape's mean one and two levels away. End
  to end (docs/robustness.md, "Broad calls on the spine"): the independent phantom's seeds 0-39 find 5 more
  lesion-views of 226 for 0.03 more false positives per view, its seeds 1000-1039 the same lesions for one more false
  positive; NM1's hybrids one more call in 120 views;
* a call left out whose neighbours one level above and one below are both kept as lesions (their windows touch
  them) is read again against the windows that touch none, the vertebrae two levels away (:func:`pattern_calls`'
  second pass): a vertebra between two involved ones is no bead, its quieter side being no normal vertebra. On NM1
  with three lumbar vertebrae in a row made 1.5 times as hot (session 40, docs/robustness.md "Several vertebrae in a
  row") the middle one, left out on 3 of 3 noise draws, is called; the independent phantom's seeds 0-39 get one false
  positive more (a thoracic bead between two calls); its seeds 1000-1039 and matrices of 2048 x 512 and 512 x
  128, the 100 default patients and NM1's hybrids not one call. Dropping every window that touches a lesion (one
  involved neighbour enough) also called L4 beside an involved L3 on NM1 but cost 2 and 3 false positives on the
  two independent sets for no lesion;
* the bladder is no vertebra: a call left out beside a kept one (the window one level away on that side touches it)
  whose other side reaches the bladder's activity or its surroundings (:func:`~.bladder.surroundings`, within 10 mm;
  a window one or two levels away touches them) is read again as well, against the windows touching no lesion, on
  the column's pixels outside the bladder's surroundings, one window being enough there; and the calls left out are
  read again until none changes (at most :data:`MAX_PASSES`), so a run of involved vertebrae down to the bladder is
  called from its kept end. On the anterior view the bladder projects over the sacrum one or two levels below L5, so
  the lower lumbar vertebrae of an involved run stood against involved vertebrae above and the urine below, both hot:
  on NM1 with runs of 1-5 lumbar vertebrae made 1.5-3 times as hot (session 41, ``benchmarks/bench_spine_runs.py``,
  docs/robustness.md "The bladder below an involved lumbar spine") 19 of 210 vertebrae were left out, then 1
  (none with the next item), with no other call more; the 100 default patients find 4 lumbar lesion-views more (79
  of 99) for no false positive. Not read so in the first reading, where it cost the independent phantom 5 lumbar
  false positives on each of its two seed sets for no lesion (an L5 bead whose quieter side became the top of the
  sacrum once the urine was left out);
  as a second reading it costs 2 on seeds 0-39 (one L5 bead under a bead kept as a lesion, on a patient and its
  lesion-free twin), 1 on the 2048 x 512 matrix, none on seeds 1000-1039, the 512 x 128 matrix or NM1's hybrids;
* in that second reading a side whose windows one and two levels away both touch lesions is read at the nearest
  vertebra beyond them that touches none and holds the mapped column, up to :data:`FARTHEST_LEVEL` levels away: a
  vertebra inside an involved run is compared with the run's normal neighbours. On NM1 the one lumbar vertebra left
  out above (L4 of a run from L2 to L5 at 3 times, its every neighbour involved or the urine) and T8 inside a run
  from T5 to T11 (its neighbours above kept, T10 below involved but missed by the network) are called, every other
  count the same (``bench_spine_runs.py``: 231 / 3 / 72 -> 234 / 0 / 72 vertebrae called / left out / missed); the
  100 default patients one lumbar lesion-view more (80 of 99), the independent phantom's spine calls the same on
  both seed sets and its 2048 x 512 matrix's end to end;
* a view without named bones (a crop) is not judged; a call off the spine is never judged.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import ndimage as ndi

from scintiseg.predict.bladder import bladder_mask, surroundings
from scintiseg.predict.regions import REGION_IDS, SkeletonRegions
from scintiseg.predict.rule_calls import calls_left_out
from scintiseg.predict.skeleton_axis import axis_slope

#: Vertebrae per segment of the learned map: a level is the segment's rows over this number.
SEGMENT_VERTEBRAE: dict[str, int] = {"cervical_spine": 7, "thoracic_spine": 12, "lumbar_spine": 5}
#: A piece of a segment on the learned map holding under this share of its pixels is no part of its height.
PIECE_SHARE: float = 0.05
#: Levels away at which the neighbours are read.
NEIGHBOUR_LEVELS: tuple[int, ...] = (-2, -1, 1, 2)
#: Half-height of a neighbour's window, as a share of a level.
WINDOW_LEVEL_SHARE: float = 0.35
#: Half-width (mm) of a neighbour's window about the peak's column.
WINDOW_HALF_WIDTH_MM: float = 7.0
#: A call whose peak is below this multiple of its quieter side's median is the normal pattern.
PATTERN_RATIO: float = 1.3
#: Fewest neighbours read for a call to be judged.
MIN_NEIGHBOURS: int = 2
#: A call of at least this share of a vertebral level squared (its area in mm over the level's height in mm,
#: squared) covers much of a vertebra: no bead.
BROAD_CALL_SHARE: float = 0.25
#: A broad call (:data:`BROAD_CALL_SHARE`) stays when its peak reaches this multiple of its quieter side.
BROAD_CALL_RATIO: float = 1.15
#: Farthest level (either side) read for a call read again whose neighbours one and two levels away on a side are
#: all involved: the nearest vertebra beyond them that is no lesion.
FARTHEST_LEVEL: int = 6
#: Most times the calls left out are read again against the neighbours that are no lesions (a lumbar run's length).
MAX_PASSES: int = 5

_SEGMENT_IDS: dict[int, int] = {REGION_IDS[name]: n for name, n in SEGMENT_VERTEBRAE.items()}
_COLUMN_IDS = np.array([*_SEGMENT_IDS, REGION_IDS["sacrum"]])


def segment_pieces(region_labels: np.ndarray, segment: int) -> np.ndarray:
    """The pixels of ``segment`` (a region id) on the learned map in its pieces (8-connected) of at least
    :data:`PIECE_SHARE` of its pixels: the segment without the stray specks of the map."""
    pieces, count = ndi.label(region_labels == segment, structure=np.ones((3, 3)))
    sizes = np.bincount(pieces.ravel(), minlength=count + 1)[1:]
    return np.isin(pieces, np.flatnonzero(sizes >= PIECE_SHARE * sizes.sum()) + 1)


def vertebral_level(region_labels: np.ndarray, segment: int) -> float:
    """Rows per vertebra of ``segment`` (a region id of :data:`SEGMENT_VERTEBRAE`) on the learned map: the rows its
    :func:`segment_pieces` span, over its number of vertebrae."""
    rows = np.flatnonzero(segment_pieces(region_labels, segment).any(axis=1))
    return (rows.max() - rows.min() + 1) / _SEGMENT_IDS[segment]


def is_broad(call: np.ndarray, region_labels: np.ndarray, segment: int, pixel_mm: tuple[float, float]) -> bool:
    """Whether ``call`` covers :data:`BROAD_CALL_SHARE` of a vertebral level of ``segment`` squared or more."""
    level_mm = vertebral_level(region_labels, segment) * pixel_mm[0]
    return bool(call.sum() * pixel_mm[0] * pixel_mm[1] >= BROAD_CALL_SHARE * level_mm ** 2)


def neighbour_ratio(smooth: np.ndarray, call: np.ndarray, region_labels: np.ndarray, segment: int,
                    pixel_mm: tuple[float, float], slope: float | None = None,
                    lesions: np.ndarray | None = None, excluded: np.ndarray | None = None) -> float:
    """The call's peak (``smooth`` counts) over the median of the same spot's maxima one and two levels of
    ``segment`` (a region id) above and below; NaN when fewer than :data:`MIN_NEIGHBOURS` windows hold spine.
    ``slope``: the view's :func:`~.skeleton_axis.axis_slope` when the caller has it (None: read here). ``lesions``:
    pixels of calls kept as lesions, for reading a call again (:func:`pattern_calls`' second pass): a call between
    two (the windows one level above and below touch them), or beside one (the window one level away on one side)
    with the bladder's surroundings ``excluded`` on the other side (a window one or two levels away touches them), is
    read against the windows that touch no lesion, on the spine and sacrum outside ``excluded`` (one window is enough
    beside the bladder), a side whose windows one and two levels away both touch lesions at the nearest window beyond
    them (up to :data:`FARTHEST_LEVEL` levels away) that holds some of that column and touches none; any other call
    gets NaN."""
    level = vertebral_level(region_labels, segment)
    rr, cc = np.nonzero(call)
    peak_at = int(np.argmax(smooth[rr, cc]))
    row, col = int(rr[peak_at]), int(cc[peak_at])
    half_rows = max(int(round(level * WINDOW_LEVEL_SHARE)), 1)
    half_cols = max(int(round(WINDOW_HALF_WIDTH_MM / pixel_mm[1])), 1)
    column = np.isin(region_labels, _COLUMN_IDS)
    slope = axis_slope(region_labels, pixel_mm) if slope is None else slope

    def window(k: int) -> tuple[slice, slice] | None:
        """The window ``k`` levels away (None: off the image)."""
        centre = int(round(row + k * level))
        across = int(round(col + slope * (centre - row)))  # along the skeleton's axis, as the patient lies
        top, bottom = max(centre - half_rows, 0), min(centre + half_rows + 1, smooth.shape[0])
        left, right = max(across - half_cols, 0), min(across + half_cols + 1, smooth.shape[1])
        return (slice(top, bottom), slice(left, right)) if top < bottom and left < right else None

    windows = {k: found for k in NEIGHBOUR_LEVELS if (found := window(k)) is not None}
    least = MIN_NEIGHBOURS
    if lesions is not None:
        involved = {k for k, found in windows.items() if lesions[found].any()}
        urine = {int(np.sign(k)) for k, found in windows.items() if excluded is not None and excluded[found].any()}
        beside_bladder = any(-side in urine for side in involved & {-1, 1})
        if not ({-1, 1} <= involved or beside_bladder):
            return float("nan")
        windows = {k: found for k, found in windows.items() if k not in involved}
        if excluded is not None:
            column &= ~excluded  # the urine over the sacrum is no vertebra
        for side in (-1, 1):  # a side whose neighbours are all involved: the nearest vertebra beyond them
            if any(np.sign(k) == side for k in windows):
                continue
            for k in range(max(NEIGHBOUR_LEVELS) + 1, FARTHEST_LEVEL + 1):
                found = window(side * k)
                if found is None:
                    break
                if column[found].any() and not lesions[found].any():
                    windows[side * k] = found
                    break
        least = 1 if beside_bladder else MIN_NEIGHBOURS
    neighbours: dict[int, list[float]] = {-1: [], 1: []}  # above, below
    for k, found in windows.items():
        inside = column[found]
        if inside.any():
            neighbours[int(np.sign(k))].append(float(smooth[found][inside].max()))
    if sum(map(len, neighbours.values())) < least:
        return float("nan")
    # The quieter side: a hot structure on one side only (the bladder below L5, a sacroiliac joint) is not the pattern.
    reference = min(float(np.median(side)) for side in neighbours.values() if side)
    return float(smooth[row, col] / reference) if reference > 0 else math.inf  # any unit: no absolute floor


def pattern_calls(counts: np.ndarray, mask: np.ndarray, regions: SkeletonRegions,
                  pixel_mm: tuple[float, float], ratio: float = PATTERN_RATIO,
                  bladder_spot: Callable[[], np.ndarray | None] | None = None) -> np.ndarray:
    """The pixels of ``mask``'s components (8-connected) that are the spine's normal pattern (module docstring).
    ``bladder_spot`` gives the view's bladder spot when the caller finds it anyway (:func:`~.bladder.bladder_mask`,
    found once per view); None: found here, when the first call is judged."""
    labels = np.asarray(regions.labels)
    find = bladder_spot or (lambda: bladder_mask(counts, regions, pixel_mm))
    slope: list[float] = []  # read once, when the first call is judged
    bladder: list[np.ndarray | None] = []  # the bladder's surroundings, found when a call is first read again

    def judged(lesions: np.ndarray | None):
        def to_neighbours(smooth: np.ndarray, call: np.ndarray, segment: int) -> float:
            if not slope:
                slope.append(axis_slope(labels, pixel_mm))
            if lesions is not None and not bladder:
                bladder.append(surroundings(find(), pixel_mm))
            value = neighbour_ratio(smooth, call, labels, segment, pixel_mm, slope[0], lesions,
                                    bladder[0] if lesions is not None else None)
            if lesions is not None and not np.isfinite(value):
                return 0.0  # too few neighbours left that are no lesions: as first judged
            if BROAD_CALL_RATIO <= value < ratio and is_broad(call, labels, segment, pixel_mm):
                return float("inf")  # a vertebra hotter over much of its body, if only a little: kept
            return value
        return to_neighbours

    left_out = calls_left_out(counts, mask, regions, _SEGMENT_IDS, judged(None), ratio)
    # Read again against the neighbours that are no lesions themselves (a vertebra between two involved ones, or beside
    # one with the bladder on its other side), until no call changes: a run of involved vertebrae is called from its
    # ends inwards or from the bladder upwards.
    for _ in range(MAX_PASSES):
        kept = mask & ~left_out
        if not (left_out.any() and kept.any()):
            break
        again = calls_left_out(counts, left_out, regions, _SEGMENT_IDS, judged(kept), ratio)
        if np.array_equal(again, left_out):
            break
        left_out = again
    return left_out
