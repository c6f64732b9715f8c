"""Tests of :mod:`scintiseg.predict.prediction`: what one scan's prediction holds and the scores it derives.

One prediction of blob probability maps on NM1 (ANT with two lesions, POST the mirror moved 3 rows with one of them,
paired) is built once; each test changes a copy of one view (:func:`dataclasses.replace`) to check one property.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from support import blob_settings
from scintiseg.io.predicted_labels import LEFT_OUT_LABEL
from scintiseg.io.reader_labels import reader_lesions
from scintiseg.predict.pipeline import predict_from_probabilities
from scintiseg.predict.prediction import Prediction
from scintiseg.predict.rule_calls import RULE_TEXT, LeftOutCall
from scintiseg.prepare.views import mirror, shift_image
from scintiseg.scan import Scan


@pytest.fixture(scope="module")
def paired(nm1_scan, make_blobs) -> Prediction:
    """ANT: lesions at (300, 80) and (420, 170); POST (ANT mirrored, moved 3 rows) shows only the first."""
    ant = nm1_scan.view("ANT")
    scan = Scan({"ANT": ant, "POST": mirror(shift_image(ant, (3, 0)))}, pixel_spacing=nm1_scan.pixel_spacing)
    prob_ant = make_blobs(scan.shape, [(300, 80, 4), (420, 170, 4)])
    prob_post = make_blobs(scan.shape, [(303, 255 - 80, 4)])
    return predict_from_probabilities(scan, {"ANT": prob_ant, "POST": prob_post}, settings=blob_settings(0.5, 4))


def with_view(prediction: Prediction, name: str, **changes) -> Prediction:
    """``prediction`` with view ``name`` changed (the other views and the scan shared)."""
    return replace(prediction, views={**prediction.views, name: replace(prediction.views[name], **changes)})


def test_lesion_counts_count_a_paired_lesion_once(paired):
    ant, post = paired.views["ANT"], paired.views["POST"]
    assert (len(ant.lesions), len(post.lesions), len(paired.pairs)) == (2, 1, 1)
    assert paired.lesion_count == 2  # the view with most lesions
    assert paired.distinct_lesion_count == 2  # 3 outlines, one lesion seen twice
    assert [lesion.id for lesion in paired.lesions] == [lesion.id for lesion in ant.lesions + post.lesions]
    assert replace(paired, pairs=[]).distinct_lesion_count == 3
    assert replace(paired, views={}).lesion_count == 0


def test_paired_with_names_the_partner_both_ways(paired):
    (pair,) = paired.pairs
    assert paired.paired_with == {pair.ant_id: pair.post_id, pair.post_id: pair.ant_id}
    assert replace(paired, pairs=[]).paired_with == {}


def test_labels_number_the_views_lesions_in_order_and_the_mask_is_where_they_are(paired):
    """Label k of a view is its k-th lesion (ids run over the scan: POST's one lesion is id 3, label 1)."""
    for view in paired.views.values():
        assert set(np.unique(view.labels).tolist()) == {0, *range(1, len(view.lesions) + 1)}
        for k, lesion in enumerate(view.lesions, start=1):
            rows, cols = np.nonzero(view.labels == k)
            assert rows.size == lesion.area_px
            assert (rows.mean(), cols.mean()) == pytest.approx((lesion.centroid_row, lesion.centroid_col), abs=0.01)
        np.testing.assert_array_equal(view.mask, view.labels > 0)
        assert view.probability[view.mask].min() >= 0.5  # outlined only where the threshold was passed


def test_max_probability_counts_only_the_pixels_the_model_covered(paired):
    view = paired.views["ANT"]
    assert view.max_probability == pytest.approx(0.9)
    hot = view.probability.copy()
    hot[10, 10] = 0.99
    coverage = np.ones_like(view.coverage)
    coverage[:20] = False
    assert replace(view, probability=hot, coverage=coverage).max_probability == pytest.approx(0.9)
    assert replace(view, probability=hot).max_probability == pytest.approx(0.99)
    assert replace(view, coverage=np.zeros_like(view.coverage)).max_probability == 0.0


def test_triage_score_sets_aside_what_the_rules_left_out_and_takes_the_largest_view(paired):
    view = paired.views["ANT"]
    hot = view.probability.copy()
    rows, cols = np.ogrid[: hot.shape[0], : hot.shape[1]]
    near = (rows - 300) ** 2 + (cols - 80) ** 2 <= 16
    hot[near] = 0.97
    assert replace(view, probability=hot).triage_score == pytest.approx(0.97)
    set_aside = replace(view, probability=hot, aside=near)
    assert set_aside.max_probability == pytest.approx(0.97) and set_aside.triage_score == pytest.approx(0.9)
    assert with_view(paired, "POST", probability=hot).triage_score == pytest.approx(0.97)
    assert replace(paired, views={}).triage_score == 0.0


def test_the_annotation_holds_each_lesion_then_each_left_out_call(paired):
    view = paired.views["ANT"]
    lesion = view.lesions[1]
    call = LeftOutCall("symmetric", view.contours[1], replace(lesion, id=1))
    annotated = replace(view, left_out=[call]).annotation()
    assert annotated.view == "ANT" and annotated.image_shape == view.labels.shape
    assert [(s.label, s.group_id) for s in annotated.shapes] == [
        ("lesion", view.lesions[0].id), ("lesion", lesion.id), (LEFT_OUT_LABEL, 1)]
    assert annotated.shapes[1].description.startswith(f"lesion {lesion.id}: {lesion.region}")
    assert annotated.shapes[2].description == (f"left out x1: {lesion.region}, {RULE_TEXT['symmetric']}; "
                                               "relabel lesion to restore")
    calls_only = replace(view, left_out=[call], contours=[], lesions=[]).annotation()
    assert not reader_lesions(calls_only).shapes  # a data set reads a left-out call as no lesion


def test_each_rule_counts_its_own_left_out_calls(paired):
    view = paired.views["ANT"]
    call = LeftOutCall("spine_pattern", view.contours[0], view.lesions[0])
    how_many = {"spine_pattern": 1, "symmetric": 2, "bladder": 3, "distal_arm": 0, "off_skeleton": 4}  # all different
    counted = replace(view, left_out=[replace(call, rule=rule) for rule, n in how_many.items() for _ in range(n)])
    assert (counted.spine_pattern_calls, counted.symmetric_calls, counted.bladder_calls, counted.distal_arm_calls,
            counted.off_skeleton_calls) == tuple(how_many.values())


def test_a_view_without_bone_or_body_gives_no_bsi(paired):
    assert paired.bsi_given and paired.views_without_skeleton == []
    regions = paired.views["POST"].regions
    boneless = with_view(paired, "POST", regions=replace(regions, bone=np.zeros_like(regions.bone)))
    assert boneless.views_without_skeleton == ["POST"] and not boneless.bsi_given
    bodiless = with_view(paired, "ANT", regions=replace(paired.views["ANT"].regions, flags=["no_body"]))
    assert bodiless.views_without_skeleton == ["ANT"] and not bodiless.bsi_given
    partial = with_view(paired, "ANT", regions=replace(paired.views["ANT"].regions, named=False))
    assert partial.views_without_skeleton == [] and not partial.bsi_given


def test_superscan_pattern_needs_an_axial_skeleton_far_brighter_than_the_legs(paired):
    unmeasured = {name: float("nan") for name in paired.views}
    assert not replace(paired, views={n: replace(v, axial_to_distal=unmeasured[n])
                                      for n, v in paired.views.items()}).superscan_pattern
    assert replace(paired, views={n: replace(v, axial_to_distal=50.0) for n, v in paired.views.items()}).superscan_pattern
    assert not replace(paired, views={n: replace(v, axial_to_distal=1.0)
                                      for n, v in paired.views.items()}).superscan_pattern
