"""What the reading rules share (scintiseg.predict.rule_calls): which calls are judged, and how the ratio decides."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage as ndi

from scintiseg.io.labelme import read_labelme
from scintiseg.io.predicted_labels import LEFT_OUT_LABEL, pseudo_label_doubt, unedited_prediction
from scintiseg.predict.pipeline import PredictSettings, left_out_calls, predict_from_probabilities
from scintiseg.predict.regions import REGION_IDS, SkeletonRegions
from scintiseg.predict.rule_calls import calls_left_out
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
    eight = np.ones((3, 3))
    assert ndi.label(out, structure=eight)[1] == 1 and ndi.label(mask, structure=eight)[1] == 3  # one call of three


def test_a_crop_is_not_judged():
    counts, mask, regions = _view()
    assert not calls_left_out(counts, mask, replace(regions, named=False), {PELVIS, FEMUR},
                              lambda smooth, call, region: 0.0, 1.0).any()


def test_left_out_calls_are_measured_against_the_views_reference_and_numbered_rule_by_rule():
    counts, mask, regions = _view()
    counts[5:10, 40:45] = 30.0
    first, second = np.zeros_like(mask), np.zeros_like(mask)
    first[5:10, 40:45] = True  # a pelvic call, hot
    second[45:50, 20:25] = second[5:10, 5:10] = True  # a femoral and a pelvic call
    probability = np.where(mask, 0.8, 0.0)
    calls = left_out_calls({"spine_pattern": first, "symmetric": second}, counts, probability, regions, (2.0, 2.0),
                           "POST", np.ones_like(mask), reference=5.0, first_id=4)
    assert [(call.rule, call.id) for call in calls] == [("spine_pattern", 4), ("symmetric", 5), ("symmetric", 6)]
    assert [call.measurement.region for call in calls] == ["pelvis", "pelvis", "femur_left"]
    assert [call.measurement.lesion_to_normal_bone for call in calls] == [6.0, 2.0, 2.0]  # against the given 5
    assert all(call.measurement.view == "POST" and call.measurement.area_mm2 == 100.0 for call in calls)
    assert (calls[0].contour.to_mask(mask.shape) == first).all()
    record = calls[0].to_dict()
    assert record["rule"] == "spine_pattern" and record["id"] == 4 and "beside" not in record and record["contour"]
    assert left_out_calls({"symmetric": np.zeros_like(mask)}, counts, probability, regions, (2.0, 2.0), "ANT",
                          np.ones_like(mask), reference=5.0) == []


@pytest.mark.parametrize("rule, name, blobs, count, flag, page", [
    # A blob on NM1's plain lower thoracic spine is left out; one on its lumbar focus (1.4 times the quieter side) stays.
    ("spine_pattern", "spine_pattern", [(310, 141, 4), (364, 150, 4)], "spine_pattern_calls", "spine_pattern_ANT",
     "normal segmental pattern"),
    # A blob on NM1's left scapula, whose mirror spot is hotter, is left out; one on its left knee focus (3.6 times
    # its mirror spot) stays.
    ("symmetry", "symmetric", [(223, 156, 4), (624, 155, 4)], "symmetric_calls", "symmetric_ANT", "symmetric pattern"),
])
def test_the_pipeline_leaves_the_rules_calls_out_and_says_so(nm1_scan, make_blobs, tmp_path, rule, name, blobs, count,
                                                              flag, page):
    """Blobs in the map, not in NM1's counts: the first of each pair is what the rule reads as normal; with the
    rule off both stay. The call left out is kept apart for the reader: outlined, measured, listed, restorable."""
    probability = make_blobs(nm1_scan.shape, blobs)
    kept = predict_from_probabilities(nm1_scan, {"ANT": probability}, settings=PredictSettings(0.5, 4))
    everything = predict_from_probabilities(nm1_scan, {"ANT": probability},
                                            settings=PredictSettings(0.5, 4, **{rule: False}))
    assert [round(lesion.centroid_row) for lesion in everything.lesions] == [row for row, _, _ in blobs]
    assert [round(lesion.centroid_row) for lesion in kept.lesions] == [blobs[1][0]]
    assert getattr(kept.views["ANT"], count) == 1 and getattr(everything.views["ANT"], count) == 0
    assert flag in kept.qc_flags and flag not in everything.qc_flags
    # Kept apart: the very call the rule-free run outlined first, counted in no lesion list and no BSI.
    (call,) = kept.views["ANT"].left_out
    assert call.rule == name and call.id == 1 and everything.views["ANT"].left_out == []
    assert (call.contour.to_mask(nm1_scan.shape) == (everything.views["ANT"].labels == 1)).all()
    assert call.measurement.region == everything.lesions[0].region
    assert kept.bsi_percent < everything.bsi_percent
    write_outputs(kept, tmp_path, dicom=False)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["views"]["ANT"][count] == 1 and len(report["lesions"]) == 1
    (record,) = report["left_out_calls"]
    assert record["rule"] == name and record["view"] == "ANT" and record["id"] == 1 and record["contour"]
    html = (tmp_path / "report.html").read_text()
    assert page in html and 'id="show-left-out"' in html and 'id="left-out-1"' in html
    assert html.count('class="left-out-outline"') == 1 and ">x1</text>" in html
    # LabelMe: the call as a left_out shape beside the lesion; the file is still the unedited prediction, and a reader
    # who relabels the call lesion has edited it (the import then takes it as a label).
    labelme = tmp_path / "ANT.labelme.json"
    annotation = read_labelme(labelme)
    assert sorted(shape.label for shape in annotation.shapes) == [LEFT_OUT_LABEL, "lesion"]
    assert unedited_prediction(labelme, annotation) == "ANT_mask.png"
    assert "left out the network's call x1" in pseudo_label_doubt(labelme, annotation, 0.5)
    restored = replace(annotation, shapes=[replace(shape, label="lesion") for shape in annotation.shapes])
    assert unedited_prediction(labelme, restored) == ""


def test_a_call_whose_ratio_equals_the_cut_stays_a_lesion():
    """Only a ratio *below* the cut leaves a call out."""
    from scintiseg.predict.rule_calls import calls_left_out

    labels = np.full((20, 20), REGION_IDS["thoracic_spine"], np.int16)
    regions = SkeletonRegions("POST", labels, labels > 0, np.ones(labels.shape, bool), 0, 19, 10.0)
    mask = np.zeros((20, 20), bool)
    mask[5:9, 5:9] = True
    judged = {REGION_IDS["thoracic_spine"]}
    counts = np.ones((20, 20))
    assert not calls_left_out(counts, mask, regions, judged, lambda smooth, call, region: 1.5, 1.5).any()
    assert (calls_left_out(counts, mask, regions, judged, lambda smooth, call, region: 1.49, 1.5) == mask).all()
