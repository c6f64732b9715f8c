"""The check after ``adapt --normals`` (experiments/site_check.py): which cases are read, which views each metric is
read on, adapted minus before, the verdicts, the files; the real pipeline in tests/cli/test_adapt.py."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage

from scintiseg.errors import ScintisegError
from scintiseg.experiments import site_check
from scintiseg.experiments.site_check import check_adaptation, check_cases, site_check_lines, write_site_check
from scintiseg.phantom.hybrid import HybridConfig, prepare_source
from scintiseg.scan import Scan

SOFT, BONE = 30.0, 60.0


def bar_source(patient: str, seed: int):
    """A two-view scan of one vertical bone bar (POST the mirrored ANT), ready for lesion insertion."""
    expected = np.zeros((160, 96))
    expected[8:-8, 8:-8] = SOFT
    expected[24:-24, 24:36] = BONE
    ant = np.random.default_rng(seed).poisson(expected).astype(np.uint16)
    scan = Scan({"ANT": ant, "POST": np.ascontiguousarray(ant[:, ::-1])}, pixel_spacing=(2.26, 2.26),
                patient_id=patient)
    return patient, prepare_source(scan, HybridConfig(hot_percentile=100.0, contrast=(4.0, 8.0), size_mm=(15.0, 30.0)))


def empty_reader(scan, model, settings=None):
    """A stand-in for ``predict_scan`` that calls nothing."""
    return SimpleNamespace(views={view: SimpleNamespace(mask=np.zeros(scan.shape, dtype=bool)) for view in scan.views})


def test_the_cases_are_the_scan_as_acquired_then_seeded_copies_with_lesions():
    _, source = bar_source("P0", 0)
    cases = list(check_cases(source, 3, seed=5, index=0))
    assert [case.negative for case in cases] == [True, False, False, False]
    assert np.array_equal(cases[0].scan.view("ANT"), source.scan.view("ANT"))  # fraction 1: the counts as acquired
    assert all(case.lesions for case in cases[1:])
    # at the scan's own count level: every count of the scan is kept, the lesions only add
    assert all(case.fraction == 1.0 and (case.scan.view(v) >= source.scan.view(v)).all()
               for case in cases for v in ("ANT", "POST"))
    again = list(check_cases(source, 3, seed=5, index=0))
    assert [c.case_id for c in again] == [c.case_id for c in cases]
    other = [c.case_id for c in check_cases(source, 3, seed=5, index=1)][1:]
    assert not set(other) & {c.case_id for c in cases[1:]}  # another scan's copies draw other lesions
    source.views["ANT"].allowed[:] = False  # no free skeleton: the scan as acquired only, not an error
    assert [case.negative for case in check_cases(source, 3, seed=5, index=0)] == [True]


def test_adapted_minus_before_on_the_views_each_metric_reads(monkeypatch):
    """The adapted model calls every inserted lesion exactly, and one false call on each view of the copies with
    lesions; the one it started from calls nothing on the copies and one false call on each view of the scans as
    acquired. False calls per normal view are read on the scans as acquired only: 0 against 1 (read on every view
    they would be 0.67 against 0.33)."""
    held_out = [bar_source(f"P{k}", k) for k in range(5)]
    held_out.append(("second_scan_of_P0", bar_source("P0", 9)[1]))  # a patient's second scan: one patient still
    truth: dict = {}
    real = site_check.make_hybrid_case

    lesions_seen: list[dict] = []

    def remember(source, fraction, seed, **kwargs):
        case = real(source, fraction, seed, **kwargs)
        truth[case.case_id] = {v: np.asarray(m, dtype=bool) for v, m in case.masks.items()}
        lesions_seen.extend(info["visible"] for info in case.lesions)
        return case

    def predict(scan, model, settings=None):  # a case's scan is named by its case id
        views = {}
        for view in scan.views:
            negative = scan.metadata["negative"]
            mask = truth[scan.patient_id][view].copy() if model == "after" else np.zeros(scan.shape, dtype=bool)
            if negative != (model == "after"):
                mask[1:4, 1:4] = True  # one false call, off the body
            views[view] = SimpleNamespace(mask=mask)
        return SimpleNamespace(views=views)

    monkeypatch.setattr(site_check, "make_hybrid_case", remember)
    monkeypatch.setattr(site_check, "predict_scan", predict)
    check = check_adaptation("before", "after", held_out, cases=2, seed=0, n_resamples=200)
    assert (check.scans, check.patients, check.normal_views, check.lesion_views) == (6, 5, 12, 24)
    assert all(m.patients == 5 for m in check.metrics)  # the bootstrap draws patients, not scans or copies
    views_seen = sum(ndimage.label(m, structure=np.ones((3, 3)))[1] for masks in truth.values() for m in masks.values())
    assert check.visible_lesion_views == views_seen and check.lesions < views_seen  # most are seen on both views
    assert check.lesions == sum(any(views.values()) for views in lesions_seen)
    metrics = {m.metric: m for m in check.metrics}
    assert metrics["sensitivity"].a == 1.0 and metrics["sensitivity"].b == 0.0
    assert metrics["sensitivity"].verdict == "A higher"
    assert metrics["fp_per_image"].a == 0.0 and metrics["fp_per_image"].b == 1.0
    assert metrics["fp_per_image"].verdict == "A fewer"
    assert 0.5 < metrics["dsc"].a < 1.0 and metrics["dsc"].b == 0.0  # the lesions, less the copies' false calls
    lines = site_check_lines(check)
    assert "adapted higher" in lines[2] and "adapted fewer" in lines[3] and "5 held-out patients" in lines[0]


def test_under_five_patients_every_verdict_is_too_few_and_the_files_say_so(monkeypatch, tmp_path):
    held_out = [bar_source(f"P{k}", k) for k in range(2)]
    monkeypatch.setattr(site_check, "predict_scan", empty_reader)
    check = check_adaptation(object(), object(), held_out, cases=1, seed=0, names=("the shipped model", "runs/x"),
                             n_resamples=100)
    assert {m.verdict for m in check.metrics} == {"too few patients"}
    written = write_site_check(check, tmp_path)
    record = json.loads((tmp_path / "site_check.json").read_text())
    assert record["patients"] == 2 and record["started_from"] == "the shipped model" and record["adapted"] == "runs/x"
    assert [m["verdict"] for m in record["metrics"]] == ["too few patients"] * 3
    assert record["metrics"][0]["adapted"] == 0.0 and record["metrics"][1]["lower_is_better"] is True
    assert "| lesion-views found | 0.000 | 0.000 |" in written.read_text()
    with pytest.raises(ScintisegError, match="no held-out normal scan"):
        check_adaptation(object(), object(), [], cases=1)
    for _, source in held_out:  # no free skeleton anywhere: no copy has a lesion, nothing to check lesions on
        source.views["ANT"].allowed[:] = False
    with pytest.raises(ScintisegError, match="no held-out scan had free skeleton"):
        check_adaptation(object(), object(), held_out, cases=1)
