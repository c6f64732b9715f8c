"""Pairing ANT and POST lesions (predict/pairing.py): hand-made probability maps on a two-view scan made from
the real NM1 ANT view, POST = its mirror moved by a known shift, so where each ANT lesion shows on POST is known."""

import numpy as np
import pytest

from support import blob_settings
from scintiseg.predict.pairing import PAIR_RADIUS_MM, pair_lesions, post_shift
from scintiseg.predict.pipeline import predict_from_probabilities
from scintiseg.prepare.views import mirror, shift_image
from scintiseg.scan import Scan

#: How far (rows, cols) the body lies on the mirrored POST relative to ANT: 10 px, the most not flagged.
SHIFT = (4, 6)
SETTINGS = blob_settings(0.5, 4)


def on_post(row: int, col: int, cols: int = 256, shift=SHIFT) -> tuple[int, int]:
    """Where a point at (row, col) of ANT lies on POST as acquired."""
    return row + shift[0], cols - 1 - (col + shift[1])


def two_view_scan(nm1_scan, shift=SHIFT) -> Scan:
    ant = nm1_scan.view("ANT")
    return Scan({"ANT": ant, "POST": mirror(shift_image(ant, shift))}, pixel_spacing=nm1_scan.pixel_spacing)


@pytest.fixture(scope="module")
def scan(nm1_scan):
    return two_view_scan(nm1_scan)


def lesion_at(prediction, view, row, col):
    """The lesion of ``view`` whose centroid is within 2 px of (row, col)."""
    found = [l for l in prediction.views[view].lesions if abs(l.centroid_row - row) <= 2 and abs(l.centroid_col - col) <= 2]
    assert len(found) == 1, f"no single {view} lesion at {(row, col)}"
    return found[0]


def test_the_alignment_shift_is_found(scan):
    assert post_shift(scan.view("ANT"), scan.view("POST"), 10) == (-SHIFT[0], -SHIFT[1])


def test_a_lesion_in_both_views_is_paired_and_one_only_on_ant_is_not(scan, make_blobs):
    ant = make_blobs(scan.shape, [(300, 80, 4), (420, 170, 4)])
    # POST's outline is wider (the lesion lies farther from the posterior head: more PSF blur).
    post = make_blobs(scan.shape, [(*on_post(300, 80), 5)])
    prediction = predict_from_probabilities(scan, {"ANT": ant, "POST": post}, settings=SETTINGS)
    paired_ant, lone_ant = lesion_at(prediction, "ANT", 300, 80), lesion_at(prediction, "ANT", 420, 170)
    paired_post = lesion_at(prediction, "POST", *on_post(300, 80))
    assert [(p.ant_id, p.post_id) for p in prediction.pairs] == [(paired_ant.id, paired_post.id)]
    assert prediction.pairs[0].overlap == pytest.approx(1.0)  # the ANT outline lies inside POST's
    assert prediction.pairs[0].distance_mm < 1.0
    assert prediction.paired_with == {paired_ant.id: paired_post.id, paired_post.id: paired_ant.id}
    assert lone_ant.id not in prediction.paired_with
    assert prediction.pairing_shift == (-SHIFT[0], -SHIFT[1])


def test_without_mirroring_and_shifting_the_lesions_would_not_meet(scan):
    """Guards the test above: the POST lesion is nowhere near the ANT one in POST's own coordinates."""
    row, col = on_post(300, 80)
    assert abs(col - 80) * scan.pixel_spacing[1] > 10 * PAIR_RADIUS_MM


def test_two_close_lesions_pair_one_to_one_with_their_own(scan, make_blobs):
    # Two small lesions 6 px (13.6 mm) apart: each POST lesion lies within the radius of both ANT ones, and
    # POST lists them in the opposite order of ANT (the mirror swaps left and right).
    places = [(300, 60), (300, 66)]
    ant = make_blobs(scan.shape, [(r, c, 2) for r, c in places])
    post = make_blobs(scan.shape, [(*on_post(r, c), 2) for r, c in places])
    prediction = predict_from_probabilities(scan, {"ANT": ant, "POST": post}, settings=SETTINGS)
    expected = {(lesion_at(prediction, "ANT", r, c).id, lesion_at(prediction, "POST", *on_post(r, c)).id) for r, c in places}
    assert {(p.ant_id, p.post_id) for p in prediction.pairs} == expected
    assert len({p.post_id for p in prediction.pairs}) == 2


def test_one_post_outline_over_two_ant_lesions_pairs_once(scan, make_blobs):
    ant = make_blobs(scan.shape, [(300, 60, 2), (300, 68, 2)])
    post = make_blobs(scan.shape, [(*on_post(300, 62), 7)])  # one blurred outline covering both, nearer the first
    prediction = predict_from_probabilities(scan, {"ANT": ant, "POST": post}, settings=SETTINGS)
    assert len(prediction.views["ANT"].lesions) == 2 and len(prediction.views["POST"].lesions) == 1
    assert [p.ant_id for p in prediction.pairs] == [lesion_at(prediction, "ANT", 300, 60).id]


def test_a_one_view_scan_gets_no_pairs(nm1_scan, make_blobs):
    prob = make_blobs(nm1_scan.shape, [(300, 80, 4)])
    prediction = predict_from_probabilities(nm1_scan, {"ANT": prob}, settings=SETTINGS)
    assert prediction.pairs == [] and prediction.pairing_shift is None and prediction.paired_with == {}


def test_views_too_far_apart_get_no_pairs_and_the_flag(nm1_scan, make_blobs):
    shift = (8, 8)  # 16 px: beyond MISALIGNED_PX
    scan = two_view_scan(nm1_scan, shift)
    ant = make_blobs(scan.shape, [(300, 80, 4)])
    post = make_blobs(scan.shape, [(*on_post(300, 80, shift=shift), 4)])
    prediction = predict_from_probabilities(scan, {"ANT": ant, "POST": post}, settings=SETTINGS)
    assert len(prediction.lesions) == 2
    assert prediction.pairs == [] and prediction.pairing_shift is None
    assert "views_misaligned" in prediction.qc_flags


def test_a_scan_already_flagged_misaligned_gets_no_pairs(scan, make_blobs):
    ant = make_blobs(scan.shape, [(300, 80, 4)])
    post = make_blobs(scan.shape, [(*on_post(300, 80), 4)])
    prediction = predict_from_probabilities(scan, {"ANT": ant, "POST": post}, settings=SETTINGS, qc_flags=["views_misaligned"])
    assert prediction.pairs == [] and prediction.qc_flags.count("views_misaligned") == 1


def _labels(shape, discs):
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    labels = np.zeros(shape, dtype=np.int32)
    for k, (r, c, radius) in enumerate(discs, start=1):
        labels[(rows - r) ** 2 + (cols - c) ** 2 <= radius**2] = k
    return labels


@pytest.mark.parametrize(
    ("post_col_offset", "paired"),
    [(0, True), (3, True), (6, True), (8, False)],  # 0-6 px = 0-13.6 mm: within 15 mm; 8 px = 18 mm: not
)
def test_small_lesions_pair_by_centroid_distance_within_the_radius(post_col_offset, paired):
    shape, spacing = (64, 64), (2.26, 2.26)
    ant = _labels(shape, [(30, 20, 1)])
    # POST as acquired holds the mirror: column c on ANT is 63 - c on POST; offset moves it right on ANT.
    post = _labels(shape, [(30, 63 - (20 + post_col_offset), 1)])
    pairs = pair_lesions(ant, [7], post, [9], (0.0, 0.0), spacing)
    assert [(p.ant_id, p.post_id) for p in pairs] == ([(7, 9)] if paired else [])
    if paired:
        assert pairs[0].distance_mm == pytest.approx(post_col_offset * 2.26)


def test_overlap_is_over_the_smaller_outline_and_the_shift_is_applied():
    shape = (64, 64)
    ant = _labels(shape, [(30, 20, 8)])
    post = _labels(shape, [(30 - 5, 63 - 20, 2)])  # a small outline 5 rows above on POST: the shift brings it back
    pairs = pair_lesions(ant, [1], post, [2], (5.0, 0.0), (2.26, 2.26))
    assert len(pairs) == 1 and pairs[0].overlap == pytest.approx(1.0) and pairs[0].distance_mm == pytest.approx(0.0)
    assert pair_lesions(ant, [1], np.zeros(shape, dtype=np.int32), [], (0.0, 0.0), (2.26, 2.26)) == []


def test_a_merged_outline_pairs_with_the_largest_outline_inside_it():
    """Lesions merged into one outline on ANT, apart on POST: each lies wholly inside (overlap 1); IoU decides."""
    shape = (64, 64)
    ant = np.zeros(shape, dtype=np.int32)
    ant[10:40, 10:20] = 1
    post = _labels(shape, [(14, 63 - 15, 2), (25, 63 - 15, 4), (35, 63 - 15, 2)])  # the middle one is the largest
    (pair,) = pair_lesions(ant, [1], post, [5, 6, 7], (0.0, 0.0), (2.26, 2.26))
    assert (pair.post_id, pair.overlap) == (6, 1.0)


def test_centroid_distance_uses_the_row_spacing_for_rows_and_the_column_spacing_for_columns():
    """pixel_spacing is (row, col) mm: with non-square pixels an offset along the columns is measured with the
    column spacing, one along the rows with the row spacing."""
    shape, spacing = (64, 64), (2.0, 3.0)
    ant = _labels(shape, [(30, 20, 1)])
    right = _labels(shape, [(30, 63 - (20 + 4), 1)])  # POST as acquired: 4 columns to the right once mirrored
    (pair,) = pair_lesions(ant, [1], right, [2], (0.0, 0.0), spacing)
    assert pair.distance_mm == pytest.approx(4 * 3.0)
    below = _labels(shape, [(30 + 4, 63 - 20, 1)])  # 4 rows below
    (pair,) = pair_lesions(ant, [1], below, [2], (0.0, 0.0), spacing)
    assert pair.distance_mm == pytest.approx(4 * 2.0)


def test_an_overlapping_outline_is_preferred_to_a_nearer_one_that_does_not_overlap():
    """A candidate by distance only costs more than any overlapping one: a ring-shaped ANT outline pairs with the
    POST outline lying on the ring, not with the one in its hole whose centroid is on the ring's own."""
    shape = (64, 64)
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    radius2 = (rows - 30) ** 2 + (cols - 20) ** 2
    ant = ((radius2 >= 36) & (radius2 <= 64)).astype(np.int32)
    post = _labels(shape, [(30, 63 - 27, 1), (30, 63 - 20, 1)])  # 5: on the ring, 16 mm off; 6: in the hole, 0 mm
    (pair,) = pair_lesions(ant, [1], post, [5, 6], (0.0, 0.0), (2.26, 2.26))
    assert pair.post_id == 5 and pair.overlap == pytest.approx(1.0)
