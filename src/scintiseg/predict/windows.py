"""Where the model looks: windows cut from the whole-body views, and the way back.

A *window* is one model input (:class:`~scintiseg.prepare.model_input.ModelInput`, built by the same
code as in training) together with, for every view it predicts, the whole-body box its grid covers.
The pipeline carries each window's output back onto its views' grids
(:meth:`~scintiseg.prepare.model_input.ModelInput.to_view`), sums the outputs into a whole-body
probability map per view and divides by how often each pixel was seen.

Window sources (:data:`WINDOW_MODES`):

- ``thoracic`` (:func:`thoracic_windows`): the 256 x 256 thoracic crop of paper B §2.1
  (:func:`scintiseg.prepare.crop.thoracic_crop`), one window per model input of the crop
  (:func:`scintiseg.prepare.model_input.model_inputs`): a single-view (``ant``) model gets one window per
  view, the other input modes one window. The network sees the crop whole, in one pass.
- ``whole`` (:func:`whole_view_windows`): the model input of the *whole* view (normalised on the whole
  view, as training on randomly framed windows of the whole body does), whose box is the whole view. It
  is larger than the network's window, so it is covered by overlapping ``window_size`` squares blended
  with a Gaussian weight (:func:`sliding_window_probability`; Isensee et al., nnU-Net, Nature Methods
  2021, "Inference": patches overlapping by half, Gaussian importance weighting so that the centre of a
  patch, where the network saw most context, counts most).

The blending is MONAI's ``sliding_window_inference`` (``mode="gaussian"``, ``padding_mode="constant"``,
``monai/inferers/utils.py``), rewritten here in NumPy with the same window positions
(:func:`scintiseg.prepare.windows.window_starts`, MONAI's ``_get_scan_interval`` and ``dense_patch_slices``,
the placement training's tiles use too), the same importance
map (:func:`gaussian_importance_map`, MONAI's ``compute_importance_map``), the same zero padding and the
same float32 sums; ``tests/predict/test_windows.py`` checks that both give the same map. Why not MONAI
itself: importing ``monai.inferers`` imports about 1,400 modules more than PyTorch does, matplotlib
among them (which writes ``~/.cache/matplotlib``), and adds seconds to the start of every ``scintiseg
predict`` (``benchmarks/bench_predict.py --startup``); the tiler is about 30 lines and needs neither
PyTorch nor MONAI, so windows run by the ONNX engine need no PyTorch. The windows of all inputs (the ANT and POST of a scan) run
through the engine in one queue, ``batch_size`` at a time (:data:`WINDOWS_PER_BATCH`).

Choices of the whole-view mode the sources leave open, and why:

- **Overlap 0.25** (:data:`WHOLE_VIEW_OVERLAP`, MONAI's default), not nnU-Net's 0.5: measured on
  two-view phantom scans at 2.26 mm (docs/predict.md, "Pixel size and framing"), 0.5 runs 14 windows per
  scan instead of 10 (1.4x the model time), moves the blended probability by a median of 1e-5, and
  improved neither Dice nor the lesion count; and on a 1024-row view every overlap from 1/64 to 0.25
  gives the same 5 windows, so 0.25 is the most overlap the fewest windows allow.
- **Blending probabilities, not logits**: the network's sigmoid is applied per window, then windows are
  averaged with the Gaussian weights, so the blend is a weighted mean of probabilities (as the
  thoracic path's per-pixel average is) and always lies in [0, 1]. nnU-Net blends logits; for a
  sigmoid the two differ only where windows disagree strongly.
- **Gaussian sigma = window / 8** (:data:`GAUSSIAN_SIGMA_SCALE`): MONAI's and nnU-Net's default. The
  weight is floored at its smallest value (at least 1e-3), as MONAI does, so every pixel, the image
  corners included, is seen.
- **Batches of 4 windows** (:data:`WINDOWS_PER_BATCH`), not all 10 of a two-view scan at once: the
  shipped rdinet on 2 CPU threads ran 10 windows in 0.40 s in batches of 4 and 0.51 s in one batch of
  10 (torch; ONNX Runtime 0.28 vs 0.29 s; medians of 7, batch sizes 1-5 and 10 interleaved), as the
  activations of 4 windows stay nearer the caches. The blend does not depend on the batch size.
- **Only the rows that hold the body** (:func:`body_row_span`): a whole-body matrix is longer than most
  patients (1024 rows at 2.26 mm are 231 cm), and the windows are laid over the rows that hold any of the
  patient (or anything as bright) in any view, 40 mm of margin included
  (:func:`scintiseg.prepare.body.body_rows`); the rows beyond get probability 0 and count as seen (there
  is nothing in them to see). A span of up to 832 rows (a body up to about 1.8 m long at 2.26 mm) then
  needs 4 windows per view instead of 5: NM1 (804 rows with the margin) and 3 of the first 8 phantom
  patients (docs/benchmarks.md for the time; docs/predict.md, "Only the rows that hold the body", for the
  results with and without it, which move no more than other window placements move them).
- **Padding**: a view smaller than the window (a 2.0 mm 1024 x 256 scan resampled to 2.26 mm is 227
  columns wide) is padded with zeros *after* normalisation, MONAI's ``constant`` padding (half the
  missing pixels before, the rest after); the padded margin is cut off again, so it never reaches the
  output.

How the whole view goes through the network (:data:`TILINGS`, ``--tiling``): ``windows`` (the
Gaussian-blended sliding windows above) or ``one-pass`` (:func:`one_pass_probability`: the whole view at
once through the fully convolutional network, zero-padded to a multiple of its down-sampling factor;
issue 15 names both and asks for the one that measures better). The default and the measurement behind
it are in :data:`DEFAULT_TILING`.

QC flags raised here: ``crop_uncertain`` (the thorax was not found by its profile) and
``views_misaligned`` (POST had to move more than 10 pixels to lie on ANT).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from scintiseg.errors import ScintisegError
from scintiseg.predict.engines import Engine
from scintiseg.prepare.body import body_rows
from scintiseg.prepare.crop import CropBox, thoracic_crop
from scintiseg.prepare.model_input import ModelInput, check_input_mode, model_inputs
from scintiseg.prepare.windows import window_starts
from scintiseg.scan import Scan

#: A POST that moves more than this many pixels (rows + columns) to lie on ANT is flagged.
MISALIGNED_PX = 10
#: Where the model looks (module docstring).
WINDOW_MODES: tuple[str, ...] = ("whole", "thoracic")
#: Share of a window's side its neighbour overlaps in the whole-view mode (module docstring: why 0.25).
WHOLE_VIEW_OVERLAP = 0.25
#: Sigma of MONAI's Gaussian importance map, as a share of the window side (MONAI and nnU-Net default).
GAUSSIAN_SIGMA_SCALE = 0.125
#: Windows run through the engine in one call (module docstring: why 4).
WINDOWS_PER_BATCH = 4
#: Floor of the Gaussian importance map (MONAI's ``compute_importance_map``).
MIN_IMPORTANCE = 1e-3
#: How the whole view goes through the network (module docstring).
TILINGS: tuple[str, ...] = ("windows", "one-pass")
#: The tiling of the whole-view mode unless told otherwise.
DEFAULT_TILING = "windows"


@dataclass
class Window:
    """One model input and where its output returns on the whole body.

    Attributes:
        model_input: the input and the map from its grid back to each predicted view's grid.
        boxes: predicted view -> the box of that whole-body view the input's grid covers.
        qc_flags: flags raised while building the window (e.g. ``crop_uncertain``).
    """

    model_input: ModelInput
    boxes: dict[str, CropBox]
    qc_flags: list[str]

    @property
    def image(self) -> np.ndarray:
        """The ``(C, H, W)`` float32 normalised model input."""
        return self.model_input.image


def check_window_mode(window: str) -> None:
    """Raise a :class:`ScintisegError` naming the choices unless ``window`` is one of :data:`WINDOW_MODES`."""
    if window not in WINDOW_MODES:
        raise ScintisegError(f"unknown window mode {window!r} (choose from {', '.join(WINDOW_MODES)})")


def _alignment_flags(built: ModelInput, flags: list[str]) -> list[str]:
    misaligned = built.shift is not None and abs(built.shift[0]) + abs(built.shift[1]) > MISALIGNED_PX
    return flags + ["views_misaligned"] if misaligned else list(flags)


def thoracic_windows(scan: Scan, input_mode: str, normalisation: str, size: int = 256) -> list[Window]:
    """The thoracic-crop windows of ``scan`` for a model of ``input_mode`` (see the module docstring).

    Raises:
        ScintisegError: an unknown input mode, or a mode that needs both views on a one-view scan.
    """
    check_input_mode(input_mode)
    crop = thoracic_crop(scan, size=size)
    flags = ["crop_uncertain"] if crop.method != "profile" else []
    windows = []
    for built in model_inputs(crop.scan, input_mode, normalisation):
        boxes = {view: crop.boxes[view] for view in built.predicted_views}
        windows.append(Window(built, boxes, _alignment_flags(built, flags)))
    return windows


def whole_view_windows(scan: Scan, input_mode: str, normalisation: str) -> list[Window]:
    """One window per model input of the whole ``scan``, its box the whole view (module docstring).

    The inputs are larger than the network's window: run them with :func:`sliding_window_probability`.

    Raises:
        ScintisegError: an unknown input mode, or a mode that needs both views on a one-view scan.

    Example::

        windows = whole_view_windows(scan, "ant", "percentile")
        probability = sliding_window_probability(np.stack([w.image for w in windows]), engine, 256)
    """
    check_input_mode(input_mode)
    rows, cols = scan.shape
    windows = []
    for built in model_inputs(scan, input_mode, normalisation):
        boxes = {view: CropBox(view, 0, 0, rows, cols) for view in built.predicted_views}
        windows.append(Window(built, boxes, _alignment_flags(built, [])))
    return windows


def body_row_span(scan: Scan, window_size: int) -> tuple[int, int]:
    """Rows ``[first, stop)`` of ``scan`` the whole-view windows cover (module docstring): the union of its
    views' :func:`~scintiseg.prepare.body.body_rows`, widened about its middle to at least ``window_size``
    rows when the view has them.

    Example::

        first, stop = body_row_span(scan, 256)   # e.g. (70, 874) on NM1
    """
    rows = scan.shape[0]
    spans = [body_rows(scan.view(view), scan.pixel_spacing) for view in scan.view_names]
    first, stop = (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else (0, rows)
    missing = window_size - (stop - first)
    if missing > 0:
        first = min(max(first - missing // 2, 0), max(rows - window_size, 0))
        stop = min(first + window_size, rows)
    return first, stop


def check_tiling(tiling: str) -> None:
    """Raise a :class:`ScintisegError` naming the choices unless ``tiling`` is one of :data:`TILINGS`."""
    if tiling not in TILINGS:
        raise ScintisegError(f"unknown tiling {tiling!r} (choose from {', '.join(TILINGS)})")


def one_pass_probability(images: np.ndarray, engine: Engine, multiple: int) -> np.ndarray:
    """Lesion probability of ``(N, C, H, W)`` model inputs of any size, each through the network in one pass.

    Every input is zero-padded (after normalisation, as the windows are: half the missing pixels before,
    the rest after) to a multiple of ``multiple`` per axis, the network's down-sampling factor, so that
    every pooling step halves an even size; all inputs go to ``engine`` in one call, the sigmoid of its
    first output channel is taken and the padding is cut off again.

    Args:
        images: float32 model inputs of one size.
        engine: maps ``(B, C, H, W)`` float32 to logits ``(B, K, H, W)`` for any ``H, W`` that are
            multiples of ``multiple`` (a fully convolutional network).
        multiple: the network's down-sampling factor (``2**depth``), or any multiple of it.

    Returns:
        ``(N, H, W)`` float32 probability in [0, 1].

    Example::

        probability = one_pass_probability(np.stack([w.image for w in windows]), engine, 16)
    """
    if multiple < 1:
        raise ValueError(f"multiple must be positive, got {multiple}")
    images = np.ascontiguousarray(images, dtype=np.float32)
    rows, cols = images.shape[-2:]
    missing = [-n % multiple for n in (rows, cols)]
    pad = [(m // 2, m - m // 2) for m in missing]
    if any(missing):
        images = np.pad(images, [(0, 0), (0, 0), *pad])
    logits = np.asarray(engine(images)[:, 0], dtype=np.float32)
    (top, _), (left, _) = pad
    return np.ascontiguousarray(expit(logits[:, top:top + rows, left:left + cols]))


def gaussian_importance_map(size: int, sigma_scale: float = GAUSSIAN_SIGMA_SCALE) -> np.ndarray:
    """The ``(size, size)`` float32 Gaussian weight of a window's pixels, 1 at the centre (MONAI's
    ``compute_importance_map``, ``mode="gaussian"``): ``exp(-x^2 / (2 sigma^2))`` per axis with
    ``sigma = sigma_scale * size`` and ``x`` measured from the window centre, multiplied, then floored at
    its smallest value or :data:`MIN_IMPORTANCE`, whichever is larger."""
    x = np.arange(-(size - 1) / 2.0, (size - 1) / 2.0 + 1, dtype=np.float32)
    profile = np.exp(x**2 / np.float32(-2 * (size * sigma_scale) ** 2))
    weight = profile[:, None] * profile[None, :]
    return np.maximum(weight, max(float(weight.min()), MIN_IMPORTANCE)).astype(np.float32)


def sliding_window_blend(
    images: np.ndarray,
    predict: Callable[[np.ndarray], np.ndarray],
    window_size: int,
    overlap: float = WHOLE_VIEW_OVERLAP,
    batch_size: int = WINDOWS_PER_BATCH,
    sigma_scale: float = GAUSSIAN_SIGMA_SCALE,
) -> np.ndarray:
    """Gaussian-blended sliding-window maps of ``(N, C, H, W)`` inputs of any size (module docstring).

    Every window of every input goes to ``predict`` in batches of ``batch_size``; its ``(B, K, window,
    window)`` output maps are weighted by :func:`gaussian_importance_map`, summed onto the input's grid
    and divided by the summed weight. An input smaller than the window is zero-padded (half before, half
    after), and the padding is cut off again.

    Args:
        images: float32 inputs of one size.
        predict: maps ``(B, C, window, window)`` float32 to ``(B, K, window, window)`` maps, already
            activated (probabilities), so that the blend is a weighted mean of probabilities.
        window_size: the network's window side in pixels.
        overlap: share of a window's side shared with its neighbour, in ``[0, 1)``.
        batch_size: windows per ``predict`` call.
        sigma_scale: Gaussian sigma as a share of the window side.

    Returns:
        ``(N, K, H, W)`` float32 blended maps.

    Example::

        probability = sliding_window_blend(images, lambda b: expit(engine(b)), 256)[:, 0]
    """
    if not 0.0 <= overlap < 1.0:
        raise ScintisegError(f"window overlap must lie in [0, 1), got {overlap}")
    images = np.ascontiguousarray(images, dtype=np.float32)
    count, _, rows, cols = images.shape
    pad = [(max(window_size - n, 0) // 2, max(window_size - n, 0) - max(window_size - n, 0) // 2) for n in (rows, cols)]
    if any(any(p) for p in pad):
        images = np.pad(images, [(0, 0), (0, 0), *pad])
    padded_rows, padded_cols = images.shape[-2:]
    corners = [(r, c) for r in window_starts(padded_rows, window_size, overlap)
               for c in window_starts(padded_cols, window_size, overlap)]
    weight = gaussian_importance_map(window_size, sigma_scale)
    total_weight = np.zeros((padded_rows, padded_cols), dtype=np.float32)
    for r, c in corners:
        total_weight[r:r + window_size, c:c + window_size] += weight
    jobs = [(n, r, c) for n in range(count) for r, c in corners]
    blended = np.zeros((count, 1, padded_rows, padded_cols), dtype=np.float32)  # K read off the first output
    for first in range(0, len(jobs), batch_size):
        batch = jobs[first:first + batch_size]
        windows = np.stack([images[n, :, r:r + window_size, c:c + window_size] for n, r, c in batch])
        maps = np.asarray(predict(windows), dtype=np.float32)
        if first == 0 and maps.shape[1] != 1:
            blended = np.zeros((count, maps.shape[1], padded_rows, padded_cols), dtype=np.float32)
        for (n, r, c), window_map in zip(batch, maps):
            blended[n, :, r:r + window_size, c:c + window_size] += window_map * weight
    blended /= total_weight
    (top, _), (left, _) = pad
    return blended[:, :, top:top + rows, left:left + cols]


def sliding_window_probability(
    images: np.ndarray,
    engine: Engine,
    window_size: int,
    overlap: float = WHOLE_VIEW_OVERLAP,
    batch_size: int = WINDOWS_PER_BATCH,
) -> np.ndarray:
    """Lesion probability of ``(N, C, H, W)`` model inputs of any size, by Gaussian-blended sliding windows.

    :func:`sliding_window_blend` with the sigmoid of ``engine``'s first output channel, applied per
    window (module docstring: blending probabilities, not logits).

    Args:
        images: float32 model inputs of one size (e.g. the ANT and POST inputs of one scan).
        engine: maps ``(B, C, window, window)`` float32 to logits ``(B, 1, window, window)``.
        window_size: the network's window side in pixels.
        overlap: share of a window's side shared with its neighbour, in ``[0, 1)``.
        batch_size: windows per engine call.

    Returns:
        ``(N, H, W)`` float32 probability in [0, 1].
    """
    def lesion_probability(batch: np.ndarray) -> np.ndarray:
        return expit(np.asarray(engine(batch)[:, :1], dtype=np.float32))

    return np.ascontiguousarray(sliding_window_blend(images, lesion_probability, window_size, overlap, batch_size)[:, 0])
