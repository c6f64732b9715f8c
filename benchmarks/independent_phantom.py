"""An independent planar whole-body bone-scintigraphy phantom (99mTc-MDP, ANT and POST views).

Provenance
----------
Written from the physics and clinical facts in ``shared/reference/physics.md`` and ``realdata.md`` and
general knowledge of anatomy and gamma-camera physics, WITHOUT reading, importing or otherwise consulting
scintiseg's own phantom (``src/scintiseg/phantom``), its docs or its tests. It imports only numpy and scipy.
Its purpose is to test whether a model trained on scintiseg's phantom generalises to a phantom that was
designed separately, so every design choice below was made here, independently.

What it models
--------------
* One 3-D activity map per patient on a coarse voxel grid (4 mm in x/z, 5 mm in depth; 5 mm in x/z for
  pixels > 3.2 mm), projected to an ANT and a POST detector. Coordinates: x toward the patient's LEFT,
  y anterior (y = 0 is the table top / the patient's back), z down from the vertex.
* Anatomy is parametric and procedural: every bone is a union of anti-aliased signed-distance primitives
  (ellipsoids, super-ellipsoids, tapered capsules, thin curved plates, an ellipsoidal shell for the
  cranium). Skull (shell + maxilla), mandible, 7 C + 12 T + 5 L vertebrae (body, pedicles, laminae/spinous
  and transverse processes), sacrum (S1-S5 + coccyx), pelvis (iliac wings as oblique plates with crest rims,
  SI joints, acetabula, pubic and ischial rami), 12 rib pairs following elliptic arcs that descend
  anteriorly (ribs 1-7 end near the sternum, 8-10 shorter, 11-12 floating), sternum (manubrium, body,
  xiphoid), S-shaped clavicles, scapulae (triangular plate, spine, acromion, glenoid, coracoid), humeri,
  radius + ulna (pronation varied), carpals / metacarpals / phalanges, femora (head, neck, trochanters,
  shaft, condyles, patella), tibiae + fibulae, and plantar-flexed feet (supine, toes up). Landmark heights are
  anthropometric fractions of the height H (155-190 cm by sex); widths scale with a frame factor and sex.
* Soft tissue: torso as elliptic cross-sections interpolated between skeleton-derived control levels, plus
  subcutaneous / abdominal fat from a habitus factor; head, neck, arms, legs and feet as ellipsoids and
  tapered capsules; lungs (low density, low activity), heart blood pool, liver, kidneys, bladder (variable
  fill and concentration), optional breasts (attenuation).
* Physics: attenuation along each ray to its detector with mu_water = 0.154 /cm and bone excess
  (cortical 0.29 /cm, trabecular 0.20 /cm, lung 0.3 x water), a carbon table for POST (92-97 %
  transmission), depth-dependent collimator blur FWHM(r) = sqrt((a r + b)^2 + c^2) with a = d/(L - 2/mu_Pb),
  b = d (hole diameter d 1.3-1.7 mm, length L 30-38 mm, mu_Pb 26.9 /cm) and intrinsic c 3.4-4.2 mm (about
  7 mm at 10 cm as in physics.md), applied per 25 mm depth slab, a smooth scatter term, count scaling and
  Poisson noise. POST is as acquired (mirrored with respect to ANT).

Choices made here where physics.md is silent
--------------------------------------------
* Uptake (concentration per unit bone volume, vertebral body = 1): skull vault 0.5 (skull base 0.55),
  face 0.6, mandible 0.6, C/T/L spine 0.95/1.0/1.05 (posterior arch 0.85 x), sacrum 1.0, SI joints ~1.45,
  pelvis 0.95 (wing 0.85, acetabulum ~1.15), ribs 0.62, sternum 0.85, clavicle 0.7, scapula 0.7
  (glenoid/acromion ~0.95), humeral shaft 0.55 (head ~0.7), forearm 0.5 (distal radius ~0.6), carpals ~0.55,
  hand 0.65, femoral shaft 0.55 (head ~0.7, trochanter ~0.7), tibial shaft 0.5, fibula 0.45, feet 0.75.
  Large trabecular epiphyses (distal femur, tibial plateau, ankle, tarsals) get a LOWER concentration than the
  shaft (0.6-0.95 x) because their projected thickness already makes the knees/ankles hot. "~" values are
  scaled by a per-patient joint/epiphysis factor 0.85-1.4 applied to the joint excess. Per patient: each
  region x lognormal(0, 0.1), left/right asymmetry up to 5 % (handedness), per-vertebra and per-rib jitter
  (5-7 %), and a smooth multiplicative texture (+-8 %) on all bone.
* Soft tissue concentration (relative to the vertebral body) log-uniform 0.045-0.11, calibrated against NM1
  at NM1's spacing and counts (seeds 0-5): body median 24-32 counts / pixel (NM1 28), p90 / median 1.8-2.3
  (NM1 2.1), p99 / median 3.4-8.4 (NM1 4.2; bladder and lesions drive the top end), i.e. soft tissue clearly visible and bone about 2-4 x the surrounding soft
  tissue; lungs 0.35 x, heart 1.8 x, liver 1.15 x soft tissue; kidneys 2.5-8 x soft tissue; bladder
  1.5-8 x vertebral bone, fill 10-100 %, resting on the symphysis.
* Scatter: scatter-to-primary ratio 0.15-0.45, modelled as the primary blurred by a Gaussian of sigma
  35-55 mm. Counts per view: the mean of ANT and POST equals the requested total for the lesion-free
  patient (both views share one scale, so their totals differ physically); lesions add their own counts.
* Detector distances: ANT detector 20-60 mm above the most anterior torso point (flat, not contoured);
  POST detector below a 8-15 mm table with a 5-20 mm gap.
* Lesions: 1 + floor(Exp(mean 2.8)) capped at 15 (about 30 % solitary). Sites (weights): thoracic spine .20,
  lumbar .15, cervical .04, sacrum .04, ribs .20, pelvis .14, femora .06, humeri .04, skull .04,
  sternum .03, scapulae .03, clavicles .015, tibiae .005; long-bone lesions biased to the proximal third.
  Diameter 8-60 mm, log-scale skewed to small; spheres or ellipsoids (elongated along ribs), 25 % of spinal
  lesions a whole vertebral body; uptake ratio log-uniform 1.5-8 relative to the local normal bone; 10 % of
  lesions >= 20 mm have a lytic (less hot, never below normal) core. Lesion excess = (ratio - 1) x normal
  bone activity inside the lesion shape, so it is confined to bone. Lesions are drawn from their own random
  stream and added in the projection domain, with their own Poisson counts added to the lesion-free image
  (sum of independent Poissons), so (seed, True) and (seed, False) differ only by the lesions' counts.
* Look-alikes (never labelled): degenerative knee / shoulder / lower-lumbar facet foci, manubriosternal
  junction, dental/maxillary focus, base of thumb, healed rib fractures (1-3 aligned foci), an injection-site
  hot spot on one arm (sometimes with an axillary node), urine contamination on the skin over pelvis/thighs.
* Masks: a lesion's mask in a view = pixels where its noise-free projected excess (with blur) >= half its
  peak; overlaps go to the lesion with the larger excess there. ``regions``: per pixel the bone with the
  largest attenuated bone activity along the ray, where the bone path is >= 3 mm and that bone carries
  >= 35 % of the ray's bone activity. ``involved``: occupancy-weighted share of each bone's voxels covered
  by lesion shapes.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

REGION_NAMES: dict[int, str] = {
    1: "skull", 2: "mandible", 3: "cervical_spine", 4: "thoracic_spine", 5: "lumbar_spine", 6: "sacrum",
    7: "ribs_left", 8: "ribs_right", 9: "sternum", 10: "clavicle_left", 11: "clavicle_right",
    12: "scapula_left", 13: "scapula_right", 14: "humerus_left", 15: "humerus_right", 16: "forearm_left",
    17: "forearm_right", 18: "hand_left", 19: "hand_right", 20: "pelvis", 21: "femur_left", 22: "femur_right",
    23: "tibia_fibula_left", 24: "tibia_fibula_right", 25: "foot_left", 26: "foot_right",
}
REGION_IDS: dict[str, int] = {name: rid for rid, name in REGION_NAMES.items()}

MU_WATER = 0.0154  # /mm at 140 keV
MU_CORTICAL = 0.029
MU_TRABECULAR = 0.020
MU_PB = 2.69  # /mm


@dataclass
class IndependentCase:
    views: dict[str, np.ndarray]
    lesions: dict[str, np.ndarray]
    regions: dict[str, np.ndarray]
    lesion_info: list[dict]
    involved: dict[str, float]
    pixel_spacing: tuple[float, float]
    seed: int


# ----------------------------------------------------------------------------------------------- geometry
def _rot(axis_z_deg: float = 0.0, axis_x_deg: float = 0.0, axis_y_deg: float = 0.0) -> np.ndarray:
    """Rows = local axes in world coordinates (local = R @ world)."""
    a, b, c = np.radians([axis_z_deg, axis_x_deg, axis_y_deg])
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    ry = np.array([[np.cos(c), 0, np.sin(c)], [0, 1, 0], [-np.sin(c), 0, np.cos(c)]])
    return rz @ rx @ ry


def _sdf_ell(X, Y, Z, c, r, R=None, n=2.0):
    dx, dy, dz = X - c[0], Y - c[1], Z - c[2]
    if R is not None:
        u = R[0, 0] * dx + R[0, 1] * dy + R[0, 2] * dz
        v = R[1, 0] * dx + R[1, 1] * dy + R[1, 2] * dz
        w = R[2, 0] * dx + R[2, 1] * dy + R[2, 2] * dz
    else:
        u, v, w = dx, dy, dz
    if n == 2.0:
        q2 = (u / r[0]) ** 2 + (v / r[1]) ** 2 + (w / r[2]) ** 2
        q = np.sqrt(q2)
        g = np.sqrt((u / r[0] ** 2) ** 2 + (v / r[1] ** 2) ** 2 + (w / r[2] ** 2) ** 2) / np.maximum(q, 1e-6)
        return (q - 1.0) / np.maximum(g, 1e-6)
    q = (np.abs(u / r[0]) ** n + np.abs(v / r[1]) ** n + np.abs(w / r[2]) ** n) ** (1.0 / n)
    return (q - 1.0) * min(r)


def _sdf_cap(X, Y, Z, a, b, ra, rb):
    ba = np.subtract(b, a, dtype=float)
    L2 = max(float(ba @ ba), 1e-9)
    dx, dy, dz = X - a[0], Y - a[1], Z - a[2]
    t = np.clip((dx * ba[0] + dy * ba[1] + dz * ba[2]) / L2, 0.0, 1.0)
    ex, ey, ez = dx - t * ba[0], dy - t * ba[1], dz - t * ba[2]
    return np.sqrt(ex * ex + ey * ey + ez * ez) - (ra + t * (rb - ra))


def _sdf_plate(X, Y, Z, p):
    """Thin plate: 2-D shape in (x, z) (convex polygon or ellipse) and a planar y-surface."""
    if p["shape"] == "poly":
        d2 = None
        for (x0, z0, nx, nz) in p["edges"]:
            d = (X - x0) * nx + (Z - z0) * nz
            d2 = d if d2 is None else np.maximum(d2, d)
    else:
        cx, cz, ax, az = p["ell"]
        u, w = (X - cx) / ax, (Z - cz) / az
        q = np.sqrt(u * u + w * w)
        d2 = (q - 1.0) * min(ax, az)
    ys = p["y0"] + p["kx"] * (np.abs(X) - p["xr"]) + p["kz"] * (Z - p["zr"])
    dy = (np.abs(Y - ys) - p["t"] / 2.0) / np.sqrt(1.0 + p["kx"] ** 2 + p["kz"] ** 2)
    return np.maximum(d2, dy)


def _poly_edges(pts):
    pts = np.asarray(pts, float)
    cen = pts.mean(0)
    edges = []
    for i in range(len(pts)):
        a, b = pts[i], pts[(i + 1) % len(pts)]
        t = b - a
        n = np.array([t[1], -t[0]]) / np.hypot(*t)
        if (cen - a) @ n > 0:
            n = -n
        edges.append((a[0], a[1], n[0], n[1]))
    return edges


def _bbox(prim) -> tuple[np.ndarray, np.ndarray]:
    k = prim["kind"]
    if k == "ell":
        r = max(prim["r"]) + 2
        c = np.asarray(prim["c"], float)
        return c - r, c + r
    if k == "cap":
        a, b = np.asarray(prim["a"], float), np.asarray(prim["b"], float)
        r = max(prim["ra"], prim["rb"]) + 2
        return np.minimum(a, b) - r, np.maximum(a, b) + r
    if k == "shell":
        c = np.asarray(prim["c"], float)
        r = max(prim["r"]) + prim["t"] + 2
        return c - r, c + r
    if k == "plate":
        return np.asarray(prim["lo"], float), np.asarray(prim["hi"], float)
    if k == "torso":
        return np.asarray(prim["lo"], float), np.asarray(prim["hi"], float)
    raise ValueError(k)


def _sdf(prim, X, Y, Z):
    k = prim["kind"]
    if k == "ell":
        return _sdf_ell(X, Y, Z, prim["c"], prim["r"], prim.get("R"), prim.get("n", 2.0))
    if k == "cap":
        return _sdf_cap(X, Y, Z, prim["a"], prim["b"], prim["ra"], prim["rb"])
    if k == "shell":
        d = np.abs(_sdf_ell(X, Y, Z, prim["c"], prim["r"])) - prim["t"] / 2.0
        return d
    if k == "plate":
        return _sdf_plate(X, Y, Z, prim)
    if k == "torso":
        zz = Z[:, 0, 0]
        a = np.interp(zz, prim["zc"], prim["a"])[:, None, None]
        b = np.interp(zz, prim["zc"], prim["b"])[:, None, None]
        yc = np.interp(zz, prim["zc"], prim["yc"])[:, None, None]
        u, v = X / a, (Y - yc) / b
        q = np.sqrt(u * u + v * v)
        g = np.sqrt((X / a**2) ** 2 + ((Y - yc) / b**2) ** 2) / np.maximum(q, 1e-6)
        d = (q - 1.0) / np.maximum(g, 1e-6)
        return np.maximum(d, np.maximum(prim["zc"][0] - Z, Z - prim["zc"][-1]))
    raise ValueError(k)


class _Grid:
    def __init__(self, lo, hi, v, vy):
        self.v, self.vy = float(v), float(vy)
        self.x0, self.y0, self.z0 = float(lo[0]), float(lo[1]), float(lo[2])
        self.nx = int(np.ceil((hi[0] - lo[0]) / v))
        self.ny = int(np.ceil((hi[1] - lo[1]) / vy))
        self.nz = int(np.ceil((hi[2] - lo[2]) / v))
        self.x = (self.x0 + (np.arange(self.nx) + 0.5) * v).astype(np.float32)
        self.y = (self.y0 + (np.arange(self.ny) + 0.5) * vy).astype(np.float32)
        self.z = (self.z0 + (np.arange(self.nz) + 0.5) * v).astype(np.float32)
        self.shape = (self.nz, self.ny, self.nx)
        self.aa = (2 * v + vy) / 3.0  # anti-aliasing width

    def box(self, lo, hi):
        i0 = max(0, int(np.floor((lo[0] - self.x0) / self.v)))
        i1 = min(self.nx, int(np.ceil((hi[0] - self.x0) / self.v)) + 1)
        j0 = max(0, int(np.floor((lo[1] - self.y0) / self.vy)))
        j1 = min(self.ny, int(np.ceil((hi[1] - self.y0) / self.vy)) + 1)
        k0 = max(0, int(np.floor((lo[2] - self.z0) / self.v)))
        k1 = min(self.nz, int(np.ceil((hi[2] - self.z0) / self.v)) + 1)
        if i1 <= i0 or j1 <= j0 or k1 <= k0:
            return None
        sl = (slice(k0, k1), slice(j0, j1), slice(i0, i1))
        return sl, self.x[i0:i1][None, None, :], self.y[j0:j1][None, :, None], self.z[k0:k1][:, None, None]

    def occ(self, prim):
        b = self.box(*_bbox(prim))
        if b is None:
            return None, None
        sl, X, Y, Z = b
        d = _sdf(prim, X, Y, Z)
        occ = np.clip(0.5 - d / self.aa, 0.0, 1.0).astype(np.float32)
        occ = np.broadcast_to(occ, tuple(s.stop - s.start for s in sl))
        return sl, occ


# ----------------------------------------------------------------------------------------------- anatomy
BASE_UPTAKE = {
    "skull": 0.5, "face": 0.6, "mandible": 0.6, "cervical_spine": 0.95, "thoracic_spine": 1.0,
    "lumbar_spine": 1.05, "sacrum": 1.0, "ribs": 0.62, "sternum": 0.85, "clavicle": 0.7, "scapula": 0.7,
    "humerus": 0.55, "forearm": 0.5, "hand": 0.65, "pelvis": 0.95, "femur": 0.55, "tibia": 0.5, "fibula": 0.45,
    "foot": 0.75,
}


class _Patient:
    """Draws one patient's anatomy as primitive lists (bones, soft tissue, organs, look-alikes)."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.bones: list[dict] = []
        self.soft: list[dict] = []
        self.organs: list[dict] = []
        self.boosts: list[dict] = []  # benign bone foci: multiply bone activity
        self.hot_soft: list[dict] = []  # injection site, nodes, contamination: add activity
        self.vertebrae: list[dict] = []
        self.ribs: list[dict] = []
        self.longbones: list[dict] = []
        self._draw()

    # -- helpers
    def bone(self, rid, u, mu=MU_CORTICAL, **prim):
        prim.update(rid=rid, u=float(u), mu=mu)
        self.bones.append(prim)
        return prim

    def ru(self, key, side=0):
        return self.uf[key] * (1.0 + self.asym * side)

    def _draw(self):
        rng = self.rng
        self.female = rng.random() < 0.5
        H = float(np.clip(rng.normal(163, 6), 155, 178) if self.female else np.clip(rng.normal(176, 7), 162, 190))
        H *= 10.0
        self.H = H
        s = H / 1750.0
        self.s = s
        fat = float(np.clip(0.8 + rng.gamma(2.0, 0.13), 0.8, 1.7))  # habitus factor
        self.fat = fat
        tf = 6 + 28 * (fat - 0.8)  # subcutaneous fat thickness, mm
        abd = 70 * (fat - 0.8) * (0.6 if self.female else 1.0)
        frame = s * rng.uniform(0.94, 1.06)
        wsh = frame * (0.9 if self.female else 1.0)  # shoulders
        wpv = frame * (1.05 if self.female else 1.0)  # pelvis
        self.asym = rng.uniform(-0.05, 0.05)
        self.joint = rng.uniform(0.85, 1.4)
        self.uf = {k: v * float(np.exp(rng.normal(0, 0.1))) for k, v in BASE_UPTAKE.items()}

        def J(base, hot):  # joint / epiphysis uptake
            return base + (hot - base) * self.joint

        Z = lambda f: f * H  # noqa: E731
        R = REGION_IDS
        fb = 6 + 0.4 * tf  # fat over the back
        self.zlev = {}

        # ---------------- spine
        zC = np.linspace(Z(0.097), Z(0.155), 7)
        zT = np.linspace(Z(0.168), Z(0.321), 12)
        zL = np.linspace(Z(0.339), Z(0.416), 5)
        zs = np.concatenate([zC, zT, zL])
        names = [f"C{i}" for i in range(1, 8)] + [f"T{i}" for i in range(1, 13)] + [f"L{i}" for i in range(1, 6)]
        # body half-dims (x, y, z) at reference size
        ref = {0: (9, 8, 6.5), 6: (12, 9, 7), 7: (13, 10, 8), 12: (15, 13, 9.5), 18: (20, 15, 11.5),
               19: (21, 15.5, 12.5), 23: (25, 17, 13)}
        keys = sorted(ref)
        dims = np.array([[np.interp(i, keys, [ref[k][j] for k in keys]) for j in range(3)] for i in range(24)])
        dims *= s
        dims[:, 0] *= frame / s
        # y of vertebral body centres: cervical lordosis, thoracic kyphosis (flattened supine), lumbar lordosis
        yv_ref = np.concatenate([np.linspace(72, 66, 7), 60 + 6 * np.cos(np.linspace(-1.2, 1.5, 12)) - 4,
                                 np.linspace(70, 86, 5)])
        yv = yv_ref * s + np.concatenate([np.zeros(7) + 0.2 * tf, np.zeros(12) + fb, np.zeros(5) + fb + 0.25 * abd])
        for i, (nm, zc) in enumerate(zip(names, zs)):
            region = "cervical_spine" if i < 7 else ("thoracic_spine" if i < 19 else "lumbar_spine")
            rid = R[region]
            u = self.uf[region] * float(np.exp(rng.normal(0, 0.05)))
            wx, wy, wz = dims[i]
            c = (0.0, yv[i], zc)
            body = self.bone(rid, u, MU_TRABECULAR, kind="ell", c=c, r=(wx, wy, wz), n=3.5)
            yb = yv[i] - wy  # back of the body
            tp = (8 if i < 7 else (17 if i < 19 else 24)) * s
            sp = (20 if i < 7 else (32 if i < 19 else 28)) * s
            spd = (4 if i < 7 else (14 if i < 19 else 4)) * s
            ra = (3.5 if i < 7 else (4.5 if i < 19 else 5.5)) * s
            ua = u * 0.85
            for sd in (-1, 1):
                self.bone(rid, ua, kind="cap", a=(sd * 0.55 * wx, yb, zc), b=(sd * 0.6 * wx, yb - 14 * s, zc), ra=ra, rb=ra)
                self.bone(rid, ua, kind="cap", a=(sd * 0.6 * wx, yb - 12 * s, zc),
                          b=(sd * (0.6 * wx + tp), yb - 14 * s, zc - 2 * s), ra=ra * 0.9, rb=ra * 0.7)
            self.bone(rid, ua, kind="cap", a=(0, yb - 16 * s, zc), b=(0, yb - 16 * s - sp, zc + spd), ra=ra * 1.1, rb=ra)
            self.vertebrae.append(dict(name=nm, region=region, body=body, c=c, dims=(wx, wy, wz), yb=yb))
            self.zlev[nm] = zc
        yvL5, zL5 = yv[-1], zs[-1]
        yT = {nm: v for nm, v in zip(names, yv)}
        self.yT = yT

        # ---------------- sacrum and coccyx
        zS = zL5 + 30 * s
        sac = [(48, 18, 16), (40, 15, 14), (30, 12, 12), (20, 10, 10), (13, 8, 9), (7, 6, 10)]
        ys = yvL5 - 6 * s
        for k, (a_, b_, c_) in enumerate(sac):
            zz = zS + sum(2 * sac[j][2] * s * 0.92 for j in range(k))
            yy = ys - 9 * s * k + (4 * s * (k - 4) if k >= 4 else 0)
            self.bone(R["sacrum"], self.uf["sacrum"] * (1 - 0.05 * k), MU_TRABECULAR, kind="ell",
                      c=(0, yy, zz), r=(a_ * wpv, b_ * s, c_ * s), n=2.5)
        self.zlev["S1"] = zS

        # ---------------- pelvis
        zhip = Z(0.470)
        yac = yvL5 + 20 * s
        self.zlev["hip"] = zhip
        xhip = 88 * wpv
        xtro = 128 * wpv
        up = self.uf["pelvis"]
        ysi = ys - 2 * s
        for sd in (-1, 1):
            side = sd
            uu = up * (1 + self.asym * side)
            il = dict(kind="plate", shape="ell", ell=(sd * 84 * wpv, Z(0.426), 50 * wpv, 48 * s), y0=ysi + 8 * s,
                      xr=40 * wpv, kx=0.85, kz=0.25, zr=Z(0.426), t=10 * s)
            il["lo"] = (min(sd * 140 * wpv, sd * 28 * wpv), ysi - 30, Z(0.426) - 52 * s)
            il["hi"] = (max(sd * 140 * wpv, sd * 28 * wpv), ysi + 150 * s, Z(0.426) + 52 * s)
            self.bone(R["pelvis"], uu * 0.9, MU_TRABECULAR, **il)
            # iliac crest rim
            crest = [(sd * 40 * wpv, ysi, Z(0.418)), (sd * 80 * wpv, ysi + 30 * s, Z(0.400)),
                     (sd * 125 * wpv, ysi + 75 * s, Z(0.398)), (sd * 135 * wpv, ysi + 105 * s, Z(0.415)),
                     (sd * 122 * wpv, ysi + 120 * s, Z(0.437))]
            for a_, b_ in zip(crest[:-1], crest[1:]):
                self.bone(R["pelvis"], uu, kind="cap", a=a_, b=b_, ra=6 * s, rb=6 * s)
            # body of ilium down to the acetabulum
            self.bone(R["pelvis"], uu, MU_TRABECULAR, kind="cap", a=(sd * 70 * wpv, ysi + 35 * s, Z(0.44)),
                      b=(sd * 86 * wpv, yac, zhip - 12 * s), ra=20 * s, rb=22 * s)
            # SI joint (hot)
            self.bone(R["pelvis"], uu * J(1.0, 1.45), MU_TRABECULAR, kind="ell",
                      c=(sd * 40 * wpv, ysi + 2 * s, zS + 18 * s), r=(11 * s, 16 * s, 32 * s), R=_rot(sd * 12))
            # acetabulum (hot)
            self.bone(R["pelvis"], uu * J(1.0, 1.2), MU_TRABECULAR, kind="ell",
                      c=(sd * (xhip - 8 * wpv), yac, zhip - 2 * s), r=(20 * s, 26 * s, 26 * s))
            ysym = yac + 55 * s + 0.3 * abd * 0.3
            zsym = zhip + 12 * s
            ring = [(sd * (xhip - 12 * wpv), yac + 10 * s, zhip + 2 * s), (sd * 14 * wpv, ysym, zsym),
                    (sd * 14 * wpv, ysym - 8 * s, zsym + 22 * s), (sd * 52 * wpv, yac - 15 * s, zhip + 55 * s),
                    (sd * 62 * wpv, yac - 35 * s, zhip + 45 * s), (sd * (xhip - 5 * wpv), yac - 22 * s, zhip + 12 * s)]
            radii = [9, 7, 7, 11, 10, 9]
            for k in range(len(ring)):
                a_, b_ = ring[k], ring[(k + 1) % len(ring)]
                self.bone(R["pelvis"], uu, MU_TRABECULAR, kind="cap", a=a_, b=b_, ra=radii[k] * s,
                          rb=radii[(k + 1) % len(ring)] * s)
        self.ysym, self.zsym = ysym, zsym
        self.pelvis_dims = (xhip, xtro, yac)

        # ---------------- ribs
        A = np.array([55, 80, 100, 115, 125, 132, 137, 140, 140, 137, 130, 120], float) * frame
        B = np.array([45, 60, 72, 82, 90, 95, 98, 100, 100, 98, 92, 85], float) * s
        th1 = np.array([2.6, 2.5, 2.45, 2.4, 2.35, 2.3, 2.25, 2.05, 1.9, 1.75, 1.45, 1.1])
        drop = np.array([35, 50, 65, 75, 80, 85, 85, 80, 75, 60, 40, 25], float) * s
        yback = 12 * s + fb
        ur = self.uf["ribs"]
        self.rib_geom = (A, B, yback)
        for i in range(12):
            tv = f"T{i + 1}"
            zp = self.zlev[tv] - 4 * s
            yrc = yback + B[i]
            th0 = float(np.arcsin(min(30 * frame / A[i], 0.9)))
            th = np.linspace(th0, th1[i], 14)
            tt = (th - th0) / (th1[i] - th0)
            for sd, region in ((1, "ribs_left"), (-1, "ribs_right")):
                u = ur * (1 + self.asym * sd) * float(np.exp(rng.normal(0, 0.07)))
                pts = np.stack([sd * A[i] * np.sin(th), yrc - B[i] * np.cos(th),
                                zp - 10 * s * np.sin(np.pi * np.minimum(tt * 2.5, 1)) + drop[i] * tt**1.4], 1)
                neck = np.array([sd * 16 * frame, yT[tv] - 6 * s, zp])
                pts = np.vstack([neck, pts])
                rr = (6.0 if i < 2 else 5.2) * s
                for a_, b_ in zip(pts[:-1], pts[1:]):
                    self.bone(R[region], u, kind="cap", a=a_, b=b_, ra=rr, rb=rr)
                self.ribs.append(dict(region=region, index=i + 1, pts=pts, r=rr))
        # chest geometry for soft tissue
        self.chest_front = yback + 2 * B[6] * 0.97

        # ---------------- sternum
        zn = Z(0.186)
        yst = yback + B[5] * 1.93
        us = self.uf["sternum"]
        self.bone(R["sternum"], us, MU_TRABECULAR, kind="ell", c=(0, yst - 10 * s, zn + 25 * s), r=(26 * s, 7 * s, 24 * s), n=2.5)
        self.bone(R["sternum"], us, MU_TRABECULAR, kind="ell", c=(0, yst - 4 * s, zn + 82 * s), r=(15 * s, 6.5 * s, 32 * s), n=2.5)
        self.bone(R["sternum"], us, MU_TRABECULAR, kind="ell", c=(0, yst + 2 * s, zn + 138 * s), r=(14 * s, 6 * s, 26 * s), n=2.5)
        self.bone(R["sternum"], us * 0.8, kind="ell", c=(0, yst + 6 * s, zn + 175 * s), r=(8 * s, 4 * s, 12 * s))
        self.zlev["notch"] = zn
        self.yst = yst

        # ---------------- shoulder girdle and arms
        zsh = Z(0.19)
        xhh = 172 * wsh
        yhh = 62 * s + 0.5 * fb
        self.zlev["shoulder"] = zsh
        # waist / hip half-widths (soft), needed to place the arms
        a_waist = 118 * frame + 1.5 * tf + 0.35 * abd
        a_hip = xtro + 26 * s + 1.4 * tf
        r_up = (40 + 9 * (fat - 0.8) * 1.2) * s
        r_fa = (33 + 8 * (fat - 0.8)) * s
        self.arm_gap = rng.uniform(15, 70)
        self.r_up, self.r_fa = r_up, r_fa
        self.a_waist, self.a_hip = a_waist, a_hip
        zel, zwr = Z(0.375), Z(0.52)
        self.hand_palm_forward = rng.random() < 0.5
        pron = rng.uniform(0, 70) if self.hand_palm_forward else rng.uniform(60, 100)
        for sd, sfx in ((1, "left"), (-1, "right")):
            side = sd
            # clavicle
            cl = [(sd * 20 * frame, yst - 2 * s, zn + 2 * s), (sd * 60 * wsh, yst - 10 * s, zn - 6 * s),
                  (sd * 120 * wsh, yst - 45 * s, zn - 10 * s), (sd * 170 * wsh, yhh - 8 * s, zsh - 16 * s)]
            for a_, b_ in zip(cl[:-1], cl[1:]):
                self.bone(R[f"clavicle_{sfx}"], self.ru("clavicle", side), kind="cap", a=a_, b=b_, ra=6.5 * s, rb=6.5 * s)
            # scapula
            usc = self.ru("scapula", side)
            tri = [(sd * 68 * wsh, self.zlev["T1"] + 6 * s), (sd * 150 * wsh, zsh + 8 * s),
                   (sd * 90 * wsh, self.zlev["T7"] + 8 * s)]
            pl = dict(kind="plate", shape="poly", edges=_poly_edges(tri), y0=yback + 6 * s, xr=60 * wsh, kx=0.3,
                      kz=0.0, zr=0.0, t=6 * s)
            xs_ = [p[0] for p in tri]
            zs_ = [p[1] for p in tri]
            pl["lo"] = (min(xs_) - 5, yback - 10, min(zs_) - 5)
            pl["hi"] = (max(xs_) + 5, yback + 60 * s, max(zs_) + 5)
            self.bone(R[f"scapula_{sfx}"], usc, **pl)
            self.bone(R[f"scapula_{sfx}"], usc, kind="cap", a=(sd * 150 * wsh, yback + 34 * s, zsh + 10 * s),
                      b=(sd * 92 * wsh, yback + 18 * s, self.zlev["T7"]), ra=5 * s, rb=4 * s)
            self.bone(R[f"scapula_{sfx}"], usc, kind="cap", a=(sd * 72 * wsh, yback + 8 * s, self.zlev["T3"]),
                      b=(sd * 172 * wsh, yhh - 6 * s, zsh - 18 * s), ra=6 * s, rb=7 * s)
            self.bone(R[f"scapula_{sfx}"], usc * J(1.0, 1.35), kind="ell", c=(sd * 174 * wsh, yhh - 4 * s, zsh - 20 * s),
                      r=(16 * s, 12 * s, 8 * s))
            self.bone(R[f"scapula_{sfx}"], usc * J(1.0, 1.35), MU_TRABECULAR, kind="ell",
                      c=(sd * (xhh - 24 * wsh), yhh, zsh + 4 * s), r=(9 * s, 16 * s, 20 * s))
            self.bone(R[f"scapula_{sfx}"], usc, kind="cap", a=(sd * 135 * wsh, yhh + 4 * s, zsh + 2 * s),
                      b=(sd * 140 * wsh, yhh + 32 * s, zsh - 8 * s), ra=7 * s, rb=6 * s)
            # humerus
            uh = self.ru("humerus", side)
            xel = sd * (a_waist + self.arm_gap + r_up * 0.95)
            yel = r_up * 1.05
            hh = (sd * xhh, yhh, zsh + 6 * s)
            self.bone(R[f"humerus_{sfx}"], uh * J(1.0, 1.3), MU_TRABECULAR, kind="ell", c=hh, r=(24 * s, 24 * s, 26 * s))
            self.bone(R[f"humerus_{sfx}"], uh * J(1.0, 1.3), MU_TRABECULAR, kind="ell",
                      c=(sd * (xhh + 10 * s), yhh + 4 * s, zsh + 34 * s), r=(16 * s, 16 * s, 22 * s))
            sh_a = (sd * (xhh + 6 * s), yhh, zsh + 40 * s)
            sh_b = (xel, yel, zel - 22 * s)
            self.bone(R[f"humerus_{sfx}"], uh, kind="cap", a=sh_a, b=sh_b, ra=11.5 * s, rb=10 * s)
            self.bone(R[f"humerus_{sfx}"], uh * J(1.0, 1.2), MU_TRABECULAR, kind="ell", c=(xel, yel, zel - 8 * s),
                      r=(30 * s, 14 * s, 15 * s), R=_rot(axis_y_deg=0.0))
            self.longbones.append(dict(region=f"humerus_{sfx}", a=np.array(hh), b=np.array(sh_b), r=12 * s))
            # forearm: radius + ulna
            xwr = sd * (a_hip + self.arm_gap * 0.6 + r_fa * 0.9)
            ywr = r_fa * 1.1
            ang = np.radians(pron)
            off = np.array([np.cos(ang), np.sin(ang), 0.0]) * 10 * s
            ufa = self.ru("forearm", side)
            el = np.array([xel, yel, zel + 8 * s])
            wr = np.array([xwr, ywr, zwr - 10 * s])
            for k, (rr0, rr1) in enumerate(((8, 9.5), (9, 6.5))):  # radius (lateral), ulna (medial)
                o = off * (1 if k == 0 else -1) * sd
                self.bone(R[f"forearm_{sfx}"], ufa, kind="cap", a=el + o * 0.5, b=wr + o, ra=rr0 * s * 0.8, rb=rr1 * s * 0.8)
            self.bone(R[f"forearm_{sfx}"], ufa * J(1.0, 1.2), MU_TRABECULAR, kind="ell", c=wr + off * sd * 0.6,
                      r=(13 * s, 11 * s, 11 * s))
            self.longbones.append(dict(region=f"forearm_{sfx}", a=el, b=wr, r=9 * s))
            # hand
            uhd = self.ru("hand", side)
            wdir = np.array([np.cos(ang), np.sin(ang), 0.0]) * sd  # across the palm, radial side positive
            carp = wr + np.array([0, 0, 22 * s])
            self.bone(R[f"hand_{sfx}"], uhd * J(1.0, 1.25), MU_TRABECULAR, kind="ell", c=carp, r=(20 * s, 12 * s, 14 * s),
                      R=_rot(axis_z_deg=-pron * sd))
            curl = rng.uniform(0, 25) * s
            for f in range(5):
                if f == 0:  # thumb
                    base = carp + wdir * 18 * s + np.array([0, 0, 8 * s])
                    tip = base + wdir * 22 * s + np.array([0, 10 * s, 50 * s])
                    self.bone(R[f"hand_{sfx}"], uhd, kind="cap", a=base, b=tip, ra=5 * s, rb=4 * s)
                    continue
                o = wdir * (12 - 8 * f) * s
                mb = carp + o + np.array([0, 0, 14 * s])
                mt = mb + np.array([0, 0, 58 * s]) + o * 0.15
                self.bone(R[f"hand_{sfx}"], uhd, kind="cap", a=mb, b=mt, ra=4.5 * s, rb=4 * s)
                ln = (36, 45, 42, 34)[f - 1] * s + 30 * s
                ft = mt + np.array([0, curl, ln]) + o * 0.1
                self.bone(R[f"hand_{sfx}"], uhd * 0.9, kind="cap", a=mt, b=ft, ra=4 * s, rb=3 * s)
            self.hand_tip_z = zwr + 160 * s

        # ---------------- legs
        zkn = Z(0.715)
        zan = Z(0.96)
        self.zlev["knee"], self.zlev["ankle"] = zkn, zan
        xkn = rng.uniform(48, 70) * frame
        xan = rng.uniform(50, 90) * frame
        r_th = (72 + 30 * (fat - 0.8)) * s
        r_kn = (48 + 10 * (fat - 0.8)) * s
        r_ca = (52 + 12 * (fat - 0.8)) * s
        r_an = 32 * s
        ykn = r_kn + 2 * s
        yth = r_th * 0.9
        yan = 40 * s
        self.leg = (xkn, xan, r_th, r_kn, r_ca, r_an, ykn, yan)
        phi = np.radians(rng.uniform(30, 60))  # plantar flexion of the foot, from the AP axis
        self.foot_phi = phi
        for sd, sfx in ((1, "left"), (-1, "right")):
            side = sd
            uf = self.ru("femur", side)
            fh = np.array([sd * xhip, yac, zhip])
            self.bone(R[f"femur_{sfx}"], uf * J(1.0, 1.25), MU_TRABECULAR, kind="ell", c=fh, r=(23 * s,) * 3)
            gt = np.array([sd * xtro, yac - 12 * s, zhip + 22 * s])
            self.bone(R[f"femur_{sfx}"], uf * J(1.0, 1.15), MU_TRABECULAR, kind="cap", a=fh, b=gt - np.array([sd * 8 * s, 0, -4 * s]),
                      ra=15 * s, rb=16 * s)
            self.bone(R[f"femur_{sfx}"], uf * J(1.0, 1.25), MU_TRABECULAR, kind="ell", c=gt, r=(14 * s, 18 * s, 22 * s))
            self.bone(R[f"femur_{sfx}"], uf * J(1.0, 1.3), kind="ell", c=(sd * (xtro - 22 * s), yac - 2 * s, zhip + 60 * s),
                      r=(9 * s, 9 * s, 10 * s))
            top = np.array([sd * (xtro - 12 * s), yth * 0.95, zhip + 45 * s])
            kn = np.array([sd * xkn, ykn, zkn])
            self.bone(R[f"femur_{sfx}"], uf, kind="cap", a=top, b=kn - np.array([0, 0, 45 * s]), ra=14 * s, rb=14 * s)
            self.bone(R[f"femur_{sfx}"], uf * J(0.6, 0.9), MU_TRABECULAR, kind="ell", c=kn - np.array([0, 0, 22 * s]),
                      r=(38 * s, 29 * s, 26 * s))
            self.bone(R[f"femur_{sfx}"], uf * J(0.75, 1.0), MU_TRABECULAR, kind="ell",
                      c=kn + np.array([0, 42 * s, -28 * s]), r=(20 * s, 10 * s, 22 * s))
            self.longbones.append(dict(region=f"femur_{sfx}", a=fh, b=kn, r=16 * s))
            ut = self.uf["tibia"] * (1 + self.asym * side)
            an = np.array([sd * xan, yan, zan])
            self.bone(R[f"tibia_fibula_{sfx}"], ut * J(0.65, 0.95), MU_TRABECULAR, kind="ell",
                      c=kn + np.array([0, -2 * s, 22 * s]), r=(37 * s, 27 * s, 18 * s))
            self.bone(R[f"tibia_fibula_{sfx}"], ut, kind="cap", a=kn + np.array([0, 8 * s, 40 * s]),
                      b=an + np.array([0, 10 * s, -30 * s]), ra=13 * s, rb=11 * s)
            self.bone(R[f"tibia_fibula_{sfx}"], ut * J(0.8, 1.05), MU_TRABECULAR, kind="ell",
                      c=an + np.array([-sd * 4 * s, 6 * s, -12 * s]), r=(22 * s, 19 * s, 16 * s))
            ufi = self.uf["fibula"] * (1 + self.asym * side)
            self.bone(R[f"tibia_fibula_{sfx}"], ufi * J(1.0, 1.2), kind="ell",
                      c=kn + np.array([sd * 30 * s, -12 * s, 38 * s]), r=(9 * s,) * 3)
            self.bone(R[f"tibia_fibula_{sfx}"], ufi, kind="cap", a=kn + np.array([sd * 30 * s, -12 * s, 45 * s]),
                      b=an + np.array([sd * 24 * s, -6 * s, -5 * s]), ra=6 * s, rb=6 * s)
            self.bone(R[f"tibia_fibula_{sfx}"], ufi * J(1.0, 1.2), kind="ell", c=an + np.array([sd * 25 * s, -6 * s, 5 * s]),
                      r=(8 * s, 9 * s, 12 * s))
            self.longbones.append(dict(region=f"tibia_fibula_{sfx}", a=kn, b=an, r=13 * s))
            # foot (supine, toes up and plantar-flexed by phi)
            ufo = self.ru("foot", side)
            d = np.array([sd * 0.12, np.cos(phi), np.sin(phi)])
            d /= np.linalg.norm(d)
            ta = an + np.array([0, 4 * s, 24 * s])
            self.bone(R[f"foot_{sfx}"], ufo * J(0.75, 0.95), MU_TRABECULAR, kind="ell", c=ta, r=(18 * s, 20 * s, 15 * s))
            self.bone(R[f"foot_{sfx}"], ufo * J(0.75, 0.9), MU_TRABECULAR, kind="ell",
                      c=ta + np.array([0, -22 * s, 24 * s]), r=(17 * s, 30 * s, 20 * s), R=_rot(axis_x_deg=35))
            mid = ta + d * 45 * s
            self.bone(R[f"foot_{sfx}"], ufo * J(0.75, 0.9), MU_TRABECULAR, kind="ell", c=mid, r=(30 * s, 16 * s, 22 * s))
            for m in range(5):
                o = np.array([sd * (m - 1.5) * 11 * s, 0, 0])
                mb = mid + d * 18 * s + o
                mt = mb + d * (70 - 5 * abs(m - 1)) * s + o * 0.3
                self.bone(R[f"foot_{sfx}"], ufo, kind="cap", a=mb, b=mt, ra=5 * s, rb=4.5 * s)
                self.bone(R[f"foot_{sfx}"], ufo * 0.9, kind="cap", a=mt, b=mt + d * (35 if m == 0 else 25) * s,
                          ra=4.5 * s, rb=3.5 * s)
            self.toe_z = float((mid + d * 125 * s)[2]) + 10 * s
            self.toe_y = float((mid + d * 125 * s)[1]) + 10 * s

        # ---------------- skull, face and mandible
        hr = (70 * s * frame / s, 90 * s, 86 * s)
        yhead = 16 + 6 * s + hr[1]
        zcr = 6 * s + hr[2]
        self.head = (yhead, zcr, hr)
        self.bone(R["skull"], self.uf["skull"], kind="shell", c=(0, yhead, zcr), r=hr, t=7 * s)
        self.bone(R["skull"], self.uf["skull"] * 1.1, MU_TRABECULAR, kind="ell", c=(0, yhead - 10 * s, zcr + 62 * s),
                  r=(52 * s, 38 * s, 12 * s))
        self.bone(R["skull"], self.uf["face"], MU_TRABECULAR, kind="ell", c=(0, yhead + 66 * s, zcr + 78 * s),
                  r=(33 * s, 20 * s, 22 * s))
        for sd in (-1, 1):
            self.bone(R["skull"], self.uf["face"], kind="cap", a=(sd * 30 * s, yhead + 72 * s, zcr + 52 * s),
                      b=(sd * 64 * s, yhead + 20 * s, zcr + 58 * s), ra=6 * s, rb=5 * s)
            self.bone(R["skull"], self.uf["face"] * 0.9, kind="shell", c=(sd * 30 * s, yhead + 74 * s, zcr + 30 * s),
                      r=(17 * s, 12 * s, 16 * s), t=4 * s)
        md = [(-50 * s, yhead + 2 * s, zcr + 70 * s), (-47 * s, yhead + 8 * s, zcr + 118 * s),
              (-25 * s, yhead + 62 * s, zcr + 128 * s), (0, yhead + 80 * s, zcr + 132 * s),
              (25 * s, yhead + 62 * s, zcr + 128 * s), (47 * s, yhead + 8 * s, zcr + 118 * s), (50 * s, yhead + 2 * s, zcr + 70 * s)]
        for a_, b_ in zip(md[:-1], md[1:]):
            self.bone(R["mandible"], self.uf["mandible"], kind="cap", a=a_, b=b_, ra=7 * s, rb=7 * s)
        self.zchin = zcr + 140 * s

        # ---------------- soft tissue
        self._soft(tf, abd, fb, s, frame, wsh)
        self._lookalikes()

    def _soft(self, tf, abd, fb, s, frame, wsh):
        rng = self.rng
        A, B, yback = self.rib_geom
        z = self.zlev
        xhip, xtro, yac = self.pelvis_dims
        yhead, zcr, hr = self.head
        # head and neck
        self.soft.append(dict(kind="ell", c=(0, yhead, zcr), r=(hr[0] + 7, hr[1] + 7, hr[2] + 6)))
        self.soft.append(dict(kind="ell", c=(0, yhead + 45 * s, zcr + 80 * s), r=(56 * s, 58 * s, 62 * s)))
        rneck = 52 * s + 0.3 * tf
        self.soft.append(dict(kind="cap", a=(0, 30 + rneck, zcr + 50 * s), b=(0, rneck + 22, z["C7"] + 20 * s), ra=rneck, rb=rneck * 1.1))
        # torso control levels: (z, half-width, half-depth)
        chest_b = (self.chest_front + 12 * s + 0.8 * tf) / 2
        ctrl = [
            (z["C7"], rneck * 1.2, rneck * 1.1),
            (z["shoulder"] - 18 * s, 150 * wsh + 0.6 * tf, chest_b * 0.82),
            (z["T4"], A[3] + 24 * s + tf, chest_b * 0.97),
            (z["T8"], A[7] + 22 * s + tf, chest_b),
            (z["T12"], A[9] + 18 * s + 1.2 * tf + 0.3 * abd, chest_b * 0.95 + 0.5 * abd),
            (z["L3"], self.a_waist, 98 * s + tf + 0.9 * abd),
            (z["L5"], 142 * frame + 1.2 * tf + 0.2 * abd, 100 * s + tf + 0.8 * abd),
            (z["hip"], self.a_hip, 100 * s + tf + 0.5 * abd),
            (z["hip"] + 70 * s, self.a_hip * 0.97, 92 * s + tf + 0.3 * abd),
        ]
        zc = np.array([c[0] for c in ctrl])
        a = np.array([c[1] for c in ctrl])
        b = np.array([c[2] for c in ctrl])
        yc = b.copy()
        yc[0] = rneck + 22
        self.torso = dict(kind="torso", zc=zc, a=a, b=b, yc=yc, lo=(-a.max() - 4, -4, zc[0] - 4), hi=(a.max() + 4, (yc + b).max() + 4, zc[-1] + 4))
        self.soft.append(self.torso)
        self.front_max = float((yc + b)[1:].max())
        # breasts
        if self.female:
            bs = rng.uniform(0.6, 1.4) * (0.8 + 0.3 * (self.fat - 0.8))
            for sd in (-1, 1):
                self.soft.append(dict(kind="ell", c=(sd * 85 * s, chest_b * 2 - 5, z["T6"]), r=(62 * bs * s, 42 * bs * s, 58 * bs * s)))
            self.front_max = max(self.front_max, chest_b * 2 + 40 * bs * s)
        # arms
        for sd in (-1, 1):
            hh = np.array([sd * 172 * wsh, 62 * s + 0.5 * fb, z["shoulder"] + 6 * s])
            el = np.array([sd * (self.a_waist + self.arm_gap + self.r_up * 0.95), self.r_up * 1.05, self.H * 0.375])
            wr = np.array([sd * (self.a_hip + self.arm_gap * 0.6 + self.r_fa * 0.9), self.r_fa * 1.1, self.H * 0.52])
            self.soft.append(dict(kind="cap", a=hh + np.array([sd * 8 * s, 0, 0]), b=el, ra=self.r_up * 1.15, rb=self.r_up * 0.9))
            self.soft.append(dict(kind="cap", a=el, b=wr, ra=self.r_fa * 1.05, rb=self.r_fa * 0.7))
            self.soft.append(dict(kind="ell", c=wr + np.array([0, 0, 75 * s]), r=(44 * s, 24 * s, 80 * s),
                                  R=_rot(axis_z_deg=-(45 if self.hand_palm_forward else 85) * sd)))
        self.lat_extent = float(self.a_waist + self.arm_gap + self.r_up * 2.0)
        self.lat_extent = max(self.lat_extent, self.a_hip + self.arm_gap * 0.6 + self.r_fa * 1.9, 172 * wsh + self.r_up * 1.3)
        # legs
        xkn, xan, r_th, r_kn, r_ca, r_an, ykn, yan = self.leg
        for sd in (-1, 1):
            hp = np.array([sd * (xhip + 10 * s), r_th, z["hip"] - 20 * s])
            kn = np.array([sd * xkn, ykn, z["knee"]])
            ca = np.array([sd * (xkn * 0.5 + xan * 0.5), r_ca, z["knee"] + 110 * s])
            an = np.array([sd * xan, r_an + 4, z["ankle"]])
            self.soft.append(dict(kind="cap", a=hp, b=kn, ra=r_th, rb=r_kn))
            self.soft.append(dict(kind="cap", a=kn, b=ca, ra=r_kn, rb=r_ca))
            self.soft.append(dict(kind="cap", a=ca, b=an, ra=r_ca, rb=r_an))
            d = np.array([sd * 0.12, np.cos(self.foot_phi), np.sin(self.foot_phi)])
            d /= np.linalg.norm(d)
            heel = an + np.array([0, -8 * s, 40 * s])
            self.soft.append(dict(kind="cap", a=heel, b=heel + d * 200 * s, ra=36 * s, rb=26 * s))
        # organs: (prim, concentration multiplier of soft tissue or absolute), density
        self.organs = []
        zt1, zt10 = z["T1"], z["T10"]
        lz = (zt10 - zt1) / 2 + 10 * s
        for sd in (-1, 1):
            self.organs.append((dict(kind="ell", c=(sd * A[5] * 0.5, yback + B[5] * 0.95, zt1 + lz), r=(A[5] * 0.42, B[5] * 0.8, lz)), "lung"))
        self.organs.append((dict(kind="ell", c=(22 * s, self.chest_front - 65 * s, z["T7"]), r=(55 * s, 45 * s, 55 * s), R=_rot(25)), "heart"))
        self.organs.append((dict(kind="ell", c=(-55 * s, yback + 95 * s, z["T11"]), r=(95 * s, 75 * s, 70 * s)), "liver"))
        for sd in (-1, 1):
            zk = (z["T12"] + z["L1"]) / 2 + (14 * s if sd < 0 else 0) + 10 * s
            self.organs.append((dict(kind="ell", c=(sd * 62 * s, self.yT["L1"] + 2 * s, zk), r=(27 * s, 22 * s, 55 * s),
                                     R=_rot(axis_y_deg=-sd * 15)), "kidney"))
        fill = rng.uniform(0.1, 1.0)
        br = (28 + 42 * fill, 20 + 30 * fill, 20 + 32 * fill)
        br = tuple(v * s for v in br)
        self.organs.append((dict(kind="ell", c=(rng.uniform(-8, 8), self.ysym - 25 * s - br[1], self.zsym + 6 * s - br[2]), r=br), "bladder"))
        self.bladder_fill = fill

    def _lookalikes(self):
        rng = self.rng
        s = self.s
        z = self.zlev
        xkn = self.leg[0]
        self.lookalike_names = []

        def boost(c, r, f, name):
            self.boosts.append(dict(kind="ell", c=tuple(map(float, c)), r=tuple(float(v) for v in r), f=float(f)))
            self.lookalike_names.append(name)

        if rng.random() < 0.35:  # degenerative knee(s), medial compartment
            for sd in ((1, -1) if rng.random() < 0.5 else (rng.choice([-1, 1]),)):
                boost((sd * (xkn - 16 * s), self.leg[6], z["knee"] + rng.uniform(-6, 6)), (12 * s, 14 * s, 10 * s),
                      rng.uniform(1.6, 3.0), "knee_degenerative")
        if rng.random() < 0.25:  # shoulder: AC joint or glenohumeral
            sd = rng.choice([-1, 1])
            boost((sd * 172 * self.s, 60 * s, z["shoulder"] - 16 * s), (12 * s, 12 * s, 10 * s), rng.uniform(1.5, 2.6), "shoulder_degenerative")
        if rng.random() < 0.3:  # lower lumbar facet
            v = self.vertebrae[-1 if rng.random() < 0.5 else -2]
            sd = rng.choice([-1, 1])
            boost((sd * 0.65 * v["dims"][0], v["yb"] - 16 * s, v["c"][2] + v["dims"][2]), (9 * s, 9 * s, 10 * s),
                  rng.uniform(1.8, 3.2), "facet_degenerative")
        if rng.random() < 0.5:  # manubriosternal junction
            boost((0, self.yst - 8 * s, z["notch"] + 50 * s), (16 * s, 8 * s, 8 * s), rng.uniform(1.2, 1.8), "manubriosternal")
        if rng.random() < 0.3:  # dental
            yhead, zcr, _ = self.head
            boost((rng.uniform(-25, 25) * s, yhead + 72 * s, zcr + 112 * s), (9 * s, 9 * s, 8 * s), rng.uniform(1.8, 3.5), "dental")
        if rng.random() < 0.15:  # healed rib fracture(s): 1-3 aligned foci
            sd = rng.choice([-1, 1])
            first = int(rng.integers(3, 9))
            k = int(rng.integers(1, 4))
            t = rng.uniform(0.35, 0.75)
            for i in range(first, min(first + k, 12)):
                rib = [r for r in self.ribs if r["index"] == i and r["region"] == ("ribs_left" if sd > 0 else "ribs_right")][0]
                p = rib["pts"][int(round(t * (len(rib["pts"]) - 1)))]
                boost(p, (8 * s, 8 * s, 8 * s), rng.uniform(2.0, 4.0), "rib_fracture")
        if rng.random() < 0.15:  # base of thumb
            sd = rng.choice([-1, 1])
            thumbs = [p for p in self.bones if p["kind"] == "cap" and p["rid"] == REGION_IDS["hand_left" if sd > 0 else "hand_right"]]
            if thumbs:
                boost(thumbs[0]["a"], (8 * s, 8 * s, 8 * s), rng.uniform(1.5, 2.5), "thumb_base")
        self.hot_soft = []
        if rng.random() < 0.25:  # injection site on one arm
            sd = rng.choice([-1, 1])
            el_x = sd * (self.a_waist + self.arm_gap + self.r_up * 0.95)
            if rng.random() < 0.6:
                c = (el_x, self.r_up * 1.6, self.H * 0.375 + rng.uniform(-15, 25))  # antecubital fossa
            else:
                wx = sd * (self.a_hip + self.arm_gap * 0.6 + self.r_fa * 0.9)
                c = (wx, self.r_fa * 1.5, self.H * 0.52 + rng.uniform(0, 40))  # dorsum of hand / wrist
            rr = rng.uniform(5, 12)
            self.hot_soft.append(dict(kind="ell", c=c, r=(rr, rr * 0.8, rr * 1.3), conc=rng.uniform(1.5, 8.0)))
            self.lookalike_names.append("injection_site")
            if rng.random() < 0.35:
                self.hot_soft.append(dict(kind="ell", c=(sd * 135 * s, 80 * s, z["shoulder"] + 70 * s), r=(9, 9, 11),
                                          conc=rng.uniform(0.4, 1.5)))
                self.lookalike_names.append("axillary_node")
        if rng.random() < 0.12:  # urine contamination on skin over pelvis / thighs
            sd = rng.choice([-1, 1])
            zz = rng.uniform(z["hip"] - 10, z["hip"] + 220)
            xx = sd * rng.uniform(0, 90) * s
            front = rng.random() < 0.6
            yy = (self.leg[2] * 2 + 2) if (front and zz > z["hip"] + 60) else (2.0 if not front else 200 * s + 0.5 * (self.fat - 0.8) * 70)
            self.hot_soft.append(dict(kind="ell", c=(xx, yy, zz), r=(rng.uniform(8, 22), 4, rng.uniform(8, 25)),
                                      conc=rng.uniform(1.0, 5.0)))
            self.lookalike_names.append("urine_contamination")


# ----------------------------------------------------------------------------------------------- imaging
def _fwhm(r_mm, cam):
    d, L, c = cam
    a = d / (L - 2.0 / MU_PB)
    return np.sqrt((a * np.maximum(r_mm, 0.0) + d) ** 2 + c**2)


def _lesions_draw(pat: _Patient, grid: _Grid, bact, lab, rng: np.random.Generator):
    """Lesion shapes (list of dicts with prim, region, ratio ...). Uses only the lesion stream."""
    s = pat.s
    sites = {"thoracic_spine": .20, "lumbar_spine": .15, "cervical_spine": .04, "sacrum": .04, "ribs": .20,
             "pelvis": .14, "femur": .06, "humerus": .04, "skull": .04, "sternum": .03, "scapula": .03,
             "clavicle": .015, "tibia_fibula": .005}
    keys = list(sites)
    p = np.array([sites[k] for k in keys])
    p /= p.sum()
    n = int(min(15, 1 + np.floor(rng.exponential(2.8))))
    out = []
    tries = 0
    flat_bone = np.flatnonzero(lab)
    lab_b = lab.ravel()[flat_bone]
    while len(out) < n and tries < 200:
        tries += 1
        site = keys[rng.choice(len(keys), p=p)]
        side = "left" if rng.random() < 0.5 else "right"
        d = float(np.exp(np.log(8) + (np.log(60) - np.log(8)) * rng.random() ** 1.6))
        ratio = float(np.exp(rng.uniform(np.log(1.5), np.log(8.0))))
        prim = None
        if site.endswith("spine") or site == "sacrum":
            if site == "sacrum":
                region = "sacrum"
            else:
                region = site
                vs = [v for v in pat.vertebrae if v["region"] == site]
                v = vs[int(rng.integers(len(vs)))]
                if rng.random() < 0.25:
                    b = v["body"]
                    prim = dict(kind="ell", c=b["c"], r=tuple(x * 1.06 for x in b["r"]), n=b["n"])
                    d = 2 * float(np.prod(b["r"]) ** (1 / 3))
                else:
                    c = np.array(v["c"], float)
                    if rng.random() < 0.3:
                        c = c + np.array([rng.choice([-1, 1]) * 0.6 * v["dims"][0], -v["dims"][1] - 10 * s, 0])
                    else:
                        c = c + rng.uniform(-0.5, 0.5, 3) * np.array(v["dims"])
                    rr = d / 2 * np.exp(rng.normal(0, 0.15, 3))
                    prim = dict(kind="ell", c=tuple(c), r=tuple(rr), R=_rot(*rng.uniform(-30, 30, 3)))
        elif site == "ribs":
            region = f"ribs_{side}"
            ribs = [r for r in pat.ribs if r["region"] == region]
            w = np.array([0.4, 0.6, 0.8, 1, 1, 1, 1, 1, 1, 0.9, 0.6, 0.4])
            rib = ribs[rng.choice(12, p=w / w.sum())]
            k = int(rng.integers(1, len(rib["pts"]) - 1))
            c = rib["pts"][k]
            t = rib["pts"][k + 1] - rib["pts"][k - 1]
            t /= np.linalg.norm(t)
            # local frame: first axis along the rib
            e1 = t
            e2 = np.cross(e1, [0, 0, 1.0])
            e2 = e2 / max(np.linalg.norm(e2), 1e-6)
            e3 = np.cross(e1, e2)
            R = np.stack([e1, e2, e3])
            prim = dict(kind="ell", c=tuple(c), r=(d / 2, min(d / 2, 14.0), min(d / 2, 14.0)), R=R)
        elif site in ("femur", "humerus", "tibia_fibula"):
            region = f"{site}_{side}"
            lb = [b for b in pat.longbones if b["region"] == region][0]
            t = rng.beta(1.2, 4.0) if site != "tibia_fibula" else rng.uniform(0.05, 0.5)
            c = lb["a"] + t * (lb["b"] - lb["a"])
            ax = (lb["b"] - lb["a"]) / np.linalg.norm(lb["b"] - lb["a"])
            e2 = np.cross(ax, [0, 1.0, 0])
            e2 /= np.linalg.norm(e2)
            R = np.stack([ax, e2, np.cross(ax, e2)])
            prim = dict(kind="ell", c=tuple(c), r=(d / 2 * rng.uniform(1.0, 1.6), d / 2, d / 2), R=R)
        else:
            region = site if site in ("skull", "sternum", "pelvis") else f"{site}_{side}"
        if prim is None:
            rid = REGION_IDS[region]
            cand = flat_bone[lab_b == rid]
            if cand.size == 0:
                continue
            wts = bact.ravel()[cand].astype(float)
            f = cand[rng.choice(cand.size, p=wts / wts.sum())]
            k, j, i = np.unravel_index(f, grid.shape)
            c = np.array([grid.x[i], grid.y[j], grid.z[k]], float)
            rr = d / 2 * np.exp(rng.normal(0, 0.15, 3))
            prim = dict(kind="ell", c=tuple(c), r=tuple(rr), R=_rot(*rng.uniform(-40, 40, 3)))
        c = np.asarray(prim["c"], float)
        rmax = max(prim["r"])
        clash = False
        for o in out:
            oc = np.asarray(o["prim"]["c"])
            dist2d = np.hypot(*(c - oc)[[0, 2]])
            if dist2d < 0.7 * (rmax + max(o["prim"]["r"])) + 6:
                clash = True
        if clash:
            continue
        lytic = d >= 20 and rng.random() < 0.1
        out.append(dict(prim=prim, region=region, diameter_mm=float(d), ratio=ratio, lytic=lytic))
    return out


def _scatter(img, sf, sig_px):
    f = 4
    h, w = img.shape
    hp, wp = -(-h // f) * f, -(-w // f) * f
    pad = np.zeros((hp, wp), np.float32)
    pad[:h, :w] = img
    small = pad.reshape(hp // f, f, wp // f, f).sum((1, 3))
    small = ndi.gaussian_filter(small, sig_px / f, mode="constant")
    big = np.repeat(np.repeat(small, f, 0), f, 1)[:h, :w] / (f * f)
    big = ndi.gaussian_filter(big, f / 2.0, mode="nearest")
    tot = img.sum()
    return (big * (sf * tot / max(big.sum(), 1e-12))).astype(np.float32)


def make_case(seed: int, *, lesions: bool = True, rows: int = 1024, cols: int = 256,
              spacing_mm: float | None = None, total_counts: float | None = None) -> IndependentCase:
    ss = np.random.SeedSequence(int(seed))
    r_frame, r_anat, r_les, r_noise, r_noise_les = (np.random.default_rng(c) for c in ss.spawn(5))

    # ---- framing (always drawn, so that giving a value does not shift other draws)
    u_sp = r_frame.uniform(2.0, 2.8)
    t_drawn = float(np.exp(r_frame.uniform(np.log(0.8e6), np.log(4.0e6))))
    u_top, u_lat = r_frame.random(), r_frame.uniform(-1, 1)
    sp = float(spacing_mm) if spacing_mm is not None else u_sp * 256.0 / cols
    T = float(total_counts) if total_counts is not None else t_drawn
    L_fov, W_fov = rows * sp, cols * sp

    pat = _Patient(r_anat)
    ra = r_anat
    cam = (ra.uniform(1.3, 1.7), ra.uniform(30, 38), ra.uniform(3.4, 4.2))
    gap_ant = ra.uniform(20, 60)
    gap_post = ra.uniform(8, 15) + ra.uniform(5, 20)
    table_tr = ra.uniform(0.92, 0.97)
    sf = ra.uniform(0.15, 0.45)
    sc_sig = ra.uniform(35, 55)
    c_soft = float(np.exp(ra.uniform(np.log(0.045), np.log(0.11))))
    c_kid = c_soft * ra.uniform(2.5, 8.0)
    c_bl = float(np.exp(ra.uniform(np.log(1.5), np.log(8.0))))
    tex_k = ra.normal(0, 1, (6, 3)) * (2 * np.pi / ra.uniform(30, 120, (6, 1))) / np.sqrt(3)
    tex_ph = ra.uniform(0, 2 * np.pi, 6)

    # ---- fit the body into the field
    z_ext = max(pat.toe_z, pat.H) + 5
    margin = 12.0
    scale = 1.0
    if z_ext + 2 * margin > L_fov:
        scale = (L_fov - 2 * margin) / z_ext
    lat = pat.lat_extent * scale
    k_lat = 1.0
    if lat + margin > W_fov / 2:
        k_lat = (W_fov / 2 - margin) / lat
    z_free = L_fov - z_ext * scale - 2 * margin
    z_off = margin + u_top * min(z_free, 0.12 * L_fov)
    x_free = W_fov / 2 - margin - lat * k_lat
    x_mid = W_fov / 2 + u_lat * min(max(x_free, 0.0), 12.0)

    # ---- voxel grid
    v = 4.0 if sp <= 3.2 else 5.0
    vy = 5.0
    ymax = max(pat.front_max, pat.toe_y, pat.head[0] + pat.head[2][1] + 8) + 10
    lo = (-pat.lat_extent - 10, -6.0, -6.0)
    hi = (pat.lat_extent + 10, ymax, z_ext + 8)
    g = _Grid(lo, hi, v, vy)
    shp = g.shape
    bact = np.zeros(shp, np.float32)
    bocc = np.zeros(shp, np.float32)
    bmu = np.zeros(shp, np.float32)
    lab = np.zeros(shp, np.uint8)
    for pr in pat.bones:
        sl, occ = g.occ(pr)
        if sl is None:
            continue
        a = occ * pr["u"]
        cur = bact[sl]
        m = a > cur
        cur[m] = a[m]
        lab[sl][m] = pr["rid"]
        np.maximum(bocc[sl], occ, out=bocc[sl])
        np.maximum(bmu[sl], occ * (pr["mu"] - MU_WATER), out=bmu[sl])
    # texture and benign bone foci (anatomy stream: identical with and without lesions)
    bone_flat = np.flatnonzero(lab)
    kk, jj, ii = np.unravel_index(bone_flat, shp)
    P = np.stack([g.x[ii], g.y[jj], g.z[kk]], 1)
    tex = 1 + 0.08 * np.cos(P @ tex_k.T + tex_ph).sum(1) / np.sqrt(6 / 2)
    bact.ravel()[bone_flat] *= np.clip(tex, 0.7, 1.3).astype(np.float32)
    for bo in pat.boosts:
        sl, occ = g.occ(bo)
        if sl is not None:
            bact[sl] *= 1 + (bo["f"] - 1) * occ
    # soft tissue
    socc = np.zeros(shp, np.float32)
    for pr in pat.soft:
        sl, occ = g.occ(pr)
        if sl is not None:
            np.maximum(socc[sl], occ, out=socc[sl])
    sconc = np.ones(shp, np.float32)
    dens = np.ones(shp, np.float32)
    for pr, kind in pat.organs:
        sl, occ = g.occ(pr)
        if sl is None:
            continue
        if kind == "lung":
            sconc[sl] = sconc[sl] * (1 - occ) + 0.35 * occ
            dens[sl] = dens[sl] * (1 - occ) + 0.3 * occ
        elif kind == "heart":
            sconc[sl] = np.maximum(sconc[sl], 1 + 0.8 * occ)
            dens[sl] = np.maximum(dens[sl], occ)
        elif kind == "liver":
            sconc[sl] = np.maximum(sconc[sl], 1 + 0.15 * occ)
        elif kind == "kidney":
            sconc[sl] = np.maximum(sconc[sl], 1 + (c_kid / c_soft - 1) * occ)
        elif kind == "bladder":
            sconc[sl] = np.maximum(sconc[sl], 1 + (c_bl / c_soft - 1) * occ)
    act = socc * sconc * c_soft
    for pr in pat.hot_soft:
        sl, occ = g.occ(pr)
        if sl is not None:
            act[sl] += pr["conc"] * occ
    act += bact
    mu = socc * dens * MU_WATER + bmu
    del sconc, dens
    # transmissions toward each detector
    cm = np.cumsum(mu, axis=1, dtype=np.float32)
    tot = cm[:, -1:, :]
    T_ant = np.exp(-(tot - cm + 0.5 * mu) * vy)
    T_post = np.exp(-(cm - 0.5 * mu) * vy) * table_tr
    del cm, tot, mu
    y_det = {"ANT": pat.front_max + gap_ant, "POST": -gap_post}

    def dist(view, y):
        return (y_det["ANT"] - y) if view == "ANT" else (y - y_det["POST"])

    # pixel mapping (ANT orientation; POST flipped at the end)
    mz = sp / (v * scale)
    mx = sp / (v * scale * k_lat)
    oz = ((0.5 * sp - z_off) / scale - g.z0) / v - 0.5
    ox = ((0.5 * sp - x_mid) / (scale * k_lat) - g.x0) / v - 0.5
    vox_sig = 0.35 * v * scale / sp

    def to_px(img2d, k0=0, i0=0, r0=0, c0=0, shape=(rows, cols)):
        return ndi.affine_transform(img2d, [mz, mx], offset=[oz + r0 * mz - k0, ox + c0 * mx - i0],
                                    output_shape=shape, order=1, mode="constant", cval=0.0)

    def blur_sigma(view, y):
        sig = _fwhm(dist(view, y), cam) / 2.3548 / sp
        return float(np.sqrt(max(sig**2 - vox_sig**2, 0.09)))

    nsl = max(1, int(round(25.0 / vy)))
    starts = np.arange(0, g.ny, nsl)
    views_exp, regions = {}, {}
    trans = {"ANT": T_ant, "POST": T_post}
    nzx = g.nz * g.nx
    pix = kk.astype(np.int64) * g.nx + ii
    lab_b = lab.ravel()[bone_flat].astype(np.int64)
    path = np.bincount(pix, weights=bocc.ravel()[bone_flat] * vy, minlength=nzx).reshape(g.nz, g.nx)
    path_px = to_px(path.astype(np.float32)) * (1.0 / max(scale, 1e-6))
    for view in ("ANT", "POST"):
        Tv = trans[view]
        W = act * Tv
        slabs = np.add.reduceat(W, starts, axis=1)
        del W
        img = np.zeros((rows, cols), np.float32)
        for j, st in enumerate(starts):
            sl2 = slabs[:, j, :]
            if sl2.max() <= 0:
                continue
            yc = g.y0 + (st + min(nsl, g.ny - st) / 2) * vy
            img += ndi.gaussian_filter(to_px(np.ascontiguousarray(sl2)), blur_sigma(view, yc), mode="constant")
        views_exp[view] = np.maximum(img, 0)
        # regions
        wb = bact.ravel()[bone_flat] * Tv.ravel()[bone_flat]
        per = np.bincount(lab_b * nzx + pix, weights=wb, minlength=27 * nzx).reshape(27, g.nz, g.nx)
        tot_b = per.sum(0)
        best = per.argmax(0).astype(np.uint8)
        share = per.max(0) / np.maximum(tot_b, 1e-12)
        best[(tot_b <= 0)] = 0
        idx = ndi.distance_transform_edt(best == 0, return_distances=False, return_indices=True)
        filled = best[idx[0], idx[1]]
        sharef = share[idx[0], idx[1]]
        lab_px = ndi.affine_transform(filled, [mz, mx], offset=[oz, ox], output_shape=(rows, cols), order=0,
                                      mode="constant", cval=0)
        sh_px = ndi.affine_transform(sharef.astype(np.float32), [mz, mx], offset=[oz, ox], output_shape=(rows, cols),
                                     order=0, mode="constant", cval=0)
        reg = np.where((path_px >= 3.0) & (sh_px >= 0.35), lab_px, 0).astype(np.uint8)
        regions[view] = reg
    del slabs

    # ---- lesions (own stream; drawn only when wanted, so the lesion-free image never depends on them)
    les_img = {vw: np.zeros((rows, cols), np.float32) for vw in ("ANT", "POST")}
    les_maps = {vw: np.zeros((rows, cols), np.int32) for vw in ("ANT", "POST")}
    info: list[dict] = []
    involved = {nm: 0.0 for nm in REGION_NAMES.values()}
    if lesions:
        drawn = _lesions_draw(pat, g, bact, lab, r_les)
        cover = np.zeros(shp, np.float32)
        best_val = {vw: np.zeros((rows, cols), np.float32) for vw in ("ANT", "POST")}
        for k, L in enumerate(drawn, start=1):
            sl, occ = g.occ(L["prim"])
            if sl is None:
                continue
            np.maximum(cover[sl], occ, out=cover[sl])
            ex = (L["ratio"] - 1.0) * bact[sl] * occ
            if L["lytic"]:
                core = dict(L["prim"])
                core["r"] = tuple(x * 0.55 for x in core["r"])
                ex = ex * (1.0 - 0.85 * _sub_occ(g, core, sl))
            if ex.sum() <= 0:
                continue
            ctr = {}
            for view in ("ANT", "POST"):
                w3 = ex * trans[view][sl]
                proj = w3.sum(1)
                yc = float((w3.sum((0, 2)) * g.y[sl[1]]).sum() / max(w3.sum(), 1e-12))
                sig = blur_sigma(view, yc)
                # pixel window
                zlo = g.z[sl[0].start] - 2 * v
                zhi = g.z[sl[0].stop - 1] + 2 * v
                xlo = g.x[sl[2].start] - 2 * v
                xhi = g.x[sl[2].stop - 1] + 2 * v
                pad = 4 * sig * sp + 2 * sp
                r0 = int(np.floor(((zlo * scale + z_off) - pad) / sp))
                r1 = int(np.ceil(((zhi * scale + z_off) + pad) / sp))
                c0 = int(np.floor(((xlo * scale * k_lat + x_mid) - pad) / sp))
                c1 = int(np.ceil(((xhi * scale * k_lat + x_mid) + pad) / sp))
                r0, c0 = max(r0, 0), max(c0, 0)
                r1, c1 = min(r1, rows), min(c1, cols)
                if r1 <= r0 or c1 <= c0:
                    continue
                sub = to_px(np.ascontiguousarray(proj, dtype=np.float32), sl[0].start, sl[2].start, r0, c0, (r1 - r0, c1 - c0))
                sub = ndi.gaussian_filter(sub, sig, mode="constant")
                if view == "POST":
                    sub = sub[:, ::-1]
                    c0, c1 = cols - c1, cols - c0
                les_img[view][r0:r1, c0:c1] += sub
                pk = sub.max()
                if pk <= 0:
                    continue
                m = sub >= 0.5 * pk
                bv = best_val[view][r0:r1, c0:c1]
                lm = les_maps[view][r0:r1, c0:c1]
                win = m & (sub > bv)
                lm[win] = k
                bv[win] = sub[win]
                rr, cc = np.unravel_index(int(sub.argmax()), sub.shape)
                ctr[view] = (int(rr + r0), int(cc + c0))
            info.append(dict(id=k, region=L["region"], diameter_mm=round(L["diameter_mm"], 1),
                             uptake_ratio=round(L["ratio"], 3), centre_mm=tuple(round(float(x), 1) for x in L["prim"]["c"]),
                             lytic_core=bool(L["lytic"]), peak_pixel=ctr))
        cov = cover.ravel()[bone_flat]
        w = bocc.ravel()[bone_flat]
        vol = np.bincount(lab_b, weights=w, minlength=27)
        inv = np.bincount(lab_b, weights=w * cov, minlength=27)
        for rid, nm in REGION_NAMES.items():
            involved[nm] = float(min(1.0, inv[rid] / vol[rid])) if vol[rid] > 0 else 0.0

    # ---- flip POST into its acquired orientation, scatter, scale, noise
    views_exp["POST"] = views_exp["POST"][:, ::-1]
    regions["POST"] = np.ascontiguousarray(regions["POST"][:, ::-1])
    out_views = {}
    scat = {vw: _scatter(views_exp[vw], sf, sc_sig / sp) for vw in views_exp}
    norm_tot = sum(float(views_exp[vw].sum() + scat[vw].sum()) for vw in views_exp) / 2
    k_scale = T / max(norm_tot, 1e-12)
    for vw in ("ANT", "POST"):
        e = (views_exp[vw] + scat[vw]) * k_scale
        counts = r_noise.poisson(e.astype(np.float64))
        if lesions:
            le = (les_img[vw] + _scatter(les_img[vw], sf, sc_sig / sp)) * k_scale
            counts = counts + r_noise_les.poisson(np.maximum(le, 0).astype(np.float64))
        out_views[vw] = counts.astype(np.float32)
    return IndependentCase(views=out_views, lesions=les_maps, regions=regions, lesion_info=info, involved=involved,
                           pixel_spacing=(sp, sp), seed=int(seed))


def _sub_occ(g: _Grid, prim, sl):
    """Occupancy of ``prim`` evaluated on the box ``sl``."""
    X = g.x[sl[2]][None, None, :]
    Y = g.y[sl[1]][None, :, None]
    Z = g.z[sl[0]][:, None, None]
    d = _sdf(prim, X, Y, Z)
    return np.clip(0.5 - d / g.aa, 0.0, 1.0).astype(np.float32)


def _preview(path: str, seed: int, real: str | None = None) -> None:
    import matplotlib  # lazy: start-up time: the phantom imports only numpy and scipy; the preview alone draws

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: start-up time: the phantom imports only numpy and scipy; the preview alone draws

    case = make_case(seed)
    panels = []
    if real:
        import pydicom  # lazy: start-up time: the phantom imports only numpy and scipy; the preview alone reads NM1

        panels.append(("NM1 (real)", pydicom.dcmread(real).pixel_array.astype(float), None, None))
    for vw in ("ANT", "POST"):
        panels.append((vw, case.views[vw], case.lesions[vw], None))
    for vw in ("ANT", "POST"):
        panels.append((f"{vw} regions", None, case.lesions[vw], case.regions[vw]))
    fig, axes = plt.subplots(1, len(panels), figsize=(2.3 * len(panels), 9.5))
    for ax, (title, img, les, reg) in zip(axes, panels):
        if img is not None:
            ax.imshow(img, cmap="gray_r", vmin=0, vmax=np.percentile(img, 99.5), interpolation="nearest")
        else:
            ax.imshow(np.where(reg > 0, reg, np.nan), cmap="tab20", vmin=1, vmax=26, interpolation="nearest")
        if les is not None and les.max() > 0:
            ax.contour(les > 0, levels=[0.5], colors="r", linewidths=0.6)
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    n = len(case.lesion_info)
    fig.suptitle(f"seed {seed}: {n} lesions, spacing {case.pixel_spacing[0]:.2f} mm, "
                 f"ANT {case.views['ANT'].sum() / 1e6:.2f} M / POST {case.views['POST'].sum() / 1e6:.2f} M", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args:
        print("usage: independent_phantom.py OUT.png [SEED] [REAL_DICOM]")
        sys.exit(2)
    _preview(args[0], int(args[1]) if len(args) > 1 else 0, args[2] if len(args) > 2 else None)
