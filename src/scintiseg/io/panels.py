"""A screen capture's viewer furniture, flat panels at the image's edges (toolbars, side panels) and thin frame and
separator lines, set to the scan's background.

A screen capture of a viewer holds the scan's display area and, around it, the viewer's own panels: a toolbar above,
a panel of thumbnails or settings beside it, each a flat field of one grey. Read as part of the scan, such a panel
is a wall of uniform "uptake" along the body: NM1 with a flat panel of grey 190 beside it gave no lesion, with one of
grey 40 five lesions on the panel's edge and the body's, and every view was flagged ``body_truncated`` (session 31).
:func:`blank_flat_panels` finds each side's panel and paints it with the scan's background, so that the image keeps
its size and every coordinate keeps its meaning (nothing is cropped: outlines, boxes and the DICOM outputs stay on
the file's own pixels).

Choices, stated:

- **A panel** is a run of rows (top, bottom) or columns (left, right) from the image's edge, at least
  :data:`MIN_PANEL_DEPTH` deep, in each of which at least :data:`MIN_FLAT_SHARE` of the pixels lie within
  :data:`FLAT_TOLERANCE` grey levels of the edge row's (column's) median; a panel's icons and text may take the rest
  of a row. It ends at the first row that is not so, which must hold at most :data:`MAX_EDGE_SHARE` of its pixels at
  the panel's level (a panel's straight edge).
- **A surround**: runs black (or white) on three or four sides at once are the scan's own margin, whatever else
  (:func:`_surround`): the display area's commonest level is then taken without them.
- **The background** is the most common grey level of the image without its flat edges. A run whose level is the
  background's (within :data:`MIN_PANEL_CONTRAST`), or black on a dark display (white on an inverted one) whatever
  the commonest level (a body filling the frame makes it soft tissue's), is the scan's own empty margin (above the
  head) and is left as it is; a run of another level is a panel. The panel is painted with the
  background, before an inverted display is turned back, so an inverted capture's panel ends black with its margin.
- **Only 8-bit images** (plain exports and captures, and a DICOM screen capture of one view): counts never hold a
  viewer's panel, and a 16-bit image with a flat edge is a scan's own.

:func:`blank_frame_lines` does the same for the viewer's **thin lines**: a frame drawn around a viewport (at the
image's edge or inset in its margin) and the separator between two viewports of a page, one to
:data:`MAX_LINE_WIDTH` pixels wide. Read as part of the scan, a frame reached the image's edge, so every such view was
flagged ``body_truncated`` (its region names and BSI called unreliable), and a separator lay between ANT and POST
(session 32). A line is a run of rows (columns) at most :data:`MAX_LINE_WIDTH` thick, each holding a straight run of
at least :data:`MIN_LINE_SHARE` of the image's width (height) within :data:`FLAT_TOLERANCE` levels of one level more
than :data:`MIN_PANEL_CONTRAST` from the background, with the rows on both sides of it (where there are any) more than
:data:`MIN_PANEL_CONTRAST` from that level over the run. A scan's own row is never so: noise and anatomy move a row of
counts by more than a few levels over a third of the image, and where they do not (soft tissue of a low-count export,
a saturated hard window) its neighbours are at the same level, so the run is thicker than a line.
"""

from __future__ import annotations

import numpy as np

from scintiseg.io.layout import STORED_SHAPE_KEY
from scintiseg.scan import Scan

#: Fewest rows (columns) a panel spans: a toolbar is tens of pixels deep; one or two flat rows are an image's frame.
MIN_PANEL_DEPTH = 4
#: Least share of a row's (column's) pixels at the panel's level.
MIN_FLAT_SHARE = 0.5
#: Grey levels within which a pixel is at the panel's level (JPEG's rounding moves a flat field by a level or two).
FLAT_TOLERANCE = 3
#: Most share of the pixels of the line just inside a panel at the panel's level: a panel ends at a straight edge,
#: where a scan's saturated hot area or soft tissue fades out over rows (session 32: tight chest crops of hard-windowed
#: exports, their top or bottom rows saturated across, were taken for white panels and painted black).
MAX_EDGE_SHARE = 0.2
#: Least difference (grey levels) between a panel's level and the scan's background.
MIN_PANEL_CONTRAST = 10
#: ``Scan.metadata`` key of the panels a reader blanked: ``{side: depth in pixels}``.
PANELS_KEY = "panels_blanked"
#: Most rows (columns) a viewer's line spans: frames and separators are drawn one to three pixels wide, and a
#: separator and the frame beside it merge (3 + 1 rows under a toolbar were left as a band before session 32's end).
#: No scan row of 2,352 exports stood out so at 6 (docs/io.md).
MAX_LINE_WIDTH = 6
#: Least length of a line, as a share of the image's width (height): a frame around one of two viewports of a page
#: spans nearly half of it.
MIN_LINE_SHARE = 0.35
#: Least length of a line in pixels (on a small image, a third of a row is a few pixels of anything).
MIN_LINE_PIXELS = 64
#: ``Scan.metadata`` key of the lines a reader blanked: ``["rows 0-1", "column 265", ...]``.
LINES_KEY = "frame_lines_blanked"


def _flat_depth(lines: np.ndarray) -> tuple[int, float, float]:
    """How many of ``lines`` (rows from the edge inwards, each a 1-D array) are flat at the first line's level, that
    level, and the share of the pixels of the line after the run at the level (0 when the run ends at the far edge)."""
    level = float(np.median(lines[0]))
    depth = 0
    for line in lines:
        share = float(np.mean(np.abs(line.astype(np.float64) - level) <= FLAT_TOLERANCE))
        if share < MIN_FLAT_SHARE:
            return depth, level, share
        depth += 1
    return depth, level, 0.0


def display_area(shape: tuple[int, int], panels: dict[str, int]) -> tuple[slice, slice]:
    """The rows and columns of an image of ``shape`` inside its blanked ``panels`` (:func:`blank_flat_panels`)."""
    rows, cols = shape
    return (slice(panels.get("top", 0), rows - panels.get("bottom", 0)),
            slice(panels.get("left", 0), cols - panels.get("right", 0)))


def _surround(runs: dict[str, tuple[int, float, float]]) -> set[str]:
    """The sides whose flat runs are the scan's own margin around it: black or white (within
    :data:`MIN_PANEL_CONTRAST` of 0 or 255) on at least three sides at one level. A viewer's panels do not surround
    the display at black or white; a scan's background does (session 32: NM1 exported with the display window's top at
    30 % of its hottest pixel, its torso mostly at 255, had its black margins taken for panels on a white display and
    painted white)."""
    for extreme in (0, 255):
        sides = {side for side, (depth, level, _) in runs.items()
                 if depth > 0 and abs(level - extreme) <= MIN_PANEL_CONTRAST}
        if len(sides) >= 3:
            return sides
    return set()


def _margin(level: float, background: int) -> bool:
    """Whether a flat run at ``level`` is the scan's own margin on an image whose commonest level is ``background``:
    black on a dark display, white on an inverted one (a tight crop's commonest level may be soft tissue's)."""
    if background < 128:
        return level <= MIN_PANEL_CONTRAST
    return level >= 255 - MIN_PANEL_CONTRAST


def blank_flat_panels(image: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """``image`` (2-D, uint8) with the flat panels at its edges painted with the scan's background, and the depth in
    pixels of each side's panel (sides without one left out; an empty dict and the image itself when there is none).
    """
    if image.ndim != 2 or image.dtype != np.uint8 or min(image.shape) < 4 * MIN_PANEL_DEPTH:
        return image, {}
    lines = {"top": image, "bottom": image[::-1], "left": image.T, "right": image.T[::-1]}
    runs = {side: _flat_depth(view) for side, view in lines.items()}
    surround = _surround(runs)
    runs = {side: run for side, run in runs.items() if side not in surround}
    rows, cols = image.shape
    depth = {side: runs[side][0] if side in runs else 0 for side in lines}
    inner = image[depth["top"]:rows - depth["bottom"], depth["left"]:cols - depth["right"]]
    if inner.size == 0:
        return image, {}
    background = int(np.argmax(np.bincount(inner.reshape(-1), minlength=256)))
    panels = {side: depth for side, (depth, level, edge) in runs.items()
              if depth >= MIN_PANEL_DEPTH and edge <= MAX_EDGE_SHARE and abs(level - background) > MIN_PANEL_CONTRAST
              and not _margin(level, background)}
    if not panels:
        return image, {}
    blanked = image.copy()
    for side, depth in panels.items():
        if side == "top":
            blanked[:depth] = background
        elif side == "bottom":
            blanked[rows - depth:] = background
        elif side == "left":
            blanked[:, :depth] = background
        else:
            blanked[:, cols - depth:] = background
    return blanked, panels


def _runs(mask: np.ndarray, least: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of every run of True in the 1-D ``mask`` at least ``least`` long."""
    edges = np.flatnonzero(np.diff(np.concatenate(([False], mask, [False])).astype(np.int8)))
    return [(int(start), int(stop)) for start, stop in zip(edges[0::2], edges[1::2]) if stop - start >= least]


def _row_segments(row: np.ndarray, background: int, least: int) -> list[tuple[int, int, int]]:
    """``(level, start, stop)`` of each straight run of ``row`` (int16) at least ``least`` long at one level away from
    ``background`` (each level that fills ``least`` pixels of it: two viewports' frames may differ)."""
    away = row[np.abs(row - background) > MIN_PANEL_CONTRAST]
    if away.size < least:
        return []
    counts = np.bincount(away, minlength=256)
    segments = []
    for level in np.flatnonzero(counts >= least):
        if segments and min(abs(int(level) - other) for other, _, _ in segments) <= FLAT_TOLERANCE:
            continue  # a level next to one already taken: the same line's JPEG rounding
        segments += [(int(level), start, stop) for start, stop in _runs(np.abs(row - level) <= FLAT_TOLERANCE, least)]
    return segments


def _line_rows(image: np.ndarray, background: int) -> list[tuple[int, int, int, int, int]]:
    """The viewer's lines along the rows of ``image``: ``(first row, last row + 1, level, start, stop)``: runs of
    segments (:func:`_row_segments`) at one level over overlapping columns in consecutive rows, at most
    :data:`MAX_LINE_WIDTH` rows thick, standing out of the rows beside them."""
    least = max(MIN_LINE_PIXELS, int(np.ceil(MIN_LINE_SHARE * image.shape[1])))
    groups: list[list[int]] = []  # [first, end, level, start, stop]
    open_groups: list[list[int]] = []
    for index, row in enumerate(image.astype(np.int16)):
        still_open = []
        for level, start, stop in _row_segments(row, background, least):
            group = next((g for g in open_groups if abs(g[2] - level) <= FLAT_TOLERANCE and start < g[4] and g[3] < stop
                          and g[1] == index), None)
            if group is None:
                group = [index, index, level, start, stop]
                groups.append(group)
            group[1], group[3], group[4] = index + 1, max(group[3], start), min(group[4], stop)
            still_open.append(group)
        open_groups = still_open
    return [(first, end, level, start, stop) for first, end, level, start, stop in groups
            if end - first <= MAX_LINE_WIDTH and stop > start and _stands_out(image, first, end, level, start, stop)]


def _stands_out(image: np.ndarray, first: int, end: int, level: int, start: int, stop: int) -> bool:
    """Whether the rows beside ``image[first:end]`` (those there are) lie more than :data:`MIN_PANEL_CONTRAST` from
    ``level`` over the line's columns ``start:stop``."""
    beside = [image[row, start:stop] for row in (first - 1, end) if 0 <= row < image.shape[0]]
    return bool(beside) and all(abs(float(np.median(line)) - level) > MIN_PANEL_CONTRAST for line in beside)


def blank_frame_lines(image: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """``image`` (2-D, uint8) with a viewer's thin frame and separator lines (module docstring) painted with the scan's
    background (its commonest level), and each line's rows or columns (``"rows 0-1"``, ``"column 265"``); an
    empty list and the image itself when there is none."""
    if image.ndim != 2 or image.dtype != np.uint8 or min(image.shape) < 4 * MIN_PANEL_DEPTH:
        return image, []
    background = int(np.argmax(np.bincount(image.reshape(-1), minlength=256)))
    found = [("rows", line) for line in _line_rows(image, background)]
    found += [("columns", line) for line in _line_rows(image.T, background)]
    if not found:
        return image, []
    blanked = image.copy()
    names = []
    for axis, (first, end, level, start, stop) in found:
        if axis == "rows":
            window = blanked[first:end, start:stop]
        else:
            window = blanked[start:stop, first:end]
        window[np.abs(window.astype(np.int16) - level) <= FLAT_TOLERANCE] = background
        names.append(f"{axis} {first}-{end - 1}" if end - first > 1 else f"{axis[:-1]} {first}")
    return blanked, list(dict.fromkeys(names))  # two viewports' frames on the same rows named once


def blank_viewer_furniture(image: np.ndarray, metadata: dict) -> np.ndarray:
    """``image`` (one 2-D view as the file stores it) with a screen capture's flat panels and thin frame and separator
    lines set to its background (:func:`blank_flat_panels`, :func:`blank_frame_lines`; 8-bit images only), recorded
    in ``metadata`` (:data:`PANELS_KEY`, :data:`LINES_KEY`)."""
    image, panels = blank_flat_panels(image)
    if panels:
        metadata[PANELS_KEY] = panels
    image, lines = blank_frame_lines(image)
    if lines:
        metadata[LINES_KEY] = lines
    return image


def blank_capture_panels(scan: Scan) -> Scan:
    """A DICOM screen capture (one 8-bit view) with the viewer's flat panels and frame lines set to its background,
    as plain images are read (:func:`blank_viewer_furniture`); anything else as it is."""
    if len(scan.views) != 1 or scan.views[scan.view_names[0]].dtype != np.uint8:
        return scan
    name = scan.view_names[0]
    notes: dict = {}
    blanked = blank_viewer_furniture(scan.view(name), notes)
    if not notes:
        return scan
    fixed = scan.with_views({name: blanked})
    fixed.metadata.update(notes)
    return fixed


def inside_panels(metadata: dict, image: np.ndarray) -> tuple[slice, slice] | None:
    """The display area inside the panels the reader blanked on ``image`` (one 2-D view as the file stores it), for
    the inversion check to judge (:func:`~scintiseg.io.images.undo_display_inversion`); None when none were blanked
    or the image was since stood or split."""
    panels = metadata.get(PANELS_KEY)
    if not panels or image.ndim != 2 or STORED_SHAPE_KEY in metadata:
        return None
    return display_area(image.shape, panels)
