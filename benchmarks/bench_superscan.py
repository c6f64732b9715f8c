"""The superscan pattern's measure on normal, grade-3 and superscan patients, and on NM1.

    OMP_NUM_THREADS=2 python benchmarks/bench_superscan.py [--profiles default randomised shifted] [--patients 60]
        [--independent 60] [--json-out X.json]

:mod:`scintiseg.predict.superscan` reads each whole-body view's axial-to-distal ratio (the median counts of the
axial bones over those of the lower legs, on the shipped learned region map) and flags the scan where the deciding
view (POST, else ANT) reaches its cut. This benchmark reads the ratio as the pipeline does
(:func:`scintiseg.predict.pipeline.analyse_counts` with the shipped region network, then
:func:`~scintiseg.predict.superscan.axial_to_distal`) on, per ``--profiles`` phantom profile,

- ``drawn``: ``--patients`` patients as the profile draws them (a superscan among them counts as one);
- ``grade3``: a quarter as many with more than 20 lesions and no superscan (the most disease short of one);
- ``superscan``: half as many superscans (Soloway grade 4: the axial bones' uptake raised 1.8-3 fold, kidneys
  faint, 21-40 lesions: :func:`scintiseg.phantom.lesions.apply_superscan`);

and on ``--independent`` patients of the independently built phantom (``independent_phantom.py``: no superscans, its
own normal variation) and the real NM1 scan (ANT only). It prints per group and view the ratio's spread and how many
scans are flagged. One run: seeds fixed, so a second run prints the same.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from scintiseg.io import read_scan
from scintiseg.phantom import generate_patient, profile
from scintiseg.predict.pipeline import analyse_counts
from scintiseg.predict.region_model import load_region_model
from scintiseg.predict.superscan import AXIAL_TO_DISTAL_CUT, axial_to_distal, superscan_pattern
from scintiseg.scan import Scan

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # sibling scripts import by name (as when run)
import independent_phantom  # noqa: E402  (a sibling script: the independently built phantom)
from bench_independent import case_scan  # noqa: E402

NM1 = HERE.parent.parent / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"
#: First seed of each group (held apart from the seeds of the other benchmarks).
SEEDS = {"drawn": 970000, "grade3": 975000, "superscan": 980000, "independent": 100}


def ratios(scan: Scan, network) -> dict[str, float]:
    """Each view's axial-to-distal ratio, as the pipeline reads it."""
    analysis = analyse_counts(scan, list(scan.view_names), network)
    return {view: axial_to_distal(scan.view(view), regions, scan.pixel_spacing)
            for view, regions in analysis.regions.items()}


def phantom_cases(name: str, patients: int):
    """``(group, truth superscan, scan)`` of one profile's three groups (module docstring)."""
    config = profile(name)
    for seed in range(SEEDS["drawn"], SEEDS["drawn"] + patients):
        patient = generate_patient(seed, config)
        yield "drawn", bool(patient.meta["superscan"]), patient.scan
    for group, grade, count in (("grade3", 3, patients // 4), ("superscan", 4, patients // 2)):
        forced = replace(config, lesions=replace(config.lesions, p_normal=0.0, soloway={grade: 1.0}))
        for seed in range(SEEDS[group], SEEDS[group] + count):
            yield group, grade == 4, generate_patient(seed, forced).scan


def independent_cases(patients: int):
    for seed in range(SEEDS["independent"], SEEDS["independent"] + patients):
        yield "drawn", False, case_scan(independent_phantom.make_case(seed), f"IP{seed}")


def spread(values: list[float]) -> dict | None:
    x = np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)
    if not x.size:
        return None
    return {"n": int(x.size), "min": round(float(x.min()), 3), "p5": round(float(np.percentile(x, 5)), 3),
            "median": round(float(np.median(x)), 3), "p95": round(float(np.percentile(x, 95)), 3),
            "max": round(float(x.max()), 3)}


def run(args) -> dict:
    network = load_region_model()
    sources = {name: (lambda name=name: phantom_cases(name, args.patients)) for name in args.profiles}
    if args.independent:
        sources["independent"] = lambda: independent_cases(args.independent)
    if args.nm1 and NM1.exists():
        sources["nm1"] = lambda: iter([("drawn", False, read_scan(NM1))])
    rows = []
    for source, cases in sources.items():
        groups: dict[tuple[str, bool], dict] = {}
        for group, truth, scan in cases():
            found = ratios(scan, network)
            entry = groups.setdefault((group, truth), {"views": {}, "scans": 0, "flagged": 0})
            entry["scans"] += 1
            entry["flagged"] += int(superscan_pattern(found))
            for view, value in found.items():
                entry["views"].setdefault(view, []).append(value)
        for (group, truth), entry in groups.items():
            row = {"source": source, "group": group, "superscan": truth, "scans": entry["scans"],
                   "flagged": entry["flagged"], "views": {v: spread(x) for v, x in entry["views"].items()}}
            rows.append(row)
            views = "; ".join(f"{v} " + (f"{s['min']:.2f} / {s['median']:.2f} / {s['max']:.2f} (n {s['n']})" if s
                                          else "not measured") for v, s in row["views"].items())
            print(f"{source:12s} {group:9s} superscan={truth!s:5s} flagged {entry['flagged']:3d} of "
                  f"{entry['scans']:3d}   ratio min / median / max: {views}", flush=True)
    return {"benchmark": "bench_superscan", "cuts": AXIAL_TO_DISTAL_CUT, "patients": args.patients,
            "independent": args.independent, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", nargs="*", default=["default", "randomised", "shifted"])
    parser.add_argument("--patients", type=int, default=60, help="drawn patients per profile")
    parser.add_argument("--independent", type=int, default=60, help="independent-phantom patients (0: none)")
    parser.add_argument("--no-nm1", dest="nm1", action="store_false", help="leave the real NM1 scan out")
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args(argv)
    result = run(args)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
