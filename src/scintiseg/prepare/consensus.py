"""Three-reader consensus on lesion annotations (paper B, §2.2).

Paper B has three physicians delineate every image. For each lesion, the *area difference* between
two readers' curves is compared with a threshold (5 %); when every pair agrees, one reader's labels are
taken at random as ground truth, otherwise the image goes back for re-annotation.

Choices the paper leaves open, made here:

* **Area difference** between two curves is ``1 - IoU`` of their rasterised areas (LabelMe's
  rasterisation, :func:`scintiseg.geometry.shape_to_mask`). It is symmetric and 0 for identical
  curves; a plain difference of areas would call two equal-sized lesions at different places "equal".
* **Per lesion**, as the paper says ("the areas surrounded by any two closed curves"): a reader's lesions
  are their **closed curves** (:func:`curve_lesions`), each curve (LabelMe shape) its own lesion, so two
  curves that merely touch or share an edge stay two lesions. Curves of one reader whose areas *overlap*
  are one lesion (their union): an inner curve drawn inside an outer one is no second lesion (holes are
  filled, as LabelMe draws), and one lesion outlined as two overlapping pieces stays one. "Overlap" means
  a pixel *inside* one curve's raster (not on its outline: a raster pixel whose four neighbours are in
  the raster too) lies in the other's raster; two curves through the same pixel centres (a shared edge,
  a shared corner) share only outline pixels and stay apart, while curves that overlap by a pixel's width
  or more merge. (Until session 63 a reader's lesions were the 8-connected components of the union of
  their shapes, so two adjacent lesions whose curves touched were one lesion, and comparing them with a
  reader who left a one-pixel gap gave differences 0.5 and 1: re-annotation although every curve agreed.)
  Two readers' lesions are paired one to one by maximum total IoU (Hungarian assignment,
  ``scipy.optimize.linear_sum_assignment``); a lesion without a partner (one reader saw it, the other
  did not) has difference 1. A pair of readers agrees when every lesion difference is within the
  threshold (inclusive). :func:`compare_readers`, given masks rather than curves, takes the
  8-connected components of each mask as its lesions.
* The per-image difference (``1 - IoU`` of the whole masks) is reported too, for reference.
* Two readers who both marked nothing agree (difference 0).
* The decision is per image (the unit that is re-annotated or accepted): all pairs agree -> one
  reader chosen at random, **per image** (:func:`choose_reader`): the draw is a SHA-256 digest of the
  seed and the image's identity (:func:`image_key`: its view and size, the file name ``imagePath``
  names, and the readers' JSON file names and folder names, or without files the shapes themselves),
  so a re-run gives the same choice on any machine, different images draw independently, and another
  seed draws again; the chosen *file* does not depend on the order the files are given. (Until session
  63 the draw was ``numpy.random.default_rng(seed)`` alone, and as the command runs once per image every
  image got the same reader: one physician became the whole data set's ground truth.) Otherwise
  ``re-annotate``.
* The readers' files must annotate one image (:func:`check_same_image`, session 63): files that state
  different views (``ANT`` and ``POST``, by their ``view`` key or ``_ANT``/``_POST`` file-name suffix),
  name different images (``imagePath`` file names that differ other than by folder, extension or case,
  unless both files embed the same pixels) or images of different sizes are refused in one line naming
  the files and what differs. A file that states no view or names no image is not compared on that
  point (LabelMe files may leave ``imagePath`` empty, and may embed the image or not); files of one image
  that carry no name of it (reader-wise file names, no ``imagePath``) cannot be told from files of two.

Cost: each reader's curves are rasterised once, each in its own bounding box, and their areas kept as a
sparse pixel-by-lesion matrix (a pixel on the shared outline of two touching lesions belongs to both); the
lesion IoUs of a pair come from one sparse product of the two matrices (a contingency count of
overlapping lesions), and the assignment is solved separately on each group of mutually overlapping
lesions (a lesion only pairs with one it overlaps, so this gives the same optimum as one assignment over
all lesions). Three readers with 500 lesions each take well under a second; comparing whole-image masks
lesion by lesion took minutes.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path, PurePosixPath
from typing import Any, Sequence

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.geometry import shape_to_mask
from scintiseg.scan import Annotation, Shape

#: Paper B §2.2: readers agree when the area difference is at most 5 %.
DEFAULT_THRESHOLD = 0.05
#: Views a LabelMe file can state (``VIEW``: not stated, compared with nothing).
STATED_VIEWS = ("ANT", "POST")


def area_difference(a: np.ndarray, b: np.ndarray) -> float:
    """``1 - IoU`` of two boolean masks (0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    if union == 0:
        return 0.0
    return float(1.0 - np.logical_and(a, b).sum() / union)


def label_lesions(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """The 8-connected components of ``mask`` as a label image (0 = background) and their number."""
    from scipy import ndimage  # lazy: start-up time (the CLI imports this module for every command)

    labels, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    return labels, int(count)


@dataclass
class Lesions:
    """One reader's lesions: which pixels each covers (lesions may share outline pixels).

    Attributes:
        members: sparse ``(pixels, lesions)`` 0/1 matrix (CSC), pixel ``r * width + c``.
        areas: pixels per lesion.
        mask: the union of the lesions (image-sized, boolean).
        curves: closed curves drawn (before overlapping ones were merged); for a mask, the lesion count.
    """

    members: Any
    areas: np.ndarray
    mask: np.ndarray
    curves: int

    @property
    def count(self) -> int:
        return len(self.areas)


def _lesions_from_labels(labels: np.ndarray, count: int) -> Lesions:
    from scipy.sparse import csc_matrix  # lazy: start-up time

    pixels = np.flatnonzero(labels)
    ids = labels.ravel()[pixels].astype(np.int64) - 1
    members = csc_matrix((np.ones(len(pixels), dtype=np.int32), (pixels, ids)), shape=(labels.size, count))
    return Lesions(members, np.bincount(ids, minlength=count), labels > 0, count)


def shape_raster(shape: Shape, image_shape: tuple[int, int]) -> tuple[int, int, np.ndarray]:
    """``(row0, col0, crop)``: LabelMe's raster of one shape alone (:func:`scintiseg.geometry.shape_to_mask`),
    the part of it in the shape's bounding box (plus a margin of two pixels).

    The shape is drawn at its own coordinates on a canvas that ends just past the box (PIL's fill is not
    exactly unchanged by moving a polygon, even by whole pixels: a span end on a half pixel may round the
    other way), so the crop holds exactly the pixels of the full-image raster, at a canvas smaller than
    the image for most shapes.
    """
    height, width = image_shape
    points = shape.points
    if shape.shape_type == "circle":
        (cx, cy), (px, py) = points
        radius = math.hypot(cx - px, cy - py)
        low, high = (cx - radius, cy - radius), (cx + radius, cy + radius)
    else:
        low, high = points.min(axis=0), points.max(axis=0)
    col0, row0 = (min(max(0, math.floor(v) - 2), side) for v, side in zip(low, (width, height)))
    col1, row1 = min(width, max(0, math.floor(high[0]) + 3)), min(height, max(0, math.floor(high[1]) + 3))
    if col1 <= col0 or row1 <= row0:
        return row0, col0, np.zeros((0, 0), dtype=bool)
    return row0, col0, shape_to_mask(points, (row1, col1), shape.shape_type)[row0:, col0:]


def curve_lesions(annotation: Annotation, labels: Sequence[str] | None = None) -> Lesions:
    """A reader's lesions: one per closed curve, curves whose areas overlap merged (module docstring).

    Each shape is rasterised alone; shape ``i`` and ``j`` overlap when a pixel inside ``i`` (in its raster with
    its four neighbours) lies in ``j``'s raster, or the other way round. Overlap is followed transitively
    (union-find); a lesion is the union of its curves' rasters. Curves that only touch keep the outline pixels
    they share, each lesion its full raster (so its IoU with another reader's curve is that of the curve).

    Cost: work in proportion to the shapes' bounding boxes; memory of a few image-sized arrays, whatever the
    number of shapes.
    """
    from scipy import ndimage  # lazy: start-up time
    from scipy.sparse import csc_matrix  # lazy: start-up time

    shapes = annotation.filter(labels).shapes
    height, width = annotation.image_shape
    owner = np.full(height * width, -1, dtype=np.int64)  # a curve whose raster holds the pixel
    inner = np.full(height * width, -1, dtype=np.int64)  # a curve with the pixel inside
    shared = np.zeros(height * width, dtype=bool)  # also in the raster of a curve not merged with owner's
    extra_pixels: list[np.ndarray] = []
    extra_curves: list[np.ndarray] = []
    parent = list(range(len(shapes)))
    drawn: list[int] = []
    cross = ndimage.generate_binary_structure(2, 1)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for index, shape in enumerate(shapes):
        row0, col0, crop = shape_raster(shape, (height, width))
        rows, cols = np.nonzero(crop)
        if len(rows) == 0:
            continue
        drawn.append(index)
        pixels = (rows + row0) * width + (cols + col0)
        in_rows, in_cols = np.nonzero(ndimage.binary_erosion(crop, cross, border_value=0))
        inside = (in_rows + row0) * width + (in_cols + col0)
        partners = set(np.unique(np.concatenate([owner[inside], inner[pixels]])).tolist())
        if extra_pixels and shared[inside].any():
            all_pixels, all_curves = np.concatenate(extra_pixels), np.concatenate(extra_curves)
            partners |= set(np.unique(all_curves[np.isin(all_pixels, inside)]).tolist())
        partners.discard(-1)
        for other in partners:
            root_a, root_b = find(index), find(other)
            if root_a != root_b:
                parent[root_b] = root_a
        taken = owner[pixels]
        owner[pixels[taken < 0]] = index
        others = pixels[taken >= 0]
        if len(others):
            mine = find(index)
            owners, where = np.unique(taken[taken >= 0], return_inverse=True)
            apart = np.array([find(o) != mine for o in owners.tolist()], dtype=bool)[where.ravel()]
            if apart.any():
                extra_pixels.append(others[apart])
                extra_curves.append(np.full(int(apart.sum()), index, dtype=np.int64))
                shared[others[apart]] = True
        inner[inside] = index
    roots = np.array([find(i) for i in range(len(shapes))], dtype=np.int64)
    lesion_roots, group = np.unique(roots[drawn], return_inverse=True) if drawn else (np.zeros(0, np.int64), None)
    lesion_of = np.full(len(shapes), -1, dtype=np.int64)
    if drawn:
        lesion_of[drawn] = group.ravel()
    covered = np.flatnonzero(owner >= 0)
    pixels = np.concatenate([covered, *extra_pixels])
    ids = np.concatenate([lesion_of[owner[covered]], *(lesion_of[c] for c in extra_curves)])
    count = len(lesion_roots)
    pairs = np.unique(pixels * max(count, 1) + ids)
    pixels, ids = np.divmod(pairs, max(count, 1))
    members = csc_matrix((np.ones(len(pairs), dtype=np.int32), (pixels, ids)), shape=(height * width, count))
    mask = (owner >= 0).reshape(height, width)
    return Lesions(members, np.bincount(ids, minlength=count), mask, len(drawn))


def lesion_overlaps(lesions_a: Lesions, lesions_b: Lesions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IoU of every overlapping pair of two readers' lesions, from one sparse product.

    Returns:
        ``(rows, cols, iou)``: lesion ``rows[k]`` of ``a`` overlaps lesion ``cols[k]`` of ``b`` (0-based)
        with IoU ``iou[k] > 0``; pairs that do not overlap are left out.
    """
    intersection = (lesions_a.members.T @ lesions_b.members).tocoo()
    rows, cols = intersection.row.astype(np.int64), intersection.col.astype(np.int64)
    shared = intersection.data.astype(np.float64)
    keep = shared > 0
    rows, cols, shared = rows[keep], cols[keep], shared[keep]
    iou = shared / (lesions_a.areas[rows] + lesions_b.areas[cols] - shared)
    order = np.lexsort((cols, rows))
    return rows[order], cols[order], iou[order]


@dataclass
class PairComparison:
    """How two readers compare: per-lesion differences (matched and unmatched) and the image-level one."""

    reader_a: int
    reader_b: int
    image_difference: float
    lesion_differences: list[float] = field(default_factory=list)
    unmatched: int = 0

    @property
    def max_lesion_difference(self) -> float:
        return max(self.lesion_differences, default=0.0)

    def agrees(self, threshold: float) -> bool:
        # "Within the threshold" is inclusive; the epsilon keeps 1 - 380/400 from reading as 0.0500000001.
        return self.max_lesion_difference <= threshold + 1e-9

    def to_json(self, threshold: float) -> dict:
        return {
            "readers": [self.reader_a, self.reader_b],
            "image_area_difference": round(self.image_difference, 6),
            "lesion_area_differences": [round(d, 6) for d in self.lesion_differences],
            "max_lesion_area_difference": round(self.max_lesion_difference, 6),
            "unmatched_lesions": self.unmatched,
            "agree": self.agrees(threshold),
        }


def match_lesions(
    rows: np.ndarray, cols: np.ndarray, iou: np.ndarray, count_a: int, count_b: int
) -> list[tuple[int, int, float]]:
    """Pair lesions by maximum total IoU (Hungarian assignment) among overlapping pairs only.

    The overlap graph (lesions as nodes, an edge per overlapping pair) falls apart into small groups;
    each group is solved on its own dense IoU matrix, which has the same optimum as one assignment over
    all ``count_a x count_b`` pairs, because pairs that do not overlap add nothing and are dropped.

    Returns:
        ``(lesion of a, lesion of b, IoU)`` triples, ordered by the lesion of ``a``.
    """
    # lazy: start-up time (scipy.optimize and scipy.sparse take a second to import on a busy machine)
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(iou) == 0:
        return []
    graph = coo_matrix((np.ones(len(iou)), (rows, count_a + cols)), shape=(count_a + count_b,) * 2)
    _, group = connected_components(graph, directed=False)
    edge_group = group[rows]
    edges_per_group = np.bincount(edge_group)
    # A group of one overlapping pair (the usual case: one lesion drawn by both readers) needs no solver.
    alone = edges_per_group[edge_group] == 1
    matched = [(int(r), int(c), float(v)) for r, c, v in zip(rows[alone], cols[alone], iou[alone])]
    crowded = np.flatnonzero(~alone)
    order = crowded[np.argsort(edge_group[crowded], kind="stable")]
    boundaries = np.flatnonzero(np.diff(edge_group[order])) + 1
    for members in np.split(order, boundaries) if len(order) else []:
        group_rows, row_index = np.unique(rows[members], return_inverse=True)
        group_cols, col_index = np.unique(cols[members], return_inverse=True)
        dense = np.zeros((len(group_rows), len(group_cols)))
        dense[row_index, col_index] = iou[members]
        picked_rows, picked_cols = linear_sum_assignment(-dense)
        matched += [
            (int(group_rows[r]), int(group_cols[c]), float(dense[r, c]))
            for r, c in zip(picked_rows, picked_cols)
            if dense[r, c] > 0
        ]
    return sorted(matched)


def compare_readers(a: np.ndarray, b: np.ndarray, reader_a: int = 0, reader_b: int = 1) -> PairComparison:
    """Per-lesion area differences between two readers' *masks*: lesions are the masks' 8-connected components
    (a mask has no curves; :func:`consensus` compares the readers' closed curves).

    Public API for readers whose outlines exist only as masks (a NIfTI or PNG label per reader): the package's own
    consensus reads LabelMe curves, so nothing in it calls this. It runs the same matching as :func:`consensus`
    (:func:`match_lesions` on :func:`lesion_overlaps`), which its tests check against a dense assignment.

    Example::

        pair = compare_readers(mask_reader_1, mask_reader_2)
        pair.agrees(0.05)   # every lesion's area difference within paper B's 5 %
    """
    return _compare(_lesions_from_labels(*label_lesions(a)), _lesions_from_labels(*label_lesions(b)), reader_a, reader_b)


def _compare(lesions_a: Lesions, lesions_b: Lesions, reader_a: int, reader_b: int) -> PairComparison:
    matched = match_lesions(*lesion_overlaps(lesions_a, lesions_b), lesions_a.count, lesions_b.count)
    differences = [1.0 - iou for _, _, iou in matched]
    unmatched = lesions_a.count + lesions_b.count - 2 * len(matched)
    differences += [1.0] * unmatched
    return PairComparison(reader_a, reader_b, area_difference(lesions_a.mask, lesions_b.mask), differences, unmatched)


def _image_name(image_path: str | None) -> str | None:
    """The file name ``imagePath`` names, without folder or extension, case folded (None: no image named)."""
    if not image_path:
        return None
    name = PurePosixPath(image_path.replace("\\", "/")).name
    return PurePosixPath(name).stem.casefold() or None


def _names(annotations: Sequence[Annotation], files: Sequence[str | Path] | None) -> list[str]:
    return [str(f) for f in files] if files is not None else [f"reader {i}" for i in range(len(annotations))]


def check_same_image(annotations: Sequence[Annotation], files: Sequence[str | Path] | None = None,
                     embedded: Sequence[str | None] | None = None) -> None:
    """Refuse readers' annotations of different images (module docstring), in one line naming the files.

    Args:
        annotations: the readers' annotations.
        files: their files, named in the error (default: ``reader 0``, ``reader 1``, ...).
        embedded: for each reader, a digest of the pixels of the image its file embeds (None: none embedded).
            Two files that embed the same pixels annotate one image, whatever their ``imagePath`` says (a file
            written with its image embedded names it after itself: ``A.json`` -> ``A.png``).

    Raises:
        ScintisegError: two files state different views (``ANT``/``POST``), name different image files in
            ``imagePath`` (compared by file name without folder, extension or case) without embedding the same
            image, or have different sizes.
    """
    names = _names(annotations, files)
    digests = list(embedded) if embedded is not None else [None] * len(annotations)

    def listing(values: Sequence[str]) -> str:
        return ", ".join(f"{name}: {value}" for name, value in zip(names, values))

    views = [a.view for a in annotations]
    if len({v for v in views if v in STATED_VIEWS}) > 1:
        raise ScintisegError(f"the readers' files annotate different views ({listing(views)}); give the files of one "
                             "view of one image")
    images = [_image_name(a.image_path) for a in annotations]
    for i, j in combinations(range(len(annotations)), 2):
        same_pixels = digests[i] is not None and digests[i] == digests[j]
        if images[i] and images[j] and images[i] != images[j] and not same_pixels:
            written = [repr(a.image_path) if a.image_path else "none" for a in annotations]
            raise ScintisegError(f"the readers' files annotate different images (imagePath {listing(written)}); give "
                                 "the files of one image")
    sizes = [f"{a.image_shape[0]}x{a.image_shape[1]}" for a in annotations]
    if len(set(sizes)) != 1:
        raise ScintisegError(f"readers annotated images of different sizes ({listing(sizes)})")


def _reader_identity(annotation: Annotation, file: str | Path | None) -> list:
    """What names one reader's file: its file name and folder name, or without a file its shapes (digested)."""
    if file is not None:
        path = Path(file)
        return [path.stem, path.resolve().parent.name]
    digest = hashlib.sha256()
    for shape in annotation.shapes:
        digest.update(json.dumps([shape.label, shape.shape_type]).encode())
        digest.update(np.ascontiguousarray(shape.points, dtype="<f8").tobytes())
    return [digest.hexdigest()]


def image_key(annotations: Sequence[Annotation], files: Sequence[str | Path] | None = None) -> str:
    """The image's identity the reader draw is seeded with: stable across machines and re-runs, the same
    whatever the order of the readers, different for different images.

    A JSON text of the views stated, the image size, the image file names ``imagePath`` names, and the
    readers' JSON file names (stems) and folder names, each as a sorted set (without ``files``: digests of
    each reader's shapes instead of the file and folder names).
    """
    files_or_none = list(files) if files is not None else [None] * len(annotations)
    identities = [_reader_identity(a, f) for a, f in zip(annotations, files_or_none)]
    key = {
        "views": sorted({a.view for a in annotations}),
        "size": sorted({f"{a.image_shape[0]}x{a.image_shape[1]}" for a in annotations}),
        "images": sorted({PurePosixPath(a.image_path.replace("\\", "/")).name for a in annotations if a.image_path}),
    }
    if files is not None:
        key["files"] = sorted({identity[0] for identity in identities})
        key["folders"] = sorted({identity[1] for identity in identities})
    else:
        key["shapes"] = sorted({identity[0] for identity in identities})
    return json.dumps(key, sort_keys=True, separators=(",", ":"))


def choose_reader(annotations: Sequence[Annotation], seed: int, files: Sequence[str | Path] | None = None) -> int:
    """The ground-truth reader of one image: a uniform draw from the SHA-256 digest of ``seed`` and
    :func:`image_key`, among the readers in a fixed order (by file name and folder name, or shapes' digest;
    then as given), so the chosen file does not depend on the order of the files."""
    key = image_key(annotations, files)
    digest = hashlib.sha256(f"scintiseg consensus\n{int(seed)}\n{key}".encode()).digest()
    draw = int.from_bytes(digest[:8], "big") % len(annotations)  # bias below 2**-60: uniform
    files_or_none = list(files) if files is not None else [None] * len(annotations)
    identities = [_reader_identity(a, f) for a, f in zip(annotations, files_or_none)]
    order = sorted(range(len(annotations)), key=lambda i: (identities[i], i))
    return order[draw]


def consensus(
    annotations: Sequence[Annotation],
    threshold: float = DEFAULT_THRESHOLD,
    seed: int = 0,
    labels: Sequence[str] | None = ("lesion",),
    files: Sequence[str | Path] | None = None,
    embedded: Sequence[str | None] | None = None,
) -> dict:
    """Decide between readers' annotations of one image (paper B §2.2).

    Args:
        annotations: one annotation per reader (three in the paper; two or more accepted) of one image
            (:func:`check_same_image`).
        threshold: largest area difference (``1 - IoU``) at which two readers' lesions agree.
        seed: seeds the random choice of the ground-truth reader, with the image's identity
            (:func:`choose_reader`): each image draws its own reader.
        labels: shape labels taken as lesion (None: every label).
        files: the readers' LabelMe files, in the order of ``annotations``: named in errors, and part of the
            image's identity (default: the readers' shapes identify the image).
        embedded: for each reader, a digest of the pixels its file embeds (None: none), for
            :func:`check_same_image`.

    Returns:
        ``{"decision": "accept" | "re-annotate", "ground_truth_reader": index | None, "threshold",
        "seed", "image_key", "readers", "curves_per_reader", "lesions_per_reader", "pairs": [...]}``; each
        pair lists its per-lesion and image-level differences.

    Example::

        files = ("a.json", "b.json", "c.json")
        decision = consensus([read_labelme(p) for p in files], seed=1, files=files)
    """
    if len(annotations) < 2:
        raise ScintisegError(f"consensus needs at least two readers, got {len(annotations)}")
    if files is not None and len(files) != len(annotations):
        raise ValueError(f"{len(files)} files for {len(annotations)} annotations")
    if not 0 <= threshold <= 1:
        raise ScintisegError(f"threshold must lie in [0, 1], got {threshold}")
    check_same_image(annotations, files, embedded)
    lesions = [curve_lesions(a, labels) for a in annotations]  # rasterised once each
    pairs = [_compare(lesions[i], lesions[j], i, j) for i, j in combinations(range(len(lesions)), 2)]
    agree = all(p.agrees(threshold) for p in pairs)
    chosen = choose_reader(annotations, seed, files) if agree else None
    return {
        "decision": "accept" if agree else "re-annotate",
        "ground_truth_reader": chosen,
        "threshold": float(threshold),
        "seed": int(seed),
        "image_key": image_key(annotations, files),
        "readers": len(annotations),
        "curves_per_reader": [found.curves for found in lesions],
        "lesions_per_reader": [found.count for found in lesions],
        "pairs": [p.to_json(threshold) for p in pairs],
    }
