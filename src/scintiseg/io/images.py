"""Plain image files: ``.npy``, 16-bit PNG, TIFF, raw matrices, and 8-bit masks / label maps.

Count images are arrays of shape ``(rows, cols)`` (one unnamed view) or ``(2, rows, cols)`` (frame 0 =
ANT, frame 1 = POST, the order the DICOM writer uses). Raw matrices have no header, so their shape and
dtype must be given (``shape=(1024, 256), dtype="uint16"``, little endian unless ``byteorder=">"``).

Masks are 8-bit PNG with 0 = background and 1 = lesion. Masks stored as 0/255 (what most image editors
and many exporters write; the top complaint in nnU-Net's issue tracker) are accepted with a warning;
any other value is an error, since it would silently become a second class.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from scintiseg.errors import ScintisegError
from scintiseg.io.atomic import atomic_path

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NPY_MAGIC = b"\x93NUMPY"
TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
#: dtypes a raw count matrix may have.
RAW_DTYPES = ("uint8", "uint16", "int16", "uint32", "int32", "float32", "float64")


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


def read_raw(path: str | Path, shape, dtype: str = "uint16", byteorder: str = "<") -> np.ndarray:
    """A headerless matrix of ``shape`` and ``dtype``; the file size must match exactly."""
    path = Path(path)
    shape = parse_shape(shape)
    if str(dtype) not in RAW_DTYPES:
        raise ScintisegError(f"dtype {dtype!r} is not one of {', '.join(RAW_DTYPES)}", path=path)
    if byteorder not in ("<", ">"):
        raise ScintisegError(f"byte order {byteorder!r} must be '<' (little) or '>' (big endian)", path=path)
    item = np.dtype(dtype).newbyteorder(byteorder)
    expected = int(np.prod(shape)) * item.itemsize
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScintisegError(f"cannot read ({exc.strerror})", path=path) from None
    if len(data) != expected:
        raise ScintisegError(
            f"raw file has {len(data)} bytes, shape {'x'.join(map(str, shape))} of {dtype} needs {expected} bytes", path=path
        )
    return np.frombuffer(data, dtype=item).reshape(shape).astype(np.dtype(dtype), copy=True)


def _read_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError/EOFError/OSError/UnpicklingError on corrupt files
        raise ScintisegError(f"unreadable .npy file ({type(exc).__name__}: {exc})", path=path) from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "uif":
        raise ScintisegError("a .npy scan must hold one numeric array", path=path)
    return array


def _read_tiff(path: Path) -> np.ndarray:
    import tifffile

    try:
        return np.asarray(tifffile.imread(path))
    except Exception as exc:  # tifffile raises TiffFileError, ValueError, struct.error, ... on corrupt input
        raise ScintisegError(f"unreadable TIFF file ({type(exc).__name__}: {exc})", path=path) from None


def _read_pil(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("I;16", "I;16B", "I;16L"):
                return np.asarray(image, dtype=np.uint16).copy()
            if image.mode in ("L", "1", "P", "I", "F"):
                return np.asarray(image).copy()
            raise ScintisegError(f"{image.mode} image: a count image has one grey channel", path=path)
    except ScintisegError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ScintisegError(f"unreadable image ({type(exc).__name__}: {exc})", path=path) from None


def read_image(
    path: str | Path, *, shape=None, dtype: str | None = None, byteorder: str = "<"
) -> np.ndarray:
    """Read ``.npy``, PNG, TIFF or (with ``shape``) a raw matrix into an array, by content, not name.

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
    if shape is not None:
        array = read_raw(path, shape, dtype or "uint16", byteorder)
    else:
        try:
            with open(path, "rb") as handle:
                head = handle.read(8)
        except OSError as exc:
            raise ScintisegError(f"cannot read ({exc.strerror})", path=path) from None
        if head.startswith(NPY_MAGIC):
            array = _read_npy(path)
        elif head.startswith(PNG_MAGIC):
            array = _read_pil(path)
        elif head[:4] in TIFF_MAGICS:
            array = _read_tiff(path)
        else:
            raise ScintisegError(
                "unrecognised file format (not DICOM, .npy, PNG or TIFF; "
                "a raw matrix needs --shape ROWSxCOLS and --dtype)",
                path=path,
            )
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[0] != 2):
        raise ScintisegError(f"array of shape {array.shape}: expected ROWSxCOLS or 2xROWSxCOLS (ANT, POST)", path=path)
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
    array = _read_pil(path)
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
    array = _read_pil(Path(path))
    if array.ndim != 2:
        raise ScintisegError(f"a label map must be 2-D, got shape {array.shape}", path=path)
    return array.astype(np.uint8)
