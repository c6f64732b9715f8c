"""scintiseg.predict.edges: a partial view's cut edges extended before the network."""

from __future__ import annotations

import math

import numpy as np

from scintiseg.phantom.hybrid import make_hybrid_case, prepare_source
from scintiseg.predict.edges import extend_inputs, is_partial_field, outside_sources
from scintiseg.predict.loader import load_model
from scintiseg.predict.pipeline import PredictSettings, predict_scan
from scintiseg.scan import Scan


def test_the_outside_is_the_unlit_pixels_that_reach_the_edge():
    lit = np.ones((5, 4), dtype=bool)
    lit[0, 0] = lit[4, 3] = False  # a polygon crop's blanked corners
    lit[2, 1] = False               # a zero inside (no counts there): not the outside
    indices, distance, outside = outside_sources(lit, 3)
    assert indices.shape == (2, 11, 10) and distance.shape == (11, 10)
    assert outside.sum() == 2 and outside[0, 0] and outside[4, 3] and not outside[2, 1]
    assert distance[3 + 2, 3 + 1] == 0 and distance[0, 3 + 1] == 3  # inside: itself; 3 rows above: 3 away
    assert tuple(indices[:, 0, 3 + 1]) == (3, 3 + 1)  # and it takes the top pixel of its column
    nothing = outside_sources(np.zeros((4, 4), dtype=bool), 2)
    assert not nothing[2].any() and not nothing[1].any()


def test_normalised_inputs_run_on_and_fade_channel_by_channel_from_one_source():
    images = np.zeros((2, 2, 6, 5), dtype=np.float32)
    images[0, 0, 1:5, 1:4], images[0, 1, 1:5, 1:4] = 1.0, 2.0  # a lit block inside a blanked outside
    images[1, 0] = np.arange(30).reshape(6, 5) + 1.0            # a rectangle cut from a body: all lit
    out, filled = extend_inputs(images, 2, fade_px=3.0)
    assert out.shape == (2, 2, 10, 9) and filled.shape == (2, 6, 5)
    assert filled[0].sum() == 30 - 12 and not filled[1].any()
    assert out[0, 0, 2 + 0, 2 + 2] == np.float32(math.exp(-1 / 3))  # one pixel above the block's top: faded once
    np.testing.assert_allclose(out[0, 1], 2 * out[0, 0])  # both channels from the same pixel, faded alike
    np.testing.assert_array_equal(out[1, 0, 2:8, 2:7], images[1, 0])  # the input itself is unchanged
    np.testing.assert_allclose(out[1, 0, 0, 2:7], images[1, 0, 0] * math.exp(-2 / 3), rtol=1e-6)  # runs on, fading


def test_only_views_shorter_than_a_body_are_partial(nm1_scan):
    assert not is_partial_field(nm1_scan)  # 1024 rows of 2.26 mm
    assert is_partial_field(Scan({"VIEW": nm1_scan.view("ANT")[194:348, 142:210]}, pixel_spacing=nm1_scan.pixel_spacing))


def test_a_joint_cut_by_a_crop_edge_is_not_called_a_lesion_and_a_focus_inside_is(nm1_scan):
    """NM1's left half-chest crop, at BS-80K's count level, cuts the hot left sternoclavicular joint at its medial
    edge: a stump the shipped network called a lesion (probability 1.00) until the edges ran on; a focus inside the
    crop is still found."""
    model = load_model(None)
    counts = make_hybrid_case(prepare_source(nm1_scan), 0.17, 61080, negative=True).scan.view("ANT")[194:348, 142:210]
    chest = Scan({"VIEW": counts}, pixel_spacing=nm1_scan.pixel_spacing)
    assert predict_scan(chest, model, PredictSettings(0.5, 4)).triage_score < 0.5
    hot = counts.astype(np.float64).copy()
    rows, cols = np.ogrid[:hot.shape[0], :hot.shape[1]]
    hot[(rows - 80) ** 2 + (cols - 30) ** 2 <= 16] *= 4  # a focus four times its bone, 9 px across
    found = predict_scan(Scan({"VIEW": np.rint(hot).astype(np.uint16)}, pixel_spacing=nm1_scan.pixel_spacing),
                         model, PredictSettings(0.5, 4))
    assert (80, 30) in [(round(lesion.centroid_row), round(lesion.centroid_col)) for lesion in found.lesions]
