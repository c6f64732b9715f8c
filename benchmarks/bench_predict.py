"""Prediction speed: one whole-body scan to all outputs, and batch throughput, for both engines.

Usage (2 CPU cores, as the issue asks)::

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_predict.py [--model RUN_OR_WEIGHTS] [--repeats 15] [--batch 8]
        [--window whole|thoracic] [--phantom SEED] [--engines torch,onnx] [--overlaps 0.25,0.5]

Without ``--model`` the shipped model is used if the install has one, else an untrained network of the
shipped architecture (DPU-Net, width 8, depth 4: speed does not depend on the weights). The scan is the
real NEMA NM1 whole-body DICOM (ANT only), or with ``--phantom SEED`` a whole-body ANT+POST phantom
patient written as a two-frame DICOM. ``--window`` runs that window mode (default: the model's own).
"One scan" = read + resampling + windows + model + post-processing + regions + all outputs (LabelMe x
view, mask and overlay PNGs, report.json, report.html, DICOM SR and GSPS), timed in one warm process
(interpreter start-up and imports excluded); the median of ``--repeats`` runs is reported. Batch
throughput = ``--batch`` copies of the scan through :func:`scintiseg.report.batch.run_batch`.

``--overlaps A,B,...`` (with ``--phantom``) measures the whole-view mode's window overlap instead: per
overlap, the median CPU time of the model stage (sliding windows only; CPU time, so that other processes
on the machine change it little), the windows run, the largest and median change of the blended
probability against the largest overlap given, and the lesions found and Dice against the phantom's
truth masks at the 0.5 threshold. ``full`` among them is the other way issue 15 names: the whole view
through the fully convolutional network in one pass.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"


def load(spec: str | None, engine: str):
    from scintiseg.predict.loader import SHIPPED_WEIGHTS, load_model, model_from_network

    if spec or SHIPPED_WEIGHTS.is_file():
        return load_model(spec, engine=engine), spec or "shipped"
    import torch

    from scintiseg.models import create_model

    torch.manual_seed(0)
    network = create_model("dpunet", width=8, depth=4).eval()
    return model_from_network(network, engine=engine), "untrained dpunet width 8 depth 4 (shipped architecture)"


def one_scan(model, path: Path, out: Path, settings) -> float:
    from scintiseg.io import read_scan
    from scintiseg.predict.pipeline import predict_scan
    from scintiseg.report.outputs import write_outputs

    start = time.perf_counter()
    scan = read_scan(path)
    prediction = predict_scan(scan, model, settings)
    write_outputs(prediction, out)
    return time.perf_counter() - start


def phantom_scan(seed: int, folder: Path):
    """A whole-body ANT+POST phantom patient written as DICOM; returns (path, patient)."""
    from scintiseg.io.dicom import write_dicom
    from scintiseg.phantom import generate_patient

    patient = generate_patient(seed)
    path = folder / f"phantom{seed}.dcm"
    write_dicom(patient.scan, path)
    return path, patient


def overlap_study(model, patient, overlaps: list, repeats: int) -> None:
    """Speed and result of the whole-view mode per window overlap (module docstring)."""
    import numpy as np
    from monai.inferers.utils import _get_scan_interval
    from scipy.special import expit

    from scintiseg.predict.pipeline import PredictSettings, model_scan, predict_from_probabilities
    from scintiseg.predict.windows import sliding_window_probability, whole_view_windows

    scan = model_scan(patient.scan, model)
    windows = whole_view_windows(scan, model.input_mode, model.normalisation)
    images = np.stack([w.image for w in windows])
    results = {}
    for overlap in overlaps:
        def run(overlap=overlap):
            if overlap == "full":
                return expit(model.engine(images))[:, 0]
            return sliding_window_probability(images, model.engine, model.window_size, overlap)

        run()  # warm-up
        times, probability = [], None
        for _ in range(repeats):
            start = time.process_time()
            probability = run()
            times.append(time.process_time() - start)
        size = model.window_size
        padded = [max(n, size) for n in images.shape[-2:]]
        count = 1
        if overlap != "full":
            steps = _get_scan_interval(padded, (size, size), 2, (overlap, overlap))
            count = int(np.prod([len(range(0, max(n - size, 0) + 1, s)) + ((n - size) % s != 0) for n, s in zip(padded, steps)]))
        maps = {view: windows[i].model_input.to_view(probability[i], view) for i, w in enumerate(windows) for view in w.boxes}
        prediction = predict_from_probabilities(patient.scan, maps, settings=PredictSettings(window="whole"))
        dice = []
        for view, result in prediction.views.items():
            truth = patient.masks[view]
            dice.append(2 * (result.mask & truth).sum() / max(result.mask.sum() + truth.sum(), 1))
        results[overlap] = (statistics.median(times), count * len(images), probability, prediction.lesion_count, float(np.mean(dice)))
    reference = results[max(o for o in overlaps if o != "full")][2]
    print("| overlap | windows per scan | model stage, median CPU (s) | max abs change of p | median abs change of p | lesions | Dice |")
    print("|---|---|---|---|---|---|---|")
    for overlap, (median, count, probability, lesions, dice) in results.items():
        change = np.abs(probability - reference)
        print(f"| {overlap} | {count} | {median:.3f} | {change.max():.4f} | {np.median(change):.5f} | {lesions} | {dice:.3f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--scan", default=str(REAL))
    parser.add_argument("--phantom", type=int, default=None, metavar="SEED", help="a whole-body ANT+POST phantom scan instead")
    parser.add_argument("--window", choices=("whole", "thoracic"), default=None, help="window mode (default: the model's own)")
    parser.add_argument("--engines", default="torch,onnx")
    parser.add_argument("--overlaps", default=None, help="measure these whole-view overlaps instead (needs --phantom)")
    args = parser.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    import torch

    torch.set_num_threads(threads)
    from scintiseg.predict.pipeline import PredictSettings
    from scintiseg.report.batch import run_batch

    settings = PredictSettings(window=args.window)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        scan_path, patient = Path(args.scan), None
        if args.phantom is not None:
            scan_path, patient = phantom_scan(args.phantom, tmp)
        if args.overlaps:
            if patient is None:
                parser.error("--overlaps needs --phantom (its truth masks)")
            model, what = load(args.model, args.engines.split(",")[0])
            print(f"model: {what}; scan: phantom seed {args.phantom}; threads: {threads}; repeats: {args.repeats}; "
                  f"load average: {os.getloadavg()[0]:.2f}")
            overlap_study(model, patient, [v if v == "full" else float(v) for v in args.overlaps.split(",")], args.repeats)
            return 0
        for engine in args.engines.split(","):
            model, what = load(args.model, engine)
            one_scan(model, scan_path, tmp / "warm", settings)  # warm-up: imports, first allocations
            times = [one_scan(model, scan_path, tmp / f"{engine}{i}", settings) for i in range(args.repeats)]
            folder = tmp / f"batch_{engine}"
            folder.mkdir()
            for i in range(args.batch):
                shutil.copy(scan_path, folder / f"scan{i:02d}.dcm")
            start = time.perf_counter()
            run_batch([folder], tmp / f"batch_out_{engine}", model, settings, progress=False)
            batch_s = time.perf_counter() - start
            rows.append((engine, statistics.median(times), min(times), max(times), args.batch / batch_s))
    window = args.window or f"model's own ({model.window})"
    print(f"model: {what}; scan: {scan_path.name}; window: {window}; threads: {threads}; repeats: {args.repeats}; "
          f"batch: {args.batch}; load average at the end: {os.getloadavg()[0]:.2f}")
    print("| engine | one scan, median (s) | min (s) | max (s) | batch (scans/s) |")
    print("|---|---|---|---|---|")
    for engine, median, low, high, rate in rows:
        print(f"| {engine} | {median:.3f} | {low:.3f} | {high:.3f} | {rate:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
