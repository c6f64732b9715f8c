"""The triage score's pixels: the calls the reading rules left out set aside (scintiseg.predict.triage)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scintiseg.predict.bladder import bladder_mask
from scintiseg.predict.pipeline import predict_from_probabilities
from scintiseg.predict.triage import BASIN_PROBABILITY, largest_probability, set_aside
from scintiseg.report.outputs import write_outputs
from support import blob_settings


def _map(shape=(200, 100)):
    probability = np.zeros(shape, np.float32)
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    return probability, rows, cols


def test_a_left_out_call_is_set_aside_with_its_rim_and_nothing_else():
    probability, rows, cols = _map()
    disc = lambda r, c, radius: (rows - r) ** 2 + (cols - c) ** 2 <= radius**2  # noqa: E731
    probability[disc(50, 50, 8)] = 0.3  # the rim under the threshold...
    probability[disc(50, 50, 4)] = 0.95  # ...around a call a reading rule left out
    probability[disc(150, 50, 4)] = 0.2  # a separate response, under the threshold: not the call's
    call = disc(50, 50, 4)
    aside = set_aside(probability, call)
    assert aside[disc(50, 50, 8)].all() and not aside[disc(150, 50, 4)].any()
    assert largest_probability(probability, np.ones_like(call)) == pytest.approx(0.95)
    assert largest_probability(probability, np.ones_like(call), aside) == pytest.approx(0.2)
    # The call's pixels alone would leave its rim to carry its rank.
    assert largest_probability(probability, np.ones_like(call), call) == pytest.approx(0.3)
    assert not set_aside(probability, np.zeros_like(call)).any()


def test_a_kept_lesion_is_never_set_aside_and_a_wide_response_only_near_the_call():
    probability, rows, cols = _map()
    probability[:] = BASIN_PROBABILITY  # a network unsure everywhere: one component over the whole view
    call = (rows - 50) ** 2 + (cols - 50) ** 2 <= 16
    kept = (rows - 80) ** 2 + (cols - 50) ** 2 <= 16  # 30 px (68 mm) away, joined to the call by the response
    probability[call], probability[kept] = 0.95, 0.7
    aside = set_aside(probability, call, kept, pixel_mm=2.26)
    assert not aside[kept].any() and not aside[150:].any()  # within 10 mm of the call only
    assert aside[call].all() and aside[50, 58] and not aside[50, 60]  # 4 px = 9 mm beyond its edge, not 6 px
    assert largest_probability(probability, np.ones_like(call), aside) == pytest.approx(0.7)


def test_the_urine_does_not_set_the_triage_score(nm1_scan, nm1_regions, tmp_path):
    """NM1 with a surer call over its bladder (left out as the urine) than on a vertebra: the scan is ranked by
    the vertebra's, and report.json gives both numbers."""
    spot = bladder_mask(nm1_scan.view("ANT"), nm1_regions, nm1_scan.pixel_spacing)
    row, col = (int(round(v)) for v in np.argwhere(spot).mean(axis=0))
    probability = np.zeros(nm1_scan.shape, np.float32)  # nothing but the two calls below
    rows, cols = np.ogrid[: nm1_scan.shape[0], : nm1_scan.shape[1]]
    probability[(rows - row) ** 2 + (cols - col) ** 2 <= 100] = 0.97
    probability[(rows - 250) ** 2 + (cols - 128) ** 2 <= 16] = 0.8
    prediction = predict_from_probabilities(nm1_scan, {"ANT": probability}, settings=blob_settings(0.5, 4))
    view = prediction.views["ANT"]
    assert [call.rule for call in view.left_out] == ["bladder"] and len(view.lesions) == 1
    assert view.max_probability == pytest.approx(0.97)
    assert view.triage_score == prediction.triage_score == pytest.approx(0.8)
    write_outputs(prediction, tmp_path, dicom=False)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["views"]["ANT"]["max_probability"] == pytest.approx(0.97)
    assert report["views"]["ANT"]["triage_score"] == report["summary"]["triage_score"] == pytest.approx(0.8)
    assert "set aside" in report["definitions"]["triage_score"]


def test_a_kept_lesion_inside_a_left_out_calls_basin_keeps_its_probability():
    probability, rows, cols = _map()
    probability[40:61, 40:66] = 0.3  # one response joining the two calls below, within the reach
    call = (rows - 50) ** 2 + (cols - 50) ** 2 <= 9
    kept = (rows - 50) ** 2 + (cols - 57) ** 2 <= 4  # 2 px from the call's edge: a separate lesion
    probability[call], probability[kept] = 0.95, 0.7
    aside = set_aside(probability, call, kept)
    assert aside[call].all() and aside[50, 54] and not aside[kept].any()
    assert largest_probability(probability, np.ones_like(call), aside) == pytest.approx(0.7)


def test_a_separate_response_within_the_reach_but_not_joined_to_the_call_is_not_set_aside():
    probability, rows, cols = _map()
    call = (rows - 50) ** 2 + (cols - 50) ** 2 <= 9  # columns 47-53
    probability[call] = 0.95
    probability[49:52, 55:58] = 0.4  # 2-4 px beyond the call's edge, a gap of probability 0 between
    aside = set_aside(probability, call)
    assert aside[call].all() and not aside[49:52, 55:58].any()
    assert largest_probability(probability, np.ones_like(call), aside) == pytest.approx(0.4)
