"""scintiseg.predict.crop_level: a polygon crop brought to the level of its whole view."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.morphology import convex_hull_image

from scintiseg.predict.crop_level import (
    DEAD_BAND,
    GAIN_RANGE,
    blanked_outside,
    crop_level,
    crop_percentiles,
    is_polygon_crop,
    level_inputs,
)
from scintiseg.predict.loader import load_model
from scintiseg.predict.pipeline import PredictSettings, predict_scan
from scintiseg.prepare.intensity import robust_scale
from scintiseg.scan import Scan


def diamond(rows: int = 60, cols: int = 40, value: float = 10.0) -> np.ndarray:
    """A convex polygon filling its bounding box, the four corners blanked."""
    r, c = np.ogrid[:rows, :cols]
    inside = np.abs(r - (rows - 1) / 2) / (rows / 2) + np.abs(c - (cols - 1) / 2) / (cols / 2) <= 1.05
    return np.where(inside, value, 0.0).astype(np.float32)


def test_a_polygon_crops_outside_is_its_corners_and_air_beside_a_body_runs_edge_to_edge():
    outside, spans = blanked_outside(diamond())
    assert outside[0, 0] and outside[-1, -1] and not outside[30, 20] and not spans
    strip = np.zeros((60, 40), dtype=np.float32)
    strip[:, 12:28] = 5.0  # a body running through a rectangular crop, air on both sides
    outside, spans = blanked_outside(strip)
    assert spans and outside[:, :12].all() and not outside[:, 12:28].any()


def test_only_a_polygon_cut_with_its_outside_blanked_is_taken_for_one():
    assert is_polygon_crop(diamond())
    assert not is_polygon_crop(np.full((60, 40), 3.0))  # a rectangle: nothing blanked
    strip = np.zeros((60, 40))
    strip[:, 12:28] = 5.0
    assert not is_polygon_crop(strip)  # the air beside a body runs from top to bottom
    one_corner = np.full((60, 40), 3.0)
    one_corner[:20, :20] = 0.0
    assert not is_polygon_crop(one_corner)  # one blanked corner is not a polygon's bounding box
    assert not is_polygon_crop(np.zeros((60, 40)))
    assert is_polygon_crop(np.pad(diamond(), 5))  # a margin of zeros all round the polygon
    assert crop_level(np.full((60, 40), 3.0), 2.26) is None


def test_the_level_follows_a_gain_and_is_not_that_of_the_crops_top():
    rng = np.random.default_rng(0)
    crop = diamond() * rng.uniform(0.5, 1.5, (60, 40)).astype(np.float32)
    level = crop_level(crop, 2.26)
    assert level == pytest.approx(crop_level(3 * crop, 2.26) / 3, rel=1e-5)
    low, high = crop_percentiles(crop, 2.26)
    assert low < high and level != pytest.approx(high)


def test_inputs_of_a_rectangle_are_left_alone_and_a_polygon_is_scaled_within_the_bounds():
    images = np.stack([np.full((1, 60, 40), 0.8, dtype=np.float32), diamond(value=1.0)[None]])
    out, gains = level_inputs(images, 2.26)
    assert gains[0] == 1.0 and np.array_equal(out[0], images[0])
    assert gains[1] != 1.0 and GAIN_RANGE[0] <= gains[1] <= GAIN_RANGE[1]
    np.testing.assert_allclose(out[1], images[1] * gains[1])


def _spine_polygon(patient, view: str = "ANT") -> tuple[np.ndarray, tuple[slice, slice]]:
    from scintiseg.phantom.regions import REGION_IDS

    labels = patient.regions[view]
    hull = convex_hull_image(np.isin(labels, [REGION_IDS["thoracic_spine"], REGION_IDS["lumbar_spine"]]))
    rows, cols = np.nonzero(hull)
    return hull, (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))


def test_a_spine_crop_is_brought_near_its_whole_views_level():
    """A polygon around a phantom patient's spine holds mostly hot bone: its own 90th percentile lies far above its
    whole view's level (the crop would reach the network dark); the estimate lies nearer (benchmarks/fit_crop_level.py)."""
    from scintiseg.phantom import generate_patient, profile

    patient = generate_patient(945_000, profile("default"))
    counts = patient.scan.view("ANT").astype(np.float32)
    hull, box = _spine_polygon(patient)
    crop = np.where(hull[box], counts[box], 0.0)
    whole = robust_scale(counts, patient.scan.pixel_spacing)
    own = robust_scale(crop, patient.scan.pixel_spacing)
    estimate = crop_level(crop, patient.scan.pixel_spacing[0])
    assert own / whole > 1.2  # the crop's own level: too high
    assert abs(np.log(estimate / whole)) < 0.5 * abs(np.log(own / whole))


def test_a_gain_within_the_estimates_own_error_is_not_applied(nm1_scan):
    """NM1's left half-chest as a polygon crop: its own level is about its whole view's, and the estimate, a few per
    cent off, is not applied (the cut joint at its edge is called at the slightest brightening)."""
    counts = nm1_scan.view("ANT")[194:348, 142:210].astype(np.float32)
    crop = np.where(diamond(*counts.shape) > 0, counts, 0.0)
    normalised = (crop / robust_scale(crop, nm1_scan.pixel_spacing))[None, None]
    level = crop_level(normalised[0, 0], nm1_scan.pixel_spacing[0])
    assert level is not None and abs(np.log(level)) < DEAD_BAND
    out, gains = level_inputs(normalised, nm1_scan.pixel_spacing[0])
    assert gains == [1.0] and np.array_equal(out, normalised)


def test_prediction_on_a_polygon_crop_uses_the_level_and_on_a_rectangle_does_not(nm1_scan):
    model = load_model(None)
    counts = nm1_scan.view("ANT")[420:600, 80:176].astype(np.float32)  # the pelvis: its own level is too high
    polygon = Scan({"VIEW": np.rint(np.where(diamond(*counts.shape) > 0, counts, 0)).astype(np.uint16)},
                   pixel_spacing=nm1_scan.pixel_spacing)
    rectangle = Scan({"VIEW": np.rint(counts).astype(np.uint16)}, pixel_spacing=nm1_scan.pixel_spacing)
    on, off = PredictSettings(0.5, 4), PredictSettings(0.5, 4, crop_level=False)
    levelled = predict_scan(polygon, model, on)
    assert levelled.triage_score != predict_scan(polygon, model, off).triage_score
    assert "polygon_crop_VIEW" in levelled.qc_flags and "polygon_crop_VIEW" not in predict_scan(polygon, model, off).qc_flags
    plain = predict_scan(rectangle, model, on)
    assert plain.triage_score == predict_scan(rectangle, model, off).triage_score
    assert not any(flag.startswith("polygon_crop") for flag in plain.qc_flags)


def test_a_polygon_with_three_corners_cut_off_is_a_polygon_crop_and_one_with_two_is_not():
    """MIN_CORNERS (3) of the image's corners blanked outside make a polygon crop; two (a band cut diagonally) do not."""
    rows, cols = np.mgrid[:80, :80]
    image = np.full((80, 80), 50.0, np.float32)
    image[(rows + cols < 20) | (rows + (79 - cols) < 20) | ((79 - rows) + cols < 20)] = 0.0  # three corners off
    assert is_polygon_crop(image)
    two = np.full((80, 80), 50.0, np.float32)
    two[(rows + cols < 30) | ((79 - rows) + (79 - cols) < 30)] = 0.0
    assert not is_polygon_crop(two)
