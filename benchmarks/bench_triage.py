"""Which score ranks scans with lesions above scans without: the triage score or the lesion burden (issue 15).

The triage score of ``report.json`` and ``summary.csv`` is the largest lesion probability of the scan (the
chance that it holds a lesion). A worklist might instead be sorted by how much disease the model found: the
scan's predicted Bone Scan Index (``bsi_percent``, mean over views) or its summed lesion probability (the
probability summed over the predicted lesions' pixels, mean over views). This script measures the ROC AUC of
the three on held-out phantom patients (a scan is positive when any view holds a visible lesion) or on the
NM1 hybrid views of ``bench_wholebody.py --source nm1`` (the same cases: seeds 60000.., 50 % of NM1's counts;
a view with lesions counts only when one of them is visible), with a paired bootstrap of each burden score's
AUC minus the triage score's (resampling scans, 2,000 resamples).

Usage::

    OMP_NUM_THREADS=2 python benchmarks/bench_triage.py --profile default --patients 100 --seed 950000
    OMP_NUM_THREADS=2 python benchmarks/bench_triage.py --source nm1 --nm1-cases 30 --nm1-negatives 30

Prints one JSON line: the AUCs, the counts, and ``[mean, 2.5 %, 97.5 %]`` of each difference.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy import stats

from scintiseg.io import read_scan
from scintiseg.phantom import generate_patient, profile
from scintiseg.phantom.hybrid import make_hybrid_case, prepare_source
from scintiseg.predict.loader import load_model
from scintiseg.predict.pipeline import PredictSettings, predict_scan

#: The real scan of the NM1 mode (as bench_wholebody.py).
NM1 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"
#: The scores compared; the first is the triage score.
SCORES = ("triage", "bsi", "summed_probability")


def roc_auc(scores, labels) -> float:
    """Mann-Whitney ROC AUC (ties count half)."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels, dtype=bool)
    ranks = stats.rankdata(scores)
    n1, n0 = labels.sum(), (~labels).sum()
    return float((ranks[labels].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def scan_scores(prediction) -> dict[str, float]:
    """The triage score and the two burden scores of one prediction (module docstring)."""
    views = list(prediction.views.values())
    return {
        "triage": prediction.triage_score,
        "bsi": float(np.mean([v.bsi["bsi_percent"] for v in views])),
        "summed_probability": float(np.mean([v.probability[v.mask].sum() for v in views])),
    }


def cases(args, model, settings):
    """(scores, positive) of every case of the chosen source."""
    if args.source == "phantom":
        config = profile(args.profile)
        for k in range(args.patients):
            patient = generate_patient(args.seed + k, config)
            positive = any(patient.masks[view].any() for view in patient.scan.view_names)
            yield scan_scores(predict_scan(patient.scan, model, settings)), positive
        return
    source = prepare_source(read_scan(NM1))
    for k in range(args.nm1_cases + args.nm1_negatives):
        negative = k >= args.nm1_cases
        case = make_hybrid_case(source, args.nm1_level, args.nm1_seed + k, negative=negative)
        if negative or case.masks["ANT"].any():
            yield scan_scores(predict_scan(case.scan, model, settings)), not negative


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("phantom", "nm1"), default="phantom")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--seed", type=int, default=950_000, help="first patient seed (held out)")
    parser.add_argument("--nm1-cases", type=int, default=30)
    parser.add_argument("--nm1-negatives", type=int, default=30)
    parser.add_argument("--nm1-seed", type=int, default=60_000)
    parser.add_argument("--nm1-level", type=float, default=0.5)
    parser.add_argument("--model", default=None, help="lesion model (default: the shipped one)")
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args(argv)

    rows, labels = [], []
    for scores, positive in cases(args, load_model(args.model, engine="torch"), PredictSettings()):
        rows.append(scores)
        labels.append(positive)
        print(f"  {len(rows)}: {'lesion' if positive else 'none'} {scores}", file=sys.stderr)
    labels_arr = np.asarray(labels, dtype=bool)
    if labels_arr.all() or not labels_arr.any():
        print("need cases with and without lesions", file=sys.stderr)
        return 1
    values = {name: np.asarray([row[name] for row in rows]) for name in SCORES}
    out: dict = {"source": args.source, "profile": args.profile if args.source == "phantom" else None,
                 "cases": len(rows), "positives": int(labels_arr.sum()), "negatives": int((~labels_arr).sum())}
    out |= {name: round(roc_auc(values[name], labels_arr), 3) for name in SCORES}
    rng = np.random.default_rng(0)
    for name in SCORES[1:]:
        diffs = []
        for _ in range(args.resamples):
            pick = rng.integers(0, len(rows), len(rows))
            if labels_arr[pick].all() or not labels_arr[pick].any():
                continue
            diffs.append(roc_auc(values[name][pick], labels_arr[pick]) - roc_auc(values["triage"][pick], labels_arr[pick]))
        out[f"{name} - triage"] = [round(float(np.mean(diffs)), 3), round(float(np.percentile(diffs, 2.5)), 3),
                                   round(float(np.percentile(diffs, 97.5)), 3)]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
