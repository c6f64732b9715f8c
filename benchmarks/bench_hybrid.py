"""Real-background (hybrid) benchmark: does a model trained on the phantom find lesions in real counts?

Usage (2 CPU cores)::

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_hybrid.py [--model RUN_OR_WEIGHTS] \
        [--levels 1,0.5,0.25,0.1] [--lesion-cases 40] [--negatives 10] [--seed 0] \
        [--json-out PATH] [--figures docs/img]

The set (:mod:`scintiseg.phantom.hybrid`, docs/robustness.md): the real NEMA NM1 whole-body ANT view,
binomially thinned to each count level; ``--lesion-cases`` cases with 1-3 synthetic lesions (seeds
``seed .. seed + N - 1``, the same lesions at every level) and ``--negatives`` lesion-free thinned copies
(negative controls). The current product predicts in the thoracic window only, so lesion centres are
placed in the thorax: from NM1's shoulder line to the bottom of its thoracic span, 8 px inside the
window's sides; only lesions inside the window the model saw are counted.

Measures per count level (all inside the model's window, ANT):

* lesion sensitivity: a lesion *in the mask* (visible by the Rose rule) is detected when a predicted
  lesion pixel falls in its extent; overall and for contrast >= 2;
* false positives per view: predicted lesions touching no inserted lesion's extent (grown by 2 px);
  NM1's own hot spots count as false positives; a prediction on a lesion below the Rose rule counts
  as neither;
* pooled DSC of the predicted lesion map against the mask;
* image-level ROC AUC (Mann-Whitney) of the maximum lesion probability, abnormal (a visible lesion)
  against normal (negative controls) images, beside the AUC of the trivial score "brightest pixel"
  (maximum counts in the window) on the same images.

It also lists the findings on the lesion-free NM1 at full counts (all false positives).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from scintiseg.display import display_window
from scintiseg.io import read_scan
from scintiseg.phantom.hybrid import HybridCase, make_hybrid_case, prepare_source
from scintiseg.predict import load_model, predict_scan
from scintiseg.prepare.crop import thoracic_crop

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"
VIEW = "ANT"
#: Lesion centres stay this many pixels inside the window's sides and above its bottom.
MARGIN_PX = 8
#: A predicted lesion within this many pixels of an inserted lesion's extent is not a false positive.
MATCH_PX = 2
#: The issue's targets.
TARGET_SENSITIVITY, TARGET_FP_PER_VIEW, TARGET_AUC_GAIN = 0.85, 0.5, 0.10
#: The figure shows the first two cases with two or more lesions at this count level.
FIGURE_LEVEL = 0.25


def thorax_placement(scan) -> tuple[np.ndarray, dict]:
    """Where lesion centres may go: NM1's thorax, inside the thoracic window the model sees."""
    crop = thoracic_crop(scan)
    box, marks = crop.boxes[VIEW], crop.landmarks
    within = np.zeros(scan.shape, dtype=bool)
    top = int(round(marks["shoulder"]))
    bottom = min(int(round(marks["thorax_bottom"])), box.top + box.height) - MARGIN_PX
    within[top:bottom, box.left + MARGIN_PX:box.left + box.width - MARGIN_PX] = True
    return within, {"rows": [top, bottom], "cols": [box.left + MARGIN_PX, box.left + box.width - MARGIN_PX],
                    "window": box.to_json()}


def mann_whitney_auc(positive: list[float], negative: list[float]) -> float:
    """ROC AUC = P(score of a positive > score of a negative) + 0.5 P(tie) (Mann-Whitney U / (n1 n0))."""
    if not positive or not negative:
        return float("nan")
    pos, neg = np.asarray(positive, dtype=float)[:, None], np.asarray(negative, dtype=float)[None, :]
    return float(((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size))


def _bench_shift():
    """``benchmarks/bench_shift.py`` (a sibling script): its image-level scoring."""
    import bench_shift  # lazy: bench_shift imports this module at its top

    return bench_shift


def score_case(case: HybridCase, prediction, nm1_predicted: np.ndarray) -> dict:
    """Lesion, pixel and image-level results of one case inside the model's window.

    The scoring is bench_shift's :func:`score_image` (the same rules for both benchmarks; loaded on first
    use, since bench_shift loads this script at import time). ``nm1_predicted`` is the model's lesion map on
    the lesion-free NM1: a lesion whose extent touches it is flagged ``on_nm1_finding`` (its detection may be
    the model's own false positive there).
    """
    scored = _bench_shift().score_image(case, VIEW, prediction.views[VIEW])
    instances = np.asarray(case.instances[VIEW])
    for lesion in scored["lesions"]:
        lesion["on_nm1_finding"] = bool((nm1_predicted & (instances == lesion["id"])).any())
    return scored


def summarise(results: list[dict]) -> dict:
    """The per-level table row (see the module docstring)."""
    visible = [les for r in results for les in r["lesions"] if les["visible"]]
    strong = [les for les in visible if les["contrast"] >= 2.0]
    faint = [les for les in visible if les["contrast"] < 2.0]
    hidden = [les for r in results for les in r["lesions"] if not les["visible"]]
    on_finding = [les for les in visible if les["on_nm1_finding"]]
    rate = lambda group: float(np.mean([les["detected"] for les in group])) if group else float("nan")  # noqa: E731
    tp, fp, fn = (sum(r[key] for r in results) for key in ("tp_px", "fp_px", "fn_px"))
    abnormal = [r for r in results if not r["negative"] and r["abnormal"]]
    normal = [r for r in results if r["negative"]]
    negatives_fp = [r["false_positives"] for r in normal]
    return {
        "images": len(results), "lesions_visible": len(visible), "lesions_below_rose": len(hidden),
        "sensitivity": rate(visible), "sensitivity_contrast_ge_2": rate(strong), "lesions_contrast_ge_2": len(strong),
        "sensitivity_contrast_lt_2": rate(faint), "detected_below_rose": rate(hidden),
        "sensitivity_contrast_2_4": rate([les for les in strong if les["contrast"] < 4.0]),
        "sensitivity_contrast_ge_4": rate([les for les in strong if les["contrast"] >= 4.0]),
        "visible_on_nm1_finding": len(on_finding), "detected_on_nm1_finding": sum(les["detected"] for les in on_finding),
        "sensitivity_off_nm1_findings": rate([les for les in visible if not les["on_nm1_finding"]]),
        "fp_per_view": sum(r["false_positives"] for r in results) / max(len(results), 1),
        "fp_per_negative_view": float(np.mean(negatives_fp)) if negatives_fp else float("nan"),
        "pooled_dsc": 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) else float("nan"),
        "auc_max_probability": mann_whitney_auc([r["max_probability"] for r in abnormal], [r["max_probability"] for r in normal]),
        "auc_brightest_pixel": mann_whitney_auc([r["brightest_pixel"] for r in abnormal], [r["brightest_pixel"] for r in normal]),
        "abnormal_images": len(abnormal), "normal_images": len(normal),
        "lesion_images_without_visible_lesion": sum(1 for r in results if not r["negative"] and not r["abnormal"]),
    }


def verdict(row: dict) -> dict[str, bool]:
    return {
        "sensitivity_contrast_ge_2": row["sensitivity_contrast_ge_2"] >= TARGET_SENSITIVITY,
        "fp_per_view": row["fp_per_view"] <= TARGET_FP_PER_VIEW,
        "auc_gain": row["auc_max_probability"] >= row["auc_brightest_pixel"] + TARGET_AUC_GAIN,
    }


def markdown(levels: dict[str, dict]) -> str:
    head = ("| count level | counts (M) | images (abn./norm.) | visible lesions (c >= 2) | sensitivity | sensitivity c >= 2 "
            "| sensitivity c < 2 | FP / view | FP / negative view | pooled DSC | AUC max. prob. | AUC brightest pixel |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for level, row in levels.items():
        lines.append(
            f"| {level} | {row['counts_m']:.2f} | {row['images']} ({row['abnormal_images']}/{row['normal_images']}) "
            f"| {row['lesions_visible']} ({row['lesions_contrast_ge_2']}) | {row['sensitivity']:.2f} "
            f"| {row['sensitivity_contrast_ge_2']:.2f} | {row['sensitivity_contrast_lt_2']:.2f} | {row['fp_per_view']:.2f} "
            f"| {row['fp_per_negative_view']:.2f} | {row['pooled_dsc']:.3f} | {row['auc_max_probability']:.3f} "
            f"| {row['auc_brightest_pixel']:.3f} |"
        )
    lines += ["", "| count level | sensitivity c 1.2-2 / 2-4 / >= 4 | lesions below Rose: detected "
              "| visible lesions on NM1's own findings (detected) | sensitivity away from them |", "|---|---|---|---|---|"]
    for level, row in levels.items():
        lines.append(
            f"| {level} | {row['sensitivity_contrast_lt_2']:.2f} / {row['sensitivity_contrast_2_4']:.2f} / "
            f"{row['sensitivity_contrast_ge_4']:.2f} | {row['detected_below_rose']:.2f} of {row['lesions_below_rose']} "
            f"| {row['visible_on_nm1_finding']} ({row['detected_on_nm1_finding']}) | {row['sensitivity_off_nm1_findings']:.2f} |"
        )
    return "\n".join(lines)


def nm1_findings(prediction) -> list[dict]:
    result = prediction.views[VIEW]
    return [{"id": les.id, "region": les.region, "centroid": [round(les.centroid_row), round(les.centroid_col)],
             "area_px": les.area_px, "probability_max": les.probability_max,
             "lesion_to_normal_bone": les.lesion_to_normal_bone} for les in result.lesions]


def figure(shown: list[tuple[HybridCase, object]], path: Path, window: dict, model_name: str) -> None:
    """Per case, two panels in the thoracic window: the counts with the truth, and the model's prediction."""
    import matplotlib  # lazy: start-up time

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: start-up time

    rows = slice(window["top"], window["top"] + window["height"])
    cols = slice(window["left"], window["left"] + window["width"])
    fig, axes = plt.subplots(1, 2 * len(shown), figsize=(3.3 * 2 * len(shown), 3.7))
    fig.subplots_adjust(left=0.005, right=0.995, top=0.9, bottom=0.005, wspace=0.03)
    for k, (case, prediction) in enumerate(shown):
        counts = np.asarray(case.scan.view(VIEW))
        vmax = display_window(counts)
        truth_ax, predicted_ax = axes[2 * k], axes[2 * k + 1]
        truth = "no lesion" if case.negative else "mask (red), below Rose (blue)"
        truth_ax.set_title(f"{'negative control' if case.negative else 'hybrid case'} {case.case_id}: {truth}", fontsize=7)
        predicted_ax.set_title(f"{model_name}: prediction (red)", fontsize=7)
        for ax in (truth_ax, predicted_ax):
            ax.imshow(counts[rows, cols], cmap="gray_r", vmin=0, vmax=vmax, interpolation="nearest")
            ax.axis("off")
        hidden = ((case.instances[VIEW] > 0) & ~case.masks[VIEW])[rows, cols]
        for mask, colour in ((hidden, "tab:blue"), (case.masks[VIEW][rows, cols], "red")):
            if mask.any():
                truth_ax.contour(mask, [0.5], colors=colour, linewidths=0.7)
        predicted = prediction.views[VIEW].labels[rows, cols] > 0
        if predicted.any():
            predicted_ax.contour(predicted, [0.5], colors="red", linewidths=0.7)
        for info in case.lesions:
            r, c = info["centre"]
            truth_ax.annotate(f"{info['contrast']:.1f}x {info['size_mm']:.0f} mm", (c - cols.start + 9, r - rows.start - 7),
                              color="darkorange", fontsize=6)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=120)
    plt.close(fig)
    # Noisy count images compress badly: a fixed palette (a grey ramp and the outline colours) keeps the
    # PNG small without losing the thin coloured outlines an adaptive palette would merge into the greys.
    Image.open(buffer).convert("RGB").quantize(palette=_figure_palette(), dither=Image.Dither.NONE).save(path, optimize=True)


def _figure_palette() -> Image.Image:
    greys = [(v, v, v) for v in np.linspace(0, 255, 48).round().astype(int)]
    outlines = [(255, 0, 0), (200, 40, 40), (255, 150, 150), (31, 119, 180), (140, 180, 220), (255, 140, 0), (255, 200, 140)]
    palette = Image.new("P", (1, 1))
    palette.putpalette([channel for colour in greys + outlines for channel in colour])
    return palette


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="run folder, checkpoint or ONNX file (default: the shipped model)")
    parser.add_argument("--scan", default=str(REAL))
    parser.add_argument("--levels", default="1,0.5,0.25,0.1", help="count levels (kept fractions of NM1's counts)")
    parser.add_argument("--lesion-cases", type=int, default=40)
    parser.add_argument("--negatives", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json-out", default=None)
    parser.add_argument("--figures", default=None, help="folder for robustness_*.png (e.g. docs/img)")
    args = parser.parse_args()
    import torch  # lazy: start-up time

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    start = time.perf_counter()
    scan = read_scan(args.scan)
    within, placement = thorax_placement(scan)
    source = prepare_source(scan, within=within)
    total_counts = float(np.asarray(scan.view(VIEW), dtype=np.float64).sum())
    model = load_model(args.model, engine="torch")
    baseline = predict_scan(scan, model)
    findings = nm1_findings(baseline)
    nm1_predicted = baseline.views[VIEW].labels > 0
    print(f"lesion-free NM1 at full counts: {len(findings)} findings (all false positives)", file=sys.stderr)

    levels: dict[str, dict] = {}
    per_case: dict[str, list[dict]] = {}
    shown: list[tuple[HybridCase, object]] = []
    for fraction in (float(v) for v in args.levels.split(",")):
        label = f"{100 * fraction:g} %"
        results = []
        for k in range(args.lesion_cases + args.negatives):
            negative = k >= args.lesion_cases
            case = make_hybrid_case(source, fraction, args.seed + k, negative=negative)
            prediction = predict_scan(case.scan, model)
            results.append(score_case(case, prediction, nm1_predicted))
            if fraction == FIGURE_LEVEL and len(shown) < 2 and not negative and len(case.lesions) >= 2:
                shown.append((case, prediction))
        levels[label] = summarise(results) | {"counts_m": fraction * total_counts / 1e6}
        per_case[label] = results
        print(f"{label}: {time.perf_counter() - start:.0f} s", file=sys.stderr)

    table = markdown(levels)
    checks = {level: verdict(row) for level, row in levels.items()}
    print(table)
    print()
    print("targets (sensitivity c >= 2 >= 0.85, FP/view <= 0.5, AUC >= brightest-pixel AUC + 0.10):")
    for level, check in checks.items():
        print(f"  {level}: " + ", ".join(f"{k} {'met' if ok else 'NOT met'}" for k, ok in check.items()))
    print(f"NM1 lesion-free findings: {json.dumps(findings)}")
    print(f"total {time.perf_counter() - start:.0f} s")
    if args.figures:
        folder = Path(args.figures)
        window = placement["window"]
        name = "shipped model" if args.model is None else Path(args.model).name
        if shown:
            figure(shown, folder / "robustness_hybrid_cases.png", window, name)
        negative = make_hybrid_case(source, 1.0, args.seed, negative=True)
        figure([(negative, baseline)], folder / "robustness_nm1_negative.png", window, name)
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(json.dumps({
            "model": args.model or "shipped", "model_info": {k: v for k, v in model.info.items() if k != "model_config"},
            "placement": placement, "config": source.config.to_dict(), "levels": levels, "targets_met": checks,
            "nm1_findings": findings, "cases": per_case,
        }, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
