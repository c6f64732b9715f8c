"""Points on a view as the reader gave it, placed on the file as stored: for outputs that point into the file.

The reader may give a view otherwise than its file holds it: a body stored lying stood by a quarter turn
(:mod:`scintiseg.io.layout`, ``metadata["stood"]``: the turn from the file to the view as read, after the prediction's
half turn where it took the other quarter) and a view its DICOM header says is stored mirrored, mirrored back after
the stand (:mod:`scintiseg.io.patient_sides`, ``metadata["mirrored"]``). Every picture, mask and LabelMe file is on
the view as read; the DICOM SR and GSPS reference the source file's frame, so their outlines are placed back on it
(:func:`points_as_stored`: the mirror undone, then the turn; exact, every point onto the centre of the stored pixel
that the read pixel came from). A page of two views side by side that the reader split (a screen capture of a
whole-body page, ``metadata["split_column"]``; :func:`scintiseg.io.layout.split_at`) has each view's points moved
back to its side of the page: ANT's left by the zeros padded on its outer (left) side, POST's right by the cut.
No file is both stood and split (session 74, tests/io/test_stored_points.py): the plain-image reader stands only a
file at least :data:`~scintiseg.io.layout.LYING_ASPECT` times as wide as tall, which stood is too tall for a page of
two views (at most ``SIDE_BY_SIDE_ASPECT[1]`` times as tall as wide), and a DICOM file or an import is stood or split,
never both (:func:`scintiseg.io.layout.stood_scan`, :func:`~scintiseg.io.layout.split_page`).

Whatever the reading, the view as read is ``numpy.rot90(stored, k)``, its columns then reversed where it was mirrored
back, with ``k`` the recorded turn's (:data:`~scintiseg.io.layout.STOOD_TURNS`): the prediction's half turn comes after
the reader's quarter clockwise and its mirror, and a half turn of a mirrored image is the mirror of the half-turned
image, so the three compose as the other quarter then the mirror, the turn the record names. Undoing the mirror,
then the turn, is therefore exact (tests/io/test_stored_points.py, every way of storing a view).

The other way, for arrays (:func:`stored_as_read`, session 73): an array drawn on the file as stored (a reader's label
image of the file) placed on a view as read, turned by the stand's quarter, cut with the page, mirrored back, as the
reader did to the counts (:meth:`scintiseg.io.import_sources.ScanSource.read_frame` does the same for an import).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from scintiseg.io import SPLIT_COLUMN
from scintiseg.io.layout import STOOD_KEY, STOOD_TURNS, split_at
from scintiseg.io.patient_sides import MIRRORED_KEY


def points_as_stored(points: np.ndarray, view: str, metadata: Mapping, shape: tuple[int, int]) -> np.ndarray:
    """(column, row) points through pixel centres (0-based) of ``view`` as read (``shape``: its rows and columns),
    placed on the file as stored, as ``metadata`` (the scan's) records the reading: columns reversed back for a view
    mirrored back, then turned back by the stand's quarter; on a page split into views, moved to the view's side.
    Unchanged for a view read as stored."""
    moved = np.array(points, dtype=float, copy=True).reshape(-1, 2)
    rows, cols = int(shape[0]), int(shape[1])
    if view in (metadata.get(MIRRORED_KEY) or []):
        moved[:, 0] = (cols - 1) - moved[:, 0]
    k = STOOD_TURNS.get(str(metadata.get(STOOD_KEY)))
    if k is not None:
        x, y = moved[:, 0].copy(), moved[:, 1].copy()
        if k == -1:  # read = rot90(stored, -1): stored row = cols - 1 - x, stored column = y
            moved[:, 0], moved[:, 1] = y, (cols - 1) - x
        else:  # read = rot90(stored, 1): stored row = x, stored column = rows - 1 - y
            moved[:, 0], moved[:, 1] = (rows - 1) - y, x
    cut = metadata.get(SPLIT_COLUMN)
    if isinstance(cut, int) and not isinstance(cut, bool) and view in ("ANT", "POST"):
        moved[:, 0] += cut if view == "POST" else cut - cols  # ANT: padded by cols - cut on its left
    return moved


def stored_as_read(array: np.ndarray, view: str, metadata: Mapping) -> np.ndarray:
    """A 2-D ``array`` of the file as stored (its rows and columns: ``metadata["stored_shape"]`` for a file read stood or
    split) placed on ``view`` as read, as ``metadata`` (the scan's, or a report's ``input``) records the reading: turned
    by the stand's quarter, then cut with a page the reader split (``view`` ANT the left part, POST the right,
    :func:`scintiseg.io.layout.split_at`), then mirrored back where the view was (a page's views never are).
    Unchanged for a view read as stored. Exact for a file stood or split (the inverse of :func:`points_as_stored` for
    every pixel). No reading both stands and splits a file (module docstring), so a record saying both is no reader's:
    callers refuse it (:func:`scintiseg.report.region_masks.placed_mask`)."""
    placed = np.asarray(array)
    k = STOOD_TURNS.get(str(metadata.get(STOOD_KEY)))
    if k is not None:
        placed = np.rot90(placed, k)
    cut = metadata.get(SPLIT_COLUMN)
    if isinstance(cut, int) and not isinstance(cut, bool) and view in ("ANT", "POST"):
        placed = split_at(placed, cut)[0 if view == "ANT" else 1]
    if view in (metadata.get(MIRRORED_KEY) or []):
        placed = placed[:, ::-1]
    return np.ascontiguousarray(placed)


__all__ = ["points_as_stored", "stored_as_read"]
