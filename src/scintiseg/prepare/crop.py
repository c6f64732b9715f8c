"""Thoracic crop of a whole-body bone scan (paper B §2.1).

Paper B (§2.1) segments a ``size x size`` (256 x 256) thoracic region cut from the 1024 x 256 whole-body scan
by an "empirical cropping method" (Li et al. 2022) in three steps (paper A, §2.1, "extracted the patients' thoracic
regions" without giving a size or a method; we cut its crops the same way): whole body -> body area -> upper body
-> thoracic region. The steps are not specified further; this module's version, step by step:

1. **Body area** (:func:`scintiseg.prepare.body.body_mask`): smoothed counts above 5 % of their 99th
   percentile, largest component, small holes filled. Found on ``ANT + Mirr(POST)`` when both views exist (twice
   the counts, and both views share one frame once POST is mirrored), else on the one view.
2. **Upper body**: from the body mask, the head top ``t`` (first body row), the lowest body row ``b``
   and the body length ``H = b - t + 1`` (at least 600 mm, else "too short"). For each row the width of
   the *central run* (the run of body pixels that contains the body's midline column) is measured, so
   that arms held away from the trunk or resting on the abdomen below the shoulders do not count. The
   head width is the widest central run in ``t + [0, 0.09] H``; the first row below ``t + 0.06 H`` whose
   central run is 1.5 x the head width lies below the shoulder line; the neck is the narrowest central
   run between the head's widest row and that row; the shoulder line is the first row below the neck
   where the central run has widened half-way from the neck width to the widest central run down to
   ``t + 0.35 H``. When there is no such widening, or it lies outside ``t + [0.07, 0.30] H``, the
   shoulder line falls back to the anatomical proportion ``t + 0.16 H`` and ``CropResult.method`` says
   ``"proportion"``.
3. **Thoracic region**: rows from ``shoulder - 0.05 H`` (acromion and clavicles sit on the shoulder line,
   the upper scapulae just above) to ``shoulder + 0.27 H`` (the 12th ribs and T12, with a margin). The
   ``size``-row crop is centred on that span; when the span is longer than ``size`` its top is kept (the
   upper thorax holds most thoracic metastases). Columns are centred on the body's midline in the thoracic
   rows. The box is finally moved (not shrunk) to lie inside the image.

**POST** is stored as acquired, mirrored left-right relative to ANT. The box is computed once, in ANT's
frame; POST's box has the same rows and mirrored columns (``left_post = W - left - width``). A mask drawn
on the POST crop therefore maps back to the POST whole-body image, and
``mirror(crop_post) == crop(mirror(post), ant_box)``, so :mod:`scintiseg.prepare.views` aligns crops
exactly as it would align whole-body views.

Every box is kept in :class:`CropResult` (and in the cropped scan's ``metadata["crop"]``), so that a
mask or prediction on the crop maps back to whole-body coordinates exactly
(:meth:`CropResult.to_whole_body`).

Errors: an image without a body outline, a body too short to hold head and thorax, or an image smaller
than the crop raise :class:`~scintiseg.errors.ScintisegError` rather than returning a crop of noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from scintiseg.errors import ScintisegError
from scintiseg.prepare.body import body_mask
from scintiseg.scan import Scan

#: The head's width is measured from the crown down to this fraction of the body length.
HEAD_FRACTION = 0.09
#: The shoulders are searched from this fraction of the body length below the crown.
NECK_WINDOW = (0.06, 0.35)
#: A central run this many times the head width is below the shoulder line.
SHOULDER_WIDENING = 1.5
#: Where a detected shoulder line is believed, as fractions of the body length below the head top.
SHOULDER_WINDOW = (0.07, 0.30)
#: Shoulder line used when none is detected (fraction of body length below the head top).
SHOULDER_FALLBACK = 0.16
#: The thorax, as fractions of body length above and below the shoulder line.
THORAX_ABOVE_SHOULDER = 0.05
THORAX_BELOW_SHOULDER = 0.27
#: A body shorter than this (mm) cannot be a whole body holding head and thorax.
MIN_BODY_LENGTH_MM = 600.0


@dataclass(frozen=True)
class CropBox:
    """A rectangle in one view's whole-body pixel coordinates: rows ``top:top+height``, cols ``left:left+width``."""

    view: str
    top: int
    left: int
    height: int
    width: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.top + self.height), slice(self.left, self.left + self.width)

    def to_json(self) -> dict:
        return {"view": self.view, "top": self.top, "left": self.left, "height": self.height, "width": self.width}

    @classmethod
    def from_json(cls, data: dict, view: str | None = None) -> "CropBox":
        try:
            return cls(
                view=str(view if view is not None else data["view"]),
                top=int(data["top"]),
                left=int(data["left"]),
                height=int(data["height"]),
                width=int(data["width"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ScintisegError(f"not a crop box ({type(exc).__name__}: {exc}): {data!r}") from None

    def mirrored(self, image_width: int, view: str) -> "CropBox":
        """The same box seen in a left-right mirrored image of ``image_width`` columns."""
        return CropBox(view, self.top, image_width - self.left - self.width, self.height, self.width)

    def crop(self, array: np.ndarray) -> np.ndarray:
        """The box's part of a whole-body array (image, mask, label map); a copy."""
        rows, cols = array.shape[:2]
        if self.top < 0 or self.left < 0 or self.top + self.height > rows or self.left + self.width > cols:
            raise ScintisegError(f"crop box {self.to_json()} does not fit an image of {rows} x {cols}")
        return np.array(array[self.slices], copy=True)

    def uncrop(self, array: np.ndarray, whole_shape: tuple[int, int], fill=0) -> np.ndarray:
        """Place a crop-sized ``array`` back at the box in a ``whole_shape`` array filled with ``fill``."""
        if array.shape[:2] != (self.height, self.width):
            raise ScintisegError(
                f"array of shape {array.shape[:2]} does not match crop box {self.height} x {self.width}"
            )
        whole = np.full(tuple(whole_shape) + array.shape[2:], fill, dtype=array.dtype)
        whole[self.slices] = array
        return whole


@dataclass
class CropResult:
    """The thoracic crop of a scan: one box per view, the cropped scan, and the landmarks that placed it.

    Args:
        boxes: view -> :class:`CropBox` in that view's own (as acquired) coordinates.
        scan: the cropped scan (``metadata["crop"]`` holds the boxes as JSON).
        whole_shape: (rows, columns) of the whole-body views.
        landmarks: rows and columns found on the way, in ANT's frame: ``head_top``, ``body_bottom``,
            ``neck``, ``shoulder``, ``thorax_top``, ``thorax_bottom``, ``midline``.
        method: ``"profile"`` when the shoulder line was detected, ``"proportion"`` when it fell back.
    """

    boxes: dict[str, CropBox]
    scan: Scan
    whole_shape: tuple[int, int]
    landmarks: dict[str, float] = field(default_factory=dict)
    method: str = "profile"

    def to_whole_body(self, array: np.ndarray, view: str, fill=0) -> np.ndarray:
        """Map a crop-sized mask, prediction or image of ``view`` back to whole-body coordinates (``fill`` outside the box).

        Public API (docs/architecture.md, docs/prepare.md) for a user's own crop-sized arrays: the package itself
        does not call it, because prediction sums overlapping windows into the view at each window's box and
        divides by how often each pixel was seen (:mod:`scintiseg.predict.pipeline`), which this single placement
        is not.
        """
        return self._box(view).uncrop(np.asarray(array), self.whole_shape, fill=fill)

    def crop(self, array: np.ndarray, view: str) -> np.ndarray:
        """Cut a whole-body array of ``view`` (mask, region map, ...) with that view's box."""
        return self._box(view).crop(np.asarray(array))

    def boxes_json(self) -> list[dict]:
        return [box.to_json() for box in self.boxes.values()]

    def _box(self, view: str) -> CropBox:
        try:
            return self.boxes[view]
        except KeyError:
            raise ScintisegError(f"no crop box for view {view!r} (have {', '.join(self.boxes)})") from None


def thoracic_crop(scan: Scan, size: int | tuple[int, int] = 256) -> CropResult:
    """Cut the thoracic region of every view of a whole-body scan (paper B §2.1; method in the module docstring).

    Args:
        scan: a whole-body scan (ANT and/or POST, or a single VIEW), POST as acquired.
        size: crop size in pixels, one int for a square or (rows, columns).

    Returns:
        A :class:`CropResult` with the boxes, the cropped scan and the landmarks.

    Raises:
        ScintisegError: no body outline, a body too short to hold head and thorax, or an image smaller
            than the crop.

    Example::

        result = thoracic_crop(scan, size=256)
        whole_mask = result.to_whole_body(crop_mask, "ANT")
    """
    height, width = (size, size) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))
    rows, cols = scan.shape
    if height <= 0 or width <= 0:
        raise ScintisegError(f"crop size must be positive, got {size}", path=scan.source)
    if rows < height or cols < width:
        raise ScintisegError(
            f"image of {rows} x {cols} pixels is too small for a {height} x {width} thoracic crop", path=scan.source
        )
    frame = anatomical_frame(scan)
    landmarks, method = find_thorax(frame, scan.pixel_spacing, path=scan.source)

    span_top, span_bottom = landmarks["thorax_top"], landmarks["thorax_bottom"]
    top = min(span_top, (span_top + span_bottom) / 2 - height / 2)
    left = landmarks["midline"] - width / 2
    top = int(np.clip(round(top), 0, rows - height))
    left = int(np.clip(round(left), 0, cols - width))
    ant_box = CropBox("ANT", top, left, height, width)

    boxes: dict[str, CropBox] = {}
    for view in scan.view_names:
        boxes[view] = ant_box.mirrored(cols, "POST") if view == "POST" else CropBox(view, top, left, height, width)
    cropped = scan.with_views({view: boxes[view].crop(image) for view, image in scan.views.items()})
    cropped.metadata["crop"] = {view: {k: v for k, v in box.to_json().items() if k != "view"} for view, box in boxes.items()}
    cropped.metadata["crop_whole_shape"] = [rows, cols]
    return CropResult(boxes=boxes, scan=cropped, whole_shape=(rows, cols), landmarks=landmarks, method=method)


def anatomical_frame(scan: Scan) -> np.ndarray:
    """The counts used to find the body, in ANT's frame: ``ANT + Mirr(POST)``, or the single view."""
    if scan.is_dual_view:
        return np.asarray(scan.view("ANT"), dtype=np.float32) + np.asarray(scan.view("POST"), dtype=np.float32)[:, ::-1]
    if "ANT" in scan.views or "VIEW" in scan.views:
        return np.asarray(next(iter(scan.views.values())), dtype=np.float32)
    return np.asarray(scan.view("POST"), dtype=np.float32)[:, ::-1]


def central_run_widths(mask: np.ndarray, midline: int) -> np.ndarray:
    """Per row, the width of the run of ``mask`` pixels containing column ``midline`` (0 when it is outside)."""
    runs, _ = ndi.label(mask, structure=np.array([[0, 0, 0], [1, 1, 1], [0, 0, 0]]))
    central = runs[:, midline]
    widths = np.bincount(runs.ravel(), minlength=int(runs.max()) + 1)
    widths[0] = 0
    return widths[central].astype(np.float64)


def find_thorax(frame: np.ndarray, pixel_spacing: tuple[float, float], path=None) -> tuple[dict[str, float], str]:
    """Landmark rows of the body area, upper body and thorax in ``frame`` (steps 1 to 3 of the module docstring).

    Returns:
        (landmarks, method): landmarks as in :class:`CropResult`; method ``"profile"`` or ``"proportion"``.
    """
    mask = body_mask(frame, pixel_spacing, path=path)
    body_rows = np.flatnonzero(mask.any(axis=1))
    head_top, body_bottom = int(body_rows[0]), int(body_rows[-1])
    length = body_bottom - head_top + 1
    length_mm = length * pixel_spacing[0]
    if length_mm < MIN_BODY_LENGTH_MM:
        raise ScintisegError(
            f"the body is only {length_mm:.0f} mm long ({length} rows): too short to hold head and thorax "
            f"(a whole-body scan is needed, at least {MIN_BODY_LENGTH_MM:.0f} mm)",
            path=path,
        )
    col_weight = mask.sum(axis=0)
    midline_all = int(round(float(np.average(np.arange(mask.shape[1]), weights=col_weight))))

    widths = ndi.uniform_filter1d(central_run_widths(mask, midline_all), size=5, mode="nearest")

    def row_at(fraction: float) -> int:
        return int(np.clip(round(head_top + fraction * length), 0, mask.shape[0] - 1))

    method = "profile"
    head_width = float(widths[head_top : row_at(HEAD_FRACTION) + 1].max())
    search_lo, search_hi = row_at(NECK_WINDOW[0]), row_at(0.35)
    # The first row well wider than the head is below the shoulder line; the neck lies above it.
    wider = np.flatnonzero(widths[search_lo : search_hi + 1] >= SHOULDER_WIDENING * max(head_width, 1.0))
    shoulder = None
    neck = float("nan")
    if wider.size:
        first_wide = search_lo + int(wider[0])
        head_widest = head_top + int(np.argmax(widths[head_top : min(row_at(HEAD_FRACTION), first_wide) + 1]))
        neck = head_widest + int(np.argmin(widths[head_widest : first_wide + 1]))
        neck_width = float(widths[neck])
        widest = float(widths[first_wide : search_hi + 1].max())
        half = neck_width + 0.5 * (widest - neck_width)
        shoulder = neck + int(np.flatnonzero(widths[neck : search_hi + 1] >= half)[0])
    if shoulder is None or not (row_at(SHOULDER_WINDOW[0]) <= shoulder <= row_at(SHOULDER_WINDOW[1])):
        shoulder = row_at(SHOULDER_FALLBACK)
        method = "proportion"

    thorax_top = shoulder - THORAX_ABOVE_SHOULDER * length
    thorax_bottom = shoulder + THORAX_BELOW_SHOULDER * length
    band = mask[max(int(thorax_top), 0) : int(thorax_bottom) + 1]
    band_cols = band.sum(axis=0)
    midline = float(np.average(np.arange(mask.shape[1]), weights=band_cols)) if band_cols.sum() else float(midline_all)
    landmarks = {
        "head_top": float(head_top),
        "body_bottom": float(body_bottom),
        "neck": float(neck),
        "shoulder": float(shoulder),
        "thorax_top": float(thorax_top),
        "thorax_bottom": float(thorax_bottom),
        "midline": midline,
    }
    return landmarks, method
