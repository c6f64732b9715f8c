"""The mutation harness (benchmarks/bench_fuzz.py) on the hardened readers: no traceback, no hang.

The full run over every kind of file (LabelMe, checkpoints, YAML as well) is documented in
docs/robustness-fuzz.md; here a few hundred inputs keep the scan readers (scintiseg.io.dicom and
scintiseg.io.images), the data-set readers (scintiseg.io.dataset: dataset.json with the files it
names, splits.json), the label readers and, since session 66, the records one command writes and another reads
back (an ONNX export's sidecar, a run's split.json, per-image score CSVs) honest, and the harness's own
bookkeeping is checked.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from scintiseg.errors import ScintisegError

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench_fuzz():
    # A plain import (not importlib's file loader): the spawned workers import the module by name.
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("bench_fuzz")
    finally:
        sys.path.remove(str(BENCHMARKS))


#: The kinds whose readers give 0 unexpected exceptions in the full run (docs/robustness-fuzz.md).
HARDENED_KINDS = ("dicom", "png", "tiff", "npy", "raw", "dataset", "splits", "jpeg", "voc", "interfile", "metaimage", "nifti",
                  "npz", "labels", "sidecar", "run-split", "scores-csv")


def test_scan_and_data_set_readers_survive_the_harness(bench_fuzz):
    summary = bench_fuzz.run_fuzz(
        60 * len(HARDENED_KINDS), seed=14, kinds=HARDENED_KINDS, timeout=10.0, workers=2, progress=False
    )
    assert set(summary["per_kind"]) == set(HARDENED_KINDS)
    problems = [e["first_line"] + " at " + str(e["where"]) for e in summary["unexpected"]]
    assert problems == [], problems
    for kind, counts in summary["per_kind"].items():
        assert counts["inputs"] == 60
        assert counts["hang"] == counts["crash"] == 0, (kind, summary["hangs"], summary["crashes"])
        assert counts["stray_warnings"] == 0, (kind, summary["stray_examples"])  # library chatter folded
        assert counts["writes"] == 0, (kind, summary["writes"])
        # Both outcomes occur: the mutations neither all miss nor all break the format.
        assert counts["clean"] > 0 and counts["accept"] > 0, (kind, counts)


def test_inputs_are_reproducible(bench_fuzz, tmp_path):
    seeds = bench_fuzz.build_seeds(tmp_path / "seeds", ("dicom", "npy"))
    for kind in ("dicom", "npy"):
        for index in range(5):
            a = bench_fuzz.make_input(seeds, kind, index, 3, tmp_path / f"a-{kind}-{index}")
            b = bench_fuzz.make_input(seeds, kind, index, 3, tmp_path / f"b-{kind}-{index}")
            assert a.mutations == b.mutations
            assert a.target.read_bytes() == b.target.read_bytes()


def test_outcomes_are_classified(bench_fuzz, tmp_path, monkeypatch):
    seeds = bench_fuzz.build_seeds(tmp_path / "seeds", ("npy",))
    item = bench_fuzz.make_input(seeds, "npy", 0, 0, tmp_path / "input")
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()

    def raise_key_error(_item):
        raise KeyError("boom")

    def write_beside(input_item):
        (input_item.folder / "cache.bin").write_bytes(b"x")

    def refuse(_item):
        raise ScintisegError("bad file", path=item.target)

    outcomes = {}
    for name, reader in (("key", raise_key_error), ("write", write_beside), ("clean", refuse)):
        monkeypatch.setattr(bench_fuzz, "read_input", reader)
        outcomes[name] = bench_fuzz.run_one(item, sandbox=sandbox)
    assert outcomes["key"]["outcome"] == "unexpected" and outcomes["key"]["type"] == "KeyError"
    assert outcomes["write"]["outcome"] == "accept" and outcomes["write"]["writes"] == ["input: new cache.bin"]
    assert outcomes["clean"]["outcome"] == "clean" and outcomes["clean"]["writes"] == []
    summary = bench_fuzz.summarise(list(outcomes.values()), n=3, seed=0, kinds=("npy",), timeout=1.0, elapsed=1.0)
    assert summary["per_kind"]["npy"]["unexpected"] == 1 and summary["unexpected"][0]["type"] == "KeyError"


@pytest.mark.timeout(300)  # a regression hangs: fail it instead of the whole run
def test_a_yaml_input_is_made_in_moments_whatever_the_mutations_grew(bench_fuzz, tmp_path):
    """Seed 16180, yaml 1123 took minutes to make before the harness counted a mutated tree as written out: a list
    repeated thousands of times inside another (or an alias bomb) is mutated as bytes instead of dumped."""
    assert bench_fuzz._expanded_size({"a": [[1, 2]] * 3}) == 1 + 1 + 3 * 3
    bomb = ["lol"] * 9
    for _ in range(8):
        bomb = [bomb] * 9
    assert bench_fuzz._expanded_size(bomb) == bench_fuzz.MAX_DUMPED_NODES + 1  # stops at the budget
    seeds = bench_fuzz.build_seeds(tmp_path / "seeds", ("yaml",))
    item = bench_fuzz.make_input(seeds, "yaml", 1123, 16180, tmp_path / "input")  # (hung before: the suite's timeout)
    assert item.mutations[:2] == ["seed train-config", "billion-laughs aliases"]
    assert item.target.stat().st_size < 10_000  # the bomb's text, cut: nothing was written out expanded
