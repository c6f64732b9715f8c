"""One name for a lesion seen in both views (scintiseg.predict.pair_names)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from support import blob_settings
from scintiseg.phantom import generate_patient, profile
from scintiseg.predict.measurements import LesionMeasurement
from scintiseg.predict.pair_names import depth_named, one_name_per_pair
from scintiseg.predict.pairing import LesionPair
from scintiseg.predict.pipeline import analyse_counts, predict_from_probabilities
from scintiseg.predict.regions import REGION_IDS
from scintiseg.prepare.views import align_mask


def _record(lesion_id: int, view: str, region: str, peak: float) -> LesionMeasurement:
    return LesionMeasurement(lesion_id, view, region, "left", 20, 100.0, 10 * peak, peak, peak / 2, 2.0, 0.8, 0.9,
                             100.0, 100.0, (95, 95, 105, 105), 11.0, 0.3, 0.01)


@pytest.mark.parametrize(("ant", "post", "ant_peak", "post_peak", "expected"), [
    ("sternum", "thoracic_spine", 111.0, 259.0, "thoracic_spine"),  # a vertebra, brighter from behind
    ("sternum", "thoracic_spine", 300.0, 80.0, "sternum"),  # the sternum, brighter from the front
    ("clavicle_left", "scapula_left", 50.0, 90.0, "scapula_left"),
    ("ribs_right", "scapula_right", 127.0, 214.0, None),  # both at the back: the counts do not tell them
    ("sternum", "sternum", 100.0, 50.0, None),  # agree
    ("pelvis", "sacrum", 100.0, 50.0, None),  # the pelvis is no nearer to either view
    ("sternum", "pelvis", 100.0, 50.0, None),  # nor on POST
    ("clavicle_left", "ribs_left", 50.0, 90.0, None),  # the ribs have no nearer view (bsi.NEARER_VIEW): no depth to decide by
    ("clavicle_left", "scapula_right", 50.0, 90.0, None),  # sides differ: not one bone misnamed by depth
    ("sternum", "thoracic_spine", 90.0, 90.0, None),  # a tie
])
def test_the_view_that_sees_the_lesion_brighter_names_a_front_and_back_pair(ant, post, ant_peak, post_peak, expected):
    assert depth_named(ant, post, ant_peak, post_peak) == expected


def test_only_paired_records_the_rule_decides_are_renamed_and_nothing_else_changes():
    ant = [_record(1, "ANT", "sternum", 111.0), _record(2, "ANT", "ribs_right", 127.0), _record(3, "ANT", "sternum", 90.0)]
    post = [_record(4, "POST", "thoracic_spine", 259.0), _record(5, "POST", "scapula_right", 214.0)]
    pairs = [LesionPair(1, 4, 0.8, 3.0), LesionPair(2, 5, 0.9, 2.0)]
    new_ant, new_post, renamed = one_name_per_pair(pairs, ant, post)
    assert renamed == {1}  # the ANT record took POST's name
    assert one_name_per_pair([LesionPair(3, 4, 0.8, 3.0)], [_record(3, "ANT", "sternum", 300.0)], post)[2] == {4}
    assert [lesion.region for lesion in new_ant] == ["thoracic_spine", "ribs_right", "sternum"]  # 3 is unpaired
    assert [lesion.region for lesion in new_post] == ["thoracic_spine", "scapula_right"]
    assert new_ant[0] == replace(ant[0], region="thoracic_spine") and new_ant[1:] == ant[1:] and new_post[1] == post[1]


def test_the_pipeline_gives_a_pair_over_the_sternum_and_the_spine_one_name():
    """A phantom patient, a lesion-probability blob where ANT's learned map names sternum and POST's, at the same
    spot of the body, thoracic spine: both records carry the name of the view whose counts are higher there."""
    patient = generate_patient(910000, profile("default"))
    scan = patient.scan
    settings = blob_settings(regions="learned")
    analysis = analyse_counts(scan, ["ANT", "POST"], settings.region_network())
    ant_map, post_map = (np.asarray(analysis.regions[view].labels) for view in ("ANT", "POST"))
    post_on_ant = align_mask(post_map == REGION_IDS["thoracic_spine"], analysis.shift)
    spot = (ant_map == REGION_IDS["sternum"]) & post_on_ant
    spot &= np.roll(spot, 4, 0) & np.roll(spot, -4, 0) & np.roll(spot, 4, 1) & np.roll(spot, -4, 1)  # well inside
    assert spot.any()
    row, col = (int(v) for v in np.argwhere(spot)[len(np.argwhere(spot)) // 2])
    # The same spot on POST as acquired: shifted back and mirrored (prepare.views: POST is mirrored, then shifted).
    post_row, post_col = row - int(analysis.shift[0]), scan.shape[1] - 1 - (col - int(analysis.shift[1]))
    rows, cols = np.ogrid[: scan.shape[0], : scan.shape[1]]
    probability = {
        "ANT": np.where((rows - row) ** 2 + (cols - col) ** 2 <= 9, 0.9, 0.1).astype(np.float32),
        "POST": np.where((rows - post_row) ** 2 + (cols - post_col) ** 2 <= 9, 0.9, 0.1).astype(np.float32),
    }
    prediction = predict_from_probabilities(scan, probability, settings=settings, analysis=analysis)
    assert len(prediction.pairs) == 1
    ant = prediction.views["ANT"].lesions[0]
    post = prediction.views["POST"].lesions[0]
    assert ant.region == post.region == ("sternum" if ant.counts_max > post.counts_max else "thoracic_spine")
    alone = {view: predict_from_probabilities(scan, {view: probability[view]}, settings=settings).views[view]
             for view in ("ANT", "POST")}
    assert alone["ANT"].lesions[0].region == "sternum"  # ANT alone keeps its own map's name
    # The lesion counts once, in its bone, from the view that names it: the other view's BSI no longer holds it.
    loser, winner = ("ANT", "POST") if ant.region == "thoracic_spine" else ("POST", "ANT")
    lost = prediction.views[loser]
    assert lost.lesions[0].bsi_contribution_percent == 0 and lost.bsi["bsi_percent"] == 0
    assert alone[loser].bsi["bsi_percent"] > 0 and alone[loser].lesions[0].bsi_contribution_percent > 0
    assert prediction.views[winner].bsi == alone[winner].bsi
    assert prediction.views[winner].lesions[0].bsi_contribution_percent == alone[winner].lesions[0].bsi_contribution_percent


def test_on_a_scan_of_one_view_a_sternal_lesion_may_lie_in_the_spine_behind_it():
    from scintiseg.predict.pair_names import one_view_alternative

    assert one_view_alternative("ANT", "sternum", ["ANT"]) == "thoracic_spine"
    assert one_view_alternative("ANT", "sternum", ["ANT", "POST"]) is None  # the pair decides (depth_named)
    assert one_view_alternative("ANT", "thoracic_spine", ["ANT"]) is None
    assert one_view_alternative("POST", "thoracic_spine", ["POST"]) is None  # the sternum is seldom seen through it


def test_the_brighter_view_is_the_one_of_the_higher_peak_not_the_higher_mean():
    ant = [replace(_record(1, "ANT", "sternum", 300.0), counts_mean=50.0)]  # a sharp focus seen from the front
    post = [replace(_record(2, "POST", "thoracic_spine", 200.0), counts_mean=150.0)]
    new_ant, new_post, renamed = one_name_per_pair([LesionPair(1, 2, 0.8, 3.0)], ant, post)
    assert new_ant[0].region == new_post[0].region == "sternum" and renamed == {2}
