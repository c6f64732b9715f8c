"""Skeleton regions and bones of the phantom, with the Spiers skeletal-mass weights used by the Bone Scan Index.

Two levels of labels:

* **bones** (:data:`BONE_NAMES`): every separate bone the phantom models (``"T7"``, ``"rib_left_5"``,
  ``"femur_right"``), ids 1..74 in a 3-D label volume. Lesion metadata names the bone.
* **regions** (:data:`REGION_NAMES`): the 26 groups the region label maps and the BSI use (``"thoracic_spine"``,
  ``"ribs_left"``, ``"femur_right"``). Id 0 is background (soft tissue or air).

"Left" and "right" are the patient's: on the ANT view the patient's right is on the image left; the POST
view is stored as acquired, so there the patient's left is on the image left.

Skeletal-mass shares (``SPIERS_WEIGHTS``, percent of the skeleton): Spiers 1968 reference man as quoted by
Imbriaco et al. (``../shared/reference/physics.md``, section "Bone Scan Index"). Choices the source leaves
open, stated here:

* Spine + sacrum are given together (8.3 %); split by an estimate of vertebral mass per level
  [E]: cervical 1.2, thoracic 3.2, lumbar 2.6, sacrum 1.3 (sum 8.3).
* Ribs (all 24) 4.4 % are split equally between sides (2.2 each).
* Forearm = ulna + radius (1.5 + 1.2 = 2.7 each); tibia/fibula = 5.1 + 1.3 = 6.4 each.
The weights add up to 100.1 % as published (rounding); :func:`bsi_weights` returns them normalised to 1, for a user
who wants skeletal-mass fractions (public API, exported by :mod:`scintiseg.phantom`); the package's BSI does not use
it: the BSI (``scintiseg.predict.bsi.bone_scan_index``, the phantom's truth BSI included) multiplies involvement by the
published percentages of ``predict.bsi.SPIERS_WEIGHTS`` (identical to :data:`SPIERS_WEIGHTS`), sum 100.1, while
its ``covered_mass_percent`` divides by 100.1; so a fully involved skeleton reads BSI 100.1 %. Against normalised
weights every BSI is 1.001 x larger: 0.0036 BSI points at the largest phantom truth docs/predict.md quotes (3.55),
below any measured difference.
"""

from __future__ import annotations

#: Region id -> region name (id 0 is background). Stored as ``region_names`` in every phantom manifest.
REGION_NAMES: dict[int, str] = {
    1: "skull",
    2: "mandible",
    3: "cervical_spine",
    4: "thoracic_spine",
    5: "lumbar_spine",
    6: "sacrum",
    7: "ribs_left",
    8: "ribs_right",
    9: "sternum",
    10: "clavicle_left",
    11: "clavicle_right",
    12: "scapula_left",
    13: "scapula_right",
    14: "humerus_left",
    15: "humerus_right",
    16: "forearm_left",
    17: "forearm_right",
    18: "hand_left",
    19: "hand_right",
    20: "pelvis",
    21: "femur_left",
    22: "femur_right",
    23: "tibia_fibula_left",
    24: "tibia_fibula_right",
    25: "foot_left",
    26: "foot_right",
}
#: Region name -> id.
REGION_IDS: dict[str, int] = {name: rid for rid, name in REGION_NAMES.items()}
#: Class names of a region map indexed by id, ``"other"`` (background) first: the classes of the
#: region network (``scintiseg train --task regions``) and of :mod:`scintiseg.predict.regions`.
REGION_CLASSES: tuple[str, ...] = ("other", *(REGION_NAMES[i] for i in range(1, len(REGION_NAMES) + 1)))

#: Skeletal-mass share of each region in percent (Spiers 1968 via Imbriaco et al.; splits documented above).
SPIERS_WEIGHTS: dict[str, float] = {
    "skull": 16.6,
    "mandible": 1.8,
    "cervical_spine": 1.2,
    "thoracic_spine": 3.2,
    "lumbar_spine": 2.6,
    "sacrum": 1.3,
    "ribs_left": 2.2,
    "ribs_right": 2.2,
    "sternum": 0.3,
    "clavicle_left": 0.5,
    "clavicle_right": 0.5,
    "scapula_left": 1.5,
    "scapula_right": 1.5,
    "humerus_left": 3.3,
    "humerus_right": 3.3,
    "forearm_left": 2.7,
    "forearm_right": 2.7,
    "hand_left": 1.5,
    "hand_right": 1.5,
    "pelvis": 7.5,
    "femur_left": 8.9,
    "femur_right": 8.9,
    "tibia_fibula_left": 6.4,
    "tibia_fibula_right": 6.4,
    "foot_left": 5.8,
    "foot_right": 5.8,
}


def _bone_table() -> list[tuple[str, str]]:
    bones: list[tuple[str, str]] = [("skull", "skull"), ("mandible", "mandible")]
    bones += [(f"C{i}", "cervical_spine") for i in range(1, 8)]
    bones += [(f"T{i}", "thoracic_spine") for i in range(1, 13)]
    bones += [(f"L{i}", "lumbar_spine") for i in range(1, 6)]
    bones += [("sacrum", "sacrum")]
    for side in ("left", "right"):
        bones += [(f"rib_{side}_{i}", f"ribs_{side}") for i in range(1, 13)]
    bones += [("sternum", "sternum")]
    for side in ("left", "right"):
        bones += [
            (f"clavicle_{side}", f"clavicle_{side}"),
            (f"scapula_{side}", f"scapula_{side}"),
            (f"humerus_{side}", f"humerus_{side}"),
            (f"radius_{side}", f"forearm_{side}"),
            (f"ulna_{side}", f"forearm_{side}"),
            (f"hand_{side}", f"hand_{side}"),
            (f"hip_{side}", "pelvis"),
            (f"femur_{side}", f"femur_{side}"),
            (f"tibia_{side}", f"tibia_fibula_{side}"),
            (f"fibula_{side}", f"tibia_fibula_{side}"),
            (f"foot_{side}", f"foot_{side}"),
        ]
    return bones


_BONES = _bone_table()
#: Bone id (1..74) -> bone name.
BONE_NAMES: dict[int, str] = {i + 1: name for i, (name, _) in enumerate(_BONES)}
#: Bone name -> bone id.
BONE_IDS: dict[str, int] = {name: bid for bid, name in BONE_NAMES.items()}
#: Bone name -> region name.
BONE_REGION: dict[str, str] = dict(_BONES)


def region_of_bone(bone: str) -> str:
    """The region a bone belongs to (``"T7"`` -> ``"thoracic_spine"``): :data:`BONE_REGION` as a function.

    The public lookup of a bone's region, for a user reading lesion metadata (which names the bone); the phantom's
    bones read theirs through it (:attr:`scintiseg.phantom.anatomy.Bone.region`).

    Raises:
        KeyError: a name that is not one of :data:`BONE_NAMES`.
    """
    return BONE_REGION[bone]


def bsi_weights() -> dict[str, float]:
    """Region name -> fraction of skeletal mass (the Spiers percentages normalised to sum to 1).

    Public API (exported by :mod:`scintiseg.phantom`, docs/phantom.md), not used by the package: the BSI multiplies
    by the published percentages, :data:`SPIERS_WEIGHTS` (module docstring, the factor 1.001 between them).
    """
    total = sum(SPIERS_WEIGHTS.values())
    return {name: value / total for name, value in SPIERS_WEIGHTS.items()}


def region_names_json() -> dict[str, str]:
    """``{"1": "skull", ...}``: the form stored in ``dataset.json``."""
    return {str(rid): name for rid, name in REGION_NAMES.items()}
