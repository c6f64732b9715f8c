"""Batch: a corrupt file is reported and skipped, the rest processed; summary CSV; atomic outputs."""

import csv
import os
import shutil

import numpy as np
import pytest

from scintiseg.predict.batch import expand_inputs, output_name, run_batch
from scintiseg.predict.loader import model_from_network
from scintiseg.predict.pipeline import PredictSettings


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, nm1_path, nm1_scan):
    folder = tmp_path_factory.mktemp("inputs")
    shutil.copy(nm1_path, folder / "good.dcm")
    np.save(folder / "good_npy.npy", np.asarray(nm1_scan.view("ANT"), dtype=np.uint16))
    (folder / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00garbage" * 10)
    (folder / "notes.txt").write_text("ignored")
    return folder


def _snapshot(root):
    return {p: p.stat().st_mtime_ns for p in root.rglob("*")}


def test_batch_with_one_corrupt_file(inputs, make_tiny_network, tmp_path):
    model = model_from_network(make_tiny_network())
    out = tmp_path / "out"
    before = _snapshot(inputs)
    results = run_batch([inputs], out, model, PredictSettings(threshold=0.99), progress=False)
    assert [(r.input.name, r.status) for r in results] == [("broken.dcm", "failed"), ("good.dcm", "ok"), ("good_npy.npy", "ok")]
    assert "broken.dcm" in str(results[0].input) and results[0].error
    assert _snapshot(inputs) == before  # nothing written beside the inputs
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert [r["status"] for r in rows] == ["failed", "ok", "ok"]
    assert sorted(p.name for p in out.iterdir()) == ["good", "good_npy", "summary.csv"]  # no leftover temp folder
    assert (out / "good" / "sr.dcm").is_file() and not (out / "good_npy" / "sr.dcm").exists()
    # Running again replaces the results in place.
    run_batch([inputs / "good_npy.npy"], out, model, PredictSettings(threshold=0.99), progress=False)
    assert (out / "good_npy" / "report.json").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_failure_mid_scan_leaves_no_half_folder(inputs, make_tiny_network, tmp_path, monkeypatch):
    from scintiseg.predict import batch

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(batch, "write_outputs", explode)
    out = tmp_path / "out"
    with pytest.raises(OSError):
        run_batch([inputs / "good.dcm"], out, model_from_network(make_tiny_network()), progress=False)
    assert list(out.iterdir()) == []


def test_names_are_safe_and_unique(tmp_path):
    taken: set[str] = set()
    assert output_name(tmp_path / "a b;c.dcm", taken) == "a_b_c"
    assert output_name(tmp_path / "x" / "a b;c.dcm", taken) == "a_b_c-2"
    with pytest.raises(Exception, match="no such file"):
        expand_inputs([tmp_path / "missing"])
