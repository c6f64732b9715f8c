"""The demo's ``report.md``: Markdown text from the settings and what the steps found out."""

from __future__ import annotations

import math
import os
from pathlib import Path

from scintiseg.experiments.demo.settings import DEMO_MODELS, MODEL_TITLES, PAPER_A_ROWS, DemoSettings
from scintiseg.experiments.demo.state import DemoState
from scintiseg.experiments.specs import PAPER_A_TABLE2


def format_metric(value, digits: int = 3) -> str:
    """A metric with ``digits`` decimals; 'n/a' for a missing or undefined (NaN) one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def relative_link(path: Path, root: Path) -> str:
    """``path`` relative to the report's folder, with forward slashes (a Markdown link)."""
    return os.path.relpath(path, root).replace(os.sep, "/")


def report_markdown(settings: DemoSettings, state: DemoState, out: Path, figures: dict[str, list[Path]]) -> str:
    """The text of ``report.md``.

    What was done, both networks' test metrics beside paper A Table 2 (clinical numbers, for context), the
    pictures, the whole-body predictions and the run's timings; ``figures`` maps ``"curves"`` and
    ``"overlays_<key>"`` to the pictures to link.
    """
    from scintiseg.predict.loader import SYNTHETIC_DISCLAIMER  # lazy: start-up time

    paper = {row.name: row.paper for row in PAPER_A_TABLE2.rows}
    data = state.runs.get("data", {})
    lines = [
        "# scintiseg demo report",
        "",
        "> **Synthetic data, research software.** Every training and test image here comes from the scintiseg "
        "physics phantom (simulated 99mTc-MDP whole-body scans, docs/phantom.md), not from patients. "
        f"{SYNTHETIC_DISCLAIMER}",
        "",
        "## What was done",
        "",
        f"- **Data:** {settings.patients} phantom patients (seed {settings.seed}), whole-body ANT + POST "
        f"1024 x 256; thoracic crops {settings.size} x {settings.size} (paper B §2.1). Patient-level split: "
        f"{data.get('train', '?')} training, {data.get('val', '?')} validation, {data.get('test', '?')} test "
        "patients; the test patients were never seen in training or model selection.",
        f"- **Networks** (same budget): {MODEL_TITLES['dpunet']} (paper A) and the {MODEL_TITLES['unet']} "
        f"baseline; width {settings.width or 'default preset (16)'}, depth {settings.depth or 'default (4)'}.",
        f"- **Training:** anterior view, counts / body p99, Dice + BCE, Adam lr {settings.lr:g}, batch "
        f"{settings.batch_size}, {settings.epochs} epochs, output bias initialised to a lesion prior of "
        f"{settings.head_prior:g}, seed {settings.seed}, CPU; the checkpoint with the "
        "best validation DSC is evaluated.",
        "- **Metrics** on the test patients (threshold 0.5): DSC, Recall, CPA (precision) and IoU pooled over all "
        "test pixels (as paper A reports them), DSC averaged per image, and lesion detection (a true lesion is "
        "found when a predicted pixel touches it; a predicted component touching none is a false positive).",
        "",
        "## Test metrics",
        "",
        "| network | parameters | best epoch | DSC | Recall | CPA | IoU | DSC / image | lesion sens. | FP / image "
        "| train time | paper A DSC / Recall / CPA (clinical) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key in DEMO_MODELS:
        m = state.metrics.get(key)
        run = state.runs.get(key, {})
        if m is None:
            continue
        p = paper[PAPER_A_ROWS[key]]
        lines.append(
            f"| {MODEL_TITLES[key]} | {run.get('parameters', 0):,} | {run.get('best_epoch', '?')} "
            f"| {format_metric(m['pooled']['dsc'])} | {format_metric(m['pooled']['recall'])} | {format_metric(m['pooled']['cpa'])} "
            f"| {format_metric(m['pooled']['iou'])} | {format_metric(m['per_image']['dsc'])} | {format_metric(m['detection'].get('sensitivity'))} "
            f"| {format_metric(m['detection'].get('fp_per_image'), 2)} | {run.get('seconds', 0):.0f} s "
            f"| {p['dsc']:.4f} / {p['recall']:.4f} / {p['cpa']:.4f} |"
        )
    lines += [
        "",
        f"Test set: {state.metrics.get('dpunet', {}).get('images', '?')} images. Paper A's numbers (He et al. "
        "2024, Table 2, mean of 5 runs of 200 epochs on 62 clinical thoracic test images) are for context only: "
        "different data (clinical, not phantom), far longer training and wider networks. The phantom's "
        "lesions, noise and anatomy are ours, so absolute values are not comparable; a demo this short is "
        "also one run, so a small difference between the two networks is within run-to-run spread "
        "(docs/results.md has repeated runs).",
        "",
    ]
    if "curves" in figures:
        lines += ["![learning curves](" + relative_link(figures["curves"][0], out) + ")", "",
                  "*Training loss and validation DSC per epoch.*", ""]
    for key in DEMO_MODELS:
        pictures = figures.get(f"overlays_{key}", [])
        if pictures:
            lines += [f"### {MODEL_TITLES[key]}: best and worst test images", "",
                      " ".join(f"![{p.stem}]({relative_link(p, out)})" for p in pictures), "",
                      "*Thoracic crops of test patients (ANT), ranked by per-image DSC; green: truth, red: "
                      "prediction.*", ""]
    lines += ["## Whole-body prediction (scintiseg.predict)", ""]
    for name, info in state.predictions.items():
        if info.get("skipped"):
            lines += [f"- **{name}:** skipped: {info['skipped']}", ""]
            continue
        lines += [
            f"### {info['title']}",
            "",
            f"Model: {MODEL_TITLES['dpunet']} from `{relative_link(Path(info['run']), out)}`, through `predict_scan` "
            "(read -> thoracic crop -> model -> threshold -> contours -> regions -> BSI). "
            f"{info['lesions']} lesion(s) predicted; BSI estimate {info['bsi']:.2f} % of the skeleton "
            f"(covered mass {info['covered']:.0f} %); QC flags: {', '.join(info['qc_flags']) or 'none'}. "
            f"Outputs (LabelMe, masks, overlays, report.html, DICOM SR/GSPS) in `{relative_link(Path(info['folder']), out)}/`.",
            "",
        ]
        if info.get("truth_figure"):
            lines += [f"![{name} with truth]({relative_link(Path(info['truth_figure']), out)})", "",
                      f"*{info['caption']}*", ""]
        for overlay in info.get("overlays", []):
            lines += [f"![{name} overlay]({relative_link(Path(overlay), out)})", ""]
        if info.get("caption_overlay"):
            lines += [f"*{info['caption_overlay']}*", ""]
    lines += ["## Run", ""]
    total = sum(state.timings.values())
    lines.append("| step | seconds |")
    lines.append("|---|---:|")
    for step, seconds in state.timings.items():
        lines.append(f"| {step} | {seconds:.0f} |")
    lines.append(f"| **total** | **{total:.0f}** |")
    lines += [
        "",
        f"Steps reused from an earlier run (skipped): {', '.join(state.skipped) or 'none'}. "
        f"Load average (1, 5, 15 min) at start {state.load_average.get('start')}, at end "
        f"{state.load_average.get('end')}; CPUs available: {state.settings.get('cpus')}.",
        "",
        "Repeat with `scintiseg demo --out " + str(settings.out) + "` (finished steps are skipped); the settings "
        "are in `demo.json`, each run's resolved training configuration in `<run>/config.yaml`.",
    ]
    for note in state.notes:
        lines += ["", f"Note: {note}"]
    return "\n".join(lines) + "\n"
