"""Training the skeleton-region network (``task="regions"``, issue 15): its samples, its run, its refusals."""

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.models import create_model
from scintiseg.models.checkpoint import checkpoint_path, load_checkpoint
from scintiseg.phantom.regions import REGION_CLASSES, REGION_IDS
from scintiseg.train.config import TrainConfig
from scintiseg.train.loop import train
from scintiseg.train.synthetic import SyntheticSettings, patient_samples

REGIONS = SyntheticSettings(profile="small", pixel_mm=9.04, window_size=128, windows_per_view=1, seed=3,
                            task="regions", degrade=False)


def test_region_samples_hold_region_ids_with_the_patients_right_on_the_image_left_in_both_views():
    for sample in patient_samples(2, REGIONS):
        target = sample.target[0]
        assert set(np.unique(target)) <= set(range(len(REGION_CLASSES)))
        assert target.max() > 0
        # ANT as acquired and POST mirrored into ANT's orientation: the right humerus lies left of the left one.
        right = np.argwhere(target == REGION_IDS["humerus_right"])[:, 1]
        left = np.argwhere(target == REGION_IDS["humerus_left"])[:, 1]
        assert right.size and left.size and right.mean() < left.mean(), sample.case_id


def test_a_region_run_trains_a_multiclass_network_and_says_so_in_its_checkpoint(tmp_path):
    config = TrainConfig(out=str(tmp_path / "run"), task="regions", model="unet", model_args={"width": 4, "depth": 2},
                         synthetic="small", pixel_mm=9.04, window_size=128, pool_patients=2, refresh=0.5,
                         windows_per_view=1, val_patients=1, epochs=1, batch_size=2, threads=1, progress=False,
                         generator_workers=0, seed=3)
    result = train(config)
    state = load_checkpoint(checkpoint_path(result.run_dir, "best"))
    assert state["data"]["task"] == "regions" and state["data"]["classes"] == list(REGION_CLASSES)
    assert state["model_config"]["classes"] == len(REGION_CLASSES)
    assert 0.0 <= result.history[0]["val_dsc"] <= 1.0
    # Fine-tuning from it starts from its weights: one more run with init loads them (same architecture).
    again = TrainConfig.from_dict(config.to_dict() | {"out": str(tmp_path / "again"), "init": str(checkpoint_path(result.run_dir, "best"))})
    assert train(again).epochs_run == 1


def test_init_with_another_architecture_is_one_line(tmp_path):
    lesion = create_model("unet", width=4, depth=2)
    import torch

    torch.save({"model": lesion.state_dict(), "format": "scintiseg-checkpoint"}, tmp_path / "w.pt")
    config = TrainConfig(out=str(tmp_path / "run"), task="regions", model="unet", model_args={"width": 4, "depth": 2},
                         synthetic="small", pixel_mm=9.04, window_size=128, pool_patients=1, val_patients=1, epochs=1,
                         batch_size=2, threads=1, progress=False, generator_workers=0, init=str(tmp_path / "w.pt"))
    with pytest.raises(ScintisegError) as caught:
        train(config)
    assert "w.pt" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("fields, message", [
    ({}, "--synthetic"),
    ({"synthetic": "small", "augment": True}, "flips"),
    ({"synthetic": "small", "loss": "chan_vese"}, "supervised"),
])
def test_region_task_refuses_what_it_cannot_learn_from(fields, message):
    with pytest.raises(ScintisegError, match=message):
        TrainConfig(task="regions", **fields)
