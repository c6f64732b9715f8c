"""Sample grids: generated (or real) images with their lesion masks outlined, as one PNG.

Each sample is a tile of its V views side by side (grey, generator units [-1, 1] -> 0..255, i.e. the
square-root count scale of :mod:`scintiseg.gan.counts`), with the boundary of its mask (threshold 0.5)
drawn in red.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.segmentation import find_boundaries

from scintiseg.io.atomic import atomic_path


def grid_image(samples: np.ndarray, views: int, columns: int | None = None, gap: int = 2) -> np.ndarray:
    """(N, 2V, S, S) generator-unit samples -> (H, W, 3) uint8 grid."""
    samples = np.asarray(samples, dtype=np.float32)
    n, _, size, _ = samples.shape
    columns = columns or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / columns)
    tile_w = views * size + (views - 1) * gap
    canvas = np.full((rows * (size + gap) + gap, columns * (tile_w + 3 * gap) + gap, 3), 40, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, columns)
        y0, x0 = gap + r * (size + gap), gap + c * (tile_w + 3 * gap)
        for v in range(views):
            grey = np.clip((samples[i, v] + 1.0) * 127.5, 0, 255).astype(np.uint8)
            rgb = np.repeat(grey[..., None], 3, axis=2)
            edge = find_boundaries(samples[i, views + v] >= 0.5, mode="inner")
            rgb[edge] = (255, 40, 40)
            x = x0 + v * (size + gap)
            canvas[y0 : y0 + size, x : x + size] = rgb
    return canvas


def save_sample_grid(samples: np.ndarray, views: int, path: str | Path, columns: int | None = None) -> Path:
    """Write :func:`grid_image` as a PNG (atomically); returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(grid_image(samples, views, columns)).save(tmp, format="PNG")
    return path
