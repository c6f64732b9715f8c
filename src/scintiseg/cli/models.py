"""``scintiseg models``: list the registered networks, tabulate their size and speed, interpolate or average them."""

from __future__ import annotations

import argparse
import json

from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.io.atomic import write_text_atomic


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``models list``, ``models table``, ``models interpolate`` and ``models average``."""
    parser = subparsers.add_parser(
        "models",
        help="list the segmentation networks and their size and speed",
        description="The networks of paper A (dpunet), paper B (rdinet), the U-Net baseline and MONAI baselines.",
    )
    commands = parser.add_subparsers(dest="models_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    list_parser = commands.add_parser("list", help="registered networks, their presets and arguments")
    list_parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    list_parser.set_defaults(func=run_list)

    table = commands.add_parser(
        "table",
        help="parameters, GFLOPs and CPU ms per image for every network and preset",
        description="For every registered network and preset: parameter count, GFLOPs per image "
        "(torch FlopCounterMode, forward pass) and measured CPU milliseconds per image for inference "
        "and for a training step (median of --repeats runs after a warm-up).",
    )
    table.add_argument("--json", action="store_true", help="print JSON instead of a text table")
    table.add_argument("--size", type=int, default=256, help="square image size in pixels (default 256)")
    table.add_argument("--batch", type=int, default=1, help="images per timed batch (default 1)")
    table.add_argument("--repeats", type=int, default=3, help="timed repeats, median reported (default 3)")
    table.add_argument("--no-timing", action="store_true", help="only count parameters and FLOPs (fast)")
    table.add_argument("--models", nargs="+", metavar="NAME", help="only these networks")
    table.add_argument("--presets", nargs="+", metavar="PRESET", help="only these presets (default: all)")
    table.add_argument("--output", metavar="FILE", help="also write the table (JSON) to FILE")
    table.set_defaults(func=run_table)

    mix = commands.add_parser(
        "interpolate",
        help="weights between a network and its fine-tune (WiSE-FT)",
        description="Write a checkpoint whose weights are (1 - alpha) x BASE + alpha x TUNED (WiSE-FT, Wortsman "
        "et al. 2022): a fine-tune that found more lesions on phantoms but called a real scan's normal hot "
        "spots keeps part of its gain and much of the base's specificity (docs/training.md). TUNED must be a "
        "fine-tune of BASE (same network, same input). Measure the result before using it, e.g. with "
        "benchmarks/bench_wholebody.py --source nm1 --model OUT.",
    )
    mix.add_argument("base", metavar="BASE", help="the network that was fine-tuned (a .pt checkpoint, or 'shipped')")
    mix.add_argument("tuned", metavar="TUNED", help="its fine-tune (a .pt checkpoint, e.g. RUN/checkpoints/best.pt)")
    mix.add_argument("--alpha", type=float, required=True, help="0 gives BASE, 1 gives TUNED")
    mix.add_argument("--out", required=True, metavar="FILE", help="checkpoint to write (.pt)")
    mix.set_defaults(func=run_interpolate)

    soup = commands.add_parser(
        "average",
        help="the mean of the weights of several fine-tunes of one network (a uniform soup)",
        description="Write a checkpoint whose weights are the mean of the given checkpoints' weights (a uniform "
        "model soup, Wortsman et al. 2022; over one run's checkpoints, stochastic weight averaging): the "
        "checkpoints of a fine-tune can differ by a factor of ten in the normal hot spots they call on a real "
        "scan, and their mean does not depend on where the run stopped (docs/robustness.md). Every file must hold the same network made for the "
        "same input; the result keeps the last file's record. Measure it before using it, e.g. with "
        "benchmarks/bench_wholebody.py --source nm1 --model OUT.",
    )
    soup.add_argument("checkpoints", nargs="+", metavar="CHECKPOINT", help="two or more .pt checkpoints, or 'shipped'")
    soup.add_argument("--out", required=True, metavar="FILE", help="checkpoint to write (.pt)")
    soup.set_defaults(func=run_average)


def run_list(args: argparse.Namespace) -> int:
    from scintiseg.models.registry import get_entry, list_models  # lazy: start-up time

    entries = [get_entry(name) for name in list_models()]
    if args.json:
        payload = [
            {"name": e.name, "description": e.description, "presets": e.presets, "arguments": {k: _jsonable(v) for k, v in e.parameters().items()}}
            for e in entries
        ]
        print(json.dumps(payload, indent=2))
        return 0
    for entry in entries:
        print(f"{entry.name:<16} {entry.description}")
        print(f"{'':<16} presets: {', '.join(f'{k} {v}' for k, v in entry.presets.items())}")
        arguments = ", ".join(f"{k}={_jsonable(v)!r}" for k, v in entry.parameters().items())
        print(f"{'':<16} arguments: {arguments}")
    return 0


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


def run_table(args: argparse.Namespace) -> int:
    from scintiseg.models.profiling import profile_model  # lazy: start-up time
    from scintiseg.models.registry import list_models, list_presets  # lazy: start-up time

    if args.size < 1 or args.batch < 1 or args.repeats < 1:
        raise ScintisegError("--size, --batch and --repeats must be positive")
    names = args.models or list_models()
    jobs = []
    for name in names:
        presets = list_presets(name)  # raises for an unknown name
        chosen = args.presets or list(presets)
        for preset in chosen:
            if preset not in presets:
                raise ScintisegError(f"model {name!r} has no preset {preset!r}; choose one of {', '.join(presets)}")
            jobs.append((name, preset))
    rows = []
    for name, preset in tqdm(jobs, desc="profiling", unit="model", disable=None):
        rows.append(profile_model(name, preset, args.size, args.batch, args.repeats, timing=not args.no_timing).as_dict())
    text = json.dumps({"size": args.size, "batch": args.batch, "rows": rows}, indent=2)
    if args.output:
        write_text_atomic(args.output, text + "\n")
    if args.json:
        print(text)
        return 0
    print(f"{'model':<16} {'preset':<8} {'params':>12} {'GFLOPs/img':>11} {'infer ms/img':>13} {'train ms/img':>13}   ({args.size}x{args.size}, CPU)")
    for row in rows:
        infer = "-" if row["infer_ms_per_image"] is None else f"{row['infer_ms_per_image']:.1f}"
        train = "-" if row["train_ms_per_image"] is None else f"{row['train_ms_per_image']:.1f}"
        print(f"{row['name']:<16} {row['preset']:<8} {row['parameters']:>12,} {row['gflops_per_image']:>11.2f} {infer:>13} {train:>13}")
    return 0


def run_interpolate(args: argparse.Namespace) -> int:
    from scintiseg.models.interpolate import interpolate_checkpoints  # lazy: start-up time
    from scintiseg.predict.loader import SHIPPED_WEIGHTS  # lazy: start-up time

    base = SHIPPED_WEIGHTS if args.base == "shipped" else args.base
    out = interpolate_checkpoints(base, args.tuned, args.alpha, args.out)
    print(f"wrote {out}: (1 - {args.alpha:g}) x {base} + {args.alpha:g} x {args.tuned}")
    return 0


def run_average(args: argparse.Namespace) -> int:
    from scintiseg.models.interpolate import average_checkpoints  # lazy: start-up time
    from scintiseg.predict.loader import SHIPPED_WEIGHTS  # lazy: start-up time

    paths = [SHIPPED_WEIGHTS if path == "shipped" else path for path in args.checkpoints]
    out = average_checkpoints(paths, args.out)
    print(f"wrote {out}: the mean of {len(paths)} checkpoints' weights")
    return 0
