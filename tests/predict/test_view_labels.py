"""Are ANT and POST named the right way round (scintiseg.predict.view_labels): the lumbar spine stands out on the
view taken from the back; a scan named the other way is flagged, by the measure and through the pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from scintiseg.phantom import generate_patient, profile
from scintiseg.predict.pipeline import PredictSettings, predict_from_probabilities
from scintiseg.predict.regions import learned_regions, partial_view
from scintiseg.predict.view_labels import VIEWS_SWAPPED_FLAG, lumbar_contrast, swapped_note, views_swapped
from scintiseg.scan import Scan


@pytest.fixture(scope="module")
def patients():
    """Three two-view phantom patients of two profiles (held-out seeds)."""
    return [generate_patient(seed, profile(name)).scan
            for seed, name in ((930100, "default"), (930101, "randomised"), (930102, "low-count"))]


def _regions(scan: Scan) -> dict:
    """Each view's body fit (the measure needs the body, not the bone names: an empty label map will do)."""
    return {view: learned_regions(scan.view(view), view, np.zeros(scan.shape, np.int16)) for view in scan.view_names}


def test_the_lumbar_spine_stands_out_more_on_post_and_the_names_are_judged_by_it(patients):
    for scan in patients:
        counts = {view: scan.view(view) for view in scan.view_names}
        regions = _regions(scan)
        ant, post = (lumbar_contrast(counts[view], regions[view]) for view in ("ANT", "POST"))
        assert post > 1.05 * ant > 0
        assert not views_swapped(counts, regions)
        swapped = {"ANT": counts["POST"], "POST": counts["ANT"]}
        assert views_swapped(swapped, {"ANT": regions["POST"], "POST": regions["ANT"]})


def test_nothing_is_judged_without_both_views_or_a_whole_body(patients):
    scan = patients[0]
    counts = {view: scan.view(view) for view in scan.view_names}
    swapped_counts = {"ANT": counts["POST"], "POST": counts["ANT"]}
    regions = _regions(scan)
    swapped = {"ANT": regions["POST"], "POST": regions["ANT"]}
    assert not views_swapped({"ANT": swapped_counts["ANT"]}, {"ANT": swapped["ANT"]})  # one view
    crop = partial_view(swapped["ANT"], 0.5)  # a body of 0.5 mm rows: shorter than a whole body, its height unknown
    assert lumbar_contrast(swapped_counts["ANT"], crop) is None
    assert not views_swapped(swapped_counts, {"ANT": crop, "POST": swapped["POST"]})


def test_the_pipeline_flags_a_scan_named_the_other_way_round(patients):
    scan = patients[0]
    nothing = {view: np.zeros(scan.shape, np.float32) for view in scan.view_names}
    named = predict_from_probabilities(scan, nothing, settings=PredictSettings())
    assert VIEWS_SWAPPED_FLAG not in named.qc_flags
    other_way = Scan({"ANT": scan.view("POST"), "POST": scan.view("ANT")}, scan.pixel_spacing, patient_id="P")
    flagged = predict_from_probabilities(other_way, nothing, settings=PredictSettings())
    assert VIEWS_SWAPPED_FLAG in flagged.qc_flags
    # A view with no upright head (a POST frame stored head-down) is no evidence of swapped names: the flag stays off
    # and the head is what is flagged (session 62: views_swapped, the wrong cause and the wrong cure, was raised).
    head = predict_from_probabilities(other_way, nothing, settings=PredictSettings(), qc_flags=["no_upright_head_POST"])
    assert VIEWS_SWAPPED_FLAG not in head.qc_flags and "no_upright_head_POST" in head.qc_flags


def test_a_scan_not_predicted_gets_a_note_when_its_views_look_swapped(patients):
    """What `dataset import` says of a scan (no network: each view's body fit)."""
    scan = patients[1]
    assert swapped_note(scan) == ""
    other_way = Scan({"ANT": scan.view("POST"), "POST": scan.view("ANT")}, scan.pixel_spacing)
    assert swapped_note(other_way).startswith("its views look named the other way round (views_swapped")
    assert swapped_note(Scan({"ANT": scan.view("POST")}, scan.pixel_spacing)) == ""  # one view: not judged


def _lumbar_phantom(top: int):
    """A 600-row body from ``top`` (tissue 10 counts) with a spine 3 columns wide (50 counts) in its lumbar band only."""
    from scintiseg.predict.regions import SkeletonRegions
    from scintiseg.predict.view_labels import LUMBAR_BAND

    counts = np.zeros((1000, 100), np.float32)
    counts[top:top + 600, 20:81] = 10.0
    counts[top + int(LUMBAR_BAND[0] * 600) + 6:top + int(LUMBAR_BAND[1] * 600) - 6, 49:52] = 50.0
    body = counts > 0
    labels = np.zeros(counts.shape, np.int16)
    return counts, SkeletonRegions("POST", labels, labels > 0, body, top, top + 599, 50.0)


def test_lumbar_contrast_reads_the_band_from_the_vertex_and_the_spines_brightest_column():
    """The lumbar band lies 34-46 % of the body's height below its vertex (not below the image's top), and the spine
    is the brightest column within the band's half-width (a narrow spine is not averaged with the tissue beside it)."""
    low, high = lumbar_contrast(*_lumbar_phantom(300)), lumbar_contrast(*_lumbar_phantom(100))
    assert low is not None and low > 3.5
    assert high == pytest.approx(low)
