"""The model input of every input mode, built from a :class:`~scintiseg.scan.Scan`, and the way back.

Training (:mod:`scintiseg.train.data`, on a thoracic-crop data set) and prediction
(:mod:`scintiseg.predict.windows`, on the thoracic crop of a whole-body scan) both call this module, so a
network sees at prediction exactly the numbers it was trained on. The *input mode* says which views the
network reads and how they are combined (:data:`INPUT_MODES`):

- ``ant``: a single-view network. ANT (or the single ``VIEW``) is read as is; POST is mirrored into
  ANT's orientation (:func:`~scintiseg.prepare.views.mirror`), so one network reads either view and a
  dual-view scan gives one input per view (:func:`model_inputs`). Training reads one view per scan:
  ANT, else the single ``VIEW``, else the mirrored POST.
- ``post``: POST mirrored and aligned to ANT (:func:`~scintiseg.prepare.views.align_post_to_ant`); a
  scan holding POST alone is mirrored only. Its output belongs to POST.
- ``aggregate``: ``I_Ant + Mirr(I_Post)`` (paper B Eq. 4), POST aligned first; one channel.
- ``two_channel``: ANT and the aligned mirrored POST as two channels.

The fused modes (aggregate, two_channel) need both views and give one output, in ANT's frame: lesions
are reported on ANT. Their training target is the union of the ANT mask and the POST mask carried the
way POST was (a lesion seen in either view is a lesion).

Normalisation (:func:`scintiseg.prepare.intensity.normalise`) comes last and treats every channel on its
own: the views are combined in float32 counts, then each channel is normalised with the body found in
that channel's own counts (``two_channel`` therefore normalises ANT and POST each by its own body).

Every view read into an input has a :class:`ViewGrid`: the map from the view's grid to the input's
(mirror, then shift) and back (un-shift, then mirror). Targets travel forward on it, outputs backward.

Example::

    built = model_input(crop.scan, "aggregate", "percentile")
    target = built.target(masks)                  # (1, H, W) float32, for training
    ant_probability = built.to_view(output, "ANT")  # the output on ANT's grid
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.prepare.intensity import normalise
from scintiseg.prepare.views import align_post_to_ant, mirror, shift_image
from scintiseg.scan import Scan

#: Model input modes: which views the network reads and how they are combined (module docstring).
INPUT_MODES: tuple[str, ...] = ("ant", "post", "aggregate", "two_channel")
#: The fused modes' channels as another tool is told of them (:func:`fused_counts`; nnU-Net's ``channel_names``).
FUSED_CHANNELS: dict[str, tuple[str, ...]] = {"two_channel": ("ANT", "POST_mirrored"),
                                              "aggregate": ("ANT_plus_POST_mirrored",)}


@dataclass(frozen=True)
class ViewGrid:
    """How one view's grid lies on the model input's grid: mirrored left-right, then shifted.

    Attributes:
        mirrored: the view is POST, mirrored into ANT's orientation.
        shift: ``(rows, cols)`` whole-pixel shift applied after mirroring (POST aligned to ANT).
    """

    mirrored: bool = False
    shift: tuple[float, float] = (0.0, 0.0)

    def to_input(self, array: np.ndarray) -> np.ndarray:
        """An array on the view's grid (a mask, a label map) carried onto the input's grid."""
        moved = mirror(array) if self.mirrored else array
        # Pixels shifted in from outside are 0, as in align_post_to_ant.
        return shift_image(moved, self.shift, order=0) if self.shift != (0.0, 0.0) else moved

    def to_view(self, array: np.ndarray) -> np.ndarray:
        """An array on the input's grid (the network's output) carried back onto the view's grid."""
        back = shift_image(array, (-self.shift[0], -self.shift[1]), order=0) if self.shift != (0.0, 0.0) else array
        return mirror(back) if self.mirrored else back


@dataclass
class ModelInput:
    """One model input and how it relates to the views of its scan.

    Attributes:
        image: ``(C, H, W)`` float32 normalised network input.
        sources: view -> :class:`ViewGrid` of every view read into ``image``.
        predicted_views: the views the network's output is reported on (ANT for the fused modes).
        shift: the alignment shift of the mirrored POST onto ANT, or None when POST was not aligned.
    """

    image: np.ndarray
    sources: dict[str, ViewGrid]
    predicted_views: tuple[str, ...]
    shift: tuple[float, float] | None = None

    def target(self, masks: dict[str, np.ndarray]) -> np.ndarray:
        """The training target ``(1, H, W)`` float32: the union of the source views' masks on the input grid.

        Args:
            masks: view -> lesion mask on that view's grid; a source view without one counts as lesion-free.
        """
        shape = self.image.shape[-2:]
        union = np.zeros(shape, dtype=bool)
        for view, grid in self.sources.items():
            mask = np.asarray(masks.get(view, np.zeros(shape, dtype=bool)), dtype=bool)
            union = union | grid.to_input(mask)
        return union[None].astype(np.float32)

    def to_view(self, output: np.ndarray, view: str) -> np.ndarray:
        """The network's ``(H, W)`` output carried back onto ``view``'s grid (a view in ``predicted_views``)."""
        if view not in self.predicted_views:
            raise ScintisegError(f"this input predicts {', '.join(self.predicted_views)}, not {view}")
        return self.sources[view].to_view(output)


def check_input_mode(input_mode: str) -> None:
    """Raise a :class:`ScintisegError` naming the choices unless ``input_mode`` is one of :data:`INPUT_MODES`."""
    if input_mode not in INPUT_MODES:
        raise ScintisegError(f"unknown input mode {input_mode!r} (expected one of {', '.join(INPUT_MODES)})")


def input_views(input_mode: str, views) -> tuple[str, ...]:
    """The views of ``views`` (a scan's or a data set's view names) that :func:`model_input` reads for ``input_mode``
    (default view of ``ant``: ANT, else ``VIEW``, else POST); a view lacking from ``views`` is named anyway, so a
    caller checking annotations finds it missing.

    Example::

        input_views("ant", ["ANT", "POST"])          # ("ANT",)
        input_views("two_channel", ["ANT", "POST"])  # ("ANT", "POST")
    """
    check_input_mode(input_mode)
    if input_mode == "ant":
        return (next((name for name in ("ANT", "VIEW", "POST") if name in views), "ANT"),)
    if input_mode == "post":
        return ("POST",)
    return ("ANT", "POST")


def _normalise_channels(channels: list[np.ndarray], normalisation: str, pixel_spacing: tuple[float, float]) -> np.ndarray:
    """``(C, H, W)`` float32 stack of the channels, each normalised on its own (module docstring)."""

    def one(channel: np.ndarray) -> np.ndarray:
        channel = np.asarray(channel, dtype=np.float32)
        if normalisation == "none":
            return channel
        return np.asarray(normalise(channel, normalisation, pixel_spacing=pixel_spacing), dtype=np.float32)

    return np.stack([one(channel) for channel in channels]).astype(np.float32)


def _single_view_input(scan: Scan, view: str, normalisation: str) -> ModelInput:
    grid = ViewGrid(mirrored=view == "POST")
    image = _normalise_channels([grid.to_input(scan.view(view))], normalisation, scan.pixel_spacing)
    return ModelInput(image, {view: grid}, (view,))


def model_input(scan: Scan, input_mode: str, normalisation: str = "none", *, view: str | None = None) -> ModelInput:
    """The model input of ``scan`` for a network of ``input_mode`` (see the module docstring).

    Args:
        scan: ANT and POST as acquired, or a single view (ANT, POST or ``VIEW``).
        input_mode: one of :data:`INPUT_MODES`.
        normalisation: a method of :func:`scintiseg.prepare.intensity.normalise`, applied per channel
            after the views are combined.
        view: for ``input_mode="ant"``, the view to read (default: ANT, else ``VIEW``, else POST).

    Raises:
        ScintisegError: an unknown input mode, a mode that needs ANT and POST on a scan lacking one,
            or views too far apart to be aligned.
    """
    check_input_mode(input_mode)
    if input_mode == "ant":
        view = view or next(name for name in ("ANT", "VIEW", "POST") if name in scan.views)
        return _single_view_input(scan, view, normalisation)
    if view is not None:
        raise ScintisegError(f"input mode {input_mode!r} reads its views itself; a view ({view}) is for 'ant'")
    if input_mode == "post" and scan.view_names == ["POST"]:
        return _single_view_input(scan, "POST", normalisation)
    if not scan.is_dual_view:
        raise ScintisegError(
            f"input mode {input_mode!r} needs ANT and POST; the scan has {', '.join(scan.view_names)}",
            path=scan.source,
        )
    ant = np.asarray(scan.view("ANT"), dtype=np.float32)
    shift, post_aligned = align_post_to_ant(ant, scan.view("POST"))
    post_aligned = np.asarray(post_aligned, dtype=np.float32)
    post_grid = ViewGrid(mirrored=True, shift=shift)
    if input_mode == "post":
        image = _normalise_channels([post_aligned], normalisation, scan.pixel_spacing)
        return ModelInput(image, {"POST": post_grid}, ("POST",), shift)
    channels = [ant + post_aligned] if input_mode == "aggregate" else [ant, post_aligned]
    image = _normalise_channels(channels, normalisation, scan.pixel_spacing)
    return ModelInput(image, {"ANT": ViewGrid(), "POST": post_grid}, ("ANT",), shift)


def model_inputs(scan: Scan, input_mode: str, normalisation: str = "none") -> list[ModelInput]:
    """Every input a network of ``input_mode`` reads on ``scan``: one per view for ``ant``, else one.

    Example::

        [built.predicted_views for built in model_inputs(scan, "ant")]  # [("ANT",), ("POST",)]
    """
    check_input_mode(input_mode)
    if input_mode == "ant":
        return [model_input(scan, "ant", normalisation, view=view) for view in scan.view_names]
    return [model_input(scan, input_mode, normalisation)]


def fused_counts(scan: Scan, masks: dict[str, np.ndarray], input_mode: str) -> tuple[np.ndarray, np.ndarray]:
    """A study as a network of a fused mode reads it, in counts, with its target: for another tool to train on the
    same input (``scintiseg dataset export-nnunet --fuse``, session 50).

    Args:
        scan: ANT and POST.
        masks: view -> lesion mask of both views (a view without one counts as lesion-free).
        input_mode: ``two_channel`` (ANT and the aligned mirrored POST) or ``aggregate`` (their sum, paper B Eq. 4).

    Returns:
        ``(channels, target)``: ``(C, H, W)`` float32 counts, not normalised (the other tool normalises), and the
        ``(H, W)`` boolean union of the two views' masks on ANT's grid (module docstring).

    Raises:
        ScintisegError: another mode, a scan lacking ANT or POST, or views too far apart to be aligned.
    """
    if input_mode not in FUSED_CHANNELS:
        raise ScintisegError(f"{input_mode!r} is no fused mode (expected one of {', '.join(FUSED_CHANNELS)})")
    built = model_input(scan, input_mode, "none")
    return built.image, built.target(masks)[0] > 0.5
