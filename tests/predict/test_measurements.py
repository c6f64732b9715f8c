import numpy as np
import pytest
from scipy import ndimage as ndi

from scintiseg.predict.bsi import bone_scan_index, bone_weight
from scintiseg.predict.measurements import measure_lesions, normal_bone_reference
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


def test_a_lesion_on_a_sided_bone_takes_the_bones_side():
    """A rib lesion whose centroid lies within 1 % of body height of the midline read "ribs_right" and "midline";
    a sided region now gives the side (session 62); an unsided one keeps the centroid's."""
    from scintiseg.predict.measurements import region_side

    counts = np.full((100, 40), 100.0)
    labels = np.zeros((100, 40), dtype=np.int32)
    labels[40:44, 19:21] = 1  # on the midline (column 20)
    labels[60:64, 19:21] = 2
    region_map = np.zeros((100, 40), dtype=np.int16)
    region_map[30:50, :] = REGION_IDS["ribs_right"]
    region_map[50:70, :] = REGION_IDS["thoracic_spine"]
    regions = SkeletonRegions("ANT", region_map, counts > 0, np.ones_like(counts, bool), 0, 99, 20.0)
    rib, spine = measure_lesions(labels, counts, np.where(labels > 0, 0.9, 0.0), regions, (2.0, 2.0), "ANT")[0]
    assert (rib.region, rib.laterality) == ("ribs_right", "right")
    assert (spine.region, spine.laterality) == ("thoracic_spine", "midline")
    assert region_side("femur_left") == "left" and region_side("sacrum") is None and region_side("unnamed") is None


def test_measurements_of_many_lesions_equal_a_whole_view_computation():
    """Each lesion is measured on its bounding box: every number equals the same one computed over the
    whole view, for lesions of several bones (BSI shares of one group counted once per view)."""
    rng = np.random.default_rng(4)
    shape = (120, 80)
    counts = rng.poisson(50, size=shape).astype(np.uint16)
    prob = rng.random(shape).astype(np.float32)
    region_map = np.zeros(shape, dtype=np.int16)
    region_map[:60, :40] = REGION_IDS["thoracic_spine"]
    region_map[:60, 40:] = REGION_IDS["pelvis"]
    region_map[60:] = REGION_IDS["femur_left"]
    bone = rng.random(shape) > 0.3
    regions = SkeletonRegions("ANT", region_map, bone, np.ones_like(bone), 0, 119, 40.0)
    labels = np.zeros(shape, dtype=np.int32)
    boxes = [(5, 10, 4, 6), (20, 30, 7, 14), (45, 36, 10, 12), (70, 60, 5, 5), (100, 5, 10, 30)]  # row, col, h, w
    for k, (r, c, h, w) in enumerate(boxes, start=1):
        labels[r:r + h, c:c + w] = k
    lesions, reference = measure_lesions(labels, counts, prob, regions, (2.0, 2.0), "ANT")
    lesion_or_bone = bone | (labels > 0)
    for lesion in lesions:
        inside = labels == lesion.id
        values = counts[inside].astype(np.float64)
        assert lesion.area_px == inside.sum()
        assert lesion.counts_total == values.sum() and lesion.counts_max == values.max()
        assert lesion.counts_mean == round(values.mean(), 3)
        assert lesion.probability_max == round(float(prob[inside].max()), 4)
        assert lesion.probability_mean == round(float(prob[inside].astype(np.float64).mean()), 4)
        assert lesion.lesion_to_normal_bone == round(values.mean() / reference, 3)
        contribution = 0.0  # every bone the lesion lies in (lesion 3 straddles the thoracic spine and the pelvis)
        for name in ("thoracic_spine", "pelvis", "femur_left"):
            group = region_map == REGION_IDS[name]
            contribution += bone_weight(name) * (inside & group).sum() / (lesion_or_bone & group).sum()
        assert lesion.bsi_contribution_percent == pytest.approx(round(contribution, 5))
    assert [lesion.region for lesion in lesions] == ["thoracic_spine", "thoracic_spine", "pelvis", "femur_left", "femur_left"]
    # So the lesions add up to the view's BSI (no bone wholly involved here).
    total = bone_scan_index(labels > 0, regions).bsi_percent
    assert sum(lesion.bsi_contribution_percent for lesion in lesions) == pytest.approx(total, abs=1e-4)
    assert lesions[2].bsi_contribution_percent > bone_weight("pelvis") * ((labels == 3) & (region_map == REGION_IDS[
        "pelvis"])).sum() / (lesion_or_bone & (region_map == REGION_IDS["pelvis"])).sum()


def _one_lesion_view(shape=(40, 40)):
    labels = np.zeros(shape, dtype=np.int32)
    labels[8:10, 8:11] = 1  # 6 px
    region_map = np.full(shape, REGION_IDS["thoracic_spine"], dtype=np.int16)
    return labels, region_map


def test_equivalent_diameter_is_the_discs_of_the_lesions_area_in_mm():
    labels, region_map = _one_lesion_view()
    counts = np.full(labels.shape, 100.0)
    regions = SkeletonRegions("POST", region_map, np.ones(labels.shape, bool), np.ones(labels.shape, bool), 0, 39, 20.0)
    (lesion,), _ = measure_lesions(labels, counts, np.where(labels > 0, 0.8, 0.0), regions, (2.0, 3.0), "POST")
    assert lesion.equivalent_diameter_mm == pytest.approx(2.0 * np.sqrt(36.0 / np.pi), abs=0.01)  # 6.77 mm
    assert (lesion.centroid_row, lesion.centroid_col) == (8.5, 9.0)


def test_the_reference_leaves_out_the_bone_beside_a_lesion():
    counts = np.full((20, 20), 10.0)
    bone = np.zeros((20, 20), dtype=bool)
    bone[2:8, 0:6] = True  # 36 px of bone, 24 of them within 2 px of the lesion
    labels = np.zeros((20, 20), dtype=np.int32)
    labels[4:6, 2:4] = 1
    near = ndi.binary_dilation(labels > 0, iterations=2)
    counts[bone] = 100.0
    counts[bone & near] = 200.0  # the lesion's rim, brighter than normal bone
    counts[labels > 0] = 300.0
    regions = SkeletonRegions("ANT", np.zeros((20, 20), np.int16), bone, np.ones_like(bone), 0, 19, 10.0)
    assert normal_bone_reference(counts, regions, labels > 0) == 100.0
    (lesion,), reference = measure_lesions(labels, counts, counts / 300.0, regions, (2.0, 2.0), "ANT")
    assert reference == 100.0 and lesion.lesion_to_normal_bone == pytest.approx(3.0)


def test_the_reference_is_read_where_the_model_looked_else_on_the_whole_view():
    counts = np.full((20, 40), 5.0)
    bone = np.zeros((20, 40), dtype=bool)
    bone[5:15, 2:10] = True  # 80 px of bone the model saw, at 100
    bone[5:15, 15:38] = True  # 230 px it did not, at 50
    counts[5:15, 2:10], counts[5:15, 15:38] = 100.0, 50.0
    coverage = np.zeros_like(bone)
    coverage[:, :12] = True
    regions = SkeletonRegions("ANT", np.zeros((20, 40), np.int16), bone, np.ones_like(bone), 0, 19, 20.0)
    no_lesion = np.zeros_like(bone)
    assert normal_bone_reference(counts, regions, no_lesion, coverage) == 100.0
    assert normal_bone_reference(counts, regions, no_lesion) == 50.0
    boneless = np.zeros_like(bone)
    boneless[:, 39] = True  # the model saw no bone: the whole view's bone
    assert normal_bone_reference(counts, regions, no_lesion, boneless) == 50.0


def test_every_field_of_a_lesion_record_is_documented_and_the_box_and_centre_are_as_documented():
    """API audit 74, finding 10: the 19 fields had a one-line docstring (no units, value sets or frame). Each is now
    named in the Attributes section; the frame it states is checked on a lesion of known place: ``bbox`` is (min_row,
    min_col, max_row, max_col) with the maxima exclusive, the centroid in the view's own pixels."""
    import dataclasses
    import re

    from scintiseg.predict.measurements import LesionMeasurement

    documented = set(re.findall(r"^        (\w+)(?:, (\w+))?(?:, (\w+))?:", LesionMeasurement.__doc__, re.M))
    named = {name for names in documented for name in names if name}
    assert {field.name for field in dataclasses.fields(LesionMeasurement)} <= named
    counts = np.full((50, 30), 100.0)
    labels = np.zeros((50, 30), dtype=np.int32)
    labels[20:24, 5:8] = 1
    region_map = np.full((50, 30), REGION_IDS["pelvis"], dtype=np.int16)
    regions = SkeletonRegions("ANT", region_map, counts > 0, np.ones_like(counts, bool), 0, 49, 15.0)
    (lesion,), _ = measure_lesions(labels, counts, np.where(labels > 0, 0.9, 0.0), regions, (2.0, 2.0), "ANT")
    assert lesion.bbox == (20, 5, 24, 8) and np.all(labels[20:24, 5:8] == 1)
    assert (lesion.centroid_row, lesion.centroid_col) == (21.5, 6.0)
