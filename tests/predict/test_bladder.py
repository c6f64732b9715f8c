"""scintiseg.predict.bladder: the bladder's hot spot, and lesions marked when they lie beside it."""

from __future__ import annotations

import json

import numpy as np

from support import blob_settings
from scintiseg.predict import bladder
from scintiseg.predict.bladder import BESIDE_BLADDER, bladder_calls, bladder_mask, surroundings
from scintiseg.predict.pipeline import predict_from_probabilities
from scintiseg.report.outputs import write_outputs


def test_nm1s_bladder_is_found_where_a_reader_sees_it(nm1_scan, nm1_regions):
    spot = bladder_mask(nm1_scan.view("ANT"), nm1_regions, nm1_scan.pixel_spacing)
    assert spot is not None
    rows, cols = np.nonzero(spot)
    area = spot.sum() * np.prod(nm1_scan.pixel_spacing)
    assert 1500 < area < 5000  # NM1's bladder, about 6 cm across
    assert 400 < rows.mean() < 440 and abs(cols.mean() - nm1_regions.midline) < 15  # midline, below L5
    counts = nm1_scan.view("ANT").astype(np.float64)
    assert counts[spot].mean() > 3 * np.median(counts[nm1_regions.bone])


def test_no_bladder_without_named_bones_or_a_hot_enough_spot(nm1_scan, nm1_regions, monkeypatch):
    from dataclasses import replace

    crop = replace(nm1_regions, named=False)
    assert bladder_mask(nm1_scan.view("ANT"), crop, nm1_scan.pixel_spacing) is None  # a crop: bones not named
    monkeypatch.setattr(bladder, "HOT_FACTOR", 50.0)  # hotter than NM1's bladder: nothing is found
    assert bladder_mask(nm1_scan.view("ANT"), nm1_regions, nm1_scan.pixel_spacing) is None


def test_a_lesion_beside_the_bladder_is_marked_and_flagged_one_far_from_it_is_not(nm1_scan, make_blobs, tmp_path):
    """A lesion map with one blob at the bladder's upper edge (NM1's sacrum) and one in the thoracic spine."""
    probability = make_blobs(nm1_scan.shape, [(401, 140, 4), (250, 128, 4)])
    # The blobs are in the map only, not in NM1's counts: the count-based rules would leave them out.
    prediction = predict_from_probabilities(nm1_scan, {"ANT": probability},
                                            settings=blob_settings(0.5, 4))
    spot = surroundings(bladder_mask(nm1_scan.view("ANT"), prediction.views["ANT"].regions, nm1_scan.pixel_spacing),
                        nm1_scan.pixel_spacing)
    by_row = {round(lesion.centroid_row): lesion for lesion in prediction.lesions}
    assert by_row[401].beside == BESIDE_BLADDER and spot[405, 140] and not spot[397, 140]  # its lower edge is near
    assert by_row[250].beside is None and not spot[250, 128]
    assert "lesion_beside_bladder_ANT" in prediction.qc_flags
    write_outputs(prediction, tmp_path, dicom=False)
    report = json.loads((tmp_path / "report.json").read_text())
    assert sorted(str(lesion["beside"]) for lesion in report["lesions"]) == ["None", "bladder"]
    page = (tmp_path / "report.html").read_text()
    assert "<th>Beside</th>" in page and "lesion_beside_bladder_ANT" in page
    shapes = json.loads((tmp_path / "ANT.labelme.json").read_text())["shapes"]  # the reader sees it in LabelMe too
    assert sorted(shape["description"].endswith("(beside bladder)") for shape in shapes) == [False, True]
    far = predict_from_probabilities(nm1_scan, {"ANT": make_blobs(nm1_scan.shape, [(250, 128, 4)])},
                                     settings=blob_settings(0.5, 4))
    assert "lesion_beside_bladder_ANT" not in far.qc_flags


def test_a_hot_spot_over_the_lumbar_spine_is_not_the_bladder(monkeypatch):
    """A faint bladder below a hot L5 (a superscan's, or a lesion's): the lumbar spot, with more counts above bone,
    was taken for the bladder (phantom superscan 910008 POST); a piece mostly over the map's lumbar spine is refused,
    and the bladder is found."""
    from scintiseg.predict.regions import REGION_IDS, SkeletonRegions

    labels = np.zeros((400, 200), np.int16)
    labels[100:250, 92:108] = REGION_IDS["lumbar_spine"]
    labels[250:330, 85:115] = REGION_IDS["sacrum"]
    labels[225:340, 30:85] = REGION_IDS["pelvis"]  # the iliac crests beside L4-L5
    labels[225:340, 115:170] = REGION_IDS["pelvis"]
    counts = np.where(labels > 0, 20.0, 4.0)
    rows, cols = np.mgrid[:400, :200]
    counts[(rows - 300) ** 2 + (cols - 100) ** 2 <= 15**2] = 70.0  # the bladder: 3.5 x bone, 707 px
    lumbar = (labels == REGION_IDS["lumbar_spine"]) & (rows >= 215)  # L4-L5: 560 px
    counts[lumbar] = 200.0  # far hotter: more counts above bone than the bladder
    regions = SkeletonRegions("POST", labels, labels > 0, np.ones(labels.shape, bool), 20, 390, 100.0)
    spacing = (2.26, 2.26)
    found = bladder_mask(counts, regions, spacing)
    assert found is not None and not (found & lumbar).any() and abs(np.nonzero(found)[0].mean() - 300) < 2
    monkeypatch.setattr(bladder, "_LUMBAR", -1)  # without the rule the lumbar spot wins
    assert (bladder_mask(counts, regions, spacing) & lumbar).any()


def ndimage_touch(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two masks touch (8-connected): then they would be one call."""
    from scipy import ndimage

    return bool((ndimage.binary_dilation(a, structure=np.ones((3, 3), bool)) & b).any())


def _pelvis_with_bladder():
    """A synthetic pelvis: sacrum and iliac bones at 20 counts, a bladder of 3.5 times bone (radius 15 px) below."""
    from scintiseg.predict.regions import REGION_IDS, SkeletonRegions

    labels = np.zeros((400, 200), np.int16)
    labels[100:250, 92:108] = REGION_IDS["lumbar_spine"]
    labels[250:330, 85:115] = REGION_IDS["sacrum"]
    labels[225:340, 30:85] = REGION_IDS["pelvis"]
    labels[225:340, 115:170] = REGION_IDS["pelvis"]
    counts = np.where(labels > 0, 20.0, 4.0)
    rows, cols = np.mgrid[:400, :200]
    counts[(rows - 300) ** 2 + (cols - 100) ** 2 <= 15**2] = 70.0
    regions = SkeletonRegions("ANT", labels, labels > 0, np.ones(labels.shape, bool), 20, 390, 100.0)
    return counts, regions, rows, cols


def test_a_call_covering_the_bladder_is_left_out_one_at_its_edge_or_elsewhere_is_not():
    counts, regions, rows, cols = _pelvis_with_bladder()
    spacing = (2.26, 2.26)
    spot = bladder_mask(counts, regions, spacing)
    disc = lambda r, c, radius: (rows - r) ** 2 + (cols - c) ** 2 <= radius**2  # noqa: E731
    urine = disc(302, 100, 11)  # covers about half of the spot
    edge = disc(300, 118, 5)  # at its right edge: lies partly on the spot, covers a few hundredths of it
    far = disc(150, 100, 5)  # a lumbar call
    assert 0.4 <= (urine & spot).sum() / spot.sum() < 0.6 and 0 < (edge & spot).sum() / spot.sum() < 0.1
    assert not ndimage_touch(urine, edge)  # two calls
    dropped = bladder_calls(urine | edge | far, spot)
    assert (dropped == urine).all()
    assert not bladder_calls(urine | edge | far, spot, cover=0.6).any()  # the cut decides
    assert not bladder_calls(np.zeros_like(urine), spot).any()
    no_bladder = bladder_mask(np.where(regions.labels > 0, 20.0, 4.0), regions, spacing)
    assert no_bladder is None and not bladder_calls(urine, no_bladder).any()


def test_the_pipeline_leaves_a_call_on_the_bladder_out_for_review(nm1_scan, make_blobs, nm1_regions, tmp_path):
    """A blob over NM1's bladder is the urine: left out, flagged, kept for review; with the rule off, a lesion."""
    spot = bladder_mask(nm1_scan.view("ANT"), nm1_regions, nm1_scan.pixel_spacing)
    row, col = (int(round(v)) for v in np.argwhere(spot).mean(axis=0))
    probability = make_blobs(nm1_scan.shape, [(row, col, 10), (250, 128, 4)])
    kept = predict_from_probabilities(nm1_scan, {"ANT": probability}, settings=blob_settings(0.5, 4))
    everything = predict_from_probabilities(nm1_scan, {"ANT": probability},
                                            settings=blob_settings(0.5, 4, bladder=False))
    assert len(everything.lesions) == 2 and [round(lesion.centroid_row) for lesion in kept.lesions] == [250]
    (call,) = kept.views["ANT"].left_out
    assert call.rule == "bladder" and kept.views["ANT"].bladder_calls == 1
    assert "bladder_activity_ANT" in kept.qc_flags and "bladder_activity_ANT" not in everything.qc_flags
    write_outputs(kept, tmp_path, dicom=False)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["views"]["ANT"]["bladder_calls"] == 1 and report["left_out_calls"][0]["rule"] == "bladder"
    assert "the urine, not a lesion" in (tmp_path / "report.html").read_text()


def test_a_hot_spot_far_from_the_midline_is_not_the_bladder():
    counts, regions, rows, cols = _pelvis_with_bladder()
    counts[(rows - 300) ** 2 + (cols - 175) ** 2 <= 15**2] = 200.0  # hotter and as large, 75 px (170 mm) aside
    found = bladder_mask(counts, regions, (2.26, 2.26))
    assert found is not None and abs(np.nonzero(found)[1].mean() - 100) < 2


def test_of_two_hot_spots_in_the_pelvis_the_one_with_most_counts_above_bone_is_the_bladder():
    counts, regions, rows, cols = _pelvis_with_bladder()
    counts[(rows - 262) ** 2 + (cols - 112) ** 2 <= 8**2] = 70.0  # above the bladder, first in raster order, smaller
    found = bladder_mask(counts, regions, (2.26, 2.26))
    assert found is not None and abs(np.nonzero(found)[0].mean() - 300) < 2
