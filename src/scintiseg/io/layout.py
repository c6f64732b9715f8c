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
is found wherever it lies and two bodies that touch are cut at the middle; the cut must leave two bodies
(:func:`two_bodies`: a quarter of the counts on each side, widths within a factor of two), so one body in a wide
frame stays one view; the narrower half is padded with
zeros on its outer side to the wider one's width. Choices the export does not record, stated: the **left**
body is ANT and the **right** one POST **as displayed**, which on the common whole-body pages is POST as
acquired (seen from behind: the patient's left on the image left), scintiseg's convention for POST. A study laid
out otherwise is read wrongly in names only: give its views as separate files, or turn the split off
(``read_scan(..., split_views=False)``, ``scintiseg predict --no-split-views``).

A page of more than two bodies side by side (both views at two display windows, two studies;
:func:`bodies_side_by_side`) is refused by the reader: which two are ANT and POST it does not say.

Plain images are split (PNG, JPEG, TIFF, ``.npy``, raw), and a DICOM file whose one frame names no view (a
screen capture of the page); a DICOM file that names its views keeps them (a body lying in a one-view DICOM file is
stood whether or not it names its view). A data set's image is never split:
``scintiseg dataset import`` writes a page as its two views (:mod:`scintiseg.io.importer`).

**A body stored lying** (session 22; :func:`stand_lying_body`): an export turned a quarter, the body along the
columns (NM1 as 256 rows x 1024 columns), was read as a short, wide crop: NM1 so stored gave 9 lesions, no bones
named, and was taken for a polygon crop. An image at least :data:`LYING_ASPECT` times as wide as tall and at
least :data:`MIN_ROWS` columns wide (and, where the pixel size is known, at least :data:`MIN_LYING_LENGTH_MM` long
and no wider than one camera's field) is turned a quarter clockwise, before any split; which way the head then lies
is the prediction's head-down check's to judge (:mod:`scintiseg.predict.orientation`), and turning by quarters
keeps the patient's sides where a view has them. The outlines are given on the turned (standing) image, which
every picture and LabelMe file shows; a DICOM file so turned gets its SR and GSPS outlines turned back onto its
frame (:mod:`scintiseg.io.stored_points`; none before session 27). Stated choices: a wide image less than three times as wide as tall (a pelvis spot view, two bodies
stacked) stays as it is. A scan read turned or split records how, for whoever places on it what was drawn on the
file as stored (a data set's outlines, ``predict --boxes``' boxes): ``metadata[STOOD_KEY]`` (one of
:data:`STOOD_TURNS`), ``metadata["split_column"]`` and ``metadata[STORED_SHAPE_KEY]`` (the file's rows and columns).
"""

from __future__ import annotations

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.io.images import assumed_pixel_spacing
from scintiseg.io.patient_sides import ORIENTATION_KEY, turned_letters, with_letters_moved
from scintiseg.scan import Scan

#: ``Scan.metadata`` (and data-set ``meta``) key saying how a body stored lying was turned to stand: one of
#: :data:`STOOD_TURNS`, the name of the turn from the file as stored to the standing view.
STOOD_KEY = "stood"
QUARTER_CLOCKWISE, QUARTER_COUNTERCLOCKWISE = "quarter_clockwise", "quarter_counterclockwise"
STOOD_TURNS: dict[str, int] = {QUARTER_CLOCKWISE: -1, QUARTER_COUNTERCLOCKWISE: 1}  # -> numpy.rot90's k
#: ``Scan.metadata`` (and data-set ``meta``) key of a scan read stood or split: the (rows, columns) of the file.
STORED_SHAPE_KEY = "stored_shape"
#: ``Scan.metadata`` key of a page of two views that the reader split: the page's column where it was cut.
SPLIT_COLUMN = "split_column"
#: Rows / columns of an image taken for ANT and POST side by side (two 4:1 views make 2:1).
SIDE_BY_SIDE_ASPECT = (1.6, 2.4)
#: Fewest rows of such an image: a whole-body matrix has 512 rows or more; a pair of 256 x 256 thoracic crops
#: side by side (256 x 512) is not split.
MIN_ROWS = 512
#: Columns / rows of an image taken for one whole body lying on its side (a whole-body view is about 4:1).
LYING_ASPECT = 3.0
#: Least length (mm) of a lying body where the pixel size is known: a whole-body field is 1.8-2.3 m.
MIN_LYING_LENGTH_MM = 1500.0
#: Share of the width, around the middle, in which the cut is looked for.
CUT_BAND = 0.25
#: Largest share of a column's rows in a body for the column to be a gap between two bodies (:func:`cut_column`).
GAP_SHARE = 0.02
#: Largest share of the most-counted column's counts in the page's middle column for two views to be taken to abut
#: there (:func:`cut_column`; session 74, measured: 0.05-0.19 for 31 phantom patients whose views abut without a gap,
#: 0.58-0.99 for NM1's one body drawn 0-28 columns off the centre of a frame twice its width).
EDGE_COUNTS = 0.35
#: Widest field (mm) one planar view can have: detectors are about 0.55 m wide. An image whose pixel size is
#: known and whose width is below this is one view, whatever its shape (non-square pixels).
MAX_FIELD_WIDTH_MM = 700.0
#: Least share of the image's counts on each side of the cut, and least ratio of the narrower side's lit width
#: to the wider one's, for the two sides to be two bodies (:func:`two_bodies`).
MIN_SIDE_COUNTS = 0.25
MIN_WIDTH_RATIO = 0.5
#: Share of a body's lit rows, from its top, in which its head is looked for, and the widest the body may be there as a
#: share of its widest row, for each side of a cut to hold a whole body, head first (:func:`_head_on_top`; session 74,
#: measured: 0.25-0.36 for 40 phantom views and NM1, 0.78-1.0 for the halves of a view cut below the shoulders).
HEAD_ROWS, MAX_HEAD_WIDTH = 0.06, 0.6
#: Share of a column's rows that must be lit for the column to count in a body's width.
LIT_COLUMN = 0.05
#: Least width of a run of lit columns, as a share of the image's rows, and least share of the counts, for the run to
#: count as a whole body in :func:`bodies_side_by_side` (a body is about a quarter of its height wide, a thin one a
#: sixth; an arm lying apart from the trunk a twentieth).
MIN_BODY_WIDTH = 1 / 12
MIN_BODY_COUNTS = 0.05


def is_side_by_side(shape: tuple[int, ...]) -> bool:
    """Whether a 2-D image of ``shape`` is taken for two whole-body views side by side (module docstring)."""
    if len(shape) != 2:
        return False
    rows, cols = shape
    low, high = SIDE_BY_SIDE_ASPECT
    return rows >= MIN_ROWS and low * cols <= rows <= high * cols


def stand_lying_body(image: np.ndarray, spacing_mm: tuple[float, float] | None = None) -> np.ndarray | None:
    """``image`` turned a quarter clockwise when it holds a whole body lying on its side (module docstring), else
    None. ``spacing_mm``: its (row, column) pixel size, when known (the turned image's is the two swapped)."""
    if image.ndim != 2:
        return None
    rows, cols = image.shape
    if cols < LYING_ASPECT * rows or cols < MIN_ROWS:
        return None
    if spacing_mm is not None and (cols * spacing_mm[1] < MIN_LYING_LENGTH_MM or rows * spacing_mm[0] > MAX_FIELD_WIDTH_MM):
        return None
    return np.ascontiguousarray(np.rot90(image, k=-1))


def _body_columns(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The image after a 2-pixel Gaussian, and per column the share of its rows in a body (above a quarter of the
    lit pixels' median); None for an image with nothing lit."""
    from scipy import ndimage  # lazy: start-up time (0.2 s); every read imports this module, few pages are cut

    smooth = ndimage.gaussian_filter(np.asarray(image, dtype=np.float64), 2.0)
    lit = smooth[smooth > 0.05 * smooth.max()] if smooth.max() > 0 else smooth[:0]
    if lit.size == 0:
        return smooth, None
    return smooth, (smooth > 0.25 * float(np.median(lit))).mean(axis=0)


def cut_column(image: np.ndarray) -> int | None:
    """The column between the two bodies, looked for within the middle :data:`CUT_BAND` of the width: the middle of the
    run of empty columns (:data:`GAP_SHARE`) nearest the page's middle, or the page's middle column where it lies in
    that run (two halves of one width, neither padded). Where no column is empty: the page's middle column when its
    counts are those of two views' edges (under :data:`EDGE_COUNTS` of the most-counted column's: a workstation lays
    two matrices of one camera side by side, their soft tissue meeting), else the least-lit column (one body in a wide
    frame is then cut off its trunk and kept whole by :func:`two_bodies`); None where the least-lit columns lie at the
band's edge and the middle is lit more (no valley between two bodies: the upper half of one body, 512 x 256, was cut
at its band's edge into two "views" and passed :func:`two_bodies`, session 74).

    Session 74: before, the least-lit column was taken, empty or not. Two phantom views of 256 columns written side by
    side without a gap, their soft tissue reaching both edges, were cut at column 255, 282, 293 or 302 instead of 256 (the
    least-lit column of soft tissue lies anywhere), and one whose empty run straddled the seam at 258, each view then
    padded and shifted (the researcher audit's finding 1)."""
    smooth, body = _body_columns(image)
    cols = image.shape[1]
    lo, hi = int(round(cols * (0.5 - CUT_BAND / 2))), int(round(cols * (0.5 + CUT_BAND / 2)))
    if body is None:
        return cols // 2
    share = body[lo:hi]
    empty = share.min() <= GAP_SHARE
    if not empty:
        counts = smooth.sum(axis=0)
        if counts[cols // 2] < EDGE_COUNTS * counts.max():
            return cols // 2
    least = np.flatnonzero(share <= (GAP_SHARE if empty else share.min() + 1e-9))
    # The middle of the empty (else least-lit) run nearest the image's middle.
    runs = np.split(least, np.flatnonzero(np.diff(least) > 1) + 1)
    best = min(runs, key=lambda run: abs((run[0] + run[-1]) / 2 + lo - cols / 2))
    if best[0] <= cols // 2 - lo <= best[-1]:  # the page's middle is as empty: two halves of one width, none padded
        return cols // 2
    at_edge = best[0] == 0 or best[-1] == len(share) - 1
    if not empty and at_edge and share[cols // 2 - lo] > share.min() + GAP_SHARE:  # lit less toward an edge: no valley
        return None
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
    if cut is None or not two_bodies(image, cut):
        return None
    return split_at(image, cut), cut


def split_at(page: np.ndarray, cut: int) -> np.ndarray:
    """``(2, rows, width)``: the columns of ``page`` left and right of ``cut``, each padded with zeros on its outer
    side to the wider one's width (as :func:`split_side_by_side` splits a page; a mask of the page splits alike)."""
    left, right = page[:, :cut], page[:, cut:]
    width = max(left.shape[1], right.shape[1])
    left = np.pad(left, ((0, 0), (width - left.shape[1], 0)))    # padded on its outer (left) side
    right = np.pad(right, ((0, 0), (0, width - right.shape[1])))  # on its outer (right) side
    return np.stack([left, right])


def bodies_side_by_side(image: np.ndarray, col_mm: float | None = None) -> int:
    """How many whole bodies stand side by side in a 2-D ``image`` wider than a page of two (rows under
    ``SIDE_BY_SIDE_ASPECT[0]`` times its columns, at least :data:`MIN_ROWS` rows, wider than one camera's field where
    ``col_mm`` is known); 1 for any other image.

    A workstation's page may hold more than ANT and POST: both views at two display windows, or two studies. Read as
    one view, its bodies confuse every step after the reader (NM1 four times across a page gave no lesion at all, the
    page's regions named as one body's; session 31), and which two are ANT and POST the page does not say, so the
    reader refuses such a page (:func:`scintiseg.io.read_scan`). A body is a run of columns with :data:`LIT_COLUMN` of
    their rows in a body, at least :data:`MIN_BODY_WIDTH` of the rows wide and holding :data:`MIN_BODY_COUNTS` of the
    counts: arms apart from the trunk are too narrow, a body in a wide frame is one run.
    """
    if image.ndim != 2:
        return 1
    rows, cols = image.shape
    if rows < MIN_ROWS or rows >= SIDE_BY_SIDE_ASPECT[0] * cols:
        return 1
    if col_mm is not None and cols * col_mm <= MAX_FIELD_WIDTH_MM:
        return 1
    smooth, body = _body_columns(image)
    if body is None:
        return 1
    lit = np.flatnonzero(body >= LIT_COLUMN)
    if lit.size == 0:
        return 1
    counts = smooth.sum(axis=0)
    total = float(counts.sum())
    runs = np.split(lit, np.flatnonzero(np.diff(lit) > 1) + 1)
    bodies = sum(1 for run in runs if len(run) >= MIN_BODY_WIDTH * rows
                 and float(counts[run[0]:run[-1] + 1].sum()) >= MIN_BODY_COUNTS * total)
    return max(bodies, 1)


def two_bodies(image: np.ndarray, cut: int) -> bool:
    """Whether the two sides of column ``cut`` hold two bodies, not one body in a wide frame: each side holds at
    least :data:`MIN_SIDE_COUNTS` of the counts (after the cut's 2-pixel Gaussian), and the narrower side's lit
    columns (:data:`LIT_COLUMN` of their rows in a body) are at least :data:`MIN_WIDTH_RATIO` of the wider's.

    One body centred in a 1024 x 512 frame (a phantom drawn on a wide grid, a capture with a wide margin) was cut at
    the edge of its trunk: 7 % of its counts became "ANT", an arm (session 21). A single body cut between arm and
    trunk fails the width ratio (an arm is a fifth of a body's width), one shifted aside fails the counts. Each side
    must also start with a head (:func:`_head_on_top`): a view cut below the shoulders passes the rest.
    """
    smooth, body = _body_columns(image)
    if body is None:
        return False
    counts = smooth.sum(axis=0)
    total = float(counts.sum())
    if total <= 0 or min(float(counts[:cut].sum()), float(counts[cut:].sum())) < MIN_SIDE_COUNTS * total:
        return False
    widths = sorted([int((body[:cut] >= LIT_COLUMN).sum()), int((body[cut:] >= LIT_COLUMN).sum())])
    if not (widths[1] > 0 and widths[0] >= MIN_WIDTH_RATIO * widths[1]):
        return False
    lit = smooth > 0.25 * float(np.median(smooth[smooth > 0.05 * smooth.max()]))  # as _body_columns lights a body
    return _head_on_top(lit[:, :cut]) and _head_on_top(lit[:, cut:])


def _head_on_top(lit: np.ndarray) -> bool:
    """Whether the body lit in ``lit`` (a side of a cut) starts with a head: its widest row within the top
    :data:`HEAD_ROWS` of its lit rows is at most :data:`MAX_HEAD_WIDTH` of its widest row. Two legs of a view cut
    below the shoulders (a 512 x 256 pelvis-to-feet or chest-to-knees field: the shape of a page of two 512 x 128
    bodies) start as wide as they get, and were split into two "views" (session 74). True, unjudged, where the lit is
    the background (nearly all of the side's border lit: a capture shown inverted, hot as dark, whose display the
    reader undoes after the split, :func:`scintiseg.io.read.read_scan`; a view cut across its body lights only part
    of its top and bottom rows)."""
    border = np.concatenate([lit[0], lit[-1], lit[:, 0], lit[:, -1]])
    if border.mean() > 0.9:
        return True
    width = lit.sum(axis=1)
    rows = np.flatnonzero(width > 0.1 * width.max()) if width.max() > 0 else width[:0]
    if rows.size == 0:
        return False
    top, bottom = int(rows[0]), int(rows[-1])
    head = width[top:top + max(1, int(HEAD_ROWS * (bottom - top + 1)))]
    return float(head.max()) <= MAX_HEAD_WIDTH * float(width[top:bottom + 1].max())


def turned_note(shape: tuple[int, int]) -> str:
    """``metadata["turned_upright"]`` of a body stored lying (``shape``: the file's rows and columns) and stood."""
    return f"stored lying ({shape[0]} rows x {shape[1]} columns): turned a quarter clockwise to stand"


def split_note(cut: int) -> str:
    """``metadata["views_split"]`` of a page of two views cut at column ``cut``."""
    return f"ANT (left) and POST (right, as displayed) side by side, cut at column {cut}"


def stood_scan(scan: Scan) -> Scan | None:
    """A one-view ``scan`` holding a body stored lying, turned a quarter clockwise to stand as the reader stands one
    (:func:`stand_lying_body`; ``read_scan(split_views=True)``), its pixel size swapped (or, when assumed, assumed
    again for the standing image) and ``metadata["turned_upright"]`` saying so; else None.

    ``scintiseg dataset import`` stands a lying body with it, as prediction reads one, for a scan read as stored. The
    view keeps its name (``VIEW``, or ``ANT``/``POST`` named by the file's name).
    """
    if len(scan.view_names) != 1:
        return None
    (name,) = scan.view_names
    known_spacing = None if scan.metadata.get("pixel_spacing_assumed") else scan.pixel_spacing
    standing = stand_lying_body(scan.view(name), known_spacing)
    if standing is None:
        return None
    spacing = (scan.pixel_spacing[1], scan.pixel_spacing[0])
    if scan.metadata.get("pixel_spacing_assumed"):
        spacing, why = assumed_pixel_spacing(*standing.shape)
    stood = scan.with_views({name: standing}, pixel_spacing=spacing)
    stood.metadata = with_letters_moved(stood.metadata, lambda letters: turned_letters(letters, -1))
    stood.metadata["turned_upright"] = turned_note(scan.shape)
    stood.metadata[STOOD_KEY], stood.metadata[STORED_SHAPE_KEY] = QUARTER_CLOCKWISE, list(scan.shape)
    if stood.metadata.get("pixel_spacing_assumed"):
        stood.metadata["pixel_spacing_assumed"] = why
    return stood


def split_page(scan: Scan) -> Scan | None:
    """A one-view ``scan`` holding two whole bodies side by side (a page of ANT and POST) split as the reader splits
    one (:func:`split_side_by_side`; ``read_scan(split_views=True)``): views ``ANT`` (left) and ``POST`` (right, as
    displayed), ``metadata["views_split"]`` saying so and ``metadata[SPLIT_COLUMN]`` the cut column of the page
    (:func:`split_at` cuts another array of the page alike); a pixel size that was assumed is assumed again for one
    view. Else None.

    ``scintiseg dataset import`` splits a page with it, as prediction reads one, for a scan read as stored.
    """
    if scan.view_names != ["VIEW"]:
        return None
    known = None if scan.metadata.get("pixel_spacing_assumed") else scan.pixel_spacing[1]
    refuse_many_bodies(scan.view("VIEW"), known, scan.source)
    split = split_side_by_side(scan.view("VIEW"), known)
    if split is None:
        return None
    (ant, post), cut = split
    fixed = scan.with_views({"ANT": ant, "POST": post})
    fixed.metadata.pop(ORIENTATION_KEY, None)  # a page's directions are not its views' (a view is never judged on one)
    fixed.metadata["views_split"] = split_note(cut)
    fixed.metadata[SPLIT_COLUMN] = cut
    fixed.metadata.setdefault(STORED_SHAPE_KEY, list(scan.shape))
    if fixed.metadata.get("pixel_spacing_assumed"):  # the whole-body rows say the pixel of each half
        spacing, fixed.metadata["pixel_spacing_assumed"] = assumed_pixel_spacing(*ant.shape)
        fixed = fixed.with_views(fixed.views, pixel_spacing=spacing)
    return fixed


def refuse_many_bodies(image: np.ndarray, col_mm: float | None, path) -> None:
    """Raise :class:`~scintiseg.errors.ScintisegError` for a page of more than two whole bodies side by side
    (:func:`bodies_side_by_side`): which of them are ANT and POST the page does not say."""
    bodies = bodies_side_by_side(image, col_mm)
    if bodies > 2:
        rows, cols = image.shape
        raise ScintisegError(f"a page of {bodies} whole bodies side by side ({rows} x {cols} pixels): scintiseg reads one "
                             "view, or ANT and POST side by side, and the page does not say which bodies they are; crop "
                             "it to them or save each view as a file (scintiseg predict --no-split-views reads it as one view)", path=path)
