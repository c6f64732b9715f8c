"""Benign hot spots that are NOT lesions: the hard negatives a model must learn to ignore.

From ``../shared/reference/physics.md`` ("Benign look-alikes"): degenerative change (knees, shoulders,
base of thumb, lumbar facets, hips), vertebral end plates, fractures (a linear horizontal band across a
vertebral body; aligned foci on consecutive ribs), the injection site (paravenous, with or without an
axillary node), urine contamination on the skin of the pelvis or thighs, dental / maxillary uptake and a
hot manubriosternal junction. They go into the activity map like lesions but never into the masks.

Frequencies are [E]: degenerative foci are Poisson with a mean that grows with age
(``degenerative_base + degenerative_per_decade * (age - 40) / 10``); the others have fixed probabilities.

Phantom v2 (issue 13's list of physiological and degenerative hot spots) adds, each off at probability 0
and drawn from its own generator (``v2_rng``: switching one on leaves every other hot spot, lesion and
count level of the patient as it was): costochondral junctions (the
anterior ends of 1-6 ribs, bilateral in 60 %), a hot manubrium or sternal body, sacroiliac joints (both in
60 %), spine facet joints (1-4 foci behind the lumbar or cervical bodies), feet (heel, midfoot, first MTP
joint) and old fractures (one rib focus, or a band across a long bone's shaft). Sizes are [E], a few mm
more than the joint or cortex they sit on; their contrast is the profile's look-alike ``contrast``
(old fractures 1.5-3.5, healing bone being less avid than a fresh fracture's 2-4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scintiseg.phantom.anatomy import Anatomy
from scintiseg.phantom.config import AnatomyConfig, LookalikeConfig
from scintiseg.phantom.lesions import (
    excess_block,
    log_uniform,
    path_segment_weight,
    point_on_path,
    sphere_weight,
    vertebral_body_weight,
)
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


def _path_focus(anatomy: Anatomy, kind: str, bone_name: str, t: float, half_length: float, contrast: float) -> Lookalike | None:
    """A focus ``half_length`` mm around the point at fraction ``t`` of a bone's path (a rib, a shaft)."""
    try:
        bone = anatomy.bone(bone_name)
    except KeyError:
        return None
    if bone.path is None or len(bone.path) < 2:
        return None
    centre = point_on_path(np.asarray(bone.path, float), t)
    block = excess_block(bone, path_segment_weight(bone, anatomy.grid, centre, half_length), contrast)
    if block is None:
        return None
    return Lookalike(kind, bone_name, contrast, 2 * half_length, tuple(float(v) for v in centre), block)


def _costochondral(anatomy: Anatomy, rng: np.random.Generator, contrast: float) -> list[Lookalike | None]:
    """Hot costochondral junctions: the anterior (last) end of 1-6 of the upper seven ribs, one or both sides."""
    s = anatomy.body.height_mm / 1750.0
    sides = ("left", "right") if rng.random() < 0.6 else (_side(rng),)
    ribs = sorted(int(k) for k in rng.choice(np.arange(1, 8), size=int(rng.integers(1, 7)), replace=False))
    return [_path_focus(anatomy, "costochondral", f"rib_{side}_{k}", 0.97, float(rng.uniform(5.0, 8.0)) * s,
                        contrast * float(rng.uniform(0.85, 1.15)))
            for side in sides for k in ribs]


def _sternum(anatomy: Anatomy, rng: np.random.Generator, contrast: float) -> Lookalike | None:
    """A hot manubrium (upper part of the sternum's path) or a focus in the sternal body."""
    s = anatomy.body.height_mm / 1750.0
    if rng.random() < 0.5:
        return _path_focus(anatomy, "manubrium", "sternum", float(rng.uniform(0.05, 0.25)), float(rng.uniform(10.0, 16.0)) * s, contrast)
    return _path_focus(anatomy, "sternal_body", "sternum", float(rng.uniform(0.45, 0.9)), float(rng.uniform(6.0, 12.0)) * s, contrast)


def _sacroiliac(anatomy: Anatomy, rng: np.random.Generator, contrast: float) -> list[Lookalike | None]:
    """Hot sacroiliac joints (the iliac side of the joint, else the sacral side), one or both."""
    s = anatomy.body.height_mm / 1750.0
    sides = ("left", "right") if rng.random() < 0.6 else (_side(rng),)
    out = []
    for side in sides:
        if f"sacroiliac_{side}" not in anatomy.landmarks:
            continue
        z, x, y = anatomy.landmarks[f"sacroiliac_{side}"]
        centre = (z + rng.uniform(-10.0, 10.0) * s, x, y)
        radius = float(rng.uniform(10.0, 16.0)) * s
        item = _bone_focus(anatomy, "sacroiliac", f"hip_{side}", centre, radius, contrast)
        out.append(item if item is not None else _bone_focus(anatomy, "sacroiliac", "sacrum", centre, radius, contrast))
    return out


def _facets(anatomy: Anatomy, rng: np.random.Generator, contrast: float) -> list[Lookalike | None]:
    """Degenerative facet joints: 1-4 foci behind and beside lumbar (70 %) or lower cervical vertebral bodies."""
    levels = ["L2", "L3", "L4", "L5"] if rng.random() < 0.7 else ["C3", "C4", "C5", "C6", "C7"]
    out = []
    for _ in range(int(rng.integers(1, 5))):
        name = str(rng.choice(levels))
        try:
            bone = anatomy.bone(name)
        except KeyError:
            continue
        if bone.body is None:
            continue
        cz, cx, cy = bone.body["centre"]
        r, hh = bone.body["radius"], bone.body["half_height"]
        side = 1.0 if rng.random() < 0.5 else -1.0
        centre = (cz + rng.uniform(-0.5, 0.5) * hh, cx + side * 0.8 * r, cy + 1.1 * r)
        out.append(_bone_focus(anatomy, "facet", name, centre, float(rng.uniform(5.0, 8.0)), contrast))
    return out


def _foot(anatomy: Anatomy, rng: np.random.Generator, contrast: float) -> Lookalike | None:
    """Degenerative or stress uptake in a foot: heel, midfoot or first MTP joint (fractions of the foot's path)."""
    s = anatomy.body.height_mm / 1750.0
    site, t = [("heel", 0.03), ("midfoot", 0.45), ("mtp", 0.85)][int(rng.integers(3))]
    return _path_focus(anatomy, f"foot_{site}", f"foot_{_side(rng)}", t, float(rng.uniform(6.0, 11.0)) * s, contrast)


def _old_fracture(anatomy: Anatomy, rng: np.random.Generator) -> Lookalike | None:
    """An old (healing) fracture: a focus on one rib (60 %), or a thin band across a long bone's shaft."""
    contrast = log_uniform(rng, (1.5, 3.5))
    if rng.random() < 0.6:
        bone = f"rib_{_side(rng)}_{int(rng.integers(3, 11))}"
        return _path_focus(anatomy, "old_fracture_rib", bone, float(rng.uniform(0.2, 0.85)), float(rng.uniform(4.0, 7.0)), contrast)
    bone = f"{rng.choice(['femur', 'tibia', 'humerus', 'radius'])}_{_side(rng)}"
    return _path_focus(anatomy, "old_fracture_shaft", bone, float(rng.uniform(0.3, 0.7)), float(rng.uniform(4.0, 6.0)), contrast)


def _soft_source(anatomy: Anatomy, kind: str, site: str, primitive, concentration: float, size: float) -> Lookalike | None:
    block = rasterise([(primitive, concentration)], anatomy.grid)
    if block is None:
        return None
    centre = primitive.centre if isinstance(primitive, Ellipsoid) else primitive.a
    return Lookalike(kind, site, concentration, size, tuple(float(v) for v in centre), block)


def sample_lookalikes(anatomy: Anatomy, rng: np.random.Generator, cfg: LookalikeConfig, anatomy_cfg: AnatomyConfig,
                      v2_rng: np.random.Generator | None = None) -> list[Lookalike]:
    """Draw the patient's benign hot spots (bone and soft tissue); ``v2_rng`` (``rng`` when None) the phantom-v2 ones."""
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
    out += _v2_lookalikes(anatomy, rng if v2_rng is None else v2_rng, cfg)
    return out


def _v2_lookalikes(anatomy: Anatomy, rng: np.random.Generator, cfg: LookalikeConfig) -> list[Lookalike]:
    """The phantom-v2 hot spots; each draws from ``rng`` only when its probability is above 0 (off: no draw)."""
    out: list[Lookalike | None] = []

    def happens(p: float) -> bool:
        return p > 0 and rng.random() < p

    if happens(cfg.p_costochondral):
        out += _costochondral(anatomy, rng, log_uniform(rng, cfg.contrast))
    if happens(cfg.p_sternum):
        out.append(_sternum(anatomy, rng, log_uniform(rng, cfg.contrast)))
    if happens(cfg.p_sacroiliac):
        out += _sacroiliac(anatomy, rng, log_uniform(rng, cfg.contrast))
    if happens(cfg.p_facet):
        out += _facets(anatomy, rng, log_uniform(rng, cfg.contrast))
    if happens(cfg.p_feet):
        out.append(_foot(anatomy, rng, log_uniform(rng, cfg.contrast)))
    if happens(cfg.p_old_fracture):
        out.append(_old_fracture(anatomy, rng))
    return [item for item in out if item is not None]
