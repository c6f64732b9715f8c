"""Calls on the spine no hotter than the vertebrae above and below (scintiseg.predict.spine_pattern)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from scintiseg.predict.regions import REGION_IDS, SkeletonRegions
from scintiseg.predict.spine_pattern import (
    BROAD_CALL_SHARE,
    is_broad,
    neighbour_ratio,
    pattern_calls,
    vertebral_level,
)

SPACING = (2.26, 2.26)
LEVEL = 20  # rows per vertebral level
THORACIC, LUMBAR = (100, 100 + 12 * LEVEL), (340, 340 + 5 * LEVEL)
COL = 64


def _column(bead_heights: dict[int, float], bladder: float = 0.0):
    """A 600 x 128 view: a spine of 17 levels (12 thoracic, 5 lumbar) and a sacrum, a bead at each level's centre
    (``bead_heights``: level index -> peak over the bead height 100), optionally a hot bladder on the sacrum's rows."""
    labels = np.zeros((600, 128), np.int16)
    labels[THORACIC[0]:THORACIC[1], COL - 8:COL + 9] = REGION_IDS["thoracic_spine"]
    labels[LUMBAR[0]:LUMBAR[1], COL - 9:COL + 10] = REGION_IDS["lumbar_spine"]
    labels[LUMBAR[1]:LUMBAR[1] + 40, COL - 15:COL + 16] = REGION_IDS["sacrum"]
    rows, cols = np.mgrid[:600, :128]
    counts = np.where(labels > 0, 40.0, 5.0)
    centres = [THORACIC[0] + LEVEL * k + LEVEL // 2 for k in range(17)]
    for k, centre in enumerate(centres):
        counts += bead_heights.get(k, 100.0) * np.exp(-((rows - centre) ** 2 + (cols - COL) ** 2) / (2 * 3.0**2))
    if bladder:
        counts += bladder * np.exp(-((rows - LUMBAR[1]) ** 2 + (cols - COL) ** 2) / (2 * 15.0**2))
    regions = SkeletonRegions("POST", labels, labels > 0, labels > 0, 0, 599, COL)
    calls = np.zeros((600, 128), bool)
    for centre in centres:
        calls[centre - 3:centre + 4, COL - 3:COL + 4] = True
    return counts, calls, regions, centres


def test_a_beaded_column_is_the_pattern_and_a_hotter_vertebra_is_not():
    counts, calls, regions, centres = _column({9: 160.0, 14: 160.0})  # T10 and L3 one and a half times the others
    dropped = pattern_calls(counts, calls, regions, SPACING)
    kept_rows = sorted({centre for centre in centres if calls[centre, COL] and not dropped[centre, COL]})
    # Every other bead is the normal pattern, but L4 and L5, whose quieter side reaches the sacrum (no bead there).
    assert kept_rows == [centres[9], centres[14], centres[15], centres[16]]


def test_the_quieter_side_decides_so_the_bladder_below_hides_nothing():
    # L4 half as hot again as the vertebrae above; the bladder over L5 and the sacrum, both neighbours below hot.
    counts, calls, regions, centres = _column({15: 150.0}, bladder=400.0)
    ratio = neighbour_ratio(counts, calls & (np.abs(np.arange(600) - centres[15])[:, None] < 5), regions.labels,
                            REGION_IDS["lumbar_spine"], SPACING)
    assert ratio > 1.2
    assert not pattern_calls(counts, calls, regions, SPACING)[centres[15], COL]


def test_only_named_spine_calls_are_judged():
    counts, calls, regions, _ = _column({})
    assert pattern_calls(counts, calls, replace(regions, named=False), SPACING).sum() == 0  # a crop
    off_spine = np.zeros_like(calls)
    off_spine[200:206, 100:106] = True  # soft tissue beside the column
    assert pattern_calls(counts, off_spine, regions, SPACING).sum() == 0
    lone = np.zeros_like(calls)
    lone[110:117, COL - 3:COL + 4] = True
    rows = np.arange(600)[:, None]
    # The thoracic segment spans its 240 rows, but only the call's own rows and the segment's far end are mapped:
    # no window one or two levels away holds spine, so the call is not judged.
    sparse = np.where(((rows >= 100) & (rows < 117)) | ((rows >= 300) & (rows < THORACIC[1])), regions.labels, 0)
    sparse = np.where(rows < THORACIC[1], sparse, 0).astype(np.int16)
    assert np.isnan(neighbour_ratio(counts, lone, sparse, REGION_IDS["thoracic_spine"], SPACING))
    assert not pattern_calls(counts, lone, replace(regions, labels=sparse), SPACING).any()


def test_a_vertebra_within_the_beads_spread_is_the_pattern_and_one_clearly_hotter_is_not():
    # Session 39: read with the true level, the calls on a beaded column's beads stand at up to about 1.18 times their
    # quieter side (90th percentile, docs/robustness.md "The spine rule's level from the map's pieces"), so a bead
    # whose peak is 1.25 times the others' is the pattern; one 1.4 times them is called, and session 33's cut (1.2)
    # would still have called the first. (A peak is the bone's 40 counts plus the bead's height: 40 + 135 = 1.25 x
    # (40 + 100), 40 + 156 = 1.4 x (40 + 100).)
    counts, calls, regions, centres = _column({5: 135.0, 9: 156.0})
    dropped = pattern_calls(counts, calls, regions, SPACING)
    assert dropped[centres[5], COL] and not dropped[centres[9], COL]
    assert not pattern_calls(counts, calls, regions, SPACING, ratio=1.2)[centres[5], COL]


@pytest.mark.parametrize("height", [60.0, 100.0, 200.0])
def test_a_column_of_equal_beads_is_the_pattern_whatever_their_height(height):
    counts, calls, regions, centres = _column({k: height for k in range(17)})
    dropped = pattern_calls(counts, calls, regions, SPACING)
    assert all(dropped[centre, COL] for centre in centres[:-2])  # L4 and L5 stand above the sacrum: kept


def _running_column(across_at):
    """A 600 x 128 view: a thoracic (rows 100-300) and lumbar (300-400) spine 17 px wide and a sacrum (400-440)
    whose middle lies ``across_at(row)`` columns from COL, a bead (100 counts over the bone's 40) every level
    (20 rows) along it and a call on each."""
    rows, cols = np.mgrid[:600, :128].astype(np.float64)
    offset = cols - COL - across_at(rows)
    labels = np.zeros((600, 128), np.int16)
    labels[(np.abs(offset) <= 8) & (rows >= 100) & (rows < 300)] = REGION_IDS["thoracic_spine"]
    labels[(np.abs(offset) <= 8) & (rows >= 300) & (rows < 400)] = REGION_IDS["lumbar_spine"]
    labels[(np.abs(offset) <= 15) & (rows >= 400) & (rows < 440)] = REGION_IDS["sacrum"]
    counts = np.where(labels > 0, 40.0, 5.0)
    calls = np.zeros((600, 128), bool)
    for centre in range(110, 400, LEVEL):
        bead = (rows - centre) ** 2 + (cols - COL - across_at(float(centre))) ** 2
        counts += 100.0 * np.exp(-bead / (2 * 3.0**2))
        calls |= bead <= 3.5**2
    return counts, calls, SkeletonRegions("POST", labels, labels > 0, labels > 0, 0, 599, COL)


def test_a_beaded_column_of_a_patient_lying_at_an_angle_is_the_pattern(monkeypatch):
    # Session 36: tilted by 12 degrees, two levels (40 rows) away the bead lies 8 px aside, outside the 3 px
    # half-width of a window kept on the call's own column; the windows now move along the skeleton's axis.
    counts, calls, regions = _running_column(lambda row: np.tan(np.radians(12.0)) * (row - 300))
    dropped = pattern_calls(counts, calls, regions, SPACING)
    assert dropped.sum() >= 0.7 * calls.sum()  # all but the last lumbar levels (their quieter side is the sacrum)
    straight, straight_calls, straight_regions = _running_column(lambda row: 0.0 * row)
    assert pattern_calls(straight, straight_calls, straight_regions, SPACING).sum() == pytest.approx(dropped.sum(), rel=0.15)
    monkeypatch.setattr("scintiseg.predict.spine_pattern.axis_slope", lambda *args: 0.0)  # windows on the call's column
    assert pattern_calls(counts, calls, regions, SPACING).sum() < 0.3 * calls.sum()


def test_a_stray_speck_of_the_map_does_not_stretch_the_vertebral_level():
    _, _, regions, _ = _column({})
    labels = np.array(regions.labels)
    lumbar = REGION_IDS["lumbar_spine"]
    assert vertebral_level(labels, lumbar) == pytest.approx(LEVEL)
    # Eight pixels named lumbar 90 rows above the lumbar spine (the learned map on NM1 turned 4 degrees, session 36):
    # the segment's row extent doubles, its level does not.
    labels[LUMBAR[0] - 90:LUMBAR[0] - 88, COL:COL + 4] = lumbar
    rows = np.nonzero((labels == lumbar).any(axis=1))[0]
    assert (rows.max() - rows.min() + 1) / 5 > 1.8 * LEVEL
    assert vertebral_level(labels, lumbar) == pytest.approx(LEVEL)
    # A segment the map splits into two large pieces keeps its whole height.
    labels[LUMBAR[0] + 45:LUMBAR[0] + 50] = REGION_IDS["thoracic_spine"]
    assert vertebral_level(labels, lumbar) == pytest.approx(LEVEL)


def _broadened(calls: np.ndarray, centre: int) -> np.ndarray:
    """``calls`` with the call at row ``centre`` grown over much of its vertebra: 15 rows of the level's 20, 11
    columns (165 px, 0.41 of a level squared; a bead's call is 49 px, 0.12)."""
    broad = calls.copy()
    broad[centre - 7:centre + 8, COL - 5:COL + 6] = True
    return broad


def test_a_call_over_much_of_a_vertebra_stays_when_a_little_hotter_than_its_neighbours():
    # Session 40: the whole-vertebra lumbar lesions of the independent phantom stood at 1.06-1.28 times their
    # quieter side, among the beads' spread; their calls cover 0.2-0.5 of a level squared, the beads' 0.04-0.22.
    # A vertebra 1.2 times the others (40 + 128 = 1.2 x (40 + 100)): a bead-sized call on it is the pattern, a
    # broad one is not; at 1.1 times (40 + 114) a broad call is the pattern too.
    counts, calls, regions, centres = _column({5: 128.0, 9: 114.0})
    labels, thoracic = np.asarray(regions.labels), REGION_IDS["thoracic_spine"]
    bead = np.zeros_like(calls)
    bead[centres[5] - 3:centres[5] + 4, COL - 3:COL + 4] = True
    assert not is_broad(bead, labels, thoracic, SPACING)
    assert is_broad(_broadened(bead, centres[5]), labels, thoracic, SPACING)
    assert pattern_calls(counts, calls, regions, SPACING)[centres[5], COL]
    broad = _broadened(_broadened(calls, centres[5]), centres[9])
    dropped = pattern_calls(counts, broad, regions, SPACING)
    assert not dropped[centres[5], COL] and dropped[centres[9], COL]
    # Under a cut below the exception's both broad calls stay, as every call that hot.
    assert not pattern_calls(counts, broad, regions, SPACING, ratio=1.05)[centres[9], COL]


def test_broad_is_read_in_millimetres_against_the_level():
    _, calls, regions, centres = _column({})
    labels, thoracic = np.asarray(regions.labels), REGION_IDS["thoracic_spine"]
    call = np.zeros_like(calls)
    call[centres[5] - 5:centres[5] + 5, COL - 5:COL + 5] = True  # 100 px, 0.25 of a 20 px level squared
    assert BROAD_CALL_SHARE == 0.25 and is_broad(call, labels, thoracic, SPACING)
    assert is_broad(call, labels, thoracic, (1.0, 1.0))  # the pixel's size cancels: the level is in pixels too
    call[centres[5] - 5] = False  # 90 px
    assert not is_broad(call, labels, thoracic, SPACING)


def test_a_vertebra_between_two_involved_ones_is_read_against_the_next_normal_ones():
    # Session 40: three vertebrae in a row half as hot again (40 + 170 = 1.5 x (40 + 100)). The middle one stands at
    # 1.2 times its quieter side (each side's median holds an involved neighbour) and was left out; both its
    # neighbours are kept as lesions, so it is read against the vertebrae two levels away: 1.5 times, kept. A normal
    # vertebra between two involved ones stays the pattern (1.0 times the next normal ones).
    counts, calls, regions, centres = _column({7: 170.0, 8: 170.0, 9: 170.0})
    dropped = pattern_calls(counts, calls, regions, SPACING)
    assert not any(dropped[centres[k], COL] for k in (7, 8, 9))
    middle = calls & (np.abs(np.arange(600) - centres[8])[:, None] < 5)
    labels, thoracic = np.asarray(regions.labels), REGION_IDS["thoracic_spine"]
    assert neighbour_ratio(counts, middle, labels, thoracic, SPACING) < 1.3
    lesions = calls & ~middle & (np.abs(np.arange(600) - centres[8])[:, None] < 25)
    assert neighbour_ratio(counts, middle, labels, thoracic, SPACING, lesions=lesions) > 1.4
    one_side = lesions & (np.arange(600) < centres[8])[:, None]
    assert np.isnan(neighbour_ratio(counts, middle, labels, thoracic, SPACING, lesions=one_side))
    counts, calls, regions, centres = _column({7: 170.0, 9: 170.0})
    dropped = pattern_calls(counts, calls, regions, SPACING)
    assert dropped[centres[8], COL] and not dropped[centres[7], COL] and not dropped[centres[9], COL]


def test_the_bladder_is_no_vertebra_below_an_involved_lower_lumbar_spine():
    # Session 41: L3 to L5 involved (a bead two and a half times the others) and the bladder over the lower sacrum.
    # Read against a window on the urine, L5's side below stood as hot as its involved side above, and the last of
    # the run was left out (NM1 with L1-L5 three times as hot: L4 and L5 on both noise draws); the bladder and its
    # surroundings are no neighbour, the sacrum above it is.
    counts, calls, regions, centres = _column({14: 250.0, 15: 250.0, 16: 250.0})
    rows, cols = np.mgrid[:600, :128]
    counts = counts + 600.0 * np.exp(-((rows - LUMBAR[1] - 38) ** 2 + (cols - COL) ** 2) / (2 * 8.0**2))
    with_bladder = pattern_calls(counts, calls, regions, SPACING)
    assert not with_bladder[centres[14:17], COL].any()
    assert with_bladder[centres[:14], COL].all()  # the normal beads above stay the pattern
    read_on_the_urine = pattern_calls(counts, calls, regions, SPACING, bladder_spot=lambda: None)
    assert read_on_the_urine[centres[16], COL]


def test_a_run_down_to_the_bladder_is_read_again_from_the_involved_side_until_nothing_changes(monkeypatch):
    # L2 to L5 involved and the bladder over the upper sacrum: both sides of L4 and L5 are hot (involved vertebrae
    # above, the urine and the involved L5 below), so both are first left out. Read again beside the kept L3, L4 is
    # called; only then L5, beside the kept L4.
    counts, calls, regions, centres = _column({13: 250.0, 14: 300.0, 15: 300.0, 16: 200.0})
    rows, cols = np.mgrid[:600, :128]
    counts = counts + 600.0 * np.exp(-((rows - LUMBAR[1] - 25) ** 2 + (cols - COL) ** 2) / (2 * 8.0**2))
    first = pattern_calls(counts, calls, regions, SPACING, bladder_spot=lambda: None)  # no second reading to do
    assert first[centres[15], COL] and first[centres[16], COL]
    assert not pattern_calls(counts, calls, regions, SPACING)[centres[13:17], COL].any()
    monkeypatch.setattr("scintiseg.predict.spine_pattern.MAX_PASSES", 1)
    once = pattern_calls(counts, calls, regions, SPACING)
    assert not once[centres[15], COL] and once[centres[16], COL]


def test_a_vertebra_inside_a_long_involved_run_is_read_against_the_nearest_vertebrae_beyond_it(monkeypatch):
    # T6 to T12 involved and kept as lesions but T9 (read again): its neighbours one and two levels away are all
    # involved, so it is read against T5 and L1, the nearest vertebrae beyond the run that are no lesions.
    heights = {k: 250.0 for k in range(5, 12)}
    counts, calls, regions, centres = _column(heights)
    rows = np.arange(600)[:, None]
    call = calls & (np.abs(rows - centres[8]) < 5)
    kept = calls & ~call & (rows >= centres[5] - 5) & (rows <= centres[11] + 5)
    ratio = neighbour_ratio(counts, call, regions.labels, REGION_IDS["thoracic_spine"], SPACING, lesions=kept)
    assert ratio == pytest.approx((40 + 250) / (40 + 100), rel=0.05)  # against the normal beads beyond the run
    monkeypatch.setattr("scintiseg.predict.spine_pattern.FARTHEST_LEVEL", 2)  # no farther than two levels
    assert np.isnan(neighbour_ratio(counts, call, regions.labels, REGION_IDS["thoracic_spine"], SPACING, lesions=kept))


def test_broad_reads_the_level_in_millimetres_of_a_row():
    _, calls, regions, centres = _column({})
    labels, thoracic = np.asarray(regions.labels), REGION_IDS["thoracic_spine"]
    call = np.zeros_like(calls)
    call[centres[5] - 3:centres[5] + 3, COL - 5:COL + 5] = True  # 60 px
    # Rows of 2 mm, columns of 4 mm: a level of 20 rows is 40 mm, the call 480 mm^2, 0.3 of the level squared (read
    # in columns' millimetres, 80 mm: 0.075). Rows of 4 mm, columns of 2 mm: 80 mm, 0.075.
    assert is_broad(call, labels, thoracic, (2.0, 4.0))
    assert not is_broad(call, labels, thoracic, (4.0, 2.0))


def test_beside_the_bladder_one_neighbour_outside_its_surroundings_is_enough():
    # L5 four times as hot as the beads, every vertebra above it kept as a lesion, the urine over the sacrum two levels
    # below: the only neighbour left is the sacrum one level below, outside the bladder's surroundings.
    counts, calls, regions, centres = _column({16: 400.0})
    rows, cols = np.mgrid[:600, :128]
    counts = counts + 600.0 * np.exp(-((rows - 472) ** 2 + (cols - COL) ** 2) / (2 * 4.0**2))
    call = calls & (np.abs(rows - centres[16]) < 5)
    lesions = calls & (rows < centres[16] - 10)
    excluded = rows >= 460
    ratio = neighbour_ratio(counts, call, regions.labels, REGION_IDS["lumbar_spine"], SPACING, lesions=lesions,
                            excluded=excluded)
    window_below = (slice(centres[16] + LEVEL - 7, centres[16] + LEVEL + 8), slice(COL - 3, COL + 4))
    assert ratio == pytest.approx(counts[centres[16], COL] / counts[window_below].max())
    assert ratio > 2.0
