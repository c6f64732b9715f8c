"""Follow-up comparison (``scintiseg compare``, :mod:`scintiseg.predict.follow_up`) measured on scan pairs whose
follow-up holds a known number of new lesions.

    OMP_NUM_THREADS=2 python benchmarks/bench_follow_up.py [--source phantom|nm1] [--pairs 40] [--fraction 0.5]
        [--series] [--model M] [--json-out X.json]

**Pairs.** One patient's acquisition (a ``default`` phantom patient, ANT + POST, seeds from :data:`PHANTOM_SEED`; or
NM1's anterior view, ``../shared/data/real``) thinned twice to ``--fraction`` of its counts by independent binomial
draws (:func:`scintiseg.phantom.hybrid.make_hybrid_case`): the baseline as it is, the follow-up with ``k`` new lesions
inserted (``k`` = 0, 1, 2, 3 in turn; the hybrid insertion, ANT and the mirrored POST, contrast :data:`CONTRAST`,
size :data:`SIZE_MM`), so the patient's own lesions and hot spots are on both. The two thinnings of one acquisition
share its counts, so their noise is more alike than two acquisitions' [limit]. The follow-up is then moved as a
patient lies otherwise (:func:`moved`): shifted up to :data:`SHIFT_MM` mm in each direction; on every second and third
pair of three also turned up to :data:`TURN_DEG` degrees; on every third also resampled to :data:`OTHER_SPACING_MM`
mm pixels (another matrix). A shift alone is a whole number of pixels (the counts exact); a turn or a resampling
interpolates the counts linearly (the noise a little smoothed). POST moves as the mirror of ANT.

Both scans are predicted with the model (default: the shipped one) and compared (:func:`follow_up.compare`), the
network's own outlines on both (no reader). Measured:

- **registration**: for the follow-up's bone pixels (its region map), the distance in mm between where the
  registration puts them and where they lay on the baseline (known: the move was ours); median and 95th percentile
  over every view of every pair, and the worst view's median;
- **new lesions**: each inserted lesion visible on a view (Rose criterion) is *found new* (a follow-up outline marked
  new touches it on some view), *found, matched* (touched only by outlines marked persisting: a false match) or
  *missed* (no outline touches it);
- **false new**: lesions (an ANT-POST pair once) marked new that touch no inserted lesion, per pair (the network calls
  on one thinning what it does not on the other, or a registration error);
- **not seen**: baseline lesions marked not seen, per pair; all are false, since nothing was taken away;
- **two or more new** (PCWG3's condition): against the truth (at least two inserted lesions visible), sensitivity and
  specificity over the pairs.

**Series** (``--series``: three scans instead of two, :mod:`scintiseg.predict.series`). Scan 0 is a thinning with no
lesion; scan 1 holds ``k1`` inserted lesions and scan 2 the same ``k1`` (the same draw: the lesion stream of one seed,
the first ``k1`` of ``k1 + k2``) plus ``k2`` more, ``(k1, k2)`` = (0, 0), (2, 0), (2, 2), (3, 3) in turn; the three
thinnings are independent (noise streams of count levels one part in a million apart), scans 1 and 2 each moved as
above, 56 days between scans. Measured: PCWG3's 2+2 pattern read on scan 1 (:func:`~scintiseg.predict.series.
read_series`) against the truth (at least two inserted lesions visible on scan 1 and two more on scan 2),
sensitivity and specificity over the series; and of scan 1's inserted lesions found new, the share that scan 2
*sees again* (each was kept, so every one not seen again is the network's or the matching's miss).

One run: the pairs are seeded, so a second run prints the same.
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
from scintiseg.phantom import generate_patient, profile
from scintiseg.phantom.hybrid import HybridConfig, make_hybrid_case, prepare_source
from scintiseg.predict import follow_up, series
from scintiseg.predict.loader import load_model
from scintiseg.predict.pipeline import PredictSettings, predict_scan
from scintiseg.scan import Scan

HERE = Path(__file__).resolve().parent
NM1 = HERE.parent.parent / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"
PHANTOM_SEED = 940000
CONTRAST = (2.0, 6.0)
SIZE_MM = (10.0, 30.0)
SHIFT_MM = 15.0
TURN_DEG = 3.0
OTHER_SPACING_MM = 2.0


def moved(image: np.ndarray, spacing: float, shift_mm: tuple[float, float], turn_deg: float, new_spacing: float,
          order: int) -> tuple[np.ndarray, callable]:
    """``image`` with the patient moved (rows, cols in mm), turned about the image's centre and resampled to
    ``new_spacing``; returns it and the map from its pixels to ``image``'s (the truth of the registration)."""
    if turn_deg == 0 and new_spacing == spacing:
        steps = (int(round(shift_mm[0] / spacing)), int(round(shift_mm[1] / spacing)))
        shifted = np.roll(image, steps, axis=(0, 1))
        return shifted, lambda rows, cols: (np.asarray(rows, float) - steps[0], np.asarray(cols, float) - steps[1])
    centre = (image.shape[0] / 2 * spacing, image.shape[1] / 2 * spacing)
    turn = np.radians(turn_deg)

    def to_source(rows, cols):
        y = np.asarray(rows, float) * new_spacing - shift_mm[0] - centre[0]
        x = np.asarray(cols, float) * new_spacing - shift_mm[1] - centre[1]
        return ((np.cos(turn) * y - np.sin(turn) * x + centre[0]) / spacing,
                (np.sin(turn) * y + np.cos(turn) * x + centre[1]) / spacing)

    shape = (int(round(image.shape[0] * spacing / new_spacing)), int(round(image.shape[1] * spacing / new_spacing)))
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    out = ndi.map_coordinates(np.asarray(image, float), list(to_source(rows, cols)), order=order)
    if order:  # counts per pixel follow the pixel's area
        out = np.rint(out * (new_spacing / spacing) ** 2).astype(np.uint16)
    return out, to_source


def make_pair(source_scan: Scan, index: int, fraction: float, rng: np.random.Generator) -> dict:
    """One pair (module docstring): the baseline, the moved follow-up, its truth per view and the true maps."""
    config = HybridConfig(contrast=CONTRAST, size_mm=SIZE_MM, lesions_per_case=(index % 4, index % 4))
    source = prepare_source(source_scan, config)
    baseline = make_hybrid_case(source, fraction, seed=2 * index, negative=True).scan
    case = make_hybrid_case(source, fraction, seed=2 * index + 1, negative=index % 4 == 0)
    spacing = float(source_scan.pixel_spacing[0])
    shift = tuple(float(v) for v in rng.uniform(-SHIFT_MM, SHIFT_MM, 2))
    turn = float(rng.uniform(-TURN_DEG, TURN_DEG)) if index % 3 else 0.0
    new_spacing = OTHER_SPACING_MM if index % 3 == 2 else spacing
    views, truth, maps = {}, {}, {}
    for name in case.scan.view_names:
        sign = -1.0 if name == "POST" else 1.0  # POST is stored mirrored: the patient's move mirrored
        args = (spacing, (shift[0], sign * shift[1]), sign * turn, new_spacing)
        views[name], maps[name] = moved(case.scan.view(name), *args, order=1)
        instances = np.where(case.masks[name], case.instances[name], 0)
        truth[name], _ = moved(instances, *args, order=0)
    late = Scan(views, pixel_spacing=(new_spacing, new_spacing), patient_id=source_scan.patient_id)
    visible = [lesion["id"] for lesion in case.lesions if any(lesion["visible"].values())]
    return {"baseline": baseline, "follow_up": late, "truth": truth, "maps": maps, "visible": visible,
            "move": {"shift_mm": [round(v, 1) for v in shift], "turn_deg": round(turn, 2), "spacing_mm": new_spacing}}


#: (lesions new on scan 1, further lesions new on scan 2) of the series, in turn.
SERIES_KINDS = ((0, 0), (2, 0), (2, 2), (3, 3))
#: Days between the scans of a series (PCWG3's confirmation needs at least 42).
SERIES_DAYS = 56


def _moved_case(case, source_scan: Scan, rng: np.random.Generator, index: int) -> tuple[Scan, dict]:
    """A hybrid case's scan moved as a patient lies otherwise (:func:`make_pair`'s moves), and its truth per view."""
    spacing = float(source_scan.pixel_spacing[0])
    shift = tuple(float(v) for v in rng.uniform(-SHIFT_MM, SHIFT_MM, 2))
    turn = float(rng.uniform(-TURN_DEG, TURN_DEG)) if index % 3 else 0.0
    new_spacing = OTHER_SPACING_MM if index % 3 == 2 else spacing
    views, truth = {}, {}
    for name in case.scan.view_names:
        sign = -1.0 if name == "POST" else 1.0
        args = (spacing, (shift[0], sign * shift[1]), sign * turn, new_spacing)
        views[name], _ = moved(case.scan.view(name), *args, order=1)
        truth[name], _ = moved(np.where(case.masks[name], case.instances[name], 0), *args, order=0)
    return Scan(views, pixel_spacing=(new_spacing, new_spacing), patient_id=source_scan.patient_id), truth


def make_series(source_scan: Scan, index: int, fraction: float, rng: np.random.Generator) -> dict:
    """Three scans of one patient (module docstring, "Series"): their scans, truths and the lesions new on each."""
    first, more = SERIES_KINDS[index % len(SERIES_KINDS)]
    seed, step = 3 * index, 1e-6
    cases = []
    for scan_index, count in enumerate((0, first, first + more)):
        config = HybridConfig(contrast=CONTRAST, size_mm=SIZE_MM, lesions_per_case=(count, count))
        cases.append(make_hybrid_case(prepare_source(source_scan, config), fraction + scan_index * step, seed=seed,
                                      negative=count == 0))
    def drawn(lesions: list[dict]) -> list[tuple]:
        return [(tuple(lesion["centre"]), lesion["contrast"], lesion["size_mm"]) for lesion in lesions]

    if drawn(cases[1].lesions) != drawn(cases[2].lesions[:len(cases[1].lesions)]):
        raise RuntimeError("scan 2 must hold scan 1's lesions (one lesion draw)")
    scans, truths = [cases[0].scan], [{name: np.zeros(cases[0].scan.shape, np.int32) for name in cases[0].scan.view_names}]
    for case in cases[1:]:
        scan, truth = _moved_case(case, source_scan, rng, index)
        scans.append(scan)
        truths.append(truth)
    visible = [[lesion["id"] for lesion in case.lesions if any(lesion["visible"].values())] for case in cases]
    return {"scans": scans, "truths": truths, "new_on_1": visible[1],
            "new_on_2": [i for i in visible[2] if i > len(cases[1].lesions)]}


def score_series(series_case: dict, comparisons: list[follow_up.FollowUp]) -> dict:
    """The series' pattern against its truth, and how many of scan 1's found new lesions scan 2 sees again."""
    step = series.read_series(comparisons, [SERIES_DAYS, SERIES_DAYS])[0]
    first, second = comparisons
    truth = series_case["truths"][1]
    found, seen_again = set(), set()
    for name in first.views:
        view = first.follow_up.views[name]
        for index, lesion in enumerate(view.lesions, start=1):
            if first.status_of(name, lesion.id) != "new":
                continue
            under = set(np.unique(truth[name][view.labels == index]).tolist()) & set(series_case["new_on_1"])
            found |= under
            if second.status_of(name, lesion.id, follow_up=False) == "persisting":
                seen_again |= under
    return {"new_on_1": len(series_case["new_on_1"]), "new_on_2": len(series_case["new_on_2"]),
            "truth_pattern": len(series_case["new_on_1"]) >= 2 and len(series_case["new_on_2"]) >= 2,
            "pattern": bool(step.two_plus_two), "found_new_on_1": len(found), "seen_again": len(seen_again),
            "step": step.record()}


def run_series(args, model, settings, nm1) -> dict:
    """``--series``: the series and their summary (module docstring)."""
    rng = np.random.default_rng(46)
    rows = []
    for index in range(args.pairs):
        scan = nm1 if nm1 is not None else generate_patient(PHANTOM_SEED + index, profile("default"),
                                                            patient_id=f"P{index}").scan
        case = make_series(scan, index, args.fraction, rng)
        predictions = [predict_scan(s, model, settings) for s in case["scans"]]
        comparisons = [follow_up.compare(a, b) for a, b in zip(predictions, predictions[1:])]
        row = score_series(case, comparisons)
        rows.append(row)
        print(f"series {index}: truth {row['new_on_1']} + {row['new_on_2']}, read {row['step']['new_lesions']} + "
              f"{row['step']['next_new_lesions']}, pattern {row['pattern']} (truth {row['truth_pattern']}), "
              f"{row['seen_again']} of {row['found_new_on_1']} seen again", file=sys.stderr)
    positives = [r for r in rows if r["truth_pattern"]]
    negatives = [r for r in rows if not r["truth_pattern"]]
    found = sum(r["found_new_on_1"] for r in rows)
    return {"summary": {
        "source": args.source, "series": len(rows), "fraction": args.fraction, "model": str(args.model or "shipped"),
        "two_plus_two": {"sensitivity": round(sum(r["pattern"] for r in positives) / max(len(positives), 1), 3),
                         "specificity": round(sum(not r["pattern"] for r in negatives) / max(len(negatives), 1), 3),
                         "positives": len(positives), "negatives": len(negatives)},
        "found_new_on_scan_1": found, "seen_again_on_scan_2": sum(r["seen_again"] for r in rows),
        "seen_again_share": round(sum(r["seen_again"] for r in rows) / max(found, 1), 3)}, "series": rows}


def registration_errors(result: follow_up.FollowUp, maps: dict, spacing: float) -> dict[str, float]:
    """Per view, the median distance (mm) between where the registration puts the follow-up's bone pixels and where
    they lay on the baseline; also every sampled distance."""
    errors = {}
    for name, change in result.views.items():
        regions = result.follow_up.views[name].regions
        rows, cols = np.nonzero(regions.labels > 0) if regions.named else np.nonzero(regions.body)
        rows, cols = rows[::25], cols[::25]
        found = change.registration.to_baseline(rows, cols)
        true = maps[name](rows, cols)
        errors[name] = np.hypot(found[0] - true[0], found[1] - true[1]) * spacing
    return errors


def score_pair(pair: dict, result: follow_up.FollowUp) -> dict:
    """The pair's counts (module docstring)."""
    found_new, matched = set(), set()
    for name, change in result.views.items():
        view = result.follow_up.views[name]
        for index, lesion in enumerate(view.lesions, start=1):
            under = set(np.unique(pair["truth"][name][view.labels == index]).tolist()) - {0}
            (found_new if result.status_of(name, lesion.id) == "new" else matched).update(under)
    groups = follow_up._groups(result.follow_up, list(result.views))  # noqa: SLF001 (the benchmark reads lesions)
    false_new = 0
    for group in groups:
        if all(result.status_of(name, lesion_id) == "new" for name, lesion_id in group):
            touches = False
            for name, lesion_id in group:
                view = result.follow_up.views[name]
                index = next(i for i, lesion in enumerate(view.lesions, start=1) if lesion.id == lesion_id)
                touches |= bool((pair["truth"][name][view.labels == index] > 0).any())
            false_new += not touches
    visible = set(pair["visible"])
    return {"visible_new": len(visible), "found_new": len(visible & found_new),
            "found_matched": len(visible & (matched - found_new)), "missed": len(visible - found_new - matched),
            "false_new": false_new, "not_seen": result.lesions_not_seen, "new_lesions": result.new_lesions,
            "two_or_more_new": result.two_or_more_new, "truth_two_or_more": len(visible) >= 2,
            "flags": result.flags, "move": pair["move"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", choices=("phantom", "nm1"), default="phantom")
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--fraction", type=float, default=0.5)
    parser.add_argument("--series", action="store_true", help="three scans per patient: the 2+2 pattern (docstring)")
    parser.add_argument("--model", default=None)
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args(argv)
    model = load_model(args.model, engine="onnx")
    settings = PredictSettings()
    rng = np.random.default_rng(45)
    nm1 = read_scan(NM1) if args.source == "nm1" else None
    rows, all_errors, view_medians = [], [], []
    start = time.perf_counter()
    if args.series:
        result = run_series(args, model, settings, nm1)
        result["summary"]["seconds"] = round(time.perf_counter() - start, 1)
        print(json.dumps(result["summary"], indent=1))
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(result, indent=1))
        return 0
    for index in range(args.pairs):
        scan = nm1 if nm1 is not None else generate_patient(PHANTOM_SEED + index, profile("default"),
                                                            patient_id=f"P{index}").scan
        pair = make_pair(scan, index, args.fraction, rng)
        early = predict_scan(pair["baseline"], model, settings)
        late = predict_scan(pair["follow_up"], model, settings)
        result = follow_up.compare(early, late)
        errors = registration_errors(result, pair["maps"], float(scan.pixel_spacing[0]))
        for values in errors.values():
            all_errors.append(values)
            view_medians.append(float(np.median(values)))
        row = score_pair(pair, result)
        row["registration_median_mm"] = {name: round(float(np.median(v)), 2) for name, v in errors.items()}
        rows.append(row)
        print(f"pair {index}: {row['visible_new']} new visible, {row['found_new']} found new, {row['found_matched']} "
              f"matched, {row['false_new']} false new, {row['not_seen']} not seen, registration "
              f"{row['registration_median_mm']} mm", file=sys.stderr)
    errors = np.concatenate(all_errors) if all_errors else np.zeros(0)
    visible = sum(r["visible_new"] for r in rows)
    positives = [r for r in rows if r["truth_two_or_more"]]
    negatives = [r for r in rows if not r["truth_two_or_more"]]
    summary = {
        "source": args.source, "pairs": len(rows), "fraction": args.fraction, "model": str(args.model or "shipped"),
        "registration_mm": {"median": round(float(np.median(errors)), 2),
                            "p95": round(float(np.percentile(errors, 95)), 2),
                            "worst_view_median": round(max(view_medians), 2)},
        "inserted_visible": visible,
        "found_new": sum(r["found_new"] for r in rows), "found_matched": sum(r["found_matched"] for r in rows),
        "missed": sum(r["missed"] for r in rows),
        "false_new_per_pair": round(sum(r["false_new"] for r in rows) / max(len(rows), 1), 3),
        "not_seen_per_pair": round(sum(r["not_seen"] for r in rows) / max(len(rows), 1), 3),
        "two_or_more_new": {
            "sensitivity": round(sum(r["two_or_more_new"] for r in positives) / max(len(positives), 1), 3),
            "specificity": round(sum(not r["two_or_more_new"] for r in negatives) / max(len(negatives), 1), 3),
            "positives": len(positives), "negatives": len(negatives)},
        "seconds": round(time.perf_counter() - start, 1),
    }
    print(json.dumps(summary, indent=1))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"summary": summary, "pairs": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
