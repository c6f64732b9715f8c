"""Can a simple rule on the predicted lesions tell the lesions from the false positives? (issue 15)

Per predicted lesion (8-connected component of the thresholded probability) on held-out phantom patients and on
the NM1 hybrid views of ``bench_wholebody.py --source nm1`` (seeds 60000.., 50 % of NM1's counts), the
script records whether it touches a true lesion (a lesion; else a false positive, as in bench_wholebody) and
four candidate features (:func:`component_features`):

* ``peak``: its largest probability (a hysteresis rule: keep a component only when its core is confident);
* ``area``: its size in pixels (a larger minimum area than the pipeline's 4 px);
* ``mirror``: the mean smoothed counts under it over those under its mirror image about the body's midline (the
  count-weighted mean column of the rows it spans; Gaussian sigma 3 px): a lesion is usually one-sided, normal
  bone and bilateral degeneration are not. Components within :data:`MIDLINE_PX` of the midline mirror onto
  themselves and are left out of this feature.
* ``paired``: 1 when the pipeline pairs it with a lesion of the other view (:mod:`scintiseg.predict.pairing`), else
  0: a lesion in bone shows on both heads, a count fluctuation on one. Only for scans with both views: the
  phantom's (NM1 has an ANT view only, so its records have none).

For each feature and each cut it prints the share of lesions and of false positives a rule "feature >= cut"
keeps (:func:`keep_fractions`), per source: a rule is worth having only where it keeps most lesions and few
false positives on the real background, not only on the phantom.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/bench_candidates.py --patients 40 --model M --json-out X.json

Results: docs/robustness.md ("Fainter, larger lesions in training"; the paired feature: "A second look at each
candidate").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

from scintiseg.io import read_scan
from scintiseg.phantom import generate_patient, profile
from scintiseg.phantom.hybrid import make_hybrid_case, prepare_source
from scintiseg.predict.loader import load_model
from scintiseg.predict.pipeline import PredictSettings, predict_scan

#: The real scan of the NM1 mode (as bench_wholebody.py).
NM1 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"
#: A component whose centre lies closer than this to the midline (px) gets no mirror ratio.
MIDLINE_PX = 15
#: Smoothing of the counts before the mirror ratio (Gaussian sigma, px).
MIRROR_SIGMA_PX = 3.0
#: The cuts printed per feature.
CUTS: dict[str, tuple[float, ...]] = {"peak": (0.8, 0.9, 0.95, 0.99), "area": (8, 16, 32),
                                      "mirror": (1.1, 1.2, 1.3, 1.5), "paired": (1,)}


def component_features(counts: np.ndarray, labels: np.ndarray, probability: np.ndarray,
                       truth: np.ndarray, paired: set[int] | None = None) -> list[dict]:
    """One record per predicted lesion of ``labels`` (0 = none): ``lesion`` (it touches ``truth``), ``peak``,
    ``area``, ``mirror`` (None near the midline) and ``paired`` (1 when its label is in ``paired``, 0 when not,
    None when ``paired`` is None: a scan with one view); module docstring."""
    smooth = ndimage.gaussian_filter(np.asarray(counts, dtype=float), MIRROR_SIGMA_PX)
    probability = np.nan_to_num(np.asarray(probability, dtype=float), nan=0.0)
    columns = np.arange(smooth.shape[1])
    out = []
    for index in np.unique(labels[labels > 0]):
        mask = labels == index
        rows, cols = np.nonzero(mask)
        profile_ = smooth[rows.min():rows.max() + 1].sum(axis=0)
        midline = float((profile_ * columns).sum() / max(profile_.sum(), 1e-12))
        mirror = None
        if abs(cols.mean() - midline) >= MIDLINE_PX:
            mirrored = np.clip(np.round(2 * midline - cols).astype(int), 0, smooth.shape[1] - 1)
            mirror = float(smooth[rows, cols].mean() / max(smooth[rows, mirrored].mean(), 1e-12))
        out.append({"lesion": bool((mask & truth).any()), "peak": float(probability[mask].max()),
                    "area": int(mask.sum()), "mirror": mirror,
                    "paired": None if paired is None else int(int(index) in paired)})
    return out


def keep_fractions(records: list[dict], feature: str, cuts: tuple[float, ...]) -> dict[str, dict]:
    """Per cut, the share of lesions and of false positives whose ``feature`` reaches it (records without the
    feature left out), with the counts they are shares of."""
    kept = [r for r in records if r[feature] is not None]
    lesions = np.array([r[feature] for r in kept if r["lesion"]], dtype=float)
    false = np.array([r[feature] for r in kept if not r["lesion"]], dtype=float)

    def share(values: np.ndarray, cut: float) -> float | None:
        return round(float((values >= cut).mean()), 3) if values.size else None

    return {str(cut): {"lesions": share(lesions, cut), "false_positives": share(false, cut)} for cut in cuts} | {
        "n": {"lesions": int(lesions.size), "false_positives": int(false.size)}}


def paired_ids(prediction, view: str) -> set[int] | None:
    """The ids of ``view``'s lesions that the prediction pairs with the other view (None without both views)."""
    if set(prediction.views) != {"ANT", "POST"}:
        return None
    return {pair.ant_id if view == "ANT" else pair.post_id for pair in prediction.pairs}


def scan_records(scan, prediction, instances: dict[str, np.ndarray]) -> list[dict]:
    """The records of every view of one predicted scan (``instances``: the truth's lesion labels per view)."""
    return [record for view, result in prediction.views.items()
            for record in component_features(scan.view(view), result.labels, result.probability,
                                             instances[view] > 0, paired_ids(prediction, view))]


def phantom_records(model, settings, patients: int, seed: int, profile_name: str) -> list[dict]:
    config, out = profile(profile_name), []
    for k in range(patients):
        patient = generate_patient(seed + k, config, patient_id=f"C{k}")
        out += scan_records(patient.scan, predict_scan(patient.scan, model, settings), patient.instances)
        print(f"  phantom {k + 1}/{patients}", file=sys.stderr)
    return out


def nm1_records(model, settings, cases: int, negatives: int, seed: int, level: float) -> list[dict]:
    source, out = prepare_source(read_scan(NM1)), []
    for k in range(cases + negatives):
        case = make_hybrid_case(source, level, seed + k, negative=k >= cases)
        out += scan_records(case.scan, predict_scan(case.scan, model, settings), case.instances)
        print(f"  NM1 {k + 1}/{cases + negatives}", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="lesion model (default: the shipped one)")
    parser.add_argument("--patients", type=int, default=40)
    parser.add_argument("--seed", type=int, default=910_000, help="first phantom patient seed (held out)")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--nm1-cases", type=int, default=30)
    parser.add_argument("--nm1-negatives", type=int, default=30)
    parser.add_argument("--nm1-seed", type=int, default=60_000)
    parser.add_argument("--nm1-level", type=float, default=0.5)
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args(argv)
    model, settings = load_model(args.model, engine="torch"), PredictSettings()
    sources = {"phantom": phantom_records(model, settings, args.patients, args.seed, args.profile)}
    if NM1.is_file():
        sources["nm1"] = nm1_records(model, settings, args.nm1_cases, args.nm1_negatives, args.nm1_seed,
                                     args.nm1_level)
    result = {"model": args.model, "patients": args.patients, "seed": args.seed, "profile": args.profile,
              "sources": {name: {feature: keep_fractions(records, feature, cuts) for feature, cuts in CUTS.items()}
                          for name, records in sources.items()}}
    for name, table in result["sources"].items():
        for feature, rows in table.items():
            n = rows["n"]
            cells = ", ".join(f">= {cut}: {row['lesions']} / {row['false_positives']}"
                              for cut, row in rows.items() if cut != "n")
            print(f"{name} {feature} ({n['lesions']} lesions / {n['false_positives']} false positives kept): {cells}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
