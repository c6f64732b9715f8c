"""The skeleton's long axis: how far a patient lying at an angle on the table tilts it.

Why. The reading rules compare a call with spots placed by the skeleton's geometry: :mod:`.symmetry` with its mirror
image across the midline, :mod:`.spine_pattern` with the vertebrae above and below. Both took the axis for an image
column. A patient is not always laid straight: tilted by 6 degrees (the head a few centimetres to one side, the feet
to the other), a hip 100 mm from the midline has its mirror spot 21 mm higher or lower than its own row, outside the
10 mm window the mirror is read in, and symmetric pairs stay called; two vertebral levels away the neighbour lies
7 mm aside, at the edge of the spine rule's window. Measured (``benchmarks/bench_shift.py --columns default,tilted
--patients 60``: the default phantom, and the same patients turned 3-8 degrees to either side): the false positives
rose from 0.51 to 0.65 per view with the rules' old geometry (docs/robustness.md, "A patient lying at an angle").

So the axis is read from the learned map: a straight line, the least-squares fit of each row's middle (the median
column of the trunk's midline bones: thoracic and lumbar spine, sacrum, sternum) on the row, over the whole trunk.
Choices the rules leave open (all [E]):

* the whole trunk, not the rows near the call: a tilt turns the whole body, while a scoliosis bends the column
  locally and leaves the pelvis and the shoulders level. NM1's lumbar spine stands 10 columns right of its thoracic
  spine and sacrum; a line fitted over 300 mm about each row leaned up to 6.7 degrees there, the whole trunk's 0.8;
* each row counts once (its median column), so the wide sacrum and the sternum lying over the spine on an anterior
  view weigh no more than a thin vertebra;
* the skull and the cervical spine are left out: the head turns and tilts on the pillow apart from the trunk
  (the phantom's ``head_tilt_deg``, up to 15 degrees);
* no axis (slope 0: a column, the rules' old geometry) when the rows holding those bones span less than
  :data:`MIN_AXIS_SPAN_MM` (a crop), or when the fit leans more than :data:`MAX_TILT_DEG` (a map that named
  something else).
"""

from __future__ import annotations

import math

import numpy as np

from scintiseg.predict.regions import REGION_IDS

#: Fewest trunk midline-bone pixels in a row for its middle to count.
MIN_ROW_PX: int = 3
#: Fewest mm of rows holding the trunk's midline bones for a slope to mean anything.
MIN_AXIS_SPAN_MM: float = 100.0
#: Largest tilt (degrees from the image's columns) taken for an axis; a steeper fit is a map's error.
MAX_TILT_DEG: float = 20.0

_AXIS_IDS = np.array([REGION_IDS[name] for name in ("thoracic_spine", "lumbar_spine", "sacrum", "sternum")])


def axis_slope(region_labels: np.ndarray, pixel_mm: tuple[float, float]) -> float:
    """The skeleton's axis as columns per row (0: along the image's columns; module docstring)."""
    rr, cc = np.nonzero(np.isin(region_labels, _AXIS_IDS))  # row by row, each row's columns ascending
    rows, start, count = np.unique(rr, return_index=True, return_counts=True)
    held = count >= MIN_ROW_PX
    rows, start, count = rows[held], start[held], count[held]
    if rows.size < 2 or (rows[-1] - rows[0]) * pixel_mm[0] < MIN_AXIS_SPAN_MM:
        return 0.0
    middles = (cc[start + (count - 1) // 2] + cc[start + count // 2]) / 2.0  # each row's median column
    centred = rows - rows.mean()
    slope = float(np.dot(centred, middles - middles.mean()) / np.dot(centred, centred))
    tilt = math.degrees(math.atan(slope * pixel_mm[1] / pixel_mm[0]))
    return slope if abs(tilt) <= MAX_TILT_DEG else 0.0


def reflect(row: float, col: float, midline: float, slope: float, pixel_mm: tuple[float, float]) -> tuple[float, float]:
    """The point ``(row, col)`` mirrored across the line through ``(row, midline)`` that runs ``slope`` columns per
    row, in mm (so a pixel that is not square mirrors true): ``(row, 2 * midline - col)`` when the slope is 0."""
    direction = np.array([pixel_mm[0], slope * pixel_mm[1]])
    direction /= np.linalg.norm(direction)
    offset = np.array([0.0, (col - midline) * pixel_mm[1]])
    along = float(np.dot(offset, direction)) * direction
    mirrored = 2.0 * along - offset
    return row + mirrored[0] / pixel_mm[0], midline + mirrored[1] / pixel_mm[1]


def distance_from_axis(col: float, midline: float, slope: float, pixel_mm: tuple[float, float]) -> float:
    """The distance (mm) of a point ``col`` on the row of ``midline`` from the axis through it, square to the axis."""
    tilt = math.atan(slope * pixel_mm[1] / pixel_mm[0])
    return abs(col - midline) * pixel_mm[1] * math.cos(tilt)
