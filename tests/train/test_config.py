"""TrainConfig: choices declared on the fields, old config.yaml files load, every field is a `train` flag."""

import dataclasses
import re

import pytest
import yaml

from scintiseg.cli import build_parser
from scintiseg.errors import ScintisegError
from scintiseg.prepare.model_input import INPUT_MODES
from scintiseg.train.config import NORMALISATIONS, TrainConfig

#: A run folder's config.yaml as written before the typed-config base (every field, declaration order).
OLD_CONFIG_YAML = """\
data: runs/demo/crops
out: runs/demo/dpunet
model: dpunet
model_args: {pooling: fusion, dac: dac2, rmp: true, width: 8}
input_mode: ant
normalisation: percentile
epochs: 30
batch_size: 4
lr: 0.002
optimizer: adam
weight_decay: 0.0
loss: dice_bce
supervised_loss: dice_bce
alpha: 0.4
nu: 0.004
mu: 0.0
alpha_rampup: 0.0
labelled: 1.0
fold: null
val_fraction: 0.2
seed: 0
augment: false
device: auto
amp: true
channels_last: false
threads: 2
early_stopping: 0
monitor: val_dsc
threshold: 0.5
max_train_images: 0
head_prior: 0.01
tensorboard: false
progress: false
"""


def test_choices_live_on_the_fields():
    choices = {f.name: f.metadata.get("choices") for f in dataclasses.fields(TrainConfig)}
    assert choices["input_mode"] == INPUT_MODES and choices["normalisation"] == NORMALISATIONS
    assert choices["loss"] == ("bce", "dice", "dice_bce", "chan_vese")
    assert "chan_vese" not in choices["supervised_loss"]
    with pytest.raises(ScintisegError, match="input_mode must be one of ant, post, aggregate, two_channel, got 'lat'"):
        TrainConfig(input_mode="lat")


def test_an_old_run_folders_config_yaml_loads_and_saves_the_same_text(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(OLD_CONFIG_YAML)
    config = TrainConfig.from_yaml(path)
    assert config.model_args == {"pooling": "fusion", "dac": "dac2", "rmp": True, "width": 8}
    assert config.lr == 0.002 and config.fold is None and config.head_prior == 0.01
    config.save_yaml(tmp_path / "again.yaml")
    old, again = yaml.safe_load(OLD_CONFIG_YAML), yaml.safe_load((tmp_path / "again.yaml").read_text())
    # Session 63: the Chan-Vese weights took Chan & Vese's notation; the old `nu` was the length weight, `mu` the area's.
    renamed = {"nu": "length_weight", "mu": "area_weight"}
    assert {renamed.get(key, key): again[renamed.get(key, key)] for key in old} == \
        {renamed.get(key, key): value for key, value in old.items()}
    # Fields added since (synthetic training, issue 13) take their defaults: an old run stays a data-set run.
    assert again["synthetic"] == "" and set(again) - set(old) <= {f.name for f in dataclasses.fields(TrainConfig)}


def test_the_chan_vese_weights_of_an_old_file_keep_their_meaning_and_new_runs_take_paper_b_s(tmp_path):
    """Until session 62 `nu` weighted the length and `mu` the area; Chan & Vese (2001) and paper B's "v = 0.004,
    u = 0" put nu on the area. An old file reads as it trained; a new configuration weights the area."""
    from scintiseg.losses import PAPER_B_AREA_WEIGHT, PAPER_B_LENGTH_WEIGHT  # lazy: torch, for this test only

    old = TrainConfig.from_dict({"nu": 0.004, "mu": 0.0})
    assert (old.length_weight, old.area_weight) == (0.004, 0.0)
    assert (TrainConfig().area_weight, TrainConfig().length_weight) == (PAPER_B_AREA_WEIGHT, PAPER_B_LENGTH_WEIGHT)
    assert (PAPER_B_AREA_WEIGHT, PAPER_B_LENGTH_WEIGHT) == (0.004, 0.0)
    path = tmp_path / "config.yaml"
    path.write_text("nu: 0.01\nlength_weight: 0.02\n")
    with pytest.raises(ScintisegError, match=r"config.yaml: training configuration keys 'nu' and 'length_weight' both"):
        TrainConfig.from_yaml(path)


def test_unknown_key_names_the_key_and_the_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("epochs: 3\nlearning_rate: 0.1\n")
    with pytest.raises(ScintisegError, match=r"config.yaml: unknown training configuration keys: learning_rate$"):
        TrainConfig.from_yaml(path)


def test_every_field_is_one_train_flag():
    parser = build_parser("train")
    train = parser._subparsers._group_actions[0].choices["train"]
    dests = {action.dest for action in train._actions}
    assert {f.name for f in dataclasses.fields(TrainConfig)} <= dests
    flags = {option for action in train._actions for option in action.option_strings}
    assert {"--model-arg", "-m", "--input-mode", "--batch-size", "--no-progress", "--head-prior"} <= flags
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--input-mode", "lat"])  # choices from the field reach argparse


def test_impossible_values_are_refused_when_the_config_is_made():
    """Each was a traceback from torch or the network's constructor after the data were read (session 61)."""
    from scintiseg.errors import ScintisegError
    from scintiseg.models import create_model

    with pytest.raises(ScintisegError, match="weight_decay has an impossible value: -1.0"):
        TrainConfig(weight_decay=-1.0)
    for name, args in (("unet", {"width": "abc"}), ("unet", {"width": 8.5}), ("rdinet", {"dilations": 5})):
        with pytest.raises(ScintisegError, match=f"model '{name}': {next(iter(args))} must be "):
            create_model(name, **args)
    # a value of the right kind that the network cannot take: the constructor's reason, in one line
    for args, said in (({"t": -1}, "t (the recurrent block's steps; 0: none) must be >= 0, got -1"),
                       ({"dilations": []}, "dilations must name at least one dilation rate")):
        with pytest.raises(ScintisegError, match=re.escape(said)):
            create_model("rdinet", **args)


def test_a_model_argument_of_the_wrong_kind_is_refused_not_taken_as_truthy():
    """``-m batch_norm=maybe`` reached the constructor as a truthy string; ``in_channels`` given was replaced by the
    data's without a word (session 61)."""
    from scintiseg.errors import ScintisegError
    from scintiseg.models import create_model
    from scintiseg.train.loop import build_model

    for args, said in (({"batch_norm": "maybe"}, "batch_norm must be true or false, got 'maybe'"),
                       ({"depth": 2.0}, "depth must be a whole number, got 2.0"),
                       ({"pooling": 3}, "pooling must be text, got 3")):
        with pytest.raises(ScintisegError, match=re.escape(f"model 'unet': {said}")):
            create_model("unet", **args)
    with pytest.raises(ScintisegError, match=r"a list of whole numbers, got \[2, 'x'\]"):
        create_model("dpunet", rmp_pool_sizes=[2, "x"])
    assert create_model("dpunet", width=4, depth=2, rmp_pool_sizes=[2, 3]).config["rmp_pool_sizes"] == [2, 3]
    with pytest.raises(ScintisegError, match="in_channels 3: the data give the network 1 input channel"):
        TrainConfig(model="unet", model_args={"width": 4, "depth": 2, "in_channels": 3})  # when made (audit 74, 3)
    config = TrainConfig(model="unet", model_args={"width": 4, "depth": 2, "in_channels": 1})
    assert build_model(config, 1)
    with pytest.raises(ScintisegError, match="in_channels 1: the data give the network 2 input channel"):
        build_model(config, 2)  # the data decide, still checked where the network is built


def test_an_unknown_model_or_arguments_it_cannot_take_are_refused_when_the_config_is_made():
    """API audit 74, finding 3: ``TrainConfig(model="foo")`` and ``model_args={"dac": "dac9"}`` were accepted, and
    training failed on them only after it had saved ``splits.json`` into the data folder."""
    for changes, said in (({"model": "foo"}, "unknown model 'foo'; choose one of unet, dpunet, rdinet"),
                          ({"model_args": {"dac": "dac9"}}, "unknown DAC variant 'dac9'; choose one of raw, dac1, dac2"),
                          ({"model_args": {"widht": 8}}, "model 'dpunet' does not take widht"),
                          ({"model": "unet", "model_args": {"depth": "4"}}, "model 'unet': depth must be a whole number")):
        with pytest.raises(ScintisegError, match=re.escape(said)):
            TrainConfig(**changes)
    config = TrainConfig(model="rdinet", model_args={"width": 8}, input_mode="two_channel")
    assert config.network_arguments() == {"width": 8, "in_channels": 2}
    regions = TrainConfig(task="regions", synthetic="default", model="unet", model_args={"width": 4})
    assert regions.network_arguments(1)["classes"] == 27  # "other" and the 26 bones
    with pytest.raises(ScintisegError, match="unknown model 'foo'"):
        dataclasses.replace(config, model="foo")


def test_a_supervised_loss_needs_labels_and_two_channel_input_has_two_channels():
    with pytest.raises(ScintisegError, match="labelled = 0 leaves nothing to learn"):
        TrainConfig(loss="dice_bce", labelled=0.0)
    assert TrainConfig(loss="chan_vese", labelled=0.0).labelled == 0.0  # paper B's unsupervised row
    assert TrainConfig(input_mode="two_channel").in_channels == 2 and TrainConfig().in_channels == 1


def test_unread_fields_name_what_a_run_does_not_read_and_why():
    """Researcher audit 74: an experiment's settings listed whole-body and synthetic fields for crop cells."""
    from scintiseg.train.config import unread_fields

    crops = TrainConfig(data="d", loss="dice_bce").to_dict()
    unread = unread_fields(crops, whole_body=False)
    assert unread["pixel_mm"] == unread["window_size"] == "whole-body scans only (a data set of crops)"
    assert unread["pool_patients"] == "synthetic training only (no synthetic profile)" and "views" not in unread
    assert unread["alpha"] == "the chan_vese loss only (loss dice_bce)" and "val_fraction" not in unread
    assert "pixel_mm" not in unread_fields(crops, whole_body=None) and "pixel_mm" not in unread_fields(crops, True)
    assert unread_fields(crops, whole_body=True)["views"].startswith("crops only")
    synthetic = TrainConfig(synthetic="randomised", loss="chan_vese", fold=1).to_dict()
    assert unread_fields(synthetic, whole_body=False) == {"val_fraction": "no fold only (fold 1)"}
