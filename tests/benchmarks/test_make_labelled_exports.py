"""benchmarks/make_labelled_exports.py: NM1 hybrids written as DICOM, JPEG and inverted PNG, with labels."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from support import benchmark_module

from scintiseg.io import read_scan
from scintiseg.io.voc import read_voc


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("make_labelled_exports") as module:
        yield module


def test_every_case_is_written_three_ways_and_labelled_by_its_visible_lesions(bench, tmp_path, real_nm1):
    assert bench.main(["--out", str(tmp_path), "--cases", "2", "--negatives", "1", "--scan", str(real_nm1)]) == 0
    rows = list(csv.DictReader((tmp_path / "labels.csv").open()))
    assert rows[-1]["label"] == "normal" and {row["label"] for row in rows} <= {"abnormal", "normal"}
    for row in rows:
        dicom = read_scan(tmp_path / "dicom" / f"{row['file']}.dcm").view("ANT")
        jpeg = read_scan(tmp_path / "jpeg" / f"{row['file']}.jpg")
        inverted = read_scan(tmp_path / "inverted" / f"{row['file']}.png")
        assert jpeg.view("VIEW").dtype == np.uint8 and inverted.metadata["display_inverted"] is True
        assert jpeg.pixel_spacing == inverted.pixel_spacing == (2.26, 2.26)  # assumed from the whole-body rows
        # the bladder (NM1's hottest pixel) is clipped by the window at half the maximum
        assert inverted.view("VIEW")[np.unravel_index(np.argmax(dicom), dicom.shape)] == 255
        boxes = read_voc(tmp_path / "voc" / f"{row['file']}.xml")  # abnormal = a scored lesion box
        assert boxes.shape == dicom.shape and any(not b.difficult for b in boxes.boxes) == (row["label"] == "abnormal")


def test_with_a_gain_the_8bit_exports_are_counts_times_the_gain(bench, tmp_path, real_nm1):
    assert bench.main(["--out", str(tmp_path), "--cases", "1", "--negatives", "1", "--scan", str(real_nm1),
                       "--level", "0.17", "--gain", "2", "2"]) == 0
    for row in csv.DictReader((tmp_path / "labels.csv").open()):
        dicom = read_scan(tmp_path / "dicom" / f"{row['file']}.dcm").view("ANT").astype(int)
        inverted = read_scan(tmp_path / "inverted" / f"{row['file']}.png").view("VIEW").astype(int)  # lossless
        unclipped = (dicom > 0) & (dicom < 127)
        assert np.array_equal(inverted[unclipped], 2 * dicom[unclipped])  # read back from the inverted display
        assert np.median(dicom[dicom > 0]) < 10  # BS-80K's count level
