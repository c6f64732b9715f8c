"""How a count image is shown to a person: the one display window of scintiseg.

Bone scans are read in an inverted grey scale (uptake dark on white), windowed linearly from 0 to the
99.5th percentile of the non-zero counts: the bladder and an injection site hold counts far above bone,
and a window up to the maximum would squash the skeleton to white. A full bladder can hold more than
0.5 % of the frame's non-zero pixels (NM1 with a 13.5 cm bladder at 10 x its brightest pixel: 1.1 %), and
then the 99.5th percentile lies *in* the bladder and the skeleton is white again; so the window's top is
also at most :data:`HOT_OBJECT_CAP` x the 95th percentile of the non-zero counts, a level that a hot object
of a few per cent of the frame does not move. The cap was chosen not to bind on ordinary scans: over 60
phantom views (seeds 960000-960014, default and randomised profiles, both views) the 99.5th percentile is
at most 3.2 x the 95th (median 2.0), on NM1 1.9 x; with the bladder above it sets the window at 4 x 81 =
324 counts instead of the bladder's 2780, and the skeleton shows (hot lesions and the bladder saturate
to black, as on a reading station's usual window). Every picture scintiseg draws uses
this window -- the overlay PNGs and the HTML report (:mod:`scintiseg.report.overlay`), the LabelMe
``imageData`` (:mod:`scintiseg.io.labelme`), the window of the DICOM GSPS
(:mod:`scintiseg.report.dicom_out`), the demo's and the phantom calibration's figures.

It sits at the bottom of the house (beside :mod:`scintiseg.geometry`), not in :mod:`scintiseg.report`,
because the LabelMe writer in ``io`` embeds the same rendering and ``io`` may not import a stage above it.
Counts stay counts everywhere else: this is for display only.
"""

from __future__ import annotations

import numpy as np

#: Percentile of the non-zero counts that maps to full black.
DISPLAY_PERCENTILE = 99.5
#: ... unless it is more than this many times the 95th percentile (a hot object over 0.5 % of the frame).
HOT_OBJECT_CAP = 4.0


def display_window(image: np.ndarray) -> float:
    """Upper end of the display window of ``image`` (counts): p99.5 of its non-zero pixels, at most
    :data:`HOT_OBJECT_CAP` x their p95 (module docstring); 1.0 if none.

    Example::

        plt.imshow(counts, cmap="gray_r", vmin=0, vmax=display_window(counts))
    """
    counts = np.asarray(image, dtype=np.float64)
    positive = counts[counts > 0]
    if not positive.size:
        return 1.0
    top, typical = np.percentile(positive, [DISPLAY_PERCENTILE, 95.0])
    return float(min(top, HOT_OBJECT_CAP * typical))


def render_display(image: np.ndarray) -> np.ndarray:
    """8-bit inverted rendering of ``image`` (counts) in :func:`display_window` (0 counts -> 255, white)."""
    counts = np.asarray(image, dtype=np.float64)
    scaled = np.clip(counts / max(display_window(counts), 1e-12), 0.0, 1.0)
    return (255 - np.round(scaled * 255)).astype(np.uint8)
