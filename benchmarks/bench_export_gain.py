"""How often the counts behind an 8-bit export are read from its histogram's comb, and how well.

Usage (2 CPU cores, about 20 s)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_export_gain.py [--seeds 1001,1002,1003,1004] \
        [--fractions 0.3,0.6,1] [--gains 1.2,2,3] [--qualities 0,100,95,75] [--seed 0] [--json-out PATH]

Sources: the real NEMA NM1 whole-body ANT view (3.6 M counts) and default-profile phantom patients
(:func:`scintiseg.phantom.generate_patient`, ANT view as its scan holds it, 0.8-4 M counts). Each is binomially
thinned (:func:`scintiseg.prepare.thinning.binomial_thin`) to every ``--fractions`` share of its counts and exported
in 8 bits at every ``--gains`` value (grey levels per count, :func:`scintiseg.prepare.degrade.export_8bit` with
``gain``: the hottest pixels clip at 255 where ``gain x counts`` passes it), lossless (quality 0) and through every
JPEG ``--qualities`` value. For each export, :func:`scintiseg.prepare.export_gain.estimate_export_gain`.

Reported per source kind (NM1, phantom) and export: how many estimates were returned, the largest error of the gain
and of the total counts (the thinned view's true sum) among them, and how many were clipped (a lower bound; their
total's error is given apart, as the largest shortfall). And the estimate's cost on NM1's 8-bit export (thinned to
0.3, gain 2, lossless; median of 50 calls). Results: docs/prepare.md "Counts of an 8-bit export".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from scintiseg.io import read_scan
from scintiseg.phantom import generate_patient
from scintiseg.prepare.degrade import export_8bit
from scintiseg.prepare.export_gain import estimate_export_gain
from scintiseg.prepare.thinning import binomial_thin

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"


def _floats(text: str) -> list[float]:
    return [float(value) for value in text.split(",") if value]


def sources(seeds: list[int]) -> list[tuple[str, np.ndarray]]:
    """(kind, counts) of NM1's ANT view and each phantom patient's."""
    found = [("NM1", np.asarray(read_scan(REAL).view("ANT"), dtype=np.int64))]
    found += [("phantom", np.asarray(generate_patient(seed).scan.view("ANT"), dtype=np.int64)) for seed in seeds]
    return found


def measure(found: list[tuple[str, np.ndarray]], fractions: list[float], gains: list[float], qualities: list[int],
            rng: np.random.Generator) -> list[dict]:
    """One record per source, fraction, gain and quality."""
    records = []
    for kind, counts in found:
        for fraction in fractions:
            thinned = counts if fraction >= 1 else binomial_thin(counts, fraction, rng)
            truth = float(thinned.sum())
            for gain in gains:
                clips = gain * float(thinned.max()) > 255.5
                for quality in qualities:
                    grey = export_8bit(thinned, gain=gain, jpeg_quality=quality or None)
                    estimate = estimate_export_gain(grey)
                    records.append({
                        "kind": kind, "fraction": fraction, "counts": truth, "gain": gain, "quality": quality,
                        "clips": clips, "returned": estimate is not None,
                        "gain_error": None if estimate is None else estimate.gain / gain - 1,
                        "total_error": None if estimate is None else estimate.counts_total / truth - 1,
                        "lower_bound": None if estimate is None else estimate.lower_bound,
                    })
    return records


def summarise(records: list[dict]) -> list[dict]:
    """Per kind, gain and quality: returned / made, largest |gain error|, largest |total error| unclipped, largest
    shortfall of a clipped (lower-bound) total."""
    rows = []
    keys = sorted({(r["kind"], r["quality"], r["gain"]) for r in records}, key=lambda k: (k[0], -k[1] if k[1] else -101, k[2]))
    for kind, quality, gain in keys:
        group = [r for r in records if (r["kind"], r["quality"], r["gain"]) == (kind, quality, gain)]
        got = [r for r in group if r["returned"]]
        whole = [abs(r["total_error"]) for r in got if not r["clips"]]
        short = [-r["total_error"] for r in got if r["clips"]]
        rows.append({
            "kind": kind, "export": "lossless" if not quality else f"JPEG {quality}", "gain": gain,
            "returned": f"{len(got)}/{len(group)}",
            "gain_error_max_pct": round(100 * max((abs(r["gain_error"]) for r in got), default=float("nan")), 2),
            "total_error_max_pct": round(100 * max(whole, default=float("nan")), 2),
            "clipped": sum(r["clips"] for r in got),
            "clipped_shortfall_max_pct": round(100 * max(short, default=float("nan")), 2),
        })
    return rows


def cost_ms(counts: np.ndarray, rng: np.random.Generator) -> float:
    """Median time of one estimate on NM1's 8-bit export (thinned to 0.3, gain 2, lossless), ms."""
    grey = export_8bit(binomial_thin(counts, 0.3, rng), gain=2.0)
    times = []
    for _ in range(50):
        start = time.perf_counter()
        estimate_export_gain(grey)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1001,1002,1003,1004", help="phantom seeds (comma-separated)")
    parser.add_argument("--fractions", default="0.3,0.6,1", help="binomial thinning shares (comma-separated)")
    parser.add_argument("--gains", default="1.2,2,3", help="grey levels per count (comma-separated)")
    parser.add_argument("--qualities", default="0,100,95,75", help="JPEG qualities, 0 = lossless (comma-separated)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the thinning")
    parser.add_argument("--json-out", default=None, help="write the records and the summary here")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    found = sources([int(s) for s in args.seeds.split(",") if s])
    records = measure(found, _floats(args.fractions), _floats(args.gains),
                      [int(q) for q in _floats(args.qualities)], rng)
    rows = summarise(records)
    print("| source | export | gain | returned | gain error, max % | total error, max % (unclipped) | clipped "
          "| clipped total's shortfall, max % |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['kind']} | {row['export']} | {row['gain']:g} | {row['returned']} | {row['gain_error_max_pct']} | "
              f"{row['total_error_max_pct']} | {row['clipped']} | {row['clipped_shortfall_max_pct']} |")
    cost = cost_ms(found[0][1], rng)
    print(f"cost on NM1's 8-bit export (1024 x 256, thinned to 0.3, gain 2, lossless): {cost:.2f} ms, median of 50")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"records": records, "summary": rows, "cost_ms": cost}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
