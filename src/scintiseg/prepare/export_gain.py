"""The counts behind an 8-bit export: its gain (grey levels per count) read from the comb of its grey-level histogram.

An 8-bit export holds ``grey = round(gain x counts)`` (realdata.md: BS-80K's exports at about 1.2-3 grey levels per
count, in-body pixels at about 4-7 counts, whole views at about 0.3-0.6 M counts). Its grey levels are not counts, so
the ``low_counts`` check (:data:`scintiseg.predict.qc.LOW_COUNTS`, 0.8 M: physics.md, sites acquire 0.8-4 M counts per
view and fewer make faint lesions unreliable) never judges it (flag ``export_8bit``). Counts are whole numbers: with a
gain above 1 only the levels ``round(gain x k)`` can be occupied, and the histogram is a comb whose teeth lie ``gain``
levels apart. :func:`estimate_export_gain` reads that spacing and counts each level's pixels at its tooth's count. It
never changes a pixel. Choices, stated:

- **Which levels**: 1 up to the 99th percentile of the non-zero pixels (the dense part, where every count value has
  pixels, so no tooth is missing by chance), and below the image's top level (a display window clips everything above
  it to that level). Level 0 is the background and whatever a window's floor cut.
- **A tooth** is a level holding at least :data:`TOOTH_SHARE` of the geometric mean of the fullest level among the
  two below it and the fullest among the two above it (a gap lies between two teeth; the geometric mean keeps the
  teeth where the histogram falls steeply, tenfold over two counts at NM1's body outline, which the arithmetic mean
  lost at a gain of 1.5), or of the fullest above it where nothing lies below. Level 0, the background, is nobody's
  neighbour: it holds most pixels, and a JPEG spills 2 % of them onto level 1. A lossless export's gaps are empty;
  JPEG quality 100 leaks about 10 % of a tooth's pixels to its neighbours (measured on NM1, :data:`MAX_OFF_COMB`);
  quality 95 fills the gaps as full as the teeth (every level a tooth: a gain of 1, refused).
- **The gain**: consecutive count values occupy consecutive teeth of the dense levels, and two teeth ``dc`` counts
  apart lie ``gain x dc`` levels apart within 1 (any rounding rule, to the nearest, down or up, maps a count to a
  range one level wide), so every pair of teeth bounds the gain (:func:`_gains_placing`); the teeth above the dense
  levels, where a count value may have no pixel, are then placed one by one at the one count those bounds allow
  (stopping where two are allowed; a level no count fits, a JPEG's stray pixels, is left out), narrowing them. The
  gain read is the slope of a line through the teeth against their counts, within the bounds. No gain placing every
  tooth (a missing or a spurious tooth among the dense levels, a display curve bending the spacing with the level),
  bounds wider than :data:`MAX_UNCERTAINTY` either side, a line that does not meet the count axis near level 0
  (:data:`MAX_ANCHOR`: a window whose floor was raised by a fraction of a count), more than :data:`MAX_OFF_COMB` of
  the dense levels' pixels off the teeth, or a gain under :data:`MIN_GAIN` (a 16-bit count image or an export at a gain
  of 1 occupies every level: no comb): None.
- **The counts** of a level are those of the comb's tooth nearest it, ``round((level - offset) / gain)``, ``offset``
  where the comb meets 0 counts: that undoes the export's rounding, where the grey levels' sum over the gain keeps it
  (a phantom view of mostly 1-count pixels exported at 1.5 with NumPy's round half to even, 1 -> 2 grey levels, read
  3.5 % high so). A JPEG's leaked pixels go to the nearest tooth.
- **The noise must be Poisson at that gain** (:data:`NOISE_RANGE`): horizontally adjacent pixels of a count image have
  independent Poisson noise (a collimator blurs the expected counts, not the noise), so ``sum((a - b)^2) / sum(a + b)``
  over neighbours is about 1 in counts and about ``gain`` in grey levels. Measured 1.00-1.18 times the gain on NM1
  and four phantom views at 0.15-1 of their counts, gains 1.2-3, lossless and JPEG 100 (the anatomy's slopes raise
  it); an export enlarged by repeating each pixel 2 x 2 reads about half (a perfect comb, and four times the counts).
  An image whose comb is not counts' is so refused.
- **Clipping**: an export whose top level is the format's top (255) may have been clipped by a display window; its
  pixels there count as that level's tooth's counts, so the total is then a lower bound (``lower_bound``), and
  ``clipped_share`` says how many non-zero pixels sit there. :func:`scintiseg.predict.qc.scan_qc_flags` does not judge
  a view with 1 % or more of them there (``clipped_export``'s share of the body), whose hidden counts are unknown;
  cautious: NM1 thinned to 0.15 and exported at 15 grey levels per count, 1.8 % of its pixels clipped, fell short by
  1.5 %.
- **Not judged**: a view whose grey levels were read back through a display gamma or a colour table
  (``scan.metadata``'s ``display_gamma``, :mod:`scintiseg.io.display_curve`, or ``colour_table``,
  :mod:`scintiseg.io.colour_tables`): a table maps counts' teeth onto levels no longer evenly spaced. Only integer
  views with non-negative values are judged. A raised window floor at a whole number of counts keeps the comb and its
  anchor and is not detected: the counts below the floor are then missing from the total.

JPEG: unlike :mod:`scintiseg.io.display_curve`, which judges only lossless files (JPEG bends the noise's growth with
the level), the histogram decides here: JPEG quality 100 keeps the comb (BS-80K's JPEG exports show theirs,
realdata.md), quality 95 and below fill it, and nothing is returned.

Measured (``benchmarks/bench_export_gain.py``, docs/prepare.md "Counts of an 8-bit export", session 73): NM1 and four
phantom patients thinned to 0.3 / 0.6 / 1 of their counts, exported at 1.2 / 2 / 3 grey levels per count: lossless,
43 of 45 estimates returned (one phantom at 0.25 M counts refused at 1.2 and 2: too few dense teeth), the gain within
0.2 % and an unclipped total exact; JPEG 100, 41 of 45, the gain within 1.4 % and the total within 2.3 %; JPEG 95 and
75, none returned. A clipped export's total (a lower bound) fell short by at most 4.8 %. Cost: 2.5 ms on NM1's 1024 x 256
8-bit export (median of 50, one thread; under the 5 ms a view may add).

Example::

    estimate = estimate_export_gain(scan.view("ANT"))
    if estimate is not None:
        print(f"{estimate.gain:.2f} grey levels per count, {estimate.counts_total:,.0f} counts")
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scintiseg.io.display_curve import GAMMA_KEY
from scintiseg.scan import Scan

#: Least gain read (grey levels per count): below it the comb's gaps lie ten or more levels apart, a few in the dense
#: part of a low-count view, too few to tell from a count value no pixel happened to hold. NM1's 16-bit counts and
#: their export at a gain of 1 read 1.000-1.003.
MIN_GAIN = 1.1
#: Grey levels above this are no export's [choice: 8- and 10-bit exports; a view reaching higher holds counts or was
#: processed]: such a view is not judged, so the pairwise fit (quadratic in the teeth) stays under 30 ms on a 1024 x 256
#: view (session 73's reviews: 23-28 ms at this bound with a gain of 1.1, 6 ms at 2; without it a smoothed 16-bit view
#: took 4.4 s and 2.2 GB at levels up to 10,000, 26 s and 14 GB at 30,000).
MAX_TOP = 1023
#: Fewest teeth for a line: a view with fewer count values in its dense part holds too few counts to judge.
MIN_TEETH = 8
#: A tooth holds at least this share of the geometric mean of the fullest level within 2 below it and within 2 above
#: it (module docstring).
TOOTH_SHARE = 0.25
#: Most half-width of the gains that place every tooth, as a share of the gain read (module docstring): the gain is then
#: within 2 % under any rounding rule, and the total counts with it.
MAX_UNCERTAINTY = 0.02
#: Most distance (grey levels) of the line's tooth of ``k`` counts from ``gain x k``: 0 for rounding to the nearest
#: level, -0.5 / +0.5 for rounding down / up, so a floor or an offset of a whole level is refused.
MAX_ANCHOR = 0.75
#: Most share of the levels' pixels off the teeth: 0 in a lossless export, up to 0.12 through JPEG quality 100 (NM1).
MAX_OFF_COMB = 0.2
#: Share of the non-zero pixels below which the dense levels end (module docstring).
DENSE_QUANTILE = 0.99
#: The neighbours' squared difference over their sum, in units of the gain, that a count image gives (module
#: docstring: measured 1.00-1.18; an export enlarged 2 x 2 about 0.5).
NOISE_RANGE = (0.6, 1.5)
#: ``scan.metadata`` keys of a reading that mapped the grey levels through a table (module docstring).
TABLE_KEYS = (GAMMA_KEY, "colour_table")


@dataclass(frozen=True)
class GainEstimate:
    """What the comb of an export's histogram says (module docstring).

    Args:
        gain: grey levels per count.
        counts_total: the view's counts: each level's pixels at the count of the tooth nearest it (module docstring).
        lower_bound: the top level is the format's top, where a display window may have clipped: its pixels count as
            that level's counts, so the total is at least this.
        clipped_share: share of the non-zero pixels at that level (0 when ``lower_bound`` is False).
    """

    gain: float
    counts_total: float
    lower_bound: bool
    clipped_share: float

    def to_dict(self) -> dict:
        """JSON-able: ``grey_levels_per_count``, ``counts_total``, ``lower_bound``, ``clipped_share``."""
        return {"grey_levels_per_count": round(self.gain, 3), "counts_total": int(round(self.counts_total)),
                "lower_bound": self.lower_bound, "clipped_share": round(self.clipped_share, 5)}


def estimate_export_gain(grey: np.ndarray) -> GainEstimate | None:
    """The gain and counts of an export whose grey levels are ``gain x counts`` (module docstring), or None when its
    histogram shows no comb of counts: grey levels above :data:`MAX_TOP`, a gain under :data:`MIN_GAIN` (counts
    themselves, or more teeth than such a gain leaves room for), a smooth or JPEG-filled
    histogram, teeth no one gain places (a display curve, a missing or spurious tooth), a gain pinned no closer than
    :data:`MAX_UNCERTAINTY`, a non-Poisson noise, a float or negative image, fewer than :data:`MIN_TEETH` teeth."""
    image = np.asarray(grey)
    if image.ndim != 2 or image.dtype.kind not in "ui" or image.size == 0:
        return None
    flat = image.ravel()
    if image.dtype.kind == "i":
        if int(flat.min()) < 0:
            return None
        flat = flat.astype(np.int64)
    top = int(flat.max())
    if top > MAX_TOP:
        return None
    histogram = np.bincount(flat, minlength=top + 3).astype(np.float64)  # 2 empty levels over the top: context
    nonzero = histogram[1:].sum()
    if nonzero == 0:
        return None
    clipped = top == np.iinfo(image.dtype).max
    highest = top - 1 if clipped else top  # a window's top level holds everything it cut: no tooth
    dense = min(int(np.searchsorted(np.cumsum(histogram[1:]), DENSE_QUANTILE * nonzero)) + 1, highest)
    padded = np.pad(histogram, (2, 0))
    padded[2] = 0.0  # the background's level 0 is no neighbour: a JPEG spills it onto level 1 (module docstring)
    below = np.maximum(padded[:-4], padded[1:-3])  # the fullest of the two levels under each level, and over it
    above = np.maximum(padded[3:-1], padded[4:])
    reference = np.where(below > 0, np.sqrt(below * above), above)
    teeth = np.flatnonzero((histogram[:-2] > 0) & (histogram[:-2] >= TOOTH_SHARE * reference))
    teeth = teeth[(teeth >= 1) & (teeth <= highest)]
    levels = teeth[teeth <= dense]
    if levels.size < MIN_TEETH or levels.size > dense / MIN_GAIN + 1:  # too many teeth for a gain of MIN_GAIN or more
        return None
    if histogram[1:dense + 1].sum() - histogram[levels].sum() > MAX_OFF_COMB * histogram[1:dense + 1].sum():
        return None
    counts = np.arange(levels.size)  # the dense levels hold every count value: consecutive teeth, consecutive counts
    low, high = _gains_placing(levels, counts)
    if low > high or high < MIN_GAIN:
        return None
    levels, counts = list(levels), list(counts)
    for level in teeth[teeth > dense]:  # the sparse levels above: each at the one count the gains so far allow
        step = level - levels[-1]
        allowed = []
        for count in range(counts[-1] + max(1, math.ceil((step - 1) / high)), counts[-1] + math.floor((step + 1) / low) + 1):
            step_low, step_high = _gains_placing(np.array(levels + [level]), np.array(counts + [count]), last_only=True)
            if max(low, step_low) <= min(high, step_high):
                allowed.append((count, max(low, step_low), min(high, step_high)))
        if len(allowed) > 1:
            break  # two counts allowed: the teeth above cannot narrow the gain
        if allowed:  # else a level off the comb (a JPEG's stray pixels): left out
            levels.append(level)
            counts.append(allowed[0][0])
            low, high = allowed[0][1], allowed[0][2]
    gain = float(np.clip(np.polyfit(counts, levels, 1)[0], low, high))  # rounding's errors average out along the line
    if gain < MIN_GAIN or (high - low) / 2 > MAX_UNCERTAINTY * gain:
        return None
    offset = float(np.mean(np.array(levels) - gain * np.array(counts)))  # the first tooth's level, less rounding
    offset -= gain * round(offset / gain)  # where the comb meets 0 counts
    if abs(offset) > MAX_ANCHOR:
        return None
    if not NOISE_RANGE[0] <= _noise_over_level(image, top) / gain <= NOISE_RANGE[1]:
        return None
    share = float(histogram[top] / nonzero) if clipped else 0.0
    each = np.maximum(np.rint((np.arange(histogram.size) - offset) / gain), 0.0)  # each level's count: its tooth's
    return GainEstimate(gain=float(gain), counts_total=float(np.dot(histogram, each)), lower_bound=bool(clipped),
                        clipped_share=share)


def _gains_placing(levels: np.ndarray, counts: np.ndarray, last_only: bool = False) -> tuple[float, float]:
    """The gains ``g`` under which some offset ``b`` puts every level within one rounding of ``g x count + b``: two
    levels differ by ``g x`` their counts' difference, within 1 (any rounding rule maps each level to a range of
    width 1), so ``g`` lies in ``[(dl - 1) / dc, (dl + 1) / dc]`` of every pair; the interval of all pairs (empty when
    ``low > high``), or of the last level's pairs alone with ``last_only``."""
    if last_only:
        dl, dc = levels[-1] - levels[:-1], counts[-1] - counts[:-1]
    else:
        upper = np.triu_indices(levels.size, 1)
        dl, dc = (levels[None, :] - levels[:, None])[upper], (counts[None, :] - counts[:, None])[upper]
    dl, dc = dl[dc > 0].astype(np.float64), dc[dc > 0].astype(np.float64)
    if dc.size == 0:
        return -np.inf, np.inf
    width = 1.0 + 1e-9  # round-half-to-even (NumPy's rint) spans exactly 1: 1.5 x (1, 2, 3) -> 2, 3, 4
    return float(np.max((dl - width) / dc)), float(np.min((dl + width) / dc))


def _noise_over_level(image: np.ndarray, top: int) -> float:
    """``sum((a - b)^2) / sum(a + b)`` over horizontally adjacent pixels not both 0 and neither at ``top``: the grey
    levels' Poisson variance over their level, about the gain in an export of counts (module docstring)."""
    left, right = image[:, :-1].astype(np.int32), image[:, 1:].astype(np.int32)
    pair = ((left > 0) | (right > 0)) & (left < top) & (right < top)
    level = float((left + right)[pair].sum())
    return float(((left - right)[pair] ** 2).sum()) / level if level > 0 else 0.0


def export_gains(scan: Scan) -> dict[str, GainEstimate | None]:
    """:func:`estimate_export_gain` of each integer view of ``scan`` (its name -> the estimate or None), none judged
    when its grey levels were read back through a table (:data:`TABLE_KEYS`); float views are left out."""
    judged = not any(scan.metadata.get(key) for key in TABLE_KEYS)
    return {name: estimate_export_gain(image) if judged else None
            for name, image in scan.views.items() if np.asarray(image).dtype.kind in "ui"}
