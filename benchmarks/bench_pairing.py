"""ANT-POST lesion pairing on phantom patients (docs/predict.md, "ANT-POST pairing").

Each patient's true visible-lesion masks are the probability map (0.9 inside), so outlines are exact and each
outline's true lesion is known from the phantom's instance maps (shared ids across views). A pair in the truth:
an ANT and a POST outline whose majority true lesion is the same; a found pair is right when its two outlines
hold a true lesion in common. Optional ROWS COLS move POST (as acquired) to test the alignment.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_pairing.py PROFILE FIRST_SEED END_SEED [ROWS COLS]
"""

from __future__ import annotations

import sys

import numpy as np

from scintiseg.phantom import generate_patient
from scintiseg.phantom.config import profile
from scintiseg.predict.pipeline import PredictSettings, predict_from_probabilities
from scintiseg.prepare.views import shift_image


def main(argv: list[str]) -> None:
    name, first, end = argv[0], int(argv[1]), int(argv[2])
    move = (int(argv[3]), int(argv[4])) if len(argv) > 4 else (0, 0)
    totals = dict(ant=0, post=0, truth=0, found=0, right=0)
    for seed in range(first, end):
        patient = generate_patient(seed, profile(name))
        scan = patient.scan.with_views({"ANT": patient.scan.view("ANT"), "POST": shift_image(patient.scan.view("POST"), move)})
        masks = {"ANT": patient.masks["ANT"], "POST": shift_image(patient.masks["POST"], move)}
        instances = {"ANT": patient.instances["ANT"], "POST": shift_image(patient.instances["POST"], move)}
        prediction = predict_from_probabilities(scan, {v: m.astype(np.float32) * 0.9 for v, m in masks.items()},
                                                settings=PredictSettings(0.5, 4))
        held: dict[int, set[int]] = {}
        majority: dict[int, tuple[str, int]] = {}
        for view, result in prediction.views.items():
            for k, lesion in enumerate(result.lesions, start=1):
                ids = instances[view][result.labels == k]
                ids = ids[ids > 0]
                held[lesion.id] = set(np.unique(ids).tolist())
                majority[lesion.id] = (view, int(np.bincount(ids).argmax()) if ids.size else -1)
        ant = {true: i for i, (view, true) in majority.items() if view == "ANT" and true > 0}
        post = {true: i for i, (view, true) in majority.items() if view == "POST" and true > 0}
        found = {(pair.ant_id, pair.post_id) for pair in prediction.pairs}
        totals["ant"] += len(prediction.views["ANT"].lesions)
        totals["post"] += len(prediction.views["POST"].lesions)
        totals["truth"] += sum(true in post for true in ant)
        totals["found"] += len(found)
        totals["right"] += sum(bool(held[a] & held[p]) for a, p in found)
        print(seed, "shift", prediction.pairing_shift, "pairs", len(found), flush=True)
    print(name, "moved", move, totals, "wrong", totals["found"] - totals["right"])


if __name__ == "__main__":
    main(sys.argv[1:])
