"""NIfTI-1 and NIfTI-2 (``.nii``, ``.nii.gz``), read with nibabel: how Python and MONAI pipelines store images.

Why. A researcher's phantom, or a planar view converted by a MONAI, ITK or 3D Slicer pipeline, may come as NIfTI;
before session 23 it was an unrecognised file. nibabel (the NiPy project's reader, MIT) does the parsing; this
module decides what the voxels are as a planar view, and is imported only when a file is NIfTI (start-up time).

Recognised by content: NIfTI-1's ``n+1`` magic at byte 344 or NIfTI-2's ``n+2`` at byte 4, also inside a gzip
stream (``.nii.gz``). The two-file Analyze / NIfTI pair (``.hdr`` + ``.img``) is not read.

[Choices the format leaves open for a planar image.]

- *Axes.* NIfTI's first voxel axis is x (ITK, SimpleITK, MONAI and Slicer write an image's columns first), but a
  NumPy array saved as it is (``nibabel.Nifti1Image(view, affine)``) has its rows first. A whole-body view is
  taller than wide, so the reader takes the order that stands the image upright: the voxel array as stored when
  it has more rows than columns, else transposed (x = columns); a square image (a spot view, a crop) is read
  transposed, as the standard says. ``metadata["nifti_axes"]`` says which. The affine is not applied otherwise:
  a view stored head-down is prediction's to find (:mod:`scintiseg.predict.orientation`).
- *Views.* After dropping axes of length 1: two axes are one view; three with exactly one of length 2 are
  ``ANT`` then ``POST`` along it, with a warning (the format names no view); anything else (a volume, a dynamic
  series) is one error.
- *Pixel size.* The header's ``pixdim`` of the two image axes, in its spatial unit (mm when unknown; metres and
  microns converted). ``pixdim`` of exactly 1 x 1 with no unit is what a writer leaves when it was told nothing
  (nibabel's default affine): taken as not given, so the reader assumes one as for images, and says so.
- *Values.* The stored values with the header's ``scl_slope`` / ``scl_inter`` applied (nibabel's ``dataobj``);
  complex or RGB voxels are one error.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
import zlib
from pathlib import Path

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.io.images import check_view_size
from scintiseg.io.library_messages import ReaderWarning

#: Largest NIfTI read (bytes, after gunzip): two 4096 x 4096 views of 8-byte voxels and a header.
MAX_BYTES = 2 * 4096 * 4096 * 8 + 1024
#: Bytes read to recognise a file: NIfTI-2's header is 540 bytes, NIfTI-1's magic ends at byte 348.
SNIFF_BYTES = 544
_UNIT_MM = {"mm": 1.0, "unknown": 1.0, "meter": 1000.0, "micron": 0.001}

__all__ = ["is_nifti", "nifti_voxels", "read_nifti"]


def _is_nifti_header(head: bytes) -> bool:
    return head[344:348] == b"n+1\0" or head[4:8] == b"n+2\0"


def is_nifti(head: bytes) -> bool:
    """Whether a file starting with ``head`` (at least :data:`SNIFF_BYTES` bytes, or the whole file) is a one-file
    NIfTI-1 or NIfTI-2 image, plain or gzipped."""
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(wbits=31).decompress(head, SNIFF_BYTES)
        except zlib.error:
            return False
    return _is_nifti_header(head)


def _views(data: np.ndarray, path: Path) -> tuple[np.ndarray, bool]:
    """The voxels as ``(rows, cols)`` or ``(2, rows, cols)`` and whether they were transposed (module docstring)."""
    data = data.reshape([n for n in data.shape if n != 1] or [1])
    if data.ndim == 3:
        pairs = [axis for axis, n in enumerate(data.shape) if n == 2]
        if len(pairs) != 1:
            raise ScintisegError(f"NIfTI image of {' x '.join(map(str, data.shape))} voxels: a planar bone scan has "
                                 "one or two views (a volume or a series is not read)", path=path)
        data = np.moveaxis(data, pairs[0], 0)
        warnings.warn(f"{path}: NIfTI image of two views: assuming the first = ANT, the second = POST",
                      ReaderWarning, stacklevel=3)
    elif data.ndim != 2:
        raise ScintisegError(f"NIfTI image of {' x '.join(map(str, data.shape))} voxels: a planar bone scan has one "
                             "or two views (a volume or a series is not read)", path=path)
    transposed = data.shape[-2] <= data.shape[-1]
    if transposed:
        data = np.swapaxes(data, -2, -1)
    check_view_size(*data.shape[-2:], path=path)
    return np.ascontiguousarray(data), transposed


def _contents(path: Path) -> bytes:
    """The file's bytes, gunzipped when gzipped, at most :data:`MAX_BYTES` (a larger image is no planar view)."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ScintisegError(f"NIfTI file of more than {MAX_BYTES:,} bytes is not a planar view", path=path)
        data = path.read_bytes()
    except OSError as exc:
        raise ScintisegError(f"cannot read ({exc.strerror})", path=path) from None
    if data[:2] == b"\x1f\x8b":
        data = zlib.decompressobj(wbits=31).decompress(data, MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ScintisegError(f"NIfTI image of more than {MAX_BYTES:,} bytes is not a planar view", path=path)
    return data


@contextlib.contextmanager
def _quiet(logger: logging.Logger):
    """Nothing of ``logger`` (nibabel's notes on a header it fixes as it reads) reaches the user while reading."""
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


def nifti_voxels(path: str | Path) -> np.ndarray:
    """The voxel array of a NIfTI-1 or -2 file as stored (x first, the header's scaling applied), read as
    :func:`read_nifti` reads (by content, quietly, at most :data:`MAX_BYTES`), without its reading as a view: a
    mask written for a known view (:mod:`scintiseg.io.nnunet`).

    Raises:
        ScintisegError: a file that cannot be read or parsed (one line, the file named).
    """
    import nibabel  # lazy: start-up time (only a NIfTI file needs it)

    path = Path(path)
    try:
        with warnings.catch_warnings(), _quiet(nibabel.imageglobals.logger):
            warnings.simplefilter("ignore")
            raw = _contents(path)
            if not _is_nifti_header(raw[:SNIFF_BYTES]):
                raise ScintisegError("not a NIfTI file (no n+1 or n+2 magic)", path=path)
            kind = nibabel.Nifti1Image if raw[344:348] == b"n+1\0" else nibabel.Nifti2Image
            return np.asarray(kind.from_bytes(raw).dataobj)
    except ScintisegError:
        raise
    except Exception as exc:  # noqa: BLE001 - the library's boundary: any failure to parse is this file's problem
        raise ScintisegError(f"not a readable NIfTI image ({type(exc).__name__}: {str(exc)[:120]})", path=path) from None


def read_nifti(path: str | Path) -> tuple[np.ndarray, tuple[float, float] | None, dict]:
    """The view(s) of a NIfTI file: ``(array, (row_mm, col_mm) or None, facts)``.

    ``array`` is ``(rows, cols)`` or ``(2, rows, cols)`` (ANT, POST); ``facts`` holds ``nifti_axes`` (how the voxel
    axes were read) and, when ``pixdim`` was taken as not given, ``pixel_spacing_unset`` (why).
    """
    import nibabel  # lazy: start-up time (only a NIfTI file needs it)

    path = Path(path)
    try:
        # nibabel reports odd header values through its own logger and warnings; the checks below say what matters.
        with warnings.catch_warnings(), _quiet(nibabel.imageglobals.logger):
            warnings.simplefilter("ignore")
            raw = _contents(path)  # by content, not by name: nibabel.load goes by the file name's suffix
            kind = nibabel.Nifti1Image if raw[344:348] == b"n+1\0" else nibabel.Nifti2Image
            image = kind.from_bytes(raw)
            header = image.header
            shape = tuple(int(n) for n in header.get_data_shape())
            spatial = [n for n in shape if n != 1]
            if len(spatial) < 2 or np.prod(spatial, dtype=np.float64) > 2 * 4096 * 4096:
                raise ScintisegError(f"NIfTI image of {' x '.join(map(str, shape))} voxels is not a planar view",
                                     path=path)
            if header.get_data_dtype().kind not in "uifb":
                raise ScintisegError(f"NIfTI voxels of type {header.get_data_dtype()} are not counts", path=path)
            data = np.asanyarray(image.dataobj)
            zooms = [float(f"{float(z):.6g}") for z in header.get_zooms()[:2]]  # float32 in the header
            unit = header.get_xyzt_units()[0]
    except ScintisegError:
        raise
    except Exception as exc:  # noqa: BLE001 - the library's boundary: any failure to parse is this file's problem
        raise ScintisegError(f"not a readable NIfTI image ({type(exc).__name__}: {str(exc)[:120]})", path=path) from None
    if data.dtype == bool:
        data = data.astype(np.uint8)
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        raise ScintisegError("NIfTI image holds NaN or infinite values, not counts", path=path)
    array, transposed = _views(np.asarray(data), path)
    facts = {"nifti_axes": "voxel axis 1 = columns, axis 2 = rows (transposed, as NIfTI's x comes first)"
             if transposed else "voxel axis 1 = rows, axis 2 = columns (as stored: more rows than columns)"}
    scale = _UNIT_MM.get(unit)
    spacing = None
    if len(zooms) == 2 and scale is not None:
        if zooms == [1.0, 1.0] and unit == "unknown":
            facts["pixel_spacing_unset"] = "NIfTI pixdim 1 x 1 with no unit (a writer's default)"
        else:
            row_mm, col_mm = (zooms[1], zooms[0]) if transposed else (zooms[0], zooms[1])
            row_mm, col_mm = row_mm * scale, col_mm * scale
            if not (0 < row_mm < 100 and 0 < col_mm < 100):
                raise ScintisegError(f"NIfTI pixel size {row_mm:g} x {col_mm:g} mm is not a camera's", path=path)
            spacing = (row_mm, col_mm)
    return array, spacing, facts
