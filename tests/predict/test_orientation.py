"""Scans stored head-down (scintiseg.predict.orientation): judged by the region map, read turned, output as stored."""

from __future__ import annotations

import numpy as np
import pytest

from scintiseg.predict.orientation import (
    HEAD_DOWN_FLAG,
    MIN_HEAD_MM2,
    NO_UPRIGHT_HEAD_FLAG,
    shows_head_up,
    stood_the_other_quarter,
    turned_head_up,
    turned_regions,
    turned_scan,
    upright,
    views_without_upright_head,
)
from scintiseg.predict.pipeline import PredictSettings, predict_scan, read_upright
from scintiseg.predict.regions import REGION_IDS, SkeletonRegions
from scintiseg.scan import Scan

PIXEL = (2.0, 2.0)


def _map(head_rows: tuple[int, int], leg_rows: tuple[int, int] | None, shape=(400, 100)) -> np.ndarray:
    """A region map with a skull band and, optionally, a femur band (2 mm pixels: a 20-column band of 60 rows is
    4,800 mm^2)."""
    labels = np.zeros(shape, dtype=np.int16)
    labels[head_rows[0]:head_rows[1], 40:80] = REGION_IDS["skull"]
    if leg_rows is not None:
        labels[leg_rows[0]:leg_rows[1], 30:50] = REGION_IDS["femur_left"]
    return labels


def _regions(labels: np.ndarray, named: bool = True) -> SkeletonRegions:
    body = labels >= 0
    return SkeletonRegions("ANT", labels, labels > 0, body, 10, labels.shape[0] - 20, 50.0, [], named)


def test_a_head_is_upright_only_when_large_enough_and_above_the_legs():
    head = int(np.ceil(MIN_HEAD_MM2 / (40 * PIXEL[0] * PIXEL[1])))  # rows of a 40-column band that make the least head
    assert shows_head_up(_map((10, 10 + head), (300, 380)), PIXEL)
    assert not shows_head_up(_map((10, 10 + head - 1), (300, 380)), PIXEL)  # just too small
    assert not shows_head_up(_map((320, 320 + head), (20, 100)), PIXEL)  # below the legs: head-down
    assert not shows_head_up(_map((10, 10 + head), None), PIXEL)  # no legs to be above: not judged upright


def test_a_scan_is_turned_only_when_every_whole_body_view_agrees():
    up, down = _regions(_map((10, 80), (300, 380))), _regions(_map((320, 390), (20, 100)))
    assert upright({"ANT": up, "POST": up}, PIXEL) is True
    assert upright({"ANT": down, "POST": down}, PIXEL) is False
    assert upright({"ANT": up, "POST": down}, PIXEL) is None  # the views disagree: left as stored
    crop = _regions(np.zeros((200, 60), dtype=np.int16), named=False)
    assert upright({"VIEW": crop}, PIXEL) is None  # a crop or spot view is never judged


def test_the_view_without_an_upright_head_is_named_only_when_the_views_disagree():
    up, down = _regions(_map((10, 80), (300, 380))), _regions(_map((320, 390), (20, 100)))
    crop = _regions(np.zeros((400, 100), dtype=np.int16), named=False)
    assert views_without_upright_head({"ANT": up, "POST": down}, PIXEL) == ["POST"]
    assert views_without_upright_head({"ANT": down, "POST": up}, PIXEL) == ["ANT"]
    assert views_without_upright_head({"ANT": up, "POST": up}, PIXEL) == []
    assert views_without_upright_head({"ANT": down, "POST": down}, PIXEL) == []  # agreeing: turned, not flagged
    assert views_without_upright_head({"ANT": up, "POST": crop}, PIXEL) == []  # a crop is never judged


def test_a_two_view_scan_whose_post_is_stored_head_down_is_flagged_not_turned(shipped):
    """A default phantom patient with its POST alone reversed top to bottom (one file of a study exported head-down):
    the views disagree, so nothing is turned (ANT as upright, no ``head_down``) and POST is flagged."""
    from scintiseg.phantom.config import profile
    from scintiseg.phantom.patient import generate_patient

    scan = generate_patient(910008, profile("default")).scan
    mixed = scan.with_views({"ANT": scan.view("ANT"), "POST": np.ascontiguousarray(scan.view("POST")[::-1])})
    up, flagged = predict_scan(scan, shipped), predict_scan(mixed, shipped)
    assert f"{NO_UPRIGHT_HEAD_FLAG}_POST" in flagged.qc_flags and HEAD_DOWN_FLAG not in flagged.qc_flags
    assert not any(flag.startswith(NO_UPRIGHT_HEAD_FLAG) for flag in up.qc_flags)
    np.testing.assert_array_equal(flagged.views["ANT"].labels > 0, up.views["ANT"].labels > 0)


def test_turned_regions_carry_a_turned_view_back_as_stored():
    labels = _map((320, 390), (20, 100))
    regions = _regions(labels)
    back = turned_regions(regions)
    np.testing.assert_array_equal(back.labels, labels[::-1])
    assert (back.top, back.bottom) == (labels.shape[0] - 1 - regions.bottom, labels.shape[0] - 1 - regions.top)
    again = turned_regions(back)
    np.testing.assert_array_equal(again.labels, labels)
    assert (again.top, again.bottom, again.midline) == (regions.top, regions.bottom, regions.midline)
    scan = Scan({"ANT": np.arange(12.0).reshape(4, 3)}, pixel_spacing=PIXEL)
    np.testing.assert_array_equal(turned_scan(scan).view("ANT")[0], [9.0, 10.0, 11.0])


def test_a_scan_is_mapped_turned_only_when_its_maps_as_stored_show_no_upright_head():
    """The region network is asked only when every whole-body view as stored shows no upright head (a network
    standing in for it here would fail if asked), and a lying body only when the reader stood it."""
    up, down = _regions(_map((10, 80), (300, 380))), _regions(_map((320, 390), (20, 100)))
    views = {"ANT": np.zeros((400, 100)), "POST": np.zeros((400, 100))}
    scan = Scan(views, pixel_spacing=PIXEL)
    stood = Scan(views, pixel_spacing=PIXEL, metadata={"turned_upright": "a quarter clockwise"})
    for regions in ({"ANT": up, "POST": up}, {"ANT": up, "POST": down}):  # upright, or the views disagree
        assert turned_head_up(scan, None, regions) is None
        assert stood_the_other_quarter(stood, None, regions) is None
    assert stood_the_other_quarter(scan, None, {"ANT": down, "POST": down}) is None  # never stood by the reader


@pytest.fixture(scope="module")
def shipped():
    from scintiseg.predict.loader import SHIPPED_WEIGHTS, load_model

    if not SHIPPED_WEIGHTS.is_file():
        pytest.skip("no shipped weights")
    return load_model()


def test_nm1_stored_head_down_gives_the_upright_prediction_turned(nm1_scan, shipped):
    """The real scan with its rows reversed: flagged, and every lesion, region and the BSI as on the upright scan,
    on the image as stored (before, the turned scan gave 4 lesions instead of 1 and a BSI over 75 % of the skeleton)."""
    settings = PredictSettings()
    up = predict_scan(nm1_scan, shipped, settings)
    down = predict_scan(turned_scan(nm1_scan), shipped, settings)
    assert HEAD_DOWN_FLAG in down.qc_flags and HEAD_DOWN_FLAG not in up.qc_flags
    np.testing.assert_array_equal(down.views["ANT"].labels, up.views["ANT"].labels[::-1])
    np.testing.assert_array_equal(down.views["ANT"].regions.labels, up.views["ANT"].regions.labels[::-1])
    assert [(l.region, l.laterality, l.area_px) for l in down.lesions] == [(l.region, l.laterality, l.area_px) for l in up.lesions]
    assert down.bsi_percent == pytest.approx(up.bsi_percent) and down.covered_mass_percent == pytest.approx(up.covered_mass_percent)
    rows = nm1_scan.shape[0]
    assert [rows - 1 - l.centroid_row for l in down.lesions] == pytest.approx([l.centroid_row for l in up.lesions])


def test_a_two_view_phantom_head_down_is_read_turned_and_a_crop_is_never_turned(shipped):
    from scintiseg.phantom.config import profile
    from scintiseg.phantom.patient import generate_patient

    patient = generate_patient(972004, profile("small"))  # 512 x 128 at 4.52 mm, ANT and POST
    up = predict_scan(patient.scan, shipped)
    down = predict_scan(turned_scan(patient.scan), shipped)
    assert HEAD_DOWN_FLAG in down.qc_flags and HEAD_DOWN_FLAG not in up.qc_flags
    for view in ("ANT", "POST"):
        np.testing.assert_array_equal(down.views[view].labels > 0, up.views[view].labels[::-1] > 0)  # ids run top down
    assert len(down.lesions) == len(up.lesions) > 0 and len(down.pairs) == len(up.pairs)
    crop = patient.scan.with_views({"VIEW": patient.scan.view("ANT")[60:160, 20:110][::-1]})
    assert HEAD_DOWN_FLAG not in predict_scan(crop, shipped).qc_flags


@pytest.mark.parametrize("quarter", [1, -1])
def test_nm1_stored_lying_either_way_gives_the_upright_prediction(nm1_scan, shipped, tmp_path, quarter):
    """NM1 turned a quarter either way (an export lying on its side): the reader turns it a quarter clockwise, and
    when that leaves the head at the bottom the prediction takes the other quarter (a half turn, not a mirror): the
    upright lesion, side and BSI (before: 9 lesions, taken for a polygon crop, no bones named)."""
    from scintiseg.io import read_scan
    from scintiseg.io.images import write_png16

    write_png16(np.rot90(np.asarray(nm1_scan.view("ANT")), quarter), tmp_path / "lying.png")
    lying = read_scan(tmp_path / "lying.png", split_views=True, pixel_spacing=nm1_scan.pixel_spacing)
    up, got = predict_scan(nm1_scan, shipped), predict_scan(lying, shipped)
    assert "turned_upright" in got.qc_flags and HEAD_DOWN_FLAG not in got.qc_flags
    assert [(l.region, l.laterality, l.area_px, round(l.centroid_row), round(l.centroid_col)) for l in got.lesions] == \
        [(l.region, l.laterality, l.area_px, round(l.centroid_row), round(l.centroid_col)) for l in up.lesions]
    assert got.bsi_percent == pytest.approx(up.bsi_percent)
    assert ("counter-clockwise" in got.scan.metadata["turned_upright"]) is (quarter == -1)


def test_read_upright_reads_a_scan_for_training_as_prediction_reads_it(nm1_scan, tmp_path):
    """``scintiseg adapt`` trains on each site scan as prediction reads it: a head-down scan turned back (rows
    reversed), a lying export stood the other quarter when the reader's quarter left its head at the bottom."""
    from scintiseg.io import read_scan
    from scintiseg.io.images import write_png16

    network = PredictSettings().region_network()
    as_stored, how = read_upright(nm1_scan, network)
    assert as_stored is nm1_scan and how == ""
    upright_again, how = read_upright(turned_scan(nm1_scan), network)
    assert how == HEAD_DOWN_FLAG
    np.testing.assert_array_equal(upright_again.view("ANT"), nm1_scan.view("ANT"))
    write_png16(np.rot90(np.asarray(nm1_scan.view("ANT")), -1), tmp_path / "lying.png")
    lying = read_scan(tmp_path / "lying.png", split_views=True, pixel_spacing=nm1_scan.pixel_spacing)
    stood, how = read_upright(lying, network)
    assert how == "stood_the_other_way"
    np.testing.assert_array_equal(stood.view("VIEW"), nm1_scan.view("ANT"))
