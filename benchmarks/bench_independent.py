"""The shipped whole-body prediction on a phantom scintiseg was not built around (``independent_phantom.py``).

Every lesion model scintiseg ships was trained on its own phantom (:mod:`scintiseg.phantom`), and every
phantom number in docs/ is measured on held-out patients of that same generator: a model can learn the
generator's habits (how it draws a vertebra, where it puts look-alikes, how it blurs) and score well on them.
``benchmarks/independent_phantom.py`` was written from ``../shared/reference/physics.md`` alone, without
reading scintiseg's phantom, so its bones, uptakes, camera and look-alikes are other choices made from the same
facts: the nearest stand-in here for the independently built phantoms a user tests scintiseg on.

For ``--patients`` seeds from ``--seed``, each patient is made twice, with lesions and without (the same
anatomy, look-alikes and noise draw apart from the lesions: ``make_case(seed, lesions=False)``), both views
predicted by the shipped pipeline (:func:`~scintiseg.predict.pipeline.predict_scan`), and the script reports:

* **sensitivity**: a lesion is found on a view when a predicted lesion pixel lies on its mask there (views
  where its mask is empty are not counted); per view, by uptake ratio (the generator's lesion-to-bone
  concentration), by apparent contrast on the view (``bench_misses.apparent_contrast``, as on scintiseg's
  phantom), by truth region, by the lesion's shape where the generator names one (the second: focal,
  elongated, whole vertebral body, irregular, or a superscan's diffuse whole bone); and per lesion (found on
  either view);
* **false positives per view**: predicted lesions touching no lesion mask, on the scans with lesions and on
  their lesion-free twins, by what lies under them in the generator's region map (a region, or ``soft
  tissue``: bladder, kidneys, injection site off the bone);
* **triage**: ROC AUC of the scan's triage score (the maximum lesion probability) between the scans with
  lesions and their twins;
* **region naming**: for every found lesion-view, whether the predicted lesion touching it most is named the
  truth's region (exactly, and up to the side), and whether its side is right;
* **region Dice**: the learned region map against the generator's, per region and view (the generator's map
  gives each pixel the bone contributing most activity to it, so its borders are its own choice);
* **BSI**: the pipeline's BSI against two truths, the same planar formula over the generator's lesion masks
  and region map (each bone from its nearer view, as the pipeline), and the 3-D involved volume per bone
  weighted by the Spiers shares; Pearson r and MAE;
* seconds per scan (median).

``--rows`` / ``--cols`` set the matrix (the generator keeps the field in mm: 512 x 128 at about 4.5 mm, 2048 x 512
at about 1.1 mm), so the same patients can be read at a coarser or finer matrix. ``--no-spine-pattern`` keeps the
calls on the spine that the pipeline leaves out as the normal segmental pattern (:mod:`scintiseg.predict.spine_pattern`;
the "without" rows of docs/robustness.md), and ``--spine-pattern-ratio R`` sets its cut (1.3 since session 39,
with the level from the map's pieces; 1.2 sessions 33-38, 1.1 sessions 29-32); ``--no-symmetry`` keeps the calls in a paired bone that it leaves out
because their mirror image matches them (:mod:`scintiseg.predict.symmetry`; session 30); ``--no-bladder-rule`` keeps the
calls that cover much of the bladder's hot spot (:func:`scintiseg.predict.bladder.bladder_calls`; session 35);
``--no-off-skeleton-rule`` keeps the calls lying off the skeleton, in the soft tissue (:mod:`scintiseg.predict.off_skeleton`;
session 37), ``--no-distal-arm-rule`` those at an elbow, forearm or hand on an arm's bone (:mod:`scintiseg.predict.distal_arm`;
session 37).
``--tilt D`` turns every patient D degrees, to one side and the other by turns (:func:`turned_case`; a patient lying at
an angle, session 36).

``--generator independent_phantom_2`` reads the second independently built phantom (session 68,
``benchmarks/independent_phantom_2.py``: another helper, blind to scintiseg's phantom and to the first one, from the
same reference facts) instead of the first. ``--via-dicom DIR`` (a generator with ``write_dicom``, the second) does
not hand the pipeline the generator's arrays: each case is written as that generator's camera export (its own DICOM
choices: one two-frame file or two files of one view), read back as ``scintiseg predict`` reads a folder
(:func:`read_written`: a study's two files found and joined, the views named by their headers), and the views read
compared with the generator's (:func:`read_back`): a reader that misses a view, mirrors it or loses counts is
counted in ``read_back`` and its case scored as read.

    OMP_NUM_THREADS=2 python benchmarks/bench_independent.py --patients 40 --json-out X.json --figure X.png
    OMP_NUM_THREADS=2 python benchmarks/bench_independent.py --generator independent_phantom_2 --via-dicom /tmp/ip2
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from scipy import ndimage

from scintiseg.display import display_window
from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.view_pairs import find_view_pairs, join_views
from scintiseg.metrics import class_dice, class_overlap
from scintiseg.phantom.regions import REGION_CLASSES
from scintiseg.predict.bsi import SPIERS_WEIGHTS, bone_scan_index
from scintiseg.predict.loader import load_models
from scintiseg.predict.pipeline import PredictSettings, predict_scan
from scintiseg.predict.regions import SkeletonRegions
from scintiseg.predict.spine_pattern import PATTERN_RATIO
from scintiseg.scan import Scan

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # sibling scripts import by name (as when run)
#: Uptake-ratio bins (lower edges; the last is open) of the sensitivity by the generator's lesion contrast.
UPTAKE_BINS: tuple[float, ...] = (0.0, 2.0, 3.0, 5.0)
#: The independently built phantoms (sibling scripts with ``make_case``), the first the default.
GENERATORS: tuple[str, ...] = ("independent_phantom", "independent_phantom_2")


def _module(name: str):
    """A sibling benchmark script, imported by name as when run (benchmarks/ is not a package)."""
    return importlib.import_module(name)


def case_scan(case, patient_id: str) -> Scan:
    """The generator's case as the :class:`~scintiseg.scan.Scan` a reader would give the pipeline."""
    views = {view: np.asarray(image, dtype=np.float32) for view, image in case.views.items()}
    return Scan(views=views, pixel_spacing=tuple(float(s) for s in case.pixel_spacing), patient_id=patient_id)


def read_written(paths: list[Path]) -> Scan:
    """The files one case was written to, read as ``scintiseg predict`` reads them (:mod:`scintiseg.report.batch`):
    a study's ANT and POST stored as two files found by their headers and joined, any other file read alone, each
    with the view its header or name gives and a two-view page split. Raises ScintisegError as the reader does, and
    for files that do not make one scan."""
    groups = find_view_pairs(paths)
    if len(groups) != 1:
        raise ScintisegError(f"{len(paths)} files read as {len(groups)} scans, not one study", path=paths[0])
    scans = [read_scan(path, split_views=True, view="name") for path in groups[0]]
    return scans[0] if len(scans) == 1 else join_views(*scans)


def read_back(case, scan: Scan) -> str:
    """How the views read from the written files compare with the generator's: ``"exact"``, or the first
    difference (a view missing, another matrix or pixel size, the counts mirrored or otherwise changed)."""
    if set(scan.views) != set(case.views):
        return f"views {sorted(scan.views)} read, {sorted(case.views)} written"
    if not np.allclose(scan.pixel_spacing, case.pixel_spacing, rtol=1e-3):
        return f"pixel spacing {scan.pixel_spacing} read, {tuple(case.pixel_spacing)} written"
    for view, image in case.views.items():
        written = np.clip(np.rint(np.asarray(image, dtype=np.float64)), 0, 65535)
        read = np.asarray(scan.views[view], dtype=np.float64)
        if read.shape != written.shape:
            return f"{view} {read.shape} read, {written.shape} written"
        if not np.array_equal(read, written):
            mirrored = np.array_equal(read[:, ::-1], written)
            return f"{view} read mirrored" if mirrored else f"{view} counts differ"
    return "exact"


def turned_case(case, degrees: float):
    """``case`` as a patient lying ``degrees`` off straight shows it (counter-clockwise on ANT as displayed; POST,
    stored mirrored, the other way): every view and truth map turned about the image's centre by nearest neighbour,
    so the counts stay Poisson counts and the maps their labels, the matrix kept (what leaves it is lost)."""
    def turn(image: np.ndarray, view: str) -> np.ndarray:
        angle = degrees if view == "ANT" else -degrees
        return ndimage.rotate(np.asarray(image), angle, reshape=False, order=0, mode="constant", cval=0)

    return dataclasses.replace(case, views={v: turn(x, v) for v, x in case.views.items()},
                               lesions={v: turn(x, v) for v, x in case.lesions.items()},
                               regions={v: turn(x, v) for v, x in case.regions.items()})


def truth_regions(labels: np.ndarray, view: str) -> SkeletonRegions:
    """The generator's region map (ids of the same vocabulary as scintiseg's) as :class:`SkeletonRegions`."""
    labels = np.asarray(labels).astype(np.int16)
    return SkeletonRegions(view, labels, labels > 0, labels > 0, 0, labels.shape[0] - 1, labels.shape[1] / 2)


def planar_truth_bsi(case) -> float:
    """The pipeline's BSI formula over the generator's lesion masks and region map, each bone from its nearer
    view where one is named, else the mean of the views (``bench_wholebody.bsi_over_views(..., "nearer")``)."""
    wholebody = _module("bench_wholebody")
    fractions = {}
    for view, lesions in case.lesions.items():
        index = bone_scan_index(np.asarray(lesions) > 0, truth_regions(case.regions[view], view))
        fractions[view] = wholebody.involved_fractions(index.bones)
    return wholebody.bsi_over_views(fractions, "nearer")


def volume_truth_bsi(case) -> float:
    """The 3-D involved fraction per bone from the generator's volumes, weighted by the Spiers percentages as the
    pipeline's BSI weights its planar fractions (:func:`~scintiseg.predict.bsi.bone_scan_index`)."""
    return float(sum(SPIERS_WEIGHTS.get(region, 0.0) * fraction for region, fraction in case.involved.items()))


def _bin(value: float, edges: tuple[float, ...]) -> str:
    names = [f"{a}-{b}" for a, b in zip(edges, edges[1:])] + [f">= {edges[-1]}"]
    return names[max(int(np.searchsorted(edges, value, side="right")) - 1, 0)]


def _side(region: str) -> str:
    return "left" if region.endswith("_left") else "right" if region.endswith("_right") else ""


def _unsided(region: str) -> str:
    return region.removesuffix("_left").removesuffix("_right")


def score_view(case, view: str, result) -> dict:
    """One view's lesion records, false positives and region naming (module docstring)."""
    misses = _module("bench_misses")
    counts = np.asarray(case.views[view], dtype=np.float64)
    truth = np.asarray(case.lesions[view])
    regions = np.asarray(case.regions[view])
    predicted = np.asarray(result.labels)
    records, naming = [], []
    for info in case.lesion_info:
        extent = truth == info["id"]
        if not extent.any():
            continue
        hits = predicted[extent & (predicted > 0)]
        found = bool(hits.size)
        records.append({"id": info["id"], "region": info["region"], "uptake_ratio": float(info["uptake_ratio"]),
                        "diameter_mm": float(info["diameter_mm"]),
                        "apparent_contrast": misses.apparent_contrast(counts, extent), "found": found,
                        "shape": str(info.get("shape", ""))})  # the second generator names each lesion's shape
        if found:
            named = result.lesions[int(np.bincount(hits).argmax()) - 1].region
            naming.append({"truth": info["region"], "named": named})
    false_positives = []
    for index in range(1, int(predicted.max()) + 1):
        mask = predicted == index
        if not mask.any() or (mask & (truth > 0)).any():
            continue
        ids = regions[mask]
        ids = ids[ids > 0]
        false_positives.append(REGION_CLASSES[int(np.bincount(ids).argmax())] if ids.size else "soft tissue")
    return {"records": records, "naming": naming, "false_positives": false_positives}


def sensitivity(records: list[dict], key, bins: tuple[float, ...] | None = None) -> dict[str, dict]:
    """Lesions, found and the share found per value of ``key`` (binned by ``bins`` when given)."""
    table: dict[str, list[int]] = {}
    for record in records:
        value = record[key]
        if bins is not None:
            value = _bin(value, bins) if np.isfinite(value) else "n/a"
        row = table.setdefault(str(value), [0, 0])
        row[0] += 1
        row[1] += int(record["found"])
    return {name: {"lesions": n, "found": k, "sensitivity": round(k / n, 3)} for name, (n, k) in sorted(table.items())}


def naming_shares(naming: list[dict]) -> dict[str, float]:
    """Shares of found lesion-views named exactly, up to the side, and with the right side (of those whose truth and
    name both have a side: a femoral lesion named pelvis is a naming error, not a side error)."""
    if not naming:
        return {"found": 0}
    sided = [n for n in naming if _side(n["truth"]) and _side(n["named"])]
    return {"found": len(naming),
            "exact": round(float(np.mean([n["named"] == n["truth"] for n in naming])), 3),
            "up_to_side": round(float(np.mean([_unsided(n["named"]) == _unsided(n["truth"]) for n in naming])), 3),
            "side_right": round(float(np.mean([_side(n["named"]) == _side(n["truth"]) for n in sided])), 3) if sided else None}


def run(args) -> dict:
    generator = _module(args.generator)
    if args.via_dicom and not hasattr(generator, "write_dicom"):
        raise SystemExit(f"--via-dicom: {args.generator}.py writes no DICOM (no write_dicom)")
    wholebody = _module("bench_wholebody")
    model = load_models(args.model.split(",") if args.model else [None], engine="torch")  # comma-joined: their mean
    settings = PredictSettings(spine_pattern=not args.no_spine_pattern, spine_pattern_ratio=args.spine_pattern_ratio,
                               symmetry=not args.no_symmetry, bladder=not args.no_bladder_rule,
                               distal_arm=not args.no_distal_arm_rule,
                               off_skeleton=not args.no_off_skeleton_rule, region_model=args.region_model)
    classes = len(REGION_CLASSES)
    overlap = {view: np.zeros((classes, 3), dtype=np.int64) for view in ("ANT", "POST")}
    records: list[dict] = []
    per_lesion: dict[tuple[int, int], bool] = {}
    naming: list[dict] = []
    fp = {"with lesions": [], "lesion-free": []}
    fp_where: Counter = Counter()
    left_out: Counter = Counter()  # the calls the reading rules left out: (rule, on a true lesion | not)
    scores, positive, seconds = [], [], []
    scored_cases: list[tuple[int, bool]] = []  # (seed, the lesion-free twin) of each score
    bsi = {"predicted": [], "planar_truth": [], "volume_truth": []}
    examples = []
    read: Counter = Counter()  # --via-dicom: how each written case read back ("exact", or the difference)
    for k in range(args.patients):
        seed = args.seed + k
        for with_lesions in (True, False):
            case = generator.make_case(seed, lesions=with_lesions, rows=args.rows, cols=args.cols)
            if args.tilt:
                case = turned_case(case, args.tilt if k % 2 == 0 else -args.tilt)  # either side, by turns
            scan = case_scan(case, f"IP{seed}")
            if args.via_dicom:  # as a user's folder: written by the generator's camera, read by scintiseg's reader
                folder = Path(args.via_dicom) / f"{seed}_{'lesions' if with_lesions else 'twin'}"
                try:
                    scan = read_written(generator.write_dicom(case, folder))
                except ScintisegError as exc:
                    read[f"not read: {exc}"] += 1
                    continue
                read[read_back(case, scan)] += 1
            started = time.perf_counter()
            prediction = predict_scan(scan, model, settings)
            seconds.append(time.perf_counter() - started)
            group = "with lesions" if with_lesions else "lesion-free"
            for view, result in prediction.views.items():
                scored = score_view(case, view, result)
                fp[group].append(len(scored["false_positives"]))
                fp_where.update(scored["false_positives"])
                left_out.update(wholebody.left_out_truth(result, np.asarray(case.lesions[view]) > 0))
                if with_lesions:
                    overlap[view] += class_overlap(result.regions.labels, np.asarray(case.regions[view]), classes)
                    records += scored["records"]
                    naming += scored["naming"]
                    for record in scored["records"]:
                        per_lesion[(seed, record["id"])] = per_lesion.get((seed, record["id"]), False) or record["found"]
            scores.append(prediction.triage_score)
            scored_cases.append((seed, not with_lesions))
            positive.append(with_lesions and any(np.asarray(m).any() for m in case.lesions.values()))
            if with_lesions:
                bsi["predicted"].append(prediction.bsi_percent)
                bsi["planar_truth"].append(planar_truth_bsi(case))
                bsi["volume_truth"].append(volume_truth_bsi(case))
                if len(examples) < args.figure_cases:
                    examples.append((case, prediction))
        found = sum(r["found"] for r in records)
        print(f"  {k + 1}/{args.patients}: {found}/{len(records)} lesion-views found so far, "
              f"FP/view {np.mean(fp['with lesions']):.2f} / {np.mean(fp['lesion-free']):.2f} (lesion-free), "
              f"{seconds[-1]:.2f} s", file=sys.stderr)

    dice = {view: class_dice(counts) for view, counts in overlap.items()}
    predicted = np.array(bsi["predicted"])
    bsi_rows = {}
    for name in ("planar_truth", "volume_truth"):
        truth = np.array(bsi[name])
        r_ci, mae_ci = wholebody.bsi_intervals(truth, predicted)
        bsi_rows[name] = {"pearson_r": wholebody.pearson(truth, predicted), "pearson_r_ci95": r_ci,
                          "mae": float(np.abs(truth - predicted).mean()), "mae_ci95": mae_ci,
                          "truth_mean": float(truth.mean())}
    views = {group: len(counts) for group, counts in fp.items()}
    return {
        "generator": f"benchmarks/{args.generator}.py", "seed": args.seed, "patients": args.patients,
        "via_dicom": bool(args.via_dicom), "read_back": dict(read.most_common()),
        "matrix": [args.rows, args.cols], "tilt_deg": args.tilt,
        "model": args.model,
        "region_model": args.region_model,
        "sensitivity": {
            "lesion_views": len(records), "found": int(sum(r["found"] for r in records)),
            "per_view": round(float(np.mean([r["found"] for r in records])), 3) if records else None,
            "per_lesion_either_view": round(float(np.mean(list(per_lesion.values()))), 3) if per_lesion else None,
            "by_uptake_ratio": sensitivity(records, "uptake_ratio", UPTAKE_BINS),
            "by_apparent_contrast": sensitivity(records, "apparent_contrast", wholebody.CONTRAST_BINS),
            "by_region": sensitivity(records, "region"),
            "by_shape": sensitivity(records, "shape") if any(r["shape"] for r in records) else {},
        },
        "false_positives": {
            "per_view_with_lesions": float(np.mean(fp["with lesions"])),
            "per_view_lesion_free": float(np.mean(fp["lesion-free"])),
            "views": views, "by_region": dict(fp_where.most_common()),
        },
        "left_out": wholebody.left_out_table(left_out),
        "triage_auc": wholebody._roc_auc(scores, positive),
        "triage_scores": [{"seed": seed, "twin": twin, "score": float(score), "lesion": bool(label)}
                          for (seed, twin), score, label in zip(scored_cases, scores, positive)],
        "naming": naming_shares(naming),
        "naming_errors": dict(Counter(f"{n['truth']} -> {n['named']}" for n in naming
                                      if n["named"] != n["truth"]).most_common()),
        "region_dice": {REGION_CLASSES[i]: {v: (None if np.isnan(dice[v][i]) else round(float(dice[v][i]), 3))
                                            for v in dice} for i in range(1, classes)},
        "region_dice_mean": {view: round(float(np.nanmean(values[1:])), 3) for view, values in dice.items()},
        "bsi": bsi_rows, "bsi_values": {k: np.round(v, 4).tolist() for k, v in bsi.items()},
        "seconds_per_scan_median": float(np.median(seconds)),
        "_examples": examples,
    }


def figure(examples: list, path: str | Path) -> None:
    """Each example's two views, the generator's lesion outlines (green) and the predicted ones (red)."""
    import matplotlib  # lazy: start-up time

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: start-up time

    # The rows any example's body spans (the generator leaves the field below the feet empty).
    rows = [np.nonzero(np.asarray(case.regions[view]).any(axis=1))[0] for case, _ in examples for view in ("ANT", "POST")]
    top, bottom = max(min(r.min() for r in rows) - 20, 0), max(r.max() for r in rows) + 20
    fig, axes = plt.subplots(1, 2 * len(examples), figsize=(2.2 * 2 * len(examples), 8.5), squeeze=False)
    for k, (case, prediction) in enumerate(examples):
        for j, view in enumerate(("ANT", "POST")):
            ax = axes[0, 2 * k + j]
            image = np.asarray(case.views[view], dtype=np.float64)[top:bottom]
            ax.imshow(image, cmap="gray_r", vmin=0, vmax=display_window(image), interpolation="nearest")
            ax.contour(np.asarray(case.lesions[view])[top:bottom] > 0, levels=[0.5], colors="lime", linewidths=0.8)
            ax.contour(np.asarray(prediction.views[view].labels)[top:bottom] > 0, levels=[0.5], colors="red",
                       linewidths=0.8)
            ax.set_title(f"{case.seed} {view}", fontsize=8)
            ax.axis("off")
    fig.suptitle("independent phantom: truth (green), scintiseg (red)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=40)
    parser.add_argument("--generator", choices=GENERATORS, default=GENERATORS[0],
                        help="the independently built phantom to read (default %(default)s)")
    parser.add_argument("--via-dicom", metavar="DIR", default=None,
                        help="write each case as the generator's DICOM export into DIR and read it back with "
                             "scintiseg's reader (a generator with write_dicom)")
    parser.add_argument("--seed", type=int, default=0, help="first patient seed of the independent generator")
    parser.add_argument("--model", default=None,
                        help="lesion model (default: the shipped one); models comma-joined (A,B; 'shipped' names the "
                             "shipped one): the mean of their lesion probabilities")
    parser.add_argument("--region-model", default=None,
                        help="skeleton-region network (a checkpoint; default: the shipped one)")
    parser.add_argument("--rows", type=int, default=1024, help="matrix rows (the field in mm is kept)")
    parser.add_argument("--cols", type=int, default=256, help="matrix columns")
    parser.add_argument("--no-spine-pattern", action="store_true",
                        help="keep the calls the spine-pattern rule leaves out (predict.spine_pattern)")
    parser.add_argument("--spine-pattern-ratio", type=float, default=PATTERN_RATIO,
                        help="the spine-pattern rule's cut (default %(default)s; 1.2 in sessions 33-38, 1.1 before)")
    parser.add_argument("--no-symmetry", action="store_true",
                        help="keep the calls the symmetry rule leaves out (predict.symmetry)")
    parser.add_argument("--no-bladder-rule", action="store_true",
                        help="keep the calls that cover much of the bladder's hot spot (predict.bladder.bladder_calls)")
    parser.add_argument("--no-distal-arm-rule", action="store_true",
                        help="keep (marked) the calls at an elbow, forearm or hand (predict.distal_arm)")
    parser.add_argument("--no-off-skeleton-rule", action="store_true",
                        help="keep the calls lying off the skeleton, in the soft tissue (predict.off_skeleton)")
    parser.add_argument("--tilt", type=float, default=0.0,
                        help="turn every patient this many degrees, to one side and the other by turns (session 36)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json-out", default=None)
    parser.add_argument("--figure", default=None, help="PNG of the first --figure-cases patients")
    parser.add_argument("--figure-cases", type=int, default=4)
    args = parser.parse_args(argv)

    import torch  # lazy: start-up time: only a run needs torch, not --help or the tests' import

    torch.set_num_threads(args.threads)
    result = run(args)
    s, f = result["sensitivity"], result["false_positives"]
    turned = f", turned {args.tilt:g} degrees either way" if args.tilt else ""
    if args.via_dicom:
        print(f"  read back from DICOM: {result['read_back']}")
    print(f"{args.generator}, {args.patients} patients (+ lesion-free twins), {args.rows} x {args.cols}{turned}: sensitivity {s['per_view']} of "
          f"{s['lesion_views']} lesion-views ({s['per_lesion_either_view']} of lesions on either view); "
          f"{f['per_view_with_lesions']:.2f} false positives per view ({f['per_view_lesion_free']:.2f} lesion-free); "
          f"triage AUC {result['triage_auc']:.3f}")
    print("  found by uptake ratio: " + ", ".join(f"{k} {v['found']}/{v['lesions']}" for k, v in s["by_uptake_ratio"].items()))
    print("  found by apparent contrast: " + ", ".join(f"{k} {v['found']}/{v['lesions']}" for k, v in s["by_apparent_contrast"].items()))
    print("  found by region: " + ", ".join(f"{k} {v['found']}/{v['lesions']}" for k, v in s["by_region"].items()))
    if s["by_shape"]:
        print("  found by shape: " + ", ".join(f"{k} {v['found']}/{v['lesions']}" for k, v in s["by_shape"].items()))
    print(f"  false positives by region: {f['by_region']}")
    print(f"  calls left out by a reading rule (on a true lesion / all): "
          f"{_module('bench_wholebody').left_out_text(result['left_out'])}")
    print(f"  naming of found lesions: {result['naming']}; named otherwise: {result['naming_errors']}")
    print(f"  region Dice (mean over regions): {result['region_dice_mean']}")
    for name, row in result["bsi"].items():
        print(f"  BSI against the {name.replace('_', ' ')}: r {row['pearson_r']:.3f} "
              f"({row['pearson_r_ci95'][0]:.3f}-{row['pearson_r_ci95'][1]:.3f}), MAE {row['mae']:.3f} "
              f"(truth mean {row['truth_mean']:.3f}, predicted {np.mean(result['bsi_values']['predicted']):.3f})")
    print(f"  {result['seconds_per_scan_median']:.2f} s per scan (median)")
    if args.figure:
        figure(result["_examples"], args.figure)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({k: v for k, v in result.items() if k != "_examples"}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
