"""benchmarks/make_region_crops.py: BS-80K-like region crops of NM1 hybrids, labelled per crop."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from support import benchmark_module

from scintiseg.io import read_scan
from scintiseg.io.voc import read_voc_folder


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("make_region_crops") as module:
        yield module


def test_crops_are_bs80k_like_and_labelled_by_the_lesions_inside(bench, tmp_path, real_nm1):
    assert bench.main(["--out", str(tmp_path), "--cases", "3", "--negatives", "1", "--scan", str(real_nm1)]) == 0
    rows = list(csv.DictReader((tmp_path / "labels.csv").open()))
    labels = {row["file"]: row["label"] for row in rows}
    assert "abnormal" in labels.values()  # lesions are centred inside the crops
    control = {file: label for file, label in labels.items() if "_n61003_" in file}  # the lesion-free control
    assert len(control) == len(bench.CROPS) and set(control.values()) == {"normal"}
    for jpeg in sorted((tmp_path / "jpeg").glob("*.jpg")):
        scan = read_scan(jpeg)
        counts = read_scan(tmp_path / "counts" / f"{jpeg.stem}.png").view("VIEW")
        grey = scan.view("VIEW")
        rows_, cols = grey.shape
        assert grey.dtype == np.uint8 and 40 <= cols <= 130 and 60 <= rows_ <= 260  # BS-80K's sizes, about
        assert scan.pixel_spacing == (2.26, 2.26)  # a crop, however tall, keeps the scan's pixel size
        assert counts[0, 0] == 0 and counts.max() < 200  # outside the polygon blanked; BS-80K's low count level
        gain = grey[counts > 20].astype(float) / counts[counts > 20]
        assert 1.0 < np.median(gain) < 3.3  # grey = counts x a gain of 1.2-3 (JPEG-lossy)


def test_a_crop_is_abnormal_only_when_it_holds_most_of_a_visible_lesion(bench):
    class Case:
        instances = {"ANT": np.zeros((20, 20), np.uint16)}
        masks = {"ANT": np.zeros((20, 20), bool)}

    case = Case()
    case.instances["ANT"][5:9, 5:9] = 1
    case.masks["ANT"][5:9, 5:9] = True  # visible, 16 pixels
    case.instances["ANT"][15:17, 15:17] = 2  # invisible
    polygon = np.zeros((20, 20), bool)
    polygon[:, :7] = True  # half of lesion 1
    assert bench.crop_label(case, polygon) == "abnormal"
    polygon[:, 6] = False  # a quarter of it: the crop cuts the lesion, no reader could call it
    assert bench.crop_label(case, polygon) is None
    polygon[:] = False
    polygon[14:, 14:] = True  # only the invisible lesion: not called, not normal either
    assert bench.crop_label(case, polygon) is None
    polygon[:] = False
    polygon[:3, :3] = True
    assert bench.crop_label(case, polygon) == "normal"


def test_boxes_mark_what_a_reader_sees_in_the_crop_in_its_own_coordinates(bench):
    class Case:
        instances = {"ANT": np.zeros((30, 30), np.uint16)}
        masks = {"ANT": np.zeros((30, 30), bool)}

    case = Case()
    case.instances["ANT"][10:14, 10:14] = 1
    case.masks["ANT"][10:14, 10:14] = True  # visible
    case.instances["ANT"][20:22, 20:22] = 2  # invisible
    polygon = np.zeros((30, 30), bool)
    polygon[8:25, 5:25] = True  # the crop starts at row 8, column 5
    spots = [(16.0, 17.0, 2.0), (2.0, 2.0, 2.0)]  # a benign hot spot inside, one outside
    lesion, invisible, normal = bench.crop_boxes(case, polygon, lookalikes=spots)
    assert lesion.label == "Abnormal" and (lesion.rows, lesion.cols) == ((2, 5), (5, 8)) and not lesion.difficult
    assert invisible.difficult  # no reader sees it: not scored, and a call on it is not wrong
    assert normal.label == "Normal" and (normal.rows, normal.cols) == ((6, 10), (10, 14))
    polygon[:, :13] = False  # a quarter of the visible lesion left: not scored either
    assert bench.crop_boxes(case, polygon)[0].difficult


def test_phantom_patients_are_cut_by_their_own_region_maps(bench, tmp_path):
    assert bench.main(["--out", str(tmp_path), "--source", "phantom", "--cases", "1", "--seed", "930000"]) == 0
    written = sorted(path.stem for path in (tmp_path / "jpeg").glob("*.jpg"))
    assert written == sorted(f"low-count_s930000_{crop}" for crop in bench.CROPS)
    labels = {row["file"]: row["label"] for row in csv.DictReader((tmp_path / "labels.csv").open())}
    assert set(labels) <= set(written) and set(labels.values()) <= {"abnormal", "normal"}
    boxes = read_voc_folder(tmp_path / "voc")
    for stem, label in labels.items():  # a crop labelled abnormal has a scored lesion box, a normal one none
        scored = [box for box in boxes[stem].boxes if box.label == "Abnormal" and not box.difficult]
        assert bool(scored) == (label == "abnormal")


def test_rectangles_and_framings_are_cut_whole_and_polygons_blanked(bench, tmp_path):
    """``--shape``: a polygon crop's outside is 0 and it is taken for a polygon crop at prediction; a rectangle or a
    training framing keeps every pixel of its box (air stays air) and is not."""
    from PIL import Image

    from scintiseg.predict.crop_level import is_polygon_crop

    for shape in ("polygon", "rectangle", "framing"):
        out = tmp_path / shape
        assert bench.main(["--out", str(out), "--source", "phantom", "--cases", "1", "--seed", "930000",
                           "--shape", shape]) == 0
        stems = sorted(path.stem.split("930000_", 1)[1] for path in (out / "counts").glob("*.png"))
        expected = bench.CROPS if shape != "framing" else [k for k, _ in bench.FRAMINGS if k != "whole"]
        assert set(stems) <= set(expected) and len(stems) >= len(expected) - 1  # a framing may not be found
        taken = [is_polygon_crop(np.asarray(Image.open(path))) for path in sorted((out / "counts").glob("*.png"))]
        if shape == "polygon":
            assert all(taken)
        elif shape == "rectangle":
            assert not any(t for t, stem in zip(taken, stems) if stem != "skull")  # a head's corners may be air
