"""Phantom v2 domain randomisation: the ``randomised`` and ``shifted`` profiles and each randomiser's range."""

from dataclasses import fields, replace

import numpy as np
import pytest

from scintiseg.phantom import generate_patient, profile
from scintiseg.phantom.anatomy import build_anatomy, sample_body
from scintiseg.phantom.camera import Projector, scatter_image, system_fwhm_mm, with_collimator
from scintiseg.phantom.config import CameraConfig, LesionConfig, LookalikeConfig
from scintiseg.phantom.lesions import ellipsoid_weight, make_lesion, uneven_uptake
from scintiseg.phantom.patient import ROSE_K, patient_grid
from scintiseg.phantom.primitives import Grid

SMALL = {"rows": 512, "cols": 128, "pixel_mm": 4.52, "depth_mm": 15.0}
#: The phantom-v2 fields and their "off" values (the default profile's).
V2_OFF = {
    "camera": {"p_lehs": 0.0, "scatter_sigma_scale": (1.0, 1.0)},
    "lesions": {"p_elongated": 0.0, "p_heterogeneous": 0.0, "p_cold": 0.0},
    "lookalikes": {"p_costochondral": 0.0, "p_sternum": 0.0, "p_sacroiliac": 0.0, "p_facet": 0.0, "p_feet": 0.0,
                   "p_old_fracture": 0.0},
}
V2_KINDS = {"p_costochondral": {"costochondral"}, "p_sternum": {"manubrium", "sternal_body"},
            "p_sacroiliac": {"sacroiliac"}, "p_facet": {"facet"},
            "p_feet": {"foot_heel", "foot_midfoot", "foot_mtp"},
            "p_old_fracture": {"old_fracture_rib", "old_fracture_shaft"}}


def small(config):
    return replace(config, camera=replace(config.camera, **SMALL))


@pytest.fixture(scope="module")
def cohorts():
    """20 patients of each new profile at 512 x 128 (they must all generate)."""
    return {name: [generate_patient(seed, small(profile(name))) for seed in range(20)] for name in ("randomised", "shifted")}


@pytest.fixture(scope="module")
def anatomy():
    config = small(profile("default"))
    cam = config.camera
    rng = np.random.default_rng(3)
    body = sample_body(rng, config.anatomy, Grid(cam.rows, cam.cols, 1, cam.pixel_mm, cam.pixel_mm, cam.depth_mm))
    return build_anatomy(body, patient_grid(config, body.height_mm, body.build), rng, config.anatomy)[0]


def test_default_profile_has_every_v2_randomiser_off():
    default = profile("default")
    for part, values in V2_OFF.items():
        for name, off in values.items():
            assert getattr(getattr(default, part), name) == off, (part, name)


def test_new_profiles_differ_from_default_and_from_each_other():
    default, randomised, shifted = profile("default"), profile("randomised"), profile("shifted")
    for part in ("camera", "anatomy", "lesions", "lookalikes"):
        assert getattr(randomised, part) != getattr(default, part), part
        assert getattr(shifted, part) != getattr(default, part), part
        assert getattr(shifted, part) != getattr(randomised, part), part


def test_randomised_widens_and_contains_the_shifted_ranges():
    """Every numeric range of ``shifted`` lies inside ``randomised`` (a shift of the mix, not of the support),
    and every ``randomised`` camera and lesion range contains the default one."""
    default, randomised, shifted = profile("default"), profile("randomised"), profile("shifted")
    for part in ("camera", "lesions", "lookalikes"):
        for item in fields(getattr(default, part)):
            wide = getattr(getattr(randomised, part), item.name)
            if not (isinstance(wide, tuple) and len(wide) == 2):
                continue
            for other in (getattr(getattr(default, part), item.name), getattr(getattr(shifted, part), item.name)):
                assert wide[0] <= other[0] and other[1] <= wide[1], (part, item.name, wide, other)
    assert randomised.camera.counts == (0.15e6, 6.0e6)
    assert randomised.lesions.contrast == (1.1, 15.0)


def test_lehs_collimator_blurs_more_than_lehr():
    cam = CameraConfig()
    assert with_collimator(cam, "LEHR") == cam
    lehr = system_fwhm_mm(100.0, cam)
    lehs = system_fwhm_mm(100.0, with_collimator(cam, "LEHS"))
    assert lehr == pytest.approx(7.0, abs=0.2) and 1.5 * lehr < lehs < 2.0 * lehr
    with pytest.raises(ValueError):
        with_collimator(cam, "pinhole")


def test_each_camera_randomiser_stays_in_its_range(cohorts):
    for name, patients in cohorts.items():
        cam = profile(name).camera
        collimators = {p.meta["collimator"] for p in patients}
        assert collimators == {"LEHR", "LEHS"}, name  # both drawn in 20 patients (p = 0.3 and 0.5)
        for p in patients:
            lo, hi = cam.counts
            for view in ("ANT", "POST"):
                assert lo * 0.999 <= p.expected[view].sum(dtype=np.float64) <= hi * 1.001
            assert cam.scatter_fraction[0] <= p.meta["scatter_fraction"] <= cam.scatter_fraction[1]
            assert cam.background_cpp[0] <= p.meta["background_cpp"] <= cam.background_cpp[1]
            s_lo, s_hi = (cam.scatter_sigma_mm * f for f in cam.scatter_sigma_scale)
            assert s_lo - 0.01 <= p.meta["scatter_sigma_mm"] <= s_hi + 0.01
            assert profile(name).anatomy.bone_to_soft[0] <= p.meta["bone_to_soft"] <= profile(name).anatomy.bone_to_soft[1]
    levels = [p.meta["count_level"] for p in cohorts["randomised"]]
    assert min(levels) < 0.6e6 and max(levels) > 1.5e6  # log-uniform over 0.15-6 M: both ends reached


def test_each_lesion_randomiser_stays_in_its_range(cohorts):
    for name, patients in cohorts.items():
        cfg = profile(name).lesions
        lesions = [lesion for p in patients for lesion in p.lesions]
        assert len(lesions) > 50
        for lesion in lesions:
            lo, hi = cfg.cold_contrast if lesion.get("cold") else cfg.contrast
            assert lo <= lesion["contrast"] <= hi
            assert (lesion["contrast"] < 1) == bool(lesion.get("cold"))
            if lesion["shape"] == "elongated":
                assert cfg.elongation[0] <= lesion["elongation"] <= cfg.elongation[1]
            if "heterogeneity" in lesion:
                assert cfg.heterogeneity[0] <= lesion["heterogeneity"] <= cfg.heterogeneity[1]
        shapes = {lesion["shape"] for lesion in lesions}
        assert {"elongated", "rib_segment", "focal"} <= shapes
        assert any("heterogeneity" in lesion for lesion in lesions)


def test_v2_lookalikes_appear_only_when_switched_on(cohorts):
    kinds = {item["kind"] for p in cohorts["randomised"] for item in p.meta["lookalikes"]}
    for field_name, expected in V2_KINDS.items():
        assert kinds & expected, field_name
    base = small(profile("normal"))
    for field_name, expected in V2_KINDS.items():
        on = replace(base, lookalikes=replace(base.lookalikes, **{field_name: 1.0}))
        seen = {item["kind"] for seed in range(3) for item in generate_patient(seed, on).meta["lookalikes"]}
        assert seen & expected, field_name
    off = {item["kind"] for seed in range(3) for item in generate_patient(seed, base).meta["lookalikes"]}
    assert not off & set().union(*V2_KINDS.values())


def test_switching_one_randomiser_on_changes_only_what_it_randomises():
    """Each v2 randomiser draws from its own stream and draws nothing when off, so the default profile's
    patients are unchanged and one switched on leaves the rest of the patient as it was."""
    base = small(profile("metastatic"))
    reference = generate_patient(4, base)
    assert reference.meta["collimator"] == "LEHR" and reference.meta["scatter_sigma_mm"] == base.camera.scatter_sigma_mm
    assert all(lesion["contrast"] >= 1 and "heterogeneity" not in lesion and lesion["shape"] != "elongated"
               for lesion in reference.lesions)

    def where(patient):
        return [(x["id"], x["bone"], x["centre_mm"], x["size_mm"]) for x in patient.lesions]

    lehs = generate_patient(4, replace(base, camera=replace(base.camera, p_lehs=1.0)))
    assert lehs.meta["collimator"] == "LEHS" and lehs.lesions[0]["contrast"] == reference.lesions[0]["contrast"]
    assert {k: v for k, v in lehs.meta.items() if k not in ("collimator", "counts")} == \
        {k: v for k, v in reference.meta.items() if k not in ("collimator", "counts")}
    assert lehs.expected["POST"].max() < reference.expected["POST"].max()  # the same patient, blurrier

    cold = generate_patient(4, replace(base, lesions=replace(base.lesions, p_cold=1.0)))
    assert where(cold) == where(reference) and all(x["contrast"] < 1 for x in cold.lesions)
    assert cold.meta["lookalikes"] == reference.meta["lookalikes"]

    feet = generate_patient(4, replace(base, lookalikes=replace(base.lookalikes, p_feet=1.0)))
    n = len(reference.meta["lookalikes"])
    assert feet.meta["lookalikes"][:n] == reference.meta["lookalikes"] and feet.meta["lookalikes"][n]["kind"].startswith("foot_")
    assert feet.lesions[0]["contrast"] == reference.lesions[0]["contrast"] and where(feet) == where(reference)
    assert feet.meta["count_level"] == reference.meta["count_level"]


def test_cold_lesions_reduce_counts_and_are_labelled_by_the_rose_rule_on_their_deficit():
    config = small(profile("metastatic"))
    config = replace(config, camera=replace(config.camera, counts=(4e6, 4e6)),
                     lesions=replace(config.lesions, p_cold=1.0, cold_contrast=(0.1, 0.1), size_mm=(25.0, 40.0)))
    faint = replace(config, lesions=replace(config.lesions, cold_contrast=(0.999, 0.999)))
    cold, same = generate_patient(2, config), generate_patient(2, faint)  # the same lesions, deficit 90 % vs 0.1 %
    assert cold.lesions and all(lesion["cold"] and lesion["contrast"] < 1 for lesion in cold.lesions)
    visible = [lesion for lesion in cold.lesions if lesion["visible"]["POST"]]
    assert visible, "a 90 % deficit of 25-40 mm at 4 M counts is visible somewhere"
    for lesion in visible:
        pixels = cold.instances["POST"] == lesion["id"]
        assert cold.expected["POST"][pixels].mean() < 0.95 * same.expected["POST"][pixels].mean()
        assert lesion["snr"]["POST"] >= ROSE_K and lesion["peak_counts"]["POST"] > 0
    for view in ("ANT", "POST"):
        ids = [lesion["id"] for lesion in cold.lesions if lesion["visible"][view]]
        assert np.array_equal(cold.masks[view], np.isin(cold.instances[view], ids))
        assert not same.masks[view].any()  # a 0.1 % deficit never passes the Rose criterion
    assert all(lesion["snr"][v] < ROSE_K for lesion in same.lesions for v in ("ANT", "POST"))


def test_cold_lesion_never_takes_bone_below_zero(anatomy):
    cfg = replace(LesionConfig(), p_cold=1.0, cold_contrast=(0.05, 0.05), p_heterogeneous=1.0, heterogeneity=(0.8, 0.8))
    rng = np.random.default_rng(0)
    bone = anatomy.bone("L3")
    for lesion_id in range(1, 6):
        lesion = make_lesion(lesion_id, bone, anatomy, rng, cfg, "lumbar_spine")
        block = lesion.block
        d0, z0, x0 = (a - b for a, b in zip(block.start, bone.block.start))
        nd, nz, nx = block.activity.shape
        normal = bone.block.activity[d0:d0 + nd, z0:z0 + nz, x0:x0 + nx]
        assert block.activity.min() < 0 and (normal + block.activity).min() >= -1e-5


def _point_inside(bone, grid):
    """(z, x, y) mm of a voxel in the middle of the bone."""
    y, z, x = bone.block.centres(grid)
    ds, zs, xs = np.nonzero(bone.block.occupancy > 0.5)
    i = len(ds) // 2
    return float(z[0, zs[i], 0]), float(x[0, 0, xs[i]]), float(y[ds[i], 0, 0])


def test_elongated_weight_is_longer_along_its_direction(anatomy):
    bone, grid = anatomy.bone("femur_left"), anatomy.grid
    weight = ellipsoid_weight(bone, grid, _point_inside(bone, grid), 40.0, 10.0, (1.0, 0.0))  # along rows (z)
    rows = np.flatnonzero(weight.max(axis=(0, 2)) > 0)
    cols = np.flatnonzero(weight.max(axis=(0, 1)) > 0)
    assert rows.size * grid.row_mm > 2.5 * cols.size * grid.col_mm
    assert 0.0 <= weight.min() and weight.max() <= 1.0
    across = ellipsoid_weight(bone, grid, _point_inside(bone, grid), 40.0, 10.0, (0.0, 1.0))  # along columns
    assert np.flatnonzero(across.max(axis=(0, 2)) > 0).size < rows.size


def test_uneven_uptake_has_mean_near_one_and_tapers(anatomy):
    bone, grid = anatomy.bone("femur_left"), anatomy.grid
    centre = _point_inside(bone, grid)
    weight = ellipsoid_weight(bone, grid, centre, 50.0, 15.0, (1.0, 0.0))
    y, z, x = bone.block.centres(grid)
    r = np.sqrt((z - centre[0]) ** 2 + (x - centre[1]) ** 2 + (y - centre[2]) ** 2) / 50.0
    gains = [uneven_uptake(weight, bone, grid, centre, 100.0, 0.8, np.random.default_rng(seed)) for seed in range(10)]
    inside = gains[0][weight > 0]
    assert inside.std() / inside.mean() > 0.2 and inside.min() > 0  # uneven, never negative
    mean = np.mean(gains, axis=0)
    assert 0.5 < mean[(weight > 0) & (r < 0.3)].mean() < 1.5  # about the drawn contrast in the middle
    assert mean[(weight > 0) & (r > 0.8)].mean() < 0.8 * mean[(weight > 0) & (r < 0.3)].mean()  # tapered edge


def test_lookalike_config_defaults_are_all_off():
    for name in V2_KINDS:
        assert getattr(LookalikeConfig(), name) == 0.0


@pytest.mark.parametrize("rows, cols, pixel_mm", [(512, 128, 4.52), (2048, 512, 1.13)])
def test_psf_and_scatter_are_in_mm_whatever_the_matrix(rows, cols, pixel_mm):
    """A 2 x finer or coarser matrix sees the same physical blur and scatter as 1024 x 256 at 2.26 mm."""
    reference = Grid(1024, 256, 30, 2.26, 2.26, 10.0)
    other = Grid(rows, cols, 30, pixel_mm, pixel_mm, 10.0)
    cam = CameraConfig()
    sigmas = [[g.sigma_px[0] * grid.row_mm for g in Projector(grid, cam, -40.0, 320.0).groups["POST"]]
              for grid in (reference, other)]
    assert np.allclose(sigmas[0], sigmas[1])
    widths = []
    for grid in (reference, other):
        point = np.zeros((grid.rows, grid.cols), np.float32)
        point[grid.rows // 2, grid.cols // 2] = 1.0
        spread = scatter_image(point, 0.3, 20.0, grid)
        r = (np.arange(grid.rows) - grid.rows // 2) * grid.row_mm
        profile_ = spread.sum(axis=1)
        widths.append(np.sqrt((profile_ * r**2).sum() / profile_.sum()))
        assert spread.sum() == pytest.approx(0.3, rel=1e-3)
    assert widths[1] == pytest.approx(widths[0], rel=0.1)


def test_the_faint_training_profile_changes_only_lesion_contrast_and_size(cohorts):
    """``randomised-faint`` is ``randomised`` but for the lesions' contrast and size ranges, and its patients'
    lesions keep to them: more of them below a contrast of 2 than ``randomised``'s, none under 8 mm."""
    base, faint = profile("randomised"), profile("randomised-faint")
    assert faint.camera == base.camera and faint.anatomy == base.anatomy and faint.lookalikes == base.lookalikes
    changed = {k for k in vars(base.lesions) if getattr(base.lesions, k) != getattr(faint.lesions, k)}
    assert changed == {"contrast", "size_mm"}
    lesions = [lesion for seed in range(20) for lesion in generate_patient(seed, small(faint)).lesions
               if not lesion.get("cold")]
    assert len(lesions) > 50
    assert all(1.1 <= lesion["contrast"] <= 4.0 and lesion["size_mm"] >= 8.0 for lesion in lesions)
    share = np.mean([lesion["contrast"] < 2 for lesion in lesions])
    base_share = np.mean([lesion["contrast"] < 2 for p in cohorts["randomised"] for lesion in p.lesions
                          if not lesion.get("cold")])
    assert share > base_share + 0.1


def _neighbour_vertebra_log_ratios(name: str, patients: int = 6) -> np.ndarray:
    """log(activity concentration) differences of neighbouring thoracic and lumbar vertebrae, ``patients`` patients."""
    config = small(profile(name))
    cam = config.camera
    ratios = []
    for seed in range(patients):
        rng = np.random.default_rng(seed)
        body = sample_body(rng, config.anatomy, Grid(cam.rows, cam.cols, 1, cam.pixel_mm, cam.pixel_mm, cam.depth_mm))
        anatomy = build_anatomy(body, patient_grid(config, body.height_mm, body.build), rng, config.anatomy)[0]
        levels = []
        for bone in anatomy.bones:
            if bone.body is None or bone.name[0] not in "TL":
                continue
            occupancy = bone.block.occupancy
            full = occupancy >= 0.99 * occupancy.max()  # whole voxels: the concentration, not partial volume
            levels.append(float(np.median(bone.block.activity[full] / occupancy[full])))
        ratios += list(np.diff(np.log(levels)))
    return np.asarray(ratios)


def test_the_even_faint_profile_narrows_only_the_bone_to_bone_unevenness():
    """``randomised-faint-even`` is ``randomised-faint`` but for ``bone_variation``; neighbouring vertebrae then
    differ by more than 1.4 x (a faint whole-vertebra lesion's contrast) in a few pairs, not in a sixth of them."""
    faint, even = profile("randomised-faint"), profile("randomised-faint-even")
    assert even.camera == faint.camera and even.lesions == faint.lesions and even.lookalikes == faint.lookalikes
    changed = {k for k in vars(faint.anatomy) if getattr(faint.anatomy, k) != getattr(even.anatomy, k)}
    assert changed == {"bone_variation"}
    assert even.anatomy.bone_variation < profile("default").anatomy.bone_variation < faint.anatomy.bone_variation
    wide, narrow = _neighbour_vertebra_log_ratios("randomised-faint"), _neighbour_vertebra_log_ratios("randomised-faint-even")
    assert narrow.std() < 0.65 * wide.std()
    assert np.mean(np.abs(narrow) > np.log(1.4)) < 0.06 < 0.12 < np.mean(np.abs(wide) > np.log(1.4))
