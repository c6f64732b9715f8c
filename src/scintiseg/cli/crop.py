"""``scintiseg crop INPUT... --out DIR [--size 256] [--json]``: cut the thoracic region of whole-body scans.

For each input ``NAME.*`` it writes, atomically, into ``DIR``:

- ``NAME_thorax.dcm``: the cropped views as a multi-frame NM DICOM file (ANT, POST as acquired);
- ``NAME_thorax_<VIEW>.png``: each cropped view as a 16-bit PNG of counts;
- ``NAME_crop.json``: the boxes (view, top, left, height, width in whole-body pixels), the whole-body
  shape, the landmarks that placed them and the method (``profile`` or ``proportion``).

The method is described in :mod:`scintiseg.prepare.crop`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.atomic import write_text_atomic
from scintiseg.io.file_keys import output_stem
from scintiseg.io.dicom import write_dicom
from scintiseg.io.images import write_png16

if TYPE_CHECKING:
    from scintiseg.prepare.crop import CropResult


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``crop``."""
    parser = subparsers.add_parser(
        "crop",
        help="cut the 256 x 256 thoracic region out of whole-body scans",
        description="Find the body, the shoulders and the thorax in a whole-body bone scan and cut a "
        "SIZE x SIZE thoracic crop from every view (paper B §2.1). Writes NAME_thorax.dcm, one 16-bit PNG "
        "per view and NAME_crop.json with the crop boxes (view, top, left, height, width), which map a "
        "mask on the crop back to the whole body.",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="whole-body scan file(s)")
    parser.add_argument("--out", required=True, type=Path, help="output folder (created if needed)")
    parser.add_argument("--size", type=int, default=256, help="crop size in pixels (default 256)")
    parser.add_argument("--json", action="store_true", help="print the boxes as JSON instead of a table")
    parser.set_defaults(func=run)


def crop_record(result: CropResult, source: str, size: int) -> dict:
    """The JSON written to ``NAME_crop.json`` (and printed with ``--json``)."""
    return {
        "source": source,
        "size": size,
        "whole_shape": list(result.whole_shape),
        "method": result.method,
        "boxes": result.boxes_json(),
        "landmarks": {k: round(v, 2) for k, v in result.landmarks.items()},
    }


def run(args: argparse.Namespace) -> int:
    from scintiseg.prepare.crop import thoracic_crop  # lazy: start-up time (scikit-image)

    if args.size <= 0:
        raise ScintisegError(f"--size must be positive, got {args.size}")
    if args.out.exists() and not args.out.is_dir():
        raise ScintisegError("output exists and is not a folder", path=args.out)
    from scintiseg.report.batch import unique_name  # lazy: start-up time

    records, taken = [], set()
    for name in args.inputs:
        path = Path(name)
        scan = read_scan(path)
        try:
            result = thoracic_crop(scan, size=args.size)
        except ScintisegError as exc:
            raise ScintisegError(exc.problem, path=path) from None
        stem = unique_name(output_stem(path), taken)  # two inputs of one name (two folders' scan.dcm) both kept
        args.out.mkdir(parents=True, exist_ok=True)
        write_dicom(result.scan, args.out / f"{stem}_thorax.dcm")
        for view, image in result.scan.views.items():
            write_png16(image, args.out / f"{stem}_thorax_{view}.png")
        record = crop_record(result, str(path), args.size)
        write_text_atomic(args.out / f"{stem}_crop.json", json.dumps(record, indent=1) + "\n")
        records.append(record)
    if args.json:
        print(json.dumps(records[0] if len(records) == 1 else records, indent=1))
    else:
        for record in records:
            for box in record["boxes"]:
                print(
                    f"{record['source']}  {box['view']:<4}  top {box['top']:>4}  left {box['left']:>4}  "
                    f"{box['height']} x {box['width']}  ({record['method']})"
                )
    return 0
