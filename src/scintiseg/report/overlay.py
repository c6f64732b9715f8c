"""Review images: the lesion mask PNG and an overlay PNG (contours and lesion ids drawn on the scan).

Drawn with PIL, not matplotlib (milliseconds instead of a second per image). The scan is shown as
nuclear-medicine readers view bone scans: inverted grey scale (hot = dark), linear from 0 to the 99.5th
percentile of the non-zero counts (:func:`scintiseg.display.render_display`, the same rendering
LabelMe gets). Contours are drawn in red, the area the model saw (the thoracic window) as a thin blue
rectangle, lesion ids in red beside each lesion's top-left corner. The image is enlarged by an integer
factor (default 2) so ids stay legible on a 256-column scan.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from scintiseg.display import render_display
from scintiseg.predict.prediction import ViewPrediction

CONTOUR_COLOUR = (220, 0, 0)
WINDOW_COLOUR = (40, 90, 220)


def overlay_image(counts: np.ndarray, result: ViewPrediction, scale: int = 2) -> Image.Image:
    """RGB overlay of ``result``'s contours and ids on the view's ``counts``."""
    grey = Image.fromarray(render_display(counts))
    if scale != 1:
        grey = grey.resize((grey.width * scale, grey.height * scale), Image.NEAREST)
    canvas = grey.convert("RGB")
    draw = ImageDraw.Draw(canvas)
    if not result.coverage.all():
        rows = np.flatnonzero(result.coverage.any(axis=1))
        cols = np.flatnonzero(result.coverage.any(axis=0))
        if rows.size:
            draw.rectangle(
                [cols[0] * scale, rows[0] * scale, (cols[-1] + 1) * scale - 1, (rows[-1] + 1) * scale - 1],
                outline=WINDOW_COLOUR,
            )
    font = ImageFont.load_default()
    centre = (scale - 1) / 2.0
    for contour, lesion in zip(result.contours, result.lesions):
        xy = [(float(x) * scale + centre, float(y) * scale + centre) for x, y in contour.points]
        draw.line(xy + xy[:1], fill=CONTOUR_COLOUR, width=1)
        x0 = min(p[0] for p in xy)
        y0 = min(p[1] for p in xy)
        draw.text((max(x0 - 4 - 6 * len(str(lesion.id)), 0), max(y0 - 10, 0)), str(lesion.id), fill=CONTOUR_COLOUR, font=font)
    return canvas


def png_bytes(image: Image.Image) -> bytes:
    """PNG encoding (fast compression: these files are for review, not archive)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
