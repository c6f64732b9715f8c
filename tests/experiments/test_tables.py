"""Tests for scintiseg.experiments.tables: what the Markdown table says of its rows."""

import math

import pytest

from scintiseg.errors import ScintisegError
from scintiseg.experiments.specs import ExperimentSpec, Row
from scintiseg.experiments.tables import PairedStatistics, markdown_table, write_outputs


def _result(row, run, images, cpa):
    return {"row": row, "run": run, "dsc": 0.5 + 0.1 * run, "recall": 0.4, "cpa": cpa, "iou": 0.3, "dsc_image": 0.5,
            "sensitivity": 0.5, "fp_per_image": 1.0, "images": images}


def test_rows_of_different_image_counts_and_a_metric_of_one_run_are_said_as_they_are():
    """Session 63: the header gave the reference row's image count for every row (12 where the aggregated row tests
    6), and a CPA defined in one run of two printed a spread of 0.0000."""
    spec = ExperimentSpec(name="x", title="x", source="s", rows=(Row("single", {}), Row("aggregated", {})))
    results = [_result("single", 0, 12, 0.6), _result("single", 1, 12, 0.7),
               _result("aggregated", 0, 6, 0.8), _result("aggregated", 1, 6, math.nan)]
    text = markdown_table(spec, results, {}, 2, "d", paired=PairedStatistics("single", patients=6, images=12),
                          test_set="t")
    assert "(6 patients, images: single 12, aggregated 6 per run)" in text
    aggregated = next(line for line in text.splitlines() if line.startswith("| aggregated |"))
    cpa = aggregated.split(" | ")[6]
    assert cpa == "0.8000 (1 of 2 runs)"
    single = next(line for line in text.splitlines() if line.startswith("| single |"))
    assert single.split(" | ")[6].startswith("0.6500 ± 0.0707")
    same = markdown_table(spec, [r for r in results if r["row"] == "single"] +
                          [{**r, "images": 12} for r in results if r["row"] == "aggregated"], {}, 2, "d",
                          paired=PairedStatistics("single", patients=6, images=12), test_set="t")
    assert "(6 patients, 12 images per run)" in same


def test_the_plot_says_a_bar_stands_for_only_some_runs(tmp_path, monkeypatch):
    """Session 63: a CPA defined in 1 of 3 runs (the others predicted nothing) drew a full bar at 1.0 like any other;
    it is hatched over and labelled with its runs."""
    import matplotlib.axes

    from scintiseg.experiments.plots import plot_experiment
    from scintiseg.experiments.tables import row_statistics

    said = []
    annotate = matplotlib.axes.Axes.annotate
    monkeypatch.setattr(matplotlib.axes.Axes, "annotate",
                        lambda self, text, *args, **kwargs: said.append(text) or annotate(self, text, *args, **kwargs))
    spec = ExperimentSpec(name="x", title="x", source="s", rows=(Row("single", {}), Row("aggregated", {})))
    results = [_result("single", k, 12, cpa) for k, cpa in enumerate((1.0, math.nan, math.nan))] + \
        [_result("aggregated", k, 6, 0.7) for k in range(3)]
    plot_experiment(spec, row_statistics(spec, results), None, tmp_path / "x.png")
    assert said == ["1/3 runs"] and (tmp_path / "x.png").stat().st_size > 0


def test_damaged_per_image_scores_leave_the_experiment_files_unwritten(tmp_path):
    """Session 66: experiment.json and results.csv were rewritten before the cells' per-image scores were read, so a
    damaged file left them half updated (then a traceback); the scores are read before anything is written."""
    spec = ExperimentSpec(name="x", title="x", source="s", rows=(Row("single", {}),))
    cell = tmp_path / "single" / "run0" / "eval-test"
    cell.mkdir(parents=True)
    (cell / "per_case.csv").write_text("case_id,patient_id,dsc,lesion_pixels,predicted_pixels\nC1,P0,0.5,")
    with pytest.raises(ScintisegError, match="malformed per-image scores"):
        write_outputs(spec, [_result("single", 0, 1, 0.5)], tmp_path, settings={}, runs=1, data="d")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["single"]


def _paired_rows():
    """Rows a (the reference), b (better on every patient) and c (a again), 2 runs of 30 patients each."""
    def records(extra_tp, detected, false_positives):
        out = []
        for i in range(30):
            tp, fp, fn = 10 + extra_tp + i % 5, 5, 5 + i % 3
            out.append({"patient_id": f"P{i:02d}", "tp": tp, "fp": fp, "fn": fn, "dsc": 2 * tp / (2 * tp + fp + fn),
                        "lesions": 2, "detected": detected, "false_positives": false_positives})
        return out

    spec = ExperimentSpec(name="x", title="x", source="s", reference="a",
                          rows=(Row("a", {}, {"dsc": 0.61, "recall": 0.52, "cpa": 0.74}), Row("b", {}), Row("c", {})))
    scores = {"a": {k: records(0, 1, 1) for k in range(2)}, "b": {k: records(10, 2, 0) for k in range(2)},
              "c": {k: records(0, 1, 1) for k in range(2)}}
    return spec, scores


def test_paired_statistics_are_row_minus_reference_and_every_pair_once():
    from scintiseg.experiments.paired import row_scores
    from scintiseg.experiments.tables import paired_statistics

    spec, scores = _paired_rows()
    stats = paired_statistics(spec, scores, n_resamples=200)
    value = {name: row_scores([scores[name][k] for k in (0, 1)], "dsc").value for name in "abc"}
    assert stats.reference == "a" and set(stats.versus_reference) == {"b", "c"}
    better = stats.versus_reference["b"]
    assert better["dsc"].estimate == pytest.approx(value["b"] - value["a"]) and better["dsc"].low > 0
    assert better["fp_per_image"].estimate == pytest.approx(-1.0) and better["sensitivity"].estimate == pytest.approx(0.5)
    assert stats.versus_reference["c"]["dsc"].estimate == 0 and not stats.versus_reference["c"]["dsc"].excludes_zero
    assert [(a, b) for a, b, _ in stats.pairs] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert stats.pairs[0][2].estimate == pytest.approx(value["a"] - value["b"]) and stats.pairs[0][2].high < 0
    assert stats.pairs[2][2].estimate == pytest.approx(value["b"] - value["c"])


def test_the_paired_table_puts_each_metric_in_its_column_and_bolds_only_real_differences():
    from scintiseg.experiments.tables import PAIRED_METRICS, format_interval, paired_statistics

    spec, scores = _paired_rows()
    stats = paired_statistics(spec, scores, n_resamples=200)
    results = [_result(name, k, 60, 0.7) for name in "abc" for k in range(2)]
    text = markdown_table(spec, results, {}, 2, "d", paired=stats)
    main, paired = text.split("## Paired differences")
    header = next(line for line in main.splitlines() if line.startswith("| Row |")).split(" | ")
    a_row = next(line for line in main.splitlines() if line.startswith("| a |")).split(" | ")
    for metric, paper in (("DSC", "0.6100"), ("RECALL", "0.5200"), ("CPA", "0.7400")):
        assert a_row[header.index(f"{metric} paper")] == paper
    b_row = next(line for line in paired.splitlines() if line.startswith("| b |")).strip("| ").split(" | ")
    assert b_row[1:] == [format_interval(stats.versus_reference["b"][m]) for m in PAIRED_METRICS]
    dsc = b_row[1 + list(PAIRED_METRICS).index("dsc")]
    fp = b_row[1 + list(PAIRED_METRICS).index("fp_per_image")]
    assert dsc.startswith("**+") and fp.startswith("**-1.000")  # b: a higher DSC and one false positive fewer
    c_row = next(line for line in paired.splitlines() if line.startswith("| c |"))
    assert "**" not in c_row  # c is a again: no real difference


def _settings_block(text):
    """The YAML settings of a table: field -> its line; and the 'Not read by the first row's cells' sentence ('' without)."""
    block = text.split("```yaml\n")[1].split("```")[0]
    lines = {line.split(":")[0]: line for line in block.splitlines()}
    not_read = next((line for line in text.splitlines() if line.startswith("Not read by the first row's cells: ")), "")
    return lines, not_read


def test_the_settings_block_sets_apart_the_fields_the_cells_did_not_read():
    """Researcher audit 74: a crop experiment's table listed pixel_mm, window_size, degrade, synthetic and
    pool_patients, which only whole-body or synthetic training reads, and `input_mode: ant` beside `views: each`."""
    from pathlib import Path

    from scintiseg.experiments.runner import cell_config
    from scintiseg.experiments.specs import PAPER_A_TABLE2, PAPER_B_LABELS

    spec = ExperimentSpec(name="x", title="x", source="s", rows=(Row("single", {}),))
    results = [_result("single", 0, 12, 0.6)]
    settings = cell_config(PAPER_A_TABLE2, PAPER_A_TABLE2.rows[0], "d", Path("o"), 0, {}).to_dict()
    read, not_read = _settings_block(markdown_table(spec, results, settings, 1, "d", field_of_view="crop"))
    unread = {"pixel_mm", "window_size", "degrade_data", "synthetic", "synthetic_config", "pool_patients", "refresh",
              "windows_per_view", "val_patients", "degrade", "generator_workers", "supervised_loss", "alpha",
              "alpha_rampup", "area_weight", "length_weight"}
    assert not unread & set(read) and {"model", "loss", "views", "input_mode", "val_fraction", "epochs"} <= set(read)
    assert set(read) | unread == set(settings) - {"out", "data", "seed"}  # every other field is named, none dropped
    assert all(f"`{key}`" in not_read for key in unread)
    assert "`pixel_mm`, `window_size`, `degrade_data`: whole-body scans only (a data set of crops)" in not_read
    assert read["input_mode"].startswith("input_mode: ant  # one view per image") and read["views"] == "views: each"
    # a whole-body data set's cells read pixel_mm and window_size, and every view whatever `views` says
    read, not_read = _settings_block(markdown_table(spec, results, settings, 1, "d", field_of_view="whole-body"))
    assert {"pixel_mm", "window_size"} <= set(read) and "views" not in read and "`views`: crops only" in not_read
    assert read["input_mode"] == "input_mode: ant"
    # a folder whose record does not say the field of view: nothing that depends on it is set apart
    read, _ = _settings_block(markdown_table(spec, results, settings, 1, "d"))
    assert {"pixel_mm", "window_size", "views"} <= set(read) and "degrade" not in read
    # paper B's Chan-Vese cells read its weights
    chan_vese = cell_config(PAPER_B_LABELS, PAPER_B_LABELS.rows[0], "d", Path("o"), 0, {}).to_dict()
    read, not_read = _settings_block(markdown_table(spec, results, chan_vese, 1, "d", field_of_view="crop"))
    assert {"alpha", "area_weight", "length_weight", "supervised_loss"} <= set(read) and "`alpha`" not in not_read
