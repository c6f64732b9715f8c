"""Hybrid cases (phantom/hybrid.py): thinning and Poisson excess statistics, the visibility rule, negative
controls, mirrored POST placement, determinism, the real NM1 source, centres placed by metastatic site and a known
normal scan's hot bone, long bones' lesions near the girdle."""

import math

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.phantom.hybrid import (
    PILE_UP,
    HybridConfig,
    bone_axis_deg,
    lesion_footprint,
    make_hybrid_case,
    prepare_source,
    proximal_part,
    site_weights_map,
    smoothed,
)
from scintiseg.phantom.patient import ROSE_K
from scintiseg.phantom.regions import REGION_NAMES
from scintiseg.phantom.sites import PROXIMAL_FRACTION, region_shares
from scintiseg.scan import Scan

#: A synthetic source has no bladder: the percentile rule for the source's own hot spots is switched off.
CONFIG = HybridConfig(hot_percentile=100.0)
SOFT, BONE = 30.0, 60.0
BAR_COLS = slice(24, 36)  # off-centre, so that the mirrored POST place is elsewhere


def bar_scan(two_views: bool = False, seed: int = 0) -> Scan:
    """Poisson counts of a flat body (SOFT) with one vertical bone bar (BONE); POST = the mirrored ANT."""
    expected = np.zeros((160, 96))
    expected[8:-8, 8:-8] = SOFT
    expected[24:-24, BAR_COLS] = BONE
    ant = np.random.default_rng(seed).poisson(expected).astype(np.uint16)
    views = {"ANT": ant, "POST": np.ascontiguousarray(ant[:, ::-1])} if two_views else {"ANT": ant}
    return Scan(views, pixel_spacing=(2.26, 2.26), patient_id="BAR")


def flat_scan(level: float = 50.0, seed: int = 0) -> Scan:
    expected = np.zeros((256, 128))
    expected[8:-8, 8:-8] = level
    return Scan({"ANT": np.random.default_rng(seed).poisson(expected).astype(np.int16)}, patient_id="FLAT")


def test_thinning_keeps_poisson_statistics_on_a_flat_region():
    level, fraction = 50.0, 0.25
    source = prepare_source(flat_scan(level), CONFIG)
    case = make_hybrid_case(source, fraction, seed=3, negative=True)
    inner = case.scan.view("ANT")[16:-16, 16:-16].astype(np.float64)
    # Binomial(Poisson(lambda), p) ~ Poisson(p lambda): mean == variance == p lambda (about 21,000 pixels)
    assert inner.mean() == pytest.approx(fraction * level, rel=0.02)
    assert inner.var() == pytest.approx(inner.mean(), rel=0.06)
    # scaling instead of thinning would give variance p^2 lambda: far below the mean
    assert inner.var() > 0.8 * inner.mean()


def test_excess_is_poisson_inside_the_blurred_footprint_only():
    source = prepare_source(bar_scan(), CONFIG)
    observed = expected = 0.0
    for seed in range(12):
        case = make_hybrid_case(source, 0.5, seed)
        control = make_hybrid_case(source, 0.5, seed, negative=True)  # same seed and level: same thinning
        added = case.scan.view("ANT").astype(np.int64) - control.scan.view("ANT").astype(np.int64)
        support = case.excess["ANT"] > 0
        assert case.lesions and (added >= 0).all()
        assert not added[~support].any(), "counts added outside the PSF-blurred footprint"
        observed += added.sum()
        expected += float(case.excess["ANT"].sum())
        for lesion in case.lesions:
            # total expected excess = (contrast - 1) x local uptake x footprint area (the PSF keeps the sum)
            want = (lesion["contrast"] - 1.0) * lesion["uptake"]["ANT"] * lesion["footprint_px"]["ANT"]
            assert lesion["excess_counts"]["ANT"] == pytest.approx(want, rel=1e-3)
            # the local uptake is that of the thinned bone (0.5 x BONE), not of the soft tissue
            assert 0.7 * 0.5 * BONE < lesion["uptake"]["ANT"] < 1.1 * 0.5 * BONE
    # the sum of independent Poisson excesses is Poisson(sum of expectations)
    assert abs(observed - expected) < 4.0 * math.sqrt(expected)


def test_lesions_lie_on_the_skeleton_inside_the_placement_window():
    within = np.zeros((160, 96), dtype=bool)
    within[60:100] = True
    source = prepare_source(bar_scan(), CONFIG, within=within)
    for seed in range(8):
        case = make_hybrid_case(source, 1.0, seed)
        for lesion in case.lesions:
            r, c = lesion["centre"]
            assert 60 <= r < 100 and BAR_COLS.start <= c < BAR_COLS.stop
        lesion_pixels = case.instances["ANT"] > 0
        assert lesion_pixels[:, : BAR_COLS.start - 4].sum() == 0 and lesion_pixels[:, BAR_COLS.stop + 4 :].sum() == 0


def _rose_snr(case, control) -> float:
    """The phantom's Rose SNR of a case's only lesion, recomputed from its excess and the control's counts."""
    excess = case.excess["ANT"]
    own = (excess >= 0.5 * excess.max()) & (excess > 0)
    background = smoothed(control.scan.view("ANT"), CONFIG.uptake_sigma_px)
    return float(excess[own].sum()) / math.sqrt(float(background[own].sum()))


@pytest.mark.parametrize("contrast, size_mm, fraction, visible", [(1.05, 5.0, 0.1, False), (6.0, 15.0, 1.0, True)])
def test_mask_follows_the_rose_visibility_rule(contrast, size_mm, fraction, visible):
    config = CONFIG.updated({"contrast": [contrast, contrast], "size_mm": [size_mm, size_mm], "lesions_per_case": [1, 1]})
    source = prepare_source(bar_scan(), config)
    case = make_hybrid_case(source, fraction, seed=5)
    control = make_hybrid_case(source, fraction, seed=5, negative=True)
    (lesion,) = case.lesions
    snr = _rose_snr(case, control)
    assert lesion["snr"]["ANT"] == pytest.approx(snr, abs=1e-3)  # stored to 3 decimals
    assert lesion["visible"]["ANT"] is visible is (snr >= ROSE_K)
    assert case.instances["ANT"].any(), "every inserted lesion is in the instance map"
    assert bool(case.masks["ANT"].any()) is visible
    if visible:
        assert np.array_equal(case.masks["ANT"], case.instances["ANT"] > 0)
    assert case.abnormal is visible


def test_negative_control_holds_no_lesion():
    scan = bar_scan()
    source = prepare_source(scan, CONFIG)
    case = make_hybrid_case(source, 0.5, seed=1, negative=True)
    assert case.lesions == [] and not case.abnormal
    assert not case.masks["ANT"].any() and not case.instances["ANT"].any() and not case.excess["ANT"].any()
    counts = case.scan.view("ANT").astype(np.int64)
    source_counts = scan.view("ANT").astype(np.int64)
    assert (counts <= source_counts).all(), "thinning only removes counts"
    assert counts.sum() == pytest.approx(0.5 * source_counts.sum(), rel=0.01)
    full = make_hybrid_case(source, 1.0, seed=1, negative=True)
    assert np.array_equal(full.scan.view("ANT"), scan.view("ANT")), "100 % is the source itself"


def test_same_seed_same_arrays_and_same_lesions_at_every_count_level():
    source = prepare_source(bar_scan(two_views=True), CONFIG)
    first, again = make_hybrid_case(source, 0.25, seed=7), make_hybrid_case(source, 0.25, seed=7)
    for view in ("ANT", "POST"):
        assert np.array_equal(first.scan.view(view), again.scan.view(view))
        assert np.array_equal(first.masks[view], again.masks[view])
    assert first.lesions == again.lesions
    other = make_hybrid_case(source, 0.25, seed=8)
    assert not np.array_equal(first.scan.view("ANT"), other.scan.view("ANT"))
    lower = make_hybrid_case(source, 0.1, seed=7)
    drawn = ("shape", "contrast", "size_mm", "centre", "distance_mm")
    assert [{k: les[k] for k in drawn} for les in lower.lesions] == [{k: les[k] for k in drawn} for les in first.lesions]
    assert not np.array_equal(lower.scan.view("ANT"), first.scan.view("ANT"))


def test_post_lesion_is_the_mirror_of_the_ant_lesion():
    config = CONFIG.updated({"contrast": [5.0, 5.0], "size_mm": [12.0, 12.0], "lesions_per_case": [1, 1]})
    source = prepare_source(bar_scan(two_views=True), config)
    case = make_hybrid_case(source, 1.0, seed=2)
    width = case.scan.shape[1]
    ant_rows, ant_cols = np.nonzero(case.instances["ANT"])
    post_rows, post_cols = np.nonzero(case.instances["POST"])
    assert post_rows.mean() == pytest.approx(ant_rows.mean(), abs=1.0)
    assert post_cols.mean() == pytest.approx(width - 1 - ant_cols.mean(), abs=1.0)
    assert case.lesions[0]["visible"] == {"ANT": True, "POST": True}


def test_footprint_shapes():
    rng = np.random.default_rng(0)
    round_ = lesion_footprint("round", (10.0, 10.0), 0.0, rng, supersample=5)
    assert round_.sum() == pytest.approx(math.pi * 25.0, rel=0.12)  # lobes 0.1: nearly a disc of radius 5
    elongated = lesion_footprint("elongated", (16.0, 16.0), 90.0, rng, width_px=(4.0, 4.0), supersample=5)
    capsule = 12.0 * 4.0 + math.pi * 4.0
    assert elongated.sum() == pytest.approx(capsule, rel=0.08)
    rows, cols = np.nonzero(elongated > 0.5)
    assert np.ptp(rows) > 3 * np.ptp(cols), "an axis of 90 degrees runs along the rows"
    with pytest.raises(ScintisegError, match="unknown lesion shape"):
        lesion_footprint("square", (4.0, 4.0), 0.0, rng)


def test_bone_axis_follows_a_diagonal_ridge():
    rows, cols = np.mgrid[0:41, 0:41]
    ridge = np.exp(-((rows - cols) ** 2) / 8.0)  # bright along the diagonal row == col
    assert abs(abs(bone_axis_deg(ridge, (20, 20))) - 45.0) < 3.0 or abs(abs(bone_axis_deg(ridge, (20, 20))) - 135.0) < 3.0


def test_refusals():
    source = prepare_source(flat_scan(), CONFIG)
    with pytest.raises(ScintisegError, match="fraction"):
        make_hybrid_case(source, 1.5, seed=0)
    with pytest.raises(ScintisegError, match="no skeleton pixel"):
        make_hybrid_case(source, 0.5, seed=0)  # a flat image has no bone
    with pytest.raises(ScintisegError, match="integer counts"):
        prepare_source(Scan({"ANT": np.full((64, 32), 2.5, dtype=np.float32)}))


def test_nm1_hybrid_case_places_lesions_on_bone_away_from_its_own_hot_spots(real_nm1):
    scan = read_scan(real_nm1)
    source = prepare_source(scan)
    ant = source.views["ANT"]
    assert ant.hot[226:240, 125:140].any(), "NM1's manubrium is one of its own hot spots"
    case = make_hybrid_case(source, 0.25, seed=0)
    assert set(case.scan.views) == {"ANT"}  # NM1 has one view
    for lesion in case.lesions:
        r, c = lesion["centre"]
        assert ant.skeleton[r, c] and not ant.hot[r, c]
    added = float(case.excess["ANT"].sum())
    assert case.scan.view("ANT").sum() == pytest.approx(0.25 * scan.view("ANT").sum() + added, rel=0.01)


def test_the_lesion_excess_is_poisson_sampled_not_rounded():
    """Counts added minus the expected excess: Poisson noise, variance equal to the expectation (rounding the
    excess would leave a variance under 1/4 per pixel)."""
    source = prepare_source(bar_scan(), CONFIG)
    squares = expected = 0.0
    for seed in range(6):
        case = make_hybrid_case(source, 0.5, seed)
        control = make_hybrid_case(source, 0.5, seed, negative=True)
        added = case.scan.view("ANT").astype(np.float64) - control.scan.view("ANT").astype(np.float64)
        squares += float(((added - case.excess["ANT"]) ** 2).sum())
        expected += float(case.excess["ANT"].sum())
    assert squares == pytest.approx(expected, rel=0.25)


def test_the_post_excess_is_centred_on_the_mirror_of_the_ant_excess():
    """POST's place is column width - 1 - c of ANT's (a pixel's mirror): the excess centroids mirror exactly."""
    from scipy import ndimage

    config = CONFIG.updated({"contrast": [5.0, 5.0], "size_mm": [12.0, 12.0], "lesions_per_case": [1, 1]})
    source = prepare_source(bar_scan(two_views=True), config)
    for seed in range(3):
        case = make_hybrid_case(source, 1.0, seed=seed)
        width = case.scan.shape[1]
        ant, post = (ndimage.center_of_mass(case.excess[view]) for view in ("ANT", "POST"))
        assert post[0] == pytest.approx(ant[0], abs=0.05)
        assert post[1] == pytest.approx(width - 1 - ant[1], abs=0.05)


def test_the_psf_sigma_is_rows_then_columns_in_pixels():
    """Non-square pixels (2 mm rows, 4 mm columns): the same PSF in mm is twice as many row pixels as column ones."""
    from scintiseg.phantom.hybrid import psf_sigma_px

    rows, cols = psf_sigma_px(100.0, (2.0, 4.0))
    assert rows == pytest.approx(2.0 * cols)


# --- Where metastases go: lesion centres weighted by a region map; a known-normal scan's hot bone (session 71) ---

REGION_IDS = {name: region_id for region_id, name in REGION_NAMES.items()}
SPINE, FEMUR = REGION_IDS["thoracic_spine"], REGION_IDS["femur_left"]


def two_bars_scan() -> tuple[Scan, np.ndarray]:
    """A narrow bar (labelled thoracic spine) and a bar three times as wide (labelled left femur), same uptake (3 x
    the soft tissue: skeleton across their width, not only at their edges)."""
    expected = np.zeros((160, 128))
    expected[8:-8, 8:-8] = SOFT
    expected[24:-24, 20:28] = 3 * SOFT
    expected[24:-24, 60:84] = 3 * SOFT
    labels = np.zeros((160, 128), dtype=np.int16)
    labels[20:-20, 16:32], labels[20:-20, 56:88] = SPINE, FEMUR
    scan = Scan({"ANT": np.random.default_rng(0).poisson(expected).astype(np.uint16)}, pixel_spacing=(2.26, 2.26))
    return scan, labels


def test_site_weights_give_each_region_its_share_of_the_centres_whatever_its_area():
    scan, labels = two_bars_scan()
    source = prepare_source(scan, CONFIG, regions={"ANT": labels})
    view = source.views["ANT"]
    shares = region_shares()
    # the weight map: each region's allowed pixels sum to its share, nothing off them or on unnamed pixels
    assert view.weights[view.allowed & (labels == SPINE)].sum() == pytest.approx(shares["thoracic_spine"])
    assert view.weights[view.allowed & (labels == FEMUR)].sum() == pytest.approx(shares["femur_left"])
    assert not view.weights[~view.allowed | (labels == 0)].any()
    assert np.array_equal(site_weights_map(labels, view.allowed), view.weights)
    on_spine = on_femur = 0
    for seed in range(40):
        for lesion in make_hybrid_case(source, 1.0, seed).lesions:
            region = labels[tuple(lesion["centre"])]
            on_spine, on_femur = on_spine + (region == SPINE), on_femur + (region == FEMUR)
    # by share 0.183 : 0.036, 84 % on the spine; uniform by allowed area would put about a quarter there
    assert on_spine + on_femur >= 60 and on_spine / (on_spine + on_femur) > 0.7
    uniform = prepare_source(scan, CONFIG)
    assert uniform.views["ANT"].weights is None
    spread = [labels[tuple(lesion["centre"])] for seed in range(40) for lesion in make_hybrid_case(uniform, 1.0, seed).lesions]
    assert spread.count(SPINE) / len(spread) < 0.4


def test_a_known_normal_scan_opens_its_hot_bone_to_lesions_but_not_hot_spots_off_the_bones():
    scan, labels = two_bars_scan()
    counts = scan.view("ANT").astype(np.int64)
    rng = np.random.default_rng(1)
    counts[70:80, 20:28] = rng.poisson(6 * SOFT, (10, 8))     # a hot vertebra: a normal variant
    counts[100:110, 100:110] = rng.poisson(40 * SOFT, (10, 10))  # an injection site in soft tissue, no bone named
    scan = Scan({"ANT": counts.astype(np.uint16)}, pixel_spacing=scan.pixel_spacing)
    config = HybridConfig()  # the percentile rule on: the injection site is the hottest half percent
    unknown = prepare_source(scan, config, regions={"ANT": labels}).views["ANT"]
    normal = prepare_source(scan, config, regions={"ANT": labels}, known_normal=True).views["ANT"]
    assert unknown.hot[75, 24] and not unknown.allowed[70:80, 20:28].any()
    assert not normal.hot[75, 24] and normal.allowed[72:78, 22:26].all()
    assert unknown.hot[105, 105] and normal.hot[105, 105]
    # soft tissue seen over a named bone (an injection site at the elbow, urine), far hotter than any normal bone,
    # stays excluded on a known-normal scan: above normal_hot_cap x the named bones' median
    labels_over = labels.copy()
    labels_over[90:120, 90:120] = FEMUR  # the spot and its blurred rim, which would otherwise stay hot and grow over it
    capped = prepare_source(scan, config, regions={"ANT": labels_over}, known_normal=True).views["ANT"]
    assert capped.hot[105, 105] and not capped.hot[75, 24]
    uncapped = prepare_source(scan, HybridConfig(normal_hot_cap=100.0), regions={"ANT": labels_over},
                              known_normal=True).views["ANT"]
    assert not uncapped.hot[105, 105]  # the cap, not the map, keeps it out
    # without a map the flag changes nothing: no bone is known to be normal
    assert np.array_equal(prepare_source(scan, config, known_normal=True).views["ANT"].hot, unknown.hot)
    with pytest.raises(ScintisegError, match="region map"):
        prepare_source(scan, config, regions={"ANT": labels[:-1]})


def test_with_no_weighted_pixel_free_the_centres_fall_uniformly_on_the_allowed_ones():
    """A map naming only regions with no share of metastases (here all forearm) leaves no weighted pixel: the
    lesions are still placed, uniformly, rather than none."""
    scan, labels = two_bars_scan()
    forearm = np.where(labels > 0, REGION_IDS["forearm_left"], 0).astype(np.int16)
    source = prepare_source(scan, CONFIG, regions={"ANT": forearm})
    assert source.views["ANT"].weights is not None and not source.views["ANT"].weights.any()
    placed = [labels[tuple(lesion["centre"])] for seed in range(20) for lesion in make_hybrid_case(source, 1.0, seed).lesions]
    assert len(placed) >= 20 and {SPINE, FEMUR} <= set(placed)


def test_site_weights_are_shares_of_what_within_leaves_free():
    """``within`` (a model's window) and a region map together: the weights are spread over the free pixels inside
    the window only, so every centre lies inside it, each region still drawing its share of them."""
    scan, labels = two_bars_scan()
    within = np.zeros(labels.shape, dtype=bool)
    within[90:130] = True
    source = prepare_source(scan, CONFIG, within=within, regions={"ANT": labels})
    view = source.views["ANT"]
    assert not view.weights[~within].any()
    assert view.weights[labels == SPINE].sum() == pytest.approx(region_shares()["thoracic_spine"])
    rows = [lesion["centre"][0] for seed in range(20) for lesion in make_hybrid_case(source, 1.0, seed).lesions]
    assert rows and all(90 <= row < 130 for row in rows)


def test_a_known_normal_scans_hot_bone_opens_on_post_too_so_the_mirrored_lesion_keeps_its_footprint():
    """POST (stored as acquired, mirrored) gets its own map: its hot vertebra at the mirrored column opens with
    ``known_normal`` as ANT's does (without a POST map it stays a hot spot), so a lesion placed there on ANT has on
    POST the same footprint, clipped to the same bone."""
    scan = bar_scan(two_views=True)
    ant, post = scan.view("ANT").astype(np.int64), scan.view("POST").astype(np.int64)
    rng = np.random.default_rng(2)
    ant[60:100, BAR_COLS] = rng.poisson(3 * BONE, (40, BAR_COLS.stop - BAR_COLS.start))
    mirrored = slice(96 - BAR_COLS.stop, 96 - BAR_COLS.start)
    post[60:100, mirrored] = rng.poisson(3 * BONE, (40, mirrored.stop - mirrored.start))
    scan = Scan({"ANT": ant.astype(np.uint16), "POST": post.astype(np.uint16)}, pixel_spacing=scan.pixel_spacing)
    labels = np.zeros((160, 96), dtype=np.int16)
    labels[20:-20, BAR_COLS] = SPINE
    post_labels = np.ascontiguousarray(labels[:, ::-1])
    within = np.zeros((160, 96), dtype=bool)
    within[70:90] = True  # centres on the hot stretch
    config = HybridConfig()
    both = prepare_source(scan, config, within=within, regions={"ANT": labels, "POST": post_labels}, known_normal=True)
    ant_only = prepare_source(scan, config, within=within, regions={"ANT": labels}, known_normal=True)
    assert not both.views["POST"].hot[80, mirrored].any() and ant_only.views["POST"].hot[80, mirrored].all()
    ratios = [lesion["footprint_px"]["POST"] / lesion["footprint_px"]["ANT"]
              for seed in range(6) for lesion in make_hybrid_case(both, 1.0, seed).lesions]
    assert len(ratios) >= 6 and all(0.8 < ratio < 1.25 for ratio in ratios)


def long_bone_map(girdle: str | None, girdle_rows: slice, bone: str = "femur_left") -> np.ndarray:
    """A vertical long bone (rows 50-189, columns 30-39) and optionally its girdle's region at ``girdle_rows``."""
    labels = np.zeros((200, 100), dtype=np.int16)
    if girdle is not None:
        labels[girdle_rows, 20:80] = REGION_IDS[girdle]
    labels[50:190, 30:40] = REGION_IDS[bone]
    return labels


@pytest.mark.parametrize("girdle, girdle_rows, bone, proximal_rows", [
    ("pelvis", slice(20, 40), "femur_left", (50, 99)),  # hip above: the upper end
    ("pelvis", slice(192, 200), "femur_left", (141, 190)),  # the map upside down: the end toward the pelvis
    (None, slice(0, 0), "femur_left", (50, 99)),  # no girdle in view: the upper end (the phantom's rule)
    ("scapula_right", slice(192, 200), "humerus_right", (141, 190)),  # a raised arm: the shoulder end, below
    ("scapula_left", slice(192, 200), "humerus_right", (141, 190)),  # the other side's girdle anchors it too
    ("clavicle_right", slice(192, 200), "humerus_right", (141, 190)),  # a clavicle alone is enough
])
def test_a_long_bones_proximal_part_is_its_third_toward_its_girdle(girdle, girdle_rows, bone, proximal_rows):
    labels = long_bone_map(girdle, girdle_rows, bone)
    part = proximal_part(labels, REGION_IDS[bone])
    rows = np.flatnonzero(part.any(axis=1))
    assert (rows.min(), rows.max() + 1) == proximal_rows
    assert part[rows.min(), 30:40].all() and not (part & (labels != REGION_IDS[bone])).any()
    # about PROXIMAL_FRACTION of the bone's 140 rows (the length between its 1st and 99th percentiles)
    assert abs(len(rows) - PROXIMAL_FRACTION * 140) <= 2


def test_a_femurs_share_of_the_centres_goes_to_its_proximal_part_unless_none_of_it_is_free():
    labels = long_bone_map("pelvis", slice(20, 40))
    femur = labels == FEMUR
    weights = site_weights_map(labels, labels > 0)
    near_hip = proximal_part(labels, FEMUR)
    assert weights[near_hip].sum() == pytest.approx(region_shares()["femur_left"]) and not weights[femur & ~near_hip].any()
    assert weights[labels == REGION_IDS["pelvis"]].sum() == pytest.approx(region_shares()["pelvis"])
    # the hip excluded (a hot spot): the share goes to the rest of the femur rather than nowhere
    hip_hot = labels > 0
    hip_hot[near_hip] = False
    weights = site_weights_map(labels, hip_hot)
    assert weights[femur].sum() == pytest.approx(region_shares()["femur_left"]) and weights[femur & ~near_hip].all()


def test_a_hip_mostly_excluded_keeps_at_most_pile_up_times_the_centres_per_pixel_of_a_free_one():
    """A hot hip that leaves 10 of the proximal part's skeleton pixels free: those take PILE_UP times the share a free
    part gives 10 of its pixels (not the whole femur's share piled on them), and the rest of the share spreads over the
    femur's free pixels, the proximal ten included; a part with a third free keeps the whole share."""
    labels = long_bone_map("pelvis", slice(20, 40))
    femur, near_hip = labels == FEMUR, proximal_part(labels, FEMUR)
    share = region_shares()["femur_left"]
    free_per_pixel = share / near_hip.sum()
    allowed = labels > 0
    allowed[near_hip] = False
    left = np.argwhere(near_hip)[:10]
    allowed[left[:, 0], left[:, 1]] = True
    weights = site_weights_map(labels, allowed, possible=labels > 0)
    assert weights[femur].sum() == pytest.approx(share)
    # without the skeleton it could have taken, a part with any free pixel counts as free (the whole share there)
    assert site_weights_map(labels, allowed)[left[:, 0], left[:, 1]].sum() == pytest.approx(share)
    rest = femur & allowed & ~near_hip
    spread = share * (1 - PILE_UP * 10 / near_hip.sum()) / (rest.sum() + 10)
    assert weights[left[:, 0], left[:, 1]] == pytest.approx(PILE_UP * free_per_pixel + spread)
    assert weights[rest] == pytest.approx(spread) and not weights[femur & ~allowed].any()
    # a third of the part free (over 1 / PILE_UP): the whole share on it, as on a free part
    third = labels > 0
    hot = np.argwhere(near_hip)[near_hip.sum() // 3:]
    third[hot[:, 0], hot[:, 1]] = False
    weights = site_weights_map(labels, third, possible=labels > 0)
    assert weights[third & near_hip].sum() == pytest.approx(share) and not weights[femur & ~near_hip].any()


def test_prepare_source_judges_a_sliver_of_free_hip_against_the_skeleton_not_the_allowed_pixels():
    """``prepare_source`` gives the weights the skeleton the proximal part could have offered: a femur's proximal part
    excluded but for one row of its skeleton draws a small share there, not the femur's whole share."""
    scan, labels = two_bars_scan()
    near_hip = proximal_part(labels, FEMUR)
    free = near_hip & prepare_source(scan, CONFIG, regions={"ANT": labels}).views["ANT"].allowed
    free[np.flatnonzero(free.any(axis=1))[1:]] = False  # the part's first free row alone left free
    view = prepare_source(scan, CONFIG, regions={"ANT": labels}, exclude={"ANT": near_hip & ~free}).views["ANT"]
    share = region_shares()["femur_left"]
    sliver = view.allowed & free
    assert sliver.any() and (view.skeleton & near_hip).sum() > 2 * PILE_UP * sliver.sum()
    assert view.weights[view.allowed & (labels == FEMUR)].sum() == pytest.approx(share)
    assert view.weights[sliver].sum() < 0.5 * share and view.weights[view.allowed & (labels == FEMUR) & ~near_hip].any()


def test_a_learned_maps_stray_pixels_neither_stretch_the_bone_nor_take_its_share():
    """A few pixels of the femur's label far from it (a learned map's strays: here beside the pelvis, above the
    bone's upper end, and below its lower end) leave the proximal part what it is without them, and take none of it."""
    labels = long_bone_map("pelvis", slice(20, 40))
    clean = proximal_part(labels, FEMUR)
    strays = labels.copy()
    strays[10, 90], strays[45, 5], strays[198, 95], strays[199, 60] = FEMUR, FEMUR, FEMUR, FEMUR
    assert np.array_equal(proximal_part(strays, FEMUR), clean)


def test_a_stub_of_a_long_bone_cut_by_the_field_is_taken_whole():
    """The field ending just below the hips leaves a femur stub wider than it is long: its principal axis would run
    across the bone, so all of it (near its proximal end anyway) is its proximal part."""
    labels = np.zeros((80, 100), dtype=np.int16)
    labels[10:30, 20:80] = REGION_IDS["pelvis"]
    labels[60:70, 30:42] = FEMUR  # 10 rows seen of a bone 12 columns wide
    assert np.array_equal(proximal_part(labels, FEMUR), labels == FEMUR)
