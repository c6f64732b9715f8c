import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.prepare.crop import thoracic_crop
from scintiseg.prepare.views import (
    aggregate_masks,
    aggregate_scan,
    aggregate_views,
    align_mask,
    align_post_to_ant,
    shift_image,
    two_channel,
)
from scintiseg.scan import Scan, mirror


def test_integer_shift_moves_pixels_exactly_and_fills_zero():
    image = np.arange(1, 26, dtype=np.int32).reshape(5, 5)
    moved = shift_image(image, (1, -2))
    assert moved[1, 0] == image[0, 2] and moved[4, 2] == image[3, 4]
    assert not moved[0].any() and not moved[:, 3:].any()


@pytest.mark.parametrize("true_shift", [(0, 0), (3, -5), (-6, 4), (1, 7)])
def test_alignment_recovers_known_shift_within_one_pixel(true_shift, make_toy_scan):
    scan, _ = make_toy_scan(7, shift=true_shift)
    shift, aligned = align_post_to_ant(scan.view("ANT"), scan.view("POST"))
    # The mirrored POST was moved by true_shift, so aligning moves it back.
    assert abs(shift[0] + true_shift[0]) <= 1 and abs(shift[1] + true_shift[1]) <= 1
    assert aligned.shape == scan.shape and aligned.dtype == scan.view("POST").dtype


def test_subpixel_alignment_is_closer_than_half_a_pixel(make_toy_scan):
    scan, _ = make_toy_scan(8, shift=(2.5, -3.5))
    shift, aligned = align_post_to_ant(scan.view("ANT"), scan.view("POST"), subpixel=True)
    assert abs(shift[0] + 2.5) <= 0.5 and abs(shift[1] - 3.5) <= 0.5
    assert aligned.dtype == np.float32


def test_aggregate_is_ant_plus_aligned_mirrored_post(make_toy_scan):
    scan, _ = make_toy_scan(9, shift=(2, 3))
    shift, aligned = align_post_to_ant(scan.view("ANT"), scan.view("POST"))
    total = aggregate_views(scan)
    assert np.array_equal(total, scan.view("ANT").astype(np.float32) + aligned.astype(np.float32))
    unaligned = aggregate_views(scan, align=False)
    assert np.array_equal(unaligned, scan.view("ANT").astype(np.float32) + mirror(scan.view("POST")))
    stack = two_channel(scan)
    assert stack.shape == (2, *scan.shape) and np.array_equal(stack.sum(axis=0), total)
    # a shift given is applied, not estimated again: aggregate_scan's image is this sum at its one shift
    assert np.array_equal(aggregate_views(scan, shift=shift), total)
    assert np.array_equal(aggregate_views(scan, shift=(0.0, 0.0)), unaligned)
    assert np.array_equal(aggregate_scan(scan)[0], total) and aggregate_scan(scan)[2] == shift != (0.0, 0.0)


def test_masks_aggregate_as_union_of_aligned_masks(make_toy_scan):
    scan, _ = make_toy_scan(10, shift=(0, 4))
    ant_mask = np.zeros(scan.shape, dtype=bool)
    ant_mask[300:305, 100:105] = True
    # The same lesion on POST, seen in the (shifted) mirrored frame, stored as acquired.
    post_frame = np.zeros(scan.shape, dtype=bool)
    post_frame[300:305, 104:109] = True
    post_mask = mirror(post_frame)
    image, mask, shift = aggregate_scan(scan, {"ANT": ant_mask, "POST": post_mask})
    assert shift == (0.0, -4.0)
    assert np.array_equal(mask, ant_mask)  # aligned POST lesion lands on the ANT one
    other = np.zeros(scan.shape, dtype=bool)
    other[500, 50] = True
    union = aggregate_masks(ant_mask, mirror(other), (0, 0))
    assert union.sum() == ant_mask.sum() + 1
    assert np.array_equal(align_mask(post_mask, shift), ant_mask)


def test_crop_then_align_gives_the_whole_body_shift(make_toy_scan):
    scan, _ = make_toy_scan(11, shift=(-2, 5))
    whole_shift, _ = align_post_to_ant(scan.view("ANT"), scan.view("POST"))
    crop = thoracic_crop(scan).scan
    crop_shift, _ = align_post_to_ant(crop.view("ANT"), crop.view("POST"))
    assert np.allclose(crop_shift, whole_shift, atol=1)


def test_single_view_cannot_be_aggregated(make_toy_scan):
    scan, _ = make_toy_scan(12)
    with pytest.raises(ScintisegError, match="needs ANT and POST"):
        aggregate_views(Scan({"ANT": scan.view("ANT")}))


def test_implausible_shift_is_an_error(make_toy_scan):
    scan, _ = make_toy_scan(13, shift=(0, 30))
    with pytest.raises(ScintisegError, match="one patient"):
        align_post_to_ant(scan.view("ANT"), scan.view("POST"), max_shift=10)


@pytest.mark.parametrize("applied", [(0, 0), (4, -6), (-7, 3)])
def test_alignment_error_on_phantom_scans_is_at_most_one_pixel(phantom_patients, applied):
    # The phantom projects both views from one 3-D model: mirrored POST lies exactly on ANT. Moving it by a
    # known shift makes the true alignment -applied.
    for patient in phantom_patients:
        ant, post = patient.scan.view("ANT"), patient.scan.view("POST")
        moved = mirror(shift_image(mirror(post), applied))
        shift, _ = align_post_to_ant(ant, moved)
        assert max(abs(shift[0] + applied[0]), abs(shift[1] + applied[1])) <= 1
        # Its aligned mask lands on the ANT lesions' positions.
        _, mask, _ = aggregate_scan(patient.scan.with_views({"ANT": ant, "POST": moved}),
                                    {"ANT": patient.masks["ANT"], "POST": mirror(shift_image(mirror(patient.masks["POST"]), applied))})
        assert np.array_equal(mask, patient.masks["ANT"] | mirror(patient.masks["POST"]))
