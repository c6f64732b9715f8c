"""What a prediction may be told: :class:`PredictSettings`, ``scintiseg predict``'s flags and ``report.json``'s
``settings``.

A light module (no NumPy): ``predict --help`` builds its flags from these fields
(:func:`scintiseg.config.add_arguments`). Its defaults and choices are therefore written here, not imported from the
modules that own them, which load NumPy and SciPy: :data:`scintiseg.predict.postprocess.DEFAULT_THRESHOLD` and
``DEFAULT_MIN_AREA_PX``, :data:`scintiseg.predict.windows.WINDOW_MODES`, ``TILINGS`` and ``DEFAULT_TILING`` and
:data:`scintiseg.predict.spine_pattern.PATTERN_RATIO` (tests/predict/test_settings.py checks that they agree).

A report's settings are read back (``review``, ``compare``) by
:func:`scintiseg.report.predicted_again.recorded_settings`, with the same rules (:func:`threshold_problem`,
:func:`min_area_problem`, :meth:`PredictSettings.validate`).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from scintiseg.config import Config, option
from scintiseg.errors import ScintisegError

if TYPE_CHECKING:
    from scintiseg.predict.region_model import RegionModel

#: How bones are named (:attr:`PredictSettings.regions`).
REGION_METHODS: tuple[str, ...] = ("auto", "learned", "atlas")
#: Where the model looks (:data:`scintiseg.predict.windows.WINDOW_MODES`).
WINDOW_MODES: tuple[str, ...] = ("whole", "thoracic")
#: How the whole view goes through the network (:data:`scintiseg.predict.windows.TILINGS`).
TILINGS: tuple[str, ...] = ("windows", "one-pass")


def threshold_problem(value: object, shown: Callable[[object], str] = repr) -> str | None:
    """Why ``value`` is no probability threshold (a number in (0, 1]; NaN lies outside), or None. One rule for
    :class:`PredictSettings`, ``predict --threshold`` and a report's recorded settings read back (``review``,
    ``compare``; session 61), each showing the value its own way (``shown``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return f"must be a number in (0, 1], got {shown(value)}"
    return None if 0.0 < float(value) <= 1.0 else f"must lie in (0, 1], got {shown(value)}"


def min_area_problem(value: object, shown: Callable[[object], str] = repr) -> str | None:
    """Why ``value`` is no smallest lesion area (a whole number of pixels, at least 1), or None (as
    :func:`threshold_problem`)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return f"must be a whole number of pixels, at least 1, got {shown(value)}"
    return None if value >= 1 else f"must be at least 1, got {shown(value)}"


def _unknown_keywords_refused(cls: type) -> type:
    """``cls`` whose constructor refuses a keyword that is no field in one line, naming the nearest field and every
    one (API audit 74: ``PredictSettings(thresh=0.5)`` raised the dataclass's bare ``TypeError``; ``from_dict`` already
    said "unknown prediction settings keys"). The constructor's signature stays the dataclass's (``help()``)."""
    made = cls.__init__

    @functools.wraps(made)
    def __init__(self, *args, **kwargs) -> None:
        names = [item.name for item in dataclasses.fields(cls) if item.init]
        unknown = sorted(set(kwargs) - set(names))
        if unknown:
            near = [match for key in unknown for match in difflib.get_close_matches(key, names, n=1)]
            hint = f" (did you mean {' or '.join(near)}?)" if near else ""
            raise ScintisegError(f"unknown {cls.kind} keys: {', '.join(unknown)}{hint}; {cls.__name__} takes "
                                 f"{', '.join(names)}")
        made(self, *args, **kwargs)

    cls.__init__ = __init__
    return cls


@_unknown_keywords_refused
@dataclass
class PredictSettings(Config):
    """Post-processing settings (defaults and their reasons in :mod:`.postprocess`).

    The first six are ``scintiseg predict`` flags (``--min-area`` sets ``min_area_px``); the reading rules' switches
    and the spine pattern's ratio are not (they are there to measure each rule: benchmarks set them).

    Attributes:
        threshold: probability threshold.
        min_area_px: smallest lesion kept, in pixels.
        window: where the model looks: None = the model's own mode (:attr:`LoadedModel.window`),
            ``whole`` (overlapping windows over the whole view) or ``thoracic`` (paper B §2.1).
        regions: how bones are named: ``learned`` (the region network, :mod:`.region_model`; the shipped
            one unless ``region_model`` names another), ``atlas`` (the proportional atlas of :mod:`.regions`),
            or ``auto`` (learned when a region network is installed, else the atlas).
        region_model: a region-network checkpoint (None: the shipped one).
        tiling: how the ``whole`` mode runs the view through the network: ``windows`` (Gaussian-blended
            sliding windows) or ``one-pass`` (the whole view at once; :mod:`.windows`).
        crop_level: bring a polygon crop's input to the level its whole view would have given it
            (:mod:`.crop_level`); False keeps the crop's own level (for measuring it).
        spine_pattern: leave out the calls on the spine no hotter than the vertebrae above and below
            (:mod:`.spine_pattern`); False keeps every call (for measuring it).
        spine_pattern_ratio: how much hotter than the vertebrae above and below a spine call must be to stay
            (:data:`.spine_pattern.PATTERN_RATIO`, 1.3; session 33: 1.2, session 29: 1.1).
        symmetry: leave out the calls in a paired bone that their mirror image across the skeleton's midline
            matches (:mod:`.symmetry`); False keeps them (for measuring it).
        bladder: leave out the calls that cover much of the bladder's hot spot, the network outlining the urine
            (:func:`.bladder.bladder_calls`); False keeps them (for measuring it).
        distal_arm: leave out the calls at an elbow, forearm or hand, more often the injection site or a joint than
            a metastasis (:mod:`.distal_arm`); False keeps them, marked (for measuring it).
        off_skeleton: leave out the calls lying mostly more than 10 mm from every bone of the region map, hot spots
            of the soft tissue (:mod:`.off_skeleton`); False keeps them (for measuring it).
    """

    kind: ClassVar[str] = "prediction settings"

    threshold: float = option(0.5, help="probability threshold")
    min_area_px: int = option(4, flags=("--min-area",), help="smallest lesion kept, pixels")
    window: str | None = option(
        None, choices=WINDOW_MODES, default_help="the mode the model was trained for",
        help="where the model looks: the whole view (overlapping windows) or the thoracic crop of paper B")
    regions: str = option(
        "auto", choices=REGION_METHODS,
        help="how bones are named: the learned region network, the proportional atlas, or auto (learned when "
             "installed)")
    region_model: str | None = option(None, default_help="the shipped one", help="a region-network checkpoint")
    tiling: str = option(
        "windows", choices=TILINGS,
        help="how the whole-view mode feeds the network: overlapping 256-px windows over the rows that hold the "
             "body, Gaussian-blended, or the whole view in one pass (docs/predict.md)")
    crop_level: bool = option(True, flags=())
    spine_pattern: bool = option(True, flags=())
    spine_pattern_ratio: float = option(1.3, flags=())
    symmetry: bool = option(True, flags=())
    bladder: bool = option(True, flags=())
    distal_arm: bool = option(True, flags=())
    off_skeleton: bool = option(True, flags=())

    def validate(self) -> None:
        """Refuse a threshold or smallest area out of range, an unknown window mode, tiling or region method, and a
        spine-pattern ratio that is no positive number (each in one line, as before the typed-config base); then
        :meth:`Config.validate`."""
        for name, problem in (("threshold", threshold_problem(self.threshold)),
                              ("min_area_px", min_area_problem(self.min_area_px))):
            if problem:  # (a threshold of -3 failed deep in the post-processing; 2.5 pixels passed)
                raise ScintisegError(f"{name} {problem}")
        if self.window is not None and self.window not in WINDOW_MODES:  # windows.check_window_mode's line
            raise ScintisegError(f"unknown window mode {self.window!r} (choose from {', '.join(WINDOW_MODES)})")
        if self.tiling not in TILINGS:  # windows.check_tiling's line
            raise ScintisegError(f"unknown tiling {self.tiling!r} (choose from {', '.join(TILINGS)})")
        if not (isinstance(self.spine_pattern_ratio, numbers.Real) and math.isfinite(self.spine_pattern_ratio)
                and self.spine_pattern_ratio > 0):
            raise ScintisegError(f"spine-pattern ratio {self.spine_pattern_ratio!r} is not a positive number")
        if self.regions not in REGION_METHODS:
            raise ScintisegError(f"unknown region method {self.regions!r} (choose from {', '.join(REGION_METHODS)})")
        super().validate()

    def region_network(self, engine: str = "torch") -> RegionModel | None:
        """The region network these settings ask for, run by ``engine`` (the lesion model's), or None for the atlas.

        The region network runs in float: ``onnx-int8`` (and any ONNX engine) runs it with ONNX Runtime in
        float32, an unknown engine name with torch.
        """
        from scintiseg.predict.engines import ONNX_ENGINES  # lazy: start-up time (predict --help reads this module)
        from scintiseg.predict.region_model import SHIPPED_REGION_WEIGHTS, load_region_model  # lazy: start-up time

        engine = "onnx" if engine in ONNX_ENGINES else "torch"
        if self.regions == "atlas":
            return None
        if self.regions == "auto" and self.region_model is None and not SHIPPED_REGION_WEIGHTS.is_file():
            return None
        return load_region_model(self.region_model, engine)
