"""Thoracic crop and view alignment: pictures, accuracy on phantoms, speed. Results go to docs/prepare.md.

    python benchmarks/bench_crop.py figures              # docs/img/prepare_*.png from the real NM1 scan
    python benchmarks/bench_crop.py phantoms --n 200     # lesion containment and alignment error on phantoms
    python benchmarks/bench_crop.py speed                # thoracic_crop / align / dataset crop timings

Every number printed is measured in that one run; copy them into docs/prepare.md with the command line.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import statistics
import tempfile
import time
from pathlib import Path

import matplotlib
import numpy as np
from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.dataset import Case, DatasetManifest, save_manifest
from scintiseg.io.dicom import write_dicom
from scintiseg.io.images import write_label_png, write_mask_png
from scintiseg.io.labelme import write_labelme
from scintiseg.phantom.patient import generate_patient
from scintiseg.prepare.augment import random_geometric
from scintiseg.prepare.body import body_mask
from scintiseg.prepare.crop import anatomical_frame, central_run_widths, thoracic_crop
from scintiseg.prepare.crop_dataset import crop_dataset
from scintiseg.prepare.views import aggregate_scan, align_post_to_ant, mirror, shift_image
from scintiseg.scan import Annotation, Scan

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / ".." / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"
IMG = ROOT / "docs" / "img"

#: Phantom regions that make up the thorax (paper B §2.1: sternum, clavicles, scapulae, ribs; and the spine there).
THORACIC_REGIONS = {
    "thoracic_spine", "ribs_left", "ribs_right", "sternum",
    "clavicle_left", "clavicle_right", "scapula_left", "scapula_right",
}


def _show(ax, image, title=""):
    ax.imshow(np.sqrt(np.asarray(image, dtype=float)), cmap="gray_r", interpolation="nearest")
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def figures() -> None:
    scan = read_scan(REAL)
    result = thoracic_crop(scan)
    box = result.boxes["ANT"]
    marks = result.landmarks
    mask = body_mask(anatomical_frame(scan), scan.pixel_spacing)
    widths = central_run_widths(mask, int(round(marks["midline"])))

    fig, axes = plt.subplots(1, 4, figsize=(11, 7), gridspec_kw={"width_ratios": [1, 1, 1.1, 2.2]})
    _show(axes[0], scan.view("ANT"), "1. whole body (NM1, ANT)")
    axes[1].imshow(mask, cmap="gray_r")
    axes[1].set_title("2. body area", fontsize=8)
    axes[1].set_xticks([])
    axes[1].set_yticks([])
    rows = np.arange(len(widths))
    axes[2].plot(widths, rows, lw=0.8)
    axes[2].set_ylim(len(widths), 0)
    for name, colour in (("head_top", "k"), ("neck", "b"), ("shoulder", "r"), ("thorax_top", "g"), ("thorax_bottom", "g")):
        axes[2].axhline(marks[name], color=colour, lw=0.7, ls="--")
        axes[2].text(2, marks[name] - 4, name, fontsize=6, color=colour)
    axes[2].set_title("3. upper body:\ncentral-run width", fontsize=8)
    axes[2].set_xlabel("pixels", fontsize=7)
    axes[2].tick_params(labelsize=6)
    for ax in axes[:2]:
        ax.add_patch(plt.Rectangle((box.left - 0.5, box.top - 0.5), box.width, box.height, fill=False, ec="r", lw=1))
    _show(axes[3], result.scan.view("ANT"), f"4. thoracic crop {box.height} x {box.width} (rows {box.top}-{box.top + box.height - 1})")
    fig.tight_layout()
    IMG.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMG / "prepare_crop_real.png", dpi=90)
    plt.close(fig)
    print(f"wrote {IMG / 'prepare_crop_real.png'}; box {box.to_json()}; landmarks {json.dumps(marks)}")
    views_figure()


def views_figure(seed: int = 1001) -> None:
    """ANT, POST as acquired, aligned Mirr(POST), I_Agg, and geometric augmentations of the crop (one phantom)."""
    patient = generate_patient(seed)
    crop = thoracic_crop(patient.scan)
    masks = {v: crop.crop(m, v) for v, m in patient.masks.items()}
    image, mask, shift = aggregate_scan(crop.scan, masks)
    rng = np.random.default_rng(0)
    fig, axes = plt.subplots(2, 4, figsize=(10, 5.6))
    panels = [
        (crop.scan.view("ANT"), masks["ANT"], "I_Ant (crop)"),
        (crop.scan.view("POST"), masks["POST"], "I_Post as acquired"),
        (image - crop.scan.view("ANT"), None, f"Mirr(I_Post), shift {shift}"),
        (image, mask, "I_Agg = I_Ant + Mirr(I_Post)\nmask: union"),
    ]
    for k in range(4):
        aug_image, aug_mask, params = random_geometric(image, mask, rng, max_angle=10, max_shift=0.1)
        panels.append((aug_image, aug_mask, f"flip {int(params.hflip)}, {params.angle_deg:+.1f} deg,\n"
                       f"shift ({params.shift[0]:+.0f}, {params.shift[1]:+.0f})"))
    for ax, (img, msk, title) in zip(axes.ravel(), panels):
        _show(ax, np.clip(img, 0, None), title)
        if msk is not None:
            ax.contour(msk, levels=[0.5], colors="r", linewidths=0.6)
    fig.tight_layout()
    fig.savefig(IMG / "prepare_views_augment.png", dpi=80)
    plt.close(fig)
    print(f"wrote {IMG / 'prepare_views_augment.png'} (phantom seed {seed}, shift {shift})")


def _measure_patient(seed: int, size: int, shift_seed: int) -> dict:
    """Crop containment and alignment errors for one phantom patient."""
    patient = generate_patient(seed)
    scan = patient.scan
    out: dict = {"seed": seed, "arm": str(patient_meta(patient).get("arm_position", "?")),
                 "height_mm": patient_meta(patient).get("height_mm")}
    try:
        result = thoracic_crop(scan, size=size)
    except ScintisegError as exc:
        out["error"] = str(exc)
        return out
    out["method"] = result.method
    out["box"] = result.boxes["ANT"].to_json()
    out["landmarks"] = result.landmarks
    lesions = []
    for lesion_id, region, view_maps in lesion_regions(patient):
        if region not in THORACIC_REGIONS:
            continue
        whole = all(
            int((result.crop(inst, view) == lesion_id).sum()) == int((inst == lesion_id).sum())
            for view, inst in view_maps.items()
            if (inst == lesion_id).any()
        )
        lesions.append((lesion_id, region, bool(whole)))
    out["lesions"] = lesions
    true = np.asarray(patient_meta(patient).get("post_shift", (0.0, 0.0)), dtype=float)
    shift, _ = align_post_to_ant(scan.view("ANT"), scan.view("POST"))
    out["align_native"] = float(np.abs(np.asarray(shift) - true).max())
    rng = np.random.default_rng([shift_seed, seed])
    applied = (int(rng.integers(-8, 9)), int(rng.integers(-8, 9)))
    moved = mirror(shift_image(mirror(scan.view("POST")), applied))
    est, _ = align_post_to_ant(scan.view("ANT"), moved)
    out["align_shifted"] = float(np.abs(np.asarray(est) - (true - np.asarray(applied, dtype=float))).max())
    sub, _ = align_post_to_ant(scan.view("ANT"), scan.view("POST"), subpixel=True)
    out["align_native_subpixel"] = float(np.abs(np.asarray(sub) - true).max())
    return out


def phantoms(n: int, seed: int, size: int, save_figure: bool, workers: int) -> None:
    """Lesion containment of the crop and alignment error on ``n`` phantom patients (default profile)."""
    start = time.perf_counter()
    seeds = list(range(seed, seed + n))
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
        rows = list(tqdm(pool.map(_measure_patient, seeds, [size] * n, [seed] * n), total=n, desc="phantoms"))
    elapsed = time.perf_counter() - start
    ok = [r for r in rows if "error" not in r]
    lesions = [(r["seed"], r["arm"], lid, reg, inside) for r in ok for lid, reg, inside in r["lesions"]]
    by_arm: dict[str, list[int]] = {}
    for _, arm, _, _, inside in lesions:
        by_arm.setdefault(arm, [0, 0])
        by_arm[arm][0] += inside
        by_arm[arm][1] += 1
    by_region: dict[str, list[int]] = {}
    for _, _, _, region, inside in lesions:
        by_region.setdefault(region, [0, 0])
        by_region[region][0] += inside
        by_region[region][1] += 1
    methods: dict[str, int] = {}
    for r in ok:
        methods[r["method"]] = methods.get(r["method"], 0) + 1
    heights = [r["height_mm"] for r in rows if r.get("height_mm")]
    report = {
        "patients": n,
        "seeds": [seed, seed + n - 1],
        "size": size,
        "height_mm_range": [min(heights), max(heights)] if heights else None,
        "arm_positions": {a: sum(r["arm"] == a for r in rows) for a in sorted({r["arm"] for r in rows})},
        "crop_errors": len(rows) - len(ok),
        "methods": methods,
        "thoracic_lesions": len(lesions),
        "wholly_inside": sum(x[-1] for x in lesions),
        "share_inside": (sum(x[-1] for x in lesions) / len(lesions)) if lesions else None,
        "share_inside_by_arm_position": {a: [round(c[0] / c[1], 4), c[1]] for a, c in by_arm.items()},
        "share_inside_by_region": {a: [round(c[0] / c[1], 4), c[1]] for a, c in sorted(by_region.items())},
        "missed": [(s, lid, reg) for s, _, lid, reg, inside in lesions if not inside][:20],
        "align_error_px_native_integer": _summary([r["align_native"] for r in ok]),
        "align_error_px_native_subpixel": _summary([r["align_native_subpixel"] for r in ok]),
        "align_error_px_known_shift_integer": _summary([r["align_shifted"] for r in ok]),
        "seconds": round(elapsed, 1),
        "workers": workers,
    }
    print(json.dumps(report, indent=1))
    for r in rows:
        if "error" in r:
            print(f"crop error, patient seed {r['seed']}: {r['error']}")
    if save_figure:
        _phantom_figure([r for r in ok][:6])


def patient_meta(patient) -> dict:
    meta = getattr(patient, "meta", None) or getattr(patient, "metadata", None) or {}
    return meta if isinstance(meta, dict) else {}


def lesion_regions(patient):
    """(instance id, region name, {view: instance map}) for each lesion of a phantom patient."""
    lesions = getattr(patient, "lesions", None)
    instances = getattr(patient, "instances", None)
    if lesions is None or instances is None:
        raise SystemExit("phantom patient has no lesions/instances attributes: adapt lesion_regions()")
    for index, lesion in enumerate(lesions, start=1):
        data = lesion if isinstance(lesion, dict) else vars(lesion)
        lesion_id = int(data.get("instance", data.get("id", index)))
        yield lesion_id, str(data.get("region")), instances


def _summary(values: list[float]) -> dict | None:
    if not values:
        return None
    arr = np.asarray(values)
    return {
        "n": len(values),
        "median": float(np.median(arr)),
        "p95": float(np.percentile(arr, 95)),
        "max": float(arr.max()),
        "share_within_1px": float((arr <= 1.0).mean()),
    }


def _phantom_figure(rows) -> None:
    fig, axes = plt.subplots(1, len(rows), figsize=(1.8 * len(rows), 7))
    for ax, row in zip(np.atleast_1d(axes), rows):
        patient = generate_patient(row["seed"])
        box = row["box"]
        _show(ax, patient.scan.view("ANT"), f"seed {row['seed']}\n{row['arm']}, {row['height_mm']:.0f} mm")
        ax.imshow(np.ma.masked_equal(patient.masks["ANT"], False), cmap="autumn", alpha=0.8, interpolation="nearest")
        ax.add_patch(plt.Rectangle((box["left"] - 0.5, box["top"] - 0.5), box["width"], box["height"], fill=False, ec="r", lw=1))
        ax.axhline(row["landmarks"]["shoulder"], color="b", lw=0.6, ls="--")
    fig.tight_layout()
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(IMG / "prepare_crop_phantoms.png", dpi=80)
    plt.close(fig)
    print(f"wrote {IMG / 'prepare_crop_phantoms.png'}")


def speed(repeats: int) -> None:
    scan = read_scan(REAL)
    ant = scan.view("ANT")
    dual = Scan({"ANT": ant, "POST": mirror(ant)}, pixel_spacing=scan.pixel_spacing)

    def timed(fn) -> float:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1000

    crop = thoracic_crop(dual).scan
    dataset_s = _time_dataset_crop(dual, cases=20)
    print(json.dumps({
        "dataset_crop_20_cases_s": round(dataset_s, 2),
        "dataset_crop_per_case_ms": round(1000 * dataset_s / 20, 1),
        "repeats": repeats,
        "thoracic_crop_dual_1024x256_ms": round(timed(lambda: thoracic_crop(dual)), 2),
        "align_post_to_ant_1024x256_ms": round(timed(lambda: align_post_to_ant(ant, dual.view("POST"))), 2),
        "align_post_to_ant_256x256_ms": round(timed(lambda: align_post_to_ant(crop.view("ANT"), crop.view("POST"))), 2),
    }, indent=1))


def _time_dataset_crop(dual, cases: int) -> float:
    """Seconds for ``crop_dataset`` on ``cases`` copies of ``dual`` with masks, regions and LabelMe files."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "whole"
        mask = np.zeros(dual.shape, dtype=bool)
        mask[250:256, 60:70] = True
        mask[300:304, 150:160] = True
        entries = []
        for k in range(cases):
            cid = f"C{k:03d}"
            write_dicom(dual.with_views(dual.views, patient_id=cid), root / f"images/{cid}.dcm")
            entry = Case(case_id=cid, patient_id=cid, image=f"images/{cid}.dcm")
            for view in ("ANT", "POST"):
                m = mask if view == "ANT" else mask[:, ::-1]
                write_mask_png(m, root / f"masks/{cid}_{view}.png")
                write_label_png(m.astype(np.uint8) * 7, root / f"regions/{cid}_{view}.png")
                write_labelme(Annotation.from_mask(m, view=view), root / f"labels/{cid}_{view}.json", image=dual.view(view))
                entry.masks[view] = f"masks/{cid}_{view}.png"
                entry.regions[view] = f"regions/{cid}_{view}.png"
                entry.labels[view] = f"labels/{cid}_{view}.json"
            entries.append(entry)
        save_manifest(DatasetManifest(name="bench", views=["ANT", "POST"], pixel_spacing=dual.pixel_spacing, cases=entries), root)
        t0 = time.perf_counter()
        crop_dataset(root, Path(tmp) / "thorax", progress=False)
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("figures")
    p = sub.add_parser("phantoms")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--seed", type=int, default=1000)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--figure", action="store_true")
    p.add_argument("--workers", type=int, default=2)
    s = sub.add_parser("speed")
    s.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    if args.what == "figures":
        figures()
    elif args.what == "phantoms":
        phantoms(args.n, args.seed, args.size, args.figure, args.workers)
    else:
        speed(args.repeats)


if __name__ == "__main__":
    main()
