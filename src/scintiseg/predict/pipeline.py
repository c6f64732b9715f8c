"""The prediction pipeline: a whole-body scan in, lesions with contours, regions and BSI out.

    read -> resample to the model's pixel size -> windows (the whole view, or the thoracic crop; views
         aggregated for models that take it) -> model -> sigmoid -> probability per view on the model's
         grid -> back onto the scan's own grid -> threshold -> small components removed -> closed
         contours -> rasterised lesion map -> region estimate, measurements, BSI, Soloway, QC flags (:mod:`.qc`) ->
         ANT and POST lesions paired (:mod:`.pairing`); triage score (:attr:`Prediction.triage_score`, :mod:`.triage`)

Everything after the model (:func:`predict_from_probabilities`) works on whole-body probability maps on
the scan's own grid and spacing, so a test can inject a known map; the window modes differ only in where
windows come from (:mod:`.windows`).

Pixel size (issue 13, "Scale"): a model whose checkpoint records ``pixel_mm`` sees every scan resampled
to that size (:func:`scintiseg.prepare.resample.resample_scan`, counts conserved), and its probability
and coverage are carried back onto the scan's own grid (:func:`to_scan_grid`); a model without it sees
the scan as it is, as before. A view narrower or shorter than the thoracic crop after resampling (a
2.0 mm 1024 x 256 scan is 227 columns at 2.26 mm) is padded with zero counts on both sides for the crop
(:func:`pad_scan`) and cut back after the model. A partial view (a region crop, shorter than a body) has the cut
edges of its normalised input extended before the whole-view windows (:mod:`.edges`): a bone cut by the crop runs
on and fades instead of stopping in a stump the network reads as a focus; a polygon crop (a blanked outside) is
first brought to the level its whole view would have given it (:mod:`.crop_level`). A model of thoracic crops (the
``thoracic`` window) reads a partial view as its own window (padded to the network's), since no thorax can be
found in a crop: before, every crop was refused ("the body is only 362 mm long ... a whole-body scan is needed").
A whole-body scan stored head-down (the region map shows no upright head, and shows one with the rows reversed) is
read turned and its maps turned back, so that every output stays on the image as stored (:mod:`.orientation`, flag
``head_down``). Reading rules leave out, for review, the calls a reader reads as normal (:mod:`.rule_calls`): the
spine's segmental pattern (:mod:`.spine_pattern`), a symmetric pattern (:mod:`.symmetry`), the bladder's activity
(:mod:`.bladder`), the injection arm's (:mod:`.distal_arm`) and the soft tissue's hot spots (:mod:`.off_skeleton`);
a lesion beside the bladder's activity, or at an elbow, forearm or hand on another bone, is marked. Each whole-body view's axial bones are compared with its lower legs, and a scan
whose axial skeleton is far brighter shows the superscan pattern (:mod:`.superscan`: flag ``superscan_pattern``,
Soloway grade 4).

Concurrency: the skeleton regions (the learned map, or the atlas) and the ANT-POST shift depend on the
counts only, not on the lesion network (:class:`CountAnalysis`), so :func:`predict_scan` computes them on
a second thread while the lesion network runs (for models that predict every view, ``input_mode="ant"``,
the shipped one): both networks run in ONNX Runtime or PyTorch kernels that release the interpreter lock,
and the region network's resampling and normalisation, the body fit and the registration's smoothing and
FFTs (SciPy, NumPy) overlap the lesion network's. The results are the same as computed after the model (a
test compares them).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from os import PathLike

import numpy as np
from scipy import ndimage as ndi
from scipy.special import expit

from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import STOOD_OTHER_WAY
from scintiseg.predict.bladder import BESIDE_BLADDER, bladder_calls, bladder_mask, surroundings
from scintiseg.predict.bsi import view_bsi
from scintiseg.predict.contours import Contour, mask_contours, rasterise_contours
from scintiseg.predict.crop_level import level_inputs
from scintiseg.predict.distal_arm import BESIDE_DISTAL_ARM, distal_arm_calls, distal_arm_surroundings
from scintiseg.predict.edges import EXTEND_MM, FADE_MM, extend_inputs, is_partial_field
from scintiseg.predict.loader import LoadedModel
from scintiseg.predict.measurements import measure_lesions
from scintiseg.predict.off_skeleton import off_skeleton_calls
from scintiseg.predict.orientation import HEAD_DOWN_FLAG, NO_UPRIGHT_HEAD_FLAG, stood_the_other_quarter, turned_head_up
from scintiseg.predict.orientation import turned_maps, turned_regions, views_without_upright_head
from scintiseg.predict.pair_names import one_name_per_pair
from scintiseg.predict.pairing import LesionPair, pair_lesions, post_shift
from scintiseg.predict.postprocess import lesion_components
from scintiseg.predict.prediction import Prediction, ViewPrediction
from scintiseg.predict.qc import scan_qc_flags
from scintiseg.predict.region_model import RegionModel, predict_region_maps
from scintiseg.predict.regions import REGION_IDS, SkeletonRegions, estimate_regions, learned_regions, partial_view
from scintiseg.predict.rule_calls import LeftOutCall
from scintiseg.predict.settings import PredictSettings
from scintiseg.predict.spine_pattern import pattern_calls as pattern_calls_mask
from scintiseg.predict.superscan import axial_to_distal
from scintiseg.predict.symmetry import symmetric_calls as symmetric_calls_mask
from scintiseg.predict.triage import set_aside
from scintiseg.predict.windows import (
    MISALIGNED_PX,
    body_row_span,
    check_window_mode,
    one_pass_probability,
    sliding_window_probability,
    thoracic_windows,
    whole_view_windows,
)
from scintiseg.prepare.burned_in import burned_in_mask, without_burned_in
from scintiseg.prepare.resample import resample_map, resample_scan
from scintiseg.scan import Scan


def window_mode(settings: PredictSettings, model: LoadedModel) -> str:
    """The window mode a prediction runs: the settings' when given, else the model's own."""
    window = settings.window or model.window
    check_window_mode(window)
    return window


def model_scan(scan: Scan, model: LoadedModel) -> Scan:
    """``scan`` at the model's pixel size (itself for a model that records none; module docstring)."""
    if model.pixel_mm is None:
        return scan
    return resample_scan(scan, (model.pixel_mm, model.pixel_mm))


def pad_scan(scan: Scan, size: int) -> tuple[Scan, tuple[int, int]]:
    """``scan`` padded with zero counts to at least ``size`` x ``size``, centred; and the (top, left) pad."""
    rows, cols = scan.shape
    top, left = max(0, size - rows) // 2, max(0, size - cols) // 2
    if (top, left) == (0, 0) and rows >= size and cols >= size:
        return scan, (0, 0)
    pad = ((top, max(0, size - rows) - top), (left, max(0, size - cols) - left))
    return scan.with_views({name: np.pad(image, pad) for name, image in scan.views.items()}), (top, left)


def to_scan_grid(probability: np.ndarray, seen: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A probability and its coverage on the model's grid carried onto the scan's grid of ``shape``.

    Coverage is area-averaged (:func:`~scintiseg.prepare.resample.resample_map`) and a scan pixel is
    covered when at least half of it was seen; the probability is the coverage-weighted area average
    (normalised convolution), so the unseen zeros outside a window never dilute the edge of what was seen.
    Unseen pixels get probability 0, as on the model's grid.
    """
    seen = np.asarray(seen, dtype=np.float32)
    if tuple(probability.shape) == tuple(shape):
        return probability, seen > 0
    weight = resample_map(seen, shape)
    covered = weight >= 0.5
    back = resample_map(probability * seen, shape) / np.maximum(weight, 1e-6)
    return np.where(covered, np.clip(back, 0.0, 1.0), 0.0).astype(np.float32), covered


def input_multiple(model: LoadedModel) -> int:
    """What a whole view's side must be a multiple of for ``model``'s network: ``2**depth`` when the network
    says its depth, else the window it was trained on (a multiple of every down-sampling it can have)."""
    depth = getattr(model.network, "depth", None)
    return 2 ** int(depth) if isinstance(depth, int) and depth >= 0 else int(model.window_size)


def model_probabilities(scan: Scan, model: LoadedModel, settings: PredictSettings) -> tuple[dict, dict, list[str]]:
    """Run the model over the scan's windows; whole-body probability and coverage per predicted view.

    The scan is resampled to the model's pixel size first and the maps come back on the scan's own grid
    (module docstring).
    """
    window = window_mode(settings, model)
    at_model = model_scan(scan, model)
    partial = is_partial_field(at_model)
    gains: list[float] = []  # per input: the polygon-crop level's gain (.crop_level); none for whole views
    if window == "thoracic" and not partial:
        padded, (top, left) = pad_scan(at_model, model.window_size)
        windows = thoracic_windows(padded, model.input_mode, model.normalisation, model.window_size)
        logits = model.engine(np.stack([w.image for w in windows]).astype(np.float32))
        probability = expit(logits[:, 0].astype(np.float32))
    else:  # the whole view; a partial view (a crop) is its own thoracic window for a model of thoracic crops
        padded, (top, left) = at_model, (0, 0)  # MONAI pads a small view after normalisation
        windows = whole_view_windows(at_model, model.input_mode, model.normalisation)
        images = np.stack([w.image for w in windows])
        pixel = float(at_model.pixel_spacing[0])
        # the edges run on for the whole-view models they were measured with (.edges), not for crop-trained ones
        margin = int(round(EXTEND_MM / pixel)) if partial and window == "whole" else 0
        if margin and settings.crop_level:  # a polygon crop: at the level of its whole view (.crop_level)
            images, gains = level_inputs(images, pixel)
        if margin:  # a crop: its cut edges run on and fade, so that a cut bone is no focus (.edges)
            images, filled = extend_inputs(images, margin, FADE_MM / pixel)
        if settings.tiling == "one-pass":
            probability = one_pass_probability(images, model.engine, input_multiple(model))
        elif margin:  # a crop is all body: every row is seen
            probability = sliding_window_probability(images, model.engine, model.window_size)
        else:  # the windows cover the rows that hold the body; beyond them nothing is to be seen
            first, stop = body_row_span(at_model, model.window_size)
            probability = np.zeros((len(images), *images.shape[2:]), dtype=np.float32)
            probability[:, first:stop] = sliding_window_probability(images[:, :, first:stop], model.engine,
                                                                    model.window_size)
        if margin:  # back to the inputs' own grid; what the network said of the filled outside is not the scan's
            probability = np.where(filled, 0.0, probability[:, margin:-margin, margin:-margin]).astype(np.float32)
    sums: dict[str, np.ndarray] = {}
    seen: dict[str, np.ndarray] = {}
    flags: list[str] = []
    for index, (piece, prob) in enumerate(zip(windows, probability)):
        flags += [f for f in piece.qc_flags if f not in flags]
        if gains and gains[index] != 1.0:
            flags += [f"polygon_crop_{view}" for view in piece.boxes if f"polygon_crop_{view}" not in flags]
        for view, box in piece.boxes.items():
            sums.setdefault(view, np.zeros(padded.shape, dtype=np.float32))
            seen.setdefault(view, np.zeros(padded.shape, dtype=np.float32))
            sums[view][box.slices] += piece.model_input.to_view(prob, view)
            seen[view][box.slices] += 1.0
    rows, cols = at_model.shape
    inner = (slice(top, top + rows), slice(left, left + cols))
    probabilities: dict[str, np.ndarray] = {}
    coverage: dict[str, np.ndarray] = {}
    for view in sums:
        prob = sums[view][inner] / np.maximum(seen[view][inner], 1.0)
        probabilities[view], coverage[view] = to_scan_grid(prob, seen[view][inner] > 0, scan.shape)
    return probabilities, coverage, flags


def outline_lesions(mask: np.ndarray) -> tuple[list[Contour], np.ndarray]:
    """One closed contour per component of ``mask`` and the lesion map they rasterise to (label k = contour k).

    A contour whose raster was wholly taken by an earlier one (nested outlines) is dropped.
    """
    contours = mask_contours(mask)
    labels = rasterise_contours(contours, mask.shape)
    present = np.unique(labels[labels > 0])
    if len(present) != len(contours):
        kept: list[Contour] = [contours[i - 1] for i in present]
        contours = kept
        labels = rasterise_contours(contours, mask.shape)
    return contours, labels


@dataclass(frozen=True)
class CountAnalysis:
    """What the post-processing needs from the counts alone, not from the lesion network: each view's
    skeleton regions and the ANT-POST shift (:func:`analyse_counts`).

    Attributes:
        regions: view -> its :class:`~.regions.SkeletonRegions` (learned map or atlas).
        shift: the integer (rows, cols) shift that puts the mirrored POST on ANT
            (:func:`~.pairing.post_shift`); None for a scan without both views, or when POST lies more than
            :data:`~scintiseg.predict.windows.MISALIGNED_PX` pixels off ANT.
    """

    regions: dict[str, SkeletonRegions]
    shift: tuple[float, float] | None


def analyse_counts(scan: Scan, views: list[str], network: RegionModel | None) -> CountAnalysis:
    """The :class:`CountAnalysis` of ``views`` of ``scan``: the regions by ``network`` (None: the atlas)
    and, when ``views`` holds ANT and POST, their shift. It depends on the counts only, so
    :func:`predict_scan` computes it on a second thread while the lesion network runs (module docstring)."""
    if network is None:
        regions = {view: estimate_regions(scan.view(view), view) for view in views}
    else:
        # Every view's region map in one call: one resampling, one batch through the network.
        maps = predict_region_maps(network, scan, list(views))
        regions = {view: learned_regions(scan.view(view), view, maps[view]) for view in views}
    return _with_shift(scan, {view: partial_view(one, scan.pixel_spacing[0]) for view, one in regions.items()})


def _with_shift(scan: Scan, regions: dict[str, SkeletonRegions]) -> CountAnalysis:
    """The :class:`CountAnalysis` of views whose regions are known: the ANT-POST shift added."""
    both = "ANT" in regions and "POST" in regions
    shift = post_shift(scan.view("ANT"), scan.view("POST"), MISALIGNED_PX) if both else None
    return CountAnalysis(regions, shift)


def predict_view(
    scan: Scan,
    view: str,
    probability: np.ndarray,
    coverage: np.ndarray,
    settings: PredictSettings,
    first_id: int = 1,
    regions: SkeletonRegions | None = None,
    first_left_out_id: int = 1,
    reader_mask: np.ndarray | None = None,
) -> ViewPrediction:
    """Post-process one view's whole-body probability map into measured lesions (``regions``: the view's
    skeleton regions, :func:`analyse_counts`; None: the atlas, fitted here), and the calls the reading rules left out
    (ids from ``first_left_out_id``).

    ``reader_mask``: a reader's outlines of the view (:mod:`.review`), which then are its lesions, measured as the
    network's are; the reading rules' left-out calls that touch them are no longer listed as left out."""
    counts = scan.view(view)
    if regions is None:
        regions = partial_view(estimate_regions(counts, view), scan.pixel_spacing[0])
    mask = lesion_components(probability, settings.threshold, settings.min_area_px, coverage)
    found: list[np.ndarray | None] = []  # the bladder's hot spot, found once when first needed (a few ms a view)

    def bladder_spot() -> np.ndarray | None:
        if not found:
            found.append(bladder_mask(counts, regions, scan.pixel_spacing))
        return found[0]

    def bladder(counts, mask, regions, pixel_mm):  # a rule's signature; the spot found once for the view
        return bladder_calls(mask, bladder_spot()) if mask.any() else np.zeros_like(mask)

    arm: list[np.ndarray | None] = []  # the pixels near the forearms and hands, found once when first needed

    def near_distal_arm() -> np.ndarray | None:
        if not arm:
            arm.append(distal_arm_surroundings(regions, scan.pixel_spacing))
        return arm[0]

    def distal_arm(counts, mask, regions, pixel_mm):  # a rule's signature; the forearms' surroundings found once
        return distal_arm_calls(mask, near_distal_arm(), regions) if mask.any() else np.zeros_like(mask)

    def off_skeleton(counts, mask, regions, pixel_mm):  # a rule's signature
        return off_skeleton_calls(mask, regions, pixel_mm)

    # The calls each reading rule leaves out: the spine's pattern, the symmetric ones, the bladder's activity, the
    # injection arm's, the soft tissue's hot spots.
    dropped_by = {}
    for name, applies, rule in (("spine_pattern", settings.spine_pattern,
                                 partial(pattern_calls_mask, ratio=settings.spine_pattern_ratio,
                                         bladder_spot=bladder_spot)),
                                ("symmetric", settings.symmetry, partial(symmetric_calls_mask, bladder_spot=bladder_spot)),
                                ("bladder", settings.bladder, bladder),
                                ("distal_arm", settings.distal_arm, distal_arm),
                                ("off_skeleton", settings.off_skeleton, off_skeleton)):
        dropped_by[name] = rule(counts, mask, regions, scan.pixel_spacing) if applies else np.zeros_like(mask)
        mask = mask & ~dropped_by[name]
    if reader_mask is not None:  # the reader decides: their outlines are the lesions
        mask = np.asarray(reader_mask, dtype=bool)
        dropped_by = {name: calls_apart_from(dropped, mask) for name, dropped in dropped_by.items()}
    contours, labels = outline_lesions(mask)
    lesions, reference = measure_lesions(
        labels, counts, probability, regions, scan.pixel_spacing, view, coverage=coverage, first_id=first_id
    )
    calls = left_out_calls(dropped_by, counts, probability, regions, scan.pixel_spacing, view, coverage, reference,
                           first_left_out_id)
    if lesions:  # a lesion at the bladder's edge (.bladder), or at an elbow, forearm or hand (.distal_arm): marked
        marks = ((BESIDE_BLADDER, surroundings(bladder_spot(), scan.pixel_spacing)),
                 (BESIDE_DISTAL_ARM, near_distal_arm()))
        for mark, near in marks:
            if near is not None:
                lesions = [replace(lesion, beside=mark) if lesion.beside is None and near[labels == index].any()
                           else lesion for index, lesion in enumerate(lesions, start=1)]
    bsi = view_bsi(labels > 0, regions, coverage)
    rules = np.logical_or.reduce(list(dropped_by.values())) if dropped_by else np.zeros_like(mask)
    aside = set_aside(probability, rules, labels > 0, min(scan.pixel_spacing)) if rules.any() else None
    return ViewPrediction(view, probability.astype(np.float32), coverage, labels, contours, lesions, regions, reference, bsi,
                          left_out=calls, aside=aside)


def calls_apart_from(calls: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The components (8-connected) of ``calls`` that touch no pixel of ``mask``."""
    if not calls.any() or not mask.any():
        return calls
    components, _ = ndi.label(calls, structure=np.ones((3, 3), dtype=bool))
    touched = np.unique(components[mask & calls])
    return calls & ~np.isin(components, touched[touched > 0])


def left_out_calls(dropped_by: dict[str, np.ndarray], counts: np.ndarray, probability: np.ndarray,
                   regions: SkeletonRegions, pixel_spacing: tuple[float, float], view: str, coverage: np.ndarray,
                   reference: float | None, first_id: int = 1) -> list[LeftOutCall]:
    """The calls each rule left out (rule name -> its pixels, in the rules' order) outlined and measured as lesions
    are, against the view's normal-bone ``reference``; ids from ``first_id`` in that order
    (:class:`~.rule_calls.LeftOutCall`)."""
    calls: list[LeftOutCall] = []
    for rule, dropped in dropped_by.items():
        if not dropped.any():
            continue
        contours, labels = outline_lesions(dropped)
        records, _ = measure_lesions(labels, counts, probability, regions, pixel_spacing, view, coverage=coverage,
                                     first_id=first_id + len(calls), reference=reference)
        calls += [LeftOutCall(rule, contour, record) for contour, record in zip(contours, records)]
    return calls


def view_pairs(scan: Scan, views: dict[str, ViewPrediction], flags: list[str],
               shift: tuple[float, float] | None) -> tuple[list[LesionPair], tuple | None]:
    """The ANT-POST lesion pairs of a scan and the shift used (:mod:`.pairing`); ``([], None)`` when not paired.

    ``shift`` is :class:`CountAnalysis`'s. No pairs for a scan without both ANT and POST predictions, or one
    already flagged ``views_misaligned``. A POST that must move more than
    :data:`~scintiseg.predict.windows.MISALIGNED_PX` pixels onto ANT (``shift`` None) gets that flag here
    (it is otherwise raised only where the model's input aligns the views) and no pairs.
    """
    if "ANT" not in views or "POST" not in views or "views_misaligned" in flags:
        return [], None
    if shift is None:
        flags.append("views_misaligned")
        return [], None
    ant, post = views["ANT"], views["POST"]
    pairs = pair_lesions(ant.labels, [lesion.id for lesion in ant.lesions], post.labels,
                         [lesion.id for lesion in post.lesions], shift, scan.pixel_spacing)
    return pairs, shift


def with_lesions_renamed(result: ViewPrediction, lesions: list, renamed: set[int]) -> ViewPrediction:
    """``result`` with its lesion records replaced by ``lesions`` (the same lesions, in label order); the records whose
    ids are in ``renamed`` took the other view's bone (:mod:`.pair_names`), so the view's BSI is recomputed without
    their pixels and their own BSI contribution is 0: each such lesion counts once, from the view that names it."""
    gone = [label for label, lesion in enumerate(lesions, start=1) if lesion.id in renamed]
    if not gone:
        return replace(result, lesions=lesions)
    bsi = view_bsi((result.labels > 0) & ~np.isin(result.labels, gone), result.regions, result.coverage)
    lesions = [replace(lesion, bsi_contribution_percent=0.0) if lesion.id in renamed else lesion for lesion in lesions]
    return replace(result, lesions=lesions, bsi=bsi)


def predict_from_probabilities(
    scan: Scan,
    probabilities: dict[str, np.ndarray],
    coverage: dict[str, np.ndarray] | None = None,
    settings: PredictSettings | None = None,
    model_info: dict | None = None,
    qc_flags: list[str] | None = None,
    analysis: CountAnalysis | None = None,
    reader_masks: dict[str, np.ndarray] | None = None,
) -> Prediction:
    """Everything after the model, from whole-body probability maps (one per predicted view).

    Lesions of ANT and POST are paired (:func:`view_pairs`, ``Prediction.pairs``), a pair's two records named alike
    where the views' maps name a front and a back bone (:mod:`.pair_names`); the triage score is
    ``Prediction.triage_score`` (the largest covered probability outside the calls a reading rule left out,
    :mod:`.triage`).

    Args:
        scan: the whole-body scan.
        probabilities: view -> float map in [0, 1] of the view's shape.
        coverage: view -> boolean map of the pixels the model saw (default: the whole view).
        settings: post-processing settings; a ``window`` of None is recorded as ``whole`` when every
            coverage map is the whole view, else ``thoracic``.
        model_info: provenance for the report.
        qc_flags: flags raised before (e.g. ``crop_uncertain``).
        analysis: the counts' regions and ANT-POST shift already computed for these settings and this
            engine (:func:`predict_scan` computes it beside the lesion network); None: computed here.
        reader_masks: view -> a reader's outlines, the view's lesions instead of the network's calls (:mod:`.review`).

    Example::

        prediction = predict_from_probabilities(scan, {"ANT": prob_ant, "POST": prob_post})
        prediction.lesions[0].region, prediction.paired_with, prediction.triage_score
    """
    settings = settings or PredictSettings()
    coverage = coverage or {}
    if settings.window is None:  # maps from elsewhere: name the window by what was seen, for the report
        whole = all(np.asarray(coverage.get(view, True)).all() for view in probabilities)
        settings = replace(settings, window="whole" if whole else "thoracic")
    start = time.perf_counter()
    engine = (model_info or {}).get("engine")
    network = settings.region_network(str(engine))  # the lesion model's engine
    if analysis is None or any(view not in analysis.regions for view in probabilities):
        analysis = analyse_counts(scan, list(probabilities), network)
    info = dict(model_info or {})
    info["regions"] = ({"method": "learned", **network.info} if network is not None else
                       {"method": "atlas", "source": "proportional atlas fitted to the body outline (scintiseg.predict.regions)"})
    views: dict[str, ViewPrediction] = {}
    next_id = next_left_out_id = 1
    for view, prob in probabilities.items():
        seen = coverage.get(view, np.ones(scan.shape, dtype=bool))
        views[view] = predict_view(scan, view, np.asarray(prob, dtype=np.float32), seen, settings, next_id,
                                   analysis.regions[view], next_left_out_id, (reader_masks or {}).get(view))
        next_id += len(views[view].lesions)
        next_left_out_id += len(views[view].left_out)
    if network is not None:  # the superscan pattern on the learned map's bones (the atlas's boxes hold soft tissue)
        views = {name: replace(result, axial_to_distal=axial_to_distal(scan.view(name), result.regions, scan.pixel_spacing))
                 for name, result in views.items()}
    flags = list(qc_flags or []) + scan_qc_flags(
        scan, views, head_down=HEAD_DOWN_FLAG in (qc_flags or []),
        no_upright_head=any(str(flag).startswith(NO_UPRIGHT_HEAD_FLAG) for flag in qc_flags or []))
    pairs, shift = view_pairs(scan, views, flags, analysis.shift)
    if pairs:  # one lesion, one name: the bone of the view that sees it brighter where the maps name front and back
        ant, post, renamed = one_name_per_pair(pairs, views["ANT"].lesions, views["POST"].lesions)
        views["ANT"], views["POST"] = (with_lesions_renamed(views[name], lesions, renamed)
                                       for name, lesions in (("ANT", ant), ("POST", post)))
    timings = {"postprocess_s": time.perf_counter() - start}
    return Prediction(scan, views, settings.to_dict(), info, flags, timings, pairs, shift)


def read_head_down(scan: Scan, model: LoadedModel, settings: PredictSettings, network: RegionModel,
                   analysis: CountAnalysis) -> tuple[dict, dict, list[str], CountAnalysis] | None:
    """The lesion maps, flags and count analysis of a scan stored head-down, read turned head-up and carried
    back onto the views as stored; None for a scan that is upright, or not clearly head-down
    (:mod:`.orientation`: the region maps judge it, and a turned scan is mapped only when no whole-body view
    of the stored one shows an upright head)."""
    found = turned_head_up(scan, network, analysis.regions)
    if found is None:
        return None
    turned, regions = found
    probabilities, coverage, flags = model_probabilities(turned, model, settings)
    regions = {view: turned_regions(one) for view, one in regions.items()}
    return (turned_maps(probabilities), turned_maps(coverage), [*flags, HEAD_DOWN_FLAG],
            replace(analysis, regions=regions))


#: What :func:`read_upright` did to a scan: nothing, its rows reversed, or half a turn more.
UPRIGHT_AS_STORED, UPRIGHT_ROWS_REVERSED, UPRIGHT_HALF_TURN = "", HEAD_DOWN_FLAG, STOOD_OTHER_WAY


def read_upright(scan: Scan, network: RegionModel) -> tuple[Scan, str]:
    """``scan`` the way :func:`predict_scan` reads it, for training on a site's scans (``scintiseg adapt``): a view
    stored head-down read with its rows reversed (:data:`UPRIGHT_ROWS_REVERSED`), a body stored lying that the
    reader stood the wrong way turned half a turn more (:data:`UPRIGHT_HALF_TURN`), else as it is
    (:data:`UPRIGHT_AS_STORED`); the region network judges, as in prediction (:mod:`.orientation`)."""
    analysis = analyse_counts(scan, scan.view_names, network)
    other = stood_the_other_way(scan, network, analysis)
    if other is not None:
        return other[0], UPRIGHT_HALF_TURN
    found = turned_head_up(scan, network, analysis.regions)
    return (scan, UPRIGHT_AS_STORED) if found is None else (found[0], UPRIGHT_ROWS_REVERSED)


def upright_reader(settings: PredictSettings | None = None) -> Callable[[Scan], tuple[Scan, str]] | None:
    """:func:`read_upright` with the region network of ``settings`` (default: the shipped one), for the commands
    that read a site's scans for training (``scintiseg adapt``, ``scintiseg dataset import``): the training and
    data-set code does not import prediction, so the command hands the judgement over. None without a region
    network."""
    network = (settings or PredictSettings()).region_network()
    return None if network is None else (lambda scan: read_upright(scan, network))


def region_labeller(settings: PredictSettings | None = None) -> Callable[[Scan], dict[str, np.ndarray]] | None:
    """The learned skeleton-region map of every view of a scan as read (:func:`.region_model.predict_region_maps`,
    the network of ``settings``, default the shipped one), for ``scintiseg adapt --normals``, which places the lesions
    it inserts by metastatic site (:mod:`scintiseg.train.hybrid_site`); ids of :data:`.regions.REGION_IDS` (a network's
    own class order translated; a class it names that the table does not is 0), the bladder's hot spot
    (:func:`.bladder.bladder_mask`) 0: the map names it pelvis or sacrum, and a normal scan's hot bone takes inserted
    lesions where its urine must not. None without a region network."""
    network = (settings or PredictSettings()).region_network()
    if network is None:
        return None
    table = np.asarray([REGION_IDS.get(name, 0) for name in network.classes], dtype=np.int16)

    def label(scan: Scan) -> dict[str, np.ndarray]:
        maps = {}
        for view, labels in predict_region_maps(network, scan).items():
            named = table[labels]
            spot = bladder_mask(np.asarray(scan.view(view)), learned_regions(scan.view(view), view, named),
                                scan.pixel_spacing)
            if spot is not None:
                named[spot] = 0
            maps[view] = named
        return maps

    return label


def stood_the_other_way(scan: Scan, network: RegionModel, analysis: CountAnalysis) -> tuple[Scan, CountAnalysis] | None:
    """A scan stored lying that the reader stood the wrong way, turned the other quarter instead
    (:func:`~.orientation.stood_the_other_quarter`), with its count analysis (the turned scan's region maps and
    ANT-POST shift); else None."""
    found = stood_the_other_quarter(scan, network, analysis.regions)
    return None if found is None else (found[0], _with_shift(*found))


def predict_scan(scan: Scan, model: LoadedModel, settings: PredictSettings | None = None, *,
                 reader_masks: dict[str, np.ndarray] | None = None) -> Prediction:
    """Predict lesions on a whole-body scan with ``model`` (see the module docstring).

    ``reader_masks``: view -> a reader's outlines on the scan as read, that view's lesions (:mod:`.review`).

    A scan whose pixel size was assumed (``scan.metadata["pixel_spacing_assumed"]``: a file with no
    spacing read without one, or a :class:`~scintiseg.scan.Scan` made without one) is predicted with one warning
    saying so: sizes in mm and the resampling to the model's pixel size rest on it.

    Args:
        scan: the scan, read as ``scintiseg predict`` reads a file by
            :func:`~scintiseg.io.read.read_for_prediction` (``read_scan`` alone keeps a side-by-side page one view).
        model: a :class:`~.loader.LoadedModel`: :func:`~.loader.load_model`, or
            :func:`~.loader.model_from_network` around a network of your own.
        settings: threshold, minimum area, window, regions, ... (:class:`~.settings.PredictSettings`; default: the
            command's defaults).

    Returns:
        The :class:`~.prediction.Prediction`: per view the probability, lesion labels, contours and region map; the
        lesions with their measurements, the BSI, triage score and QC flags.

    Raises:
        ScintisegError: an argument of the wrong kind (:func:`check_arguments`), or a scan the model cannot read.

    Example::

        model = load_model()                 # the shipped phantom-trained RDI-Net (paper B), ONNX Runtime
        prediction = predict_scan(read_for_prediction("scan.dcm"), model)
    """
    check_arguments(scan, model, settings)
    settings = settings or PredictSettings()
    settings = replace(settings, window=window_mode(settings, model))
    if scan.metadata.get("pixel_spacing_assumed"):
        row, col = scan.pixel_spacing
        why = scan.metadata["pixel_spacing_assumed"]
        why = f", {why}" if isinstance(why, str) else ""
        if scan.source:  # read from a file that gives none
            said = f"{scan.source}: the file has no measured pixel spacing; assuming {row:g} x {col:g} mm{why} (give " \
                   "the right one with --pixel-spacing)"
        else:  # a Scan made in code without one (scintiseg.scan.Scan)
            said = (f"the scan has no measured pixel spacing; assuming {row:g} x {col:g} mm{why} (give the right one: "
                    "Scan(views, pixel_spacing=(row_mm, col_mm)), or read_for_prediction(path, pixel_spacing=MM))")
        warnings.warn(said, UserWarning, stacklevel=2)
    scan, drawn = without_drawings(scan)
    engine = getattr(model.engine, "name", "?")
    network = settings.region_network(engine)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scintiseg-counts") as pool:
        # A model of input mode "ant" predicts every view: their regions and shift can start now (module docstring).
        counted = pool.submit(analyse_counts, scan, scan.view_names, network) if model.input_mode == "ant" else None
        start = time.perf_counter()
        probabilities, coverage, flags = model_probabilities(scan, model, settings)
        model_s = time.perf_counter() - start
        analysis = counted.result() if counted is not None else None
    if network is not None:  # a scan stored head-down is read turned, its maps turned back (.orientation)
        analysis = analysis or analyse_counts(scan, scan.view_names, network)
        other = stood_the_other_way(scan, network, analysis)
        if other is not None:  # a body stored lying, turned the wrong quarter by the reader: the other quarter
            scan, analysis = other
            probabilities, coverage, flags = model_probabilities(scan, model, settings)
            model_s = time.perf_counter() - start
        head_down = None if other is not None else read_head_down(scan, model, settings, network, analysis)
        if head_down is not None:
            probabilities, coverage, flags, analysis = head_down
            model_s = time.perf_counter() - start
        else:  # views that disagree about the head are read as stored, the one without it flagged (.orientation)
            pixel = tuple(float(s) for s in scan.pixel_spacing)
            flags = [*flags, *(f"{NO_UPRIGHT_HEAD_FLAG}_{view}" for view in views_without_upright_head(analysis.regions, pixel))]
    info = dict(model.info) | {"engine": engine, "input_mode": model.input_mode,
                               "normalisation": model.normalisation, "window_size": model.window_size,
                               "pixel_mm": model.pixel_mm, "window": settings.window}
    flags = [*flags, *(f"{BURNED_IN_FLAG}_{view}" for view in drawn)]
    prediction = predict_from_probabilities(scan, probabilities, coverage, settings, info, flags, analysis, reader_masks)
    prediction.timings["model_s"] = model_s
    return prediction


def check_arguments(scan: object, model: object, settings: object) -> None:
    """Refuse what :func:`predict_scan` cannot take, in one line saying what to pass instead (API audit 74: an array,
    a path, a bare network or a dict of settings failed deep inside with an ``AttributeError``).

    Raises:
        ScintisegError: ``scan`` not a :class:`~scintiseg.scan.Scan`, ``model`` not a
            :class:`~.loader.LoadedModel`, ``settings`` neither None nor :class:`~.settings.PredictSettings`.
    """
    if isinstance(scan, (str, PathLike)):
        raise ScintisegError(f"predict_scan takes a Scan, not a path: read it with read_for_prediction({str(scan)!r})")
    if not isinstance(scan, Scan):
        raise ScintisegError(f"predict_scan takes a Scan, got {_kind(scan)}: read a file with "
                             "read_for_prediction(path), or make one with Scan({'ANT': counts}, pixel_spacing=(row_mm, "
                             "col_mm))")
    if not isinstance(model, LoadedModel):
        how = ("wrap the network with model_from_network(network, pixel_mm=..., window=...)"
               if hasattr(model, "forward") else "load one with load_model() (the shipped model) or load_model(RUN)")
        raise ScintisegError(f"predict_scan's model must be a LoadedModel, got {_kind(model)}: {how}")
    if settings is not None and not isinstance(settings, PredictSettings):
        how = "PredictSettings.from_dict(settings)" if isinstance(settings, dict) else "PredictSettings(threshold=...)"
        raise ScintisegError(f"predict_scan's settings must be PredictSettings or None, got {_kind(settings)}: {how}")


def _kind(value: object) -> str:
    """``numpy.ndarray``, ``RDINet``, ``dict``: what a wrong argument is, for the messages of :func:`check_arguments`."""
    kind = type(value)
    if kind.__module__ == "builtins" or kind.__module__.startswith("scintiseg"):
        return kind.__qualname__
    return f"{kind.__module__.split('.')[0]}.{kind.__qualname__}"


#: QC flag of a view whose burned-in text or graphics were painted over (:mod:`scintiseg.prepare.burned_in`).
BURNED_IN_FLAG = "burned_in_removed"


def without_drawings(scan: Scan) -> tuple[Scan, list[str]]:
    """``scan`` with the text and graphics burned into its 8-bit views painted over (:mod:`scintiseg.prepare.burned_in`),
    and the views that held some; the scan itself when none did."""
    masks = {view: burned_in_mask(image) for view, image in scan.views.items()}
    drawn = [view for view, mask in masks.items() if mask.any()]
    if not drawn:
        return scan, []
    painted = scan.with_views({view: without_burned_in(image, masks[view]) for view, image in scan.views.items()})
    return painted, drawn
