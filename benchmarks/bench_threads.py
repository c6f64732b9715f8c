"""PyTorch's CPU threads on a shared machine: OpenMP's wait policy, alone and beside another busy process.

Usage (the numbers of docs/benchmarks.md, "Threads on a shared machine"; run it on an otherwise idle machine)::

    .venv/bin/python benchmarks/bench_threads.py [--steps 6] [--repeats 2] [--threads 2] [--works train,predict]
        [--companies "none,same priority,higher priority"] [--policies default,passive,spin:10000]

PyTorch's CPU wheels run their intra-op threads on GNU OpenMP, whose threads spin-wait at every barrier
before they sleep (``GOMP_SPINCOUNT``, 300,000 by default). When another process wants the same cores (a
second training, a phantom generator, the workstation's own work), a spinning thread holds a core that the
thread it waits for needs, and each step can stretch far beyond the fair share. ``OMP_WAIT_POLICY=PASSIVE``
makes waiting threads sleep at once, ``GOMP_SPINCOUNT=N`` (``spin:N``) after N spins. Each case runs in a
fresh process (OpenMP reads them once, when torch loads it), ``--threads`` torch threads, timing ``--steps``
steps after one warm-up, median reported; the cases are interleaved ``--repeats`` times and the median of the
medians is printed:

* the work (``--works``): ``train``, one training step (forward, backward, Adam) of paper B's RDI-Net (t = 3,
  width 8) on a batch of 4 x 128 x 128 (the experiments' cells); ``predict``, one forward of the shipped lesion
  network's architecture (rdinet small) on 2 x 256 x 256 windows under ``torch.inference_mode``
  (``scintiseg predict --engine torch``; the default ONNX Runtime engine does not use OpenMP);
* the company (``--companies``): ``none``; one busy Python process at the same priority (``nice`` 15, as the
  measured process); one at a higher priority (``nice`` 10: a job the scheduler favours);
* the policy (``--policies``): ``default`` (nothing set), ``passive``, ``spin:N``.

The fair share beside one busy process on 2 cores is 1.5 of 2 cores for 2 threads, so about 1.3-2x the time
alone is what sharing should cost; more is the spinning.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

WORKER = r"""
import sys, time, torch
threads, steps, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(threads)
from scintiseg.models import create_model
if work == "train":
    net = create_model("rdinet", t=3, width=8)
    x = torch.randn(4, 1, 128, 128)
    y = (torch.rand(4, 1, 128, 128) > 0.95).float()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    def step():
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(net(x), y).backward()
        opt.step()
else:
    net = create_model("rdinet", preset="small").eval()
    x = torch.randn(2, 1, 256, 256)
    def step():
        with torch.inference_mode():
            net(x)
step()
times = []
for _ in range(steps):
    start = time.perf_counter(); step(); times.append(time.perf_counter() - start)
print(sorted(times)[len(times) // 2])
"""

BUSY = "while True: pass"


def run_case(work: str, company: str, policy: str, threads: int, steps: int) -> float:
    """Median seconds per step of one fresh process (module docstring)."""
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    env.pop("GOMP_SPINCOUNT", None)
    if policy == "passive":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    elif policy.startswith("spin:"):
        env["GOMP_SPINCOUNT"] = policy.split(":", 1)[1]
    busy = None
    if company != "none":
        busy = subprocess.Popen(["nice", "-n", "15" if company == "same priority" else "10", sys.executable, "-c", BUSY])
    try:
        out = subprocess.run(["nice", "-n", "15", sys.executable, "-c", WORKER, str(threads), str(steps), work],
                             env=env, capture_output=True, text=True, check=True).stdout
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    return float(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--policies", default="default,passive",
                        help="comma-separated: default, passive, spin:N (GOMP_SPINCOUNT=N, OpenMP's spin before sleeping)")
    parser.add_argument("--companies", default="none,same priority,higher priority")
    parser.add_argument("--works", default="train,predict")
    args = parser.parse_args(argv)
    policies = [p.strip() for p in args.policies.split(",")]
    companies = [c.strip() for c in args.companies.split(",")]
    works = [w.strip() for w in args.works.split(",")]
    cases = [(work, company, policy) for work in works for company in companies for policy in policies]
    results: dict = {case: [] for case in cases}
    start = time.perf_counter()
    for _ in range(args.repeats):
        for case in cases:
            results[case].append(run_case(*case, threads=args.threads, steps=args.steps))
            print(f"  {case}: {results[case][-1] * 1000:.0f} ms per step", file=sys.stderr, flush=True)
    print(f"{args.threads} torch threads, {args.steps} steps per process, median of {args.repeats} interleaved processes "
          f"({time.perf_counter() - start:.0f} s, load average {os.getloadavg()[0]:.2f} at the end)\n")
    print("| work | beside | " + " | ".join(f"{p} (ms)" for p in policies) + " |")
    print("|---|---|" + "---|" * len(policies))
    labels = {"train": "RDI-Net training step, 4 x 128²", "predict": "shipped network forward, 2 x 256²"}
    for work in works:
        alone = statistics.median(results[(work, companies[0], policies[0])])
        for company in companies:
            cells = []
            for policy in policies:
                value = statistics.median(results[(work, company, policy)])
                cells.append(f"{value * 1000:.0f} ({value / alone:.1f}x)")
            print(f"| {labels[work]} | {company if company != 'none' else 'nothing'} | " + " | ".join(cells) + " |")
    print(f"\n(x: against {policies[0]} beside {companies[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
