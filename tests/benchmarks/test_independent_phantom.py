"""benchmarks/independent_phantom.py: the independent planar bone-scan phantom's physical and label properties."""

from __future__ import annotations

import numpy as np
import pytest
from support import benchmark_module


@pytest.fixture(scope="module")
def ph():
    with benchmark_module("independent_phantom") as module:
        yield module


@pytest.fixture(scope="module")
def pair(ph):
    """One patient with lesions and its lesion-free twin (several lesions, known counts and spacing)."""
    for seed in range(3, 40):
        case = ph.make_case(seed, spacing_mm=2.26, total_counts=3.0e6)
        if len(case.lesion_info) >= 3:
            return case, ph.make_case(seed, lesions=False, spacing_mm=2.26, total_counts=3.0e6)
    raise AssertionError("no seed with three lesions")


def _centroid_col(mask):
    return float(np.nonzero(mask)[1].mean())


def test_shapes_dtypes_and_vocabulary(ph, pair):
    case, twin = pair
    assert ph.REGION_NAMES == {
        1: "skull", 2: "mandible", 3: "cervical_spine", 4: "thoracic_spine", 5: "lumbar_spine", 6: "sacrum",
        7: "ribs_left", 8: "ribs_right", 9: "sternum", 10: "clavicle_left", 11: "clavicle_right",
        12: "scapula_left", 13: "scapula_right", 14: "humerus_left", 15: "humerus_right", 16: "forearm_left",
        17: "forearm_right", 18: "hand_left", 19: "hand_right", 20: "pelvis", 21: "femur_left",
        22: "femur_right", 23: "tibia_fibula_left", 24: "tibia_fibula_right", 25: "foot_left", 26: "foot_right"}
    for c in (case, twin):
        assert set(c.views) == set(c.lesions) == set(c.regions) == {"ANT", "POST"}
        for vw in ("ANT", "POST"):
            assert c.views[vw].shape == c.lesions[vw].shape == c.regions[vw].shape == (1024, 256)
            assert c.views[vw].dtype == np.float32 and c.lesions[vw].dtype == np.int32
            assert c.regions[vw].dtype == np.uint8
            v = c.views[vw]
            assert v.min() >= 0 and np.array_equal(v, np.round(v))  # Poisson counts
        assert c.pixel_spacing == (2.26, 2.26)
        present = set(np.unique(c.regions["ANT"])) | set(np.unique(c.regions["POST"]))
        assert present - {0} == set(range(1, 27))  # every bone is visible somewhere
    for info in case.lesion_info:
        assert {"id", "region", "diameter_mm", "uptake_ratio", "centre_mm"} <= set(info)
        assert info["region"] in ph.REGION_IDS and 1.5 <= info["uptake_ratio"] <= 8.0
        assert 8.0 <= info["diameter_mm"] <= 61.0 and len(info["centre_mm"]) == 3


def test_deterministic_for_a_seed_and_different_across_seeds(ph):
    a, b = ph.make_case(11), ph.make_case(11)
    c = ph.make_case(12)
    for vw in ("ANT", "POST"):
        assert np.array_equal(a.views[vw], b.views[vw]) and np.array_equal(a.lesions[vw], b.lesions[vw])
        assert np.array_equal(a.regions[vw], b.regions[vw])
    assert a.lesion_info == b.lesion_info and a.involved == b.involved
    assert not np.array_equal(a.views["ANT"], c.views["ANT"])
    assert 2.0 <= a.pixel_spacing[0] <= 2.8 and a.seed == 11
    assert 0.7e6 <= a.views["ANT"].sum() <= 4.6e6


def test_total_counts_near_the_requested_total(ph, pair):
    case, twin = pair
    mean_twin = (twin.views["ANT"].sum() + twin.views["POST"].sum()) / 2
    assert mean_twin == pytest.approx(3.0e6, rel=0.01)  # Poisson: sqrt(3e6) is 0.06 %
    for vw in ("ANT", "POST"):
        assert twin.views[vw].sum() == pytest.approx(3.0e6, rel=0.25)
        assert twin.views[vw].sum() < case.views[vw].sum() < 1.3 * twin.views[vw].sum()  # lesions add counts


def test_attenuation_spine_brighter_relative_to_sternum_on_post(ph, pair):
    _, twin = pair
    ratios = {}
    for vw in ("ANT", "POST"):
        img, reg = twin.views[vw], twin.regions[vw]
        ratios[vw] = img[reg == ph.REGION_IDS["thoracic_spine"]].mean() / img[reg == ph.REGION_IDS["sternum"]].mean()
    assert ratios["POST"] > 1.3 * ratios["ANT"]


def test_left_femur_on_image_right_in_ant_and_image_left_in_post(ph, pair):
    case, _ = pair
    left, right = ph.REGION_IDS["femur_left"], ph.REGION_IDS["femur_right"]
    ant, post = case.regions["ANT"], case.regions["POST"]
    assert _centroid_col(ant == left) > 128 > _centroid_col(ant == right)
    assert _centroid_col(post == left) < 128 < _centroid_col(post == right)
    # POST is the mirror of ANT about the field's centre (same patient, not flipped to match ANT)
    assert abs((_centroid_col(ant == left) + _centroid_col(post == left)) - 255) < 4


def test_every_lesion_is_visible_on_bone(ph, pair):
    case, _ = pair
    ids = [info["id"] for info in case.lesion_info]
    assert len(ids) == len(set(ids)) >= 3
    for vw in ("ANT", "POST"):
        assert set(np.unique(case.lesions[vw])) - {0} <= set(ids)
    for k in ids:
        sizes = {vw: int((case.lesions[vw] == k).sum()) for vw in ("ANT", "POST")}
        assert max(sizes.values()) > 0, k
        for vw in ("ANT", "POST"):
            m = case.lesions[vw] == k
            if m.any():
                on_bone = (case.regions[vw][m] > 0).mean()
                assert on_bone >= 0.5, (k, vw, on_bone)


def test_lesion_pixels_are_hotter_than_in_the_twin_and_the_twin_is_lesion_free(ph, pair):
    case, twin = pair
    for vw in ("ANT", "POST"):
        assert not twin.lesions[vw].any()
        assert np.array_equal(case.regions[vw], twin.regions[vw])
        m = case.lesions[vw] > 0
        assert case.views[vw][m].mean() > 1.1 * twin.views[vw][m].mean()
        off = ~m
        # outside lesions the images differ only by the lesions' own (blurred, scattered) counts
        assert case.views[vw][off].sum() - twin.views[vw][off].sum() < 0.1 * twin.views[vw].sum()
        assert (case.views[vw] >= twin.views[vw]).all()
    for info in case.lesion_info:
        assert info["region"] in ph.REGION_IDS


def test_involved_fractions(ph, pair):
    case, twin = pair
    assert set(case.involved) == set(ph.REGION_NAMES.values()) == set(twin.involved)
    assert all(0.0 <= f <= 1.0 for f in case.involved.values())
    assert all(f == 0.0 for f in twin.involved.values()) and not twin.lesion_info
    for info in case.lesion_info:
        assert case.involved[info["region"]] > 0.0


def _body_extent(img, sp):
    rows = np.nonzero((img > 0).sum(1) > 3)[0]
    body = img > 0.1 * np.percentile(img[img > 0], 99)
    cols = np.nonzero(body.sum(0) > 0.03 * body.shape[0])[0]
    return (rows.max() - rows.min()) * sp, (cols.max() - cols.min()) * sp


def test_a_different_matrix_keeps_the_body_proportions(ph):
    big = ph.make_case(5, lesions=False)
    small = ph.make_case(5, lesions=False, rows=512, cols=128)
    assert small.views["ANT"].shape == (512, 128) and small.pixel_spacing[0] == pytest.approx(2 * big.pixel_spacing[0])
    hb, wb = _body_extent(big.regions["ANT"], big.pixel_spacing[0])
    hs, ws = _body_extent(small.regions["ANT"], small.pixel_spacing[0])
    assert hs == pytest.approx(hb, rel=0.03) and ws == pytest.approx(wb, rel=0.05)
    assert (hs / ws) == pytest.approx(hb / wb, rel=0.06)
    fine = ph.make_case(5, lesions=False, rows=2048, cols=512, spacing_mm=1.2)
    hf, wf = _body_extent(fine.regions["ANT"], 1.2)
    assert hf / wf == pytest.approx(hb / wb, rel=0.08)
