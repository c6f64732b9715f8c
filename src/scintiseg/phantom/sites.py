"""Where metastases go: the site groups of the phantom's lesions and their share per primary cancer.

:mod:`scintiseg.phantom.lesions` draws a lesion's site group from these tables (its docstring gives the sources
and the choices); :class:`~scintiseg.phantom.config.LesionConfig` checks the groups a configuration names
(``site_boost``, ``extra_sites``) against :data:`SITE_GROUPS`. Both import this module, which imports neither.
:func:`region_shares` reads the same tables per skeleton region (:data:`scintiseg.phantom.regions.REGION_NAMES`), for
lesions placed by a region map rather than by the phantom's bones (:mod:`scintiseg.phantom.hybrid`).
"""

from __future__ import annotations

from scintiseg.errors import ScintisegError
from scintiseg.phantom.regions import REGION_NAMES

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
#: Long bones whose metastases lie near the trunk (physics.md: proximal femur, proximal humerus): the phantom places
#: them in the proximal ``PROXIMAL_FRACTION`` of the bone's length (:mod:`scintiseg.phantom.lesions`), a region map
#: in the same part of the region (:func:`scintiseg.phantom.hybrid.proximal_part`) [choice: a third and a bit].
PROXIMAL_GROUPS = ("femur", "humerus")
PROXIMAL_FRACTION = 0.35
#: Every site group a configuration may name (``site_boost``, ``extra_sites``).
SITE_GROUPS = tuple(sorted({site for table in SITE_WEIGHTS.values() for site in table} | set(EXTRA_SITE_GROUPS)))


def region_shares(extra: dict[str, float] | None = None) -> dict[str, float]:
    """The share of metastases in each skeleton region (:data:`~scintiseg.phantom.regions.REGION_NAMES`), summing to 1.

    Each primary's :data:`SITE_WEIGHTS` table is normalised and the four are averaged (a mixed cohort, as
    physics.md's site ordering is given across cancers [choice]); ``extra`` (site group -> weight, as
    ``LesionConfig.extra_sites``) is added before the whole is normalised. A region takes its group's share
    (``ribs_left`` and ``ribs_right`` half of ``ribs`` each, as every paired group; ``tibia_fibula_*`` half of
    ``tibia`` + ``fibula``, which only ``extra`` can give). The mandible, forearms, hands and feet belong to no site
    group and get 0 (metastases there are rare: physics.md, over 90 % in the vertebrae, pelvis, proximal femur, ribs,
    proximal humerus and skull).
    """
    extra = dict(extra or {})
    unknown_site_groups("extra_sites", extra)
    groups: dict[str, float] = {}
    for table in SITE_WEIGHTS.values():
        total = sum(table.values())
        for group, weight in table.items():
            groups[group] = groups.get(group, 0.0) + weight / total / len(SITE_WEIGHTS)
    for group, weight in extra.items():
        groups[group] = groups.get(group, 0.0) + float(weight)
    total = sum(groups.values())
    shares: dict[str, float] = {}
    for name in REGION_NAMES.values():
        base, paired = (name.rsplit("_", 1)[0], True) if name.endswith(("_left", "_right")) else (name, False)
        weight = sum(groups.get(group, 0.0) for group in (("tibia", "fibula") if base == "tibia_fibula" else (base,)))
        shares[name] = weight / total / (2 if paired else 1)
    return shares


def unknown_site_groups(key: str, groups) -> None:
    """Refuse site groups outside :data:`SITE_GROUPS` (``key``: the configuration's name for them)."""
    unknown = sorted(set(groups) - set(SITE_GROUPS))
    if unknown:
        raise ScintisegError(f"{key}: unknown site group(s) {', '.join(unknown)} (choose from {', '.join(SITE_GROUPS)})")
