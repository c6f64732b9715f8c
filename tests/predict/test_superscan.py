"""The superscan pattern: the axial skeleton much brighter than the lower legs (scintiseg.predict.superscan)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from scintiseg.phantom import generate_patient, profile
from scintiseg.predict.pipeline import PredictSettings, predict_from_probabilities
from scintiseg.predict.regions import REGION_IDS, SkeletonRegions
from scintiseg.predict.superscan import (
    AXIAL_TO_DISTAL_CUT,
    SUPERSCAN_FLAG,
    axial_to_distal,
    deciding_view,
    superscan_pattern,
)

SPACING = (2.26, 2.26)


def _view(axial: float, legs: float, leg_rows: int = 200, named: bool = True):
    """A 900 x 200 view: a spine and pelvis (``axial`` counts), two lower legs ``leg_rows`` tall (``legs`` counts),
    soft tissue 3."""
    labels = np.zeros((900, 200), np.int16)
    labels[100:300, 90:110] = REGION_IDS["thoracic_spine"]
    labels[300:400, 90:110] = REGION_IDS["lumbar_spine"]
    labels[400:480, 40:160] = REGION_IDS["pelvis"]
    labels[880 - leg_rows:880, 70:82] = REGION_IDS["tibia_fibula_right"]
    labels[880 - leg_rows:880, 118:130] = REGION_IDS["tibia_fibula_left"]
    counts = np.full(labels.shape, 3.0)
    counts[np.isin(labels, [REGION_IDS[n] for n in ("thoracic_spine", "lumbar_spine", "pelvis")])] = axial
    counts[np.isin(labels, [REGION_IDS["tibia_fibula_left"], REGION_IDS["tibia_fibula_right"]])] = legs
    regions = SkeletonRegions("POST", labels, labels > 0, np.ones(labels.shape, bool), 0, 899, 100.0, named=named)
    return counts, regions


def test_the_ratio_is_the_axial_bones_median_over_the_lower_legs():
    counts, regions = _view(40.0, 20.0)
    assert axial_to_distal(counts, regions, SPACING) == pytest.approx(2.0, rel=0.02)
    # Medians: hot lesions on a few axial pixels and a hot knee do not move it.
    counts[150:160, 95:105] = 400.0
    counts[680:690, 70:82] = 200.0
    assert axial_to_distal(counts, regions, SPACING) == pytest.approx(2.0, rel=0.02)
    counts, regions = _view(40.0, 40.0)
    assert axial_to_distal(counts, regions, SPACING) == pytest.approx(1.0, rel=0.02)


def test_a_view_without_named_bones_or_lower_legs_has_no_ratio():
    assert np.isnan(axial_to_distal(*_view(40.0, 20.0, named=False), SPACING))  # a crop
    assert np.isnan(axial_to_distal(*_view(40.0, 20.0, leg_rows=0), SPACING))  # cut above the knees
    assert np.isnan(axial_to_distal(*_view(40.0, 20.0, leg_rows=5), SPACING))  # 120 px: 613 mm^2 of lower leg
    assert np.isfinite(axial_to_distal(*_view(40.0, 20.0, leg_rows=40), SPACING))
    assert np.isnan(axial_to_distal(*_view(40.0, 0.0), SPACING))  # legs of no counts


def test_post_decides_then_ant_then_a_view_of_unknown_side_at_the_higher_cut():
    post, ant = AXIAL_TO_DISTAL_CUT["POST"], AXIAL_TO_DISTAL_CUT["ANT"]
    assert ant < post
    assert superscan_pattern({"ANT": 1.1, "POST": post})
    assert not superscan_pattern({"ANT": 3.0, "POST": post - 0.01})  # POST measured: ANT does not overrule it
    assert deciding_view({"ANT": 3.0, "POST": float("nan")}) == "ANT"
    assert superscan_pattern({"ANT": ant, "POST": float("nan")})
    assert not superscan_pattern({"ANT": ant - 0.01})
    assert not superscan_pattern({"VIEW": ant + 0.01}) and superscan_pattern({"VIEW": post})
    assert not superscan_pattern({}) and not superscan_pattern({"ANT": float("nan"), "POST": float("nan")})


def _patient(seed: int, **lesions):
    config = profile("default")
    return generate_patient(seed, replace(config, lesions=replace(config.lesions, **lesions)))


def _prediction(scan):
    zero = {view: np.zeros(scan.shape, np.float32) for view in scan.view_names}
    return predict_from_probabilities(scan, zero)


def test_a_phantom_superscan_is_flagged_grade_4_and_a_normal_scan_is_not():
    superscan = _patient(1, p_normal=0.0, soloway={4: 1.0})
    assert superscan.meta["superscan"]
    prediction = _prediction(superscan.scan)
    assert prediction.views["POST"].axial_to_distal >= AXIAL_TO_DISTAL_CUT["POST"]
    assert prediction.superscan_pattern and SUPERSCAN_FLAG in prediction.qc_flags
    assert not prediction.lesions  # no lesion outlined: the pattern is read from the counts alone

    normal = _prediction(_patient(1, p_normal=1.0).scan)
    assert 1.0 < normal.views["POST"].axial_to_distal < AXIAL_TO_DISTAL_CUT["POST"]
    assert not normal.superscan_pattern and SUPERSCAN_FLAG not in normal.qc_flags
    # ANT alone is read at its own cut: the same superscan's ANT stands below it, so an ANT-only scan is not flagged.
    ant_only = _prediction(superscan.scan.with_views({"ANT": superscan.scan.view("ANT")}))
    assert ant_only.views["ANT"].axial_to_distal < AXIAL_TO_DISTAL_CUT["ANT"] and not ant_only.superscan_pattern


def test_nm1_a_real_normal_scan_is_not_flagged(nm1_scan):
    prediction = _prediction(nm1_scan)
    ratio = prediction.views["ANT"].axial_to_distal
    assert 1.0 < ratio < AXIAL_TO_DISTAL_CUT["ANT"]
    assert not prediction.superscan_pattern


def test_the_atlas_s_boxes_are_not_read(nm1_scan):
    # The atlas's boxes hold soft tissue beside the bones (NM1 would read 6.9): no ratio, no flag.
    zero = {"ANT": np.zeros(nm1_scan.shape, np.float32)}
    prediction = predict_from_probabilities(nm1_scan, zero, settings=PredictSettings(regions="atlas"))
    assert np.isnan(prediction.views["ANT"].axial_to_distal) and not prediction.superscan_pattern


def test_a_view_with_too_little_axial_bone_has_no_ratio():
    counts, regions = _view(40.0, 20.0)
    labels = np.asarray(regions.labels).copy()
    axial = np.isin(labels, [REGION_IDS[n] for n in ("thoracic_spine", "lumbar_spine", "pelvis")])
    labels[axial & (np.arange(900)[:, None] < 474)] = 0  # 720 px of pelvis left: 3,677 mm^2
    assert np.isnan(axial_to_distal(counts, replace(regions, labels=labels), SPACING))
    labels[axial & (np.arange(900)[:, None] >= 460)] = REGION_IDS["pelvis"]  # 2,400 px
    assert axial_to_distal(counts, replace(regions, labels=labels), SPACING) == pytest.approx(2.0, rel=0.02)
