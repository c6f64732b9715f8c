"""A second look at every predicted lesion: does a small network on the candidates remove the false positives and
keep the lesions, on the phantom and on NM1? (issue 15; measured, not shipped)

Two-stage detection (a sensitive candidate generator, then a false-positive-reduction classifier that sees each
candidate with its context) is the usual answer in computer-aided detection when the first stage's false positives
are as confident as its hits (``bench_candidates.py``: peak, area and symmetry rules do not separate them). Here:

1. **Candidates**: the lesion model's predicted lesions (the pipeline's labels) on ``--train-patients`` patients of
   the training profile (``randomised``, seeds from 700000: none of the held-out seeds below).
2. **What the stage sees** (:func:`candidate_patches`): per candidate, four :data:`PATCH_PX`-pixel patches centred on
   its centroid, sampled in millimetres so that any matrix gives the same patch (:data:`CROP_MM`): the counts over
   the view's normal-bone reference (``ViewPrediction.reference_counts``) in a 72 mm and a 216 mm field (the lesion
   and its bone), the lesion probability (72 mm), and the counts of its mirror image about the body's midline
   (72 mm, flipped back: the other side of the same bone). Counts go in as ``log1p`` of the ratio (capped at 50).
3. **Truth** (:func:`candidate_labels`): a lesion when it touches a labelled (visible) lesion, a false positive when
   it touches no lesion at all; a candidate on a lesion too faint to be labelled is left out of training.
4. **The stage** (:class:`StageNet`): three double-convolution blocks (24-48-96 channels, BatchNorm, max pooling),
   global average pooling, dropout 0.3, one logit; AdamW (lr 1e-3, weight decay 1e-3, cosine), BCE weighted to
   the class balance, batch 64, left-right flips and a +-10 % scale jitter of each patch (all channels); scored as
   the mean of the patch and its mirror. All [choice]: small, because a few thousand candidates are what a CPU run
   makes.
5. **Held out**: the phantom's 100 default patients of docs/predict.md (seeds 910000+) and the 60 NM1 hybrids of
   ``bench_wholebody.py --source nm1`` (seeds 60000+, 50 % of NM1's counts). For each cut on the stage's score
   (:data:`CUTS`; 0 = no stage) the script removes the candidates below it (:func:`filter_labels`) and reports the
   BSI against the phantom's truth (Pearson r, MAE; :func:`bench_wholebody.truth_bsi`), the labelled lesion-views
   found, the false positives per view (touching no lesion), and on NM1 the false positives per view and the
   sensitivity to its visible lesions.

``--stage-seeds 0,1,2`` trains one stage per seed on the same candidates (a minute or two each) and evaluates each:
how much the stage depends on its initialisation and batch order.

Usage (about 20 minutes on 2 cores, most of it the lesion model on 560 patients and 60 hybrids)::

    OMP_NUM_THREADS=2 python benchmarks/bench_stage.py --model M --stage-seeds 0,1,2 --json-out X.json

Results: docs/robustness.md ("A second look at each candidate").
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from torch import nn

from scintiseg.io import read_scan
from scintiseg.phantom import generate_patient, profile
from scintiseg.phantom.hybrid import make_hybrid_case, prepare_source
from scintiseg.predict.bsi import bone_scan_index
from scintiseg.predict.loader import load_model
from scintiseg.predict.pipeline import PredictSettings, predict_scan

sys.path.insert(0, str(Path(__file__).resolve().parent))  # sibling scripts import by name (as when run)

#: The real scan of the NM1 hybrids (as bench_wholebody.py).
NM1 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"
#: Patch side in pixels, and the fields (mm) of the near and the context patches.
PATCH_PX = 32
CROP_MM: tuple[float, float] = (72.0, 216.0)
#: Largest counts-to-normal-bone ratio fed to the stage (before log1p).
MAX_RATIO = 50.0
#: Cuts on the stage's score; 0 keeps every candidate (the lesion model alone).
CUTS: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.5)
#: Smoothing of the counts (px) before the body's midline is found (as bench_candidates.py).
MIDLINE_SIGMA_PX = 3.0


def antialiased(image: np.ndarray, spacing: tuple[float, float], size_mm: float) -> np.ndarray:
    """``image`` smoothed for patches of ``size_mm`` when they are coarser than its pixels (no aliasing), else as is."""
    step_px = size_mm / PATCH_PX / min(spacing)
    return ndimage.gaussian_filter(image, step_px / 2.0) if step_px > 1.2 else image


def sample_patch(image: np.ndarray, centre: tuple[float, float], spacing: tuple[float, float],
                 size_mm: float, smooth: bool = True) -> np.ndarray:
    """A :data:`PATCH_PX`-square patch of ``image`` covering ``size_mm`` around ``centre`` (row, col in pixels),
    bilinear, zero outside; ``smooth``: through :func:`antialiased` first (False: the caller did it once for
    many patches)."""
    half = size_mm / 2.0
    rows = np.linspace(-half, half, PATCH_PX) / spacing[0] + centre[0]
    cols = np.linspace(-half, half, PATCH_PX) / spacing[1] + centre[1]
    grid = np.meshgrid(rows, cols, indexing="ij")
    source = antialiased(image, spacing, size_mm) if smooth else image
    return ndimage.map_coordinates(source, grid, order=1, mode="constant")


def candidate_patches(counts: np.ndarray, spacing: tuple[float, float], probability: np.ndarray,
                      labels: np.ndarray, reference: float | None) -> tuple[np.ndarray, np.ndarray]:
    """The ids of the candidates in ``labels`` (0 = none) and their (n, 4, PATCH_PX, PATCH_PX) float32 patches
    (module docstring, step 2; already in the stage's input scale)."""
    counts = np.asarray(counts, dtype=float)
    body = counts[counts > 0]
    scale = reference if reference else (float(np.percentile(body, 95)) if body.size else 1.0)
    ratio = counts / max(float(scale), 1e-6)
    probability = np.nan_to_num(np.asarray(probability, dtype=float))
    smooth = ndimage.gaussian_filter(counts, MIDLINE_SIGMA_PX)
    columns = np.arange(counts.shape[1])
    ids = np.unique(labels[labels > 0])
    patches = np.zeros((len(ids), 4, PATCH_PX, PATCH_PX), dtype=np.float32)
    if not len(ids):
        return ids, patches
    near, far = CROP_MM  # each source smoothed once per view, not once per candidate
    ratio_near, ratio_far = antialiased(ratio, spacing, near), antialiased(ratio, spacing, far)
    probability_near = antialiased(probability, spacing, near)
    for k, index in enumerate(ids):
        rows, cols = np.nonzero(labels == index)
        centre = (float(rows.mean()), float(cols.mean()))
        profile_ = smooth[rows.min():rows.max() + 1].sum(axis=0)
        midline = float((profile_ * columns).sum() / max(profile_.sum(), 1e-12))
        mirror = (centre[0], 2.0 * midline - centre[1])
        patches[k] = (sample_patch(ratio_near, centre, spacing, near, smooth=False),
                      sample_patch(ratio_far, centre, spacing, far, smooth=False),
                      sample_patch(probability_near, centre, spacing, near, smooth=False),
                      sample_patch(ratio_near, mirror, spacing, near, smooth=False)[:, ::-1])
    for channel in (0, 1, 3):
        patches[:, channel] = np.log1p(np.clip(patches[:, channel], 0.0, MAX_RATIO))
    return ids, patches


def candidate_labels(labels: np.ndarray, ids: np.ndarray, visible: np.ndarray, instances: np.ndarray) -> np.ndarray:
    """Per candidate: 1 (touches a labelled lesion), 0 (touches no lesion), -1 (only an unlabelled, faint one)."""
    visible, any_lesion = np.asarray(visible, dtype=bool), np.asarray(instances) > 0
    out = np.zeros(len(ids), dtype=np.int8)
    for k, index in enumerate(ids):
        mask = labels == index
        out[k] = 1 if (mask & visible).any() else (-1 if (mask & any_lesion).any() else 0)
    return out


class StageNet(nn.Module):
    """The candidate classifier (module docstring, step 4): patches in, one logit per candidate out."""

    def __init__(self, channels: int = 4, width: int = 24) -> None:
        super().__init__()

        def block(a: int, b: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(a, b, 3, padding=1), nn.BatchNorm2d(b), nn.ReLU(),
                                 nn.Conv2d(b, b, 3, padding=1), nn.BatchNorm2d(b), nn.ReLU())

        self.features = nn.Sequential(block(channels, width), nn.MaxPool2d(2), block(width, 2 * width), nn.MaxPool2d(2),
                                      block(2 * width, 4 * width), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(4 * width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))[:, 0]


def train_stage(patches: np.ndarray, truth: np.ndarray, epochs: int = 30, seed: int = 0) -> StageNet:
    """Fit a :class:`StageNet` on the labelled candidates (``truth`` 1 or 0; -1 left out)."""
    torch.manual_seed(seed)
    keep = truth >= 0
    x_all = torch.from_numpy(np.ascontiguousarray(patches[keep]))
    y_all = torch.from_numpy(truth[keep].astype(np.float32))
    positive = float(y_all.mean())
    net = StageNet()
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, epochs)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([(1.0 - positive) / max(positive, 1e-6)]))
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(x_all), generator=generator)
        for start in range(0, len(order), 64):
            batch = order[start:start + 64]
            x = x_all[batch]
            flip = torch.rand(len(batch), generator=generator) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            x = x * (1.0 + 0.2 * (torch.rand(len(batch), 1, 1, 1, generator=generator) - 0.5))
            loss = loss_fn(net(x), y_all[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        schedule.step()
    return net.eval()


def stage_scores(net: StageNet, patches: np.ndarray) -> np.ndarray:
    """The stage's score per candidate: the mean sigmoid of the patches and their left-right mirrors."""
    if not len(patches):
        return np.zeros(0, dtype=np.float32)
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(patches))
        return ((torch.sigmoid(net(x)) + torch.sigmoid(net(x.flip(-1)))) / 2.0).numpy()


def filter_labels(labels: np.ndarray, ids: np.ndarray, scores: np.ndarray, cut: float) -> np.ndarray:
    """``labels`` without the candidates whose score is below ``cut`` (a new array)."""
    drop = ids[np.asarray(scores) < cut]
    return np.where(np.isin(labels, drop), 0, labels)


def _case_views(scan, prediction, visible: dict, instances: dict) -> list[dict]:
    """Per predicted view: what the evaluation needs (labels, ids, patches, truth, regions, coverage)."""
    out = []
    for view, result in prediction.views.items():
        ids, patches = candidate_patches(scan.view(view), tuple(scan.pixel_spacing), result.probability,
                                         result.labels, result.reference_counts)
        out.append({"view": view, "labels": result.labels, "ids": ids, "patches": patches,
                    "truth": candidate_labels(result.labels, ids, visible[view], instances[view]),
                    "regions": result.regions, "coverage": result.coverage,
                    "visible": np.asarray(visible[view], bool), "instances": np.asarray(instances[view])})
    return out


def phantom_views(model, settings, profile_name: str, seed: int, patients: int) -> Iterator[tuple[object, list[dict]]]:
    """Per patient (seeds ``seed``..), the patient and its :func:`_case_views`, one at a time."""
    config = profile(profile_name)
    for k in range(patients):
        patient = generate_patient(seed + k, config, patient_id=f"S{k}")
        prediction = predict_scan(patient.scan, model, settings)
        yield patient, _case_views(patient.scan, prediction, patient.masks, patient.instances)
        print(f"  {profile_name} {k + 1}/{patients}", file=sys.stderr)


def training_candidates(model, settings, profile_name: str, seed: int, patients: int) -> tuple[np.ndarray, np.ndarray]:
    """The patches and truth of every candidate on ``patients`` patients (the maps are not kept: memory)."""
    patches, truth = [], []
    for _, views in phantom_views(model, settings, profile_name, seed, patients):
        patches += [item["patches"] for item in views]
        truth += [item["truth"] for item in views]
    return np.concatenate(patches), np.concatenate(truth)


def _bench_wholebody():
    """``benchmarks/bench_wholebody.py`` (a sibling script): its phantom cases and lesion matching."""
    import bench_wholebody  # lazy: only the whole-body measurement needs it

    return bench_wholebody


def found_and_false(views: list[dict], kept: list[np.ndarray]) -> tuple[int, int, int]:
    """(labelled lesion-views found, labelled lesion-views, false positives) over ``views`` with labels ``kept``."""
    found = total = false = 0
    for item, labels in zip(views, kept):
        lesion_ids = np.unique(item["instances"][item["visible"]])
        for index in lesion_ids[lesion_ids > 0]:
            total += 1
            found += bool(((item["instances"] == index) & item["visible"] & (labels > 0)).any())
        for index in np.unique(labels[labels > 0]):
            false += not ((labels == index) & (item["instances"] > 0)).any()
    return found, total, false


def evaluate_phantom(net: StageNet, cases: list[tuple[object, list[dict]]]) -> dict[str, dict]:
    """Per cut: BSI r and MAE against the truth, lesion-views found, false positives per view."""
    wholebody = _bench_wholebody()
    truth = np.array([wholebody.truth_bsi(patient) for patient, _ in cases])
    scores = [[stage_scores(net, item["patches"]) for item in views] for _, views in cases]
    out = {}
    for cut in CUTS:
        predicted, found, total, false, n_views = [], 0, 0, 0, 0
        for (_, views), view_scores in zip(cases, scores):
            kept = [filter_labels(item["labels"], item["ids"], s, cut) for item, s in zip(views, view_scores)]
            predicted.append(float(np.mean([bone_scan_index(labels > 0, item["regions"], item["coverage"]).bsi_percent
                                            for item, labels in zip(views, kept)])))
            f, t, fp = found_and_false(views, kept)
            found, total, false, n_views = found + f, total + t, false + fp, n_views + len(views)
        p = np.array(predicted)
        out[str(cut)] = {"bsi_r": round(wholebody.pearson(truth, p), 3), "bsi_mae": round(float(np.abs(truth - p).mean()), 3),
                         "found": found, "labelled": total, "false_positives_per_view": round(false / max(n_views, 1), 2)}
    return out


def nm1_views(model, settings, cases: int, negatives: int, seed: int, level: float) -> list[dict]:
    source, out = prepare_source(read_scan(NM1)), []
    for k in range(cases + negatives):
        case = make_hybrid_case(source, level, seed + k, negative=k >= cases)
        prediction = predict_scan(case.scan, model, settings)
        out += _case_views(case.scan, prediction, case.masks, case.instances)
        print(f"  NM1 {k + 1}/{cases + negatives}", file=sys.stderr)
    return out


def evaluate_nm1(net: StageNet, views: list[dict]) -> dict[str, dict]:
    """Per cut: NM1 false positives per view and the share of visible lesion-views found."""
    scores = [stage_scores(net, item["patches"]) for item in views]
    out = {}
    for cut in CUTS:
        kept = [filter_labels(item["labels"], item["ids"], s, cut) for item, s in zip(views, scores)]
        found, total, false = found_and_false(views, kept)
        out[str(cut)] = {"false_positives_per_view": round(false / max(len(views), 1), 2),
                         "sensitivity": round(found / max(total, 1), 3), "found": found, "labelled": total}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="lesion model (default: the shipped one)")
    parser.add_argument("--train-patients", type=int, default=400)
    parser.add_argument("--train-profile", default="randomised")
    parser.add_argument("--train-seed", type=int, default=700_000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--stage-seeds", default="0", help="comma-separated seeds: one stage trained per seed")
    parser.add_argument("--patients", type=int, default=100, help="held-out phantom patients")
    parser.add_argument("--seed", type=int, default=910_000, help="first held-out patient seed")
    parser.add_argument("--profile", default="default", help="held-out profile")
    parser.add_argument("--nm1-cases", type=int, default=30)
    parser.add_argument("--nm1-negatives", type=int, default=30)
    parser.add_argument("--nm1-seed", type=int, default=60_000)
    parser.add_argument("--nm1-level", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, settings = load_model(args.model, engine="torch"), PredictSettings()
    patches, truth = training_candidates(model, settings, args.train_profile, args.train_seed, args.train_patients)
    print(f"training candidates: {int((truth == 1).sum())} lesions, {int((truth == 0).sum())} false positives, "
          f"{int((truth < 0).sum())} on unlabelled lesions (left out)")
    held_out = list(phantom_views(model, settings, args.profile, args.seed, args.patients))
    nm1 = None
    if NM1.is_file() and args.nm1_cases + args.nm1_negatives:
        nm1 = nm1_views(model, settings, args.nm1_cases, args.nm1_negatives, args.nm1_seed, args.nm1_level)
    result = {"model": args.model, "train": {"patients": args.train_patients, "profile": args.train_profile,
                                             "seed": args.train_seed, "lesions": int((truth == 1).sum()),
                                             "false_positives": int((truth == 0).sum()), "epochs": args.epochs},
              "stages": {}}
    for stage_seed in [int(text) for text in args.stage_seeds.split(",")]:
        net = train_stage(patches, truth, epochs=args.epochs, seed=stage_seed)
        stage = result["stages"][str(stage_seed)] = {"phantom": evaluate_phantom(net, held_out)}
        if nm1 is not None:
            stage["nm1"] = evaluate_nm1(net, nm1)
        for cut in CUTS:
            row = stage["phantom"][str(cut)]
            line = (f"stage seed {stage_seed}, cut {cut}: phantom BSI r {row['bsi_r']}, MAE {row['bsi_mae']}, "
                    f"found {row['found']}/{row['labelled']}, {row['false_positives_per_view']} FP/view")
            if nm1 is not None:
                row = stage["nm1"][str(cut)]
                line += (f"; NM1 {row['false_positives_per_view']} FP/view, sensitivity {row['sensitivity']} "
                         f"({row['found']}/{row['labelled']})")
            print(line, flush=True)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
