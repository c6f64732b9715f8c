"""Write a phantom data set's truth region maps as a reader's skeleton masks of 12 bone classes, and their class map,
for ``scintiseg evaluate --region-masks`` (docs/predict.md, "The region maps written, and scored against masks").

    scintiseg phantom --patients 4 --out runs/ph4 --seed 7
    OMP_NUM_THREADS=2 python benchmarks/make_region_masks.py --data runs/ph4 --out runs/ph4_masks

Public sets ship skeleton masks with 12 bone classes (BS-80K; ../shared/reference/realdata.md), whose exact grouping
is the set's; this script merges the phantom's 26 regions (:data:`scintiseg.predict.regions.REGION_NAMES`) into 12
such classes (:data:`TWELVE`: skull with mandible, the spine's three segments, sacrum, ribs, sternum, clavicles,
scapulae, humeri, forearms with hands, pelvis, femora, lower legs with feet; the two sides one class, as a mask of
bone classes draws them) and writes, for each case's view, ``OUT/<case>_<VIEW>.png`` (8-bit grey, the class value
per pixel, 0 background; the stem of the case's image, so ``evaluate`` finds it for a ``predict`` folder of
``DATA/images``) and ``OUT/classes.json`` (the class map those values mean).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from scintiseg.io.atomic import write_text_atomic
from scintiseg.io.dataset import load_manifest, resolve
from scintiseg.io.images import read_label_png, write_label_png
from scintiseg.predict.regions import REGION_IDS

#: Mask value -> class name and the regions merged into it (module docstring).
TWELVE: dict[str, dict] = {
    "1": {"name": "skull", "regions": ["skull", "mandible"]},
    "2": {"name": "spine", "regions": ["cervical_spine", "thoracic_spine", "lumbar_spine"]},
    "3": {"name": "sacrum", "regions": ["sacrum"]},
    "4": {"name": "ribs", "regions": ["ribs_left", "ribs_right"]},
    "5": {"name": "sternum", "regions": ["sternum"]},
    "6": {"name": "clavicles", "regions": ["clavicle_left", "clavicle_right"]},
    "7": {"name": "scapulae", "regions": ["scapula_left", "scapula_right"]},
    "8": {"name": "humeri", "regions": ["humerus_left", "humerus_right"]},
    "9": {"name": "forearms_hands", "regions": ["forearm_left", "forearm_right", "hand_left", "hand_right"]},
    "10": {"name": "pelvis", "regions": ["pelvis"]},
    "11": {"name": "femora", "regions": ["femur_left", "femur_right"]},
    "12": {"name": "lower_legs_feet", "regions": ["tibia_fibula_left", "tibia_fibula_right", "foot_left", "foot_right"]},
}


def class_values(classes: dict[str, dict] = TWELVE) -> np.ndarray:
    """Region id -> mask value (0 for a region in no class), an array to index a region map with."""
    values = np.zeros(len(REGION_IDS), dtype=np.uint8)
    for value, entry in classes.items():
        values[[REGION_IDS[region] for region in entry["regions"]]] = int(value)
    return values


def write_masks(data: Path, out: Path, classes: dict[str, dict] = TWELVE) -> list[Path]:
    """Every case view's truth region map of the data set ``data`` as a mask in ``out``, and ``classes.json``."""
    values = class_values(classes)
    written = []
    for case in load_manifest(data).cases:
        stem = Path(case.image).name.rsplit(".", 1)[0]
        for view, relative in sorted(case.regions.items()):
            path = out / f"{stem}_{view}.png"
            write_label_png(values[read_label_png(resolve(data, relative))], path)
            written.append(path)
    write_text_atomic(out / "classes.json", json.dumps(classes, indent=1) + "\n")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a phantom data set (scintiseg phantom --out)")
    parser.add_argument("--out", type=Path, required=True, help="folder of the masks and classes.json")
    args = parser.parse_args(argv)
    written = write_masks(args.data, args.out)
    print(f"wrote {len(written)} masks and {args.out / 'classes.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
