"""Tests of :mod:`scintiseg.predict.shipped`: what a packaged checkpoint keeps, and the shipped model's own record.

Nothing is trained: a run is a tiny untrained network saved as a checkpoint. Elsewhere: tests/predict/test_loader.py
(packaging refuses a checkpoint that runs code; a site's run is packaged as not synthetic; the data configuration is
kept), tests/predict/test_export.py (the packaged model loads with its disclaimer), tests/scripts/
test_package_shipped.py (the developers' script around :func:`package_run`).
"""

from __future__ import annotations

import pytest
import torch

from scintiseg.formats import provenance
from scintiseg.models import create_model
from scintiseg.models.checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
from scintiseg.predict.loader import SHIPPED_WEIGHTS
from scintiseg.predict.shipped import package_run, prediction_state

KEPT = {"epoch", "model", "model_config", "config", "data", "best"}
FORMAT_TAGS = {"format", "version", "scintiseg_version"}


def training_state(epoch: int = 4, **extra) -> dict:
    network = create_model("unet", width=4, depth=2)
    return {"epoch": epoch, "model": network.state_dict(), "model_config": dict(network.config),
            "config": {"epochs": 10, "synthetic": "small"}, "best": {"epoch": epoch, "value": 0.5, "monitor": "val_dsc"},
            "data": {"input_mode": "ant", "normalisation": "robust", "window_size": 64},
            "optimizer": {"state": {}, "param_groups": []}, "rng": {"torch": [1, 2]}, "history": [{"loss": 1.0}],
            **extra}


def test_prediction_state_keeps_what_prediction_needs_and_drops_the_rest():
    state = training_state()
    slim = prediction_state(state)
    assert set(slim) == KEPT
    assert all(slim[key] is state[key] for key in KEPT)  # the values themselves, unchanged


def test_prediction_state_fills_in_what_an_older_checkpoint_lacks():
    state = training_state()
    old = {"model": state["model"], "model_config": state["model_config"]}
    assert prediction_state(old) == {"epoch": None, "model": state["model"], "model_config": state["model_config"],
                                     "config": {}, "data": {}, "best": {}}
    with pytest.raises(KeyError):
        prediction_state({"model": state["model"]})  # no model_config: load_checkpoint refuses such a file first


def test_a_run_folder_is_packaged_from_its_best_checkpoint_with_the_weights_unchanged(tmp_path):
    run = tmp_path / "run"
    best, last = training_state(epoch=3), training_state(epoch=9)
    for which, state in (("best", best), ("last", last)):
        checkpoint_path(run, which).parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint(state, checkpoint_path(run, which))
    out = package_run(run, "two phantoms", tmp_path / "shipped.pt", command="pytest")
    packaged = load_checkpoint(out)
    assert set(packaged) == KEPT | FORMAT_TAGS | {"shipped"}
    assert packaged["epoch"] == 3 and packaged["best"] == best["best"] and packaged["config"] == best["config"]
    assert packaged["model"].keys() == best["model"].keys()
    assert all(torch.equal(packaged["model"][k], best["model"][k]) for k in best["model"])
    assert packaged["shipped"] == {"trained_on": "two phantoms", "synthetic": True, "command": "pytest",
                                   "source_run": str(run)}


@pytest.mark.parametrize("data, synthetic", [({}, True), ({"real_scans": True}, False), ({"real_scans": "yes"}, True),
                                             ({"adapted_on": ["/site"]}, False)])
def test_the_record_is_synthetic_unless_the_run_learned_from_real_or_site_scans(tmp_path, data, synthetic):
    state = training_state()
    state["data"] = {**state["data"], **data}
    source = save_checkpoint(state, tmp_path / "run.pt")
    assert load_checkpoint(package_run(source, "x", tmp_path / "shipped.pt"))["shipped"]["synthetic"] is synthetic


def test_packaging_a_packaged_file_again_keeps_everything_but_the_record(tmp_path):
    first = package_run(save_checkpoint(training_state(), tmp_path / "run.pt"), "first", tmp_path / "one.pt")
    second = package_run(first, "second", tmp_path / "two.pt", command="again")
    a, b = load_checkpoint(first), load_checkpoint(second)
    assert {k: v for k, v in a.items() if k not in ("model", "shipped")} == \
        {k: v for k, v in b.items() if k not in ("model", "shipped")}
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert b["shipped"] == {"trained_on": "second", "synthetic": True, "command": "again", "source_run": str(first)}


def test_the_shipped_model_is_a_packaged_checkpoint_that_says_what_it_learned_from():
    state = load_checkpoint(SHIPPED_WEIGHTS)
    assert set(state) == KEPT | FORMAT_TAGS | {"shipped"}  # no optimizer, RNG state or history
    record = state["shipped"]
    assert set(record) == {"trained_on", "synthetic", "command", "source_run"}
    assert record["trained_on"].strip() and record["command"].strip()
    assert record["synthetic"] is (not provenance([state["data"]])) is True  # phantoms only
    assert state["best"]["epoch"] == state["epoch"]  # the best checkpoint of its run
    assert state["data"]["pixel_mm"] > 0 and state["model_config"]["name"] == "rdinet"
