import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.prepare.body import MAX_BODY_FRACTION, MIN_WHOLE_BODY_FRACTION, body_mask, body_rows, smoothed_counts


def test_real_scan_body_is_one_patient_sized_region(real_scan):
    mask = body_mask(real_scan.view("ANT"), real_scan.pixel_spacing)
    rows = np.flatnonzero(mask.any(axis=1))
    # The NM1 patient spans about rows 90 to 860 (crown to feet), never the empty top and bottom.
    assert 70 <= rows[0] <= 110 and 830 <= rows[-1] <= 880
    assert not mask[:60].any() and not mask[900:].any()
    # The gap between the legs at row 600 (columns ~125-140) is background.
    assert not mask[600, 128:136].any()


def test_blank_image_is_an_error():
    with pytest.raises(ScintisegError, match="no body"):
        body_mask(np.zeros((512, 256), dtype=np.uint16))


def test_uniform_noise_is_an_error():
    noise = np.random.default_rng(0).poisson(20.0, size=(512, 256))
    with pytest.raises(ScintisegError, match="no body outline"):
        body_mask(noise)


def test_point_source_is_not_a_body():
    image = np.zeros((512, 256), dtype=np.uint16)
    image[100:103, 100:103] = 500
    with pytest.raises(ScintisegError, match="no body"):
        body_mask(image)


def test_unchecked_blank_gives_empty_mask():
    assert not body_mask(np.zeros((64, 64)), check=False).any()


def test_a_low_count_scan_with_a_noisy_background_still_has_its_body():
    """0.25 counts per pixel of background around a body of 1.35 counts per pixel with a spine of 3.35 (a fast or
    under-dosed scan, as the domain-randomised phantom makes them): every smoothed pixel lies above 5 % of p99,
    so the first threshold takes the whole frame; measured from the background, the body is found along its
    outline (module docstring)."""
    rng = np.random.default_rng(3)
    rows, cols = np.mgrid[:1024, :256]
    body = ((rows - 520) / 430.0) ** 2 + ((cols - 128) / 70.0) ** 2 <= 1.0
    expected = 0.25 + 1.1 * body
    expected[150:850, 120:136] += 2.0  # the spine: about 4 % of the frame, it sets p99
    image = rng.poisson(expected)
    share = float(body.mean())
    mask = body_mask(image, (2.26, 2.26))
    iou = (mask & body).sum() / (mask | body).sum()
    assert 0.8 * share < mask.mean() < 1.3 * share and iou > 0.8
    smooth = smoothed_counts(image, (5.0 / 2.26, 5.0 / 2.26))
    assert (smooth > 0.05 * np.percentile(smooth, 99)).mean() > MAX_BODY_FRACTION  # the first threshold fails here


def test_body_rows_hold_the_whole_patient_and_the_margin_only(real_scan):
    """NM1's body runs from about row 88 to 854 (the body mask's rows); the rows found hold all of it, 40 mm
    (18 rows) of margin, two blocks of 4 rows at most beyond, and none of the empty top and bottom."""
    ant = real_scan.view("ANT")
    rows = np.flatnonzero(body_mask(ant, real_scan.pixel_spacing).any(axis=1))
    first, stop = body_rows(ant, real_scan.pixel_spacing)
    assert _within_a_block((first, stop), rows[0], rows[-1] + 1, 18)
    assert ant[:first].sum() < 0.001 * ant.sum() and ant[stop:].sum() < 0.001 * ant.sum()


def _within_a_block(found: tuple[int, int], first: int, stop: int, margin: int) -> bool:
    """Rows [first, stop) with ``margin`` rows on each side, found to within two blocks of 4 rows outwards."""
    return first - margin - 8 <= found[0] <= first - margin and stop + margin <= found[1] <= stop + margin + 8


def test_body_rows_keep_a_separate_bright_spot_and_everything_of_a_flood_or_a_blank():
    image = np.zeros((1024, 256), dtype=np.float32)
    image[300:700, 80:180] = 20.0
    assert _within_a_block(body_rows(image, (2.26, 2.26)), 300, 700, 18)
    image[950:954, 10:14] = 500.0  # an injection-site marker below the feet, apart from the body
    assert _within_a_block(body_rows(image, (2.26, 2.26)), 300, 954, 18)
    assert body_rows(np.zeros((1024, 256)), (2.26, 2.26)) == (0, 1024)
    flood = np.random.default_rng(0).poisson(20.0, size=(1024, 256))
    assert body_rows(flood, (2.26, 2.26)) == (0, 1024)
    # The margin is in mm: at 4.52 mm it is 9 rows.
    assert _within_a_block(body_rows(image[:800:2, ::2] * 4, (4.52, 4.52)), 150, 350, 9)


def test_body_rows_keep_the_whole_body_beside_a_very_hot_bladder(real_scan):
    """A hot spot 40 times NM1's brightest pixel over 1.8 % of the frame (a urine bag, a hot bladder) does not
    raise the level: the rows are the body's, not the hot spot's (with the 99th percentile as the level they
    shrank to rows 458-582)."""
    ant = real_scan.view("ANT").astype(np.float32)
    plain = body_rows(ant, real_scan.pixel_spacing)
    ant[480:560, 100:160] = ant.max() * 40
    assert body_rows(ant, real_scan.pixel_spacing) == plain


def test_a_hot_bladder_over_one_percent_of_the_frame_does_not_become_the_body(real_scan):
    """A 13.5 cm bladder at 10 times NM1's brightest pixel (1.1 % of the frame) takes the 99th percentile: the first
    body found is the bladder; the third try finds NM1's body again, so the robust scale stays near NM1's own
    (before the third try it was the bladder's, and the networks saw an empty scan)."""
    from scintiseg.prepare.intensity import robust_scale

    ant = real_scan.view("ANT").astype(np.float32)
    rows, cols = np.mgrid[: ant.shape[0], : ant.shape[1]]
    bladder = ((rows - 505) ** 2 + (cols - 128) ** 2) <= 30**2
    hot = ant.copy()
    hot[bladder] = ant.max() * 10
    smooth = smoothed_counts(hot, (5.0 / 2.26, 5.0 / 2.26))
    first = smooth > 0.05 * np.percentile(smooth, 99)
    assert first.mean() < MIN_WHOLE_BODY_FRACTION  # the first threshold keeps the bladder and little else
    plain, found = body_mask(ant), body_mask(hot)
    assert found[bladder].all() and (found & plain).sum() / (found | plain).sum() > 0.9
    assert robust_scale(hot) < 2 * robust_scale(ant)


def test_a_small_cold_lesion_is_filled_a_large_gap_is_not():
    image = np.zeros((400, 200), dtype=np.float32)
    image[50:350, 40:160] = 20.0  # a plain trunk
    image[100:112, 90:102] = 0.0  # a photopenic lesion, 12 x 12 px (about 735 mm^2)
    image[200:300, 70:130] = 0.0  # a gap of 100 x 60 px, far larger than 1,500 mm^2
    mask = body_mask(image)
    assert mask[100:112, 90:102].all()
    assert not mask[230:270, 85:115].any()


def test_a_body_barely_brighter_than_its_surroundings_is_refused():
    image = np.full((400, 200), 3.0, dtype=np.float32)
    image[50:350, 40:160] = 10.0  # inside only 3.3 times the outside
    with pytest.raises(ScintisegError, match="barely exceed"):
        body_mask(image)
