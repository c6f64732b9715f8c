"""How bright the spine is against the ribs and the skull in each view: the phantom's ANT and POST against NM1's ANT.

    OMP_NUM_THREADS=2 python benchmarks/bench_view_ratios.py [--patients 12] [--json-out X.json]

Each view is read as an anterior view of unknown side would be (the shipped region network, the view as stored), and
the median counts of its learned thoracic spine, ribs (both sides) and skull are compared: thoracic spine / ribs and
(thoracic + lumbar spine) / skull. Phantom patients of the default, randomised, shifted and low-count profiles
(``--patients`` of the first, two thirds, half and a third as many of the others; seeds as in docs/phantom.md), both
views, and the real NM1 scan (ANT). Prints the range and median per view and NM1's value (docs/phantom.md, "Still
unlike a real scan": the phantom's anterior spine is fainter than NM1's).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from scintiseg.io import read_scan
from scintiseg.phantom import generate_patient, profile
from scintiseg.predict.region_model import load_region_model, predict_region_maps
from scintiseg.predict.regions import REGION_IDS
from scintiseg.scan import Scan

ROOT = Path(__file__).resolve().parents[1]
NM1 = ROOT / ".." / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"
RATIOS = ("thoracic_spine/ribs", "spine/skull")
#: (profile, first seed, share of --patients).
COHORTS = (("default", 910000, 1.0), ("randomised", 910000, 2 / 3), ("shifted", 970000, 1 / 2), ("low-count", 930000, 1 / 3))


def view_ratios(image: np.ndarray, spacing: tuple[float, float], network) -> dict[str, float]:
    """The two ratios of one view (NaN where a region has fewer than 20 pixels)."""
    labels = predict_region_maps(network, Scan({"ANT": image.astype(np.float32)}, pixel_spacing=spacing))["ANT"]

    def median(*names: str) -> float:
        inside = np.isin(labels, [REGION_IDS[name] for name in names])
        return float(np.median(image[inside])) if inside.sum() >= 20 else float("nan")

    thoracic, lumbar = median("thoracic_spine"), median("lumbar_spine")
    return {"thoracic_spine/ribs": thoracic / median("ribs_left", "ribs_right"),
            "spine/skull": (thoracic + lumbar) / median("skull")}


def measure(patients: int, nm1: Path | None = NM1) -> dict:
    """Every view's ratios (``phantom``: a list of ``{profile, seed, view, ratios}``) and NM1's (``nm1``)."""
    network = load_region_model()
    rows = []
    for name, first, share in COHORTS:
        for seed in range(first, first + max(1, round(patients * share))):
            scan = generate_patient(seed, profile(name)).scan
            for view in scan.view_names:
                rows.append({"profile": name, "seed": seed, "view": view,
                             "ratios": view_ratios(scan.view(view).astype(np.float64), scan.pixel_spacing, network)})
    real = None
    if nm1 is not None and nm1.is_file():
        scan = read_scan(nm1)
        real = view_ratios(scan.view("ANT").astype(np.float64), scan.pixel_spacing, network)
    return {"phantom": rows, "nm1": real}


def summary_lines(result: dict) -> list[str]:
    lines = []
    for ratio in RATIOS:
        parts = []
        for view in ("ANT", "POST"):
            values = np.array([r["ratios"][ratio] for r in result["phantom"] if r["view"] == view], dtype=float)
            values = values[np.isfinite(values)]
            if values.size:
                parts.append(f"{view} {values.min():.2f}-{values.max():.2f} (median {np.median(values):.2f}, n {values.size})")
        real = result["nm1"][ratio] if result["nm1"] else float("nan")
        lines.append(f"{ratio}: phantom " + ", ".join(parts) + f"; NM1 ANT {real:.2f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=12, help="default-profile patients (others: fewer; default 12)")
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args(argv)
    result = measure(args.patients)
    for line in summary_lines(result):
        print(line)
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
