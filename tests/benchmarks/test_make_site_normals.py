"""benchmarks/make_site_normals.py: a phantom site's lesion-free scans for ``adapt --normals`` (docs/own-data.md)."""

from __future__ import annotations

import numpy as np
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


@pytest.mark.parametrize("generator", ["independent_phantom", "independent_phantom_2"])
def test_an_independent_generator_s_site_normals_are_its_lesion_free_twins_as_scintiseg_reads_them(
        bench, generator, tmp_path):
    """``--generator`` (session 70): each patient's lesion-free twin in whole counts; read as ``adapt --normals``
    reads a folder, it gives the twin's views and pixel size exactly, not the patient's scan with its lesions (seed
    5002: both generators draw lesions for it)."""
    assert bench.GENERATOR_SEED == 5000
    assert bench.main(["--out", str(tmp_path), "--generator", generator, "--patients", "1", "--seed", "5002"]) == 0
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    with benchmark_module("bench_independent") as independent, benchmark_module(generator) as made:
        twin, patient = made.make_case(5002, lesions=False), made.make_case(5002, lesions=True)
        scan = independent.read_written(files)
        assert independent.read_back(twin, scan) == "exact"
    assert patient.lesion_info and any(not np.array_equal(patient.views[v], scan.views[v]) for v in scan.views)
    assert all((p.suffix == ".npz") == (generator == "independent_phantom") for p in files)
    assert all(p.parent.name == ("5002_twin" if p.suffix == ".dcm" else tmp_path.name) for p in files)


def test_an_independent_generator_s_site_patients_start_after_the_benchmarks_seeds(bench, tmp_path):
    """Without ``--seed``, ``--generator`` starts at seed 5000 (the benchmarks' patients are 0-39 and 1000-1039),
    not at the profile's 970000."""
    assert bench.main(["--out", str(tmp_path), "--generator", "independent_phantom", "--patients", "1"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["IP1_5000_twin.npz"]
