"""The demo's ``report.md``: Markdown text from the settings and what the steps found out."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

from scintiseg.errors import ScintisegError
from scintiseg.experiments.demo.comparison import comparison_lines
from scintiseg.experiments.demo.settings import (
    DEMO_MODELS,
    MODEL_SHORT_TITLES,
    MODEL_TITLES,
    PAPER_A_ROWS,
    DemoSettings,
)
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


def view_counts(by_view: dict[str, int]) -> str:
    """'ANT 5, POST 11': a prediction's lesions per view."""
    return ", ".join(f"{view} {count}" for view, count in by_view.items())


def lesion_sentence(info: dict, done: str) -> str:
    """What a prediction's lesion count is: the distinct lesions (an ANT-POST pair once, as report.html's "Distinct
    lesions" and the SR's "Number of lesions") and each view's count; ``done``: 'predicted', 'after the review', ...
    """
    by_view = info.get("lesions_by_view")
    if not by_view:
        return f"{info['lesions']} lesion(s) {done}"
    if len(by_view) == 1:
        return f"{info['lesions']} lesion(s) {done} ({next(iter(by_view))}, the scan's only view)"
    return (f"{info['lesions']} distinct lesion(s) {done} ({view_counts(by_view)}; {info.get('pairs', 0)} seen in both "
            "views, each counted once)")


def device_phrase(devices: dict | None) -> str:
    """Where the networks trained, from the demo's record of each run (``state.runs["device"]``)."""

    def named(record: dict | None) -> str | None:
        if not record:
            return None
        if str(record.get("device", "")).startswith("cuda"):
            return f"on a CUDA GPU ({record.get('name') or record['device']})"
        return f"on the {str(record.get('device', 'cpu')).upper()}"

    said = {key: named(record) for key, record in (devices or {}).items()}
    known = {phrase for phrase in said.values() if phrase}
    if not known:
        return "training device not recorded"
    if len(known) == 1 and all(said.get(key) for key in DEMO_MODELS):
        return f"trained {known.pop()}"
    return "trained " + ", ".join(f"{MODEL_SHORT_TITLES[key]} {said.get(key) or '(device not recorded)'}"
                                  for key in DEMO_MODELS)


def what_was_done(settings: DemoSettings, data: dict, devices: dict | None = None) -> list[str]:
    """The report's lines on data, networks and training, for the demo's recipe; ``devices``: where each network
    trained (``state.runs["device"]``, the training loop's own choice: CUDA when present)."""
    networks = (f"- **Networks** (same budget): {MODEL_TITLES['dpunet']} (paper A) and the {MODEL_TITLES['unet']} "
                f"baseline; width {settings.width or 'default preset (16)'}, depth {settings.depth or 'default (4)'}.")
    common = (f"Dice + BCE, Adam lr {settings.lr:g}, batch {settings.batch_size}, {settings.epochs} epochs, output bias "
              f"initialised to a lesion prior of {settings.head_prior:g}, "
              f"{'on-the-fly flips, rotations and translations, ' if settings.augment else ''}seed {settings.seed}, "
              f"{device_phrase(devices)}")
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


def lesion_free_images(per_case: Path) -> int | None:
    """How many images of an evaluation's ``per_case.csv`` hold no lesion pixel (None without the file)."""
    if not per_case.is_file():
        return None
    try:
        with per_case.open(encoding="utf-8", newline="") as handle:
            return sum(1 for row in csv.DictReader(handle) if float(row.get("lesion_pixels") or 0) == 0)
    except (OSError, UnicodeDecodeError, csv.Error, ValueError) as exc:  # a damaged file: a traceback before session 66
        raise ScintisegError(f"not an evaluation's per-case scores ({type(exc).__name__}: {exc}); delete the "
                             "evaluation folder or use another --out", path=per_case) from None


def overlays_caption(pictures: list[Path]) -> str:
    """The caption under a network's best and worst test images; says when there are too few to show the worst apart
    from the best (:func:`scintiseg.train.evaluate.write_overlays` never draws an image twice)."""
    best = sum(p.name.startswith("best_") for p in pictures)
    worst = sum(p.name.startswith("worst_") for p in pictures)
    text = ("*Thoracic crops of test patients (ANT, the model's input normalisation), ranked by per-image DSC; green: "
            "truth, red: prediction.")
    if worst < best:
        text += (f" Only {best + worst} test image(s) to rank: too few to show {best} worst apart from the {best} best, "
                 + ("so no worst is shown." if worst == 0 else f"so {worst} worst, none of them among the best."))
    return text + "*"


def report_markdown(settings: DemoSettings, state: DemoState, out: Path, figures: dict[str, list[Path]]) -> str:
    """The text of ``report.md``.

    What was done, both networks' test metrics beside paper A Table 2 (clinical numbers, for context), their paired
    difference on the test patients (``state.comparison``, :mod:`~scintiseg.experiments.demo.comparison`), the
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
        *what_was_done(settings, data, state.runs.get("device")),
        "- **Metrics** on the test patients (threshold 0.5): DSC, Recall, CPA (precision) and IoU pooled over all "
        "test pixels (as paper A reports them), DSC averaged per image, and lesion detection (a true lesion is "
        "found when a predicted component touches it of which at least 10 % is lesion; any other predicted "
        "component is a false positive, `scintiseg.metrics.MIN_COMPONENT_PRECISION`).",
        "",
        "## Test metrics",
        "",
        "| network | parameters | best epoch | DSC | Recall | CPA | IoU | DSC / image | lesion sens. | FP / image "
        "| training loop | paper A DSC / Recall / CPA (clinical) |",
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
    first = next((state.metrics[key] for key in DEMO_MODELS if key in state.metrics), {})
    empty = lesion_free_images(out / next((key for key in DEMO_MODELS if key in state.metrics), "dpunet")
                               / "eval-test" / "per_case.csv")
    rule = first.get("empty_image_rule")
    lines += [
        "",
        f"Test set: {first.get('images', '?')} images"
        + (f", {empty} of them without lesion pixels" if empty is not None else "") + ". DSC / image is the mean of "
        "each test image's own DSC" + (f" (`metrics.json` `empty_image_rule`: {rule})" if rule else "") + "; an "
        "image without lesions thus scores 1 when nothing is predicted on it, 0 when anything is. Training loop: the "
        "epochs alone (each run's `summary.json` `seconds`); the Run table's train rows time the whole step, which "
        + ("also generates the first pool and the validation patients before the first epoch."
           if settings.synthetic else "also reads and prepares the crops.") + " Paper A's numbers (He et al. "
        "2024, Table 2, mean of 5 runs of 200 epochs on 62 clinical thoracic test images) are for context only: "
        "different data (clinical, not phantom), far longer training and wider networks. The phantom's "
        "lesions, noise and anatomy are ours, so absolute values are not comparable.",
        "",
        f"### {MODEL_SHORT_TITLES['dpunet']} against {MODEL_SHORT_TITLES['unet']} on these test patients",
        "",
        *comparison_lines(state.comparison),
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
                      overlays_caption(pictures), ""]
    lines += ["## Whole-body prediction (scintiseg.predict)", ""]
    for name, info in state.predictions.items():
        if info.get("skipped"):
            lines += [f"- **{name}:** skipped: {info['skipped']}", ""]
            continue
        how = ("" if info.get("review") or info.get("comparison") else
               f", through `predict_scan` ({PIPELINES[info.get('whole', settings.synthetic)]})")
        done = ("after the review" if info.get("review") else
                "predicted on the follow-up" if info.get("comparison") else "predicted")
        lines += [
            f"### {info['title']}",
            "",
            f"Model: {info['model']}{how}. "
            f"{lesion_sentence(info, done)}; BSI estimate {info['bsi']:.2f} % of the skeleton "
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
        draft = info.get("draft")
        if isinstance(draft, dict) and draft.get("impression"):  # the report's draft in words, as its page gives it
            lines += ["Draft findings (report.json `summary.findings_text`; " + str(draft.get("note", "")) + "):", "",
                      *(f"> {text}" for text in draft.get("findings") or []),
                      *([">"] if draft.get("findings") else []), f"> **Impression.** {draft['impression']}", ""]
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
        f"Repeat with `{settings.command()}` (finished steps are skipped; the flags are this run's settings that "
        "differ from the defaults, as `demo-settings.json` holds them, and the real scan given). All settings are in "
        "`demo.json`, each run's resolved training configuration in `<run>/config.yaml`.",
    ]
    return "\n".join(lines) + "\n"
