"""Interfile 3.3: a text header (``!INTERFILE :=``) beside a raw data file, nuclear medicine's exchange format.

Why. Older gamma-camera workstations export planar studies as Interfile, and the simulators a phantom is built
with elsewhere (SIMIND, SimSET, GATE, STIR) write it: a scan "from any camera", or an independently built
phantom, may come as ``scan.h00`` + ``scan.a00``. Before session 21 the header was an unrecognised file and the
data file a raw matrix that needed ``--shape``.

What is read (Interfile 3.3 keys, case and a leading ``!`` ignored, ``;`` comments skipped): ``name of data
file`` (relative to the header's folder), ``matrix size [1]`` (columns) and ``[2]`` (rows), ``number format``
(``unsigned integer``, ``signed integer``, ``short float`` / ``float``, ``long float``) with ``number of bytes
per pixel``, ``imagedata byte order`` (``LITTLEENDIAN`` or ``BIGENDIAN``, the standard's default),
``data offset in bytes`` or ``data starting block`` (2,048-byte blocks), ``total number of images`` (1: the
unnamed ``VIEW``; 2: ``ANT`` then ``POST``, with a warning, as a DICOM file without view codes), ``scaling
factor (mm/pixel) [1]`` and ``[2]`` (the pixel spacing; without them the reader assumes one, as for images),
``patient name`` and ``patient ID``. Anything else (energy windows, SPECT and PET keys) is ignored; more than two
images (a dynamic or tomographic study) is one error, as is a data file shorter than the header says.
The pixel values are counts as stored (no scaling: Interfile's ``quantification units`` are not applied).
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.io.images import MAX_VIEW_PIXELS, check_view_size
from scintiseg.io.library_messages import ReaderWarning

#: What a header starts with (after white space or a byte-order mark).
MAGIC = b"!INTERFILE"
#: Largest header read (bytes): a planar study's header is a few kilobytes.
MAX_HEADER_BYTES = 1 << 20
#: Bytes of a ``data starting block``.
BLOCK_BYTES = 2048

_FORMATS = {  # (number format, bytes per pixel) -> numpy kind and size
    ("unsigned integer", 1): "u1", ("unsigned integer", 2): "u2", ("unsigned integer", 4): "u4",
    ("signed integer", 1): "i1", ("signed integer", 2): "i2", ("signed integer", 4): "i4",
    ("short float", 4): "f4", ("float", 4): "f4", ("long float", 8): "f8", ("float", 8): "f8",
}
_LINE = re.compile(r"^\s*!?\s*(?P<key>[^:;]*?)\s*:=\s*(?P<value>.*?)\s*$")


def is_interfile(head: bytes) -> bool:
    """Whether a file starting with ``head`` is an Interfile header."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").upper().startswith(MAGIC)


def header_keys(path: str | Path) -> dict[str, str]:
    """The header's ``key := value`` pairs, keys lower-cased with single spaces and no ``!`` (the first of a
    repeated key wins); raises a :class:`~scintiseg.errors.ScintisegError` for an unreadable header."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_HEADER_BYTES + 1)
    except OSError as exc:
        raise ScintisegError(f"cannot read ({exc.strerror})", path=path) from None
    if len(raw) > MAX_HEADER_BYTES:
        raise ScintisegError(f"Interfile header longer than {MAX_HEADER_BYTES} bytes", path=path)
    keys: dict[str, str] = {}
    for line in raw.decode("latin-1").splitlines():
        match = _LINE.match(line.split(";", 1)[0] if not line.lstrip().startswith(";") else "")
        if match:
            key = " ".join(match["key"].lower().lstrip("!").split())
            keys.setdefault(key, match["value"])
    return keys


def data_file(path: str | Path, keys: dict[str, str] | None = None) -> Path | None:
    """The data file an Interfile header names (beside the header), or None when it names none."""
    keys = header_keys(path) if keys is None else keys
    name = keys.get("name of data file", "").strip().strip('"')
    return (Path(path).parent / name) if name else None


def _number(keys: dict[str, str], key: str, path: Path, default: float | None = None, kind=int):
    text = keys.get(key)
    if text is None or not text.strip():
        if default is None:
            raise ScintisegError(f"Interfile header has no '{key}'", path=path)
        return default
    try:
        value = kind(float(text)) if kind is int else kind(text)
    except (TypeError, ValueError, OverflowError):
        raise ScintisegError(f"Interfile '{key}' is not a number: {text[:40]!r}", path=path) from None
    if not math.isfinite(value):
        raise ScintisegError(f"Interfile '{key}' is not a finite number: {text[:40]!r}", path=path)
    return value


def read_interfile(path: str | Path) -> tuple[np.ndarray, tuple[float, float] | None, dict]:
    """The image(s) of an Interfile header ``path``: ``(array, (row_mm, col_mm) or None, facts)``.

    ``array`` is ``(rows, cols)`` for one image and ``(2, rows, cols)`` (ANT, POST) for two; ``facts`` holds
    ``patient_name`` and ``patient_id`` when the header gives them.
    """
    path = Path(path)
    keys = header_keys(path)
    source = data_file(path, keys)
    if source is None:
        raise ScintisegError("Interfile header names no data file ('name of data file')", path=path)
    cols = _number(keys, "matrix size [1]", path)
    rows = _number(keys, "matrix size [2]", path)
    images = _number(keys, "total number of images", path, default=1)
    if images not in (1, 2):
        raise ScintisegError(f"Interfile study of {images} images: a planar bone scan has one or two views", path=path)
    if rows <= 0 or cols <= 0 or rows * cols > MAX_VIEW_PIXELS:
        raise ScintisegError(f"Interfile matrix of {rows} x {cols} pixels is not a planar view", path=path)
    check_view_size(rows, cols, path=path)
    number_format = " ".join(keys.get("number format", "unsigned integer").lower().split())
    size = _number(keys, "number of bytes per pixel", path, default=2)
    kind = _FORMATS.get((number_format, size))
    if kind is None:
        raise ScintisegError(f"Interfile number format {number_format!r} of {size} bytes is not supported", path=path)
    order = keys.get("imagedata byte order", "BIGENDIAN").strip().upper()
    if order not in ("LITTLEENDIAN", "BIGENDIAN"):
        raise ScintisegError(f"Interfile byte order {order[:20]!r} is neither LITTLEENDIAN nor BIGENDIAN", path=path)
    dtype = np.dtype(kind).newbyteorder("<" if order == "LITTLEENDIAN" else ">")
    offset = _number(keys, "data offset in bytes", path, default=0)
    if "data offset in bytes" not in keys:
        offset = _number(keys, "data starting block", path, default=0) * BLOCK_BYTES
    if offset < 0:
        raise ScintisegError(f"Interfile data offset {offset} is negative", path=path)
    needed = images * rows * cols * dtype.itemsize
    try:
        available = source.stat().st_size
        with open(source, "rb") as handle:
            handle.seek(offset)
            data = handle.read(needed) if available >= offset + needed else b""
    except (OSError, ValueError) as exc:  # ValueError: a name with a NUL byte
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ScintisegError(f"cannot read the Interfile data file {source.name[:80]!r} ({reason})",
                             path=path) from None
    if len(data) != needed:
        raise ScintisegError(f"the Interfile data file {source.name} has {available} bytes; {images} image(s) of "
                             f"{rows} x {cols} {number_format} from byte {offset} need {offset + needed}", path=path)
    array = np.frombuffer(data, dtype=dtype).reshape(images, rows, cols).astype(dtype.newbyteorder("="))
    if images == 2:
        warnings.warn(f"{path}: Interfile study of two images: assuming image 1 = ANT, image 2 = POST", ReaderWarning,
                      stacklevel=2)
    spacing = None
    if "scaling factor (mm/pixel) [1]" in keys and "scaling factor (mm/pixel) [2]" in keys:
        col_mm = _number(keys, "scaling factor (mm/pixel) [1]", path, kind=float)
        row_mm = _number(keys, "scaling factor (mm/pixel) [2]", path, kind=float)
        if not (0 < row_mm < 100 and 0 < col_mm < 100):
            raise ScintisegError(f"Interfile pixel size {row_mm} x {col_mm} mm is not a camera's", path=path)
        spacing = (row_mm, col_mm)
    facts = {key: keys[name].strip() for key, name in (("patient_name", "patient name"), ("patient_id", "patient id"))
             if keys.get(name, "").strip()}
    return (array[0] if images == 1 else array), spacing, facts
