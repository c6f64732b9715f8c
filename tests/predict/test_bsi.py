import numpy as np
import pytest

from scintiseg.predict.bsi import SPIERS_WEIGHTS, bone_scan_index, soloway_grade
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
