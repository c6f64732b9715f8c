"""The procedural 3-D patient: body outline, a labelled parametric skeleton, and organs with activity.

The patient lies supine on the table (the back at depth ``table_y``), head at the top of the image.
Every landmark is a fraction of stature measured from the vertex (anthropometric proportions after
Drillis & Contini: shoulder 0.18, elbow 0.37, wrist 0.515, hip 0.47, knee 0.715, ankle 0.96), so tall and
short patients keep their proportions; the soft tissue is widened and deepened by the patient's ``build``.

Bones are unions of :mod:`~scintiseg.phantom.primitives` (capsules, cylinders, ellipsoids), each with an
activity concentration: normal bone concentration (``bone_to_soft``) x a per-bone-part multiplier (:data:`UPTAKE`:
spine and pelvis highest, ribs and long-bone shafts lowest: Nautiyal, Rohani 2020 in physics.md) x a
per-bone log-normal variation. These concentrations (bones and organs alike) are *excess concentrations over
soft tissue*: the body is filled with soft tissue at 1 and every bone or organ block is added on top
(``patient._volumes``), so a fully occupied bone voxel holds ``1 + bone_to_soft x multiplier`` and a kidney
``1 + kidney_ratio``. The camera turns them into counts. ``bone_to_soft`` is fitted to NM1's image-level
bone-to-soft statistic, not to the reference's biodistribution (bone 34-50 % of the 3-D activity on default
seeds 0-5 against physics.md's 50-60 %; docs/phantom.md, "Activity split").

What a planar bone scan shows, and the model copies (the issue's "looks like a bone scan"):

* the vertebral column is continuous: vertebral bodies touch with thin disc gaps (8 % of a level [E]; the
  camera's 7-10 mm FWHM closes them), with pedicles, articular pillars (a continuous posterior column),
  transverse and spinous processes; uptake varies along the spine (:func:`spine_uptake`: lower cervical
  and lower lumbar higher, mid-thoracic lower [E]) and per vertebra (``bone_variation``);
* ribs are thin (radius tapering 7 -> 5.5 mm: a flat rib 12-15 mm tall [E]) and fainter than the spine,
  brightest at the costovertebral end; sternum and manubrium stand out at the front of the rib cage;
* joints (shoulders, sternoclavicular, sacroiliac, hips, knees, ankles, wrists) are brighter than shafts,
  and long bones are brighter and wider at their metaphyses than mid-shaft (:meth:`_Builder.long_bone`);
* the skull is not a uniform shell: the calvarium is thicker front and back than at the sides, the facial
  bones (maxilla, zygomas, nasal bridge) and mandible are bright, the orbits cold, the skull base
  (petrous ridges, sphenoid) visible.

Anatomy randomisers (all off by default, see :class:`~scintiseg.phantom.config.AnatomyConfig`): habitus,
breasts, arm positions (including raised), head tilt and flexion, scoliosis and kyphosis (smooth curves of
the spine that the rib cage, sternum and shoulder girdle follow), elastic deformation of the whole
skeleton, bone size and proportions, and per-patient uptake ratios. Each draws from its own random stream
(:data:`RANDOMISERS`), so switching one on changes nothing else. The skeleton is deformed by moving the
control points of its primitives (capsule ends, ellipsoid centres, with a rotation for the head), so the
exact per-column rasterisation is kept.

Choices the sources leave open (all [E]): bone sizes scale with stature / 1750 mm; vertebral bodies are
flat cylinders; ribs follow half-ellipses around the chest that descend 2.5-4 vertebral levels from head
to anterior end, ending where the costal cartilage (no uptake) begins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from scintiseg.phantom.config import DISC_FRACTION, AnatomyConfig
from scintiseg.phantom.primitives import Block, Capsule, Ellipsoid, Grid, Primitive, Section, rasterise, union_chord
from scintiseg.phantom.regions import region_of_bone

#: Default uptake multiplier per bone part (relative to normal axial bone = 1) [E], after the SUV ordering
#: in physics.md (spine and pelvis highest, ribs and humerus lowest) and tuned by eye and by the calibration
#: statistics against NM1 (docs/phantom.md).
UPTAKE = {
    "skull": 0.5, "calvarium": 0.62, "face": 1.2, "maxilla": 1.5, "skull_base": 0.95, "mandible": 0.95,
    "vertebral_body": 1.0, "vertebral_arch": 0.6, "facet": 0.9, "sacrum": 1.0, "sacroiliac": 1.4,
    "rib": 0.65, "costovertebral": 0.8, "sternum": 1.8, "manubrium": 2.0, "sternoclavicular": 1.8,
    "clavicle": 0.75, "scapula": 0.5, "scapula_edge": 0.75, "glenoid": 1.0, "acromion": 1.0,
    "humeral_head": 1.05, "shaft": 0.42, "metaphysis": 0.75, "joint": 1.0, "knee": 1.1, "ankle": 1.05,
    "forearm": 0.45, "wrist": 0.85, "hand": 0.6,
    "ilium": 0.7, "iliac_crest": 0.95, "acetabulum": 1.05, "pubis": 0.85,
    "femoral_head": 1.0, "trochanter": 0.95, "patella": 0.85, "foot": 0.75,
}

#: The anatomy randomisers, each with its own random stream (its index in this tuple).
RANDOMISERS = ("habitus", "breasts", "arms", "head", "scoliosis", "kyphosis", "elastic", "bone_size",
               "proportions", "uptake", "discs")


def spine_uptake(level: str) -> float:
    """Uptake multiplier of one vertebral level relative to the mean spine [E].

    Planar scans show the lower cervical and the lower lumbar spine brightest and the mid-thoracic spine
    faintest (the issue; the SUV of vertebrae differs by level by about +-15 %). A smooth profile:
    C1-C2 0.9, C5-C7 1.12, T6-T9 0.9, L4-L5 1.15, linear in between.
    """
    index = {"C": 0, "T": 7, "L": 19}[level[0]] + int(level[1:]) - 1  # 0 (C1) .. 23 (L5)
    knots = [0, 1, 5, 7, 13, 16, 19, 22, 23]
    values = [0.9, 0.95, 1.12, 1.1, 0.9, 0.9, 1.0, 1.15, 1.15]
    return float(np.interp(index, knots, values))


@dataclass
class PatientBody:
    """Sampled patient parameters (all JSON-able). The fields after ``sex`` are the anatomy randomisers'."""

    height_mm: float
    build: float
    age: float
    arm_position: str
    head_top_mm: float
    midline_mm: float
    leg_spread_mm: float
    bone_to_soft: float
    sex: str
    trunk_width: float = 1.0
    breast_ml: float = 0.0
    head_tilt_deg: float = 0.0
    head_flexion_deg: float = 0.0
    scoliosis_cobb_deg: float = 0.0
    scoliosis_shape: str = "none"
    kyphosis_deg: float = 0.0
    bone_thickness: float = 1.0
    disc_fraction: float = DISC_FRACTION
    proportions: dict = field(default_factory=dict)
    uptake_groups: dict = field(default_factory=dict)
    elastic_waves: list = field(default_factory=list)
    arm_angles: list = field(default_factory=list)
    stream_seed: int = 0


@dataclass
class Bone:
    """One labelled bone.

    Args:
        name: bone name (:data:`~scintiseg.phantom.regions.BONE_NAMES`).
        block: its rasterised occupancy and activity.
        path: for ribs and long bones, points (z, x, y) mm along its axis (for lesions that follow it).
        body: for vertebrae, the vertebral body cylinder (``centre``, ``radius``, ``half_height``).
    """

    name: str
    block: Block
    path: np.ndarray | None = None
    body: dict | None = None

    @property
    def region(self) -> str:
        """The region this bone belongs to (:func:`~scintiseg.phantom.regions.region_of_bone`)."""
        return region_of_bone(self.name)


#: Name prefix of the lungs among :attr:`Anatomy.organs` (they attenuate as aerated lung, not water).
LUNG_PREFIX = "lung_"


@dataclass
class Organ:
    """A soft-tissue source: kidney, bladder, thyroid, injection site, ... (activity above soft tissue)."""

    name: str
    block: Block


@dataclass
class Anatomy:
    """The 3-D patient.

    Args:
        grid: the voxel grid.
        body: sampled parameters.
        body_front, body_back: (rows, cols) depth (mm) of the body's anterior / posterior surface; NaN outside.
        table_y: depth of the table top (mm).
        bones, organs: labelled bones and soft-tissue sources.
        landmarks: named points (z, x, y) mm used by lesions and look-alikes.
    """

    grid: Grid
    body: PatientBody
    body_front: np.ndarray
    body_back: np.ndarray
    table_y: float
    bones: list[Bone]
    organs: list[Organ] = field(default_factory=list)
    landmarks: dict[str, tuple[float, float, float]] = field(default_factory=dict)

    def bone(self, name: str) -> Bone:
        for bone in self.bones:
            if bone.name == name:
                return bone
        raise KeyError(name)


def _streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per anatomy randomiser (switching one on leaves the others unchanged)."""
    return {name: np.random.default_rng([seed, index]) for index, name in enumerate(RANDOMISERS)}


def sample_body(rng: np.random.Generator, cfg: AnatomyConfig, grid: Grid) -> PatientBody:
    """Draw one patient's size, build, age, arm position, bone avidity and the anatomy randomisers."""
    height = float(rng.uniform(*cfg.height_mm))
    room = grid.rows * grid.row_mm - height - 20.0
    margin = float(np.clip(rng.uniform(*cfg.head_margin_mm), 10.0, max(10.0, room)))
    names = list(cfg.arm_positions)
    probs = np.asarray([cfg.arm_positions[n] for n in names], dtype=float)
    arm = str(names[int(rng.choice(len(names), p=probs / probs.sum()))])
    lo, hi = cfg.bone_to_soft
    body = PatientBody(
        height_mm=height,
        build=float(rng.uniform(*cfg.build)),
        age=float(rng.uniform(*cfg.age)),
        arm_position=arm,
        head_top_mm=margin,
        midline_mm=grid.cols * grid.col_mm / 2.0 + float(rng.normal(0.0, 8.0)),
        leg_spread_mm=float(rng.uniform(-15.0, 35.0)),
        bone_to_soft=float(math.exp(rng.uniform(math.log(lo), math.log(hi)))),
        sex=str(rng.choice(["female", "male"])),
        stream_seed=int(rng.integers(2**62)),
    )
    streams = _streams(body.stream_seed)
    if cfg.trunk_width != (1.0, 1.0):
        body.trunk_width = float(streams["habitus"].uniform(*cfg.trunk_width))
    if cfg.p_breasts > 0 and body.sex == "female" and streams["breasts"].random() < cfg.p_breasts:
        blo, bhi = cfg.breast_ml
        body.breast_ml = float(math.exp(streams["breasts"].uniform(math.log(blo), math.log(bhi))))
    if arm == "raised":
        # Forearms lie above the head: lift the body in the field of view so that the hands fit when they can.
        body.head_top_mm = float(np.clip(max(margin, 0.15 * height + 40.0), 10.0, max(10.0, room)))
        arms = streams["arms"]
        body.arm_angles = [float(arms.uniform(5.0, 25.0)), float(arms.uniform(5.0, 25.0)),
                           float(arms.uniform(10.0, 35.0)), float(arms.uniform(10.0, 35.0))]
    if cfg.head_tilt_deg != (0.0, 0.0) or cfg.head_flexion_deg != (0.0, 0.0):
        body.head_tilt_deg = float(streams["head"].uniform(*cfg.head_tilt_deg))
        body.head_flexion_deg = float(streams["head"].uniform(*cfg.head_flexion_deg))
    scol = streams["scoliosis"]
    if cfg.p_scoliosis > 0 and scol.random() < cfg.p_scoliosis:
        sign = 1.0 if scol.random() < 0.5 else -1.0
        body.scoliosis_cobb_deg = sign * float(scol.uniform(*cfg.scoliosis_cobb_deg))
        body.scoliosis_shape = "C" if scol.random() < 0.6 else "S"
    if cfg.kyphosis_deg != (0.0, 0.0):
        body.kyphosis_deg = float(streams["kyphosis"].uniform(*cfg.kyphosis_deg))
    if cfg.elastic_mm > 0:
        el = streams["elastic"]
        waves = []
        for _ in range(8):  # 8 plane waves, each axis RMS amplitude = elastic_mm (variance a^2 / 2 per wave)
            direction = el.normal(size=3)
            direction /= np.linalg.norm(direction)
            amplitude = el.normal(0.0, cfg.elastic_mm / 2.0, size=3) * np.array([1.0, 1.0, 0.5])
            waves.append([*(direction * 2.0 * math.pi / cfg.elastic_scale_mm), float(el.uniform(0, 2 * math.pi)), *amplitude])
        body.elastic_waves = [[float(v) for v in w] for w in waves]
    if cfg.bone_thickness != (1.0, 1.0):
        body.bone_thickness = float(streams["bone_size"].uniform(*cfg.bone_thickness))
    if cfg.disc_fraction != (DISC_FRACTION, DISC_FRACTION):
        body.disc_fraction = float(streams["discs"].uniform(*cfg.disc_fraction))
    if cfg.proportion_sd > 0:
        pr = streams["proportions"]
        body.proportions = {k: float(np.clip(pr.normal(0.0, cfg.proportion_sd), -3 * cfg.proportion_sd, 3 * cfg.proportion_sd))
                            for k in ("elbow", "wrist", "knee", "ankle")}
    if cfg.uptake_group_sd > 0:
        up = streams["uptake"]
        body.uptake_groups = {k: float(math.exp(up.normal(0.0, cfg.uptake_group_sd))) for k in UPTAKE}
    return body


class _Builder:
    """Builds the skeleton and soft tissue of one patient (kept as a class to share the landmarks)."""

    def __init__(self, body: PatientBody, grid: Grid, rng: np.random.Generator, cfg: AnatomyConfig) -> None:
        self.p, self.grid, self.rng, self.cfg = body, grid, rng, cfg
        self.s = body.height_mm / 1750.0
        self.table_y = grid.depth * grid.depth_mm - 8.0
        self.mx = body.midline_mm
        self.bones: list[Bone] = []
        self.landmarks: dict[str, tuple[float, float, float]] = {}
        self.soft: list[Primitive] = []
        self.bone_scale = body.bone_to_soft
        # per-bone random multiplier (age-like and individual variation of uptake)
        self._variation = cfg.bone_variation
        self._size_rng = np.random.default_rng([body.stream_seed, 100])
        self._waves = np.asarray(body.elastic_waves, dtype=np.float64).reshape(-1, 7)
        self.head_rotation: np.ndarray | None = None
        if body.head_tilt_deg or body.head_flexion_deg:
            roll, pitch = math.radians(body.head_tilt_deg), math.radians(body.head_flexion_deg)
            # roll: about the depth axis (z-x plane); flexion: about the x axis (z-y plane); (z, x, y) order
            r_roll = np.array([[math.cos(roll), -math.sin(roll), 0.0], [math.sin(roll), math.cos(roll), 0.0], [0.0, 0.0, 1.0]])
            r_pitch = np.array([[math.cos(pitch), 0.0, math.sin(pitch)], [0.0, 1.0, 0.0], [-math.sin(pitch), 0.0, math.cos(pitch)]])
            self.head_rotation = r_roll @ r_pitch
        self.head_pivot = np.zeros(3)
        self.arm_shift: dict[str, np.ndarray] = {}
        self.deformed = (self.head_rotation is not None or bool(body.scoliosis_cobb_deg) or bool(body.kyphosis_deg)
                         or len(self._waves) > 0)

    # -- helpers ----------------------------------------------------------------------------------------
    def z(self, fraction: float) -> float:
        """Depth-independent row position (mm) of a stature fraction measured from the vertex."""
        return self.p.head_top_mm + fraction * self.p.height_mm

    def zl(self, landmark: str, fraction: float) -> float:
        """Row position of a limb landmark, with the patient's proportion offset (``proportion_sd``)."""
        return self.z(fraction + self.p.proportions.get(landmark, 0.0))

    def conc(self, kind: str) -> float:
        return self.bone_scale * UPTAKE[kind] * self.p.uptake_groups.get(kind, 1.0)

    def curve(self, z: float) -> tuple[float, float]:
        """Lateral (scoliosis) and posterior (kyphosis) displacement (mm) of the spine at row ``z``.

        Scoliosis: a half sine (C curve) or a full sine (S curve) between C2 and the bottom of L5, zero at
        both ends so that head and pelvis stay; its amplitude gives the requested Cobb angle (the angle
        between the tangents at the inflection points of the major curve). Kyphosis: a half sine over
        T1-T12 whose end tangents differ by the requested angle.
        """
        dx = dy = 0.0
        cobb = self.p.scoliosis_cobb_deg
        if cobb:
            z0, z1 = self.z(0.12), self.z(0.445)
            t = (z - z0) / (z1 - z0)
            if 0.0 < t < 1.0:
                length = z1 - z0
                half = math.tan(math.radians(abs(cobb)) / 2.0)
                if self.p.scoliosis_shape == "S":
                    dx = math.copysign(length * half / (2.0 * math.pi), cobb) * math.sin(2.0 * math.pi * t)
                else:
                    dx = math.copysign(length * half / math.pi, cobb) * math.sin(math.pi * t)
        if self.p.kyphosis_deg:
            z0, z1 = self.z(0.18), self.z(0.345)
            t = (z - z0) / (z1 - z0)
            if 0.0 < t < 1.0:
                dy = (z1 - z0) * math.tan(math.radians(self.p.kyphosis_deg) / 2.0) / math.pi * math.sin(math.pi * t)
        return dx, dy

    def deform(self, point, group: str) -> tuple[float, float, float]:
        """Where the randomisers move a point of a bone in ``group`` (head / spine / thorax / arm_<side> / limb)."""
        if not self.deformed:
            return tuple(float(v) for v in point)
        v = np.asarray(point, dtype=np.float64).copy()
        if group == "head" and self.head_rotation is not None:
            v = self.head_rotation @ (v - self.head_pivot) + self.head_pivot
        if group in ("spine", "thorax"):
            dx, dy = self.curve(v[0])
            if group == "thorax":  # the rib cage follows the spine, less so far from it [E]
                weight = 0.4 + 0.6 * math.exp(-(((v[1] - self.mx) / 60.0) ** 2))
                dx, dy = dx * weight, dy * weight
            v[1] += dx
            v[2] = min(v[2] + dy, self.table_y - 4.0)
        elif group.startswith("arm_") and group in self.arm_shift:
            v += self.arm_shift[group]
        if len(self._waves):
            phase = self._waves[:, :3] @ v + self._waves[:, 3]
            v += np.sin(phase) @ self._waves[:, 4:]
        return float(v[0]), float(v[1]), float(v[2])

    def moved(self, primitive: Primitive, group: str, size: float) -> Primitive:
        if isinstance(primitive, Capsule):
            return Capsule(self.deform(primitive.a, group), self.deform(primitive.b, group), primitive.radius * size, primitive.flat)
        if isinstance(primitive, Ellipsoid):
            rotation = primitive.rotation
            if group == "head" and self.head_rotation is not None:
                base = np.eye(3) if rotation is None else np.asarray(rotation)
                rotation = tuple(tuple(float(c) for c in row) for row in self.head_rotation @ base)
            return Ellipsoid(self.deform(primitive.centre, group), primitive.semi, rotation)
        return primitive

    def add_bone(self, name: str, parts: list[tuple], holes=(), path=None, body=None, group: str = "limb") -> None:
        """Rasterise one bone from ``(primitive, uptake kind[, multiplier])`` parts, deformed by the randomisers."""
        factor = float(math.exp(self.rng.normal(0.0, self._variation)))
        size = self.p.bone_thickness
        if self.cfg.bone_size_sd > 0:
            size *= float(math.exp(self._size_rng.normal(0.0, self.cfg.bone_size_sd)))
        if self.deformed or size != 1.0:
            parts = [(self.moved(part[0], group, size), *part[1:]) for part in parts]
            holes = [self.moved(hole, group, 1.0) for hole in holes]
            if path is not None:
                path = [self.deform(point, group) for point in path]
            if body is not None:
                body = dict(body, centre=list(self.deform(body["centre"], group)), radius=body["radius"] * size)
        items = [(part[0], self.conc(part[1]) * (part[2] if len(part) > 2 else 1.0) * factor) for part in parts]
        block = rasterise(items, self.grid, holes=list(holes))
        if block is not None and block.occupancy.max() > 0:
            self.bones.append(Bone(name, block, None if path is None else np.asarray(path, float), body))

    def long_bone(self, a, b, radius: float, end_radius: float, ends: tuple[bool, bool] = (True, True),
                  n: int = 6, end_kind: str = "metaphysis", shaft_kind: str = "shaft") -> list[tuple]:
        """A long bone from ``a`` to ``b`` as ``n`` capsule segments: wider and brighter at the flared ends.

        The metaphyses (the fifth of the length next to a flared end) take ``end_kind``'s uptake and flare to
        ``end_radius``; the diaphysis between takes ``shaft_kind``'s [E] (growth-plate and trabecular-bone
        uptake make the ends of long bones brighter than mid-shaft on every bone scan).
        """
        a, b = np.asarray(a, float), np.asarray(b, float)
        parts = []
        for k in range(n):
            t0, t1 = k / n, (k + 1) / n
            mid = (t0 + t1) / 2
            near = min(mid if ends[0] else 1.0, (1.0 - mid) if ends[1] else 1.0)
            flare = max(0.0, 1.0 - near / 0.25) ** 2
            r = radius + (end_radius - radius) * flare
            kind = end_kind if near < 0.2 else shaft_kind
            parts.append((Capsule(tuple(a + (b - a) * t0), tuple(a + (b - a) * t1), r), kind))
        return parts

    def _landmark_group(self, name: str) -> str | None:
        if name.endswith("_radius") or name == "skull_inner":
            return None
        if name in ("chin", "face"):
            return "head"
        if name[0] in "CTL" and name[1:].isdigit():
            return "spine"
        if name in ("manubriosternal",) or name.startswith(("shoulder_",)):
            return "thorax"
        for side in ("left", "right"):
            if name in (f"elbow_{side}", f"wrist_{side}", f"thumb_{side}", f"hand_{side}"):
                return f"arm_{side}"
        return "limb"

    def finish_landmarks(self) -> None:
        """Move the landmarks with the skeleton (lesions and look-alikes are placed from them)."""
        if not self.deformed:
            return
        moved = {}
        for name, point in self.landmarks.items():
            group = self._landmark_group(name)
            moved[name] = point if group is None else self.deform(point, group)
        centre, semi = self.landmarks["skull_inner"]
        moved["skull_inner"] = (self.deform(centre, "head"), semi)
        self.landmarks = moved

    # -- body geometry -----------------------------------------------------------------------------------
    def trunk(self) -> Section:
        s, b = self.s, self.p.build
        female = self.p.sex == "female"
        knots = np.array([0.150, 0.165, 0.180, 0.200, 0.240, 0.300, 0.360, 0.420, 0.470, 0.505, 0.525])
        width = np.array([60, 110, 160, 178, 168, 160, 148, 160, 172, 165, 120], float)
        depth = np.array([58, 75, 95, 105, 112, 115, 108, 106, 108, 100, 80], float)
        if female:
            width = width * np.array([1, 1, 0.92, 0.92, 0.94, 0.95, 0.96, 1.03, 1.06, 1.05, 1.0])
        belly = np.exp(-(((knots - 0.37) / 0.07) ** 2)) * (b - 1.0) * 110.0
        width = width * s * b**0.75 * self.p.trunk_width
        depth = depth * s * (0.6 + 0.4 * b) + belly * s
        dz = 10.0
        zs = np.arange(self.z(knots[0]), self.z(knots[-1]) + dz, dz)
        fr = (zs - self.p.head_top_mm) / self.p.height_mm
        w = np.interp(fr, knots, width)
        d = np.interp(fr, knots, depth)
        self.trunk_width = lambda f: float(np.interp(f, knots, width))  # noqa: E731
        self.trunk_depth = lambda f: float(np.interp(f, knots, depth))  # noqa: E731
        return Section(float(zs[0]), dz, w, d, np.full_like(w, self.mx), self.table_y - d)

    def front_of_trunk(self, fraction: float) -> float:
        """Depth (mm) of the anterior skin at the midline at a stature fraction."""
        return self.table_y - 2.0 * self.trunk_depth(fraction)

    def breasts(self) -> None:
        """Two breasts of ``breast_ml`` each, flattened and falling laterally as in a supine patient [E].

        Half of an ellipsoid (semi-axes 0.9 b, b, 0.5 b) stands out of the chest wall, so
        ``V = (2/3) pi 0.45 b^3``; the depth is capped so the breast stays inside the voxel grid.
        """
        volume = self.p.breast_ml * 1000.0
        b = (volume / (2.0 / 3.0 * math.pi * 0.45)) ** (1.0 / 3.0)
        f = 0.275
        front = self.front_of_trunk(f)
        depth = min(0.5 * b, front - 4.0)
        for side in (-1, 1):
            centre = (self.z(f), self.mx + side * 0.55 * self.trunk_width(f), front + 0.25 * depth + 15.0 * self.s)
            self.soft.append(Ellipsoid(centre, (0.9 * b, b, depth)))

    # -- skeleton ----------------------------------------------------------------------------------------
    def build(self) -> None:
        s = self.s
        self.soft.append(self.trunk())
        if self.p.breast_ml > 0:
            self.breasts()
        self.head_pivot = np.array([self.z(0.112), self.mx, self.table_y - 62.0 * s])
        self.head()
        self.spine()
        self.ribs_and_sternum()
        for side in (-1, 1):
            self.shoulder_girdle(side)
            self.arm(side)
            self.hip(side)
            self.leg(side)
        self.sacrum()
        self.landmarks["pubis"] = (self.z(0.495), self.mx, self.front_of_trunk(0.495) + 25.0 * s)
        self.finish_landmarks()

    def head(self) -> None:
        s, mx, ty = self.s, self.mx, self.table_y
        top = self.p.head_top_mm
        y_head = ty - 22.0 - 95.0 * s
        cz = top + 8.0 + 98.0 * s
        outer = Ellipsoid((cz, mx, y_head), (98.0 * s, 72.0 * s, 94.0 * s))
        # The cavity sits 4 mm towards the skull base and is shallower front to back: the calvarium is
        # thicker at the vertex, frontal and occipital bones (12-14 mm) than at the temporal squama (8 mm) [E].
        inner = Ellipsoid((cz + 4.0 * s, mx, y_head + 1.0 * s), (88.0 * s, 64.0 * s, 82.0 * s))
        face_z = top + 8.0 + 165.0 * s
        face = Ellipsoid((face_z, mx, y_head - 50.0 * s), (36.0 * s, 40.0 * s, 30.0 * s))
        maxilla = Ellipsoid((face_z + 14.0 * s, mx, y_head - 62.0 * s), (14.0 * s, 30.0 * s, 16.0 * s))
        nasal = Capsule((face_z - 42.0 * s, mx, y_head - 82.0 * s), (face_z - 8.0 * s, mx, y_head - 80.0 * s), 7.0 * s)
        base = Ellipsoid((cz + 55.0 * s, mx, y_head + 8.0 * s), (14.0 * s, 52.0 * s, 24.0 * s))
        parts: list[tuple] = [(outer, "skull"), (face, "face"), (maxilla, "maxilla"), (nasal, "face"), (base, "skull_base")]
        # Vertex/frontal and occipital thickening: brighter caps of the calvarium.
        parts.append((Ellipsoid((cz - 70.0 * s, mx, y_head - 10.0 * s), (30.0 * s, 50.0 * s, 62.0 * s)), "calvarium"))
        parts.append((Ellipsoid((cz + 20.0 * s, mx, y_head + 86.0 * s), (40.0 * s, 40.0 * s, 10.0 * s)), "calvarium"))
        for side in (-1, 1):
            zygoma = (face_z - 8.0 * s, mx + side * 52.0 * s, y_head - 42.0 * s)
            parts.append((Capsule((face_z - 6.0 * s, mx + side * 26.0 * s, y_head - 66.0 * s), zygoma, 7.5 * s), "face"))
            parts.append((Capsule(zygoma, (cz + 40.0 * s, mx + side * 64.0 * s, y_head + 5.0 * s), 5.0 * s), "face"))
            # petrous ridge: from the mastoid (lateral, posterior) to the clivus (medial, anterior)
            parts.append((Capsule((cz + 52.0 * s, mx + side * 58.0 * s, y_head + 40.0 * s),
                                  (cz + 44.0 * s, mx + side * 12.0 * s, y_head + 5.0 * s), 8.0 * s), "skull_base"))
            # greater wing of the sphenoid
            parts.append((Capsule((cz + 30.0 * s, mx + side * 18.0 * s, y_head - 20.0 * s),
                                  (cz + 20.0 * s, mx + side * 55.0 * s, y_head - 30.0 * s), 5.0 * s), "skull_base"))
        orbits = [Ellipsoid((face_z - 28.0 * s, mx + side * 22.0 * s, y_head - 72.0 * s), (15.0 * s, 14.0 * s, 26.0 * s)) for side in (-1, 1)]
        self.add_bone("skull", parts, holes=[inner] + orbits, group="head")
        self.landmarks["skull_inner"] = (inner.centre, tuple(v - 3.0 for v in inner.semi))
        chin = (top + 0.128 * self.p.height_mm, mx, y_head - 82.0 * s)
        pts = []
        for side in (-1, 1):
            pts.append([(cz + 72.0 * s, mx + side * 50.0 * s, y_head + 6.0 * s), (top + 205.0 * s, mx + side * 46.0 * s, y_head - 18.0 * s)])
        chain = [pts[0][0], pts[0][1], chin, pts[1][1], pts[1][0]]
        mandible = [(Capsule(a, b, 6.5 * s), "mandible") for a, b in zip(chain[:-1], chain[1:])]
        mandible += [(Capsule(c, c, 8.0 * s), "joint") for c in (chain[0], chain[-1])]  # condyles (TMJ)
        mandible.append((Capsule((chin[0] - 8.0 * s, mx - 18.0 * s, chin[2] + 6.0 * s), (chin[0] - 8.0 * s, mx + 18.0 * s, chin[2] + 6.0 * s), 8.0 * s), "maxilla"))
        self.add_bone("mandible", mandible, path=chain, group="head")
        self.landmarks["chin"] = chin
        self.landmarks["face"] = face.centre
        head_soft = Ellipsoid((top + 116.0 * s, mx, y_head - 4.0), (118.0 * s, 80.0 * s, 104.0 * s))
        self.soft.append(self.moved(head_soft, "head", 1.0) if self.head_rotation is not None else head_soft)
        neck_r = 56.0 * s * self.p.build**0.6
        self.soft.append(Capsule((top + 185.0 * s, mx, ty - neck_r - 8.0), (self.z(0.175), mx, ty - neck_r), neck_r))

    def spine(self) -> None:
        s, mx, ty, b = self.s, self.mx, self.table_y, self.p.build
        levels = [(f"C{i}", 0.110 + (i - 1) * 0.0100, 0.0100) for i in range(1, 8)]
        levels += [(f"T{i}", 0.180 + (i - 1) * 0.01375, 0.01375) for i in range(1, 13)]
        levels += [(f"L{i}", 0.345 + (i - 1) * 0.0200, 0.0200) for i in range(1, 6)]
        back = 18.0 * (b - 1.0)
        self.vertebra_z: dict[str, float] = {}
        for index, (name, top_fraction, height_fraction) in enumerate(levels):
            cz = self.z(top_fraction + height_fraction / 2)
            level_h = height_fraction * self.p.height_mm
            region = name[0]
            if region == "C":
                radius, from_back, process = 9.5 * s, 62.0 * s, 14.0 * s
            elif region == "T":
                k = int(name[1:])
                radius = (12.0 + 5.0 * (k - 1) / 11.0) * s
                from_back = (66.0 - 10.0 * math.sin(math.pi * (k - 1) / 11.0)) * s + back
                process = 24.0 * s
            else:
                k = int(name[1:])
                radius = (19.0 + 1.0 * k) * s
                from_back = (78.0 + 8.0 * math.sin(math.pi * (k - 0.5) / 5.0)) * s + 1.5 * back
                process = 32.0 * s
            y = ty - from_back
            # By default bodies fill 92 % of a level: thin disc gaps that the camera's blur closes (a continuous
            # column); ``disc_fraction`` widens the gaps (a beaded column, each body apart).
            half_h = 0.5 * (1.0 - self.p.disc_fraction) * level_h
            body = Capsule((cz - half_h, mx, y), (cz + half_h, mx, y), radius, flat=True)
            arch_y = y + radius + 6.0 * s
            # spinous processes slope caudally and nearly touch the next one (a thin line, not beads)
            spinous_tip = (cz + 0.6 * level_h, mx, min(arch_y + 30.0 * s, ty - 10.0))
            lamina = (cz - 0.2 * level_h, mx, arch_y)
            level_uptake = spine_uptake(name)
            parts: list[tuple] = [(body, "vertebral_body", level_uptake)]
            parts.append((Capsule(lamina, spinous_tip, 3.5 * s), "vertebral_arch", level_uptake))
            for side in (-1, 1):
                pedicle = (cz, mx + side * 0.7 * radius, y + 0.7 * radius)
                parts.append((Capsule(pedicle, (cz, mx + side * 0.3 * radius, arch_y), 4.5 * s), "vertebral_arch", level_uptake))
                parts.append((Capsule(pedicle, (cz, mx + side * (radius + process), arch_y - 2.0), 4.0 * s), "vertebral_arch", level_uptake))
                # articular pillar: superior to inferior facet, touching the next level's (a posterior column)
                pillar_x = mx + side * 0.62 * radius
                parts.append((Capsule((cz - 0.5 * level_h, pillar_x, arch_y - 2.0 * s), (cz + 0.5 * level_h, pillar_x, arch_y - 2.0 * s), 4.5 * s), "facet", level_uptake))
            self.add_bone(name, parts, body={"centre": [cz, mx, y], "radius": radius, "half_height": half_h}, group="spine")
            self.vertebra_z[name] = cz
            self.landmarks[name] = (cz, mx, y)
            self.landmarks[name + "_radius"] = (radius, half_h, 0.0)

    def ribs_and_sternum(self) -> None:
        s, mx, ty, b = self.s, self.mx, self.table_y, self.p.build
        widths = np.array([62, 92, 110, 120, 127, 131, 133, 133, 131, 126, 116, 104], float) * s * (0.93 + 0.07 * b)
        depths = np.array([42, 58, 68, 76, 81, 85, 87, 87, 85, 81, 74, 64], float) * s * (0.9 + 0.1 * b)
        ends = np.radians([150, 152, 150, 148, 146, 144, 140, 132, 126, 118, 100, 80])
        drops = np.array([30, 55, 70, 80, 88, 92, 95, 95, 90, 80, 55, 40], float) * s
        back_tissue = 28.0 * s + 25.0 * (b - 1.0)
        level = self.p.height_mm * 0.01375
        for side, side_name in ((1, "left"), (-1, "right")):
            for i in range(12):
                vz, _, vy = self.landmarks[f"T{i + 1}"]
                vr = self.landmarks[f"T{i + 1}_radius"][0]
                centre_y = ty - back_tissue - depths[i]
                start_theta = math.radians(32.0)
                thetas = np.linspace(start_theta, ends[i], 10)
                progress = (thetas - start_theta) / (ends[i] - start_theta)
                zs = vz + 0.25 * level + drops[i] * progress**1.35
                xs = mx + side * widths[i] * np.sin(thetas)
                ys = centre_y + depths[i] * np.cos(thetas)
                head = (vz, mx + side * (vr + 5.0 * s), vy + 0.6 * vr)
                points = [head] + list(zip(zs, xs, ys))
                # Thin ribs that taper and fade towards the costal cartilage [E]: fainter than the spine.
                base = 7.5 if i == 0 else 7.0
                parts: list[tuple] = []
                for k, (a, c) in enumerate(zip(points[:-1], points[1:])):
                    t = k / (len(points) - 2)
                    parts.append((Capsule(a, c, (base - 1.5 * t) * s), "rib", 1.1 - 0.1 * t))
                parts.append((Capsule(head, points[1], 6.0 * s), "costovertebral"))
                self.add_bone(f"rib_{side_name}_{i + 1}", parts, path=points, group="thorax")
        # the sternum lies at the front of the rib cage (whose ellipses span back_tissue .. back_tissue + 2 depth)
        front = ty - back_tissue - 2.0 * depths[3] + 12.0 * s
        notch = self.vertebra_z["T2"]
        xiphoid = self.vertebra_z["T9"]
        manubrium = Capsule((notch + 6.0 * s, mx, front + 6.0), (notch + 38.0 * s, mx, front + 2.0), 18.0 * s)
        corpus = Capsule((notch + 50.0 * s, mx, front), (xiphoid, mx, front - 10.0 * s), 14.0 * s)
        joints = [(Capsule((notch + 4.0 * s, mx + side * 18.0 * s, front + 8.0), (notch + 4.0 * s, mx + side * 18.0 * s, front + 8.0), 10.0 * s),
                   "sternoclavicular") for side in (-1, 1)]
        self.add_bone("sternum", [(manubrium, "manubrium"), (corpus, "sternum")] + joints,
                      path=[manubrium.a, manubrium.b, corpus.a, corpus.b], group="thorax")
        self.landmarks["manubriosternal"] = (notch + 44.0 * s, mx, front)
        self.sternum_front = front
        self.shoulder_half = 200.0 * s * (0.9 if self.p.sex == "female" else 1.0) * (0.95 + 0.05 * b) * self.p.trunk_width
        self.chest_centre_y = ty - back_tissue - depths[4]

    def shoulder_girdle(self, side: int) -> None:
        s, mx, ty = self.s, self.mx, self.table_y
        name = "left" if side > 0 else "right"
        notch = self.vertebra_z["T2"]
        half = self.shoulder_half
        shoulder = (notch - 8.0 * s, mx + side * (half - 28.0 * s), self.chest_centre_y + 25.0 * s)
        self.landmarks[f"shoulder_{name}"] = shoulder
        sternal_end = (notch, mx + side * 22.0 * s, self.sternum_front + 4.0)
        middle = (notch - 10.0 * s, mx + side * 0.55 * half, self.sternum_front + 14.0 * s)
        acromial = (notch - 22.0 * s, mx + side * (half - 14.0 * s), self.chest_centre_y + 30.0 * s)
        self.add_bone(f"clavicle_{name}", [(Capsule(sternal_end, middle, 6.5 * s), "clavicle"),
                                           (Capsule(middle, acromial, 6.0 * s), "clavicle"),
                                           (Capsule(acromial, acromial, 8.0 * s), "acromion")],
                      path=[sternal_end, middle, acromial], group="thorax")
        y_plate = ty - 30.0 * s - 20.0 * (self.p.build - 1.0)
        t2, t8 = self.vertebra_z["T2"], self.vertebra_z["T8"]
        plate = Ellipsoid(((t2 + t8) / 2, mx + side * 100.0 * s, y_plate), ((t8 - t2) / 2 + 5.0, 42.0 * s, 7.0 * s))
        spine_of_scapula = Capsule((self.vertebra_z["T3"], mx + side * 68.0 * s, y_plate + 2.0), acromial, 6.0 * s)
        glenoid = Capsule(((t2 + t8) / 2 - 20.0 * s, mx + side * (half - 60.0 * s), y_plate - 15.0 * s), shoulder, 11.0 * s)
        lateral = Capsule(shoulder, (t8, mx + side * 88.0 * s, y_plate), 6.0 * s)
        self.add_bone(f"scapula_{name}", [(plate, "scapula"), (spine_of_scapula, "scapula_edge"),
                                         (glenoid, "scapula_edge"), (Capsule(shoulder, shoulder, 12.0 * s), "glenoid"),
                                         (lateral, "scapula_edge")], group="thorax")
        if self.deformed:  # the arm moves with the shoulder girdle (rigidly)
            self.arm_shift[f"arm_{name}"] = np.subtract(self._curved(shoulder), shoulder)

    def _curved(self, point) -> np.ndarray:
        """``point`` moved by the spine curve as a thorax point (no elastic term)."""
        dx, dy = self.curve(point[0])
        weight = 0.4 + 0.6 * math.exp(-(((point[1] - self.mx) / 60.0) ** 2))
        return np.array([point[0], point[1] + dx * weight, point[2] + dy * weight])

    def arm(self, side: int) -> None:
        s, mx, ty, b, p = self.s, self.mx, self.table_y, self.p.build, self.p
        name = "left" if side > 0 else "right"
        group = f"arm_{name}"
        shoulder = self.landmarks[f"shoulder_{name}"]
        arm_r = 44.0 * s * b**0.8
        fore_r = 36.0 * s * b**0.7
        z_elbow, z_wrist = self.zl("elbow", 0.37), self.zl("wrist", 0.515)
        waist = self.trunk_width(0.37)
        gap = {"sides": 8.0, "sides_wide": 55.0, "abdomen": 8.0}.get(p.arm_position, 8.0) + self.rng.uniform(0, 15)
        x_elbow = mx + side * (waist + arm_r + gap)
        elbow = (z_elbow, x_elbow, ty - arm_r)
        if p.arm_position == "raised":
            # Upper arm raised 5-25 deg from vertical beside the head (the elbow kept inside the field of view),
            # forearm bent towards the midline and 10-35 deg upwards, the hands over the head [E].
            upper = (0.37 - 0.18) * p.height_mm
            fore = (0.515 - 0.37) * p.height_mm
            angles = p.arm_angles or [15.0, 15.0, 20.0, 20.0]
            limit = min(self.grid.cols * self.grid.col_mm - mx, mx) - 0.6 * arm_r  # room beside the midline
            lateral = min(abs(shoulder[1] - mx) + upper * math.sin(math.radians(angles[0 if side < 0 else 1])), limit)
            a = math.asin(float(np.clip((lateral - abs(shoulder[1] - mx)) / upper, -1.0, 1.0)))
            elbow = (shoulder[0] - upper * math.cos(a), mx + side * lateral, ty - arm_r)
            e = math.radians(angles[2 if side < 0 else 3])
            wrist = (elbow[0] - fore * math.sin(e), elbow[1] - side * fore * math.cos(e), ty - fore_r)
            finger_dir = np.array([-math.sin(e), -side * math.cos(e), 0.0])
            spread_dir = np.array([-finger_dir[1], finger_dir[0], 0.0])
        elif p.arm_position == "abdomen":
            f_wrist = 0.43
            wrist = (self.z(f_wrist), mx + side * 75.0 * s, self.front_of_trunk(f_wrist) - fore_r * 0.6)
            finger_dir = np.array([0.35, -side * 0.94, 0.0])
            spread_dir = np.array([0.94, side * 0.35, 0.0])
        elif p.arm_position == "thighs":
            # The wrist on the front of the upper thigh over the femoral shaft (the thigh's soft tissue, which
            # :meth:`leg` draws about the table), the fingers towards the knee, a little inwards [E].
            wrist = (self.z(0.50), mx + side * 125.0 * s * b**0.6, ty - 1.9 * self.thigh_radius())
            finger_dir = np.array([0.98, -side * 0.2, 0.0])
            spread_dir = np.array([side * 0.2, 0.98, 0.0])
        else:
            hip_width = self.trunk_width(0.47)
            x_wrist = mx + side * max(hip_width + fore_r + gap, abs(x_elbow - mx) - 5.0)
            wrist = (z_wrist, x_wrist, ty - fore_r)
            finger_dir = np.array([1.0, side * 0.05, 0.0])
            spread_dir = np.array([0.0, 0.3, 0.95])
        # The elbow and wrist are both on the limb axis; bones lie a little above the table (inside the arm).
        ax = np.subtract(elbow, shoulder)
        perp = np.cross(ax, [0.0, 0.0, 1.0])
        perp = perp / (np.linalg.norm(perp) + 1e-9) * 18.0 * s
        humerus = [(Capsule(shoulder, shoulder, 24.0 * s), "humeral_head")]
        humerus += self.long_bone(shoulder, elbow, 11.0 * s, 13.0 * s, ends=(False, True))
        humerus.append((Capsule(tuple(np.add(elbow, perp)), tuple(np.subtract(elbow, perp)), 10.0 * s), "joint"))
        self.add_bone(f"humerus_{name}", humerus, path=[shoulder, elbow], group=group)
        fx = np.subtract(wrist, elbow)
        fperp = np.cross(fx, [0.0, 0.0, 1.0])
        fperp = fperp / (np.linalg.norm(fperp) + 1e-9)
        offset_r = side * 5.0 * s * fperp + np.array([0.0, 0.0, -7.0 * s])
        offset_u = -side * 5.0 * s * fperp + np.array([0.0, 0.0, 7.0 * s])
        self.add_bone(f"radius_{name}", self.long_bone(np.add(elbow, offset_r), np.add(wrist, offset_r), 6.0 * s, 8.0 * s,
                                                       ends=(False, True), n=4, end_kind="wrist", shaft_kind="forearm"),
                      path=[elbow, wrist], group=group)
        self.add_bone(f"ulna_{name}", self.long_bone(np.add(elbow, offset_u), np.add(wrist, offset_u), 5.5 * s, 7.0 * s,
                                                     n=4, end_kind="wrist", shaft_kind="forearm"),
                      path=[elbow, wrist], group=group)
        wrist_v = np.asarray(wrist, float)
        carpus_c = wrist_v + finger_dir * 22.0 * s
        parts: list[tuple] = [(Capsule(tuple(carpus_c - spread_dir * 12 * s), tuple(carpus_c + spread_dir * 12 * s), 11.0 * s), "hand")]
        for k in (-1.5, -0.5, 0.5, 1.5):
            base = carpus_c + finger_dir * 14.0 * s + spread_dir * k * 10.0 * s
            tip = base + finger_dir * 100.0 * s + spread_dir * k * 5.0 * s
            parts.append((Capsule(tuple(base), tuple(tip), 4.5 * s), "hand"))
        thumb_base = carpus_c - spread_dir * 18.0 * s
        parts.append((Capsule(tuple(thumb_base), tuple(thumb_base + finger_dir * 55.0 * s - spread_dir * 20.0 * s), 5.0 * s), "hand"))
        self.add_bone(f"hand_{name}", parts, path=[tuple(wrist_v), tuple(carpus_c + finger_dir * 110 * s)], group=group)
        self.landmarks[f"elbow_{name}"] = elbow
        self.landmarks[f"wrist_{name}"] = wrist
        self.landmarks[f"thumb_{name}"] = tuple(thumb_base)
        hand_c = carpus_c + finger_dir * 55.0 * s
        self.landmarks[f"hand_{name}"] = tuple(hand_c)
        self.soft += [Capsule(shoulder, elbow, arm_r), Capsule(elbow, wrist, fore_r),
                      Capsule(tuple(wrist_v), tuple(hand_c + finger_dir * 40 * s), 24.0 * s)]
        self.landmarks[f"arm_radius_{name}"] = (arm_r, fore_r, 0.0)

    def hip(self, side: int) -> None:
        s, mx, ty, b = self.s, self.mx, self.table_y, self.p.build
        name = "left" if side > 0 else "right"
        female = self.p.sex == "female"
        wide = 1.08 if female else 1.0
        y_sacrum = ty - 45.0 * s - 25.0 * (b - 1.0)
        y_hip = y_sacrum - 62.0 * s
        y_pubis = y_sacrum - 112.0 * s
        z_crest = self.vertebra_z["L4"]
        z_hip = self.z(0.475)
        hip_c = (z_hip, mx + side * 88.0 * s * wide, y_hip)
        self.landmarks[f"hip_{name}"] = hip_c
        wing = Ellipsoid((z_crest + 55.0 * s, mx + side * 95.0 * s * wide, y_sacrum - 30.0 * s), (50.0 * s, 48.0 * s, 11.0 * s))
        crest = [(z_crest + 12.0 * s, mx + side * 48.0 * s, y_sacrum - 8.0 * s),
                 (z_crest - 2.0 * s, mx + side * 105.0 * s * wide, y_sacrum - 35.0 * s),
                 (z_crest + 35.0 * s, mx + side * 130.0 * s * wide, y_sacrum - 85.0 * s)]
        parts: list[tuple[Primitive, str]] = [(wing, "ilium")]
        parts += [(Capsule(a, c, 7.5 * s), "iliac_crest") for a, c in zip(crest[:-1], crest[1:])]
        z_s1 = self.z(0.455)
        parts.append((Capsule((z_s1, mx + side * 38.0 * s, y_sacrum - 5.0 * s), (z_s1 + 55.0 * s, mx + side * 30.0 * s, y_sacrum + 2.0), 8.0 * s), "sacroiliac"))
        parts.append((Capsule((z_crest + 70.0 * s, mx + side * 90.0 * s * wide, y_sacrum - 30.0 * s), hip_c, 17.0 * s), "ilium"))
        parts.append((Capsule(hip_c, hip_c, 27.0 * s), "acetabulum"))
        symphysis = (z_hip + 22.0 * s, mx + side * 12.0 * s, y_pubis)
        tuber = (z_hip + 55.0 * s, mx + side * 55.0 * s, y_hip + 10.0 * s)
        parts.append((Capsule(hip_c, symphysis, 9.0 * s), "pubis"))
        parts.append((Capsule(symphysis, (z_hip + 52.0 * s, mx + side * 22.0 * s, y_pubis + 10.0 * s), 8.0 * s), "pubis"))
        parts.append((Capsule((z_hip + 52.0 * s, mx + side * 22.0 * s, y_pubis + 10.0 * s), tuber, 8.0 * s), "pubis"))
        parts.append((Capsule(hip_c, tuber, 12.0 * s), "ilium"))
        self.add_bone(f"hip_{name}", parts, path=crest + [hip_c, symphysis])
        self.landmarks[f"sacroiliac_{name}"] = (z_s1 + 25.0 * s, mx + side * 34.0 * s, y_sacrum)
        self.y_sacrum = y_sacrum
        self.landmarks["symphysis"] = (z_hip + 22.0 * s, mx, y_pubis)

    def sacrum(self) -> None:
        s, mx = self.s, self.mx
        z_s1 = self.z(0.455)
        y = self.y_sacrum
        top = Ellipsoid((z_s1 + 30.0 * s, mx, y), (38.0 * s, 40.0 * s, 16.0 * s))
        lower = Capsule((z_s1 + 50.0 * s, mx, y + 4.0), (z_s1 + 105.0 * s, mx, y - 8.0 * s), 12.0 * s)
        self.add_bone("sacrum", [(top, "sacrum"), (lower, "sacrum")], path=[top.centre, lower.b])
        self.landmarks["sacrum"] = top.centre

    def thigh_radius(self) -> float:
        """Radius (mm) of the thigh's soft tissue, which :meth:`leg` draws and a hand resting on it (:meth:`arm`) lies on."""
        return 76.0 * self.s * self.p.build**0.8

    def leg(self, side: int) -> None:
        s, mx, ty, b, p = self.s, self.mx, self.table_y, self.p.build, self.p
        name = "left" if side > 0 else "right"
        hip_c = self.landmarks[f"hip_{name}"]
        thigh_r = self.thigh_radius()
        calf_r = 52.0 * s * b**0.6
        z_knee, z_ankle = self.zl("knee", 0.715), self.zl("ankle", 0.958)
        x_knee = mx + side * (78.0 * s * b**0.5 + p.leg_spread_mm * 0.5)
        x_ankle = mx + side * (70.0 * s + p.leg_spread_mm)
        y_knee = ty - 52.0 * s * b**0.5
        y_ankle = ty - 45.0 * s
        knee = (z_knee, x_knee, y_knee)
        ankle = (z_ankle, x_ankle, y_ankle)
        troch = (hip_c[0] + 18.0 * s, hip_c[1] + side * 58.0 * s, hip_c[2] + 8.0 * s)
        shaft_top = (troch[0] + 25.0 * s, troch[1] - side * 15.0 * s, troch[2])
        distal = (z_knee - 18.0 * s, x_knee, y_knee)
        parts: list[tuple] = [
            (Capsule(hip_c, hip_c, 23.0 * s), "femoral_head"),
            (Capsule(hip_c, troch, 14.0 * s), "femoral_head"),
            (Capsule(troch, troch, 17.0 * s), "trochanter"),
        ]
        parts += self.long_bone(shaft_top, distal, 13.0 * s, 17.0 * s, ends=(True, True), n=7)
        parts += [
            (Capsule((distal[0], x_knee - 24.0 * s, y_knee), (distal[0], x_knee + 24.0 * s, y_knee), 18.0 * s), "knee"),
            (Ellipsoid((z_knee - 22.0 * s, x_knee, y_knee - 42.0 * s), (20.0 * s, 20.0 * s, 10.0 * s)), "patella"),
        ]
        self.add_bone(f"femur_{name}", parts, path=[hip_c, troch, shaft_top, distal])
        plateau_z = z_knee + 16.0 * s
        tibia_top = (plateau_z + 15.0 * s, x_knee, y_knee)
        tibia_bottom = (z_ankle - 22.0 * s, x_ankle, y_ankle)
        medial = -side
        tibia = [(Capsule((plateau_z, x_knee - 22.0 * s, y_knee), (plateau_z, x_knee + 22.0 * s, y_knee), 14.0 * s), "knee")]
        tibia += self.long_bone(tibia_top, tibia_bottom, 12.0 * s, 15.0 * s, n=7)
        tibia.append((Capsule((z_ankle - 10.0 * s, x_ankle + medial * 12.0 * s, y_ankle), (z_ankle, x_ankle + medial * 14.0 * s, y_ankle), 11.0 * s), "ankle"))
        self.add_bone(f"tibia_{name}", tibia, path=[(plateau_z, x_knee, y_knee), tibia_top, tibia_bottom])
        fib_top = (z_knee + 28.0 * s, x_knee + side * 30.0 * s, y_knee + 10.0 * s)
        fib_bottom = (z_ankle + 5.0 * s, x_ankle + side * 24.0 * s, y_ankle + 8.0 * s)
        self.add_bone(f"fibula_{name}", [(Capsule(fib_top, fib_bottom, 6.0 * s), "shaft"),
                                         (Capsule(fib_top, fib_top, 8.0 * s), "metaphysis"),
                                         (Capsule(fib_bottom, fib_bottom, 9.0 * s), "ankle")], path=[fib_top, fib_bottom])
        rot = math.radians(self.rng.uniform(5.0, 25.0)) * side  # feet fall outward
        toe_dir = np.array([0.25, math.sin(rot), -math.cos(rot)])
        toe_dir /= np.linalg.norm(toe_dir)
        ankle_v = np.asarray(ankle, float)
        heel = ankle_v + np.array([28.0 * s, 0.0, 20.0 * s])
        foot = [(Capsule(tuple(heel), tuple(ankle_v + np.array([8.0 * s, 0.0, -10.0 * s])), 19.0 * s), "foot"),
                (Capsule(tuple(ankle_v), tuple(ankle_v), 19.0 * s), "foot")]
        mid = ankle_v + toe_dir * 60.0 * s
        across = np.array([0.0, math.cos(rot), math.sin(rot)])
        for k in (-2, -1, 0, 1, 2):
            base = mid + across * k * 9.0 * s
            tip = mid + toe_dir * 100.0 * s + across * k * 13.0 * s
            foot.append((Capsule(tuple(base), tuple(tip), 5.5 * s), "foot"))
        foot.append((Capsule(tuple(ankle_v + toe_dir * 20 * s), tuple(mid), 15.0 * s), "foot"))
        self.add_bone(f"foot_{name}", foot, path=[tuple(heel), tuple(mid), tuple(mid + toe_dir * 100 * s)])
        self.landmarks[f"knee_{name}"] = knee
        self.landmarks[f"ankle_{name}"] = ankle
        self.landmarks[f"thigh_{name}"] = (hip_c[0] + 120.0 * s, (hip_c[1] + x_knee) / 2, ty - thigh_r)
        thigh_top = (hip_c[0] - 30.0 * s, mx + side * 85.0 * s * b**0.6, ty - thigh_r)
        self.soft += [
            Capsule(thigh_top, (z_knee - 40.0 * s, x_knee, ty - thigh_r * 0.85), thigh_r),
            Capsule((z_knee - 40.0 * s, x_knee, ty - calf_r * 1.2), (z_knee + 120.0 * s, (x_knee + x_ankle) / 2, ty - calf_r), calf_r * 1.2),
            Capsule((z_knee + 120.0 * s, (x_knee + x_ankle) / 2, ty - calf_r), (z_ankle, x_ankle, ty - 35.0 * s), calf_r),
            Capsule(tuple(heel), tuple(ankle_v + toe_dir * 170.0 * s), 34.0 * s),
        ]


def _organs(builder: _Builder, rng: np.random.Generator, cfg: AnatomyConfig, renal_scale: float) -> tuple[list[Organ], dict]:
    """Kidneys, bladder and optional free-pertechnetate organs; returns them and the facts for the metadata."""
    s, mx, ty, b = builder.s, builder.mx, builder.table_y, builder.p.build
    grid = builder.grid
    organs: list[Organ] = []
    facts: dict = {}

    def log_uniform(lo_hi):
        lo, hi = lo_hi
        return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))

    def add(name: str, prims: list[Primitive], concentration: float) -> None:
        block = rasterise([(p, concentration) for p in prims], grid)
        if block is not None:
            organs.append(Organ(name, block))

    kidney = log_uniform(cfg.kidney_ratio) * renal_scale
    facts["kidney_ratio"] = round(kidney, 3)
    if kidney > 0:
        for side, z_name in ((-1, "L1"), (1, "T12")):
            cz = builder.vertebra_z[z_name] + 10.0 * s
            centre = (cz, mx + side * 62.0 * s, ty - 70.0 * s - 20.0 * (b - 1.0))
            add(f"kidney_{'left' if side > 0 else 'right'}", [Ellipsoid(centre, (52.0 * s, 27.0 * s, 24.0 * s))], kidney)
    volume = log_uniform(cfg.bladder_ml)
    urine = log_uniform(cfg.bladder_ratio) * (0.4 + 0.6 * renal_scale)
    radius = (3.0 * volume / (4.0 * math.pi)) ** (1.0 / 3.0) * 10.0
    zs, _, ys = builder.landmarks["symphysis"]
    centre = (zs - 0.75 * radius, mx + rng.normal(0, 5.0), ys + 0.95 * radius)
    add("bladder", [Ellipsoid(centre, (0.85 * radius, 1.15 * radius, 0.95 * radius))], urine)
    facts.update(bladder_ml=round(volume, 1), bladder_ratio=round(urine, 2))
    builder.landmarks["bladder"] = centre
    if rng.random() < cfg.p_thyroid:
        z = builder.vertebra_z["C7"]
        yf = ty - 2.0 * 56.0 * s * b**0.6 - 8.0 + 18.0
        thyroid = log_uniform((4.0, 15.0))
        add("thyroid", [Ellipsoid((z, mx + k * 16.0 * s, yf), (20.0 * s, 9.0 * s, 9.0 * s)) for k in (-1, 1)], thyroid)
        chin = builder.landmarks["chin"]
        add("salivary", [Ellipsoid((chin[0] - 40.0 * s, mx + k * 45.0 * s, chin[2] + 50.0 * s), (18.0 * s, 10.0 * s, 14.0 * s)) for k in (-1, 1)], thyroid * 0.4)
        add("stomach", [Ellipsoid((builder.vertebra_z["T11"], mx + 70.0 * s, builder.front_of_trunk(0.33) + 45.0 * s), (45.0 * s, 38.0 * s, 30.0 * s))], thyroid * 0.25)
        facts["free_pertechnetate"] = True
    # Brain and aerated lung hold little tracer: lower the soft-tissue concentration there [E].
    skull = builder.landmarks["skull_inner"]
    rotation = None if builder.head_rotation is None else tuple(tuple(float(c) for c in row) for row in builder.head_rotation)
    add("brain", [Ellipsoid(skull[0], skull[1], rotation)], -0.75)
    for side in (-1, 1):
        t3, t10 = builder.vertebra_z["T3"], builder.vertebra_z["T10"]
        centre = ((t3 + t10) / 2, mx + side * 75.0 * s, builder.chest_centre_y)
        add(f"{LUNG_PREFIX}{'left' if side > 0 else 'right'}", [Ellipsoid(centre, ((t10 - t3) / 2, 55.0 * s, 70.0 * s))], -0.6)
    return organs, facts


def randomiser_facts(body: PatientBody) -> dict:
    """The anatomy randomisers' draws that differ from "off", rounded for the metadata (empty by default)."""
    facts: dict = {}
    for name, off in (("trunk_width", 1.0), ("breast_ml", 0.0), ("head_tilt_deg", 0.0), ("head_flexion_deg", 0.0),
                      ("scoliosis_cobb_deg", 0.0), ("kyphosis_deg", 0.0), ("bone_thickness", 1.0),
                      ("disc_fraction", DISC_FRACTION)):
        value = getattr(body, name)
        if value != off:
            facts[name] = round(float(value), 3)
    if body.scoliosis_cobb_deg:
        facts["scoliosis_shape"] = body.scoliosis_shape
    if body.elastic_waves:
        facts["elastic"] = True
    if body.proportions:
        facts["proportions"] = {k: round(v, 4) for k, v in body.proportions.items()}
    if body.uptake_groups:
        facts["uptake_groups"] = {k: round(v, 3) for k, v in body.uptake_groups.items()}
    return facts


def build_anatomy(body: PatientBody, grid: Grid, rng: np.random.Generator, cfg: AnatomyConfig, renal_scale: float = 1.0) -> tuple[Anatomy, dict]:
    """Build the 3-D patient for sampled parameters ``body``.

    Args:
        body: from :func:`sample_body`.
        grid: the voxel grid.
        rng: random generator (per-bone uptake variation, organ sizes).
        cfg: anatomy configuration.
        renal_scale: 1 normally; near 0 for a superscan (absent kidneys).

    Returns:
        The anatomy and a dict of facts for the metadata (bladder filling, kidney ratio, ..., and under
        ``"anatomy"`` the randomisers' draws when any is on).
    """
    builder = _Builder(body, grid, rng, cfg)
    builder.build()
    organs, facts = _organs(builder, rng, cfg, renal_scale)
    drawn = randomiser_facts(body)
    if drawn:
        facts["anatomy"] = drawn
    front, back = union_chord(builder.soft, grid)
    anatomy = Anatomy(grid, body, front, back, builder.table_y, builder.bones, organs, builder.landmarks)
    return anatomy, facts
