"""Pseudo-label quality where the truth is known: phantom scans -> predict -> import --pseudo-labels P -> compare.

    OMP_NUM_THREADS=1 python benchmarks/bench_pseudo_labels.py --seeds 100 116 --thresholds 0.5,0.9,0.97

Generates default-profile phantom patients (seeds ``[start, stop)``), predicts them with the shipped model
(``scintiseg predict``), imports scans + predictions with ``scintiseg dataset import --pseudo-labels P`` for
each P, and scores every view taken as a pseudo-label against the phantom's visible-lesion mask: pixel DSC
pooled over the taken views, true lesions missed (8-connected), false lesions, and lesion-free pseudo-labels
that hide a true lesion. Work files go to ``--work`` (a temporary folder by default).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from scintiseg.cli import main as cli
from scintiseg.io.dataset import load_case, load_manifest
from scintiseg.io.dicom import write_dicom
from scintiseg.phantom import generate_patient, profile


def score(site: Path, truth: dict) -> dict:
    """Pooled pixel DSC and lesion counts of the pseudo-labelled views of data set ``site``."""
    stats = {"views": 0, "tp": 0, "fp": 0, "fn": 0, "lesions": 0, "missed": 0, "false": 0, "empty": 0, "empty_with_truth": 0}
    for case in load_manifest(site).cases:
        _, masks = load_case(site, case)
        for view in case.meta.get("pseudo", []):
            pred, gt = masks[view], truth[case.case_id][view]
            stats["views"] += 1
            stats["tp"] += int((pred & gt).sum())
            stats["fp"] += int((pred & ~gt).sum())
            stats["fn"] += int((~pred & gt).sum())
            lab, n = ndi.label(gt, np.ones((3, 3)))
            stats["lesions"] += n
            stats["missed"] += sum(1 for k in range(1, n + 1) if not pred[lab == k].any())
            plab, m = ndi.label(pred, np.ones((3, 3)))
            stats["false"] += sum(1 for k in range(1, m + 1) if not gt[plab == k].any())
            if not pred.any():
                stats["empty"] += 1
                stats["empty_with_truth"] += int(gt.any())
    stats["dsc"] = 2 * stats["tp"] / max(1, 2 * stats["tp"] + stats["fp"] + stats["fn"])
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs=2, default=(100, 116), metavar=("START", "STOP"))
    parser.add_argument("--thresholds", default="0.5,0.9,0.97")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="pseudo_"))
    scans = work / "scans"
    scans.mkdir(parents=True, exist_ok=True)
    seeds = range(*args.seeds)
    truth = {}
    for seed in seeds:
        patient = generate_patient(seed, profile("default"), patient_id=f"PID-{seed}")
        write_dicom(patient.scan, scans / f"S{seed}.dcm")
        truth[f"S{seed}"] = patient.masks
    if cli(["predict", *[str(scans / f"S{s}.dcm") for s in seeds], "--out", str(work / "pred"), "--quiet"]) != 0:
        return 1
    print("| P | views taken | pixel DSC | true lesions missed | false lesions | lesion-free views (hiding a lesion) |")
    print("|---|---|---|---|---|---|")
    for threshold in args.thresholds.split(","):
        site = work / f"site{threshold}"
        if cli(["dataset", "import", str(scans), str(work / "pred"), "--out", str(site), "--pseudo-labels", threshold]) != 0:
            return 1
        s = score(site, truth)
        print(f"| {threshold} | {s['views']} of {2 * len(seeds)} | {s['dsc']:.2f} | {s['missed']} of {s['lesions']} | "
              f"{s['false']} | {s['empty']} ({s['empty_with_truth']}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
