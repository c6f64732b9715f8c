"""A prediction folder's ``report.json`` read back (:mod:`scintiseg.report.predicted_again`): the settings it records
checked as ``predict`` checks its options, and a report that is missing, damaged or someone else's refused in one line
that names the file, never a traceback from deep in the post-processing."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from scintiseg.errors import ScintisegError
from scintiseg.predict.pipeline import PredictSettings
from scintiseg.report.predicted_again import damaged_report, recorded_settings, report_of

#: What ``scintiseg predict`` records (report.json's ``settings``).
RECORDED = {"threshold": 0.5, "min_area_px": 4, "window": "whole", "regions": "auto", "region_model": None,
            "tiling": "windows", "crop_level": True, "spine_pattern": True, "spine_pattern_ratio": 1.3,
            "symmetry": True, "bladder": True, "distal_arm": True, "off_skeleton": True}

#: (key, recorded value, what the line says after the path).
BAD_SETTINGS = [
    ("threshold", None, "settings.threshold must be a number in (0, 1], got null"),
    ("threshold", -3, "settings.threshold must lie in (0, 1], got -3"),
    ("threshold", 0, "settings.threshold must lie in (0, 1], got 0"),
    ("threshold", 1.5, "settings.threshold must lie in (0, 1], got 1.5"),
    ("threshold", math.nan, "settings.threshold must lie in (0, 1], got NaN"),
    ("threshold", "abc", 'settings.threshold must be a number in (0, 1], got "abc"'),
    ("threshold", "0.5", 'settings.threshold must be a number in (0, 1], got "0.5"'),
    ("threshold", True, "settings.threshold must be a number in (0, 1], got true"),
    ("min_area_px", "x", 'settings.min_area_px must be a whole number of pixels, at least 1, got "x"'),
    ("min_area_px", None, "settings.min_area_px must be a whole number of pixels, at least 1, got null"),
    ("min_area_px", 2.5, "settings.min_area_px must be a whole number of pixels, at least 1, got 2.5"),
    ("min_area_px", -1, "settings.min_area_px must be at least 1, got -1"),
    ("min_area_px", 0, "settings.min_area_px must be at least 1, got 0"),
    ("regions", "x", "settings.regions: unknown region method 'x' (choose from auto, learned, atlas)"),
    ("regions", None, "settings.regions must be text, got null"),
    ("tiling", "tiles", "settings.tiling: unknown tiling 'tiles' (choose from windows, one-pass)"),
    ("window", "chest", "settings.window: unknown window mode 'chest' (choose from whole, thoracic)"),
    ("window", ["whole"], 'settings.window must be text or null, got ["whole"]'),
    ("region_model", 3, "settings.region_model must be text or null, got 3"),
    ("spine_pattern_ratio", math.nan, "settings.spine_pattern_ratio: spine-pattern ratio nan is not a positive number"),
    ("spine_pattern_ratio", -1.0, "settings.spine_pattern_ratio: spine-pattern ratio -1.0 is not a positive number"),
    ("spine_pattern_ratio", "1.3", 'settings.spine_pattern_ratio must be a number, got "1.3"'),
    ("spine_pattern_ratio", True, "settings.spine_pattern_ratio must be a number, got true"),
    ("bladder", "no", 'settings.bladder must be true or false, got "no"'),
    ("symmetry", 0, "settings.symmetry must be true or false, got 0"),
]


def _write(folder: Path, report: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report))
    return folder


def _report(settings: object = None) -> dict:
    report = {"format": "scintiseg-report", "version": 1, "views": {"ANT": {}}}
    if settings is not None:
        report["settings"] = settings
    return report


def test_the_recorded_settings_are_read_back():
    path = Path("pred/report.json")
    settings = recorded_settings(_report({**RECORDED, "threshold": 0.3, "min_area_px": 9, "tiling": "one-pass",
                                          "bladder": False, "threshold_note": "ignored: no setting"}), path)
    assert settings == PredictSettings(threshold=0.3, min_area_px=9, window="whole", tiling="one-pass", bladder=False)
    assert recorded_settings(_report(), path) == PredictSettings()  # none recorded: predict's defaults
    assert recorded_settings(_report({"threshold": 1}), path).threshold == 1  # a whole number in range is a number


def test_a_report_written_before_the_later_settings_still_reads():
    """An earlier report records fewer settings (none of the reading rules'), and may hold a key that is no setting
    any more: the missing ones are predict's defaults, the others passed over (not PredictSettings.from_dict, which
    refuses an unknown key)."""
    earlier = {"threshold": 0.4, "min_area_px": 6, "window": "thoracic", "regions": "atlas", "old_setting": 3}
    settings = recorded_settings(_report(earlier), Path("old/report.json"))
    assert settings == PredictSettings(threshold=0.4, min_area_px=6, window="thoracic", regions="atlas")
    assert settings.spine_pattern and settings.bladder and settings.tiling == "windows"


@pytest.mark.parametrize("key, value, message", BAD_SETTINGS)
def test_a_bad_recorded_setting_is_one_line_naming_the_report_and_the_key(tmp_path, key, value, message):
    path = tmp_path / "pred" / "report.json"
    with pytest.raises(ScintisegError) as caught:
        recorded_settings(_report({**RECORDED, key: value}), path)
    assert str(caught.value) == f"{path}: {message}"


@pytest.mark.parametrize("settings, what", [([0.5, 4], "a list"), ("threshold=0.5", "text"), (None, "null"),
                                            (7, "a number")])
def test_settings_that_are_no_object_are_refused(tmp_path, settings, what):
    report = _report()
    report["settings"] = settings
    with pytest.raises(ScintisegError) as caught:
        recorded_settings(report, tmp_path / "report.json")
    assert str(caught.value) == f"{tmp_path / 'report.json'}: settings must be an object of predict's settings, got {what}"


@pytest.mark.parametrize("content, message", [
    (b"", "is empty, not a scintiseg report"),
    (b"  \n", "is empty, not a scintiseg report"),
    (b'{"format": "scintiseg-report", ', "is malformed JSON (Expecting property name enclosed in double quotes at "
                                         "line 1, column 32)"),
    (b"\xff\xfe{}", "is malformed (not UTF-8 text), not a scintiseg report"),
    (b"[1, 2]", "holds a list, not a scintiseg report's JSON object"),
    (b'"scintiseg-report"', "holds text, not a scintiseg report's JSON object"),
    (b'{"format": "someone-else"}', 'is not a scintiseg report (its "format" is "someone-else", not '
                                    '"scintiseg-report")'),
])
def test_a_report_that_is_there_but_no_scintiseg_report_says_what_it_is(tmp_path, content, message):
    (tmp_path / "report.json").write_bytes(content)
    with pytest.raises(ScintisegError) as caught:
        report_of(tmp_path)
    line = str(caught.value)
    assert line.startswith(f"{tmp_path / 'report.json'}: {message}") and "no scintiseg report.json here" not in line
    assert line.endswith("give the folder scintiseg predict wrote for one scan") and "\n" not in line
    # a batch lists the damaged ones as failed, and passes another program's JSON object over
    assert (damaged_report(tmp_path) is None) == content.startswith(b'{"format": "someone-else"')


def test_a_folder_without_a_report_and_a_good_report(tmp_path):
    with pytest.raises(ScintisegError, match="no scintiseg report.json here"):
        report_of(tmp_path)
    assert damaged_report(tmp_path) is None
    (tmp_path / "report.json").mkdir()  # a folder of that name: cannot be read
    with pytest.raises(ScintisegError) as caught:
        report_of(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'report.json'}: cannot be read (")
    good = _write(tmp_path / "good", _report(RECORDED))
    assert report_of(good)["settings"] == RECORDED and damaged_report(good) is None


def test_a_report_over_the_size_limit_is_refused_as_too_large(tmp_path):
    from scintiseg.report.predicted_again import REPORT_LIMIT

    (tmp_path / "report.json").write_bytes(b"{" + b" " * REPORT_LIMIT + b"}")
    with pytest.raises(ScintisegError, match="is larger than 16 MiB, too large for a scintiseg report"):
        report_of(tmp_path)


def test_a_report_of_another_epoch_or_weights_file_is_another_model():
    from scintiseg.report.predicted_again import same_model

    model = {"name": "unet", "model_config": "{'depth': 4}", "epoch": 40, "source": "/runs/a/best.pt"}
    assert same_model(model, {**model, "source": "/elsewhere/best.pt"})  # the same file moved
    assert not same_model(model, {**model, "epoch": 41})
    assert not same_model(model, {**model, "source": "/runs/a/last.pt"})
    assert not same_model(model, {**model, "model_config": "{'depth': 5}"})


@pytest.mark.parametrize("views", [5e-324, ["ANT"], "ANT"])
def test_a_report_whose_views_are_no_object_is_one_line(nm1_path, tmp_path, views):
    """bench_fuzz review:56 (seed 7312): ``views`` of 5e-324 ended a review with a TypeError traceback."""
    from scintiseg.report.predicted_again import predict_again

    report = _report(RECORDED) | {"views": views, "input": {"source": str(nm1_path), "views": ["ANT"],
                                                            "shape": [1024, 256], "pixel_spacing_mm": [2.26, 2.26]}}
    folder = _write(tmp_path / "odd", report)
    with pytest.raises(ScintisegError, match="its views are not an object of view names"):
        predict_again(folder)


def _reader_drawn(scan, network_lesion: bool):
    """``scan`` (NM1, one view) predicted with one reader's outline on ANT; the network's own mask holds that outline
    (``network_lesion``) or nothing."""
    import numpy as np

    from scintiseg.predict.pipeline import predict_from_probabilities

    mask = np.zeros(scan.shape, bool)
    mask[360:368, 146:154] = True
    prediction = predict_from_probabilities(scan, {"ANT": np.zeros(scan.shape, np.float32)},
                                            settings=PredictSettings(0.5, 4), reader_masks={"ANT": mask})
    found = mask.copy() if network_lesion else np.zeros(scan.shape, bool)
    return prediction, {"ANT": (found, np.zeros(scan.shape, bool))}


def _listed(prediction, origin: str | None = None) -> list[dict]:
    return [{"id": lesion.id, "view": lesion.view, "centroid_row": lesion.centroid_row,
             "centroid_col": lesion.centroid_col, **({"origin": origin} if origin else {})}
            for lesion in prediction.lesions]


def test_a_reviewed_folder_is_read_back_with_the_reading_its_report_states(nm1_scan, tmp_path):
    """Audit 74, finding 1: a folder read back carried no origins, so a reviewed follow-up's BSI in compare read each
    bone by the nearer-view rule where its signed report read a reader's outline from its own view. The report's
    origins and kept_alone are carried as listed, not told again: here the network's own mask holds the outline (told
    again it would be ``network``), and the report's ``reader`` is kept."""
    from scintiseg.report.predicted_again import reader_reading

    prediction, network = _reader_drawn(nm1_scan, network_lesion=True)
    (lesion,) = prediction.lesions
    report = {"lesions": _listed(prediction, "reader"), "review": {"reviewed": True, "kept_alone": [7]}}
    reading = reader_reading(report, prediction, network, tmp_path)
    assert reading == {"origin": {str(lesion.id): "reader"}, "kept_alone": ["7"]}
    assert "reader" not in reading  # the signer stays the report's: a comparison's SR is not the signed review


def test_an_edited_folder_is_told_against_the_network_and_an_unedited_prediction_is_the_networks(nm1_scan, tmp_path):
    """A folder whose LabelMe files no longer give the listed lesions gets the origins its review would state; a
    prediction as written (and a report listing no lesions) is the network's own reading, no review."""
    from scintiseg.report.predicted_again import reader_reading

    prediction, network = _reader_drawn(nm1_scan, network_lesion=False)
    (lesion,) = prediction.lesions
    edited = {"lesions": [], "review": {"reviewed": True}}  # reviewed with no lesion, then one drawn in place
    assert reader_reading(edited, prediction, network, tmp_path)["origin"] == {str(lesion.id): "reader"}
    assert reader_reading({"lesions": []}, prediction, network, tmp_path)["origin"] == {str(lesion.id): "reader"}
    drawn_over, kept = _reader_drawn(nm1_scan, network_lesion=True)
    assert reader_reading({"lesions": []}, drawn_over, kept, tmp_path)["origin"] == {str(lesion.id): "network"}
    assert reader_reading({"lesions": _listed(prediction)}, prediction, network, tmp_path) is None
    assert reader_reading({}, prediction, network, tmp_path) is None
