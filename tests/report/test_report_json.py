"""report.json: the triage score per view and per scan, the ANT-POST pairs on both lesion records, and the bone
behind a sternal lesion on an anterior view alone."""

import json
from dataclasses import replace

import numpy as np
import pytest

from support import blob_settings
from scintiseg.predict.pipeline import predict_from_probabilities
from scintiseg.prepare.views import mirror, shift_image
from scintiseg.report import outputs
from scintiseg.report.report_json import report_dict, report_json
from scintiseg.scan import Scan


@pytest.fixture(scope="module")
def paired(nm1_scan, make_blobs):
    """ANT with a lesion at (300, 80) and one at (420, 170); POST (the mirror, moved 3 rows) shows only the first."""
    ant = nm1_scan.view("ANT")
    scan = Scan({"ANT": ant, "POST": mirror(shift_image(ant, (3, 0)))}, pixel_spacing=nm1_scan.pixel_spacing)
    prob_ant = make_blobs(scan.shape, [(300, 80, 4), (420, 170, 4)])
    prob_post = make_blobs(scan.shape, [(303, 255 - 80, 4)])
    prob_post[303, 255 - 80] = 0.96
    return predict_from_probabilities(scan, {"ANT": prob_ant, "POST": prob_post}, settings=blob_settings(0.5, 4))


def test_triage_score_per_view_and_scan(paired):
    report = report_dict(paired)
    assert report["views"]["ANT"]["max_probability"] == pytest.approx(0.9)
    assert report["views"]["POST"]["max_probability"] == pytest.approx(0.96)
    assert report["summary"]["triage_score"] == pytest.approx(0.96)
    assert "triage_score" in report["definitions"] and "not a calibrated probability" in report["definitions"]["triage_score"]


def test_pairs_and_paired_with(paired):
    report = json.loads(report_json(report_dict(paired)))  # the file's own serialisation: valid JSON, no NaN
    by_id = {lesion["id"]: lesion for lesion in report["lesions"]}
    (pair,) = report["pairs"]
    ant, post = by_id[pair["ant_id"]], by_id[pair["post_id"]]
    assert (ant["view"], post["view"]) == ("ANT", "POST")
    assert abs(ant["centroid_row"] - 300) < 1 and abs(post["centroid_row"] - 303) < 1
    assert ant["paired_with"] == post["id"] and post["paired_with"] == ant["id"]
    lone = [lesion for lesion in report["lesions"] if lesion["id"] not in (ant["id"], post["id"])]
    assert len(lone) == 1 and lone[0]["paired_with"] is None and abs(lone[0]["centroid_row"] - 420) < 1
    assert report["summary"]["pair_count"] == 1 and report["summary"]["pairing_shift_px"] == [-3.0, 0.0]
    assert report["version"] == 1


def test_write_outputs_writes_report_json_and_refuses_a_nan(paired, tmp_path, monkeypatch):
    """report.json is report_json's text of the report write_outputs returns, indented by one space and ending in
    a newline; a NaN that reached the report stops the write (JSON has no NaN: a file with one is refused by strict
    readers) rather than being written. Before, outputs.py serialised the report itself and no test saw it."""
    report = outputs.write_outputs(paired, tmp_path / "out", dicom=False)
    text = (tmp_path / "out" / "report.json").read_text()
    assert text == report_json(report) and text.startswith('{\n "format": "scintiseg-report",\n') and text.endswith("}\n")
    assert json.loads(text)["dicom"] == {"note": "disabled"}
    with pytest.raises(ValueError, match="not JSON compliant"):
        report_json({"bsi_percent": float("nan")})
    plain = outputs.report_dict
    monkeypatch.setattr(outputs, "report_dict", lambda *args, **kwargs: {**plain(*args, **kwargs), "bsi_percent": float("nan")})
    with pytest.raises(ValueError, match="not JSON compliant"):
        outputs.write_outputs(paired, tmp_path / "nan", dicom=False)
    assert not (tmp_path / "nan" / "report.json").exists()


def test_one_view_report_has_no_pairs(nm1_scan, make_blobs):
    prediction = predict_from_probabilities(nm1_scan, {"ANT": make_blobs(nm1_scan.shape, [(300, 80, 4)])},
                                            settings=blob_settings(0.5, 4))
    report = report_dict(prediction)
    assert report["pairs"] == [] and report["summary"]["pairing_shift_px"] is None
    assert [lesion["paired_with"] for lesion in report["lesions"]] == [None]
    assert report["summary"]["triage_score"] == report["views"]["ANT"]["max_probability"] == pytest.approx(0.9)


def _with_ratios(prediction, ratios: dict[str, float]):
    """``prediction`` with its views' axial-to-distal ratios set (scintiseg.predict.superscan)."""
    views = {name: replace(view, axial_to_distal=ratios[name]) for name, view in prediction.views.items()}
    return replace(prediction, views=views)


def test_the_superscan_pattern_makes_the_grade_4_and_is_said_in_the_bsi_scope(paired):
    plain = json.loads(report_json(report_dict(_with_ratios(paired, {"ANT": 1.1, "POST": float("nan")}))))
    assert plain["summary"]["soloway_grade"] == 1  # two lesions
    assert plain["views"]["ANT"]["axial_to_distal"] == pytest.approx(1.1) and plain["views"]["POST"]["axial_to_distal"] is None
    assert "superscan" not in plain["summary"]["bsi_scope"]
    superscan = json.loads(report_json(report_dict(_with_ratios(paired, {"ANT": 1.1, "POST": 2.4}))))
    assert superscan["summary"]["soloway_grade"] == 4
    assert superscan["views"]["POST"]["axial_to_distal"] == pytest.approx(2.4)
    assert "superscan pattern" in superscan["summary"]["bsi_scope"]
    assert "superscan_pattern" in superscan["definitions"]["soloway_grade"]
    assert "axial_to_distal" in superscan["definitions"]


def test_a_view_exported_clipped_is_said_in_the_bsi_scope_to_understate_it(paired):
    """A display window flattens hot spots: outlines shrink and the BSI falls (NM1 at 30 %: 0.051 for 0.093)."""
    assert "cut off" not in report_dict(paired)["summary"]["bsi_scope"]
    scope = report_dict(replace(paired, qc_flags=[*paired.qc_flags, "clipped_export_POST"]))["summary"]["bsi_scope"]
    assert "POST was exported cut off by a display window" in scope and "this BSI lower" in scope
    both = report_dict(replace(paired, qc_flags=["clipped_export_ANT", "clipped_export_POST"]))["summary"]["bsi_scope"]
    assert "ANT and POST were exported cut off" in both


def test_a_sternal_lesion_on_an_anterior_view_alone_names_the_spine_behind_it(nm1_scan, make_blobs):
    """NM1 has ANT only: a lesion the learned map names sternum may be a thoracic vertebra (region_alternative), and
    the page says so beside the name; a lesion elsewhere has no alternative."""
    import html

    from scintiseg.predict.regions import REGION_IDS
    from scintiseg.report.html import report_html

    empty = predict_from_probabilities(nm1_scan, {"ANT": make_blobs(nm1_scan.shape, [])}, settings=blob_settings(0.5, 4))
    rows, cols = (empty.views["ANT"].regions.labels == REGION_IDS["sternum"]).nonzero()
    centre = (int(np.median(rows)), int(np.median(cols)))
    prediction = predict_from_probabilities(
        nm1_scan, {"ANT": make_blobs(nm1_scan.shape, [(*centre, 3), (600, 150, 4)])}, settings=blob_settings(0.5, 4))
    report = report_dict(prediction)
    by_region = {lesion["region"]: lesion for lesion in report["lesions"]}
    assert by_region["sternum"]["region_alternative"] == "thoracic_spine"
    assert all("region_alternative" not in lesion for region, lesion in by_region.items() if region != "sternum")
    assert "region_alternative" in report["definitions"]
    page = html.unescape(report_html(report, {}))
    assert page.count('<span class="behind">(or thoracic spine behind it: one view cannot tell)</span>') == 1


def test_the_summary_carries_the_view_weights_the_bsi_applied(paired):
    """``summary.bsi_view_weights``: each seen bone's views weighed as the scan's BSI weighed them (the HTML report
    groups by it rather than applying the rule again): the weighed bone contributions add up to ``bsi_percent``."""
    from scintiseg.predict.bsi import bsi_view_weights

    report = report_dict(paired)
    tables = {name: view["bsi"]["bones"] for name, view in report["views"].items()}
    weights = report["summary"]["bsi_view_weights"]
    assert weights == bsi_view_weights(tables, paired.reader_bones) and weights["thoracic_spine"] == {"ANT": 0.0, "POST": 1.0}
    total = sum(w * tables[view].get(bone, {}).get("contribution_percent", 0.0)
                for bone, by_view in weights.items() for view, w in by_view.items())
    assert total == pytest.approx(report["summary"]["bsi_percent"], abs=1e-4)
    assert "bsi_view_weights" in report["definitions"] and json.loads(report_json(report)) == report


def test_view_counts_leave_out_the_rule_calls_and_window_pixels_count_the_window(nm1_scan, make_blobs):
    """A call off the skeleton is left out: counted in no view's lesion count; ``window_pixels`` is the pixels the
    model saw (the coverage given), not the view's size."""
    coverage = np.zeros(nm1_scan.shape, dtype=bool)
    coverage[100:900] = True
    prediction = predict_from_probabilities(
        nm1_scan, {"ANT": make_blobs(nm1_scan.shape, [(300, 80, 4), (300, 8, 4)])}, {"ANT": coverage},
        settings=blob_settings(0.5, 4, off_skeleton=True))
    report = report_dict(prediction)
    assert [call["rule"] for call in report["left_out_calls"]] == ["off_skeleton"]
    assert report["summary"]["lesion_count_by_view"] == {"ANT": 1} == {"ANT": report["views"]["ANT"]["lesion_count"]}
    assert report["views"]["ANT"]["window_pixels"] == 800 * nm1_scan.shape[1]
