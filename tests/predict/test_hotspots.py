"""Tests for scintiseg.predict.hotspots: seeded growth, hysteresis and count-based hotspot extents."""

import numpy as np
import pytest

from scintiseg.predict.bsi import bone_scan_index
from scintiseg.predict.hotspots import grow_from_seeds, hotspot_extent, hysteresis_components
from scintiseg.predict.regions import REGION_IDS, SkeletonRegions


def test_grow_from_seeds_keeps_only_touched_components():
    candidate = np.zeros((12, 12), dtype=bool)
    candidate[1:4, 1:4] = True
    candidate[8:11, 8:11] = True
    seeds = np.zeros_like(candidate)
    seeds[2, 2] = True
    grown = grow_from_seeds(candidate, seeds)
    assert grown[1:4, 1:4].all() and grown.sum() == 9


def test_hysteresis_grows_a_lesion_but_keeps_no_low_island():
    prob = np.zeros((20, 20), dtype=np.float32)
    prob[4:10, 4:10] = 0.3
    prob[6:8, 6:8] = 0.9  # the seed, 4 px
    prob[14:17, 14:17] = 0.3  # low island: no seed
    mask = hysteresis_components(prob, 0.2, 0.5, 4)
    assert mask.sum() == 36 and not mask[15, 15]
    assert hysteresis_components(prob, 0.4, 0.5, 4).sum() == 4


def _pelvis_femur(shape=(40, 40), normal=100.0):
    labels = np.zeros(shape, dtype=np.int16)
    labels[5:35, 5:20] = REGION_IDS["pelvis"]
    labels[5:35, 20:35] = REGION_IDS["femur_left"]
    counts = np.where(labels > 0, normal, 10.0).astype(np.float32)
    return SkeletonRegions("ANT", labels, labels > 0, np.ones(shape, dtype=bool), 0, shape[0] - 1, 20.0), counts


def test_hotspot_half_maximum_extent_and_bsi():
    regions, counts = _pelvis_femur()
    counts[10:18, 8:16] = 300.0  # one lesion of 64 px in the pelvis, 3x normal bone
    counts[25:29, 8:12] = 300.0  # a second hot spot with no seed: not a lesion
    seeds = np.zeros(counts.shape, dtype=bool)
    seeds[13:15, 11:13] = True
    extent = hotspot_extent(seeds, counts, regions, fraction=0.5, sigma=0)
    # Half maximum over the normal level 100: 200; the lesion's pixels are above it, its neighbours below.
    assert extent.sum() == 64 and extent[10:18, 8:16].all()
    assert bone_scan_index(extent, regions).bsi_percent == pytest.approx(7.5 * 64 / (30 * 15))


def test_hotspot_stays_in_the_seed_region():
    regions, counts = _pelvis_femur()
    counts[10:18, 14:26] = 300.0  # straddles pelvis (cols 14-19) and femur (20-25)
    seeds = np.zeros(counts.shape, dtype=bool)
    seeds[13:15, 16:18] = True
    extent = hotspot_extent(seeds, counts, regions, fraction=0.5, sigma=0)
    assert extent[10:18, 14:20].all() and not extent[:, 20:].any()
    assert hotspot_extent(seeds, counts, regions, fraction=0.5, within="bone", sigma=0)[10:18, 14:26].all()


def test_hotspot_ring_background_uses_local_level():
    regions, counts = _pelvis_femur()
    counts[10:27, 6:19] = 200.0  # a warm patch (under half the pelvis) around the lesion
    counts[14:22, 8:16] = 260.0  # shoulder, 2 px wide
    counts[16:20, 10:14] = 400.0  # core
    seeds = counts == 400.0
    # Region level 100: half maximum 250 takes the shoulder; local ring level 200: 300 leaves it out.
    assert hotspot_extent(seeds, counts, regions, fraction=0.5, sigma=0).sum() == 64
    assert hotspot_extent(seeds, counts, regions, fraction=0.5, sigma=0, background="ring").sum() == 16


def test_grow_from_seeds_joins_pixels_touching_only_at_a_corner():
    candidate = np.zeros((8, 8), dtype=bool)
    candidate[1:3, 1:3] = True
    candidate[3:5, 3:5] = True  # touches the first at a corner only
    seeds = np.zeros_like(candidate)
    seeds[1, 1] = True
    assert grow_from_seeds(candidate, seeds).sum() == 8


def test_hotspot_ratio_level_is_a_multiple_of_normal_bone():
    regions, counts = _pelvis_femur()
    counts[10:18, 8:16] = 300.0  # 64 px at 3x normal bone
    counts[12:16, 10:14] = 600.0  # its core, 16 px
    seeds = np.zeros(counts.shape, dtype=bool)
    seeds[13:15, 11:13] = True
    # 2.5 x the normal level 100 takes the whole hot spot; 2.5 x the peak (a level of 1500) would keep only the seed.
    assert hotspot_extent(seeds, counts, regions, ratio=2.5, sigma=0).sum() == 64
    assert hotspot_extent(seeds, counts, regions, ratio=4.0, sigma=0).sum() == 16


def test_a_seed_no_hotter_than_normal_bone_keeps_its_outline():
    regions, counts = _pelvis_femur()
    seeds = np.zeros(counts.shape, dtype=bool)
    seeds[13:15, 11:13] = True  # on plain bone: its peak is the normal level
    np.testing.assert_array_equal(hotspot_extent(seeds, counts, regions, fraction=0.5, sigma=0), seeds)
    counts[10:18, 8:16] = 90.0  # under normal bone (100), though above a level of 0.8 x normal
    np.testing.assert_array_equal(hotspot_extent(seeds, counts, regions, ratio=0.8, sigma=0), seeds)


def test_normal_bone_is_read_only_where_the_model_looked_and_a_small_region_takes_the_views_level():
    from scintiseg.predict.hotspots import MIN_NORMAL_PX, regional_normal_bone

    regions, counts = _pelvis_femur()
    counts[:, 20:] = np.where(regions.labels[:, 20:] > 0, 200.0, counts[:, 20:])  # the femur at 200
    no_lesion = np.zeros(counts.shape, dtype=bool)
    coverage = np.ones(counts.shape, dtype=bool)
    coverage[5:35, 30:35] = False  # 150 femur pixels the model did not see, made hotter
    counts[5:35, 30:35] = 900.0
    pelvis, femur = REGION_IDS["pelvis"], REGION_IDS["femur_left"]
    levels = regional_normal_bone(counts, regions, no_lesion, coverage)
    assert levels[pelvis] == 100.0 and levels[femur] == 200.0
    small = coverage.copy()
    small[:, 20:] = False
    small[5:8, 20:25] = True  # 15 femur pixels seen: under MIN_NORMAL_PX, the view's level (the pelvis's 450 px)
    assert 15 < MIN_NORMAL_PX and regional_normal_bone(counts, regions, no_lesion, small)[femur] == 100.0
