"""Where a lesion model misses: every visible lesion of held-out cases, found or not, and what the misses share.

Usage (the numbers of docs/robustness.md, "Where the shipped model misses")::

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_misses.py [--model shipped|RUN|WEIGHTS] [--patients 12]
        [--seed 910000] [--profile default] [--nm1-cases 10] [--figure docs/img/misses.png] [--json-out F]
        [--probe-regions sternum,ribs,thoracic_spine,pelvis --probe-cases 20] [--probe-scan SCAN]

The cases are ``benchmarks/bench_shift.py``'s (its :func:`~bench_shift.phantom_cases` and NM1 column), scored
with the same rules: a lesion is *visible* in a view by the phantom's Rose rule, *found* when a predicted lesion
pixel touches its extent, inside the model's coverage. ``--patients`` whole-body ANT+POST phantom patients of
``--profile`` from ``--seed`` (910000: held out, as bench_shift), and ``--nm1-cases`` NM1 hybrids per count level
with lesions anywhere on the skeleton (the real background; 0 = none).

Per visible lesion and view it records the phantom's lesion contrast (concentration over normal bone, 3-D), its
size, shape and SNR in that view, the skeletal region the model's own region map names under it, the largest
predicted probability inside its extent, and the **apparent contrast**: the mean counts of its extent over the
median counts of a ring 3-6 px around it, both after a Gaussian of 1 px [choice: what a reader sees on the
planar image, where the concentration ratio is diluted by overlying tissue and depth; not a phantom quantity, so
it is measured alike on the NM1 hybrids]. It prints the sensitivity by bins of each, by view and region, and the
share of misses the network gave a largest probability under 0.05 (no threshold can recover those), and draws
the most conspicuous misses (highest apparent contrast), each as the scan around it with the truth (green) and
the prediction (red) outlined, above the probability map.

``--probe-regions`` asks whether a region is a blind spot on the real background, position alone changing:
for each named region (a name of :data:`~scintiseg.predict.regions.REGION_NAMES`, or a prefix such as ``ribs``
for both sides), ``--probe-cases`` NM1 hybrids at half of NM1's counts whose lesion centres are restricted to
the pixels the model's learned region map names so on NM1's ANT view (``prepare_source(within=...)``; the same
lesion generator, seeds 0.., for every region). It prints each region's sensitivity, overall and for apparent
contrast below and from 2. ``--probe-scan`` probes another lesion-free scan instead of NM1 (any file
``scintiseg predict`` reads, integer counts: a site's own normal scan, or a phantom patient's).

A lesion on a long bone (:data:`LONG_BONES`: humerus, forearm, femur, lower leg) also records where along the bone
it lies, ``along``: its centre's row between the first and last rows the view's map names that bone, 0 at the end
nearer the head [choice: rows, since the views are read head up and these bones run nearly along the rows]; the
probe then prints, per probed region that holds such lesions, the conspicuous ones (apparent contrast >= 2) found in
the bone's proximal, middle and distal third. scintiseg's phantom centres every femoral and humeral lesion in the
proximal third (physics.md: "proximal femur ... proximal humerus"; ``phantom.lesions._random_voxel_centre``), the
probe anywhere the map names the bone, so the split tells a blind spot of position from one of the bone
(docs/robustness.md, "The humeral probe three times larger").
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import ndimage

from scintiseg.display import display_window
from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.phantom import profile
from scintiseg.phantom.hybrid import make_hybrid_case, prepare_source
from scintiseg.predict.regions import REGION_NAMES

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # sibling scripts import by name (as when run)
RING_PX = (3, 6)
#: Count level of the region probe's NM1 hybrids (the kept fraction of NM1's counts).
PROBE_LEVEL = 0.5
#: A miss whose largest probability is under this is not recoverable by any threshold.
HOPELESS = 0.05
BINS = {
    "contrast": (1.0, 1.5, 2.0, 3.0, 5.0, np.inf),
    "apparent_contrast": (0.0, 1.2, 1.5, 2.0, 3.0, np.inf),
    "snr": (0.0, 5.0, 10.0, 20.0, np.inf),
    "size_mm": (0.0, 10.0, 20.0, 30.0, 45.0, np.inf),
}
#: Bones whose lesions record how far along the bone they lie (module docstring): region-name prefixes.
LONG_BONES = ("humerus", "forearm", "femur", "tibia_fibula")
THIRDS = ("proximal", "middle", "distal")


def _bench_shift():
    """``benchmarks/bench_shift.py``: its NM1 cases and scoring."""
    import bench_shift  # lazy: it loads bench_hybrid and NM1's tools, which only the NM1 probes need

    return bench_shift


def apparent_contrast(counts: np.ndarray, extent: np.ndarray) -> float:
    """Mean smoothed counts of ``extent`` over the median of a ring :data:`RING_PX` around it (module docstring)."""
    smooth = ndimage.gaussian_filter(np.asarray(counts, dtype=np.float64), 1.0)
    inner = ndimage.binary_dilation(extent, iterations=RING_PX[0])
    ring = ndimage.binary_dilation(extent, iterations=RING_PX[1]) & ~inner
    if not ring.any():
        return float("nan")
    return float(smooth[extent].mean() / max(float(np.median(smooth[ring])), 1e-6))


def along_bone(regions: np.ndarray, region: int, row: float) -> float | None:
    """Where ``row`` lies between the first (0) and last (1) rows of ``regions`` labelled ``region``; None when the
    label spans fewer than two rows."""
    rows = np.flatnonzero((regions == region).any(axis=1))
    if rows.size == 0 or rows[-1] <= rows[0]:
        return None
    return float((row - rows[0]) / (rows[-1] - rows[0]))


def lesion_records(case, view: str, result, region_names, fused: bool = False) -> list[dict]:
    """One record per lesion visible in ``view`` inside the model's coverage (module docstring)."""
    bs = _bench_shift()
    coverage = np.asarray(result.coverage, dtype=bool)
    predicted = (np.asarray(result.labels) > 0) & coverage
    probability = np.asarray(result.probability)
    regions = np.asarray(result.regions.labels)
    _, instances, visible_ids, _ = bs.view_truth(case, view, fused)
    counts = np.asarray(case.scan.view(view))
    records = []
    for info in case.lesions:
        extent = (instances == info["id"]) & coverage
        if info["id"] not in visible_ids or not extent.any():
            continue
        region = int(np.bincount(regions[extent].astype(np.int64).ravel()).argmax())
        rows, cols = np.nonzero(extent)
        name = region_names[region] if region < len(region_names) else str(region)
        along = along_bone(regions, region, float(rows.mean())) if name.startswith(LONG_BONES) else None
        records.append({
            "case": case.case_id, "view": view,
            "source": case.meta.get("source") or ("nm1" if case.meta.get("level") is not None else "phantom"),
            "id": info["id"], "contrast": float(info["contrast"]), "size_mm": float(info["size_mm"]), "shape": info["shape"],
            "snr": float(info["snr"].get(view) or 0.0), "region": name, "along": along,
            "found": bool((predicted & extent).any()), "max_probability": float(probability[extent].max()),
            "apparent_contrast": apparent_contrast(counts, extent), "centre": [float(rows.mean()), float(cols.mean())],
        })
    return records


def sensitivity_rows(records: list[dict], key: str, edges=None) -> list[tuple[str, int, float]]:
    """(group, visible lesions, sensitivity) by bins of ``key`` (``edges``) or by its values."""
    groups: dict[str, list[bool]] = defaultdict(list)
    order: list[str] = []
    if edges is not None:
        for lo, hi in zip(edges, edges[1:]):
            name = f"{lo:g}-{hi:g}" if np.isfinite(hi) else f">= {lo:g}"
            order.append(name)
            groups[name] = [r["found"] for r in records if lo <= r[key] < hi]
    else:
        for r in records:
            groups[str(r[key])].append(r["found"])
        order = sorted(groups, key=lambda g: -len(groups[g]))
    return [(name, len(groups[name]), float(np.mean(groups[name]))) for name in order if groups[name]]


def summary_markdown(records: list[dict]) -> str:
    """The tables the module docstring lists, one per measure, per source (phantom, NM1); then the region probe."""
    out = []
    for source in ("phantom", "nm1"):
        group = [r for r in records if r["source"] == source]
        if not group:
            continue
        misses = [r for r in group if not r["found"]]
        hopeless = sum(r["max_probability"] < HOPELESS for r in misses)
        out.append(f"\n#### {source}: {len(group)} visible lesion-views, {len(group) - len(misses)} found "
                   f"(sensitivity {1 - len(misses) / len(group):.2f}); {hopeless} of {len(misses)} misses have a largest "
                   f"probability under {HOPELESS}\n")
        for key in ("view", "contrast", "apparent_contrast", "snr", "size_mm", "shape", "region"):
            rows = sensitivity_rows(group, key, BINS.get(key))
            out.append(f"| {key} | visible | sensitivity |\n|---|---|---|")
            out.extend(f"| {name} | {n} | {s:.2f} |" for name, n, s in rows)
            out.append("")
    probes = [source for source in dict.fromkeys(r["source"] for r in records) if source.startswith("probe: ")]
    if probes:
        scans = ", ".join(dict.fromkeys(r["case"].split("/")[0] for r in records if r["source"] in probes))
        out.append(f"\n#### region probe: hybrids of {scans} at {PROBE_LEVEL:g} of its counts, lesion centres inside one region\n")
        out.append(f"| lesions placed in | visible | sensitivity | apparent contrast < 2 | apparent contrast >= 2 | misses under p {HOPELESS:g} |")
        out.append("|---|---|---|---|---|---|")
        for source in probes:
            group = [r for r in records if r["source"] == source]
            low = [r["found"] for r in group if not r["apparent_contrast"] >= 2.0]
            high = [r["found"] for r in group if r["apparent_contrast"] >= 2.0]
            misses = [r for r in group if not r["found"]]

            def cell(found: list[bool]) -> str:
                return f"{len(found)}: {np.mean(found):.2f}" if found else "0"

            out.append(f"| {source[len('probe: '):]} | {len(group)} | {np.mean([r['found'] for r in group]):.2f} | {cell(low)} | "
                       f"{cell(high)} | {sum(r['max_probability'] < HOPELESS for r in misses)} of {len(misses)} |")
        out += along_table([r for r in records if r["source"] in probes])
    return "\n".join(out)


def third(along: float) -> str:
    """The third of a long bone ``along`` (0 = the end nearer the head) falls in."""
    return THIRDS[min(max(int(along * 3), 0), 2)]


def along_table(records: list[dict]) -> list[str]:
    """Per probe region with long-bone lesions: the conspicuous ones (apparent contrast >= 2) found per third."""
    rows = []
    for source in dict.fromkeys(r["source"] for r in records):
        placed = [r for r in records if r["source"] == source and r.get("along") is not None and r["apparent_contrast"] >= 2.0]
        if not placed:
            continue
        cells = []
        for name in THIRDS:
            found = [r["found"] for r in placed if third(r["along"]) == name]
            cells.append(f"{sum(found)} of {len(found)}")
        rows.append(f"| {source[len('probe: '):]} | " + " | ".join(cells) + " |")
    if not rows:
        return []
    return ["", "Conspicuous lesions (apparent contrast >= 2) on a long bone found, by where along the bone they lie:", "",
            "| lesions placed in | proximal third | middle third | distal third |", "|---|---|---|---|", *rows]


def probe_cases(bs, model, regions: list[str], cases_per_region: int, region_names, scan_path: Path | None = None) -> list:
    """Hybrids of NM1 (or ``scan_path``) with lesion centres inside each of ``regions`` (module docstring)."""
    scan = read_scan(scan_path or bs.bench_hybrid.REAL)
    name = "NM1" if scan_path is None else Path(scan_path).name
    view = "ANT" if "ANT" in scan.views else next(iter(scan.views))
    labels = np.asarray(model.predict(scan).views[view].regions.labels)
    cases = []
    for region in regions:
        ids = [k for k, known in enumerate(region_names) if known == region or known.startswith(region + "_")]
        if not ids:
            raise SystemExit(f"bench_misses: no region named {region!r} (choose from {', '.join(region_names[1:])})")
        source = prepare_source(scan, within=np.isin(labels, ids))
        for k in range(cases_per_region):
            try:
                hybrid = make_hybrid_case(source, PROBE_LEVEL, k, case_id=f"{name}/{region}_s{k}")
            except ScintisegError as error:  # the region holds no free skeleton on this scan
                print(f"bench_misses: region {region} not probed: {str(error).splitlines()[0]}", file=sys.stderr)
                break
            lesions = [{key: info[key] for key in ("id", "contrast", "size_mm", "shape", "visible", "snr")} for info in hybrid.lesions]
            cases.append(bs.ShiftCase(hybrid.case_id, hybrid.scan, hybrid.masks, hybrid.instances, lesions,
                                      meta={"seed": k, "level": PROBE_LEVEL, "source": f"probe: {region}"}))
    return cases


def draw_misses(examples: list[tuple[dict, np.ndarray, np.ndarray, np.ndarray, np.ndarray]], path: Path, half: int = 32) -> None:
    """The misses given, each a crop of ``2 * half`` px: scan with outlines above its probability map."""
    import matplotlib  # lazy: start-up time: only --figure draws

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: start-up time: only --figure draws

    columns = max(len(examples), 1)
    fig, axes = plt.subplots(2, columns, figsize=(2.1 * columns, 5.0), squeeze=False)
    for k, (record, counts, truth, predicted, probability) in enumerate(examples):
        r, c = (int(round(v)) for v in record["centre"])
        box = (slice(max(r - half, 0), r + half), slice(max(c - half, 0), c + half))
        top, bottom = axes[0, k], axes[1, k]
        top.imshow(counts[box], cmap="gray_r", vmin=0, vmax=display_window(counts), interpolation="nearest")
        top.contour(truth[box], levels=[0.5], colors="lime", linewidths=0.8)
        if predicted[box].any():
            top.contour(predicted[box], levels=[0.5], colors="red", linewidths=0.8)
        top.set_title(f"{record['source']} {record['view']} {record['region']}\nc {record['contrast']:.1f}, apparent "
                      f"{record['apparent_contrast']:.1f}\n{record['size_mm']:.0f} mm, SNR {record['snr']:.0f}\nmax p {record['max_probability']:.3f}", fontsize=6.5)
        bottom.imshow(probability[box], vmin=0, vmax=1, cmap="magma", interpolation="nearest")
        for axis in (top, bottom):
            axis.set_xticks([])
            axis.set_yticks([])
    for k in range(len(examples), columns):
        axes[0, k].axis("off")
        axes[1, k].axis("off")
    fig.suptitle("Most conspicuous misses: truth green, prediction red (crops of 64 px); below, the lesion probability", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="shipped", help="'shipped', a run folder or a weights file")
    parser.add_argument("--patients", type=int, default=12)
    parser.add_argument("--seed", type=int, default=910000)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--nm1-cases", type=int, default=10, help="NM1 hybrids with lesions per count level (0: none)")
    parser.add_argument("--figure", type=Path, help="PNG of the most conspicuous misses")
    parser.add_argument("--examples", type=int, default=8)
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--probe-regions", default="", help="comma-separated regions for the NM1 region probe")
    parser.add_argument("--probe-cases", type=int, default=20, help="NM1 hybrids per probed region")
    parser.add_argument("--probe-scan", type=Path, help="probe this lesion-free scan instead of NM1")
    args = parser.parse_args(argv)

    bs = _bench_shift()

    model = bs.ShiftModel("model", args.model)
    fused = model.model.input_mode in ("aggregate", "two_channel")
    cases = bs.phantom_cases(profile(args.profile), args.patients, args.seed) if args.patients else []
    if args.nm1_cases:
        cases += bs.nm1_cases("skeleton", args.nm1_cases, 0)[0]
    if args.probe_regions:
        cases += probe_cases(bs, model, [r.strip() for r in args.probe_regions.split(",") if r.strip()], args.probe_cases,
                             REGION_NAMES, args.probe_scan)
    records, examples = [], []
    for case in cases:
        prediction = model.predict(case.scan)
        for view, result in prediction.views.items():
            found = lesion_records(case, view, result, REGION_NAMES, fused)
            records += found
            missed = [record for record in found if not record["found"]]
            if missed:
                _, instances, _, _ = bs.view_truth(case, view, fused)
            for record in missed:
                examples.append((record, np.asarray(case.scan.view(view)), instances == record["id"],
                                 np.asarray(result.labels) > 0, np.asarray(result.probability)))
        # keep memory bounded: only the most conspicuous misses so far
        examples = sorted(examples, key=lambda e: -np.nan_to_num(e[0]["apparent_contrast"]))[: args.examples]
    print(f"model {args.model}; {args.patients} {args.profile} patients from seed {args.seed}; NM1 hybrids: {args.nm1_cases} per level"
          + (f"; region probe: {args.probe_cases} hybrids of {args.probe_scan or 'NM1'} in each of {args.probe_regions}"
             if args.probe_regions else ""))
    print(summary_markdown(records))
    if args.figure:
        draw_misses(examples, args.figure)
        print(f"figure: {args.figure}")
    if args.json_out:
        args.json_out.write_text(json.dumps(records, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
