"""Tests for scintiseg.prepare.model_input: one builder for training and prediction, and the way back."""

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.prepare.intensity import METHODS, normalise
from scintiseg.prepare.model_input import FUSED_CHANNELS, INPUT_MODES, ViewGrid, fused_counts, model_input, model_inputs
from scintiseg.prepare.views import mirror, shift_image
from scintiseg.scan import Scan

CROP = 128  # thoracic crop size of the parity tests (the toy body fits 128 faster than 256)
POST_SHIFT = (3, -2)  # the toy POST lies this far off ANT, so the alignment has work to do


@pytest.fixture(scope="module")
def whole_body_and_crop(tmp_path_factory, make_toy_scan):
    """A whole-body data set of one dual-view case (POST off ANT, a lesion marked on each view), and its
    thoracic-crop data set made by ``scintiseg dataset crop``: what training reads."""
    from scintiseg.io.dataset import Case, DatasetManifest, save_manifest
    from scintiseg.io.dicom import write_dicom
    from scintiseg.io.images import write_mask_png
    from scintiseg.prepare.crop_dataset import crop_dataset

    root = tmp_path_factory.mktemp("whole")
    scan, _ = make_toy_scan(7, shift=POST_SHIFT)
    write_dicom(scan.with_views(scan.views, patient_id="P001"), root / "images/P001.dcm")
    case = Case(case_id="P001", patient_id="P001", image="images/P001.dcm", synthetic=True, origin="phantom")
    masks = {"ANT": np.zeros(scan.shape, bool), "POST": np.zeros(scan.shape, bool)}
    masks["ANT"][240:246, 80:87] = True  # a rib lesion seen from the front
    masks["POST"][250:254, 150:156] = True  # another one seen from behind (POST as acquired)
    for view, mask in masks.items():
        write_mask_png(mask, root / f"masks/P001_{view}.png")
        case.masks[view] = f"masks/P001_{view}.png"
    save_manifest(DatasetManifest(name="toy", views=["ANT", "POST"], pixel_spacing=(2.26, 2.26), cases=[case]), root)
    crop = tmp_path_factory.mktemp("crop") / "thorax"
    crop_dataset(root, crop, size=CROP, progress=False)
    return root, crop


@pytest.mark.parametrize("normalisation", METHODS)
def test_training_and_prediction_feed_the_network_the_same_array(whole_body_and_crop, normalisation):
    from scintiseg.io import read_scan
    from scintiseg.predict.windows import thoracic_windows
    from scintiseg.train.data import load_samples

    root, crop = whole_body_and_crop
    whole_body = read_scan(root / "images/P001.dcm")
    for mode in INPUT_MODES:
        trained_on = load_samples(crop, ["P001"], mode, normalisation)[0].image
        predicted_on = thoracic_windows(whole_body, mode, normalisation, size=CROP)[0].image
        assert trained_on.dtype == predicted_on.dtype == np.float32
        assert trained_on.shape == predicted_on.shape == ((2 if mode == "two_channel" else 1), CROP, CROP)
        np.testing.assert_array_equal(trained_on, predicted_on, err_msg=f"{mode}, {normalisation}")


def test_training_targets_return_to_each_view_as_the_views_crop_masks(whole_body_and_crop):
    from scintiseg.io.dataset import load_case, load_manifest
    from scintiseg.train.data import load_samples

    _, crop = whole_body_and_crop
    scan, masks = load_case(crop, load_manifest(crop).case("P001"))
    assert masks["ANT"].any() and masks["POST"].any()  # both lesions lie inside the crop
    built = model_input(scan, "aggregate")
    assert built.shift is not None and built.shift != (0.0, 0.0)
    for view, grid in built.sources.items():  # round trip: view -> input grid -> view
        np.testing.assert_array_equal(grid.to_view(grid.to_input(masks[view])), masks[view])
    post_target = load_samples(crop, ["P001"], "post", "none")[0].target[0]
    np.testing.assert_array_equal(model_input(scan, "post").to_view(post_target, "POST") > 0, masks["POST"])
    union = load_samples(crop, ["P001"], "aggregate", "none")[0].target[0] > 0
    assert union.sum() == masks["ANT"].sum() + masks["POST"].sum()  # two disjoint lesions, both kept
    np.testing.assert_array_equal(built.to_view(union, "ANT") & masks["ANT"], masks["ANT"])


def _scan():
    rng = np.random.default_rng(0)
    ant = rng.poisson(20, (32, 32)).astype(np.uint16)
    ant[8:12, 5:9] += 200  # lesion seen from the front, left side of the image
    post = mirror(ant).copy()  # POST as acquired is mirrored relative to ANT
    ant_mask = np.zeros((32, 32), bool)
    ant_mask[8:12, 5:9] = True
    post_mask = np.zeros((32, 32), bool)
    post_mask[20:22, 3:5] = True  # a different lesion only marked on POST (as acquired: right side)
    return Scan({"ANT": ant, "POST": post}), {"ANT": ant_mask, "POST": post_mask}


def test_input_modes_build_inputs_and_targets():
    scan, masks = _scan()
    built = model_input(scan, "ant")
    assert built.image.shape == (1, 32, 32) and built.predicted_views == ("ANT",)
    assert np.array_equal(built.target(masks)[0] > 0, masks["ANT"])
    built = model_input(scan, "post")
    assert np.allclose(built.image[0], scan.view("ANT"))  # mirrored POST lands on ANT
    assert np.array_equal(built.target(masks)[0] > 0, mirror(masks["POST"]))
    assert built.predicted_views == ("POST",)
    built = model_input(scan, "aggregate")
    assert np.allclose(built.image[0], 2.0 * scan.view("ANT"))  # Eq. 4: I_Ant + Mirr(I_Post)
    assert built.target(masks)[0].sum() == masks["ANT"].sum() + masks["POST"].sum()
    built = model_input(scan, "two_channel", "zscore")
    assert built.image.shape == (2, 32, 32) and built.image.dtype == np.float32
    assert built.target(masks).dtype == np.float32 and built.predicted_views == ("ANT",)


def test_each_channel_is_normalised_with_its_own_body():
    scan, _ = _scan()
    scan = Scan({"ANT": scan.view("ANT"), "POST": scan.view("POST") * 3})  # POST three times as bright
    built = model_input(scan, "two_channel", "percentile")
    raw = model_input(scan, "two_channel", "none").image
    for channel in range(2):
        np.testing.assert_array_equal(built.image[channel], normalise(raw[channel], "percentile"))
    np.testing.assert_allclose(built.image[0], built.image[1], rtol=1e-6)  # the factor 3 is gone


def test_single_view_network_reads_every_view_in_ants_orientation():
    scan, _ = _scan()
    inputs = model_inputs(scan, "ant", "percentile")
    assert [built.predicted_views for built in inputs] == [("ANT",), ("POST",)]
    np.testing.assert_array_equal(inputs[0].image, inputs[1].image)  # POST mirrored is ANT again
    only_post = Scan({"POST": scan.view("POST")})
    for mode in ("ant", "post"):
        (built,) = model_inputs(only_post, mode)
        np.testing.assert_array_equal(built.image[0], scan.view("ANT"))
        assert built.predicted_views == ("POST",) and built.shift is None


def test_fused_modes_refuse_a_single_view_and_unknown_modes_name_the_choices():
    scan, _ = _scan()
    single = Scan({"VIEW": scan.view("ANT")})
    for mode in ("aggregate", "two_channel", "post"):
        with pytest.raises(ScintisegError, match="needs ANT and POST"):
            model_input(single, mode)
    with pytest.raises(ScintisegError, match="expected one of ant, post, aggregate, two_channel"):
        model_inputs(scan, "sum")


@pytest.mark.parametrize("shift", [(0.0, 0.0), (2.0, -3.0), (-4.0, 1.0)])
def test_view_grid_round_trip_keeps_every_pixel_not_shifted_out(shift):
    values = np.arange(1, 17 * 13 + 1, dtype=np.float32).reshape(17, 13)
    grid = ViewGrid(mirrored=True, shift=shift)
    on_input = grid.to_input(values)
    np.testing.assert_array_equal(on_input, shift_image(mirror(values), shift))
    back = grid.to_view(on_input)
    kept = back > 0  # pixels shifted out of the frame come back as 0
    assert kept.sum() == (17 - abs(shift[0])) * (13 - abs(shift[1]))
    np.testing.assert_array_equal(back[kept], values[kept])


def test_fused_counts_are_the_fused_networks_input_in_whole_counts_with_the_union_target(make_toy_scan):
    """What ``export-nnunet --fuse`` writes: ANT as stored, POST mirrored and moved by the alignment's whole pixels
    (counts stay whole numbers, so they are written as uint16), the sum for paper B's aggregate, and the union of
    both views' outlines on ANT's grid."""
    scan, _ = make_toy_scan(7, shift=POST_SHIFT)
    masks = {"ANT": np.zeros(scan.shape, bool), "POST": np.zeros(scan.shape, bool)}
    masks["ANT"][240:246, 80:87] = True
    masks["POST"][250:254, 150:156] = True
    channels, target = fused_counts(scan, masks, "two_channel")
    built = model_input(scan, "two_channel")
    assert channels.shape == (2, *scan.shape) and len(FUSED_CHANNELS["two_channel"]) == 2
    np.testing.assert_array_equal(channels[0], scan.view("ANT"))
    assert built.shift is not None and built.shift != (0.0, 0.0)  # the alignment had work to do
    np.testing.assert_array_equal(channels[1], shift_image(mirror(scan.view("POST")).astype(np.float32), built.shift, order=0))
    assert np.array_equal(channels, np.round(channels)) and channels.min() >= 0
    post_on_ant = ViewGrid(mirrored=True, shift=built.shift).to_input(masks["POST"])
    np.testing.assert_array_equal(target, masks["ANT"] | post_on_ant)
    assert target.sum() == masks["ANT"].sum() + masks["POST"].sum()  # neither outline lost or moved off the grid
    (summed,), same = fused_counts(scan, masks, "aggregate")
    np.testing.assert_array_equal(summed, channels[0] + channels[1])
    np.testing.assert_array_equal(same, target)
    with pytest.raises(ScintisegError, match="no fused mode"):
        fused_counts(scan, masks, "ant")
