"""Two scans of one patient compared (scintiseg.predict.follow_up): the follow-up registered onto the baseline by the
learned region maps across matrices, turns and shifts; lesions new, persisting or not seen; the counts' registration
where no bones are named."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from scintiseg.predict import follow_up
from scintiseg.predict.pipeline import PredictSettings, predict_from_probabilities
from scintiseg.scan import Scan

#: Baseline lesions on NM1's ANT view (row, col, radius px): at the skull, NM1's lumbar focus and the left femur.
KEPT = [(200, 100, 4), (364, 150, 4), (600, 150, 5)]
#: A baseline lesion the follow-up no longer shows (the right femur).
GONE = (800, 60, 4)
#: Lesions only the follow-up shows, in the follow-up's own pixels (pelvis, left knee).
NEW = [(450, 128, 4), (700, 100, 4)]
#: The follow-up's matrix: 2.0 mm pixels (NM1 is 2.26), the patient 12 mm higher, 8 mm to the image left, turned 3°.
NEW_SPACING, SHIFT_MM, TURN_DEG = 2.0, (12.0, -8.0), 3.0


def _disc(shape, row, col, radius):
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    return (rows - row) ** 2 + (cols - col) ** 2 <= radius**2


def _predicted(scan: Scan, mask: np.ndarray):
    """``scan`` read with ``mask`` as a reader's outlines (no network: the lesions are exactly the mask's)."""
    zero = {name: np.zeros(scan.shape, np.float32) for name in scan.view_names}
    return predict_from_probabilities(scan, zero, settings=PredictSettings(0.5, 4),
                                      reader_masks={name: mask for name in scan.view_names})


def _follow_up_to_baseline(rows, cols, spacing=2.26):
    """Where the follow-up's pixel (rows, cols) lies on NM1 (the truth the registration must find)."""
    centre_y, centre_x = 512 * spacing, 128 * spacing
    turn = np.radians(TURN_DEG)
    y = rows * NEW_SPACING - SHIFT_MM[0] - centre_y
    x = cols * NEW_SPACING - SHIFT_MM[1] - centre_x
    return ((np.cos(turn) * y - np.sin(turn) * x + centre_y) / spacing,
            (np.sin(turn) * y + np.cos(turn) * x + centre_x) / spacing)


@pytest.fixture(scope="module")
def nm1_pair(nm1_scan):
    """NM1 with KEPT + GONE outlined, and a follow-up on another matrix, moved and turned, with KEPT + NEW."""
    ant = nm1_scan.view("ANT").astype(float)
    baseline_mask = np.zeros(ant.shape, bool)
    for row, col, radius in [*KEPT, GONE]:
        baseline_mask |= _disc(ant.shape, row, col, radius)
    shape = (int(1024 * 2.26 / NEW_SPACING), int(256 * 2.26 / NEW_SPACING))
    rows, cols = np.mgrid[: shape[0], : shape[1]].astype(float)
    on_baseline = _follow_up_to_baseline(rows, cols)
    counts = ndi.map_coordinates(ant, list(on_baseline), order=1) * (NEW_SPACING / 2.26) ** 2
    counts = np.random.default_rng(0).poisson(counts).astype(np.int32)
    kept = np.zeros(ant.shape, bool)
    for row, col, radius in KEPT:
        kept |= _disc(ant.shape, row, col, radius)
    late_mask = ndi.map_coordinates(kept.astype(float), list(on_baseline), order=0) > 0.5
    for row, col, radius in NEW:
        late_mask |= _disc(shape, row, col, radius)
    late = Scan({"ANT": counts}, pixel_spacing=(NEW_SPACING, NEW_SPACING), patient_id=nm1_scan.patient_id)
    return _predicted(nm1_scan, baseline_mask), _predicted(late, late_mask)


def test_the_region_maps_register_another_matrix_moved_and_turned_within_a_pixel(nm1_pair):
    baseline, late = nm1_pair
    registration = follow_up.register_view(baseline.views["ANT"], baseline.scan.view("ANT"), baseline.scan.pixel_spacing,
                                           late.views["ANT"], late.scan.view("ANT"), late.scan.pixel_spacing)
    assert registration.method == "regions" and not registration.uncertain
    assert len(registration.regions_used) >= 15
    assert registration.scale == pytest.approx(1.0, abs=0.01)
    assert np.degrees(registration.transform.rotation) == pytest.approx(-TURN_DEG, abs=0.5)
    rows, cols = np.array([100.0, 400.0, 700.0, 950.0]), np.array([128.0, 128.0, 80.0, 128.0])
    found = registration.to_baseline(rows, cols)
    truth = _follow_up_to_baseline(rows, cols)
    assert np.abs(found[0] - truth[0]).max() < 1.5 and np.abs(found[1] - truth[1]).max() < 1.5


def test_lesions_are_new_persisting_or_not_seen_and_the_bsi_change_is_the_difference(nm1_pair):
    baseline, late = nm1_pair
    result = follow_up.compare(baseline, late)
    change = result.views["ANT"]
    by_place = {(round(lesion.centroid_row), round(lesion.centroid_col)): lesion.id
                for lesion in late.views["ANT"].lesions}
    for row, col, _ in NEW:
        assert change.matches[by_place[(row, col)]] == [], "a lesion only the follow-up shows is new"
        assert result.status_of("ANT", by_place[(row, col)]) == "new"
    persisting = [lesion_id for lesion_id, matched in change.matches.items() if matched]
    assert len(persisting) == len(KEPT) and all(len(change.matches[i]) == 1 for i in persisting)
    gone = next(lesion.id for lesion in baseline.views["ANT"].lesions
                if (round(lesion.centroid_row), round(lesion.centroid_col)) == GONE[:2])
    assert change.seen_again[gone] == [] and result.status_of("ANT", gone, follow_up=False) == "not seen"
    assert (result.new_lesions, result.persisting_lesions, result.lesions_not_seen) == (2, 3, 1)
    assert result.two_or_more_new and result.flags == []
    assert result.bsi_change == pytest.approx(late.bsi_percent - baseline.bsi_percent)
    bones = result.bone_changes()
    assert sum(b - a for a, b in bones.values()) == pytest.approx(result.bsi_change, abs=1e-9)


def test_scans_whose_views_look_named_differently_are_flagged(nm1_pair):
    """One scan flagged views_swapped and the other not: its ANT may be the other's POST (every lesion new or not seen);
    both flagged, the two are named alike and compare as they are."""
    from dataclasses import replace

    from scintiseg.predict.view_labels import VIEWS_SWAPPED_FLAG

    baseline, late = nm1_pair
    swapped = replace(late, qc_flags=[*late.qc_flags, VIEWS_SWAPPED_FLAG])
    assert follow_up.NAMED_DIFFERENTLY_FLAG in follow_up.compare(baseline, swapped).flags
    both = replace(baseline, qc_flags=[*baseline.qc_flags, VIEWS_SWAPPED_FLAG])
    assert follow_up.NAMED_DIFFERENTLY_FLAG not in follow_up.compare(both, swapped).flags


def test_a_view_whose_bones_are_not_named_is_registered_by_its_counts(nm1_scan):
    """Two thoracic crops (no bone named on a partial view), the second taken 5 rows lower and 3 columns to the
    right: the counts' phase correlation finds the move, and a lesion at one anatomical spot persists."""
    ant = nm1_scan.view("ANT")
    first = Scan({"ANT": np.ascontiguousarray(ant[150:406])}, pixel_spacing=nm1_scan.pixel_spacing)
    second = Scan({"ANT": np.ascontiguousarray(ant[155:411, :])}, pixel_spacing=nm1_scan.pixel_spacing)
    second = Scan({"ANT": np.ascontiguousarray(np.roll(second.view("ANT"), 3, axis=1))},
                  pixel_spacing=nm1_scan.pixel_spacing)
    early = _predicted(first, _disc(first.shape, 120, 100, 4))
    late = _predicted(second, _disc(second.shape, 115, 103, 4) | _disc(second.shape, 40, 200, 4))
    assert not early.views["ANT"].regions.named, "the test needs a partial view"
    result = follow_up.compare(early, late)
    registration = result.views["ANT"].registration
    assert registration.method == "counts" and "registered_by_counts_ANT" in result.flags
    assert registration.transform.translation == pytest.approx((-3 * 2.26, 5 * 2.26), abs=4.0)
    assert (result.new_lesions, result.persisting_lesions, result.lesions_not_seen) == (1, 1, 0)
    assert result.bsi_change is None and "bsi_not_given" in result.flags


def test_a_follow_up_stored_head_down_is_turned_before_the_fit(nm1_pair):
    """One scan stored head-down (its maps and outlines on the image as stored, rows reversed): a reflection, which
    the fit alone cannot find; with ``turned`` the follow-up's rows are reversed first and it lies where it lay."""
    from dataclasses import replace

    baseline, _ = nm1_pair
    view = baseline.views["ANT"]
    regions = replace(view.regions, labels=view.regions.labels[::-1], bone=view.regions.bone[::-1],
                      body=view.regions.body[::-1])
    stored = replace(view, labels=view.labels[::-1], regions=regions)
    counts, spacing = baseline.scan.view("ANT"), baseline.scan.pixel_spacing
    straight = follow_up.register_view(view, counts, spacing, stored, counts[::-1], spacing)
    turned = follow_up.register_view(view, counts, spacing, stored, counts[::-1], spacing, turned=True)
    assert straight.uncertain  # a similarity cannot reverse the rows
    assert turned.method == "regions" and not turned.uncertain and turned.record()["turned"]
    rows, cols = np.array([100.0, 500.0, 900.0]), np.array([128.0, 100.0, 150.0])
    found = turned.to_baseline(rows, cols)
    assert np.abs(found[0] - (1023 - rows)).max() < 0.5 and np.abs(found[1] - cols).max() < 0.5


def test_a_lesion_where_the_other_scan_saw_nothing_is_outside_its_field_not_new_or_gone(nm1_scan):
    """A whole-body scan against a thoracic crop of it (rows 150-405), registered by the counts: the femoral lesion
    the crop cannot show is neither 'not seen' (as baseline) nor 'new' (as follow-up)."""
    crop = Scan({"ANT": np.ascontiguousarray(nm1_scan.view("ANT")[150:406])}, pixel_spacing=nm1_scan.pixel_spacing)
    whole = _predicted(nm1_scan, _disc(nm1_scan.shape, 250, 100, 4) | _disc(nm1_scan.shape, 800, 60, 4))
    part = _predicted(crop, _disc(crop.shape, 100, 100, 4))
    forward = follow_up.compare(whole, part)
    assert (forward.persisting_lesions, forward.new_lesions, forward.lesions_not_seen) == (1, 0, 0)
    assert forward.outside_field == (0, 1)
    femur = next(lesion.id for lesion in whole.views["ANT"].lesions if round(lesion.centroid_row) == 800)
    assert forward.status_of("ANT", femur, follow_up=False) == "outside field"
    back = follow_up.compare(part, whole)
    assert (back.persisting_lesions, back.new_lesions, back.lesions_not_seen, back.outside_field) == (1, 0, 0, (1, 0))
    assert not back.two_or_more_new


def test_one_study_compared_with_itself_is_flagged_and_gives_no_pcwg3_count(nm1_scan):
    """Session 62: a scan against its own review (the same Study Instance UID, file or counts) read "2 new", PCWG3's
    condition, unflagged. It is flagged ``same_study`` (saying why) and two new lesions are then no PCWG3 count."""
    from dataclasses import replace

    places = [KEPT[1], *[(row, col, 4) for row, col, _ in NEW]]
    network = _predicted(nm1_scan, _disc(nm1_scan.shape, *KEPT[1]))
    mask = np.zeros(nm1_scan.shape, bool)
    for row, col, radius in places:
        mask |= _disc(nm1_scan.shape, row, col, radius)
    review = _predicted(nm1_scan, mask)
    result = follow_up.compare(network, review)
    assert result.new_lesions == 2 and follow_up.SAME_STUDY_FLAG in result.flags
    assert result.same_study == "the same Study Instance UID" and not result.two_or_more_new

    def study(scan, uid, source, extra=0):
        views = {name: view + extra for name, view in scan.views.items()}
        return replace(scan, study_uid=uid, source=source, metadata={}, views=views)

    copied = _predicted(study(nm1_scan, "", nm1_scan.source), mask)  # the file read again, its UID dropped
    assert follow_up.same_study(network, copied) == "the same scan file"
    renamed = _predicted(study(nm1_scan, "1.2.3", None), mask)  # an anonymised copy: new UID, no file, same counts
    assert follow_up.same_study(network, renamed) == "the same counts in every view"
    later = _predicted(study(nm1_scan, "1.2.4", None, extra=1), mask)  # another acquisition
    assert follow_up.same_study(network, later) is None
    assert follow_up.compare(network, later).two_or_more_new


def _moved_region(view, name: str, rows: int):
    """``view`` with the bone region ``name`` of its map moved ``rows`` rows down (an arm lying otherwise)."""
    from dataclasses import replace

    from scintiseg.predict.regions import REGION_IDS

    labels, bone = view.regions.labels.copy(), view.regions.bone.copy()
    region = labels == REGION_IDS[name]
    labels[region], bone[region & bone] = 0, False
    labels[np.roll(region, rows, axis=0)] = REGION_IDS[name]
    bone |= np.roll(region & view.regions.bone, rows, axis=0)
    return replace(view, regions=replace(view.regions, labels=labels, bone=bone))


def test_a_bone_that_moved_is_set_aside_and_its_lesions_follow_it(nm1_pair):
    """The left humerus 20 rows lower on the follow-up, all else in place: the fit sets it aside (the trunk decides,
    no shift), and a point of that humerus moves by its residual back onto the baseline's humerus."""
    baseline, _ = nm1_pair
    view, counts, spacing = baseline.views["ANT"], baseline.scan.view("ANT"), baseline.scan.pixel_spacing
    registration = follow_up.register_view(view, counts, spacing, _moved_region(view, "humerus_left", 20), counts,
                                           spacing)
    assert registration.method == "regions" and registration.regions_set_aside == ["humerus_left"]
    assert not registration.uncertain and registration.scale == pytest.approx(1.0, abs=0.01)
    rows, cols = registration.to_baseline(np.array([300.0]), np.array([60.0]), "humerus_left")
    assert rows[0] == pytest.approx(280.0, abs=0.5) and cols[0] == pytest.approx(60.0, abs=0.5)
    rows, cols = registration.to_baseline(np.array([300.0]), np.array([60.0]), "pelvis")
    assert rows[0] == pytest.approx(300.0, abs=0.5)


def test_a_lesion_within_the_match_radius_persists_without_touching():
    """Matching by centroids: 18 mm apart (not touching) is one lesion, 22.6 mm apart is a new one."""
    from types import SimpleNamespace

    from skimage.transform import SimilarityTransform

    spacing = (2.26, 2.26)
    registration = follow_up.ViewRegistration(SimilarityTransform(), {}, "regions", [], [], 0.0, spacing, spacing)

    def view(places):
        labels = np.zeros((120, 60), np.int32)
        lesions = []
        for k, (row, col, lesion_id) in enumerate(places, start=1):
            labels[_disc(labels.shape, row, col, 1)] = k
            lesions.append(SimpleNamespace(id=lesion_id, centroid_row=row, centroid_col=col, region="femur_left"))
        return SimpleNamespace(view="ANT", labels=labels, lesions=lesions, coverage=np.ones(labels.shape, bool))

    early = view([(30, 30, 1), (80, 30, 2)])
    late = view([(38, 30, 11), (90, 30, 12)])  # 8 px = 18 mm below lesion 1; 10 px = 22.6 mm below lesion 2
    change = follow_up.compare_view(early, late, registration)
    assert change.matches == {11: [1], 12: []} and change.seen_again == {1: [11], 2: []}


def test_a_pair_counts_as_one_lesion_matched_when_either_view_matches():
    """A follow-up lesion outlined on ANT and POST (a pair) is new only when new in both views, and a baseline pair
    not seen only when neither view sees it: matched on POST alone, it persists and nothing is new or gone."""
    from types import SimpleNamespace

    def prediction(ant_id, post_id):
        views = {"ANT": SimpleNamespace(lesions=[SimpleNamespace(id=ant_id)]),
                 "POST": SimpleNamespace(lesions=[SimpleNamespace(id=post_id)])}
        return SimpleNamespace(views=views, paired_with={ant_id: post_id, post_id: ant_id})

    views = {"ANT": follow_up.ViewChange("ANT", None, {1: []}, {11: []}),
             "POST": follow_up.ViewChange("POST", None, {2: [12]}, {12: [2]})}
    result = follow_up.FollowUp(prediction(11, 12), prediction(1, 2), views)
    assert (result.new_lesions, result.persisting_lesions, result.lesions_not_seen) == (0, 1, 0)
    assert result.status_of("ANT", 1) == "persisting" and result.status_of("ANT", 11, follow_up=False) == "persisting"
    assert not result.two_or_more_new


def test_coverage_that_differs_either_way_is_flagged(nm1_pair):
    """``coverage_differs``: the two scans saw skeletal masses more than COVERAGE_TOLERANCE points apart, whichever
    saw more."""
    from dataclasses import replace

    baseline, _ = nm1_pair
    view = baseline.views["ANT"]
    half = {bone: {**row, "covered_fraction": row["covered_fraction"] / 2} for bone, row in view.bsi["bones"].items()}
    narrow = replace(baseline, views={"ANT": replace(view, bsi={**view.bsi, "bones": half})})
    assert baseline.covered_mass_percent - narrow.covered_mass_percent > 2 * follow_up.COVERAGE_TOLERANCE
    assert "coverage_differs" in follow_up.compare(baseline, narrow).flags
    assert "coverage_differs" in follow_up.compare(narrow, baseline).flags
    assert "coverage_differs" not in follow_up.compare(baseline, baseline).flags


def _square(row: float, col: float, label: str, half: float = 4.0):
    from scintiseg.scan import Shape

    return Shape(label, [[col - half, row - half], [col + half, row - half], [col + half, row + half],
                         [col - half, row + half]])


def test_a_baseline_lesion_whose_place_the_follow_ups_reader_relabelled_is_named_and_still_not_seen(nm1_pair):
    """Audit 74, finding 8: a baseline call the follow-up's reader relabelled ``bladder`` was listed "not seen", read as
    resolved. It stays not seen (nothing is outlined there) and carries the label, matched as a lesion is, on the
    follow-up's own matrix (moved and turned); an outline so labelled over a persisting lesion, or far from every
    baseline lesion, names none."""
    baseline, late = nm1_pair
    rows, cols = np.mgrid[: late.scan.shape[0], : late.scan.shape[1]].astype(float)
    on_baseline = _follow_up_to_baseline(rows, cols)

    def follow_up_place(row, col):
        at = np.unravel_index(np.argmin(np.hypot(on_baseline[0] - row, on_baseline[1] - col)), rows.shape)
        return float(at[0]), float(at[1])

    shapes = [_square(*follow_up_place(*GONE[:2]), "Bladder"), _square(*follow_up_place(*KEPT[0][:2]), "degenerative"),
              _square(60.0, 40.0, "artefact")]
    result = follow_up.compare(baseline, late, {"ANT": shapes})
    gone = next(lesion.id for lesion in baseline.views["ANT"].lesions
                if (round(lesion.centroid_row), round(lesion.centroid_col)) == GONE[:2])
    assert result.relabelled == {"ANT": {gone: ["bladder"]}}
    assert (result.lesions_not_seen, result.not_seen_relabelled) == (1, 1)
    unlabelled = follow_up.compare(baseline, late)
    assert unlabelled.relabelled == {} and unlabelled.not_seen_relabelled == 0


def _two_view_pair(ant: list[tuple[int, int, int]], post: list[tuple[int, int, int]], pairs: dict[int, int]):
    """A stand-in prediction with ANT and POST lesions (row, col, id) on a 120 x 60 image, ``pairs`` ANT id -> POST id."""
    from types import SimpleNamespace

    def view(name, places):
        labels = np.zeros((120, 60), np.int32)
        lesions = []
        for k, (row, col, lesion_id) in enumerate(places, start=1):
            labels[_disc(labels.shape, row, col, 2)] = k
            lesions.append(SimpleNamespace(id=lesion_id, centroid_row=row, centroid_col=col, region="pelvis"))
        return SimpleNamespace(view=name, labels=labels, lesions=lesions, coverage=np.ones(labels.shape, bool),
                               regions=SimpleNamespace(region_of=lambda mask: "pelvis"))

    return SimpleNamespace(views={"ANT": view("ANT", ant), "POST": view("POST", post)},
                           paired_with={**pairs, **{b: a for a, b in pairs.items()}})


def test_a_relabelled_place_names_both_outlines_of_a_baseline_pair_and_counts_the_lesion_once():
    """The follow-up's reader relabelled the POST outline's place of a baseline ANT-POST pair: both outlines name the
    label (one lesion), the count of not-seen lesions relabelled is one; the unpaired lesion elsewhere names none."""
    from skimage.transform import SimilarityTransform

    spacing = (2.26, 2.26)
    registration = follow_up.ViewRegistration(SimilarityTransform(), {}, "regions", [], [], 0.0, spacing, spacing)
    early = _two_view_pair([(30, 30, 1), (90, 30, 3)], [(30, 30, 2)], {1: 2})
    late = _two_view_pair([], [], {})
    views = {name: follow_up.compare_view(early.views[name], late.views[name], registration) for name in early.views}
    result = follow_up.FollowUp(early, late, views)
    result.relabelled = follow_up.relabelled_baseline(result, {"POST": [_square(31.0, 29.0, "bladder")]})
    assert result.relabelled == {"POST": {2: ["bladder"]}, "ANT": {1: ["bladder"]}}
    assert (result.lesions_not_seen, result.not_seen_relabelled) == (2, 1)


def test_a_follow_up_lesion_persisting_through_its_pairs_other_outline_names_it():
    """Audit 74, finding 8: follow-up ANT lesion 1 matches nothing on ANT but persists because its POST outline 2
    matches baseline POST lesion 12; the comparison names that outline and lesion (before, "–")."""
    from types import SimpleNamespace

    def prediction(ids: dict[str, list[int]], pairs: dict[int, int]):
        views = {name: SimpleNamespace(lesions=[SimpleNamespace(id=i) for i in found]) for name, found in ids.items()}
        return SimpleNamespace(views=views, paired_with={**pairs, **{b: a for a, b in pairs.items()}})

    views = {"ANT": follow_up.ViewChange("ANT", None, {1: [], 5: []}, {11: []}),
             "POST": follow_up.ViewChange("POST", None, {2: [12]}, {12: [2]})}
    result = follow_up.FollowUp(prediction({"ANT": [11], "POST": [12]}, {11: 12}),
                                prediction({"ANT": [1, 5], "POST": [2]}, {1: 2}), views)
    assert result.persists_through("ANT", 1) == ("POST", 2, [12])
    assert result.persists_through("POST", 2) is None  # matched on its own view
    assert result.persists_through("ANT", 5) is None and result.status_of("ANT", 5) == "new"
