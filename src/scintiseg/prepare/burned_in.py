"""Text and graphics burned into an 8-bit export (``ANT``, ``R`` / ``L`` markers, a grey-scale bar), found and
painted over before the networks read the view.

Why. Workstation exports and screen captures carry annotations drawn into the pixels: the view's name, side markers,
the radiopharmaceutical and time, a colour or grey bar. They are drawn at the brightest grey levels, so the lesion
network reads a letter or the top of a grey bar as a hot spot: NM1 exported with ``ANT``, ``R``, ``L``, a line of text
and a grey bar gave three such calls (the bar's top at probability 0.998, an ``L`` beside the thigh at 0.95; session
23), where the same export without them gives NM1's one lesion.

How (stated choices; only an 8-bit view is looked at: counts are never drawn on). A gamma camera's collimator blurs
every structure over several pixels, so a hot spot falls off gradually; a drawn stroke is a few pixels wide with
background on either side. A pixel is *steep* when it is bright (at least half the view's top grey level) and the
darkest pixel within 2 pixels of it is at most a quarter of it. A connected set of bright pixels is a drawing when it
is a line or a letter (no pixel of it more than :data:`THIN_HALF_WIDTH` pixels from its edge, or more than
:data:`MAX_STROKE_HALF_WIDTH` while it fills at most :data:`MAX_FILL` of its bounding box: a small hot spot is as
thin, but round), holds at least :data:`MIN_PIXELS` pixels, at least :data:`MIN_STEEP_SHARE` of its pixels are
steep, it is drawn white and flat-topped (its top at least :data:`MIN_WHITE`, :data:`MIN_FLAT_SHARE` of its pixels
within 10 % of that top: a small lesion of a low-count crop can be as steep and irregular, but its pixels spread over
many grey levels), and it lies on background (the 90th percentile of the pixels 2-4 pixels around it, other drawings
left out, at most :data:`RING_SHARE` of the top grey level); a compact hot spot, even
one clipped flat by the export, has most of its pixels away from the background, and a thin bone or a hand clipped
flat by a display window lies on soft tissue that the same window makes bright. A grey or colour bar is the other
drawing: a filled rectangle at most :data:`MAX_BAR_WIDTH` pixels wide and :data:`BAR_ASPECT` times as long, on
background, whose bright part is then followed along the bar down its ramp (while the bar stays brighter than what
lies beside it); no bone is a filled, axis-aligned rectangle. The drawing and a 1-pixel fringe (the
font's anti-aliasing) are painted with the view around them (a normalised Gaussian average of the pixels that are
not drawn, sigma 3 pixels). The prediction then reads the painted view, says so (QC flag ``burned_in_removed``) and
shows it in its pictures.

Measured (session 23; docs/predict.md "QC flags"): on NM1 with the annotations above, the calls on them go and its
lesion stays; no pixel is taken for a drawing in NM1's 16-bit counts or 8-bit exports (whole range or windowed), in
8-bit and JPEG exports (windowed 100-15 %) of phantom patients of six profiles, the 4.52 mm small camera among them,
nor in 500 BS-80K-like region crops of NM1 hybrids and 100 of
low-count phantoms, whose small lesions are as steep as letters (two were taken before the white, flat-top rule).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from scintiseg.io.images import paint_over

#: A line's largest distance from its edge (pixels): at least :data:`MIN_PIXELS` pixels this thin make a line, not
#: a blob (a blob of 12 pixels reaches 2).
THIN_HALF_WIDTH = 1.5
#: A letter's largest distance from its edge (pixels) when it fills at most :data:`MAX_FILL` of its bounding box
#: (letters of bolder fonts: ``L`` fills about 0.3 of its box, ``A`` 0.4, ``M`` 0.55; a round hot spot 0.75 and more).
MAX_STROKE_HALF_WIDTH = 3.5
MAX_FILL = 0.6
#: The fewest pixels of a drawing (a letter's stroke; a lone noisy pixel is not one).
MIN_PIXELS = 12
#: The least share of a drawing's pixels that are steep (module docstring).
MIN_STEEP_SHARE = 0.6
#: A bright pixel is at least this share of the view's top grey level.
BRIGHT_SHARE = 0.5
#: A steep pixel's darkest neighbour within 2 pixels is at most this share of it.
STEEP_SHARE = 0.25
#: Annotations are drawn white: a drawing's brightest pixel reaches this grey level.
MIN_WHITE = 250
#: A drawn stroke is flat-topped: at least :data:`MIN_FLAT_SHARE` of its pixels reach :data:`PLATEAU_SHARE` of its
#: brightest (anti-aliased letters 0.44-0.65, also after JPEG at quality 75; small noisy lesions of low-count region
#: crops 0.15-0.30).
PLATEAU_SHARE = 0.9
MIN_FLAT_SHARE = 0.4
#: A drawing lies on background: the 90th percentile of the pixels 2-4 pixels around it (other drawings left out) is
#: at most this share of the top grey level (a hand or rib clipped flat by a display window lies on soft tissue as
#: bright as that).
RING_SHARE = 0.2
#: A grey or colour bar: a filled rectangle (at least this share of its bounding box), at most
#: :data:`MAX_BAR_WIDTH` pixels wide, at least :data:`BAR_ASPECT` times as long and :data:`MIN_BAR_LENGTH` pixels.
MIN_BAR_FILL = 0.9
MAX_BAR_WIDTH = 16
BAR_ASPECT = 4
MIN_BAR_LENGTH = 24

__all__ = ["burned_in_mask", "without_burned_in"]


def burned_in_mask(view: np.ndarray) -> np.ndarray:
    """The pixels of text and graphics drawn into an 8-bit export (module docstring), with a 1-pixel fringe; all
    False for a view that is not 8-bit or holds none."""
    view = np.asarray(view)
    none = np.zeros(view.shape, dtype=bool)
    if view.dtype != np.uint8 or view.ndim != 2 or view.size == 0:
        return none
    values = view.astype(np.float32)
    top = float(values.max())
    if top <= 0:
        return none
    bright = values >= BRIGHT_SHARE * top
    steep = bright & (ndi.minimum_filter(values, size=5, mode="nearest") <= STEEP_SHARE * values)
    if not steep.any():
        return none
    labels, count = ndi.label(bright, structure=np.ones((3, 3), dtype=bool))
    index = np.arange(1, count + 1)
    sizes = ndi.sum_labels(np.ones_like(values), labels, index)
    steep_share = ndi.sum_labels(steep, labels, index) / np.maximum(sizes, 1)
    depth = np.asarray(ndi.maximum(ndi.distance_transform_edt(bright), labels, index))
    boxes = ndi.find_objects(labels)
    fill = sizes / np.array([(r.stop - r.start) * (c.stop - c.start) for r, c in boxes], dtype=np.float64)
    thin = (depth <= THIN_HALF_WIDTH) | ((depth <= MAX_STROKE_HALF_WIDTH) & (fill <= MAX_FILL))
    tops = np.asarray(ndi.maximum(values, labels, index))
    top_of = np.concatenate([[np.inf], tops])[labels]  # each bright pixel's component's top
    flat = ndi.sum_labels(values >= PLATEAU_SHARE * top_of, labels, index) / np.maximum(sizes, 1)
    white = tops >= MIN_WHITE
    letters = (sizes >= MIN_PIXELS) & (steep_share >= MIN_STEEP_SHARE) & thin & (flat >= MIN_FLAT_SHARE) & white
    sides = np.array([sorted((r.stop - r.start, c.stop - c.start)) for r, c in boxes]).reshape(-1, 2)
    bars = (fill >= MIN_BAR_FILL) & (sides[:, 0] <= MAX_BAR_WIDTH) & (sides[:, 1] >= BAR_ASPECT * sides[:, 0]) \
        & (sides[:, 1] >= MIN_BAR_LENGTH) & white
    candidates = index[letters | bars]
    square = np.ones((3, 3), dtype=bool)
    mask = none.copy()
    for label in candidates:
        rows, cols = boxes[label - 1]
        box = (slice(max(rows.start - 6, 0), rows.stop + 6), slice(max(cols.start - 6, 0), cols.stop + 6))
        stroke = labels[box] == label
        others = np.isin(labels[box], candidates) & ~stroke  # the next letter of a word is no background
        ring = ndi.binary_dilation(stroke, square, iterations=4) & ~ndi.binary_dilation(stroke | others, square)
        if not ring.any() or float(np.percentile(values[box][ring], 90)) > RING_SHARE * top:  # not on background
            continue
        mask[box] |= ndi.binary_dilation(stroke, square)
        if bars[label - 1]:
            mask |= ndi.binary_dilation(_whole_bar(values, rows, cols), square)
    return mask


def _whole_bar(values: np.ndarray, rows: slice, cols: slice) -> np.ndarray:
    """The rectangle of a grey or colour bar whose bright part spans ``rows`` x ``cols``: followed along its long
    side while the bar's strip stays brighter than the strips beside it (a bar's ramp down to its dark end)."""
    vertical = (rows.stop - rows.start) >= (cols.stop - cols.start)
    image = values if vertical else values.T
    lo, hi = (cols.start, cols.stop) if vertical else (rows.start, rows.stop)
    first, last = (rows.start, rows.stop) if vertical else (cols.start, cols.stop)
    width = hi - lo

    def inside(line: int) -> bool:
        strip = image[line, lo:hi]
        beside = np.concatenate([image[line, max(lo - width, 0):lo], image[line, hi:hi + width]])
        return beside.size > 0 and float(strip.min()) > 2 * float(beside.mean()) + 1

    while first > 0 and inside(first - 1):
        first -= 1
    while last < image.shape[0] and inside(last):
        last += 1
    found = np.zeros(image.shape, dtype=bool)
    found[first:last, lo:hi] = True
    return found if vertical else found.T


def without_burned_in(view: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``view`` with the pixels of ``mask`` painted from the pixels around them (a Gaussian average of sigma 3 px of
    the pixels not in ``mask``, :func:`scintiseg.io.images.paint_over`), in the view's dtype; the view itself when
    ``mask`` is empty."""
    return paint_over(view, mask, 3.0)
