"""Review images: the overlay PNG (contours and lesion ids drawn on the scan) and the skeleton-region map.

Drawn with PIL, not matplotlib (milliseconds instead of a second per image). The scan is shown as
nuclear-medicine readers view bone scans: inverted grey scale (hot = dark), linear from 0 to the 99.5th
percentile of the non-zero counts, capped below a hot bladder (:func:`scintiseg.display.render_display`, the same rendering
LabelMe gets). Contours are drawn in red, the area the model saw (the thoracic window) as a thin blue
rectangle, lesion ids in red with a white halo beside each lesion's top-left corner. The image is enlarged
by an integer factor (default 2) so ids stay legible on a 256-column scan.

The overlay is a palette image (:data:`OVERLAY_PALETTE`): 253 grey levels, red and blue. A palette PNG of
a 512 x 2048 overlay encodes in about 7 ms against 32 ms for the same picture in RGB (measured on a phantom
view, this machine: Pillow filters every RGB row five ways before compressing, a palette image not at all),
a quarter of the output stage of a whole-body scan. What it costs: the three lightest grey levels (253, 254,
255: counts under 1 % of the display window, soft tissue's faint edge) are drawn as white, and the ids are
drawn without anti-aliasing (one pixel edges; the white halo keeps them legible).

The region map (:func:`region_map_image`) is a palette PNG at the scan's own matrix: one colour per atlas
region of :data:`scintiseg.predict.regions.REGION_NAMES` (:data:`REGION_COLOURS`), transparent where the
label is ``other``. The HTML report lays it over the scan with multiply blending, so the scan, the contours
and the ids stay visible under it. Colours: light tints (so multiplying keeps dark hot spots dark), none of
them red (red is the lesion outline), neighbouring regions in different hues, the two sides of a paired
bone in one hue (right darker, left lighter) so the legend reads as bones first, sides second.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from scintiseg.display import render_display
from scintiseg.predict.prediction import ViewPrediction
from scintiseg.predict.regions import REGION_NAMES, SkeletonRegions

CONTOUR_COLOUR = (220, 0, 0)
WINDOW_COLOUR = (40, 90, 220)
#: Font size of the lesion ids, in pixels of the unscaled scan (x ``scale`` on the image).
ID_FONT_PX: int = 9

#: Categorical colour of every atlas region (``other`` has none: transparent).
REGION_COLOURS: dict[str, str] = {
    "skull": "#a6cee3", "mandible": "#fdae6b", "cervical_spine": "#cab2d6", "thoracic_spine": "#9e9ac8",
    "lumbar_spine": "#e7d4e8", "sacrum": "#b2abd2", "ribs_right": "#b2df8a", "ribs_left": "#d9f0a3",
    "sternum": "#f1b6da", "clavicle_right": "#ffff99", "clavicle_left": "#fee391", "scapula_right": "#fdbf6f",
    "scapula_left": "#fdd49e", "humerus_right": "#80cdc1", "humerus_left": "#c7eae5",
    "forearm_right": "#dfc27d", "forearm_left": "#f6e8c3", "hand_right": "#8c96c6", "hand_left": "#bfd3e6",
    "pelvis": "#fccde5", "femur_right": "#66c2a5", "femur_left": "#b8e3d2", "tibia_fibula_right": "#e5c494",
    "tibia_fibula_left": "#f3e2c6", "foot_right": "#a6d854", "foot_left": "#d4ecaa",
}


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))


#: Palette indices of the overlay (module docstring): greys 0..252 are their own index, white is 253.
WHITE_INDEX, RED_INDEX, BLUE_INDEX = 253, 254, 255
#: The overlay's palette: index -> (r, g, b).
OVERLAY_PALETTE: tuple[tuple[int, int, int], ...] = (
    tuple((g, g, g) for g in range(WHITE_INDEX)) + ((255, 255, 255), CONTOUR_COLOUR, WINDOW_COLOUR)
)


def overlay_image(counts: np.ndarray, result: ViewPrediction, scale: int = 2, *, outlines: bool = True,
                  display: np.ndarray | None = None) -> Image.Image:
    """Palette overlay (:data:`OVERLAY_PALETTE`) of ``result``'s contours and ids on the view's ``counts``.

    Args:
        counts: the view's counts (whole body, as acquired).
        result: the view's prediction.
        scale: integer enlargement.
        outlines: draw the lesion contours and ids; False gives the scan and the model's window only, the
            background on which ``report.html`` draws its own vector outlines and ids.
        display: ``render_display(counts)`` when the caller has it already (the outputs draw a view three
            times); computed from ``counts`` when None.
    """
    grey = render_display(counts) if display is None else np.asarray(display, dtype=np.uint8)
    if grey.shape != np.shape(counts):
        raise ValueError(f"display rendering of shape {grey.shape} does not match counts of shape {np.shape(counts)}")
    indices = np.minimum(grey, WHITE_INDEX)
    if scale != 1:
        indices = np.repeat(np.repeat(indices, scale, axis=0), scale, axis=1)
    canvas = Image.fromarray(np.ascontiguousarray(indices), mode="P")
    canvas.putpalette([c for colour in OVERLAY_PALETTE for c in colour])
    draw = ImageDraw.Draw(canvas)
    if not result.coverage.all():
        rows = np.flatnonzero(result.coverage.any(axis=1))
        cols = np.flatnonzero(result.coverage.any(axis=0))
        if rows.size:
            draw.rectangle(
                [cols[0] * scale, rows[0] * scale, (cols[-1] + 1) * scale - 1, (rows[-1] + 1) * scale - 1],
                outline=BLUE_INDEX,
            )
    if not outlines:
        return canvas
    size = ID_FONT_PX * scale
    font = ImageFont.load_default(size=size)
    centre = (scale - 1) / 2.0
    for contour, lesion in zip(result.contours, result.lesions):
        xy = [(float(x) * scale + centre, float(y) * scale + centre) for x, y in contour.points]
        draw.line(xy + xy[:1], fill=RED_INDEX, width=1)
        x0 = min(p[0] for p in xy)
        y0 = min(p[1] for p in xy)
        text = str(lesion.id)
        width = draw.textlength(text, font=font)
        draw.text((max(x0 - 2 - width, 0), max(y0 - size, 0)), text, fill=RED_INDEX, font=font,
                  stroke_width=max(scale, 1), stroke_fill=WHITE_INDEX)
    return canvas


def region_map_image(regions: SkeletonRegions) -> Image.Image:
    """Palette image of ``regions.labels`` in :data:`REGION_COLOURS`, transparent where the label is ``other``.

    Same matrix as the scan (one pixel per scan pixel); save it with :func:`png_bytes`, which keeps the
    transparency.
    """
    palette = [255, 255, 255] + [c for name in REGION_NAMES[1:] for c in _rgb(REGION_COLOURS[name])]
    labels = np.clip(np.asarray(regions.labels), 0, len(REGION_NAMES) - 1).astype(np.uint8)
    image = Image.fromarray(labels, mode="P")
    image.putpalette(palette)
    image.info["transparency"] = 0
    return image


#: JPEG quality of the page background (:func:`jpeg_bytes`).
JPEG_QUALITY: int = 95


def jpeg_bytes(image: Image.Image, quality: int = JPEG_QUALITY) -> bytes:
    """JPEG encoding of the scan drawn under ``report.html``'s vector outlines.

    A choice for speed and size only where nothing is measured from the pixels: on a 256 x 1024 view it
    encodes in about 1 ms and 70 KB at quality 95, against 19 ms and 131 KB for PNG at compression level 1
    (measured on a phantom ANT view, this machine), and quality 95 shows no visible artefact on the
    display-windowed scan. The archived ``V_overlay.png`` and the region maps stay PNG (lossless).
    """
    buffer = io.BytesIO()
    image.convert("RGB" if image.mode not in ("L", "RGB") else image.mode).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    """PNG encoding (fast compression: these files are for review, not archive); keeps palette transparency."""
    buffer = io.BytesIO()
    extra = {"transparency": image.info["transparency"]} if "transparency" in image.info else {}
    image.save(buffer, format="PNG", compress_level=1, **extra)
    return buffer.getvalue()
