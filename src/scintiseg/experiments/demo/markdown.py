"""The demo's ``report.md``: Markdown text from the settings and what the steps found out."""

from __future__ import annotations

import math
import os
from pathlib import Path

from scintiseg.experiments.demo.settings import DEMO_MODELS, MODEL_TITLES, PAPER_A_ROWS, DemoSettings
from scintiseg.experiments.demo.state import DemoState
from scintiseg.experiments.specs import PAPER_A_TABLE2


#: What ``predict_scan`` does with a model of each recipe (``synthetic``: True).
PIPELINES: dict[bool, str] = {
    True: "read -> resample to the model's pixel size -> overlapping windows over the whole view -> model -> "
          "probabilities back on the scan's grid -> threshold -> contours -> regions -> BSI",
    False: "read -> thoracic crop -> model -> threshold -> contours -> regions -> BSI",
}


def format_metric(value, digits: int = 3) -> str:
    """A metric with ``digits`` decimals; 'n/a' for a missing or undefined (NaN) one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def relative_link(path: Path, root: Path) -> str:
    """``path`` relative to the report's folder, with forward slashes (a Markdown link)."""
    return os.path.relpath(path, root).replace(os.sep, "/")


def what_was_done(settings: DemoSettings, data: dict) -> list[str]:
    """The report's lines on data, networks and training, for the demo's recipe."""
    networks = (f"- **Networks** (same budget): {MODEL_TITLES['dpunet']} (paper A) and the {MODEL_TITLES['unet']} "
                f"baseline; width {settings.width or 'default preset (16)'}, depth {settings.depth or 'default (4)'}.")
    common = (f"Dice + BCE, Adam lr {settings.lr:g}, batch {settings.batch_size}, {settings.epochs} epochs, output bias "
              f"initialised to a lesion prior of {settings.head_prior:g}, "
              f"{'on-the-fly flips, rotations and translations, ' if settings.augment else ''}seed {settings.seed}, CPU")
    if not settings.synthetic:
        return [
            f"- **Data:** {settings.patients} phantom patients (seed {settings.seed}), whole-body ANT + POST "
            f"1024 x 256; thoracic crops {settings.size} x {settings.size} (paper B §2.1). Patient-level split: "
            f"{data.get('train', '?')} training, {data.get('val', '?')} validation, {data.get('test', '?')} test "
            "patients; the test patients were never seen in training or model selection.",
            networks,
            f"- **Training** (recipe `crops`, before issue 13): thoracic crops, anterior view, counts / body p99, "
            f"{common}; the checkpoint with the best validation DSC is evaluated.",
        ]
    return [
        f"- **Test data:** {settings.patients} phantom patients of the default profile (seed {settings.seed}), "
        f"whole-body ANT + POST 1024 x 256 at 2.26 mm, none of them trained on; their thoracic crops "
        f"({settings.size} x {settings.size}, paper B §2.1, ANT, each normalised on itself: a region crop, a "
        f"framing the training's degradations include) give the test metrics ({data.get('test', '?')} images).",
        networks,
        f"- **Training** (recipe `synthetic`, issue 13: the shipped model's recipe of "
        "`scripts/train_shipped_model.sh` at a demo's budget): phantom patients made on the fly from the "
        f"domain-randomised profile `{settings.train_profile}` (`scintiseg.train.synthetic`), each view resampled "
        f"to {settings.pixel_mm:g} mm, degraded like real archives (another matrix, region crops, 8-bit/JPEG export, "
        f"flips), normalised with `robust` and cut into {settings.windows_per_view} randomly placed "
        f"{settings.size} x {settings.size} window(s) per view (half of them near a lesion). A pool of "
        f"{settings.pool_patients} patients, {settings.refresh:.0%} of it replaced by new ones before each epoch: "
        f"{data.get('train', '?')} distinct training patients per network, {data.get('val', '?')} generated "
        f"validation patient(s); {common}. The checkpoint with the best validation DSC (on the generated "
        "validation windows) is evaluated.",
    ]


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
        *what_was_done(settings, data),
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
                      "*Thoracic crops of test patients (ANT, the model's input normalisation), ranked by "
                      "per-image DSC; green: truth, red: prediction.*", ""]
    lines += ["## Whole-body prediction (scintiseg.predict)", ""]
    for name, info in state.predictions.items():
        if info.get("skipped"):
            lines += [f"- **{name}:** skipped: {info['skipped']}", ""]
            continue
        how = ("" if info.get("review") or info.get("comparison") else
               f", through `predict_scan` ({PIPELINES[info.get('whole', settings.synthetic)]})")
        lesions = ("lesion(s) after the review" if info.get("review") else
                   "lesion(s) predicted on the follow-up" if info.get("comparison") else "lesion(s) predicted")
        lines += [
            f"### {info['title']}",
            "",
            f"Model: {info['model']}{how}. "
            f"{info['lesions']} {lesions}; BSI estimate {info['bsi']:.2f} % of the skeleton "
            f"(covered mass {info['covered']:.0f} %); QC flags: {', '.join(info['qc_flags']) or 'none'}. "
            f"Outputs (LabelMe, masks, overlays, report.html, DICOM SR/GSPS) in `{relative_link(Path(info['folder']), out)}/`.",
            "",
        ]
        if info.get("truth_figure"):
            lines += [f"![{name} with truth]({relative_link(Path(info['truth_figure']), out)})", "",
                      f"*{info['caption']}*", ""]
        if info.get("review"):
            lines += [info["review"], ""]
        if info.get("comparison"):
            lines += [info["comparison"], ""]
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
