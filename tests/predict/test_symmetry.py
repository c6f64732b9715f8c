"""Calls in a paired bone that their mirror image across the skeleton's midline matches (scintiseg.predict.symmetry)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from scintiseg.predict.regions import REGION_IDS, SkeletonRegions
from scintiseg.predict.symmetry import mirror_ratio, skeleton_midline, symmetric_calls

SPACING = (2.26, 2.26)
MID = 100  # the sacrum's (the skeleton's) midline column
ROW = 150


def _pelvis(spots: dict[int, float], bladder: float = 0.0, body_midline: float = MID):
    """A 300 x 200 view: a sacrum down the midline and a pelvis on each side (bone 40, soft tissue 5), a hot spot
    of ``spots[col]`` above the bone at row 150 of each column given, a call (7 x 7 px) on each; optionally a hot
    bladder on the midline at row 150."""
    labels = np.zeros((300, 200), np.int16)
    labels[60:260, MID - 12:MID + 13] = REGION_IDS["sacrum"]
    labels[100:220, 20:MID - 12] = REGION_IDS["pelvis"]
    labels[100:220, MID + 13:180] = REGION_IDS["pelvis"]
    rows, cols = np.mgrid[:300, :200]
    counts = np.where(labels > 0, 40.0, 5.0)
    calls = np.zeros((300, 200), bool)
    for col, height in spots.items():
        counts += height * np.exp(-((rows - ROW) ** 2 + (cols - col) ** 2) / (2 * 3.0**2))
        calls[ROW - 3:ROW + 4, col - 3:col + 4] = True
    if bladder:
        counts += bladder * np.exp(-((rows - ROW) ** 2 + (cols - MID) ** 2) / (2 * 12.0**2))
    regions = SkeletonRegions("POST", labels, labels > 0, np.ones_like(calls), 0, 299, body_midline)
    return counts, calls, regions


def test_a_symmetric_pair_is_left_out_and_a_spot_its_other_side_lacks_is_kept():
    counts, calls, regions = _pelvis({60: 100.0, 140: 100.0})  # both ischial tuberosities alike
    assert symmetric_calls(counts, calls, regions, SPACING)[calls].all()
    counts, calls, regions = _pelvis({60: 100.0})  # one side only: its mirror is plain bone
    assert not symmetric_calls(counts, calls, regions, SPACING).any()
    assert mirror_ratio(counts, calls, regions, SPACING) > 2.0


def test_of_an_unequal_pair_the_hotter_spot_stays():
    counts, calls, regions = _pelvis({60: 180.0, 140: 100.0})
    dropped = symmetric_calls(counts, calls, regions, SPACING)
    assert not dropped[ROW, 60] and dropped[ROW, 140]  # the hotter one is hotter than its other side


def test_the_mirror_is_taken_about_the_skeleton_not_the_body():
    # The body's midline 20 px off the sacrum (a patient lying off-centre, one arm away from the body).
    counts, calls, regions = _pelvis({60: 100.0, 140: 100.0}, body_midline=80.0)
    assert skeleton_midline(np.asarray(regions.labels), ROW, SPACING, regions.midline) == MID
    assert symmetric_calls(counts, calls, regions, SPACING)[calls].all()
    # Where no midline bone lies near the row, the body's midline is the fallback.
    assert skeleton_midline(np.asarray(regions.labels), 20, SPACING, 80.0) == 80.0


def test_below_the_pelvis_the_mirror_is_taken_between_a_bone_and_its_twin():
    labels = np.zeros((300, 200), np.int16)  # two femora about column 110, no midline bone; the body's midline 90
    labels[:, 60:80] = REGION_IDS["femur_right"]
    labels[:, 140:160] = REGION_IDS["femur_left"]
    rows, cols = np.mgrid[:300, :200]
    counts = np.where(labels > 0, 40.0, 5.0)
    calls = np.zeros((300, 200), bool)
    for col in (65, 155):  # a knee spot on each side, mirror images about column 110
        counts += 100.0 * np.exp(-((rows - ROW) ** 2 + (cols - col) ** 2) / (2 * 3.0**2))
        calls[ROW - 3:ROW + 4, col - 3:col + 4] = True
    regions = SkeletonRegions("ANT", labels, labels > 0, np.ones_like(calls), 0, 299, 90.0)
    assert skeleton_midline(labels, ROW, SPACING, 90.0, REGION_IDS["femur_left"]) == 109.5
    assert skeleton_midline(labels, ROW, SPACING, 90.0) == 90.0  # without the call's bone: the body's
    assert symmetric_calls(counts, calls, regions, SPACING)[calls].all()


def test_the_bladder_beside_the_midline_hides_no_pelvic_lesion():
    # A spot 12 px (27 mm) right of the midline; the bladder over the midline covers its mirror spot.
    counts, calls, regions = _pelvis({MID + 12: 120.0}, bladder=600.0)
    assert not symmetric_calls(counts, calls, regions, SPACING).any()


def test_calls_near_the_midline_on_the_spine_or_in_a_crop_are_not_judged():
    counts, calls, regions = _pelvis({60: 100.0, 140: 100.0})
    assert not symmetric_calls(counts, calls, replace(regions, named=False), SPACING).any()  # a crop
    near = np.zeros_like(calls)
    near[ROW - 3:ROW + 4, MID + 2:MID + 6] = True  # 2-6 px (5-14 mm) from the midline, on the sacrum
    assert np.isnan(mirror_ratio(counts, near, regions, SPACING))
    spine = replace(regions, labels=np.where(regions.labels == REGION_IDS["pelvis"], REGION_IDS["lumbar_spine"],
                                             regions.labels).astype(np.int16))
    assert not symmetric_calls(counts, calls, spine, SPACING).any()  # the spine's calls are spine_pattern's



def _tilted_pelvis(tilt_deg: float, spots: dict[int, float]):
    """A trunk leaning ``tilt_deg`` about (ROW, MID): lumbar spine above, sacrum, pelvis each side; a hot spot (and
    a call) ``v`` px across the axis at the row of ``ROW`` along it, for each ``v: height`` of ``spots``."""
    rows, cols = np.mgrid[:300, :200].astype(np.float64)
    theta = np.radians(tilt_deg)
    along = (rows - ROW) * np.cos(theta) + (cols - MID) * np.sin(theta)
    across = -(rows - ROW) * np.sin(theta) + (cols - MID) * np.cos(theta)
    labels = np.zeros((300, 200), np.int16)
    labels[(np.abs(across) <= 8) & (along < -40)] = REGION_IDS["lumbar_spine"]
    labels[(np.abs(across) <= 12) & (along >= -40) & (along < 110)] = REGION_IDS["sacrum"]
    labels[(np.abs(across) > 12) & (np.abs(across) < 80) & (along >= -50) & (along < 70)] = REGION_IDS["pelvis"]
    counts = np.where(labels > 0, 40.0, 5.0)
    calls = np.zeros((300, 200), bool)
    for v, height in spots.items():
        counts += height * np.exp(-(along**2 + (across - v) ** 2) / (2 * 3.0**2))
        calls |= along**2 + (across - v) ** 2 <= 3.5**2
    regions = SkeletonRegions("POST", labels, labels > 0, np.ones_like(calls), 0, 299, float(MID))
    return counts, calls, regions


def test_a_patient_lying_at_an_angle_is_mirrored_across_the_leaning_axis(monkeypatch):
    # Session 36: tilted by 8 degrees, a spot 40 px (90 mm) beside the axis has its mirror spot 11 px (25 mm) above
    # or below its own row, outside the 10 mm window that the image's column would have looked in.
    counts, calls, regions = _tilted_pelvis(8.0, {-40: 100.0, 40: 100.0})
    assert symmetric_calls(counts, calls, regions, SPACING)[calls].all()
    counts, calls, regions = _tilted_pelvis(8.0, {-40: 100.0})  # one side only: kept
    assert not symmetric_calls(counts, calls, regions, SPACING).any()
    # Mirrored about a column as before: the symmetric pair is called.
    monkeypatch.setattr("scintiseg.predict.symmetry.axis_slope", lambda *args: 0.0)
    counts, calls, regions = _tilted_pelvis(8.0, {-40: 100.0, 40: 100.0})
    assert not symmetric_calls(counts, calls, regions, SPACING).any()


def test_the_mirror_is_read_on_bone_only():
    counts, calls, regions = _pelvis({60: 100.0})
    labels = np.array(regions.labels)
    labels[ROW - 4:ROW + 5, 141:145] = 0  # soft tissue beside the mirror spot (column 140) ...
    counts[ROW - 4:ROW + 5, 141:145] = 200.0  # ... holding hot activity (urine on the skin)
    regions = replace(regions, labels=labels)
    assert mirror_ratio(counts, calls, regions, SPACING) > 2.0
    assert not symmetric_calls(counts, calls, regions, SPACING).any()


def test_a_symmetric_pair_on_the_sacrum_is_left_out():
    counts, calls, regions = _pelvis({MID - 10: 100.0, MID + 10: 100.0})  # the sacroiliac joints, 23 mm aside
    assert symmetric_calls(counts, calls, regions, SPACING)[calls].all()
