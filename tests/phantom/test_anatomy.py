"""The procedural anatomy: the default skeleton's realism and the anatomy randomisers' ranges and switches."""

import math
from dataclasses import replace

import numpy as np
import pytest

from scintiseg.phantom import generate_patient, profile
from scintiseg.phantom.anatomy import UPTAKE, _Builder, build_anatomy, sample_body, spine_uptake
from scintiseg.phantom.config import DISC_FRACTION, RANDOMISED_ANATOMY, SHIFTED_ANATOMY, AnatomyConfig, PhantomConfig
from scintiseg.phantom.patient import patient_grid
from scintiseg.phantom.primitives import Grid
from scintiseg.phantom.regions import BONE_NAMES, REGION_IDS

PROBE = Grid(1024, 256, 1, 2.26, 2.26, 10.0)
#: Each randomiser field -> the value the ``randomised`` profile gives it (default = off).
RANDOMISER_FIELDS = ["trunk_width", "p_breasts", "head_tilt_deg", "head_flexion_deg", "p_scoliosis", "kyphosis_deg",
                     "elastic_mm", "bone_thickness", "bone_size_sd", "proportion_sd", "uptake_group_sd", "disc_fraction"]


def _bodies(cfg: AnatomyConfig, n: int = 300):
    return [sample_body(np.random.default_rng(seed), cfg, PROBE) for seed in range(n)]


def _anatomy(cfg: AnatomyConfig, seed: int = 5):
    rng = np.random.default_rng(seed)
    body = sample_body(rng, cfg, PROBE)
    grid = patient_grid(PhantomConfig(anatomy=cfg), body.height_mm, body.build)
    anatomy, _ = build_anatomy(body, grid, rng, cfg)
    return anatomy


@pytest.mark.parametrize("cfg", [RANDOMISED_ANATOMY, SHIFTED_ANATOMY], ids=["randomised", "shifted"])
def test_each_randomiser_respects_its_range(cfg):
    bodies = _bodies(cfg)
    inside = lambda value, lohi: lohi[0] - 1e-9 <= value <= lohi[1] + 1e-9  # noqa: E731
    assert all(inside(b.height_mm, cfg.height_mm) and inside(b.build, cfg.build) for b in bodies)
    assert all(inside(b.trunk_width, cfg.trunk_width) for b in bodies)
    assert all(b.arm_position in cfg.arm_positions for b in bodies)
    assert {b.arm_position for b in bodies} == {k for k, v in cfg.arm_positions.items() if v > 0}
    assert all(inside(b.head_tilt_deg, cfg.head_tilt_deg) and inside(b.head_flexion_deg, cfg.head_flexion_deg) for b in bodies)
    assert all(inside(b.kyphosis_deg, cfg.kyphosis_deg) and inside(b.bone_thickness, cfg.bone_thickness) for b in bodies)
    assert all(inside(b.disc_fraction, cfg.disc_fraction) for b in bodies)
    breasts = [b for b in bodies if b.breast_ml > 0]
    assert all(b.sex == "female" and inside(b.breast_ml, cfg.breast_ml) for b in breasts)
    females = sum(b.sex == "female" for b in bodies)
    assert abs(len(breasts) - cfg.p_breasts * females) < 4 * math.sqrt(females * 0.25) + 1
    scoliotic = [b for b in bodies if b.scoliosis_cobb_deg != 0]
    assert all(inside(abs(b.scoliosis_cobb_deg), cfg.scoliosis_cobb_deg) and b.scoliosis_shape in ("C", "S") for b in scoliotic)
    assert {b.scoliosis_cobb_deg > 0 for b in scoliotic} == {True, False}  # both sides
    assert abs(len(scoliotic) - cfg.p_scoliosis * len(bodies)) < 4 * math.sqrt(len(bodies) * 0.25)
    limit = 3 * cfg.proportion_sd + 1e-12
    assert all(abs(v) <= limit for b in bodies for v in b.proportions.values())
    assert all(set(b.uptake_groups) == set(UPTAKE) for b in bodies)
    logs = np.log([v for b in bodies for v in b.uptake_groups.values()])
    assert np.std(logs) == pytest.approx(cfg.uptake_group_sd, rel=0.15)
    raised = [b for b in bodies if b.arm_position == "raised"]
    assert all(5.0 <= a <= 25.0 for b in raised for a in b.arm_angles[:2])
    assert all(10.0 <= a <= 35.0 for b in raised for a in b.arm_angles[2:])


def test_elastic_displacement_has_the_configured_amplitude():
    cfg = replace(AnatomyConfig(), elastic_mm=6.0)
    grid = Grid(1024, 256, 30, 2.26, 2.26, 10.0)
    rng = np.random.default_rng(0)
    points = np.column_stack([rng.uniform(100, 2000, 200), rng.uniform(50, 500, 200), rng.uniform(50, 250, 200)])
    shifts = []
    for body in _bodies(cfg, 60):
        builder = _Builder(body, grid, np.random.default_rng(0), cfg)
        shifts += [np.subtract(builder.deform(p, "limb"), p) for p in points]
    rms = np.sqrt(np.mean(np.square(shifts), axis=0))
    assert rms[0] == pytest.approx(6.0, rel=0.3) and rms[1] == pytest.approx(6.0, rel=0.3)
    assert rms[2] == pytest.approx(3.0, rel=0.3)  # half along depth


@pytest.mark.parametrize("shape", ["C", "S"])
def test_scoliosis_curve_has_the_requested_cobb_angle(shape):
    body = _bodies(AnatomyConfig(), 1)[0]
    body.scoliosis_cobb_deg, body.scoliosis_shape = 30.0, shape
    builder = _Builder(body, Grid(1024, 256, 30, 2.26, 2.26, 10.0), np.random.default_rng(0), AnatomyConfig())
    zs = np.linspace(builder.z(0.12), builder.z(0.445), 2001)
    dx = np.array([builder.curve(z)[0] for z in zs])
    angle = np.degrees(np.arctan(np.gradient(dx, zs)))
    # Cobb angle: between the tangents at the inflection points of the major curve (max and min slope)
    assert angle.max() - angle.min() == pytest.approx(30.0, abs=0.5)
    assert dx[0] == pytest.approx(0.0, abs=1e-6) and dx[-1] == pytest.approx(0.0, abs=1e-6)


def test_default_anatomy_has_every_randomiser_off():
    cfg = AnatomyConfig()
    for body in _bodies(cfg, 50):
        assert body.trunk_width == 1.0 and body.breast_ml == 0.0 and body.bone_thickness == 1.0
        assert body.head_tilt_deg == 0.0 and body.head_flexion_deg == 0.0 and body.kyphosis_deg == 0.0
        assert body.scoliosis_cobb_deg == 0.0 and body.elastic_waves == [] and body.proportions == {}
        assert body.uptake_groups == {} and body.arm_position != "raised"
        assert body.disc_fraction == DISC_FRACTION


def test_switching_a_randomiser_on_changes_only_what_it_moves():
    """Each randomiser has its own stream: turning one on leaves the rest of the patient bit-identical."""
    default = _anatomy(AnatomyConfig())
    affects_femur = {"elastic_mm", "bone_thickness", "bone_size_sd", "proportion_sd", "uptake_group_sd"}
    for name in RANDOMISER_FIELDS:
        cfg = replace(AnatomyConfig(), **{name: getattr(RANDOMISED_ANATOMY, name)})
        if name == "p_scoliosis":
            cfg = replace(cfg, p_scoliosis=1.0)
        if name == "p_breasts":
            cfg = replace(cfg, p_breasts=1.0)
        changed = _anatomy(cfg)
        assert [b.name for b in changed.bones] == [b.name for b in default.bones]
        femur_same = np.array_equal(changed.bone("femur_left").block.activity, default.bone("femur_left").block.activity)
        assert femur_same == (name not in affects_femur), name
        if name in ("head_tilt_deg", "head_flexion_deg"):
            assert not np.array_equal(changed.bone("skull").block.occupancy, default.bone("skull").block.occupancy)
        if name == "disc_fraction":
            assert changed.bone("L3").body["half_height"] < default.bone("L3").body["half_height"]
            assert changed.bone("L3").body["centre"] == default.bone("L3").body["centre"]
        if name in ("p_scoliosis", "kyphosis_deg"):
            assert changed.bone("T8").body["centre"] != default.bone("T8").body["centre"]
            assert np.array_equal(changed.bone("skull").block.activity, default.bone("skull").block.activity)
        if name in ("trunk_width", "p_breasts"):
            assert not np.array_equal(np.nan_to_num(changed.body_front), np.nan_to_num(default.body_front))
    # ... and switching it off again (an on-range with probability 0) gives the default back
    off = replace(AnatomyConfig(), scoliosis_cobb_deg=(30.0, 40.0), breast_ml=(900.0, 1000.0), elastic_scale_mm=50.0)
    again = _anatomy(off)
    assert all(np.array_equal(a.block.activity, b.block.activity) for a, b in zip(again.bones, default.bones))


@pytest.mark.parametrize("fraction", [DISC_FRACTION, 0.3])
def test_disc_fraction_is_the_share_of_a_level_between_two_vertebral_bodies(fraction):
    anatomy = _anatomy(replace(AnatomyConfig(), disc_fraction=(fraction, fraction)))
    for upper, lower in (("T7", "T8"), ("L2", "L3")):
        a, b = anatomy.bone(upper).body, anatomy.bone(lower).body
        level = b["centre"][0] - a["centre"][0]
        gap = level - a["half_height"] - b["half_height"]
        assert gap / level == pytest.approx(fraction, rel=0.1, abs=0.01)


def test_wide_discs_bead_the_lumbar_column_on_the_posterior_view():
    """Bodies standing apart show as beads on POST: the counts along the lumbar column swing more."""
    swings = []
    for fraction in (DISC_FRACTION, 0.35):
        cfg = replace(profile("normal"), anatomy=replace(AnatomyConfig(), disc_fraction=(fraction, fraction)))
        patient = generate_patient(3, cfg)
        post = patient.expected["POST"].astype(float)  # noise-free
        lumbar = patient.regions["POST"] == REGION_IDS["lumbar_spine"]
        rows = np.nonzero(lumbar.any(axis=1))[0]
        col = int(np.median(np.nonzero(lumbar)[1]))
        line = post[rows.min():rows.max() + 1, col - 1:col + 2].mean(axis=1)
        swings.append(float(np.std(np.diff(line)) / line.mean()))
    assert swings[1] > 2 * swings[0]


def test_randomised_patients_are_deterministic_and_keep_all_bones():
    cfg = replace(profile("small"), anatomy=RANDOMISED_ANATOMY)
    a, b = generate_patient(4, cfg), generate_patient(4, cfg)
    assert np.array_equal(a.scan.view("ANT"), b.scan.view("ANT")) and a.meta == b.meta
    for seed in range(6):
        anatomy = _anatomy(RANDOMISED_ANATOMY, seed)
        names = {bone.name for bone in anatomy.bones}
        # Arms of very broad patients may fall outside the 579 mm field of view (as on real scans); the rest stays.
        arm_bones = {f"{b}_{side}" for b in ("humerus", "radius", "ulna", "hand") for side in ("left", "right")}
        assert names >= set(BONE_NAMES.values()) - arm_bones


def test_raised_arms_put_the_hands_above_the_head():
    cfg = replace(AnatomyConfig(), arm_positions={"raised": 1.0})
    anatomy = _anatomy(cfg)
    assert {f"hand_{side}" for side in ("left", "right")} <= {bone.name for bone in anatomy.bones}
    top = anatomy.body.head_top_mm
    for side in ("left", "right"):
        assert anatomy.landmarks[f"elbow_{side}"][0] < top + 0.05 * anatomy.body.height_mm
        assert anatomy.landmarks[f"wrist_{side}"][0] < top


def test_hands_on_the_thighs_lie_in_front_of_each_femur_between_hip_and_knee():
    """Session 68's pose (the second independent phantom's hands resting on the thighs): each hand over its own
    thigh, in front of the femur, between the hip and the knee, where the hands at the sides lie beside the thigh."""
    on_thighs = _anatomy(replace(AnatomyConfig(), arm_positions={"thighs": 1.0}))
    at_sides = _anatomy(replace(AnatomyConfig(), arm_positions={"sides": 1.0}))
    mx = on_thighs.body.midline_mm
    for side in ("left", "right"):
        z, x, y = on_thighs.landmarks[f"hand_{side}"]
        hip, knee = on_thighs.landmarks[f"hip_{side}"], on_thighs.landmarks[f"knee_{side}"]
        assert hip[0] < z < knee[0]
        assert np.sign(x - mx) == np.sign(hip[1] - mx)  # the patient's left hand on the left thigh
        shaft = on_thighs.bone(f"femur_{side}").path[2:]  # the shaft's top and bottom (after the head, trochanter)
        femur_x = np.interp(z, shaft[:, 0], shaft[:, 1])
        assert abs(x - femur_x) < 30.0  # over the femoral shaft (a hand is about 80 mm wide)
        shaft_y = np.interp(z, shaft[:, 0], shaft[:, 2])
        assert y < shaft_y - 20.0  # in front of the femoral shaft (y grows towards the table): on the thigh, not in it
        side_x = at_sides.landmarks[f"hand_{side}"][1]
        assert abs(side_x - mx) > abs(x - mx) + 30.0  # at the sides the hand lies beside the thigh, not on it


def test_spine_is_a_continuous_column_from_c7_to_l5():
    anatomy = _anatomy(AnatomyConfig(), 3)
    grid = anatomy.grid
    projection = np.zeros((grid.rows, grid.cols), np.float32)
    for bone in anatomy.bones:
        if bone.region.endswith("_spine"):
            d0, z0, x0 = bone.block.start
            image = bone.block.activity.sum(axis=0)
            projection[z0:z0 + image.shape[0], x0:x0 + image.shape[1]] += image
    c7, l5 = anatomy.bone("C7").body, anatomy.bone("L5").body
    r0, r1 = int(c7["centre"][0] / grid.row_mm), int(l5["centre"][0] / grid.row_mm)
    mid = int(anatomy.body.midline_mm / grid.col_mm)
    column = projection[r0:r1 + 1, mid - 4:mid + 5].max(axis=1)  # the projected column, +-9 mm of the midline
    assert column.min() > 0.2 * np.median(column)
    # and on the noise-free ANT image of the same kind of patient, the midline does not drop to soft tissue
    # between vertebrae: no row between C7 and L5 is below 60 % of its neighbours' median (no beads)
    patient = generate_patient(3, profile("normal"))
    post = patient.expected["POST"][:, ::-1]
    rows = np.flatnonzero((patient.regions["POST"][:, ::-1] == REGION_IDS["thoracic_spine"]).any(axis=1))
    cols = np.flatnonzero((patient.regions["POST"][:, ::-1] == REGION_IDS["thoracic_spine"]).any(axis=0))
    profile_ = post[rows[0]:rows[-1] + 1, cols.min():cols.max() + 1].max(axis=1)
    local = np.array([np.median(profile_[max(0, i - 6):i + 7]) for i in range(len(profile_))])
    assert (profile_ / local).min() > 0.85


def test_ribs_are_fainter_than_the_spine_and_sternum_and_joints_stand_out():
    cfg = replace(profile("normal"), camera=replace(profile("normal").camera, rows=512, cols=128, pixel_mm=4.52, depth_mm=15.0))
    for seed in (1, 2):
        patient = generate_patient(seed, cfg)
        post, regions = patient.expected["POST"], patient.regions["POST"]
        spine = post[regions == REGION_IDS["thoracic_spine"]].mean()
        for ribs in ("ribs_left", "ribs_right"):
            assert post[regions == REGION_IDS[ribs]].mean() < 0.8 * spine
        ant, aregions = patient.expected["ANT"], patient.regions["ANT"]
        body = ant > 0.1 * np.percentile(ant, 99)
        soft = np.median(ant[body & (aregions == 0)])
        assert ant[aregions == REGION_IDS["sternum"]].max() > 2.0 * soft
    # uptake table: joints and metaphyses above shafts, ribs below vertebral bodies
    assert UPTAKE["rib"] < UPTAKE["vertebral_body"] and UPTAKE["shaft"] < UPTAKE["metaphysis"] < UPTAKE["knee"]
    assert spine_uptake("L5") > spine_uptake("T8") < spine_uptake("C6")


def test_long_bones_are_brighter_at_their_ends_than_mid_shaft():
    anatomy = _anatomy(AnatomyConfig(), 2)
    femur = anatomy.bone("femur_left")
    profile_ = femur.block.activity.sum(axis=(0, 2))  # per row
    rows = np.flatnonzero(profile_ > 0)
    length = len(rows)
    mid = profile_[rows[0] + int(0.45 * length):rows[0] + int(0.6 * length)].mean()
    distal = profile_[rows[0] + int(0.8 * length):rows[0] + int(0.9 * length)].mean()
    assert distal > 1.5 * mid


def test_rib_cage_follows_the_scoliotic_spine():
    cfg = replace(AnatomyConfig(), p_scoliosis=1.0, scoliosis_cobb_deg=(40.0, 40.0))
    straight, curved = _anatomy(AnatomyConfig(), 7), _anatomy(cfg, 7)
    shift_spine = curved.bone("T8").body["centre"][1] - straight.bone("T8").body["centre"][1]
    shift_rib = curved.bone("rib_left_8").path[3][1] - straight.bone("rib_left_8").path[3][1]
    assert abs(shift_spine) > 20.0
    assert 0.3 < shift_rib / shift_spine < 1.0


def test_metadata_records_the_randomisers_only_when_on():
    default = generate_patient(2, profile("small"))
    assert "anatomy" not in default.meta
    cfg = replace(profile("small"), anatomy=replace(AnatomyConfig(), p_scoliosis=1.0, kyphosis_deg=(20.0, 20.0)))
    curved = generate_patient(2, cfg)
    assert curved.meta["anatomy"]["kyphosis_deg"] == 20.0
    assert 10.0 <= abs(curved.meta["anatomy"]["scoliosis_cobb_deg"]) <= 45.0
    assert curved.meta["anatomy"]["scoliosis_shape"] in ("C", "S")


def _centroid(block, grid):
    """Occupancy-weighted centre (y, z, x) mm of a block."""
    y, z, x = block.centres(grid)
    weight = block.occupancy
    return tuple(float((np.broadcast_to(c, weight.shape) * weight).sum() / weight.sum()) for c in (y, z, x))


def test_left_bones_and_organs_lie_on_the_left_side_ribs_shoulders_and_kidneys_included():
    """The builder puts the patient's left at +x (``"left" if side > 0``): every ``*_left`` part on that side."""
    anatomy = _anatomy(AnatomyConfig(), 3)
    mid = anatomy.body.midline_mm
    parts = [(b.name, b.block) for b in anatomy.bones] + [(o.name, o.block) for o in anatomy.organs]
    sided = [(name, block) for name, block in parts if "left" in name.split("_") or "right" in name.split("_")]
    assert {"rib_left_6", "clavicle_right", "scapula_left", "hip_right", "kidney_left"} <= {n for n, _ in sided}
    for name, block in sided:
        x = _centroid(block, anatomy.grid)[2]
        assert (x > mid) == ("left" in name.split("_")), name


def test_right_kidney_lies_lower_than_the_left():
    anatomy = _anatomy(AnatomyConfig(), 3)
    kidneys = {o.name: _centroid(o.block, anatomy.grid) for o in anatomy.organs if o.name.startswith("kidney_")}
    assert kidneys["kidney_right"][1] > kidneys["kidney_left"][1] + 10.0  # z grows towards the feet


def test_vertebral_bodies_carry_their_levels_spine_uptake():
    """Without per-bone variation, a full body voxel's concentration follows :func:`spine_uptake` (L5 over T8)."""
    anatomy = _anatomy(replace(AnatomyConfig(), bone_variation=0.0), 3)

    def peak(name):
        block = anatomy.bone(name).block
        full = block.occupancy > 0.999
        return float(np.median(block.activity[full] / block.occupancy[full]))

    assert peak("L5") / peak("T8") == pytest.approx(spine_uptake("L5") / spine_uptake("T8"), rel=0.05)


def test_disc_draw_does_not_move_when_bone_thickness_is_switched_on():
    discs = replace(AnatomyConfig(), disc_fraction=(0.05, 0.3))
    both = replace(discs, bone_thickness=(0.8, 1.2))
    assert [b.disc_fraction for b in _bodies(discs, 20)] == [b.disc_fraction for b in _bodies(both, 20)]


def test_metadata_records_a_drawn_disc_fraction():
    from scintiseg.phantom.anatomy import randomiser_facts

    body = _bodies(replace(AnatomyConfig(), disc_fraction=(0.2, 0.3)), 1)[0]
    assert randomiser_facts(body)["disc_fraction"] == pytest.approx(body.disc_fraction, abs=1e-3)


def test_feet_point_outward_and_the_medial_malleolus_is_medial():
    anatomy = _anatomy(AnatomyConfig(), 3)
    mid = anatomy.body.midline_mm
    for side in ("left", "right"):
        heel, _, tip = anatomy.bone(f"foot_{side}").path
        assert abs(tip[1] - mid) > abs(heel[1] - mid) + 5.0, side  # the toes fall outward
        tibia = anatomy.bone(f"tibia_{side}").block
        y, z, x = tibia.centres(anatomy.grid)
        low = tibia.occupancy * (np.broadcast_to(z, tibia.occupancy.shape) > anatomy.landmarks[f"ankle_{side}"][0] - 10.0)
        x_low = float((np.broadcast_to(x, low.shape) * low).sum() / low.sum())
        assert abs(x_low - mid) < abs(anatomy.landmarks[f"ankle_{side}"][1] - mid), side


def test_kyphosis_moves_the_thoracic_spine_posteriorly():
    straight = _anatomy(AnatomyConfig(), 7)
    bent = _anatomy(replace(AnatomyConfig(), kyphosis_deg=(40.0, 40.0)), 7)
    assert bent.bone("T8").body["centre"][2] > straight.bone("T8").body["centre"][2] + 10.0  # towards the table
