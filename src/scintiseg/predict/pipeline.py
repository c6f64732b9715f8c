"""The prediction pipeline: a whole-body scan in, lesions with contours, regions and BSI out.

    read -> windows (thoracic crop; views aggregated for models that take it) -> model -> sigmoid
         -> whole-body probability per view -> threshold -> small components removed -> closed contours
         -> rasterised lesion map -> region estimate, measurements, BSI, Soloway, QC flags

Everything after the model (:func:`predict_from_probabilities`) works on whole-body probability maps,
so a test can inject a known map, and a future whole-body mode only changes where windows come from
(:mod:`.windows`): overlapping window outputs are averaged per pixel.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage as ndi
from scipy.special import expit

from scintiseg.predict.bsi import bone_scan_index
from scintiseg.predict.contours import Contour, mask_contours, rasterise_contours
from scintiseg.predict.loader import LoadedModel
from scintiseg.predict.measurements import measure_lesions
from scintiseg.predict.postprocess import DEFAULT_MIN_AREA_PX, DEFAULT_THRESHOLD, lesion_components
from scintiseg.predict.prediction import Prediction, ViewPrediction
from scintiseg.predict.regions import estimate_regions
from scintiseg.predict.windows import thoracic_windows
from scintiseg.scan import Scan

#: Below this many counts in a view the scan is flagged ``low_counts`` (physics.md: sites acquire
#: 0.8-4 M counts per view; fewer than 0.8 M makes faint lesions unreliable).
LOW_COUNTS = 800_000


@dataclass
class PredictSettings:
    """Post-processing settings (defaults and their reasons in :mod:`.postprocess`).

    Attributes:
        threshold: probability threshold.
        min_area_px: smallest lesion kept, in pixels.
        window: where the model looks: ``thoracic`` (paper B §2.1; the only mode implemented).
    """

    threshold: float = DEFAULT_THRESHOLD
    min_area_px: int = DEFAULT_MIN_AREA_PX
    window: str = "thoracic"

    def to_dict(self) -> dict:
        return asdict(self)


def model_probabilities(scan: Scan, model: LoadedModel, settings: PredictSettings) -> tuple[dict, dict, list[str]]:
    """Run the model over the scan's windows; whole-body probability and coverage per predicted view."""
    if settings.window != "thoracic":
        raise NotImplementedError(f"window mode {settings.window!r}: only 'thoracic' is implemented")
    windows = thoracic_windows(scan, model.input_mode, model.normalisation, model.window_size)
    logits = model.engine(np.stack([w.image for w in windows]).astype(np.float32))
    probability = expit(logits[:, 0].astype(np.float32))
    sums: dict[str, np.ndarray] = {}
    seen: dict[str, np.ndarray] = {}
    flags: list[str] = []
    for window, prob in zip(windows, probability):
        flags += [f for f in window.qc_flags if f not in flags]
        for view, box in window.boxes.items():
            sums.setdefault(view, np.zeros(scan.shape, dtype=np.float32))
            seen.setdefault(view, np.zeros(scan.shape, dtype=np.float32))
            sums[view][box.slices] += window.model_input.to_view(prob, view)
            seen[view][box.slices] += 1.0
    probabilities = {v: sums[v] / np.maximum(seen[v], 1.0) for v in sums}
    coverage = {v: seen[v] > 0 for v in seen}
    return probabilities, coverage, flags


def predict_view(
    scan: Scan,
    view: str,
    probability: np.ndarray,
    coverage: np.ndarray,
    settings: PredictSettings,
    first_id: int = 1,
) -> ViewPrediction:
    """Post-process one view's whole-body probability map into measured lesions."""
    counts = scan.view(view)
    regions = estimate_regions(counts, view)
    mask = lesion_components(probability, settings.threshold, settings.min_area_px, coverage)
    contours = mask_contours(mask)
    labels = rasterise_contours(contours, mask.shape)
    # A contour whose raster was wholly taken by an earlier one (nested outlines) is dropped.
    present = np.unique(labels[labels > 0])
    if len(present) != len(contours):
        kept: list[Contour] = [contours[i - 1] for i in present]
        contours = kept
        labels = rasterise_contours(contours, mask.shape)
    lesions, reference = measure_lesions(
        labels, counts, probability, regions, scan.pixel_spacing, view, coverage=coverage, first_id=first_id
    )
    index = bone_scan_index(labels > 0, regions, coverage)
    bsi = {"bsi_percent": index.bsi_percent, "covered_mass_percent": index.covered_mass_percent, "bones": index.bones}
    return ViewPrediction(view, probability.astype(np.float32), coverage, labels, contours, lesions, regions, reference, bsi)


def scan_qc_flags(scan: Scan, views: dict[str, ViewPrediction]) -> list[str]:
    """QC flags of the scan and its predicted views (meanings in docs/predict.md)."""
    flags: list[str] = []
    for name, image in scan.views.items():
        if float(np.asarray(image, dtype=np.float64).sum()) < LOW_COUNTS:
            flags.append(f"low_counts_{name}")
    for name, result in views.items():
        flags += [f"{flag}_{name}" for flag in result.regions.flags]
        if not result.regions.bone.any():
            flags.append(f"no_bone_found_{name}")
        inner = ndi.binary_erosion(result.coverage, border_value=1)
        edge = result.coverage & ~inner
        if (result.labels[edge] > 0).any() and not result.coverage.all():
            flags.append(f"lesion_at_window_edge_{name}")
    return flags


def predict_from_probabilities(
    scan: Scan,
    probabilities: dict[str, np.ndarray],
    coverage: dict[str, np.ndarray] | None = None,
    settings: PredictSettings | None = None,
    model_info: dict | None = None,
    qc_flags: list[str] | None = None,
) -> Prediction:
    """Everything after the model, from whole-body probability maps (one per predicted view).

    Args:
        scan: the whole-body scan.
        probabilities: view -> float map in [0, 1] of the view's shape.
        coverage: view -> boolean map of the pixels the model saw (default: the whole view).
        settings: post-processing settings.
        model_info: provenance for the report.
        qc_flags: flags raised before (e.g. ``crop_uncertain``).

    Example::

        prediction = predict_from_probabilities(scan, {"ANT": prob})
        prediction.lesions[0].region
    """
    settings = settings or PredictSettings()
    coverage = coverage or {}
    start = time.perf_counter()
    views: dict[str, ViewPrediction] = {}
    next_id = 1
    for view, prob in probabilities.items():
        seen = coverage.get(view, np.ones(scan.shape, dtype=bool))
        views[view] = predict_view(scan, view, np.asarray(prob, dtype=np.float32), seen, settings, next_id)
        next_id += len(views[view].lesions)
    flags = list(qc_flags or []) + scan_qc_flags(scan, views)
    timings = {"postprocess_s": time.perf_counter() - start}
    return Prediction(scan, views, settings.to_dict(), dict(model_info or {}), flags, timings)


def predict_scan(scan: Scan, model: LoadedModel, settings: PredictSettings | None = None) -> Prediction:
    """Predict lesions on a whole-body scan with ``model`` (see the module docstring).

    Example::

        model = load_model()                 # the shipped phantom-trained DPU-Net
        prediction = predict_scan(read_scan("scan.dcm"), model)
    """
    settings = settings or PredictSettings()
    start = time.perf_counter()
    probabilities, coverage, flags = model_probabilities(scan, model, settings)
    model_s = time.perf_counter() - start
    info = dict(model.info) | {"engine": getattr(model.engine, "name", "?"), "input_mode": model.input_mode,
                               "normalisation": model.normalisation, "window_size": model.window_size}
    prediction = predict_from_probabilities(scan, probabilities, coverage, settings, info, flags)
    prediction.timings["model_s"] = model_s
    return prediction
