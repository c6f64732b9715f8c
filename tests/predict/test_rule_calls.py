"""What the reading rules share (scintiseg.predict.rule_calls): which calls are judged, and how the ratio decides."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from scintiseg.predict.pipeline import PredictSettings, predict_from_probabilities
from scintiseg.predict.regions import REGION_IDS, SkeletonRegions
from scintiseg.predict.rule_calls import calls_left_out, component_count
from scintiseg.report.outputs import write_outputs

PELVIS, FEMUR = REGION_IDS["pelvis"], REGION_IDS["femur_left"]


def _view():
    """Three calls: two on the pelvis (top left, top right), one on a femur (bottom)."""
    labels = np.zeros((60, 60), np.int16)
    labels[:30] = PELVIS
    labels[30:] = FEMUR
    mask = np.zeros((60, 60), bool)
    mask[5:10, 5:10] = mask[5:10, 40:45] = mask[45:50, 20:25] = True
    counts = np.full((60, 60), 10.0)
    regions = SkeletonRegions("ANT", labels, labels > 0, np.ones_like(mask), 0, 59, 30.0)
    return counts, mask, regions


def test_only_judged_regions_are_asked_and_a_ratio_below_the_cut_leaves_the_call_out():
    counts, mask, regions = _view()
    asked = []

    def ratio(smooth, call, region):
        asked.append(region)
        assert smooth.shape == counts.shape and call.sum() == 25
        col = np.nonzero(call)[1][0]
        return {5: 0.9, 40: float("nan")}[col]  # the left call below the cut; the right one not judgeable

    out = calls_left_out(counts, mask, regions, {PELVIS}, ratio, 1.0)
    assert asked == [PELVIS, PELVIS]  # the femur's call was not asked about
    assert out[5:10, 5:10].all() and out.sum() == 25  # NaN keeps the call
    assert component_count(out) == 1 and component_count(mask) == 3 and component_count(out & ~out) == 0


def test_a_crop_is_not_judged():
    counts, mask, regions = _view()
    assert not calls_left_out(counts, mask, replace(regions, named=False), {PELVIS, FEMUR},
                              lambda smooth, call, region: 0.0, 1.0).any()


@pytest.mark.parametrize("rule, blobs, count, flag, page", [
    # A blob on NM1's plain lower thoracic spine is left out; one on its lumbar focus (1.4 times the quieter side) stays.
    ("spine_pattern", [(310, 141, 4), (364, 150, 4)], "spine_pattern_calls", "spine_pattern_ANT",
     "normal segmental pattern"),
    # A blob on NM1's left scapula, whose mirror spot is hotter, is left out; one on its left knee focus (3.6 times
    # its mirror spot) stays.
    ("symmetry", [(223, 156, 4), (624, 155, 4)], "symmetric_calls", "symmetric_ANT", "symmetric pattern"),
])
def test_the_pipeline_leaves_the_rules_calls_out_and_says_so(nm1_scan, make_blobs, tmp_path, rule, blobs, count, flag,
                                                              page):
    """Blobs in the map, not in NM1's counts: the first of each pair is what the rule reads as normal; with the
    rule off both stay."""
    probability = make_blobs(nm1_scan.shape, blobs)
    kept = predict_from_probabilities(nm1_scan, {"ANT": probability}, settings=PredictSettings(0.5, 4))
    everything = predict_from_probabilities(nm1_scan, {"ANT": probability},
                                            settings=PredictSettings(0.5, 4, **{rule: False}))
    assert [round(lesion.centroid_row) for lesion in everything.lesions] == [row for row, _, _ in blobs]
    assert [round(lesion.centroid_row) for lesion in kept.lesions] == [blobs[1][0]]
    assert getattr(kept.views["ANT"], count) == 1 and getattr(everything.views["ANT"], count) == 0
    assert flag in kept.qc_flags and flag not in everything.qc_flags
    write_outputs(kept, tmp_path, dicom=False)
    assert json.loads((tmp_path / "report.json").read_text())["views"]["ANT"][count] == 1
    assert page in (tmp_path / "report.html").read_text()
