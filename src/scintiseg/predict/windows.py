"""Where the model looks: windows cut from the whole-body views, and the way back.

A *window* is one model input (a ``(C, H, W)`` array) together with, for every view it predicts, the
box it came from and how to carry the output back to that view's whole-body coordinates. The pipeline
sums window outputs into a whole-body probability map per view and divides by how often each pixel was
seen, so a future whole-body mode (sliding windows over the full scan, overlapping) only adds a function
that yields more windows; nothing downstream changes.

Implemented window sources:

- :func:`thoracic_windows`: the 256 x 256 thoracic crop of paper B §2.1
  (:func:`scintiseg.prepare.crop.thoracic_crop`), one window per scan, built for the model's input mode:

  - ``ant``: a single-view model: one window per view, the ANT crop (or the single ``VIEW``) as is and
    the POST crop mirrored into ANT's orientation (its output mirrored back), so a dual-view scan gets a
    prediction on each view;
  - ``post``: the POST crop mirrored and aligned to ANT (:func:`scintiseg.prepare.views.align_post_to_ant`),
    predicted on POST (the output is moved back by the inverse shift and mirrored);
  - ``aggregate``: ``I_Ant + Mirr(I_Post)`` (paper B Eq. 4), predicted on ANT;
  - ``two_channel``: ANT and aligned mirrored POST as channels, predicted on ANT.

  Fused inputs (aggregate, two_channel) give one prediction in ANT's frame: lesions are reported on ANT
  and measured on ANT's counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.prepare.crop import CropBox, thoracic_crop
from scintiseg.prepare.intensity import normalise
from scintiseg.prepare.views import align_post_to_ant, mirror, shift_image
from scintiseg.scan import Scan

#: Model input modes (as in :data:`scintiseg.train.config.INPUT_MODES`).
INPUT_MODES: tuple[str, ...] = ("ant", "post", "aggregate", "two_channel")


@dataclass
class Window:
    """One model input and the way its output returns to the whole body.

    Attributes:
        image: ``(C, H, W)`` float32 normalised model input.
        targets: view -> function mapping the ``(H, W)`` output of the window to that view's window
            coordinates (identity, or un-shift and mirror for POST), paired with the view's box.
        qc_flags: flags raised while building the window (e.g. ``crop_uncertain``).
    """

    image: np.ndarray
    targets: dict[str, tuple[CropBox, Callable[[np.ndarray], np.ndarray]]]
    qc_flags: list[str]


def _identity(array: np.ndarray) -> np.ndarray:
    return array


def _unalign(shift: tuple[float, float]) -> Callable[[np.ndarray], np.ndarray]:
    """From ANT's frame back to POST as acquired: undo the shift, then mirror."""

    def back(array: np.ndarray) -> np.ndarray:
        return mirror(shift_image(array, (-shift[0], -shift[1]), order=0))

    return back


def thoracic_windows(scan: Scan, input_mode: str, normalisation: str, size: int = 256) -> list[Window]:
    """The thoracic-crop window of ``scan`` for a model of ``input_mode`` (see the module docstring).

    Raises:
        ScintisegError: an unknown input mode, or a mode that needs both views on a one-view scan.
    """
    if input_mode not in INPUT_MODES:
        raise ScintisegError(f"unknown input mode {input_mode!r} (expected one of {', '.join(INPUT_MODES)})")
    crop = thoracic_crop(scan, size=size)
    flags = ["crop_uncertain"] if crop.method != "profile" else []
    views = crop.scan.views
    spacing = scan.pixel_spacing

    def norm(image: np.ndarray) -> np.ndarray:
        return normalise(image, normalisation, pixel_spacing=spacing)

    if input_mode in ("aggregate", "two_channel", "post") and not scan.is_dual_view:
        if input_mode == "post" and "POST" in views:
            return [Window(norm(mirror(views["POST"]))[None], {"POST": (crop.boxes["POST"], mirror)}, flags)]
        raise ScintisegError(
            f"the model takes input mode {input_mode!r}, which needs ANT and POST; the scan has "
            f"{', '.join(scan.view_names)}",
            path=scan.source,
        )
    if input_mode == "ant":
        # A single-view model reads every view it is given: ANT (or VIEW) as is, and POST mirrored into
        # ANT's orientation (the output mirrored back), so lesions seen best from behind are reported too.
        windows = []
        for view in ("ANT", "VIEW"):
            if view in views:
                windows.append(Window(norm(views[view])[None], {view: (crop.boxes[view], _identity)}, flags))
        if "POST" in views:
            windows.append(Window(norm(mirror(views["POST"]))[None], {"POST": (crop.boxes["POST"], mirror)}, flags))
        return windows
    ant = np.asarray(views["ANT"], dtype=np.float32)
    shift, post_aligned = align_post_to_ant(ant, views["POST"])
    post_aligned = np.asarray(post_aligned, dtype=np.float32)
    if abs(shift[0]) + abs(shift[1]) > 10:
        flags.append("views_misaligned")
    if input_mode == "post":
        return [Window(norm(post_aligned)[None], {"POST": (crop.boxes["POST"], _unalign(shift))}, flags)]
    if input_mode == "aggregate":
        image = norm(ant + post_aligned)[None]
    else:
        image = norm(np.stack([ant, post_aligned]))
    return [Window(image, {"ANT": (crop.boxes["ANT"], _identity)}, flags)]
