"""Fit and test the level of a polygon crop (:mod:`scintiseg.predict.crop_level`): crop percentiles -> whole-view level.

    OMP_NUM_THREADS=2 python benchmarks/fit_crop_level.py --patients 25 --nm1-cases 10

For each phantom patient of four profiles (``--profiles``, seeds ``--seed``..; held apart from the crop sets'
930000-931099) and each NM1 hybrid (seeds 61000..) it cuts the five polygon crops of ``make_region_crops.py`` (the
outside set to 0), their bounding rectangles (nothing blanked) and, on the phantom, the training framings of
:mod:`scintiseg.prepare.degrade` (thoracic, half-chests, pelvis, box, partial field). For each it records the
target ``log(whole view's robust scale / crop's P90)`` (what would bring the crop to its whole view's level) and the
feature ``log(P30 / P90)`` (:func:`scintiseg.predict.crop_level.crop_percentiles`), then fits ``A + B x feature``
by least squares on the *phantom polygon crops only* (those :func:`~scintiseg.predict.crop_level.is_polygon_crop`
takes for one) and prints, per source and kind, the share taken for a polygon crop and the median log error of the
crop's own level (``now``: what the normalisation does), of the fitted estimate applied to every crop (``fitted``),
and of the shipped constants where the pipeline applies them (``shipped (applied)``: polygon crops only; the others
keep their own level).
NM1, the one real scan, is never fitted on.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_region_crops  # noqa: E402
from scintiseg.predict import crop_level  # noqa: E402
from scintiseg.prepare.degrade import FRAMINGS, region_box  # noqa: E402
from scintiseg.prepare.intensity import robust_scale  # noqa: E402


def samples(cases, source: str, rng: np.random.Generator, framings: bool) -> list[dict]:
    """One row per crop of each case: source, kind, target, feature, and whether it is taken for a polygon crop."""
    rows = []
    for _case_id, counts, case, polygons, _ in cases:
        pixel = case.scan.pixel_spacing
        counts = np.asarray(counts, dtype=np.float32)
        whole = robust_scale(counts, pixel)
        pieces = {}
        for name, polygon in polygons.items():
            box = make_region_crops.crop_box(polygon)
            pieces[f"polygon_{name}"] = np.where(polygon[box], counts[box], 0)
            pieces[f"rectangle_{name}"] = counts[box]
        for kind, _share in FRAMINGS if framings else ():
            if kind == "whole":
                continue
            box = region_box(kind, counts, pixel, rng)
            if box is not None:
                top, left, height, width = box
                pieces[f"framing_{kind}"] = counts[top:top + height, left:left + width]
        for kind, piece in pieces.items():
            found = crop_level.crop_percentiles(piece, pixel[0])
            if found is None:
                continue
            low, high = found
            rows.append({"source": source, "kind": kind, "target": float(np.log(whole / high)),
                         "feature": float(np.log(low / high)), "polygon": crop_level.is_polygon_crop(piece)})
    return rows


def fit(rows: list[dict]) -> tuple[float, float]:
    """Least-squares ``(A, B)`` of target = A + B x feature over ``rows``."""
    x = np.array([r["feature"] for r in rows])
    y = np.array([r["target"] for r in rows])
    (a, b), *_ = np.linalg.lstsq(np.c_[np.ones_like(x), x], y, rcond=None)
    return float(a), float(b)


def table(rows: list[dict], fitted: tuple[float, float]) -> list[str]:
    """Markdown rows: source, kind, n, share taken for a polygon crop, median log error now / fitted / shipped."""
    out = ["| source | crop | n | taken for a polygon crop | log error now | fitted | shipped (applied) |",
           "|---|---|---|---|---|---|---|"]
    keys = sorted({(r["source"], r["kind"]) for r in rows})
    for source, kind in keys:
        chosen = [r for r in rows if r["source"] == source and r["kind"] == kind]
        y = np.array([r["target"] for r in chosen])
        x = np.array([r["feature"] for r in chosen])
        polygon = np.array([r["polygon"] for r in chosen])
        errors = [np.median(-y), np.median(fitted[0] + fitted[1] * x - y),
                  np.median(np.where(polygon, crop_level.A + crop_level.B * x, 0.0) - y)]
        out.append(f"| {source} | {kind} | {len(chosen)} | {polygon.mean():.2f} | "
                   + " | ".join(f"{e:+.2f}" for e in errors) + " |")
    return out


def rms(rows: list[dict], a: float, b: float) -> float:
    return float(np.sqrt(np.mean([(a + b * r["feature"] - r["target"]) ** 2 for r in rows])))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=25, help="phantom patients per profile")
    parser.add_argument("--profiles", default="low-count,default,randomised,shifted")
    parser.add_argument("--seed", type=int, default=940_000)
    parser.add_argument("--nm1-cases", type=int, default=10)
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    phantom: list[dict] = []
    for name in args.profiles.split(","):
        phantom += samples(make_region_crops.phantom_cases(name, args.patients, args.seed), name, rng, True)
    nm1 = samples(make_region_crops.nm1_cases(make_region_crops.REAL, args.nm1_cases, 0, 61_000, 0.17), "nm1", rng,
                  True)
    polygons = [r for r in phantom if r["kind"].startswith("polygon_") and r["polygon"]]
    a, b = fit(polygons)
    nm1_polygons = [r for r in nm1 if r["kind"].startswith("polygon_") and r["polygon"]]
    print(f"fitted on {len(polygons)} phantom polygon crops: A = {a:.3f}, B = {b:.3f} "
          f"(shipped A = {crop_level.A}, B = {crop_level.B})")
    print(f"rms log error, polygon crops: phantom now {rms(polygons, 0, 0):.2f} -> {rms(polygons, a, b):.2f}; "
          f"NM1 (never fitted) now {rms(nm1_polygons, 0, 0):.2f} -> {rms(nm1_polygons, a, b):.2f}")
    print("\n".join(table(phantom + nm1, (a, b))))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"A": a, "B": b, "rows": phantom + nm1}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
