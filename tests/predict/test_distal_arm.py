"""scintiseg.predict.distal_arm: calls at an elbow, forearm or hand left out for review (marked when the rule is off)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np

from support import blob_settings
from scintiseg.predict.distal_arm import BESIDE_DISTAL_ARM, distal_arm_calls
from scintiseg.predict.pipeline import predict_from_probabilities
from scintiseg.predict.regions import REGION_IDS, SkeletonRegions
from scintiseg.report.outputs import write_outputs

#: NM1's left wrist focus (image right), its left humeral head and its lumbar focus (rows, cols, radius).
BLOBS = [(476, 233, 4), (257, 222, 4), (363, 150, 5)]


def test_a_call_touching_the_surroundings_is_left_out_whole_when_named_an_arms_bone_or_none():
    rows, cols = np.mgrid[:60, :60]
    near = cols >= 40  # a forearm's surroundings
    labels = np.zeros((60, 60), np.int16)
    labels[:, 30:] = REGION_IDS["humerus_left"]
    labels[40:, :20] = REGION_IDS["pelvis"]
    regions = SkeletonRegions("ANT", labels, labels > 0, np.ones(labels.shape, bool), 0, 59, 30.0)
    unnamed_bones = replace(regions, labels=np.zeros_like(labels))
    reaching = ((rows - 20) ** 2 + (cols - 36) ** 2 <= 25)  # on the humerus, reaching into the surroundings
    apart = ((rows - 20) ** 2 + (cols - 10) ** 2 <= 25)  # soft tissue, away from them
    dropped = distal_arm_calls(reaching | apart, near, regions)
    assert (dropped == reaching).all()  # the whole call, not only its pixels near the forearm
    assert (distal_arm_calls(reaching, near, unnamed_bones) == reaching).all()  # named no bone: left out
    pelvic = ((rows - 50) ** 2 + (cols - 17) ** 2 <= 16) | ((rows == 50) & (cols >= 17) & (cols <= 41))
    assert not distal_arm_calls(pelvic, near, regions).any()  # mostly on the pelvis: a lesion beside a hand stays
    assert not distal_arm_calls(reaching | apart, None, regions).any()  # no forearm or hand named: nothing left out
    assert not distal_arm_calls(np.zeros_like(near), near, regions).any()


def test_a_call_at_a_hand_is_left_out_for_review_one_on_the_humeral_head_is_not(nm1_scan, make_blobs, tmp_path):
    """NM1's left hand (its wrist focus) is left out as the injection arm's; the humeral head and the lumbar focus
    (a stray 'hand' label of a few pixels beside the pelvis does not count) stay lesions."""
    probability = make_blobs(nm1_scan.shape, BLOBS)
    prediction = predict_from_probabilities(nm1_scan, {"ANT": probability},
                                            settings=blob_settings(0.5, 4, distal_arm=True))
    assert sorted(round(lesion.centroid_row) for lesion in prediction.lesions) == [257, 363]
    assert all(lesion.beside is None for lesion in prediction.lesions)
    (call,) = prediction.views["ANT"].left_out
    assert call.rule == "distal_arm" and round(call.measurement.centroid_row) == 476
    assert prediction.views["ANT"].distal_arm_calls == 1
    assert "distal_arm_ANT" in prediction.qc_flags and "lesion_at_forearm_or_hand_ANT" not in prediction.qc_flags
    write_outputs(prediction, tmp_path, dicom=False)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["views"]["ANT"]["distal_arm_calls"] == 1 and report["left_out_calls"][0]["rule"] == "distal_arm"
    assert "restore it if it is an acral metastasis" in (tmp_path / "report.html").read_text()


def test_with_the_rule_off_a_lesion_at_a_hand_is_marked_one_on_the_humeral_head_is_not(nm1_scan, make_blobs, tmp_path):
    """The rule off: NM1's left hand and its left humeral head are lesions, only the first marked ``forearm_or_hand``
    (an injection site or a joint more often than a metastasis); a stray 'hand' label of a few pixels beside the
    pelvis marks nothing (the lumbar focus stays unmarked)."""
    probability = make_blobs(nm1_scan.shape, BLOBS)
    prediction = predict_from_probabilities(nm1_scan, {"ANT": probability},
                                            settings=blob_settings(0.5, 4))
    by_row = {round(lesion.centroid_row): lesion for lesion in prediction.lesions}
    assert by_row[476].beside == BESIDE_DISTAL_ARM
    assert by_row[257].beside is None and by_row[363].beside is None
    assert "lesion_at_forearm_or_hand_ANT" in prediction.qc_flags
    write_outputs(prediction, tmp_path, dicom=False)
    assert "lesion_at_forearm_or_hand_ANT" in (tmp_path / "report.html").read_text()
    assert not prediction.views["ANT"].left_out


def test_a_stray_piece_of_hand_names_no_surroundings_a_forearm_does():
    """Pieces of forearm or hand under MIN_PIECE_MM2 (a stray label beside the trunk) give no surroundings."""
    from scintiseg.predict.distal_arm import MIN_PIECE_MM2, distal_arm_surroundings

    labels = np.zeros((100, 60), np.int16)
    labels[50:56, 10:17] = REGION_IDS["hand_right"]  # 42 px of 5.1 mm^2: 215 mm^2
    regions = SkeletonRegions("ANT", labels, labels > 0, np.ones(labels.shape, bool), 0, 99, 30.0)
    assert 42 * 2.26**2 < MIN_PIECE_MM2 and distal_arm_surroundings(regions, (2.26, 2.26)) is None
    labels[10:40, 40:50] = REGION_IDS["forearm_left"]
    near = distal_arm_surroundings(regions, (2.26, 2.26))
    assert near[25, 45] and near[25, 35] and not near[53, 13]
