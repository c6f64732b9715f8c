"""An 8-bit export shown through a non-linear display curve (a viewer's gamma), read back to linear grey levels.

Viewers offer a display gamma (grey = top x (counts / top) ** gamma; gamma under 1 brightens the soft tissue and
flattens the hot spots, over 1 darkens them), and a screen capture or an export keeps it. Every contrast the lesion
model reads is then bent: on 16 default phantom patients exported in 8 bits (JPEG 75, bench_shift's ``jpeg8``
column) and shown through gamma 0.5 the shipped model found 0.14 of the lesions of contrast >= 2 against 0.44
linear (gamma 0.7: 0.30); through gamma 1.5 it called 0.72 false positives per view against 0.41, and NM1's
real-background hybrids 4.7 per view against 1.2 (session 32, docs/robustness.md "Display curves").

The curve is read from the noise (:func:`display_gamma`): a pixel's counts are Poisson, their variance equal to their
mean, so on a linear export the local variance of the grey level grows as its local mean (log-log slope 1). Through
``grey = a x counts ** gamma`` the variance grows as ``mean ** (2 - 1 / gamma)``, so the slope ``s`` of log variance
against log mean gives ``gamma = 1 / (2 - s)``. Choices, stated:

- **The noise** of a pixel is its difference from the mean of its four neighbours (variance 1.25 times the pixel's:
  the camera's blur shapes the expected counts, not the noise, so neighbours' noise is independent), averaged over
  5 x 5 windows; the local mean is the 5 x 5 mean of the grey levels.
- **Which pixels**: those of the body (local mean at least :data:`BODY_SHARE` of its 99th percentile and at least 2
  grey levels; an image with more than :data:`MAX_SATURATED_SHARE` of them at its top level is not judged), not within
  3 pixels of a pixel at the image's top level (a display window's saturation flattens the
  noise there). Their local means are cut into :data:`LEVEL_BINS` bins of equal counts between the 20th and 98th
  percentile (the lowest levels lie at the body's outline, where the anatomy's edge adds to the variance); each bin's
  median mean and median variance give a point, and a line through the points' logarithms gives ``s``.
- **Judged only on lossless 8-bit images** (PNG, TIFF, BMP, uncompressed or losslessly compressed DICOM): JPEG's
  quantisation removes noise unevenly across grey levels (linear JPEG 90 exports of NM1 read as gamma 2.5), so a JPEG
  is read as it is. 16-bit counts are never judged.
- **Undone only when clearly bent**: an estimate in :data:`LINEAR_RANGE` is a linear export, and only an estimate
  whose points lie close to the line is believed (:data:`MAX_FIT_RESIDUAL`). Measured (session 32, scratch): NM1 and
  12 phantom views (6 patients of the default, low-count and randomised profiles), each exported at display windows
  of 10, 30, 60 and 100 % of its hottest pixel, 52 exports: linear ones read 0.87-1.14 (9 not judged), none undone;
  through gamma 0.5 0.38-0.53, 41 undone (11 not judged); through 0.7 0.58-0.77, 39 undone; through 1.5 1.03-1.87,
  33 above the range (not undone: below). And 637 linear lossless exports of 49 views (24 phantom patients of four profiles and NM1; windows 5-100 %,
  whole and cropped to the chest, and thinned to a BS-80K-like count level): none undone, the judged ones reading
  0.77-1.23. Below the range the view is read back as ``255 x (grey / 255) ** (1 / gamma)``; an estimate outside
  :data:`PLAUSIBLE_RANGE` (a picture that is not a scan's counts) is left as it is.
- **Only a brightening curve (gamma under 1) is read back.** A JPEG's pixels keep its history when saved again as
  PNG (data sets are converted so), and JPEG removes more noise from the low grey levels than from the high: such
  pixels read as gamma 1.4-34, never under 1 (NM1 and 6 phantom views at windows 30-100 % through JPEG 95-50, and the
  500 BS-80K-like region crops: 157 of the crops and NM1 at JPEG 90 were read back through a gamma of 1.4-2.2 before
  this rule, session 32). A darkening curve (gamma 1.5) is therefore left as it is, and flagged by nothing.
- **Not read back: a raised lower window** (below a level, black). Its intercept bends the log-log line, so half of
  the exports with the window's bottom at 20 % of its top read as gamma 0.66-0.70 and are read back through that,
  which neither restores nor much worsens what the model finds (docs/robustness.md, "Display curves").
"""

from __future__ import annotations

import numpy as np

from scintiseg.scan import Scan

#: Estimates read as a linear export (no curve undone): within a factor 1.4 of 1.
LINEAR_RANGE = (1 / 1.4, 1.4)
#: Most standard deviation of the points about the log-log line: a scan's noise follows its level closely (measured
#: 0.013-0.08 on NM1 and phantom exports); a picture of a few flat areas and their edges does not.
MAX_FIT_RESIDUAL = 0.12
#: Estimates believed at all: display gammas offered by viewers lie within about 0.3-3. Only those under
#: ``LINEAR_RANGE[0]`` are read back (module docstring: a JPEG's pixels, even saved again as PNG, read as 1.4-34).
PLAUSIBLE_RANGE = (0.3, 3.0)
#: Grey-level bins of the fit (points of the log-log line), between these quantiles of the body pixels' levels.
LEVEL_BINS = 14
LEVEL_QUANTILES = (0.2, 0.98)
#: Body pixels: local mean at least this share of the image's 99th percentile.
BODY_SHARE = 0.08
#: Most share of the body's pixels at the image's top level: a display window that saturates more leaves only the
#: body's outline unsaturated, whose anatomy bends the fit (four of 130 linear exports at a window of 5 % of the
#: hottest pixel read as gamma 0.74-0.76 before this check).
MAX_SATURATED_SHARE = 0.2
#: Least ratio of the highest to the lowest bin's level: over a narrower range the slope is not told.
MIN_LEVEL_RATIO = 1.5
#: Fewest pixels in a bin for its point to count, and fewest points for a fit.
MIN_BIN_PIXELS = 200
MIN_POINTS = 5
#: ``Scan.metadata`` key of the display gamma read back: the estimate, rounded to 2 decimals.
GAMMA_KEY = "display_gamma"
#: DICOM transfer syntaxes that keep every pixel as stored (uncompressed, deflated, RLE, JPEG / JPEG-LS / JPEG 2000
#: lossless): the only DICOM files whose noise tells a display curve.
LOSSLESS_SYNTAXES = frozenset({
    "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.5",
    "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.90",
})


def display_gamma(image: np.ndarray) -> float | None:
    """The display gamma of an 8-bit export (module docstring), or None when the image holds too few body pixels at
    enough grey levels to tell, or its noise does not follow one curve of its level (:data:`MAX_FIT_RESIDUAL`)."""
    from scipy import ndimage as ndi  # lazy: start-up time (every command imports scintiseg.io; 16-bit never gets here)

    grey = np.asarray(image, dtype=np.float64)
    if grey.ndim != 2 or min(grey.shape) < 16:
        return None
    neighbours = (np.roll(grey, 1, 0) + np.roll(grey, -1, 0) + np.roll(grey, 1, 1) + np.roll(grey, -1, 1)) / 4.0
    noise = ndi.uniform_filter((grey - neighbours) ** 2 / 1.25, 5)
    level = ndi.uniform_filter(grey, 5)
    body = level >= max(2.0, BODY_SHARE * float(np.percentile(level, 99)))
    if not body.any() or np.mean(grey[body] >= grey.max()) > MAX_SATURATED_SHARE:
        return None
    body &= ndi.maximum_filter(grey, 7) < grey.max()  # away from the display window's saturation
    body[:3], body[-3:], body[:, :3], body[:, -3:] = False, False, False, False  # np.roll wraps at the edges
    means, variances = level[body], noise[body]
    if means.size < MIN_POINTS * MIN_BIN_PIXELS:
        return None
    edges = np.quantile(means, np.linspace(LEVEL_QUANTILES[0], LEVEL_QUANTILES[1], LEVEL_BINS + 1))
    points = []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (means >= low) & (means < high)
        if inside.sum() >= MIN_BIN_PIXELS:
            mean, variance = float(np.median(means[inside])), float(np.median(variances[inside]))
            if mean > 0 and variance > 0:
                points.append((np.log(mean), np.log(variance)))
    if len(points) < MIN_POINTS or np.ptp([x for x, _ in points]) < np.log(MIN_LEVEL_RATIO):
        return None
    x, y = np.array(points).T
    slope, intercept = np.polyfit(x, y, 1)
    if float(np.std(y - (slope * x + intercept))) > MAX_FIT_RESIDUAL:
        return None
    return 1.0 / (2.0 - float(slope)) if slope < 2.0 else float("inf")


def undo_display_curve(views: list[np.ndarray]) -> tuple[list[np.ndarray], float | None]:
    """``views`` (the 2-D views of one export) read back to linear grey levels when the curve they were shown through
    is clearly bent (module docstring; one gamma, the median of the views' estimates), and the gamma undone (None,
    and the views themselves, when nothing was). Only 8-bit views are judged."""
    if not views or any(view.dtype != np.uint8 or view.ndim != 2 for view in views):
        return views, None
    estimates = [value for value in map(display_gamma, views) if value is not None]
    if not estimates:
        return views, None
    gamma = float(np.median(estimates))
    if not PLAUSIBLE_RANGE[0] <= gamma < LINEAR_RANGE[0]:  # only a brightening curve: a JPEG's history reads as > 1.4
        return views, None
    table = np.clip(np.round(255.0 * (np.arange(256) / 255.0) ** (1.0 / gamma)), 0, 255).astype(np.uint8)
    return [table[view] for view in views], round(gamma, 2)


def undo_scan_display_curve(scan: Scan, lossless: bool) -> Scan:
    """An 8-bit export shown through a display gamma read back to linear grey levels (:func:`undo_display_curve`,
    ``metadata[GAMMA_KEY]`` the gamma undone; ``lossless`` files only: a JPEG's or a lossy DICOM's noise tells no
    curve); anything else as it is."""
    if not lossless:
        return scan
    names = scan.view_names
    views, gamma = undo_display_curve([scan.view(name) for name in names])
    if gamma is None:
        return scan
    fixed = scan.with_views(dict(zip(names, views)))
    fixed.metadata[GAMMA_KEY] = gamma
    return fixed
