"""Command-line start-up: wall time of ``scintiseg --version``, ``--help`` and ``info FILE``, and which heavy
libraries each one imports. Results go to docs/benchmarks.md ("Start-up").

    .venv/bin/python benchmarks/bench_startup.py [--repeats 11] [--scan FILE] [--json-out FILE]

Each command runs ``--repeats`` times as a fresh ``python -m scintiseg ...`` process (interpreter start-up
and every import included, output discarded), interleaved so a change in machine load hits all of them
alike; the median, minimum and maximum are reported, with a bare ``python -c pass`` as the floor and, as
the reference, a process that imports every subcommand module (what each command paid before the parser
imported only the chosen one; ``--reference-repeats`` runs, its own HOME). The
scan is the real NEMA NM1 whole-body DICOM, else a phantom patient written as DICOM into a temporary
folder. The heavy libraries are read from ``sys.modules`` after running the same command in one process;
none should appear for these three commands (the aim is under 0.3 s each on an idle 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"
#: Libraries that take a second or more to import, or write into HOME (matplotlib's cache and config).
HEAVY_MODULES = ("torch", "monai", "matplotlib", "skimage", "scipy", "onnx", "onnxruntime", "highdicom")

#: Run one command line in this process and print the heavy modules it left in ``sys.modules``.
_PROBE = """
import contextlib, io, json, sys
from scintiseg.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(json.loads(sys.argv[1]))
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules)))
"""

#: Import every subcommand module, as the command line did before it imported only the chosen one.
_IMPORT_ALL = """
import importlib
from scintiseg.cli import COMMANDS
for module, _ in COMMANDS.values():
    importlib.import_module("scintiseg.cli." + module)
"""


def phantom_dicom(folder: Path) -> Path:
    """A phantom patient (seed 0) written as a two-view NM DICOM file, for machines without the real scan."""
    from scintiseg.io.dicom import write_dicom  # lazy: start-up time: a phantom only without the real scan
    from scintiseg.phantom import generate_patient  # lazy: start-up time: a phantom only without the real scan

    path = folder / "phantom.dcm"
    write_dicom(generate_patient(0).scan, path)
    return path


def wall_time(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Seconds one process takes from start to exit, and its exit code."""
    started = time.perf_counter()
    code = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    return time.perf_counter() - started, code


def heavy_imports(argv: list[str], env: dict[str, str]) -> list[str]:
    """The :data:`HEAVY_MODULES` imported by ``scintiseg ARGV``."""
    result = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(argv), json.dumps(HEAVY_MODULES)],
                            env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11, help="runs of each command (default 11)")
    parser.add_argument("--reference-repeats", type=int, default=3,
                        help="runs of the slow reference row, importing every cli module (default 3; 0: none)")
    parser.add_argument("--scan", type=Path, default=None, help="scan for `info` (default: the real NM1 scan)")
    parser.add_argument("--json-out", type=Path, default=None, help="also write the results as JSON")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        # A fresh HOME: a command that imports matplotlib would write its cache and config there, not in yours.
        env = {k: v for k, v in os.environ.items() if k != "MPLCONFIGDIR"}
        env.update(HOME=tmp, XDG_CACHE_HOME=str(Path(tmp) / ".cache"), XDG_CONFIG_HOME=str(Path(tmp) / ".config"))
        # the reference row (every cli module, matplotlib among them) writes into a HOME of its own
        reference_home = Path(tmp) / "reference-home"
        reference_env = dict(env, HOME=str(reference_home), XDG_CACHE_HOME=str(reference_home / ".cache"),
                             XDG_CONFIG_HOME=str(reference_home / ".config"))
        scan = args.scan or (REAL if REAL.is_file() else phantom_dicom(Path(tmp)))
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            # the floor of `info`: the two libraries reading a DICOM file needs
            "import numpy, pydicom": [sys.executable, "-c", "import numpy, pydicom"],
            "scintiseg --version": [sys.executable, "-m", "scintiseg", "--version"],
            "scintiseg --help": [sys.executable, "-m", "scintiseg", "--help"],
            "scintiseg info FILE": [sys.executable, "-m", "scintiseg", "info", str(scan)],
        }
        if args.reference_repeats > 0:
            # what every command paid before the parser imported only the chosen subcommand's module
            commands["import every cli module"] = [sys.executable, "-c", _IMPORT_ALL]
        load_start = os.getloadavg()
        envs = {name: reference_env if name == "import every cli module" else env for name in commands}
        for name, command in commands.items():  # warm the file cache
            if name != "import every cli module":
                wall_time(command, envs[name])
        times: dict[str, list[float]] = {name: [] for name in commands}
        exit_codes: dict[str, set[int]] = {name: set() for name in commands}
        for repeat in range(args.repeats):
            for name, command in commands.items():
                if name == "import every cli module" and repeat >= args.reference_repeats:
                    continue
                seconds, code = wall_time(command, envs[name])
                times[name].append(seconds)
                exit_codes[name].add(code)
        load_end = os.getloadavg()
        heavy = {name: heavy_imports(command[3:], env) for name, command in commands.items() if command[1] == "-m"}
        home_written = sorted(str(p.relative_to(tmp)) for p in Path(tmp).iterdir() if p not in (scan, reference_home))

    print(f"scan: {scan}; {args.repeats} runs each; load average at start {load_start[0]:.2f}, at end {load_end[0]:.2f}")
    print(f"{'command':<24} {'median s':>9} {'min s':>7} {'max s':>7}  heavy modules imported")
    rows = []
    for name, values in times.items():
        row = {"command": name, "median_s": statistics.median(values), "min_s": min(values), "max_s": max(values),
               "heavy_modules": heavy.get(name), "exit_codes": sorted(exit_codes[name])}
        rows.append(row)
        listed = "-" if row["heavy_modules"] is None else (", ".join(row["heavy_modules"]) or "none")
        if row["exit_codes"] != [0]:
            listed += f" (exit codes {row['exit_codes']}: the timing is not that of a working command)"
        print(f"{name:<24} {row['median_s']:>9.3f} {row['min_s']:>7.3f} {row['max_s']:>7.3f}  {listed}")
    print(f"files written into HOME by the scintiseg commands: {', '.join(home_written) or 'none'}")
    if args.json_out:
        args.json_out.write_text(json.dumps({"scan": str(scan), "repeats": args.repeats, "load_start": load_start,
                                             "load_end": load_end, "rows": rows, "home_written": home_written},
                                            indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
