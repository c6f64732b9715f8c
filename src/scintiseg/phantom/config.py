"""Typed configuration of the phantom, and named profiles (``default``, ``low-count``, ...).

Each part is a :class:`~scintiseg.config.Config`: a cohort's resolved configuration is stored as
``phantom_config.json`` (:meth:`~scintiseg.config.Config.save_json`, read back with ``from_json``), and a
YAML file of overrides is laid over a profile with :meth:`~scintiseg.config.Config.updated`.

Every range ``(lo, hi)`` is sampled per patient; log-scale ranges say so. Sources for the defaults are in
``../shared/reference/physics.md``; estimates not found there are marked [E] and were tuned against the
real NM1 scan with ``scintiseg phantom calibrate`` (see ``docs/phantom.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar

from scintiseg.config import Config
from scintiseg.errors import ScintisegError


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
        hole_diameter_mm, hole_length_mm, mu_lead_per_cm, intrinsic_fwhm_mm: LEHR collimator; the geometric
            FWHM at distance r is ``d (r + L_eff) / L_eff`` with ``L_eff = L - 2 / mu_Pb`` (the
            PyTomography model in physics.md; defaults Siemens Symbia LEHR from the SIMIND table).
        anterior_gap_mm: distance from the most anterior body surface to the anterior collimator.
        posterior_gap_mm: distance from the table top (the patient's back) to the posterior collimator.
        scatter_fraction: scattered counts / primary counts in the window [E] (not found in the sources).
        scatter_sigma_mm: width of the Gaussian that spreads scatter around its origin [E].
        background_cpp: room background, counts per pixel per view [E].
        counts: total counts per view, sampled log-uniformly (physics.md: vary 0.8-4 M).
    """


    rows: int = 1024
    cols: int = 256
    pixel_mm: float = 2.26
    depth_mm: float = 10.0
    depth_group_mm: float = 40.0
    mu_water_per_cm: float = 0.154
    mu_bone_per_cm: float = 0.29
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


@dataclass
class AnatomyConfig(Config):
    """The patient: body size, arm position, and normal activity concentrations (relative to soft tissue = 1).

    Args:
        height_mm: stature (sampled uniformly).
        build: width/depth factor of the soft tissue (1 = average; 1.4 = obese).
        age: years; older patients get more degenerative look-alikes and slower soft-tissue clearance [E].
        arm_positions: arm position -> probability (``sides``, ``sides_wide``, ``abdomen``).
        head_margin_mm: gap between the image top and the vertex.
        bone_to_soft: concentration of normal (axial) bone relative to soft tissue, log-uniform [E]
            (calibrated on NM1).
        bone_variation: log-normal sigma of the per-bone uptake multipliers around their defaults.
        kidney_ratio: kidney concentration relative to soft tissue, log-uniform [E] (not found).
        bladder_ratio: urine concentration relative to soft tissue, log-uniform [E] (not found).
        bladder_ml: bladder filling (urine volume, ml), log-uniform.
        p_thyroid: probability of free pertechnetate (thyroid, salivary glands, stomach).
        p_injection_site: probability of a visible injection site (paravenous) in an arm.
        p_axillary_node: probability of axillary node uptake given an injection site.
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


@dataclass
class LesionConfig(Config):
    """Metastases: how many, where, how bright, how big (physics.md, "Lesions").

    Args:
        p_normal: probability that a scan has no metastasis.
        soloway: Soloway extent-of-disease grade -> probability among scans with metastases
            (1: <6 lesions, 2: 6-20, 3: >20, 4: superscan).
        p_solitary: probability of exactly one lesion given grade 1 (solitary lesions are 15 % of scans).
        max_lesions: cap on the number of lesions of grade 3 and 4 (to bound run time).
        primaries: primary cancer -> probability; it sets the site frequencies.
        contrast: lesion / normal-bone concentration, log-uniform.
        size_mm: lesion diameter, log-uniform (many small lesions).
        superscan_boost: factor on axial-skeleton uptake in a superscan.
    """


    p_normal: float = 0.25
    soloway: dict[int, float] = field(default_factory=lambda: {1: 0.55, 2: 0.28, 3: 0.14, 4: 0.03})
    p_solitary: float = 0.35
    max_lesions: int = 40
    primaries: dict[str, float] = field(default_factory=lambda: {"prostate": 0.4, "breast": 0.35, "lung": 0.15, "other": 0.10})
    contrast: tuple[float, float] = (1.2, 8.0)
    size_mm: tuple[float, float] = (5.0, 60.0)
    superscan_boost: tuple[float, float] = (1.8, 3.0)


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
        contrast: look-alike / normal-bone concentration, log-uniform.
    """


    degenerative_base: float = 0.6
    degenerative_per_decade: float = 0.5
    p_endplate: float = 0.25
    p_fracture: float = 0.12
    p_urine: float = 0.08
    p_dental: float = 0.1
    p_manubriosternal: float = 0.12
    contrast: tuple[float, float] = (1.3, 3.5)


@dataclass
class PhantomConfig(Config):
    """Everything that defines a phantom cohort; one profile is one of these."""

    kind: ClassVar[str] = "phantom config"

    name: str = "default"
    camera: CameraConfig = field(default_factory=CameraConfig)
    anatomy: AnatomyConfig = field(default_factory=AnatomyConfig)
    lesions: LesionConfig = field(default_factory=LesionConfig)
    lookalikes: LookalikeConfig = field(default_factory=LookalikeConfig)


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
    return {p.name: p for p in (default, low, high, normal, metastatic, small)}


#: Profile name -> a short description (for ``--help``).
PROFILE_HELP: dict[str, str] = {
    "default": "1024x256 at 2.26 mm, 0.8-4 M counts per view, 75 % of scans with metastases",
    "low-count": "as default with 0.4-1 M counts per view (under-dosed or fast scans)",
    "high-count": "as default with 3-6 M counts per view",
    "normal": "no metastases (look-alikes only)",
    "metastatic": "every scan has metastases",
    "small": "512x128 at 4.52 mm (fast; for tests and smoke runs)",
}


def profile(name: str) -> PhantomConfig:
    """The named profile (a fresh copy)."""
    profiles = _profiles()
    if name not in profiles:
        raise ScintisegError(f"unknown phantom profile {name!r} (choose from {', '.join(profiles)})")
    return profiles[name]


def profile_names() -> list[str]:
    return list(_profiles())
