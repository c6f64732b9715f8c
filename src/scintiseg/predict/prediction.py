"""What prediction produces: per-view probability, contours, lesion records, and the per-scan summary.

Every array is in the *whole-body* coordinates of its view as acquired (POST not mirrored), whatever
window the model looked at, so outputs overlay the scan a clinic has.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scintiseg.predict.contours import Contour
from scintiseg.predict.measurements import LesionMeasurement
from scintiseg.predict.regions import SkeletonRegions
from scintiseg.scan import Annotation, Scan


@dataclass
class ViewPrediction:
    """The result on one view.

    Attributes:
        view: ``ANT``, ``POST`` or ``VIEW``.
        probability: float32 lesion probability (0 outside ``coverage``).
        coverage: boolean map of the pixels the model saw (the thoracic crop box, or the whole view).
        labels: int32 map, lesion k of this view = k (the rasterised contours, :mod:`.contours`).
        contours: one closed contour per lesion, in label order.
        lesions: the lesion records, in label order.
        regions: the skeleton-region estimate.
        reference_counts: normal-bone reference (median counts) used for the lesion-to-bone ratios.
        bsi: the BSI of this view (:class:`~scintiseg.predict.bsi.BoneIndex` as a dict).
    """

    view: str
    probability: np.ndarray
    coverage: np.ndarray
    labels: np.ndarray
    contours: list[Contour]
    lesions: list[LesionMeasurement]
    regions: SkeletonRegions
    reference_counts: float | None
    bsi: dict

    @property
    def mask(self) -> np.ndarray:
        return self.labels > 0

    def annotation(self) -> Annotation:
        """LabelMe annotation: one ``lesion`` polygon per lesion, ``group_id`` = lesion id."""
        shapes = [
            contour.to_shape(label="lesion", group_id=lesion.id, description=f"lesion {lesion.id}: {lesion.region}")
            for contour, lesion in zip(self.contours, self.lesions)
        ]
        return Annotation(shapes=shapes, image_shape=self.labels.shape, view=self.view)


@dataclass
class Prediction:
    """The result on one scan.

    Attributes:
        scan: the scan as read (whole body).
        views: view name -> :class:`ViewPrediction` (only the views the model predicted).
        settings: threshold, minimum area, input mode, window and engine used.
        model_info: what the model is (name, source, training data, the synthetic-data disclaimer).
        qc_flags: quality-control flags (``crop_uncertain``, ``body_truncated``, ``low_counts``, ...).
        timings: seconds per stage.
    """

    scan: Scan
    views: dict[str, ViewPrediction]
    settings: dict
    model_info: dict
    qc_flags: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def lesions(self) -> list[LesionMeasurement]:
        return [lesion for view in self.views.values() for lesion in view.lesions]

    @property
    def lesion_count(self) -> int:
        """Lesions of the view with most lesions (views see the same skeleton; summing would count twice)."""
        return max((len(v.lesions) for v in self.views.values()), default=0)

    @property
    def bsi_percent(self) -> float:
        """Mean BSI over the predicted views (:mod:`.bsi`)."""
        values = [v.bsi["bsi_percent"] for v in self.views.values()]
        return float(np.mean(values)) if values else 0.0

    @property
    def covered_mass_percent(self) -> float:
        values = [v.bsi["covered_mass_percent"] for v in self.views.values()]
        return float(np.mean(values)) if values else 0.0
