"""Demo steps: the training configuration of each recipe and the test-only split of the ``synthetic`` recipe."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scintiseg.experiments.demo.settings import DemoSettings
from scintiseg.experiments.demo.steps import all_test_splits, showcase_case, train_config, whole_body_detection
from scintiseg.io.dataset import Case, DatasetManifest, load_splits, save_manifest


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
