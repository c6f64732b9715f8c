"""The objects every stage passes on: a :class:`Scan` and its lesion :class:`Annotation`.

A planar whole-body bone scan is one or two 2-D count images of the same patient: the anterior (ANT)
and posterior (POST) views, or a single view whose side is unknown (``VIEW``). The posterior view is
kept *as acquired*: on a real camera it is mirrored left-right relative to the anterior view, and only
:mod:`scintiseg.prepare.views` mirrors it back. The flip itself is :func:`mirror`, the one the phantom uses to
store its POST as acquired and the one ``prepare.views`` uses to bring it back.

Coordinates follow NumPy and LabelMe: an image is indexed ``[row, col]``; LabelMe points are
``(x, y) = (col, row)`` with the pixel centre at integer coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.geometry import AREA_SHAPE_TYPES, DEFAULT_TOLERANCE, mask_to_polygons, shape_to_mask, shapes_to_mask

#: View names in the order they are stored (anterior first, as Detector 1 of a dual-head camera).
VIEW_NAMES: tuple[str, ...] = ("ANT", "POST", "VIEW")

#: Length (mm) below which a view is a partial field of view: a region crop (BS-80K's are 0.2-0.5 m; realdata.md),
#: a spot view or a thoracic crop (about 0.6 m). Neither the atlas nor the region network (trained on whole bodies)
#: can name bones without the body around them: on 500 BS-80K-like crops of NM1 the learned map named 107 of 126
#: lesions of the left half-chest "femur_left" (session 18, benchmarks/make_region_crops.py). A whole-body view of
#: an adult spans 1.5-2 m; 1 m leaves out only small children and half-body fields. Prediction names no bones on a
#: shorter view and extends its edges (:mod:`scintiseg.predict.edges`); training on a data set of longer views makes
#: a whole-body model (:mod:`scintiseg.train.data`, "Whole-body data sets"); ``dataset check`` counts both kinds.
PARTIAL_VIEW_MM: float = 1000.0


def spans_whole_body(rows: int, row_mm: float) -> bool:
    """Whether a view of ``rows`` rows of ``row_mm`` mm is long enough to hold a whole body (:data:`PARTIAL_VIEW_MM`).

    Example::

        spans_whole_body(1024, 2.26)   # True: 2.3 m
        spans_whole_body(256, 2.26)    # False: a thoracic crop
    """
    return int(rows) * float(row_mm) >= PARTIAL_VIEW_MM


def mirror(image: np.ndarray) -> np.ndarray:
    """Left-right mirror (``Mirr`` of paper B Eq. 4) of a 2-D array or of the last two axes of a stack: turns a
    POST view as acquired into ANT's orientation, and back (a C-contiguous copy)."""
    return np.ascontiguousarray(np.asarray(image)[..., ::-1])


#: The pixel size (row, column mm) of a :class:`Scan` made without one: a 1024-row whole-body view's (2.3 m over 1024
#: rows), the size ``read_scan`` assumes for a 1024-row image without one.
DEFAULT_PIXEL_SPACING: tuple[float, float] = (2.26, 2.26)
#: ``Scan.metadata`` key of a pixel size assumed, not measured (the reason, a string): set by the readers for a file
#: that gives none and by :class:`Scan` for a scan made without one.
SPACING_ASSUMED_KEY = "pixel_spacing_assumed"
#: The reason :class:`Scan` records when it is made without a pixel size.
SPACING_NOT_GIVEN = "no pixel_spacing given to Scan(); 2.26 mm, a 1024-row whole-body view's"


def _spacing_pair(value: object, where: Path | None) -> tuple[float, float]:
    """``value`` as (row, col) floats; one line when it is not two numbers (``"2.26"`` was read character by character
    and failed on ``'.'`` with a bare ``ValueError``)."""
    try:
        if isinstance(value, (str, bytes)):  # a string is a sequence of characters, not of numbers
            raise TypeError
        row, col = (float(v) for v in value)  # a header's decimal strings (DS) and NumPy numbers alike
    except (TypeError, ValueError):
        raise ScintisegError(f"pixel_spacing must be two numbers, (row_mm, col_mm) such as (2.26, 2.26); got {value!r}",
                             path=where) from None
    return row, col


@dataclass
class Scan:
    """One patient's planar bone scan: its views as 2-D count arrays and the facts needed to use them.

    Args:
        views: view name (``"ANT"``, ``"POST"`` or ``"VIEW"``) -> 2-D array of counts. All views have
            the same shape. Counts are finite and non-negative; integer dtypes are kept as read
            (uint16 / int16 / int32), derived images may be float32.
        pixel_spacing: (row, column) pixel size in mm. Not given: :data:`DEFAULT_PIXEL_SPACING` (2.26 mm, a 1024-row
            whole-body view's), marked ``metadata["pixel_spacing_assumed"]`` as ``read_scan`` marks a file that gives
            none, so that prediction warns and flags it (QC ``pixel_spacing_assumed``) and a DICOM file written says
            so (API audit 74: a scan built in code took 2.26 mm without a word). Anything but two positive numbers
            is refused in one line.
        patient_id: DICOM PatientID (or the data set's case id).
        patient_name: DICOM PatientName as text; may be empty. Never trusted: escape before display.
        study_uid: StudyInstanceUID, empty when unknown.
        series_uid: SeriesInstanceUID, empty when unknown.
        source: the file the scan was read from, if any.
        metadata: anything else worth carrying (manufacturer, acquisition date, crop box, ...);
            plain JSON-able values only.

    Example::

        scan = Scan({"ANT": ant, "POST": post}, pixel_spacing=(2.26, 2.26), patient_id="P001")
        scan.view("ANT").sum()
    """

    views: dict[str, np.ndarray]
    pixel_spacing: tuple[float, float] | None = None
    patient_id: str = ""
    patient_name: str = ""
    study_uid: str = ""
    series_uid: str = ""
    source: Path | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = self.source
        if not self.views:
            raise ScintisegError("a scan needs at least one view", path=where)
        shapes = set()
        for name, image in self.views.items():
            if name not in VIEW_NAMES:
                raise ScintisegError(f"unknown view name {name!r} (expected one of {VIEW_NAMES})", path=where)
            if not isinstance(image, np.ndarray) or image.ndim != 2:
                raise ScintisegError(f"view {name} is not a 2-D array", path=where)
            if image.size == 0:
                raise ScintisegError(f"view {name} is empty", path=where)
            if image.dtype.kind == "f" and not np.isfinite(image).all():
                raise ScintisegError(f"view {name} holds NaN or infinite counts", path=where)
            if image.dtype.kind in "fi" and image.min() < 0:
                raise ScintisegError(f"view {name} holds negative counts (min {image.min()})", path=where)
            shapes.add(image.shape)
        if len(shapes) != 1:
            raise ScintisegError(f"views differ in shape: {sorted(shapes)}", path=where)
        if "VIEW" in self.views and len(self.views) > 1:
            raise ScintisegError("an unnamed view cannot be mixed with ANT/POST", path=where)
        if self.pixel_spacing is None:
            self.pixel_spacing = DEFAULT_PIXEL_SPACING
            if SPACING_ASSUMED_KEY not in self.metadata:  # a copy: the caller's dict is left as it was
                self.metadata = {**self.metadata, SPACING_ASSUMED_KEY: SPACING_NOT_GIVEN}
        row, col = _spacing_pair(self.pixel_spacing, where)
        if not (row > 0 and col > 0 and math.isfinite(row) and math.isfinite(col)):
            raise ScintisegError(f"pixel spacing must be positive, got {self.pixel_spacing}", path=where)
        self.pixel_spacing = (row, col)
        # Keep a canonical order so iteration is ANT, POST regardless of how the views were given.
        self.views = {name: self.views[name] for name in VIEW_NAMES if name in self.views}

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of every view."""
        return next(iter(self.views.values())).shape

    @property
    def view_names(self) -> list[str]:
        return list(self.views)

    @property
    def is_dual_view(self) -> bool:
        return "ANT" in self.views and "POST" in self.views

    def view(self, name: str) -> np.ndarray:
        """The count array of view ``name``; a clear error when the scan does not have it."""
        try:
            return self.views[name]
        except KeyError:
            raise ScintisegError(f"scan has no {name} view (it has {', '.join(self.views)})", path=self.source) from None

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        return iter(self.views.items())

    def with_views(self, views: Mapping[str, np.ndarray], **changes) -> "Scan":
        """A copy with other view arrays (e.g. a crop), keeping ids, spacing and provenance."""
        return replace(self, views=dict(views), metadata=dict(self.metadata), **changes)

    def rows_reversed(self) -> "Scan":
        """A copy with the rows of every view reversed (a view stored head-down read head-up, and back); the same
        spacing and metadata."""
        return self.with_views({name: np.ascontiguousarray(np.asarray(image)[::-1])
                                for name, image in self.views.items()})

    def summary(self) -> dict:
        """JSON-able facts: views, shape, dtype, spacing, total and max counts per view, ids; for a study's two
        views read from two files, ``view_sources`` (view -> file, :mod:`scintiseg.io.view_pairs`)."""
        return {
            "source": None if self.source is None else str(self.source),
            **({"view_sources": dict(self.metadata["view_sources"])} if "view_sources" in self.metadata else {}),
            "patient_id": self.patient_id,
            "patient_name": self.patient_name,
            "study_uid": self.study_uid,
            "series_uid": self.series_uid,
            "views": self.view_names,
            "shape": list(self.shape),
            "dtype": str(next(iter(self.views.values())).dtype),
            "pixel_spacing": list(self.pixel_spacing),
            "counts": {
                name: {"total": int(np.asarray(img, dtype=np.float64).sum().round()), "max": float(img.max())}
                for name, img in self.views.items()
            },
        }


@dataclass(frozen=True)
class Shape:
    """One LabelMe shape: a labelled closed curve (or rectangle, or circle) on one view.

    Args:
        label: the class name, ``"lesion"`` for metastases.
        points: (N, 2) float array of ``(x, y) = (col, row)`` points, as in LabelMe. A rectangle has two
            opposite corners (in any order), a circle its centre then a point on the circumference.
        shape_type: ``"polygon"``, ``"rectangle"`` or ``"circle"``.
        group_id: LabelMe's optional grouping id.
        description: free text (LabelMe 5).
    """

    label: str
    points: np.ndarray
    shape_type: str = "polygon"
    group_id: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        pts = np.asarray(self.points, dtype=np.float64).reshape(-1, 2)
        object.__setattr__(self, "points", pts)
        if self.shape_type not in AREA_SHAPE_TYPES:
            raise ScintisegError(f"shape type {self.shape_type!r} does not enclose an area")
        need = {"polygon": 3, "rectangle": 2, "circle": 2}[self.shape_type]
        if (len(pts) < need) or (self.shape_type != "polygon" and len(pts) != need):
            raise ScintisegError(f"a {self.shape_type} needs {'at least ' if need == 3 else ''}{need} points, got {len(pts)}")
        if not np.isfinite(pts).all():
            raise ScintisegError(f"{self.shape_type} '{self.label}' has non-finite points")

    def to_mask(self, image_shape: tuple[int, int]) -> np.ndarray:
        """Rasterise exactly as LabelMe's ``shape_to_mask`` does (:func:`scintiseg.geometry.shape_to_mask`:
        PIL, ``outline=1, fill=1``, edges included)."""
        return shape_to_mask(self.points, image_shape, self.shape_type)

    def outside(self, image_shape: tuple[int, int], tolerance: float = 1.0) -> bool:
        """True when a defining point lies more than ``tolerance`` pixels outside the pixel centres' range."""
        height, width = image_shape
        x, y = self.points[:, 0], self.points[:, 1]
        return bool(
            (x < -tolerance).any() or (y < -tolerance).any()
            or (x > width - 1 + tolerance).any() or (y > height - 1 + tolerance).any()
        )


@dataclass
class Annotation:
    """The lesion annotation of one view: shapes plus the size of the image they belong to.

    Args:
        shapes: the labelled shapes.
        image_shape: (rows, columns) of the annotated image.
        view: which view of the scan it annotates (``"ANT"``, ``"POST"`` or ``"VIEW"``).
        image_path: LabelMe's ``imagePath`` as written in the file (relative to the JSON), if any.
        flags: LabelMe image-level flags.

    Example::

        ann = Annotation.from_mask(mask, label="lesion", view="ANT")
        assert (ann.to_mask() == mask).mean() > 0.99
    """

    shapes: list[Shape]
    image_shape: tuple[int, int]
    view: str = "VIEW"
    image_path: str | None = None
    flags: dict = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return sorted({s.label for s in self.shapes})

    def filter(self, labels: Iterable[str] | None) -> "Annotation":
        """Only the shapes whose label is in ``labels`` (all shapes when ``labels`` is None)."""
        if labels is None:
            return self
        keep = set(labels)
        return replace(self, shapes=[s for s in self.shapes if s.label in keep])

    def to_mask(self, labels: Iterable[str] | None = None) -> np.ndarray:
        """Boolean union of the rasterised shapes (LabelMe's rasterisation), optionally of some labels only.

        Drawn on one canvas (:func:`scintiseg.geometry.shapes_to_mask`): the same pixels as the union of
        each :meth:`Shape.to_mask`, without a full-size canvas per shape.
        """
        shapes = [(shape.points, shape.shape_type) for shape in self.filter(labels).shapes]
        return shapes_to_mask(shapes, self.image_shape)

    def rows_reversed(self) -> "Annotation":
        """The annotation of its image with the rows reversed (a view stored head-down, read upright).

        Each point's row moves to the mirrored pixel row, keeping its place inside the pixel (``y -> H - 1 -
        floor(y) + frac(y)``), not to an exact mirror: LabelMe's rasteriser (PIL) truncates coordinates, so a
        point at row ``y`` lies in pixel row ``floor(y)``, and this way a rectangle, and nearly every polygon,
        rasterises to exactly the reversed rows of its mask (an exact mirror moves a hand-drawn outline's raster by
        a row; PIL fills row by row, and over 2,000 random polygons 31 differed by 1-5 rim pixels: where exactness
        matters rasterise first, as :func:`scintiseg.io.dataset.load_case` does, or outline the turned mask again,
        as ``scintiseg dataset import`` turns an outline drawn on a lying file). A point stays within one pixel of
        the mirror of those pixel squares (``H - y``). A circle keeps its
        radius (its rim point mirrored about the moved centre); its raster may differ from the reversed one by
        a pixel at the rim.
        """
        height = self.image_shape[0]

        def moved(shape: Shape) -> Shape:
            points = shape.points.copy()
            whole = np.floor(points[:, 1])
            points[:, 1] = height - 1 - whole + (points[:, 1] - whole)
            if shape.shape_type == "circle":
                points[1] = points[0] + (shape.points[1] - shape.points[0]) * (1.0, -1.0)
            return replace(shape, points=points)

        return replace(self, shapes=[moved(shape) for shape in self.shapes])

    @classmethod
    def from_mask(
        cls,
        mask: np.ndarray,
        label: str = "lesion",
        view: str = "VIEW",
        tolerance: float = DEFAULT_TOLERANCE,
        min_area: int = 1,
    ) -> "Annotation":
        """Closed polygons around each connected component of ``mask`` (:func:`mask_to_shapes`).

        With the default ``tolerance`` ``from_mask(m).to_mask() == m`` for every 8-connected blob
        without holes (:mod:`scintiseg.geometry` states the contour convention and the policies).
        """
        mask = np.asarray(mask).astype(bool)
        shapes = mask_to_shapes(mask, label=label, tolerance=tolerance, min_area=min_area)
        return cls(shapes=shapes, image_shape=mask.shape, view=view)


def mask_to_shapes(
    mask: np.ndarray, label: str = "lesion", tolerance: float = DEFAULT_TOLERANCE, min_area: int = 1
) -> list[Shape]:
    """One closed polygon :class:`Shape` per 8-connected component of ``mask`` (holes filled).

    Args:
        mask: 2-D boolean mask.
        label: the label of every polygon.
        tolerance: Douglas-Peucker tolerance in pixels; 0 keeps every contour vertex.
        min_area: components with fewer pixels are dropped.

    Returns:
        Polygons in LabelMe ``(x, y)`` coordinates through the boundary-pixel centres, in raster order
        of each component's first pixel (:func:`scintiseg.geometry.mask_to_polygons`).

    Example::

        shapes = mask_to_shapes(instances == lesion_id, label="lesion")
    """
    polygons = mask_to_polygons(mask, tolerance=tolerance, min_area=min_area)
    return [Shape(label=label, points=points, shape_type="polygon") for points in polygons]
