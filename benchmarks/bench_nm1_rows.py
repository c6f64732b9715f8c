"""Experiment rows on the NM1 real-background set: does a table's phantom ranking survive a shift? (issue 17)

Usage (2 CPU cores)::

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/bench_nm1_rows.py runs/exp3/paper-a-table2 \
        [more experiment folders] [--hybrids 120] [--seed 50000] [--level 0.5] [--work runs/nm1-rows] \
        [--runs N] [--out /tmp/nm1_rows.md]

**The test set** (built once under ``--work`` and reused): ``--hybrids`` hybrid images
(:mod:`scintiseg.phantom.hybrid`, the generator of ``benchmarks/bench_hybrid.py`` and bench_shift's NM1
column) on the real NEMA NM1 whole-body ANT view: the first ``hybrids - hybrids // 2`` with 1-3 inserted
lesions, the other ``hybrids // 2`` lesion-free (negative controls), seeds ``--seed + k``. Choices:

- **Seeds from 50,000**: no training run uses hybrid images, and bench_hybrid / bench_shift use hybrid seeds
  0..49, so the default keeps this set apart from both.
- **Count level 0.5** (1.8 M counts): NM1 holds 3.6 M counts, the training crops' phantom scans 0.9-3.6 M
  per view (median 1.7 M, ``runs/exp3/crops128``), so half of NM1 sits at the training median; and at
  level 1 binomial thinning is the identity, so every negative control would be the same image.
- **Lesions where the crop looks**: lesion centres lie inside NM1's thoracic crop box of the experiment's
  crop size, 8 px inside its sides (bench_hybrid's margin), so nearly every lesion is in the test crop.
- **Cropped as the experiment's crops were**: the whole-body hybrids are written as a data set and cut by
  :func:`scintiseg.prepare.crop_dataset.crop_dataset` (``scintiseg dataset crop --size``) at the size of
  the experiment's training crops (the crop box is found on each hybrid, as on each phantom scan).
- Each hybrid is one "patient" of the paired bootstrap. All hybrids share NM1's one anatomy, so the
  intervals hold lesion, position and noise variation, not anatomical variation: they say whether a
  ranking holds *on this real background*, not on real patients in general.

**Evaluation**: every finished run of every row is scored by the project's own evaluator
(:class:`scintiseg.experiments.test_set.TestSetEvaluator`, the one the experiment runner scores the
phantom test set with), and the table, mean +- SD over runs and paired patient-level bootstrap intervals
against the spec's reference row, by :mod:`scintiseg.experiments.tables` / :mod:`~scintiseg.experiments.paired`.
The experiment folders are only read: each run is mirrored under ``--work/<experiment folder name>/<row>/run<k>``
(links to its ``checkpoints``, ``config.yaml`` and ``summary.json``) and evaluated there, so
``WORK/<experiment>`` is an experiment folder of its own (``table.md``, ``paired.csv``, plot;
``scintiseg experiment report`` rereads it).

**Incomplete experiments** (e.g. one still training): a run is finished when its folder holds
``summary.json`` and ``checkpoints/best.pt``; a row is evaluated when it has ``--runs`` finished runs
(default: ``experiment.json``'s ``runs``; for an experiment still running, which has none yet, the spec's) and skipped
with a message otherwise, as is a row whose input mode needs POST (NM1 has ANT only).

The output (``--out``, a ``.md`` and a ``.json`` of the same stem) holds per experiment: DSC, Recall, CPA,
lesion sensitivity, FP per image (and per lesion-free image) on NM1, the paired DSC difference against the
reference row with its interval, the phantom DSC from the experiment's own evaluation, both rankings by
pooled DSC and Kendall's tau between them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage, stats
from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.experiments.paired import N_RESAMPLES
from scintiseg.experiments.runner import cell_result, read_experiment
from scintiseg.experiments.specs import ExperimentSpec, Row, slug
from scintiseg.experiments.tables import (
    image_scores,
    paired_statistics,
    row_statistics,
    write_outputs,
)
from scintiseg.experiments.test_set import (
    TestSetEvaluator,
    check_disjoint,
    crop_size_of,
    finished_test_set,
    read_image_scores,
)
from scintiseg.io import dataset as ds
from scintiseg.io import read_scan
from scintiseg.io.atomic import write_text_atomic
from scintiseg.phantom.hybrid import make_hybrid_case, prepare_source
from scintiseg.prepare.case_arrays import CaseArrays, write_case_arrays
from scintiseg.prepare.crop import thoracic_crop
from scintiseg.prepare.crop_dataset import crop_dataset
from scintiseg.prepare.model_input import model_inputs
from scintiseg.scan import Scan
from scintiseg.train.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"
VIEW = "ANT"
#: First hybrid seed (module docstring: apart from training and from the other hybrid benchmarks).
DEFAULT_SEED = 50_000
#: Kept fraction of NM1's counts (module docstring).
DEFAULT_LEVEL = 0.5
DEFAULT_HYBRIDS = 120
#: Lesion centres stay this many pixels inside the crop box's sides (as bench_hybrid).
MARGIN_PX = 8
#: A run is finished when its folder holds these.
FINISHED_MARKERS = ("summary.json", "checkpoints/best.pt")


# ------------------------------------------------------------------------------------------ the test set

@dataclass(frozen=True)
class Nm1TestSet:
    """The NM1 hybrid test set: how many hybrids, which seeds, count level and crop size."""

    hybrids: int = DEFAULT_HYBRIDS
    seed: int = DEFAULT_SEED
    level: float = DEFAULT_LEVEL
    size: tuple[int, int] = (128, 128)

    @property
    def negatives(self) -> int:
        return self.hybrids // 2

    @property
    def cohort_name(self) -> str:
        return f"nm1-hybrid-f{100 * self.level:g}-seed{self.seed}-n{self.hybrids}"

    @property
    def name(self) -> str:
        """The evaluation folder of a run is ``eval-<name>``."""
        return f"{self.cohort_name}-{self.size[0]}x{self.size[1]}"


def crop_placement(scan: Scan, size: tuple[int, int]) -> np.ndarray:
    """Where lesion centres may go: inside NM1's thoracic crop box at ``size``, ``MARGIN_PX`` from its sides."""
    box = thoracic_crop(scan, size=size).boxes[VIEW]
    within = np.zeros(scan.shape, dtype=bool)
    within[box.top + MARGIN_PX:box.top + box.height - MARGIN_PX, box.left + MARGIN_PX:box.left + box.width - MARGIN_PX] = True
    return within


def build_nm1_test_set(spec: Nm1TestSet, root: str | Path, *, scan_path: str | Path = REAL, progress: bool = True) -> Path:
    """Write (or reuse) ``root/<cohort>/wholebody`` and its crops ``root/<cohort>/crops<H>x<W>``; returns the crops.

    A complete set is marked by ``crops<H>x<W>.json`` (written last) and reused when it matches ``spec``.
    """
    folder = Path(root) / spec.cohort_name
    size = f"{spec.size[0]}x{spec.size[1]}"
    crops, marker = folder / f"crops{size}", folder / f"crops{size}.json"
    wanted = {"hybrids": spec.hybrids, "negatives": spec.negatives, "seed": spec.seed, "level": spec.level,
              "size": list(spec.size), "source": str(scan_path)}
    if finished_test_set(marker, wanted):
        return crops
    wholebody = folder / "wholebody"
    if not (wholebody / ds.MANIFEST_NAME).is_file():
        scan = read_scan(scan_path)
        source = prepare_source(scan, within=crop_placement(scan, spec.size))
        cases = []
        lesion_cases = spec.hybrids - spec.negatives
        for k in tqdm(range(spec.hybrids), desc="NM1 hybrids", unit="case", disable=not progress):
            hybrid = make_hybrid_case(source, spec.level, spec.seed + k, negative=k >= lesion_cases)
            arrays = CaseArrays(scan=hybrid.scan, masks=dict(hybrid.masks),
                                label_maps={"instances": dict(hybrid.instances)})
            paths = write_case_arrays(arrays, wholebody, hybrid.case_id)
            # "hybrid_seed", not "seed": check_disjoint matches phantom patient seeds by meta["seed"].
            meta = {"lesions": hybrid.lesions, "hybrid_seed": hybrid.seed, "count_fraction": hybrid.fraction,
                    "negative": hybrid.negative, "instances": paths["instances"]}
            cases.append(ds.Case(case_id=hybrid.case_id, patient_id=hybrid.case_id, image=paths["image"],
                                 labels=paths["labels"], masks=paths["masks"], synthetic=True, origin="hybrid",
                                 meta=meta))
        manifest = ds.DatasetManifest(
            name=spec.cohort_name, views=[VIEW], pixel_spacing=tuple(scan.pixel_spacing), cases=cases,
            description=(f"NEMA NM1 ANT at {100 * spec.level:g} % of its counts with inserted lesions "
                         f"(scintiseg.phantom.hybrid), seeds {spec.seed}..{spec.seed + spec.hybrids - 1}, "
                         f"the last {spec.negatives} lesion-free; benchmarks/bench_nm1_rows.py."))
        ds.save_manifest(manifest, wholebody)
    if not (crops / ds.MANIFEST_NAME).is_file():
        crop_dataset(wholebody, crops, size=spec.size, progress=progress)
    write_text_atomic(marker, json.dumps(wanted, indent=1) + "\n")
    return crops


# ------------------------------------------------------------------------------------- experiment folders

@dataclass
class ExperimentRuns:
    """An experiment folder's spec, its evaluable rows (row -> finished run folders) and why others were skipped."""

    folder: Path
    spec: ExperimentSpec
    record: dict
    runs_expected: int
    rows: dict[str, list[Path]] = field(default_factory=dict)
    input_modes: dict[str, str] = field(default_factory=dict)
    data: str | None = None
    skipped: dict[str, str] = field(default_factory=dict)


def _run_folders(folder: Path, row: Row) -> list[Path]:
    found = [p for p in (folder / slug(row.name)).glob("run*") if p.is_dir() and p.name[3:].isdigit()]
    return sorted(found, key=lambda p: int(p.name[3:]))


def _finished(run_dir: Path) -> bool:
    return all((run_dir / marker).is_file() for marker in FINISHED_MARKERS)


def experiment_runs(folder: str | Path, runs: int | None = None) -> ExperimentRuns:
    """The spec of ``folder`` (``experiment.json``, else the spec named like the folder) and its finished rows.

    Raises:
        ScintisegError: not a folder, or neither ``experiment.json`` nor a spec of the folder's name.
    """
    folder = Path(folder)
    spec, record = read_experiment(folder)
    expected = runs or record.get("runs") or spec.runs
    found = ExperimentRuns(folder, spec, record, int(expected))
    for row in spec.rows:
        finished = [run for run in _run_folders(folder, row) if _finished(run)]
        if expected < 1 or len(finished) < expected:
            found.skipped[row.name] = f"{len(finished)} of {expected} runs finished"
            continue
        config = TrainConfig.from_yaml(finished[0] / "config.yaml")
        found.rows[row.name] = finished[:expected]
        found.input_modes[row.name] = config.input_mode
        found.data = found.data or record.get("data") or config.data
    return found


def mirror_run(run_dir: Path, mirror: Path) -> Path:
    """``mirror`` holding links to ``run_dir``'s checkpoints, config and summary (``run_dir`` is never written).

    Raises:
        ScintisegError: ``mirror`` already links another run (two experiment folders of one name, e.g.
            ``runs/exp3/paper-a-table2`` and ``runs/exp4/paper-a-table2``, under one ``--work``): its cached
            scores belong to that run, so they must not be read as this one's.
    """
    mirror.mkdir(parents=True, exist_ok=True)
    for name in ("checkpoints", "config.yaml", "summary.json"):
        link = mirror / name
        target = (run_dir / name).resolve()
        if link.is_symlink() and link.resolve() != target:
            raise ScintisegError(f"it mirrors {link.resolve().parent}, not {run_dir}: give this experiment "
                                 "another --work folder", path=mirror)
        if not link.exists():
            link.symlink_to(target)
    return mirror


@contextmanager
def thread_cap(limit: int):
    """Cap torch's threads at ``limit``: the evaluator sets each run's training ``threads``, which may exceed
    the cores a benchmark may use beside running experiments."""
    original = torch.set_num_threads
    torch.set_num_threads = lambda n: original(max(1, min(int(n), limit)))
    try:
        original(limit)
        yield
    finally:
        torch.set_num_threads = original


# ---------------------------------------------------------------------------------------------- rankings

def _ranks(values: dict[str, float]) -> dict[str, int]:
    """1 = highest value."""
    order = sorted(values, key=lambda name: -values[name])
    return {name: order.index(name) + 1 for name in values}


def evaluate_experiment(found: ExperimentRuns, crops: Path, test_set: Nm1TestSet, work: Path, *,
                        progress: bool = True) -> dict:
    """Score every evaluable row on the NM1 crops; returns the experiment's part of the output."""
    out = work / found.folder.name
    evaluator = TestSetEvaluator(crops, name=test_set.name)
    data = found.data
    if data and Path(data).is_dir():
        check_disjoint(data, crops)  # same pixel size as the training crops
    results, phantom = [], {}
    evaluation = found.record.get("evaluation") or _phantom_evaluation(next(iter(found.rows.values()))[0])
    first_scan, _ = ds.load_case(crops, ds.load_manifest(crops).cases[0])
    for name, runs in list(found.rows.items()):
        mode = found.input_modes[name]
        try:
            model_inputs(first_scan, mode)
        except ScintisegError as exc:
            found.skipped[name] = f"input mode {mode!r} cannot read NM1 ({exc.problem})"
            del found.rows[name]
            continue
        phantom_runs = []
        for run_dir in tqdm(runs, desc=name, unit="run", disable=not progress):
            k = int(run_dir.name[3:])
            mirror = mirror_run(run_dir, out / slug(name) / run_dir.name)
            if cell_result(mirror, evaluator.folder_name) is None:
                evaluator.evaluate(mirror)
            results.append({"row": name, "run": k, **cell_result(mirror, evaluator.folder_name)})
            original = cell_result(run_dir, evaluation)
            if original is not None:
                phantom_runs.append(original["dsc"])
        phantom[name] = float(np.mean(phantom_runs)) if phantom_runs else math.nan
    if not results:
        return {"experiment": found.spec.name, "folder": str(found.folder), "skipped": found.skipped, "rows": []}
    used = TrainConfig.from_yaml(next(iter(found.rows.values()))[0] / "config.yaml").to_dict()
    table = write_outputs(found.spec, results, out, settings=used, runs=found.runs_expected, data=str(data),
                          evaluation=evaluator.folder_name, test_set=str(crops))
    paired = paired_statistics(found.spec, image_scores(found.spec, results, out, evaluator.folder_name))
    stats_by_row = {entry["row"].name: entry for entry in row_statistics(found.spec, results) if entry["runs"]}
    negatives_fp = _lesion_free_fp(out, results, evaluator.folder_name)
    nm1 = {name: stats_by_row[name]["dsc"][0] for name in stats_by_row}
    nm1_rank, phantom_rank = _ranks(nm1), _ranks({k: v for k, v in phantom.items() if not math.isnan(v)})
    common = [n for n in nm1 if n in phantom_rank]
    tau = stats.kendalltau([phantom_rank[n] for n in common], [nm1_rank[n] for n in common]) if len(common) > 2 else None
    rows = []
    for name, entry in stats_by_row.items():
        versus = paired.versus_reference.get(name, {}).get("dsc") if paired else None
        rows.append({
            "row": name, "runs": entry["runs"],
            **{key: {"mean": entry[key][0], "sd": entry[key][1]} for key in ("dsc", "recall", "cpa", "sensitivity", "fp_per_image")},
            "fp_per_lesion_free_image": negatives_fp.get(name),
            "dsc_interval": _interval_json(paired.rows[name]["dsc"]) if paired else None,
            "dsc_minus_reference": _interval_json(versus) if versus else None,
            "phantom_dsc": phantom.get(name), "phantom_rank": phantom_rank.get(name), "nm1_rank": nm1_rank[name],
        })
    return {
        "experiment": found.spec.name, "folder": str(found.folder), "table": str(table),
        "reference": paired.reference if paired else None, "patients": paired.patients if paired else None,
        "images": paired.images if paired else None, "phantom_evaluation": evaluation,
        "kendall_tau": None if tau is None else {"tau": float(tau.statistic), "p": float(tau.pvalue), "rows": len(common)},
        "pairs_dsc": [{"a": a, "b": b, **_interval_json(i)} for a, b, i in paired.pairs] if paired else [],
        "rows": rows, "skipped": found.skipped,
    }


def _phantom_evaluation(run_dir: Path) -> str:
    """The run's own evaluation folder when ``experiment.json`` does not name it yet (an experiment still running):
    the first ``eval-*`` with ``metrics.json`` that is not an NM1 one, else ``eval-test``."""
    for folder in sorted(run_dir.glob("eval-*")):
        if not folder.name.startswith("eval-nm1-") and (folder / "metrics.json").is_file():
            return folder.name
    return "eval-test"


def _lesion_free_fp(out: Path, results: list[dict], evaluation: str) -> dict[str, float]:
    """Row -> mean over runs of the false-positive components per image whose crop holds no lesion."""
    per_row: dict[str, list[float]] = {}
    for result in results:
        records = read_image_scores(out / slug(result["row"]) / f"run{result['run']}" / evaluation) or []
        free = [r["false_positives"] for r in records if r.get("lesions", 0) == 0]
        if free:
            per_row.setdefault(result["row"], []).append(float(np.mean(free)))
    return {row: float(np.mean(values)) for row, values in per_row.items()}


def _interval_json(interval) -> dict:
    return {"estimate": interval.estimate, "low": interval.low, "high": interval.high, "real": interval.excludes_zero}


# ---------------------------------------------------------------------------------------------- markdown

def _ms(value: dict, digits: int = 3) -> str:
    mean, sd = value["mean"], value["sd"]
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    return f"{mean:.{digits}f}" if sd is None or math.isnan(sd) else f"{mean:.{digits}f} ± {sd:.{digits}f}"


def markdown(report: dict) -> str:
    spec = report["test_set"]
    lines = ["# Experiment rows on the NM1 real-background set", "",
             f"Test set: {spec['hybrids']} hybrid images on NEMA NM1 ANT at {100 * spec['level']:g} % of its counts "
             f"({spec['hybrids'] - spec['hybrids'] // 2} with 1-3 inserted lesions, {spec['hybrids'] // 2} lesion-free), "
             f"seeds {spec['seed']}..{spec['seed'] + spec['hybrids'] - 1}, thoracic crops {spec['size'][0]} x {spec['size'][1]} "
             f"(`scintiseg dataset crop`); `{spec['crops']}`: {spec['images_with_lesion']} crops hold a visible lesion "
             f"({spec['lesions']} lesions). Each hybrid is one patient of the bootstrap; all share NM1's one anatomy.",
             "", f"Command: `{report['command']}`"]
    for exp in report["experiments"]:
        lines += ["", f"## {exp['experiment']} (`{exp['folder']}`)", ""]
        if not exp["rows"]:
            lines += ["No row evaluable."]
        else:
            lines += [
                f"Mean ± SD over runs on NM1; ΔDSC: row minus \"{exp['reference']}\" on the same {exp['patients']} "
                f"hybrids, paired 95 % bootstrap over hybrids and runs ({N_RESAMPLES} resamples; **bold**: excludes 0). "
                f"Phantom DSC: the experiment's own evaluation (`{exp['phantom_evaluation']}`). Ranks by pooled DSC.", "",
                "| Row | runs | DSC | Recall | CPA | lesion sens. | FP / image | FP / crop without lesion "
                "| ΔDSC vs reference | phantom DSC | phantom rank | NM1 rank |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|",
            ]
            for row in exp["rows"]:
                delta = row["dsc_minus_reference"]
                delta_text = "reference" if delta is None else _fmt_interval(delta)
                fp_free = row["fp_per_lesion_free_image"]
                phantom = row["phantom_dsc"]
                phantom_text = "n/a" if phantom is None or math.isnan(phantom) else f"{phantom:.3f}"
                lines.append(
                    f"| {row['row']} | {row['runs']} | {_ms(row['dsc'])} | {_ms(row['recall'])} | {_ms(row['cpa'])} "
                    f"| {_ms(row['sensitivity'])} | {_ms(row['fp_per_image'], 2)} | "
                    f"{'n/a' if fp_free is None else f'{fp_free:.2f}'} | {delta_text} | "
                    f"{phantom_text} | {row['phantom_rank'] or 'n/a'} | {row['nm1_rank']} |")
            tau = exp["kendall_tau"]
            if tau:
                lines += ["", f"Kendall's tau between the phantom and NM1 rankings: {tau['tau']:+.2f} "
                              f"(p = {tau['p']:.2f}, {tau['rows']} rows)."]
            real = [f"{p['a']} - {p['b']} {_fmt_interval(p)}" for p in exp["pairs_dsc"] if p["real"]]
            lines += ["", f"Pairs of rows whose NM1 DSC difference excludes 0 ({len(exp['pairs_dsc'])} pairs): "
                          + ("; ".join(real) if real else "none") + "."]
            lines += ["", f"Full table with every interval: `{exp['table']}`."]
        for name, why in exp["skipped"].items():
            lines.append(f"- skipped \"{name}\": {why}")
    return "\n".join(lines) + "\n"


def _fmt_interval(value: dict) -> str:
    text = f"{value['estimate']:+.3f} [{value['low']:+.3f}, {value['high']:+.3f}]"
    return f"**{text}**" if value["real"] else text


def _lesion_census(crops: Path) -> tuple[int, int]:
    """(crops holding a visible lesion, visible lesion components) of the crop data set."""
    images = lesions = 0
    manifest = ds.load_manifest(crops)
    for case in manifest.cases:
        _, masks = ds.load_case(crops, case)
        count = sum(int(ndimage.label(mask, structure=np.ones((3, 3)))[1]) for mask in masks.values())
        images += count > 0
        lesions += count
    return images, lesions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiments", nargs="+", help="experiment folders (read only)")
    parser.add_argument("--hybrids", type=int, default=DEFAULT_HYBRIDS, help="hybrid images (half lesion-free)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="first hybrid seed")
    parser.add_argument("--level", type=float, default=DEFAULT_LEVEL, help="kept fraction of NM1's counts")
    parser.add_argument("--scan", default=str(REAL), help="the real source scan")
    parser.add_argument("--work", default="runs/nm1-rows", help="test sets and mirrored run folders are written here")
    parser.add_argument("--runs", type=int, default=None, help="runs a row needs (default: experiment.json's, else the spec's)")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    parser.add_argument("--out", default=None, help="X.md or X.json: writes both")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.hybrids < 2:
        parser.error("--hybrids must be at least 2 (half are lesion-free)")
    started = time.perf_counter()
    progress = not args.no_progress
    work = Path(args.work)
    found = []
    for folder in args.experiments:
        try:
            found.append(experiment_runs(folder, args.runs))
        except ScintisegError as exc:
            print(f"skipping {folder}: {exc}", file=sys.stderr)
    report = {"command": "OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python " + " ".join([sys.argv[0], *(argv or sys.argv[1:])]),
              "experiments": []}
    crops_by_size: dict[tuple[int, int], tuple[Nm1TestSet, Path]] = {}
    with thread_cap(args.threads):
        for experiment in found:
            for name, why in experiment.skipped.items():
                print(f"{experiment.folder}: skipping row \"{name}\": {why}", file=sys.stderr)
            if not experiment.rows:
                report["experiments"].append({"experiment": experiment.spec.name, "folder": str(experiment.folder),
                                              "skipped": experiment.skipped, "rows": []})
                continue
            data = experiment.data
            size = crop_size_of(data) if data and Path(data).is_dir() else (128, 128)
            if size not in crops_by_size:
                spec = Nm1TestSet(args.hybrids, args.seed, args.level, size)
                crops_by_size[size] = (spec, build_nm1_test_set(spec, work / "test-sets", scan_path=args.scan,
                                                                progress=progress))
            spec, crops = crops_by_size[size]
            report["experiments"].append(evaluate_experiment(experiment, crops, spec, work, progress=progress))
    if crops_by_size:
        spec, crops = next(iter(crops_by_size.values()))
        images, lesions = _lesion_census(crops)
        report["test_set"] = {"hybrids": spec.hybrids, "seed": spec.seed, "level": spec.level, "size": list(spec.size),
                              "crops": str(crops), "images_with_lesion": images, "lesions": lesions}
    else:
        report["test_set"] = {"hybrids": args.hybrids, "seed": args.seed, "level": args.level, "size": [0, 0],
                              "crops": "(not built: no evaluable row)", "images_with_lesion": 0, "lesions": 0}
    report["seconds"] = round(time.perf_counter() - started, 1)
    text = markdown(report)
    print(text)
    if args.out:
        stem = Path(args.out).with_suffix("")
        stem.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(stem.with_suffix(".md"), text)
        write_text_atomic(stem.with_suffix(".json"), json.dumps(report, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
