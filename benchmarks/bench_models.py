"""Speed of our networks against MONAI's BasicUNet of equal size, in one run, on the same batch.

Measures, for the default preset (width 16, depth 4) of ``unet`` and ``dpunet`` (fusion + DAC_2 + RMP)
and for ``monai_basicunet`` at the width whose parameter count is closest (within 10 %) to each:

* training-step time (forward, BCE, backward, Adam) and inference time per image, on one batch of
  ``--batch`` random ``--size`` x ``--size`` images, channels-last memory format, ``torch.inference_mode``;
  our networks are also timed with BatchNorm folded into the convolutions (``prepare_for_inference``),
  which MONAI's instance-normalised BasicUNet cannot use;
* the ratios ours / MONAI per repeat (models interleaved within a repeat, so a load spike hits all of
  them), reported as medians over ``--repeats``;
* the achieved GFLOP/s of inference (FlopCounterMode count / median time) as a share of the machine's
  float32 matrix-multiply peak (median of ``torch.mm`` on 2048 x 2048 matrices, measured before and after).

On CUDA (``--device cuda`` or auto when available) the models run under bfloat16 autocast.

Usage::

    .venv/bin/python benchmarks/bench_models.py --batch 8 --repeats 5 --json-out /tmp/bench_models.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import torch

from scintiseg.models import create_model
from scintiseg.models.device import autocast_dtype, select_device
from scintiseg.models.inference import prepare_for_inference
from scintiseg.models.profiling import count_gflops, count_parameters, time_inference, time_training_step


def matmul_peak_gflops(device: torch.device, size: int = 2048, repeats: int = 10) -> float:
    """Median float32 GFLOP/s of ``a @ b`` (bfloat16 on CUDA, matching the autocast runs)."""
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times) / 1e9


def matched_basicunet_width(target_parameters: int) -> tuple[int, int]:
    """BasicUNet width whose parameter count is closest to ``target_parameters``."""
    best = min(
        range(4, 65),
        key=lambda width: abs(count_parameters(create_model("monai_basicunet", width=width)) - target_parameters),
    )
    return best, count_parameters(create_model("monai_basicunet", width=best))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default=None)
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args()

    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device(args.device)
    amp = autocast_dtype(device)
    peak_before = matmul_peak_gflops(device)

    ours = {"unet": create_model("unet"), "dpunet": create_model("dpunet")}
    models: dict[str, torch.nn.Module] = dict(ours)
    pairs = {}
    for name, model in ours.items():
        width, parameters = matched_basicunet_width(count_parameters(model))
        ratio = parameters / count_parameters(model)
        assert abs(ratio - 1) <= 0.10, (name, width, ratio)
        key = f"monai_basicunet_w{width}"
        models[key] = create_model("monai_basicunet", width=width)
        pairs[name] = key
    images = torch.rand(args.batch, 1, args.size, args.size, device=device)
    masks = (torch.rand(args.batch, 1, args.size, args.size, device=device) > 0.95).float()
    gflops = {name: count_gflops(model, args.size) for name, model in models.items()}
    parameters = {name: count_parameters(model) for name, model in models.items()}
    for model in models.values():
        model.to(device)

    timed = dict(models)
    for name in ours:  # after one training step, so the folded BatchNorm statistics are not the initial ones
        time_training_step(models[name], images, masks, repeats=1, warmup=0, autocast_dtype=amp)
        timed[f"{name}+folded"] = prepare_for_inference(models[name])
    start = time.perf_counter()
    for model in timed.values():  # one warm-up of each: oneDNN primitives, allocator
        time_inference(model, images, repeats=1, warmup=0, autocast_dtype=amp)
    for name in models:
        time_training_step(models[name], images, masks, repeats=1, warmup=0, autocast_dtype=amp)
    infer: dict[str, list[float]] = {name: [] for name in timed}
    train: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, model in timed.items():
            if name in models:
                train[name].append(time_training_step(model, images, masks, repeats=1, warmup=0, autocast_dtype=amp))
            infer[name].append(time_inference(model, images, repeats=1, warmup=0, autocast_dtype=amp))
    elapsed = time.perf_counter() - start
    peak_after = matmul_peak_gflops(device)
    peak = max(peak_before, peak_after)

    results = {
        "device": str(device),
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "batch": args.batch,
        "size": args.size,
        "repeats": args.repeats,
        "elapsed_s": elapsed,
        "matmul_peak_gflops": {"before": peak_before, "after": peak_after},
        "models": {},
        "ratios": {},
    }
    for name in infer:
        base = name.removesuffix("+folded")
        infer_ms = statistics.median(infer[name])
        row = {
            "parameters": parameters[base],
            "gflops_per_image": gflops[base],
            "infer_ms_per_image": infer_ms,
            "infer_gflops_per_s": gflops[base] * 1000 / infer_ms,
            "infer_share_of_peak": gflops[base] * 1000 / infer_ms / peak,
        }
        if name in train:
            row["train_ms_per_image"] = statistics.median(train[name])
        results["models"][name] = row
    for name, reference in pairs.items():
        results["ratios"][f"{name} vs {reference}"] = {
            "train_time_ratio": statistics.median(a / b for a, b in zip(train[name], train[reference])),
            "infer_time_ratio": statistics.median(a / b for a, b in zip(infer[name], infer[reference])),
            "infer_folded_time_ratio": statistics.median(
                a / b for a, b in zip(infer[f"{name}+folded"], infer[reference])
            ),
            "parameter_ratio": parameters[name] / parameters[reference],
        }

    print(f"device {device}, {results['threads']} threads, batch {args.batch} x {args.size}^2, {args.repeats} repeats, {elapsed:.0f} s")
    print(f"matmul peak: {peak_before:.1f} GFLOP/s before, {peak_after:.1f} after")
    print("| model | params | GFLOPs/img | train ms/img | infer ms/img | infer GFLOP/s | % of peak |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, row in results["models"].items():
        train_ms = f"{row['train_ms_per_image']:.1f}" if "train_ms_per_image" in row else "-"
        print(
            f"| {name} | {row['parameters']:,} | {row['gflops_per_image']:.2f} | {train_ms} | "
            f"{row['infer_ms_per_image']:.1f} | {row['infer_gflops_per_s']:.1f} | {100 * row['infer_share_of_peak']:.0f} % |"
        )
    print("| pair (time ratio ours / MONAI; < 1 = ours faster) | params ratio | train | infer | infer (BN folded) |")
    print("|---|---:|---:|---:|---:|")
    for pair, ratio in results["ratios"].items():
        print(
            f"| {pair} | {ratio['parameter_ratio']:.3f} | {ratio['train_time_ratio']:.2f} | "
            f"{ratio['infer_time_ratio']:.2f} | {ratio['infer_folded_time_ratio']:.2f} |"
        )
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
