import numpy as np
import pytest

from scintiseg.predict.measurements import measure_lesions
from scintiseg.predict.regions import REGION_IDS, SkeletonRegions


def test_measurements_known_values():
    counts = np.full((40, 40), 10.0)
    counts[5:15, 5:15] = 100.0  # bone
    counts[8:10, 8:11] = 300.0  # the lesion: 6 px
    labels = np.zeros((40, 40), dtype=np.int32)
    labels[8:10, 8:11] = 1
    bone = counts >= 100
    region_map = np.zeros((40, 40), dtype=np.int16)
    region_map[:, :20] = REGION_IDS["thoracic_spine"]
    regions = SkeletonRegions("POST", region_map, bone, np.ones_like(bone), 0, 39, 20.0)
    prob = np.where(labels > 0, 0.8, 0.0)
    (lesion,), reference = measure_lesions(labels, counts, prob, regions, (2.0, 3.0), "POST", first_id=7)
    assert reference == 100.0
    assert lesion.id == 7 and lesion.view == "POST" and lesion.region == "thoracic_spine"
    assert lesion.area_px == 6 and lesion.area_mm2 == pytest.approx(36.0)
    assert lesion.counts_total == 1800 and lesion.counts_max == 300 and lesion.counts_mean == 300
    assert lesion.lesion_to_normal_bone == pytest.approx(3.0)
    assert lesion.probability_mean == pytest.approx(0.8)
    # POST as acquired: the image left is the patient's left.
    assert lesion.laterality == "left"
    assert lesion.bsi_contribution_percent == pytest.approx(3.2 * 6 / 100)
