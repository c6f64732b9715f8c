"""Whole-body prediction measured against the phantom's truth (issue 15): regions, BSI, triage, hard negatives.

For held-out phantom patients (seeds from ``--seed``, never used in training: the shipped models train on
on-the-fly patients seeded by ``SeedSequence([run seed, index])``), the shipped lesion model and the learned
region network (or ``--regions atlas``) predict every view, and the script reports:

* **region Dice** per region and view: the predicted region map against the phantom's region map (pooled
  over patients), and its mean over the regions;
* **BSI**: the predicted BSI (mean over views) against the *truth BSI*, the same formula
  (:func:`scintiseg.predict.bsi.bone_scan_index`) applied to the truth: the labelled (visible) lesion masks
  over the phantom's region map, bone = its bone pixels, mean over views. Choice: planar, area-based, like
  the prediction and like EXINI's planar aBSI; lesions no view shows are left out (no reader could draw
  them). Pearson r and the mean absolute error in BSI points, and a scatter plot (``--figure``);
* **triage**: ROC AUC of the scan's triage score (max lesion probability over its views) between scans with
  and without a visible lesion;
* **hard negatives**: every predicted lesion that touches no true lesion (visible or not) is a false
  positive, named by what lies under it: a look-alike of the phantom within 20 mm (injection site,
  degenerative joint, fracture, ...; its ``kind``), else soft tissue (region map 0: bladder, kidneys, gut),
  else bone; per region of the truth map too.

    OMP_NUM_THREADS=2 python benchmarks/bench_wholebody.py --patients 40 --profile default --json-out X.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from scipy import stats

from scintiseg.metrics import class_dice, class_overlap
from scintiseg.phantom import generate_patient, profile
from scintiseg.phantom.regions import REGION_CLASSES
from scintiseg.predict.bsi import bone_scan_index
from scintiseg.predict.loader import load_model
from scintiseg.predict.pipeline import PredictSettings, predict_scan
from scintiseg.predict.regions import SkeletonRegions

#: A false positive within this distance (mm) of a look-alike's centre is that look-alike.
LOOKALIKE_MM = 20.0


def truth_bsi(patient) -> float:
    """The phantom's truth BSI (module docstring): mean over views of the BSI of the labelled lesions."""
    values = []
    for view in patient.scan.view_names:
        labels = patient.regions[view].astype(np.int16)
        regions = SkeletonRegions(view, labels, labels > 0, labels > 0, 0, labels.shape[0] - 1, labels.shape[1] / 2)
        values.append(bone_scan_index(patient.masks[view], regions).bsi_percent)
    return float(np.mean(values))


def _lookalike_pixels(patient, view: str) -> list[tuple[str, float, float]]:
    """(kind, row, col) of every look-alike on ``view``'s stored grid (POST mirrored as stored)."""
    row_mm, col_mm = patient.scan.pixel_spacing
    cols = patient.scan.shape[1]
    out = []
    for item in patient.meta.get("lookalikes", []):
        z, x = item["centre_mm"][0], item["centre_mm"][1]
        row, col = z / row_mm - 0.5, x / col_mm - 0.5
        out.append((item["kind"], row, cols - 1 - col if view == "POST" else col))
    return out


def classify_false_positive(patient, view: str, lesion_mask: np.ndarray) -> tuple[str, str]:
    """(what, region) under a false-positive lesion (module docstring)."""
    rows, cols = np.nonzero(lesion_mask)
    r, c = rows.mean(), cols.mean()
    row_mm, col_mm = patient.scan.pixel_spacing
    best, best_d = None, LOOKALIKE_MM
    for kind, lr, lc in _lookalike_pixels(patient, view):
        d = float(np.hypot((lr - r) * row_mm, (lc - c) * col_mm))
        if d <= best_d:
            best, best_d = kind, d
    ids = patient.regions[view][lesion_mask]
    ids = ids[ids > 0]
    region = REGION_CLASSES[int(np.bincount(ids).argmax())] if ids.size else "other"
    if best is not None:
        return f"look-alike: {best}", region
    return ("soft tissue" if region == "other" else "bone, no lesion"), region


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=40)
    parser.add_argument("--seed", type=int, default=910_000, help="first patient seed (held out)")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--model", default=None, help="lesion model (default: the shipped one)")
    parser.add_argument("--regions", default="auto", choices=("auto", "learned", "atlas"))
    parser.add_argument("--region-model", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json-out", default=None)
    parser.add_argument("--figure", default=None, help="PNG scatter plot of predicted vs truth BSI")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    settings = PredictSettings(regions=args.regions, region_model=args.region_model)
    config = profile(args.profile)
    classes = len(REGION_CLASSES)
    overlap = {view: np.zeros((classes, 3), dtype=np.int64) for view in ("ANT", "POST")}
    bsi_true, bsi_pred, scores, bone_scores, positive, seconds = [], [], [], [], [], []
    false_positives: Counter = Counter()
    fp_regions: Counter = Counter()
    views_seen = 0
    for k in range(args.patients):
        patient = generate_patient(args.seed + k, config, patient_id=f"WB{k}")
        started = time.perf_counter()
        prediction = predict_scan(patient.scan, model, settings)
        seconds.append(time.perf_counter() - started)
        for view, result in prediction.views.items():
            views_seen += 1
            overlap[view] += class_overlap(result.regions.labels, patient.regions[view], classes)
            truth_any = patient.instances[view] > 0
            for index in range(1, int(result.labels.max()) + 1):
                mask = result.labels == index
                if mask.any() and not (mask & truth_any).any():
                    what, region = classify_false_positive(patient, view, mask)
                    false_positives[what] += 1
                    fp_regions[region] += 1
        # Candidate triage score: the largest probability on bone only (the region map's bone pixels), which
        # ignores soft-tissue look-alikes (bladder, kidneys, an injection site off the bone).
        bone_scores.append(max(float(np.max(r.probability[r.regions.bone & r.coverage], initial=0.0))
                               for r in prediction.views.values()))
        bsi_true.append(truth_bsi(patient))
        bsi_pred.append(prediction.bsi_percent)
        scores.append(prediction.triage_score)
        positive.append(any(patient.masks[v].any() for v in patient.scan.view_names))
        print(f"  {k + 1}/{args.patients}: truth BSI {bsi_true[-1]:.3f} predicted {bsi_pred[-1]:.3f} "
              f"triage {scores[-1]:.3f} ({'lesion' if positive[-1] else 'none'}) {seconds[-1]:.2f} s", file=sys.stderr)

    dice = {view: class_dice(counts) for view, counts in overlap.items()}
    per_region = {REGION_CLASSES[i]: {view: (None if np.isnan(dice[view][i]) else round(float(dice[view][i]), 3))
                                      for view in dice} for i in range(1, classes)}
    mean_dice = {view: float(np.nanmean(values[1:])) for view, values in dice.items()}
    t, p = np.array(bsi_true), np.array(bsi_pred)
    r = float(stats.pearsonr(t, p)[0]) if len(t) > 2 and t.std() > 0 and p.std() > 0 else float("nan")
    labels = np.array(positive)

    def roc_auc(values) -> float:
        if not (labels.any() and (~labels).any()):
            return float("nan")
        ranks = stats.rankdata(values)
        return float((ranks[labels].sum() - labels.sum() * (labels.sum() + 1) / 2) / (labels.sum() * (~labels).sum()))

    auc, bone_auc = roc_auc(scores), roc_auc(bone_scores)
    result = {
        "patients": args.patients, "profile": args.profile, "seed": args.seed, "regions": args.regions,
        "mean_region_dice": mean_dice, "region_dice": per_region,
        "bsi": {"pearson_r": r, "mae": float(np.abs(t - p).mean()), "truth_mean": float(t.mean()),
                "predicted_mean": float(p.mean()), "truth": t.round(4).tolist(), "predicted": p.round(4).tolist()},
        "triage": {"auc": auc, "auc_bone_only": bone_auc, "with_lesion": int(labels.sum()), "without": int((~labels).sum())},
        "false_positives": {"per_view": sum(false_positives.values()) / max(views_seen, 1),
                            "by_kind": dict(false_positives.most_common()), "by_region": dict(fp_regions.most_common())},
        "seconds_per_scan_median": float(np.median(seconds)),
    }
    print(f"mean region Dice: " + ", ".join(f"{v} {d:.3f}" for v, d in mean_dice.items()))
    print(f"BSI: r = {r:.3f}, MAE = {result['bsi']['mae']:.3f} points (truth mean {t.mean():.3f}, predicted {p.mean():.3f})")
    print(f"triage AUC = {auc:.3f}, bone pixels only {bone_auc:.3f} ({labels.sum()} scans with a visible lesion, {(~labels).sum()} without)")
    print(f"false positives: {result['false_positives']['per_view']:.2f} per view; by kind {dict(false_positives)}")
    print(f"  by region {dict(fp_regions)}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=1) + "\n")
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4.2, 4.2))
        top = max(float(t.max()), float(p.max()), 0.5) * 1.05
        ax.plot([0, top], [0, top], color="0.6", lw=1)
        ax.scatter(t, p, s=14, color="#b2182b")
        ax.set_xlabel("truth BSI (phantom, %)")
        ax.set_ylabel("predicted BSI (%)")
        ax.set_title(f"{args.profile}, {args.patients} patients: r = {r:.2f}, MAE = {result['bsi']['mae']:.2f}", fontsize=9)
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        fig.tight_layout()
        fig.savefig(args.figure, dpi=120)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
