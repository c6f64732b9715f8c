"""Bone Scan Index over the bones the model saw, and the Soloway extent-of-disease grade.

BSI (Imbriaco et al. 1998; physics.md, "Bone Scan Index") is

    BSI = sum over bones b of (fraction of bone b involved) x (bone b's share of skeletal mass, %)

with the Spiers 1968 reference-man shares (:data:`SPIERS_WEIGHTS`). Here a "bone" is one atlas region
(:mod:`.regions`), with the splits the phantom's ground truth uses (spine + sacrum 8.3 % split by level,
ribs split evenly left/right, forearm = ulna + radius, tibia_fibula = tibia + fibula).

Choices the definition leaves open:

- **Involvement** of bone b on one view = lesion pixels in b's regions / (bone-mask or lesion pixels in
  b's regions), capped at 1: a planar area fraction standing in for the mass fraction (as EXINI does on
  planar scans).
- **Coverage**: a thoracic-crop model sees only part of the skeleton. A bone's contribution counts only
  the pixels the model saw, and unseen parts are taken as uninvolved. The report states
  ``covered_mass_percent`` = sum over bones of share x (seen bone pixels / all bone pixels), as a percentage
  of the shares' published total (100.1): **the BSI is
  a lower bound over the covered mass only, not a whole-skeleton BSI.**
- **Weights not normalised**: the BSI multiplies involvement by the Spiers percentages as published
  (:data:`SPIERS_WEIGHTS`, sum 100.1), while ``covered_mass_percent`` divides by 100.1, so a fully involved
  skeleton reads BSI 100.1 %, not 100 %. ``scintiseg.phantom.regions.bsi_weights()`` (the same shares normalised
  to 1) is used nowhere. The difference is a factor 1.001 on every BSI (0.0036 BSI points at the largest phantom
  truth in docs/predict.md, 3.55), below any measured difference; the computation is left as it is.
- **Views** (session 22): BSI is computed per view; the scan's BSI takes each bone from the view nearer to it
  when both were predicted (:data:`NEARER_VIEW`: the spine, sacrum and scapulae from POST, the sternum and
  clavicles from ANT; physics.md: at 140 keV the thoracic spine is clear on the posterior view and faint on the
  anterior one, the sternum and anterior ribs the other way), and every other bone as the mean of the views (ANT
  and POST see the same bones, so summing would count a lesion twice). Before session 22 every bone was the mean
  of the views, which halved a vertebral lesion the anterior view does not show. Measured against the phantom's
  truth with the shipped model (docs/predict.md): r 0.826 -> 0.852 and MAE 0.275 -> 0.237 on 100 default
  patients, 0.846 -> 0.862 / 0.242 -> 0.217 on 60 others, 0.820 -> 0.848 / 0.364 -> 0.323 on 100 randomised ones;
  the posterior view alone gave r 0.867 / 0.863 / 0.844 but the anterior alone 0.49-0.66, so the nearer view is
  chosen per bone by anatomy, not one view for all. The covered skeletal mass is combined the same way.

**Which truth these figures use.** Only the *prediction's* views were combined differently above; every r / MAE
in this docstring is against the headline truth ``benchmarks/bench_wholebody.truth_bsi``: each view's BSI of the
phantom's labelled lesions, **averaged over the two views** (the mean of views), not read from the nearer view as
the pipeline reads its predictions. ``benchmarks/bench_independent.planar_truth_bsi`` reads each bone from its
nearer view instead. The two truths differ by up to 24 % on a patient (session 63, ``metastatic`` profile seeds
2 / 3 / 4: mean of views 1.62 / 1.64 / 1.80, nearer view 1.59 / 1.81 / 2.23;
``runs/s63/phantom_docs/truth_views.py``). Against the truth combined per bone as the pipeline combines views, the
shipped model scores r 0.884 / MAE 0.293 on the 100 default patients (against 0.857 / 0.243 for the headline truth
in the same run): docs/predict.md, section "Bone Scan Index and Soloway", paragraph "Two ways to combine the
truth's views".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scintiseg.predict.regions import REGION_IDS, SkeletonRegions

#: Spiers skeletal-mass shares (%) per atlas region (physics.md). Spine + sacrum (8.3) split by level as
#: the phantom does [E]: cervical 1.2, thoracic 3.2, lumbar 2.6, sacrum 1.3; ribs split evenly; forearm =
#: ulna + radius; tibia_fibula = tibia + fibula. Each region is its own "bone" for the involvement fraction.
SPIERS_WEIGHTS: dict[str, float] = {
    "skull": 16.6, "mandible": 1.8, "cervical_spine": 1.2, "thoracic_spine": 3.2, "lumbar_spine": 2.6,
    "sacrum": 1.3, "ribs_left": 2.2, "ribs_right": 2.2, "sternum": 0.3, "clavicle_left": 0.5,
    "clavicle_right": 0.5, "scapula_left": 1.5, "scapula_right": 1.5, "humerus_left": 3.3, "humerus_right": 3.3,
    "forearm_left": 2.7, "forearm_right": 2.7, "hand_left": 1.5, "hand_right": 1.5, "pelvis": 7.5,
    "femur_left": 8.9, "femur_right": 8.9, "tibia_fibula_left": 6.4, "tibia_fibula_right": 6.4,
    "foot_left": 5.8, "foot_right": 5.8,
}
#: Bone groups: name -> (Spiers share %, atlas regions). One region per group.
BONE_GROUPS: dict[str, tuple[float, tuple[str, ...]]] = {name: (w, (name,)) for name, w in SPIERS_WEIGHTS.items()}

#: Atlas region -> bone group.
REGION_TO_BONE: dict[str, str] = {region: bone for bone, (_, regions) in BONE_GROUPS.items() for region in regions}


def bone_weight(region: str) -> float:
    """Spiers share (%) of the bone group an atlas region belongs to (0 for ``other``): what one fully involved region
    adds to a view's BSI.

    Kept as the public lookup by region name (a lesion record's ``region``), for a user weighing lesions by hand and
    for the tests that recompute a lesion's BSI contribution; :func:`bone_scan_index` reads the same weights group by
    group from :data:`BONE_GROUPS`.
    """
    bone = REGION_TO_BONE.get(region)
    return BONE_GROUPS[bone][0] if bone else 0.0


#: Bone group -> the view nearer to it, which reads it for the scan's BSI when both views were predicted (module
#: docstring); a bone not listed is the mean of the views.
NEARER_VIEW: dict[str, str] = {
    "cervical_spine": "POST", "thoracic_spine": "POST", "lumbar_spine": "POST", "sacrum": "POST",
    "scapula_left": "POST", "scapula_right": "POST",
    "sternum": "ANT", "clavicle_left": "ANT", "clavicle_right": "ANT",
}


def view_weights(bone: str, bone_tables: dict[str, dict[str, dict]], confirmed: bool = False) -> dict[str, float]:
    """How much each predicted view counts for ``bone`` in the scan's BSI (module docstring): the nearer view alone
    when it was predicted and saw the bone (``bone_tables``: view -> its BSI's ``bones`` table), else each view
    equally (a view that did not see the bone counts as uninvolved there, as in its own BSI).

    ``confirmed``: the bone holds an outline a reader drew, restored or edited (a reviewed prediction, ``scintiseg
    review``; :func:`reader_bones`): involved on one view only, it is read from that view, the nearer one or not. The
    nearer-view rule keeps the network's far-view calls out (10 of 12 were false positives, docs/predict.md) and the
    mean halves a lesion seen once; neither should drop or halve what a reader asserted (session 62: a sacral lesion a
    reader outlined on ANT alone counted nothing in the BSI). The network's outlines a reader kept as they were are
    read as the network's, so that a review nobody edited gives the prediction's BSI."""
    if confirmed and len(bone_tables) > 1:
        involved = [view for view, table in bone_tables.items()
                    if float((table.get(bone) or {}).get("contribution_percent") or 0.0) > 0.0]
        if len(involved) == 1:
            return {view: float(view == involved[0]) for view in bone_tables}
    nearer = NEARER_VIEW.get(bone)
    if len(bone_tables) > 1 and nearer in bone_tables and bone in bone_tables[nearer]:
        return {view: float(view == nearer) for view in bone_tables}
    return {view: 1.0 / len(bone_tables) for view in bone_tables}


def reader_bones(lesions, origins: dict, kept_alone=()) -> frozenset[str]:
    """The bone groups named by the lesions (records with ``id`` and ``region``) whose origin in ``origins`` (a review's
    ``origin``: lesion id as text -> ``network``, ``reader``, ``restored``, ``edited``) is a reader's own: drawn,
    restored or edited (:func:`view_weights`' ``confirmed``); and by the network's lesions a reader kept on one view
    while deleting the network's calls in their bone on the other (``kept_alone``: lesion ids, a review's
    ``kept_alone``, :func:`scintiseg.predict.review.review_record`; session 73: a lumbar lesion kept on ANT whose POST
    call the reader deleted counted nothing, POST being the spine's nearer view)."""
    kept = {str(key) for key in kept_alone}
    return frozenset(REGION_TO_BONE.get(str(lesion.region), str(lesion.region)) for lesion in lesions
                     if origins.get(str(lesion.id)) in ("reader", "restored", "edited") or str(lesion.id) in kept)



def bsi_view_weights(bone_tables: dict[str, dict[str, dict]], confirmed=frozenset()) -> dict[str, dict[str, float]]:
    """Bone group -> view -> how much that view counts for the bone in the scan's BSI, for every bone some view's
    ``bones`` table holds: :func:`view_weights` with ``confirmed`` (:func:`reader_bones`), the rule
    :func:`scan_bone_index` applies. ``report.json`` carries it (``summary.bsi_view_weights``) so that the report
    groups the views' contributions by region as the BSI combined them, without applying the rule again."""
    return {bone: view_weights(bone, bone_tables, bone in confirmed) for bone in BONE_GROUPS
            if any(bone in table for table in bone_tables.values())}

def scan_bone_index(bone_tables: dict[str, dict[str, dict]], confirmed=frozenset()) -> tuple[float, float]:
    """(BSI %, covered skeletal mass %) of a scan from its views' ``bones`` tables (:class:`BoneIndex.bones`): each
    bone read by :func:`view_weights`, ``confirmed`` the bones holding a reader's own outline (:func:`reader_bones`).
    One view: that view's own BSI and covered mass.

    Example::

        bsi, covered = scan_bone_index({view: result.bsi["bones"] for view, result in prediction.views.items()})
    """
    if not bone_tables:
        return 0.0, 0.0
    total = covered = 0.0
    for bone, (weight, _) in BONE_GROUPS.items():
        for view, share in view_weights(bone, bone_tables, bone in confirmed).items():
            row = bone_tables[view].get(bone)
            if row is not None and share:
                total += share * row["contribution_percent"]
                covered += share * weight * row["covered_fraction"]
    return total, 100.0 * covered / sum(SPIERS_WEIGHTS.values())


@dataclass
class BoneIndex:
    """BSI of one view.

    Attributes:
        bsi_percent: sum of the bones' contributions (% of skeletal mass).
        covered_mass_percent: skeletal mass the model saw (% of the whole skeleton).
        bones: per bone group: ``weight``, ``covered_fraction``, ``involved_fraction``, ``contribution``.
    """

    bsi_percent: float
    covered_mass_percent: float
    bones: dict[str, dict[str, float]]


def bone_scan_index(lesion_mask: np.ndarray, regions: SkeletonRegions, coverage: np.ndarray | None = None) -> BoneIndex:
    """The BSI of one view over the covered bones (see the module docstring for every choice).

    Args:
        lesion_mask: boolean lesion mask of the view (whole-body coordinates).
        regions: the view's :class:`~scintiseg.predict.regions.SkeletonRegions`.
        coverage: boolean map of the pixels the model saw (None: the whole view).

    Returns:
        A :class:`BoneIndex`.
    """
    lesion = np.asarray(lesion_mask, dtype=bool)
    seen = np.ones_like(lesion) if coverage is None else np.asarray(coverage, dtype=bool)
    bone_or_lesion = regions.bone | lesion
    labels = np.asarray(regions.labels, dtype=np.int64).ravel()
    size = len(REGION_IDS)
    # Pixels per region id in one pass each (a per-group np.isin cost 35 ms per scan).
    bone_count = np.bincount(labels[bone_or_lesion.ravel()], minlength=size)
    seen_count = np.bincount(labels[(bone_or_lesion & seen).ravel()], minlength=size)
    lesion_count = np.bincount(labels[(lesion & seen).ravel()], minlength=size)
    bones: dict[str, dict[str, float]] = {}
    total = covered = 0.0
    for bone, (weight, names) in BONE_GROUPS.items():
        ids = [REGION_IDS[n] for n in names]
        bone_px = int(bone_count[ids].sum())
        if bone_px == 0:
            continue
        seen_px = int(seen_count[ids].sum())
        lesion_px = int(lesion_count[ids].sum())
        covered_fraction = seen_px / bone_px
        involved = min(1.0, lesion_px / bone_px)
        contribution = weight * involved
        covered += weight * covered_fraction
        total += contribution
        if seen_px:
            bones[bone] = {
                "weight_percent": weight,
                "covered_fraction": round(covered_fraction, 4),
                "involved_fraction": round(involved, 5),
                "contribution_percent": round(contribution, 5),
            }
    # The published shares add up to 100.1 % (rounding): the mass seen is reported as a share of their sum,
    # so a whole skeleton reads 100 %, not 100.1 %. (The BSI itself is not normalised: a fully involved skeleton reads
    # 100.1 %; module docstring, "Weights not normalised".)
    return BoneIndex(bsi_percent=total, covered_mass_percent=100.0 * covered / sum(SPIERS_WEIGHTS.values()), bones=bones)


def view_bsi(lesion_mask: np.ndarray, regions: SkeletonRegions, coverage: np.ndarray) -> dict:
    """A view's BSI as :class:`~.prediction.ViewPrediction` ``bsi`` holds it (:func:`bone_scan_index`)."""
    index = bone_scan_index(lesion_mask, regions, coverage)
    return {"bsi_percent": index.bsi_percent, "covered_mass_percent": index.covered_mass_percent, "bones": index.bones}


def soloway_grade(lesion_count: int, superscan: bool = False) -> int:
    """Soloway extent of disease (physics.md): 0 none, 1 fewer than 6, 2 6-20, 3 more than 20, 4 superscan.

    Grade 0 (a normal scan) is added for completeness; grade 4 needs ``superscan=True`` because a superscan
    (diffuse uptake, absent kidneys) is not a count of lesions.
    """
    if superscan:
        return 4
    if lesion_count <= 0:
        return 0
    if lesion_count < 6:
        return 1
    if lesion_count <= 20:
        return 2
    return 3
