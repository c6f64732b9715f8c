"""Tests for scintiseg.experiments.tables: what the Markdown table says of its rows."""

import math

from scintiseg.experiments.specs import ExperimentSpec, Row
from scintiseg.experiments.tables import PairedStatistics, markdown_table


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
