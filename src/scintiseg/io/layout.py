"""ANT and POST exported side by side in one image (a workstation's whole-body page), split into two views.

A whole-body view is about four times as tall as wide (1024 x 256, 2048 x 512, 512 x 128: a table of 2.3 m under
a detector about 0.55 m wide; physics.md, realdata.md), and no planar camera's field is much wider than 0.6 m.
An image about twice as tall as wide (:data:`SIDE_BY_SIDE_ASPECT`) and at least :data:`MIN_ROWS` rows tall is
therefore two whole-body views side by side, which is how workstations lay out a whole-body study for reading
and how screenshots and JPEG exports keep it. Read as one view, its two bodies confuse every step after the
reader (region names, laterality, the BSI): NM1 doubled side by side gave five lesions in regions such as
"pelvis, left" for the second body's lumbar spine.

The split (:func:`split_side_by_side`): the cut is the column of least body (counts above a quarter of the lit
pixels' median, after a 2-pixel Gaussian) within the middle quarter of the width, so a gap between the bodies
is found wherever it lies and two bodies that touch are cut at the middle; the narrower half is padded with
zeros on its outer side to the wider one's width. Choices the export does not record, stated: the **left**
body is ANT and the **right** one POST **as displayed**, which on the common whole-body pages is POST as
acquired (seen from behind: the patient's left on the image left), scintiseg's convention for POST. A study laid
out otherwise is read wrongly in names only: give its views as separate files, or turn the split off
(``read_scan(..., split_views=False)``, ``scintiseg predict --no-split-views``).

Plain images are split (PNG, JPEG, TIFF, ``.npy``, raw), and a DICOM file whose one frame names no view (a
screen capture of the page); a DICOM file that names its views keeps them. Data sets never split (their LabelMe
outlines were drawn on the image as it is).
"""

from __future__ import annotations

import numpy as np

#: Rows / columns of an image taken for ANT and POST side by side (two 4:1 views make 2:1).
SIDE_BY_SIDE_ASPECT = (1.6, 2.4)
#: Fewest rows of such an image: a whole-body matrix has 512 rows or more; a pair of 256 x 256 thoracic crops
#: side by side (256 x 512) is not split.
MIN_ROWS = 512
#: Share of the width, around the middle, in which the cut is looked for.
CUT_BAND = 0.25
#: Widest field (mm) one planar view can have: detectors are about 0.55 m wide. An image whose pixel size is
#: known and whose width is below this is one view, whatever its shape (non-square pixels).
MAX_FIELD_WIDTH_MM = 700.0


def is_side_by_side(shape: tuple[int, ...]) -> bool:
    """Whether a 2-D image of ``shape`` is taken for two whole-body views side by side (module docstring)."""
    if len(shape) != 2:
        return False
    rows, cols = shape
    low, high = SIDE_BY_SIDE_ASPECT
    return rows >= MIN_ROWS and low * cols <= rows <= high * cols


def cut_column(image: np.ndarray) -> int:
    """The column between the two bodies: least body within the middle :data:`CUT_BAND` of the width."""
    from scipy import ndimage  # lazy: start-up time (0.2 s); every read imports this module, few pages are cut

    smooth = ndimage.gaussian_filter(np.asarray(image, dtype=np.float64), 2.0)
    lit = smooth[smooth > 0.05 * smooth.max()] if smooth.max() > 0 else smooth[:0]
    cols = image.shape[1]
    lo, hi = int(round(cols * (0.5 - CUT_BAND / 2))), int(round(cols * (0.5 + CUT_BAND / 2)))
    if lit.size == 0:
        return cols // 2
    share = (smooth > 0.25 * float(np.median(lit))).mean(axis=0)[lo:hi]
    least = np.flatnonzero(share <= share.min() + 1e-9)
    # The middle of the emptiest run nearest the image's middle.
    runs = np.split(least, np.flatnonzero(np.diff(least) > 1) + 1)
    best = min(runs, key=lambda run: abs((run[0] + run[-1]) / 2 + lo - cols / 2))
    return lo + int(round((best[0] + best[-1]) / 2))


def split_side_by_side(image: np.ndarray, col_mm: float | None = None) -> tuple[np.ndarray, int] | None:
    """``(2, rows, cols)`` ANT (left) and POST (right, as displayed), and the cut column; None when ``image`` is
    not taken for two views side by side (:func:`is_side_by_side`), or when its column size ``col_mm`` is known
    and the image is no wider than one camera's field (:data:`MAX_FIELD_WIDTH_MM`)."""
    if not is_side_by_side(image.shape):
        return None
    if col_mm is not None and image.shape[1] * col_mm <= MAX_FIELD_WIDTH_MM:
        return None
    cut = cut_column(image)
    left, right = image[:, :cut], image[:, cut:]
    width = max(left.shape[1], right.shape[1])
    left = np.pad(left, ((0, 0), (width - left.shape[1], 0)))    # padded on its outer (left) side
    right = np.pad(right, ((0, 0), (0, width - right.shape[1])))  # on its outer (right) side
    return np.stack([left, right]), cut
