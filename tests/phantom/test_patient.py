from dataclasses import replace

import numpy as np
import pytest

from scintiseg.phantom import generate_patient, profile
from scintiseg.phantom.anatomy import build_anatomy, sample_body
from scintiseg.phantom.lesions import Disease, place_lesions
from scintiseg.phantom.patient import image_point, patient_grid
from scintiseg.phantom.primitives import Grid
from scintiseg.phantom.regions import REGION_IDS


def test_same_seed_same_patient(small_config):
    a = generate_patient(5, small_config)
    b = generate_patient(5, small_config)
    c = generate_patient(6, small_config)
    for view in ("ANT", "POST"):
        assert np.array_equal(a.scan.view(view), b.scan.view(view))
        assert np.array_equal(a.instances[view], b.instances[view])
    assert a.lesions == b.lesions and a.meta == b.meta
    assert not np.array_equal(a.scan.view("ANT"), c.scan.view("ANT"))


def test_counts_per_view_within_configured_range(small_config):
    lo, hi = small_config.camera.counts
    for seed in (1, 2):
        patient = generate_patient(seed, small_config)
        for view in ("ANT", "POST"):
            total = patient.scan.view(view).sum(dtype=np.int64)
            expected = patient.expected[view].sum(dtype=np.float64)
            assert lo <= expected <= hi * (1 + 1e-4)
            assert abs(total - expected) < 5 * np.sqrt(expected)  # Poisson


def test_scan_layout(default_patient):
    scan = default_patient.scan
    assert scan.view_names == ["ANT", "POST"] and scan.shape == (1024, 256)
    assert scan.pixel_spacing == (2.26, 2.26) and scan.view("ANT").dtype == np.uint16
    # the POST view is stored as acquired: the patient's right femur is on the image left in ANT, right in POST
    femur = REGION_IDS["femur_right"]
    cols_ant = np.nonzero(default_patient.regions["ANT"] == femur)[1].mean()
    cols_post = np.nonzero(default_patient.regions["POST"] == femur)[1].mean()
    assert cols_ant < 128 < cols_post


def test_masks_agree_with_metadata(default_patient):
    p = default_patient
    assert len(p.lesions) == p.meta["n_lesions"] > 0
    ids = {lesion["id"] for lesion in p.lesions}
    for view in ("ANT", "POST"):
        visible = [lesion["id"] for lesion in p.lesions if lesion["visible"][view]]
        assert np.array_equal(p.masks[view], np.isin(p.instances[view], visible))  # labels: visible lesions only
        assert set(np.unique(p.instances[view])) - {0} <= ids
        for lesion in p.lesions:
            pixels = np.argwhere(p.instances[view] == lesion["id"])
            box = lesion["bbox"][view]
            assert box is not None and lesion["pixels"][view] > 0
            if len(pixels):
                r0, c0, r1, c1 = box
                assert pixels[:, 0].min() >= r0 and pixels[:, 0].max() < r1
                assert pixels[:, 1].min() >= c0 and pixels[:, 1].max() < c1
            assert isinstance(lesion["visible"][view], bool)
        assert p.lesions[0]["region"] in REGION_IDS


def test_thoracic_spine_brighter_on_post_than_on_ant():
    patient = generate_patient(21, profile("normal"))
    spine = patient.regions["POST"] == REGION_IDS["thoracic_spine"]
    spine = spine & (patient.regions["ANT"][:, ::-1] != REGION_IDS["sternum"])  # the sternum lies in front of the spine on ANT
    spine_in_ant = spine[:, ::-1]  # POST as acquired -> ANT orientation
    post = patient.expected["POST"][spine].mean()
    ant = patient.expected["ANT"][spine_in_ant].mean()
    assert post > 1.3 * ant
    # the sternum is the bone that dominates those columns on ANT, the spine on POST
    assert (patient.regions["ANT"] == REGION_IDS["sternum"]).sum() > (patient.regions["POST"] == REGION_IDS["sternum"]).sum()


def test_lungs_hold_less_tracer_and_attenuate_less_than_soft_tissue():
    """Aerated lung: 0.4 of soft tissue's activity and a quarter of its attenuation (ICRU 44's 0.26 g/cm^3), so
    the ribs behind the lungs show on the anterior view (until session 24 both were soft tissue's)."""
    from scintiseg.phantom.patient import _volumes

    config = profile("default")
    cam = config.camera
    rng = np.random.default_rng(5)
    body = sample_body(rng, config.anatomy, Grid(cam.rows, cam.cols, 1, cam.pixel_mm, cam.pixel_mm, cam.depth_mm))
    grid = patient_grid(config, body.height_mm, body.build)
    anatomy, _ = build_anatomy(body, grid, rng, config.anatomy)
    activity, mu = _volumes(anatomy, [], config, (0, grid.rows))
    lung = next(o for o in anatomy.organs if o.name == "lung_left")
    full = lung.block.occupancy >= 0.999
    inside_activity, inside_mu = activity[lung.block.slices][full], mu[lung.block.slices][full]
    # Most voxels filled by lung hold lung alone (a few a rib's edge): lung's attenuation (1/mm) and activity.
    assert np.percentile(inside_mu, [10, 90]) == pytest.approx([config.camera.mu_lung_per_cm / 10.0] * 2, rel=1e-4)
    assert np.percentile(inside_activity, [10, 90]) == pytest.approx([0.4, 0.4], rel=1e-4)


def test_faint_lesion_still_has_a_mask():
    config = profile("metastatic")
    config = replace(config, lesions=replace(config.lesions, contrast=(1.3, 1.3)))
    patient = generate_patient(4, config)
    assert patient.lesions
    labelled = 0
    for lesion in patient.lesions:
        assert lesion["contrast"] == pytest.approx(1.3)
        assert lesion["pixels"]["ANT"] > 0 and lesion["pixels"]["POST"] > 0  # every lesion has an extent
        for view in ("ANT", "POST"):
            in_label = bool(patient.masks[view][patient.instances[view] == lesion["id"]].any())
            assert in_label == (lesion["visible"][view] and (patient.instances[view] == lesion["id"]).any())
            labelled += in_label
    assert labelled > 0  # the large faint lesions clear the Rose criterion and are labelled


def test_every_lesion_voxel_lies_inside_its_bone(small_anatomy):
    rng = np.random.default_rng(0)
    anatomy = small_anatomy(rng)
    lesions = place_lesions(anatomy, Disease(3, 30, "breast", False), rng, profile("small").lesions)
    assert len(lesions) == 30
    for lesion in lesions:
        bone = anatomy.bone(lesion.bone)
        offset = np.subtract(lesion.block.start, bone.block.start)
        assert (offset >= 0).all()
        window = tuple(slice(o, o + n) for o, n in zip(offset, lesion.block.activity.shape))
        hot = lesion.block.activity > 0
        assert hot.any()
        assert (bone.block.occupancy[window][hot] > 0).all()


def test_the_views_state_the_directions_their_anatomy_runs(default_patient):
    """The phantom states its views' patient directions (ANT ``L\\F``, POST ``R\\F``: what its DICOM files say); its
    region maps agree: the patient's left femur lies where the columns run toward the patient's left."""
    from scintiseg.io.patient_sides import ORIENTATION_KEY, letters_from_codes
    from scintiseg.phantom.regions import REGION_IDS

    letters = default_patient.scan.metadata[ORIENTATION_KEY]
    assert letters == {"ANT": "L\\F", "POST": "R\\F"}
    for view, regions in default_patient.regions.items():
        left = np.nonzero(regions == REGION_IDS["femur_left"])[1].mean()
        right = np.nonzero(regions == REGION_IDS["femur_right"])[1].mean()
        toward = letters_from_codes(letters[view])[0]  # where the columns grow
        assert (left > right) == (toward == "L")
        head, femur = (np.nonzero(regions == REGION_IDS[name])[0].mean() for name in ("skull", "femur_left"))
        assert head < femur and letters_from_codes(letters[view])[1] == "F"  # the rows grow toward the feet


def _spine_slope(regions: np.ndarray) -> float:
    """Columns per row of the least-squares line through the thoracic and lumbar spine's pixels."""
    rows, cols = np.nonzero(np.isin(regions, [REGION_IDS["thoracic_spine"], REGION_IDS["lumbar_spine"]]))
    return float(np.polyfit(rows, cols, 1)[0])


def test_a_patient_lying_at_an_angle_turns_scan_and_truth_together():
    config = profile("metastatic")
    straight = generate_patient(11, config)
    assert "body_tilt_deg" not in straight.meta  # off by default
    tilted = generate_patient(11, replace(config, anatomy=replace(config.anatomy, body_tilt_deg=(6.0, 6.0))))
    tilt = tilted.meta["body_tilt_deg"]
    assert abs(tilt) == 6.0
    # The spine leans by the angle: on ANT one way, on POST (stored mirrored) the other.
    assert _spine_slope(tilted.regions["ANT"]) == pytest.approx(np.tan(np.radians(tilt)), abs=0.02)
    assert _spine_slope(tilted.regions["POST"]) == pytest.approx(-np.tan(np.radians(tilt)), abs=0.02)
    assert abs(_spine_slope(straight.regions["ANT"])) < 0.02
    # Every lesion's extent lies where image_point puts its straight extent; the counts are the same patient's.
    ids = [i for i in np.unique(straight.instances["ANT"]) if i and (tilted.instances["ANT"] == i).sum() > 20]
    assert len(ids) >= 3
    for lesion_id in ids:
        rows, cols = np.nonzero(straight.instances["ANT"] == lesion_id)
        moved = image_point(rows.mean(), cols.mean(), tilted.meta)
        rows, cols = np.nonzero(tilted.instances["ANT"] == lesion_id)
        assert np.hypot(rows.mean() - moved[0], cols.mean() - moved[1]) < 1.5
    assert [les["visible"] for les in tilted.lesions] == [les["visible"] for les in straight.lesions]
    for view in ("ANT", "POST"):
        ratio = tilted.expected[view].sum(dtype=np.float64) / straight.expected[view].sum(dtype=np.float64)
        assert 0.97 < ratio <= 1.0  # what the turn moves out of the field is lost, nothing is added


# --- the 3-D mass-fraction BSI (meta["bsi_mass_percent"], session 63) ---------------------------------------------


def _tiny_bone(name, occupancy, start=(0, 0, 0)):
    from scintiseg.phantom.anatomy import Bone
    from scintiseg.phantom.primitives import Block

    occupancy = np.asarray(occupancy, dtype=np.float32)
    return Bone(name, Block(start, occupancy, occupancy * np.float32(2.0)))


def _tiny_lesion(lesion_id, bone, start, involved):
    from scintiseg.phantom.lesions import Lesion
    from scintiseg.phantom.primitives import Block
    from scintiseg.phantom.regions import region_of_bone

    involved = np.asarray(involved, dtype=np.float32)
    block = Block(start, (involved > 0).astype(np.float32), involved * np.float32(3.0))
    return Lesion(lesion_id, bone, region_of_bone(bone), "x", "focal", 2.5, 10.0, (0.0, 0.0, 0.0), block, {}, involved)


def test_mass_bsi_by_hand_on_a_tiny_skeleton():
    """T1 (8 full voxels) and T2 (8 half voxels) make the thoracic spine's 12 voxels of bone; rib_left_1 has 4. Two
    overlapping lesions in T1 cover 1 + 0.5 (the larger of 0.5 and 0.25 where they overlap) + 0.5; one in T2 covers
    0.5; one in the rib covers 1 + 1 of 4: BSI = 3.2 x 2.5 / 12 + 2.2 x 2 / 4 (Spiers %, as predict.bsi sums them)."""
    from types import SimpleNamespace

    from scintiseg.phantom.patient import mass_bsi

    bones = [_tiny_bone("T1", np.ones((2, 2, 2))), _tiny_bone("T2", np.full((2, 2, 2), 0.5), (0, 2, 0)),
             _tiny_bone("rib_left_1", np.ones((1, 4, 1)), (3, 0, 3))]
    anatomy = SimpleNamespace(bones=bones, bone=lambda name: next(b for b in bones if b.name == name))
    lesions = [_tiny_lesion(1, "T1", (0, 0, 0), [[[1.0, 0.5]]]),          # voxels (0,0,0) and (0,0,1)
               _tiny_lesion(2, "T1", (0, 0, 1), [[[0.25], [0.5]]]),       # voxels (0,0,1) (overlap) and (0,1,1)
               _tiny_lesion(3, "T2", (1, 3, 1), [[[0.5]]]),
               _tiny_lesion(4, "rib_left_1", (3, 1, 3), [[[1.0], [1.0]]])]  # two voxels along the rib
    expected = 3.2 * (1.0 + 0.5 + 0.5 + 0.5) / 12.0 + 2.2 * 2.0 / 4.0
    assert mass_bsi(anatomy, lesions) == pytest.approx(expected)
    assert mass_bsi(anatomy, lesions[:1]) == pytest.approx(3.2 * 1.5 / 12.0)
    assert mass_bsi(anatomy, []) == 0.0


def _patient_with_its_anatomy(monkeypatch, seed, config):
    """``generate_patient(seed, config)`` and the anatomy and lesions it drew (captured from ``place_lesions``)."""
    import scintiseg.phantom.patient as patient_module

    caught = {}
    place = patient_module.place_lesions

    def catch(anatomy, *args, **kwargs):
        caught["anatomy"], caught["lesions"] = anatomy, place(anatomy, *args, **kwargs)
        return caught["lesions"]

    monkeypatch.setattr(patient_module, "place_lesions", catch)
    return generate_patient(seed, config), caught["anatomy"], caught["lesions"]


def _mass_bsi_from_activity(anatomy, lesions) -> float:
    """An independent 3-D mass BSI: each lesion's share of its bone recovered from its excess activity
    (``(contrast - 1) x bone activity x share``, lesions without uneven uptake), the union per bone on a canvas of the
    whole bone, and the weights of predict.bsi."""
    from scintiseg.predict.bsi import SPIERS_WEIGHTS

    canvases, involved, volume = {}, {}, {}
    for lesion in lesions:
        bone = anatomy.bone(lesion.bone)
        canvas = canvases.setdefault(lesion.bone, np.zeros(bone.block.occupancy.shape))
        window = tuple(slice(a - b, a - b + n)
                       for a, b, n in zip(lesion.block.start, bone.block.start, lesion.block.activity.shape))
        normal = bone.block.activity[window].astype(np.float64) * (lesion.contrast - 1.0)
        share = np.divide(lesion.block.activity, normal, out=np.zeros(normal.shape), where=normal != 0)
        canvas[window] = np.maximum(canvas[window], np.clip(share, 0.0, 1.0) * bone.block.occupancy[window])
    for name, canvas in canvases.items():
        region = anatomy.bone(name).region
        involved[region] = involved.get(region, 0.0) + canvas.sum()
    for bone in anatomy.bones:
        volume[bone.region] = volume.get(bone.region, 0.0) + bone.block.occupancy.sum(dtype=np.float64)
    return sum(SPIERS_WEIGHTS[region] * inside / volume[region] for region, inside in involved.items())


def test_mass_bsi_of_a_generated_patient_equals_an_independent_computation(monkeypatch):
    config = profile("small")
    config = replace(config, lesions=replace(config.lesions, p_normal=0.0, p_cold=0.3, soloway={2: 1.0}))
    patient, anatomy, lesions = _patient_with_its_anatomy(monkeypatch, 3, config)
    visible = [lesion for lesion, info in zip(lesions, patient.lesions) if any(info["visible"].values())]
    assert len(lesions) >= 6 and 0 < len(visible) < len(lesions)  # some lesions no view shows
    assert any(lesion.cold for lesion in lesions)
    meta = patient.meta
    assert meta["bsi_mass_percent"] == pytest.approx(_mass_bsi_from_activity(anatomy, visible), abs=2e-4)
    assert meta["bsi_mass_percent_all"] == pytest.approx(_mass_bsi_from_activity(anatomy, lesions), abs=2e-4)
    assert 0 < meta["bsi_mass_percent"] < meta["bsi_mass_percent_all"]
    again = generate_patient(3, config)
    assert (again.meta["bsi_mass_percent"], again.meta["bsi_mass_percent_all"]) == (
        meta["bsi_mass_percent"], meta["bsi_mass_percent_all"])


def test_mass_bsi_is_zero_without_lesions_and_never_above_all_lesions():
    config = profile("small")
    normal = generate_patient(2, replace(config, lesions=replace(config.lesions, p_normal=1.0)))
    assert normal.meta["n_lesions"] == 0
    assert normal.meta["bsi_mass_percent"] == normal.meta["bsi_mass_percent_all"] == 0.0
    for seed in range(4):
        meta = generate_patient(seed, replace(config, lesions=replace(config.lesions, p_normal=0.0))).meta
        assert 0.0 <= meta["bsi_mass_percent"] <= meta["bsi_mass_percent_all"]


def test_post_counts_are_stored_mirrored_like_the_post_truth(default_patient):
    """POST is stored as acquired (mirrored left-right against ANT): its counts, expected image and region map agree."""
    from scintiseg.scan import mirror

    counts = default_patient.scan.view("POST").astype(np.float64)
    expected = default_patient.expected["POST"].astype(np.float64)
    same = np.corrcoef(counts.ravel(), expected.ravel())[0, 1]
    flipped = np.corrcoef(counts.ravel(), mirror(expected).ravel())[0, 1]
    assert same > 0.9 and same > flipped + 0.02


def test_a_profile_name_is_read_as_its_profile_and_anything_else_refused_in_one_line(small_config):
    """API audit 74, finding 4: ``generate_patient(1, "randomised")`` failed with "'str' object has no attribute
    'camera'" while write_cohort takes a profile name."""
    from scintiseg.errors import ScintisegError

    named, given = generate_patient(5, "small"), generate_patient(5, small_config)
    for view in ("ANT", "POST"):
        assert np.array_equal(named.scan.view(view), given.scan.view(view))
    with pytest.raises(ScintisegError, match="unknown phantom profile 'nope'"):
        generate_patient(1, "nope")
    with pytest.raises(ScintisegError, match=r"must be a PhantomConfig or a profile name \(default, .*\), got dict"):
        generate_patient(1, {"camera": {}})


def test_the_seed_is_a_whole_number_the_cli_takes_and_anything_else_is_one_line(small_config):
    """API audit 74, finding 9: ``generate_patient(1.5)`` and ``generate_patient(2**40)`` were taken without a word and
    -1 failed inside NumPy; the docstring said "any non-negative integer" and ``scintiseg phantom --seed`` takes 0 to
    2**32 - 1. A NumPy integer (a seed drawn with ``generate_state``) is the whole number it holds."""
    from scintiseg.errors import ScintisegError

    for seed in (1.5, 2.0, -1, 2**32, 2**40, True, "3", None, np.int64(-1)):
        with pytest.raises(ScintisegError, match=r"^seed must be a whole number from 0 to 4294967295, got "):
            generate_patient(seed, small_config)
    drawn, plain = generate_patient(np.uint32(5), small_config), generate_patient(5, small_config)
    assert drawn.scan.patient_id == plain.scan.patient_id == "PH5"
    assert np.array_equal(drawn.scan.view("ANT"), plain.scan.view("ANT"))


def test_the_package_docstring_names_write_cohort_s_parameters():
    import inspect

    import scintiseg.phantom as phantom

    assert list(inspect.signature(phantom.write_cohort).parameters)[:4] == ["n", "out", "seed", "config"]
    assert "write_cohort(n, out, seed, config)" in phantom.__doc__
