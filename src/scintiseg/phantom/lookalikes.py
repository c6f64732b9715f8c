"""Benign hot spots that are NOT lesions: the hard negatives a model must learn to ignore.

From ``../shared/reference/physics.md`` ("Benign look-alikes"): degenerative change (knees, shoulders,
base of thumb, lumbar facets, hips), vertebral end plates, fractures (a linear horizontal band across a
vertebral body; aligned foci on consecutive ribs), the injection site (paravenous, with or without an
axillary node), urine contamination on the skin of the pelvis or thighs, dental / maxillary uptake and a
hot manubriosternal junction. They go into the activity map like lesions but never into the masks.

Frequencies are [E]: degenerative foci are Poisson with a mean that grows with age
(``degenerative_base + degenerative_per_decade * (age - 40) / 10``); the others have fixed probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scintiseg.phantom.anatomy import Anatomy
from scintiseg.phantom.config import AnatomyConfig, LookalikeConfig
from scintiseg.phantom.lesions import excess_block, log_uniform, path_segment_weight, sphere_weight, vertebral_body_weight
from scintiseg.phantom.primitives import Block, Capsule, Ellipsoid, rasterise


@dataclass
class Lookalike:
    """One benign hot spot: what it is, where, and its excess activity."""

    kind: str
    site: str
    contrast: float
    size_mm: float
    centre_mm: tuple[float, float, float]
    block: Block

    def metadata(self) -> dict:
        return {"kind": self.kind, "site": self.site, "contrast": round(self.contrast, 3),
                "size_mm": round(self.size_mm, 1), "centre_mm": [round(float(v), 1) for v in self.centre_mm]}


def _side(rng: np.random.Generator) -> str:
    return "left" if rng.random() < 0.5 else "right"


def _bone_focus(anatomy: Anatomy, kind: str, bone_name: str, centre, radius: float, contrast: float) -> Lookalike | None:
    try:
        bone = anatomy.bone(bone_name)
    except KeyError:
        return None
    block = excess_block(bone, sphere_weight(bone, anatomy.grid, centre, radius), contrast)
    if block is None:
        return None
    return Lookalike(kind, bone_name, contrast, 2 * radius, tuple(float(v) for v in centre), block)


def _degenerative(anatomy: Anatomy, rng: np.random.Generator, contrast: float) -> Lookalike | None:
    lm = anatomy.landmarks
    s = anatomy.body.height_mm / 1750.0
    side = _side(rng)
    medial = 1.0 if side == "right" else -1.0  # towards the midline in x
    radius = float(rng.uniform(6.0, 13.0)) * s
    site = str(rng.choice(["knee", "knee", "shoulder", "thumb", "lumbar", "hip"]))
    if site == "knee":
        kz, kx, ky = lm[f"knee_{side}"]
        bone = f"femur_{side}" if rng.random() < 0.5 else f"tibia_{side}"
        dz = -12.0 * s if bone.startswith("femur") else 16.0 * s
        return _bone_focus(anatomy, "degenerative_knee", bone, (kz + dz, kx + medial * 22.0 * s, ky), radius, contrast)
    if site == "shoulder":
        bone = anatomy.bone(f"clavicle_{side}")
        end = bone.path[-1]
        return _bone_focus(anatomy, "degenerative_shoulder", bone.name, end, radius, contrast)
    if site == "thumb":
        return _bone_focus(anatomy, "degenerative_thumb", f"hand_{side}", lm[f"thumb_{side}"], radius * 0.8, contrast)
    if site == "lumbar":
        name = str(rng.choice(["L3", "L4", "L5"]))
        cz, cx, cy = lm[name]
        r = lm[name + "_radius"][0]
        return _bone_focus(anatomy, "degenerative_lumbar", name, (cz + rng.uniform(-8, 8), cx - medial * 0.9 * r, cy + 0.3 * r), radius, contrast)
    hz, hx, hy = lm[f"hip_{side}"]
    return _bone_focus(anatomy, "degenerative_hip", f"hip_{side}", (hz - 24.0 * s, hx, hy), radius, contrast)


def _endplate(anatomy: Anatomy, rng: np.random.Generator, contrast: float) -> Lookalike | None:
    name = str(rng.choice(["T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5"]))
    bone = anatomy.bone(name)
    hh = bone.body["half_height"]
    top = rng.random() < 0.5
    band = (-hh, -hh + 3.5) if top else (hh - 3.5, hh)
    block = excess_block(bone, vertebral_body_weight(bone, anatomy.grid, band), contrast)
    if block is None:
        return None
    cz, cx, cy = bone.body["centre"]
    return Lookalike("endplate", name, contrast, 2 * bone.body["radius"], (cz + (band[0] + band[1]) / 2, cx, cy), block)


def _fractures(anatomy: Anatomy, rng: np.random.Generator) -> list[Lookalike]:
    contrast = log_uniform(rng, (2.0, 4.0))
    if rng.random() < 0.5:
        name = str(rng.choice(["T8", "T10", "T11", "T12", "L1", "L2", "L3"]))
        bone = anatomy.bone(name)
        offset = rng.uniform(-0.3, 0.3) * bone.body["half_height"]
        block = excess_block(bone, vertebral_body_weight(bone, anatomy.grid, (offset - 2.5, offset + 2.5)), contrast)
        cz, cx, cy = bone.body["centre"]
        return [] if block is None else [Lookalike("fracture_vertebral_linear", name, contrast, 2 * bone.body["radius"], (cz + offset, cx, cy), block)]
    side = _side(rng)
    first = int(rng.integers(4, 9))
    count = int(rng.integers(2, 5))
    t = float(rng.uniform(0.3, 0.75))
    out = []
    for k in range(first, min(first + count, 13)):
        bone = anatomy.bone(f"rib_{side}_{k}")
        seg = np.linalg.norm(np.diff(bone.path, axis=0), axis=1)
        target = t * seg.sum()
        i = int(np.clip(np.searchsorted(np.cumsum(seg), target), 0, len(seg) - 1))
        centre = bone.path[i + 1]
        block = excess_block(bone, path_segment_weight(bone, anatomy.grid, centre, 5.0), contrast)
        if block is not None:
            out.append(Lookalike("fracture_rib_aligned", bone.name, contrast, 10.0, tuple(float(v) for v in centre), block))
    return out


def _soft_source(anatomy: Anatomy, kind: str, site: str, primitive, concentration: float, size: float) -> Lookalike | None:
    block = rasterise([(primitive, concentration)], anatomy.grid)
    if block is None:
        return None
    centre = primitive.centre if isinstance(primitive, Ellipsoid) else primitive.a
    return Lookalike(kind, site, concentration, size, tuple(float(v) for v in centre), block)


def sample_lookalikes(anatomy: Anatomy, rng: np.random.Generator, cfg: LookalikeConfig, anatomy_cfg: AnatomyConfig) -> list[Lookalike]:
    """Draw the patient's benign hot spots (bone and soft tissue)."""
    out: list[Lookalike] = []
    lm = anatomy.landmarks
    s = anatomy.body.height_mm / 1750.0
    rate = cfg.degenerative_base + cfg.degenerative_per_decade * max(anatomy.body.age - 40.0, 0.0) / 10.0
    for _ in range(int(rng.poisson(rate))):
        item = _degenerative(anatomy, rng, log_uniform(rng, cfg.contrast))
        if item is not None:
            out.append(item)
    if rng.random() < cfg.p_endplate:
        item = _endplate(anatomy, rng, log_uniform(rng, cfg.contrast))
        if item is not None:
            out.append(item)
    if rng.random() < cfg.p_fracture:
        out += _fractures(anatomy, rng)
    if rng.random() < cfg.p_dental:
        chin = lm["chin"]
        side = 1 if rng.random() < 0.5 else -1
        item = _bone_focus(anatomy, "dental", "mandible", (chin[0] - 12.0 * s, chin[1] + side * 25.0 * s, chin[2] + 15.0 * s), 8.0 * s, log_uniform(rng, cfg.contrast))
        if item is not None:
            out.append(item)
    if rng.random() < cfg.p_manubriosternal:
        item = _bone_focus(anatomy, "manubriosternal", "sternum", lm["manubriosternal"], 8.0 * s, log_uniform(rng, cfg.contrast))
        if item is not None:
            out.append(item)
    if rng.random() < anatomy_cfg.p_injection_site:
        side = _side(rng)
        if rng.random() < 0.7:
            ez, ex, ey = lm[f"elbow_{side}"]
            arm_r = lm[f"arm_radius_{side}"][0]
            centre = (ez + rng.uniform(-15, 15), ex, ey - 0.8 * arm_r)
            site = f"antecubital_{side}"
        else:
            centre = lm[f"hand_{side}"]
            site = f"hand_{side}"
        radius = float(rng.uniform(5.0, 14.0))
        item = _soft_source(anatomy, "injection_site", site, Ellipsoid(centre, (radius * 1.4, radius, radius)),
                            log_uniform(rng, (60.0, 600.0)), 2 * radius)
        if item is not None:
            out.append(item)
        if rng.random() < anatomy_cfg.p_axillary_node:
            sz, sx, sy = lm[f"shoulder_{side}"]
            node = Ellipsoid((sz + 55.0 * s, sx - (20.0 if side == "left" else -20.0) * s, sy + 10.0), (9.0, 8.0, 8.0))
            item = _soft_source(anatomy, "axillary_node", f"axilla_{side}", node, log_uniform(rng, (8.0, 40.0)), 16.0)
            if item is not None:
                out.append(item)
    if rng.random() < cfg.p_urine:
        side = _side(rng)
        tz, tx, _ = lm[f"thigh_{side}"]
        z = tz + rng.uniform(-120.0, 60.0) * s
        x = tx + rng.uniform(-40.0, 40.0)
        row = int(np.clip(z / anatomy.grid.row_mm, 0, anatomy.grid.rows - 1))
        col = int(np.clip(x / anatomy.grid.col_mm, 0, anatomy.grid.cols - 1))
        front, back = anatomy.body_front[row, col], anatomy.body_back[row, col]
        if np.isfinite(front):
            anterior = rng.random() < 0.7
            y = front + 3.0 if anterior else back - 3.0
            size = float(rng.uniform(8.0, 30.0))
            spot = Capsule((z, x, y), (z + rng.uniform(-1, 1) * size, x + rng.uniform(-1, 1) * size * 0.5, y), size / 3)
            item = _soft_source(anatomy, "urine_contamination", f"{'anterior' if anterior else 'posterior'}_thigh_{side}",
                                spot, log_uniform(rng, (30.0, 300.0)), size)
            if item is not None:
                out.append(item)
    return out
