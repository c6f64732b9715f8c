"""Where the model looks: windows cut from the whole-body views, and the way back.

A *window* is one model input (:class:`~scintiseg.prepare.model_input.ModelInput`, built by the same
code as in training) together with, for every view it predicts, the whole-body box its grid covers.
The pipeline carries each window's output back onto its views' grids
(:meth:`~scintiseg.prepare.model_input.ModelInput.to_view`), sums the outputs into a whole-body
probability map per view and divides by how often each pixel was seen, so a future whole-body mode
(sliding windows over the full scan, overlapping) only adds a function that yields more windows;
nothing downstream changes.

Implemented window sources:

- :func:`thoracic_windows`: the 256 x 256 thoracic crop of paper B §2.1
  (:func:`scintiseg.prepare.crop.thoracic_crop`), one window per model input of the crop
  (:func:`scintiseg.prepare.model_input.model_inputs`): a single-view (``ant``) model gets one window per
  view, the other input modes one window.

QC flags raised here: ``crop_uncertain`` (the thorax was not found by its profile) and
``views_misaligned`` (POST had to move more than 10 pixels to lie on ANT).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scintiseg.prepare.crop import CropBox, thoracic_crop
from scintiseg.prepare.model_input import ModelInput, check_input_mode, model_inputs
from scintiseg.scan import Scan

#: A POST that moves more than this many pixels (rows + columns) to lie on ANT is flagged.
MISALIGNED_PX = 10


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
        misaligned = built.shift is not None and abs(built.shift[0]) + abs(built.shift[1]) > MISALIGNED_PX
        boxes = {view: crop.boxes[view] for view in built.predicted_views}
        windows.append(Window(built, boxes, flags + ["views_misaligned"] if misaligned else list(flags)))
    return windows
