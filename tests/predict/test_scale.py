"""Prediction at the model's pixel size over the whole view (issue 13 "Scale" and "Framing", issue 15).

Networks here are single 1 x 1 convolutions whose output is a known function of their input, so where
the probability lands on the scan's own grid, and what the blending of overlapping windows does, can be
computed by hand.
"""

import numpy as np
import pytest
import torch
from scipy.special import expit

from scintiseg.errors import ScintisegError
from scintiseg.predict.loader import model_from_network
from scintiseg.predict.pipeline import PredictSettings, model_probabilities, predict_scan, to_scan_grid
from scintiseg.predict.windows import sliding_window_probability, thoracic_windows, whole_view_windows
from scintiseg.prepare.resample import resample_counts, resample_scan
from scintiseg.scan import Scan

MODEL_MM = 2.26


def pointwise(weight: float, bias: float) -> torch.nn.Module:
    """A network whose logit at every pixel is ``weight * input + bias`` (a 1 x 1 convolution)."""
    conv = torch.nn.Conv2d(1, 1, kernel_size=1)
    with torch.no_grad():
        conv.weight.fill_(weight)
        conv.bias.fill_(bias)
    return conv.eval()


def disc_scan(mm: float) -> tuple[Scan, np.ndarray]:
    """A 2048 x 512 (1.13 mm) ANT+POST phantom with a hot disc, brought to ``mm`` with counts conserved.

    Returns the scan and, on its own grid, each pixel centre's distance (mm) from the disc's edge
    (negative inside).
    """
    fine = 1.13

    def edge_distance(size: float, shape: tuple[int, int]) -> np.ndarray:
        rows, cols = np.mgrid[: shape[0], : shape[1]]
        # The disc: 18 mm radius centred 700 mm down, 200 mm across (ANT); POST holds it mirrored.
        return np.hypot((rows + 0.5) * size - 700.0, (cols + 0.5) * size - 200.0) - 18.0

    counts = np.where(edge_distance(fine, (2048, 512)) <= 0, 25.0, 2.5).astype(np.float32)  # 100 / 10 per 2.26 mm pixel
    views = {"ANT": resample_counts(counts, (fine, fine), (mm, mm))}
    views["POST"] = views["ANT"][:, ::-1]
    return Scan(views, pixel_spacing=(mm, mm)), edge_distance(mm, views["ANT"].shape)


@pytest.mark.parametrize("mm", [1.13, 2.26, 4.52])
def test_whole_view_probability_returns_to_the_disc_on_every_matrix(mm):
    scan, distance = disc_scan(mm)
    assert scan.shape == {1.13: (2048, 512), 2.26: (1024, 256), 4.52: (512, 128)}[mm]
    # logit = (counts per 2.26 mm pixel - 55) / 5: the disc (100) is lesion, the body (10) is not; only a
    # model that sees counts at its own pixel size gets them, so a missed resampling fails here.
    model = model_from_network(pointwise(0.2, -11.0), normalisation="none", pixel_mm=MODEL_MM, window="whole")
    prediction = predict_scan(scan, model, PredictSettings(threshold=0.5, min_area_px=1))
    # Pixels within 1.5 pixels (the coarser of the scan's and the model's) of the edge may go either way.
    margin = 1.5 * max(mm, MODEL_MM)
    for view, edge in (("ANT", distance), ("POST", distance[:, ::-1])):
        result = prediction.views[view]
        assert result.probability.shape == scan.shape and result.coverage.all()
        found = result.probability > 0.5
        assert found[edge < -margin].all() and not found[edge > margin].any(), (view, mm)
        assert len(result.lesions) == 1
        assert result.lesions[0].area_mm2 == pytest.approx(np.pi * 18.0**2, rel=0.25)
    assert prediction.model_info["pixel_mm"] == MODEL_MM and prediction.settings["window"] == "whole"


def test_without_a_model_pixel_size_the_scan_is_fed_as_it_is():
    scan, _ = disc_scan(4.52)  # 400 counts per 4.52 mm disc pixel: a lesion at the scan's own size
    model = model_from_network(pointwise(0.2, -11.0), normalisation="none", window="whole")
    body = model_from_network(pointwise(0.2, -11.0), normalisation="none", pixel_mm=4.52, window="whole")
    ours = predict_scan(scan, model).views["ANT"].probability
    np.testing.assert_array_equal(ours, predict_scan(scan, body).views["ANT"].probability)  # same size: no resampling
    np.testing.assert_allclose(ours, expit(0.2 * scan.view("ANT") - 11.0), atol=1e-6)


def test_thoracic_window_lands_on_the_same_body_region_at_any_matrix(nm1_scan):
    model = model_from_network(pointwise(0.0, 0.0), pixel_mm=MODEL_MM, window="thoracic")
    native = model_probabilities(nm1_scan, model, PredictSettings())[1]["ANT"]
    fine_scan = resample_scan(nm1_scan, (1.13, 1.13))  # exactly 2 x 2 per pixel: the crop is the same body box
    fine = model_probabilities(fine_scan, model, PredictSettings())[1]["ANT"]
    assert fine.shape == (2048, 512) and native.sum() == 256 * 256
    np.testing.assert_array_equal(fine, np.kron(native, np.ones((2, 2), dtype=bool)))
    coarse = model_probabilities(resample_scan(nm1_scan, (4.52, 4.52)), model, PredictSettings())[1]["ANT"]
    assert coarse.shape == (512, 128) and coarse.sum() == 128 * 128  # 578 mm square on a 4.52 mm grid


def test_old_checkpoint_prediction_is_unchanged(nm1_scan, make_tiny_network):
    """No ``pixel_mm`` and no ``window``: the thoracic crop of the scan as it is, one pass, as before issue 13."""
    model = model_from_network(make_tiny_network())
    assert (model.pixel_mm, model.window) == (None, "thoracic")
    prediction = predict_scan(nm1_scan, model)
    (window,) = thoracic_windows(nm1_scan, "ant", "percentile", 256)
    expected = np.zeros(nm1_scan.shape, dtype=np.float32)
    expected[window.boxes["ANT"].slices] = expit(model.engine(window.image[None])[0, 0])
    np.testing.assert_array_equal(prediction.views["ANT"].probability, expected)
    assert prediction.settings["window"] == "thoracic" and prediction.model_info["pixel_mm"] is None


def test_whole_view_windows_cover_every_pixel_and_blend_without_seams():
    """A constant network gives a constant map; an identity network gives its input back: every window
    is in place and the Gaussian blend adds nothing of its own, also on a view narrower than the window."""
    rows, cols = np.mgrid[:700, :200]
    ramp = np.stack([np.sin(rows / 37.0) + cols / 100.0])[None].astype(np.float32)  # (1, 1, 700, 200)
    constant = model_from_network(pointwise(0.0, 0.7))
    np.testing.assert_allclose(sliding_window_probability(ramp, constant.engine, 256), expit(0.7), atol=1e-6)
    identity = model_from_network(pointwise(1.0, 0.0))
    for overlap in (0.25, 0.5):
        out = sliding_window_probability(ramp, identity.engine, 256, overlap=overlap)
        np.testing.assert_allclose(out[0], expit(ramp[0, 0]), atol=1e-5)


def test_whole_mode_covers_the_whole_of_both_views(nm1_scan):
    scan = Scan({"ANT": nm1_scan.view("ANT"), "POST": nm1_scan.view("ANT")[:, ::-1]}, pixel_spacing=nm1_scan.pixel_spacing)
    model = model_from_network(pointwise(0.0, -1.0), pixel_mm=MODEL_MM)  # a thoracic model, told to look everywhere
    prediction = predict_scan(scan, model, PredictSettings(window="whole"))
    for view in ("ANT", "POST"):
        # Seen everywhere; the windows cover the rows of the body (NM1: about 70-874), beyond them nothing is.
        assert prediction.views[view].coverage.all()
        np.testing.assert_allclose(prediction.views[view].probability[90:850], expit(-1.0), atol=1e-6)
        assert not prediction.views[view].probability[:60].any() and not prediction.views[view].probability[890:].any()
    assert [list(w.boxes) for w in whole_view_windows(scan, "ant", "percentile")] == [["ANT"], ["POST"]]
    assert prediction.settings["window"] == "whole" and prediction.bsi_percent == 0.0


def test_onnx_engine_blends_like_torch(nm1_scan, make_tiny_network):
    network = make_tiny_network()
    windows = whole_view_windows(resample_scan(nm1_scan, (4.52, 4.52)), "ant", "percentile")
    images = np.stack([w.image for w in windows])
    torch_out = sliding_window_probability(images, model_from_network(network).engine, 256)
    onnx_out = sliding_window_probability(images, model_from_network(network, engine="onnx").engine, 256)
    assert torch_out.shape == (1, 512, 128)
    np.testing.assert_allclose(torch_out, onnx_out, atol=1e-4)


def test_coverage_carried_back_is_the_box_and_its_probability_undiluted():
    prob = np.zeros((100, 60), np.float32)
    seen = np.zeros((100, 60), bool)
    prob[20:60, 10:50], seen[20:60, 10:50] = 0.8, True
    back, covered = to_scan_grid(prob, seen, (200, 120))
    assert covered.sum() == 80 * 80 and covered[40:120, 20:100].all()
    np.testing.assert_allclose(back[covered], 0.8, atol=1e-6)  # no 0 from outside the box averaged in
    assert (back[~covered] == 0).all()


def test_coverage_carried_back_to_another_grid_is_the_pixels_at_least_half_seen():
    """Onto a grid 1.33 x 1.33 as fine: box edges fall inside scan pixels; the probability stays that of the box."""
    prob = np.zeros((100, 60), np.float32)
    seen = np.zeros((100, 60), bool)
    prob[20:60, 10:50], seen[20:60, 10:50] = 0.8, True
    back, covered = to_scan_grid(prob, seen, (133, 80))

    def inside(n_model: int, n_scan: int, low: int, high: int) -> np.ndarray:
        edges = np.arange(n_scan + 1) * n_model / n_scan  # each scan pixel's extent in model pixels
        return np.clip(np.minimum(edges[1:], high) - np.maximum(edges[:-1], low), 0, None) / (n_model / n_scan)

    fraction = np.outer(inside(100, 133, 20, 60), inside(60, 80, 10, 50))
    assert ((fraction > 0) & (fraction < 0.5)).any()  # pixels the box's edge only grazes ...
    assert ((fraction >= 0.5) & (fraction < 1)).any()  # ... and pixels it mostly covers
    np.testing.assert_array_equal(covered, fraction >= 0.5)
    np.testing.assert_allclose(back[covered], 0.8, atol=1e-5)  # an edge pixel is not the box's mean with zeros


def test_unknown_window_mode_is_refused():
    with pytest.raises(ScintisegError, match="unknown window mode 'body'"):
        PredictSettings(window="body")
    with pytest.raises(ScintisegError, match="window overlap"):
        sliding_window_probability(np.zeros((1, 1, 32, 32), np.float32), lambda b: b, 16, overlap=1.0)


def test_injected_maps_are_recorded_with_the_window_they_cover(nm1_scan):
    from scintiseg.predict.pipeline import predict_from_probabilities

    prob = np.zeros(nm1_scan.shape, np.float32)
    box = np.zeros(nm1_scan.shape, bool)
    box[200:456] = True
    assert predict_from_probabilities(nm1_scan, {"ANT": prob}).settings["window"] == "whole"
    assert predict_from_probabilities(nm1_scan, {"ANT": prob}, {"ANT": box}).settings["window"] == "thoracic"


def test_a_crops_blanked_outside_gets_no_probability():
    """A polygon crop's outside is filled for the network (.edges); what it says there is not the scan's."""
    counts = np.random.default_rng(0).gamma(4.0, 25.0, size=(200, 150)).astype(np.float32)
    counts[:, :30] = 0  # blanked outside the polygon, reaching the edge
    scan = Scan({"ANT": counts}, pixel_spacing=(MODEL_MM, MODEL_MM))
    model = model_from_network(pointwise(0.0, 5.0), pixel_mm=MODEL_MM, window="whole")  # p = 0.993 everywhere
    probabilities, coverage, _ = model_probabilities(scan, model, PredictSettings())
    assert (probabilities["ANT"][:, :30] == 0).all()
    assert (probabilities["ANT"][:, 30:] > 0.99).all() and coverage["ANT"].all()


@pytest.mark.parametrize("window, extended", [("whole", True), ("thoracic", False)])
def test_only_a_whole_view_model_reads_a_crop_with_its_edges_run_on(monkeypatch, window, extended):
    """The edges were measured with whole-view models (.edges); a model of thoracic crops reads the crop as it is."""
    from scintiseg.predict import pipeline

    calls = []
    extend = pipeline.extend_inputs
    monkeypatch.setattr(pipeline, "extend_inputs", lambda *args: calls.append(args) or extend(*args))
    counts = np.random.default_rng(0).gamma(4.0, 25.0, size=(200, 150)).astype(np.float32)
    scan = Scan({"ANT": counts}, pixel_spacing=(MODEL_MM, MODEL_MM))
    model = model_from_network(pointwise(0.0, 5.0), pixel_mm=MODEL_MM, window=window)
    model_probabilities(scan, model, PredictSettings())
    assert bool(calls) is extended
