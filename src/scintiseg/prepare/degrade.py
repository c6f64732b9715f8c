"""What real archives do to a bone scan: another camera matrix, a region crop, an 8-bit export, a flip.

A model trained on clean 16-bit whole-body phantom views meets, in practice, scans acquired at another
matrix, crops of one region with the outside set to zero, and 8-bit JPEG exports with a per-image grey
gain (issue 13, part 1 "camera"/"export", part 2 "Framing"). This module draws those degradations at random
for training, in the order an archive applies them (:func:`random_degradation`): **acquisition** (matrix
and pixel size) -> **crop** (framing) -> **export** (8 bits, window, JPEG) -> **orientation** (flip).
The training window is cut last, from the model input built on the degraded view, by the training stage:
:func:`scintiseg.train.synthetic.cut_window` for phantom patients made on the fly (one window at random, often on
a lesion), :func:`scintiseg.train.data.cut_windows` for a data set's scans (half-overlapping tiles, and with
``around_lesions`` one window on each lesion; :mod:`scintiseg.train.degraded_data` degrades such scans with
:func:`random_degradation` before it cuts them).

Sources of the ranges (``../shared/reference/realdata.md``, "What real archives hold"):

- **Matrices**: 1024 x 256 at 2.0-2.8 mm (GE 2.26 mm, Siemens 2.16-2.4 mm), 2048 x 512 at 1.0-1.4 mm on
  some systems (realdata.md says 1.1-1.4 mm, the issue 1.0-1.4 mm; we take the issue's), older
  512 x 128 at about 4.5 mm (we draw 4.2-4.8 mm). How often each occurs is not published; we draw them
  with probabilities 0.6 / 0.25 / 0.15 (:data:`MATRICES`): the common matrix most often, the rare old
  coarse one least, and every one often enough to be learnt.
- **Framing**: BS-80K holds whole-body views and region crops (thoracic, half-chest left/right, pelvis, ...)
  as polygons with the outside set to 0, 40-95 px wide and 94-224 px tall at about 2.26 mm, i.e. about
  90-215 mm by 210-505 mm; research sets use thoracic windows (paper B §2.1); partial fields of view cut
  at the top or bottom occur when the bed travel is short. The share of each kind is ours
  (:data:`FRAMINGS`): half of the samples stay whole (the issue's target is the whole view), the other half
  is spread over the crops.
- **Export**: BS-80K is 8-bit JPEG; grey = counts x a per-image gain of about 1.2-3 grey levels per
  count, so the window top lies at 85-210 counts while the hottest pixel of a whole-body view (bladder,
  injection site) reaches a few hundred (NM1: 278). The window top as a share of the maximum,
  ``saturation``, is therefore drawn uniformly in 0.3-1.0 (1.0: nothing clipped). JPEG quality is drawn
  uniformly in 60-95 (common export settings; the archives do not state theirs) for 3 of 4 exports, the
  others are lossless (PNG-like) 8-bit.
- **Flip**: exports may be flipped left-right (realdata.md); POST is stored mirrored anyway, so a
  left-right mirror is a plausible view. Probability 0.5.

Every function that draws takes an ``rng: np.random.Generator`` and returns a JSON-able record of what it
did, so a degraded sample can be reproduced and audited.

Example::

    rng = np.random.default_rng(0)
    image, mask, record = random_degradation(counts, lesion_mask, rng, pixel_mm=2.26)
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image
from skimage.draw import polygon as draw_polygon

from scintiseg.errors import ScintisegError
from scintiseg.prepare.body import body_mask
from scintiseg.prepare.crop import central_run_widths, find_thorax
from scintiseg.prepare.resample import overlap_matrix, resample_counts, resample_map

#: Camera matrices (name, acquired pixel size range in mm, probability); module docstring for sources.
MATRICES: tuple[tuple[str, tuple[float, float], float], ...] = (
    ("1024x256", (2.0, 2.8), 0.60),
    ("2048x512", (1.0, 1.4), 0.25),
    ("512x128", (4.2, 4.8), 0.15),
)
#: Framing kinds and their probabilities (ours; module docstring).
FRAMINGS: tuple[tuple[str, float], ...] = (
    ("whole", 0.50),
    ("thoracic", 0.12),
    ("half_chest_left", 0.07),
    ("half_chest_right", 0.07),
    ("pelvis", 0.06),
    ("box", 0.10),
    ("partial", 0.08),
)
#: Region crops in BS-80K measure about 90-215 mm across and 210-505 mm tall (40-95 x 94-224 px at 2.26 mm).
BOX_WIDTH_MM = (90.0, 215.0)
BOX_HEIGHT_MM = (210.0, 505.0)
#: Window top as a share of the image maximum in a random export (1.0 = nothing clipped).
SATURATION_RANGE = (0.3, 1.0)
#: JPEG quality range of a random export, and the share of exports that are JPEG (the rest lossless).
JPEG_QUALITY_RANGE = (60, 95)
JPEG_SHARE = 0.75
#: Probabilities of each step of :func:`random_degradation`.
P_MATRIX = 0.5
P_EXPORT = 0.3
P_FLIP = 0.5

def _spacing(pixel_mm) -> tuple[float, float]:
    if np.isscalar(pixel_mm):
        return (float(pixel_mm), float(pixel_mm))
    row, col = pixel_mm
    return (float(row), float(col))


# --- export ------------------------------------------------------------------------------------------


def export_8bit(image: np.ndarray, *, saturation: float = 1.0, jpeg_quality: int | None = None,
                gain: float | None = None) -> np.ndarray:
    """An 8-bit grey export of a count image, as an archive stores it.

    ``grey = clip(round(255 * image / (saturation * image.max())), 0, 255)``: the display window runs from 0
    to ``saturation`` times the hottest pixel, so ``saturation < 1`` clips the hottest pixels to 255. With
    ``gain`` the window's top is instead ``255 / gain`` counts (``grey = clip(round(gain * image), 0, 255)``, a
    gain of grey levels per count as realdata.md gives BS-80K's, 1.2-3: nothing clips while the hottest pixel stays
    under the top). With ``jpeg_quality`` the grey image then makes a JPEG round trip through Pillow (grayscale,
    mode ``"L"``, Pillow's default 4:2:0 setting is moot for one channel).

    Args:
        image: 2-D counts (any real dtype).
        saturation: window top as a share of the maximum, in (0, 1].
        jpeg_quality: Pillow JPEG quality 1-100 (Pillow advises against 96-100, which some exporters offer), or None
            for a lossless 8-bit export.
        gain: grey levels per count, positive, or None to window by ``saturation``.

    Returns:
        uint8 array of ``image``'s shape; all zeros when the image holds no positive value.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ScintisegError(f"export_8bit needs a 2-D image, got shape {image.shape}")
    if not 0.0 < saturation <= 1.0:
        raise ScintisegError(f"export saturation must lie in (0, 1], got {saturation}")
    if gain is not None and not gain > 0:
        raise ScintisegError(f"export gain must be positive, got {gain}")
    top = 255.0 / gain if gain is not None else saturation * float(image.max()) if image.size else 0.0
    if top > 0:
        grey = np.clip(np.rint(255.0 * image / top), 0, 255).astype(np.uint8)
    else:
        grey = np.zeros(image.shape, dtype=np.uint8)
    if jpeg_quality is None or grey.size == 0:
        return grey
    if not 1 <= int(jpeg_quality) <= 100:
        raise ScintisegError(f"JPEG quality must lie in 1-100, got {jpeg_quality}")
    buffer = io.BytesIO()
    Image.fromarray(grey, mode="L").save(buffer, format="JPEG", quality=int(jpeg_quality))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("L"), dtype=np.uint8).copy()


def random_export(image: np.ndarray, rng: np.random.Generator, p: float = P_EXPORT) -> tuple[np.ndarray, dict]:
    """With probability ``p``, an 8-bit export with a random window and JPEG quality (module docstring).

    Returns:
        (float32 image, record): the export on its 0-255 scale, or the counts unchanged;
        ``record = {"export": bool, "saturation": float, "jpeg_quality": int | None}``.
    """
    image = np.asarray(image, dtype=np.float32)
    if rng.random() >= p:
        return image, {"export": False}
    saturation = float(rng.uniform(*SATURATION_RANGE))
    quality = int(rng.integers(JPEG_QUALITY_RANGE[0], JPEG_QUALITY_RANGE[1] + 1)) if rng.random() < JPEG_SHARE else None
    grey = export_8bit(image, saturation=saturation, jpeg_quality=quality)
    return grey.astype(np.float32), {"export": True, "saturation": saturation, "jpeg_quality": quality}


# --- acquisition matrix ------------------------------------------------------------------------------


def random_matrix(rng: np.random.Generator) -> tuple[str, float]:
    """A camera matrix drawn from :data:`MATRICES`: ``(name, acquired square pixel size in mm)``."""
    weights = np.array([p for _, _, p in MATRICES])
    name, (low, high), _ = MATRICES[int(rng.choice(len(MATRICES), p=weights / weights.sum()))]
    return name, float(rng.uniform(low, high))


def matrix_round_trip(
    image: np.ndarray, mask: np.ndarray, pixel_mm, acquired_mm
) -> tuple[np.ndarray, np.ndarray]:
    """The view as a camera with pixels of ``acquired_mm`` would have counted it, brought back to ``pixel_mm``.

    Counts go to the acquired grid with :func:`~scintiseg.prepare.resample.resample_counts` (area-weighted,
    conserved: a coarse pixel is the sum of the fine counts it covers, itself Poisson) and back with the same
    area weights onto **exactly** ``image``'s shape (``resampled_shape`` rounds twice, which could lose a
    row; the sub-pixel change of extent this causes is ignored). The total is conserved. The way back is
    what prediction does to a scan of that matrix (it is resampled to the model's pixel size): a coarse
    acquisition comes back smoother, a fine one almost unchanged (its counts are summed back).

    The mask travels the same way as a coverage map with :func:`~scintiseg.prepare.resample.resample_map`
    (there and back) and is thresholded at 0.5 once, at the end: the pixels at least half covered by the
    lesion after both resamplings.

    Args:
        image: 2-D counts at ``pixel_mm``.
        mask: boolean lesion mask of ``image``'s shape.
        pixel_mm: the image's pixel size, a float or (row, column).
        acquired_mm: the simulated camera's pixel size, a float or (row, column).

    Returns:
        (float32 counts, bool mask), both of ``image``'s shape.
    """
    image = np.asarray(image, dtype=np.float32)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != image.shape:
        raise ScintisegError(f"mask of shape {mask.shape} does not match image of shape {image.shape}")
    pixel, acquired = _spacing(pixel_mm), _spacing(acquired_mm)
    acquired_counts = resample_counts(image, pixel, acquired)
    if acquired_counts.shape == image.shape:
        return image.copy(), mask.copy()
    rows = overlap_matrix(acquired_counts.shape[0], image.shape[0])
    cols = overlap_matrix(acquired_counts.shape[1], image.shape[1])
    back = (rows @ acquired_counts @ cols.T).astype(np.float32)
    coverage = resample_map(resample_map(mask.astype(np.float32), acquired_counts.shape), image.shape)
    return back, coverage >= 0.5


# --- framing -----------------------------------------------------------------------------------------


def _landmarks(image: np.ndarray, pixel: tuple[float, float]) -> dict | None:
    """Thoracic landmarks plus the trunk width (pixels), or None when no whole body is found."""
    try:
        marks, _ = find_thorax(image, pixel)
    except ScintisegError:
        return None
    body = body_mask(image, pixel, check=False)
    top, bottom = int(max(marks["thorax_top"], 0)), int(marks["thorax_bottom"]) + 1
    widths = central_run_widths(body, int(round(marks["midline"])))[top:bottom]
    widths = widths[widths > 0]
    marks["trunk_width"] = float(np.median(widths)) if widths.size else image.shape[1] / 2.0
    marks["length"] = marks["body_bottom"] - marks["head_top"] + 1
    return marks


def _clip_box(top: float, left: float, bottom: float, right: float, shape: tuple[int, int]) -> list[int] | None:
    """``[top, left, height, width]`` of the box clipped to the image, None when under 8 x 8 pixels."""
    t, l = int(max(math.floor(top), 0)), int(max(math.floor(left), 0))
    b, r = int(min(math.ceil(bottom), shape[0])), int(min(math.ceil(right), shape[1]))
    if b - t < 8 or r - l < 8:
        return None
    return [t, l, b - t, r - l]


def region_box(kind: str, image: np.ndarray, pixel: tuple[float, float], rng: np.random.Generator) -> list[int] | None:
    """The box of a framing ``kind`` in ``image`` (anatomy from the counts), None when it cannot be found."""
    shape = image.shape
    if kind == "box":
        body = body_mask(image, pixel, check=False)
        if not body.any():
            return None
        rows, cols = np.nonzero(body)
        k = int(rng.integers(rows.size))
        height = rng.uniform(*BOX_HEIGHT_MM) / pixel[0]
        width = rng.uniform(*BOX_WIDTH_MM) / pixel[1]
        return _clip_box(rows[k] - height / 2, cols[k] - width / 2, rows[k] + height / 2, cols[k] + width / 2, shape)
    marks = _landmarks(image, pixel)
    if marks is None:
        return None
    length, mid, trunk = marks["length"], marks["midline"], marks["trunk_width"]

    def jitter(scale: float) -> float:
        return float(rng.uniform(-scale, scale))

    top, bottom = marks["thorax_top"] + jitter(0.03) * length, marks["thorax_bottom"] + jitter(0.03) * length
    if kind == "thoracic":
        half = trunk * rng.uniform(0.55, 0.8)
        return _clip_box(top, mid - half, bottom, mid + half, shape)
    if kind in ("half_chest_left", "half_chest_right"):
        # The patient's left is on the image right of an ANT view (as stored); both are drawn equally often.
        # Width as BS-80K's half-chest crops (BOX_WIDTH_MM), at most 0.6 of the trunk's central run.
        outer = min(rng.uniform(*BOX_WIDTH_MM) / pixel[1], 0.6 * trunk)
        inner = trunk * rng.uniform(-0.05, 0.05)
        if kind == "half_chest_right":
            return _clip_box(top, mid - outer, bottom, mid + inner, shape)
        return _clip_box(top, mid - inner, bottom, mid + outer, shape)
    if kind == "pelvis":
        # Iliac crest to ischia at about 0.40-0.58 of the stature below the crown (anthropometric proportion).
        head = marks["head_top"]
        half = trunk * rng.uniform(0.5, 0.75)
        return _clip_box(head + (0.40 + jitter(0.03)) * length, mid - half, head + (0.58 + jitter(0.03)) * length, mid + half, shape)
    if kind == "partial":
        head = marks["head_top"]
        cut_top, cut_bottom = rng.random() < 0.5, rng.random() < 0.7
        if not (cut_top or cut_bottom):
            cut_top = True
        start = head + rng.uniform(0.05, 0.35) * length if cut_top else 0
        stop = head + rng.uniform(0.55, 0.95) * length if cut_bottom else shape[0]
        return _clip_box(start, 0, stop, shape[1], shape)
    raise ScintisegError(f"unknown framing {kind!r} (choose from {', '.join(k for k, _ in FRAMINGS)})")


def _polygon_inside(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A convex octagon filling a ``height x width`` box with its corners cut by 0-30 % of each side."""
    cut_r = rng.uniform(0.0, 0.3, size=4) * height
    cut_c = rng.uniform(0.0, 0.3, size=4) * width
    h, w = height - 1, width - 1
    rows = [0, 0, cut_r[1], h - cut_r[2], h, h, h - cut_r[3], cut_r[0]]
    cols = [cut_c[0], w - cut_c[1], w, w, w - cut_c[2], cut_c[3], 0, 0]
    inside = np.zeros((height, width), dtype=bool)
    rr, cc = draw_polygon(np.array(rows) + 0.0, np.array(cols) + 0.0, shape=(height, width))
    inside[rr, cc] = True
    return inside


def random_framing(
    image: np.ndarray, mask: np.ndarray, rng: np.random.Generator, pixel_mm, kind: str | None = None,
    labels: np.ndarray | None = None,
):
    """Frame a whole-body view the way archives and research sets hold it (module docstring).

    The kind is drawn from :data:`FRAMINGS` unless given. Region boxes come from the image itself: the
    thoracic landmarks of :func:`scintiseg.prepare.crop.find_thorax` (thoracic window, half chest, pelvis,
    partial field of view) or a random body pixel (``"box"``). A region crop is a rectangle or, half of the
    time, a polygon (the box with its corners cut), the shape BS-80K's crops have. The outside is either
    set to zero (same shape) or cut away (the box's array; a polygon's corners are still zero), with equal
    probability; a partial field of view has no polygon. When the anatomy cannot be found (no whole
    body in the view) the view stays whole and the record says ``"fallback": true``.

    Args:
        image: 2-D counts.
        mask: boolean lesion mask of ``image``'s shape.
        rng: random generator.
        pixel_mm: pixel size, a float or (row, column).
        kind: force one framing kind.
        labels: an integer label map of ``image``'s shape (the skeleton regions) framed the same way, or
            None. The draws do not depend on it: the same generator state frames image and mask alike.

    Returns:
        (image float32, mask bool, record) where record is ``{"kind", "box": [top, left, height, width]
        in the input's pixels, "outside": "zeroed" | "cut", "polygon": bool}`` (``"whole"`` has no box).
        Outside the kept region image, mask (and labels) are 0. With ``labels``, the framed labels come
        fourth: ``(image, mask, record, labels)``.
    """
    image = np.asarray(image, dtype=np.float32)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != image.shape or image.ndim != 2:
        raise ScintisegError(f"random_framing needs a 2-D image and mask of one shape, got {image.shape} and {mask.shape}")
    pixel = _spacing(pixel_mm)
    if kind is None:
        weights = np.array([p for _, p in FRAMINGS])
        kind = FRAMINGS[int(rng.choice(len(FRAMINGS), p=weights / weights.sum()))][0]
    extra = () if labels is None else (np.asarray(labels),)
    if extra and extra[0].shape != image.shape:
        raise ScintisegError(f"labels of shape {extra[0].shape} do not match image of shape {image.shape}")
    if kind == "whole":
        return (image.copy(), mask.copy(), {"kind": "whole"}, *(a.copy() for a in extra))
    box = region_box(kind, image, pixel, rng)
    if box is None:
        return (image.copy(), mask.copy(), {"kind": "whole", "fallback": True, "wanted": kind}, *(a.copy() for a in extra))
    top, left, height, width = box
    keep = np.ones((height, width), dtype=bool)
    polygon = kind != "partial" and bool(rng.random() < 0.5)
    if polygon:
        keep = _polygon_inside(height, width, rng)
    outside = "zeroed" if rng.random() < 0.5 else "cut"
    window = (slice(top, top + height), slice(left, left + width))
    cut_image = image[window] * keep
    cut_mask = mask[window] & keep
    cut_extra = tuple(np.where(keep, a[window], 0).astype(a.dtype) for a in extra)
    record = {"kind": kind, "box": box, "outside": outside, "polygon": polygon}
    if outside == "cut":
        return (cut_image.astype(np.float32), cut_mask, record, *cut_extra)
    framed, framed_mask = np.zeros_like(image), np.zeros_like(mask)
    framed[window] = cut_image
    framed_mask[window] = cut_mask
    framed_extra = []
    for a, cut in zip(extra, cut_extra):
        whole = np.zeros_like(a)
        whole[window] = cut
        framed_extra.append(whole)
    return (framed, framed_mask, record, *framed_extra)


# --- orientation, composition, windows ---------------------------------------------------------------


def random_flip(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator, p: float = P_FLIP) -> tuple[np.ndarray, np.ndarray, bool]:
    """Mirror image and mask left-right with probability ``p``; returns ``(image, mask, flipped)``."""
    if rng.random() < p:
        return np.ascontiguousarray(image[:, ::-1]), np.ascontiguousarray(mask[:, ::-1]), True
    return image, mask, False


def random_degradation(
    image: np.ndarray,
    mask: np.ndarray,
    rng: np.random.Generator,
    pixel_mm,
    *,
    p_matrix: float = P_MATRIX,
    p_export: float = P_EXPORT,
    p_flip: float = P_FLIP,
    framing: bool = True,
    labels: np.ndarray | None = None,
):
    """Degrade a clean whole-body view as an archive would: acquisition -> crop -> export -> flip.

    1. with probability ``p_matrix``, another camera matrix (:func:`random_matrix`,
       :func:`matrix_round_trip`);
    2. a framing (:func:`random_framing`; half of the draws keep the whole view); ``framing=False`` skips it;
    3. with probability ``p_export``, an 8-bit export (:func:`random_export`);
    4. with probability ``p_flip``, a left-right flip (:func:`random_flip`).

    Counts stay float32 counts; an exported image stays on its 0-255 grey scale (as float32). The same
    generator state gives the same output.

    ``labels`` (an integer map of the view, e.g. the skeleton regions) is carried through the geometric
    steps: unchanged by the matrix round trip (it returns the image's own grid), framed like the mask,
    mirrored by a flip. A flip swaps the patient's sides on the image, so a caller whose labels name sides
    passes ``p_flip=0`` (the region network does; the lesion target has no side).

    Returns:
        (image float32, mask bool, record) with ``record = {"matrix": {...} | None, "framing": {...},
        "export": {...}, "flip": bool}``, JSON-able; with ``labels``, the degraded labels come fourth.
    """
    image = np.asarray(image, dtype=np.float32)
    mask = np.asarray(mask, dtype=bool)
    record: dict = {"matrix": None}
    if rng.random() < p_matrix:
        name, acquired = random_matrix(rng)
        image, mask = matrix_round_trip(image, mask, pixel_mm, acquired)
        record["matrix"] = {"name": name, "acquired_mm": acquired}
    extra = () if labels is None else (np.asarray(labels),)
    if framing:
        image, mask, record["framing"], *extra = random_framing(image, mask, rng, pixel_mm,
                                                                labels=extra[0] if extra else None)
    else:
        record["framing"] = {"kind": "whole"}
    image, record["export"] = random_export(image, rng, p=p_export)
    image, mask, record["flip"] = random_flip(image, mask, rng, p=p_flip)
    if record["flip"]:
        extra = [np.ascontiguousarray(a[:, ::-1]) for a in extra]
    return (image.astype(np.float32, copy=False), mask, record, *extra)
