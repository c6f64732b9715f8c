"""Plain image files: ``.npy``, PNG, JPEG, TIFF, raw matrices, and 8-bit masks / label maps.

Count images are arrays of shape ``(rows, cols)`` (one unnamed view) or ``(2, rows, cols)`` (frame 0 =
ANT, frame 1 = POST, the order the DICOM writer uses). Raw matrices have no header, so their shape and
dtype must be given (``shape=(1024, 256), dtype="uint16"``, little endian unless ``byteorder=">"``).

A count image must be plausible as a planar bone-scan view: both sides at least :data:`MIN_VIEW_SIDE`
(16) pixels and at most :data:`MAX_VIEW_PIXELS` pixels per view. The smallest view anything downstream
uses is a thoracic crop (256 x 256; the phantom's small test crops are 32 x 32); a camera's field of view
is about 400 x 540 mm, so even at a coarse 4.4 mm (128 x 128 matrix) a side spans 90 or more pixels.
16 is the size at which the U-Nets' four 2x poolings leave one pixel, so anything smaller cannot be a
view a model could segment: a 1 x 1 PNG is an accident, not a scan. The maximum (4096 x 4096) is four
times the largest whole-body matrix (1024 x 2048 / 256 x 1024 at 2.26 mm) and is checked from the header
*before* decoding, so a file that claims 200,000 x 200,000 pixels is refused instead of exhausting memory.
Its pixel spacing must be a camera's (:func:`check_view_field`, every reader through
:func:`scintiseg.io.read_scan`): each pixel within :data:`PIXEL_SPACING_RANGE` (0.1-20 mm, as a spacing a user gives)
and each side spanning :data:`MIN_FIELD_MM` (10 mm) to :data:`MAX_FIELD_MM` (4 m, about 1.5 times the longest
whole-body scan). A spacing in the wrong unit (500 mm, or 0.001 mm) is refused in one line: at
500 mm NM1's 1024 x 256 view resampled to the model's 2.26 mm would be some 10^10 pixels and the process was killed
for memory (session 47), at 0.001 mm it shrank to one pixel and was read as "no bone found".

**Exports.** Archives and public sets hold scans as 8-bit exports (BS-80K: JPEG; ``../shared/reference/
realdata.md``), often saved in colour with three equal channels, or with a grey palette. Such an image is read
as its grey levels (uint8): palette images through their palette, colour ones when their channels agree
within :data:`GREY_CHANNEL_TOLERANCE` grey levels (JPEG's chroma rounding leaves a few between the channels of
grey content; the channels' mean is kept) and, with an alpha channel, when every pixel is opaque. A grey export
with annotations drawn in colour (a screen capture's yellow ``ANT``, a red marker, a colour scale; session 23) is
read as grey when at most :data:`MAX_COLOURED_SHARE` of its pixels are coloured: those pixels and a 1-pixel fringe
are painted with the grey view around them (:func:`paint_over`), and the reader records how many
(:func:`reading_notes`; ``scan.metadata["colour_painted"]``, QC flag ``colour_annotations_removed``). A colour
image whose channels differ more over more of it (a screenshot with a colour table) or a transparent one is refused
in one line: its values are not the scan's. The values of any 8-bit image are grey levels, not
counts; the prediction flags such views (``export_8bit``, docs/predict.md "QC flags"). An export of an inverted
display (hot = black on white, as many workstations show bone scans) is turned back (:func:`undo_display_inversion`)
and marked (``scan.metadata["display_inverted"]``; flag ``inverted_export``).

Library warnings and log lines (tifffile's "invalid offset to first page", Pillow's decompression-bomb
warning) are folded into the reader's one error, or one warning per file, by
:mod:`scintiseg.io.library_messages`.

Masks are 8-bit PNG with 0 = background and 1 = lesion. Masks stored as 0/255 (what most image editors
and many exporters write; the top complaint in nnU-Net's issue tracker) are accepted with a warning;
any other value is an error, since it would silently become a second class.

Label images of another tool (a reader's skeleton masks, one id per bone class: :func:`read_label_image`, session 73)
are PNG, TIFF or ``.npy`` holding whole numbers from 0: grey values (8 or 16 bits), or a palette PNG's indexes (the
ids such a file stores; its colours are only how a viewer shows them), never colour channels.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from scintiseg.errors import ScintisegError
from scintiseg.io.atomic import atomic_path
from scintiseg.io.colour_tables import grey_through_table
from scintiseg.io.library_messages import LibraryMessages, library_messages
from scintiseg.scan import Scan

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NPY_MAGIC = b"\x93NUMPY"
TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
JPEG_MAGIC = b"\xff\xd8\xff"
#: Other picture formats some workstations export, read through Pillow as PNG and JPEG are: BMP and GIF (and
#: WebP, :func:`_is_webp`). Their grey levels are 8-bit exports' (the first frame of an animated GIF or WebP).
OTHER_PICTURE_MAGICS = (b"BM", b"GIF87a", b"GIF89a")
#: Largest difference (grey levels) between the colour channels of a pixel for an image still read as grey
#: (module docstring): JPEG stores colour as luma + subsampled chroma, and grey content saved as colour comes
#: back with channels a level or two apart; a colour table's hues differ by tens.
GREY_CHANNEL_TOLERANCE = 8
#: Largest share of an image's pixels in colour (channels apart by more than :data:`GREY_CHANNEL_TOLERANCE`) for it to
#: be read as a grey export with coloured annotations, which are painted over (module docstring): text, markers and a
#: scale cover well under 1 % of a whole-body capture.
MAX_COLOURED_SHARE = 0.02
#: What the readers record while a scan is read (:func:`reading_notes`).
_NOTES: contextvars.ContextVar[dict | None] = contextvars.ContextVar("scintiseg_reading_notes", default=None)


@contextlib.contextmanager
def reading_notes():
    """A dict that the readers fill, while the block runs, with what they undid on the way (``colour_painted``: the
    pixels of coloured annotations painted over); :func:`scintiseg.io.read_scan` copies it into the scan's metadata."""
    notes: dict = {}
    token = _NOTES.set(notes)
    try:
        yield notes
    finally:
        _NOTES.reset(token)


def paint_over(view: np.ndarray, mask: np.ndarray, sigma: float = 3.0) -> np.ndarray:
    """``view`` with the pixels of ``mask`` painted from the pixels around them (a Gaussian average, ``sigma`` pixels,
    of the pixels not in ``mask``), in the view's dtype; the view itself when ``mask`` is empty."""
    if not mask.any():
        return view
    from scipy import ndimage as ndi  # lazy: start-up time of every command that reads a file

    kept = (~mask).astype(np.float64)
    values = np.asarray(view, dtype=np.float64)
    weight = ndi.gaussian_filter(kept, sigma)
    filled = ndi.gaussian_filter(values * kept, sigma) / np.maximum(weight, 1e-6)
    painted = np.where(mask, filled, values)
    if np.issubdtype(view.dtype, np.integer):
        info = np.iinfo(view.dtype)
        painted = np.clip(np.rint(painted), info.min, info.max)
    return painted.astype(view.dtype)


#: dtypes a raw count matrix may have.
RAW_DTYPES = ("uint8", "uint16", "int16", "uint32", "int32", "float32", "float64")
#: Smallest side (pixels) of a count image read as a scan view (module docstring: why 16).
MIN_VIEW_SIDE = 16
#: Most pixels one view may have (4096 x 4096), checked before decoding (module docstring).
MAX_VIEW_PIXELS = 4096 * 4096


def check_view_size(rows: int, cols: int, path: str | Path | None = None) -> None:
    """Refuse a ``rows x cols`` view too small or too large to be a planar bone-scan view.

    Raises:
        ScintisegError: a side under :data:`MIN_VIEW_SIDE` or more than :data:`MAX_VIEW_PIXELS` pixels.
    """
    if rows < MIN_VIEW_SIDE or cols < MIN_VIEW_SIDE:
        raise ScintisegError(
            f"image of {rows} x {cols} pixels is too small to be a bone-scan view "
            f"(each side needs at least {MIN_VIEW_SIDE})",
            path=path,
        )
    if rows * cols > MAX_VIEW_PIXELS:
        raise ScintisegError(
            f"image of {rows} x {cols} pixels is too large to be a planar bone-scan view "
            f"(at most {MAX_VIEW_PIXELS:,} pixels)",
            path=path,
        )


#: The field of view (mm) a view's side may span: a whole-body scan is at most about 2.6 m long and a spot view a
#: few centimetres across; beyond these bounds a file's pixel spacing is wrong (module docstring).
MIN_FIELD_MM, MAX_FIELD_MM = 10.0, 4000.0


def cameras_field(shape: tuple[int, int], pixel_spacing: tuple[float, float]) -> bool:
    """Whether ``pixel_spacing`` is a camera's for a view of ``shape``: each pixel within :data:`PIXEL_SPACING_RANGE`,
    each side spanning :data:`MIN_FIELD_MM` to :data:`MAX_FIELD_MM` (module docstring)."""
    low, high = PIXEL_SPACING_RANGE
    sides = [n * float(mm) for n, mm in zip(shape, pixel_spacing)]
    return all(low <= float(mm) <= high for mm in pixel_spacing) and MIN_FIELD_MM <= min(sides) <= max(sides) <= MAX_FIELD_MM


def check_view_field(shape: tuple[int, int], pixel_spacing: tuple[float, float],
                     path: str | Path | None = None) -> None:
    """Refuse a view whose pixel spacing is no camera's (:func:`cameras_field`).

    Raises:
        ScintisegError: a spacing outside :data:`PIXEL_SPACING_RANGE`, or a side spanning under
            :data:`MIN_FIELD_MM` or over :data:`MAX_FIELD_MM`.
    """
    if cameras_field(shape, pixel_spacing):
        return
    low, high = PIXEL_SPACING_RANGE
    rows_mm, cols_mm = (n * float(mm) for n, mm in zip(shape, pixel_spacing))

    def extent(mm: float) -> str:
        return f"{mm / 1000:.4g} m" if mm >= 1000 else f"{mm:.3g} mm"

    raise ScintisegError(
        f"pixel spacing {pixel_spacing[0]:g} x {pixel_spacing[1]:g} mm makes the {shape[0]} x {shape[1]} view "
        f"{extent(rows_mm)} x {extent(cols_mm)}: no camera's (a pixel is {low:g}-{high:g} mm, a side "
        f"{MIN_FIELD_MM:g} mm to {MAX_FIELD_MM / 1000:g} m); the spacing is wrong (scintiseg predict and info take "
        "the right one with --pixel-spacing)",
        path=path,
    )


def parse_shape(text: str | tuple[int, ...]) -> tuple[int, ...]:
    """``"1024x256"`` -> ``(1024, 256)`` (rows x columns; a leading frame count ``2x1024x256`` is allowed)."""
    if isinstance(text, tuple | list):
        parts = [int(v) for v in text]
    else:
        try:
            parts = [int(v) for v in str(text).lower().replace(",", "x").split("x")]
        except ValueError:
            raise ScintisegError(f"shape {text!r} is not ROWSxCOLS (e.g. 1024x256)") from None
    if len(parts) not in (2, 3) or min(parts) <= 0:
        raise ScintisegError(f"shape {text!r} is not ROWSxCOLS or 2xROWSxCOLS with positive sizes")
    return tuple(parts)


#: Pixel size (mm) a file without one is given when none is passed: the phantom's and NM1's 2.26 mm, the
#: commonest whole-body matrix (1024 x 256 over a 2.3 m table; ../shared/reference/realdata.md).
DEFAULT_PIXEL_SPACING = (2.26, 2.26)
#: Median grey level of an 8-bit view's non-zero pixels above which it is taken for an inverted display
#: (:func:`undo_display_inversion`): half the grey scale; a bone scan's lit pixels are mostly low-count tissue.
INVERTED_MEDIAN = 127.5
#: :func:`noise_trend` below which an image's noise falls with its grey level (an inverted display).
INVERTED_NOISE_TREND = -0.1
#: Width (pixels) of the outer frame whose median says whether the background is dark or white.
FRAME_PX = 4
#: Length (mm) of a whole-body field of view along the table: 1024 rows of 2.26 mm. The matrices seen in
#: practice span about the same (2048 rows of 1.1-1.4 mm, 512 of about 4.5 mm; realdata.md), so a whole-body
#: image's rows say its pixel size far better than one default does.
WHOLE_BODY_FIELD_MM = 1024 * 2.26
#: Rows / columns from which an image is taken for a whole-body view (1024 x 256, 2048 x 512 and 512 x 128 are 4;
#: a thoracic crop 1, ANT and POST side by side 2).
WHOLE_BODY_ASPECT = 3.0
#: Fewest rows a whole-body view has: its 2.3 m field at the coarsest pixel size whole-body matrices come in (512
#: rows of about 4.5 mm; realdata.md), with a margin to 5 mm. A region crop is as narrow as a whole-body view but
#: shorter (BS-80K's: 40-95 x 94-224 pixels of a 1024-row scan): taken for a whole-body view, a 60 x 200 chest crop
#: was given 11.6 mm pixels and shrunk five-fold before the model saw it.
WHOLE_BODY_MIN_ROWS = math.ceil(WHOLE_BODY_FIELD_MM / 5.0)
#: Pixel sizes (mm) accepted from a user: planar cameras acquire at about 1.0 to 4.5 mm; anything outside
#: this range is a typo (a spacing in cm, a matrix size), not a camera.
PIXEL_SPACING_RANGE = (0.1, 20.0)


def noise_trend(array: np.ndarray, samples: int = 20_000) -> float:
    """Rank correlation of the local (3 x 3) mean and variance over unclipped pixels (mean in (2, 253)).

    Counts are Poisson: their variance rises with their mean, and a linear 8-bit export keeps that (positive). An
    inverted display turns it round (negative): the noisiest pixels are the dark, hot ones. 0 with too few pixels.
    """
    from scipy import ndimage  # lazy: start-up time (0.2 s); only 8-bit whole-body views get here

    values = np.asarray(array, dtype=np.float64)
    mean = ndimage.uniform_filter(values, 3)
    variance = ndimage.uniform_filter(values * values, 3) - mean * mean
    index = np.flatnonzero((mean > 2) & (mean < 253))
    if index.size < 100:
        return 0.0
    if index.size > samples:
        index = np.random.default_rng(0).choice(index, samples, replace=False)
    ranks = [np.argsort(np.argsort(x.ravel()[index], kind="stable")).astype(np.float64) for x in (mean, variance)]
    return float(np.corrcoef(*ranks)[0, 1]) if all(r.std() > 0 for r in ranks) else 0.0


def undo_display_inversion(array: np.ndarray, within: tuple[slice, slice] | None = None) -> tuple[np.ndarray, bool]:
    """An 8-bit whole-body export of an inverted display (hot = black, the background white) turned back into grey
    levels that rise with the counts (``255 - value``), and whether it was.

    Three cues must agree, because a hard display window (top at 5-10 % of the hottest pixel) also makes a plain
    export mostly bright: the median of the non-zero pixels lies above half the scale (NM1 as a plain 8-bit export:
    3 of 255; inverted: 253); so does the median of the image's outer frame, the background around the body (white
    when inverted, dark however hard the window); and the noise falls as the grey level rises (:func:`noise_trend`
    below -0.1: Poisson noise is largest in the hot pixels, which an inverted display makes dark). Only whole-body
    images are judged (:func:`looks_whole_body`): on a crop the body fills the
    frame and a hard window and an inversion look alike (measured: docs/io.md "Inverted displays"). Zeros that
    reach the image's edge (a crop's blanked outside) stay 0; black pixels inside are the hottest and become 255.
    Only 8-bit images are judged: 16-bit counts are not a display. Each view of a two-view array is judged alone.
    ``within`` (a 2-D array's rows and columns) judges only that part, the display area of a screen capture whose flat
    panels were blanked (:mod:`scintiseg.io.panels`), and turns the whole image back when it is inverted.
    """
    if array.dtype != np.uint8:
        return array, False
    if array.ndim == 3:
        pairs = [undo_display_inversion(view) for view in array]
        return np.stack([view for view, _ in pairs]), any(flag for _, flag in pairs)
    if not _inverted(array if within is None else array[within]):
        return array, False
    out = (255 - array).astype(np.uint8)
    out[_outside(array)] = 0
    return out, True



def undo_inverted_captures(scan: Scan, within: tuple[slice, slice] | None = None) -> Scan:
    """A DICOM screen capture (8-bit) of an inverted display, read back as the 8-bit exports are
    (:func:`undo_display_inversion`, ``metadata["display_inverted"]``; ``within``: the display area of a capture whose
    panels were blanked, :func:`~scintiseg.io.panels.inside_panels`, judged alone); counts (16-bit) are returned as
    they are."""
    if not any(view.dtype == np.uint8 for view in scan.views.values()):
        return scan
    pairs = {name: undo_display_inversion(view, within=within) for name, view in scan.views.items()}
    if not any(flag for _, flag in pairs.values()):
        return scan
    fixed = scan.with_views({name: view for name, (view, _) in pairs.items()})
    fixed.metadata["display_inverted"] = True
    return fixed

def _outside(array: np.ndarray) -> np.ndarray:
    """The zeros that reach the image's edge: a crop's blanked outside, not black (hot) pixels."""
    from scipy import ndimage  # lazy: start-up time (0.2 s); only bright 8-bit whole-body views get here

    labels, _ = ndimage.label(array == 0)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return np.isin(labels, edge[edge > 0])


def _inverted(array: np.ndarray) -> bool:
    """Whether a 2-D 8-bit image is a whole-body view of an inverted display (:func:`undo_display_inversion`'s cues)."""
    rows, cols = array.shape
    lit = array[array > 0]
    if not looks_whole_body(rows, cols) or not (lit.size and float(np.median(lit)) > INVERTED_MEDIAN):
        return False
    outside = _outside(array)
    frame = np.zeros(array.shape, dtype=bool)
    frame[:FRAME_PX], frame[-FRAME_PX:], frame[:, :FRAME_PX], frame[:, -FRAME_PX:] = True, True, True, True
    border = array[frame & ~outside]
    return not ((border.size and float(np.median(border)) <= INVERTED_MEDIAN) or noise_trend(array) >= INVERTED_NOISE_TREND)


def looks_whole_body(rows: int, cols: int) -> bool:
    """Whether an image of this shape is taken for one whole-body view: at least :data:`WHOLE_BODY_ASPECT` times as
    tall as wide and at least :data:`WHOLE_BODY_MIN_ROWS` rows (1024 x 256, 2048 x 512, 512 x 128 are; a thoracic
    window, ANT and POST side by side, and a region crop such as a 60 x 200 half-chest are not)."""
    return rows >= WHOLE_BODY_ASPECT * cols and rows >= WHOLE_BODY_MIN_ROWS


def assumed_pixel_spacing(rows: int, cols: int) -> tuple[tuple[float, float], str]:
    """The pixel size a file that records none is given, and why (said in prediction's warning).

    A whole-body view (:func:`looks_whole_body`) spans :data:`WHOLE_BODY_FIELD_MM` along its rows, whatever its
    matrix: 1024 rows -> 2.26 mm, 2048 -> 1.13 mm, 512 -> 4.52 mm (square pixels). Anything else (a crop, a
    thoracic window) takes :data:`DEFAULT_PIXEL_SPACING`, the commonest whole-body pixel size: a region crop keeps
    the pixel size of the scan it was cut from (realdata.md), and its rows say nothing of it.
    """
    if looks_whole_body(rows, cols):
        mm = round(WHOLE_BODY_FIELD_MM / rows, 3)
        low, high = PIXEL_SPACING_RANGE
        if low <= mm <= high:
            return (mm, mm), f"a whole-body view's {WHOLE_BODY_FIELD_MM / 1000:.1f} m over its {rows} rows"
    return DEFAULT_PIXEL_SPACING, "the commonest whole-body pixel size"


def parse_pixel_spacing(text: str | float | tuple[float, float]) -> tuple[float, float]:
    """``"2.26"`` -> ``(2.26, 2.26)``; ``"2.26x2.0"`` -> ``(2.26, 2.0)`` (row x column, mm).

    Raises:
        ScintisegError: not one or two numbers, or a number outside :data:`PIXEL_SPACING_RANGE`.
    """
    if isinstance(text, tuple | list):
        parts = list(text)
    elif isinstance(text, int | float):
        parts = [text]
    else:
        parts = str(text).lower().replace(",", "x").split("x")
    try:
        values = [float(v) for v in parts]
    except (TypeError, ValueError):
        values = []
    low, high = PIXEL_SPACING_RANGE
    if len(values) not in (1, 2) or not all(math.isfinite(v) and low <= v <= high for v in values):
        raise ScintisegError(f"pixel spacing {text!r} is not MM or ROWxCOL mm with sizes in [{low:g}, {high:g}] (e.g. 2.26)")
    return (values[0], values[-1])


def read_raw(path: str | Path, shape, dtype: str = "uint16", byteorder: str = "<") -> np.ndarray:
    """A headerless matrix of ``shape`` and ``dtype``; the file size must match exactly."""
    path = Path(path)
    shape = parse_shape(shape)
    if str(dtype) not in RAW_DTYPES:
        raise ScintisegError(f"dtype {dtype!r} is not one of {', '.join(RAW_DTYPES)}", path=path)
    if byteorder not in ("<", ">"):
        raise ScintisegError(f"byte order {byteorder!r} must be '<' (little) or '>' (big endian)", path=path)
    item = np.dtype(dtype).newbyteorder(byteorder)
    expected = math.prod(shape) * item.itemsize  # Python ints: a huge --shape cannot overflow
    try:
        size = path.stat().st_size  # compared before reading, so a huge file is never loaded in vain
        data = path.read_bytes() if size == expected else b""
    except OSError as exc:
        raise ScintisegError(f"cannot read ({exc.strerror})", path=path) from None
    if size != expected or len(data) != expected:
        raise ScintisegError(
            f"raw file has {size} bytes, shape {'x'.join(map(str, shape))} of {dtype} needs {expected} bytes", path=path
        )
    return np.frombuffer(data, dtype=item).reshape(shape).astype(np.dtype(dtype), copy=True)


def _describe(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _check_header_size(shape: tuple[int, ...], path: Path) -> None:
    """Refuse a header that claims more pixels than two views may have, before anything is allocated."""
    if int(np.prod([max(int(n), 0) for n in shape], dtype=np.float64)) > 2 * MAX_VIEW_PIXELS:
        raise ScintisegError(
            f"image of {' x '.join(map(str, shape))} pixels is too large to be a planar bone scan "
            f"(at most 2 views of {MAX_VIEW_PIXELS:,} pixels)",
            path=path,
        )


@contextlib.contextmanager
def quiet_npy_header():
    """Around NumPy's reading of a ``.npy`` header: it parses the header's text with ``ast.literal_eval``, so a damaged
    header holding a backslash makes Python warn "invalid escape sequence" (a ``DeprecationWarning``, a
    ``SyntaxWarning`` from Python 3.12) about the file's bytes as if they were code. The read's own error, or its
    result, says what matters (the fuzzer's seed 5252, session 52: one ``.npz`` member)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        yield


def _read_npy(path: Path) -> np.ndarray:
    try:
        # Memory-mapped first: the header's shape is checked before anything is allocated, and a header
        # that claims more data than the file holds fails here instead of allocating it.
        with quiet_npy_header():
            mapped = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError/EOFError/OSError/UnpicklingError on corrupt files
        raise ScintisegError(f"unreadable .npy file ({_describe(exc)})", path=path) from None
    if not isinstance(mapped, np.ndarray) or mapped.dtype.kind not in "uif":
        raise ScintisegError("a .npy scan must hold one numeric array", path=path)
    _check_header_size(mapped.shape, path)
    array = np.array(mapped, copy=True)
    del mapped  # closes the map
    return array


def _read_tiff(path: Path, said: LibraryMessages) -> np.ndarray:
    """The TIFF's image: its first series, or, when it holds two 2-D images of one shape written as separate pages
    (ANT then POST, as a two-page export keeps a study), the two stacked as ``(2, rows, cols)``: the order of a
    two-image series, read as ANT and POST. More images of that shape are more than a planar scan's two views:
    refused in one line, not read in part."""
    import tifffile  # lazy: start-up time

    try:
        with tifffile.TiffFile(path) as tiff:
            series = tiff.series[0] if tiff.series else None
            if series is None:
                raise ScintisegError(f"TIFF file without an image{said.hint()}", path=path)
            _check_header_size(tuple(series.shape), path)
            alike = [one for one in tiff.series if len(one.shape) == 2 and tuple(one.shape) == tuple(series.shape)]
            if len(alike) > 2:
                raise ScintisegError(f"TIFF file with {len(alike)} images of {series.shape[0]} x {series.shape[1]}: "
                                     "a planar scan has at most two views (ANT, POST)", path=path)
            if len(alike) == 2:
                return np.stack([np.asarray(one.asarray()) for one in alike])
            return np.asarray(series.asarray())
    except ScintisegError:
        raise
    except Exception as exc:  # tifffile raises TiffFileError, ValueError, struct.error, ... on corrupt input
        description = _describe(exc)
        raise ScintisegError(f"unreadable TIFF file ({description}){said.hint(description)}", path=path) from None


def lossy_picture(path: str | Path) -> bool:
    """Whether ``path`` holds a JPEG or WebP picture, whose compression bends the noise of the grey levels."""
    with open(path, "rb") as handle:
        head = handle.read(16)
    return head.startswith(JPEG_MAGIC) or _is_webp(head)


def _is_webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def _read_pil(path: Path, said: LibraryMessages) -> np.ndarray:
    try:
        with Image.open(path) as image:
            _check_header_size((image.height, image.width), path)
            image.load()
            if image.mode in ("I;16", "I;16B", "I;16L"):
                return np.asarray(image, dtype=np.uint16).copy()
            if image.mode in ("L", "1", "I", "F"):
                return np.asarray(image).copy()
            return _grey_levels(image, path)
    except ScintisegError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow refuses, at open, more than 2 x its pixel limit
        raise ScintisegError(f"image too large to be a planar bone scan ({_describe(exc)})", path=path) from None
    except MemoryError:  # a damaged chunk length (4 GB) read in one call: Python allocates it first (bench_fuzz)
        raise ScintisegError("unreadable image (a damaged part claims more bytes than memory holds)",
                             path=path) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        description = _describe(exc)
        raise ScintisegError(f"unreadable image ({description}){said.hint(description)}", path=path) from None


def grey_from_channels(pixels: np.ndarray, what: str, path: str | Path | None = None) -> np.ndarray:
    """The grey levels (uint8) of 8-bit pixels stored as colour channels (last axis: 3, or 4 with alpha): their
    mean where every pixel is opaque and its channels agree within :data:`GREY_CHANNEL_TOLERANCE`, coloured
    annotations on at most :data:`MAX_COLOURED_SHARE` of the pixels painted over (module docstring); a colour or
    transparent image is one error naming ``what`` it is (e.g. ``"RGB image"``)."""
    pixels = np.asarray(pixels)
    if pixels.shape[-1] == 4:
        if (pixels[..., 3] < 255).any():
            raise ScintisegError(f"{what} with transparent pixels: not a scan's grey levels", path=path)
        pixels = pixels[..., :3]
    spreads = pixels.max(axis=-1).astype(np.int32) - pixels.min(axis=-1)
    coloured = spreads > GREY_CHANNEL_TOLERANCE
    grey = np.rint(pixels.mean(axis=-1)).astype(np.uint8)
    if not coloured.any():
        return grey
    notes = _NOTES.get()
    if coloured.mean() > MAX_COLOURED_SHARE or grey.ndim != 2:
        through_table = grey_through_table(pixels, MAX_COLOURED_SHARE) if grey.ndim == 2 else None
        if through_table is None:
            raise ScintisegError(f"colour image (its channels differ by up to {int(spreads.max())} grey levels over "
                                 f"{100 * coloured.mean():.1f} % of it, and its colours are none of the display tables "
                                 "scintiseg knows): a count image has one grey channel; export the scan in greyscale",
                                 path=path)
        grey, coloured, table = through_table
        if notes is not None:
            notes["colour_table"] = table
    from scipy import ndimage as ndi  # lazy: start-up time of every command that reads a file

    if not coloured.any():
        return grey
    drawn = ndi.binary_dilation(coloured, structure=np.ones((3, 3), dtype=bool))
    if notes is not None:  # off a colour table: annotations, or JPEG's colour rounding at a sharp change of hue
        key = "colour_table_off" if "colour_table" in notes else "colour_painted"
        notes[key] = notes.get(key, 0) + int(drawn.sum())
    return paint_over(grey, drawn)


def _grey_levels(image: Image.Image, path: Path) -> np.ndarray:
    """The grey levels (uint8) of an 8-bit export stored with a palette, colour channels or alpha (module docstring)."""
    mode = image.mode
    if mode in ("P", "PA", "LA"):
        image = image.convert("RGBA")
    elif mode not in ("RGB", "RGBA"):
        raise ScintisegError(f"{mode} image: a count image has one grey channel", path=path)
    return grey_from_channels(np.asarray(image), f"{mode} image", path)


def read_image(
    path: str | Path, *, shape=None, dtype: str | None = None, byteorder: str = "<"
) -> np.ndarray:
    """Read ``.npy``, PNG, JPEG, TIFF or (with ``shape``) a raw matrix into an array, by content, not name.

    Args:
        path: the file.
        shape: rows x cols (``"1024x256"`` or a tuple) of a raw file; when given, the file is raw.
        dtype: element type of a raw file (default uint16).
        byteorder: ``"<"`` little endian (default) or ``">"`` big endian, for raw files.

    Returns:
        A 2-D array (one view) or a 3-D ``(2, rows, cols)`` array (ANT, POST).

    Raises:
        ScintisegError: unreadable, unrecognised, or not a 2-D / two-frame grey image.
    """
    path = Path(path)
    if not path.is_file():
        raise ScintisegError("no such file", path=path)
    with library_messages("tifffile", "PIL") as said:
        if shape is not None:
            array = read_raw(path, shape, dtype or "uint16", byteorder)
        else:
            try:
                with open(path, "rb") as handle:
                    head = handle.read(12)
            except OSError as exc:
                raise ScintisegError(f"cannot read ({exc.strerror})", path=path) from None
            if not head:
                raise ScintisegError("empty file (0 bytes)", path=path)
            if head.startswith(NPY_MAGIC):
                array = _read_npy(path)
            elif head.startswith((PNG_MAGIC, JPEG_MAGIC, *OTHER_PICTURE_MAGICS)) or _is_webp(head):
                array = _read_pil(path, said)
            elif head[:4] in TIFF_MAGICS:
                array = _read_tiff(path, said)
            else:
                raise ScintisegError(
                    "unrecognised file format (not DICOM, Interfile, MetaImage, NIfTI, .npy, .npz, PNG, JPEG, TIFF, "
                    "BMP, GIF or WebP; a raw matrix needs --shape ROWSxCOLS and --dtype)",
                    path=path,
                )
        if array.ndim == 3 and array.shape[0] == 1:
            array = array[0]
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[0] != 2):
            raise ScintisegError(
                f"array of shape {array.shape}: expected ROWSxCOLS or 2xROWSxCOLS (ANT, POST){said.hint()}", path=path
            )
        check_view_size(*array.shape[-2:], path=path)
    said.warn_once(path)
    return array


def write_png16(array: np.ndarray, path: str | Path) -> None:
    """Write a 2-D count image as a 16-bit grey PNG (values must fit 0..65535; floats are rounded)."""
    array = np.asarray(array)
    if array.ndim != 2:
        raise ScintisegError(f"a PNG holds one 2-D image, got shape {array.shape}", path=path)
    if array.dtype.kind == "f":
        array = np.rint(array)
    if array.size and (array.min() < 0 or array.max() > 65535):
        raise ScintisegError(f"values {array.min()}..{array.max()} do not fit a 16-bit PNG", path=path)
    image = Image.fromarray(array.astype(np.uint16))
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


def read_mask_png(path: str | Path) -> np.ndarray:
    """A boolean lesion mask from an 8-bit PNG: 0/1 (0/255 accepted with a warning, anything else an error)."""
    path = Path(path)
    if not path.is_file():
        raise ScintisegError("no such file", path=path)
    with library_messages("PIL") as said:
        array = _read_pil(path, said)
    said.warn_once(path)
    if array.ndim != 2:
        raise ScintisegError(f"a mask must be a 2-D image, got shape {array.shape}", path=path)
    values = set(np.unique(array).tolist())
    if values <= {0, 1} or array.dtype == bool:
        return array.astype(bool)
    if values <= {0, 255}:
        warnings.warn(f"{path}: mask stored as 0/255; read as 0/1 (write 0 = background, 1 = lesion)", stacklevel=2)
        return array == 255
    others = sorted(values - {0, 1})[:5]
    raise ScintisegError(f"mask holds label values {others}, expected 0 (background) and 1 (lesion)", path=path)


def write_mask_png(mask: np.ndarray, path: str | Path) -> None:
    """Write a boolean mask as an 8-bit PNG with 0 = background, 1 = lesion."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ScintisegError(f"a mask must be 2-D, got shape {mask.shape}", path=path)
    image = Image.fromarray(mask.astype(bool).astype(np.uint8))
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


def write_label_png(labels: np.ndarray, path: str | Path) -> None:
    """Write an integer label map (e.g. skeleton regions, ids 0..255) as an 8-bit PNG."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ScintisegError(f"a label map must be 2-D, got shape {labels.shape}", path=path)
    if labels.size and (labels.min() < 0 or labels.max() > 255):
        raise ScintisegError(f"label ids {labels.min()}..{labels.max()} do not fit 8 bits", path=path)
    image = Image.fromarray(labels.astype(np.uint8))
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


def read_label_png(path: str | Path) -> np.ndarray:
    """Read an 8-bit label map written by :func:`write_label_png` (uint8 array)."""
    with library_messages("PIL") as said:
        array = _read_pil(Path(path), said)
    said.warn_once(path)
    if array.ndim != 2:
        raise ScintisegError(f"a label map must be 2-D, got shape {array.shape}", path=path)
    return array.astype(np.uint8)


#: The file kinds :func:`read_label_image` reads, by content (their usual endings, for finding them in a folder).
LABEL_IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".tif", ".tiff", ".npy")


def read_label_image(path: str | Path) -> np.ndarray:
    """Another tool's label image (a reader's skeleton masks, one id per class): a PNG, TIFF or ``.npy`` of whole
    numbers from 0, read by content as an int64 ``(rows, cols)`` array.

    Choices, stated: a palette PNG gives its palette indexes (segmentation tools store class ids so, with a colour per
    class; :func:`read_image` would give the colours' grey levels); a grey PNG or TIFF (8 or 16 bits) its values; a
    colour PNG (RGB, RGBA) is refused, since which id a colour stands for is nowhere written; a float array whose
    values are all whole numbers is read as labels (NumPy's default dtype), any other (a fraction, NaN, a negative
    value: a probability map) refused; one image of two views (``2 x rows x cols``) is refused, a mask being one view's.

    Raises:
        ScintisegError: a missing or unreadable file, another format, colour, more than one 2-D image, or values that
            are no labels; one line naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ScintisegError("no such file", path=path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
    except OSError as exc:
        raise ScintisegError(f"cannot read ({exc.strerror})", path=path) from None
    with library_messages("tifffile", "PIL") as said:
        if head.startswith(NPY_MAGIC):
            array = _read_npy(path)
        elif head[:4] in TIFF_MAGICS:
            array = _read_tiff(path, said)
        elif head.startswith(PNG_MAGIC):
            try:
                with Image.open(path) as image:
                    _check_header_size((image.height, image.width), path)
                    image.load()
                    if image.mode not in ("P", "L", "1", "I", "I;16", "I;16B", "I;16L"):
                        raise ScintisegError(f"a {image.mode} image: label ids are grey values or palette indexes, "
                                             "not colours (which id a colour stands for is nowhere written)", path=path)
                    array = np.asarray(image).copy()
            except ScintisegError:
                raise
            except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
                raise ScintisegError(f"unreadable PNG ({_describe(exc)})", path=path) from None
        else:
            raise ScintisegError("not a label image (a PNG, TIFF or .npy file of class ids)", path=path)
    said.warn_once(path)
    array = np.squeeze(array)
    if array.ndim != 2:
        raise ScintisegError(f"a label image is one 2-D image, got shape {array.shape}", path=path)
    if array.dtype == bool:
        return array.astype(np.int64)
    if array.dtype.kind == "f":
        odd = ~np.isfinite(array) | (array != np.round(array))
        if odd.any():
            raise ScintisegError(f"a label image holds class ids (whole numbers), not {array[odd].flat[0]!r}", path=path)
    if array.dtype.kind not in "uif":
        raise ScintisegError(f"a label image of {array.dtype} values, not class ids", path=path)
    if array.size and array.min() < 0:
        raise ScintisegError(f"a label image holds class ids from 0, not {array.min()!r}", path=path)
    return array.astype(np.int64)
