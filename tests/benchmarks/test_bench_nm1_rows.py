"""The NM1-rows benchmark (benchmarks/bench_nm1_rows.py): its test set, and experiment folders it only reads.

The full run and its numbers are in docs/results.md (issue 17); here a tiny trained experiment is scored on
a few NM1 hybrids to check that the test set is the experiment's crop size with half its images lesion-free
and its lesions inside the crops, that the experiment folder is never written, that unfinished and dual-view
rows are skipped with a reason, and that the rankings and intervals come out.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scintiseg.errors import ScintisegError
from scintiseg.experiments.runner import run_experiment
from scintiseg.experiments.specs import ExperimentSpec, Row
from scintiseg.io import dataset as ds
from support import benchmark_module, conftest_of


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("bench_nm1_rows") as module:
        yield module


@pytest.fixture(scope="module")
def nm1(bench):
    if not bench.REAL.is_file():
        pytest.skip(f"the real NM1 scan is not here ({bench.REAL})")
    return bench.REAL


def test_test_set_is_cropped_like_the_experiment_half_lesion_free_and_reused(bench, nm1, tmp_path):
    spec = bench.Nm1TestSet(hybrids=4, seed=7, level=0.5, size=(64, 64))
    crops = bench.build_nm1_test_set(spec, tmp_path, progress=False)
    manifest = ds.load_manifest(crops)
    assert [case.meta["negative"] for case in manifest.cases] == [False, False, True, True]
    for case in manifest.cases:
        scan, masks = ds.load_case(crops, case)
        assert scan.view_names == ["ANT"] and scan.shape == (64, 64) and case.origin == "crop"
        whole_scan, whole_masks = ds.load_case(crops.parent / "wholebody", case.meta["parent_case"])
        assert whole_scan.shape == (1024, 256)
        # Lesion centres are placed inside the crop box, so the crop keeps (nearly) every lesion pixel.
        assert masks["ANT"].sum() >= 0.9 * whole_masks["ANT"].sum()
        assert masks["ANT"].any() != case.meta["negative"] or not whole_masks["ANT"].any()
    marker = crops.parent / "crops64x64.json"
    stamp = marker.stat().st_mtime_ns
    assert bench.build_nm1_test_set(spec, tmp_path, progress=False) == crops and marker.stat().st_mtime_ns == stamp
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "level": 0.25}))
    with pytest.raises(ScintisegError, match="made with"):
        bench.build_nm1_test_set(spec, tmp_path, progress=False)


def _tiny_experiment(root: Path) -> Path:
    data = conftest_of("train").write_tiny_dataset(root / "data", size=64)
    spec = ExperimentSpec(
        name="tiny-nm1", title="tiny", source="test", runs=2,
        base={"model": "unet", "model_args": {"width": 4, "depth": 2}, "batch_size": 4, "lr": 3e-3,
              "normalisation": "zscore", "threads": 1},
        rows=(Row("max", {"model_args": {"pooling": "max"}}), Row("avg", {"model_args": {"pooling": "avg"}}),
              Row("late", {"model_args": {"pooling": "max"}}), Row("fused", {"input_mode": "aggregate"})),
        reference="max",
    )
    out = root / "exp"
    run_experiment(spec, data, out, settings={"epochs": 1}, progress=False)
    (out / "late" / "run1" / "summary.json").unlink()  # a row still training
    return out


def _tree(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*"))}


def test_rows_are_scored_on_nm1_without_writing_the_experiment(bench, nm1, tmp_path):
    experiment = _tiny_experiment(tmp_path)
    before = _tree(experiment)
    out = tmp_path / "report.md"
    assert bench.main([str(experiment), "--hybrids", "4", "--seed", "3", "--work", str(tmp_path / "work"),
                       "--out", str(out), "--no-progress", "--threads", "1"]) == 0
    assert _tree(experiment) == before  # read only
    report = json.loads(out.with_suffix(".json").read_text())
    part = report["experiments"][0]
    assert [row["row"] for row in part["rows"]] == ["max", "avg"]
    assert part["skipped"]["late"] == "1 of 2 runs finished"
    assert "needs ANT and POST" in part["skipped"]["fused"]
    assert report["test_set"]["size"] == [64, 64] and part["patients"] == 4
    ranks = sorted(row["nm1_rank"] for row in part["rows"])
    assert ranks == [1, 2] and {row["phantom_rank"] for row in part["rows"]} == {1, 2}
    dsc = {row["row"]: row["dsc"]["mean"] for row in part["rows"]}
    assert [row["nm1_rank"] for row in part["rows"]] == ([1, 2] if dsc["max"] >= dsc["avg"] else [2, 1])
    avg = part["rows"][1]["dsc_minus_reference"]
    assert avg["estimate"] == pytest.approx(dsc["avg"] - dsc["max"]) and avg["low"] <= avg["estimate"] <= avg["high"]
    assert part["rows"][0]["dsc_minus_reference"] is None  # the reference row
    per_image = tmp_path / "work" / "exp" / "max" / "run0" / "eval-nm1-hybrid-f50-seed3-n4-64x64" / "per_image.csv"
    assert len(per_image.read_text().splitlines()) == 1 + 4
    text = out.read_text()
    assert "| max | 2 |" in text and "skipped \"late\": 1 of 2 runs finished" in text and "phantom rank" in text


def test_ranks_put_the_best_first(bench):
    assert bench._ranks({"a": 0.1, "b": 0.3, "c": 0.2}) == {"b": 1, "c": 2, "a": 3}


def test_a_mirror_of_another_experiment_folder_of_the_same_name_is_refused(bench, tmp_path):
    """Two experiment folders named alike (runs/exp3/paper-a-table2, runs/exp4/paper-a-table2) under one --work:
    the second must not read the first one's cached NM1 scores as its own."""
    first, second = tmp_path / "exp3" / "run0", tmp_path / "exp4" / "run0"
    for run in (first, second):
        (run / "checkpoints").mkdir(parents=True)
        (run / "config.yaml").write_text("model: unet\n")
        (run / "summary.json").write_text("{}")
    mirror = tmp_path / "work" / "paper-a-table2" / "max" / "run0"
    assert bench.mirror_run(first, mirror) == mirror
    assert (mirror / "config.yaml").resolve() == (first / "config.yaml").resolve()
    assert bench.mirror_run(first, mirror) == mirror  # the same run again: reused
    with pytest.raises(ScintisegError, match="another --work folder"):
        bench.mirror_run(second, mirror)
