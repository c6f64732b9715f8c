"""Benchmark: phantom cohort generation speed and peak memory (issue: 200 patients <= 60 s on 2 cores, < 2 GB).

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_phantom.py --patients 200 --workers 2

Prints wall time for the whole cohort (generation + writing DICOM/LabelMe/PNG/manifest), seconds per
patient, the median in-memory ``generate_patient`` time of a few single patients, and the peak resident
memory of this process and of its largest worker (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time

from scintiseg.phantom import generate_patient, profile, write_cohort


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--single", type=int, default=5, help="single-patient timings to take")
    args = parser.parse_args()
    config = profile(args.profile)
    singles = []
    for seed in range(args.single):
        start = time.perf_counter()
        generate_patient(1000 + seed, config)
        singles.append(time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        write_cohort(args.patients, out, seed=0, config=config, workers=args.workers)
        wall = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"profile {args.profile}: {args.patients} patients, {args.workers} workers: {wall:.1f} s "
          f"({wall / args.patients:.3f} s/patient)")
    print(f"single generate_patient: median {statistics.median(singles):.3f} s over {len(singles)}")
    print(f"peak RSS: main {own:.0f} MiB, largest worker {child:.0f} MiB")


if __name__ == "__main__":
    main()
