"""The comparison page (scintiseg.report.follow_up_html) and record (follow_up_folder.comparison_record): every
outline drawn in its status's colour, the counts and the PCWG3 sentence as the record has them, text from files
escaped."""

from __future__ import annotations

import html
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from scintiseg.predict.follow_up import compare
from scintiseg.predict.pipeline import PredictSettings, predict_from_probabilities
from scintiseg.report.follow_up_folder import comparison_record, summary_line
from scintiseg.report.follow_up_html import STATUS_COLOURS, comparison_html
from scintiseg.report.predicted_again import PredictedAgain

NAME = "<script>alert(1)</script>^Doe"


def _disc(shape, row, col, radius):
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    return (rows - row) ** 2 + (cols - col) ** 2 <= radius**2


def _read(scan, places):
    mask = np.zeros(scan.shape, bool)
    for row, col in places:
        mask |= _disc(scan.shape, row, col, 4)
    return predict_from_probabilities(scan, {"ANT": np.zeros(scan.shape, np.float32)}, settings=PredictSettings(0.5, 4),
                                      reader_masks={"ANT": mask})


def test_the_page_draws_each_status_and_escapes_the_patients_name(nm1_scan):
    scan = replace(nm1_scan, patient_name=NAME)
    early = _read(replace(scan, metadata={**scan.metadata, "study_date": "20240105"}), [(364, 150), (800, 60)])
    late = _read(replace(scan, metadata={**scan.metadata, "study_date": "20240301"}), [(364, 150), (450, 128)])
    result = compare(early, late)
    record = comparison_record(result, (Path("a"), PredictedAgain(early, {}, {})),
                               (Path("b"), PredictedAgain(late, {}, {})))
    json.dumps(record)  # JSON as written
    assert record["interval_days"] == 56 and record["summary"]["new_lesions"] == 1
    assert record["summary"]["lesions_not_seen"] == 1 and not record["summary"]["two_or_more_new"]
    page = comparison_html(record, result)
    assert "<script>" not in page and html.escape(NAME) in page
    statuses = {"new": 1, "persisting": 2, "not seen": 1}  # one persisting outline on each image
    for status, count in statuses.items():
        assert page.count(f'data-status="{status}" stroke="{STATUS_COLOURS[status]}"') == count
    assert "Fewer than two new lesions." in page and "over 56 days" in page
    assert summary_line(record).startswith("1 new, 1 persisting, 1 not seen; BSI ")
