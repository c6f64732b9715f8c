"""Are ANT and POST labelled the right way round? The lumbar spine says which view was taken from the back.

A scan's two views come with their names from the file (DICOM View Code Sequence, a frame order, a file name:
:mod:`scintiseg.io`); a vendor that stores POST first, or two files named the other way, gives every lesion the wrong
side and lets each view read the bones the other sees better (:data:`scintiseg.predict.bsi.NEARER_VIEW`). Neither
paper nor issue 15 checks the names; a reader would, at a glance, from the spine: it lies at the back of the body,
so on the posterior view the lumbar spine stands out of the abdomen, and on the anterior view 15-20 cm of abdomen
attenuate it to a faint column.

**The measure** (:func:`lumbar_contrast`, one number per view): over the rows of the lumbar spine (``LUMBAR_BAND``:
34-46 % of the body's height from the vertex, the body found by :func:`scintiseg.predict.regions.fit_body`; below the
lower sternum, which lies on the spine's column on ANT, and above the bladder, which lies behind the pubis at about
half the height), the median of each row's hottest pixel within ``SPINE_HALF_WIDTH`` of the body's midline, over the
median of the body's pixels in those rows (counts smoothed with a Gaussian of sigma 1 pixel). **The flag**
``views_swapped``: the view named POST's contrast is under ``SWAPPED_RATIO`` (0.9) times the view named ANT's.

Measured (session 48, scratch ``runs/s48/swap.py``, both views as the generators name them): the POST / ANT ratio
was at least 1.08 on all 360 two-view patients of scintiseg's phantom (60 each of the ``default``, ``randomised``,
``low-count``, ``randomised-faint`` and ``high-count`` profiles; medians 1.51-1.68) and of the independent phantom
(``benchmarks/independent_phantom.py``, 60; median 1.54). So no scan named the right way round was flagged, and a
scan named the wrong way round is flagged when its true ratio exceeds 1 / 0.9 = 1.11, which 95 % or more of each set
did (5th percentiles 1.12-1.33). Choices left open and made here: the band (a thoracic band, 20-35 %, reads the
sternum on ANT: the ratio fell to 0.57 on the default phantom), the cut (0.9: a margin below the lowest ratio seen),
and a flag, not a swap: a scan with both views in doubt is a reader's to judge, so nothing is renamed. ``scintiseg
dataset import`` says the same of a scan it imports (:func:`swapped_note`, on each view's body fit, no network). Not judged
(no flag): a scan without both views, a body that touches the top or bottom edge or holds less than a whole body
(its height, so its band, is unknown: 2 of the independent phantom's 120 views), no body found. Not verified on a real
two-view scan (the one real scan here, NM1, has ANT alone). One view alone does not tell: the contrast of ANT views
(1.15-4.84 over 40 patients of each profile) and of POST views (1.70-6.45) overlap.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from scintiseg.predict.regions import SkeletonRegions, learned_regions, partial_view
from scintiseg.scan import Scan

#: The QC flag (docs/predict.md, "QC flags").
VIEWS_SWAPPED_FLAG = "views_swapped"
#: Rows of the lumbar spine, as fractions of the body's height from the vertex (module docstring).
LUMBAR_BAND: tuple[float, float] = (0.34, 0.46)
#: Half the width of the spine's column around the midline, as a fraction of the body's height.
SPINE_HALF_WIDTH: float = 0.012
#: The flag is raised when POST's contrast is under this times ANT's.
SWAPPED_RATIO: float = 0.9
#: Region flags under which the body's height, so the band, is unknown.
_UNSURE_BODY = ("body_truncated", "partial_view", "no_body")


def lumbar_contrast(counts: np.ndarray, regions: SkeletonRegions) -> float | None:
    """How much the lumbar spine stands out of the body on one view (module docstring); None where it cannot be
    judged (a flag of :data:`_UNSURE_BODY`, a band of no body pixels, a body of no counts)."""
    if any(flag in regions.flags for flag in _UNSURE_BODY):
        return None
    height = regions.bottom - regions.top + 1
    first, last = (regions.top + int(fraction * height) for fraction in LUMBAR_BAND)
    half = max(2, int(round(SPINE_HALF_WIDTH * height)))
    centre = int(round(regions.midline))
    cols = np.shape(counts)[1]
    left, right = max(0, centre - half), min(cols, centre + half + 1)
    if last <= first or right <= left:
        return None
    margin = 4  # rows and columns beyond the band, so that the smoothing sees the same neighbours as on the view
    top = max(0, first - margin)
    smooth = ndi.gaussian_filter(np.asarray(counts[top:last + margin], dtype=np.float32), 1.0)
    band, body = smooth[first - top:last - top], regions.body[first:last]
    if not body.any():
        return None
    tissue = float(np.median(band[body]))
    spine = float(np.median(band[:, left:right].max(axis=1)))
    return spine / tissue if tissue > 0 else None


def views_swapped(counts: dict[str, np.ndarray], regions: dict[str, SkeletonRegions]) -> bool:
    """Whether the views named ANT and POST look the other way round (module docstring): POST's lumbar contrast under
    :data:`SWAPPED_RATIO` times ANT's. False where either cannot be judged or a view is missing."""
    if not {"ANT", "POST"} <= set(counts) or not {"ANT", "POST"} <= set(regions):
        return False
    ant, post = (lumbar_contrast(counts[view], regions[view]) for view in ("ANT", "POST"))
    return ant is not None and post is not None and post < SWAPPED_RATIO * ant


def swapped_note(scan: Scan) -> str:
    """For a scan not predicted (``scintiseg dataset import`` hands this over, as it hands over how a scan stands):
    a warning when its views look named the other way round (:func:`views_swapped` on each view's body fit, no
    network), else ``""``. The scan as read upright."""
    if not {"ANT", "POST"} <= set(scan.view_names):
        return ""
    counts = {view: scan.view(view) for view in ("ANT", "POST")}
    regions = {view: partial_view(learned_regions(image, view, np.zeros(np.shape(image), np.int16)),
                                  scan.pixel_spacing[0]) for view, image in counts.items()}
    if not views_swapped(counts, regions):
        return ""
    return (f"its views look named the other way round ({VIEWS_SWAPPED_FLAG}: the lumbar spine stands out less on "
            "POST than on ANT); imported as named: check the file's view names")
