"""``scintiseg demo`` at a tiny scale: every step runs, the report links only files that exist, reruns resume.

The tiny run uses the default ``synthetic`` recipe with the fast ``small`` training profile: 2 test patients,
2 generated training patients per epoch (one replaced), 1 validation patient, 2 epochs, 128 x 128 windows.
"""

import json
import os
import re
import shlex
from pathlib import Path

import pytest

from scintiseg.cli import main
from support import REAL_NM1 as REAL_SCAN

TINY = ["--patients", "2", "--epochs", "2", "--pool-patients", "2", "--refresh", "0.5", "--windows-per-view", "1",
        "--val-patients", "1", "--train-profile", "small", "--width", "4", "--size", "128", "--batch-size", "2",
        "--workers", "1", "--threads", "1", "--generator-workers", "0", "--no-progress"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The tiny demo, run from a folder outside the repository with the default real scan (if present)."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    real = [] if REAL_SCAN.is_file() else ["--real", ""]
    cwd = os.getcwd()
    os.chdir(out.parent)  # the default real scan is found through the package, not the working directory
    try:
        code = main(["demo", "--out", str(out), *real, *TINY])
    finally:
        os.chdir(cwd)
    return out, code


def test_demo_writes_report_with_both_models_and_existing_pictures(demo_run, capsys):
    out, code = demo_run
    assert code == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "not a clinical device" in report and "synthetic" in report.lower()
    rows = [line for line in report.splitlines() if line.startswith("| DPU-Net") or line.startswith("| U-Net")]
    assert len(rows) == 2  # both networks side by side
    assert "0.6414" in report and "0.6086" in report  # paper A's DSC of both rows, for context
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert any("learning_curves" in link for link in links)
    assert any("/overlays/best_1_" in link for link in links)
    assert any(link.startswith("figures/phantom_") for link in links)
    for link in links:
        assert (out / link).is_file(), link
    state = json.loads((out / "demo.json").read_text(encoding="utf-8"))
    for key in ("dpunet", "unet"):
        dsc = state["metrics"][key]["pooled"]["dsc"]
        assert dsc is None or 0.0 <= dsc <= 1.0
        assert state["runs"][key]["epochs_run"] == 2
        assert state["metrics"][key]["images"] == 2  # every cohort patient's crop is a test image
    # 2 patients in the first pool + 1 new one in epoch 2; the cohort is test data only
    assert state["runs"]["data"] == {"recipe": "synthetic", "train": 3, "val": 1, "test": 2}
    splits = json.loads((out / "crops" / "splits.json").read_text(encoding="utf-8"))
    assert splits["train"] == [] and sorted(splits["test"]) == ["PH0001", "PH0002"]
    # DPU-Net minus U-Net on the same 2 test crops: the table, but no verdict from 2 patients
    assert state["comparison"]["images"] == 2 and "| metric | DPU-Net | U-Net |" in report
    assert {m["verdict"] for m in state["comparison"]["metrics"]} == {"too few patients"}
    assert "within run-to-run spread" not in report
    assert (out / "dpunet" / "config.yaml").is_file() and (out / "unet" / "checkpoints" / "best.pt").is_file()
    phantom = state["predictions"]["phantom"]
    assert (Path(phantom["folder"]) / "report.json").is_file()
    assert phantom["window"] == "whole" and "not predicted" not in phantom["caption"]
    assert "recipe `synthetic`" in report and "are not predicted" not in report
    if REAL_SCAN.is_file():
        real = state["predictions"]["real scan"]
        assert "skipped" not in real and real["overlays"] and Path(real["overlays"][0]).is_file()
        assert Path(state["predictions"]["shipped-real scan"]["overlays"][0]).is_file()
    # The same held-out patient through the shipped model, what `scintiseg predict` runs: both views, its weights.
    shipped = state["predictions"]["shipped-phantom"]
    shipped_report = json.loads((Path(shipped["folder"]) / "report.json").read_text(encoding="utf-8"))
    assert Path(shipped_report["model"]["source"]).name == "phantom_lesions.pt"
    assert set(shipped_report["views"]) == {"ANT", "POST"} and shipped["folder"] != phantom["folder"]
    assert any(link.startswith("figures/shipped-phantom_") for link in links)
    assert "Model: the shipped model" in report and "Model: DPU-Net" in report
    # A reader who knows the truth corrects the shipped model's outlines; scintiseg review writes the report again.
    reviewed = state["predictions"]["reviewed phantom"]
    reviewed_report = json.loads((Path(reviewed["folder"]) / "report.json").read_text(encoding="utf-8"))
    assert reviewed_report["review"]["reviewed"] and Path(reviewed["edited"]).is_dir()
    assert {lesion["origin"] for lesion in reviewed_report["lesions"]} <= {"network", "restored", "edited", "reader"}
    case = Path(shipped["folder"]).name.removeprefix("shipped-phantom-")
    from scintiseg.io.images import read_mask_png  # lazy: this test only

    for view in ("ANT", "POST"):  # the reviewed mask is the phantom's truth, pixel for pixel
        truth = read_mask_png(out / "phantom" / "masks" / f"{case}_{view}.png").astype(bool)
        assert (read_mask_png(Path(reviewed["folder"]) / f"{view}_mask.png").astype(bool) == truth).all()
    assert "scintiseg review" in report and reviewed["title"] in report
    if REAL_SCAN.is_file():  # NM1 three months later, with lesions inserted, read against the first scan
        follow = state["predictions"]["follow-up real scan"]
        record = json.loads((Path(follow["compared"]) / "comparison.json").read_text(encoding="utf-8"))
        assert record["interval_days"] == 91 and record["summary"]["new_lesions"] >= 1
        assert record["summary"]["bsi_change_points"] > 0 and (Path(follow["compared"]) / "comparison.html").is_file()
        assert record["views"]["ANT"]["registration"]["method"] == "regions" and record["dicom"]["sr"] == "sr.dcm"
        assert record["dicom"]["gsps"] == "gsps.dcm"
        page = Path(follow["series"])  # six months later too: the three scans read together
        assert page.name.endswith("series.html") and page.read_text(encoding="utf-8").count("<circle") == 3
        rows = (page.parent / "summary.csv").read_text(encoding="utf-8").splitlines()
        assert len(rows) == 3 and all(",compared," in row for row in rows[1:])
        assert "scintiseg compare" in report and follow["title"] in report


def test_report_counts_as_the_outputs_do_and_its_repeat_command_runs(demo_run, capsys):
    out, code = demo_run
    assert code == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    state = json.loads((out / "demo.json").read_text(encoding="utf-8"))
    for name in ("shipped-phantom", "reviewed phantom"):  # the distinct lesions, as report.html and the SR count them
        info = state["predictions"][name]
        summary = json.loads((Path(info["folder"]) / "report.json").read_text(encoding="utf-8"))["summary"]
        assert info["lesions"] == summary["distinct_lesion_count"]
        assert info["lesions_by_view"] == summary["lesion_count_by_view"] and info["pairs"] == summary["pair_count"]
        by_view = ", ".join(f"{view} {count}" for view, count in summary["lesion_count_by_view"].items())
        assert f"{summary['distinct_lesion_count']} distinct lesion(s) " in report and f"({by_view}; " in report
    assert "deletes every call" not in report and "no longer hold its dashed shape" in report
    assert "`empty_image_rule`" in report and "| training loop |" in report
    assert "trained on the CPU" in report or "trained on a CUDA GPU" in report
    for key in ("dpunet", "unet"):  # 2 test images: never the same image as best and as worst
        names = [p.name.split("_", 2)[2] for p in (out / key / "eval-test" / "overlays").glob("*.png")]
        assert len(names) == len(set(names))
    command = shlex.split(report.split("Repeat with `", 1)[1].split("`", 1)[0])
    assert command[:4] == ["scintiseg", "demo", "--out", str(out)] and "--train-profile" in command
    capsys.readouterr()
    assert main(command[1:]) == 0  # the folder's own settings: not refused, every finished step skipped
    assert capsys.readouterr().out.count("(skipped)") == 4


def test_rerun_skips_finished_steps_and_reports_missing_real_scan(demo_run, capsys):
    out, code = demo_run
    assert code == 0
    capsys.readouterr()
    checkpoint = out / "dpunet" / "checkpoints" / "last.pt"
    before = checkpoint.stat().st_mtime_ns
    assert main(["demo", "--out", str(out), "--real", str(out / "no-such-scan.dcm"), *TINY]) == 0
    printed = capsys.readouterr().out
    assert printed.count("(skipped)") == 4  # phantom, crop, both trainings
    assert "real scan: skipped" in printed and "report:" in printed
    assert checkpoint.stat().st_mtime_ns == before  # not retrained
    assert "**real scan:** skipped" in (out / "report.md").read_text(encoding="utf-8")


def test_networks_trained_on_generated_windows_and_predict_the_whole_view(demo_run):
    from scintiseg.models.checkpoint import load_checkpoint  # lazy: torch, for this test only

    out, _ = demo_run
    for key in ("dpunet", "unet"):
        state = load_checkpoint(out / key / "checkpoints" / "best.pt")
        assert state["config"]["synthetic"] == "small" and state["config"]["normalisation"] == "robust"
        assert state["data"]["window"] == "whole" and state["data"]["pixel_mm"] == 2.26
        assert state["data"]["window_size"] == 128
        assert not (out / key / "split.json").exists()  # nothing of the cohort was trained on
    folders = sorted((out / "predict").glob("phantom-*"))
    assert len(folders) == 1
    report = json.loads((folders[0] / "report.json").read_text(encoding="utf-8"))
    assert report["settings"]["window"] == "whole" and report["model"]["pixel_mm"] == 2.26


def test_other_settings_in_the_same_folder_is_a_one_line_error(demo_run, capsys):
    out, _ = demo_run
    capsys.readouterr()
    assert main(["demo", "--out", str(out), "--patients", "3", *TINY[2:]]) == 2
    error = capsys.readouterr().err.strip()
    assert "other settings (patients)" in error and len(error.splitlines()) == 1


def test_impossible_size_is_rejected_before_any_work(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "d"), "--size", "100"]) == 2
    assert "--size" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def _settings(*argv: str):
    """The :class:`DemoSettings` ``scintiseg demo ARGV`` resolves (nothing runs)."""
    from scintiseg.cli import build_parser
    from scintiseg.config import from_args
    from scintiseg.experiments.demo import DemoSettings

    return from_args(DemoSettings, build_parser("demo").parse_args(["demo", *argv]))


def test_every_setting_is_a_flag_and_the_tiny_demo_resolves_as_before():
    from scintiseg.experiments.demo import DemoSettings

    assert _settings() == DemoSettings()
    assert _settings("--out", "runs/tiny/", "--real", "scan.dcm", "--seed", "5", *TINY) == DemoSettings(
        out="runs/tiny", real_scan="scan.dcm", seed=5, patients=2, epochs=2, pool_patients=2, refresh=0.5,
        windows_per_view=1, val_patients=1, train_profile="small", width=4, size=128, batch_size=2, workers=1,
        threads=1, generator_workers=0, progress=False)
    assert _settings("--recipe", "crops") == DemoSettings(recipe="crops")  # the recipe's patients and epochs


def test_the_repeat_command_of_any_settings_reads_back_as_those_settings():
    """The report's "Repeat with" line (DemoSettings.command) is read by these flags."""
    import shlex

    from scintiseg.experiments.demo import DemoSettings

    for settings in (DemoSettings(), DemoSettings(out="runs/my demo", recipe="crops", epochs=3, augment=False, lr=5e-4,
                                                   head_prior=0.0, test_fraction=0.25, real_scan="scans/other scan.dcm"),
                     DemoSettings(patients=2, epochs=2, pool_patients=2, refresh=0.5, windows_per_view=1, val_patients=1,
                                  train_profile="small", width=4, depth=2, size=128, batch_size=2, pixel_mm=4.52)):
        words = shlex.split(settings.command())
        assert words[:2] == ["scintiseg", "demo"]
        assert _settings(*words[2:]).fingerprint() == settings.fingerprint()


@pytest.mark.parametrize("argv, said", [
    (["--lr", "nan"], "--lr must be a finite number, got nan"),
    (["--refresh", "1.5"], "--refresh has an impossible value: 1.5"),
    (["--recipe", "crops", "--patients", "4"], "--patients must be at least 5 (train, validation and test need "
                                                "patients), got 4"),
])
def test_impossible_flags_are_one_line_naming_the_flag(argv, said):
    from scintiseg.errors import ScintisegError

    with pytest.raises(ScintisegError) as caught:
        _settings(*argv)
    assert str(caught.value) == said


@pytest.mark.parametrize("argv, said", [
    (["--patients", "abc"], "argument --patients: invalid int value: 'abc'"),
    (["--recipe", "nets"], "argument --recipe: invalid choice: 'nets'"),
    (["--seed", "1.5"], "argument --seed: not a whole number: '1.5'"),
])
def test_a_flag_that_is_no_number_or_choice_is_argparses_usage_error(argv, said, capsys):
    with pytest.raises(SystemExit) as stopped:
        _settings(*argv)
    assert stopped.value.code == 2 and said in capsys.readouterr().err
