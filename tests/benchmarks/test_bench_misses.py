"""The misses benchmark (benchmarks/bench_misses.py): its per-lesion records, apparent contrast and bins.

The run on the shipped model and its reading are in docs/robustness.md ("Where the shipped model misses");
here a toy view checks that a lesion is found or missed by the same rule as bench_shift, that a lesion below
the Rose rule or outside the coverage is not a record, and that the apparent contrast is what a flat
background and a uniform disc give.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from scintiseg.scan import Scan
from support import benchmark_module


@pytest.fixture(scope="module")
def bench_misses():
    with benchmark_module("bench_misses") as module:
        yield module


def _lesion(lesion_id: int, contrast: float, visible: bool) -> dict:
    return {"id": lesion_id, "contrast": contrast, "size_mm": 10.0, "shape": "focal", "visible": {"ANT": visible}, "snr": {"ANT": 6.0}}


def test_apparent_contrast_of_a_uniform_disc_on_a_flat_background(bench_misses):
    counts = np.full((80, 80), 10.0)
    rows, cols = np.ogrid[:80, :80]
    disc = (rows - 40) ** 2 + (cols - 40) ** 2 <= 8 ** 2
    counts[disc] = 40.0
    value = bench_misses.apparent_contrast(counts, disc)
    # the 1-px Gaussian lowers the disc's rim a little; the ring 3-6 px out stays at the background
    assert 3.5 < value < 4.0
    assert bench_misses.apparent_contrast(np.full((80, 80), 10.0), disc) == pytest.approx(1.0)


def test_records_hold_visible_lesions_in_the_coverage_found_or_missed(bench_misses):
    counts = np.full((64, 64), 10, dtype=np.uint16)
    instances = np.zeros((64, 64), dtype=np.uint16)
    instances[10:14, 10:14] = 1  # visible, touched by the prediction: found
    instances[30:34, 30:34] = 2  # below the Rose rule: no record
    instances[20:24, 40:44] = 3  # visible, no prediction: missed
    instances[50:54, 50:54] = 4  # visible, outside the coverage: no record
    counts[20:24, 40:44] = 30
    lesions = [_lesion(1, 3.0, True), _lesion(2, 2.5, False), _lesion(3, 4.0, True), _lesion(4, 4.0, True)]
    bench_shift = bench_misses._bench_shift()
    case = bench_shift.ShiftCase("toy", Scan(views={"ANT": counts}), {"ANT": np.isin(instances, [1, 3, 4])},
                                 {"ANT": instances}, lesions)
    coverage = np.ones((64, 64), dtype=bool)
    coverage[45:, 45:] = False
    labels = np.zeros((64, 64), dtype=np.int32)
    labels[13:16, 13:16] = 1
    probability = np.where(labels > 0, 0.9, 0.01).astype(np.float32)
    probability[21, 41] = 0.3
    region_labels = np.zeros((64, 64), dtype=np.int16)
    region_labels[:, 32:] = 2
    result = SimpleNamespace(coverage=coverage, labels=labels, probability=probability,
                             regions=SimpleNamespace(labels=region_labels))

    records = bench_misses.lesion_records(case, "ANT", result, ("other", "skull", "ribs_left"))

    assert [(r["id"], r["found"]) for r in records] == [(1, True), (3, False)]
    assert [r["region"] for r in records] == ["other", "ribs_left"]
    assert records[1]["max_probability"] == pytest.approx(0.3)
    assert records[1]["apparent_contrast"] > 2.0 and records[0]["apparent_contrast"] == pytest.approx(1.0)
    assert records[1]["centre"] == [21.5, 41.5]


def test_sensitivity_rows_bin_by_edges_and_group_by_value(bench_misses):
    records = [{"contrast": c, "view": v, "found": f} for c, v, f in
               [(1.2, "ANT", False), (1.8, "ANT", True), (2.5, "POST", True), (6.0, "POST", True), (7.0, "POST", False)]]
    rows = bench_misses.sensitivity_rows(records, "contrast", (1.0, 2.0, 5.0, np.inf))
    assert rows == [("1-2", 2, 0.5), ("2-5", 1, 1.0), (">= 5", 2, 0.5)]
    assert bench_misses.sensitivity_rows(records, "view") == [("POST", 3, pytest.approx(2 / 3)), ("ANT", 2, 0.5)]
    text = bench_misses.summary_markdown([r | {"source": "phantom", "apparent_contrast": 2.0, "snr": 9.0, "size_mm": 12.0,
                                               "shape": "focal", "region": "skull", "max_probability": 0.01} for r in records])
    assert "5 visible lesion-views, 3 found (sensitivity 0.60); 2 of 2 misses have a largest probability under 0.05" in text


def test_region_probe_places_every_lesion_in_the_named_region_of_nm1(bench_misses):
    bench_shift = bench_misses._bench_shift()
    if not bench_shift.bench_hybrid.REAL.is_file():
        pytest.skip(f"the real NM1 scan is not here ({bench_shift.bench_hybrid.REAL})")
    names = ("other", "skull", "ribs_left", "ribs_right")
    seen = {}

    def predict(scan):  # a stand-in region map: rows 300-420 are the left ribs, 420-520 the right ones
        labels = np.zeros(scan.view("ANT").shape, dtype=np.int16)
        labels[300:420] = 2
        labels[420:520] = 3
        seen["labels"] = labels
        return SimpleNamespace(views={"ANT": SimpleNamespace(regions=SimpleNamespace(labels=labels))})

    cases = bench_misses.probe_cases(bench_shift, SimpleNamespace(predict=predict), ["ribs_left", "ribs"], 2, names)

    assert [c.meta["source"] for c in cases] == ["probe: ribs_left"] * 2 + ["probe: ribs"] * 2
    assert cases[0].case_id == "NM1/ribs_left_s0"
    for case in cases:
        rows = (300, 420) if case.meta["source"] == "probe: ribs_left" else (300, 520)  # "ribs": both sides
        assert case.lesions
        for lesion in case.lesions:
            centre_row = np.nonzero(case.instances["ANT"] == lesion["id"])[0].mean()
            assert rows[0] - 10 <= centre_row <= rows[1] + 10
    with pytest.raises(SystemExit, match="no region named 'femur'"):
        bench_misses.probe_cases(bench_shift, SimpleNamespace(predict=predict), ["femur"], 1, names)


def test_the_probe_table_splits_each_region_by_apparent_contrast(bench_misses):
    def record(found, apparent, p=0.01):
        return {"source": "probe: sternum", "case": "NM1/sternum_s0", "found": found, "apparent_contrast": apparent,
                "max_probability": p}

    text = bench_misses.summary_markdown([record(True, 2.5), record(False, 1.4), record(False, 1.6, 0.2), record(True, 1.8)])
    assert "hybrids of NM1 at 0.5 of its counts" in text
    assert "| sternum | 4 | 0.50 | 3: 0.33 | 1: 1.00 | 1 of 2 |" in text


def test_a_long_bone_lesion_records_where_along_the_bone_it_lies(bench_misses):
    regions = np.zeros((100, 40), dtype=np.int16)
    regions[20:81, 5:10] = 1  # a humerus from row 20 (the head's end) to row 80
    regions[0:10, 20:30] = 2  # a skull
    assert bench_misses.along_bone(regions, 1, 20.0) == 0.0
    assert bench_misses.along_bone(regions, 1, 80.0) == 1.0
    assert bench_misses.along_bone(regions, 1, 50.0) == pytest.approx(0.5)
    assert bench_misses.along_bone(regions, 3, 50.0) is None  # a bone the map does not name
    assert [bench_misses.third(a) for a in (0.0, 0.2, 0.34, 0.66, 0.67, 1.0, 1.2)] == \
        ["proximal", "proximal", "middle", "middle", "distal", "distal", "distal"]

    counts = np.full((100, 40), 10, dtype=np.uint16)
    instances = np.zeros((100, 40), dtype=np.uint16)
    instances[68:73, 5:10] = 1  # centre row 70: 5/6 along the humerus
    instances[3:6, 22:26] = 2  # on the skull: not a long bone
    counts[instances > 0] = 40
    lesions = [_lesion(1, 3.0, True), _lesion(2, 3.0, True)]
    case = bench_misses._bench_shift().ShiftCase("toy", Scan(views={"ANT": counts}), {"ANT": instances > 0},
                                                 {"ANT": instances}, lesions)
    result = SimpleNamespace(coverage=np.ones((100, 40), dtype=bool), labels=np.zeros((100, 40), dtype=np.int32),
                             probability=np.zeros((100, 40), dtype=np.float32), regions=SimpleNamespace(labels=regions))
    records = bench_misses.lesion_records(case, "ANT", result, ("other", "humerus_left", "skull"))
    assert [(r["region"], r["along"]) for r in records] == [("humerus_left", pytest.approx(50 / 60)), ("skull", None)]


def test_the_probe_prints_the_conspicuous_long_bone_lesions_found_per_third(bench_misses):
    def record(found, along, apparent=2.5, source="probe: humerus"):
        return {"source": source, "case": "NM1/x_s0", "found": found, "apparent_contrast": apparent, "max_probability": 0.5,
                "along": along}

    records = [record(True, 0.1), record(False, 0.2), record(True, 0.5), record(False, 0.9),
               record(True, 0.95, apparent=1.5),  # subtle: not counted
               record(True, None),  # named another region: not counted
               record(True, None, source="probe: skull")]  # no long bone: no row
    text = bench_misses.summary_markdown(records)
    assert "| humerus | 1 of 2 | 1 of 1 | 0 of 1 |" in text
    assert "| skull |" not in text.split("by where along the bone")[1]
    assert "by where along the bone" not in bench_misses.summary_markdown([record(True, None, source="probe: skull")])
