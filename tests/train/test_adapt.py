"""``scintiseg.train.adapt``: which cases of a site's data set adaptation leaves out (its test split); the run
itself is tested through the command in tests/cli/test_adapt.py."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import SPLITS_NAME, Case, DatasetManifest, load_splits, save_manifest
from scintiseg.io.dicom import write_dicom
from scintiseg.io.labelme import write_labelme
from scintiseg.prepare.splits import split_dataset
from scintiseg.scan import Annotation, Scan
from scintiseg.train.adapt import held_out_cases
from scintiseg.train.data import SplitMadeWarning
from scintiseg.train.unlabelled import read_site


def _data_set(root, patients: int, outlined: int = 0, pseudo: int = 0) -> list[str]:
    """``patients`` one-view cases; the first ``outlined`` with a reader's outline, the next ``pseudo`` with a
    pseudo-label (the model's own). Returns the case ids."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    rng = np.random.default_rng(0)
    cases = []
    for k in range(patients):
        image = rng.poisson(np.full((64, 32), 30.0)).astype(np.float32)
        image[20:24, 10:14] += 200
        write_dicom(Scan({"ANT": image}, pixel_spacing=(4.52, 4.52), patient_id=f"P{k}"), root / "images" / f"c{k}.dcm")
        labels, meta = {}, {}
        if k < outlined + pseudo:
            mask = np.zeros((64, 32), bool)
            mask[20:24, 10:14] = True
            labels = {"ANT": f"labels/c{k}_ANT.json"}
            write_labelme(Annotation.from_mask(mask, view="ANT"), root / labels["ANT"])
            meta = {"pseudo": ["ANT"]} if k >= outlined else {}
        cases.append(Case(case_id=f"c{k}", patient_id=f"P{k}", image=f"images/c{k}.dcm", labels=labels, meta=meta))
    save_manifest(DatasetManifest(name="site", views=["ANT"], pixel_spacing=(4.52, 4.52), cases=cases), root)
    return [case.case_id for case in cases]


def test_a_data_set_with_outlines_and_no_split_gets_trains_split_and_its_test_cases_are_held_out(tmp_path):
    _data_set(tmp_path, 10, outlined=4)
    with pytest.warns(SplitMadeWarning):
        cases, source = held_out_cases(tmp_path, seed=3)
    assert source == "made" and (tmp_path / SPLITS_NAME).is_file()
    # A fifth of the four outlined patients, as train makes it: the six without outlines cannot be scored.
    assert cases == load_splits(tmp_path)["test"] and len(cases) == 1 and cases[0] in {"c0", "c1", "c2", "c3"}
    # The same split is read back (no second one made) by a later run, e.g. --resume.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert held_out_cases(tmp_path, seed=99) == (cases, SPLITS_NAME)


def test_the_data_sets_own_split_is_used(tmp_path):
    _data_set(tmp_path, 10)
    made = split_dataset(tmp_path, test=0.4, seed=1)
    assert held_out_cases(tmp_path, seed=0) == (made["test"], SPLITS_NAME) and len(made["test"]) == 4


def test_nothing_is_held_out_of_a_plain_folder_or_of_unlabelled_or_pseudo_labelled_scans_without_a_split(tmp_path):
    _data_set(tmp_path / "ds", 6, pseudo=3)  # the model's own labels only: nothing a person measured on
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert held_out_cases(tmp_path / "ds", seed=0) == ([], "")
        assert held_out_cases(tmp_path / "ds" / "images", seed=0) == ([], "")
        assert held_out_cases(None, seed=0) == ([], "")
    assert not (tmp_path / "ds" / SPLITS_NAME).exists()


def test_a_broken_split_is_one_error_naming_it(tmp_path):
    _data_set(tmp_path, 4)
    (tmp_path / SPLITS_NAME).write_text(json.dumps({"train": ["c0"], "test": ["c9"]}))
    with pytest.raises(ScintisegError, match="c9") as caught:
        held_out_cases(tmp_path, seed=0)
    assert SPLITS_NAME in str(caught.value)


def test_read_site_reads_no_held_out_case_neither_image_nor_outline(tmp_path):
    ids = _data_set(tmp_path, 5, outlined=5)
    read = read_site(tmp_path, pixel_mm=4.52, normalisation="robust", leave_out=["c1", "c3", "elsewhere"])
    assert [v.case_id for v in read.views] == ["c0", "c2", "c4"] and read.left_out == ["c1", "c3"]
    assert read.labelled_views == 3
    with pytest.raises(ScintisegError, match="every case of this data set is held out"):
        read_site(tmp_path, pixel_mm=4.52, normalisation="robust", leave_out=ids)


def test_adaptation_reads_the_models_input_contract_and_keeps_the_recipes_pixel_size_for_a_crop_model(tmp_path):
    """The record's normalisation and window size (else the training config's window size, the window the network
    learned on; for a checkpoint from before the record, whose config had no window size either, the config's
    normalisation and 256); a crop model records no pixel size, so the phantom windows keep the recipe's."""
    import torch

    from scintiseg.models import create_model
    from scintiseg.models.checkpoint import save_checkpoint
    from scintiseg.train.adapt import adaptation_config
    from scintiseg.train.adapt_config import AdaptSettings
    from scintiseg.train.config import TrainConfig

    torch.manual_seed(0)
    network = create_model("unet", width=4, depth=2)
    recipe = TrainConfig(model="unet", model_args={"width": 4, "depth": 2}, synthetic="small", pixel_mm=4.52,
                         window_size=64, normalisation="log", generator_workers=0, progress=False).to_dict()
    old = {key: value for key, value in recipe.items() if key not in ("window_size", "pixel_mm")}
    cases = {
        "whole.pt": (recipe, {"normalisation": "robust", "window_size": 128, "pixel_mm": 2.26, "window": "whole"},
                     (2.26, 128, "robust")),
        "crop.pt": (recipe, {"normalisation": "zscore", "window_size": 32}, (4.52, 32, "zscore")),
        "old.pt": (old, {}, (TrainConfig.pixel_mm, 256, "log")),
        # a data record without the window: the recipe's (64), not the default 256
        "recipe_window.pt": (recipe, {"normalisation": "log"}, (4.52, 64, "log")),
    }
    for name, (config, record, expected) in cases.items():
        path = save_checkpoint({"epoch": 1, "model": network.state_dict(), "model_config": dict(network.config),
                                "config": config, "data": record}, tmp_path / name)
        config = adaptation_config(path, tmp_path / "run", AdaptSettings())
        assert (config.pixel_mm, config.window_size, config.normalisation) == expected, name
    fused = save_checkpoint({"epoch": 1, "model": network.state_dict(), "model_config": dict(network.config),
                             "config": recipe, "data": {"input_mode": "aggregate"}}, tmp_path / "fused.pt")
    with pytest.raises(ScintisegError, match="single-view"):
        adaptation_config(fused, tmp_path / "run", AdaptSettings())


def test_adaptation_chooses_on_the_validation_loss_and_refreshes_half_the_pool(tmp_path):
    """best.pt is the epoch of the lowest phantom validation loss (the drift guard), half the pool is new each epoch,
    no early stop."""
    import torch

    from scintiseg.models import create_model
    from scintiseg.models.checkpoint import save_checkpoint
    from scintiseg.train.adapt import adaptation_config
    from scintiseg.train.adapt_config import AdaptSettings
    from scintiseg.train.config import TrainConfig

    torch.manual_seed(0)
    network = create_model("unet", width=4, depth=2)
    recipe = TrainConfig(model="unet", model_args={"width": 4, "depth": 2}, synthetic="small", pixel_mm=4.52,
                         window_size=64, monitor="val_dsc", refresh=0.25, early_stopping=5, generator_workers=0,
                         progress=False).to_dict()
    path = save_checkpoint({"epoch": 1, "model": network.state_dict(), "model_config": dict(network.config),
                            "config": recipe, "data": {}}, tmp_path / "model.pt")
    config = adaptation_config(path, tmp_path / "run", AdaptSettings())
    assert (config.monitor, config.refresh, config.early_stopping) == ("val_loss", 0.5, 0)
