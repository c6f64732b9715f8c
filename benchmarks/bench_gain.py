"""How much a lesion model's calls depend on the level of its normalised input: the same images times a gain.

    OMP_NUM_THREADS=2 python benchmarks/bench_gain.py [--model M] [--gains 0.7 0.85 1 1.2 1.4] --json-out X.json

The ``robust`` normalisation divides a view by the 90th percentile of its smoothed body (:mod:`scintiseg.prepare.
intensity`). What that percentile is depends on what the image holds (a whole body, a spine crop, a camera's
bone-to-tissue ratio), so a model that calls a lesion by its normalised level rather than by its contrast to what
lies around it calls different things on the same anatomy framed or acquired another way. This benchmark runs the
whole prediction pipeline with the network's input multiplied by each ``--gains`` value (the network's engine
wrapped; everything else as ``scintiseg predict``) on three sets, and reports per gain the visible lesions found
(an outline touching a lesion's visible extent), the false positives per image (outlines touching no lesion,
visible or not) and the triage ROC AUC (largest probability, images with a visible lesion against images with no
lesion):

- ``nm1``: ``--nm1-cases`` NM1 hybrids with 1-3 inserted lesions and ``--nm1-negatives`` lesion-free ones (the real
  ANT view at half its counts, seeds 70000+; :func:`scintiseg.phantom.hybrid.make_hybrid_case`);
- ``nm1-crops``: the five BS-80K-like region crops of ``make_region_crops.py`` of the same cases, their counts
  (the crops' outside blanked; BS-80K's count level, 0.17 of NM1's);
- ``phantom``: ``--patients`` held-out ``default`` phantom patients (seeds 940000+), ANT and POST.

A model whose calls do not depend on the level finds the same lesions at every gain. Choices: the gains span
0.7-1.4, about the spread of the normalised bone level between a whole view and its region crops (session 19,
docs/robustness.md "Gain"); one run per gain on the same images.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from scintiseg.io import read_scan
from scintiseg.phantom.hybrid import make_hybrid_case, prepare_source
from scintiseg.predict.loader import load_model
from scintiseg.predict.pipeline import PredictSettings, predict_scan
from scintiseg.report.image_labels import roc_auc
from scintiseg.scan import Scan

sys.path.insert(0, str(Path(__file__).resolve().parent))  # a sibling script: the same crops
import make_region_crops  # noqa: E402

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"
GAINS = (0.7, 0.85, 1.0, 1.2, 1.4)


def gained(model, gain: float):
    """``model`` whose network sees its normalised input times ``gain``."""
    engine = model.engine
    return replace(model, engine=lambda images: engine(np.asarray(images, dtype=np.float32) * np.float32(gain)))


def score(prediction, truth: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    """Visible lesions found, false positives and the largest probability of one prediction; ``truth``: view ->
    (lesion-id map of every lesion, visible mask)."""
    found = lesions = false = 0
    for view, (instances, visible) in truth.items():
        predicted = prediction.views[view].labels
        ids = [i for i in np.unique(instances[visible]) if i]
        lesions += len(ids)
        found += sum(bool((predicted[(instances == i) & visible] > 0).any()) for i in ids)
        false += sum(not (instances[predicted == k] > 0).any() for k in np.unique(predicted[predicted > 0]))
    return {"lesions": lesions, "found": found, "false": false, "score": prediction.triage_score,
            "images": len(truth)}


def nm1_sets(scan_path: Path, cases: int, negatives: int, seed: int):
    """``(set, Scan, truth)`` of the NM1 hybrids and of their region crops (module docstring)."""
    crops = make_region_crops
    scan = read_scan(scan_path)
    polygons = crops.crop_polygons(scan)
    source = prepare_source(scan)
    for k in range(cases + negatives):
        negative = k >= cases
        whole = make_hybrid_case(source, 0.5, seed + k, negative=negative)
        yield "nm1", Scan({"ANT": whole.scan.view("ANT")}, pixel_spacing=scan.pixel_spacing), \
            {"ANT": (whole.instances["ANT"], whole.masks["ANT"])}
        low = make_hybrid_case(source, 0.17, seed + k, negative=negative)
        for polygon in polygons.values():
            box = crops.crop_box(polygon)
            inside = polygon[box]
            counts = np.where(inside, low.scan.view("ANT")[box], 0).astype(np.uint16)
            yield "nm1-crops", Scan({"VIEW": counts}, pixel_spacing=scan.pixel_spacing), \
                {"VIEW": (np.where(inside, low.instances["ANT"][box], 0), low.masks["ANT"][box] & inside)}


def phantom_set(patients: int, seed: int):
    """``(set, Scan, truth)`` of held-out default phantom patients, both views."""
    from scintiseg.phantom.config import profile  # lazy: only this set
    from scintiseg.phantom.patient import generate_patient  # lazy: only this set

    for k in range(patients):
        patient = generate_patient(seed + k, profile("default"))
        yield "phantom", patient.scan, {v: (patient.instances[v], patient.masks[v]) for v in patient.scan.view_names}


def summarise(records: list[dict]) -> dict:
    """Per set and gain: sensitivity, false positives per image, triage AUC."""
    out: dict = {}
    for name in dict.fromkeys(r["set"] for r in records):
        out[name] = {}
        for gain in dict.fromkeys(r["gain"] for r in records):
            rows = [r for r in records if r["set"] == name and r["gain"] == gain]
            lesions, found = sum(r["lesions"] for r in rows), sum(r["found"] for r in rows)
            images = sum(r["images"] for r in rows)
            scored = [r for r in rows if r["lesions"] > 0 or r["negative"]]
            out[name][str(gain)] = {
                "sensitivity": round(found / lesions, 3) if lesions else None, "lesions": lesions,
                "false_per_image": round(sum(r["false"] for r in rows) / images, 3),
                "triage_auc": roc_auc([r["score"] for r in scored], [r["lesions"] > 0 for r in scored]),
                "images": images,
            }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="run folder or checkpoint (default: the shipped model)")
    parser.add_argument("--gains", type=float, nargs="+", default=list(GAINS))
    parser.add_argument("--nm1-cases", type=int, default=15)
    parser.add_argument("--nm1-negatives", type=int, default=5)
    parser.add_argument("--nm1-seed", type=int, default=70_000)
    parser.add_argument("--patients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=940_000)
    parser.add_argument("--scan", type=Path, default=REAL)
    parser.add_argument("--engine", default="onnx", choices=("onnx", "torch"))
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args(argv)
    model = load_model(args.model, engine=args.engine)
    started = time.perf_counter()
    cases = list(nm1_sets(args.scan, args.nm1_cases, args.nm1_negatives, args.nm1_seed)) + list(phantom_set(args.patients, args.seed))
    records = []
    for gain in args.gains:
        scaled = gained(model, gain)
        for name, scan, truth in cases:
            prediction = predict_scan(scan, scaled, PredictSettings())
            negative = all(not (instances > 0).any() for instances, _ in truth.values())
            records.append({"set": name, "gain": gain, "negative": negative, **score(prediction, truth)})
    result = {"model": args.model or "shipped", "gains": args.gains, "seconds": round(time.perf_counter() - started, 1),
              "sets": summarise(records)}
    for name, per_gain in result["sets"].items():
        for gain, row in per_gain.items():
            auc = "n/a" if row["triage_auc"] is None else f"{row['triage_auc']:.3f}"
            print(f"{name:10s} gain {float(gain):4.2f}: found {row['sensitivity']} of {row['lesions']}, "
                  f"false positives per image {row['false_per_image']:.3f}, triage AUC {auc} ({row['images']} images)")
    if args.json_out is not None:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
