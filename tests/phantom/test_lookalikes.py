"""Tests of :mod:`scintiseg.phantom.lookalikes`: which benign hot spots a patient gets, where they sit, how strong
they are, and that the phantom-v2 ones come from their own generator.

Drawn on the ``small`` profile's anatomy (built once for the module) with every kind switched on. Elsewhere:
tests/phantom/test_randomised.py (the v2 kinds appear only when switched on, in whole patients).
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from scintiseg.phantom import profile
from scintiseg.phantom.lesions import point_on_path
from scintiseg.phantom.lookalikes import Lookalike, sample_lookalikes
from scintiseg.phantom.primitives import Block

SOFT = {"injection_site", "axillary_node", "urine_contamination"}
V2 = ("p_costochondral", "p_sternum", "p_sacroiliac", "p_facet", "p_feet", "p_old_fracture")
OFF = dict(degenerative_base=0.0, degenerative_per_decade=0.0, p_endplate=0.0, p_fracture=0.0, p_urine=0.0,
           p_dental=0.0, p_manubriosternal=0.0, **{name: 0.0 for name in V2})
ALL_ON = dict(degenerative_base=3.0, p_endplate=1.0, p_fracture=1.0, p_urine=1.0, p_dental=1.0, p_manubriosternal=1.0,
              **{name: 1.0 for name in V2})
SEEDS = range(16)


@pytest.fixture(scope="module")
def small(small_anatomy_seed3):
    return small_anatomy_seed3, profile("small")


@pytest.fixture(scope="module")
def drawn(small):
    """seed -> every look-alike of one patient with every kind switched on (injection site and node included)."""
    anatomy, config = small
    cfg = replace(config.lookalikes, **ALL_ON)
    acfg = replace(config.anatomy, p_injection_site=1.0, p_axillary_node=1.0)
    return {seed: sample_lookalikes(anatomy, np.random.default_rng(seed), cfg, acfg, np.random.default_rng(100 + seed))
            for seed in SEEDS}


def _off(config):
    return replace(config.lookalikes, **OFF), replace(config.anatomy, p_injection_site=0.0)


def test_with_every_kind_switched_off_a_patient_has_none(small):
    anatomy, config = small
    cfg, acfg = _off(config)
    assert all(sample_lookalikes(anatomy, np.random.default_rng(seed), cfg, acfg) == [] for seed in range(5))


class _Recording:
    """A generator that records the Poisson means asked of it."""

    def __init__(self, seed):
        self.rng, self.means = np.random.default_rng(seed), []

    def poisson(self, lam):
        self.means.append(lam)
        return 0

    def __getattr__(self, name):
        return getattr(self.rng, name)


@pytest.mark.parametrize("age, expected", [(30.0, 0.6), (40.0, 0.6), (50.0, 1.1), (72.0, 0.6 + 0.5 * 3.2)])
def test_degenerative_foci_are_poisson_with_a_mean_growing_per_decade_over_40(small, age, expected):
    anatomy, config = small
    cfg, acfg = _off(config)
    cfg = replace(cfg, degenerative_base=0.6, degenerative_per_decade=0.5)
    rng = _Recording(0)
    sample_lookalikes(replace(anatomy, body=replace(anatomy.body, age=age)), rng, cfg, acfg)
    assert rng.means == [pytest.approx(expected)]


def test_every_kind_is_drawn_when_switched_on(drawn):
    kinds = {item.kind for items in drawn.values() for item in items}
    assert {"endplate", "dental", "manubriosternal", "costochondral", "facet", "sacroiliac"} | SOFT <= kinds
    assert {k for k in kinds if k.startswith("fracture_")} == {"fracture_rib_aligned", "fracture_vertebral_linear"}
    assert {k for k in kinds if k.startswith("old_fracture_")} == {"old_fracture_rib", "old_fracture_shaft"}
    assert any(k.startswith("degenerative_") for k in kinds) and any(k.startswith("foot_") for k in kinds)


def _in_grid(block: Block, grid_shape) -> np.ndarray:
    full = np.zeros(grid_shape, np.float32)
    full[block.slices] = block.activity
    return full


def test_a_bone_look_alike_adds_activity_only_inside_its_bone_at_most_c_minus_1_times_the_bones(small, drawn):
    anatomy, _ = small
    shape = anatomy.grid.shape
    for items in drawn.values():
        for item in items:
            if item.kind in SOFT:
                continue
            bone = anatomy.bone(item.site)
            excess = _in_grid(item.block, shape)
            own = _in_grid(bone.block, shape)
            assert excess.max() > 0, item.kind  # every contrast here is above 1: an excess, never a deficit
            assert (own[excess > 0] > 0).all(), item.kind
            assert (excess <= (item.contrast - 1.0) * own * (1 + 1e-5) + 1e-7).all(), item.kind


def test_contrasts_lie_in_their_ranges(small, drawn):
    _, config = small
    lo, hi = config.lookalikes.contrast
    ranges = {"fracture_": (2.0, 4.0), "old_fracture_": (1.5, 3.5), "injection_site": (60.0, 600.0),
              "axillary_node": (8.0, 40.0), "urine_contamination": (30.0, 300.0), "costochondral": (0.85 * lo, 1.15 * hi)}
    for items in drawn.values():
        for item in items:
            a, b = next((r for prefix, r in ranges.items() if item.kind.startswith(prefix)), (lo, hi))
            assert a <= item.contrast <= b, (item.kind, item.contrast)


def test_an_axillary_node_is_on_the_side_of_its_injection_site(drawn):
    for items in drawn.values():
        injection = [i for i in items if i.kind == "injection_site"]
        nodes = [i for i in items if i.kind == "axillary_node"]
        assert len(injection) == 1 and len(nodes) == 1  # both probabilities 1
        side = injection[0].site.split("_")[-1]
        assert injection[0].site in (f"antecubital_{side}", f"hand_{side}") and nodes[0].site == f"axilla_{side}"


def test_aligned_rib_fractures_are_2_to_4_consecutive_ribs_of_one_side_with_one_contrast(drawn):
    seen = 0
    for items in drawn.values():
        ribs = [i for i in items if i.kind == "fracture_rib_aligned"]
        if not ribs:
            continue
        seen += 1
        sides = {i.site.split("_")[1] for i in ribs}
        numbers = [int(i.site.split("_")[2]) for i in ribs]
        assert len(sides) == 1 and 1 <= len(ribs) <= 4 and max(numbers) <= 12
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
        assert len({i.contrast for i in ribs}) == 1 and all(i.size_mm == 10.0 for i in ribs)
    assert seen >= 3


def test_an_endplate_is_a_3_5_mm_band_at_the_top_or_bottom_of_its_vertebral_body(small, drawn):
    anatomy, _ = small
    ends = set()
    for items in drawn.values():
        for item in (i for i in items if i.kind == "endplate"):
            body = anatomy.bone(item.site).body
            offset = item.centre_mm[0] - body["centre"][0]
            assert abs(offset) == pytest.approx(body["half_height"] - 1.75)
            assert item.size_mm == pytest.approx(2 * body["radius"])
            ends.add(offset > 0)
    assert ends == {True, False}


def test_costochondral_foci_sit_at_the_anterior_end_of_the_upper_seven_ribs(small, drawn):
    anatomy, _ = small
    for items in drawn.values():
        for item in (i for i in items if i.kind == "costochondral"):
            assert 1 <= int(item.site.split("_")[2]) <= 7
            path = np.asarray(anatomy.bone(item.site).path, float)
            np.testing.assert_allclose(item.centre_mm, point_on_path(path, 0.97), atol=1e-4)


def test_facet_foci_lie_behind_their_vertebral_body(small, drawn):
    anatomy, _ = small
    for items in drawn.values():
        for item in (i for i in items if i.kind == "facet"):
            body = anatomy.bone(item.site).body
            assert item.centre_mm[2] == pytest.approx(body["centre"][2] + 1.1 * body["radius"], abs=1e-4)
            assert abs(abs(item.centre_mm[1] - body["centre"][1]) - 0.8 * body["radius"]) < 1e-4


def _v2_part(items):
    first_kinds = ("degenerative_", "endplate", "fracture_", "dental", "manubriosternal") + tuple(SOFT)
    return [i.metadata() for i in items if not i.kind.startswith(first_kinds)]


def test_the_v2_hot_spots_come_from_their_own_generator_alone(small):
    anatomy, config = small
    cfg = replace(config.lookalikes, **{name: 1.0 for name in V2})
    v2 = [_v2_part(sample_lookalikes(anatomy, np.random.default_rng(seed), cfg, config.anatomy,
                                     np.random.default_rng(42))) for seed in (1, 2, 3)]
    assert v2[0] and v2[0] == v2[1] == v2[2]  # the patient's other draws change, the v2 hot spots do not
    again = _v2_part(sample_lookalikes(anatomy, np.random.default_rng(1), cfg, config.anatomy, np.random.default_rng(43)))
    assert again != v2[0]


def test_switched_off_v2_kinds_draw_nothing_so_switching_one_on_changes_nothing_else(small):
    anatomy, config = small
    v2_rng = np.random.default_rng(7)
    state = v2_rng.bit_generator.state
    base = sample_lookalikes(anatomy, np.random.default_rng(5), config.lookalikes, config.anatomy, v2_rng)
    assert v2_rng.bit_generator.state == state
    feet = sample_lookalikes(anatomy, np.random.default_rng(5), replace(config.lookalikes, p_feet=1.0), config.anatomy,
                             np.random.default_rng(7))
    assert [i.metadata() for i in feet[: len(base)]] == [i.metadata() for i in base]
    assert [i.kind.split("_")[0] for i in feet[len(base):]] == ["foot"]


def test_metadata_is_rounded_plain_json():
    block = Block((0, 0, 0), np.ones((1, 1, 1), np.float32), np.ones((1, 1, 1), np.float32))
    item = Lookalike("facet", "L3", 2.34567, 12.345, (np.float32(101.26), 40.04, np.float64(-3.96)), block)
    assert item.metadata() == {"kind": "facet", "site": "L3", "contrast": 2.346, "size_mm": 12.3,
                               "centre_mm": [101.3, 40.0, -4.0]}
    assert json.loads(json.dumps(item.metadata())) == item.metadata()



@pytest.mark.parametrize("switch, prefixes", [
    ("p_endplate", ("endplate",)), ("p_fracture", ("fracture_",)), ("p_dental", ("dental",)),
    ("p_manubriosternal", ("manubriosternal",)), ("p_old_fracture", ("old_fracture_",)),
])
def test_each_switch_alone_draws_its_own_kind_and_no_other(small, switch, prefixes):
    anatomy, config = small
    cfg, acfg = _off(config)
    cfg = replace(cfg, **{switch: 1.0})
    kinds = {item.kind for seed in range(8)
             for item in sample_lookalikes(anatomy, np.random.default_rng(seed), cfg, acfg, np.random.default_rng(50 + seed))}
    assert kinds and all(kind.startswith(prefixes) for kind in kinds), kinds
