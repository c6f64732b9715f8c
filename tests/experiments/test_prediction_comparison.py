"""Tests for scintiseg.experiments.prediction_comparison: A against B, paired over patients, on the same views."""

import json
import math

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.experiments.paired import resample_weights, row_scores
from scintiseg.experiments.prediction_comparison import (
    COMPARED_METRICS,
    MIN_PATIENTS,
    compare_prediction_folders,
    comparison_lines,
)
from scintiseg.train.evaluate import score_predictions
from support import write_masks


def _by_metric(comparison):
    return {m.metric: m for m in comparison.metrics}


def test_the_truth_against_empty_masks_is_a_decided_gain_in_dsc(dataset_factory, tmp_path):
    data = dataset_factory(patients=MIN_PATIENTS)  # the fewest patients that give a verdict
    truth = write_masks(data, tmp_path / "truth")
    empty = write_masks(data, tmp_path / "empty", lambda identifier, mask: np.zeros_like(mask))
    comparison = compare_prediction_folders(truth, empty, data, split="all", out=tmp_path / "out", overlays=0)
    assert (comparison.views, comparison.patients) == (10, 5)  # ANT and POST of 5 patients
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
    assert written["patients"] == 5
    assert written["method"]["unit"] == "patient" and written["method"]["resamples"] == 2000
    assert written["metrics"][0] == {**written["metrics"][0], "metric": "dsc", "difference": 1.0, "verdict": "A higher"}
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["pooled"]["dsc"] == 1.0  # A's own evaluation
    assert "| pooled DSC | 1.0000 | 0.0000 | +1.0000 |" in (tmp_path / "out" / "comparison.md").read_text()


def test_two_folders_of_the_same_masks_differ_by_exactly_zero_everywhere(dataset_factory, tmp_path):
    def miss_some(identifier, mask):
        mask = mask.copy()
        if identifier.endswith("ANT"):
            mask[:, :5] = False  # part of the lesion lost
        else:
            mask[-3:, -3:] = True  # one false blob
        return mask

    data = dataset_factory(patients=MIN_PATIENTS)
    a, b = write_masks(data, tmp_path / "a", miss_some), write_masks(data, tmp_path / "b", miss_some)
    comparison = compare_prediction_folders(a, b, data, split="all", overlays=0)
    for m in comparison.metrics:
        assert (m.difference.estimate, m.difference.low, m.difference.high) == (0.0, 0.0, 0.0), m.label
        assert m.verdict == "not decided"
    assert (a / "eval-all" / "comparison.md").is_file()


def test_a_folder_against_itself_is_refused_and_nothing_is_written(tiny_dataset, tmp_path):
    a = write_masks(tiny_dataset, tmp_path / "a")
    (tmp_path / "elsewhere").mkdir()
    for against in (a, tmp_path / "elsewhere" / ".." / "a"):  # the same folder however it is spelt
        with pytest.raises(ScintisegError, match=r"a: --against is the --predictions folder itself: compare two "
                           "different folders$"):
            compare_prediction_folders(a, against, tiny_dataset, split="all")
    assert sorted(p.suffix for p in a.iterdir()) == [".gz"] * 8  # no eval-all


@pytest.mark.parametrize("patients", [1, MIN_PATIENTS - 1])
def test_too_few_patients_give_no_verdict_but_still_a_b_and_the_difference(dataset_factory, tmp_path, patients):
    """One patient: every bootstrap draw is that patient, an interval of zero width that would read "decided"."""
    data = dataset_factory(patients=patients)
    truth = write_masks(data, tmp_path / "truth")
    empty = write_masks(data, tmp_path / "empty", lambda identifier, mask: np.zeros_like(mask))
    comparison = compare_prediction_folders(truth, empty, data, split="all", out=tmp_path / "out", overlays=0)
    assert comparison.patients == patients
    assert [m.verdict for m in comparison.metrics] == ["too few patients"] * len(COMPARED_METRICS)
    dsc = _by_metric(comparison)["dsc"]
    assert (dsc.a, dsc.b, dsc.difference.estimate, dsc.difference.low, dsc.difference.high) == (1.0, 0.0, 1.0, 1.0, 1.0)
    lines = comparison_lines(comparison)
    named = "1 patient;" if patients == 1 else f"{patients} patients;"
    assert lines[0].startswith(f"all: {2 * patients} views of {named}")
    assert f"no verdict below {MIN_PATIENTS} patients" in lines[0]
    assert lines[2].split()[-8:] == ["1.0000", "0.0000", "+1.0000", "[+1.0000,", "+1.0000]", "too", "few", "patients"]
    written = json.loads((tmp_path / "out" / "comparison.json").read_text())
    assert written["method"]["min_patients"] == MIN_PATIENTS
    assert written["metrics"][0] == {**written["metrics"][0], "difference": 1.0, "low": 1.0,
                                     "verdict": "too few patients"}
    markdown = (tmp_path / "out" / "comparison.md").read_text()
    assert markdown.startswith(f"# A against B on {2 * patients} annotated views of {named[:-1]} (split all)")
    assert "| pooled DSC | 1.0000 | 0.0000 | +1.0000 | [+1.0000, +1.0000] | too few patients |" in markdown
    assert f"\"too few patients\": no verdict below {MIN_PATIENTS} patients" in markdown


def _patient_and_case(identifier):
    """``P003_1_ANT`` -> (3, 1): :func:`conftest.build_tiny_dataset`'s case names."""
    return int(identifier[1:4]), int(identifier[5])


def _counting(change, counts):
    """``change`` that also records each view's TP, FP, FN against the truth it was given, by patient."""
    def edit(identifier, truth):
        mask = change(identifier, truth)
        patient = identifier[:4]
        tp, fp, fn = int((mask & truth).sum()), int((mask & ~truth).sum()), int((~mask & truth).sum())
        counts.setdefault(patient, np.zeros(3))
        counts[patient] += (tp, fp, fn)
        return mask

    return edit


def test_the_interval_is_a_paired_bootstrap_over_patients_computed_by_hand(dataset_factory, tmp_path):
    """Patients that differ, two scans each: A and B lose patient-specific parts of the lesions, so only drawing
    patients (not views), and both folders on one draw, gives this interval."""
    data = dataset_factory(patients=6, cases_per_patient=2)

    def a_edit(identifier, mask):
        patient, case = _patient_and_case(identifier)
        mask = mask.copy()
        mask[:, : 3 + patient % 3] = False  # the lesion's first columns lost
        if identifier.endswith("POST") and (patient + case) % 2:
            mask[:, 8:10] |= mask[:, 7:8]  # spilled over to the right of the lesion
        return mask

    def b_edit(identifier, mask):
        patient, case = _patient_and_case(identifier)
        mask = mask.copy()
        mask[:, : 3 + (2 * patient + case) % 4] = False
        return mask

    counts_a, counts_b = {}, {}
    a = write_masks(data, tmp_path / "a", _counting(a_edit, counts_a))
    b = write_masks(data, tmp_path / "b", _counting(b_edit, counts_b))
    comparison = compare_prediction_folders(a, b, data, split="all", out=tmp_path / "out", overlays=0)
    patients = sorted(counts_a)
    assert (comparison.views, comparison.patients, len(patients)) == (24, 6, 6)
    records = score_predictions(a, data, split="all").image_records()
    assert row_scores([records], "dsc").patients == tuple(patients)  # drawn by patient, not by view

    sums_a = np.stack([counts_a[p] for p in patients])  # (P, 3): TP, FP, FN of each patient's four views
    sums_b = np.stack([counts_b[p] for p in patients])
    weights = resample_weights(len(patients), 2000, np.random.default_rng(0))  # what paired_difference draws, seed 0
    ratios = {"dsc": lambda tp, fp, fn: 2 * tp / (2 * tp + fp + fn), "recall": lambda tp, fp, fn: tp / (tp + fn),
              "cpa": lambda tp, fp, fn: tp / (tp + fp)}
    found = _by_metric(comparison)
    for metric, ratio in ratios.items():
        drawn = ratio(*(weights @ sums_a).T) - ratio(*(weights @ sums_b).T)  # both folders on the same draw
        low, high = np.percentile(drawn, [2.5, 97.5])
        estimate = ratio(*sums_a.sum(axis=0)) - ratio(*sums_b.sum(axis=0))
        got = found[metric].difference
        assert (got.estimate, got.low, got.high) == pytest.approx((estimate, low, high), abs=1e-12), metric
        assert got.low < got.high, metric  # patients that differ: an interval of some width
    assert found["cpa"].verdict == "A lower"  # only A spills over: every patient's CPA lower


def test_fewer_false_positive_components_on_some_patients_read_a_fewer(dataset_factory, tmp_path):
    data = dataset_factory(patients=6, cases_per_patient=2)

    def blobs(count):
        def edit(identifier, mask):
            patient, _ = _patient_and_case(identifier)
            mask = mask.copy()
            for row in (20, 26)[: count(patient)]:  # 2 x 2 blobs well away from the lesion: one component each
                mask[row : row + 2, 11:13] = True
            return mask

        return edit

    a = write_masks(data, tmp_path / "a", blobs(lambda patient: 0 if patient < 4 else patient - 4))
    b = write_masks(data, tmp_path / "b", blobs(lambda patient: 1 if patient < 4 else patient - 4))
    forward = _by_metric(compare_prediction_folders(a, b, data, split="all", out=tmp_path / "ab", overlays=0))
    fp = forward["fp_per_image"]
    assert (fp.a, fp.b) == pytest.approx((4 / 24, 20 / 24))  # patient 5's 4 views have 1 blob each in both
    assert fp.difference.high < 0 and fp.verdict == "A fewer"
    backward = _by_metric(compare_prediction_folders(b, a, data, split="all", out=tmp_path / "ba", overlays=0))
    assert backward["fp_per_image"].verdict == "A more"


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
