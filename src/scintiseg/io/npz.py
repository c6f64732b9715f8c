"""NumPy archives (``.npz``): the views a Python-built phantom or pipeline saves with ``np.savez``.

Why. A researcher who builds a phantom in Python (as ``benchmarks/independent_phantom.py`` does) saves its two
views, and often their lesion masks and pixel size, in one archive: ``np.savez("case.npz", ant=..., post=...,
ant_mask=..., pixel_spacing=2.26)``. Before session 38 such a file was an unrecognised format; a ``.npy`` holds one
array only and no pixel size.

What is read (our choices; NumPy documents the container, not what its arrays mean):

* the archive is a zip file of ``.npy`` members (``np.savez`` or ``np.savez_compressed``), recognised by the zip
  signature; a zip file without ``.npy`` members is one error, as is an array stored as Python objects (never
  unpickled);
* **the views**: a member named ``ant`` or ``anterior`` is the anterior view, ``post`` or ``posterior`` the posterior
  one (case ignored), each one 2-D array of numbers; every other member is left alone (masks, label maps, notes),
  so a phantom's archive with its masks beside its views reads as its views. An archive that names no view and
  holds exactly one array of numbers with two or more dimensions is read as a ``.npy`` file is: ``(rows, cols)``
  -> ``VIEW``, ``(2, rows, cols)`` -> ``ANT``, ``POST``; several such arrays and no view name is one error naming
  them (which to read is not ours to guess);
* **the pixel size**: a member named ``pixel_spacing``, ``pixel_spacing_mm``, ``spacing``, ``pixel_mm``,
  ``pixel_size`` or ``pixel_size_mm`` (the first present, case ignored), one number (square pixels) or two (row,
  column), in mm, each positive and finite; without one the reader assumes one, as for images
  (:func:`~scintiseg.io.images.assumed_pixel_spacing`);
* **the patient**: a member ``patient_id`` holding one string names the scan's patient (else the file's stem);
* every array's header (shape and type) is read before its data, so an archive claiming more pixels than two views
  may have is refused before anything is allocated (:func:`~scintiseg.io.images.check_view_size`); the values are
  counts as stored (no display curve, inversion or side-by-side split is read into them, as for NIfTI).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from scintiseg.errors import ScintisegError
from scintiseg.io.images import _describe, check_view_size, quiet_npy_header

#: Zip signatures: a local file header (any archive with members) and an empty archive's end record.
ZIP_MAGICS: tuple[bytes, ...] = (b"PK\x03\x04", b"PK\x05\x06")
#: Member names (case ignored) of the anterior and the posterior view.
VIEW_KEYS: dict[str, tuple[str, ...]] = {"ANT": ("ant", "anterior"), "POST": ("post", "posterior")}
#: Member names (case ignored) of the pixel size in mm, the first present read.
SPACING_KEYS: tuple[str, ...] = ("pixel_spacing", "pixel_spacing_mm", "spacing", "pixel_mm", "pixel_size",
                                 "pixel_size_mm")
#: Member name (case ignored) of the patient id.
PATIENT_KEY = "patient_id"
#: Largest pixel-size or patient-id member read (elements): a number, two, or one string.
_SMALL = 4

__all__ = ["SPACING_KEYS", "VIEW_KEYS", "ZIP_MAGICS", "is_npz", "read_npz"]


def is_npz(head: bytes) -> bool:
    """Whether a file starting with ``head`` is a zip archive (what a ``.npz`` file is; :func:`read_npz` says
    whether it holds arrays)."""
    return head.startswith(ZIP_MAGICS)


class _Archive:
    """The ``.npy`` members of one zip file, by name without ``.npy``; each array's header read before its data."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            raise ScintisegError(f"unreadable .npz archive ({_describe(exc)})", path=path) from None
        self.members = {info.filename[:-4]: info for info in infos
                        if info.filename.endswith(".npy") and not info.is_dir()}
        if not self.members:
            self.zip.close()
            raise ScintisegError("a zip archive without NumPy arrays (.npy members): not a .npz scan", path=path)
        self.by_lower = {}
        for name in sorted(self.members):  # the first of names equal but for case, in sorted order
            self.by_lower.setdefault(name.lower(), name)

    def close(self) -> None:
        self.zip.close()

    def find(self, keys: tuple[str, ...]) -> str | None:
        """The first member named one of ``keys`` (case ignored), else None."""
        return next((self.by_lower[key] for key in keys if key in self.by_lower), None)

    def header(self, name: str) -> tuple[tuple[int, ...], np.dtype]:
        """A member's shape and element type, read from its ``.npy`` header only."""
        try:
            with self.zip.open(self.members[name]) as handle, quiet_npy_header():
                version = npy_format.read_magic(handle)
                reader = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
                shape, _, dtype = reader(handle)
        except Exception as exc:  # zipfile, zlib and numpy raise many types on damaged members
            raise ScintisegError(f"unreadable array {name!r} in the .npz archive ({_describe(exc)})",
                                 path=self.path) from None
        return tuple(int(n) for n in shape), dtype

    def array(self, name: str) -> np.ndarray:
        """A member's array (never unpickled)."""
        try:
            with self.zip.open(self.members[name]) as handle, quiet_npy_header():
                return npy_format.read_array(handle, allow_pickle=False)
        except Exception as exc:  # as in header(); an object array raises ValueError here
            raise ScintisegError(f"unreadable array {name!r} in the .npz archive ({_describe(exc)})",
                                 path=self.path) from None


def _image_like(shape: tuple[int, ...], dtype: np.dtype) -> bool:
    return len(shape) >= 2 and dtype.kind in "uif"


def _squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A ``(1, rows, cols)`` shape as ``(rows, cols)`` (one view stored with a leading axis); any other as it is."""
    return shape[1:] if len(shape) == 3 and shape[0] == 1 else shape


def _view(archive: _Archive, name: str, view: str) -> np.ndarray:
    shape, dtype = archive.header(name)
    if dtype.kind not in "uif":
        raise ScintisegError(f"the {view} view {name!r} holds {dtype} values: counts must be numbers",
                             path=archive.path)
    shape = _squeezed(shape)
    if len(shape) != 2:
        raise ScintisegError(f"the {view} view {name!r} has shape {shape}: expected ROWSxCOLS", path=archive.path)
    check_view_size(*shape, path=archive.path)
    return archive.array(name).reshape(shape)


def _views(archive: _Archive) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The views, and the member each was read from."""
    named = {view: archive.find(keys) for view, keys in VIEW_KEYS.items()}
    named = {view: name for view, name in named.items() if name is not None}
    if named:
        views = {view: _view(archive, name, view) for view, name in named.items()}
        shapes = {view: array.shape for view, array in views.items()}
        if len(set(shapes.values())) > 1:
            raise ScintisegError("the views differ in matrix: " + ", ".join(
                f"{view} {rows} x {cols}" for view, (rows, cols) in shapes.items()), path=archive.path)
        return views, named
    images = [name for name in sorted(archive.members) if _image_like(*archive.header(name))]
    if not images:
        raise ScintisegError(f"no image array in the .npz archive (arrays: {', '.join(sorted(archive.members))})",
                             path=archive.path)
    if len(images) > 1:
        raise ScintisegError(f"{len(images)} image arrays in the .npz archive ({', '.join(images)}) and none named a "
                             "view: name them ant and post", path=archive.path)
    shape = _squeezed(archive.header(images[0])[0])
    if len(shape) == 2:
        check_view_size(*shape, path=archive.path)
        return {"VIEW": archive.array(images[0]).reshape(shape)}, {"VIEW": images[0]}
    if len(shape) == 3 and shape[0] == 2:
        check_view_size(*shape[1:], path=archive.path)
        stack = archive.array(images[0])
        return {"ANT": stack[0], "POST": stack[1]}, {"ANT": f"{images[0]}[0]", "POST": f"{images[0]}[1]"}
    raise ScintisegError(f"array {images[0]!r} of shape {shape}: expected ROWSxCOLS or 2xROWSxCOLS (ANT, POST)",
                         path=archive.path)


def _small(archive: _Archive, name: str, what: str) -> np.ndarray:
    shape, _ = archive.header(name)
    if int(np.prod(shape, dtype=np.float64)) > _SMALL:
        expected = "one or two numbers" if what == "pixel size" else "one string"
        raise ScintisegError(f"{what} {name!r} has shape {shape}: expected {expected}", path=archive.path)
    return archive.array(name)


def _spacing(archive: _Archive, name: str | None) -> tuple[float, float] | None:
    if name is None:
        return None
    value = _small(archive, name, "pixel size")
    numbers = value.astype(np.float64).ravel() if value.dtype.kind in "uif" else np.array([])  # not complex, text
    if numbers.size not in (1, 2) or not np.all(np.isfinite(numbers)) or not np.all(numbers > 0):
        raise ScintisegError(f"pixel size {name!r} is {value.tolist()!r}: expected one or two positive numbers (mm)",
                             path=archive.path)
    return (float(numbers[0]), float(numbers[-1]))


def _patient_id(archive: _Archive, name: str | None) -> str | None:
    if name is None:
        return None
    value = _small(archive, name, "patient id")
    if value.dtype.kind not in "US" or value.size != 1:
        raise ScintisegError(f"patient id {name!r} holds {value.dtype} values: expected one string", path=archive.path)
    text = value.ravel()[0]
    return (text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)).strip() or None


def read_npz(path: str | Path) -> tuple[dict[str, np.ndarray], tuple[float, float] | None, dict]:
    """The views, pixel size (mm, or None when the archive has none) and facts of a ``.npz`` archive (module
    docstring): ``arrays``, what was read from which array and what was not (a line for the reader's notes), and
    ``patient_id`` when given.

    Raises:
        ScintisegError: not a zip file of arrays, no or ambiguous views, a view of the wrong shape or type, or a pixel
            size that is not one or two positive numbers.
    """
    path = Path(path)
    archive = _Archive(path)
    try:
        views, sources = _views(archive)
        spacing_key, patient_key = archive.find(SPACING_KEYS), archive.find((PATIENT_KEY,))
        spacing = _spacing(archive, spacing_key)
        patient = _patient_id(archive, patient_key)
        used = {source.split("[")[0] for source in sources.values()} | {spacing_key, patient_key}
        read = [f"{view} from {source!r}" for view, source in sources.items()]
        read += [f"{what} from {key!r}" for what, key in (("pixel size", spacing_key), ("patient id", patient_key)) if key]
        unread = [name for name in sorted(archive.members) if name not in used]
        facts: dict = {"arrays": "; ".join(read) + (f"; not read: {', '.join(unread)}" if unread else "")}
        if patient:
            facts["patient_id"] = patient
    finally:
        archive.close()
    return views, spacing, facts
