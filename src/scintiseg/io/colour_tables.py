"""Display colour tables: a screen capture of a scan shown through a colour table, read back to its grey levels.

Workstations show a bone scan in grey or through a colour table, and a screen capture or a "save as picture" keeps
the table's colours: each pixel is the table's entry for the grey level the display gave that pixel. Such a
picture is an 8-bit export like any other once its grey levels come back, and they do, by the nearest entry of the
table that was used; :func:`grey_through_table` finds that table among :data:`TABLE_NAMES` and reads the picture
through it.

The tables: DICOM's well-known colour palettes (PS3.6 Annex B; Hot Iron is the classic nuclear-medicine display,
PET, Hot Metal Blue, PET 20 Step, Spring, Summer, Fall, Winter), read from the palette files pydicom ships, and
the colour maps of general plotting software that screenshots of research figures carry (matplotlib's ``hot``,
``afmhot``, ``gist_heat``, ``jet``, ``rainbow``, ``turbo``, ``viridis``, ``inferno``, ``magma``, ``plasma``,
``cubehelix``, ``bone``). Nothing is downloaded.

Choices the literature leaves open, stated:

- **Which table.** Every table is tried; the one whose entries lie within :data:`TABLE_TOLERANCE` of the most
  pixels wins, ties going to the smaller mean distance. It is accepted when at most
  :data:`scintiseg.io.images.MAX_COLOURED_SHARE` of the pixels lie off it (annotations drawn over the picture, a
  colour scale; painted over from the pixels around them, as on grey exports). Otherwise the picture is refused as
  before: its colours are not a known table's, so its values cannot be known.
- **Tolerance.** JPEG stores colour as luma plus chroma at half the resolution, so the colours of a table come back
  moved by up to a few tens of levels where the hue changes fast (a lesion's rim in Hot Iron); 40 (Euclidean,
  RGB levels) keeps most of those, while a grey pixel of middle level (64-191) lies more than 60 from the tables
  of the nuclear-medicine displays (Hot Iron 70, PET 64, Hot 90, Jet 107). Tables that pass near grey (Bone,
  Cubehelix) are tried only on a picture that is not grey: one whose pixels are coloured over more than
  :data:`scintiseg.io.images.MAX_COLOURED_SHARE` of it.
- **Entries of one colour.** A table with steps (PET 20 Step) gives several grey levels one colour; the pixel
  gets their mean, so the steps stay steps.
- **Inverted tables.** A table shown upside down (hot = dark) is read as the table; the grey reader turns an
  inverted display back afterwards (``undo_display_inversion``), as for grey exports.
"""

from __future__ import annotations

import functools

import numpy as np

#: DICOM's well-known colour palettes (PS3.6 Annex B), as pydicom names them.
DICOM_PALETTES: tuple[str, ...] = ("HOT_IRON", "PET", "HOT_METAL_BLUE", "PET_20_STEP", "SPRING", "SUMMER", "FALL",
                                   "WINTER")
#: matplotlib colour maps that screenshots of research figures use.
PLOT_COLOUR_MAPS: tuple[str, ...] = ("hot", "afmhot", "gist_heat", "jet", "rainbow", "turbo", "viridis", "inferno",
                                     "magma", "plasma", "cubehelix", "bone")
#: Every table tried, DICOM's first (named as ``scan.metadata["colour_table"]`` records them).
TABLE_NAMES: tuple[str, ...] = tuple(name.lower() for name in DICOM_PALETTES) + PLOT_COLOUR_MAPS
#: Largest distance (Euclidean, RGB levels) between a pixel and a table's entry for the pixel to lie on the table.
TABLE_TOLERANCE = 40.0


@functools.cache
def colour_table(name: str) -> np.ndarray:
    """The 256 RGB entries (uint8, shape ``(256, 3)``) of the table ``name`` (one of :data:`TABLE_NAMES`)."""
    if name.upper() in DICOM_PALETTES:
        import pydicom  # lazy: start-up time
        from pydicom.data import get_palette_files
        from pydicom.pixels import apply_color_lut

        palette = pydicom.dcmread(get_palette_files(name.lower().replace("_", "") + ".dcm")[0])
        return np.asarray(apply_color_lut(np.arange(256, dtype=np.uint8), palette), dtype=np.uint8)
    if name in PLOT_COLOUR_MAPS:
        import matplotlib  # lazy: only a colour picture needs it

        rgba = matplotlib.colormaps[name](np.linspace(0.0, 1.0, 256))
        return np.rint(rgba[:, :3] * 255).astype(np.uint8)
    raise KeyError(f"unknown colour table {name!r}; known: {', '.join(TABLE_NAMES)}")


@functools.cache
def _table_colours(name: str):
    """The distinct colours of ``name`` (float, ``(n, 3)``), a KD-tree over them and each one's mean grey level."""
    from scipy.spatial import cKDTree  # lazy: start-up time

    table = colour_table(name)
    colours, which = np.unique(table, axis=0, return_inverse=True)
    which = which.reshape(-1)
    levels = np.bincount(which, weights=np.arange(256)) / np.bincount(which)
    return cKDTree(colours.astype(np.float64)), levels


def grey_through_table(pixels: np.ndarray, max_off_share: float) -> tuple[np.ndarray, np.ndarray, str] | None:
    """The grey levels of an RGB picture (``(rows, cols, 3)`` uint8) shown through one of :data:`TABLE_NAMES`.

    Args:
        pixels: the picture.
        max_off_share: largest share of its pixels that may lie off the table (annotations).

    Returns:
        ``(grey, off, name)``: the grey levels (uint8, the off-table pixels' left at their nearest entry's), the
        mask of the pixels further than :data:`TABLE_TOLERANCE` from the table, and the table's name; ``None``
        when no table holds all but ``max_off_share`` of the pixels.
    """
    rgb = np.asarray(pixels, dtype=np.uint8)
    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    packed_colours, inverse, counts = np.unique(packed.reshape(-1), return_inverse=True, return_counts=True)
    colours = np.stack([(packed_colours >> 16) & 255, (packed_colours >> 8) & 255, packed_colours & 255], axis=1)
    total = counts.sum()
    best = None
    for name in TABLE_NAMES:
        tree, levels = _table_colours(name)
        distance, nearest = tree.query(colours.astype(np.float64))
        on = distance <= TABLE_TOLERANCE
        share = counts[on].sum() / total
        mean_distance = float((distance * counts).sum() / total)
        key = (share, -mean_distance)
        if best is None or key > best[0]:
            best = (key, name, levels[nearest], on)
    (share, _), name, grey_of_colour, on = best
    if share < 1.0 - max_off_share:
        return None
    grey = np.rint(grey_of_colour[inverse]).astype(np.uint8).reshape(packed.shape)
    return grey, ~on[inverse].reshape(packed.shape), name
