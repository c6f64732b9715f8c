"""Metastases: how many (Soloway grade), where (site frequencies by primary), and their 3-D shape.

Facts from ``../shared/reference/physics.md`` ("Lesions"):

* sites: spine > ribs > pelvis overall; breast: spine then ribs and sternum, skull 7.7 %; prostate: spine
  and pelvis equal; lung: ribs then spine; > 90 % in vertebrae, pelvis, proximal femur, ribs, proximal
  humerus and skull. The per-primary site weights (:data:`scintiseg.phantom.sites.SITE_WEIGHTS`) are [E] shares
  consistent with that ordering.
  [choice: physics.md's "skull in 7.7 % of breast cancers, < 4 % others" is read as a *per-lesion* site
  share, not as the share of patients with skull involvement: the breast table's skull weight is 0.077,
  lung and other 0.04 (the "< 4 %" taken as 0.04), prostate 0.03. The breast table sums to 0.98 and is
  normalised when drawn, so its per-lesion skull share is 0.077 / 0.98 = 7.86 %.] Effect, from the draw
  rules below (default ``LesionConfig``, exact sums over the lesion-count distribution;
  ``runs/s63/phantom_docs/draw_rules.py``): a metastatic patient has at least one skull lesion with
  probability 0.435 (breast), 0.287 (lung, other) and 0.233 (prostate), far above 7.7 % / < 4 % of patients.
* extent: Soloway grade 1 < 6 lesions, 2 = 6-20, 3 > 20, 4 = superscan; solitary lesions ~15 % of scans.
  [choice: the number of lesions does not depend on the primary cancer: every primary draws its grade from
  the same mix (``LesionConfig.soloway``, default 55/28/14/3 %), the primary only sets the sites.] Effect:
  a metastatic patient has 10.27 lesions on average (grade 1: 2.625, grade 2: 13, grades 3-4: 30.5, capped
  at ``max_lesions`` 40), whatever the primary; physics.md's mean *involved sites* per patient is breast
  5.7, prostate 4.8, colon 3.3, lung 3.0 (sites, not lesions, but the phantom also has no order between
  primaries). Solitary lesions: 0.75 x 0.55 x 0.35 = 14.4 % of scans.
* contrast ``c`` log-uniform ~1.2-8; size log-uniform ~5-60 mm. ``c`` scales the bone's *excess* over soft
  tissue, not the voxel: a bone voxel holds ``1 + B`` (soft tissue 1 plus bone excess ``B``, see
  :class:`~scintiseg.phantom.config.AnatomyConfig`), the lesion adds ``(c - 1) B``, so the delivered
  lesion / normal-bone voxel ratio is ``(1 + c B) / (1 + B)``, below ``c``: for a rib at ``bone_to_soft`` 8
  (``B`` = 8 x 0.65 = 5.2) 6.87 for ``c`` = 8 and 1.17 for ``c`` = 1.2.

Shapes follow the bone: a whole vertebral body, a focal or irregular blob in a vertebral body or pedicle,
a segment of a rib along its path, a blob (smooth, randomly lobulated radius) elsewhere. Every lesion is
the *intersection* of its shape with its bone's voxels, so no lesion activity lies outside bone. In a
voxel the lesion's share of the bone is ``min(w, occupancy) / occupancy`` where ``w`` is the fraction of the
voxel inside the lesion shape (exact partial volume along depth for spheres); its excess activity is
``(contrast - 1) x normal bone activity x share``, where "normal bone activity" is the bone's excess over soft
tissue (the block's activity; the soft tissue's 1 under it is not scaled).

Domain randomisation (phantom v2, issue 13; each off at its default of 0). Their draws come from a
separate generator (``v2_rng``), so switching one on changes only what it randomises (the same lesions
at the same places, one of them cold, say) and the default profile's patients are unchanged:

* **elongated** (``p_elongated``): outside the spine and ribs, an ellipsoid of length ``size`` and
  width ``size / elongation`` along the bone's axis (its path where it has one, else a random direction
  in the coronal plane): a lesion spreading along a long bone's medulla or a pelvic rim.
* **heterogeneous** (``p_heterogeneous``): the excess is multiplied by a smooth log-normal texture
  (a Gaussian random field of correlation length ``size / 4``, relative sigma ``heterogeneity``, mean 1)
  and a taper ``1 - 0.6 (r / R)^2`` to the edge: uneven uptake inside the lesion and an ill-defined
  border (diffuse lesions).
* **cold** (``p_cold``): contrast from ``cold_contrast`` (< 1): the "excess" is negative, a deficit of
  up to ``(1 - contrast)`` x the bone's activity; it never takes a voxel below zero activity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from scintiseg.errors import ScintisegError
from scintiseg.phantom.anatomy import Anatomy, Bone
from scintiseg.phantom.config import LesionConfig
from scintiseg.phantom.primitives import Block, Grid
from scintiseg.phantom.sites import EXTRA_SITE_GROUPS, PROXIMAL_FRACTION, PROXIMAL_GROUPS, SITE_WEIGHTS, unknown_site_groups

#: Bones of the axial skeleton whose uptake a superscan raises.
AXIAL_PREFIXES = ("skull", "C", "T", "L", "sacrum", "rib", "sternum", "hip", "clavicle", "scapula", "femur", "humerus")
EDGE_MM = 2.0


@dataclass
class Lesion:
    """One metastasis: where it is, how it looks, and its excess activity in 3-D."""

    lesion_id: int
    bone: str
    region: str
    site: str
    shape: str
    contrast: float
    size_mm: float
    centre_mm: tuple[float, float, float]
    block: Block
    extra: dict = field(default_factory=dict)
    #: Bone inside the lesion per voxel of ``block`` (fraction of the voxel: ``min(w, occupancy)``, the share of
    #: :func:`excess_block` times the bone's occupancy); the patient's 3-D mass-fraction BSI sums it
    #: (``scintiseg.phantom.patient.mass_bsi``). None for a lesion made without it.
    involved: np.ndarray | None = field(default=None, repr=False)

    @property
    def cold(self) -> bool:
        """A photopenic lesion (uptake below normal bone)."""
        return self.contrast < 1.0

    def metadata(self) -> dict:
        return {
            "id": self.lesion_id, "bone": self.bone, "region": self.region, "site": self.site, "shape": self.shape,
            "contrast": round(self.contrast, 4), "size_mm": round(self.size_mm, 2),
            "centre_mm": [round(float(v), 2) for v in self.centre_mm], **self.extra,
        }


@dataclass
class Disease:
    """Patient-level extent of disease."""

    soloway: int
    n_lesions: int
    primary: str
    superscan: bool


def log_uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    lo, hi = lo_hi
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def sample_disease(rng: np.random.Generator, cfg: LesionConfig) -> Disease:
    """Soloway grade (0 = no metastasis), number of lesions, primary cancer.

    [choice] The grade (hence the number of lesions) is drawn from ``cfg.soloway`` whatever the primary: the
    primary sets only the sites (:func:`place_lesions`). Default mix: 10.27 lesions per metastatic patient on
    average for every primary (module docstring).
    """
    primaries = list(cfg.primaries)
    weights = np.asarray([cfg.primaries[p] for p in primaries], float)
    primary = str(primaries[int(rng.choice(len(primaries), p=weights / weights.sum()))])
    if rng.random() < cfg.p_normal:
        return Disease(0, 0, primary, False)
    grades = sorted(cfg.soloway)
    gw = np.asarray([cfg.soloway[g] for g in grades], float)
    grade = int(grades[int(rng.choice(len(grades), p=gw / gw.sum()))])
    if grade == 1:
        n = 1 if rng.random() < cfg.p_solitary else int(rng.integers(2, 6))
    elif grade == 2:
        n = int(rng.integers(6, 21))
    else:
        n = int(rng.integers(21, max(22, cfg.max_lesions + 1)))
    return Disease(grade, min(n, cfg.max_lesions), primary, grade == 4)


def _choose_bone(anatomy: Anatomy, group: str, rng: np.random.Generator) -> Bone | None:
    names = [b.name for b in anatomy.bones]
    side = "left" if rng.random() < 0.5 else "right"
    if group.endswith("_spine"):
        prefix = {"cervical_spine": "C", "thoracic_spine": "T", "lumbar_spine": "L"}[group]
        options = [n for n in names if n[0] == prefix and n[1:].isdigit()]
    elif group == "ribs":
        k = int(np.clip(rng.normal(6.5, 2.8), 1, 12))
        options = [f"rib_{side}_{k}"]
    elif group == "pelvis":
        options = [f"hip_{side}"]
    elif group in ("femur", "humerus", "scapula", "clavicle") + EXTRA_SITE_GROUPS:
        options = [f"{group}_{side}"]
    else:
        options = [group]
    options = [n for n in options if n in names]
    if not options:
        return None
    return anatomy.bone(str(options[int(rng.integers(len(options)))]))


def _random_voxel_centre(bone: Bone, grid: Grid, rng: np.random.Generator, proximal: bool = False) -> np.ndarray:
    occ = bone.block.occupancy
    candidates = np.argwhere(occ > 0.5 * occ.max())
    if proximal:  # proximal third of a long bone: the top rows of its box
        rows = candidates[:, 1]
        candidates = candidates[rows <= rows.min() + PROXIMAL_FRACTION * (rows.max() - rows.min())]
    d, z, x = candidates[int(rng.integers(len(candidates)))]
    y_c, z_c, x_c = bone.block.centres(grid)
    return np.array([float(z_c[0, z, 0]), float(x_c[0, 0, x]), float(y_c[d, 0, 0])])


def point_on_path(path: np.ndarray, t: float) -> np.ndarray:
    seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    target = t * cum[-1]
    i = int(np.clip(np.searchsorted(cum, target) - 1, 0, len(seg) - 1))
    frac = (target - cum[i]) / max(seg[i], 1e-9)
    return path[i] + frac * (path[i + 1] - path[i])


def lobulated_radius(radius: float, angle: np.ndarray, rng: np.random.Generator, lobes: float) -> np.ndarray:
    """Radius of a lobulated outline at each polar ``angle`` (radians) around the lesion centre.

    Three smooth lobes (orders 2, 3 and 5, random amplitude and phase; the amplitude of order ``k`` is
    ``lobes x U(0.3, 1) / k``) modulate ``radius``: ``lobes`` 0.1 gives a nearly round focal lesion,
    0.35 an irregular one. Draws six numbers from ``rng``. Used by :func:`sphere_weight` and by the hybrid
    lesions of :mod:`scintiseg.phantom.hybrid`.
    """
    r = np.full(np.shape(angle), radius, dtype=np.float32)
    for k in (2, 3, 5):
        r = r * (1.0 + lobes * rng.uniform(0.3, 1.0) / k * np.cos(k * angle + rng.uniform(0, 2 * np.pi)))
    return r


def sphere_weight(bone: Bone, grid: Grid, centre, radius: float, rng: np.random.Generator | None = None, lobes: float = 0.0) -> np.ndarray:
    """Fraction of each voxel of ``bone``'s block inside a (lobulated) sphere; exact along depth for a sphere.

    ``lobes`` (0-0.4) modulates the radius with three random smooth lobes (irregular lesions).
    """
    y, z, x = bone.block.centres(grid)
    dz, dx = z - centre[0], x - centre[1]
    rho2 = dz * dz + dx * dx
    if lobes > 0 and rng is not None:
        r = lobulated_radius(radius, np.arctan2(dz, dx), rng, lobes)
    else:
        r = np.full(rho2.shape, radius, dtype=np.float32)
    half = np.sqrt(np.clip(r * r - rho2, 0.0, None))
    top = np.minimum(centre[2] + half, y + grid.depth_mm / 2)
    bottom = np.maximum(centre[2] - half, y - grid.depth_mm / 2)
    return np.clip((top - bottom) / grid.depth_mm, 0.0, 1.0) * (rho2 <= r * r)


def excess_block(bone: Bone, weight: np.ndarray, contrast: float, gain: np.ndarray | None = None) -> Block | None:
    """Excess activity of a lesion (or look-alike) covering ``weight`` of each voxel of ``bone``, cropped.

    Args:
        bone: the bone the lesion sits in.
        weight: fraction of each voxel of the bone's block inside the lesion shape.
        contrast: ``c``, the factor on the bone's excess over soft tissue: the excess added is ``(c - 1)`` x the
            bone's activity, so a fully covered voxel goes from ``1 + B`` to ``1 + c B`` (a lesion / bone voxel
            ratio of ``(1 + c B) / (1 + B)``, module docstring); below 1 the excess is a deficit (a cold lesion).
        gain: optional per-voxel factor on the excess (uneven uptake inside the lesion); a deficit is
            limited to the bone's own activity.
    """
    occ, act = bone.block.occupancy, bone.block.activity
    share = np.divide(np.minimum(weight, occ), occ, out=np.zeros_like(occ), where=occ > 0)
    excess = (np.float32(contrast - 1.0) * act * share).astype(np.float32)
    if gain is not None:
        excess *= gain.astype(np.float32)
        if contrast < 1.0:
            np.maximum(excess, -act * share, out=excess)
    magnitude = np.abs(excess)
    top = magnitude.max()
    nz = np.nonzero(magnitude > top * 1e-3) if top > 0 else None
    if nz is None or len(nz[0]) == 0:
        return None
    lo = [int(a.min()) for a in nz]
    hi = [int(a.max()) + 1 for a in nz]
    crop = tuple(slice(a, b) for a, b in zip(lo, hi))
    d0, z0, x0 = bone.block.start
    return Block((d0 + lo[0], z0 + lo[1], x0 + lo[2]), (share[crop] > 0).astype(np.float32) * occ[crop], excess[crop])


def vertebral_body_weight(bone: Bone, grid: Grid, band: tuple[float, float] | None = None) -> np.ndarray:
    """Fraction of each voxel inside the vertebral body cylinder (optionally only rows ``band`` mm from its centre)."""
    body = bone.body
    cz, cx, cy = body["centre"]
    r, hh = body["radius"], body["half_height"]
    y, z, x = bone.block.centres(grid)
    dx = x - cx
    half = np.sqrt(np.clip(r * r - dx * dx, 0.0, None))
    top = np.minimum(cy + half, y + grid.depth_mm / 2)
    bottom = np.maximum(cy - half, y - grid.depth_mm / 2)
    w = np.clip((top - bottom) / grid.depth_mm, 0.0, 1.0)
    dz = z - cz
    lo, hi = (-hh, hh) if band is None else band
    return w * ((dz >= lo - grid.row_mm / 2) & (dz <= hi + grid.row_mm / 2))


def path_segment_weight(bone: Bone, grid: Grid, centre, half_length: float) -> np.ndarray:
    """Voxels of a thin bone (rib) within ``half_length`` mm of ``centre``: a segment along the bone."""
    y, z, x = bone.block.centres(grid)
    dy = np.maximum(np.abs(y - centre[2]) - grid.depth_mm / 2, 0.0)
    d = np.sqrt((z - centre[0]) ** 2 + (x - centre[1]) ** 2 + dy**2)
    return np.clip((half_length - d) / EDGE_MM + 0.5, 0.0, 1.0)


def ellipsoid_weight(bone: Bone, grid: Grid, centre, half_length: float, half_width: float, direction) -> np.ndarray:
    """Fraction of each voxel of ``bone``'s block inside an ellipsoid stretched along a coronal ``direction``.

    The ellipsoid has semi-axis ``half_length`` along ``direction`` (a (dz, dx) vector in the image plane)
    and ``half_width`` across it and along depth; the fraction is exact along depth, as in :func:`sphere_weight`.
    """
    y, z, x = bone.block.centres(grid)
    uz, ux = np.asarray(direction, float) / max(float(np.hypot(*direction)), 1e-9)
    dz, dx = z - centre[0], x - centre[1]
    along, across = dz * uz + dx * ux, -dz * ux + dx * uz
    inside = 1.0 - (along / half_length) ** 2 - (across / half_width) ** 2
    half = half_width * np.sqrt(np.clip(inside, 0.0, None))
    top = np.minimum(centre[2] + half, y + grid.depth_mm / 2)
    bottom = np.maximum(centre[2] - half, y - grid.depth_mm / 2)
    return np.clip((top - bottom) / grid.depth_mm, 0.0, 1.0) * (inside >= 0)


def _bone_direction(bone: Bone, centre, rng: np.random.Generator) -> np.ndarray:
    """The coronal (dz, dx) direction of ``bone``'s axis nearest ``centre``; a random one for bones without a path."""
    if bone.path is not None and len(bone.path) >= 2:
        path = np.asarray(bone.path, float)
        mids = (path[1:] + path[:-1]) / 2
        i = int(np.argmin(np.linalg.norm(mids[:, :2] - np.asarray(centre[:2], float), axis=1)))
        step = path[i + 1, :2] - path[i, :2]
        if np.hypot(*step) > 1e-6:
            return step
    angle = rng.uniform(0.0, np.pi)
    return np.array([np.cos(angle), np.sin(angle)])


def uneven_uptake(weight: np.ndarray, bone: Bone, grid: Grid, centre, size: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """A per-voxel gain for uneven uptake inside a lesion: a smooth log-normal texture times an edge taper.

    The texture is white noise smoothed by a Gaussian of ``size / 4`` mm (per axis, in voxels), centred and
    scaled to unit standard deviation over the lesion's box, ``z`` (clipped to +-3), then ``exp(sigma z - sigma^2 / 2)`` (mean 1); the taper is
    ``1 - 0.6 min(r / R, 1)^2`` with ``r`` the distance to ``centre`` and ``R = size / 2`` (a diffuse edge).
    Only the lesion's bounding box draws noise, so the cost follows the lesion, not the bone.
    """
    gain = np.ones(weight.shape, dtype=np.float32)
    nz = np.nonzero(weight > 0)
    if len(nz[0]) == 0:
        return gain
    box = tuple(slice(int(a.min()), int(a.max()) + 1) for a in nz)
    spacing = (grid.depth_mm, grid.row_mm, grid.col_mm)
    noise = rng.standard_normal(tuple(b.stop - b.start for b in box))
    field_ = ndimage.gaussian_filter(noise, [max(size / 4.0 / h, 0.5) for h in spacing], mode="reflect")
    field_ -= field_.mean()  # centred and scaled per lesion: its mean contrast stays the drawn one
    std = float(field_.std())
    field_ = np.clip(field_ / std, -3.0, 3.0) if std > 1e-6 else np.zeros_like(field_)  # a one-voxel lesion: flat
    y, z, x = bone.block.centres(grid)
    r = np.sqrt((z - centre[0]) ** 2 + (x - centre[1]) ** 2 + (y - centre[2]) ** 2)[box]
    taper = 1.0 - 0.6 * np.minimum(r / max(size / 2.0, 1e-6), 1.0) ** 2
    gain[box] = (np.exp(sigma * field_ - sigma * sigma / 2.0) * taper).astype(np.float32)
    return gain


def make_lesion(lesion_id: int, bone: Bone, anatomy: Anatomy, rng: np.random.Generator, cfg: LesionConfig, site: str,
                v2_rng: np.random.Generator | None = None) -> Lesion | None:
    """Place one lesion of a random contrast, size and bone-following shape in ``bone``.

    ``v2_rng`` draws the phantom-v2 randomisers (cold, elongated, heterogeneous; ``rng`` when None).
    """
    grid = anatomy.grid
    v2 = rng if v2_rng is None else v2_rng
    contrast = log_uniform(rng, cfg.contrast)
    if cfg.p_cold > 0 and v2.random() < cfg.p_cold:
        contrast = log_uniform(v2, cfg.cold_contrast)
    size = log_uniform(rng, cfg.size_mm)
    extra: dict = {"cold": True} if contrast < 1.0 else {}
    if bone.body is not None:  # vertebra
        r, hh = bone.body["radius"], bone.body["half_height"]
        cz, cx, cy = bone.body["centre"]
        u = rng.random()
        if u < 0.3:
            shape, weight = "vertebral_body", vertebral_body_weight(bone, grid)
            size, centre = 2.0 * max(r, hh), np.array([cz, cx, cy])
        elif u < 0.8:
            size = min(size, 2.0 * r)
            centre = np.array([cz + rng.uniform(-hh, hh) * 0.6, cx + rng.uniform(-r, r) * 0.6, cy])
            shape, weight = "focal", sphere_weight(bone, grid, centre, size / 2, rng, lobes=0.2)
        else:
            side = 1 if rng.random() < 0.5 else -1
            size = min(size, 18.0)
            centre = np.array([cz, cx + side * 0.75 * r, cy + 0.8 * r])
            shape, weight = "pedicle", sphere_weight(bone, grid, centre, max(size / 2, 4.0))
    elif bone.name.startswith("rib") and bone.path is not None:
        centre = point_on_path(bone.path, float(rng.uniform(0.08, 0.95)))
        shape, weight = "rib_segment", path_segment_weight(bone, grid, centre, size / 2)
    else:
        proximal = bone.name.startswith(PROXIMAL_GROUPS)
        centre = _random_voxel_centre(bone, grid, rng, proximal=proximal)
        irregular = rng.random() < 0.5
        shape = "irregular" if irregular else "focal"
        weight = sphere_weight(bone, grid, centre, size / 2, rng, lobes=0.35 if irregular else 0.1)
        if cfg.p_elongated > 0 and v2.random() < cfg.p_elongated:
            aspect = float(v2.uniform(*cfg.elongation))
            direction = _bone_direction(bone, centre, v2)
            shape, weight = "elongated", ellipsoid_weight(bone, grid, centre, size / 2, size / 2 / aspect, direction)
            extra["elongation"] = round(aspect, 2)
    gain = None
    if cfg.p_heterogeneous > 0 and v2.random() < cfg.p_heterogeneous:
        sigma = float(v2.uniform(*cfg.heterogeneity))
        gain = uneven_uptake(weight, bone, grid, centre, size, sigma, v2)
        extra["heterogeneity"] = round(sigma, 2)
    block = excess_block(bone, weight, contrast, gain)
    if block is None:
        return None
    crop = tuple(slice(a - b, a - b + n) for a, b, n in zip(block.start, bone.block.start, block.activity.shape))
    involved = np.minimum(weight[crop], bone.block.occupancy[crop]).astype(np.float32)
    return Lesion(lesion_id, bone.name, bone.region, site, shape, contrast, size, tuple(float(v) for v in centre), block, extra,
                  involved)


def site_weights(primary: str, extra: dict[str, float]) -> dict[str, float]:
    """The site-group weights of ``primary`` (:data:`SITE_WEIGHTS`, ``other`` for an unknown primary) with the
    ``extra`` groups' weights added after them (``LesionConfig.extra_sites``: :data:`EXTRA_SITE_GROUPS` or a group
    of the tables); empty ``extra`` gives the table itself, so the draws of every profile without it are
    unchanged."""
    weights = dict(SITE_WEIGHTS.get(primary, SITE_WEIGHTS["other"]))
    unknown_site_groups("extra_sites", extra)
    for group, weight in extra.items():
        weights[group] = weights.get(group, 0.0) + float(weight)
    return weights


def site_probabilities(weights: dict[str, float], boost: dict[str, float]) -> np.ndarray:
    """The draw probabilities of ``weights``' site groups (in their order) with each multiplied by its
    ``boost`` factor (absent: 1); an unknown site group in ``boost`` is an error."""
    unknown_site_groups("site_boost", boost)
    probs = np.asarray([weights[g] * float(boost.get(g, 1.0)) for g in weights], float)
    if probs.sum() <= 0:
        raise ScintisegError("site_boost leaves no site with a positive weight")
    return probs / probs.sum()


def place_lesions(anatomy: Anatomy, disease: Disease, rng: np.random.Generator, cfg: LesionConfig,
                  v2_rng: np.random.Generator | None = None) -> list[Lesion]:
    """Draw ``disease.n_lesions`` lesions at sites weighted by the primary cancer (with ``cfg.extra_sites``), times
    ``cfg.site_boost`` (``v2_rng``: see :func:`make_lesion`)."""
    weights = site_weights(disease.primary, cfg.extra_sites)
    groups = list(weights)
    probs = site_probabilities(weights, cfg.site_boost)
    lesions: list[Lesion] = []
    attempts = 0
    while len(lesions) < disease.n_lesions and attempts < 4 * disease.n_lesions + 10:
        attempts += 1
        group = str(groups[int(rng.choice(len(groups), p=probs))])
        bone = _choose_bone(anatomy, group, rng)
        if bone is None:
            continue
        lesion = make_lesion(len(lesions) + 1, bone, anatomy, rng, cfg, group, v2_rng)
        if lesion is not None:
            lesions.append(lesion)
    return lesions


def apply_superscan(anatomy: Anatomy, rng: np.random.Generator, cfg: LesionConfig) -> float:
    """Raise axial-skeleton uptake diffusely (a superscan); returns the factor. The diffuse part is not labelled."""
    boost = log_uniform(rng, cfg.superscan_boost)
    for bone in anatomy.bones:
        if bone.name.startswith(AXIAL_PREFIXES) and bone.block.activity is not None:
            bone.block.activity *= np.float32(boost)
    return boost
