"""How close the outline drawn from a hot-spot box comes to the lesion's true extent (``annotations from-boxes``).

    OMP_NUM_THREADS=2 python benchmarks/bench_box_outlines.py [--source nm1|phantom] [--cases 80] [--json-out X]

The crops of ``make_region_crops.py`` (same cases, seeds and polygons; NM1 hybrids by default, or ``--source
phantom`` patients of ``--profile``) with the boxes it writes: for each scored ``Abnormal`` box, the outline of
:func:`scintiseg.prepare.box_outlines.box_outline` on the crop's counts and on its 8-bit JPEG export (grey = counts x
a gain drawn per crop from 1.2-3, quality 90, as the script writes them) against the truth: the lesion's visible
extent inside the crop. Prints the median and quartiles of the Dice per box, and the share of boxes whose outline
reaches Dice 0.5.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from scintiseg.io.voc import box_kind
from scintiseg.prepare.box_outlines import box_outline
from scintiseg.report.box_labels import lesion_boxes

sys.path.insert(0, str(Path(__file__).resolve().parent))  # a sibling script: the same crops
import make_region_crops  # noqa: E402


def dice(a: np.ndarray, b: np.ndarray) -> float:
    total = int(a.sum() + b.sum())
    return 2.0 * int((a & b).sum()) / total if total else 1.0


def jpeg(counts: np.ndarray, gain: float) -> np.ndarray:
    """The crop's 8-bit export as ``make_region_crops.write_crop`` writes it, read back."""
    buffer = io.BytesIO()
    grey = np.clip(np.rint(counts.astype(np.float64) * gain), 0, 255).astype(np.uint8)
    Image.fromarray(grey).save(buffer, "JPEG", quality=make_region_crops.JPEG_QUALITY)
    return np.asarray(Image.open(buffer), dtype=np.float64)


def measure(cases, rng: np.random.Generator) -> dict:
    """Dice per scored lesion box, on counts and on the JPEG export."""
    crops = make_region_crops
    scores: dict[str, list[float]] = {"counts": [], "jpeg": []}
    for _, counts, truth, polygons, _ in cases:
        for polygon in polygons.values():
            box = crops.crop_box(polygon)
            inside = polygon[box]
            cut = np.where(inside, counts[box], 0)
            grey = jpeg(cut, float(rng.uniform(1.2, 3.0)))
            instances = truth.instances["ANT"][box]
            visible = truth.masks["ANT"][box] & inside
            ids = np.unique(instances[inside & (instances > 0)])  # lesion_boxes gives one box per id, in this order
            for lesion_box, lesion_id in zip(lesion_boxes(truth.instances["ANT"], truth.masks["ANT"], polygon), ids):
                if box_kind(lesion_box) != "lesion":
                    continue
                extent = (instances == lesion_id) & visible
                scores["counts"].append(dice(box_outline(cut, lesion_box), extent))
                scores["jpeg"].append(dice(box_outline(grey, lesion_box), extent))
    return {name: {"boxes": len(values), "dice_median": round(float(np.median(values)), 3),
                   "dice_quartiles": [round(float(q), 3) for q in np.percentile(values, [25, 75])],
                   "share_dice_0.5": round(float(np.mean(np.array(values) >= 0.5)), 3)}
            for name, values in scores.items() if values}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("nm1", "phantom"), default="nm1")
    parser.add_argument("--cases", type=int, default=80)
    parser.add_argument("--seed", type=int, default=61_000)
    parser.add_argument("--level", type=float, default=0.17)
    parser.add_argument("--profile", default="low-count")
    parser.add_argument("--scan", type=Path, default=None)
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args(argv)
    crops = make_region_crops
    if args.source == "nm1":
        cases = crops.nm1_cases(args.scan or crops.REAL, args.cases, 0, args.seed, args.level)
    else:
        cases = crops.phantom_cases(args.profile, args.cases, args.seed)
    result = measure(cases, np.random.default_rng(args.seed))
    for name, row in result.items():
        print(f"{name:6s}: {row['boxes']} lesion boxes, Dice median {row['dice_median']} (quartiles "
              f"{row['dice_quartiles'][0]}-{row['dice_quartiles'][1]}), {row['share_dice_0.5']:.2f} at least 0.5")
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
