import pytest

from scintiseg.phantom.regions import BONE_NAMES, BONE_REGION, REGION_IDS, REGION_NAMES, SPIERS_WEIGHTS, bsi_weights

REQUIRED = ["skull", "mandible", "cervical_spine", "thoracic_spine", "lumbar_spine", "sacrum", "ribs_left",
            "ribs_right", "sternum", "clavicle_left", "clavicle_right", "scapula_left", "scapula_right",
            "humerus_left", "humerus_right", "forearm_left", "forearm_right", "hand_left", "hand_right", "pelvis",
            "femur_left", "femur_right", "tibia_fibula_left", "tibia_fibula_right", "foot_left", "foot_right"]


def test_region_table_is_complete_and_consistent():
    assert sorted(REGION_NAMES.values()) == sorted(REQUIRED)
    assert 0 not in REGION_NAMES
    assert all(REGION_IDS[name] == rid for rid, name in REGION_NAMES.items())
    assert set(SPIERS_WEIGHTS) == set(REQUIRED)
    assert set(BONE_REGION.values()) == set(REQUIRED)


def test_spiers_weights_match_published_totals():
    assert sum(SPIERS_WEIGHTS.values()) == pytest.approx(100.1, abs=1e-6)
    spine = sum(SPIERS_WEIGHTS[k] for k in ("cervical_spine", "thoracic_spine", "lumbar_spine", "sacrum"))
    assert spine == pytest.approx(8.3)
    assert SPIERS_WEIGHTS["ribs_left"] + SPIERS_WEIGHTS["ribs_right"] == pytest.approx(4.4)
    assert SPIERS_WEIGHTS["forearm_left"] == pytest.approx(1.5 + 1.2)
    assert sum(bsi_weights().values()) == pytest.approx(1.0)


def test_bones():
    assert len(BONE_NAMES) == 74 and max(BONE_NAMES) < 256
    assert sum(name.startswith("rib_") for name in BONE_NAMES.values()) == 24
    assert [n for n in BONE_NAMES.values() if n[0] == "T" and n[1:].isdigit()] == [f"T{i}" for i in range(1, 13)]


def test_a_sided_bone_lies_in_the_region_of_its_side():
    for bone, region in BONE_REGION.items():
        for side in ("left", "right"):
            if side in bone:
                assert region == "pelvis" or region.endswith(side), (bone, region)
