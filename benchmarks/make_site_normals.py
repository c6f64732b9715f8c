"""Write a phantom site's normal scans (lesion-free patients of a profile) for ``scintiseg adapt --normals``.

    OMP_NUM_THREADS=1 python benchmarks/make_site_normals.py --out runs/site_normals --profile shifted --patients 24 --seed 970000

The measurement of docs/own-data.md ("Normal scans with inserted lesions") adapts the shipped model on the
lesion-free patients of the held-out ``shifted`` profile (another site's camera, population and look-alike mix)
and tests it on other patients of that profile (``bench_wholebody.py --profile shifted``, seeds 910000+): a
department's normal archive and its next patients. Each patient is the profile's with ``p_normal = 1`` (no
metastasis; its look-alikes, bladder, kidneys and injection sites stay), written as one ANT + POST DICOM file
``<out>/n<k>.dcm`` with patient id ``N<k>``, so ``adapt`` groups and holds out whole patients. The seeds must
not overlap the test patients' (default 970000..).

``--generator`` writes another generator's lesion-free twins instead (session 70, docs/own-data.md "On the cameras
of the two independently built phantoms"): ``independent_phantom_2`` as its camera exports them (``write_dicom``:
one of its three DICOM styles per patient, in ``<out>/<seed>_twin/``), ``independent_phantom``, which has no export
of its own, as ``<out>/IP1_<seed>_twin.npz`` (views ``ant`` and ``post`` in whole counts, ``pixel_spacing``). Their
seeds default to 5000.. (the benchmarks' patients are 0-39 and 1000-1039).

    OMP_NUM_THREADS=1 python benchmarks/make_site_normals.py --out /tmp/site2/normals --generator independent_phantom_2 --patients 30
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from scintiseg.io.dicom import write_dicom
from scintiseg.phantom import generate_patient, profile
from scintiseg.phantom.config import PhantomConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))  # sibling scripts import by name (as when run)


def normal_profile(name: str) -> PhantomConfig:
    """Profile ``name`` with every patient free of metastases."""
    base = profile(name)
    return replace(base, name=f"{base.name}-normal", lesions=replace(base.lesions, p_normal=1.0))


#: The independently built generators whose lesion-free twins can be written (benchmarks/ siblings).
GENERATORS: tuple[str, ...] = ("independent_phantom", "independent_phantom_2")
#: First seed of a generator's site patients: after the benchmarks' (0-39, 1000-1039).
GENERATOR_SEED: int = 5000


def write_generator_twin(generator: str, seed: int, out: Path) -> list[Path]:
    """The lesion-free twin of ``generator``'s patient ``seed`` written into ``out`` (module docstring); the paths."""
    module = importlib.import_module(generator)
    case = module.make_case(seed, lesions=False)
    if hasattr(module, "write_dicom"):
        return list(module.write_dicom(case, out / f"{seed}_twin"))
    path = out / f"IP1_{seed}_twin.npz"
    views = {view.lower(): np.asarray(image) for view, image in case.views.items()}
    if not all(np.array_equal(image, np.round(image)) and image.min() >= 0 and image.max() < 65536
               for image in views.values()):
        raise SystemExit(f"{generator} seed {seed}: its views are not whole counts; they cannot be written as counts")
    np.savez_compressed(path, **{view: image.astype(np.uint16) for view, image in views.items()},
                        pixel_spacing=np.asarray(case.pixel_spacing, dtype=np.float64))
    return [path]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--profile", default="shifted", help="scintiseg phantom profile (not read with --generator)")
    parser.add_argument("--patients", type=int, default=24)
    parser.add_argument("--seed", type=int, default=None,
                        help=f"first patient seed (default 970000; {GENERATOR_SEED} with --generator)")
    parser.add_argument("--generator", choices=GENERATORS, default=None,
                        help="write an independently built generator's lesion-free twins instead of a profile's "
                             "patients")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.generator:
        first = GENERATOR_SEED if args.seed is None else args.seed
        for seed in range(first, first + args.patients):
            write_generator_twin(args.generator, seed, args.out)
        print(f"{args.patients} lesion-free {args.generator} patients (seeds {first}..) in {args.out}")
        return 0
    first = 970_000 if args.seed is None else args.seed
    config = normal_profile(args.profile)
    for k in range(args.patients):
        patient = generate_patient(first + k, config, patient_id=f"N{k}")
        write_dicom(patient.scan, args.out / f"n{k:02d}.dcm")
    print(f"{args.patients} lesion-free {args.profile} patients in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
