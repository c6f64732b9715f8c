"""LabelMe JSON annotations (versions 4 and 5): read a file into an :class:`~scintiseg.scan.Annotation`,
write an annotation as a file. Nothing else: masks <-> polygons is :mod:`scintiseg.geometry`.

Reading (:func:`read_labelme`) keeps the shapes that enclose an area -- ``polygon``, ``rectangle`` (two
opposite corners in any order), ``circle`` (centre, then a point on the circumference) and LabelMe 5.5's
``oriented_rectangle`` (four corners in order, read as that polygon); their annotation rasterises them
exactly as LabelMe's ``shape_to_mask`` does (PIL fill plus a one-pixel outline, so pixels on the edge are
inside; :func:`scintiseg.geometry.shape_to_mask`). LabelMe's shapes that enclose no area (``point``,
``points``, ``line``, ``linestrip``: markers and notes, never a lesion outline) are skipped with one
warning per file. A ``mask`` shape (LabelMe's AI-mask tool: an area stored as a bitmap, which this reader
does not decode) is an error, since skipping it would silently drop a lesion; so is any other
``shape_type``, which LabelMe itself refuses to open (``ai_polygon`` and ``ai_mask`` are LabelMe's drawing
modes, saved as ``polygon`` and ``mask``).

``imageData`` may be embedded (a base64 PNG or JPEG, what LabelMe embeds; it is decoded in full, so a
truncated image is an error) or null.
``imagePath`` is resolved relative to the JSON file and must stay inside the data set folder ``root``,
always; when ``imageData`` is null, the image it names must exist. An annotation may name no image at all
(empty or null ``imagePath`` and null ``imageData``) when ``imageHeight`` and ``imageWidth`` give its size:
:func:`write_labelme` writes such files when it has no image, and the data-set manifest, not the JSON,
then says which scan they belong to (``scintiseg dataset check`` compares the sizes). A declared size is
checked against an embedded image; the image ``imagePath`` names is opened only when a side is not
declared. A point more than one pixel outside the image is an error (LabelMe clips nothing; such a point
means the JSON belongs to another image).

Hostile or damaged files (issue 14) raise one :class:`~scintiseg.errors.ScintisegError` naming the file
and the problem, never another exception, and nothing is allocated in proportion to a number the file
merely claims:

- ``imageHeight``/``imageWidth`` must be whole numbers (``512`` or ``512.0``; not ``512.5``, ``true`` or
  ``"512"``) from 1 to :data:`MAX_IMAGE_SIDE` (8192), and the image at most
  :data:`~scintiseg.io.images.MAX_VIEW_PIXELS` (4096 x 4096) pixels, the limit :func:`scintiseg.io.read_scan`
  applies to the scan itself. Why 8192: a planar whole-body view is at most 1024 x 2048 pixels (2.26 mm
  pixels over a 2 m bed); 8192 is four times its long side, so no real annotation comes near it, while a
  claimed 10^9 x 10^9 image is refused before anything the size of it is allocated.
- Coordinates must be finite JSON numbers (not booleans, strings or null; a 401-digit integer is not a
  finite float); ``points`` a list of ``[x, y]`` pairs; ``group_id`` a whole number or null; ``shapes`` a
  list of objects.
- At most :data:`MAX_SHAPES` shapes and :data:`MAX_POINTS` points per file, and files of at most
  :data:`MAX_FILE_BYTES`; deeply nested JSON and numbers of thousands of digits are malformed JSON.

Writing (:func:`write_labelme`) writes an annotation's shapes, typically the closed polygons
``Annotation.from_mask`` traced from a mask (:mod:`scintiseg.geometry`: through the boundary-pixel
centres, so the round trip mask -> JSON -> mask is exact for hole-free blobs), so that physicians can
open a prediction in LabelMe and correct it.

``imageData`` in written files: when an image is given it is embedded as an 8-bit PNG rendering for
display only, in scintiseg's one display window (:mod:`scintiseg.display`: linear from 0 to the 99.5th
percentile of the non-zero counts, capped below a hot bladder, inverted). The counts themselves stay in the scan file; never read counts back
from ``imageData``.

Besides LabelMe's own keys, written files carry ``"view"`` (``ANT``/``POST``/``VIEW``); LabelMe keeps
unknown top-level keys when it saves. On reading, the view comes from that key, else from a
``_ANT``/``_POST`` file-name suffix, else ``VIEW``.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
import warnings
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from PIL import Image, UnidentifiedImageError

from scintiseg.display import render_display
from scintiseg.errors import ScintisegError
from scintiseg.geometry import AREA_SHAPE_TYPES
from scintiseg.io import read_scan
from scintiseg.io.atomic import write_text_atomic
from scintiseg.io.dicom import is_dicom
from scintiseg.io.images import MAX_VIEW_PIXELS
from scintiseg.scan import VIEW_NAMES, Annotation, Shape

#: LabelMe version written into new files (the 5.x JSON layout, read by LabelMe 4 and 5).
LABELME_VERSION = "5.2.1"
#: How far outside the image (pixels) a point may lie before the file is rejected.
OUTSIDE_TOLERANCE = 1.0
#: Largest side (pixels) of the image an annotation may belong to: four times the long side of the largest
#: planar whole-body matrix (1024 x 2048; module docstring).
MAX_IMAGE_SIDE = 8192
#: Most shapes in one file. A whole-body view with widespread metastases shows a few hundred separate hot
#: spots at most (diffuse disease merges into large regions); every shape is rasterised on a canvas of
#: the whole image, so this also bounds the work of ``Annotation.to_mask``.
MAX_SHAPES = 10_000
#: Most points of all shapes of one file together: a traced lesion has about 46 vertices
#: (:mod:`scintiseg.geometry`), a hand-drawn one rarely more than a few hundred; this is 100 for each of
#: :data:`MAX_SHAPES` shapes (16 MB as float64).
MAX_POINTS = 1_000_000
#: Largest file read (bytes). The largest real whole-body view embedded as a 16-bit PNG is under 6 MB of
#: base64 and :data:`MAX_POINTS` points about 15 MB of text; parsing 32 MiB of JSON needs at most about
#: 0.5 GB of Python objects.
MAX_FILE_BYTES = 32 * 2**20
#: Formats LabelMe embeds as ``imageData`` (JPEG for .jpg images, PNG for all others); no other decoder runs.
EMBEDDED_FORMATS: tuple[str, ...] = ("PNG", "JPEG")
#: LabelMe shape types that enclose no area (markers, notes): skipped with a warning.
NO_AREA_SHAPE_TYPES: tuple[str, ...] = ("point", "points", "line", "linestrip")
#: LabelMe's ``oriented_rectangle`` (LabelMe 5.5): four corners in order, read as that polygon.
ORIENTED_RECTANGLE = "oriented_rectangle"


def _brief(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters, so that a 400-digit number stays a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _whole_number(value: Any) -> int | None:
    """``value`` as an int when it is a JSON whole number (``5`` or ``5.0``; never a bool), else None."""
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    return None


def _too_large() -> str:
    return f"larger than {MAX_FILE_BYTES // 2**20} MiB: not the LabelMe file of one view"


def _load_json(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise ScintisegError(_too_large(), path=path)
            # Bounded even where the size says nothing (a device, a pipe: 0); read(n) reserves n bytes.
            raw = handle.read(size + 1 if size else MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScintisegError("no such file", path=path) from None
    except IsADirectoryError:
        raise ScintisegError("a folder, not a LabelMe file", path=path) from None
    except OSError as exc:
        raise ScintisegError(f"cannot read ({type(exc).__name__}: {exc})", path=path) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScintisegError(_too_large(), path=path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScintisegError(f"cannot read (UnicodeDecodeError: {exc})", path=path) from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ScintisegError(f"malformed JSON ({exc})", path=path) from None
    except ValueError:  # Python refuses to convert integers of more than 4300 digits
        raise ScintisegError("malformed JSON (a number of thousands of digits)", path=path) from None
    if not isinstance(data, dict):
        raise ScintisegError("not a LabelMe file: the top level is not a JSON object", path=path)
    return data


def _check_image_size(shape: tuple[int, int], what: str, path: Path) -> None:
    """Refuse an image larger than a planar bone-scan view can be (module docstring)."""
    rows, cols = shape
    if max(rows, cols) > MAX_IMAGE_SIDE or rows * cols > MAX_VIEW_PIXELS:
        raise ScintisegError(
            f"{what}: a {rows}x{cols} image is too large for a planar bone-scan view "
            f"(at most {MAX_IMAGE_SIDE} pixels a side and {MAX_VIEW_PIXELS:,} pixels)",
            path=path,
        )


def _decode_image_data(data: Any, path: Path) -> tuple[int, int]:
    """(rows, cols) of the embedded image, after decoding it in full (a truncated image is an error)."""
    if not isinstance(data, str):
        raise ScintisegError(f"imageData is not a base64 string ({type(data).__name__})", path=path)
    try:
        raw = base64.b64decode(data, validate=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own, lower limit applies
            with Image.open(io.BytesIO(raw), formats=EMBEDDED_FORMATS) as image:
                shape = (image.height, image.width)
                _check_image_size(shape, "imageData", path)
                image.load()
    except ScintisegError:
        raise
    except UnidentifiedImageError:
        raise ScintisegError("imageData is not a readable image (not a PNG or JPEG)", path=path) from None
    except (binascii.Error, ValueError, OSError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise ScintisegError(f"imageData is not a readable image ({type(exc).__name__}: {exc})", path=path) from None
    return shape


def _image_size(image_path: Path, json_path: Path) -> tuple[int, int]:
    """(rows, cols) of the image ``imagePath`` names: any file :func:`scintiseg.io.read_scan` reads, or
    any image PIL reads (from its header only)."""
    if not is_dicom(image_path):  # DICOM first: a DICOM preamble may hold a TIFF header, as read_scan knows
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(image_path) as image:
                    return image.height, image.width
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            pass
    try:
        return read_scan(image_path).shape
    except ScintisegError as exc:
        raise ScintisegError(f"imagePath image {image_path}: {exc.problem}", path=json_path) from None


def resolve_image_path(json_path: Path, image_path: str, root: Path) -> Path:
    """``imagePath`` resolved relative to the JSON file; an error when it leaves ``root``."""
    if not isinstance(image_path, str):
        raise ScintisegError("imagePath is not a string", path=json_path)
    relative = Path(image_path.replace("\\", "/"))
    try:
        candidate = (json_path.parent / relative).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a NUL byte, a symlink loop
        raise ScintisegError(f"imagePath {_brief(image_path)} cannot be resolved ({exc})", path=json_path) from None
    if relative.is_absolute() or not candidate.is_relative_to(root.resolve()):
        raise ScintisegError(
            f"imagePath {_brief(image_path)} points outside the data set folder {root}", path=json_path
        )
    return candidate


def _view_of(data: dict, path: Path) -> str:
    view = data.get("view")
    if isinstance(view, str) and view in VIEW_NAMES:
        return view
    stem = path.stem.upper()
    for name in ("ANT", "POST"):
        if stem.endswith("_" + name):
            return name
    return "VIEW"


def _declared_side(data: dict, key: str, path: Path) -> int | None:
    """``imageHeight`` or ``imageWidth``: None when absent or null, else a whole number of pixels in range."""
    value = data.get(key)
    if value is None:
        return None
    side = _whole_number(value)
    if side is None:
        raise ScintisegError(f"{key} {_brief(value)} is not a whole number of pixels", path=path)
    if not 1 <= side <= MAX_IMAGE_SIDE:
        raise ScintisegError(
            f"{key} {_brief(side)} is not between 1 and {MAX_IMAGE_SIDE} pixels (a planar bone-scan view)", path=path
        )
    return side


def _image_shape(data: dict, path: Path, root: Path, image_optional: bool = False,
                 outside_image_path: str = "refuse") -> tuple[tuple[int, int], str]:
    """The annotated image's (rows, cols) and ``imagePath`` ("" when none), checked as the module says
    (``image_optional``, ``outside_image_path``: :func:`read_labelme`'s)."""
    declared = (_declared_side(data, "imageHeight", path), _declared_side(data, "imageWidth", path))
    image_path = data.get("imagePath")
    if image_path is None:
        image_path = ""
    if not isinstance(image_path, str):
        raise ScintisegError("imagePath is not a string", path=path)
    image_data = data.get("imageData")
    try:
        resolved = resolve_image_path(path, image_path, root) if image_path else None
    except ScintisegError:
        if outside_image_path != "pass_over":
            raise
        if (image_data is None or image_data == "") and None in declared:  # the path is needed for the size
            raise ScintisegError(
                f"imagePath {_brief(image_path)} points outside its folder {root}, and the file neither embeds its "
                "image (imageData) nor declares its size (imageHeight, imageWidth): save it again in LabelMe with "
                "its image data", path=path) from None
        image_path, resolved = "", None  # read as if it named no image
    if image_data is not None and image_data != "":
        actual, source = _decode_image_data(image_data, path), "imageData"
    elif resolved is not None:
        try:
            present = resolved.is_file()
        except OSError as exc:  # a name too long for the file system, a path the OS refuses
            raise ScintisegError(f"imagePath {_brief(image_path)} cannot be looked up ({exc.strerror})", path=path) from None
        if present:
            actual = None if None not in declared else _image_size(resolved, path)
            source = f"imagePath image {resolved.name}"
        elif image_optional and None not in declared:  # the size is declared, the image is known elsewhere
            actual, source = None, ""
        elif image_optional:  # the caller knows the image, but the file gives no size to check it against
            raise ScintisegError(f"imagePath {_brief(image_path)} does not exist ({resolved}), and the file declares "
                                 "no image size (imageHeight, imageWidth) to read its outlines by", path=path)
        else:
            raise ScintisegError(f"imagePath {_brief(image_path)} does not exist ({resolved})", path=path)
    elif None in declared:
        raise ScintisegError("no imageData, no imagePath and no image size: the annotation names no image", path=path)
    else:
        actual, source = None, ""
    if actual is not None:
        if any(d is not None and d != a for d, a in zip(declared, actual)):
            said = "x".join("?" if d is None else str(d) for d in declared)
            raise ScintisegError(
                f"{source} is {actual[0]}x{actual[1]} but imageHeight x imageWidth says {said}", path=path
            )
        image_shape = actual
    else:
        image_shape = (declared[0], declared[1])
    _check_image_size(image_shape, "imageHeight x imageWidth", path)
    return image_shape, image_path


@dataclass(slots=True)
class _PendingShape:
    """An area shape whose fields are checked; its points, rows ``start:stop`` of all the file's points,
    await the checks run on all coordinates at once."""

    index: int
    label: str
    shape_type: str
    group_id: int | None
    description: str
    start: int
    stop: int

    def name(self) -> str:
        return f"shape {self.index + 1} ({_brief(self.label)})"  # counted from 1, as a reader counts


def _shape_fields(index: int, item: Any, path: Path) -> tuple[str, str, int | None, str] | None:
    """(shape_type, label, group_id, description) of an area shape; None for one that encloses no area."""
    if not isinstance(item, dict):
        raise ScintisegError(f"shape {index + 1} is not an object", path=path)
    shape_type = item.get("shape_type")
    shape_type = "polygon" if shape_type is None else shape_type  # LabelMe 3 wrote no shape_type
    if shape_type in NO_AREA_SHAPE_TYPES:
        return None
    label = item.get("label")
    if not isinstance(label, str):
        raise ScintisegError(f"shape {index + 1} has no text label", path=path)
    name = f"shape {index + 1} ({_brief(label)})"
    if shape_type == "mask":
        raise ScintisegError(
            f"{name}: a LabelMe 'mask' shape (an area stored as a bitmap) is not read; redraw it as a polygon",
            path=path,
        )
    if shape_type not in AREA_SHAPE_TYPES and shape_type != ORIENTED_RECTANGLE:
        known = ", ".join((*AREA_SHAPE_TYPES, ORIENTED_RECTANGLE, "mask", *NO_AREA_SHAPE_TYPES))
        raise ScintisegError(f"{name}: unknown shape_type {_brief(shape_type)} (LabelMe writes {known})", path=path)
    group_id = item.get("group_id")
    if group_id is not None:
        group_id = _whole_number(group_id)
        if group_id is None:
            raise ScintisegError(
                f"{name}: group_id {_brief(item.get('group_id'))} is not a whole number or null", path=path
            )
    description = item.get("description")
    return shape_type, label, group_id, "" if description is None else str(description)


def _read_shapes(shapes_data: list, image_shape: tuple[int, int], path: Path) -> list[Shape]:
    """The area shapes of ``shapes_data``, every field and coordinate checked.

    Coordinates are checked for all shapes at once (one array), so a file of :data:`MAX_SHAPES` shapes
    reads in a fraction of a second; an error still names the first offending shape.
    """
    if len(shapes_data) > MAX_SHAPES:
        raise ScintisegError(f"{len(shapes_data):,} shapes: more than {MAX_SHAPES:,} for one view", path=path)
    pending: list[_PendingShape] = []
    pairs: list = []
    skipped: dict[str, int] = {}
    for index, item in enumerate(shapes_data):
        fields = _shape_fields(index, item, path)
        if fields is None:
            skipped[item["shape_type"]] = skipped.get(item["shape_type"], 0) + 1
            continue
        shape_type, label, group_id, description = fields
        points = item.get("points")
        shape = _PendingShape(index, label, shape_type, group_id, description, len(pairs), len(pairs))
        # set(map(...)) runs in C: a million points are checked in milliseconds.
        if not isinstance(points, list) or (
            points and (set(map(type, points)) != {list} or set(map(len, points)) != {2})
        ):
            raise ScintisegError(f"{shape.name()}: invalid points (not a list of [x, y] pairs)", path=path)
        if shape_type == ORIENTED_RECTANGLE and len(points) != 4:
            raise ScintisegError(f"{shape.name()}: an oriented_rectangle needs 4 points, got {len(points)}", path=path)
        if len(pairs) + len(points) > MAX_POINTS:
            raise ScintisegError(f"more than {MAX_POINTS:,} points in all shapes", path=path)
        pairs.extend(points)
        shape.stop = len(pairs)
        pending.append(shape)
    if skipped:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(skipped.items()))
        warnings.warn(f"{path}: skipped shapes that enclose no area ({kinds})", stacklevel=3)
    if not pending:
        return []

    def first_shape(bad_rows: np.ndarray) -> _PendingShape:
        starts = np.array([s.start for s in pending])
        return pending[int(np.searchsorted(starts, int(np.flatnonzero(bad_rows)[0]), side="right")) - 1]

    if not set(map(type, chain.from_iterable(pairs))) <= {int, float}:  # bool, str, None, list: not numbers
        numbers = np.array([type(x) in (int, float) and type(y) in (int, float) for x, y in pairs])
        row = pairs[int(np.flatnonzero(~numbers)[0])]
        wrong = next(type(v).__name__ for v in row if type(v) not in (int, float))
        raise ScintisegError(
            f"{first_shape(~numbers).name()}: invalid points (coordinates must be numbers, not {wrong})", path=path
        )
    try:
        coordinates = np.fromiter(chain.from_iterable(pairs), dtype=np.float64, count=2 * len(pairs))
    except OverflowError:  # an integer beyond float range, which the finiteness check below names
        values = map(_as_float, chain.from_iterable(pairs))
        coordinates = np.fromiter(values, dtype=np.float64, count=2 * len(pairs))
    coordinates = coordinates.reshape(-1, 2)
    finite = np.isfinite(coordinates).all(axis=1)
    if not finite.all():
        raise ScintisegError(
            f"{first_shape(~finite).name()}: invalid points (a coordinate is not a finite number)", path=path
        )
    height, width = image_shape
    x, y = coordinates[:, 0], coordinates[:, 1]
    tolerance = OUTSIDE_TOLERANCE
    outside = (x < -tolerance) | (y < -tolerance) | (x > width - 1 + tolerance) | (y > height - 1 + tolerance)
    if outside.any():
        raise ScintisegError(
            f"{first_shape(outside).name()} has points outside the {height}x{width} image", path=path
        )

    shapes = []
    for pending_shape in pending:
        kind = "polygon" if pending_shape.shape_type == ORIENTED_RECTANGLE else pending_shape.shape_type
        try:
            shapes.append(
                Shape(
                    label=pending_shape.label,
                    points=coordinates[pending_shape.start : pending_shape.stop],
                    shape_type=kind,
                    group_id=pending_shape.group_id,
                    description=pending_shape.description,
                )
            )
        except ScintisegError as exc:
            raise ScintisegError(f"{pending_shape.name()}: {exc.problem}", path=path) from None
    return shapes


def _as_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:
        return float("inf")


def read_labelme(
    path: str | Path, *, root: str | Path | None = None, labels: Iterable[str] | None = None,
    image_optional: bool = False, outside_image_path: str = "refuse",
) -> Annotation:
    """Read a LabelMe 4/5 JSON file into an :class:`Annotation`.

    Args:
        path: the JSON file.
        root: the data set folder ``imagePath`` must stay inside (default: the JSON's own folder).
        labels: keep only shapes with these labels (default: all).
        image_optional: an ``imagePath`` that does not exist is no error when ``imageHeight`` and ``imageWidth``
            are declared (a file ``scintiseg predict`` wrote, saved by LabelMe without its image data, "Save With
            Image Data" off: the image is the scan, known to the caller; a department's outline whose ``imagePath``
            went stale when its folder was moved, matched to its scan by file name,
            :func:`scintiseg.io.import_labels.match_labels`). The caller then checks the declared size against the
            image it knows.
        outside_image_path: what an ``imagePath`` that leaves ``root`` (or cannot be resolved) does: ``"refuse"``
            (an error), or ``"pass_over"``: the file is read as if it named no image (the path not returned), its
            size from ``imageData`` or the declared sides, and refused only where it has neither (a predicted
            view's file whose ``imagePath`` LabelMe rewrote to a place outside its folder: the image is the scan,
            :mod:`scintiseg.predict.review`; session 62, decided here since session 63).

    Returns:
        The annotation; ``image_shape`` from ``imageHeight``/``imageWidth`` (checked against
        ``imageData`` when embedded), else from the image ``imagePath`` names. An annotation that names
        no image (no ``imageData``, empty ``imagePath``) needs both sides declared (module docstring).

    Raises:
        ScintisegError: one, naming the file and the problem: malformed or oversized JSON, an escaping
            ``imagePath``, a missing image when no ``imageData`` is embedded, an embedded image that does
            not decode or does not match the declared size, an image size that is not a whole number of
            pixels or larger than a planar bone scan (:data:`MAX_IMAGE_SIDE`), invalid shapes or
            coordinates, an unknown or unreadable ``shape_type``, points outside the image, more than
            :data:`MAX_SHAPES` shapes or :data:`MAX_POINTS` points.

    Example::

        ann = read_labelme("labels/P0001_ANT.json", root=".", labels=["lesion"])
        mask = ann.to_mask()
    """
    path = Path(path)
    root = path.parent if root is None else Path(root)
    data = _load_json(path)
    version = str(data.get("version", ""))
    if version and version.split(".")[0] not in ("3", "4", "5"):
        warnings.warn(f"{path}: LabelMe version {_brief(version)} not tested (4 and 5 are)", stacklevel=2)
    shapes_data = data.get("shapes")
    if not isinstance(shapes_data, list):
        raise ScintisegError("not a LabelMe file: no 'shapes' list", path=path)
    if outside_image_path not in ("refuse", "pass_over"):
        raise ValueError(f"outside_image_path must be 'refuse' or 'pass_over', not {outside_image_path!r}")
    image_shape, image_path = _image_shape(data, path, root, image_optional, outside_image_path)
    shapes = _read_shapes(shapes_data, image_shape, path)
    flags = data.get("flags") if isinstance(data.get("flags"), dict) else {}
    annotation = Annotation(
        shapes=shapes,
        image_shape=image_shape,
        view=_view_of(data, path),
        image_path=image_path or None,
        flags=dict(flags),
    )
    return annotation.filter(labels)


# --------------------------------------------------------------------------------------------- writing

#: The palette of the embedded image: index i is grey level i (:func:`encode_image_data`).
GREY_RAMP: list[int] = [level for grey in range(256) for level in (grey, grey, grey)]


def encode_image_data(image: np.ndarray) -> str:
    """Base64 PNG of the display rendering (:func:`scintiseg.display.render_display`) of a 2-D count image,
    or of an 8-bit image as is."""
    array = np.asarray(image)
    if array.ndim != 2:
        raise ScintisegError(f"imageData needs a 2-D image, got shape {array.shape}")
    rendered = array if array.dtype == np.uint8 else render_display(array)
    picture = Image.fromarray(np.ascontiguousarray(rendered))
    # A palette PNG whose palette is the grey ramp (index i = grey i): the same pixels as an 8-bit grey PNG
    # for LabelMe, Qt and Pillow (np.asarray of it gives the grey levels), but PNG does not filter palette
    # rows, and encoding a 1024 x 256 view takes about 4 ms instead of 9 (this machine); fast compression,
    # since the embedded picture is for display.
    picture.putpalette(GREY_RAMP)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def annotation_to_json(
    annotation: Annotation, *, image: np.ndarray | None = None, image_path: str | None = None
) -> dict:
    """The LabelMe document for ``annotation`` (see :func:`write_labelme`)."""
    height, width = annotation.image_shape
    if image is not None and tuple(np.shape(image)) != (height, width):
        raise ScintisegError(f"image of shape {np.shape(image)} does not match the annotation's {(height, width)}")
    shapes = [
        {
            "label": shape.label,
            "points": [[round(float(x), 3), round(float(y), 3)] for x, y in shape.points],
            "group_id": shape.group_id,
            "description": shape.description,
            "shape_type": shape.shape_type,
            "flags": {},
        }
        for shape in annotation.shapes
    ]
    return {
        "version": LABELME_VERSION,
        "flags": dict(annotation.flags),
        "shapes": shapes,
        "imagePath": image_path if image_path is not None else (annotation.image_path or ""),
        "imageData": None if image is None else encode_image_data(image),
        "imageHeight": int(height),
        "imageWidth": int(width),
        "view": annotation.view,
    }


def write_labelme(
    annotation: Annotation,
    path: str | Path,
    *,
    image: np.ndarray | None = None,
    image_path: str | None = None,
) -> None:
    """Write ``annotation`` as a LabelMe JSON file (atomically) that LabelMe 4/5 opens.

    Args:
        annotation: the shapes (e.g. ``Annotation.from_mask(prediction, view="ANT")``).
        path: the output ``.json``.
        image: the view's counts, embedded as an 8-bit display rendering (module docstring) so LabelMe
            shows the image without the DICOM file. Without it ``imageData`` is null and LabelMe needs
            ``imagePath`` to point to an image it can open.
        image_path: ``imagePath`` written, relative to the JSON (default: the annotation's, or empty).
            When ``image`` is given and no path is, ``<json stem>.png`` is written (LabelMe's default
            name when it saves an embedded image).

    Example::

        write_labelme(Annotation.from_mask(mask, view="ANT"), "P0001_ANT.json", image=scan.view("ANT"))
    """
    path = Path(path)
    if image is not None and image_path is None and not annotation.image_path:
        image_path = f"{path.stem}.png"
    document = annotation_to_json(annotation, image=image, image_path=image_path)
    write_text_atomic(path, json.dumps(document, indent=1) + "\n")
