"""A patient's comparisons read together (scintiseg.predict.series): the next scan's new lesions, the new lesions
seen again or not, and PCWG3's 2+2 pattern with its six weeks."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from scintiseg.predict import follow_up, series
from scintiseg.predict.pipeline import PredictSettings, predict_from_probabilities

#: Places on NM1's ANT view (row, col): skull, lumbar focus, pelvis, left femur, right femur.
A, B, C, D, E = (200, 100), (364, 150), (450, 128), (600, 150), (800, 60)


def _read(scan, places, study: int = 0):
    """``scan`` as its patient's study number ``study`` (its own Study Instance UID and counts, no file: one scan read
    twice is one study, which no series counts since session 62) with a reader's outlines at ``places``."""
    scan = replace(scan, study_uid=f"2.25.{study + 1}", source=None, metadata={},
                   views={name: view + study for name, view in scan.views.items()})
    mask = np.zeros(scan.shape, bool)
    rows, cols = np.ogrid[: scan.shape[0], : scan.shape[1]]
    for row, col in places:
        mask |= (rows - row) ** 2 + (cols - col) ** 2 <= 16
    zero = {name: np.zeros(scan.shape, np.float32) for name in scan.view_names}
    return predict_from_probabilities(scan, zero, settings=PredictSettings(0.5, 4),
                                      reader_masks={name: mask for name in scan.view_names})


@pytest.fixture(scope="module")
def three_scans(nm1_scan):
    """Scan 0: A. Scan 1: A, B, C (two new). Scan 2: A, B, D, E (B seen again, C not; two more new)."""
    scans = [_read(nm1_scan, places, k) for k, places in enumerate(([A], [A, B, C], [A, B, D, E]))]
    return [follow_up.compare(early, late) for early, late in zip(scans, scans[1:])]


def test_two_new_then_two_more_six_weeks_later_is_the_2_plus_2_pattern(three_scans):
    first, last = series.read_series(three_scans, [56, 49])
    assert (first.new_lesions, first.next_new_lesions, first.days_to_next) == (2, 2, 49)
    assert (first.seen_again_next, first.not_seen_next, first.outside_next) == (1, 1, 0)
    assert first.two_plus_two is True
    assert last.new_lesions == 2 and last.two_plus_two is None and last.seen_again_next is None
    assert first.record()["two_plus_two"] is True and last.record()["next_new_lesions"] is None


def test_the_pattern_needs_six_weeks_and_two_more(three_scans, nm1_scan):
    assert series.read_series(three_scans, [56, series.CONFIRMATION_DAYS - 1])[0].two_plus_two is False
    assert series.read_series(three_scans, [56, None])[0].two_plus_two is None
    one_more = follow_up.compare(three_scans[0].follow_up, _read(nm1_scan, [A, B, D], 3))  # one more only
    step = series.read_series([three_scans[0], one_more], [56, 60])[0]
    assert step.next_new_lesions == 1 and step.two_plus_two is False


def test_comparisons_that_do_not_share_their_middle_scan_are_refused(three_scans, nm1_scan):
    again = follow_up.compare(_read(nm1_scan, [A, B, C], 1), three_scans[1].follow_up)
    with pytest.raises(ValueError, match="previous comparison's follow-up"):
        series.read_series([three_scans[0], again], [56, 49])
    with pytest.raises(ValueError, match="intervals"):
        series.read_series(three_scans, [56])


def test_one_study_twice_in_a_series_counts_no_new_lesions_for_pcwg3(three_scans, nm1_scan):
    """Session 62: a scan and its own review in one batch compared as two scans gave two "new" lesions that a 2+2
    pattern could count. Such a comparison (flagged same_study) is no PCWG3 count, as this scan or as the next."""
    own_review = follow_up.compare(three_scans[0].follow_up, _read(nm1_scan, [A, B, C, D, E], 1))
    assert own_review.same_study and own_review.new_lesions == 2
    first, last = series.read_series([three_scans[0], own_review], [56, 60])
    assert first.two_or_more_new and first.next_same_study and first.two_plus_two is False
    assert last.same_study and not last.two_or_more_new and last.record()["same_study"] is True
    two_more = _read(nm1_scan, [A, B, C, D, E, (300, 100), (520, 100)], 2)
    step = series.read_series([own_review, follow_up.compare(own_review.follow_up, two_more)], [0, 60])[0]
    assert (step.new_lesions, step.next_new_lesions, step.days_to_next) == (2, 2, 60) and step.two_plus_two is False


def test_exactly_six_weeks_confirms_and_a_day_less_does_not():
    """PCWG3: the confirming scan at least six weeks (42 days) later; two new each time."""
    from scintiseg.predict.series import CONFIRMATION_DAYS, SeriesStep

    assert SeriesStep(2, 30, 2, CONFIRMATION_DAYS).two_plus_two is True
    assert SeriesStep(2, 30, 2, CONFIRMATION_DAYS - 1).two_plus_two is False
    assert SeriesStep(1, 30, 2, CONFIRMATION_DAYS).two_plus_two is False
    assert SeriesStep(2, 30, 2, None).two_plus_two is None
