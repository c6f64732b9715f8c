"""How stable is each intensity normalisation across count levels and 8-bit exports?

Usage (2 CPU cores, about a minute)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_normalisation.py [--seeds 1001,1002,1003,1004] \
        [--levels 6,3,1,0.5,0.15] [--seed 0] [--sweep] [--json-out PATH]

Sources: default-profile phantom patients (:func:`scintiseg.phantom.generate_patient`, ANT view) and the
real NEMA NM1 whole-body ANT view. Versions of each source:

* **count levels** ``--levels`` (million counts per view): a phantom patient is first drawn at the highest
  level as ``Poisson(expected)`` from its noise-free expected counts (its own scan holds 0.8-4 M), then
  binomially thinned (:func:`scintiseg.prepare.thinning.binomial_thin`) to each level. NM1 (3.6 M) is
  thinned to every level it holds (6 M is out of reach and left out);
* **8-bit exports** of each level (:func:`scintiseg.prepare.degrade.export_8bit`) with a window top of
  0.3-1.0 of the maximum and JPEG quality 60-95, both drawn from ``--seed`` (the ranges of
  :func:`scintiseg.prepare.degrade.random_export`).

For each normalisation method and source, over all versions (levels and exports): the mean of the normalised
values in the body and in a lesion-free bone region (phantom: lumbar spine, pelvis and femurs of its region
map, minus every lesion grown by 5 px; NM1: the body pixels between the 85th and 97th percentile of its
smoothed full-count image, a bone-ridge proxy below the bladder) with the body and bone masks fixed
from the highest-count version. Reported:

* ``CV body`` / ``CV bone``: the coefficient of variation (std / mean, across versions) of those means. For
  a linear method this is the CV of ``count ratio / scale``: 0 when the scale follows the count level
  exactly. Undefined for ``zscore``'s body mean (0 by construction);
* ``spread``: the std across versions of the normalised bone mean in units of the method's own mean
  bone-minus-body difference: comparable between linear and non-linear methods (``log``, ``zscore``).

The numbers are the mean over sources (and the worst source). ``--sweep`` also compares ``robust``'s
smoothing and percentile. Results: docs/prepare.md "Intensity normalisation".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from scintiseg.io import read_scan
from scintiseg.phantom import generate_patient
from scintiseg.phantom.regions import REGION_IDS
from scintiseg.prepare.body import body_mask
from scintiseg.prepare.degrade import JPEG_QUALITY_RANGE, SATURATION_RANGE, export_8bit
from scintiseg.prepare.intensity import normalise
from scintiseg.prepare.thinning import binomial_thin

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"
METHODS = ("percentile", "robust", "zscore", "log")
BONE_REGIONS = ("lumbar_spine", "pelvis", "femur_left", "femur_right")
SWEEP = [(s, p) for s in (3.0, 6.0, 10.0) for p in (90.0, 95.0, 99.0)]


def phantom_source(seed: int, top_level: float, rng: np.random.Generator) -> dict:
    patient = generate_patient(seed)
    expected = np.asarray(patient.expected["ANT"], dtype=np.float64)
    counts = rng.poisson(expected * (top_level / expected.sum())).astype(np.float64)
    region_ids = [REGION_IDS[name] for name in BONE_REGIONS]
    lesions = ndi.binary_dilation(patient.instances["ANT"] > 0, iterations=5)
    bone = np.isin(patient.regions["ANT"], region_ids) & ~lesions
    spacing = patient.scan.pixel_spacing
    return {"name": f"phantom {seed}", "counts": counts, "bone": bone, "spacing": spacing}


def real_source() -> dict:
    scan = read_scan(REAL)
    counts = np.asarray(scan.view("ANT"), dtype=np.float64)
    body = body_mask(counts, scan.pixel_spacing)
    smooth = ndi.gaussian_filter(counts, 6.0 / scan.pixel_spacing[0])
    low, high = np.percentile(smooth[body], [85, 97])
    bone = body & (smooth >= low) & (smooth <= high)
    return {"name": "NM1", "counts": counts, "bone": bone, "spacing": scan.pixel_spacing}


def versions(source: dict, levels: list[float], rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    """(label, image) for every count level the source holds and an 8-bit export of each."""
    counts, total = source["counts"], float(source["counts"].sum())
    out = []
    for level in sorted(levels, reverse=True):
        if level > total * 1.01:
            continue
        thinned = binomial_thin(counts, min(level / total, 1.0), rng).astype(np.float32)
        out.append((f"{level / 1e6:g}M", thinned))
        saturation = float(rng.uniform(*SATURATION_RANGE))
        quality = int(rng.integers(JPEG_QUALITY_RANGE[0], JPEG_QUALITY_RANGE[1] + 1))
        grey = export_8bit(thinned, saturation=saturation, jpeg_quality=quality)
        out.append((f"{level / 1e6:g}M 8-bit s={saturation:.2f} q={quality}", grey.astype(np.float32)))
    return out


def measure(source: dict, images: list[tuple[str, np.ndarray]], method: str, **options) -> dict:
    body = body_mask(images[0][1], source["spacing"])
    bone = source["bone"] & body
    body_means, bone_means = [], []
    for _, image in images:
        out = normalise(image, method, pixel_spacing=source["spacing"], **options)
        body_means.append(float(out[body].mean()))
        bone_means.append(float(out[bone].mean()))
    body_means, bone_means = np.array(body_means), np.array(bone_means)

    def cv(values: np.ndarray) -> float:
        return float(values.std() / abs(values.mean())) if abs(values.mean()) > 1e-6 else float("nan")

    contrast = float(np.mean(bone_means - body_means))
    return {
        "cv_body": float("nan") if method == "zscore" else cv(body_means),  # 0 by construction: no scale
        "cv_bone": cv(bone_means),
        "spread": float(bone_means.std() / abs(contrast)) if contrast else float("nan"),
        "bone_means": bone_means.round(4).tolist(),
    }


def summarise(per_source: list[dict]) -> dict:
    summary = {}
    for key in ("cv_body", "cv_bone", "spread"):
        values = np.array([r[key] for r in per_source], dtype=np.float64)
        values = values[np.isfinite(values)]
        summary[key] = float(values.mean()) if values.size else float("nan")
        summary[f"worst_{key}"] = float(values.max()) if values.size else float("nan")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1001,1002,1003,1004", help="phantom seeds (comma-separated)")
    parser.add_argument("--levels", default="6,3,1,0.5,0.15", help="million counts per view")
    parser.add_argument("--seed", type=int, default=0, help="seed of the thinning and the export draws")
    parser.add_argument("--sweep", action="store_true", help="also compare robust's sigma (mm) and percentile")
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    levels = [float(x) * 1e6 for x in args.levels.split(",")]
    sources = [phantom_source(int(s), max(levels), rng) for s in args.seeds.split(",") if s.strip()]
    if REAL.is_file():
        sources.append(real_source())
    sets = [(source, versions(source, levels, rng)) for source in sources]
    results: dict = {"levels": [lv / 1e6 for lv in levels], "sources": [s["name"] for s in sources], "methods": {}}
    for method in METHODS:
        per_source = [measure(source, images, method) for source, images in sets]
        results["methods"][method] = {"summary": summarise(per_source), "per_source": per_source}
    if args.sweep:
        results["sweep"] = {}
        for sigma, pct in SWEEP:
            per_source = [measure(s, im, "robust", robust_sigma_mm=sigma, robust_percentile=pct) for s, im in sets]
            results["sweep"][f"sigma={sigma:g}mm p{pct:g}"] = summarise(per_source)
    results["seconds"] = round(time.perf_counter() - start, 1)

    print(f"sources: {', '.join(results['sources'])}; levels (M counts/view): {results['levels']} + an 8-bit JPEG of each")
    print(f"{'method':<12}{'CV body':>10}{'CV bone':>10}{'spread':>10}{'worst CV bone':>15}{'worst spread':>14}")
    rows = [(m, r["summary"]) for m, r in results["methods"].items()] + list(results.get("sweep", {}).items())
    for name, s in rows:
        print(f"{name:<12}{s['cv_body']:>10.3f}{s['cv_bone']:>10.3f}{s['spread']:>10.3f}{s['worst_cv_bone']:>15.3f}{s['worst_spread']:>14.3f}")
    for method, r in results["methods"].items():
        for name, per in zip(results["sources"], r["per_source"]):
            print(f"  {method:<10} {name:<14} bone means {per['bone_means']}")
    print(f"{results['seconds']} s")
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
