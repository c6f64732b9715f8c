"""scintiseg.predict.off_skeleton: calls lying off the skeleton, in the soft tissue, left out for review."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage

from support import blob_settings
from scintiseg.predict.off_skeleton import OFF_SKELETON_MM, median_distance_to_bone, off_skeleton_calls
from scintiseg.predict.pipeline import predict_from_probabilities
from scintiseg.predict.regions import REGION_IDS, SkeletonRegions
from scintiseg.report.outputs import write_outputs

SPACING = (2.0, 2.0)


def _thighs() -> tuple[SkeletonRegions, np.ndarray, np.ndarray]:
    """Two femora (columns 40-55 and 145-160, rows 100-300) and a pelvis above them with a 3-px gap."""
    labels = np.zeros((400, 200), np.int16)
    labels[100:300, 40:56] = REGION_IDS["femur_right"]
    labels[100:300, 145:161] = REGION_IDS["femur_left"]
    labels[40:97, 30:171] = REGION_IDS["pelvis"]
    regions = SkeletonRegions("ANT", labels, labels > 0, np.ones(labels.shape, bool), 10, 390, 100.0)
    rows, cols = np.mgrid[:400, :200]
    return regions, rows, cols


def _disc(rows, cols, r, c, radius):
    return (rows - r) ** 2 + (cols - c) ** 2 <= radius**2


def test_median_distance_is_the_whole_views_transform_within_the_margin_and_beyond_it_beyond():
    regions, rows, cols = _thighs()
    whole = ndimage.distance_transform_edt(~regions.bone, sampling=SPACING)
    rng = np.random.default_rng(5)
    within = beyond = 0
    for _ in range(60):
        call = _disc(rows, cols, int(rng.integers(20, 380)), int(rng.integers(10, 190)), int(rng.integers(1, 6)))
        truth = float(np.median(whole[call]))
        median = median_distance_to_bone(call, regions.bone, SPACING, OFF_SKELETON_MM)
        if truth <= OFF_SKELETON_MM:
            assert median == pytest.approx(truth)
            within += 1
        else:
            assert median > OFF_SKELETON_MM
            beyond += 1
    assert within >= 10 and beyond >= 10  # both sides of the margin were tried
    far = _disc(rows, cols, 200, 100, 4)  # between the thighs, 90 mm from either femur
    assert median_distance_to_bone(far, regions.bone, SPACING, OFF_SKELETON_MM) == math.inf  # no bone within the margin
    with pytest.raises(ValueError):
        median_distance_to_bone(np.zeros_like(far), regions.bone, SPACING, OFF_SKELETON_MM)


def test_a_call_in_the_soft_tissue_is_left_out_one_on_or_beside_a_bone_is_not():
    regions, rows, cols = _thighs()
    between = _disc(rows, cols, 200, 100, 5)  # urine on the skin between the thighs
    touching = _disc(rows, cols, 150, 65, 6)  # a spot of urine whose edge reaches 6 mm from the femur, centred 20 mm off
    on_bone = _disc(rows, cols, 250, 48, 5)  # a femoral lesion
    beside = _disc(rows, cols, 200, 164, 5)  # a lesion at the femur's edge, mostly beside it (the camera's blur)
    gap = _disc(rows, cols, 98, 100, 1) | _disc(rows, cols, 98, 101, 1)  # in the map's gap below the pelvis
    calls = between | touching | on_bone | beside | gap
    assert ndimage.label(calls, structure=np.ones((3, 3)))[1] == 5
    assert not (gap & regions.bone).any()  # no pixel on a named bone, yet part of the skeleton
    dropped = off_skeleton_calls(calls, regions, SPACING)
    assert (dropped == (between | touching)).all()
    # The median decides, not the nearest pixel: the touching spot's nearest pixel is within the margin.
    assert median_distance_to_bone(touching, regions.bone, SPACING, 1000.0) > OFF_SKELETON_MM
    assert ndimage.distance_transform_edt(~regions.bone, sampling=SPACING)[touching].min() < OFF_SKELETON_MM
    # The margin decides: at 30 mm the touching spot stays; at 3 mm the lesion beside its femur goes.
    assert (off_skeleton_calls(calls, regions, SPACING, margin_mm=30.0) == between).all()
    assert (off_skeleton_calls(calls, regions, SPACING, margin_mm=3.0) & beside).any()


def test_distances_are_in_mm_not_pixels():
    regions, rows, cols = _thighs()
    call = _disc(rows, cols, 200, 62, 2)  # 7 columns right of the right femur's last column
    assert not off_skeleton_calls(call, regions, (2.0, 1.0)).any()  # 7 mm: on the skeleton
    assert off_skeleton_calls(call, regions, (1.0, 2.0)).any()  # 14 mm: off it


def test_no_call_is_judged_without_named_bones_or_without_calls():
    regions, rows, cols = _thighs()
    between = _disc(rows, cols, 200, 100, 5)
    assert not off_skeleton_calls(between, replace(regions, named=False), SPACING).any()  # a crop
    assert not off_skeleton_calls(np.zeros_like(between), regions, SPACING).any()


def test_the_pipeline_leaves_a_call_in_nm1s_soft_tissue_out_for_review(nm1_scan, nm1_regions, make_blobs, tmp_path):
    """A blob where NM1's body lies farthest from its named bones, and one on its thoracic spine."""
    distance = ndimage.distance_transform_edt(~nm1_regions.bone, sampling=nm1_scan.pixel_spacing)
    distance[~nm1_regions.body] = 0
    row, col = np.unravel_index(int(np.argmax(distance)), distance.shape)
    assert distance[row, col] > 3 * OFF_SKELETON_MM
    probability = make_blobs(nm1_scan.shape, [(row, col, 4), (250, 128, 4)])
    kept = predict_from_probabilities(nm1_scan, {"ANT": probability}, settings=blob_settings(0.5, 4, off_skeleton=True))
    everything = predict_from_probabilities(nm1_scan, {"ANT": probability}, settings=blob_settings(0.5, 4))
    assert len(everything.lesions) == 2 and [round(lesion.centroid_row) for lesion in kept.lesions] == [250]
    (call,) = kept.views["ANT"].left_out
    assert call.rule == "off_skeleton" and kept.views["ANT"].off_skeleton_calls == 1
    assert abs(call.measurement.centroid_row - row) < 2 and abs(call.measurement.centroid_col - col) < 2
    assert "off_skeleton_ANT" in kept.qc_flags and "off_skeleton_ANT" not in everything.qc_flags
    assert kept.bsi_percent == everything.bsi_percent  # a call on no named bone adds no BSI either way
    write_outputs(kept, tmp_path, dicom=False)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["views"]["ANT"]["off_skeleton_calls"] == 1 and report["left_out_calls"][0]["rule"] == "off_skeleton"
    page = (tmp_path / "report.html").read_text()
    assert "off the skeleton" in page and "in the soft tissue" in page
