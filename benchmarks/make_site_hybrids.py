"""Write an unlabelled "site archive" of NM1 real-background hybrids, for measuring ``scintiseg adapt`` (issue 16).

    OMP_NUM_THREADS=1 python benchmarks/make_site_hybrids.py --out /tmp/nm1_site --cases 24 --seed 5000

Each case is the real NEMA NM1 whole-body ANT (``../shared/data/real``) binomially thinned to a count level
and given 1-3 inserted lesions anywhere on its skeleton (:func:`scintiseg.phantom.hybrid.make_hybrid_case`,
the generator of ``benchmarks/bench_hybrid.py`` and of ``bench_shift.py``'s ``nm1`` column); every fourth case
is a lesion-free control. Levels alternate between the two of ``bench_shift.py`` (100 % and 25 %). Only the
DICOM files are written (``<out>/<case id>.dcm``): the site's scans carry no truth, as a department's archive
does not. The seeds (default 5000..) must not overlap the test cases' (``bench_shift.py`` uses 0..49), so the
adapted model is tested on hybrids it has not seen; the background is the same patient, which is what the
NM1 real-background set can offer (say so when quoting a result).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scintiseg.io import read_scan
from scintiseg.io.dicom import write_dicom
from scintiseg.phantom.hybrid import make_hybrid_case, prepare_source

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"
LEVELS = (1.0, 0.25)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--cases", type=int, default=24)
    parser.add_argument("--seed", type=int, default=5000)
    parser.add_argument("--scan", type=Path, default=REAL)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    source = prepare_source(read_scan(args.scan))
    for k in range(args.cases):
        case = make_hybrid_case(source, LEVELS[k % len(LEVELS)], args.seed + k, negative=k % 4 == 3)
        write_dicom(case.scan, args.out / f"{case.case_id}.dcm")
    print(f"{args.cases} hybrid scans ({args.cases // 4} lesion-free) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
