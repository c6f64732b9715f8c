"""How a count image is shown to a person: the one display window of scintiseg.

Bone scans are read in an inverted grey scale (uptake dark on white), windowed linearly from 0 to the
99.5th percentile of the non-zero counts: the bladder and an injection site hold counts far above bone,
and a window up to the maximum would squash the skeleton to white. Every picture scintiseg draws uses
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


def display_window(image: np.ndarray) -> float:
    """Upper end of the display window of ``image`` (counts): p99.5 of its non-zero pixels, 1.0 if none.

    Example::

        plt.imshow(counts, cmap="gray_r", vmin=0, vmax=display_window(counts))
    """
    counts = np.asarray(image, dtype=np.float64)
    positive = counts[counts > 0]
    return float(np.percentile(positive, DISPLAY_PERCENTILE)) if positive.size else 1.0


def render_display(image: np.ndarray) -> np.ndarray:
    """8-bit inverted rendering of ``image`` (counts) in :func:`display_window` (0 counts -> 255, white)."""
    counts = np.asarray(image, dtype=np.float64)
    scaled = np.clip(counts / max(display_window(counts), 1e-12), 0.0, 1.0)
    return (255 - np.round(scaled * 255)).astype(np.uint8)
