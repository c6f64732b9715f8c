"""Write NM1 real-background hybrids the ways archives hold scans, with image-level labels, for ``predict --labels``.

    OMP_NUM_THREADS=1 python benchmarks/make_labelled_exports.py --out runs/exports --cases 30 --negatives 30

The cases are those of ``bench_wholebody.py --source nm1`` (:func:`scintiseg.phantom.hybrid.make_hybrid_case` on
the real NEMA NM1 ANT view, count level 0.5, seeds 60000 + k; the first ``--cases`` with 1-3 inserted lesions,
then ``--negatives`` lesion-free controls), each written three ways:

- ``dicom/<id>.dcm``: the counts (NM Image, 16 bits), as a camera's DICOM export;
- ``jpeg/<id>.jpg``: an 8-bit screen export, the display window from 0 to half the hottest pixel (the bladder
  clipped, as a reader windows a bone scan), saved as an RGB JPEG of quality 90 (BS-80K's format; realdata.md);
  with ``--gain LOW HIGH`` instead grey = round(counts x a gain drawn per case), clipped at 255, as BS-80K's
  exports are (``--level 0.17 --gain 1.2 3`` gives its count level too: in-body pixels of about 5 counts);
- ``inverted/<id>.png``: the same grey levels on an inverted display (hot = black on white), 8-bit PNG;

and ``labels.csv`` (``file,label``): ``abnormal`` for a case with a lesion visible on ANT, ``normal`` for a
lesion-free control; a case whose lesions are all invisible is left unlabelled (no reader could call it); and
``voc/<id>.xml``, the lesions as BS-80K boxes them (Pascal VOC, for ``predict --boxes``: an ``Abnormal`` box around
each lesion's visible extent on ANT, ``difficult`` when it is not visible; NM1's own hot spots are not boxed, so
a call on them is a call in no box). The
files carry no pixel spacing except the DICOM's: the readers assume NM1's 2.26 mm from the whole-body rows.
Then, for each folder, ``scintiseg predict runs/exports/jpeg --out OUT --labels runs/exports/labels.csv`` gives
the triage ROC AUC beside the brightest pixel's (docs/predict.md, "Image-level labels").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from scintiseg.io import read_scan
from scintiseg.io.dicom import write_dicom
from scintiseg.io.voc import write_voc
from scintiseg.phantom.hybrid import make_hybrid_case, prepare_source
from scintiseg.prepare.degrade import export_8bit
from scintiseg.report.box_labels import lesion_boxes
from scintiseg.report.image_labels import write_image_labels

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"
#: Display window top as a share of the hottest pixel.
SATURATION = 0.5


def write_case(case, out: Path, gain: float | None = None) -> str | None:
    """Write one case three ways (the JPEG windowed, or ``counts x gain``); its label (``abnormal``, ``normal``)
    or None when it has no visible lesion."""
    counts = case.scan.view("ANT")
    write_dicom(case.scan, out / "dicom" / f"{case.case_id}.dcm")
    if gain is None:
        grey = export_8bit(counts, saturation=SATURATION)
    else:
        grey = np.clip(np.rint(counts.astype(np.float64) * gain), 0, 255).astype(np.uint8)
    Image.fromarray(grey).convert("RGB").save(out / "jpeg" / f"{case.case_id}.jpg", quality=90)
    Image.fromarray((255 - grey).astype(np.uint8)).save(out / "inverted" / f"{case.case_id}.png")
    write_voc(out / "voc" / f"{case.case_id}.xml", f"{case.case_id}.jpg", counts.shape,
              lesion_boxes(case.instances["ANT"], case.masks["ANT"]))
    if case.negative:
        return "normal"
    return "abnormal" if any(info["visible"].get("ANT") for info in case.lesions) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--negatives", type=int, default=30)
    parser.add_argument("--seed", type=int, default=60_000)
    parser.add_argument("--level", type=float, default=0.5)
    parser.add_argument("--gain", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                        help="8-bit exports as counts x a gain drawn per case from [LOW, HIGH] (BS-80K: 1.2 3)")
    parser.add_argument("--scan", type=Path, default=REAL)
    args = parser.parse_args(argv)
    for folder in ("dicom", "jpeg", "inverted", "voc"):
        (args.out / folder).mkdir(parents=True, exist_ok=True)
    source = prepare_source(read_scan(args.scan))
    gains = np.random.default_rng(args.seed)
    labels = {}
    for k in range(args.cases + args.negatives):
        case = make_hybrid_case(source, args.level, args.seed + k, negative=k >= args.cases)
        label = write_case(case, args.out, None if args.gain is None else float(gains.uniform(*args.gain)))
        if label is not None:
            labels[case.case_id] = label == "abnormal"
    abnormal = write_image_labels(args.out / "labels.csv", labels)
    print(f"{args.cases + args.negatives} cases written three ways to {args.out}; {abnormal} abnormal, "
          f"{len(labels) - abnormal} normal labelled")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
