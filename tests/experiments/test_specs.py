"""Tests of :mod:`scintiseg.experiments.specs`: the paper tables' specs, their rows and their JSON form.

How a cell's TrainConfig is made from a spec and a row: tests/experiments/test_runner.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import fields

import pytest

from scintiseg.experiments.specs import (
    EXPERIMENTS,
    PAPER_B_AUGMENTATION,
    PAPER_B_LABELS,
    TABLE_METRICS,
    ExperimentSpec,
    Row,
    paper_b_labelled,
    slug,
)
from scintiseg.train.config import TrainConfig

SPECS = [*EXPERIMENTS.values(), PAPER_B_AUGMENTATION]


def test_experiments_are_found_by_their_own_name():
    assert all(EXPERIMENTS[name].name == name for name in EXPERIMENTS)
    assert PAPER_B_AUGMENTATION.name not in EXPERIMENTS  # it builds its data sets itself (paper_b_augmentation)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_every_spec_round_trips_through_json(spec):
    assert ExperimentSpec.from_json(json.loads(json.dumps(spec.to_json()))) == spec


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_every_spec_names_an_existing_reference_and_distinct_row_folders(spec):
    assert spec.reference in [row.name for row in spec.rows]  # else the first row would stand in unnoticed
    assert spec.reference_row.name == spec.reference
    slugs = [slug(row.name) for row in spec.rows]
    assert len(set(slugs)) == len(slugs)  # one folder per row: two alike would overwrite each other's runs


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_every_setting_a_spec_gives_is_a_train_config_field(spec):
    names = {f.name for f in fields(TrainConfig)}
    for row in spec.rows:
        assert set(spec.base) | set(row.overrides) <= names, row.name
        assert set(row.paper) <= set(TABLE_METRICS), row.name
    if spec.plot == "line":
        assert all(row.x is not None for row in spec.rows)


def test_the_reference_row_is_the_first_without_a_reference():
    rows = (Row("a", {}), Row("b", {}))
    assert ExperimentSpec("x", "t", "s", rows).reference_row.name == "a"
    assert ExperimentSpec("x", "t", "s", rows, reference="b").reference_row.name == "b"


def test_slug_is_a_folder_name():
    assert slug("U-Net, max pooling") == "u-net-max-pooling"
    assert slug("37% labelled") == "37-labelled"
    assert slug("aggregated I_Ant + Mirr(I_Post)") == "aggregated-i-ant-mirr-i-post"


def test_paper_b_shares_of_all_samples_become_shares_of_the_training_patients():
    assert paper_b_labelled(0.37) == pytest.approx(0.37 / 0.7, abs=1e-4)
    assert paper_b_labelled(0.7) == 1.0 and paper_b_labelled(0.9) == 1.0 and paper_b_labelled(0.0) == 0.0
    labelled = {row.x: row.overrides["labelled"] for row in PAPER_B_LABELS.rows}
    assert labelled[0.37] == pytest.approx(0.5286) and labelled[0.7] == 1.0
    assert PAPER_B_LABELS.reference_row.x == 0.37 and PAPER_B_LABELS.reference_row.paper["dsc"] == 0.683


def test_paper_b_rows_label_the_share_their_names_say():
    """37 % of all samples labels 53 % of the training patients, 70 % all of them (paper_b_labelled)."""
    named = 0
    for spec in EXPERIMENTS.values():
        for row in spec.rows:
            share = re.search(r"(\d+) ?% label", row.name)
            if share and "labelled" in row.overrides:
                assert row.overrides["labelled"] == paper_b_labelled(int(share.group(1)) / 100), (spec.name, row.name)
                named += 1
    assert named >= 9  # Fig. 7's six shares and Table 6's three rows
    for name in ("paper-b-recurrence", "paper-b-aggregation"):  # 37 % labelled (their notes, Fig. 9's 840 labels)
        assert {row.overrides["labelled"] for row in EXPERIMENTS[name].rows} == {paper_b_labelled(0.37)}, name
