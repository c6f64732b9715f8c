"""The demo's report.md: lesion counts, the repeat command, the per-image rule, the training times and device, and the
best/worst caption, and the paired comparison of the two networks (a table, or one line saying why there is none),
from a made-up state (no training)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from scintiseg.errors import ScintisegError
from scintiseg.experiments.demo.comparison import compare_networks
from scintiseg.experiments.demo.markdown import lesion_free_images, lesion_sentence, report_markdown, what_was_done
from scintiseg.experiments.demo.settings import DemoSettings
from scintiseg.experiments.demo.state import DemoState
from support import per_case_row, write_per_case

RULE = "an image with no lesion and no prediction scores 1 on every per-image metric"


def _metrics() -> dict:
    return {"pooled": {"dsc": 0.1, "recall": 0.1, "cpa": 0.1, "iou": 0.05}, "per_image": {"dsc": 0.2},
            "detection": {"sensitivity": 0.2, "fp_per_image": 1.0}, "images": 3, "empty_image_rule": RULE}


def _state(predictions: dict | None = None, devices: dict | None = None) -> DemoState:
    state = DemoState(settings={"cpus": 2})
    for key, seconds in (("dpunet", 498.0), ("unet", 213.0)):
        state.metrics[key] = _metrics()
        state.runs[key] = {"parameters": 10, "best_epoch": 1, "seconds": seconds}
    state.runs["device"] = devices if devices is not None else {"dpunet": {"device": "cpu"}, "unet": {"device": "cpu"}}
    state.timings = {"train dpunet": 517.0, "train unet": 228.0}
    state.predictions = predictions or {}
    return state


def _shipped(**extra) -> dict:
    return {"title": "PH0003, the shipped model", "model": "the shipped model", "whole": True, "folder": "/x/f",
            "lesions": 13, "lesions_by_view": {"ANT": 5, "POST": 11}, "pairs": 3, "bsi": 1.16, "covered": 100.0,
            "qc_flags": [], **extra}


def test_lesion_count_is_the_distinct_lesions_with_each_view_not_the_busiest_view(tmp_path):
    text = report_markdown(DemoSettings(out=str(tmp_path)), _state({"shipped-phantom": _shipped()}), tmp_path, {})
    assert "13 distinct lesion(s) predicted (ANT 5, POST 11; 3 seen in both views, each counted once)" in text
    assert "11 lesion(s) predicted" not in text
    review = lesion_sentence({"lesions": 20, "lesions_by_view": {"ANT": 12, "POST": 19}, "pairs": 11}, "after the review")
    assert review.startswith("20 distinct lesion(s) after the review (ANT 12, POST 19;")
    assert lesion_sentence({"lesions": 4, "lesions_by_view": {"ANT": 4}, "pairs": 0}, "predicted") == (
        "4 lesion(s) predicted (ANT, the scan's only view)")


def test_a_predictions_draft_findings_are_quoted_as_its_report_gives_them(tmp_path):
    """Session 73: the real scan's draft in words (report.json ``summary.findings_text``) shown under its picture."""
    draft = {"note": "Machine-written draft.", "findings": ["Lumbar spine: 1 lesion (#1: focal)."],
             "impression": "1 distinct lesion in 1 region (Lumbar spine)."}
    text = report_markdown(DemoSettings(out=str(tmp_path)), _state({"real": _shipped(draft=draft)}), tmp_path, {})
    assert ("Draft findings (report.json `summary.findings_text`; Machine-written draft.):\n\n"
            "> Lumbar spine: 1 lesion (#1: focal).\n>\n> **Impression.** 1 distinct lesion in 1 region (Lumbar spine).") in text
    assert "Draft findings" not in report_markdown(DemoSettings(out=str(tmp_path)), _state({"real": _shipped()}),
                                                   tmp_path, {})


@pytest.mark.parametrize("settings", [
    DemoSettings(out="runs/d", patients=2, epochs=2, pool_patients=2, refresh=0.5, windows_per_view=1, val_patients=1,
                 train_profile="small", width=4, size=128, batch_size=2, generator_workers=0, threads=1),
    DemoSettings(out="runs/my demo", recipe="crops", epochs=3, augment=False, lr=5e-4, real_scan="scans/other scan.dcm"),
    DemoSettings(out="runs/demo"),
])
def test_repeat_command_gives_the_settings_the_folder_was_made_with(settings, tmp_path, monkeypatch):
    from scintiseg.cli import demo as demo_cli  # lazy: the CLI module, for this test only
    from scintiseg.cli import main  # lazy: the CLI, for this test only

    text = report_markdown(settings, _state(), tmp_path, {})
    command = text.split("Repeat with `", 1)[1].split("`", 1)[0]
    words = shlex.split(command)
    assert words[:2] == ["scintiseg", "demo"]
    seen = []
    monkeypatch.setattr(demo_cli, "run_demo", lambda given: seen.append(given) or Path(given.out) / "report.md")
    assert main(words[1:]) == 0
    assert seen[0].fingerprint() == settings.fingerprint()  # what check_fingerprint compares: not refused
    assert seen[0].out == settings.out and seen[0].real_scan == settings.real_scan


def test_per_image_rule_and_lesion_free_images_are_stated(tmp_path):
    per_case = tmp_path / "dpunet" / "eval-test" / "per_case.csv"
    per_case.parent.mkdir(parents=True)
    per_case.write_text("case_id,patient_id,dsc,lesion_pixels\nA,A,0.5,10\nB,B,1.0,0\nC,C,0.0,0\n", encoding="utf-8")
    text = report_markdown(DemoSettings(out=str(tmp_path)), _state(), tmp_path, {})
    assert f"`empty_image_rule`: {RULE}" in text and "2 of them without lesion pixels" in text


def test_both_training_times_say_what_they_time(tmp_path):
    text = report_markdown(DemoSettings(out=str(tmp_path)), _state(), tmp_path, {})
    header = next(line for line in text.splitlines() if line.startswith("| network |"))
    assert "| training loop |" in header and "train time" not in header
    assert "| 498 s |" in text and "| train dpunet | 517 |" in text
    assert "the Run table's train rows time the whole step, which also generates the first pool" in text


def test_training_line_names_the_device_the_run_used():
    gpu = {"device": "cuda:0", "name": "NVIDIA H100"}
    line = what_was_done(DemoSettings(), {}, {"dpunet": gpu, "unet": gpu})[-1]
    assert "trained on a CUDA GPU (NVIDIA H100)" in line and "CPU" not in line
    cpu = what_was_done(DemoSettings(), {}, {"dpunet": {"device": "cpu"}, "unet": {"device": "cpu"}})[-1]
    assert "trained on the CPU" in cpu
    mixed = what_was_done(DemoSettings(), {}, {"dpunet": gpu, "unet": None})[-1]
    assert "DPU-Net on a CUDA GPU (NVIDIA H100), U-Net (device not recorded)" in mixed
    assert "training device not recorded" in what_was_done(DemoSettings(), {}, {})[-1]


def test_overlay_caption_says_when_too_few_images_for_a_distinct_worst(tmp_path):
    pictures = [tmp_path / "best_1_A.png", tmp_path / "best_2_B.png"]
    text = report_markdown(DemoSettings(out=str(tmp_path)), _state(), tmp_path, {"overlays_dpunet": pictures})
    assert "too few to show 2 worst apart from the 2 best, so no worst is shown" in text
    full = pictures + [tmp_path / "worst_1_C.png", tmp_path / "worst_2_D.png"]
    assert "too few" not in report_markdown(DemoSettings(out=str(tmp_path)), _state(), tmp_path, {"overlays_dpunet": full})


@pytest.mark.parametrize("content", [b"case_id,lesion_pixels\nA,12a\n", b"case_id,lesion_pixels\nA,\xff\xfe\n"])
def test_a_damaged_per_case_csv_is_one_line_naming_it(tmp_path, content):
    """Session 66: a per_case.csv left by an earlier demo with a value cut or not UTF-8 ended the report in a
    ValueError / UnicodeDecodeError traceback."""
    per_case = tmp_path / "per_case.csv"
    per_case.write_bytes(content)
    with pytest.raises(ScintisegError) as error:
        lesion_free_images(per_case)
    assert str(error.value).startswith(f"{per_case}: not an evaluation's per-case scores")
    assert "\n" not in str(error.value)


def test_metrics_table_has_each_networks_scores_in_their_columns_and_its_own_paper_row(tmp_path):
    from scintiseg.experiments.demo.settings import MODEL_TITLES, PAPER_A_ROWS
    from scintiseg.experiments.specs import PAPER_A_TABLE2

    state = _state()
    state.metrics["unet"] = {**_metrics(), "pooled": {"dsc": 0.111, "recall": 0.222, "cpa": 0.333, "iou": 0.444}}
    text = report_markdown(DemoSettings(out=str(tmp_path)), state, tmp_path, {})
    row = next(line for line in text.splitlines() if line.startswith(f"| {MODEL_TITLES['unet']} |"))
    assert "| 0.111 | 0.222 | 0.333 | 0.444 |" in row
    paper = next(r.paper for r in PAPER_A_TABLE2.rows if r.name == PAPER_A_ROWS["unet"])
    assert row.endswith(f"| {paper['dsc']:.4f} / {paper['recall']:.4f} / {paper['cpa']:.4f} |")


def _compared(tmp_path, unet_rows=None) -> DemoState:
    """A state whose networks' per_case.csv differ as in test_comparison.py: the DPU-Net exact on 6 patients, the
    U-Net half of each lesion's 50 pixels and a false blob of 10 (or ``unet_rows``)."""
    write_per_case(tmp_path, "dpunet", [per_case_row(f"C{p}", f"P{p}", 50, 0, 0) for p in range(6)])
    write_per_case(tmp_path, "unet", unet_rows or [per_case_row(f"C{p}", f"P{p}", 25, 10, 25, 1) for p in range(6)])
    state = _state()
    state.comparison = compare_networks(tmp_path, state.metrics)
    return state


def test_test_metrics_end_with_the_paired_comparison_table_not_a_guess_at_the_spread(tmp_path):
    text = report_markdown(DemoSettings(out=str(tmp_path)), _compared(tmp_path), tmp_path, {})
    assert "within run-to-run spread" not in text
    section = text.split("## Test metrics", 1)[1].split("## Whole-body prediction", 1)[0]
    assert "### DPU-Net against U-Net on these test patients" in section
    assert "| DSC (pooled) | 1.000 | 0.588 | +0.412 [+0.412, +0.412] | DPU-Net higher |" in section
    assert "| FP / image (lower is better) | 0.00 | 1.00 | -1.00 [-1.00, -1.00] | DPU-Net fewer |" in section
    assert "test-patient noise only, not the run-to-run variance" in section and "docs/results.md" in section
    assert section.index("| network |") < section.index("| metric | DPU-Net | U-Net |")  # under the metrics table


def test_images_that_differ_between_the_networks_give_one_line_and_no_table(tmp_path):
    other = [per_case_row(f"D{p}", f"P{p}", 25, 10, 25) for p in range(6)]
    text = report_markdown(DemoSettings(out=str(tmp_path)), _compared(tmp_path, other), tmp_path, {})
    assert "| metric | DPU-Net | U-Net |" not in text
    assert ("No paired comparison of the DPU-Net and the U-Net on the test patients: the two networks were evaluated "
            "on different test images (6 and 6 images; C0 scored for the DPU-Net only).") in text.splitlines()


def test_a_state_without_a_comparison_says_so_in_one_line(tmp_path):
    text = report_markdown(DemoSettings(out=str(tmp_path)), _state(), tmp_path, {})
    assert "| metric | DPU-Net | U-Net |" not in text
    assert "No paired comparison of the DPU-Net and the U-Net on the test patients: not computed." in text.splitlines()
