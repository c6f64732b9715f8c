"""The gamma camera: ANT and POST projections of one 3-D activity map, with attenuation, the
depth-dependent LEHR blur, scatter, count scaling and Poisson noise.

Model (``../shared/reference/physics.md``, section "Camera"):

* **Attenuation**: each voxel's activity reaches a detector through the tissue between them,
  ``exp(-sum mu dy)`` along depth (parallel-hole collimator: straight rays along depth), with
  mu = 0.154 /cm for soft tissue and 0.29 /cm for bone at 140.5 keV (NIST), mixed by occupancy. A voxel is
  attenuated by half its own thickness. The transmission is accumulated slab by slab (a cumulative
  product), once towards the anterior and once towards the posterior detector.
* **Depth-dependent PSF**: Gaussian with ``FWHM(r) = sqrt((d (r + L_eff) / L_eff)^2 + R_int^2)`` at
  distance ``r`` from the collimator face, ``L_eff = L - 2 / mu_Pb`` (PyTomography's model; ``a r + b`` in
  physics.md with ``a = d / L_eff``, ``b = d``). Symbia LEHR defaults (d = 1.11 mm, L = 24.05 mm) with 3.8 mm
  intrinsic FWHM give 5.2 / 7.0 / 9.0 mm at 5 / 10 / 15 cm, as the [E] line in physics.md. Slabs are grouped
  by distance (``depth_group_mm``) and each group is blurred once with the sigma at its mean distance.
  A LEHS collimator (:func:`with_collimator`, drawn with probability ``p_lehs``) uses the same model with
  its own hole diameter and length. Every width is in mm and converted with the grid's pixel size, so
  any matrix (512 x 128 at 4.5 mm to 2048 x 512 at 1.1 mm) sees the same physical blur and scatter.
* **Detectors**: the anterior collimator sits ``anterior_gap_mm`` in front of the most anterior body point
  (no body contouring, so thin legs are far from it); the posterior collimator is under the table,
  ``posterior_gap_mm`` from the patient's back.
* **Scatter**: a smooth term, ``scatter_fraction`` x the primary image blurred with a wide Gaussian
  (``scatter_sigma_mm``) [E]: the scatter fraction in a 20 % window was not found in the sources.
* **Counts and noise**: one sensitivity factor for both views (one activity, one camera) scales the mean
  expected total of the two views to the sampled count level; if either view then falls outside the
  configured range, the factor is moved just enough to bring it in. Room background is added, then
  every pixel is Poisson-sampled.

Both views are projected in ANT's orientation; :mod:`scintiseg.phantom.patient` stores POST *as acquired*,
mirrored left-right relative to ANT (:func:`scintiseg.scan.mirror`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from scintiseg.phantom.config import CameraConfig
from scintiseg.phantom.primitives import Grid

VIEWS: tuple[str, str] = ("ANT", "POST")
COLLIMATORS: tuple[str, str] = ("LEHR", "LEHS")
_TRUNCATE = 3.5


def with_collimator(cfg: CameraConfig, collimator: str) -> CameraConfig:
    """``cfg`` with the hole geometry of ``collimator`` (``LEHR``: the configured holes; ``LEHS``: the LEHS ones)."""
    if collimator == "LEHR":
        return cfg
    if collimator == "LEHS":
        return replace(cfg, hole_diameter_mm=cfg.lehs_hole_diameter_mm, hole_length_mm=cfg.lehs_hole_length_mm)
    raise ValueError(f"unknown collimator {collimator!r} (choose from {', '.join(COLLIMATORS)})")


def system_fwhm_mm(distance_mm: float | np.ndarray, cfg: CameraConfig) -> float | np.ndarray:
    """System FWHM (mm) of the LEHR collimator at ``distance_mm`` from its face (model in the module docstring)."""
    effective_length = cfg.hole_length_mm - 2.0 * 10.0 / cfg.mu_lead_per_cm
    geometric = cfg.hole_diameter_mm * (np.asarray(distance_mm, dtype=float) + effective_length) / effective_length
    return np.sqrt(geometric**2 + cfg.intrinsic_fwhm_mm**2)


@dataclass
class DepthGroup:
    """Slabs ``first..last-1`` seen by one view with one PSF (sigma in pixels along rows and columns)."""

    first: int
    last: int
    sigma_px: tuple[float, float]
    distance_mm: float


class Projector:
    """Projects activity volumes of one patient onto the ANT and POST detectors.

    Args:
        grid: the voxel grid.
        cfg: camera configuration.
        anterior_detector_y: depth (mm) of the anterior collimator face (may be negative: in front of the grid).
        posterior_detector_y: depth (mm) of the posterior collimator face.

    After :meth:`project` the attenuation map is kept, so that local objects (lesions, single bones) can be
    projected with the same operator by :meth:`project_local` (transmissions recomputed for their columns).
    ``row_range`` limits the dense projection to the rows that hold the body.
    """

    def __init__(self, grid: Grid, cfg: CameraConfig, anterior_detector_y: float, posterior_detector_y: float) -> None:
        self.grid, self.cfg = grid, cfg
        self.detector_y = {"ANT": anterior_detector_y, "POST": posterior_detector_y}
        self.groups = {view: self._groups(view) for view in VIEWS}
        self.mu: np.ndarray | None = None
        self.row_range = (0, grid.rows)
        self._optical_depth: np.ndarray | None = None

    def distance_mm(self, view: str, slab: int) -> float:
        y = (slab + 0.5) * self.grid.depth_mm
        return abs(y - self.detector_y[view])

    def _groups(self, view: str) -> list[DepthGroup]:
        grid, cfg = self.grid, self.cfg
        keys = [int(self.distance_mm(view, d) // cfg.depth_group_mm) for d in range(grid.depth)]
        groups: list[DepthGroup] = []
        start = 0
        for d in range(1, grid.depth + 1):
            if d == grid.depth or keys[d] != keys[start]:
                distance = float(np.mean([self.distance_mm(view, k) for k in range(start, d)]))
                sigma = float(system_fwhm_mm(distance, cfg)) / (2.0 * math.sqrt(2.0 * math.log(2.0)))
                groups.append(DepthGroup(start, d, (sigma / grid.row_mm, sigma / grid.col_mm), distance))
                start = d
        return groups

    def project(self, activity: np.ndarray, mu_per_mm: np.ndarray) -> dict[str, np.ndarray]:
        """Blurred, attenuated primary projections (ANT and POST, both in ANT orientation) of ``activity``.

        Args:
            activity: (depth, rows, cols) activity concentration (relative units) per voxel.
            mu_per_mm: (depth, rows, cols) linear attenuation coefficient in 1/mm; kept for :meth:`project_local`.

        Returns:
            view -> (rows, cols) float32 expected primary counts in relative units (concentration x cm).
        """
        grid = self.grid
        self.mu = mu_per_mm
        self._optical_depth = None
        r0, r1 = self.row_range
        step_cm = np.float32(grid.depth_mm / 10.0)
        half = np.exp(mu_per_mm[:, r0:r1] * np.float32(-grid.depth_mm / 2.0))
        images: dict[str, np.ndarray] = {}
        scratch = np.empty((r1 - r0, grid.cols), dtype=np.float32)
        for view in VIEWS:
            transmission = np.ones((r1 - r0, grid.cols), dtype=np.float32)
            image = np.zeros((grid.rows, grid.cols), dtype=np.float32)
            groups = self.groups[view] if view == "ANT" else self.groups[view][::-1]
            for group in groups:
                total = np.zeros((r1 - r0, grid.cols), dtype=np.float32)
                slabs = range(group.first, group.last) if view == "ANT" else range(group.last - 1, group.first - 1, -1)
                for d in slabs:
                    transmission *= half[d]
                    np.multiply(activity[d, r0:r1], transmission, out=scratch)
                    total += scratch
                    transmission *= half[d]
                image[r0:r1] += ndimage.gaussian_filter(total, group.sigma_px, mode="constant", truncate=_TRUNCATE)
            image *= step_cm
            images[view] = image
        return images

    def local_transmission(self, start: tuple[int, int, int], shape: tuple[int, int, int]) -> dict[str, np.ndarray]:
        """Transmission from each voxel centre of a block to each detector (same model as :meth:`project`)."""
        d0, z0, x0 = start
        nd, nz, nx = shape
        depth_mm = np.float32(self.grid.depth_mm)
        if self._optical_depth is None:  # one running sum along depth (slab by slab) serves every local block
            optical = self.mu * depth_mm
            for d in range(1, optical.shape[0]):
                optical[d] += optical[d - 1]
            self._optical_depth = optical
        rows, cols = slice(z0, z0 + nz), slice(x0, x0 + nx)
        columns = self.mu[d0:d0 + nd, rows, cols] * depth_mm
        before = self._optical_depth[d0:d0 + nd, rows, cols] - columns  # tissue in front (anterior side)
        after = self._optical_depth[-1, rows, cols][None] - before - columns
        mid = columns / np.float32(2.0)
        return {"ANT": np.exp(-(before + mid)), "POST": np.exp(-(after + mid))}

    def project_local(self, start: tuple[int, int, int], activity: np.ndarray, blur: bool = True) -> dict[str, tuple[np.ndarray, tuple[int, int]]]:
        """Project a local block of activity with the same operator as :meth:`project` (after it ran).

        Args:
            start: (d0, z0, x0) grid index of the block corner.
            activity: (nd, nz, nx) activity of the block.
            blur: apply the depth-dependent PSF (False gives the attenuated line integral only).

        Returns:
            view -> (image, (row0, col0)): a local image (in ANT orientation) and the grid index of its corner;
            the image is padded by the PSF reach and clipped to the grid.
        """
        grid = self.grid
        d0, z0, x0 = start
        nd, nz, nx = activity.shape
        step_cm = np.float32(grid.depth_mm / 10.0)
        transmissions = self.local_transmission(start, activity.shape)
        out = {}
        for view in VIEWS:
            weighted = activity * transmissions[view]
            if not blur:
                out[view] = (weighted.sum(axis=0) * step_cm, (z0, x0))
                continue
            groups = [g for g in self.groups[view] if g.last > d0 and g.first < d0 + nd]
            pad_r = int(math.ceil(_TRUNCATE * max(g.sigma_px[0] for g in groups))) + 1
            pad_c = int(math.ceil(_TRUNCATE * max(g.sigma_px[1] for g in groups))) + 1
            row0, col0 = max(0, z0 - pad_r), max(0, x0 - pad_c)
            row1, col1 = min(grid.rows, z0 + nz + pad_r), min(grid.cols, x0 + nx + pad_c)
            image = np.zeros((row1 - row0, col1 - col0), dtype=np.float32)
            for group in groups:
                a, b = max(group.first, d0) - d0, min(group.last, d0 + nd) - d0
                canvas = np.zeros_like(image)
                canvas[z0 - row0:z0 - row0 + nz, x0 - col0:x0 - col0 + nx] = weighted[a:b].sum(axis=0)
                image += ndimage.gaussian_filter(canvas, group.sigma_px, mode="constant", truncate=_TRUNCATE)
            out[view] = (image * step_cm, (row0, col0))
        return out


def scatter_image(primary: np.ndarray, fraction: float, sigma_mm: float, grid: Grid) -> np.ndarray:
    """A smooth scatter term: ``fraction`` x ``primary`` spread by a wide Gaussian (computed at 1/4 resolution)."""
    factor = 4
    rows, cols = primary.shape
    pr, pc = (-rows) % factor, (-cols) % factor
    padded = np.pad(primary, ((0, pr), (0, pc)))
    small = padded.reshape(padded.shape[0] // factor, factor, padded.shape[1] // factor, factor).mean(axis=(1, 3))
    small = ndimage.gaussian_filter(small, (sigma_mm / (grid.row_mm * factor), sigma_mm / (grid.col_mm * factor)), mode="constant")
    large = ndimage.zoom(small, (padded.shape[0] / small.shape[0], padded.shape[1] / small.shape[1]), order=1)[:rows, :cols]
    total = float(large.sum())
    if total <= 0:
        return np.zeros_like(primary)
    return (large * (fraction * float(primary.sum()) / total)).astype(np.float32)


def count_scale(primary_totals: dict[str, float], target: float, counts_range: tuple[float, float], background_total: float, scatter_fraction: float) -> float:
    """One sensitivity factor for both views: the mean expected total is ``target``, each view kept in range.

    Returns the factor ``k`` such that a view's expected total is ``k * (1 + scatter) * primary + background``.
    """
    lo, hi = counts_range
    gain = 1.0 + scatter_fraction
    mean_primary = float(np.mean(list(primary_totals.values())))
    k = max(target - background_total, 1.0) / (gain * mean_primary)
    low_view, high_view = min(primary_totals.values()), max(primary_totals.values())
    if k * gain * high_view + background_total > hi:
        k = (hi - background_total) / (gain * high_view)
    if k * gain * low_view + background_total < lo:
        k = (lo - background_total) / (gain * low_view)
    return k


def poisson_counts(expected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Poisson-sample expected counts into a uint16 image (clipped at 65535)."""
    counts = rng.poisson(np.maximum(expected, 0.0).astype(np.float64))
    return np.minimum(counts, 65535).astype(np.uint16)
