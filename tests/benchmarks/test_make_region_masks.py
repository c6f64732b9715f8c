"""benchmarks/make_region_masks.py: a phantom data set's truth region maps as 12-class skeleton masks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from support import benchmark_module

from scintiseg.io.dataset import load_manifest, resolve
from scintiseg.io.images import read_label_png
from scintiseg.predict.regions import REGION_NAMES
from scintiseg.report.region_masks import read_class_map


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("make_region_masks") as module:
        yield module


def test_every_bone_goes_to_one_of_twelve_classes_and_the_map_is_one_evaluate_reads(bench, tmp_path):
    classes = read_class_map(_write(tmp_path / "map.json", bench.TWELVE))
    assert len(classes) == 12 and sorted(r for one in classes for r in one.regions) == sorted(REGION_NAMES[1:])
    values = bench.class_values()
    assert values[0] == 0 and set(values[1:].tolist()) == set(range(1, 13))


def test_each_view_mask_is_its_truth_map_in_class_values(bench, tmp_path):
    from scintiseg.cli import main

    assert main(["phantom", "--patients", "1", "--out", str(tmp_path / "ds"), "--seed", "3", "--profile", "small"]) == 0
    assert bench.main(["--data", str(tmp_path / "ds"), "--out", str(tmp_path / "masks")]) == 0
    case = load_manifest(tmp_path / "ds").cases[0]
    for view, relative in case.regions.items():
        truth = read_label_png(resolve(tmp_path / "ds", relative))
        mask = read_label_png(tmp_path / "masks" / f"{case.case_id}_{view}.png")
        np.testing.assert_array_equal(mask, bench.class_values()[truth])
    assert json.loads((tmp_path / "masks" / "classes.json").read_text()) == bench.TWELVE


def _write(path, document):
    path.write_text(json.dumps(document))
    return path
