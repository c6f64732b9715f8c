"""A screen capture's flat panels at the image's edges (toolbars, side panels) set to the scan's background.

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
  of a row. It ends at the first row that is not so.
- **The background** is the most common grey level of the image without its flat edges. A run whose level is the
  background's (within :data:`MIN_PANEL_CONTRAST`), or black on a dark display (white on an inverted one) whatever
  the commonest level (a body filling the frame makes it soft tissue's), is the scan's own empty margin (above the
  head) and is left as it is; a run of another level is a panel. The panel is painted with the
  background, before an inverted display is turned back, so an inverted capture's panel ends black with its margin.
- **Only 8-bit images** (plain exports and captures, and a DICOM screen capture of one view): counts never hold a
  viewer's panel, and a 16-bit image with a flat edge is a scan's own.
"""

from __future__ import annotations

import numpy as np

#: Fewest rows (columns) a panel spans: a toolbar is tens of pixels deep; one or two flat rows are an image's frame.
MIN_PANEL_DEPTH = 4
#: Least share of a row's (column's) pixels at the panel's level.
MIN_FLAT_SHARE = 0.5
#: Grey levels within which a pixel is at the panel's level (JPEG's rounding moves a flat field by a level or two).
FLAT_TOLERANCE = 3
#: Least difference (grey levels) between a panel's level and the scan's background.
MIN_PANEL_CONTRAST = 10
#: ``Scan.metadata`` key of the panels a reader blanked: ``{side: depth in pixels}``.
PANELS_KEY = "panels_blanked"


def _flat_depth(lines: np.ndarray) -> tuple[int, float]:
    """How many of ``lines`` (rows from the edge inwards, each a 1-D array) are flat at the first line's level, and
    that level."""
    level = float(np.median(lines[0]))
    depth = 0
    for line in lines:
        if np.mean(np.abs(line.astype(np.float64) - level) <= FLAT_TOLERANCE) < MIN_FLAT_SHARE:
            break
        depth += 1
    return depth, level


def display_area(shape: tuple[int, int], panels: dict[str, int]) -> tuple[slice, slice]:
    """The rows and columns of an image of ``shape`` inside its blanked ``panels`` (:func:`blank_flat_panels`)."""
    rows, cols = shape
    return (slice(panels.get("top", 0), rows - panels.get("bottom", 0)),
            slice(panels.get("left", 0), cols - panels.get("right", 0)))


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
    rows, cols = image.shape
    inner = image[runs["top"][0]:rows - runs["bottom"][0], runs["left"][0]:cols - runs["right"][0]]
    if inner.size == 0:
        return image, {}
    background = int(np.argmax(np.bincount(inner.reshape(-1), minlength=256)))
    panels = {side: depth for side, (depth, level) in runs.items()
              if depth >= MIN_PANEL_DEPTH and abs(level - background) > MIN_PANEL_CONTRAST
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
