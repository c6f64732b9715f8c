"""Prediction speed: one whole-body scan to all outputs, and batch throughput, for both engines.

Usage (2 CPU cores, as the issue asks)::

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_predict.py [--model RUN_OR_WEIGHTS] [--repeats 15] [--batch 8]

Without ``--model`` the shipped model is used if the install has one, else an untrained network of the
shipped architecture (DPU-Net, width 8, depth 4: speed does not depend on the weights). The scan is the
real NEMA NM1 whole-body DICOM. "One scan" = read + crop + model + post-processing + regions + all outputs
(LabelMe x view, mask and overlay PNGs, report.json, report.html, DICOM SR and GSPS), timed in one warm
process (interpreter start-up and imports excluded); the median of ``--repeats`` runs is reported. Batch
throughput = ``--batch`` copies of the scan through :func:`scintiseg.report.batch.run_batch`.
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


def one_scan(model, path: Path, out: Path) -> float:
    from scintiseg.io import read_scan
    from scintiseg.report.outputs import write_outputs
    from scintiseg.predict.pipeline import predict_scan

    start = time.perf_counter()
    scan = read_scan(path)
    prediction = predict_scan(scan, model)
    write_outputs(prediction, out)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--scan", default=str(REAL))
    args = parser.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    import torch

    torch.set_num_threads(threads)
    from scintiseg.report.batch import run_batch

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for engine in ("torch", "onnx"):
            model, what = load(args.model, engine)
            one_scan(model, Path(args.scan), tmp / "warm")  # warm-up: imports, first allocations
            times = [one_scan(model, Path(args.scan), tmp / f"{engine}{i}") for i in range(args.repeats)]
            folder = tmp / f"batch_{engine}"
            folder.mkdir()
            for i in range(args.batch):
                shutil.copy(args.scan, folder / f"scan{i:02d}.dcm")
            start = time.perf_counter()
            run_batch([folder], tmp / f"batch_out_{engine}", model, progress=False)
            batch_s = time.perf_counter() - start
            rows.append((engine, statistics.median(times), min(times), max(times), args.batch / batch_s))
    print(f"model: {what}; scan: {Path(args.scan).name}; threads: {threads}; repeats: {args.repeats}; batch: {args.batch}")
    print("| engine | one scan, median (s) | min (s) | max (s) | batch (scans/s) |")
    print("|---|---|---|---|---|")
    for engine, median, low, high, rate in rows:
        print(f"| {engine} | {median:.3f} | {low:.3f} | {high:.3f} | {rate:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
