"""Whole-body prediction measured against the phantom's truth (issue 15): regions, BSI, triage, hard negatives.

For held-out phantom patients (seeds from ``--seed``, never used in training: the shipped models train on
on-the-fly patients seeded by ``SeedSequence([run seed, index])``), the shipped lesion model and the learned
region network (or ``--regions atlas``) predict every view, and the script reports:

* **region Dice** per region and view: the predicted region map against the phantom's region map (pooled
  over patients), and its mean over the regions;
* **BSI**: the predicted BSI (mean over views) against the *truth BSI*, the same formula
  (:func:`scintiseg.predict.bsi.bone_scan_index`) applied to the truth: the labelled (visible) lesion masks
  over the phantom's region map, bone = its bone pixels, mean over views. Choice: planar, area-based, like
  the prediction and like EXINI's planar aBSI; lesions no view shows are left out (no reader could draw
  them). Pearson r and the mean absolute error in BSI points with 95 % bootstrap intervals over patients, and a
  scatter plot (``--figure``). Also against *reader-level* truths, the same formula over only the visible
  lesions that stand out of their surroundings on the planar view by an apparent contrast of at least 1.3, 1.5
  or 2 (:data:`READER_CONTRASTS`; ``bench_misses.apparent_contrast``: mean counts over the median of a ring 3-6
  px around): the Rose rule's "visible" counts large faint lesions that carry much of the truth's area and that
  a reader would hardly draw (docs/robustness.md, "Where the shipped model misses"); and, for each, the
  *detectability ceiling* (:func:`detectability_ceiling`): r and MAE against the full truth of a detector that
  finds exactly those lesions with their true outlines. The same again with each lesion's contrast read against its
  own bone (:func:`bone_contrast`; ``reader_truth_bone`` and ``sensitivity.by_bone_contrast`` in the JSON): the
  ring of the apparent contrast lies half on soft tissue beside a narrow hot bone, so a lesion filling the sternum
  or a humeral head gets the bone's contrast, not its own. Also the BSI with the views combined per bone by their
  maximum instead of the mean (:func:`bsi_over_views`), against the truth combined both ways; and the BSI
  *step by step* from the truth to the prediction (:func:`bsi_steps`: the found lesions with their true
  outlines, then with their predicted outlines, then with the false positives), which says whether missed
  lesions, outlines or false positives cost the r; and against the *3-D mass truth* (session 63,
  ``bsi.truth_mass`` in the JSON): physics.md's definition, each region's bone volume inside the lesions visible
  in at least one view over its bone volume, times its Spiers share, from the generator's 3-D occupancies
  (``meta["bsi_mass_percent"]``, :func:`scintiseg.phantom.patient.mass_bsi`), with how the planar truths relate to
  it (:func:`truth_relation`: r, mean ratio planar / mass);
* **lesions found per region**: the share of labelled lesions (per view) with a predicted lesion pixel on
  them, per truth region, of all and of those of apparent contrast >= 2 (:data:`CONSPICUOUS`, lesions any
  reader calls): a blind spot at one site (the sternum, a humeral head) shows here, not in the BSI's r; and
  per apparent-contrast bin (:data:`CONTRAST_BINS`);
* **triage**: ROC AUC of the scan's triage score (max lesion probability over its views) between scans with
  and without a visible lesion;
* **marks**: each call by truth and by what the reader is told it lies beside (``beside``: the bladder,
  :mod:`scintiseg.predict.bladder`; a forearm or hand, :mod:`scintiseg.predict.distal_arm`; JSON ``marks``);
* **hard negatives**: every predicted lesion that touches no true lesion (visible or not) is a false
  positive, named by what lies under it: a look-alike of the phantom within 20 mm (injection site,
  degenerative joint, fracture, ...; its ``kind``), else soft tissue (region map 0: bladder, kidneys, gut),
  else bone; per region of the truth map too.

    OMP_NUM_THREADS=2 python benchmarks/bench_wholebody.py --patients 40 --profile default --json-out X.json

**NM1 real-background mode** (``--source nm1``): the same whole-body prediction on hybrid images of the
real NEMA NM1 ANT view (:mod:`scintiseg.phantom.hybrid`, the generator of ``bench_hybrid.py``):
``--nm1-cases`` cases with 1-3 lesions placed anywhere on NM1's estimated skeleton and ``--nm1-negatives``
lesion-free copies, seeds ``--nm1-seed + k``, at ``--nm1-level`` of NM1's counts (default 0.5: the phantom
training median, and distinct noise in each negative; at 1.0 thinning is the identity). The inserted
lesions are the truth: a **false positive** is a predicted lesion touching no inserted lesion (visible or
not, as on the phantom). NM1 has **no region truth**, so each false positive is attributed to the region
the *learned region map* gives under it (its majority label; ``other`` = off the map), and to what the
hybrid generator knows of NM1: on one of NM1's own hot spots (``prepare_source``'s focal uptake: bladder,
manubrium, shoulders, a lumbar focus, a hand, a knee) or not. Recurring false positives (NM1's anatomy is
the same in every case) are grouped into numbered sites (connected components of the union of the false
positives), each with the share of views that hit it; ``--figure-nm1`` draws them on NM1 with the learned
region map beside, so a reader can name the real structure under each. Also: the sensitivity for visible
lesions (a predicted lesion pixel on the lesion's extent) and the triage ROC AUC (cases with a visible
lesion against negatives).

    OMP_NUM_THREADS=1 python benchmarks/bench_wholebody.py --source nm1 --nm1-cases 30 --nm1-negatives 30 \
        --threads 1 --json-out X.json --figure-nm1 docs/img/nm1_false_positives.png

``--nm1-by-site`` (session 71) places the lesions where metastases go instead: each region of the learned map its
share (``prepare_source(regions=...)``, :func:`scintiseg.phantom.sites.region_shares`: spine, pelvis and ribs most),
NM1's own hot spots still kept free (NM1 is not known to be normal). Placed uniformly, a lesion's bone is chosen by
its projected area.

``--flip-tta`` (either mode) runs the lesion network on every batch and on its left-right mirror and averages the
two logit maps (:class:`FlipEngine`; test-time augmentation as nnU-Net's mirroring), to measure what it would
change; the pipeline does not do it (docs/robustness.md, "A second look at each candidate").

``--coarse-pass SCALE`` (either mode) runs the lesion network a second time on each scan resampled to ``SCALE`` times
the model's pixel size and keeps, per pixel, the larger of the two probabilities (:func:`with_coarse_pass`;
multi-scale test-time inference), to measure whether a large faint lesion, smaller on the coarser grid, is found
there; the pipeline does not do it (docs/robustness.md, "A coarser second pass").

``--counts LOW HIGH`` (phantom mode) draws each scan's total counts per view from ``[LOW, HIGH]`` instead of the
profile's range, the same patients otherwise: whether a miss is the noise's or the model's (docs/predict.md,
"What the aim asks of the lesion model").

``--no-spine-pattern`` (either mode) keeps the calls on the spine that the pipeline leaves out as the normal
segmental pattern (:mod:`scintiseg.predict.spine_pattern`), as the pipeline did before session 29;
``--spine-pattern-ratio R`` sets its cut (1.3 since session 39, with the level
from the map's pieces; 1.2 sessions 33-38, 1.1 sessions 29-32). ``--no-symmetry``
(either mode) keeps the calls in a paired bone that the pipeline leaves out because their mirror image matches them
(:mod:`scintiseg.predict.symmetry`), as the pipeline did before session 30. ``--no-bladder-rule`` (either mode) keeps
the calls that cover much of the bladder's hot spot (:func:`scintiseg.predict.bladder.bladder_calls`), as the pipeline
did before session 35. ``--no-off-skeleton-rule`` (either mode) keeps the calls lying off the skeleton, in the soft
tissue (:mod:`scintiseg.predict.off_skeleton`), and ``--no-distal-arm-rule`` the calls at an elbow, forearm or hand on
an arm's bone, marked (:mod:`scintiseg.predict.distal_arm`), as the pipeline did before session 37.

``--disc-fraction LOW HIGH`` (phantom mode) draws each patient's disc gaps (``AnatomyConfig.disc_fraction``) from
``[LOW, HIGH]``, the same patients otherwise: whether a column of vertebral bodies standing apart is called
(docs/robustness.md, "An independently built phantom").
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage, stats

from scintiseg.display import display_window
from scintiseg.io import read_scan
from scintiseg.metrics import class_dice, class_overlap
from scintiseg.phantom import generate_patient
from scintiseg.phantom.config import profile_with
from scintiseg.phantom.hybrid import make_hybrid_case, prepare_source
from scintiseg.phantom.patient import image_point
from scintiseg.phantom.regions import REGION_CLASSES
from scintiseg.predict.bsi import BONE_GROUPS, NEARER_VIEW, bone_scan_index, scan_bone_index
from scintiseg.predict.loader import load_models
from scintiseg.predict import pipeline as pipeline_module
from scintiseg.predict.pipeline import PredictSettings, predict_scan, region_labeller
from scintiseg.predict.regions import SkeletonRegions
from scintiseg.predict.spine_pattern import PATTERN_RATIO

sys.path.insert(0, str(Path(__file__).resolve().parent))  # sibling scripts import by name (as when run)

#: A false positive within this distance (mm) of a look-alike's centre is that look-alike.
LOOKALIKE_MM = 20.0
#: The real scan of the NM1 mode.
NM1 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"
NM1_VIEW = "ANT"


#: Apparent contrasts of the reader-level truths (module docstring).
READER_CONTRASTS: tuple[float, ...] = (1.3, 1.5, 2.0)
#: Apparent contrast of a lesion any reader would call (the per-region sensitivity's second column).
CONSPICUOUS: float = 2.0


def _bench_misses():
    """``benchmarks/bench_misses.py`` (a sibling script): the misses' apparent contrast and bins."""
    import bench_misses  # lazy: only --misses and the per-region sensitivity need it

    return bench_misses


class FlipEngine:
    """An inference engine that averages ``engine``'s logits on a batch and on its left-right mirror (mirrored back).

    The lesion network is not mirror-symmetric, so the two passes differ; their mean is the usual flip TTA.
    """

    def __init__(self, engine) -> None:
        self.engine, self.name = engine, engine.name

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        mirrored = self.engine(np.ascontiguousarray(batch[..., ::-1]))[..., ::-1]
        return (self.engine(batch) + mirrored) / 2.0


def with_coarse_pass(probabilities, scale: float):
    """``probabilities`` (:func:`scintiseg.predict.pipeline.model_probabilities`'s signature) run twice, at the
    model's pixel size and at ``scale`` times it, and the per-pixel maximum of the two maps kept (both come back on
    the scan's grid); the coverage and QC flags are the first pass's. A model that records no pixel size runs once."""

    def both(scan, model, settings):
        fine, coverage, flags = probabilities(scan, model, settings)
        if model.pixel_mm is None:
            return fine, coverage, flags
        coarse, _, _ = probabilities(scan, replace(model, pixel_mm=model.pixel_mm * scale), settings)
        return {view: np.maximum(fine[view], coarse[view]) for view in fine}, coverage, flags

    return both


def truth_regions_index(patient, view: str, mask: np.ndarray):
    """The :class:`~scintiseg.predict.bsi.BoneIndex` of ``mask`` on ``view`` over the phantom's *truth* region map
    (so that what it measures is the lesion mask alone, not the learned region map)."""
    labels = patient.regions[view].astype(np.int16)
    regions = SkeletonRegions(view, labels, labels > 0, labels > 0, 0, labels.shape[0] - 1, labels.shape[1] / 2)
    return bone_scan_index(np.asarray(mask, dtype=bool), regions)


#: Rings (px; inner, outer dilation) in which :func:`bone_contrast` reads a lesion's bone, nearest first.
BONE_RINGS_PX: tuple[tuple[int, int], ...] = ((3, 6), (6, 12), (12, 24))
#: Fewest bone pixels a ring must hold for :func:`bone_contrast` to read the bone's level in it.
MIN_BONE_RING_PX = 10


def bone_contrast(counts: np.ndarray, extent: np.ndarray, region_map: np.ndarray, lesions: np.ndarray) -> float:
    """A lesion's contrast against its own bone: the mean smoothed counts of ``extent`` over the median of the
    lesion-free pixels of the same truth region (else of any bone) in the nearest ring of :data:`BONE_RINGS_PX`
    that holds :data:`MIN_BONE_RING_PX` of them; NaN when none does.

    ``apparent_contrast`` (bench_misses) reads a ring of whatever lies around the lesion, so a lesion that fills a
    narrow hot bone (the sternum, a humeral head, a rib) is measured against the soft tissue beside the bone: its
    ratio is the bone's contrast, not the lesion's (docs/predict.md, "What the aim asks of the lesion model").
    This is what a reader compares: the spot against the same bone next to it (a vertebra against its neighbours).
    """
    smooth = ndimage.gaussian_filter(np.asarray(counts, dtype=np.float64), 1.0)
    region = int(np.bincount(region_map[extent].astype(np.int64).ravel()).argmax())
    normal = (region_map > 0) & ~lesions
    for same in (normal & (region_map == region), normal) if region > 0 else (normal,):
        for inner_px, outer_px in BONE_RINGS_PX:
            ring = (ndimage.binary_dilation(extent, iterations=outer_px)
                    & ~ndimage.binary_dilation(extent, iterations=inner_px) & same)
            if ring.sum() >= MIN_BONE_RING_PX:
                return float(smooth[extent].mean() / max(float(np.median(smooth[ring])), 1e-6))
    return float("nan")


def lesion_contrast(patient, view: str, extent: np.ndarray, measure: str = "ring") -> float:
    """``extent``'s contrast on ``view``: ``ring`` (bench_misses.apparent_contrast) or ``bone`` (:func:`bone_contrast`)."""
    counts = patient.scan.view(view)
    if measure == "bone":
        return bone_contrast(counts, extent, patient.regions[view], patient.instances[view] > 0)
    return _bench_misses().apparent_contrast(counts, extent)


def truth_index(patient, min_contrast: float | None = None, measure: str = "ring") -> dict:
    """Per view, the :class:`~scintiseg.predict.bsi.BoneIndex` of the phantom's labelled lesions (module
    docstring); with ``min_contrast``, of those whose contrast on the view (``measure``: :func:`lesion_contrast`)
    reaches it (a reader-level truth)."""
    out = {}
    for view in patient.scan.view_names:
        mask = np.asarray(patient.masks[view], dtype=bool)
        if min_contrast is not None:
            instances = patient.instances[view]
            kept = np.zeros_like(mask)
            for index in np.unique(instances[mask]):
                extent = (instances == index) & mask
                if index > 0 and lesion_contrast(patient, view, extent, measure) >= min_contrast:
                    kept |= extent
            mask = kept
        out[view] = truth_regions_index(patient, view, mask)
    return out


#: The steps of :func:`bsi_steps`, from the truth to the pipeline's own BSI.
BSI_STEPS: tuple[str, ...] = ("found_true_outlines", "found_predicted_outlines", "all_predicted")


def bsi_steps(patient, predicted: dict[str, np.ndarray]) -> dict[str, float]:
    """Where the BSI's error comes from, one step at a time from the truth (``predicted``: the lesion labels per
    view, 0 = none). Each is the BSI formula over the truth region map, mean over the views:

    - ``found_true_outlines``: the labelled lesions a predicted lesion touches, with their *true* outlines (what is
      lost against the truth is the missed lesions);
    - ``found_predicted_outlines``: the predicted lesions that touch a labelled lesion, with their *predicted*
      outlines (what changes from the step before is the outlines);
    - ``all_predicted``: every predicted lesion, false positives included (what changes is the false positives;
      from here to the pipeline's BSI only the region map differs)."""
    steps: dict[str, list[float]] = {name: [] for name in BSI_STEPS}
    for view in patient.scan.view_names:
        labels = np.asarray(predicted[view])
        truth = np.asarray(patient.masks[view], dtype=bool)
        instances = np.where(truth, patient.instances[view], 0)
        touched = np.unique(instances[(labels > 0) & truth])
        found = np.isin(instances, touched[touched > 0])
        hits = np.unique(labels[truth & (labels > 0)])
        masks = {"found_true_outlines": found, "found_predicted_outlines": np.isin(labels, hits[hits > 0]),
                 "all_predicted": labels > 0}
        for name, mask in masks.items():
            steps[name].append(truth_regions_index(patient, view, mask).bsi_percent)
    return {name: float(np.mean(values)) for name, values in steps.items()}


def involved_fractions(bones: dict[str, dict]) -> dict[str, float]:
    """Bone group -> involved fraction, from a BSI's ``bones`` table (a BoneIndex's or a ViewPrediction's)."""
    return {bone: row["involved_fraction"] for bone, row in bones.items()}


#: Ways to combine the two views' involved fractions per bone that :func:`bsi_over_views` knows, printed side by
#: side (``bsi.views_combined`` in the JSON; docs/predict.md "Which view reads each bone").
VIEW_COMBINATIONS: tuple[str, ...] = ("mean", "max", "ANT", "POST", "nearer")


def bsi_over_views(per_view: dict[str, dict[str, float]], combine: str = "mean") -> float:
    """The BSI from per-view involved fractions per bone group: the Spiers-weighted sum over bones of their
    ``mean`` over the views (the pipeline's BSI before session 22), their ``max`` (a bone involved on either view
    counts as involved: a lesion only one view shows is not halved), one view's alone (``"ANT"``, ``"POST"``), or
    ``nearer``: the view nearer to the bone where :data:`~scintiseg.predict.bsi.NEARER_VIEW` names one, else the
    mean (the pipeline's BSI since session 22, up to the rounding of its bone tables and a bone the nearer view did
    not see, which the pipeline then reads as the mean)."""
    total = 0.0
    for bone, (weight, _) in BONE_GROUPS.items():
        values = {view: fractions.get(bone, 0.0) for view, fractions in per_view.items()}
        if combine in ("ANT", "POST"):
            value = values.get(combine, 0.0)
        elif combine == "nearer" and NEARER_VIEW.get(bone) in values:
            value = values[NEARER_VIEW[bone]]
        else:
            value = float({"mean": np.mean, "nearer": np.mean, "max": np.max}[combine](list(values.values())))
        total += weight * value
    return total


def truth_bsi(patient, min_contrast: float | None = None, measure: str = "ring") -> float:
    """The phantom's truth BSI (module docstring): mean over views of the BSI of the labelled lesions; with
    ``min_contrast``, of those whose contrast on the view (``measure``) reaches it (a reader-level truth)."""
    return float(np.mean([index.bsi_percent for index in truth_index(patient, min_contrast, measure).values()]))


def detectability_ceiling(found: np.ndarray, truth: np.ndarray) -> dict:
    """What a detector that finds exactly the lesions of one reader-level truth, with their true outlines, scores
    against the full truth: Pearson r and MAE of ``found`` (per-patient BSI of those lesions) against ``truth``.

    No model can use it (it reads the truth); it says how far the BSI aim (r >= 0.95, MAE <= 0.3) is reachable
    by a model blind to lesions fainter than that level, however well it finds and outlines the rest."""
    found, truth = np.asarray(found, float), np.asarray(truth, float)
    return {"pearson_r": pearson(truth, found), "mae": float(np.abs(truth - found).mean())}


def lesion_detections(patient, view: str, predicted: np.ndarray, measure: str = "ring") -> list[tuple[str, float, bool]]:
    """(truth region, contrast, found) of every labelled lesion of ``view``: found when a predicted lesion pixel
    lies on its labelled extent; its region is the truth map's majority under that extent; its contrast by
    ``measure`` (:func:`lesion_contrast`: ``ring``, the apparent contrast, or ``bone``)."""
    instances = patient.instances[view]
    mask, region_map = np.asarray(patient.masks[view], dtype=bool), patient.regions[view]
    out = []
    for index in np.unique(instances[mask]):
        if index <= 0:
            continue
        extent = (instances == index) & mask
        region = REGION_CLASSES[int(np.bincount(region_map[extent].astype(np.int64).ravel()).argmax())]
        out.append((region, lesion_contrast(patient, view, extent, measure), bool((predicted & extent).any())))
    return out


def sensitivity_by_region(records: list[tuple[str, float, bool]], min_contrast: float = 0.0) -> dict[str, dict]:
    """Per truth region: lesions (of apparent contrast >= ``min_contrast``), found, and the share found."""
    table: dict[str, list[int]] = {}
    for region, contrast, found in records:
        if contrast >= min_contrast:
            row = table.setdefault(region, [0, 0])
            row[0] += 1
            row[1] += int(found)
    return {region: {"lesions": n, "found": k, "sensitivity": round(k / n, 3)}
            for region, (n, k) in sorted(table.items(), key=lambda item: -item[1][0])}


#: Apparent-contrast bins of the sensitivity by contrast (lower edges; the last bin is open).
CONTRAST_BINS: tuple[float, ...] = (0.0, 1.3, 1.5, 2.0, 3.0)


def sensitivity_by_contrast(records: list[tuple[str, float, bool]]) -> dict[str, dict]:
    """Per contrast bin (:data:`CONTRAST_BINS`): lesions, found, and the share found (empty bins left out); a
    lesion whose contrast could not be read (NaN: no ring to read it in) goes to a last bin, ``n/a``."""
    edges = CONTRAST_BINS
    names = [f"{a}-{b}" for a, b in zip(edges, edges[1:])] + [f">= {edges[-1]}", "n/a"]
    lesions, found = np.zeros(len(names), int), np.zeros(len(names), int)
    for _, contrast, hit in records:
        k = max(int(np.searchsorted(edges, contrast, side="right")) - 1, 0) if np.isfinite(contrast) else len(names) - 1
        lesions[k] += 1
        found[k] += int(hit)
    return {name: {"lesions": int(n), "found": int(f), "sensitivity": round(f / n, 3)}
            for name, n, f in zip(names, lesions, found) if n}


def _lookalike_pixels(patient, view: str) -> list[tuple[str, float, float]]:
    """(kind, row, col) of every look-alike on ``view``'s stored grid (POST mirrored as stored)."""
    row_mm, col_mm = patient.scan.pixel_spacing
    cols = patient.scan.shape[1]
    out = []
    for item in patient.meta.get("lookalikes", []):
        z, x = item["centre_mm"][0], item["centre_mm"][1]
        row, col = image_point(z / row_mm - 0.5, x / col_mm - 0.5, patient.meta)
        out.append((item["kind"], row, cols - 1 - col if view == "POST" else col))
    return out


def classify_false_positive(patient, view: str, lesion_mask: np.ndarray) -> tuple[str, str]:
    """(what, region) under a false-positive lesion (module docstring)."""
    rows, cols = np.nonzero(lesion_mask)
    r, c = rows.mean(), cols.mean()
    row_mm, col_mm = patient.scan.pixel_spacing
    best, best_d = None, LOOKALIKE_MM
    for kind, lr, lc in _lookalike_pixels(patient, view):
        d = float(np.hypot((lr - r) * row_mm, (lc - c) * col_mm))
        if d <= best_d:
            best, best_d = kind, d
    ids = patient.regions[view][lesion_mask]
    ids = ids[ids > 0]
    region = REGION_CLASSES[int(np.bincount(ids).argmax())] if ids.size else "other"
    if best is not None:
        return f"look-alike: {best}", region
    return ("soft tissue" if region == "other" else "bone, no lesion"), region


def left_out_truth(result, truth: np.ndarray) -> Counter:
    """(rule, whether the call touches a pixel of ``truth``) for each call the reading rules left out of a view's
    result (:class:`scintiseg.predict.rule_calls.LeftOutCall`): were the calls the rules judged normal lesions?"""
    tally: Counter = Counter()
    for call in result.left_out:
        inside = call.contour.to_mask(truth.shape)
        tally[(call.rule, bool((inside & truth).any()))] += 1
    return tally


def left_out_table(tally: Counter) -> dict[str, dict[str, int]]:
    """Rule -> {"calls", "on_true_lesion"} (JSON form of :func:`left_out_truth`'s tallies)."""
    rules = sorted({rule for rule, _ in tally})
    return {rule: {"calls": tally[(rule, True)] + tally[(rule, False)], "on_true_lesion": tally[(rule, True)]}
            for rule in rules}


def left_out_text(table: dict[str, dict[str, int]]) -> str:
    return ", ".join(f"{rule} {row['on_true_lesion']}/{row['calls']}" for rule, row in table.items()) or "none"


def _majority_region(region_labels: np.ndarray, mask: np.ndarray) -> str:
    """The region the learned map gives most of ``mask``'s pixels (``other``: off the map)."""
    return REGION_CLASSES[int(np.bincount(region_labels[mask].astype(np.int64), minlength=1).argmax())]


def _roc_auc(scores: list[float], labels: list[bool]) -> float:
    """Mann-Whitney ROC AUC of ``scores`` (ties count half); NaN without both classes."""
    labels_arr = np.asarray(labels, dtype=bool)
    if not (labels_arr.any() and (~labels_arr).any()):
        return float("nan")
    ranks = stats.rankdata(scores)
    n1, n0 = labels_arr.sum(), (~labels_arr).sum()
    return float((ranks[labels_arr].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def nm1_false_positives(model, settings, *, cases: int, negatives: int, seed: int, level: float,
                        scan_path: Path = NM1, by_site: bool = False) -> dict:
    """Whole-body prediction on NM1 hybrids: false positives by learned region, by NM1 hot spot, by site.

    Returns the result dict of the module docstring's NM1 mode, with the arrays the figure needs under
    ``"_arrays"`` (NM1's counts, the lesion-free NM1's learned region map, the false-positive frequency
    map and the site labels).
    """
    scan = read_scan(scan_path)
    labeller = region_labeller(settings) if by_site else None
    if by_site and labeller is None:
        raise SystemExit("--nm1-by-site needs the region network")
    source = prepare_source(scan, regions=labeller(scan) if labeller else None)
    hot = source.views[NM1_VIEW].hot
    frequency = np.zeros(scan.shape, dtype=np.int32)
    by_region: dict[str, Counter] = {"lesion-free": Counter(), "with lesions": Counter()}
    on_hot: dict[str, int] = {"lesion-free": 0, "with lesions": 0}
    fp_views: dict[str, list[int]] = {"lesion-free": [], "with lesions": []}
    records: list[tuple[np.ndarray, int]] = []  # (false positive's mask, index of its view)
    left_out: Counter = Counter()  # the calls the reading rules left out: (rule, on an inserted lesion | not)
    detected = visible = 0
    contrasts: list[tuple[float, bool]] = []  # (apparent contrast, found) of every visible lesion
    scores, positive, seconds = [], [], []
    for k in range(cases + negatives):
        negative = k >= cases
        group = "lesion-free" if negative else "with lesions"
        case = make_hybrid_case(source, level, seed + k, negative=negative)
        started = time.perf_counter()
        result = predict_scan(case.scan, model, settings).views[NM1_VIEW]
        seconds.append(time.perf_counter() - started)
        instances = case.instances[NM1_VIEW]
        left_out.update(left_out_truth(result, instances > 0))
        count = 0
        for index in range(1, int(result.labels.max()) + 1):
            mask = result.labels == index
            if not mask.any() or (mask & (instances > 0)).any():
                continue
            count += 1
            region = _majority_region(result.regions.labels, mask)
            by_region[group][region] += 1
            on_hot[group] += bool((mask & hot).any())
            frequency += mask
            records.append((mask, k))
        fp_views[group].append(count)
        for info in case.lesions:
            if info["visible"][NM1_VIEW]:
                visible += 1
                extent = instances == info["id"]
                found = bool((extent & result.mask).any())
                detected += found
                labelled = extent & np.asarray(case.masks[NM1_VIEW], dtype=bool)
                contrasts.append((_bench_misses().apparent_contrast(case.scan.view(NM1_VIEW), labelled), found))
        if negative or case.masks[NM1_VIEW].any():
            scores.append(result.triage_score)
            positive.append(not negative)
        print(f"  {k + 1}/{cases + negatives} ({group}): {count} false positives, {seconds[-1]:.2f} s", file=sys.stderr)

    baseline = predict_scan(scan, model, settings).views[NM1_VIEW]
    sites, n_sites = ndimage.label(frequency > 0, structure=np.ones((3, 3)))
    views = cases + negatives
    site_list = []
    for site in range(1, n_sites + 1):
        where = sites == site
        hits = len({view for mask, view in records if (mask & where).any()})  # views, not false positives
        rows, cols = np.nonzero(where)
        site_list.append({
            "site": site, "views_hit": hits, "share_of_views": round(hits / views, 3),
            "centre_rc": [int(rows.mean()), int(cols.mean())], "rows": [int(rows.min()), int(rows.max())],
            "region_learned": _majority_region(baseline.regions.labels, where),
            "on_nm1_hot_spot": bool((where & hot).any()),
            "on_lesion_free_nm1_prediction": bool((where & baseline.mask).any()),
        })
    site_list.sort(key=lambda item: -item["views_hit"])
    renumber = {item["site"]: i for i, item in enumerate(site_list, start=1)}
    site_labels = np.zeros_like(sites)
    for old, new in renumber.items():
        site_labels[sites == old] = new
    for item in site_list:
        item["site"] = renumber[item["site"]]
    total = Counter()
    for counter in by_region.values():
        total.update(counter)
    return {
        "source": str(scan_path), "view": NM1_VIEW, "level": level, "seed": seed, "by_site": by_site,
        "cases_with_lesions": cases, "lesion_free": negatives,
        "false_positives": {
            "per_view": sum(map(sum, fp_views.values())) / views,
            "per_view_lesion_free": float(np.mean(fp_views["lesion-free"])) if negatives else float("nan"),
            "per_view_with_lesions": float(np.mean(fp_views["with lesions"])) if cases else float("nan"),
            "views_with_any": sum(1 for counts in fp_views.values() for n in counts if n),
            "on_nm1_hot_spots": sum(on_hot.values()), "total": sum(total.values()),
            "by_region": dict(total.most_common()),
            "by_region_lesion_free": dict(by_region["lesion-free"].most_common()),
            "by_region_with_lesions": dict(by_region["with lesions"].most_common()),
            "sites": site_list,
        },
        "lesion_free_nm1_full_counts": [{"id": les.id, "region": les.region, "area_px": les.area_px,
                                         "probability_max": round(float(les.probability_max), 3)}
                                        for les in baseline.lesions],
        "sensitivity_visible": detected / visible if visible else float("nan"), "visible_lesions": visible,
        "sensitivity_by_contrast": sensitivity_by_contrast([("", c, found) for c, found in contrasts]),
        "left_out": left_out_table(left_out),
        "triage_auc": _roc_auc(scores, positive), "triage_images": {"with": int(sum(positive)), "without": int(len(positive) - sum(positive))},
        "seconds_per_scan_median": float(np.median(seconds)),
        "_arrays": {"counts": np.asarray(scan.view(NM1_VIEW)), "regions": baseline.regions.labels,
                    "frequency": frequency, "sites": site_labels, "views": views},
    }


def nm1_figure(result: dict, path: str | Path) -> None:
    """NM1 with its false-positive sites (numbered, shaded by how often they recur) beside the learned region map."""
    import matplotlib  # lazy: start-up time

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: start-up time
    from matplotlib.colors import ListedColormap  # lazy: start-up time

    arrays = result["_arrays"]
    counts, regions, frequency, sites = arrays["counts"], arrays["regions"], arrays["frequency"], arrays["sites"]
    body_rows = np.flatnonzero(counts.sum(axis=1) > 0.02 * counts.sum(axis=1).max())
    rows = slice(max(int(body_rows[0]) - 10, 0), min(int(body_rows[-1]) + 10, counts.shape[0]))
    vmax = display_window(counts)
    fig, axes = plt.subplots(1, 2, figsize=(7.6, 12.5))
    fig.subplots_adjust(left=0.01, right=0.99, top=0.95, bottom=0.01, wspace=0.02)
    left, right = axes
    for ax in axes:
        ax.imshow(counts[rows], cmap="gray_r", vmin=0, vmax=vmax, interpolation="nearest")
        ax.axis("off")
    share = np.ma.masked_equal(frequency[rows].astype(float) / arrays["views"], 0.0)
    shade = left.imshow(share, cmap="autumn_r", vmin=0, vmax=1, alpha=0.55, interpolation="nearest")
    if (sites[rows] > 0).any():
        left.contour(sites[rows] > 0, [0.5], colors="red", linewidths=0.6)
    palette = plt.get_cmap("tab20", 20)
    colours = ListedColormap([palette(i % 20) for i in range(len(REGION_CLASSES) - 1)])
    right.imshow(np.ma.masked_equal(regions[rows], 0), cmap=colours, vmin=1, vmax=len(REGION_CLASSES) - 1,
                 alpha=0.45, interpolation="nearest")
    for item in result["false_positives"]["sites"]:
        r, c = item["centre_rc"]
        for ax in axes:
            ax.annotate(str(item["site"]), (c, r - rows.start), xytext=(c + (14 if c < counts.shape[1] / 2 else -14),
                        r - rows.start), color="blue", fontsize=7, ha="center", va="center",
                        arrowprops={"arrowstyle": "-", "color": "blue", "lw": 0.5})
    seen = sorted({int(v) for v in np.unique(regions[rows]) if v})
    for rid in seen:  # the name at the region's largest piece (a learned map may scatter a few pixels)
        pieces, n = ndimage.label(regions[rows] == rid)
        ys, xs = np.nonzero(pieces == 1 + int(np.argmax(ndimage.sum(np.ones_like(pieces), pieces, range(1, n + 1)))))
        right.text(xs.mean(), ys.mean(), REGION_CLASSES[rid].replace("_", " "), fontsize=4.5, ha="center",
                   va="center", color="black")
    fp = result["false_positives"]
    left.set_title(f"NM1 ANT: false-positive sites over {arrays['views']} hybrid views\n"
                   f"(shade = share of views with a FP there; {fp['per_view']:.2f} FP / view)", fontsize=8)
    right.set_title("learned region map on the lesion-free NM1\n(site numbers as left)", fontsize=8)
    bar = fig.colorbar(shade, cax=left.inset_axes([0.9, 0.03, 0.03, 0.15]))
    bar.ax.tick_params(labelsize=6)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=110)
    plt.close(fig)
    # Noisy counts compress badly: 256 adaptive colours keep the region colours and outlines at half the size.
    Image.open(buffer).convert("RGB").quantize(colors=256, dither=Image.Dither.NONE).save(path, optimize=True)


def nm1_markdown(result: dict) -> str:
    """The FP-by-region table (per view) and the recurring sites, as Markdown."""
    fp = result["false_positives"]
    views, free, lesions = result["cases_with_lesions"] + result["lesion_free"], result["lesion_free"], result["cases_with_lesions"]
    lines = ["| learned region under the FP | all views | lesion-free views | views with lesions |", "|---|---|---|---|"]
    for region, n in fp["by_region"].items():
        lines.append(f"| {region} | {n / views:.3f} | {fp['by_region_lesion_free'].get(region, 0) / max(free, 1):.3f} "
                     f"| {fp['by_region_with_lesions'].get(region, 0) / max(lesions, 1):.3f} |")
    lines.append(f"| **total** | **{fp['per_view']:.2f}** | **{fp['per_view_lesion_free']:.2f}** | **{fp['per_view_with_lesions']:.2f}** |")
    lines += ["", "| site | views hit | learned region | on an NM1 hot spot | on the lesion-free NM1's own FP | centre (row, col) |",
              "|---|---|---|---|---|---|"]
    for item in fp["sites"]:
        lines.append(f"| {item['site']} | {item['views_hit']} ({item['share_of_views']:.0%}) | {item['region_learned']} "
                     f"| {'yes' if item['on_nm1_hot_spot'] else 'no'} | {'yes' if item['on_lesion_free_nm1_prediction'] else 'no'} "
                     f"| {item['centre_rc'][0]}, {item['centre_rc'][1]} |")
    return "\n".join(lines)


def pearson(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Pearson r of predicted against truth BSI; NaN when either is constant or there are under 3 patients."""
    if len(truth) < 3 or truth.std() == 0 or predicted.std() == 0:
        return float("nan")
    return float(stats.pearsonr(truth, predicted)[0])


def score_against(truth: np.ndarray, predicted: np.ndarray) -> dict:
    """Pearson r and MAE of ``predicted`` against one ``truth`` (per patient), each with its 95 % bootstrap interval
    (:func:`bsi_intervals`), the truth's mean and the truth itself (rounded)."""
    r_ci, mae_ci = bsi_intervals(truth, predicted)
    return {"pearson_r": pearson(truth, predicted), "pearson_r_ci95": r_ci, "mae": float(np.abs(truth - predicted).mean()),
            "mae_ci95": mae_ci, "truth_mean": float(truth.mean()), "truth": truth.round(4).tolist()}


def truth_relation(planar: np.ndarray, mass: np.ndarray) -> dict:
    """How a planar truth BSI relates to the 3-D mass truth over the same patients: their Pearson r, the mean over
    the patients with a mass truth above 0 of planar / mass (``mean_ratio``; ``patients`` of them), the ratio of the
    means, and the MAE between them."""
    some = mass > 0
    return {"pearson_r": pearson(mass, planar),
            "mean_ratio": float(np.mean(planar[some] / mass[some])) if some.any() else float("nan"),
            "ratio_of_means": float(planar.mean() / mass.mean()) if mass.mean() > 0 else float("nan"),
            "mae": float(np.abs(planar - mass).mean()), "patients": int(some.sum())}


def bsi_intervals(truth: np.ndarray, predicted: np.ndarray, resamples: int = 2000,
                  seed: int = 0) -> tuple[list[float], list[float]]:
    """95 % percentile-bootstrap intervals of the BSI's Pearson r and MAE, resampling patients.

    Why: r over 30 patients is dominated by the few with a large BSI; two held-out sets of 30 default-profile
    patients gave 0.806 and 0.924 with the same model (docs/predict.md), so a single r says little without
    its interval. Resamples where r is undefined (a constant side) are left out.
    """
    rng = np.random.default_rng(seed)
    rs, maes = [], []
    for _ in range(resamples):
        pick = rng.integers(0, len(truth), len(truth))
        r = pearson(truth[pick], predicted[pick])
        if not np.isnan(r):
            rs.append(r)
        maes.append(float(np.abs(truth[pick] - predicted[pick]).mean()))

    def span(values: list[float]) -> list[float]:
        if not values:
            return [float("nan"), float("nan")]
        return [round(float(np.percentile(values, 2.5)), 3), round(float(np.percentile(values, 97.5)), 3)]

    return span(rs), span(maes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=40)
    parser.add_argument("--seed", type=int, default=910_000, help="first patient seed (held out)")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--phantom-config", default=None, metavar="YAML",
                        help="phantom settings laid over --profile (as scintiseg phantom --config reads them), "
                             "e.g. scripts/phantom_lower_legs.yaml")
    parser.add_argument("--model", default=None,
                        help="lesion model (default: the shipped one); models comma-joined (A,B; 'shipped' names the "
                             "shipped one): the mean of their lesion probabilities")
    parser.add_argument("--regions", default="auto", choices=("auto", "learned", "atlas"))
    parser.add_argument("--region-model", default=None)
    parser.add_argument("--threshold", type=float, default=None,
                        help="lesion probability threshold (default: prediction's own)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json-out", default=None)
    parser.add_argument("--figure", default=None, help="PNG scatter plot of predicted vs truth BSI")
    parser.add_argument("--source", default="phantom", choices=("phantom", "nm1"),
                        help="held-out phantom patients, or hybrids on the real NM1 scan (module docstring)")
    parser.add_argument("--nm1-cases", type=int, default=30, help="NM1 hybrids with lesions")
    parser.add_argument("--nm1-negatives", type=int, default=30, help="lesion-free NM1 hybrids")
    parser.add_argument("--nm1-seed", type=int, default=60_000, help="first hybrid seed")
    parser.add_argument("--nm1-level", type=float, default=0.5, help="kept fraction of NM1's counts")
    parser.add_argument("--nm1-by-site", action="store_true",
                        help="place the lesions by metastatic site on the learned region map (default: uniformly)")
    parser.add_argument("--figure-nm1", default=None, help="PNG of NM1 with the false-positive sites")
    parser.add_argument("--flip-tta", action="store_true",
                        help="average the network's logits with those of the mirrored input (FlipEngine)")
    parser.add_argument("--coarse-pass", type=float, default=None, metavar="SCALE",
                        help="also run the network at SCALE x its pixel size and keep the larger probability")
    parser.add_argument("--no-spine-pattern", action="store_true",
                        help="keep the calls the spine-pattern rule leaves out (predict.spine_pattern)")
    parser.add_argument("--spine-pattern-ratio", type=float, default=PATTERN_RATIO,
                        help="the spine-pattern rule's cut (default %(default)s; 1.2 in sessions 33-38, 1.1 before)")
    parser.add_argument("--no-symmetry", action="store_true",
                        help="keep the calls the symmetry rule leaves out (predict.symmetry)")
    parser.add_argument("--no-bladder-rule", action="store_true",
                        help="keep the calls that cover much of the bladder's hot spot (predict.bladder.bladder_calls)")
    parser.add_argument("--no-distal-arm-rule", action="store_true",
                        help="keep (marked) the calls at an elbow, forearm or hand (predict.distal_arm)")
    parser.add_argument("--no-off-skeleton-rule", action="store_true",
                        help="keep the calls lying off the skeleton, in the soft tissue (predict.off_skeleton)")
    parser.add_argument("--disc-fraction", type=float, nargs=2, metavar=("LOW", "HIGH"), default=None,
                        help="share of each vertebral level left to its disc, drawn from [LOW, HIGH] (profile's: off)")
    parser.add_argument("--counts", type=float, nargs=2, metavar=("LOW", "HIGH"), default=None,
                        help="total counts per view drawn from [LOW, HIGH] instead of the profile's range")
    args = parser.parse_args(argv)
    original = pipeline_module.model_probabilities
    try:
        return run(args)
    finally:  # --coarse-pass wraps the pipeline module's function for this run only
        pipeline_module.model_probabilities = original


def run(args: argparse.Namespace) -> int:
    """The benchmark for :func:`main`'s parsed ``args``."""
    import torch  # lazy: start-up time: only a run needs torch, not --help or the tests' import

    torch.set_num_threads(args.threads)
    model = load_models(args.model.split(",") if args.model else [None], engine="torch")  # comma-joined: their mean
    if args.flip_tta:
        model = replace(model, engine=FlipEngine(model.engine))
    if args.coarse_pass is not None:  # predict_scan looks the function up in its module at each call
        pipeline_module.model_probabilities = with_coarse_pass(pipeline_module.model_probabilities, args.coarse_pass)
    settings = PredictSettings(regions=args.regions, region_model=args.region_model,
                               spine_pattern=not args.no_spine_pattern, spine_pattern_ratio=args.spine_pattern_ratio,
                               symmetry=not args.no_symmetry, bladder=not args.no_bladder_rule,
                               distal_arm=not args.no_distal_arm_rule,
                               off_skeleton=not args.no_off_skeleton_rule)
    if args.threshold is not None:
        settings = replace(settings, threshold=args.threshold)
    if args.source == "nm1":
        result = nm1_false_positives(model, settings, cases=args.nm1_cases, negatives=args.nm1_negatives,
                                     seed=args.nm1_seed, level=args.nm1_level, by_site=args.nm1_by_site)
        fp = result["false_positives"]
        print(f"NM1 hybrids ({args.nm1_cases} with lesions, {args.nm1_negatives} lesion-free, level {args.nm1_level}): "
              f"{fp['per_view']:.2f} false positives per view ({fp['per_view_lesion_free']:.2f} lesion-free, "
              f"{fp['per_view_with_lesions']:.2f} with lesions), {fp['on_nm1_hot_spots']} of {fp['total']} on NM1 hot spots; "
              f"sensitivity {result['sensitivity_visible']:.2f} of {result['visible_lesions']} visible lesions; "
              f"triage AUC {result['triage_auc']:.3f}")
        print("  found by apparent contrast: " + ", ".join(
            f"{name} {row['found']}/{row['lesions']}" for name, row in result["sensitivity_by_contrast"].items()))
        print(f"  calls left out by a reading rule (on an inserted lesion / all): {left_out_text(result['left_out'])}")
        print(nm1_markdown(result))
        if args.figure_nm1:
            nm1_figure(result, args.figure_nm1)
        if args.json_out:
            record = {k: v for k, v in result.items() if k != "_arrays"}
            record.update(model=args.model, region_model=args.region_model, threshold=settings.threshold)
            Path(args.json_out).write_text(json.dumps(record, indent=1) + "\n")
        return 0
    config = profile_with(args.profile, args.phantom_config)
    if args.counts is not None:
        config = replace(config, camera=replace(config.camera, counts=tuple(args.counts)))
    if args.disc_fraction is not None:
        config = replace(config, anatomy=replace(config.anatomy, disc_fraction=tuple(args.disc_fraction)))
    classes = len(REGION_CLASSES)
    overlap = {view: np.zeros((classes, 3), dtype=np.int64) for view in ("ANT", "POST")}
    bsi_true, bsi_pred, scores, bone_scores, positive, seconds = [], [], [], [], [], []
    max_true: list[float] = []
    nearer_true: list[float] = []  # the truth's views combined per bone as the pipeline combines them (session 62)
    mass_true: list[float] = []  # the 3-D mass-fraction truth of the visible lesions (session 63; mass_bsi)
    mass_true_all: list[float] = []  # the same of every lesion, visible or not
    max_pred: list[float] = []
    combined: dict[str, list[float]] = {how: [] for how in VIEW_COMBINATIONS}
    reader_truth: dict[float, list[float]] = {level: [] for level in READER_CONTRASTS}
    bone_reader_truth: dict[float, list[float]] = {level: [] for level in READER_CONTRASTS}
    steps: dict[str, list[float]] = {name: [] for name in BSI_STEPS}
    false_positives: Counter = Counter()
    fp_regions: Counter = Counter()
    marks: Counter = Counter()  # (true lesion | false positive, the call's ``beside`` mark or "None")
    left_out: Counter = Counter()  # the calls the reading rules left out: (rule, on a true lesion | not)
    detections: list[tuple[str, float, bool]] = []
    bone_detections: list[tuple[str, float, bool]] = []  # the same lesions, by contrast against their bone
    views_seen = 0
    for k in range(args.patients):
        patient = generate_patient(args.seed + k, config, patient_id=f"WB{k}")
        started = time.perf_counter()
        prediction = predict_scan(patient.scan, model, settings)
        seconds.append(time.perf_counter() - started)
        for view, result in prediction.views.items():
            views_seen += 1
            overlap[view] += class_overlap(result.regions.labels, patient.regions[view], classes)
            truth_any = patient.instances[view] > 0
            detections += lesion_detections(patient, view, result.labels > 0)
            bone_detections += lesion_detections(patient, view, result.labels > 0, "bone")
            for index in range(1, int(result.labels.max()) + 1):
                mask = result.labels == index
                true = bool((mask & truth_any).any())
                # What the reader is told the call lies beside (predict.bladder, predict.distal_arm), by truth.
                marks[("true lesion" if true else "false positive", str(result.lesions[index - 1].beside))] += 1
                if mask.any() and not true:
                    what, region = classify_false_positive(patient, view, mask)
                    false_positives[what] += 1
                    fp_regions[region] += 1
            left_out.update(left_out_truth(result, truth_any))
        # Candidate triage score: the largest probability on bone only (the region map's bone pixels), which
        # ignores soft-tissue look-alikes (bladder, kidneys, an injection site off the bone).
        bone_scores.append(max(float(np.max(r.probability[r.regions.bone & r.coverage], initial=0.0))
                               for r in prediction.views.values()))
        truth_views = truth_index(patient)
        bsi_true.append(float(np.mean([index.bsi_percent for index in truth_views.values()])))
        nearer_true.append(scan_bone_index({v: i.bones for v, i in truth_views.items()})[0])
        mass_true.append(float(patient.meta["bsi_mass_percent"]))
        mass_true_all.append(float(patient.meta["bsi_mass_percent_all"]))
        # The per-bone maximum over the views (bsi_over_views), for truth and prediction alike.
        max_true.append(bsi_over_views({v: involved_fractions(i.bones) for v, i in truth_views.items()}, "max"))
        fractions = {v: involved_fractions(r.bsi["bones"]) for v, r in prediction.views.items()}
        max_pred.append(bsi_over_views(fractions, "max"))
        for how in VIEW_COMBINATIONS:  # the other ways to combine the predicted views (the pipeline: nearer)
            combined[how].append(bsi_over_views(fractions, how))
        for level in READER_CONTRASTS:
            reader_truth[level].append(truth_bsi(patient, level))
            bone_reader_truth[level].append(truth_bsi(patient, level, "bone"))
        for name, value in bsi_steps(patient, {v: r.labels for v, r in prediction.views.items()}).items():
            steps[name].append(value)
        bsi_pred.append(prediction.bsi_percent)
        scores.append(prediction.triage_score)
        positive.append(any(patient.masks[v].any() for v in patient.scan.view_names))
        print(f"  {k + 1}/{args.patients}: truth BSI {bsi_true[-1]:.3f} predicted {bsi_pred[-1]:.3f} "
              f"triage {scores[-1]:.3f} ({'lesion' if positive[-1] else 'none'}) {seconds[-1]:.2f} s", file=sys.stderr)

    dice = {view: class_dice(counts) for view, counts in overlap.items()}
    per_region = {REGION_CLASSES[i]: {view: (None if np.isnan(dice[view][i]) else round(float(dice[view][i]), 3))
                                      for view in dice} for i in range(1, classes)}
    mean_dice = {view: float(np.nanmean(values[1:])) for view, values in dice.items()}
    t, p = np.array(bsi_true), np.array(bsi_pred)
    r = pearson(t, p)
    r_ci, mae_ci = bsi_intervals(t, p)
    def reader_table(truths: dict[float, list[float]]) -> dict[str, dict]:
        out = {}
        for level, values in truths.items():
            truth = np.array(values)
            level_r_ci, level_mae_ci = bsi_intervals(truth, p)
            out[str(level)] = {"pearson_r": pearson(truth, p), "pearson_r_ci95": level_r_ci,
                               "mae": float(np.abs(truth - p).mean()), "mae_ci95": level_mae_ci,
                               "truth_mean": float(truth.mean()), "truth": truth.round(4).tolist(),
                               "ceiling": detectability_ceiling(truth, t)}
        return out

    readers, bone_readers = reader_table(reader_truth), reader_table(bone_reader_truth)
    mt, mp = np.array(max_true), np.array(max_pred)
    views_max = {"predicted_vs_truth": {"pearson_r": pearson(t, mp), "mae": float(np.abs(t - mp).mean()),
                                        "predicted_mean": float(mp.mean())},
                 "both_by_max": {"pearson_r": pearson(mt, mp), "mae": float(np.abs(mt - mp).mean()),
                                 "truth_mean": float(mt.mean())}}
    views_combined = {how: {"pearson_r": pearson(t, np.array(values)), "mae": float(np.abs(t - np.array(values)).mean())}
                      for how, values in combined.items()}
    # The headline truth is each view's BSI averaged over the views; the pipeline reads the spine, sacrum and scapulae
    # from POST and the sternum and clavicles from ANT. Against the truth combined as the pipeline combines views, and
    # what the truth's own outlines, combined so, score against the headline truth (a perfect segmenter's ceiling
    # under the two definitions; session 62's audit: r 0.994, MAE 0.052 on 20 patients, not 1 and 0).
    nt = np.array(nearer_true)
    nt_r_ci, nt_mae_ci = bsi_intervals(nt, p)
    as_predicted = {"pearson_r": pearson(nt, p), "pearson_r_ci95": nt_r_ci, "mae": float(np.abs(nt - p).mean()),
                    "mae_ci95": nt_mae_ci, "truth_mean": float(nt.mean()), "truth": nt.round(4).tolist(),
                    "perfect_outlines_vs_headline_truth": {"pearson_r": pearson(t, nt),
                                                           "mae": float(np.abs(t - nt).mean())}}
    # The 3-D mass truth (session 63): physics.md's mass fraction from the generator's occupancies, of the visible
    # lesions; and how the two planar truths (area fractions on the region maps) relate to it.
    ms, ms_all = np.array(mass_true), np.array(mass_true_all)
    mass = score_against(ms, p)
    mass["all_lesions"] = {"pearson_r": pearson(ms_all, p), "mae": float(np.abs(ms_all - p).mean()),
                           "truth_mean": float(ms_all.mean()), "truth": ms_all.round(4).tolist()}
    mass["planar_vs_mass"] = {"headline": truth_relation(t, ms), "combined_as_predicted": truth_relation(nt, ms)}
    step_table = {}
    for name, values in steps.items():
        one = np.array(values)
        step_table[name] = {"pearson_r": pearson(t, one), "mae": float(np.abs(t - one).mean()),
                            "predicted_mean": float(one.mean())}
    labels = np.array(positive)

    def roc_auc(values) -> float:
        if not (labels.any() and (~labels).any()):
            return float("nan")
        ranks = stats.rankdata(values)
        return float((ranks[labels].sum() - labels.sum() * (labels.sum() + 1) / 2) / (labels.sum() * (~labels).sum()))

    auc, bone_auc = roc_auc(scores), roc_auc(bone_scores)
    result = {
        "patients": args.patients, "profile": args.profile, "phantom_config": args.phantom_config, "seed": args.seed,
        "regions": args.regions, "region_model": args.region_model,
        "counts": list(config.camera.counts),
        "model": args.model, "threshold": settings.threshold,
        "mean_region_dice": mean_dice, "region_dice": per_region,
        "bsi": {"pearson_r": r, "mae": float(np.abs(t - p).mean()), "pearson_r_ci95": r_ci, "mae_ci95": mae_ci,
                "truth_mean": float(t.mean()),
                "predicted_mean": float(p.mean()), "truth": t.round(4).tolist(), "predicted": p.round(4).tolist(),
                "reader_truth": readers, "reader_truth_bone": bone_readers, "per_bone_max_over_views": views_max,
                "views_combined": views_combined, "truth_combined_as_predicted": as_predicted,
                "truth_mass": mass, "steps": step_table},
        "triage": {"auc": auc, "auc_bone_only": bone_auc, "with_lesion": int(labels.sum()), "without": int((~labels).sum())},
        "sensitivity": {"all": float(np.mean([found for _, _, found in detections])) if detections else float("nan"),
                        "by_region": sensitivity_by_region(detections),
                        "by_region_contrast_2": sensitivity_by_region(detections, CONSPICUOUS),
                        "by_contrast": sensitivity_by_contrast(detections),
                        "by_bone_contrast": sensitivity_by_contrast(bone_detections),
                        "by_region_bone_contrast_2": sensitivity_by_region(bone_detections, CONSPICUOUS)},
        "false_positives": {"per_view": sum(false_positives.values()) / max(views_seen, 1),
                            "by_kind": dict(false_positives.most_common()), "by_region": dict(fp_regions.most_common())},
        "marks": {f"{truth}: {mark}": n for (truth, mark), n in sorted(marks.items())},
        "left_out": left_out_table(left_out),
        "seconds_per_scan_median": float(np.median(seconds)),
    }
    print("mean region Dice: " + ", ".join(f"{v} {d:.3f}" for v, d in mean_dice.items()))
    print(f"BSI: r = {r:.3f}, MAE = {result['bsi']['mae']:.3f} points (truth mean {t.mean():.3f}, predicted {p.mean():.3f}); "
          f"95 % bootstrap intervals over patients: r {r_ci[0]:.3f}-{r_ci[1]:.3f}, MAE {mae_ci[0]:.3f}-{mae_ci[1]:.3f}")
    for what, table in (("apparent contrast", readers), ("contrast against their bone", bone_readers)):
        for level, one in table.items():
            print(f"  against the truth of lesions of {what} >= {level}: r = {one['pearson_r']:.3f} "
                  f"({one['pearson_r_ci95'][0]:.3f}-{one['pearson_r_ci95'][1]:.3f}), MAE = {one['mae']:.3f} "
                  f"(truth mean {one['truth_mean']:.3f}); finding exactly those, true outlines: r = "
                  f"{one['ceiling']['pearson_r']:.3f}, MAE = {one['ceiling']['mae']:.3f} against the full truth")
    both = views_max["both_by_max"]
    print(f"  views combined per bone by their maximum (bsi_over_views): r = {views_max['predicted_vs_truth']['pearson_r']:.3f}, "
          f"MAE = {views_max['predicted_vs_truth']['mae']:.3f} (predicted mean {mp.mean():.3f}); truth combined the "
          f"same way: r = {both['pearson_r']:.3f}, MAE = {both['mae']:.3f} (truth mean {both['truth_mean']:.3f})")
    ceiling = as_predicted["perfect_outlines_vs_headline_truth"]
    print(f"  against the truth combined per bone as the pipeline combines views (nearer view, else the mean): "
          f"r = {as_predicted['pearson_r']:.3f} ({nt_r_ci[0]:.3f}-{nt_r_ci[1]:.3f}), MAE = {as_predicted['mae']:.3f} "
          f"({nt_mae_ci[0]:.3f}-{nt_mae_ci[1]:.3f}; truth mean {nt.mean():.3f}); the true outlines so combined "
          f"against the headline truth: r = {ceiling['pearson_r']:.3f}, MAE = {ceiling['mae']:.3f}")
    head, near = mass["planar_vs_mass"]["headline"], mass["planar_vs_mass"]["combined_as_predicted"]
    print(f"  against the 3-D mass truth (visible lesions; meta bsi_mass_percent): r = {mass['pearson_r']:.3f} "
          f"({mass['pearson_r_ci95'][0]:.3f}-{mass['pearson_r_ci95'][1]:.3f}), MAE = {mass['mae']:.3f} "
          f"({mass['mae_ci95'][0]:.3f}-{mass['mae_ci95'][1]:.3f}; truth mean {mass['truth_mean']:.3f}; every lesion: "
          f"mean {mass['all_lesions']['truth_mean']:.3f}, r = {mass['all_lesions']['pearson_r']:.3f}, MAE = "
          f"{mass['all_lesions']['mae']:.3f}); planar truth against it: headline r = {head['pearson_r']:.3f}, mean "
          f"ratio {head['mean_ratio']:.3f} (ratio of means {head['ratio_of_means']:.3f}); combined as the pipeline "
          f"does r = {near['pearson_r']:.3f}, mean ratio {near['mean_ratio']:.3f} (ratio of means "
          f"{near['ratio_of_means']:.3f})")
    print("  the predicted views combined per bone by (bsi_over_views; pipeline: nearer): " + ", ".join(
        f"{how} r = {one['pearson_r']:.3f}, MAE = {one['mae']:.3f}" for how, one in views_combined.items()))
    print("  step by step from the truth (truth region map; bsi_steps): " + ", ".join(
        f"{name} r = {one['pearson_r']:.3f}, MAE = {one['mae']:.3f} (mean {one['predicted_mean']:.3f})"
        for name, one in step_table.items()))
    print(f"triage AUC = {auc:.3f}, bone pixels only {bone_auc:.3f} ({labels.sum()} scans with a visible lesion, {(~labels).sum()} without)")
    sens = result["sensitivity"]
    bright = sens["by_region_contrast_2"]
    cells = []
    for region, row in sens["by_region"].items():
        some = bright.get(region, {"found": 0, "lesions": 0})
        cells.append(f"{region} {row['found']}/{row['lesions']} ({some['found']}/{some['lesions']})")
    print(f"lesions found: {sens['all']:.2f} of {len(detections)} labelled (per view); by region (all / apparent "
          f"contrast >= {CONSPICUOUS}): " + ", ".join(cells))
    print("  by apparent contrast: " + ", ".join(f"{name} {row['found']}/{row['lesions']} ({row['sensitivity']:.2f})"
                                                for name, row in sens["by_contrast"].items()))
    print("  by contrast against their bone: " + ", ".join(
        f"{name} {row['found']}/{row['lesions']} ({row['sensitivity']:.2f})" for name, row in sens["by_bone_contrast"].items()))
    print(f"  of contrast against their bone >= {CONSPICUOUS}, by region: " + ", ".join(
        f"{region} {row['found']}/{row['lesions']}" for region, row in sens["by_region_bone_contrast_2"].items()))
    print(f"false positives: {result['false_positives']['per_view']:.2f} per view; by kind {dict(false_positives)}")
    print(f"calls marked beside (bladder, forearm_or_hand; None = unmarked), by truth: {result['marks']}")
    print(f"calls left out by a reading rule (on a true lesion / all): {left_out_text(result['left_out'])}")
    print(f"  by region {dict(fp_regions)}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=1) + "\n")
    if args.figure:
        import matplotlib  # lazy: start-up time

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # lazy: start-up time

        fig, ax = plt.subplots(figsize=(4.2, 4.2))
        top = max(float(t.max()), float(p.max()), 0.5) * 1.05
        ax.plot([0, top], [0, top], color="0.6", lw=1)
        ax.scatter(t, p, s=14, color="#b2182b")
        ax.set_xlabel("truth BSI (phantom, %)")
        ax.set_ylabel("predicted BSI (%)")
        ax.set_title(f"{args.profile}, {args.patients} patients: r = {r:.2f}, MAE = {result['bsi']['mae']:.2f}", fontsize=9)
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        fig.tight_layout()
        fig.savefig(args.figure, dpi=120)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
