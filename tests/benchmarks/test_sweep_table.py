"""benchmarks/sweep_table.py: one table from many bench_wholebody results (scripts/gpu_sweep.sh)."""

from __future__ import annotations

import json

import pytest
from support import benchmark_module


@pytest.fixture(scope="module")
def sweep():
    with benchmark_module("sweep_table") as module:
        yield module


def nm1_result(fp: float, sens: float, auc: float = 0.85) -> dict:
    """The keys of ``bench_wholebody.py --source nm1 --json-out`` the table reads."""
    return {"false_positives": {"per_view": fp}, "sensitivity_visible": sens, "triage_auc": auc}


def phantom_result(r: float, faint_found: int = 10, faint_all: int = 40) -> dict:
    """The keys of ``bench_wholebody.py --patients N --json-out`` the table reads."""
    return {"bsi": {"pearson_r": r, "pearson_r_ci95": [r - 0.05, r + 0.05], "mae": 0.25},
            "triage": {"auc": 0.75}, "false_positives": {"per_view": 0.6},
            "sensitivity": {"by_contrast": {"1.5-2.0": {"found": faint_found, "lesions": faint_all}}}}


def crops_result(auc: float, specificity: float) -> dict:
    """The keys of ``scintiseg predict ... --labels`` (``triage.json``) the table reads."""
    return {"triage_auc": auc, "operating_point": {"sensitivity": 0.6, "specificity": specificity}}


def independent_result(fp_free: float, sensitivity: float) -> dict:
    """The keys of ``bench_independent.py --json-out`` the table reads."""
    return {"false_positives": {"per_view_lesion_free": fp_free, "per_view_with_lesions": 9.9},
            "sensitivity": {"per_view": sensitivity}}


def probe_result(found: int, missed: int, region: str = "humerus") -> list[dict]:
    """``bench_misses.py --probe-regions ... --json-out`` records: ``found`` and ``missed`` lesions of apparent contrast
    3 in ``region``, and subtle ones (1.5), found or not, that the column does not count."""
    def record(found_it: bool, contrast: float) -> dict:
        return {"source": f"probe: {region}", "found": found_it, "apparent_contrast": contrast}

    return ([record(True, 3.0)] * found + [record(False, 3.0)] * missed + [record(True, 1.5), record(False, 1.5)]
            + [{"source": "phantom", "found": False, "apparent_contrast": 3.0}])


def write(folder, name, kind, result) -> None:
    (folder / f"{name}.{kind}.json").write_text(json.dumps(result))


@pytest.fixture
def results(tmp_path):
    write(tmp_path, "shipped", "nm1", nm1_result(1.2, 0.77))
    write(tmp_path, "shipped", "phantom", phantom_result(0.826))
    write(tmp_path, "better", "nm1", nm1_result(0.9, 0.70))        # fewer NM1 FP and a higher r: marked
    write(tmp_path, "better", "phantom", phantom_result(0.870, 20, 40))
    write(tmp_path, "better", "crops", crops_result(0.877, 1.0))
    write(tmp_path, "better", "independent", independent_result(1.11, 0.199))
    write(tmp_path, "better", "independent2", independent_result(0.84, 0.412))
    write(tmp_path, "better", "probe", probe_result(15, 5) + probe_result(19, 2, "skull"))
    write(tmp_path, "noisy", "nm1", nm1_result(3.5, 0.80))         # higher r, more NM1 FP: not marked
    write(tmp_path, "noisy", "phantom", phantom_result(0.900))
    write(tmp_path, "nm1only", "nm1", nm1_result(0.9, 0.75))       # not scored on the phantom yet
    (tmp_path / "notes.json").write_text("{}")                     # not NAME.kind.json: ignored
    return tmp_path


def test_a_row_is_marked_only_when_it_beats_the_reference_on_both_counts(sweep, results):
    text = sweep.table(sweep.read_results(results))
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines()[2:]}
    assert list(rows) == ["shipped", "better", "nm1only", "noisy"]  # the reference first, then by name
    assert rows["better"].rstrip(" |").endswith("**both**")
    assert "**both**" not in rows["noisy"] and "**both**" not in rows["nm1only"]
    assert "20/40 (0.50)" in rows["better"] and "0.870 (0.820-0.920)" in rows["better"]
    # the lesion-free views' false positives; of the probe, the conspicuous lesions only
    assert "| 0.877 | 1.00 | 1.11 | 0.199 | 0.84 | 0.412 | 15/20 | 19/21 |" in rows["better"]
    assert rows["shipped"].count(" - ") == 8  # no crops, independent or probe file: empty
    assert rows["nm1only"].count(" - ") >= 5  # its phantom columns are empty, not zero
    assert sweep.marked(sweep.read_results(results)) == ["better"]


def test_pick_orders_by_nm1_false_positives_then_sensitivity(sweep, results):
    found = sweep.read_results(results)
    assert sweep.pick(found, 2) == ["nm1only", "better"]  # equal FP: the more sensitive first
    assert sweep.pick(found, 10)[-1] == "noisy"


def test_command_line_writes_the_table_and_refuses_an_empty_folder(sweep, results, tmp_path_factory, capsys):
    out = results / "table.md"
    assert sweep.main([str(results), "--out", str(out)]) == 0
    assert out.read_text() == capsys.readouterr().out
    empty = tmp_path_factory.mktemp("empty")
    assert sweep.main([str(empty)]) == 2
    assert "no NAME.nm1.json, NAME.phantom.json or NAME.crops.json" in capsys.readouterr().err
    assert sweep.main([str(results), "--pick", "1"]) == 0
    assert capsys.readouterr().out.split() == ["nm1only"]
    (results / "broken.nm1.json").write_text("{")
    assert sweep.main([str(results)]) == 2
    assert "broken.nm1.json: not a readable result" in capsys.readouterr().err
