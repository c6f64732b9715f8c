"""``LesionConfig.site_boost``, ``extra_sites`` and the ``randomised-sites`` training profile (phantom/lesions.py,
config.py)."""

from __future__ import annotations

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.phantom import profile
from scintiseg.phantom.config import HARD_SITE_BOOST, LesionConfig
from scintiseg.phantom.lesions import SITE_WEIGHTS, Disease, place_lesions, site_probabilities, site_weights


def test_no_boost_keeps_the_clinical_frequencies():
    weights = SITE_WEIGHTS["breast"]
    expected = np.asarray(list(weights.values()), float)
    expected /= expected.sum()  # the draw before site_boost existed: same patients bit for bit
    assert np.array_equal(site_probabilities(weights, {}), expected)


def test_a_boost_multiplies_one_site_before_normalising():
    weights = SITE_WEIGHTS["prostate"]
    plain, boosted = site_probabilities(weights, {}), site_probabilities(weights, {"sternum": 5.0})
    sites = list(weights)
    i = sites.index("sternum")
    assert boosted.sum() == pytest.approx(1.0)
    assert boosted[i] / plain[i] > 4.0
    others = [k for k in range(len(sites)) if k != i]
    assert np.allclose(boosted[others] / plain[others], boosted[others][0] / plain[others][0])  # the rest scale alike


def test_unknown_sites_and_negative_factors_are_errors():
    with pytest.raises(ScintisegError, match="unknown site group"):
        site_probabilities(SITE_WEIGHTS["lung"], {"sternun": 2.0})
    with pytest.raises(ScintisegError, match=">= 0"):
        LesionConfig(site_boost={"sternum": -1.0})


def test_the_training_profile_changes_only_the_site_weights():
    base, sites = profile("randomised"), profile("randomised-sites")
    assert sites.lesions.site_boost == HARD_SITE_BOOST and base.lesions.site_boost == {}
    assert sites.camera == base.camera and sites.anatomy == base.anatomy and sites.lookalikes == base.lookalikes
    assert {k: v for k, v in vars(sites.lesions).items() if k != "site_boost"} == \
        {k: v for k, v in vars(base.lesions).items() if k != "site_boost"}


def test_no_extra_sites_is_the_table_itself():
    for primary, table in SITE_WEIGHTS.items():
        assert site_weights(primary, {}) == table
    assert site_weights("kidney", {}) == SITE_WEIGHTS["other"]


def test_extra_sites_add_lower_legs_after_the_table():
    weights = site_weights("prostate", {"tibia": 0.05, "femur": 0.01})
    assert list(weights)[:len(SITE_WEIGHTS["prostate"])] == list(SITE_WEIGHTS["prostate"])  # old groups keep order
    assert weights["tibia"] == 0.05 and weights["femur"] == pytest.approx(SITE_WEIGHTS["prostate"]["femur"] + 0.01)
    probs = site_probabilities(weights, {})
    assert probs[list(weights).index("tibia")] == pytest.approx(0.05 / 1.06, rel=1e-2)


def test_extra_sites_draw_lesions_on_the_lower_legs(small_anatomy):
    anatomy = small_anatomy(np.random.default_rng(0))
    disease = Disease(3, 20, "prostate", False)
    plain = place_lesions(anatomy, disease, np.random.default_rng(3), LesionConfig())
    legs = place_lesions(anatomy, disease, np.random.default_rng(3), LesionConfig(extra_sites={"tibia": 8.0,
                                                                                             "fibula": 2.0}))
    assert not any(lesion.bone.startswith(("tibia", "fibula")) for lesion in plain)
    on_legs = [lesion for lesion in legs if lesion.bone.startswith(("tibia", "fibula"))]
    assert len(on_legs) >= len(legs) // 2
    assert {lesion.region for lesion in on_legs} <= {"tibia_fibula_left", "tibia_fibula_right"}


def test_extra_sites_are_checked_when_the_configuration_is_made():
    with pytest.raises(ScintisegError, match="lesions.extra_sites: unknown site group.*knee"):
        LesionConfig(extra_sites={"knee": 0.1})
    with pytest.raises(ScintisegError, match="lesions.site_boost: unknown site group"):
        LesionConfig(site_boost={"sternun": 2.0})
    with pytest.raises(ScintisegError, match="0-10"):
        LesionConfig(extra_sites={"tibia": -0.1})
