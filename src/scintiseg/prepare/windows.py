"""Square windows of a view: where they lie along a side, and one cut out (training and prediction alike).

Training and prediction both read a view larger than the network's window through windows of its size: training a
whole-body data set's scans on half-overlapping tiles (:func:`scintiseg.train.data.cut_windows`), phantom patients
made on the fly and a site's scans on one window placed at random (:func:`scintiseg.train.synthetic.cut_window`), and
prediction a whole view on tiles blended with a Gaussian weight
(:func:`scintiseg.predict.windows.sliding_window_blend`). The tiles lie where :func:`window_starts` puts them (MONAI's
placement), and a window is cut by :func:`window_at`; ``train`` and ``predict`` may not import each other, so both
live here, below them. The overlap is each caller's choice: 0.5 for training's tiles (the default; nnU-Net's),
:data:`scintiseg.predict.windows.WHOLE_VIEW_OVERLAP` (0.25) for prediction (its module docstring says why).
"""

from __future__ import annotations

import numpy as np

#: The share of a window's side its neighbour overlaps where the caller names none: training's tiles (nnU-Net's
#: patches overlap by half).
HALF_OVERLAP = 0.5


def window_starts(length: int, size: int, overlap: float = HALF_OVERLAP) -> list[int]:
    """First pixels of the ``size`` windows that cover a side of ``length`` pixels, as MONAI places them.

    The step is ``int(size * (1 - overlap))`` (at least 1); windows are laid from 0 until one reaches the end, and
    the last is moved back to end at ``length`` (MONAI's ``_get_scan_interval`` and ``dense_patch_slices``,
    ``monai/inferers/utils.py`` and ``monai/data/utils.py``). A side no longer than the window has one window at 0:
    the caller pads it (:func:`window_at` pads with zeros).

    Args:
        length: the side in pixels.
        size: the window's side in pixels.
        overlap: share of a window's side shared with its neighbour, in ``[0, 1)``.

    Example::

        window_starts(1024, 256)         # [0, 128, 256, 384, 512, 640, 768]
        window_starts(1024, 256, 0.25)   # [0, 192, 384, 576, 768]
        window_starts(200, 256)          # [0]: one window, zero-padded
    """
    if length <= size:
        return [0]
    step = max(int(size * (1 - overlap)), 1)
    return list(range(0, length - size, step)) + [length - size]


def window_at(array: np.ndarray, row: int, col: int, size: int, *, offset: tuple[int, int] = (0, 0),
              dtype: np.dtype | type | None = None) -> np.ndarray:
    """The ``size`` x ``size`` window of a ``(C, H, W)`` array whose first pixel is ``(row, col)``, as a new array.

    Where the array ends inside the window the window holds zeros: a side shorter than ``size`` is padded, the
    array's pixels placed ``offset`` (rows, columns) into the window (0: the padding after them).

    Args:
        array: the ``(C, H, W)`` input or target.
        row, col: the window's first pixel in ``array`` (0 along a side shorter than ``size``).
        size: the window's side in pixels.
        offset: where a short side's pixels start inside the window.
        dtype: the window's type (None: the array's).

    Example::

        window_at(image, 128, 0, 256)   # rows 128-383, columns 0-255 of every channel
    """
    window = np.zeros((array.shape[0], size, size), dtype=array.dtype if dtype is None else dtype)
    part = array[:, row:row + size, col:col + size]
    top, left = offset
    window[:, top:top + part.shape[1], left:left + part.shape[2]] = part
    return window
