"""benchmarks/make_region_crops.py: BS-80K-like region crops of NM1 hybrids, labelled per crop."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from support import benchmark_module

from scintiseg.io import read_scan


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


def test_phantom_patients_are_cut_by_their_own_region_maps(bench, tmp_path):
    assert bench.main(["--out", str(tmp_path), "--source", "phantom", "--cases", "1", "--seed", "930000"]) == 0
    written = sorted(path.stem for path in (tmp_path / "jpeg").glob("*.jpg"))
    assert written == sorted(f"low-count_s930000_{crop}" for crop in bench.CROPS)
    labels = {row["file"]: row["label"] for row in csv.DictReader((tmp_path / "labels.csv").open())}
    assert set(labels) <= set(written) and set(labels.values()) <= {"abnormal", "normal"}
