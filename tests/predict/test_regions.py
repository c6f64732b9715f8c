import numpy as np

from scintiseg.predict.regions import PARTIAL_VIEW_MM, REGION_IDS, REGION_NAMES, estimate_regions, partial_view


def test_nm1_body_extent_and_midline(nm1_scan):
    regions = estimate_regions(nm1_scan.view("ANT"), "ANT")
    # Head top and soles of NM1 found by eye at rows ~86 and ~856 (1.74 m at 2.26 mm).
    assert abs(regions.top - 87) <= 6 and abs(regions.bottom - 855) <= 6
    assert abs(regions.midline - 128) <= 8
    assert regions.flags == []
    # Bone is a minority of the body and every atlas region of the trunk exists.
    assert 0.05 < regions.bone.sum() / regions.body.sum() < 0.5
    for name in ("skull", "thoracic_spine", "ribs_left", "ribs_right", "pelvis", "femur_left", "sternum"):
        assert (regions.labels == REGION_IDS[name]).any(), name


def test_laterality_follows_view_convention():
    image = np.zeros((400, 120), dtype=np.float32)
    image[20:380, 40:80] = 50.0
    ant = estimate_regions(image, "ANT")
    post = estimate_regions(image, "POST")
    assert ant.laterality(10) == "right" and post.laterality(10) == "left"
    assert ant.laterality(ant.midline) == "midline"
    row = 20 + int(0.25 * 360)
    left_col = int(ant.midline - 0.06 * 360)
    assert REGION_NAMES[ant.labels[row, left_col]] == "ribs_right"
    assert REGION_NAMES[post.labels[row, left_col]] in ("ribs_left", "scapula_left")


def test_burned_in_text_beyond_the_body_is_not_the_body_but_a_detached_head_is(nm1_scan):
    """NM1 with a line of text at its top and bottom edges (a screen capture's "ANT" and date), as hot as its
    hottest pixel: the body ends where it did, unflagged (before: rows 1-1022 and ``body_truncated``)."""
    from scintiseg.predict.regions import fit_body

    clean = nm1_scan.view("ANT").astype(np.float32)
    _, top, bottom, midline, flags = fit_body(clean)
    texted = clean.copy()
    texted[2:10, 10:60] = texted[1012:1020, 100:200] = clean.max()
    _, top2, bottom2, midline2, flags2 = fit_body(texted)
    assert (top2, bottom2, flags2) == (top, bottom, flags) == (top, bottom, []) and abs(midline2 - midline) <= 1
    detached = clean.copy()
    detached[top + 40:top + 60] = 0.0  # the neck cut: the head is a piece of its own, 40 rows tall
    _, top3, _, _, _ = fit_body(detached)
    assert top3 == top  # taller than a line of text: still the body


def test_truncated_body_is_flagged():
    image = np.full((200, 60), 30.0, dtype=np.float32)
    assert "body_truncated" in estimate_regions(image, "ANT").flags


def test_empty_image_gives_no_body():
    assert estimate_regions(np.zeros((64, 32)), "ANT").flags == ["no_body"]


def test_fit_body_midline_is_the_median_torso_centre():
    from scintiseg.predict.regions import fit_body

    # A body whose centre steps from column 60 to 70 at row 330: the torso (20-45 % of the height, rows
    # about 260-460) has fewer rows centred at 60 than at 70, so the median is 70 (the mean would be ~66).
    image = np.zeros((1000, 200), dtype=np.float32)
    image[100:330, 30:91] = 100.0
    image[330:900, 40:101] = 100.0
    body, top, bottom, midline, flags = fit_body(image)
    assert flags == [] and abs(top - 100) <= 6 and abs(bottom - 899) <= 6
    rows = body[top + int(0.2 * (bottom - top + 1)):top + int(0.45 * (bottom - top + 1)) + 1]
    centres = [(np.flatnonzero(r)[0] + np.flatnonzero(r)[-1]) / 2.0 for r in rows if r.any()]
    assert midline == float(np.median(centres))
    assert abs(midline - 70) <= 1


def test_a_body_shorter_than_a_metre_is_a_partial_view_with_no_bone_named(nm1_scan):
    whole = estimate_regions(nm1_scan.view("ANT"), "ANT")
    assert partial_view(whole, 2.26) is whole  # NM1: 1.74 m of body
    crop = estimate_regions(nm1_scan.view("ANT")[230:430, 65:125], "ANT")  # 200 rows = 0.45 m
    assert crop.labels.any()  # the atlas, fitted to a crop, names bones anyway (wrongly)
    partial = partial_view(crop, 2.26)
    assert not partial.named and not partial.labels.any() and "partial_view" in partial.flags
    assert np.array_equal(partial.bone, crop.bone)
    assert partial.region_of(np.ones(crop.labels.shape, bool)) == "unnamed" and partial.laterality(5.0) == "unknown"
    # the length in millimetres decides, not the rows: the same 200 rows at 5.6 mm are 1.12 m
    assert partial_view(crop, 1.01 * PARTIAL_VIEW_MM / crop.height) is crop


def _named(view: str, labels=None):
    from scintiseg.predict.regions import SkeletonRegions

    labels = np.zeros((200, 100), np.int16) if labels is None else labels
    return SkeletonRegions(view, labels, labels > 0, np.ones(labels.shape, bool), 0, 199, 50.0)


def test_midline_is_within_one_percent_of_body_height():
    """200 rows of body: up to 2 columns off the midline is ``midline``, 3 columns off is a side."""
    ant = _named("ANT")
    assert ant.laterality(51.9) == ant.laterality(48.1) == "midline"
    assert ant.laterality(53.0) == "left" and ant.laterality(47.0) == "right"


def test_a_view_named_view_has_the_anterior_sides():
    """A view neither ANT nor POST is read as anterior: the patient's right on the image left."""
    assert _named("VIEW").laterality(10.0) == _named("ANT").laterality(10.0) == "right"
    assert _named("POST").laterality(10.0) == "left"


def test_region_of_ignores_soft_tissue_under_the_mask():
    """A mask mostly on soft tissue (``other``) with a few pixels on a rib is on that rib."""
    labels = np.zeros((200, 100), np.int16)
    labels[50:52, 20:23] = REGION_IDS["ribs_right"]
    mask = np.zeros(labels.shape, bool)
    mask[45:60, 15:30] = True
    assert _named("ANT", labels).region_of(mask) == "ribs_right"
    assert _named("ANT", labels).region_of(~(labels > 0) & mask) == "other"
