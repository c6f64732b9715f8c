"""benchmarks/independent_dataset.py: the independent phantom's patients as a trainable scintiseg data set."""

from __future__ import annotations

import numpy as np
import pytest
from support import benchmark_module

from scintiseg.io.dataset import check_dataset, load_case, load_manifest, load_splits
from scintiseg.prepare.splits import split_dataset


@pytest.fixture(scope="module")
def idd():
    with benchmark_module("independent_dataset") as module:
        yield module


def test_rose_criterion_keeps_the_lesion_that_stands_out_of_its_noise(idd):
    without = np.full((40, 40), 100.0)
    ids = np.zeros((40, 40), dtype=np.int32)
    ids[5:10, 5:10] = 1  # 25 pixels, background 2500 counts: Rose needs an excess of 5 * 50 = 250
    ids[20:25, 20:25] = 2
    with_lesions = without.copy()
    with_lesions[5:10, 5:10] += 12.0  # 300 counts: visible
    with_lesions[20:25, 20:25] += 8.0  # 200 counts: not
    mask, seen, drawn = idd.visible_mask(ids, with_lesions, without)
    assert (seen, drawn) == (1, 2)
    assert mask[5:10, 5:10].all() and not mask[20:25, 20:25].any() and mask.sum() == 25
    assert idd.visible_mask(ids, with_lesions, without, k=3.0)[1] == 2


def test_written_cases_train_as_a_data_set(idd, tmp_path):
    out = tmp_path / "ds"
    assert idd.main(["--out", str(out), "--patients", "2", "--first-seed", "200002"]) == 0
    assert check_dataset(out).valid
    manifest = load_manifest(out)
    assert [c.case_id for c in manifest.cases] == ["IP200002", "IP200003"]
    case = idd.generator().make_case(200002)
    scan, masks = load_case(out, manifest.cases[0])
    assert set(masks) == {"ANT", "POST"} and scan.pixel_spacing == pytest.approx(case.pixel_spacing, rel=1e-3)
    for view in ("ANT", "POST"):
        np.testing.assert_array_equal(scan.view(view), np.rint(case.views[view]))
        assert not (masks[view] & (case.lesions[view] == 0)).any()  # labelled pixels are lesion pixels
    labelled = sum(int(masks[v].any()) for v in masks)
    assert labelled >= 1  # seed 200002 holds lesions visible in both views (7 drawn)
    # appended to an existing data set: the cases are rewritten, not listed twice
    assert idd.main(["--out", str(out), "--patients", "1", "--first-seed", "200002"]) == 0
    assert len(load_manifest(out).cases) == 2


def test_cases_added_to_a_split_data_set_train_and_never_test(idd, tmp_path):
    out = tmp_path / "ds"
    assert idd.main(["--out", str(out), "--patients", "3", "--first-seed", "200004"]) == 0
    before = split_dataset(out, test=0.34, seed=0, folds=2)
    assert idd.main(["--out", str(out), "--patients", "1", "--first-seed", "200007"]) == 0
    after = load_splits(out)  # verified: known cases, no patient on both sides
    assert after["test"] == before["test"] and after["train"] == before["train"] + ["IP200007"]
    assert all(fold["train"][-1] == "IP200007" and "IP200007" not in fold["val"] for fold in after["folds"])


def test_benchmark_seeds_are_refused(idd, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        idd.main(["--out", str(tmp_path / "ds"), "--patients", "5", "--first-seed", "1030"])
    assert stop.value.code == 2 and "benchmarks' test patients" in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()


def test_a_broken_data_set_is_said_in_one_line_and_nothing_is_written(idd, tmp_path, capsys):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "dataset.json").write_text("{not json")
    assert idd.main(["--out", str(out), "--patients", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "dataset.json" in err
    assert sorted(p.name for p in out.iterdir()) == ["dataset.json"]
