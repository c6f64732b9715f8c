"""Demo steps: the training configuration of each recipe and the test-only split of the ``synthetic`` recipe, what
the report is told of lesions, the real scan and the reader's review, and the training device."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.experiments.demo import steps
from scintiseg.experiments.demo.settings import NM1_STUDY_UIDS, DemoSettings
from scintiseg.experiments.demo.state import DemoState
from scintiseg.experiments.demo.steps import (
    all_test_splits,
    describe_real_scan,
    lesion_counts,
    real_scan_caption,
    review_with_truth,
    showcase_case,
    train_config,
    whole_body_detection,
)
from scintiseg.io.dataset import Case, DatasetManifest, load_splits, save_manifest
from scintiseg.io.images import write_mask_png


def test_synthetic_recipe_trains_as_the_shipped_model_without_reading_the_cohort(tmp_path):
    settings = DemoSettings(size=128, pool_patients=5, refresh=0.5, val_patients=3, windows_per_view=1)
    config = train_config(settings, "dpunet", tmp_path / "crops", tmp_path / "run", threads=1)
    config.validate()
    assert config.synthetic == "randomised" and config.normalisation == "robust" and config.degrade
    assert (config.pixel_mm, config.window_size) == (2.26, 128)
    assert (config.pool_patients, config.refresh, config.val_patients, config.windows_per_view) == (5, 0.5, 3, 1)
    assert (config.batch_size, config.lr, config.head_prior, config.loss) == (8, 1e-3, 0.01, "dice_bce")
    assert config.model_args == {"pooling": "fusion", "dac": "dac2", "rmp": True, "width": 8}


def test_crops_recipe_trains_on_the_crops_as_before_issue_13(tmp_path):
    config = train_config(DemoSettings(recipe="crops"), "unet", tmp_path / "crops", tmp_path / "run", threads=1)
    assert config.synthetic == "" and config.data == str(tmp_path / "crops")
    assert config.normalisation == "percentile" and config.epochs == 40


def test_both_networks_get_the_same_budget(tmp_path):
    a, b = (train_config(DemoSettings(), key, tmp_path, tmp_path / key, threads=1).to_dict() for key in ("dpunet", "unet"))
    differ = {k for k in a if a[k] != b[k]}
    assert differ == {"model", "model_args", "out"}


def _dataset(root: Path, patients: list[str], lesions: dict[str, list[dict]]) -> None:
    cases = [Case(case_id=p, patient_id=p, image=f"images/{p}.dcm", meta={"lesions": lesions.get(p, [])})
             for p in patients]
    save_manifest(DatasetManifest(name="t", views=["ANT"], pixel_spacing=(2.26, 2.26), cases=cases), root)


def test_cohort_splits_put_every_patient_in_test_and_load(tmp_path):
    _dataset(tmp_path, ["PH0001", "PH0002", "PH0003"], {})
    all_test_splits(tmp_path)
    splits = load_splits(tmp_path)
    assert splits["train"] == [] and splits["test"] == ["PH0001", "PH0002", "PH0003"]
    assert splits["test_fraction"] == 1.0


def test_showcase_counts_lesions_outside_the_crop_only_for_whole_view_models(tmp_path):
    inside = {"in_crop": True, "visible": {"ANT": True}}
    outside = {"in_crop": False, "visible": {"ANT": True}}
    _dataset(tmp_path, ["A", "B"], {"A": [inside], "B": [outside, outside, outside]})
    assert showcase_case(tmp_path, ["A", "B"]) == "A"
    assert showcase_case(tmp_path, ["A", "B"], whole=True) == "B"


def test_detection_caption_names_the_window_only_when_there_is_one():
    truth = np.zeros((20, 10), bool)
    truth[2:4, 2:4] = truth[15:17, 5:7] = True
    predicted = np.zeros_like(truth)
    predicted[2:4, 2:4] = True
    assert whole_body_detection(predicted, truth, np.ones_like(truth)) == "1 of 2 true lesions found, 0 false positive(s)"
    window = np.zeros_like(truth)
    window[:10] = True
    assert whole_body_detection(predicted, truth, window) == "1 of 1 true lesions in the window found, 0 false positive(s)"


def test_lesion_counts_are_the_distinct_lesions_and_each_view():
    summary = {"lesion_count": 11, "lesion_count_by_view": {"ANT": 5, "POST": 11}, "distinct_lesion_count": 13,
               "pair_count": 3}
    assert lesion_counts(summary) == {"lesions": 13, "lesions_by_view": {"ANT": 5, "POST": 11}, "pairs": 3}


def _scan(study_uid: str, views=("ANT",), manufacturer: str = "Acme"):
    return SimpleNamespace(study_uid=study_uid, views={view: None for view in views}, shape=(1024, 256),
                           pixel_spacing=(2.4, 2.4), metadata={"manufacturer": manufacturer})


def test_only_nm1_is_described_as_nm1():
    nm1 = _scan(sorted(NM1_STUDY_UIDS)[0])
    assert "NEMA WG04 test image NM1" in describe_real_scan(nm1)
    other = _scan("1.2.3.4", views=("ANT", "POST"))
    assert describe_real_scan(other) == "the scan given with --real, manufacturer Acme: views ANT, POST, 1024 x 256 pixels at 2.40 mm"
    prediction = SimpleNamespace(views={"ANT": SimpleNamespace(coverage=np.ones((2, 2), bool))})
    settings = DemoSettings(size=128)
    for shipped in (False, True):
        assert "NM1 has hot spots" in real_scan_caption(settings, nm1, prediction, shipped)
        caption = real_scan_caption(settings, other, prediction, shipped)
        assert "NM1 has" not in caption and "No ground truth exists for this scan" in caption


def test_review_text_says_what_review_does_with_the_left_out_calls(tmp_path, monkeypatch):
    from scintiseg.report import review_folder as review_module  # lazy: patched for this test only

    truth = np.zeros((40, 20), bool)
    truth[5:9, 5:9] = True
    write_mask_png(truth, tmp_path / "phantom" / "masks" / "PH0001_ANT.png")
    folder = tmp_path / "out" / "predict" / "shipped-phantom-PH0001"
    folder.mkdir(parents=True)
    left_out = {"label": "left_out", "points": [[1, 1], [1, 3], [3, 3]], "shape_type": "polygon"}
    (folder / "ANT.labelme.json").write_text(json.dumps({"shapes": [left_out]}), encoding="utf-8")
    summary = {"lesion_count": 2, "lesion_count_by_view": {"ANT": 1, "POST": 2}, "distinct_lesion_count": 2,
               "pair_count": 1, "bsi_percent": 1.0, "bsi_covered_mass_percent": 100.0, "qc_flags": ["bladder_activity_ANT"],
               "soloway_grade": 1}
    record = {"views": {"ANT": {"kept": 0, "edited": 1, "drawn": 0, "deleted": 0, "network_lesions": 1}}}
    monkeypatch.setattr(review_module, "review_folder",
                        lambda edited, out, model=None: ({"summary": summary}, record, {"summary": summary}))
    case = Case(case_id="PH0001", patient_id="PH0001", image="images/PH0001.dcm", masks={"ANT": "masks/PH0001_ANT.png"})
    info = review_with_truth(folder, case, tmp_path / "phantom", None, tmp_path / "out")
    edited = json.loads((Path(info["edited"]) / "ANT.labelme.json").read_text(encoding="utf-8"))
    assert {shape["label"] for shape in edited["shapes"]} == {"lesion"}  # the reader's file holds no left-out call
    assert "deletes every call" not in info["review"]
    assert "is no longer listed, since the reader's files no longer hold its dashed shape" in info["review"]
    assert (info["lesions"], info["lesions_by_view"], info["pairs"]) == (2, {"ANT": 1, "POST": 2}, 1)


def test_training_device_is_recorded_and_read_back_for_a_skipped_run(tmp_path, monkeypatch):
    monkeypatch.setattr(steps, "training_device", lambda config: {"device": "cuda:0", "name": "NVIDIA H100"})
    monkeypatch.setattr("scintiseg.train.loop.train", lambda config, resume: None)
    settings = DemoSettings(out=str(tmp_path), epochs=1, threads=1)
    state = DemoState(settings={})
    steps.train_model(settings, "dpunet", tmp_path / "crops", tmp_path / "dpunet", state, "3/6")
    assert state.runs["device"]["dpunet"] == {"device": "cuda:0", "name": "NVIDIA H100"}
    (tmp_path / "dpunet" / "summary.json").write_text(json.dumps({"finished": True, "epochs_run": 1}), encoding="utf-8")
    again = DemoState(settings={})
    steps.train_model(settings, "dpunet", tmp_path / "crops", tmp_path / "dpunet", again, "3/6")
    assert again.skipped == ["train dpunet"] and again.runs["device"]["dpunet"]["name"] == "NVIDIA H100"


def test_training_device_is_the_training_loops_choice():
    import torch  # lazy: torch, for this test only

    config = train_config(DemoSettings(), "unet", Path("crops"), Path("run"), threads=1)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert steps.training_device(config)["device"].split(":")[0] == expected


@pytest.mark.parametrize("content", ['{"finished": tr', "[]"])
def test_a_damaged_record_of_an_earlier_run_is_one_line_naming_it(tmp_path, monkeypatch, content):
    """Session 66: a cut or non-object summary.json, demo-device.json or eval-test/metrics.json left by an earlier
    demo in OUT ended the rerun in a traceback (JSONDecodeError, AttributeError, later a TypeError)."""
    monkeypatch.setattr("scintiseg.train.loop.train", lambda config, resume: pytest.fail("trained"))
    settings = DemoSettings(out=str(tmp_path), epochs=1, threads=1)
    run = tmp_path / "dpunet"
    run.mkdir()
    (run / "summary.json").write_text(content)
    with pytest.raises(ScintisegError) as error:
        steps.train_model(settings, "dpunet", tmp_path / "crops", run, DemoState(settings={}), "3/6")
    assert str(error.value).startswith(f"{run / 'summary.json'}: ") and "\n" not in str(error.value)
    (run / "summary.json").write_text(json.dumps({"finished": True, "epochs_run": 1}))
    (run / steps.TRAINING_DEVICE_FILE).write_text(content)
    with pytest.raises(ScintisegError, match=steps.TRAINING_DEVICE_FILE):
        steps.train_model(settings, "dpunet", tmp_path / "crops", run, DemoState(settings={}), "3/6")
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "best.pt").write_bytes(b"")
    (run / "eval-test").mkdir()
    (run / "eval-test" / "metrics.json").write_text(content)
    with pytest.raises(ScintisegError, match="metrics.json: "):
        steps.evaluate_model(run, tmp_path / "crops", "dpunet", DemoState(settings={}))
    (run / "eval-test" / "metrics.json").write_text('{"pooled": 5, "images": 2}')  # an object, but no scores
    with pytest.raises(ScintisegError, match=r"metrics.json: not an evaluation's metrics \(no pooled scores\)"):
        steps.evaluate_model(run, tmp_path / "crops", "dpunet", DemoState(settings={}))


def test_a_finished_run_of_fewer_epochs_is_trained_on(tmp_path, monkeypatch):
    trained = []
    monkeypatch.setattr(steps, "training_device", lambda config: {"device": "cpu"})
    monkeypatch.setattr("scintiseg.train.loop.train", lambda config, resume: trained.append(config.epochs))
    run = tmp_path / "dpunet"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps({"finished": True, "epochs_run": 1}), encoding="utf-8")
    state = DemoState(settings={})
    steps.train_model(DemoSettings(out=str(tmp_path), epochs=2, threads=1), "dpunet", tmp_path / "crops", run, state, "3/6")
    assert trained == [2] and state.skipped == []


def test_a_cohort_of_another_size_is_generated_again(tmp_path, monkeypatch):
    made = []
    monkeypatch.setattr("scintiseg.phantom.write_cohort", lambda n, folder, **k: made.append(n))
    _dataset(tmp_path, ["PH0001", "PH0002"], {})
    state = DemoState(settings={})
    steps.make_phantom(DemoSettings(out=str(tmp_path), patients=4), tmp_path, state)
    assert made == [4] and state.skipped == []
    steps.make_phantom(DemoSettings(out=str(tmp_path), patients=2), tmp_path, state)
    assert made == [4] and state.skipped == ["phantom"]


def test_metrics_older_than_the_best_checkpoint_are_computed_again(tmp_path, monkeypatch):
    import os

    monkeypatch.setattr("scintiseg.train.evaluate.evaluate_run", lambda run, crops, **k: {"pooled": {"dsc": 0.9}, "new": True})
    run = tmp_path / "dpunet"
    (run / "checkpoints").mkdir(parents=True)
    (run / "eval-test").mkdir()
    metrics, best = run / "eval-test" / "metrics.json", run / "checkpoints" / "best.pt"
    metrics.write_text(json.dumps({"pooled": {"dsc": 0.1}}), encoding="utf-8")
    best.write_bytes(b"")
    os.utime(metrics, (1000, 1000))
    os.utime(best, (2000, 2000))
    state = DemoState(settings={})
    assert steps.evaluate_model(run, tmp_path / "crops", "dpunet", state)["new"] and state.skipped == []
    os.utime(metrics, (3000, 3000))
    assert steps.evaluate_model(run, tmp_path / "crops", "dpunet", state) == {"pooled": {"dsc": 0.1}}
    assert state.skipped == ["evaluate dpunet"]


@pytest.mark.parametrize("recipe", ["synthetic", "crops"])
def test_existing_crops_are_reused_and_only_the_synthetic_recipe_tests_on_all(tmp_path, recipe):
    _dataset(tmp_path, [f"PH000{i}" for i in range(1, 7)], {})
    state = DemoState(settings={})
    splits = steps.make_crops(DemoSettings(out=str(tmp_path), recipe=recipe, patients=6), tmp_path, tmp_path, state)
    assert (splits["train"] == []) == (recipe == "synthetic") and splits["test"]
    assert state.skipped == ["crop"]  # the crops were there: recorded as reused


def test_showcase_tie_goes_to_the_first_id(tmp_path):
    seen = {"in_crop": True, "visible": {"ANT": True}}
    _dataset(tmp_path, ["A", "B", "C"], {"A": [seen], "B": [seen, seen], "C": [seen, seen]})
    assert showcase_case(tmp_path, ["A", "B", "C"]) == "B"
