"""Benchmark of the DCGAN augmentation (docs/gan.md, docs/benchmarks.md "## GAN").

Measures, in ONE run, on the CPU threads given (on 2 free cores:
``OMP_NUM_THREADS=2 taskset -c 0,1 python benchmarks/bench_gan.py``; on a machine shared with other
jobs use ``OMP_NUM_THREADS=1``: two spinning OpenMP threads on busy cores run several times slower):

1. a demo-sized phantom crop data set (``--patients`` phantom patients, thoracic crops, D1 split), or
   an existing crop data set with a ``splits.json`` (``--data``);
2. throughput of one G iteration (k D steps + 1 G step) at each ``--sizes`` native resolution
   (``--sizes ""`` skips it);
3. a GAN training run of ``--minutes`` wall-clock (native ``--native``; ``--lesion-aware`` and
   ``--set KEY=VALUE`` choose the GanConfig), then ``gan evaluate`` statistics;
4. the time to sample ``--n-sample`` cases in memory and to write them as a data set.

Prints a JSON summary and writes it to ``--out/bench_gan.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

from scintiseg.config import parse_key_values
from scintiseg.gan.config import LESION_AWARE, GanConfig
from scintiseg.gan.evaluate import evaluate_run
from scintiseg.gan.quality import public
from scintiseg.gan.sample import generate, load_run, sample_dataset
from scintiseg.gan.train import GanTrainer, train_gan
from scintiseg.io import dataset as ds
from scintiseg.io.dicom import write_dicom
from scintiseg.io.images import write_mask_png
from scintiseg.phantom.patient import generate_patient
from scintiseg.prepare.crop import thoracic_crop
from scintiseg.prepare.splits import split_dataset


def build_phantom_crops(out: Path, patients: int, seed: int) -> Path:
    """Phantom patients -> thoracic crops (ANT+POST, masks) as a data set, with a 70/30 patient split."""
    cases = []
    for i in range(patients):
        patient = generate_patient(seed + i, patient_id=f"PH{i:04d}")
        crop = thoracic_crop(patient.scan)
        case_id = f"PH{i:04d}"
        write_dicom(crop.scan.with_views(crop.scan.views, patient_id=case_id), out / "images" / f"{case_id}.dcm")
        masks = {}
        for view in crop.scan.view_names:
            masks[view] = f"masks/{case_id}_{view}.png"
            write_mask_png(crop.crop(patient.masks[view], view), out / masks[view])
        cases.append(ds.Case(case_id, case_id, f"images/{case_id}.dcm", masks=masks, synthetic=True, origin="phantom"))
    ds.save_manifest(ds.DatasetManifest("phantom-crops", ["ANT", "POST"], crop.scan.pixel_spacing, cases), out)
    split_dataset(out, test=0.3, seed=seed)
    return out


def iteration_seconds(native: int, batch: int, k: int, repeats: int = 5) -> float:
    trainer = GanTrainer(GanConfig(native_size=native, batch_size=batch, k=k))
    real = torch.rand(batch, 4, native, native) * 2 - 1
    batches = iter(lambda: real, None)
    trainer.iteration(batches)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        trainer.iteration(batches)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/bench_gan"))
    parser.add_argument("--patients", type=int, default=40)
    parser.add_argument("--sizes", default="64,128,256")
    parser.add_argument("--native", type=int, default=64)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--k", type=int, default=None, help="D steps per G step (default 3, or the preset's)")
    parser.add_argument("--n-sample", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=None, help="existing crop data set (with splits.json)")
    parser.add_argument("--lesion-aware", action="store_true", help="GanConfig LESION_AWARE settings")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any GanConfig field")
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)

    result: dict = {"threads": torch.get_num_threads(), "torch": torch.__version__, "patients": args.patients,
                    "cpu_count": os.cpu_count(), "loadavg_start": os.getloadavg()}
    data = args.data or args.out / "crops"
    start = time.perf_counter()
    if not (data / "dataset.json").is_file():
        build_phantom_crops(data, args.patients, args.seed)
    result["build_data_s"] = round(time.perf_counter() - start, 1)

    n_train = len(ds.load_splits(data)["train"])
    result["training_cases"] = n_train

    result["iteration_s"] = {}
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        result["iteration_s"][size] = round(iteration_seconds(size, args.batch, args.k or 3, repeats=3 if size <= 128 else 1), 4)
        print(f"native {size}: {result['iteration_s'][size]} s per G iteration (k={args.k or 3}, batch {args.batch})", file=sys.stderr)

    # Train for --minutes of wall-clock time (the epoch cap is only a bound).
    values = {"native_size": args.native, "batch_size": args.batch, "k": 3, "seed": args.seed,
              "sample_every": 50, "checkpoint_every": 50, "epochs": 100000}
    if args.lesion_aware:
        values.update(LESION_AWARE)
    if args.k is not None:
        values["k"] = args.k
    values.update(parse_key_values(args.set, "--set"))
    config = GanConfig.from_dict(values)
    result["config"] = config.to_dict()
    run = args.out / f"run{args.native}"
    start = time.perf_counter()
    trainer = train_gan(data, run, config, progress=False, max_minutes=args.minutes)
    result["train"] = {
        "native": args.native,
        "epochs": trainer.epoch,
        "g_steps": trainer.g_steps,
        "d_steps": trainer.d_steps,
        "seconds": round(time.perf_counter() - start, 1),
        "last": trainer.history[-1],
    }
    print(f"trained {trainer.epoch} epochs in {result['train']['seconds']} s", file=sys.stderr)

    gan = load_run(run)
    start = time.perf_counter()
    n_cases = sum(1 for _ in generate(gan, args.n_sample, seed=1))
    result["sample_in_memory_s"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    sample_dataset(run, args.n_sample, args.out / "gan_samples", seed=1, progress=False)
    result["sample_and_write_s"] = round(time.perf_counter() - start, 2)
    result["sampled"] = n_cases

    stats = evaluate_run(run, data, run / "evaluation", n=200, seed=2, progress=False)

    result["quality"] = public(stats)
    result["loadavg_end"] = os.getloadavg()
    (args.out / "bench_gan.json").write_text(json.dumps(result, indent=1, default=str))
    print(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
