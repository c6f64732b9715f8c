"""Tests of :mod:`scintiseg.phantom.lesions`: how many metastases, where, and their 3-D shape and excess activity.

The shape weights are checked on a plain box of bone on a 1 x 1 x 2 mm grid, where a sphere's or a cylinder's
volume is known; the draws on the ``small`` profile's anatomy (built once for the module). Elsewhere:
tests/phantom/test_site_boost.py (site weights and boosts), tests/phantom/test_randomised.py (the phantom-v2
randomisers: cold, elongated and uneven lesions).
"""

from __future__ import annotations

import copy
import math
from dataclasses import replace

import numpy as np
import pytest

from scintiseg.phantom.anatomy import Bone
from scintiseg.phantom.config import LesionConfig
from scintiseg.phantom.lesions import (
    AXIAL_PREFIXES,
    EDGE_MM,
    Disease,
    Lesion,
    apply_superscan,
    ellipsoid_weight,
    excess_block,
    lobulated_radius,
    log_uniform,
    make_lesion,
    path_segment_weight,
    place_lesions,
    point_on_path,
    sample_disease,
    site_weights,
    sphere_weight,
    vertebral_body_weight,
)
from scintiseg.phantom.primitives import Block, Grid

#: 1 mm pixels, 2 mm slabs: fine enough that a 15 mm sphere's voxel sum is within a few percent of its volume.
FINE = Grid(rows=80, cols=80, depth=40, row_mm=1.0, col_mm=1.0, depth_mm=2.0)
VOXEL_MM3 = FINE.row_mm * FINE.col_mm * FINE.depth_mm
MIDDLE = (40.0, 40.0, 40.0)  # (z, x, y) mm: the centre of FINE


def box_bone(occupancy: float = 1.0, activity: float = 2.0, body: dict | None = None) -> Bone:
    """A bone filling all of :data:`FINE` with uniform occupancy and activity."""
    shape = FINE.shape
    return Bone("femur_left", Block((0, 0, 0), np.full(shape, occupancy, np.float32),
                                    np.full(shape, activity, np.float32)), body=body)


@pytest.fixture(scope="module")
def anatomy(small_anatomy_seed3):
    return small_anatomy_seed3


# --------------------------------------------------------------------------------------------- draws


def test_log_uniform_stays_in_range_with_the_geometric_mean_as_median():
    rng = np.random.default_rng(0)
    values = np.array([log_uniform(rng, (1.0, 100.0)) for _ in range(4000)])
    assert values.min() >= 1.0 and values.max() <= 100.0
    assert 8.5 < np.median(values) < 11.5  # sqrt(1 x 100) = 10; a plain uniform draw would give 50.5
    assert abs(np.mean(np.log(values) < math.log(10.0)) - 0.5) < 0.03  # uniform in log


def test_sample_disease_follows_the_soloway_grade_counts():
    rng = np.random.default_rng(1)
    only = lambda grade, **kw: replace(LesionConfig(), p_normal=0.0, soloway={grade: 1.0}, **kw)  # noqa: E731
    assert {sample_disease(rng, replace(LesionConfig(), p_normal=1.0)).n_lesions for _ in range(20)} == {0}
    solitary = [sample_disease(rng, only(1, p_solitary=1.0)) for _ in range(20)]
    assert {(d.soloway, d.n_lesions, d.superscan) for d in solitary} == {(1, 1, False)}
    assert {sample_disease(rng, only(1, p_solitary=0.0)).n_lesions for _ in range(200)} == {2, 3, 4, 5}
    assert {sample_disease(rng, only(2)).n_lesions for _ in range(400)} == set(range(6, 21))
    grade3 = [sample_disease(rng, only(3, max_lesions=25)) for _ in range(200)]
    assert {d.n_lesions for d in grade3} == set(range(21, 26)) and not any(d.superscan for d in grade3)
    grade4 = [sample_disease(rng, only(4)) for _ in range(50)]
    assert all(d.superscan and 21 <= d.n_lesions <= 40 for d in grade4)
    assert {sample_disease(rng, only(2, max_lesions=3)).n_lesions for _ in range(20)} == {3}  # the cap


def test_sample_disease_draws_the_primary_from_its_weights():
    rng = np.random.default_rng(2)
    cfg = replace(LesionConfig(), primaries={"lung": 3.0, "breast": 1.0})  # weights need not sum to 1
    primaries = [sample_disease(rng, cfg).primary for _ in range(2000)]
    assert set(primaries) == {"lung", "breast"}
    assert abs(primaries.count("lung") / 2000 - 0.75) < 0.03


# --------------------------------------------------------------------------------------------- shapes


def test_point_on_path_moves_by_arc_length():
    path = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [10.0, 30.0, 0.0]])  # 10 mm then 30 mm
    np.testing.assert_allclose(point_on_path(path, 0.0), [0, 0, 0])
    np.testing.assert_allclose(point_on_path(path, 0.25), [10, 0, 0])
    np.testing.assert_allclose(point_on_path(path, 0.5), [10, 10, 0])
    np.testing.assert_allclose(point_on_path(path, 1.0), [10, 30, 0])


def test_lobulated_radius_is_round_without_lobes_and_bounded_and_periodic_with_them():
    angle = np.linspace(0, 2 * np.pi, 360, endpoint=False)
    np.testing.assert_allclose(lobulated_radius(10.0, angle, np.random.default_rng(0), 0.0), 10.0)
    lobes = 0.35
    r = lobulated_radius(10.0, angle, np.random.default_rng(0), lobes)
    np.testing.assert_allclose(lobulated_radius(10.0, angle + 2 * np.pi, np.random.default_rng(0), lobes), r, rtol=1e-5)
    low, high = 10.0 * np.prod([1 - lobes / k for k in (2, 3, 5)]), 10.0 * np.prod([1 + lobes / k for k in (2, 3, 5)])
    assert low <= r.min() < 9.5 and 10.5 < r.max() <= high  # irregular, within the three lobes' reach
    rng, twin = np.random.default_rng(5), np.random.default_rng(5)
    lobulated_radius(10.0, angle, rng, lobes)
    twin.uniform(size=6)
    assert rng.random() == twin.random()  # six numbers drawn, as documented


def test_sphere_weight_sums_to_the_sphere_volume_and_is_one_inside():
    weight = sphere_weight(box_bone(), FINE, MIDDLE, 15.0)
    assert 0.0 <= weight.min() and weight.max() <= 1.0
    assert weight.sum() * VOXEL_MM3 == pytest.approx(4 / 3 * math.pi * 15.0**3, rel=0.02)
    assert weight[20, 40, 40] == 1.0 and weight[20, 40, 60] == 0.0  # the centre voxel; 20 mm off to the side
    lobed = sphere_weight(box_bone(), FINE, MIDDLE, 15.0, np.random.default_rng(0), lobes=0.35)
    assert (lobed != weight).any() and 0.0 <= lobed.min() and lobed.max() <= 1.0


def test_ellipsoid_weight_sums_to_the_ellipsoid_volume_in_any_direction():
    volume = 4 / 3 * math.pi * 20.0 * 8.0 * 8.0
    for direction in ((1.0, 0.0), (1.0, 1.0), (0.0, 3.0)):
        weight = ellipsoid_weight(box_bone(), FINE, MIDDLE, 20.0, 8.0, direction)
        assert weight.sum() * VOXEL_MM3 == pytest.approx(volume, rel=0.03), direction


def test_vertebral_body_weight_is_a_cylinder_of_the_bodys_radius_and_height():
    body = {"centre": list(MIDDLE), "radius": 10.0, "half_height": 5.0}
    weight = vertebral_body_weight(box_bone(body=body), FINE)
    z_centres = np.arange(FINE.rows) + 0.5
    rows = np.flatnonzero(weight.sum(axis=(0, 2)) > 0)
    np.testing.assert_array_equal(rows, np.flatnonzero(np.abs(z_centres - 40.0) <= 5.0 + 0.5))
    per_row = weight.sum(axis=(0, 2))[rows] * FINE.col_mm * FINE.depth_mm
    np.testing.assert_allclose(per_row, math.pi * 10.0**2, rtol=0.03)  # a disc of radius 10 mm in every row
    band = vertebral_body_weight(box_bone(body=body), FINE, band=(0.0, 3.0))
    band_rows = np.flatnonzero(band.sum(axis=(0, 2)) > 0)
    np.testing.assert_array_equal(band_rows, np.flatnonzero((z_centres - 40.0 >= -0.5) & (z_centres - 40.0 <= 3.5)))


def test_path_segment_weight_covers_the_half_length_with_a_soft_edge():
    weight = path_segment_weight(box_bone(), FINE, MIDDLE, 10.0)
    y, z, x = box_bone().block.centres(FINE)
    dy = np.maximum(np.abs(y - 40.0) - FINE.depth_mm / 2, 0.0)
    distance = np.broadcast_to(np.sqrt((z - 40.0) ** 2 + (x - 40.0) ** 2 + dy**2), weight.shape)
    assert (weight[distance <= 10.0 - EDGE_MM / 2] == 1.0).all()
    assert (weight[distance >= 10.0 + EDGE_MM / 2] == 0.0).all()
    edge = (distance > 10.0 - EDGE_MM / 2) & (distance < 10.0 + EDGE_MM / 2)
    assert ((weight[edge] > 0) & (weight[edge] < 1)).any()


# --------------------------------------------------------------------------------------------- excess activity


def test_excess_block_is_contrast_minus_one_times_bone_activity_cropped_to_the_lesion():
    bone = box_bone(activity=2.0)
    weight = np.zeros(FINE.shape, np.float32)
    weight[10:12, 30:35, 50:53] = 1.0
    weight[11, 34, 52] = 0.5
    block = excess_block(bone, weight, 4.0)
    assert block.start == (10, 30, 50) and block.activity.shape == (2, 5, 3)
    np.testing.assert_allclose(block.activity, (4.0 - 1.0) * 2.0 * weight[10:12, 30:35, 50:53])
    np.testing.assert_array_equal(block.occupancy, 1.0)
    assert excess_block(bone, weight, 1.0) is None  # contrast 1: no excess
    assert excess_block(bone, np.zeros_like(weight), 4.0) is None


def test_excess_block_shares_a_partly_filled_voxel_by_occupancy():
    bone = box_bone(occupancy=0.5, activity=1.0)
    weight = np.zeros(FINE.shape, np.float32)
    weight[5, 5, 5], weight[5, 5, 6] = 0.25, 0.9  # a quarter of the voxel: half its bone; 0.9 > 0.5: all of it
    block = excess_block(bone, weight, 3.0)
    np.testing.assert_allclose(block.activity[0, 0], [2.0 * 0.5, 2.0 * 1.0])


def test_a_cold_lesion_with_uneven_gain_never_removes_more_than_the_bones_activity():
    bone = box_bone(activity=2.0)
    weight = sphere_weight(bone, FINE, MIDDLE, 10.0)
    gain = np.full(FINE.shape, 5.0, np.float32)
    block = excess_block(bone, weight, 0.2, gain)
    share = weight[block.start[0]:, block.start[1]:, block.start[2]:][tuple(slice(0, n) for n in block.activity.shape)]
    assert block.activity.min() == pytest.approx(-2.0)
    assert (block.activity >= -2.0 * np.minimum(share, 1.0) - 1e-6).all()


def test_make_lesion_puts_activity_only_inside_its_bone(anatomy):
    cfg = LesionConfig()
    rng = np.random.default_rng(4)
    shapes = {"L3": {"vertebral_body", "focal", "pedicle"}, "rib_left_6": {"rib_segment"},
              "femur_left": {"focal", "irregular"}, "skull": {"focal", "irregular"}}
    for name, allowed in shapes.items():
        bone = anatomy.bone(name)
        for lesion_id in range(1, 6):
            lesion = make_lesion(lesion_id, bone, anatomy, rng, cfg, "site")
            assert lesion.shape in allowed and lesion.bone == name and lesion.region == bone.region
            assert cfg.contrast[0] <= lesion.contrast <= cfg.contrast[1] and not lesion.cold
            block = lesion.block
            inside = tuple(slice(a - b, a - b + n)
                           for a, b, n in zip(block.start, bone.block.start, block.activity.shape))
            occupancy = bone.block.occupancy[inside]
            assert (block.activity > 0).any() and not (block.activity[occupancy == 0] != 0).any()
            assert lesion.involved.shape == block.activity.shape and (lesion.involved <= occupancy + 1e-6).all()
            meta = lesion.metadata()
            assert (meta["id"], meta["bone"], meta["site"]) == (lesion_id, name, "site")


def test_a_lesion_below_normal_uptake_is_cold():
    block = Block((0, 0, 0), np.ones((1, 1, 1), np.float32), np.ones((1, 1, 1), np.float32))
    lesion = Lesion(1, "L3", "lumbar_spine", "lumbar_spine", "focal", 0.5, 10.0, (0.0, 0.0, 0.0), block)
    assert lesion.cold and not replace(lesion, contrast=1.5).cold


def test_place_lesions_draws_the_asked_number_at_the_primarys_sites(anatomy):
    disease = Disease(soloway=2, n_lesions=15, primary="breast", superscan=False)
    lesions = place_lesions(anatomy, disease, np.random.default_rng(6), LesionConfig())
    assert [lesion.lesion_id for lesion in lesions] == list(range(1, 16))
    sites = site_weights("breast", {})
    for lesion in lesions:
        assert sites[lesion.site] > 0
        if lesion.site == "ribs":
            assert lesion.bone.startswith("rib_")
        elif lesion.site.endswith("_spine"):
            assert lesion.bone[0] == lesion.site[0].upper() and lesion.bone[1:].isdigit()
        elif lesion.site == "pelvis":
            assert lesion.bone.startswith("hip_")
        else:
            assert lesion.bone.startswith(lesion.site)
    assert place_lesions(anatomy, replace(disease, n_lesions=0), np.random.default_rng(6), LesionConfig()) == []


def test_a_superscan_raises_only_the_axial_skeleton_by_the_returned_factor(anatomy):
    before = copy.deepcopy(anatomy)
    after = copy.deepcopy(anatomy)
    cfg = replace(LesionConfig(), superscan_boost=(2.0, 2.5))
    factor = apply_superscan(after, np.random.default_rng(0), cfg)
    assert 2.0 <= factor <= 2.5
    for old, new in zip(before.bones, after.bones):
        expected = factor if old.name.startswith(AXIAL_PREFIXES) else 1.0
        np.testing.assert_allclose(new.block.activity, old.block.activity * expected, rtol=1e-5, err_msg=old.name)
    axial = [b.name.startswith(AXIAL_PREFIXES) for b in after.bones]
    assert any(axial) and not all(axial)  # both kinds checked (tibiae, hands, the mandible stay)
