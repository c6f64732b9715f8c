"""``scintiseg.phantom.config``: the value rules of a phantom configuration (a YAML file of overrides laid over a
profile), each broken one a single line naming the file and the key (session 61: before, these reached numpy or the
anatomy as a traceback, or, for a probability of 2, were accepted)."""

import subprocess
import sys

import pytest

from scintiseg.errors import ScintisegError
from scintiseg.phantom import generate_patient, profile, profile_names
from scintiseg.phantom.config import profile_with

#: (override, words the one-line error must contain)
BROKEN = {
    "counts-reversed": ({"camera": {"counts": [4e6, 8e5]}}, "camera.counts is a range [low, high], and its low end"),
    "counts-zero": ({"camera": {"counts": [0, 0]}}, "camera.counts must be positive"),
    "pixel-negative": ({"camera": {"pixel_mm": -1}}, "camera.pixel_mm must lie in [0.5, 10] mm, got -1.0"),
    "rows-zero": ({"camera": {"rows": 0}}, "camera.rows must lie in [1, 4096], got 0"),
    "matrix-huge": ({"camera": {"rows": 100000, "cols": 100000}}, "camera.rows must lie in [1, 4096]"),
    "field-short": ({"camera": {"rows": 100}}, "a field 452 mm tall: a phantom patient needs at least 900 mm"),
    "height-reversed": ({"anatomy": {"height_mm": [1950, 1500]}}, "anatomy.height_mm is a range"),
    "height-tiny": ({"anatomy": {"height_mm": [10, 20]}}, "anatomy.height_mm must lie in [1000, 2400] mm"),
    "probability-two": ({"anatomy": {"p_thyroid": 2}}, "anatomy.p_thyroid is a probability, in [0, 1]; got 2.0"),
    "arms-none": ({"anatomy": {"arm_positions": {}}}, "anatomy.arm_positions must give each position a weight"),
    "arms-negative": ({"anatomy": {"arm_positions": {"sides": -1}}}, "anatomy.arm_positions must give"),
    "arms-unknown": ({"anatomy": {"arm_positions": {"flying": 1}}}, "unknown position(s) 'flying'"),
    "contrast-zero": ({"lesions": {"contrast": [0, 3]}}, "lesions.contrast must be positive"),
    "lookalike-contrast-zero": ({"lookalikes": {"contrast": [0, 2]}}, "lookalikes.contrast must be positive"),
    "lookalike-probability": ({"lookalikes": {"p_fracture": -0.1}}, "lookalikes.p_fracture is a probability"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_value_is_one_line_naming_the_file_and_the_key(name):
    change, words = BROKEN[name]
    with pytest.raises(ScintisegError) as error:
        profile("small").updated(change, path="overrides.yaml")
    message = str(error.value)
    assert message.startswith("overrides.yaml: ") and words in message and "\n" not in message, message


def test_every_profile_keeps_the_rules_and_the_limits_leave_room_for_a_real_camera():
    for name in profile_names():
        profile(name).validate()
    # a shorter field than the whole body (a 1024-row matrix at 0.9 mm), and the edges of the limits, still draw
    near = profile("small").updated({"camera": {"rows": 1000, "cols": 256, "pixel_mm": 0.9},
                                     "anatomy": {"height_mm": [1000, 1000]}})
    assert generate_patient(3, near).scan.view("ANT").shape == (1000, 256)


def test_a_configuration_is_read_and_checked_without_the_generator():
    """``scintiseg phantom --help`` and every reader of a profile import the configuration alone: the package loads
    the generator on first use (PEP 562), and the site groups a profile names are checked without the lesion module
    (phantom.sites; before, config imported lesions inside a function to avoid a cycle)."""
    code = ("import sys, scintiseg.phantom.config as config; config.profile('randomised-sites'); "
            "print(sorted(m for m in sys.modules if m in ('scintiseg.phantom.patient', 'scintiseg.phantom.cohort', "
            "'scintiseg.phantom.lesions', 'scintiseg.phantom.anatomy'))); "
            "import scintiseg.phantom as phantom; print(phantom.generate_patient.__module__, phantom.write_cohort.__module__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["[]", "scintiseg.phantom.patient scintiseg.phantom.cohort"]


def test_the_training_overrides_in_scripts_load_onto_the_data_set_profile():
    """scripts/phantom_lower_legs.yaml (scripts/gpu_sweep.sh's DATA_CONFIG) lays lesions beyond the knee and hands on
    the thighs over ``randomised-sites``, and nothing else."""
    from dataclasses import replace
    from pathlib import Path

    from scintiseg.config import read_yaml

    path = Path(__file__).resolve().parents[2] / "scripts" / "phantom_lower_legs.yaml"
    base = profile("randomised-sites")
    config = base.updated(read_yaml(path), path=path)
    assert config.lesions.extra_sites == {"tibia": 0.05, "fibula": 0.015}
    assert config.anatomy.arm_positions["thighs"] == 0.15
    assert sum(config.anatomy.arm_positions.values()) == pytest.approx(1.0)
    assert config.camera == base.camera and config.lookalikes == base.lookalikes
    assert replace(config.anatomy, arm_positions=base.anatomy.arm_positions) == base.anatomy
    assert replace(config.lesions, extra_sites=base.lesions.extra_sites) == base.lesions


def test_profile_with_lays_a_yaml_over_the_named_profile_and_names_a_bad_file(tmp_path):
    assert profile_with("small") == profile_with("small", "") == profile("small")
    poses = tmp_path / "poses.yaml"
    poses.write_text("anatomy:\n  arm_positions: {thighs: 1.0}\n")
    laid = profile_with("small", poses)
    assert laid.anatomy.arm_positions == {"thighs": 1.0} and laid.camera == profile("small").camera
    with pytest.raises(ScintisegError, match=r"nowhere\.yaml: cannot read"):
        profile_with("small", tmp_path / "nowhere.yaml")
