"""Tests of :mod:`scintiseg.train.adapt_config`: the settings of ``scintiseg adapt`` and their defaults, the share's
range, the file they are kept in, and that the module stays light.

Elsewhere: tests/cli/test_adapt.py (one flag per setting, ``--alpha``'s default, the one-line errors of ``share``
at 1 and NaN, of ``alpha``, ``seed`` and ``device``), tests/train/test_adapt.py (the settings laid over a model's
recipe).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from scintiseg.errors import ScintisegError
from scintiseg.phantom.config import profile_names
from scintiseg.train.adapt_config import (
    EPOCHS,
    FALLBACK_PROFILE,
    LEARNING_RATE,
    POOL_PATIENTS,
    SITE_SHARE,
    VAL_PATIENTS,
    AdaptSettings,
)


def test_the_defaults_are_the_modules_constants_and_a_fresh_box_list_each_time():
    settings = AdaptSettings()
    assert (settings.epochs, settings.lr, settings.share) == (EPOCHS, LEARNING_RATE, SITE_SHARE)
    assert (settings.pool_patients, settings.val_patients) == (POOL_PATIENTS, VAL_PATIENTS)
    assert SITE_SHARE == 0.5  # one site window per phantom window (train/unlabelled.py, "The mix")
    assert (settings.normals, settings.boxes, settings.synthetic, settings.include_test) == ("", [], "", False)
    assert (settings.alpha, settings.freeze_norm, settings.device, settings.progress) == (0.4, False, "auto", True)
    assert AdaptSettings().boxes is not settings.boxes


def test_the_fallback_profile_is_one_the_phantom_has():
    assert FALLBACK_PROFILE in profile_names()


@pytest.mark.parametrize("share", [0.0, 0.25, 0.999])
def test_a_share_in_0_to_1_excluded_is_accepted(share):
    assert AdaptSettings(share=share).share == share


@pytest.mark.parametrize("share", [-0.01, -1.0, 1.0, 1.5, float("inf"), float("-inf")])
def test_a_share_outside_0_to_1_excluded_is_refused_naming_the_flag(share):
    with pytest.raises(ScintisegError) as caught:
        AdaptSettings(share=share)
    assert str(caught.value) == f"--share must lie in [0, 1), got {share}"


@pytest.mark.parametrize("changes, said", [
    ({"lr": float("inf")}, "--lr must be a finite number, got inf"),
    ({"pool_patients": float("nan")}, "--pool-patients must be a finite number, got nan"),
    ({"seed": 2**32}, "--seed must be a whole number from 0 to 4294967295, got 4294967296"),
])
def test_other_impossible_values_are_named_by_their_flag(changes, said):
    with pytest.raises(ScintisegError) as caught:
        AdaptSettings(**changes)
    assert str(caught.value) == said


def test_only_progress_has_no_flag():
    fields = dataclasses.fields(AdaptSettings)
    assert [f.name for f in fields if f.metadata.get("flags") == ()] == ["progress"]
    assert {f.name: f.metadata.get("repeat", False) for f in fields}["boxes"] is True  # one folder per --boxes


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_settings_round_trip_through_a_file(tmp_path, suffix):
    settings = AdaptSettings(normals="site/normals", boxes=["a,b", "c"], include_test=True, epochs=3, alpha=0.0,
                             share=0.25, lr=3e-5, synthetic="small", freeze_norm=True, seed=9, device="cpu",
                             progress=False)
    path = tmp_path / f"adapt.{suffix}"
    getattr(settings, f"save_{suffix}")(path)
    assert getattr(AdaptSettings, f"from_{suffix}")(path) == settings


def test_a_file_with_an_unknown_key_or_a_bad_share_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "adapt.yaml"
    path.write_text("shares: 0.1\n")
    with pytest.raises(ScintisegError, match=r"adapt\.yaml: unknown adaptation settings keys: shares$"):
        AdaptSettings.from_yaml(path)
    path.write_text("share: 1.0\n")
    with pytest.raises(ScintisegError, match=r"--share must lie in \[0, 1\), got 1\.0"):
        AdaptSettings.from_yaml(path)


def test_the_module_imports_no_torch():
    """``scintiseg adapt --help`` builds its flags from these settings: no torch (the module docstring)."""
    code = "import sys, scintiseg.train.adapt_config; print(sorted({'torch', 'monai', 'matplotlib'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
