"""Tests for scintiseg.experiments.test_set: the shared phantom test set, its images and per-image scores."""

import json

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.experiments.test_set import (
    PhantomTestSet,
    build_test_set,
    check_disjoint,
    crop_size_of,
    load_test_images,
    read_image_scores,
    TestSetEvaluator,
)
from scintiseg.io.dataset import load_case, load_manifest
from scintiseg.metrics import confusion_counts, per_image_scores
from scintiseg.prepare.views import mirror
from support import conftest_of


def _tiny(root, **kwargs):
    return conftest_of("train").write_tiny_dataset(root, **kwargs)


def test_phantom_test_set_is_made_once_reused_and_disjoint_from_training(tmp_path):
    spec = PhantomTestSet(patients=2, size=(64, 64), seed=5)
    crops = build_test_set(spec, tmp_path / "sets", workers=1, progress=False)
    assert crops == tmp_path / "sets" / "phantom-default-seed5-n2" / "crops64x64"
    assert TestSetEvaluator(crops).folder_name == f"eval-{spec.name}" == "eval-phantom-default-seed5-n2-64x64"
    assert crop_size_of(crops) == (64, 64) and len(load_manifest(crops).cases) == 2
    marker = crops.parent / "crops64x64.json"
    stamp = marker.stat().st_mtime_ns
    assert build_test_set(spec, tmp_path / "sets", workers=1, progress=False) == crops
    assert marker.stat().st_mtime_ns == stamp  # reused, not made again
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "patients": 3}))
    with pytest.raises(ScintisegError, match="made with"):
        build_test_set(spec, tmp_path / "sets", progress=False)
    # A training cohort with the same seed holds the same patients: refused. Another seed passes.
    same = build_test_set(PhantomTestSet(patients=1, size=(64, 64), seed=5), tmp_path / "train", workers=1, progress=False)
    with pytest.raises(ScintisegError, match="also in the training data"):
        check_disjoint(same, crops)
    other = build_test_set(PhantomTestSet(patients=1, size=(64, 64), seed=6), tmp_path / "train", workers=1, progress=False)
    check_disjoint(other, crops)


def test_single_view_networks_are_scored_on_both_views_fused_ones_once(tmp_path):
    data = _tiny(tmp_path / "d", patients=3, size=32)
    single = load_test_images(data, "ant", "zscore")
    assert single.views == ["ANT", "POST"] * 3 and single.patients == 3
    assert [s.case_id for s in single.samples[:2]] == ["P000/ANT", "P000/POST"]
    scan, masks = load_case(data, "P000")
    np.testing.assert_array_equal(single.samples[1].target[0] > 0.5, mirror(masks["POST"]))  # POST in ANT's frame
    fused = load_test_images(data, "aggregate", "zscore")
    assert fused.views == ["ANT"] * 3 and fused.samples[0].image.shape == (1, 32, 32)


def test_check_disjoint_refuses_other_pixel_sizes(tmp_path):
    a = _tiny(tmp_path / "a", patients=2)
    b = _tiny(tmp_path / "b", patients=2)
    manifest = json.loads((b / "dataset.json").read_text())
    manifest["pixel_spacing"] = [4.0, 4.0]
    (b / "dataset.json").write_text(json.dumps(manifest))
    with pytest.raises(ScintisegError, match="4.0 mm"):
        check_disjoint(a, b)


def test_old_per_case_files_give_back_exact_pixel_counts(tmp_path):
    rng = np.random.default_rng(0)
    truth = rng.random((6, 40, 40)) > 0.9
    prediction = truth ^ (rng.random((6, 40, 40)) > 0.93)
    prediction[5] = False
    truth[5] = False  # an empty image: DSC 1 by the empty-image rule, no pixels
    counts = confusion_counts(prediction, truth)
    dsc = per_image_scores(counts)["dsc"]
    lines = ["case_id,patient_id,dsc,lesion_pixels,predicted_pixels"]
    lines += [f"C{i},P{i // 2},{dsc[i]:.6g},{int(truth[i].sum())},{int(prediction[i].sum())}" for i in range(6)]
    (tmp_path / "per_case.csv").write_text("\n".join(lines) + "\n")
    records = read_image_scores(tmp_path)
    found = np.array([[r["tp"], r["fp"], r["fn"]] for r in records])
    np.testing.assert_array_equal(found, counts[:, :3])
    assert read_image_scores(tmp_path / "nothing") is None


@pytest.mark.parametrize("content", ['{"patients": 2, "si', "[]"])
def test_a_damaged_test_set_record_is_one_line_naming_it(tmp_path, content):
    """Session 66: a cut or non-object crops<H>x<W>.json ended `scintiseg experiment` in a traceback."""
    marker = tmp_path / "sets" / "phantom-default-seed5-n2" / "crops64x64.json"
    marker.parent.mkdir(parents=True)
    marker.write_text(content)
    with pytest.raises(ScintisegError) as error:
        build_test_set(PhantomTestSet(patients=2, size=(64, 64), seed=5), tmp_path / "sets", progress=False)
    assert str(error.value).startswith(f"{marker}: ") and "\n" not in str(error.value)
    assert sorted(p.name for p in marker.parent.iterdir()) == ["crops64x64.json"]  # nothing made


@pytest.mark.parametrize("last_line", ["C2,P1,0.5,", "C2,P1,0.5,12a,3", "C2,P1"])
def test_damaged_per_image_scores_are_one_line_naming_the_file(tmp_path, last_line):
    """Session 66: a cut or edited per_case.csv ended `experiment report` in a TypeError / ValueError traceback."""
    (tmp_path / "per_case.csv").write_text(
        f"case_id,patient_id,dsc,lesion_pixels,predicted_pixels\nC1,P0,1.0,4,4\n{last_line}\n")
    with pytest.raises(ScintisegError, match="line 3") as error:
        read_image_scores(tmp_path)
    assert str(error.value).startswith(f"{tmp_path / 'per_case.csv'}: malformed per-image scores")
    (tmp_path / "per_case.csv").write_bytes(b"case_id,patient_id,dsc\nC1,P0,\xff\n")
    with pytest.raises(ScintisegError, match="UnicodeDecodeError"):
        read_image_scores(tmp_path)


@pytest.mark.parametrize("dsc", ["inf", "-Infinity"])
def test_an_infinite_dsc_in_per_case_scores_is_one_line_naming_the_file(tmp_path, dsc):
    """Session 66 (bench_fuzz.py, kind scores-csv): a DSC of infinity made the TP rounded from it an OverflowError
    traceback in `experiment report`."""
    (tmp_path / "per_case.csv").write_text(
        f"case_id,patient_id,dsc,lesion_pixels,predicted_pixels\nC1,P0,1.0,4,4\nC2,P1,{dsc},3,5\n")
    with pytest.raises(ScintisegError, match="line 3") as error:
        read_image_scores(tmp_path)
    assert str(error.value).startswith(f"{tmp_path / 'per_case.csv'}: malformed per-image scores")
    (tmp_path / "per_case.csv").write_text("case_id,patient_id,dsc,lesion_pixels,predicted_pixels\nC1,P0,nan,0,0\n")
    assert read_image_scores(tmp_path)[0]["tp"] == 0.0  # an empty image's NaN DSC, as evaluate writes it: read


def test_per_image_counts_are_the_predictions_own_tp_fp_fn(tmp_path, monkeypatch):
    """A network that calls every pixel: no false negatives, every pixel outside the lesion a false positive, and
    the counts written agree with the DSC written (the paired Recall and CPA are built from these columns)."""
    import torch

    from scintiseg.experiments import test_set as module
    from scintiseg.train.config import TrainConfig

    class Everything(torch.nn.Module):
        def forward(self, x):
            return torch.full_like(x[:, :1], 10.0)

    state = {"config": TrainConfig(normalisation="zscore", batch_size=2).to_dict(), "epoch": 3,
             "model_config": {"name": "everything"}}
    monkeypatch.setattr(module, "load_model_from_checkpoint", lambda path, map_location: (Everything(), state))
    data = _tiny(tmp_path / "d", patients=2, size=32)
    TestSetEvaluator(data, name="t").evaluate(tmp_path / "run")
    lines = (tmp_path / "run" / "eval-t" / "per_image.csv").read_text().splitlines()
    header = lines[0].split(",")
    records = [dict(zip(header, line.split(","))) for line in lines[1:]]
    assert len(records) == 4
    for record in records:
        tp, fp, fn = (int(record[k]) for k in ("tp", "fp", "fn"))
        assert tp > 0 and fn == 0 and tp + fp == 32 * 32
        assert float(record["dsc"]) == pytest.approx(2 * tp / (2 * tp + fp + fn), rel=1e-4)


def test_a_test_set_scores_only_its_original_cases(tmp_path):
    """Copies made from training cases (augmentation, GAN) are never test images."""
    from dataclasses import replace

    from scintiseg.io import dataset as ds

    data = _tiny(tmp_path / "d", patients=3, size=32)
    manifest = ds.load_manifest(data)
    derived = sorted(ds.TRAINING_DERIVED_ORIGINS)[0]
    cases = [replace(case, origin=derived) if case.case_id == "P001" else case for case in manifest.cases]
    ds.save_manifest(replace(manifest, cases=cases), data)
    images = load_test_images(data, "ant", "zscore")
    assert [s.case_id for s in images.samples] == ["P000/ANT", "P000/POST", "P002/ANT", "P002/POST"]
