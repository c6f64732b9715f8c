import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.prepare.crop import CropBox, thoracic_crop
from scintiseg.prepare.views import mirror
from scintiseg.scan import Scan


def test_crop_round_trip_maps_back_exactly(make_toy_scan):
    scan, _ = make_toy_scan(1, shift=(2, -3))
    result = thoracic_crop(scan, size=256)
    rng = np.random.default_rng(0)
    for view, box in result.boxes.items():
        assert result.scan.view(view).shape == (256, 256)
        assert np.array_equal(result.scan.view(view), scan.view(view)[box.slices])
        crop_mask = rng.random((256, 256)) > 0.7
        whole = result.to_whole_body(crop_mask, view)
        assert whole.shape == scan.shape and whole.sum() == crop_mask.sum()
        assert np.array_equal(result.crop(whole, view), crop_mask)
        # Pixel (r, c) of the crop is pixel (top + r, left + c) of the whole body.
        r, c = np.argwhere(crop_mask)[0]
        assert whole[box.top + r, box.left + c]


def test_post_box_is_ant_box_mirrored(make_toy_scan):
    scan, _ = make_toy_scan(2)
    # An off-centre body: 100 empty columns on the patient's left (ANT's right, POST's left as acquired).
    wide = Scan({"ANT": np.pad(scan.view("ANT"), ((0, 0), (0, 100))), "POST": np.pad(scan.view("POST"), ((0, 0), (100, 0)))})
    result = thoracic_crop(wide, size=(256, 200))
    ant, post = result.boxes["ANT"], result.boxes["POST"]
    assert (ant.top, ant.height, ant.width) == (post.top, post.height, post.width)
    assert post.left == wide.shape[1] - ant.left - ant.width
    # Mirroring the POST crop equals cropping the mirrored POST with ANT's box.
    assert np.array_equal(mirror(result.scan.view("POST")), ant.crop(mirror(wide.view("POST"))))
    # The body (midline at column 128) sits in the middle of the 200-column crop.
    assert abs(ant.left + ant.width / 2 - 128) <= 6


def test_crop_metadata_records_boxes(make_toy_scan):
    scan, _ = make_toy_scan(3)
    result = thoracic_crop(scan, size=128)
    meta = result.scan.metadata["crop"]
    assert set(meta) == {"ANT", "POST"}
    assert CropBox.from_json(meta["ANT"], view="ANT") == result.boxes["ANT"]


@pytest.mark.parametrize("scale", [0.8, 1.0, 1.15])
def test_crop_of_toy_bodies_holds_shoulders_and_ribs(scale, make_toy_scan):
    scan, marks = make_toy_scan(4, scale=scale)
    result = thoracic_crop(scan)
    box = result.boxes["ANT"]
    assert result.method == "profile"
    assert abs(result.landmarks["shoulder"] - marks["shoulder"]) <= 8
    assert box.top < marks["shoulder"] - 10 and box.top + box.height > marks["lowest_rib"]
    assert box.top > marks["crown"]  # not a crop of the head


def test_crop_of_real_scan_lies_on_the_thorax(real_scan):
    result = thoracic_crop(real_scan)
    box = result.boxes["ANT"]
    assert (box.height, box.width) == (256, 256)
    # NM1: crown near row 90, shoulders (where the outline widens) near row 190, ribs to about row 390,
    # bladder (the hottest spot) near row 420.
    assert 175 <= result.landmarks["shoulder"] <= 210
    assert 110 <= box.top <= 175
    assert box.top + box.height >= 385
    ant = real_scan.view("ANT").astype(float)
    bladder_row = np.unravel_index(np.argmax(ant[300:600]), ant[300:600].shape)[0] + 300
    assert box.top < result.landmarks["shoulder"] < box.top + box.height < bladder_row + 20


def test_blank_image_is_an_error():
    with pytest.raises(ScintisegError, match="no body"):
        thoracic_crop(Scan({"ANT": np.zeros((1024, 256), dtype=np.uint16)}))


def test_noise_image_is_an_error():
    noise = np.random.default_rng(0).poisson(5.0, size=(1024, 256)).astype(np.uint16)
    with pytest.raises(ScintisegError, match="no body"):
        thoracic_crop(Scan({"ANT": noise}))


def test_image_smaller_than_crop_is_an_error(make_toy_scan):
    scan, _ = make_toy_scan(5)
    small = Scan({"ANT": scan.view("ANT")[:200]})
    with pytest.raises(ScintisegError, match="too small"):
        thoracic_crop(small)


def test_body_too_short_for_a_thorax_is_an_error(real_scan):
    # A 256-row strip of the legs holds a body, but no head and thorax.
    legs = Scan({"ANT": real_scan.view("ANT")[600:900]}, pixel_spacing=real_scan.pixel_spacing)
    with pytest.raises(ScintisegError, match="too short"):
        thoracic_crop(legs)


THORACIC_REGIONS = {"thoracic_spine", "ribs_left", "ribs_right", "sternum",
                    "clavicle_left", "clavicle_right", "scapula_left", "scapula_right"}


def test_crop_of_phantoms_holds_their_thoracic_lesions(phantom_patients):
    for patient in phantom_patients:
        result = thoracic_crop(patient.scan)
        thoracic = [lesion["id"] for lesion in patient.lesions if lesion["region"] in THORACIC_REGIONS]
        for view, ids in patient.instances.items():
            cropped = result.crop(ids, view)
            for lesion_id in thoracic:
                assert (cropped == lesion_id).sum() == (ids == lesion_id).sum()
            # Round trip on real ground truth: the crop of the mask maps back inside the box exactly.
            back = result.to_whole_body(result.crop(patient.masks[view], view), view)
            assert np.array_equal(back, patient.masks[view] & (result.to_whole_body(np.ones_like(cropped, bool), view)))


def test_a_thorax_longer_than_the_crop_keeps_its_top_a_shorter_one_is_centred(make_toy_scan):
    scan, _ = make_toy_scan(6)
    short = thoracic_crop(scan, size=128)  # the toy's thorax spans about 250 rows
    top, bottom = short.landmarks["thorax_top"], short.landmarks["thorax_bottom"]
    assert bottom - top > 128
    assert short.boxes["ANT"].top == round(top)
    tall = thoracic_crop(scan, size=(320, 256))
    assert tall.boxes["ANT"].top == round((top + bottom) / 2 - 160)


def test_a_post_only_scan_is_cropped_on_its_own_body(make_toy_scan):
    scan, _ = make_toy_scan(2)
    # An off-centre body in POST as acquired: 100 empty columns on the image left, body midline near column 228.
    post = Scan({"POST": np.pad(scan.view("POST"), ((0, 0), (100, 0)))})
    box = thoracic_crop(post, size=(256, 200)).boxes["POST"]
    assert abs(box.left + box.width / 2 - 228) <= 6


def test_columns_are_centred_on_the_thorax_not_on_a_lopsided_lower_body(make_toy_scan):
    scan, _ = make_toy_scan(7)
    ant = scan.view("ANT").copy()
    # Much body below the thorax on the image right (a leg drawn up, a bag): the thorax stays at column 128.
    ant[560:950, 150:250] += np.random.default_rng(0).poisson(8, size=(390, 100)).astype(np.uint16)
    result = thoracic_crop(Scan({"ANT": ant}, pixel_spacing=scan.pixel_spacing), size=(256, 128))
    box = result.boxes["ANT"]
    assert abs(box.left + box.width / 2 - 128) <= 4
