"""benchmarks/make_site_normals.py: a phantom site's lesion-free scans for ``adapt --normals`` (docs/own-data.md)."""

from __future__ import annotations

import pytest
from support import benchmark_module

from scintiseg.io import read_scan
from scintiseg.phantom import generate_patient, profile


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("make_site_normals") as module:
        yield module


def test_the_site_normals_are_the_profiles_patients_without_metastases(bench, tmp_path):
    config = bench.normal_profile("small")
    assert config.lesions.p_normal == 1.0 and config.camera == profile("small").camera
    patient = generate_patient(7, config)
    assert not patient.lesions and not any(mask.any() for mask in patient.masks.values())
    assert bench.main(["--out", str(tmp_path), "--profile", "small", "--patients", "2", "--seed", "5"]) == 0
    scans = [read_scan(tmp_path / f"n{k:02d}.dcm") for k in range(2)]
    assert [s.patient_id for s in scans] == ["N0", "N1"] and all(s.view_names == ["ANT", "POST"] for s in scans)
