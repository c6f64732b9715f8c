"""Patients of the independently built phantom written as a scintiseg data set, for training on two generators.

``benchmarks/independent_phantom.py`` was written apart from scintiseg's phantom to test whether a model trained on
scintiseg's phantom reads another one (docs/robustness.md, "An independently built phantom"). Training on several
independently designed generators is the other use of such a generator (domain randomisation over the generator's
own design choices, not only over its parameters; realdata.md): this script writes its patients in the layout of
``scintiseg phantom --out DS`` (``images/*.dcm`` with both views, ``masks/``, ``regions/``, ``dataset.json``), into a
new folder or appended to an existing data set, so ``scintiseg train --data DS`` learns from both generators. When the
data set has a ``splits.json``, the cases added join its ``train`` list (and every fold's training part): a
generator's patients train, they never test, and a split that did not list them would leave them out.

Choices (the generator labels every lesion; scintiseg's phantom labels what a reader can see, docs/phantom.md):

* a lesion is labelled in a view when it passes the Rose criterion there, ``sum(excess) / sqrt(sum(background))
  >= 5`` over its mask, as scintiseg's phantom labels; the excess is the case minus its lesion-free twin
  (``make_case(seed, lesions=False)``: the same anatomy and noise draw without the lesions' counts), so it carries the
  lesion's own Poisson noise, which moves the cut for lesions near it by a few per cent;
* the views are stored as the generator makes them (POST as acquired, mirrored), 16-bit counts, each case at its
  own drawn pixel size (2.0-2.8 mm on 256 columns), which data-set training resamples to the model's;
* the patient seeds must not overlap those a benchmark reads (``bench_independent.py`` uses 0-39 and 1000-1039):
  the default start, 200000, keeps them apart; cases are named ``IP<seed>`` so they never collide with ``PH####``.

Run: ``python benchmarks/independent_dataset.py --out DS --patients 80 [--first-seed 200000]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.io.atomic import write_text_atomic
from scintiseg.io.dataset import Case, DatasetManifest, load_manifest, load_splits, save_manifest
from scintiseg.io.dicom import write_dicom
from scintiseg.io.images import write_label_png, write_mask_png
from scintiseg.phantom.patient import ROSE_K
from scintiseg.phantom.regions import region_names_json
from scintiseg.scan import Scan

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # sibling scripts import by name (as when run)
#: seeds the benchmarks read (bench_independent.py): never written for training.
BENCHMARK_SEEDS = (range(0, 40), range(1000, 1040))


def generator():
    """``benchmarks/independent_phantom.py`` (a sibling script; benchmarks/ is not a package)."""
    import independent_phantom  # lazy: kept a function so its tests can call make_case directly

    return independent_phantom


def visible_mask(ids: np.ndarray, with_lesions: np.ndarray, without: np.ndarray, k: float = ROSE_K) -> tuple[np.ndarray, int, int]:
    """The pixels of the lesions of the id map ``ids`` that pass the Rose criterion; (mask, visible, all)."""
    without = np.asarray(without, dtype=np.float64)
    excess = np.asarray(with_lesions, dtype=np.float64) - without
    mask = np.zeros(ids.shape, dtype=bool)
    labels = [int(v) for v in np.unique(ids) if v > 0]
    seen = 0
    for label in labels:
        pixels = ids == label
        background = float(without[pixels].sum())
        if background > 0 and float(excess[pixels].sum()) / np.sqrt(background) >= k:
            mask |= pixels
            seen += 1
    return mask, seen, len(labels)


def write_case(seed: int, out: Path) -> Case:
    """Make patient ``seed`` and its lesion-free twin; write the case's files under ``out``."""
    make = generator().make_case
    case, twin = make(seed, lesions=True), make(seed, lesions=False)
    case_id = f"IP{seed:06d}"
    image = f"images/{case_id}.dcm"
    views = {view: np.clip(np.rint(array), 0, 65535).astype(np.uint16) for view, array in case.views.items()}
    write_dicom(Scan(views=views, pixel_spacing=tuple(float(s) for s in case.pixel_spacing), patient_id=case_id),
                out / image)
    masks, regions, counted = {}, {}, {}
    for view in views:
        mask, seen, drawn = visible_mask(np.asarray(case.lesions[view]), case.views[view], twin.views[view])
        masks[view], regions[view] = f"masks/{case_id}_{view}.png", f"regions/{case_id}_{view}.png"
        write_mask_png(mask, out / masks[view])
        write_label_png(np.asarray(case.regions[view]), out / regions[view])
        counted[view] = {"visible": seen, "drawn": drawn}
    return Case(case_id=case_id, patient_id=case_id, image=image, masks=masks, regions=regions, synthetic=True,
                origin="phantom", meta={"generator": "benchmarks/independent_phantom.py", "seed": int(seed),
                                        "lesions": counted})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="data-set folder: new, or one whose dataset.json gets the cases")
    parser.add_argument("--patients", type=int, default=80)
    parser.add_argument("--first-seed", type=int, default=200000)
    args = parser.parse_args(argv)
    if args.patients < 1:
        parser.error(f"--patients must be at least 1, got {args.patients}")
    seeds = range(args.first_seed, args.first_seed + args.patients)
    clash = [s for s in seeds if any(s in r for r in BENCHMARK_SEEDS)]
    if clash:
        parser.error(f"seeds {clash[0]}-{clash[-1]} are the benchmarks' test patients: choose --first-seed past 1039")
    try:
        return _write(Path(args.out), seeds)
    except ScintisegError as exc:  # a malformed dataset.json or splits.json: one line, nothing half-listed
        print(f"independent_dataset.py: {exc}", file=sys.stderr)
        return 2


def _write(out: Path, seeds: range) -> int:
    if out.exists() and not out.is_dir():
        raise ScintisegError("output exists and is not a folder", path=out)
    if (out / "splits.json").is_file():
        load_splits(out)  # a broken split is said before any case is written
    if (out / "dataset.json").is_file():
        manifest = load_manifest(out)
    else:
        manifest = DatasetManifest(name="independent-phantom", views=["ANT", "POST"], pixel_spacing=(2.26, 2.26),
                                   region_names=region_names_json(),
                                   description="patients of benchmarks/independent_phantom.py, Rose-visible lesions")
    known = {c.case_id for c in manifest.cases}
    added = []
    for seed in seeds:
        case = write_case(seed, out)
        if case.case_id not in known:
            added.append(case)
        print(f"{case.case_id}: " + ", ".join(f"{v} {n['visible']} of {n['drawn']} lesions visible"
                                               for v, n in case.meta["lesions"].items()), flush=True)
    manifest.cases.extend(added)
    save_manifest(manifest, out)
    print(f"{len(added)} cases added to {out / 'dataset.json'} ({len(manifest.cases)} in all)")
    if (out / "splits.json").is_file() and added:
        splits = load_splits(out)
        ids = [c.case_id for c in added]
        splits["train"] = list(splits["train"]) + ids
        for fold in splits.get("folds") or []:
            fold["train"] = list(fold["train"]) + ids
        write_text_atomic(out / "splits.json", json.dumps(splits, indent=1) + "\n")
        print(f"{len(ids)} cases added to the train part of {out / 'splits.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
