"""Where metastases go: the site groups of the phantom's lesions and their share per primary cancer.

:mod:`scintiseg.phantom.lesions` draws a lesion's site group from these tables (its docstring gives the sources
and the choices); :class:`~scintiseg.phantom.config.LesionConfig` checks the groups a configuration names
(``site_boost``, ``extra_sites``) against :data:`SITE_GROUPS`. Both import this module, which imports neither.
"""

from __future__ import annotations

from scintiseg.errors import ScintisegError

#: Site group -> share of lesions, per primary cancer [E] (ordering from physics.md). Per-lesion shares, normalised
#: when drawn (the breast table sums to 0.98); skull 0.077 for breast is physics.md's per-patient 7.7 % read per
#: lesion, 0.04 for lung and other its "< 4 %" [choice; :mod:`scintiseg.phantom.lesions`' docstring: effect on patients with a skull lesion].
SITE_WEIGHTS: dict[str, dict[str, float]] = {
    "prostate": {"thoracic_spine": 0.17, "lumbar_spine": 0.15, "cervical_spine": 0.02, "sacrum": 0.04, "ribs": 0.16,
                 "pelvis": 0.27, "femur": 0.09, "humerus": 0.03, "skull": 0.03, "sternum": 0.02, "scapula": 0.02},
    "breast": {"thoracic_spine": 0.19, "lumbar_spine": 0.12, "cervical_spine": 0.03, "sacrum": 0.02, "ribs": 0.22,
               "pelvis": 0.12, "femur": 0.06, "humerus": 0.04, "skull": 0.077, "sternum": 0.06, "scapula": 0.03,
               "clavicle": 0.013},
    "lung": {"thoracic_spine": 0.17, "lumbar_spine": 0.11, "cervical_spine": 0.02, "sacrum": 0.02, "ribs": 0.32,
             "pelvis": 0.13, "femur": 0.07, "humerus": 0.05, "skull": 0.04, "sternum": 0.03, "scapula": 0.04},
    "other": {"thoracic_spine": 0.2, "lumbar_spine": 0.14, "cervical_spine": 0.03, "sacrum": 0.03, "ribs": 0.22,
              "pelvis": 0.17, "femur": 0.07, "humerus": 0.04, "skull": 0.04, "sternum": 0.03, "scapula": 0.02,
              "clavicle": 0.01},
}
#: Site groups no primary's table holds (metastases there are rare; physics.md: over 90 % lie in the vertebrae,
#: pelvis, proximal femur, ribs, proximal humerus and skull), which a training profile may add with
#: ``LesionConfig.extra_sites`` so that a network sees lesions beyond the knee too.
EXTRA_SITE_GROUPS = ("tibia", "fibula")
#: Every site group a configuration may name (``site_boost``, ``extra_sites``).
SITE_GROUPS = tuple(sorted({site for table in SITE_WEIGHTS.values() for site in table} | set(EXTRA_SITE_GROUPS)))


def unknown_site_groups(key: str, groups) -> None:
    """Refuse site groups outside :data:`SITE_GROUPS` (``key``: the configuration's name for them)."""
    unknown = sorted(set(groups) - set(SITE_GROUPS))
    if unknown:
        raise ScintisegError(f"{key}: unknown site group(s) {', '.join(unknown)} (choose from {', '.join(SITE_GROUPS)})")
