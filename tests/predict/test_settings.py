"""PredictSettings (:mod:`scintiseg.predict.settings`): a typed configuration whose defaults and choices are the
pipeline's, refused values one line each, the six ``predict`` flags built from its fields, and a light module."""

import argparse
import dataclasses
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from scintiseg.cli import build_parser
from scintiseg.config import Config, from_args
from scintiseg.errors import ScintisegError
from scintiseg.predict import postprocess, spine_pattern, windows
from scintiseg.predict.pipeline import PredictSettings as FromPipeline
from scintiseg.predict.settings import REGION_METHODS, PredictSettings


def test_the_defaults_and_choices_are_the_ones_the_pipeline_owns():
    """Written in the light module (predict --help imports no NumPy), they must stay the owners' values."""
    settings = PredictSettings()
    assert settings.threshold == postprocess.DEFAULT_THRESHOLD and settings.min_area_px == postprocess.DEFAULT_MIN_AREA_PX
    assert settings.tiling == windows.DEFAULT_TILING and settings.spine_pattern_ratio == spine_pattern.PATTERN_RATIO
    choices = {item.name: item.metadata.get("choices") for item in dataclasses.fields(PredictSettings)}
    assert choices["window"] == windows.WINDOW_MODES and choices["tiling"] == windows.TILINGS
    assert choices["regions"] == REGION_METHODS == ("auto", "learned", "atlas")


def test_it_is_a_typed_configuration_still_importable_from_the_pipeline():
    assert FromPipeline is PredictSettings and issubclass(PredictSettings, Config)
    assert PredictSettings(window=None).window is None  # an optional field takes None whatever its choices
    # report.json's settings: the same keys, in the same order, as before the typed-config base
    assert list(PredictSettings().to_dict()) == [
        "threshold", "min_area_px", "window", "regions", "region_model", "tiling", "crop_level", "spine_pattern",
        "spine_pattern_ratio", "symmetry", "bladder", "distal_arm", "off_skeleton"]


def test_an_unknown_tiling_in_the_settings_is_one_error():
    with pytest.raises(ScintisegError, match=r"^unknown tiling 'tiles' \(choose from windows, one-pass\)$"):
        PredictSettings(tiling="tiles")
    with pytest.raises(ScintisegError, match=r"^unknown window mode 'chest' \(choose from whole, thoracic\)$"):
        PredictSettings(window="chest")
    with pytest.raises(ScintisegError, match=r"^unknown region method 'x' \(choose from auto, learned, atlas\)$"):
        PredictSettings(regions="x")


@pytest.mark.parametrize("ratio", [0.0, -1.2, float("nan"), float("inf")])
def test_a_spine_pattern_ratio_that_is_no_positive_number_is_one_error(ratio):
    with pytest.raises(ScintisegError, match="spine-pattern ratio"):
        PredictSettings(spine_pattern_ratio=ratio)
    assert PredictSettings().spine_pattern_ratio == 1.3 and PredictSettings(spine_pattern_ratio=1.1).to_dict()["spine_pattern_ratio"] == 1.1


@pytest.mark.parametrize("changes, said", [
    ({"threshold": -3}, "threshold must lie in (0, 1], got -3"),
    ({"threshold": 0}, "threshold must lie in (0, 1], got 0"),  # every pixel a lesion
    ({"threshold": float("nan")}, "threshold must lie in (0, 1], got nan"),
    ({"threshold": None}, "threshold must be a number in (0, 1], got None"),
    ({"min_area_px": 2.5}, "min_area_px must be a whole number of pixels, at least 1, got 2.5"),
    ({"min_area_px": 0}, "min_area_px must be at least 1, got 0"),
])
def test_settings_out_of_range_are_refused_where_they_are_made(changes, said):
    """The rules `predict --threshold / --min-area` and a report read back follow (a threshold of -3 failed deep in
    the post-processing, 2.5 pixels passed; session 61)."""
    with pytest.raises(ScintisegError, match=f"^{re.escape(said)}$"):
        PredictSettings(**changes)
    assert PredictSettings(threshold=1, min_area_px=np.int64(3)).min_area_px == 3  # a whole number, any integer type


def _parsed(*argv: str) -> argparse.Namespace:
    return build_parser("predict").parse_args(["predict", "scan.dcm", "--out", "o", *argv])


@pytest.mark.parametrize("engine, runs", [("torch", "torch"), ("onnx", "onnx"), ("onnx-int8", "onnx"), ("?", "torch")])
def test_the_region_network_runs_in_float_with_the_lesion_models_runtime(monkeypatch, engine, runs):
    from scintiseg.predict import region_model

    monkeypatch.setattr(region_model, "load_region_model", lambda path, engine: (path, engine))
    assert PredictSettings(regions="learned").region_network(engine) == (None, runs)


def test_learned_regions_are_loaded_even_without_a_shipped_region_network(monkeypatch, tmp_path):
    """Asked for (``--regions learned``), a missing region network is load_region_model's error, not the atlas."""
    from scintiseg.predict import region_model

    monkeypatch.setattr(region_model, "SHIPPED_REGION_WEIGHTS", tmp_path / "none.pt")
    monkeypatch.setattr(region_model, "load_region_model", lambda path, engine: "loaded")
    assert PredictSettings(regions="learned").region_network() == "loaded"
    assert PredictSettings(regions="auto").region_network() is None
    assert PredictSettings(regions="atlas").region_network() is None


def test_the_flags_are_the_six_settings_predict_had():
    parser = build_parser("predict")
    predict = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["predict"]
    flags = {flag for action in predict._actions for flag in action.option_strings}
    assert {"--threshold", "--min-area", "--window", "--regions", "--region-model", "--tiling"} <= flags
    # the reading rules' switches are for measuring them (benchmarks), not flags
    assert not {"--min-area-px", "--crop-level", "--spine-pattern", "--bladder", "--symmetry", "--off-skeleton",
                "--distal-arm", "--spine-pattern-ratio"} & flags
    assert from_args(PredictSettings, _parsed()) == PredictSettings()
    given = from_args(PredictSettings, _parsed("--threshold", "0.3", "--min-area", "9", "--window", "thoracic",
                                               "--tiling", "one-pass", "--regions", "atlas"))
    assert given == PredictSettings(threshold=0.3, min_area_px=9, window="thoracic", tiling="one-pass", regions="atlas")


@pytest.mark.parametrize("argv, said", [
    (["--threshold", "1.5"], "--threshold must lie in (0, 1], got 1.5"),
    (["--threshold", "nan"], "--threshold must lie in (0, 1], got nan"),
    (["--min-area", "0"], "--min-area must be at least 1, got 0"),
])
def test_a_flag_out_of_range_is_one_line_naming_the_flag(argv, said):
    with pytest.raises(ScintisegError) as caught:
        from_args(PredictSettings, _parsed(*argv), name_flags=True)  # as predict reads them
    assert str(caught.value) == said


@pytest.mark.parametrize("argv, said", [
    (["--threshold", "abc"], "argument --threshold: invalid float value: 'abc'"),
    (["--min-area", "2.5"], "argument --min-area: invalid int value: '2.5'"),
    (["--window", "chest"], "argument --window: invalid choice: 'chest'"),
])
def test_a_flag_that_is_no_number_or_choice_is_argparses_usage_error(argv, said, capsys):
    with pytest.raises(SystemExit) as stopped:
        _parsed(*argv)
    assert stopped.value.code == 2 and said in capsys.readouterr().err


def test_the_settings_module_imports_no_numpy():
    """predict --help builds its flags from it."""
    code = "import sys, scintiseg.predict.settings; print(json.dumps(sorted({'numpy', 'yaml'} & set(sys.modules))))"
    result = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_an_unknown_keyword_is_one_line_naming_the_nearest_field_and_the_signature_stays():
    """API audit 74, finding 16: ``PredictSettings(thresh=0.5)`` raised the dataclass's bare TypeError (``from_dict``
    already named the key); so did ``dataclasses.replace`` with one."""
    import inspect

    with pytest.raises(ScintisegError, match=r"^unknown prediction settings keys: thresh \(did you mean threshold\?\); "
                                             r"PredictSettings takes threshold, min_area_px, window, "):
        PredictSettings(thresh=0.5)
    with pytest.raises(ScintisegError, match=r"keys: min_area, nope \(did you mean min_area_px\?\)"):
        dataclasses.replace(PredictSettings(), min_area=3, nope=1)
    assert list(inspect.signature(PredictSettings).parameters)[:2] == ["threshold", "min_area_px"]
    assert PredictSettings(threshold=0.3, min_area_px=2) == PredictSettings.from_dict({"threshold": 0.3, "min_area_px": 2})
