"""Prediction speed: one whole-body scan to every output, the model's share, batch throughput, matrix size.

Usage (2 CPU cores, as issue 15 asks; the numbers of docs/benchmarks.md)::

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_predict.py --phantom 0 --repeats 11 --batch 20 --scaling
        [--compare] [--startup 3] [--model RUN_OR_WEIGHTS] [--window whole|thoracic] [--engines torch,onnx]
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_predict.py --phantom 0 --overlaps 0.25,0.5,full

Without ``--model`` the shipped model is used if the install has one, else an untrained network of the
shipped architecture (rdinet small; speed does not depend on the weights). The scan is the real NEMA NM1
whole-body DICOM (ANT only), or with ``--phantom SEED`` a whole-body ANT+POST phantom patient (1024 x 256
per view, 2.26 mm) written as a two-frame DICOM: issue 15's case. ``--window`` runs that window mode
(default: the model's own; the shipped model's is ``whole``, 10 windows of 256 x 256 per ANT+POST scan).

"One scan" = read + resampling to the model's pixel size + windows + model + blending + post-processing +
regions + BSI + pairing + every output (LabelMe and mask and overlay PNGs per view, report.json,
report.html, DICOM SR and GSPS), in one warm process (interpreter start-up and imports excluded, one
warm-up scan first); the median of ``--repeats`` runs is reported, with its parts: ``read``, ``model
stage`` (resampling, model inputs, windows, blending, back to the scan's grid), of it the ``forward``
(the engine's own calls: the network), ``post`` (threshold, contours, regions, measurements, BSI, QC,
pairing) and ``outputs``; ``forward share`` = median forward / median one scan. Batch throughput =
``--batch`` copies of the scan through :func:`scintiseg.report.batch.run_batch` (one process, scans one
after the other), in scans per second.

``--scaling`` (with ``--phantom``): the same patient at 512 x 128 (4.52 mm), 1024 x 256 (2.26 mm) and
2048 x 512 (1.13 mm) per view (counts conserved, :func:`scintiseg.prepare.resample.resample_scan`),
with the first engine of ``--engines``, sizes interleaved within each repeat. Prediction resamples every scan to the model's
2.26 mm, so the model's part depends on the field of view in mm (here the same: 10 windows), not on the
matrix; resampling, the way back to the scan's grid, post-processing and the outputs work on the
scan's own matrix and grow with its pixel count.

``--compare`` (with ``--phantom``): the whole path back to back, variants interleaved within each repeat:
the previous blending (MONAI's ``sliding_window_inference``, all windows of a scan in one batch of up to
16), today's tiler (:func:`scintiseg.predict.windows.sliding_window_probability`) with batches of 16 and
with its own batch size, and today's with the torch engine's network after
:func:`scintiseg.models.inference.prepare_for_inference` (BatchNorm folded into the convolutions,
channels-last memory, the input handed over channels-last).

``--startup N``: a fresh ``scintiseg predict`` of the scan (``--quiet``), N times, as the CLI is today
and with ``monai.inferers`` imported first (what the MONAI tiler made every whole-view prediction
import), interleaved; wall-clock medians including interpreter start-up, imports and model loading.

``--overlaps A,B,...`` (with ``--phantom``) measures the whole-view mode's window overlap instead: per
overlap, the median CPU time of the model stage (sliding windows only; CPU time, so that other processes
on the machine change it little), the windows run, the largest and median change of the blended
probability against the largest overlap given, and the lesions found and Dice against the phantom's
truth masks at the 0.5 threshold. ``full`` among them is the other way issue 15 names: the whole view
through the fully convolutional network in one pass.

``--trees NAME=SRC,NAME=SRC`` (with ``--phantom``): the same table for other source trees (e.g. a frozen
copy of ``src`` before a change), one warm process per tree and engine (``PYTHONPATH=SRC``), called in
turn within each repeat, so that a loaded machine slows every tree alike.

``--accuracy ENGINES`` (e.g. ``onnx,onnx-int8``): whether an engine changes the results, not the speed.
An entry ``ENGINE/TILING`` (e.g. ``onnx,onnx/one-pass``) runs that engine with another whole-view tiling
(``scintiseg predict --tiling``).
Every engine predicts the same cases, scored as ``benchmarks/bench_shift.py`` scores them (its
``score_image`` / ``summarise``: lesion sensitivity, false positives per view, pooled Dice): ``--patients``
two-view default-profile phantom patients from ``--seed`` (910000: held out), and bench_shift's ``nm1``
column (NM1 real-background hybrids, lesions anywhere on the skeleton, ``--nm1-cases`` lesion cases and
``--nm1-negatives`` negatives per count level). ``max |dp|`` is the largest change of the whole-body
probability against the first engine, ``lesions changed`` the views whose lesion count differs.

Other processes on the machine change every number here: each table is measured back to back in one
run, and the load average is printed with it.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.special import expit

import scintiseg.predict.pipeline as pipeline
from scintiseg.io import read_scan
from scintiseg.io.dicom import write_dicom
from scintiseg.phantom import generate_patient
from scintiseg.predict.engines import tensor_predictor
from scintiseg.predict.loader import SHIPPED_WEIGHTS, load_model, load_models, model_from_network
from scintiseg.predict.pipeline import PredictSettings, model_scan, predict_from_probabilities, predict_scan
from scintiseg.predict.windows import (
    GAUSSIAN_SIGMA_SCALE, WINDOWS_PER_BATCH, sliding_window_probability, whole_view_windows, window_starts,
)
from scintiseg.prepare.resample import resample_scan
from scintiseg.report.batch import run_batch
from scintiseg.report.outputs import write_outputs

sys.path.insert(0, str(Path(__file__).resolve().parent))  # sibling scripts import by name (as when run)

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"
#: (rows, cols, pixel mm) of the scaling study: one patient, one field of view, three matrices.
MATRICES = ((512, 128, 4.52), (1024, 256, 2.26), (2048, 512, 1.13))


def load(spec: str | None, engine: str):
    if spec and "," in spec:  # several models, their mean (`predict --model A --model B`)
        return load_models(spec.split(","), engine=engine), spec
    if spec or SHIPPED_WEIGHTS.is_file():
        return load_model(spec, engine=engine), spec or "shipped"
    import torch  # lazy: start-up time: torch only for the untrained stand-in network

    from scintiseg.models import create_model  # lazy: start-up time: it imports torch

    torch.manual_seed(0)
    network = create_model("rdinet", width=8, depth=4).eval()
    return model_from_network(network, engine=engine, pixel_mm=2.26, window="whole"), "untrained rdinet width 8 depth 4"


class TimedEngine:
    """An engine that adds the seconds of its own calls (the network) to ``seconds``."""

    def __init__(self, engine) -> None:
        self.engine, self.name, self.seconds, self.windows = engine, engine.name, 0.0, 0

    def __call__(self, batch):
        start = time.perf_counter()
        out = self.engine(batch)
        self.seconds += time.perf_counter() - start
        self.windows += len(batch)
        return out


class FoldedTorchEngine:
    """The torch engine with its network prepared for inference (BatchNorm folded, channels-last input)."""

    name = "torch"

    def __init__(self, engine) -> None:
        import torch  # lazy: start-up time: only --compare runs the torch network

        from scintiseg.models.inference import prepare_for_inference  # lazy: start-up time: it imports torch

        self._torch = torch
        self.model = prepare_for_inference(engine.model)

    def __call__(self, batch):
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).contiguous(memory_format=torch.channels_last)
            return self.model(x).float().contiguous().numpy()


def monai_probability(images, engine, window_size, overlap=0.25, batch_size=16):
    """The previous whole-view blending: MONAI's sliding_window_inference as windows.py called it."""
    import torch  # lazy: start-up time: only --compare runs the previous tiler
    from monai.inferers import sliding_window_inference  # lazy: start-up time: MONAI only for --compare

    with torch.inference_mode():
        blended = sliding_window_inference(
            torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)), (window_size, window_size), batch_size,
            tensor_predictor(engine, activation=expit), overlap=overlap, mode="gaussian",
            sigma_scale=GAUSSIAN_SIGMA_SCALE, padding_mode="constant", cval=0.0,
        )
    return np.asarray(blended[:, 0], dtype=np.float32)


def one_scan(model, path: Path, out: Path, settings) -> dict:
    """Seconds of one scan to every output, and of its parts (module docstring)."""
    timed = TimedEngine(model.engine)
    model = dataclasses.replace(model, engine=timed)
    start = time.perf_counter()
    scan = read_scan(path)
    read_s = time.perf_counter() - start
    prediction = predict_scan(scan, model, settings)
    outputs_start = time.perf_counter()
    write_outputs(prediction, out)
    end = time.perf_counter()
    shutil.rmtree(out, ignore_errors=True)
    return {"total": end - start, "read": read_s, "model stage": prediction.timings["model_s"], "forward": timed.seconds,
            "post": prediction.timings["postprocess_s"], "outputs": end - outputs_start, "windows": timed.windows}


def medians(runs: list[dict]) -> dict:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def interleaved(variants: dict, repeats: int) -> dict:
    """``{name: [one_scan result, ...]}``: one warm-up each, then every variant once per repeat."""
    for run in variants.values():
        run()
    results: dict = {name: [] for name in variants}
    for _ in range(repeats):
        for name, run in variants.items():
            results[name].append(run())
    return results


def part_table(title: str, results: dict) -> None:
    print(f"\n{title} (load average {os.getloadavg()[0]:.2f} at the end)")
    print("| case | one scan, median (s) | min (s) | read | model stage | of it forward | post | outputs | forward share | windows |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, runs in results.items():
        m = medians(runs)
        low = min(run["total"] for run in runs)
        print(f"| {name} | **{m['total']:.3f}** | {low:.3f} | {m['read']:.3f} | {m['model stage']:.3f} | {m['forward']:.3f} | "
              f"{m['post']:.3f} | {m['outputs']:.3f} | {m['forward'] / m['total']:.0%} | {int(m['windows'])} |")


def phantom_scan(seed: int, folder: Path, pixel_mm: float | None = None):
    """A whole-body ANT+POST phantom patient written as DICOM (resampled to ``pixel_mm``); returns (path, patient)."""
    patient = generate_patient(seed)
    scan = patient.scan if pixel_mm is None else resample_scan(patient.scan, (pixel_mm, pixel_mm))
    path = folder / f"phantom{seed}{'' if pixel_mm is None else f'_{pixel_mm:g}mm'}.dcm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # resampled counts are rounded to integers for DICOM
        write_dicom(scan, path)
    return path, patient


def scaling_study(model, seed: int, folder: Path, settings, repeats: int) -> None:
    """One scan at three matrices of one field of view (module docstring)."""
    variants = {}
    for rows, cols, mm in MATRICES:
        path, _ = phantom_scan(seed, folder, mm)
        variants[f"{rows} x {cols}, {mm} mm"] = (lambda path=path, mm=mm: one_scan(model, path, folder / f"scale{mm}", settings))
    part_table(f"Matrix size (same patient and field of view, {model.engine.name} engine)", interleaved(variants, repeats))


def compare_study(model, path: Path, folder: Path, settings, repeats: int) -> None:
    """The whole path with the previous tiler, today's, and today's with a folded channels-last network."""
    own = pipeline.sliding_window_probability
    folded = dataclasses.replace(model, engine=FoldedTorchEngine(model.engine))

    def with_tiler(tiler, chosen):
        def run():
            pipeline.sliding_window_probability = tiler
            try:
                return one_scan(chosen, path, folder / "compare", settings)
            finally:
                pipeline.sliding_window_probability = own
        return run

    variants = {"monai tiler, batches of 16 (before)": with_tiler(monai_probability, model),
                "own tiler, batches of 16": with_tiler(functools.partial(own, batch_size=16), model),
                f"own tiler, batches of {WINDOWS_PER_BATCH} (today)": with_tiler(own, model),
                f"own tiler, batches of {WINDOWS_PER_BATCH}, folded network": with_tiler(own, folded)}
    part_table("Before / after, back to back (torch engine)", interleaved(variants, repeats))


def startup_study(path: Path, folder: Path, repeats: int, model_spec: str | None) -> None:
    """Fresh ``scintiseg predict`` processes, with and without monai.inferers imported first."""
    models = [flag for spec in (model_spec.split(",") if model_spec else []) for flag in ("--model", spec)]
    argv = [str(path), "--out", str(folder / "startup"), "--quiet"] + models
    code = "import sys{extra}\nfrom scintiseg.cli import main\nsys.exit(main(sys.argv[1:]))"
    variants = {"scintiseg predict (today)": code.format(extra=""),
                "with monai.inferers imported first (the MONAI tiler's imports)": code.format(extra="; import monai.inferers")}
    env = dict(os.environ, HOME=str(folder / "home"))
    times: dict = {name: [] for name in variants}
    for _ in range(repeats):
        for name, source in variants.items():
            shutil.rmtree(folder / "startup", ignore_errors=True)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", source, "predict", *argv], env=env, check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    print(f"\nFresh process, {repeats} runs each, interleaved (load average {os.getloadavg()[0]:.2f} at the end)")
    print("| command | median (s) | min (s) |")
    print("|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.2f} | {min(values):.2f} |")


def overlap_study(model, patient, overlaps: list, repeats: int) -> None:
    """Speed and result of the whole-view mode per window overlap (module docstring)."""
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
        count = 1
        if overlap != "full":
            count = int(np.prod([len(window_starts(max(n, size), size, overlap)) for n in images.shape[-2:]]))
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


def spec_settings(spec: str, window: str | None):
    """The prediction settings of an ``--engines`` / ``--accuracy`` entry: ``ENGINE`` or ``ENGINE/TILING``."""
    _, _, tiling = spec.partition("/")
    return PredictSettings(window=window, **({"tiling": tiling} if tiling else {}))


def accuracy_study(engines: list[str], args) -> None:
    """The engines' results on the same phantom and NM1 cases (module docstring, ``--accuracy``)."""
    import bench_shift as shift  # lazy: only --accuracy needs its phantom and NM1 cases

    cache = shift.ColumnCache(args.patients, args.seed, args.nm1_cases, args.nm1_negatives)
    models = {spec: load(args.model, spec.partition("/")[0])[0] for spec in engines}
    settings = {spec: spec_settings(spec, None) for spec in engines}
    print(f"| column | engine | views | sensitivity | sensitivity, contrast >= 2 | FP / view | pooled Dice | "
          f"max |dp| vs {engines[0]} | views whose lesion count changed |")
    print("|---|---|---|---|---|---|---|---|---|")
    for column, placement in (("default", "thorax"), ("nm1", "skeleton")):
        cases = cache.cases(column, placement)
        images = {engine: [] for engine in engines}
        change = {engine: 0.0 for engine in engines}
        changed = {engine: 0 for engine in engines}
        for case in cases:
            predictions = {engine: predict_scan(case.scan, model, settings[engine]) for engine, model in models.items()}
            first = predictions[engines[0]]
            for engine, prediction in predictions.items():
                for view, result in prediction.views.items():
                    images[engine].append(shift.score_image(case, view, result))
                    change[engine] = max(change[engine], float(np.abs(result.probability - first.views[view].probability).max()))
                    changed[engine] += len(result.lesions) != len(first.views[view].lesions)
        for engine in engines:
            cell = shift.summarise(images[engine], [])
            print(f"| {column} | {engine} | {cell['images']} | {cell['sensitivity']:.3f} | {cell['sensitivity_contrast_ge_2']:.3f} | "
                  f"{cell['fp_per_view']:.2f} | {cell['pooled_dsc']:.3f} | {change[engine]:.3f} | {changed[engine]} |")


def serve(scan_path: Path, engine: str, model_spec: str | None, folder: Path, window: str | None) -> int:
    """``--serve``: a warm process for ``--trees``; one line ``run`` in, one JSON line of :func:`one_scan` out."""
    model, _ = load(model_spec, engine.partition("/")[0])
    settings = spec_settings(engine, window) if "/" in engine else PredictSettings(window=window)
    print(json.dumps({"ready": True}), flush=True)
    for _ in sys.stdin:
        print(json.dumps(one_scan(model, scan_path, folder / "out", settings)), flush=True)
    return 0


def trees_study(trees: str, engines: list[str], scan_path: Path, folder: Path, args) -> None:
    """One scan per source tree and engine, warm processes called in turn (module docstring, ``--trees``)."""
    workers = {}
    for spec in trees.split(","):
        name, _, src = spec.partition("=")
        for engine in engines:
            work = folder / f"tree{len(workers)}"
            work.mkdir()
            command = [sys.executable, __file__, "--serve", "--scan", str(scan_path), "--engines", engine, "--out", str(work)]
            command += (["--model", args.model] if args.model else []) + (["--window", args.window] if args.window else [])
            env = dict(os.environ, PYTHONPATH=src)
            worker = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
            json.loads(worker.stdout.readline())
            workers[f"{name}, {engine}"] = worker

    def caller(worker):
        def run():
            worker.stdin.write("run\n")
            worker.stdin.flush()
            return json.loads(worker.stdout.readline())
        return run

    part_table("Source trees, back to back", interleaved({name: caller(w) for name, w in workers.items()}, args.repeats))
    for worker in workers.values():
        worker.stdin.close()
        worker.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None,
                        help="run, checkpoint or .onnx (default: the shipped model); several joined by commas "
                             "(`shipped,RUN`): their mean, as `predict --model A --model B`")
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--batch", type=int, default=20, help="copies for the batch throughput (0: none)")
    parser.add_argument("--scan", default=str(REAL))
    parser.add_argument("--phantom", type=int, default=None, metavar="SEED", help="a whole-body ANT+POST phantom scan instead")
    parser.add_argument("--window", choices=("whole", "thoracic"), default=None, help="window mode (default: the model's own)")
    parser.add_argument("--engines", default="torch,onnx")
    parser.add_argument("--scaling", action="store_true", help="also the matrix-size table (needs --phantom)")
    parser.add_argument("--compare", action="store_true", help="also the before/after table (needs --phantom)")
    parser.add_argument("--startup", type=int, default=0, metavar="N", help="also N fresh `scintiseg predict` processes")
    parser.add_argument("--overlaps", default=None, help="measure these whole-view overlaps instead (needs --phantom)")
    parser.add_argument("--trees", default=None, metavar="NAME=SRC,...", help="compare source trees instead (needs --phantom)")
    parser.add_argument("--accuracy", default=None, metavar="ENGINES", help="compare these engines' results instead (module docstring)")
    parser.add_argument("--patients", type=int, default=6, help="--accuracy: two-view phantom patients")
    parser.add_argument("--seed", type=int, default=910_000, help="--accuracy: first phantom seed (held out)")
    parser.add_argument("--nm1-cases", type=int, default=4, help="--accuracy: NM1 hybrids with lesions per count level")
    parser.add_argument("--nm1-negatives", type=int, default=2, help="--accuracy: lesion-free NM1 hybrids per count level")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
        import torch  # lazy: start-up time: only a run needs torch, not --help or the tests' import

        torch.set_num_threads(threads)
        return serve(Path(args.scan), args.engines, args.model, Path(args.out), args.window)
    if args.trees and args.phantom is None:
        parser.error("--trees needs --phantom")
    if (args.scaling or args.compare or args.overlaps) and args.phantom is None:
        parser.error("--scaling, --compare and --overlaps need --phantom")
    threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    import torch  # lazy: start-up time: only a run needs torch, not --help or the tests' import

    torch.set_num_threads(threads)
    if args.accuracy:
        print(f"model: {args.model or 'shipped'}; phantom seeds {args.seed}..{args.seed + args.patients - 1}; NM1 hybrids: "
              f"{args.nm1_cases} + {args.nm1_negatives} negatives per level; load average: {os.getloadavg()[0]:.2f}")
        accuracy_study(args.accuracy.split(","), args)
        return 0

    settings = PredictSettings(window=args.window)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        scan_path, patient = Path(args.scan), None
        if args.phantom is not None:
            scan_path, patient = phantom_scan(args.phantom, tmp)
        if args.overlaps:
            model, what = load(args.model, args.engines.split(",")[0])
            print(f"model: {what}; scan: phantom seed {args.phantom}; threads: {threads}; repeats: {args.repeats}; "
                  f"load average: {os.getloadavg()[0]:.2f}")
            overlap_study(model, patient, [v if v == "full" else float(v) for v in args.overlaps.split(",")], args.repeats)
            return 0
        if args.trees:
            print(f"scan: {scan_path.name}; threads: {threads}; repeats: {args.repeats}; load average at the start: "
                  f"{os.getloadavg()[0]:.2f}")
            trees_study(args.trees, args.engines.split(","), scan_path, tmp, args)
            return 0
        models = {spec: load(args.model, spec.partition("/")[0]) for spec in args.engines.split(",")}
        what = next(iter(models.values()))[1]
        window = args.window or f"model's own ({next(iter(models.values()))[0].window})"
        print(f"model: {what}; scan: {scan_path.name}; window: {window}; threads: {threads}; repeats: {args.repeats}; "
              f"batch: {args.batch}; load average at the start: {os.getloadavg()[0]:.2f}")
        variants = {spec: (lambda model=model, spec=spec: one_scan(model, scan_path, tmp / spec.replace("/", "_"),
                                                                  spec_settings(spec, args.window)))
                    for spec, (model, _) in models.items()}
        part_table("One scan to every output, warm process", interleaved(variants, args.repeats))
        if args.batch:
            print(f"\nBatch: {args.batch} copies through run_batch")
            print("| engine | batch (scans/s) | s per scan |")
            print("|---|---|---|")
        for engine, (model, _) in models.items() if args.batch else ():
            name = engine.replace("/", "_")
            folder = tmp / f"batch_{name}"
            folder.mkdir()
            for i in range(args.batch):
                shutil.copy(scan_path, folder / f"scan{i:02d}.dcm")
            start = time.perf_counter()
            run_batch([folder], tmp / f"batch_out_{name}", model, spec_settings(engine, args.window), progress=False)
            batch_s = time.perf_counter() - start
            print(f"| {engine} | **{args.batch / batch_s:.2f}** | {batch_s / args.batch:.3f} |")
            shutil.rmtree(tmp / f"batch_out_{name}", ignore_errors=True)
        if args.compare:
            torch_model = models["torch"][0] if "torch" in models else load(args.model, "torch")[0]
            compare_study(torch_model, scan_path, tmp, settings, args.repeats)
        if args.scaling:
            scaling_study(next(iter(models.values()))[0], args.phantom, tmp, settings, args.repeats)
        if args.startup:
            startup_study(scan_path, tmp, args.startup, args.model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
