"""``LesionConfig.site_boost`` and the ``randomised-sites`` training profile (phantom/lesions.py, config.py)."""

from __future__ import annotations

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.phantom import profile
from scintiseg.phantom.config import HARD_SITE_BOOST, LesionConfig
from scintiseg.phantom.lesions import SITE_WEIGHTS, site_probabilities


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
