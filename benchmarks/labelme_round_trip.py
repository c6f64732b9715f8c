"""Round trip mask -> LabelMe polygons -> mask on random hole-free blobs, per simplification tolerance.

Usage: python benchmarks/labelme_round_trip.py [--blobs 1500] [--seed 1]
Prints, per tolerance: blobs tested (20+ pixels), worst IoU, mean vertices per polygon. Recorded in docs/io.md.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import ndimage

from scintiseg.scan import Annotation


def random_blobs(count: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        size = int(rng.integers(12, 48))
        field = rng.random((size, size)) < rng.uniform(0.3, 0.7)
        mask = ndimage.binary_fill_holes(ndimage.gaussian_filter(field.astype(float), rng.uniform(0.6, 3)) > 0.5)
        labels, k = ndimage.label(mask, np.ones((3, 3)))
        if k == 0:
            continue
        sizes = ndimage.sum(mask, labels, range(1, k + 1))
        blob = labels == (int(np.argmax(sizes)) + 1)
        if blob.sum() >= 20:
            yield blob


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blobs", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    blobs = list(random_blobs(args.blobs, args.seed))
    print("tolerance  blobs  worst_iou  mean_vertices")
    for tolerance in (0.0, 0.1, 0.25, 0.3, 0.5):
        worst, vertices = 1.0, 0
        for blob in blobs:
            annotation = Annotation.from_mask(blob, tolerance=tolerance)
            back = annotation.to_mask()
            worst = min(worst, (blob & back).sum() / (blob | back).sum())
            vertices += sum(len(s.points) for s in annotation.shapes)
        print(f"{tolerance:9.2f}  {len(blobs):5d}  {worst:9.3f}  {vertices / len(blobs):13.1f}")


if __name__ == "__main__":
    main()
