"""The lesion model on lossless 8-bit exports shown through a display gamma, as bent and as read back.

    OMP_NUM_THREADS=2 python benchmarks/bench_display_curve.py [--gammas 1 0.5 0.7 1.5] [--floors 0.1 0.2]
        [--patients 16] [--nm1-cases 16] [--json-out X.json]

Viewers offer a display gamma, and a screen capture or an export keeps it (:mod:`scintiseg.io.display_curve`). This
benchmark exports two sets in 8 bits, each view with its own display window (the top at a share of the hottest pixel
drawn from bench_shift's ``JPEG_SATURATION``, 0.3-1.0; lossless, no JPEG), bends each export through every
``--gammas`` value and raises its display window's bottom to every ``--floors`` share of its top (a window's lower
level, which :mod:`scintiseg.io.display_curve` does not read back: measured so that what the gamma check does with it
is known), and runs the shipped pipeline on each view set twice: as bent, and after
:func:`~scintiseg.io.display_curve.undo_display_curve` (what ``read_scan`` does with a PNG, TIFF or uncompressed
DICOM). It reports, per set, gamma and reading, bench_shift's measures (sensitivity over the visible lesions, over
those of contrast >= 2, false positives per view and per lesion-free view, triage AUC) and how many scans were read
back, with the median gamma read:

- ``phantom``: ``--patients`` held-out ``default`` phantom patients (bench_shift's seeds), ANT and POST;
- ``nm1``: bench_shift's NM1 real-background hybrids, lesions anywhere on the skeleton, ``--nm1-cases`` with lesions
  and half as many without at each of its count levels.

Gamma 1 is the linear export, the reference every other row is read against (one run: the same images, windows and
noise in every row).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.io.display_curve import undo_display_curve

sys.path.insert(0, str(Path(__file__).resolve().parent))  # a sibling script: its cases, model and scoring
import bench_shift  # noqa: E402

GAMMAS = (1.0, 0.5, 0.7, 1.5)
FLOORS = (0.1, 0.2)
MEASURES = ("images", "sensitivity", "sensitivity_contrast_ge_2", "fp_per_view", "fp_per_lesion_free_view",
            "auc_max_probability")


def export(image: np.ndarray, window: float) -> np.ndarray:
    """``image`` (counts) exported in 8 bits, linear, the display window's top at ``window`` of its hottest pixel."""
    image = np.asarray(image, dtype=np.float64)
    top = window * image.max()
    return np.clip(np.round(255 * image / top), 0, 255).astype(np.uint8) if top > 0 else np.zeros(image.shape, np.uint8)


def bend(grey: np.ndarray, gamma: float) -> np.ndarray:
    """An 8-bit export shown through a display ``gamma``."""
    return np.clip(np.round(255 * (grey.astype(np.float64) / 255) ** gamma), 0, 255).astype(np.uint8)


def floored(grey: np.ndarray, floor: float) -> np.ndarray:
    """An 8-bit export with its display window's bottom raised to ``floor`` of its top: below it black."""
    low = 255 * floor
    return np.clip(np.round((grey.astype(np.float64) - low) / (255 - low) * 255), 0, 255).astype(np.uint8)


def shown(grey: np.ndarray, curve: tuple[str, float]) -> np.ndarray:
    """``grey`` through ``curve``: ``("gamma", g)`` or ``("floor", f)``."""
    kind, value = curve
    return bend(grey, value) if kind == "gamma" else floored(grey, value)


def exported(cases: list, seed: int) -> list:
    """Each case's views exported linearly, one display window per view (drawn from ``seed``, the case and view)."""
    out = []
    for case in cases:
        views = {}
        for index, (view, image) in enumerate(case.scan.views.items()):
            rng = np.random.default_rng([seed, case.meta.get("seed", 0), index])
            views[view] = export(image, float(rng.uniform(*bench_shift.JPEG_SATURATION)))
        out.append(dataclasses.replace(case, scan=dataclasses.replace(case.scan, views=views)))
    return out


def with_views(case, views: dict):
    return dataclasses.replace(case, scan=dataclasses.replace(case.scan, views=views))


def read_back(case) -> tuple[object, float | None]:
    """``case`` with its views as :func:`undo_display_curve` reads them, and the gamma it undid (None: none)."""
    names = list(case.scan.views)
    views, gamma = undo_display_curve([np.asarray(case.scan.views[name]) for name in names])
    return with_views(case, dict(zip(names, views))), gamma


def run(model, sets: dict[str, list], curves: list[tuple[str, float]]) -> list[dict]:
    """One row per set, curve and reading (``as bent`` / ``read back``; a curve none of whose scans was read back
    only as bent)."""
    rows = []
    for name, cases in sets.items():
        for curve in curves:
            bent = [with_views(case, {view: shown(np.asarray(image), curve) for view, image in case.scan.views.items()})
                    for case in cases]
            pairs = [read_back(case) for case in bent]
            undone = [value for _, value in pairs if value is not None]
            for reading, scans in (("as bent", bent), ("read back", [case for case, _ in pairs])):
                if reading == "read back" and not undone:
                    continue
                cell, _, _ = bench_shift.evaluate_column(model, scans)
                gamma = curve[1] if curve[0] == "gamma" else None
                floor = curve[1] if curve[0] == "floor" else None
                rows.append({"set": name, "gamma": gamma, "floor": floor, "reading": reading, "scans": len(cases),
                             "read_back": len(undone), "median_gamma_read": float(np.median(undone)) if undone else None}
                            | {key: cell.get(key) for key in MEASURES})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| set | curve | reading | sensitivity (contrast >= 2) | FP / view (lesion-free) | triage AUC | read back (median gamma) |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        read = f"{row['read_back']}/{row['scans']}" + (f" ({row['median_gamma_read']:.2f})" if row["median_gamma_read"] else "")
        curve = f"gamma {row['gamma']:g}" if row["gamma"] is not None else f"floor {row['floor']:g}"
        lines.append(f"| {row['set']} | {curve} | {row['reading']} | {row['sensitivity']:.3f} "
                     f"({row['sensitivity_contrast_ge_2']:.3f}) | {row['fp_per_view']:.2f} "
                     f"({row['fp_per_lesion_free_view']:.2f}) | {row['auc_max_probability']:.3f} | {read} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gammas", type=float, nargs="+", default=list(GAMMAS))
    parser.add_argument("--floors", type=float, nargs="*", default=list(FLOORS),
                        help="display windows whose bottom is raised to this share of the top (below it black)")
    parser.add_argument("--patients", type=int, default=16, help="held-out default phantom patients")
    parser.add_argument("--nm1-cases", type=int, default=16, help="NM1 hybrids with lesions per count level (0: none)")
    parser.add_argument("--model", default="shipped", help="lesion model (a run folder or .pt; default the shipped one)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args(argv)
    if args.patients < 0 or args.nm1_cases < 0 or (args.patients == 0 and args.nm1_cases == 0):
        print("bench_display_curve: error: --patients and --nm1-cases must not be negative, nor both 0", file=sys.stderr)
        return 2
    if any(not 0.1 <= gamma <= 10 for gamma in args.gammas) or any(not 0 <= floor < 0.9 for floor in args.floors):
        print("bench_display_curve: error: every --gammas value must lie within 0.1-10, every --floors value within "
              "0-0.9", file=sys.stderr)
        return 2
    import torch  # lazy: start-up time

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    try:
        model = bench_shift.ShiftModel(args.model, args.model)
    except ScintisegError as error:
        print(f"bench_display_curve: error: {error}", file=sys.stderr)
        return 2
    cache = bench_shift.ColumnCache(max(args.patients, 1), bench_shift.DEFAULT_SEED, args.nm1_cases, args.nm1_cases // 2)
    sets = {}
    if args.patients:
        sets["phantom"] = exported(cache.cases("default"), 1)
    if args.nm1_cases:
        sets["nm1"] = exported(cache.cases("nm1", "skeleton"), 2)
    rows = run(model, sets, [("gamma", gamma) for gamma in args.gammas] + [("floor", floor) for floor in args.floors])
    print(table(rows))
    print(f"total {time.perf_counter() - start:.0f} s")
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(json.dumps({"command": " ".join(sys.argv), "rows": rows}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
