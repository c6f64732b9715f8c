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
  with a Gaussian weight (:func:`sliding_window_probability`, MONAI's ``sliding_window_inference``;
  Isensee et al., nnU-Net, Nature Methods 2021, "Inference": patches overlapping by half, Gaussian
  importance weighting so that the centre of a patch, where the network saw most context, counts most).

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
- **Gaussian sigma = window / 8** (:data:`GAUSSIAN_SIGMA_SCALE`): MONAI's and nnU-Net's default. MONAI
  floors the weight at a small positive value, so every pixel, the image corners included, is seen.
- **Padding**: a view smaller than the window (a 2.0 mm 1024 x 256 scan resampled to 2.26 mm is 227
  columns wide) is padded with zeros *after* normalisation, MONAI's ``constant`` padding; the
  padded margin is cut off again, so it never reaches the output.

QC flags raised here: ``crop_uncertain`` (the thorax was not found by its profile) and
``views_misaligned`` (POST had to move more than 10 pixels to lie on ANT).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from scintiseg.errors import ScintisegError
from scintiseg.predict.engines import Engine, tensor_predictor
from scintiseg.prepare.crop import CropBox, thoracic_crop
from scintiseg.prepare.model_input import ModelInput, check_input_mode, model_inputs
from scintiseg.scan import Scan

#: A POST that moves more than this many pixels (rows + columns) to lie on ANT is flagged.
MISALIGNED_PX = 10
#: Where the model looks (module docstring).
WINDOW_MODES: tuple[str, ...] = ("whole", "thoracic")
#: Share of a window's side its neighbour overlaps in the whole-view mode (module docstring: why 0.25).
WHOLE_VIEW_OVERLAP = 0.25
#: Sigma of MONAI's Gaussian importance map, as a share of the window side (MONAI and nnU-Net default).
GAUSSIAN_SIGMA_SCALE = 0.125
#: Windows run through the engine in one call (one whole-body ANT+POST scan at 2.26 mm has 10).
WINDOWS_PER_BATCH = 16


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


def sliding_window_probability(
    images: np.ndarray,
    engine: Engine,
    window_size: int,
    overlap: float = WHOLE_VIEW_OVERLAP,
    batch_size: int = WINDOWS_PER_BATCH,
) -> np.ndarray:
    """Lesion probability of ``(N, C, H, W)`` model inputs of any size, by Gaussian-blended sliding windows.

    MONAI's ``sliding_window_inference`` (``mode="gaussian"``) cuts ``window_size`` squares overlapping by
    ``overlap`` (an input smaller than the window is zero-padded), runs ``engine`` on them
    ``batch_size`` at a time, applies the sigmoid per window and blends (module docstring).

    Args:
        images: float32 model inputs of one size (e.g. the ANT and POST inputs of one scan).
        engine: maps ``(B, C, window, window)`` float32 to logits ``(B, 1, window, window)``.
        window_size: the network's window side in pixels.
        overlap: share of a window's side shared with its neighbour, in ``[0, 1)``.
        batch_size: windows per engine call.

    Returns:
        ``(N, H, W)`` float32 probability in [0, 1].
    """
    import torch  # lazy: start-up time
    from monai.inferers import sliding_window_inference  # lazy: start-up time

    if not 0.0 <= overlap < 1.0:
        raise ScintisegError(f"window overlap must lie in [0, 1), got {overlap}")
    predictor = tensor_predictor(engine, activation=expit)
    with torch.inference_mode():
        blended = sliding_window_inference(
            torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)),
            roi_size=(window_size, window_size),
            sw_batch_size=batch_size,
            predictor=predictor,
            overlap=overlap,
            mode="gaussian",
            sigma_scale=GAUSSIAN_SIGMA_SCALE,
            padding_mode="constant",
            cval=0.0,
        )
    return np.asarray(blended[:, 0], dtype=np.float32)
