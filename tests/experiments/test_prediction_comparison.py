"""Tests for scintiseg.experiments.prediction_comparison: A against B, paired over patients, on the same views."""

import json
import math

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.experiments.prediction_comparison import COMPARED_METRICS, compare_prediction_folders


def write_masks(data, folder, change=None):
    """Every outlined view's true mask of ``data`` (all cases) as another tool's prediction, ``change(identifier,
    mask)`` editing each; returns ``folder``."""
    from scintiseg.io.dataset import load_case, load_manifest
    from scintiseg.io.nnunet import nnunet_identifier, write_nifti_view

    folder.mkdir()
    for case in load_manifest(data).cases:
        scan, masks = load_case(data, case)
        for view, mask in masks.items():
            identifier = nnunet_identifier(case.case_id, view)
            write_nifti_view(change(identifier, mask) if change else mask, scan.pixel_spacing,
                             folder / f"{identifier}.nii.gz")
    return folder


def _by_metric(comparison):
    return {m.metric: m for m in comparison.metrics}


def test_the_truth_against_empty_masks_is_a_decided_gain_in_dsc(tiny_dataset, tmp_path):
    truth = write_masks(tiny_dataset, tmp_path / "truth")
    empty = write_masks(tiny_dataset, tmp_path / "empty", lambda identifier, mask: np.zeros_like(mask))
    comparison = compare_prediction_folders(truth, empty, tiny_dataset, split="all", out=tmp_path / "out", overlays=0)
    assert (comparison.views, comparison.patients) == (8, 4)  # ANT and POST of 4 patients
    found = _by_metric(comparison)
    assert [m.metric for m in comparison.metrics] == [key for key, _, _ in COMPARED_METRICS]
    dsc = found["dsc"]
    assert (dsc.a, dsc.b, dsc.difference.estimate) == (1.0, 0.0, 1.0)
    assert dsc.difference.low > 0 and dsc.verdict == "A higher"
    assert found["sensitivity"].difference.estimate == 1.0 and found["sensitivity"].verdict == "A higher"
    # Neither has a false positive: no difference, and the verdict of a lower-is-better metric says so.
    assert found["fp_per_image"].difference.estimate == 0 and found["fp_per_image"].verdict == "not decided"
    assert math.isnan(found["cpa"].b) and found["cpa"].verdict == "undefined"  # B predicts no pixel at all
    written = json.loads((tmp_path / "out" / "comparison.json").read_text())
    assert written["patients"] == 4 and written["method"]["unit"] == "patient" and written["method"]["resamples"] == 2000
    assert written["metrics"][0] == {**written["metrics"][0], "metric": "dsc", "difference": 1.0, "verdict": "A higher"}
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["pooled"]["dsc"] == 1.0  # A's own evaluation
    assert "| pooled DSC | 1.0000 | 0.0000 | +1.0000 |" in (tmp_path / "out" / "comparison.md").read_text()


def test_a_folder_against_itself_differs_by_exactly_zero_everywhere(tiny_dataset, tmp_path):
    def miss_some(identifier, mask):
        mask = mask.copy()
        if identifier.endswith("ANT"):
            mask[:, :5] = False  # part of the lesion lost
        else:
            mask[-3:, -3:] = True  # one false blob
        return mask

    folder = write_masks(tiny_dataset, tmp_path / "a", miss_some)
    comparison = compare_prediction_folders(folder, folder, tiny_dataset, split="all", overlays=0)
    for m in comparison.metrics:
        assert (m.difference.estimate, m.difference.low, m.difference.high) == (0.0, 0.0, 0.0), m.label
        assert m.verdict == "not decided"
    assert (folder / "eval-all" / "comparison.md").is_file()


def test_swapping_a_and_b_flips_every_difference(tiny_dataset, tmp_path):
    rng = np.random.default_rng(3)

    def noisy(identifier, mask):
        mask = mask.copy()
        mask[rng.random(mask.shape) < 0.05] = True
        mask[rng.random(mask.shape) < 0.3] &= False
        return mask

    a = write_masks(tiny_dataset, tmp_path / "a", noisy)
    b = write_masks(tiny_dataset, tmp_path / "b", noisy)
    forward = _by_metric(compare_prediction_folders(a, b, tiny_dataset, split="all", out=tmp_path / "ab", overlays=0))
    backward = _by_metric(compare_prediction_folders(b, a, tiny_dataset, split="all", out=tmp_path / "ba", overlays=0))
    assert any(m.difference.estimate != 0 for m in forward.values())
    written = json.loads((tmp_path / "ab" / "metrics.json").read_text())  # A's values are metrics.json's, by definition
    assert {key: m.a for key, m in forward.items()} == pytest.approx({
        "dsc": written["pooled"]["dsc"], "recall": written["pooled"]["recall"], "cpa": written["pooled"]["cpa"],
        "sensitivity": written["detection"]["sensitivity"], "fp_per_image": written["detection"]["fp_per_image"],
        "dsc_image": written["per_image"]["dsc"]})
    for key, m in forward.items():
        assert backward[key].difference.estimate == -m.difference.estimate, key
        assert backward[key].difference.low == pytest.approx(-m.difference.high), key  # the same patient draws
        assert backward[key].difference.high == pytest.approx(-m.difference.low), key
        assert (m.a, m.b) == (backward[key].b, backward[key].a)


def test_a_b_folder_lacking_a_view_is_named_and_nothing_is_written(tiny_dataset, tmp_path):
    a = write_masks(tiny_dataset, tmp_path / "a")
    b = write_masks(tiny_dataset, tmp_path / "b")
    (b / "P002_0_POST.nii.gz").unlink()
    with pytest.raises(ScintisegError, match=r"b: no mask for 1 of the 8 views \(first: P002_0_POST"):
        compare_prediction_folders(a, b, tiny_dataset, split="all", out=tmp_path / "out")
    with pytest.raises(ScintisegError, match=r"b: no mask for 1 of the 8 views \(first: P002_0_POST"):
        compare_prediction_folders(b, a, tiny_dataset, split="all", out=tmp_path / "out")  # the reverse: B is A here
    assert not (tmp_path / "out").exists()


def test_a_fused_study_against_its_views_is_refused_naming_the_study(tiny_dataset, tmp_path):
    """A study's one fused mask (``<case>``) in A and a mask per view in B: the folders score different images."""
    views = write_masks(tiny_dataset, tmp_path / "views")
    fused = write_masks(tiny_dataset, tmp_path / "fused")
    (fused / "P001_0_ANT.nii.gz").rename(fused / "P001_0.nii.gz")  # a mask on ANT's grid: the study's
    (fused / "P001_0_POST.nii.gz").unlink()
    with pytest.raises(ScintisegError, match=r"views: scores other views than .*fused \(first: P001_0 there, not here"):
        compare_prediction_folders(fused, views, tiny_dataset, split="all", out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
