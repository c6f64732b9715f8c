"""Is on-the-fly generation the bottleneck of a training step? (issue 13, "On-the-fly generation")

Usage (2 CPU cores, a few minutes)::

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_synthetic.py [--profile randomised] [--patients 12] \
        [--model dpunet --preset small] [--batch 8] [--steps 12] [--threads 2] [--json-out PATH]

Measures, in one run on this machine:

* **generation**: wall seconds of :func:`scintiseg.train.synthetic.patient_samples` per patient (phantom,
  resampling, degradation, normalisation, window cuts) in one process with one thread, the way the
  background generator runs; and per training window (``windows_per_view`` x 2 views per patient);
* **training step**: wall seconds of one optimiser step (forward, Dice+BCE, backward, Adam) on a batch of
  ``--batch`` 256 x 256 windows with ``--threads`` threads, and per window;
* how many times a window must be reused for the generator (one process, running beside training) to keep
  up: ``generation per window / step per window``. The training recipe's pool (48 patients, half replaced
  per epoch, two windows per view) uses each window twice on average, and each new patient is ready
  before the epoch that needs it when the ratio is below that.

Medians of the repeats. The machine is shared: the load average is printed beside the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np
import torch

from scintiseg.losses import SegmentationLoss
from scintiseg.models import create_model
from scintiseg.train.synthetic import SyntheticSettings, patient_samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="randomised")
    parser.add_argument("--patients", type=int, default=12)
    parser.add_argument("--windows-per-view", type=int, default=2)
    parser.add_argument("--model", default="dpunet")
    parser.add_argument("--preset", default="small")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args()

    settings = SyntheticSettings(profile=args.profile, windows_per_view=args.windows_per_view)
    torch.set_num_threads(1)
    generation = []
    windows = []
    for index in range(args.patients):
        start = time.perf_counter()
        samples = patient_samples(index, settings)
        generation.append(time.perf_counter() - start)
        windows.extend(samples)
    per_patient = statistics.median(generation)
    per_window = per_patient / (2 * args.windows_per_view)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = create_model(args.model, preset=args.preset)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = SegmentationLoss("dice_bce")
    images = torch.from_numpy(np.stack([w.image for w in windows]))
    targets = torch.from_numpy(np.stack([w.target for w in windows]))
    steps = []
    for step in range(args.steps + 2):
        pick = torch.randint(len(images), (args.batch,))
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss, _ = loss_fn(model(images[pick]), targets[pick], image=images[pick])
        loss.backward()
        optimizer.step()
        if step >= 2:  # the first steps allocate
            steps.append(time.perf_counter() - start)
    per_step = statistics.median(steps)
    result = {
        "profile": args.profile,
        "patients": args.patients,
        "generation_s_per_patient": round(per_patient, 3),
        "generation_s_per_patient_range": [round(min(generation), 3), round(max(generation), 3)],
        "generation_s_per_window": round(per_window, 3),
        "model": f"{args.model}/{args.preset}",
        "batch": args.batch,
        "threads": args.threads,
        "step_s": round(per_step, 3),
        "step_s_per_window": round(per_step / args.batch, 3),
        "reuse_needed": round(per_window / (per_step / args.batch), 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result, indent=1))
    if args.json_out:
        with open(args.json_out, "w") as handle:
            json.dump(result, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
