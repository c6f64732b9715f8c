import numpy as np
import pytest

from scintiseg.predict.bsi import (
    BONE_GROUPS,
    NEARER_VIEW,
    REGION_TO_BONE,
    SPIERS_WEIGHTS,
    bone_scan_index,
    bsi_view_weights,
    scan_bone_index,
    soloway_grade,
    view_weights,
)
from scintiseg.predict.regions import REGION_IDS, SkeletonRegions


@pytest.mark.parametrize("count, grade", [(0, 0), (1, 1), (5, 1), (6, 2), (20, 2), (21, 3)])
def test_soloway_grades(count, grade):
    assert soloway_grade(count) == grade


def test_soloway_superscan():
    assert soloway_grade(3, superscan=True) == 4


def test_spiers_weights_sum_to_published_total():
    assert sum(SPIERS_WEIGHTS.values()) == pytest.approx(100.1, abs=0.05)


def _regions() -> SkeletonRegions:
    labels = np.zeros((10, 20), dtype=np.int16)
    labels[:, :10] = REGION_IDS["pelvis"]
    labels[:, 10:] = REGION_IDS["femur_left"]
    bone = np.zeros((10, 20), dtype=bool)
    bone[2:8, :] = True  # 60 bone px per region
    return SkeletonRegions("ANT", labels, bone, np.ones_like(bone), 0, 9, 10.0)


def test_bsi_known_value_and_coverage():
    regions = _regions()
    lesion = np.zeros((10, 20), dtype=bool)
    lesion[2:5, 0:5] = True  # 15 of pelvis's 60 bone px
    index = bone_scan_index(lesion, regions)
    assert index.bsi_percent == pytest.approx(7.5 * 15 / 60)
    assert index.covered_mass_percent == pytest.approx((7.5 + 8.9) / 100.1 * 100)
    coverage = np.zeros_like(lesion)
    coverage[:, :10] = True  # the model saw only the pelvis
    index = bone_scan_index(lesion, regions, coverage)
    assert index.covered_mass_percent == pytest.approx(7.5 / 100.1 * 100)
    assert set(index.bones) == {"pelvis"}
    assert index.bones["pelvis"]["involved_fraction"] == pytest.approx(0.25)


def _views(ant: dict[str, tuple[float, float]], post: dict[str, tuple[float, float]]) -> dict[str, dict[str, dict]]:
    """Bone tables of two views from bone -> (involved fraction, covered fraction)."""
    def table(rows):
        return {bone: {"weight_percent": SPIERS_WEIGHTS[bone], "covered_fraction": covered, "involved_fraction": involved,
                       "contribution_percent": SPIERS_WEIGHTS[bone] * involved} for bone, (involved, covered) in rows.items()}
    return {"ANT": table(ant), "POST": table(post)}


def test_scan_bsi_reads_each_bone_from_its_nearer_view_else_the_mean():
    """Hand computation: lumbar spine 0.4 on POST (0.1 on ANT) counts POST's; sternum 0.5 on ANT only counts ANT's;
    femur 0.2 / 0.1 counts the mean; the scapula unseen on POST falls back to the mean (POST counts 0 there)."""
    tables = _views(ant={"lumbar_spine": (0.1, 1.0), "sternum": (0.5, 1.0), "femur_left": (0.2, 1.0), "scapula_left": (0.3, 1.0)},
                    post={"lumbar_spine": (0.4, 1.0), "sternum": (0.0, 1.0), "femur_left": (0.1, 0.5)})
    bsi, covered = scan_bone_index(tables)
    assert bsi == pytest.approx(2.6 * 0.4 + 0.3 * 0.5 + 8.9 * 0.15 + 1.5 * 0.3 / 2)
    assert covered == pytest.approx(100 * (2.6 + 0.3 + 8.9 * 0.75 + 1.5 / 2) / sum(SPIERS_WEIGHTS.values()))
    assert view_weights("thoracic_spine", tables) == {"ANT": 0.5, "POST": 0.5}  # seen by neither: the mean
    assert view_weights("lumbar_spine", tables) == {"ANT": 0.0, "POST": 1.0}
    assert NEARER_VIEW["sternum"] == "ANT" and "femur_left" not in NEARER_VIEW


def test_a_readers_outline_on_one_view_counts_from_that_view():
    """A reviewed scan (``confirmed``: bones holding an outline the reader drew, restored or edited): a sacral lesion
    outlined on ANT alone counts ANT's (the nearer-view rule gave POST's 0); a femoral one on POST alone counts POST's
    in full (the mean halved it); a bone involved on both views is read as before; bones whose outlines the reader
    kept as the network's are read as the network's, so an unedited review gives the prediction's BSI."""
    tables = _views(ant={"sacrum": (0.2, 1.0), "lumbar_spine": (0.1, 1.0), "femur_left": (0.0, 1.0)},
                    post={"sacrum": (0.0, 1.0), "lumbar_spine": (0.4, 1.0), "femur_left": (0.3, 1.0)})
    weight = {bone: w for bone, (w, _) in BONE_GROUPS.items()}
    network, _ = scan_bone_index(tables)
    reader, _ = scan_bone_index(tables, confirmed={"sacrum", "lumbar_spine", "femur_left"})
    kept, _ = scan_bone_index(tables, confirmed={"lumbar_spine"})  # the sacral and femoral outlines the network's
    assert kept == pytest.approx(network)
    assert network == pytest.approx(weight["lumbar_spine"] * 0.4 + weight["femur_left"] * 0.15)
    assert reader == pytest.approx(weight["sacrum"] * 0.2 + weight["lumbar_spine"] * 0.4 + weight["femur_left"] * 0.3)
    assert view_weights("sacrum", tables, confirmed=True) == {"ANT": 1.0, "POST": 0.0}
    assert view_weights("lumbar_spine", tables, confirmed=True) == {"ANT": 0.0, "POST": 1.0}  # both: the nearer



def test_the_view_weights_report_json_carries_are_the_ones_the_bsi_applied():
    """``bsi_view_weights``: every bone some view saw, weighed by :func:`view_weights` with the reader's own bones, so
    that the weighed views' contributions add up to :func:`scan_bone_index`'s BSI (the HTML report groups by them)."""
    tables = _views(ant={"sacrum": (0.2, 1.0), "lumbar_spine": (0.1, 1.0), "femur_left": (0.2, 1.0)},
                    post={"sacrum": (0.0, 1.0), "lumbar_spine": (0.4, 1.0)})
    for confirmed in (frozenset(), frozenset({"sacrum"})):
        weights = bsi_view_weights(tables, confirmed)
        assert list(weights) == ["lumbar_spine", "sacrum", "femur_left"]  # Spiers order; unseen bones absent
        assert weights == {bone: view_weights(bone, tables, bone in confirmed) for bone in weights}
        total = sum(w * tables[view].get(bone, {}).get("contribution_percent", 0.0)
                    for bone, by_view in weights.items() for view, w in by_view.items())
        assert total == pytest.approx(scan_bone_index(tables, confirmed)[0])
    assert bsi_view_weights(tables, frozenset({"sacrum"}))["sacrum"] == {"ANT": 1.0, "POST": 0.0}
    assert bsi_view_weights(tables)["sacrum"] == {"ANT": 0.0, "POST": 1.0}  # the nearer view
    assert bsi_view_weights({}) == {}

def test_scan_bsi_of_one_view_is_that_views_own():
    regions = _regions()
    lesion = np.zeros((10, 20), dtype=bool)
    lesion[2:5, 0:5] = True
    index = bone_scan_index(lesion, regions)
    bsi, covered = scan_bone_index({"ANT": index.bones})
    assert bsi == pytest.approx(index.bsi_percent) and covered == pytest.approx(index.covered_mass_percent)
    assert scan_bone_index({}) == (0.0, 0.0)


def test_reader_bones_are_the_bones_of_the_readers_own_outlines():
    from types import SimpleNamespace as Lesion

    from scintiseg.predict.bsi import reader_bones

    lesions = [Lesion(id=1, region="sacrum"), Lesion(id=2, region="ribs_left"), Lesion(id=3, region="femur_right"),
               Lesion(id=4, region="skull")]
    origins = {"1": "reader", "2": "edited", "3": "network", "4": "restored"}
    assert reader_bones(lesions, origins) == {"sacrum", REGION_TO_BONE["ribs_left"], "skull"}
    assert reader_bones(lesions, {}) == frozenset()


def test_spiers_weights_are_the_published_share_of_each_bone():
    """physics.md (Spiers 1968 via Imbriaco et al.), bone by bone: the sum alone misses two bones' shares swapped."""
    published = {"skull": 16.6, "mandible": 1.8, "sternum": 0.3, "pelvis": 7.5}
    each_side = {"clavicle": 0.5, "scapula": 1.5, "humerus": 3.3, "forearm": 1.5 + 1.2, "hand": 1.5,
                 "femur": 8.9, "tibia_fibula": 5.1 + 1.3, "foot": 5.8}  # forearm = ulna + radius, tibia + fibula
    for bone, share in each_side.items():
        published[f"{bone}_left"] = published[f"{bone}_right"] = share
    for bone, share in published.items():
        assert SPIERS_WEIGHTS[bone] == pytest.approx(share), bone
    assert SPIERS_WEIGHTS["ribs_left"] + SPIERS_WEIGHTS["ribs_right"] == pytest.approx(4.4)  # all 24 ribs
    spine = ("cervical_spine", "thoracic_spine", "lumbar_spine", "sacrum")
    assert sum(SPIERS_WEIGHTS[bone] for bone in spine) == pytest.approx(8.3)  # spine + sacrum


def test_a_partly_seen_bone_counts_its_seen_lesion_pixels_over_the_whole_bone():
    """Module docstring, "Coverage": unseen parts are taken as uninvolved, so involvement = seen lesion pixels / all
    the bone's pixels (not / its seen pixels), and a lesion outside the coverage adds nothing."""
    regions = _regions()
    lesion = np.zeros((10, 20), dtype=bool)
    lesion[2:5, 0:5] = True  # 15 pelvis px, seen
    lesion[2:5, 7:10] = True  # 9 pelvis px, not seen
    coverage = np.zeros_like(lesion)
    coverage[:, :6] = True  # 6 of the pelvis's 10 columns: 36 of its 60 bone px
    index = bone_scan_index(lesion, regions, coverage)
    assert index.bones["pelvis"]["covered_fraction"] == pytest.approx(36 / 60)
    assert index.bones["pelvis"]["involved_fraction"] == pytest.approx(15 / 60)
    assert index.bsi_percent == pytest.approx(7.5 * 15 / 60)


def test_nearer_view_is_one_view_for_both_sides_and_posterior_for_the_spine():
    """A bone and its mirror image lie at one depth, so left and right read from the same view (module docstring:
    scapulae from POST, clavicles from ANT); every spinal level and the sacrum from POST, the sternum from ANT."""
    for bone in SPIERS_WEIGHTS:
        if bone.endswith("_left"):
            right = bone[: -len("_left")] + "_right"
            assert NEARER_VIEW.get(bone) == NEARER_VIEW.get(right), bone
    assert all(NEARER_VIEW[b] == "POST" for b in ("cervical_spine", "thoracic_spine", "lumbar_spine", "sacrum"))
    assert NEARER_VIEW["scapula_left"] == "POST" and NEARER_VIEW["clavicle_left"] == "ANT" and NEARER_VIEW["sternum"] == "ANT"
