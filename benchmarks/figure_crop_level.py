"""Figure: polygon crops predicted at their own level and at their whole view's (docs/img/crop_level.png).

    python benchmarks/make_region_crops.py --out runs/crops
    python benchmarks/make_region_crops.py --out runs/pcrops --source phantom --cases 100 --seed 930000
    python benchmarks/figure_crop_level.py --nm1 runs/crops --phantom runs/pcrops --out docs/img/crop_level.png

For each chosen crop (``--crops``, ``SET:STEM:TITLE``; SET is ``nm1`` or ``phantom``): the 8-bit JPEG with its
VOC boxes (dotted: ``difficult``), then the shipped model's outlines with the crop at its own level
(``PredictSettings(crop_level=False)``) and at the level :mod:`scintiseg.predict.crop_level` gives it, with the
gain applied and the largest probability. The defaults show three lesions found only at the whole view's level
and a lesion-free crop where the level adds a call.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from scintiseg.io import read_scan  # noqa: E402
from scintiseg.io.voc import read_voc  # noqa: E402
from scintiseg.predict.crop_level import level_inputs  # noqa: E402
from scintiseg.predict.loader import load_model  # noqa: E402
from scintiseg.predict.pipeline import PredictSettings, predict_scan  # noqa: E402
from scintiseg.prepare.intensity import normalise  # noqa: E402

CROPS = (
    "nm1:8NM1_f17_s61028_spine:NM1 spine crop",
    "nm1:8NM1_f17_s61021_skull:NM1 skull crop",
    "phantom:low-count_s930001_spine:phantom spine crop",
    "nm1:8NM1_f17_n61089_spine:NM1 spine crop, no lesion",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nm1", type=Path, required=True, help="make_region_crops.py output of NM1 (seed 61000)")
    parser.add_argument("--phantom", type=Path, required=True, help="its --source phantom output (seed 930000)")
    parser.add_argument("--crops", nargs="+", default=list(CROPS), help="SET:STEM:TITLE, SET nm1 or phantom")
    parser.add_argument("--out", type=Path, default=Path("docs/img/crop_level.png"))
    args = parser.parse_args(argv)
    model = load_model(None, engine="torch")
    folders = {"nm1": args.nm1, "phantom": args.phantom}
    fig, axes = plt.subplots(1, 3 * len(args.crops), figsize=(3.75 * len(args.crops), 4.6), squeeze=False)
    for k, item in enumerate(args.crops):
        which, stem, title = item.split(":", 2)
        folder = folders[which]
        scan = read_scan(folder / "jpeg" / f"{stem}.jpg")
        image = scan.view("VIEW").astype(np.float32)
        normalised = normalise(image, "robust", pixel_spacing=scan.pixel_spacing)
        (gain,) = level_inputs(normalised[None, None], float(scan.pixel_spacing[0]))[1]
        boxes = read_voc(folder / "voc" / f"{stem}.xml").boxes
        panels = (("image, boxes", None), ("own level", PredictSettings(crop_level=False)),
                  (f"crop level (x {gain:.2f})", PredictSettings()))
        for j, (name, settings) in enumerate(panels):
            ax = axes[0, 3 * k + j]
            ax.imshow(image, cmap="gray_r", vmax=np.percentile(image[image > 0], 99.5))
            if settings is not None:
                prediction = predict_scan(scan, model, settings)
                ax.contour(prediction.views["VIEW"].labels > 0, levels=[0.5], colors="r", linewidths=1.2)
                name += f"\nmax p {prediction.triage_score:.2f}"
            for box in boxes:
                ax.add_patch(plt.Rectangle((box.cols[0] - 0.5, box.rows[0] - 0.5), box.cols[1] - box.cols[0] + 1,
                                           box.rows[1] - box.rows[0] + 1, fill=False, ec="tab:cyan", lw=0.8,
                                           ls=":" if box.difficult else "-"))
            ax.set_title((title + "\n" if j == 0 else "\n") + name, fontsize=7)
            ax.axis("off")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
