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
