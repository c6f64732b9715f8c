"""Lesion extents for the Bone Scan Index, measured against the phantom's truth BSI (issue 15).

The network's outline (probability >= 0.5) is one way to say how much bone a lesion involves. Clinical BSI
tools (EXINI aBSI, BONENAVI; landscape.md) segment *hotspots* by intensity relative to normal bone first and
take the involved mass from them. This script compares extents on held-out phantom patients of several
profiles in one run: the network outputs (lesion probability, coverage, learned region map) are computed
once per patient and cached (``--cache``), so each extent costs only post-processing.

Per profile and extent: Pearson r and mean absolute error of the predicted against the truth BSI
(:func:`bench_wholebody.truth_bsi`, the same patients and seeds as ``bench_wholebody.py``), the pooled Dice
of the lesion outlines against the visible-lesion masks, false positives (outlined lesions touching no true
lesion, visible or not, as in ``bench_wholebody.py``) and visible lesions hit; then three upper bounds that
read the truth (:data:`BOUNDS`), to separate what a better extent could win from what only better detection can.

    OMP_NUM_THREADS=1 python benchmarks/bench_bsi.py --patients 30 --profiles default,randomised --threads 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
from scipy import ndimage as ndi
from scipy import stats
from skimage.measure import label

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_wholebody import truth_bsi  # noqa: E402
from scintiseg.phantom import generate_patient, profile  # noqa: E402
from scintiseg.predict.bsi import bone_scan_index  # noqa: E402
from scintiseg.predict.hotspots import hotspot_extent, hysteresis_components, regional_normal_bone  # noqa: E402
from scintiseg.predict.loader import load_model  # noqa: E402
from scintiseg.predict.pipeline import PredictSettings, model_probabilities, outline_lesions, window_mode  # noqa: E402
from scintiseg.predict.postprocess import lesion_components  # noqa: E402
from scintiseg.predict.region_model import predict_region_labels  # noqa: E402
from scintiseg.predict.regions import learned_regions  # noqa: E402

#: An extent: (probability, coverage, counts, regions) -> lesion mask.
Extent = Callable[..., np.ndarray]
#: A bound (not deployable: it reads the truth): (network mask, visible-lesion mask, instance map) -> lesion mask.
Bound = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _hotspot(seed_threshold: float = 0.5, low: float | None = None, **kwargs) -> Extent:
    def extent(prob, cov, counts, regions):
        seeds = (lesion_components(prob, seed_threshold, 4, cov) if low is None
                 else hysteresis_components(prob, low, seed_threshold, 4, cov))
        return hotspot_extent(seeds, counts, regions, cov, **kwargs)
    return extent


def _intensity(ratio: float, min_area_px: int = 16, min_probability: float = 0.0, sigma: float = 1.5) -> Extent:
    """Hotspots found by intensity alone, as clinical BSI tools segment them first, added to the network's lesions:
    the connected pixels of a region's bone whose counts (Gaussian ``sigma`` px) reach ``ratio`` x the region's
    normal-bone level (:func:`regional_normal_bone`), at least ``min_area_px`` pixels, and (``min_probability``)
    somewhere at least that lesion probability."""
    def extent(prob, cov, counts, regions):
        network = lesion_components(prob, 0.5, 4, cov)
        smooth = ndi.gaussian_filter(np.asarray(counts, np.float32), sigma)
        levels = np.nan_to_num(regional_normal_bone(smooth, regions, network, cov), nan=np.inf)
        hot = label(regions.bone & np.asarray(cov, bool) & (smooth >= ratio * levels[regions.labels.astype(np.int64)]),
                    connectivity=2)
        keep = np.bincount(hot.ravel()) >= min_area_px
        keep[0] = False
        if min_probability > 0 and hot.max():
            peak = ndi.maximum(np.nan_to_num(prob), hot, index=np.arange(hot.max() + 1))
            keep &= np.asarray(peak) >= min_probability
        return network | keep[hot]
    return extent


EXTENTS: dict[str, Extent] = {
    "network (p >= 0.5)": lambda prob, cov, counts, regions: lesion_components(prob, 0.5, 4, cov),
    "hysteresis 0.3": lambda prob, cov, counts, regions: hysteresis_components(prob, 0.3, 0.5, 4, cov),
    "hysteresis 0.2": lambda prob, cov, counts, regions: hysteresis_components(prob, 0.2, 0.5, 4, cov),
    "hysteresis 0.1": lambda prob, cov, counts, regions: hysteresis_components(prob, 0.1, 0.5, 4, cov),
    "hotspot half-max, region": _hotspot(fraction=0.5),
    "hotspot half-max, any bone": _hotspot(fraction=0.5, within="bone"),
    "hotspot 0.3-max, region": _hotspot(fraction=0.3),
    "hotspot 1.5 x normal, region": _hotspot(ratio=1.5, fraction=None),
    "hotspot 2.0 x normal, region": _hotspot(ratio=2.0, fraction=None),
    "hysteresis 0.2 + half-max": _hotspot(low=0.2, fraction=0.5),
    "seeds p >= 0.3 + half-max": _hotspot(seed_threshold=0.3, fraction=0.5),
    "hotspot half-max, ring background": _hotspot(fraction=0.5, background="ring"),
    "half-max within p >= 0.1": lambda prob, cov, counts, regions: (
        _hotspot(fraction=0.5)(prob, cov, counts, regions) & hysteresis_components(prob, 0.1, 0.5, 4, cov)),
    "half-max (ring) within p >= 0.1": lambda prob, cov, counts, regions: (
        _hotspot(fraction=0.5, background="ring")(prob, cov, counts, regions)
        & hysteresis_components(prob, 0.1, 0.5, 4, cov)),
    "network + intensity hotspots >= 1.5 x normal": _intensity(1.5),
    "network + intensity hotspots >= 2 x normal": _intensity(2.0),
    "network + intensity hotspots >= 1.5 x normal holding p >= 0.01": _intensity(1.5, min_probability=0.01),
}


def _hit_ids(network: np.ndarray, mask: np.ndarray, instances: np.ndarray) -> np.ndarray:
    ids = np.unique(instances[network & mask])
    return ids[ids > 0]


#: Upper bounds that read the truth, to tell what an extent can win from what only detection can: the
#: network's lesions with their false positives removed; the *truth* extents of the visible lesions the
#: network hit (a perfect extent of what it detects); every visible lesion (a perfect detector too).
BOUNDS: dict[str, Bound] = {
    "bound: network outlines, false positives removed": lambda net, mask, inst: net & np.isin(
        label(net, connectivity=2), np.unique(label(net, connectivity=2)[inst > 0])[1:]),
    "bound: truth extents of the lesions hit": lambda net, mask, inst: mask & np.isin(inst, _hit_ids(net, mask, inst)),
    "bound: truth extents of every visible lesion": lambda net, mask, inst: mask.copy(),
}


def cached_patient(cache: Path, profile_name: str, seed: int, index: int, model, network, settings) -> dict:
    """The network outputs and truth of one patient, from ``cache`` or computed and stored there."""
    path = cache / f"{profile_name}_{seed}.npz"
    if path.is_file():
        with np.load(path) as data:
            return dict(data)
    patient = generate_patient(seed, profile(profile_name), patient_id=f"WB{index}")
    probabilities, coverage, _ = model_probabilities(patient.scan, model, settings)
    record = {"truth_bsi": np.float64(truth_bsi(patient)), "views": np.array(list(probabilities))}
    for view in probabilities:
        counts = patient.scan.view(view)
        record |= {f"prob_{view}": probabilities[view].astype(np.float32), f"cov_{view}": coverage[view],
                   f"regions_{view}": predict_region_labels(network, counts, view, patient.scan.pixel_spacing),
                   f"counts_{view}": counts, f"mask_{view}": patient.masks[view],
                   f"instances_{view}": patient.instances[view]}
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **record)
    tmp.replace(path)
    return record


def evaluate(records: list[dict], extent: Extent, bound: Bound | None = None) -> dict:
    """BSI r / MAE, pooled Dice, false positives and visible lesions hit of one extent over ``records``."""
    truth, predicted = [], []
    overlap = predicted_px = truth_px = false_positives = hit = visible = views = 0
    missed_pmax: list[float] = []  # largest probability over each visible lesion the extent misses
    for record in records:
        values = []
        for view in record["views"]:
            view = str(view)
            counts, prob, cov = record[f"counts_{view}"], record[f"prob_{view}"], record[f"cov_{view}"]
            regions = learned_regions(counts, view, record[f"regions_{view}"])
            mask, instances = record[f"mask_{view}"], record[f"instances_{view}"]
            lesions = extent(prob, cov, counts, regions)
            if bound is not None:
                lesions = bound(lesions, mask, instances)
            _, labels = outline_lesions(lesions)
            values.append(bone_scan_index(labels > 0, regions, cov).bsi_percent)
            predicted_mask = labels > 0
            overlap += int((predicted_mask & mask).sum())
            predicted_px += int(predicted_mask.sum())
            truth_px += int(mask.sum())
            touched = np.bincount(labels[instances > 0].ravel(), minlength=int(labels.max()) + 1)
            present = np.bincount(labels.ravel(), minlength=int(labels.max()) + 1)
            false_positives += int(((present > 0) & (touched == 0))[1:].sum())
            ids = np.unique(instances[mask])
            visible += len(ids)
            found = np.unique(instances[predicted_mask])
            hit += len(np.intersect1d(ids, found))
            prob0 = np.nan_to_num(prob, nan=0.0)
            missed_pmax += [float(prob0[(instances == i) & mask].max()) for i in np.setdiff1d(ids, found)]
            views += 1
        truth.append(float(record["truth_bsi"]))
        predicted.append(float(np.mean(values)))
    t, p = np.array(truth), np.array(predicted)
    r = float(stats.pearsonr(t, p)[0]) if t.std() > 0 and p.std() > 0 else float("nan")
    return {"pearson_r": r, "missed_pmax": missed_pmax, "mae": float(np.abs(t - p).mean()), "truth_mean": float(t.mean()),
            "predicted_mean": float(p.mean()), "dice_pooled": 2 * overlap / max(predicted_px + truth_px, 1),
            "false_positives": false_positives, "fp_per_view": false_positives / max(views, 1),
            "visible_hit": hit, "visible": visible, "predicted": p.round(4).tolist(), "truth": t.round(4).tolist()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=30)
    parser.add_argument("--seed", type=int, default=910_000, help="first patient seed (held out)")
    parser.add_argument("--profiles", default="default,randomised")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", default="/tmp/scintiseg_bsi_cache", help="folder of cached network outputs")
    parser.add_argument("--extents", default=None, help="comma-separated subset of the extents (default: all)")
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args(argv)

    import torch  # lazy: start-up time: only a run needs torch, not --help or the tests' import

    torch.set_num_threads(args.threads)
    model = load_model(engine="torch")
    settings = PredictSettings(regions="learned")
    settings = replace(settings, window=window_mode(settings, model))
    network = settings.region_network()
    names = list(EXTENTS) if args.extents is None else [n.strip() for n in args.extents.split(",")]
    results: dict[str, dict] = {}
    for profile_name in args.profiles.split(","):
        started = time.perf_counter()
        records = [cached_patient(Path(args.cache), profile_name, args.seed + k, k, model, network, settings)
                   for k in range(args.patients)]
        print(f"{profile_name}: {len(records)} patients ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        results[profile_name] = {}
        print(f"\n{profile_name} ({args.patients} patients, seeds {args.seed}-{args.seed + args.patients - 1})")
        print("| extent | r | MAE | predicted mean (truth) | pooled Dice | FP (per view) | visible lesions hit |")
        print("|---|---|---|---|---|---|---|")
        for name in names:
            m = evaluate(records, EXTENTS[name])
            results[profile_name][name] = m
            print(f"| {name} | {m['pearson_r']:.3f} | {m['mae']:.3f} | {m['predicted_mean']:.3f} ({m['truth_mean']:.3f}) "
                  f"| {m['dice_pooled']:.3f} | {m['false_positives']} ({m['fp_per_view']:.2f}) "
                  f"| {m['visible_hit']} / {m['visible']} |", flush=True)
        missed = np.array(results[profile_name][names[0]]["missed_pmax"])
        print(f"\n{names[0]}: {missed.size} visible lesions missed, {(missed < 0.05).sum()} of them with a largest "
              f"probability under 0.05, {((missed >= 0.05) & (missed < 0.5)).sum()} between 0.05 and 0.5\n")
        for name, bound in BOUNDS.items():
            m = evaluate(records, EXTENTS["network (p >= 0.5)"], bound)
            results[profile_name][name] = m
            print(f"| {name} | {m['pearson_r']:.3f} | {m['mae']:.3f} | {m['predicted_mean']:.3f} ({m['truth_mean']:.3f}) "
                  f"| {m['dice_pooled']:.3f} | - | - |", flush=True)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
