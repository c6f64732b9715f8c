"""Tests for scintiseg.predict.windows: which views a model of each input mode reads, the way back, and the
Gaussian-blended sliding windows (checked against MONAI's ``sliding_window_inference``, the previous path)."""

import numpy as np
import pytest
from scipy.special import expit

from scintiseg.errors import ScintisegError
from scintiseg.predict.windows import (
    GAUSSIAN_SIGMA_SCALE,
    body_row_span,
    check_tiling,
    gaussian_importance_map,
    one_pass_probability,
    sliding_window_blend,
    sliding_window_probability,
    thoracic_windows,
)
from scintiseg.prepare.views import mirror
from scintiseg.scan import Scan


@pytest.fixture(scope="module")
def mirrored_pair(nm1_scan):
    """A dual-view scan whose POST is exactly ANT as a camera would acquire it from behind (mirrored)."""
    ant = nm1_scan.view("ANT")
    return Scan({"ANT": ant, "POST": mirror(ant)}, pixel_spacing=nm1_scan.pixel_spacing)


def test_single_view_model_reads_both_views_of_a_dual_view_scan(mirrored_pair):
    windows = thoracic_windows(mirrored_pair, "ant", "percentile")
    assert [list(w.boxes) for w in windows] == [["ANT"], ["POST"]]
    # POST mirrored into ANT's orientation is the ANT window again, pixel for pixel
    np.testing.assert_array_equal(windows[0].image, windows[1].image)
    box = windows[1].boxes["POST"]
    ramp = np.tile(np.arange(box.width, dtype=np.float32), (box.height, 1))
    np.testing.assert_array_equal(windows[1].model_input.to_view(ramp, "POST"), ramp[:, ::-1])  # the output returns mirrored, as acquired


def test_single_view_scan_gives_one_window_and_fused_modes_refuse_it(nm1_scan):
    windows = thoracic_windows(nm1_scan, "ant", "percentile")
    assert len(windows) == 1 and list(windows[0].boxes) == ["ANT"] and windows[0].image.shape == (1, 256, 256)
    for mode in ("aggregate", "two_channel"):
        with pytest.raises(ScintisegError, match="needs ANT and POST"):
            thoracic_windows(nm1_scan, mode, "percentile")


def test_fused_modes_predict_on_ant_only(mirrored_pair):
    aggregate = thoracic_windows(mirrored_pair, "aggregate", "none")
    two = thoracic_windows(mirrored_pair, "two_channel", "none")
    assert [list(w.boxes) for w in aggregate + two] == [["ANT"], ["ANT"]]
    assert two[0].image.shape == (2, 256, 256)
    np.testing.assert_allclose(aggregate[0].image[0], two[0].image.sum(axis=0))  # Eq. 4: I_Ant + Mirr(I_Post)


# --- The Gaussian-blended sliding windows (the tiler that replaced MONAI's sliding_window_inference) ---


def monai_probability(images: np.ndarray, engine, window: int, overlap: float, batch_size: int) -> np.ndarray:
    """The previous path: MONAI's sliding_window_inference with the settings windows.py used to pass it."""
    import torch
    from monai.inferers.utils import sliding_window_inference
    from scipy.special import expit

    from scintiseg.predict.engines import tensor_predictor

    with torch.inference_mode():
        blended = sliding_window_inference(
            torch.from_numpy(images), (window, window), batch_size, tensor_predictor(engine, activation=expit),
            overlap=overlap, mode="gaussian", sigma_scale=GAUSSIAN_SIGMA_SCALE, padding_mode="constant", cval=0.0,
        )
    return blended[:, 0].numpy()


def small_convolution(seed: int = 0, out_channels: int = 1):
    """A 5 x 5 convolution with random weights: its output depends on where a window was cut."""
    import torch

    torch.manual_seed(seed)
    conv = torch.nn.Conv2d(1, out_channels, kernel_size=5, padding=2).eval()

    def engine(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return conv(torch.from_numpy(batch)).numpy()

    return engine


def test_gaussian_weight_is_monais_importance_map():
    from monai.data.utils import compute_importance_map

    for size in (16, 64, 256):
        expected = compute_importance_map((size, size), mode="gaussian", sigma_scale=GAUSSIAN_SIGMA_SCALE).numpy()
        np.testing.assert_allclose(gaussian_importance_map(size), expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    "shape", [(2, 1, 300, 90), (1, 1, 64, 64), (3, 1, 40, 20), (1, 1, 50, 200)],
    ids=["two_views_taller_than_wide", "one_window", "smaller_than_the_window", "wider_than_tall"],
)
@pytest.mark.parametrize("overlap", [0.25, 0.5])
def test_blend_equals_the_previous_monai_path(shape, overlap):
    images = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    engine = small_convolution()
    ours = sliding_window_probability(images, engine, 64, overlap, batch_size=5)
    theirs = monai_probability(images, engine, 64, overlap, batch_size=5)
    assert ours.shape == theirs.shape == (shape[0], *shape[2:]) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)


def test_all_windows_of_all_views_go_through_the_engine_together():
    """Two 300 x 90 views at overlap 0.25 have 6 x 2 windows each: one call of 24, or 24 calls of one,
    give the same map."""
    images = np.random.default_rng(2).normal(size=(2, 1, 300, 90)).astype(np.float32)
    engine = small_convolution()
    batches: list[int] = []

    def counting(batch):
        batches.append(len(batch))
        return engine(batch)

    together = sliding_window_probability(images, counting, 64, batch_size=32)
    assert batches == [24]
    one_by_one = sliding_window_probability(images, counting, 64, batch_size=1)
    assert batches[1:] == [1] * 24
    np.testing.assert_allclose(together, one_by_one, atol=1e-6)


def test_blend_keeps_every_output_channel_and_windows_need_no_torch():
    """A two-channel output (e.g. a region head beside the lesion head) is blended channel by channel;
    an engine of pure NumPy is enough (the ONNX engine runs without PyTorch)."""
    images = np.random.default_rng(3).normal(size=(1, 1, 150, 70)).astype(np.float32)
    engine = small_convolution(out_channels=2)
    both = sliding_window_blend(images, lambda b: expit(engine(b)), 64)
    assert both.shape == (1, 2, 150, 70)
    np.testing.assert_allclose(both[:, 0], sliding_window_probability(images, lambda b: engine(b)[:, :1], 64), atol=1e-7)
    np.testing.assert_allclose(both[:, 1], sliding_window_probability(images, lambda b: engine(b)[:, 1:], 64), atol=1e-7)
    doubled = sliding_window_blend(images, lambda b: 2.0 * b, 64)  # linear in its input: the blend gives it back
    np.testing.assert_allclose(doubled, 2.0 * images, atol=1e-5)


def test_overlap_outside_zero_to_one_is_refused():
    with pytest.raises(ScintisegError, match="window overlap"):
        sliding_window_blend(np.zeros((1, 1, 32, 32), np.float32), lambda b: b, 16, overlap=-0.1)


@pytest.mark.parametrize("shape", [(2, 1, 300, 90), (1, 1, 64, 64), (1, 1, 37, 51)])
def test_one_pass_runs_every_view_once_at_a_multiple_and_cuts_the_padding_off(shape):
    """The whole view in one call, padded to a multiple of the down-sampling factor; a pixel-wise network
    gives back exactly its own sigmoid on the original pixels."""
    images = np.random.default_rng(4).normal(size=shape).astype(np.float32)
    calls = []

    def pixelwise(batch):
        calls.append(batch.shape)
        return 3.0 * batch - 1.0

    probability = one_pass_probability(images, pixelwise, 16)
    assert len(calls) == 1 and calls[0][0] == shape[0]
    assert all(n % 16 == 0 and n - 16 < m <= n for n, m in zip(calls[0][2:], shape[2:]))
    assert probability.shape == (shape[0], *shape[2:]) and probability.dtype == np.float32
    np.testing.assert_allclose(probability, expit(3.0 * images[:, 0] - 1.0), rtol=1e-6)


def test_one_pass_equals_the_windows_on_a_view_of_one_window():
    """A view exactly one window large: the blend of its single window is that window's output."""
    images = np.random.default_rng(5).normal(size=(2, 1, 64, 64)).astype(np.float32)
    engine = small_convolution()
    np.testing.assert_allclose(one_pass_probability(images, engine, 16), sliding_window_probability(images, engine, 64),
                               atol=1e-6)


def test_an_unknown_tiling_is_one_error():
    check_tiling("windows")
    check_tiling("one-pass")
    with pytest.raises(ScintisegError, match="unknown tiling 'tiles'"):
        check_tiling("tiles")


def test_body_row_span_is_the_union_of_the_views_and_at_least_one_window():
    image = np.zeros((1024, 256), dtype=np.float32)
    ant, post = image.copy(), image.copy()
    ant[300:600, 60:200] = 20.0
    post[400:760, 60:200] = 20.0
    first, stop = body_row_span(Scan({"ANT": ant, "POST": post}, (2.26, 2.26)), 256)
    assert 300 - 18 - 8 <= first <= 300 - 18 and 760 + 18 <= stop <= 760 + 18 + 8
    short = np.zeros((400, 256), dtype=np.float32)
    short[150:200] = 20.0  # a body shorter than a window: widened about its middle
    first, stop = body_row_span(Scan({"ANT": short}, (2.26, 2.26)), 256)
    assert stop - first == 256 and first < 150 - 18 and stop > 200 + 18
    near_top = np.zeros((400, 256), dtype=np.float32)
    near_top[0:50] = 20.0  # ... and kept inside the view
    assert body_row_span(Scan({"ANT": near_top}, (2.26, 2.26)), 256) == (0, 256)
    assert body_row_span(Scan({"ANT": image[:200]}, (2.26, 2.26)), 256) == (0, 200)
    speck = image.copy()
    speck[500:540, 100:140] = 20.0  # under a tenth of the frame: no level in the body, every row is kept
    assert body_row_span(Scan({"ANT": speck}, (2.26, 2.26)), 256) == (0, 1024)


@pytest.mark.parametrize("profile_name", ["default", "randomised"])
def test_body_row_span_never_cuts_a_lesion_or_a_bone_of_a_phantom(profile_name):
    """Every visible lesion and every labelled bone of six phantom patients lies inside the rows the windows
    cover (200 patients, both profiles: none outside, docs/predict.md); the span leaves rows out for some."""
    from scintiseg.phantom import generate_patient, profile

    shorter = []
    for seed in range(940000, 940006):
        patient = generate_patient(seed, profile(profile_name))
        first, stop = body_row_span(patient.scan, 256)
        shorter.append(stop - first < patient.scan.shape[0])
        for view in patient.scan.view_names:
            for inside in (patient.masks[view], patient.regions[view] > 0):
                rows = np.flatnonzero(inside.any(axis=1))
                assert rows.size == 0 or (first <= rows[0] and rows[-1] < stop), (seed, view)
    assert any(shorter)


def test_a_post_moved_more_than_ten_pixels_in_rows_and_columns_together_is_flagged_misaligned():
    from types import SimpleNamespace

    from scintiseg.predict.windows import MISALIGNED_PX, _alignment_flags

    assert MISALIGNED_PX == 10
    assert _alignment_flags(SimpleNamespace(shift=(0, 11)), []) == ["views_misaligned"]  # columns alone
    assert _alignment_flags(SimpleNamespace(shift=(-6, 5)), ["crop_uncertain"]) == ["crop_uncertain", "views_misaligned"]
    assert _alignment_flags(SimpleNamespace(shift=(5, -5)), []) == []
    assert _alignment_flags(SimpleNamespace(shift=None), []) == []


def test_a_thorax_not_found_by_its_profile_is_flagged_crop_uncertain():
    body = np.zeros((1024, 256), np.float32)
    body[100:900, 80:180] = np.random.default_rng(0).poisson(20, (800, 100))  # a box: no shoulders to find
    windows = thoracic_windows(Scan({"ANT": body}, (2.26, 2.26)), "ant", "percentile")
    assert [w.qc_flags for w in windows] == [["crop_uncertain"]]


def test_one_pass_pads_as_the_windows_do_half_before_and_the_rest_after():
    images = np.random.default_rng(6).normal(size=(1, 1, 45, 45)).astype(np.float32)  # 3 px short of 48
    rows, cols = np.mgrid[:48, :48]

    def engine(batch):  # its output depends on where a pixel lies in its input, as a network's with pooling does
        return batch + np.float32(0.01) * (rows + 2 * cols)
    np.testing.assert_allclose(one_pass_probability(images, engine, 16), sliding_window_probability(images, engine, 48),
                               atol=1e-6)


def test_a_body_shorter_than_a_window_is_widened_about_its_middle():
    short = np.zeros((400, 256), dtype=np.float32)
    short[150:200] = 20.0
    first, stop = body_row_span(Scan({"ANT": short}, (2.26, 2.26)), 256)
    assert stop - first == 256 and abs((first + stop) / 2 - 175) <= 1
