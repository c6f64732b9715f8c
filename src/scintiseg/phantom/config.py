"""Typed configuration of the phantom, and named profiles (``default``, ``low-count``, ...).

Each part is a :class:`~scintiseg.config.Config`: a cohort's resolved configuration is stored as
``phantom_config.json`` (:meth:`~scintiseg.config.Config.save_json`, read back with ``from_json``), and a
YAML file of overrides is laid over a profile with :meth:`~scintiseg.config.Config.updated`.

Every range ``(lo, hi)`` is sampled per patient; log-scale ranges say so. Sources for the defaults are in
``../shared/reference/physics.md``; estimates not found there are marked [E] and were tuned against the
real NM1 scan with ``scintiseg phantom calibrate`` (see ``docs/phantom.md``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from scintiseg.config import Config, read_yaml
from scintiseg.errors import ScintisegError
from scintiseg.phantom.sites import unknown_site_groups

#: Arm positions the anatomy draws (:attr:`AnatomyConfig.arm_positions`).
ARM_POSITIONS: tuple[str, ...] = ("sides", "sides_wide", "abdomen", "raised", "thighs")
#: Largest image a phantom is drawn at, rows and columns [choice: four times the whole-body matrix's 1024 x 256
#: each way, 4096 rows by 1024 columns at most; the generator's volumes grow with it, and 100000 x 100000 asked for
#: 75 GiB].
MAX_ROWS, MAX_COLS = 4096, 1024
#: Pixel sizes a phantom is drawn at (mm) [choice: a whole-body camera's matrices span 1.1-4.8 mm].
PIXEL_MM_LIMITS: tuple[float, float] = (0.5, 10.0)
#: Statures the skeleton model is built for (mm) [choice: adults, and room either side; at 10-20 mm the vertebrae
#: it places were not there to place lesions in].
HEIGHT_MM_LIMITS: tuple[float, float] = (1000.0, 2400.0)
#: The shortest field of view the generator draws (mm) [choice: at 452 mm it failed to place the thoracic spine;
#: 900 mm worked, about a thorax and abdomen].
MIN_FIELD_MM = 900.0


def _check_section(config: Config, section: str) -> None:
    """The value rules every part of a phantom configuration keeps, each error naming the key as a YAML file of
    overrides spells it (session 61; before, ``counts: [4e6, 8e5]`` or ``p_thyroid: 2`` reached numpy): a range
    ``(low, high)`` whose low end is not above its high end, a probability (``p_...``) in [0, 1]."""
    for item in dataclasses.fields(config):
        value, key = getattr(config, item.name), f"{section}.{item.name}"
        if item.name.startswith("p_") and isinstance(value, int | float) and not 0.0 <= value <= 1.0:
            raise ScintisegError(f"{key} is a probability, in [0, 1]; got {value!r}")
        if (isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int | float) for v in value)
                and value[0] > value[1]):
            raise ScintisegError(f"{key} is a range [low, high], and its low end {value[0]:g} is above its high end "
                                 f"{value[1]:g}")


def _check_between(key: str, value: float, limits: tuple[float, float], unit: str = "") -> None:
    low, high = limits
    if not low <= value <= high:
        raise ScintisegError(f"{key} must lie in [{low:g}, {high:g}]{unit}, got {value!r}")


@dataclass
class CameraConfig(Config):
    """The gamma camera: image geometry, collimator, attenuation, counts and noise.

    Args:
        rows, cols: image size in pixels (whole-body 1024 x 256).
        pixel_mm: pixel size (square) in mm.
        depth_mm: thickness of the coarse depth slabs of the voxel model.
        depth_group_mm: depth slabs are grouped by distance to the collimator in groups this thick; each group
            is blurred once with the PSF of its mean distance.
        mu_water_per_cm, mu_bone_per_cm: linear attenuation at 140.5 keV (NIST: 0.154, ~0.29).
        mu_lung_per_cm: linear attenuation of aerated lung at 140.5 keV: water's mass attenuation (0.154 cm^2/g)
            times ICRU 44's inflated-lung density, 0.26 g/cm^3 (session 24; before, the lungs attenuated as water).
        hole_diameter_mm, hole_length_mm, mu_lead_per_cm, intrinsic_fwhm_mm: LEHR collimator; the geometric
            FWHM at distance r is ``d (r + L_eff) / L_eff`` with ``L_eff = L - 2 / mu_Pb`` (the
            PyTomography model in physics.md; defaults Siemens Symbia LEHR from the SIMIND table).
        anterior_gap_mm: distance from the most anterior body surface to the anterior collimator.
        posterior_gap_mm: distance from the table top (the patient's back) to the posterior collimator.
        scatter_fraction: scattered counts / primary counts in the window [E] (not found in the sources).
        scatter_sigma_mm: width of the Gaussian that spreads scatter around its origin [E].
        background_cpp: room background, counts per pixel per view [E].
        counts: total counts per view, sampled log-uniformly (physics.md: vary 0.8-4 M).
        p_lehs: probability that the patient is imaged with a low-energy high-sensitivity (LEHS) collimator
            instead of the LEHR one above (0 = always LEHR: the default). Domain randomisation (issue 13:
            "PSF and scatter ranges of LEHR and LEHS collimators").
        lehs_hole_diameter_mm, lehs_hole_length_mm: the LEHS collimator [E]: physics.md and the SIMIND table
            it quotes give no LEHS geometry; 2.3 mm holes of 24.05 mm (the Symbia LEHR length) give a system
            FWHM of 12.8 mm at 10 cm against 7.0 mm for LEHR: high-sensitivity collimators buy about twice
            the sensitivity with a 1.5-2 x wider PSF (a rule of thumb, not from the sources).
        scatter_sigma_scale: factor on ``scatter_sigma_mm``, log-uniform per patient [E]; (1, 1) = off.
            The scatter kernel's width depends on the window, the patient and the camera, none measured.
    """


    rows: int = 1024
    cols: int = 256
    pixel_mm: float = 2.26
    depth_mm: float = 10.0
    depth_group_mm: float = 40.0
    mu_water_per_cm: float = 0.154
    mu_bone_per_cm: float = 0.29
    mu_lung_per_cm: float = 0.04
    hole_diameter_mm: float = 1.11
    hole_length_mm: float = 24.05
    mu_lead_per_cm: float = 26.9
    intrinsic_fwhm_mm: float = 3.8
    anterior_gap_mm: tuple[float, float] = (20.0, 60.0)
    posterior_gap_mm: tuple[float, float] = (15.0, 30.0)
    scatter_fraction: tuple[float, float] = (0.20, 0.35)
    scatter_sigma_mm: float = 20.0
    background_cpp: tuple[float, float] = (0.02, 0.2)
    counts: tuple[float, float] = (0.8e6, 4.0e6)
    p_lehs: float = 0.0
    lehs_hole_diameter_mm: float = 2.3
    lehs_hole_length_mm: float = 24.05
    scatter_sigma_scale: tuple[float, float] = (1.0, 1.0)

    def validate(self) -> None:
        super().validate()
        _check_section(self, "camera")
        _check_between("camera.rows", self.rows, (1, MAX_ROWS))
        _check_between("camera.cols", self.cols, (1, MAX_COLS))
        _check_between("camera.pixel_mm", self.pixel_mm, PIXEL_MM_LIMITS, " mm")
        for key, positive in (("counts", True), ("scatter_sigma_scale", True), ("background_cpp", False),
                              ("scatter_fraction", False), ("anterior_gap_mm", False), ("posterior_gap_mm", False)):
            low = getattr(self, key)[0]  # (the range check above puts the high end above it)
            if not (low > 0 if positive else low >= 0):
                raise ScintisegError(f"camera.{key} must be {'positive' if positive else 'non-negative'}, got "
                                     f"{list(getattr(self, key))}")
        for key in ("depth_mm", "depth_group_mm", "hole_diameter_mm", "hole_length_mm", "intrinsic_fwhm_mm",
                    "lehs_hole_diameter_mm", "lehs_hole_length_mm", "scatter_sigma_mm", "mu_lead_per_cm",
                    "mu_water_per_cm", "mu_bone_per_cm", "mu_lung_per_cm"):
            if not getattr(self, key) > 0:
                raise ScintisegError(f"camera.{key} must be positive, got {getattr(self, key)!r}")


#: Share of a vertebral level its disc takes in the default patient (:attr:`AnatomyConfig.disc_fraction`) [E].
DISC_FRACTION = 0.08


@dataclass
class AnatomyConfig(Config):
    """The patient: habitus, posture, skeleton shape and normal activity concentrations (soft tissue = 1).

    The uptake fields (``bone_to_soft``, ``kidney_ratio``, ``bladder_ratio``) are *excess* concentrations over
    soft tissue, despite their names: every body voxel holds soft tissue's 1 and a bone or organ adds its value
    on top (``patient._volumes``), so the voxel is ``1 + value`` (a kidney at ``kidney_ratio`` 1.5 holds 2.5 x
    the tissue around it). The default ``bone_to_soft`` range is fitted to NM1's *image-level* bone-to-soft
    statistic, not to the reference's biodistribution: bone holds 34-50 % of the 3-D activity on default seeds
    0-5 against physics.md's 50-60 % (docs/phantom.md, "Activity split").

    Every anatomy randomiser below defaults to "off" (today's default patient); the ``randomised`` and
    ``shifted`` profiles switch them on (:data:`RANDOMISED_ANATOMY`, :data:`SHIFTED_ANATOMY`). Each draws
    from its own random stream, so switching one on leaves every other draw of the patient unchanged.

    Args:
        height_mm: stature (sampled uniformly).
        build: width/depth factor of the soft tissue (1 = average; 1.4 = obese; the belly grows with it).
        age: years; older patients get more degenerative look-alikes and slower soft-tissue clearance [E].
        arm_positions: arm position -> probability: ``sides``, ``sides_wide`` (abducted), ``abdomen``
            (hands on the body), ``raised`` (elbows beside the head, forearms above it; the patient
            positions of the issue, "down, on the body, raised") and ``thighs`` (hands resting on the front of
            the upper thighs, fingers towards the knees; session 68: the second independent phantom's pose whose
            hand foci the shipped model calls on the femur; in no profile, a training configuration's choice,
            ``scripts/phantom_lower_legs.yaml``).
        head_margin_mm: gap between the image top and the vertex.
        bone_to_soft: excess concentration of normal (axial) bone over soft tissue (voxel = 1 + value x the
            part's ``anatomy.UPTAKE`` multiplier), log-uniform [E] (calibrated on NM1's image-level ratio).
        bone_variation: log-normal sigma of the per-bone uptake multiplier (per vertebra, rib, ...).
        kidney_ratio: excess concentration of the kidneys over soft tissue (voxel = 1 + value), log-uniform
            [E] (not found).
        bladder_ratio: excess concentration of urine over soft tissue (voxel = 1 + value), log-uniform [E]
            (not found).
        bladder_ml: bladder filling (urine volume, ml), log-uniform.
        p_thyroid: probability of free pertechnetate (thyroid, salivary glands, stomach).
        p_injection_site: probability of a visible injection site (paravenous) in an arm.
        p_axillary_node: probability of axillary node uptake given an injection site.
        trunk_width: factor on the trunk's width only (habitus: broad or narrow at the same depth) [E]
            +-15 % around the Drillis-Contini proportions, a plausible spread of shoulder/hip breadth.
            Off: ``(1, 1)``.
        p_breasts: probability that a female patient has breasts modelled as soft tissue (activity and
            attenuation in front of the chest; the issue's "breasts"). Off: 0.
        breast_ml: volume of each breast, log-uniform [E] (150-1500 ml spans small to large cup sizes).
        head_tilt_deg: in-plane roll of the head (and mandible) about the top of the spine, uniform
            [E] (a head turned or tilted on the pillow; +-15 deg is what a technologist leaves uncorrected).
            Off: ``(0, 0)``.
        head_flexion_deg: chin-down (+) or chin-up (-) rotation of the head in the sagittal plane [E].
            Off: ``(0, 0)``.
        body_tilt_deg: the patient lying at an angle on the table: the whole body turned in the image plane
            about the field's centre by an angle whose size is uniform in this range, to either side at random
            [E] (a technologist straightens the patient, but a few degrees remain: the head a few centimetres to
            one side, the feet to the other). Applied to the projections before the noise is drawn, which is
            exact for a turn about the camera's axis. Off: ``(0, 0)``.
        p_scoliosis: probability of a scoliotic curve of the spine (C or S shaped, either side); the ribs,
            sternum, clavicles and scapulae follow it. Off: 0. Adult scoliosis (Cobb >= 10 deg) is common
            in the elderly bone-scan population [E].
        scoliosis_cobb_deg: Cobb angle of the major curve, uniform (10 deg defines scoliosis; 45 deg is
            severe) [E].
        kyphosis_deg: extra thoracic kyphosis (deg, uniform) above the model's built-in curve: the thoracic
            spine bows posteriorly and its vertebrae tilt; the ribs follow [E] (normal adult kyphosis is
            about 20-45 deg, hyperkyphosis of the elderly adds up to about 30). Off: ``(0, 0)``.
        elastic_mm: RMS amplitude (mm, per axis in the image plane; half of it along depth) of a smooth
            random displacement of the whole skeleton (a sum of 8 random plane waves), as SynthSeg's
            elastic deformation (realdata.md) [E]. Off: 0.
        elastic_scale_mm: wavelength of those plane waves (mm) [E]: long enough that a bone bends rather
            than breaks.
        bone_thickness: per-patient factor on bone radii (cortical thickness and bone width: small or
            robust skeletons) [E]. Off: ``(1, 1)``.
        bone_size_sd: log-normal sigma of a further per-bone factor on its radii [E]. Off: 0.
        proportion_sd: standard deviation (fraction of stature) of the elbow, wrist, knee and ankle
            landmarks around the Drillis & Contini proportions (individual limb lengths) [E]. Off: 0.
        disc_fraction: share of each vertebral level left to its disc (uniform, per patient) [E]: at the
            default :data:`DISC_FRACTION` the bodies nearly touch and the camera's blur closes the gaps (a
            continuous column, as on NM1); anatomically a lumbar disc is 8-12 mm of a 35-40 mm level and a
            thoracic one 4-6 mm of 25-30 mm, so a column of bodies standing apart, beaded on the view, is as
            normal (and is how a phantom built otherwise draws it: docs/robustness.md, "An independently
            built phantom"). Off: ``(DISC_FRACTION, DISC_FRACTION)``.
        uptake_group_sd: log-normal sigma of per-patient multipliers on each uptake group of
            ``anatomy.UPTAKE`` (ribs, joints, skull, shafts, ...: patients differ in the ratios between
            bones, not only in overall avidity; the issue's "per-bone and per-patient uptake ratios") [E].
            Off: 0.
    """


    height_mm: tuple[float, float] = (1500.0, 1950.0)
    build: tuple[float, float] = (0.85, 1.45)
    age: tuple[float, float] = (40.0, 88.0)
    arm_positions: dict[str, float] = field(default_factory=lambda: {"sides": 0.7, "sides_wide": 0.15, "abdomen": 0.15})
    head_margin_mm: tuple[float, float] = (60.0, 220.0)
    bone_to_soft: tuple[float, float] = (8.0, 18.0)
    bone_variation: float = 0.12
    kidney_ratio: tuple[float, float] = (1.5, 6.0)
    bladder_ratio: tuple[float, float] = (15.0, 60.0)
    bladder_ml: tuple[float, float] = (40.0, 450.0)
    p_thyroid: float = 0.08
    p_injection_site: float = 0.3
    p_axillary_node: float = 0.3
    trunk_width: tuple[float, float] = (1.0, 1.0)
    p_breasts: float = 0.0
    breast_ml: tuple[float, float] = (150.0, 1500.0)
    head_tilt_deg: tuple[float, float] = (0.0, 0.0)
    head_flexion_deg: tuple[float, float] = (0.0, 0.0)
    body_tilt_deg: tuple[float, float] = (0.0, 0.0)
    p_scoliosis: float = 0.0
    scoliosis_cobb_deg: tuple[float, float] = (10.0, 45.0)
    kyphosis_deg: tuple[float, float] = (0.0, 0.0)
    elastic_mm: float = 0.0
    elastic_scale_mm: float = 160.0
    bone_thickness: tuple[float, float] = (1.0, 1.0)
    bone_size_sd: float = 0.0
    proportion_sd: float = 0.0
    uptake_group_sd: float = 0.0
    disc_fraction: tuple[float, float] = (DISC_FRACTION, DISC_FRACTION)

    def validate(self) -> None:
        super().validate()
        _check_section(self, "anatomy")
        for end in self.height_mm:
            _check_between("anatomy.height_mm", end, HEIGHT_MM_LIMITS, " mm")
        unknown = sorted(set(self.arm_positions) - set(ARM_POSITIONS))
        if unknown:
            raise ScintisegError(f"anatomy.arm_positions: unknown position(s) {', '.join(map(repr, unknown))} (choose "
                                 f"from {', '.join(ARM_POSITIONS)})")
        weights = list(self.arm_positions.values())
        if not weights or any(not w >= 0 for w in weights) or not sum(weights) > 0:
            raise ScintisegError("anatomy.arm_positions must give each position a weight >= 0, at least one of them "
                                 f"positive, got {self.arm_positions!r}")
        for key in ("build", "bone_to_soft", "kidney_ratio", "bladder_ratio", "bladder_ml", "trunk_width",
                    "breast_ml", "bone_thickness"):
            if not getattr(self, key)[0] > 0:
                raise ScintisegError(f"anatomy.{key} must be positive, got {list(getattr(self, key))}")


#: The anatomy of the ``randomised`` profile (its uptake fields are set in :func:`randomised_profile`).
RANDOMISED_ANATOMY = AnatomyConfig(
    # Training (domain randomisation, the section 1): every anatomy randomiser on and wide. Children
    # and short adults down to 1.1 m, up to 2.0 m; lean to morbidly obese [E].
    height_mm=(1100.0, 2000.0),
    build=(0.75, 1.9),
    age=(18.0, 92.0),
    arm_positions={"sides": 0.4, "sides_wide": 0.15, "abdomen": 0.25, "raised": 0.2},
    head_margin_mm=(20.0, 260.0),
    bone_variation=0.2,
    trunk_width=(0.85, 1.2),
    p_breasts=0.85,
    breast_ml=(150.0, 1500.0),
    head_tilt_deg=(-15.0, 15.0),
    head_flexion_deg=(-15.0, 15.0),
    p_scoliosis=0.35,
    scoliosis_cobb_deg=(10.0, 45.0),
    kyphosis_deg=(0.0, 30.0),
    elastic_mm=5.0,
    elastic_scale_mm=160.0,
    bone_thickness=(0.85, 1.2),
    bone_size_sd=0.06,
    proportion_sd=0.008,
    uptake_group_sd=0.25,
    # From a column the camera closes to bodies standing apart (session 29: the shipped model called every
    # beaded lumbar vertebra of a phantom built otherwise, docs/robustness.md "An independently built phantom").
    disc_fraction=(DISC_FRACTION, 0.35),
)
#: The anatomy of the held-out ``shifted`` profile (its uptake fields are set in :func:`shifted_profile`).
SHIFTED_ANATOMY = AnatomyConfig(
    # Held-out test population [E]: older, shorter and heavier than the default, arms on the body or
    # raised (never at the sides), frequent scoliosis and kyphosis, chin down, a different per-bone uptake
    # pattern. Plausible (a geriatric oncology list), and unlike the default phantom.
    height_mm=(1450.0, 1800.0),
    build=(1.1, 1.7),
    age=(65.0, 92.0),
    arm_positions={"sides_wide": 0.3, "abdomen": 0.4, "raised": 0.3},
    head_margin_mm=(40.0, 200.0),
    bone_variation=0.18,
    trunk_width=(1.0, 1.15),
    p_breasts=0.95,
    breast_ml=(400.0, 1500.0),
    head_tilt_deg=(-10.0, 10.0),
    head_flexion_deg=(0.0, 15.0),
    p_scoliosis=0.6,
    scoliosis_cobb_deg=(10.0, 35.0),
    kyphosis_deg=(10.0, 30.0),
    elastic_mm=3.0,
    elastic_scale_mm=200.0,
    bone_thickness=(0.85, 1.05),
    bone_size_sd=0.05,
    proportion_sd=0.006,
    uptake_group_sd=0.2,
)


@dataclass
class LesionConfig(Config):
    """Metastases: how many, where, how bright, how big (physics.md, "Lesions").

    Args:
        p_normal: probability that a scan has no metastasis.
        soloway: Soloway extent-of-disease grade -> probability among scans with metastases
            (1: <6 lesions, 2: 6-20, 3: >20, 4: superscan).
        p_solitary: probability of exactly one lesion given grade 1 (solitary lesions are 15 % of scans).
        max_lesions: cap on the number of lesions of grade 3 and 4 (to bound run time).
        primaries: primary cancer -> probability; it sets the site frequencies, not the number of lesions
            ([choice]: ``soloway`` is one mix for every primary; docs/phantom.md).
        contrast: ``c``, log-uniform: the factor on normal bone's excess over soft tissue ``B`` (the lesion
            adds ``(c - 1) B``), so the delivered lesion / normal-bone voxel ratio is ``(1 + c B) / (1 + B)``,
            below ``c`` (a rib at ``bone_to_soft`` 8: 6.87 for c = 8, 1.17 for c = 1.2).
        size_mm: lesion diameter, log-uniform (many small lesions).
        superscan_boost: factor on axial-skeleton uptake in a superscan.
        p_elongated: probability that a lesion outside the spine and ribs is an ellipsoid stretched along
            its bone (aspect ``elongation``) instead of a round or lobulated blob; 0 = off (issue 13:
            "round, irregular and elongated").
        elongation: length / width of an elongated lesion, uniform.
        p_heterogeneous: probability that a lesion's uptake is uneven inside it (a smooth log-normal
            texture of relative sigma ``heterogeneity`` times a taper to its edge, the diffuse,
            ill-defined look of a mixed lesion); 0 = off.
        heterogeneity: log-normal sigma of that texture, uniform.
        p_cold: probability that a lesion is photopenic (lytic, uptake *below* normal bone); 0 = off. Its
            contrast is drawn from ``cold_contrast`` (< 1) instead of ``contrast``. A cold lesion is labelled
            by the same rule as a hot one, applied to its deficit (see :mod:`scintiseg.phantom.patient`).
        cold_contrast: ``c`` of a cold lesion, log-uniform, in (0, 1): the same factor on the bone's excess as
            ``contrast`` (voxel ``1 + c B``).
        site_boost: site group (a key of :data:`scintiseg.phantom.sites.SITE_WEIGHTS`' tables: ``sternum``,
            ``humerus``, ...) -> factor on that site's weight for every primary, before the weights are
            normalised; empty = the clinical frequencies. For training only: it oversamples lesions where a
            normal variant looks the same (profile ``randomised-sites``), so that position alone stops deciding.
        extra_sites: site group -> weight added to every primary's table before the boost (the tables' weights sum
            to 1, so 0.05 is about 5 % of the lesions): groups no table holds
            (:data:`scintiseg.phantom.sites.EXTRA_SITE_GROUPS`: ``tibia``, ``fibula``) or more of one it holds;
            empty = the clinical frequencies. For training only, e.g. ``{tibia: 0.04, fibula: 0.01}`` so that a
            network sees lesions beyond the knee (``scripts/phantom_lower_legs.yaml``; docs/robustness.md: the
            shipped model finds 24 of 60 inserted lower-leg lesions on NM1, the phantom drawing none there).
    """


    p_normal: float = 0.25
    soloway: dict[int, float] = field(default_factory=lambda: {1: 0.55, 2: 0.28, 3: 0.14, 4: 0.03})
    p_solitary: float = 0.35
    max_lesions: int = 40
    primaries: dict[str, float] = field(default_factory=lambda: {"prostate": 0.4, "breast": 0.35, "lung": 0.15, "other": 0.10})
    contrast: tuple[float, float] = (1.2, 8.0)
    size_mm: tuple[float, float] = (5.0, 60.0)
    superscan_boost: tuple[float, float] = (1.8, 3.0)
    p_elongated: float = 0.0
    elongation: tuple[float, float] = (2.0, 4.0)
    p_heterogeneous: float = 0.0
    heterogeneity: tuple[float, float] = (0.3, 0.8)
    p_cold: float = 0.0
    cold_contrast: tuple[float, float] = (0.15, 0.7)
    site_boost: dict[str, float] = field(default_factory=dict)
    extra_sites: dict[str, float] = field(default_factory=dict)

    def validate(self) -> None:
        super().validate()
        _check_section(self, "lesions")
        for key in ("size_mm", "elongation", "contrast", "superscan_boost", "cold_contrast"):  # (log-uniform draws)
            if not getattr(self, key)[0] > 0:
                raise ScintisegError(f"lesions.{key} must be positive, got {list(getattr(self, key))}")
        bad = {site: factor for site, factor in self.site_boost.items() if not float(factor) >= 0.0}
        if bad:
            raise ScintisegError(f"site_boost factors must be >= 0, got {bad}")
        bad = {site: weight for site, weight in self.extra_sites.items() if not 0.0 <= float(weight) <= 10.0}
        if bad:
            raise ScintisegError(f"lesions.extra_sites weights must be in 0-10, got {bad}")
        unknown_site_groups("lesions.site_boost", self.site_boost)
        unknown_site_groups("lesions.extra_sites", self.extra_sites)


@dataclass
class LookalikeConfig(Config):
    """Benign hot spots that are NOT lesions (physics.md, "Benign look-alikes").

    Args:
        degenerative_per_decade: expected number of degenerative foci per decade of age over 40 (Poisson) [E].
        degenerative_base: expected number at age 40 [E].
        p_endplate: probability of degenerative vertebral end-plate uptake.
        p_fracture: probability of a fracture pattern (linear vertebral band or aligned rib foci).
        p_urine: probability of urine contamination on the skin of pelvis or thighs.
        p_dental: probability of dental / maxillary uptake.
        p_manubriosternal: probability of a hot manubriosternal junction.
        contrast: ``c``, log-uniform: the factor on the bone's excess over soft tissue, as a lesion's
            (voxel ``1 + c B``; :class:`LesionConfig`).
        p_costochondral: probability of hot costochondral junctions (the anterior ends of 1-6 ribs, often on
            both sides) [E]; 0 = off (issue 13's list of physiological and degenerative hot spots).
        p_sternum: probability of a hot manubrium or sternal body (besides the junction above) [E]; 0 = off.
        p_sacroiliac: probability of hot sacroiliac joints (one or both) [E]; 0 = off.
        p_facet: probability of degenerative spine facet joints (1-4 foci beside the lumbar or cervical
            vertebral bodies) [E]; 0 = off.
        p_feet: probability of degenerative or stress uptake in a foot (midfoot, first MTP joint, heel) [E];
            0 = off.
        p_old_fracture: probability of an old (healing) fracture: a single rib focus or a band across a long
            bone's shaft [E]; 0 = off.
    """


    degenerative_base: float = 0.6
    degenerative_per_decade: float = 0.5
    p_endplate: float = 0.25
    p_fracture: float = 0.12
    p_urine: float = 0.08
    p_dental: float = 0.1
    p_manubriosternal: float = 0.12
    contrast: tuple[float, float] = (1.3, 3.5)
    p_costochondral: float = 0.0
    p_sternum: float = 0.0
    p_sacroiliac: float = 0.0
    p_facet: float = 0.0
    p_feet: float = 0.0
    p_old_fracture: float = 0.0

    def validate(self) -> None:
        super().validate()
        _check_section(self, "lookalikes")
        if not self.contrast[0] > 0:
            raise ScintisegError(f"lookalikes.contrast must be positive, got {list(self.contrast)}")


@dataclass
class PhantomConfig(Config):
    """Everything that defines a phantom cohort; one profile is one of these."""

    kind: ClassVar[str] = "phantom config"

    name: str = "default"
    camera: CameraConfig = field(default_factory=CameraConfig)
    anatomy: AnatomyConfig = field(default_factory=AnatomyConfig)
    lesions: LesionConfig = field(default_factory=LesionConfig)
    lookalikes: LookalikeConfig = field(default_factory=LookalikeConfig)

    def validate(self) -> None:
        super().validate()
        tall = self.camera.rows * self.camera.pixel_mm  # (a camera alone may image a slab of any size: tests do)
        if tall < MIN_FIELD_MM:
            raise ScintisegError(f"camera.rows x camera.pixel_mm is a field {tall:g} mm tall: a phantom patient needs at "
                                 f"least {MIN_FIELD_MM:g} mm")


def _profiles() -> dict[str, PhantomConfig]:
    default = PhantomConfig()
    low = PhantomConfig(name="low-count", camera=replace(CameraConfig(), counts=(0.4e6, 1.0e6)))
    high = PhantomConfig(name="high-count", camera=replace(CameraConfig(), counts=(3.0e6, 6.0e6)))
    normal = PhantomConfig(name="normal", lesions=replace(LesionConfig(), p_normal=1.0))
    metastatic = PhantomConfig(name="metastatic", lesions=replace(LesionConfig(), p_normal=0.0))
    small = PhantomConfig(
        name="small",
        camera=replace(CameraConfig(), rows=512, cols=128, pixel_mm=4.52, depth_mm=15.0),
    )
    widened = (randomised_profile(), randomised_sites_profile(), randomised_faint_profile(), randomised_faint_even_profile(),
               shifted_profile())
    return {p.name: p for p in (default, low, high, normal, metastatic, small, *widened)}


def randomised_profile() -> PhantomConfig:
    """Phantom v2 training data (issue 13, SynthSeg-style domain randomisation): every range widened.

    Each range and its source or reason is in ``docs/phantom-randomisation.md``. The anatomy (habitus, arms,
    posture, skeleton shape) is :data:`RANDOMISED_ANATOMY`; its uptake fields are set here:

    * ``bone_to_soft`` (6, 70): bone's excess concentration over soft tissue (voxel = 1 + value; the default's
      8-18 is calibrated on NM1) that gives an image-level
      bone-to-soft-tissue ratio (``calibrate.scan_statistics``: 98th / 40th percentile of the smoothed body
      counts; NM1: 4.9) of about 2 to 10, the issue's range. The map, measured on 4 noise-free patients per
      value without kidneys or bladder, is about ``image = 1.4 + 0.12 x bone_to_soft`` on the randomised
      anatomy (+-35 % by habitus: thin patients higher) and ``1.45 + 0.16 x`` on the default one
      (docs/phantom-randomisation.md).
    * kidneys (0.05, 20) and urine (0.3, 250), excess over soft tissue (voxel = 1 + value), log-uniform: from
      invisible (a kidney at 1.05 x the surrounding tissue) to hotter than any bone (issue: "from none to very
      hot").
    * injection sites (0.5, default 0.3), axillary nodes (0.4) and free pertechnetate (0.15) more often.

    Per-bone (``bone_variation``) and per-patient (``uptake_group_sd``) uptake multipliers (factors on the bone
    excess) come with the anatomy.
    """
    camera = replace(
        CameraConfig(), counts=(0.15e6, 6.0e6), p_lehs=0.3, scatter_fraction=(0.10, 0.55),
        scatter_sigma_scale=(0.6, 1.8), background_cpp=(0.0, 0.3), anterior_gap_mm=(10.0, 120.0),
        posterior_gap_mm=(10.0, 45.0),
    )
    anatomy = replace(
        RANDOMISED_ANATOMY, bone_to_soft=(6.0, 70.0), kidney_ratio=(0.05, 20.0),
        bladder_ratio=(0.3, 250.0), p_thyroid=0.15, p_injection_site=0.5, p_axillary_node=0.4,
    )
    lesions = replace(
        LesionConfig(), soloway={1: 0.5, 2: 0.3, 3: 0.16, 4: 0.04},
        primaries={"prostate": 0.3, "breast": 0.3, "lung": 0.2, "other": 0.2},
        contrast=(1.1, 15.0), size_mm=(4.0, 80.0), superscan_boost=(1.5, 3.5),
        p_elongated=0.25, p_heterogeneous=0.3, p_cold=0.08,
    )
    lookalikes = replace(
        LookalikeConfig(), degenerative_base=1.0, degenerative_per_decade=0.8, p_endplate=0.4, p_fracture=0.25,
        p_urine=0.25, p_dental=0.3, p_manubriosternal=0.3, contrast=(1.2, 6.0), p_costochondral=0.35,
        p_sternum=0.25, p_sacroiliac=0.3, p_facet=0.3, p_feet=0.3, p_old_fracture=0.15,
    )
    return PhantomConfig(name="randomised", camera=camera, anatomy=anatomy, lesions=lesions, lookalikes=lookalikes)


#: The ``randomised-sites`` profile's factors on the clinical site weights: the sites where a normal variant or
#: a look-alike of the ``randomised`` profile looks like a lesion (a hot manubrium or sternal body, degenerative
#: shoulders, sacroiliac joints, the bladder beside the pelvis and sacrum, skull base and face, hips), where the
#: model trained on the clinical frequencies found 5-38 % of the lesions of 100 held-out default patients, and 1 of
#: 10 conspicuous sternal ones (docs/robustness.md, session 12).
HARD_SITE_BOOST: dict[str, float] = {
    "humerus": 4.0, "sternum": 5.0, "sacrum": 3.0, "skull": 2.0, "cervical_spine": 2.0, "pelvis": 1.5,
    "femur": 2.0, "clavicle": 3.0, "scapula": 1.5,
}


def randomised_sites_profile() -> PhantomConfig:
    """``randomised`` with lesions oversampled where look-alikes sit (:data:`HARD_SITE_BOOST`), for training.

    With the clinical site frequencies a sternal hot spot in the ``randomised`` patients is far more often a
    look-alike than a metastasis (about half of them carry a sternal look-alike; sternal metastases are 2-6 % of
    lesions), so a network learns the sternum's position as "normal" and misses
    sternal lesions of any contrast (docs/robustness.md, "Where the shipped model misses"). Everything but
    the site weights is ``randomised``'s, look-alikes included, so the network must tell the two apart by
    what they look like, not where they are. Not a test profile: its site mix is not a clinical one.
    """
    base = randomised_profile()
    return replace(base, name="randomised-sites", lesions=replace(base.lesions, site_boost=dict(HARD_SITE_BOOST)))


#: The ``randomised-faint`` profile's lesion contrast and size (log-uniform; ``randomised``: 1.1-15 and 4-80 mm).
FAINT_LESION_CONTRAST: tuple[float, float] = (1.1, 4.0)
FAINT_LESION_SIZE_MM: tuple[float, float] = (8.0, 80.0)


def randomised_faint_profile() -> PhantomConfig:
    """``randomised`` with fainter and larger lesions (:data:`FAINT_LESION_CONTRAST`, :data:`FAINT_LESION_SIZE_MM`),
    for training.

    The BSI's truth is an area: its large lesions carry it, and a detector that finds exactly the lesions of
    apparent contrast >= 1.5 (with their true outlines) would reach r 0.96 against it, one that finds those of
    >= 2 only r 0.87 (docs/predict.md, session 13); the shipped model finds under half of the 1.5-2 ones. This
    profile doubles the share of lesions whose contrast (the factor ``c`` on the bone's excess over soft tissue;
    the voxel ratio ``(1 + c B) / (1 + B)`` is lower, and the planar view's apparent contrast lower still) is below 2 (log-uniform 1.1-4: 46 %; ``randomised``: 23 %) and draws fewer small
    ones; everything else, look-alikes included, is ``randomised``'s. Not a test profile. A CPU fine-tune of the
    shipped model on it finds more of the faint lesions and calls more normal bone (same BSI r; docs/robustness.md,
    "Fainter, larger lesions in training"); not shipped.
    """
    base = randomised_profile()
    return replace(base, name="randomised-faint",
                   lesions=replace(base.lesions, contrast=FAINT_LESION_CONTRAST, size_mm=FAINT_LESION_SIZE_MM))


#: The ``randomised-faint-even`` profile's per-bone uptake variation (``randomised``: 0.2; ``default``: 0.12).
EVEN_BONE_VARIATION: float = 0.1


def randomised_faint_even_profile() -> PhantomConfig:
    """``randomised-faint`` with a patient's bones less uneven (``bone_variation`` :data:`EVEN_BONE_VARIATION`), for
    training.

    A lesion's contrast multiplies its own bone's activity, and each bone (each vertebra, rib, ...) carries a
    log-normal factor of sigma ``bone_variation``. At ``randomised``'s 0.2 neighbouring thoracic and lumbar
    vertebrae differ by more than 1.4 x in about a sixth of the pairs (3 % at 0.1; tests/phantom/test_randomised.py), so a whole-vertebra lesion of contrast 1.3-1.5 (the faint lesions the
    BSI needs, docs/predict.md) is labelled a lesion in one patient and is normal bone in the next: the labels
    contradict each other, and the faint fine-tune calls normal bone (docs/robustness.md, session 14). Between
    patients the bones still differ as widely as before (``uptake_group_sd`` 0.25 per uptake group is kept); only
    the bone-to-bone unevenness *within* a patient is narrowed, to below the ``default`` profile's 0.12.
    Everything else is ``randomised-faint``'s. Not a test profile.
    """
    base = randomised_faint_profile()
    return replace(base, name="randomised-faint-even",
                   anatomy=replace(base.anatomy, bone_variation=EVEN_BONE_VARIATION))


def shifted_profile() -> PhantomConfig:
    """A held-out test profile: another hospital's patients and camera (for testing only, never training).

    Inside the support of ``randomised`` but with another mix: an older population scanned at a busy site
    (0.3-1.5 M counts per view, a LEHS collimator on half the patients, more scatter), a narrower
    ``bone_to_soft`` (bone's excess over soft tissue 15-40: image ratio about 2-6 on this heavier anatomy; NM1: 4.9) and hotter kidneys
    (poorer renal function), lung and "other" primaries (more rib and
    fewer pelvic lesions), smaller and fainter lesions with more irregular, elongated and uneven ones, and
    about twice as many benign hot spots, brighter. The anatomy is :data:`SHIFTED_ANATOMY`.
    """
    camera = replace(
        CameraConfig(), counts=(0.3e6, 1.5e6), p_lehs=0.5, scatter_fraction=(0.30, 0.45),
        scatter_sigma_scale=(1.0, 1.5), background_cpp=(0.05, 0.25), anterior_gap_mm=(40.0, 100.0),
    )
    anatomy = replace(
        SHIFTED_ANATOMY, bone_to_soft=(15.0, 40.0), kidney_ratio=(3.0, 12.0),
        bladder_ratio=(30.0, 120.0), p_injection_site=0.45,
    )
    lesions = replace(
        LesionConfig(), p_normal=0.3, soloway={1: 0.4, 2: 0.35, 3: 0.2, 4: 0.05},
        primaries={"prostate": 0.1, "breast": 0.2, "lung": 0.4, "other": 0.3},
        contrast=(1.2, 6.0), size_mm=(5.0, 35.0), p_elongated=0.4, p_heterogeneous=0.4, p_cold=0.05,
    )
    lookalikes = replace(
        LookalikeConfig(), degenerative_base=1.5, degenerative_per_decade=1.0, p_endplate=0.45, p_fracture=0.2,
        p_urine=0.15, p_dental=0.2, p_manubriosternal=0.35, contrast=(1.5, 5.0), p_costochondral=0.5,
        p_sternum=0.2, p_sacroiliac=0.4, p_facet=0.4, p_feet=0.4, p_old_fracture=0.2,
    )
    return PhantomConfig(name="shifted", camera=camera, anatomy=anatomy, lesions=lesions, lookalikes=lookalikes)


#: Profile name -> a short description (for ``--help``).
PROFILE_HELP: dict[str, str] = {
    "default": "1024x256 at 2.26 mm, 0.8-4 M counts per view, 75 % of scans with metastases",
    "low-count": "as default with 0.4-1 M counts per view (under-dosed or fast scans)",
    "high-count": "as default with 3-6 M counts per view",
    "normal": "no metastases (look-alikes only)",
    "metastatic": "every scan has metastases",
    "small": "512x128 at 4.52 mm (fast; for tests and smoke runs)",
    "randomised": "phantom v2 for training: every range widened (0.15-6 M counts, LEHR/LEHS, cold lesions, ...)",
    "randomised-sites": "randomised with lesions oversampled where look-alikes sit (sternum, humeri, sacrum, ...)",
    "randomised-faint": "randomised with fainter, larger lesions (contrast 1.1-4, 8-80 mm), for training",
    "randomised-faint-even": "randomised-faint with a patient's bones less uneven (per-bone uptake sigma 0.1), for training",
    "shifted": "held-out test profile: another site's camera, uptake, lesion and look-alike mix (not for training)",
}


def profile(name: str) -> PhantomConfig:
    """The named profile (a fresh copy)."""
    profiles = _profiles()
    if name not in profiles:
        raise ScintisegError(f"unknown phantom profile {name!r} (choose from {', '.join(profiles)})")
    return profiles[name]


def profile_with(name: str, overrides: str | Path | None = None) -> PhantomConfig:
    """The named profile with the YAML file ``overrides`` laid over it, nested like ``phantom_config.json`` (None or
    ``""``: the profile alone): what ``scintiseg phantom --config``, ``scintiseg train --synthetic-config`` and the
    benchmarks' ``--phantom-config`` read. A missing file, or a bad key or value in it, is one
    :class:`ScintisegError` naming the file."""
    config = profile(name)
    return config.updated(read_yaml(overrides), path=overrides) if overrides else config


def profile_names() -> list[str]:
    return list(_profiles())
