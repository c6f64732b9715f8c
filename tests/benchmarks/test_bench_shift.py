"""The shift-matrix benchmark (benchmarks/bench_shift.py): its scoring rules, its derived columns, a smoke run.

The full run and its numbers are in docs/robustness.md ("Shift matrix"); here tiny inputs check that a
detection, a false positive, a lesion below the Rose rule and a pixel outside the model's coverage are
each counted the way the docstring says, that crops and 8-bit exports keep the truth aligned with the
image, and that a refused column becomes a cell rather than a crash.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.phantom import profile
from scintiseg.prepare.crop import thoracic_crop
from scintiseg.scan import Scan
from support import benchmark_module


@pytest.fixture(scope="module")
def bench_shift():
    with benchmark_module("bench_shift") as module:
        yield module


def _lesion(lesion_id: int, contrast: float, visible: bool) -> dict:
    return {"id": lesion_id, "contrast": contrast, "size_mm": 10.0, "shape": "focal", "visible": {"ANT": visible}, "snr": {"ANT": 6.0}}


@pytest.fixture
def toy_case(bench_shift):
    """64 x 64: lesion 1 visible (c 3), lesion 2 below Rose, lesion 3 visible but outside the coverage."""
    counts = np.full((64, 64), 10, dtype=np.uint16)
    counts[5, 60] = 1000  # brightest pixel, outside the coverage
    counts[11, 11] = 50
    instances = np.zeros((64, 64), dtype=np.uint16)
    instances[10:14, 10:14] = 1
    instances[30:34, 30:34] = 2
    instances[50:54, 50:54] = 3
    masks = {"ANT": np.isin(instances, [1, 3])}
    lesions = [_lesion(1, 3.0, True), _lesion(2, 2.5, False), _lesion(3, 4.0, True)]
    return bench_shift.ShiftCase("toy", Scan(views={"ANT": counts}), masks, {"ANT": instances}, lesions)


def test_score_image_counts_detections_false_positives_and_coverage(bench_shift, toy_case):
    coverage = np.zeros((64, 64), dtype=bool)
    coverage[:, :45] = True
    labels = np.zeros((64, 64), dtype=np.int32)
    labels[12:16, 12:16] = 1  # overlaps lesion 1 (4 of its 16 pixels)
    labels[31:33, 31:33] = 2  # on the lesion below Rose: neither hit nor false positive
    labels[40:42, 20:22] = 3  # far from every lesion: a false positive
    labels[50:54, 50:54] = 4  # exactly on lesion 3, but outside the coverage: not seen, not scored
    probability = np.where(labels > 0, 0.9, 0.05).astype(np.float32)
    probability[0, 63] = 1.0  # outside the coverage
    result = SimpleNamespace(coverage=coverage, labels=labels, probability=probability)

    record = bench_shift.score_image(toy_case, "ANT", result)

    assert [les["id"] for les in record["lesions"]] == [1, 2]
    assert [les["detected"] for les in record["lesions"]] == [True, True]
    assert [les["visible"] for les in record["lesions"]] == [True, False]
    assert record["predicted"] == 3 and record["false_positives"] == 1
    assert (record["tp_px"], record["fn_px"]) == (4, 12)
    assert record["fp_px"] == 16 - 4 + 4 + 4  # lesion-1 component outside the mask, the Rose one, the far one
    assert record["abnormal"] and not record["lesion_free"]
    assert record["max_probability"] == pytest.approx(0.9)
    assert record["brightest_pixel"] == 50.0


def test_summarise_pools_pixels_and_ranks_images(bench_shift):
    def image(abnormal, max_probability, brightest, detected, false_positives, tp=0, fp=0, fn=0):
        lesions = [{"visible": True, "contrast": 3.0, "detected": detected}] if abnormal else []
        return {"abnormal": abnormal, "lesion_free": not abnormal, "lesions": lesions, "coverage": 1.0,
                "false_positives": false_positives, "tp_px": tp, "fp_px": fp, "fn_px": fn,
                "max_probability": max_probability, "brightest_pixel": brightest}

    images = [image(True, 0.9, 100, True, 0, tp=8, fn=2), image(True, 0.8, 90, False, 1, fn=10),
              image(False, 0.1, 100, False, 1, fp=6), image(False, 0.2, 90, False, 0)]
    cell = bench_shift.summarise(images, refused=[])
    assert cell["sensitivity_contrast_ge_2"] == 0.5
    assert cell["fp_per_view"] == 0.5
    assert cell["pooled_dsc"] == pytest.approx(2 * 8 / (2 * 8 + 6 + 12))
    assert cell["auc_max_probability"] == 1.0 and cell["auc_brightest_pixel"] == 0.5

    checks = bench_shift.verdict(cell, default_cell=cell | {"sensitivity_contrast_ge_2": 0.6})
    assert checks == {"sensitivity_contrast_ge_2": False, "fp_per_view": True, "auc_gain": True,
                      "within_10pct_of_default": False}  # 0.5 < 0.9 x 0.6
    assert bench_shift.verdict(cell, default_cell=cell)["within_10pct_of_default"] is True


def test_a_refused_column_is_a_cell_with_the_error_line(bench_shift, toy_case):
    def refuse(scan):
        raise ScintisegError("image of 256 x 128 pixels is too small")

    model = SimpleNamespace(model=SimpleNamespace(input_mode="ant"), predict=refuse)
    cell, records, example = bench_shift.evaluate_column(model, [toy_case, toy_case])
    assert cell["images"] == 0 and cell["refused_images"] == 2
    assert cell["refused"] == "image of 256 x 128 pixels is too small"
    assert example["refused"] == cell["refused"] and example["labels"] is None
    assert bench_shift._cell_text(cell, "pooled_dsc") == "refused"
    assert bench_shift.verdict(cell, None)["fp_per_view"] is False


@pytest.fixture(scope="module")
def default_case(bench_shift):
    return bench_shift.phantom_cases(profile("default"), 1, bench_shift.DEFAULT_SEED)[0]


def test_crops_are_cut_halves_of_the_thoracic_window_with_their_truth(bench_shift, default_case):
    crops, skipped = bench_shift.crop_cases([default_case])
    assert skipped == [] and len(crops) == 4  # ANT and POST, left and right
    boxes = thoracic_crop(default_case.scan).boxes
    for view in ("ANT", "POST"):
        left, right = (next(c for c in crops if c.case_id.endswith(f"{view}_{side}")) for side in ("left", "right"))
        whole = boxes[view].crop(default_case.scan.view(view))
        assert np.array_equal(np.hstack([left.scan.view(view), right.scan.view(view)]), whole)  # cut, not zeroed
        assert np.array_equal(np.hstack([left.masks[view], right.masks[view]]), boxes[view].crop(default_case.masks[view]))
        for crop in (left, right):
            assert list(crop.scan.views) == [view] and crop.scan.pixel_spacing == default_case.scan.pixel_spacing
            inside = set(np.unique(crop.instances[view]).tolist()) - {0}
            assert {les["id"] for les in crop.lesions} == inside  # lesions outside the crop do not count


def test_jpeg_export_keeps_truth_and_spacing(bench_shift, default_case):
    exported = bench_shift.jpeg_cases([default_case], seed=3)[0]
    again = bench_shift.jpeg_cases([default_case], seed=3)[0]
    for view in ("ANT", "POST"):
        grey = exported.scan.view(view)
        assert grey.dtype == np.uint8 and grey.shape == default_case.scan.view(view).shape
        assert np.array_equal(grey, again.scan.view(view))  # deterministic
        low, high = bench_shift.JPEG_SATURATION
        assert low <= exported.meta["saturation"][view] <= high
        assert exported.masks[view] is default_case.masks[view]
    assert exported.scan.pixel_spacing == default_case.scan.pixel_spacing


def test_shifted_column_differs_from_default(bench_shift):
    config, note = bench_shift.phantom_config("shifted")
    assert config.to_dict() != profile("default").to_dict()
    assert note


def test_the_tilted_column_is_the_default_profile_with_the_patient_turned(bench_shift):
    config, note = bench_shift.phantom_config("tilted")
    default = profile("default").to_dict()
    tilted = config.to_dict()
    assert tilted["anatomy"].pop("body_tilt_deg") == tuple(bench_shift.TILT_DEG) != default["anatomy"].pop("body_tilt_deg")
    tilted.pop("name"), default.pop("name")
    assert tilted == default and "turned" in note  # one shift away, nothing else


def test_parse_models_refuses_malformed_specs(bench_shift):
    assert bench_shift.parse_models(["old=shipped", "new=runs/x"]) == [("old", "shipped"), ("new", "runs/x")]
    with pytest.raises(ScintisegError):
        bench_shift.parse_models(["shipped"])
    with pytest.raises(ScintisegError):
        bench_shift.parse_models(["a=x", "a=y"])


def test_smoke_run_writes_every_output(bench_shift, tmp_path):
    out = tmp_path / "shift.json"
    code = bench_shift.main(["--model", "new=shipped", "--columns", "default,crops", "--patients", "1",
                             "--json-out", str(out), "--markdown-out", str(tmp_path / "shift.md"),
                             "--figures", str(tmp_path), "--threads", "1"])
    assert code == 0
    result = json.loads(out.read_text())
    cells = result["models"]["new"]["columns"]
    assert cells["default"]["cell"]["images"] == 2  # ANT and POST of one patient
    # The left and right half-chest crops of both views: the shipped model tiles whatever view it is given.
    assert cells["crops"]["cell"]["images"] == 4 and not cells["crops"]["cell"]["refused"]
    assert set(cells["default"]["targets"]) == {"sensitivity_contrast_ge_2", "fp_per_view", "auc_gain", "within_10pct_of_default"}
    table = (tmp_path / "shift.md").read_text()
    assert "| new |" in table
    assert (tmp_path / "robustness_shift_default.png").stat().st_size > 0
    assert (tmp_path / "robustness_shift_crops.png").stat().st_size > 0


def test_main_refuses_an_unknown_column(bench_shift, capsys):
    assert bench_shift.main(["--model", "old=shipped", "--columns", "default,nope"]) == 2
    assert "nope" in capsys.readouterr().err

