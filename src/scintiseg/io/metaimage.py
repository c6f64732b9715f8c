"""MetaImage (ITK's MetaIO): a text header (``.mhd``) beside a raw data file, or header and data in one ``.mha``.

Why. GATE (and OpenGATE, which writes its images through ITK), ITK and SimpleITK pipelines, 3D Slicer and MONAI's
ITK reader exchange images as MetaImage: an independently built phantom's planar projections may come as
``proj.mhd`` + ``proj.raw``. Before session 23 the header was an unrecognised file and the data file a raw matrix
that needed ``--shape``.

What is read (MetaIO keys, case ignored, ``Key = Value`` lines; ``ElementDataFile`` ends the header, as the format
requires): ``NDims`` (2, or 3 with one or two planes), ``DimSize`` (columns, rows[, planes]), ``ElementType``
(``MET_UCHAR``, ``MET_CHAR``, ``MET_USHORT``, ``MET_SHORT``, ``MET_UINT``, ``MET_INT``, ``MET_FLOAT``,
``MET_DOUBLE``), ``ElementNumberOfChannels`` (1), ``BinaryDataByteOrderMSB`` or ``ElementByteOrderMSB`` (default
False, little-endian), ``ElementSpacing`` or else ``ElementSize`` (mm per pixel, columns first: the pixel spacing;
without either the reader assumes one, as for images), ``HeaderSize`` (bytes to skip in the data file; -1: the
data are the file's last bytes), ``CompressedData`` (zlib) with ``CompressedDataSize``, ``ElementDataFile``
(``LOCAL``: the data follow the header in the same file; else a file name beside the header). ``ObjectType`` must
be ``Image`` when given. Two planes are ``ANT`` then ``POST``, with a warning (the format names no view), as for an
Interfile study of two images; more, a ``LIST`` or ``%d`` pattern of data files, or more than one channel (a
colour image) is one error, as is a data file shorter than the header says. ``TransformMatrix``, ``Offset`` and
``AnatomicalOrientation`` are not applied: a planar view is read as stored, row 0 first (a view stored head-down is
prediction's to find, :mod:`scintiseg.predict.orientation`). The values are counts as stored.
"""

from __future__ import annotations

import math
import re
import warnings
import zlib
from pathlib import Path

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.io.images import check_view_size
from scintiseg.io.library_messages import ReaderWarning

#: Largest header read (bytes): a MetaImage header is a few hundred bytes.
MAX_HEADER_BYTES = 1 << 16
#: Keys a MetaImage header starts with (its first line): what tells the format by content.
FIRST_KEYS = frozenset({"objecttype", "ndims", "objectsubtype", "comment", "name", "id", "parentid", "formtypename"})

_TYPES = {
    "MET_UCHAR": "u1", "MET_CHAR": "i1", "MET_USHORT": "u2", "MET_SHORT": "i2", "MET_UINT": "u4", "MET_INT": "i4",
    "MET_FLOAT": "f4", "MET_DOUBLE": "f8",
}
_LINE = re.compile(rb"^\s*(?P<key>[A-Za-z][A-Za-z0-9_]*)\s*=\s*(?P<value>.*?)\s*$")

__all__ = ["data_file", "is_metaimage", "read_metaimage"]


def is_metaimage(head: bytes) -> bool:
    """Whether a file starting with ``head`` (its first few hundred bytes) is a MetaImage header: its first line
    that is not blank is ``Key = Value`` with one of :data:`FIRST_KEYS`."""
    for line in head.lstrip(b"\xef\xbb\xbf").splitlines():
        if line.strip():
            match = _LINE.match(line)
            return bool(match) and match["key"].decode("ascii").lower() in FIRST_KEYS
    return False


def _header(path: Path) -> tuple[dict[str, str], int]:
    """The header's keys (lower case; the first of a repeated key wins) and the byte where it ends."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_HEADER_BYTES)
    except OSError as exc:
        raise ScintisegError(f"cannot read ({exc.strerror})", path=path) from None
    keys: dict[str, str] = {}
    position = 0
    for line in raw.splitlines(keepends=True):
        position += len(line)
        match = _LINE.match(line.rstrip(b"\r\n"))
        if not match:
            if line.strip():
                raise ScintisegError(f"MetaImage header line is not 'Key = Value': {line[:40]!r}", path=path)
            continue
        key = match["key"].decode("ascii").lower()
        keys.setdefault(key, match["value"].decode("latin-1"))
        if key == "elementdatafile":
            return keys, position
    raise ScintisegError(f"MetaImage header has no 'ElementDataFile' in its first {MAX_HEADER_BYTES} bytes", path=path)


def _numbers(keys: dict[str, str], key: str, path: Path, kind=int) -> list | None:
    text = keys.get(key)
    if text is None:
        return None
    try:
        values = [kind(float(v)) if kind is int else kind(v) for v in text.split()]
    except (TypeError, ValueError, OverflowError):
        raise ScintisegError(f"MetaImage '{key}' is not a list of numbers: {text[:40]!r}", path=path) from None
    if not values or not all(math.isfinite(v) for v in values):
        raise ScintisegError(f"MetaImage '{key}' is not a list of finite numbers: {text[:40]!r}", path=path)
    return values


def _flag(keys: dict[str, str], key: str, path: Path) -> bool:
    text = keys.get(key, "False").strip().lower()
    if text not in ("true", "false", "1", "0"):
        raise ScintisegError(f"MetaImage '{key}' is neither True nor False: {text[:20]!r}", path=path)
    return text in ("true", "1")


def data_file(path: str | Path) -> Path | None:
    """The data file a MetaImage header names (beside the header), or None for data in the header's own file."""
    path = Path(path)
    keys, _ = _header(path)
    name = keys.get("elementdatafile", "").strip()
    return None if name.upper() == "LOCAL" or not name else path.parent / name


def read_metaimage(path: str | Path) -> tuple[np.ndarray, tuple[float, float] | None, dict]:
    """The image(s) of a MetaImage file ``path``: ``(array, (row_mm, col_mm) or None, facts)``.

    ``array`` is ``(rows, cols)`` for one plane and ``(2, rows, cols)`` (ANT, POST) for two; ``facts`` holds
    ``data_file`` (the data file's name) when the data lie in a file of their own.
    """
    path = Path(path)
    keys, header_end = _header(path)
    if keys.get("objecttype", "Image").strip().lower() != "image":
        raise ScintisegError(f"MetaImage object {keys['objecttype'][:20]!r} is not an image", path=path)
    ndims = (_numbers(keys, "ndims", path) or [0])[0]
    dims = _numbers(keys, "dimsize", path)
    if ndims not in (2, 3) or dims is None or len(dims) != ndims:
        raise ScintisegError(f"MetaImage of {ndims} dimensions and size {keys.get('dimsize', '?')[:40]!r}: a planar "
                             "view has 2 (or 3 with one or two planes)", path=path)
    cols, rows, planes = dims[0], dims[1], (dims[2] if ndims == 3 else 1)
    if planes not in (1, 2):
        raise ScintisegError(f"MetaImage of {planes} planes: a planar bone scan has one or two views", path=path)
    if rows <= 0 or cols <= 0:
        raise ScintisegError(f"MetaImage size {cols} x {rows} is not an image", path=path)
    check_view_size(rows, cols, path=path)
    channels = (_numbers(keys, "elementnumberofchannels", path) or [1])[0]
    if channels != 1:
        raise ScintisegError(f"MetaImage of {channels} channels per pixel: a scan has counts, one per pixel", path=path)
    element = keys.get("elementtype", "").strip().upper()
    if element not in _TYPES:
        raise ScintisegError(f"MetaImage element type {element[:20]!r} is not supported", path=path)
    msb = _flag(keys, "binarydatabyteordermsb", path) or _flag(keys, "elementbyteordermsb", path)
    dtype = np.dtype(_TYPES[element]).newbyteorder(">" if msb else "<")
    needed = planes * rows * cols * dtype.itemsize
    name = keys["elementdatafile"].strip()
    if name.upper() == "LIST" or "%" in name or not name:
        raise ScintisegError(f"MetaImage data file {name[:40]!r}: a list or pattern of data files is not supported",
                             path=path)
    local = name.upper() == "LOCAL"
    source = path if local else path.parent / name
    skip = header_end if local else (_numbers(keys, "headersize", path) or [0])[0]
    compressed = _flag(keys, "compresseddata", path)
    try:
        size = source.stat().st_size
        with open(source, "rb") as handle:
            if skip == -1 and not compressed:  # the data are the file's last bytes
                skip = max(size - needed, 0)
            if skip < 0:
                raise ScintisegError(f"MetaImage header size {skip} is negative", path=path)
            handle.seek(skip)
            if compressed:
                stored = (_numbers(keys, "compresseddatasize", path) or [size - skip])[0]
                inflater = zlib.decompressobj()
                data = inflater.decompress(handle.read(min(max(stored, 0), size)), needed + 1)
            else:
                data = handle.read(needed + 1)
    except zlib.error as exc:
        raise ScintisegError(f"MetaImage compressed data cannot be inflated ({exc})", path=path) from None
    except (OSError, ValueError) as exc:  # ValueError: a name with a NUL byte
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ScintisegError(f"cannot read the MetaImage data file {source.name[:80]!r} ({reason})", path=path) from None
    if len(data) < needed:
        raise ScintisegError(f"the MetaImage data of {source.name} hold {len(data)} bytes; {planes} plane(s) of "
                             f"{rows} x {cols} {element} need {needed}", path=path)
    array = np.frombuffer(data[:needed], dtype=dtype).reshape(planes, rows, cols).astype(dtype.newbyteorder("="))
    if planes == 2:
        warnings.warn(f"{path}: MetaImage of two planes: assuming plane 1 = ANT, plane 2 = POST", ReaderWarning,
                      stacklevel=2)
    spacing = None
    found = _numbers(keys, "elementspacing", path, kind=float) or _numbers(keys, "elementsize", path, kind=float)
    if found is not None:
        if len(found) < 2 or not (0 < found[0] < 100 and 0 < found[1] < 100):
            raise ScintisegError(f"MetaImage pixel size {' x '.join(f'{v:g}' for v in found[:3])} mm is not a camera's",
                                 path=path)
        spacing = (found[1], found[0])
    facts = {} if local else {"data_file": source.name}
    return (array[0] if planes == 1 else array), spacing, facts
