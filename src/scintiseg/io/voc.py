"""Pascal VOC box annotations (BS-80K's hot-spot labels): read one XML file or a folder of them, write one.

BS-80K, the largest public bone-scan set (``../shared/reference/realdata.md``), marks hot spots with Pascal VOC
boxes, ``Abnormal`` for a lesion and ``Normal`` for a physiological or benign hot spot, one XML file per 8-bit
JPEG; LabelImg, CVAT and Roboflow write the same format. :mod:`scintiseg.report.box_labels` scores a batch's
predictions against such boxes (``scintiseg predict SCANS --out OUT --boxes DIR``).

The format (the VOC devkit's): ``<annotation>`` with an optional ``<filename>``, an optional ``<size>``
(``<width>``, ``<height>``, ``<depth>``) and any number of ``<object>``, each with a ``<name>``, an optional
``<difficult>`` (``1``: left out of the scores, as the devkit does) and a ``<bndbox>`` of ``<xmin>``, ``<ymin>``,
``<xmax>``, ``<ymax>``. Coordinates are read as the devkit defines them, 1-based and inclusive (pixel ``x`` is
column ``x - 1``); LabelImg and other tools write 0-based ones, a pixel's difference that
:mod:`scintiseg.report.box_labels` absorbs with a margin. Decimals (``12.0``, ``11.6``) are rounded. Other
elements (``folder``, ``source``, ``pose``, ``truncated``, ``segmented``) are ignored.

Hostile or damaged files raise one :class:`~scintiseg.errors.ScintisegError` naming the file and the problem:
malformed XML, a root other than ``annotation``, an object without a name or a complete ``bndbox``, a
coordinate that is not a finite number, a box whose minimum exceeds its maximum, or one more than a pixel outside
the declared size (it belongs to another image); files over :data:`MAX_FILE_BYTES` and more than
:data:`MAX_BOXES` objects are refused before they are parsed in full. The standard library's parser
(``xml.etree.ElementTree``, expat) resolves no external entity and limits entity expansion, so no well-kept
XML library is needed here.

Choices the format leaves open, stated: a folder is read without recursion, every ``*.xml`` in it; an annotation
is found by the image name its ``<filename>`` gives, by its own file name's stem (``0001.xml`` for ``0001.jpg``),
and by the image that name gives beside the file or one folder up (BS-80K keeps ``wholeBodyANT/ant/0001.xml`` for
``wholeBodyANT/0001.jpg``); two files of one folder claiming the same image are an error. Several folders
(:func:`read_voc_folders`: BS-80K's ``ant/`` and ``post/``, whose files share their names) are merged: a bare name
or stem that two folders claim names neither (the image is then found by its path), two folders claiming one
image path are an error.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path

from scintiseg.errors import ScintisegError
from scintiseg.io.atomic import write_text_atomic
from scintiseg.io.file_keys import find_by_name

#: Largest VOC file read (a file of 10,000 boxes is under 3 MB).
MAX_FILE_BYTES = 8 * 1024 * 1024
#: Most objects read from one file.
MAX_BOXES = 10_000
#: Largest declared image side (as :mod:`scintiseg.io.labelme`).
MAX_IMAGE_SIDE = 8192


#: Box labels of a lesion (lower case; BS-80K's is ``Abnormal``).
LESION_LABELS = ("abnormal", "lesion", "metastasis", "metastases", "malignant", "positive", "hotspot_abnormal")
#: Box labels of a benign or physiological hot spot (lower case; BS-80K's is ``Normal``).
NORMAL_LABELS = ("normal", "physiological", "benign", "negative", "hotspot_normal")


@dataclass(frozen=True)
class VocBox:
    """One box: its label as written, rows and columns 0-based and inclusive, and the devkit's difficult flag."""

    label: str
    rows: tuple[int, int]
    cols: tuple[int, int]
    difficult: bool = False


@dataclass(frozen=True)
class VocAnnotation:
    """One XML file: where it was read, the image it names, the image's (height, width) if declared, its boxes."""

    path: Path
    filename: str | None
    shape: tuple[int, int] | None
    boxes: tuple[VocBox, ...]


def rows_reversed_boxes(boxes: tuple[VocBox, ...] | list[VocBox], height: int) -> tuple[VocBox, ...]:
    """``boxes`` of an image of ``height`` rows, on the image with its rows reversed (a view read head-up)."""
    return tuple(replace(box, rows=(height - 1 - box.rows[1], height - 1 - box.rows[0])) for box in boxes)


def columns_reversed_boxes(boxes: tuple[VocBox, ...] | list[VocBox], width: int) -> tuple[VocBox, ...]:
    """``boxes`` of an image of ``width`` columns, on the image with its columns reversed (a view its DICOM header
    says is stored mirrored, read mirrored back: :mod:`scintiseg.io.patient_sides`). Exact, its own inverse."""
    return tuple(replace(box, cols=(width - 1 - box.cols[1], width - 1 - box.cols[0])) for box in boxes)


def quarter_turned_boxes(boxes: tuple[VocBox, ...] | list[VocBox], shape: tuple[int, int], k: int) -> tuple[VocBox, ...]:
    """``boxes`` of an image of ``shape`` (rows, columns), on the image turned a quarter: ``k`` -1 clockwise, 1
    counter-clockwise (:func:`numpy.rot90`'s ``k``; a body stored lying, stood). Exact: a box's pixels turn with
    the image's."""
    height, width = shape
    if k == -1:  # pixel (r, c) -> (c, height - 1 - r)
        return tuple(replace(box, rows=box.cols, cols=(height - 1 - box.rows[1], height - 1 - box.rows[0])) for box in boxes)
    if k == 1:  # pixel (r, c) -> (width - 1 - c, r)
        return tuple(replace(box, rows=(width - 1 - box.cols[1], width - 1 - box.cols[0]), cols=box.rows) for box in boxes)
    raise ValueError(f"k must be -1 or 1, got {k}")


def split_boxes(boxes: tuple[VocBox, ...] | list[VocBox], cut: int, width: int) -> dict[str, tuple[VocBox, ...]]:
    """``boxes`` of a page of two views side by side, on its views as :func:`scintiseg.io.layout.split_at` cuts the
    page at column ``cut`` into two views of ``width`` columns (each half padded on its outer side): ``{"ANT": ...,
    "POST": ...}``. A box across the cut goes to the side holding more of its columns, clipped to it (the cut lies
    in the gap between the bodies, where no reader boxes a hot spot)."""
    found: dict[str, list[VocBox]] = {"ANT": [], "POST": []}
    for box in boxes:
        c0, c1 = box.cols
        if (cut - c0) >= (c1 - cut + 1):  # most of it left of the cut
            found["ANT"].append(replace(box, cols=(c0 + width - cut, min(c1, cut - 1) + width - cut)))
        else:
            found["POST"].append(replace(box, cols=(max(c0, cut) - cut, c1 - cut)))
    return {view: tuple(kept) for view, kept in found.items()}


def page_boxes(annotation: VocAnnotation, cut: object, page: object, width: int) -> dict[str, tuple[VocBox, ...]] | str:
    """``annotation``'s boxes, drawn on a page of two views side by side that was cut at column ``cut`` (``page``: its
    (rows, columns) as recorded), on the two views of ``width`` columns (:func:`split_boxes`); or why they cannot be
    placed: a record that does not fit, or a declared size that is not the page's."""
    if not (isinstance(cut, int) and isinstance(page, (list, tuple)) and len(page) == 2 and 0 < cut < page[1]):
        return "boxes for a page of two views whose cut is not recorded"
    if annotation.shape is not None and tuple(annotation.shape) != tuple(page):
        return f"boxes for a {annotation.shape[0]}x{annotation.shape[1]} image, the page is {page[0]}x{page[1]}"
    return split_boxes(annotation.boxes, cut, width)


def box_slices(box: VocBox, shape: tuple[int, int], margin: int = 0) -> tuple[slice, slice]:
    """The box (widened by ``margin`` pixels) clipped to an image of ``shape``, as (rows, cols) array slices."""
    rows = slice(max(box.rows[0] - margin, 0), min(box.rows[1] + margin + 1, shape[0]))
    cols = slice(max(box.cols[0] - margin, 0), min(box.cols[1] + margin + 1, shape[1]))
    return rows, cols


def box_kind(box: VocBox) -> str:
    """``lesion``, ``normal`` or ``unscored`` (marked difficult, or a label of neither :data:`LESION_LABELS` nor
    :data:`NORMAL_LABELS`, in any case)."""
    label = box.label.strip().lower()
    if box.difficult:
        return "unscored"
    if label in LESION_LABELS:
        return "lesion"
    if label in NORMAL_LABELS:
        return "normal"
    return "unscored"


def _text(element: ET.Element | None) -> str | None:
    return None if element is None or element.text is None else element.text.strip()


def _number(node: ET.Element, tag: str, path: Path, where: str) -> float:
    text = _text(node.find(tag))
    if text is None or not text:
        raise ScintisegError(f"{where} has no {tag}", path=path)
    try:
        value = float(text)
    except ValueError:
        raise ScintisegError(f"{where}: {tag} {text[:40]!r} is not a number", path=path) from None
    if not math.isfinite(value):
        raise ScintisegError(f"{where}: {tag} {text[:40]!r} is not a finite number", path=path)
    return value


def _size(root: ET.Element, path: Path) -> tuple[int, int] | None:
    size = root.find("size")
    if size is None or size.find("width") is None or size.find("height") is None:
        return None
    width, height = (_number(size, tag, path, "size") for tag in ("width", "height"))
    if width == 0 and height == 0:  # some exporters write 0 x 0 when they do not know
        return None
    for tag, value in (("width", width), ("height", height)):
        if value != int(value) or not 1 <= value <= MAX_IMAGE_SIDE:
            raise ScintisegError(f"size: {tag} {value:g} is not a whole number from 1 to {MAX_IMAGE_SIDE}", path=path)
    return int(height), int(width)


def read_voc(path: str | Path) -> VocAnnotation:
    """One Pascal VOC XML file (module docstring).

    Raises:
        ScintisegError: an unreadable, oversized or malformed file, or a box that is not one (module docstring).
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ScintisegError(f"larger than {MAX_FILE_BYTES // 2**20} MB: not a box annotation", path=path)
        data = path.read_bytes()
    except OSError as exc:
        raise ScintisegError(f"cannot read the box annotation ({exc.strerror or exc})", path=path) from None
    if data.count(b"<object") > MAX_BOXES:
        raise ScintisegError(f"more than {MAX_BOXES} objects: not a box annotation of one image", path=path)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ScintisegError(f"not a Pascal VOC file (malformed XML: {exc})", path=path) from None
    if root.tag != "annotation":
        raise ScintisegError(f"not a Pascal VOC file (the root element is <{root.tag[:40]}>, not <annotation>)", path=path)
    shape = _size(root, path)
    boxes = []
    for number, obj in enumerate(root.iter("object"), start=1):
        where = f"object {number}"
        label = _text(obj.find("name"))
        if not label:
            raise ScintisegError(f"{where} has no name", path=path)
        box = obj.find("bndbox")
        if box is None:
            raise ScintisegError(f"{where} ({label[:40]}) has no bndbox", path=path)
        xmin, ymin, xmax, ymax = (_number(box, tag, path, f"{where} ({label[:40]})") for tag in ("xmin", "ymin", "xmax", "ymax"))
        if xmin > xmax or ymin > ymax:
            raise ScintisegError(f"{where} ({label[:40]}): xmin/ymin {xmin:g}/{ymin:g} exceed xmax/ymax {xmax:g}/{ymax:g}", path=path)
        if shape is not None and (min(xmin, ymin) < -1 or xmax > shape[1] + 1 or ymax > shape[0] + 1):
            raise ScintisegError(f"{where} ({label[:40]}): the box {xmin:g},{ymin:g}-{xmax:g},{ymax:g} lies outside the "
                                 f"{shape[1]} x {shape[0]} image it declares", path=path)
        difficult = (_text(obj.find("difficult")) or "0") in ("1", "true", "True")
        boxes.append(VocBox(label, (round(ymin) - 1, round(ymax) - 1), (round(xmin) - 1, round(xmax) - 1), difficult))
    filename = _text(root.find("filename")) or None
    return VocAnnotation(path, filename, shape, tuple(boxes))


def read_voc_folder(folder: str | Path) -> dict[str, VocAnnotation]:
    """``{key: annotation}`` for every ``*.xml`` in ``folder`` (or the one file ``folder`` names), each under the
    image name its ``<filename>`` gives and under its own stem (module docstring).

    Raises:
        ScintisegError: no such folder, no XML in it, a bad file (:func:`read_voc`), or two files for one image.
    """
    folder = Path(folder)
    if folder.is_file():
        files = [folder]
    elif folder.is_dir():
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".xml" and p.is_file())
        if not files:
            raise ScintisegError("no Pascal VOC file (*.xml) in the folder", path=folder)
    else:
        raise ScintisegError("no such file or folder of box annotations", path=folder)
    found: dict[str, VocAnnotation] = {}
    for file in files:
        annotation = read_voc(file)
        keys = [file.stem]
        if annotation.filename:
            name = Path(annotation.filename.replace("\\", "/"))
            keys += [str(name), name.name, name.stem, *(str((where / name.name).resolve()) for where in (file.parent, file.parent.parent))]
        keys = list(dict.fromkeys(keys))  # in this order, each once: a clash names the plainest key
        for key in keys:
            other = found.get(key)
            if other is not None and other.path != file:
                raise ScintisegError(f"{file.name} and {other.path.name} both annotate {key!r}", path=folder)
            found[key] = annotation
    return found


def read_voc_folders(folders: list[str | Path]) -> dict[str, VocAnnotation]:
    """The annotations of several folders (or files) as one mapping (module docstring: a bare name that two
    folders claim names neither; a path two folders claim is an error).

    Raises:
        ScintisegError: what :func:`read_voc_folder` raises, or two folders annotating one image path.
    """
    merged: dict[str, VocAnnotation] = {}
    ambiguous: set[str] = set()
    for folder in folders:
        for key, annotation in read_voc_folder(folder).items():
            other = merged.get(key)
            if other is None or other.path == annotation.path:
                merged[key] = annotation
            elif Path(key).name != key:  # a path: one image, two annotations
                raise ScintisegError(f"{annotation.path} and {other.path} both annotate {key!r}", path=folder)
            else:
                ambiguous.add(key)
    return {key: annotation for key, annotation in merged.items() if key not in ambiguous}


def annotation_of(annotations: dict[str, VocAnnotation], image_path: str | Path) -> VocAnnotation | None:
    """The annotation of an image, found by its path as given, its file name or its stem; None when unannotated."""
    return find_by_name(annotations, image_path)


def write_voc(path: str | Path, filename: str, shape: tuple[int, int], boxes: list[VocBox] | tuple[VocBox, ...],
              depth: int = 3) -> Path:
    """One Pascal VOC file for the image ``filename`` of ``shape`` (rows, columns), coordinates 1-based as the
    devkit's, that :func:`read_voc` reads back to the same boxes (atomic: never half-written)."""
    root = ET.Element("annotation")
    ET.SubElement(root, "filename").text = filename
    size = ET.SubElement(root, "size")
    for tag, value in (("width", shape[1]), ("height", shape[0]), ("depth", depth)):
        ET.SubElement(size, tag).text = str(int(value))
    for box in boxes:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = box.label
        ET.SubElement(obj, "difficult").text = "1" if box.difficult else "0"
        bndbox = ET.SubElement(obj, "bndbox")
        for tag, value in (("xmin", box.cols[0]), ("ymin", box.rows[0]), ("xmax", box.cols[1]), ("ymax", box.rows[1])):
            ET.SubElement(bndbox, tag).text = str(int(value) + 1)
    ET.indent(root)
    path = Path(path)
    write_text_atomic(path, ET.tostring(root, encoding="unicode") + "\n")
    return path
