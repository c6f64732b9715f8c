"""Tests of :mod:`scintiseg.gan.config`: paper B's / Radford et al.'s defaults, every check of ``validate`` at its
boundary, the lesion-aware preset and the YAML file a run keeps.

Elsewhere: tests/gan/test_train.py (``upsample``'s choices, the epoch's wording), tests/gan/test_lesion_aware.py
(``lesion_oversample`` and ``mask_match`` below their bounds), tests/cli/test_gan.py (one flag per field).
"""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from scintiseg.errors import ScintisegError
from scintiseg.gan.config import LESION_AWARE, VIEW_NAMES, GanConfig


def test_the_defaults_are_paper_bs_plain_dcgan():
    config = GanConfig()
    assert config.k == 3  # paper B §3.2.2
    assert (config.lr_g, config.lr_d, config.beta1, config.beta2, config.latent_dim) == (2e-4, 2e-4, 0.5, 0.999, 100)
    assert config.upsample == "transpose" and config.views == ["ANT", "POST"] and config.native_size == 64
    # the lesion-aware options are off, and no patients beyond the test split are held out
    assert (config.real_flip, config.minibatch_std, config.lesion_oversample, config.mask_match) == (False, False, 1.0, 0.0)
    assert (config.diff_augment, config.real_label, config.held_out_fold, config.output_size) == ("none", 1.0, -1, 0)
    assert GanConfig().views is not config.views  # a fresh list for each configuration


def test_the_lesion_aware_preset_changes_only_fields_and_each_away_from_its_default():
    names = {item.name for item in dataclasses.fields(GanConfig)}
    assert set(LESION_AWARE) <= names
    aware, plain = GanConfig(**LESION_AWARE), GanConfig()
    assert all(getattr(aware, key) != getattr(plain, key) for key in LESION_AWARE)
    assert aware.k == 1  # Radford et al.'s schedule (k = 3 collapsed G on 70 crops)
    assert {key: getattr(aware, key) for key in names - set(LESION_AWARE)} == \
        {key: getattr(plain, key) for key in names - set(LESION_AWARE)}


@pytest.mark.parametrize("changes", [
    {"native_size": 32}, {"native_size": 256}, {"native_size": 128, "output_size": 128}, {"output_size": 256},
    {"views": ["ANT"]}, {"views": ["POST", "ANT"]}, {"views": list(VIEW_NAMES)},
    {"mask_threshold": 0.01}, {"real_label": 0.9}, {"real_label": 0.51}, {"lesion_oversample": 1.0},
    {"mask_match": 0.0}, {"beta1": 0.0}, {"beta2": 0.9999}, {"held_out_fold": 0}, {"threads": 0},
    {"k": 1, "epochs": 1, "batch_size": 1, "sample_every": 1, "checkpoint_every": 1, "latent_dim": 1},
])
def test_values_at_the_edge_of_each_range_are_accepted(changes):
    config = GanConfig(**changes)
    assert all(getattr(config, key) == value for key, value in changes.items())


@pytest.mark.parametrize("changes, said", [
    ({"views": []}, "views must be distinct names from ANT, POST, VIEW, got []"),
    ({"views": ["ANT", "ANT"]}, "views must be distinct names from ANT, POST, VIEW, got ['ANT', 'ANT']"),
    ({"views": ["LAT"]}, "views must be one of ANT, POST, VIEW, got ['LAT']"),
    ({"native_size": 16}, "native_size must be a power of two in 32..256, got 16"),
    ({"native_size": 512}, "native_size must be a power of two in 32..256, got 512"),
    ({"native_size": 96}, "native_size must be a power of two in 32..256, got 96"),
    ({"output_size": 63}, "output_size 63 is smaller than native_size 64 (0: the crops' size)"),
    ({"latent_dim": 0}, "latent_dim must be >= 1, got 0"),
    ({"base_width": 0}, "base_width must be >= 1, got 0"),
    ({"max_width": 0}, "max_width must be >= 1, got 0"),
    ({"k": 0}, "k must be >= 1, got 0"),
    ({"epochs": 0}, "epochs must be >= 1, got 0"),
    ({"batch_size": -1}, "batch_size must be >= 1, got -1"),
    ({"sample_every": 0}, "sample_every must be >= 1, got 0"),
    ({"checkpoint_every": 0}, "checkpoint_every must be >= 1, got 0"),
    ({"mask_threshold": 0.0}, "mask_threshold must lie in (0, 1), got 0.0"),
    ({"mask_threshold": 1.0}, "mask_threshold must lie in (0, 1), got 1.0"),
    ({"real_label": 0.5}, "real_label must lie in (0.5, 1], got 0.5"),
    ({"real_label": 1.01}, "real_label must lie in (0.5, 1], got 1.01"),
    ({"lesion_oversample": 0.99}, "lesion_oversample must be >= 1, got 0.99"),
    ({"mask_match": -0.1}, "mask_match must be >= 0, got -0.1"),
    ({"sqrt_ceiling": 0.0}, "sqrt_ceiling must be positive, got 0.0"),
    ({"lr_g": 0.0}, "lr_g must be positive, got 0.0"),
    ({"lr_d": -2e-4}, "lr_d must be positive, got -0.0002"),
    ({"lr_d": float("nan")}, "lr_d must be a finite number, got nan"),
    ({"beta1": 1.0}, "beta1 must lie in [0, 1), got 1.0"),
    ({"beta2": -0.1}, "beta2 must lie in [0, 1), got -0.1"),
    ({"held_out_fold": -2}, "held_out_fold must be a fold index or -1 (none), got -2"),
    ({"threads": -1}, "threads must be 0 (torch's default) or more, got -1"),
    ({"seed": -1}, "seed must be a whole number from 0 to 4294967295, got -1"),
    ({"count_noise": "gauss"}, "count_noise must be one of poisson, round, got 'gauss'"),
    ({"diff_augment": "color"}, "diff_augment must be one of none, translation, cutout, translation,cutout, got 'color'"),
])
def test_an_impossible_value_is_one_line_naming_the_field(changes, said):
    with pytest.raises(ScintisegError) as caught:
        GanConfig(**changes)
    assert str(caught.value) == said


def test_the_views_flag_reads_a_comma_list_in_capitals():
    parse = {item.name: item for item in dataclasses.fields(GanConfig)}["views"].metadata["parse"]
    assert parse(" ant, post ,") == ["ANT", "POST"] and parse("VIEW") == ["VIEW"]


def test_a_run_config_round_trips_through_yaml_in_field_order(tmp_path):
    config = GanConfig(**{**LESION_AWARE, "views": ["ANT"], "native_size": 128, "output_size": 256, "lr_d": 1e-4,
                          "diff_augment": "translation,cutout", "held_out_fold": 2, "seed": 7})
    config.save_yaml(tmp_path / "config.yaml")
    assert GanConfig.from_yaml(tmp_path / "config.yaml") == config
    written = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert list(written) == [item.name for item in dataclasses.fields(GanConfig)]
    assert written["views"] == ["ANT"] and written["lr_d"] == 1e-4 and written["real_flip"] is True


def test_a_hand_written_file_is_converted_and_checked_naming_the_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("native_size: '128'\nlr_g: '1e-3'\nreal_flip: 'true'\n")
    config = GanConfig.from_yaml(path)
    assert (config.native_size, config.lr_g, config.real_flip) == (128, 1e-3, True)
    path.write_text("nativ_size: 128\n")
    with pytest.raises(ScintisegError, match=r"config\.yaml: unknown gan config keys: nativ_size$"):
        GanConfig.from_yaml(path)
    path.write_text("native_size: 100\n")
    with pytest.raises(ScintisegError, match="native_size must be a power of two in 32..256, got 100"):
        GanConfig.from_yaml(path)
