import io
import json

import numpy as np
import pytest
from PIL import Image

from scintiseg.errors import ScintisegError
from scintiseg.prepare.degrade import (
    FRAMINGS,
    MATRICES,
    export_8bit,
    matrix_round_trip,
    random_degradation,
    random_export,
    random_flip,
    random_framing,
    random_matrix,
)

PIXEL_MM = (2.26, 2.26)


@pytest.fixture(scope="module")
def view_and_mask(make_toy_scan):
    scan, _ = make_toy_scan(21)
    image = scan.view("ANT").astype(np.float32)
    mask = np.zeros(image.shape, dtype=bool)
    mask[240:252, 80:92] = True  # a rib lesion, inside the thorax
    return image, mask


# --- export ------------------------------------------------------------------------------------------


def test_export_8bit_maps_the_window_to_255_and_clips_above():
    image = np.array([[0, 10, 20], [40, 80, 100]], dtype=np.float32)
    assert np.array_equal(export_8bit(image), np.rint(255 * image / 100).astype(np.uint8))
    half = export_8bit(image, saturation=0.5)
    assert half.dtype == np.uint8
    assert np.array_equal(half, np.array([[0, 51, 102], [204, 255, 255]], dtype=np.uint8))
    assert not export_8bit(np.zeros((4, 4))).any()
    with pytest.raises(ScintisegError):
        export_8bit(image, saturation=0.0)


def test_export_jpeg_round_trip_is_a_pillow_jpeg(view_and_mask):
    image, _ = view_and_mask
    lossless = export_8bit(image)
    jpeg = export_8bit(image, jpeg_quality=75)
    buffer = io.BytesIO()
    Image.fromarray(lossless, mode="L").save(buffer, format="JPEG", quality=75)
    assert np.array_equal(jpeg, np.asarray(Image.open(io.BytesIO(buffer.getvalue()))))
    assert jpeg.shape == image.shape and jpeg.dtype == np.uint8
    error_75 = np.abs(jpeg.astype(int) - lossless).mean()
    error_30 = np.abs(export_8bit(image, jpeg_quality=30).astype(int) - lossless).mean()
    assert 0 < error_75 < error_30 < 5  # lossy, more so at lower quality, still the same image


def test_random_export_record_matches_the_output(view_and_mask):
    image, _ = view_and_mask
    for seed in range(6):
        out, record = random_export(image, np.random.default_rng(seed), p=0.5)
        if record["export"]:
            expected = export_8bit(image, saturation=record["saturation"], jpeg_quality=record["jpeg_quality"])
            assert np.array_equal(out, expected.astype(np.float32))
            assert 0.3 <= record["saturation"] <= 1.0
            assert record["jpeg_quality"] is None or 60 <= record["jpeg_quality"] <= 95
        else:
            assert np.array_equal(out, image)


# --- matrix ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("acquired_mm", [1.13, 2.6, 4.5])
def test_matrix_round_trip_conserves_counts_and_keeps_the_mask(view_and_mask, acquired_mm):
    image, mask = view_and_mask
    out, out_mask = matrix_round_trip(image, mask, 2.26, acquired_mm)
    assert out.shape == image.shape and out.dtype == np.float32 and out_mask.dtype == bool
    assert out.sum() == pytest.approx(image.sum(), rel=1e-5)
    inner = (slice(230, 262), slice(70, 102))
    assert out[inner].sum() == pytest.approx(image[inner].sum(), rel=0.05)  # counts stay where they were
    rows, cols = np.nonzero(out_mask)
    assert abs(rows.mean() - 245.5) < 1.0 and abs(cols.mean() - 85.5) < 1.0
    assert 0.6 * mask.sum() <= out_mask.sum() <= 1.4 * mask.sum()


def test_coarse_matrix_smooths_fine_matrix_nearly_not(view_and_mask):
    image, mask = view_and_mask

    def noise(x):
        return np.abs(np.diff(x[300:500, 60:200], axis=1)).mean()

    coarse, _ = matrix_round_trip(image, mask, PIXEL_MM, 4.5)
    fine, _ = matrix_round_trip(image, mask, PIXEL_MM, 1.13)
    assert noise(coarse) < 0.7 * noise(image)
    assert noise(fine) > 0.9 * noise(image)
    same, same_mask = matrix_round_trip(image, mask, PIXEL_MM, PIXEL_MM)
    assert np.array_equal(same, image) and np.array_equal(same_mask, mask)


def test_random_matrix_draws_the_documented_ranges():
    rng = np.random.default_rng(0)
    draws = [random_matrix(rng) for _ in range(2000)]
    ranges = {name: span for name, span, _ in MATRICES}
    for name, mm in draws:
        assert ranges[name][0] <= mm <= ranges[name][1]
    shares = {name: sum(n == name for n, _ in draws) / len(draws) for name in ranges}
    for name, _, p in MATRICES:
        assert shares[name] == pytest.approx(p, abs=0.04)


# --- framing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [k for k, _ in FRAMINGS])
def test_each_framing_keeps_image_and_mask_consistent(view_and_mask, kind):
    image, mask = view_and_mask
    for seed in range(6):
        out, out_mask, record = random_framing(image, mask, np.random.default_rng(seed), PIXEL_MM, kind=kind)
        assert out.shape == out_mask.shape and out.dtype == np.float32
        assert record["kind"] == kind and "fallback" not in record
        json.dumps(record)
        if kind == "whole":
            assert np.array_equal(out, image) and np.array_equal(out_mask, mask)
            continue
        top, left, height, width = record["box"]
        box = (slice(top, top + height), slice(left, left + width))
        if record["outside"] == "cut":
            assert out.shape == (height, width)
            inside, inside_mask = out, out_mask
        else:
            assert out.shape == image.shape
            outside = np.ones(image.shape, dtype=bool)
            outside[box] = False
            assert not out[outside].any() and not out_mask[outside].any()
            inside, inside_mask = out[box], out_mask[box]
        kept = inside > 0
        # Inside the box: the original counts or zero (a polygon's cut corners), the mask only where kept.
        assert np.array_equal(inside[kept], image[box][kept])
        assert not (inside_mask & ~mask[box]).any()
        if not record["polygon"]:
            assert np.array_equal(inside, image[box]) and np.array_equal(inside_mask, mask[box])
        if kind in ("thoracic", "half_chest_left", "half_chest_right"):
            assert top < 245 < top + height  # the thorax holds the rib lesion's rows


def test_framing_without_a_body_falls_back_to_whole():
    image = np.zeros((300, 100), dtype=np.float32)
    out, _, record = random_framing(image, np.zeros(image.shape, bool), np.random.default_rng(0), 2.26, kind="pelvis")
    assert record == {"kind": "whole", "fallback": True, "wanted": "pelvis"} and out.shape == image.shape


def test_random_flip_mirrors_image_and_mask_together(view_and_mask):
    image, mask = view_and_mask
    flips = 0
    for seed in range(20):
        out, out_mask, flipped = random_flip(image, mask, np.random.default_rng(seed))
        flips += flipped
        assert np.array_equal(out, image[:, ::-1] if flipped else image)
        assert np.array_equal(out_mask, mask[:, ::-1] if flipped else mask)
    assert 3 < flips < 17


# --- composition and windows -------------------------------------------------------------------------


def test_random_degradation_is_reproducible_and_its_record_says_what_happened(view_and_mask):
    image, mask = view_and_mask
    seen = set()
    for seed in range(12):
        out, out_mask, record = random_degradation(image, mask, np.random.default_rng(seed), PIXEL_MM)
        again, again_mask, again_record = random_degradation(image, mask, np.random.default_rng(seed), PIXEL_MM)
        assert np.array_equal(out, again) and np.array_equal(out_mask, again_mask) and record == again_record
        json.dumps(record)
        assert out.dtype == np.float32 and out_mask.dtype == bool and out.shape == out_mask.shape
        framing = record["framing"]
        if framing["kind"] != "whole" and framing["outside"] == "cut":
            assert out.shape == tuple(framing["box"][2:])
        else:
            assert out.shape == image.shape
        if record["export"]["export"]:
            assert out.max() <= 255 and np.array_equal(out, np.rint(out))
            seen.add("export")
        if record["matrix"] is None and framing["kind"] == "whole" and not record["export"]["export"]:
            expected = image[:, ::-1] if record["flip"] else image
            assert np.array_equal(out, expected)
            seen.add("clean")
        if record["matrix"] is not None and framing["kind"] == "whole" and not record["export"]["export"]:
            assert out.sum() == pytest.approx(image.sum(), rel=1e-5)
            seen.add("matrix")
    assert {"export", "clean"} <= seen


@pytest.mark.parametrize("seed", range(8))
def test_labels_travel_with_the_image_and_draws_do_not_depend_on_them(view_and_mask, seed):
    """A label map is framed, cut and flipped exactly like the image; image, mask and record are those drawn
    without it (the same generator state gives the same degradation)."""
    image, mask = view_and_mask
    positions = np.arange(1, image.size + 1, dtype=np.int64).reshape(image.shape)  # label = source pixel + 1
    plain = random_degradation(image, mask, np.random.default_rng(seed), PIXEL_MM, p_matrix=0.0, p_export=0.0)
    got_image, got_mask, record, got_labels = random_degradation(
        image, mask, np.random.default_rng(seed), PIXEL_MM, p_matrix=0.0, p_export=0.0, labels=positions)
    assert np.array_equal(got_image, plain[0]) and np.array_equal(got_mask, plain[1]) and record == plain[2]
    assert got_labels.shape == got_image.shape and got_labels.dtype == positions.dtype
    kept = got_labels > 0
    assert kept.any()
    assert np.array_equal(got_image[kept], image.ravel()[got_labels[kept] - 1])  # each label came with its pixel
    assert not got_image[~kept].any()  # where the labels were cleared, so was the image


@pytest.mark.parametrize("seed", range(3))
def test_half_chest_left_is_the_patients_left_on_the_image_right_of_ant(view_and_mask, seed):
    image, mask = view_and_mask  # the toy body's midline is column 128
    for kind, side in (("half_chest_left", 1), ("half_chest_right", -1)):
        _, _, record = random_framing(image, mask, np.random.default_rng(seed), PIXEL_MM, kind=kind)
        _, left, _, width = record["box"]
        assert side * (left + width / 2 - 128) > 10
