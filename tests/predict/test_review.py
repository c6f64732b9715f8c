"""A reader's corrected outlines read as the lesions (scintiseg.predict.review): what each lesion's origin is, what
was deleted, and which left-out calls stop being listed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scintiseg.predict.pipeline import PredictSettings, calls_apart_from, predict_from_probabilities
from scintiseg.predict.review import review_line, review_record

#: Blobs on NM1's ANT: the first on its plain lower thoracic spine (the spine rule leaves it out), the second on its
#: lumbar focus (kept; tests/predict/test_rule_calls.py).
BLOBS = [(310, 141, 4), (364, 150, 4)]


def _disc(shape, row, col, radius):
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    return (rows - row) ** 2 + (cols - col) ** 2 <= radius**2


def test_calls_apart_from_keeps_only_the_components_the_mask_does_not_touch():
    calls = np.zeros((20, 20), bool)
    calls[2:5, 2:5] = calls[10:14, 10:14] = True
    mask = np.zeros_like(calls)
    mask[13, 13] = True  # one pixel of the second call
    kept = calls_apart_from(calls, mask)
    assert kept[2:5, 2:5].all() and not kept[10:14, 10:14].any() and kept.sum() == 9
    assert (calls_apart_from(calls, np.zeros_like(mask)) == calls).all()


def test_the_readers_outlines_are_the_lesions_and_each_says_where_it_came_from(nm1_scan, make_blobs):
    probability = make_blobs(nm1_scan.shape, BLOBS)
    settings = PredictSettings(0.5, 4)
    network = predict_from_probabilities(nm1_scan, {"ANT": probability}, settings=settings)
    assert len(network.lesions) == 1 and len(network.views["ANT"].left_out) == 1
    found, left_out = network.views["ANT"].mask, network.views["ANT"].left_out[0].contour.to_mask(nm1_scan.shape)

    # The reader keeps the lumbar lesion as it is, restores the left-out call drawn larger, and draws one the
    # network did not see at all (on the left knee).
    reader = found | _disc(nm1_scan.shape, 310, 141, 7) | _disc(nm1_scan.shape, 624, 155, 5)
    review = predict_from_probabilities(nm1_scan, {"ANT": probability}, settings=settings,
                                        reader_masks={"ANT": reader})
    view = review.views["ANT"]
    assert (view.mask == reader).all() and len(view.lesions) == 3
    assert view.left_out == [] and view.spine_pattern_calls == 0  # the restored call is no longer left out
    assert review.bsi_percent > network.bsi_percent
    record = review_record(review, {"ANT": (found, left_out)}, Path("pred"))
    origins = {round(lesion.centroid_row): record["origin"][str(lesion.id)] for lesion in view.lesions}
    assert origins == {310: "edited", 364: "network", 624: "reader"}
    assert record["views"]["ANT"] == {"network_lesions": 1, "kept": 1, "restored": 0, "edited": 1, "drawn": 1,
                                        "deleted": 0}
    assert review_line(record).startswith("ANT 3 lesions (1 kept, 1 edited, 1 drawn; 0 of the network's 1 deleted)")

    # The reader relabels the left-out call 'lesion' as it stands: restored, not edited.
    restored = predict_from_probabilities(nm1_scan, {"ANT": probability}, settings=settings,
                                          reader_masks={"ANT": found | left_out})
    record = review_record(restored, {"ANT": (found, left_out)}, Path("pred"))
    assert sorted(record["origin"].values()) == ["network", "restored"] and restored.views["ANT"].left_out == []
    assert record["views"]["ANT"]["restored"] == 1 and "1 left-out call restored" in review_line(record)

    # The reader deletes the network's lesion and draws nothing: no lesion, no BSI, one deletion.
    empty = predict_from_probabilities(nm1_scan, {"ANT": probability}, settings=settings,
                                       reader_masks={"ANT": np.zeros_like(reader)})
    assert empty.lesions == [] and empty.bsi_percent == 0.0
    assert len(empty.views["ANT"].left_out) == 1  # the rule's call stays listed for the reader
    record = review_record(empty, {"ANT": (found, left_out)}, Path("pred"))
    assert record["views"]["ANT"] == {"network_lesions": 1, "kept": 0, "restored": 0, "edited": 0, "drawn": 0,
                                        "deleted": 1}
    # The triage score stays the network's: a ranking of what the network saw, whatever the reader drew.
    assert empty.triage_score == network.triage_score
