"""Geometric primitives of the phantom and their exact rasterisation on a coarse-depth voxel grid.

The voxel grid (:class:`Grid`) is fine in the image plane (the camera's pixel, 2.26 mm by default) and
coarse along depth (10 mm by default), because along depth the camera only integrates: depth matters
through attenuation and the depth-dependent blur, both smooth in depth. To keep thin, curved bones
(ribs) from aliasing along depth, every primitive is rasterised *per column*: for each pixel (row, col)
the primitive's chord along the depth axis is found analytically (a line-quadric intersection), and each
depth voxel receives the exact fraction of its length that the chord covers. A rib of 10 mm therefore
projects to the same thickness whatever its depth, and the sum over depth of a column equals the chord
length exactly.

Coordinates are millimetres: ``z`` down the image rows (head to feet), ``x`` along the ANT image columns
(patient's right on the left), ``y`` depth from the front of the grid (anterior) to the back (posterior,
the table side). Voxel ``i`` spans ``[i * step, (i + 1) * step)``; its centre is ``(i + 0.5) * step``.

Primitives:

* :class:`Capsule`: a segment with a radius, of any orientation (long bones, ribs, limbs); with
  ``flat=True`` a cylinder with flat ends (vertebral bodies, whose end plates are flat).
* :class:`Ellipsoid`: axis-aligned or rotated (skull, kidneys, bladder, plates of the pelvis and scapula;
  rotated for a tilted head).
* :class:`Section`: a stack of per-row ellipses (the trunk, whose width and depth change with height).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Grid:
    """The voxel grid: ``rows`` x ``cols`` pixels of the image plane by ``depth`` slabs.

    Args:
        rows, cols: image size in pixels (1024 x 256 for a whole-body scan).
        depth: number of depth slabs.
        row_mm, col_mm: pixel size in mm.
        depth_mm: thickness of one depth slab in mm.
    """

    rows: int
    cols: int
    depth: int
    row_mm: float
    col_mm: float
    depth_mm: float

    @property
    def shape(self) -> tuple[int, int, int]:
        """(depth, rows, cols): depth first so that one slab is a contiguous image."""
        return (self.depth, self.rows, self.cols)

    def z_centres(self, start: int, stop: int) -> np.ndarray:
        return ((np.arange(start, stop, dtype=np.float32) + 0.5) * self.row_mm)[:, None]

    def x_centres(self, start: int, stop: int) -> np.ndarray:
        return ((np.arange(start, stop, dtype=np.float32) + 0.5) * self.col_mm)[None, :]

    def y_centres(self, start: int, stop: int) -> np.ndarray:
        return (np.arange(start, stop, dtype=np.float32) + 0.5) * self.depth_mm

    def index_range(self, lo_mm: float, hi_mm: float, axis: str) -> tuple[int, int]:
        """Half-open index range of the voxels whose centres may fall in ``[lo_mm, hi_mm]``, clipped."""
        step, size = {"z": (self.row_mm, self.rows), "x": (self.col_mm, self.cols), "y": (self.depth_mm, self.depth)}[axis]
        start = max(0, int(math.floor(lo_mm / step - 0.5)))
        stop = min(size, int(math.ceil(hi_mm / step + 0.5)))
        if axis == "y":  # along depth every voxel the chord touches counts, not only centres
            start = max(0, int(math.floor(lo_mm / step)))
            stop = min(size, int(math.floor(hi_mm / step)) + 1)
        return start, max(start, stop)


def depth_fractions(lo: np.ndarray, hi: np.ndarray, grid: Grid, d0: int, d1: int) -> np.ndarray:
    """Fraction of each depth voxel ``d0..d1-1`` covered by the chord ``[lo, hi]`` of each column.

    Args:
        lo, hi: (nz, nx) chord ends in mm; NaN (or ``hi <= lo``) where the column misses the object.
        grid: the voxel grid.
        d0, d1: depth voxel range to fill.

    Returns:
        (d1 - d0, nz, nx) float32 array in [0, 1].
    """
    lo = np.where(np.isnan(lo), np.inf, lo).astype(np.float32)
    hi = np.where(np.isnan(hi), -np.inf, hi).astype(np.float32)
    edges = np.arange(d0, d1 + 1, dtype=np.float32) * np.float32(grid.depth_mm)
    top = np.minimum(hi[None], edges[1:, None, None])
    bottom = np.maximum(lo[None], edges[:-1, None, None])
    covered = top - bottom
    np.maximum(covered, 0.0, out=covered)
    covered *= np.float32(1.0 / grid.depth_mm)
    return covered


@dataclass(frozen=True)
class Capsule:
    """All points within ``radius`` mm of the segment ``a``-``b`` (points as (z, x, y) mm).

    With ``flat=True`` the ends are cut flat (a cylinder), as for vertebral bodies.
    """

    a: tuple[float, float, float]
    b: tuple[float, float, float]
    radius: float
    flat: bool = False

    def bounds(self) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
        r = self.radius
        return tuple((min(p, q) - r, max(p, q) + r) for p, q in zip(self.a, self.b))  # type: ignore[return-value]

    def chord(self, z: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Depth interval ``[lo, hi]`` (mm) of the columns at ``z`` (nz, 1) and ``x`` (1, nx); NaN where missed."""
        a = np.asarray(self.a, dtype=np.float64)
        axis = np.asarray(self.b, dtype=np.float64) - a
        length = float(np.linalg.norm(axis))
        r2 = self.radius**2
        wz, wx = z - a[0], x - a[1]
        with np.errstate(invalid="ignore", divide="ignore"):
            if length < 1e-6:
                q = r2 - (wz**2 + wx**2)
                half = np.sqrt(np.where(q >= 0, q, np.nan))
                return a[2] - half, a[2] + half
            uz, ux, uy = axis / length
            wu = wz * uz + wx * ux
            w2 = wz**2 + wx**2
            qa = 1.0 - uy * uy
            c = w2 - wu**2 - r2
            if qa > 1e-9:
                qb = -2.0 * wu * uy
                disc = qb * qb - 4.0 * qa * c
                root = np.sqrt(np.where(disc >= 0, disc, np.nan))
                lo = (-qb - root) / (2.0 * qa)
                hi = (-qb + root) / (2.0 * qa)
            else:  # axis along depth: inside the cylinder for every t, or never
                inside = np.where(c <= 0, 0.0, np.nan)
                lo, hi = inside - np.inf, inside + np.inf
            # Clip to the slab 0 <= s <= L along the axis, s(t) = wu + t * uy.
            if abs(uy) > 1e-9:
                s0 = (0.0 - wu) / uy
                s1 = (length - wu) / uy
                lo, hi = np.maximum(lo, np.minimum(s0, s1)), np.minimum(hi, np.maximum(s0, s1))  # NaN stays NaN
            else:
                inside = (wu >= 0) & (wu <= length)
                lo, hi = np.where(inside, lo, np.nan), np.where(inside, hi, np.nan)
            lo = np.where(hi > lo, lo, np.nan)
            hi = np.where(np.isnan(lo), np.nan, hi)
            if not self.flat:
                for end, offset in ((a, 0.0), (np.asarray(self.b, dtype=np.float64), None)):
                    ez, ex = z - end[0], x - end[1]
                    q = r2 - (ez**2 + ex**2)
                    half = np.sqrt(np.where(q >= 0, q, np.nan))
                    shift = 0.0 if offset is not None else end[2] - a[2]
                    lo = np.fmin(lo, shift - half)
                    hi = np.fmax(hi, shift + half)
        return a[2] + lo, a[2] + hi


@dataclass(frozen=True)
class Ellipsoid:
    """Ellipsoid: centre (z, x, y) mm and semi-axes (along its own axes) mm, axis-aligned unless rotated.

    Args:
        centre: (z, x, y) mm.
        semi: semi-axes (mm) along the ellipsoid's own axes (z, x, y before rotation).
        rotation: optional 3 x 3 rotation (rows of a matrix, as nested tuples) whose columns are the
            ellipsoid's axes in (z, x, y) coordinates (a tilted head). None = axis-aligned.
    """

    centre: tuple[float, float, float]
    semi: tuple[float, float, float]
    rotation: tuple[tuple[float, float, float], ...] | None = None

    def bounds(self) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
        if self.rotation is None:
            return tuple((c - s, c + s) for c, s in zip(self.centre, self.semi))  # type: ignore[return-value]
        scaled = np.asarray(self.rotation, dtype=np.float64) * np.asarray(self.semi, dtype=np.float64)[None]
        half = np.sqrt((scaled**2).sum(axis=1))  # exact half-extent of a rotated ellipsoid along each axis
        return tuple((c - h, c + h) for c, h in zip(self.centre, half))  # type: ignore[return-value]

    def chord(self, z: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cz, cx, cy = self.centre
        if self.rotation is None:
            sz, sx, sy = self.semi
            q = 1.0 - ((z - cz) / sz) ** 2 - ((x - cx) / sx) ** 2
            half = sy * np.sqrt(np.where(q > 0, q, np.nan))
            return cy - half, cy + half
        # (p - c)^T A (p - c) = 1 with A = R diag(1/semi^2) R^T; along depth p = (z, x, cy + t): a t^2 + b t + c = 0.
        rot = np.asarray(self.rotation, dtype=np.float64)
        a_mat = rot @ np.diag(1.0 / np.asarray(self.semi, dtype=np.float64) ** 2) @ rot.T
        dz, dx = z - cz, x - cx
        qa = a_mat[2, 2]
        qb = 2.0 * (a_mat[2, 0] * dz + a_mat[2, 1] * dx)
        qc = a_mat[0, 0] * dz**2 + 2.0 * a_mat[0, 1] * dz * dx + a_mat[1, 1] * dx**2 - 1.0
        disc = qb * qb - 4.0 * qa * qc
        root = np.sqrt(np.where(disc > 0, disc, np.nan))
        return cy + (-qb - root) / (2.0 * qa), cy + (-qb + root) / (2.0 * qa)


@dataclass(frozen=True)
class Section:
    """A stack of ellipses, one per image row: the trunk.

    Args:
        z0: z (mm) of the first sample; rows are sampled every ``dz`` mm.
        dz: sample spacing in mm.
        half_width, half_depth, centre_x, centre_y: per-sample ellipse parameters (mm), linearly
            interpolated between samples.
    """

    z0: float
    dz: float
    half_width: np.ndarray
    half_depth: np.ndarray
    centre_x: np.ndarray
    centre_y: np.ndarray

    def bounds(self) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
        z1 = self.z0 + self.dz * (len(self.half_width) - 1)
        xl = float(np.min(self.centre_x - self.half_width))
        xh = float(np.max(self.centre_x + self.half_width))
        yl = float(np.min(self.centre_y - self.half_depth))
        yh = float(np.max(self.centre_y + self.half_depth))
        return (self.z0, z1), (xl, xh), (yl, yh)

    def chord(self, z: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        samples = self.z0 + self.dz * np.arange(len(self.half_width))
        zz = z[:, 0]
        params = [np.interp(zz, samples, p, left=np.nan, right=np.nan)[:, None]
                  for p in (self.half_width, self.half_depth, self.centre_x, self.centre_y)]
        width, depth, cx, cy = params
        q = 1.0 - ((x - cx) / width) ** 2
        half = depth * np.sqrt(np.where(q > 0, q, np.nan))
        return cy - half, cy + half


Primitive = Capsule | Ellipsoid | Section


@dataclass
class Block:
    """A local box of the voxel grid holding one object's occupancy (and activity).

    Args:
        start: (d0, z0, x0) index of the box corner in the grid.
        occupancy: (nd, nz, nx) fraction of each voxel the object fills.
        activity: (nd, nz, nx) activity concentration x occupancy (relative units), or None.
    """

    start: tuple[int, int, int]
    occupancy: np.ndarray
    activity: np.ndarray | None = None

    @property
    def slices(self) -> tuple[slice, slice, slice]:
        return tuple(slice(s, s + n) for s, n in zip(self.start, self.occupancy.shape))  # type: ignore[return-value]

    def centres(self, grid: Grid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Voxel-centre coordinates (mm) broadcastable to the block: y (nd,1,1), z (1,nz,1), x (1,1,nx)."""
        d0, z0, x0 = self.start
        nd, nz, nx = self.occupancy.shape
        y = grid.y_centres(d0, d0 + nd)[:, None, None]
        z = grid.z_centres(z0, z0 + nz)[None]
        x = grid.x_centres(x0, x0 + nx)[None]
        return y, z, x


def index_box(bounds, grid: Grid) -> tuple[int, int, int, int, int, int] | None:
    """(d0, d1, z0, z1, x0, x1) voxel box of mm bounds, or None if it misses the grid."""
    (zl, zh), (xl, xh), (yl, yh) = bounds
    z0, z1 = grid.index_range(zl, zh, "z")
    x0, x1 = grid.index_range(xl, xh, "x")
    d0, d1 = grid.index_range(yl, yh, "y")
    if z1 <= z0 or x1 <= x0 or d1 <= d0:
        return None
    return d0, d1, z0, z1, x0, x1


def rasterise(parts: list[tuple[Primitive, float]], grid: Grid, holes: list[Primitive] = ()) -> Block | None:
    """Rasterise the union of ``parts`` (primitive, activity concentration) into one :class:`Block`.

    Overlapping parts combine by the voxel-wise maximum (a union, not a sum, so joints of a chain of
    capsules do not double); the activity of a voxel is the maximum of occupancy x concentration over
    the parts, or for a negative concentration (a region that holds *less* than soft tissue: brain, aerated
    lung) the minimum, so the lowering is the strongest part's (until session 24 the maximum with the zeros
    it starts from dropped every negative concentration: brain and lungs held soft tissue's activity). The
    parts of one block share a sign. ``holes`` are subtracted from the occupancy (the inside of the skull's
    shell).
    """
    boxes = [index_box(p.bounds(), grid) for p, _ in parts]
    live = [(part, box) for part, box in zip(parts, boxes) if box is not None]
    if not live:
        return None
    d0 = min(b[0] for _, b in live)
    d1 = max(b[1] for _, b in live)
    z0 = min(b[2] for _, b in live)
    z1 = max(b[3] for _, b in live)
    x0 = min(b[4] for _, b in live)
    x1 = max(b[5] for _, b in live)
    occupancy = np.zeros((d1 - d0, z1 - z0, x1 - x0), dtype=np.float32)
    activity = np.zeros_like(occupancy)
    for (primitive, concentration), (pd0, pd1, pz0, pz1, px0, px1) in live:
        lo, hi = primitive.chord(grid.z_centres(pz0, pz1), grid.x_centres(px0, px1))
        frac = depth_fractions(lo, hi, grid, pd0, pd1)
        where = (slice(pd0 - d0, pd1 - d0), slice(pz0 - z0, pz1 - z0), slice(px0 - x0, px1 - x0))
        np.maximum(occupancy[where], frac, out=occupancy[where])
        frac *= np.float32(concentration)
        (np.minimum if concentration < 0 else np.maximum)(activity[where], frac, out=activity[where])
    for primitive in holes:
        box = index_box(primitive.bounds(), grid)
        if box is None:
            continue
        pd0, pd1, pz0, pz1, px0, px1 = box
        pd0, pz0, px0 = max(pd0, d0), max(pz0, z0), max(px0, x0)
        pd1, pz1, px1 = min(pd1, d1), min(pz1, z1), min(px1, x1)
        if pd1 <= pd0 or pz1 <= pz0 or px1 <= px0:
            continue
        lo, hi = primitive.chord(grid.z_centres(pz0, pz1), grid.x_centres(px0, px1))
        frac = depth_fractions(lo, hi, grid, pd0, pd1)
        where = (slice(pd0 - d0, pd1 - d0), slice(pz0 - z0, pz1 - z0), slice(px0 - x0, px1 - x0))
        keep = np.clip(occupancy[where] - frac, 0.0, None)
        scale = np.divide(keep, occupancy[where], out=np.zeros_like(keep), where=occupancy[where] > 0)
        occupancy[where] = keep
        activity[where] *= scale
    return Block((d0, z0, x0), occupancy, activity)


def union_chord(primitives: list[Primitive], grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Per-column hull ``[lo, hi]`` (rows, cols) of the chords of several primitives over the whole grid.

    Used for the body outline: the parts of a body (head, trunk, limbs) touch or overlap along depth,
    so the hull of their chords is the body's extent in each column. NaN where no part is hit.
    """
    lo = np.full((grid.rows, grid.cols), np.nan, dtype=np.float64)
    hi = np.full((grid.rows, grid.cols), np.nan, dtype=np.float64)
    for primitive in primitives:
        box = index_box(primitive.bounds(), grid)
        if box is None:
            continue
        _, _, z0, z1, x0, x1 = box
        plo, phi = primitive.chord(grid.z_centres(z0, z1), grid.x_centres(x0, x1))
        lo[z0:z1, x0:x1] = np.fmin(lo[z0:z1, x0:x1], plo)
        hi[z0:z1, x0:x1] = np.fmax(hi[z0:z1, x0:x1], phi)
    return lo, hi
