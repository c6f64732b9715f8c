"""docs/img/wholebody_regions.png: the learned skeleton-region map on the real NM1 scan and on a held-out
domain-randomised phantom patient (its truth beside), so a reader can check the bones it names.

    OMP_NUM_THREADS=2 python benchmarks/figure_regions.py --out docs/img/wholebody_regions.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from scintiseg.io import read_scan  # noqa: E402
from scintiseg.phantom import generate_patient, profile  # noqa: E402
from scintiseg.predict.region_model import load_region_model, predict_region_labels  # noqa: E402

NM1 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/img/wholebody_regions.png")
    parser.add_argument("--seed", type=int, default=910_003, help="held-out phantom patient (randomised profile)")
    parser.add_argument("--nm1", default=str(NM1))
    args = parser.parse_args(argv)
    network = load_region_model()
    names = network.classes
    palette = np.vstack([plt.get_cmap("tab20").colors, plt.get_cmap("Dark2").colors])[: len(names) - 1]
    cmap = ListedColormap(palette)
    nm1 = read_scan(args.nm1)
    patient = generate_patient(args.seed, profile("randomised"))
    panels = [(f"NM1 {v} (real): learned map", nm1.view(v), predict_region_labels(network, nm1.view(v), v, nm1.pixel_spacing))
              for v in nm1.view_names]
    for view in patient.scan.view_names:
        image = patient.scan.view(view)
        panels.append((f"phantom {view}: learned", image, predict_region_labels(network, image, view, patient.scan.pixel_spacing)))
        panels.append((f"phantom {view}: truth", image, patient.regions[view]))
    fig, axes = plt.subplots(1, len(panels), figsize=(2.3 * len(panels) + 2.6, 8.2))
    for ax, (title, image, labels) in zip(axes, panels):
        rows = np.flatnonzero((labels > 0).any(axis=1))
        crop = slice(max(rows[0] - 10, 0), rows[-1] + 10) if rows.size else slice(None)
        ax.imshow(image[crop], cmap="gray_r", vmax=np.percentile(image, 99.5), interpolation="nearest")
        shown = np.ma.masked_equal(labels[crop], 0)
        ax.imshow(shown - 1, cmap=cmap, vmin=-0.5, vmax=len(names) - 1.5, alpha=0.55, interpolation="nearest")
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    handles = [Patch(color=palette[i - 1], label=names[i].replace("_", " ")) for i in range(1, len(names))]
    fig.legend(handles=handles, loc="center right", fontsize=7, frameon=False)
    fig.text(0.01, 0.01, "ANT: the patient's right on the image left; POST as acquired: the patient's left on the image left.",
             fontsize=7)
    fig.tight_layout(rect=(0, 0.02, 0.86, 1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
