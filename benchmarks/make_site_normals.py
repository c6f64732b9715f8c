"""Write a phantom site's normal scans (lesion-free patients of a profile) for ``scintiseg adapt --normals``.

    OMP_NUM_THREADS=1 python benchmarks/make_site_normals.py --out runs/site_normals --profile shifted --patients 24 --seed 970000

The measurement of docs/own-data.md ("Normal scans with inserted lesions") adapts the shipped model on the
lesion-free patients of the held-out ``shifted`` profile (another site's camera, population and look-alike mix)
and tests it on other patients of that profile (``bench_wholebody.py --profile shifted``, seeds 910000+): a
department's normal archive and its next patients. Each patient is the profile's with ``p_normal = 1`` (no
metastasis; its look-alikes, bladder, kidneys and injection sites stay), written as one ANT + POST DICOM file
``<out>/n<k>.dcm`` with patient id ``N<k>``, so ``adapt`` groups and holds out whole patients. The seeds must
not overlap the test patients' (default 970000..).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from scintiseg.io.dicom import write_dicom
from scintiseg.phantom import generate_patient, profile
from scintiseg.phantom.config import PhantomConfig


def normal_profile(name: str) -> PhantomConfig:
    """Profile ``name`` with every patient free of metastases."""
    base = profile(name)
    return replace(base, name=f"{base.name}-normal", lesions=replace(base.lesions, p_normal=1.0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--profile", default="shifted")
    parser.add_argument("--patients", type=int, default=24)
    parser.add_argument("--seed", type=int, default=970_000)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    config = normal_profile(args.profile)
    for k in range(args.patients):
        patient = generate_patient(args.seed + k, config, patient_id=f"N{k}")
        write_dicom(patient.scan, args.out / f"n{k:02d}.dcm")
    print(f"{args.patients} lesion-free {args.profile} patients in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
