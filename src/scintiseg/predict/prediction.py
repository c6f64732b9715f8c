"""What prediction produces: per-view probability, contours, lesion records, and the per-scan summary.

Every array is in the *whole-body* coordinates of its view as acquired (POST not mirrored), whatever
window the model looked at, so outputs overlay the scan a clinic has.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scintiseg.io.predicted_labels import LEFT_OUT_LABEL
from scintiseg.predict.bsi import reader_bones, scan_bone_index
from scintiseg.predict.contours import Contour
from scintiseg.predict.measurements import LesionMeasurement
from scintiseg.predict.pairing import LesionPair
from scintiseg.predict.regions import SkeletonRegions
from scintiseg.predict.rule_calls import RULE_TEXT, LeftOutCall
from scintiseg.predict.superscan import superscan_pattern
from scintiseg.predict.triage import largest_probability
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
        axial_to_distal: the median counts of the axial bones over those of the lower legs, the superscan
            pattern's measure (:mod:`.superscan`); NaN where not measured (a crop, no lower legs in the field, bones
            named by the atlas).
        left_out: the calls the reading rules left out, with their outlines and measurements, for the reader to
            review (:class:`~.rule_calls.LeftOutCall`; :attr:`spine_pattern_calls`, :attr:`symmetric_calls` and
            :attr:`bladder_calls` count them).
        aside: the pixels the triage score sets aside, the left-out calls and the network's response around them
            (:func:`~.triage.set_aside`); None: none (:attr:`triage_score` is then :attr:`max_probability`).
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
    axial_to_distal: float = float("nan")
    left_out: list[LeftOutCall] = field(default_factory=list)
    aside: np.ndarray | None = None

    @property
    def spine_pattern_calls(self) -> int:
        """The network's calls on the spine left out as its normal segmental pattern (no hotter than the vertebrae
        above and below, :mod:`.spine_pattern`)."""
        return sum(call.rule == "spine_pattern" for call in self.left_out)

    @property
    def symmetric_calls(self) -> int:
        """The network's calls in a paired bone left out because their mirror image across the skeleton's midline
        matches them (:mod:`.symmetry`)."""
        return sum(call.rule == "symmetric" for call in self.left_out)

    @property
    def bladder_calls(self) -> int:
        """The network's calls left out because they cover much of the bladder's hot spot (the urine,
        :func:`.bladder.bladder_calls`)."""
        return sum(call.rule == "bladder" for call in self.left_out)

    @property
    def distal_arm_calls(self) -> int:
        """The network's calls left out because they lie at an elbow, forearm or hand (the injection site or a joint
        more often than a metastasis, :mod:`.distal_arm`)."""
        return sum(call.rule == "distal_arm" for call in self.left_out)

    @property
    def off_skeleton_calls(self) -> int:
        """The network's calls left out because they lie off the skeleton, in the soft tissue (:mod:`.off_skeleton`)."""
        return sum(call.rule == "off_skeleton" for call in self.left_out)

    @property
    def mask(self) -> np.ndarray:
        return self.labels > 0

    @property
    def max_probability(self) -> float:
        """The network's largest lesion probability among the pixels the model covered.

        A pixel outside ``coverage`` does not count, whatever its value (the model never looked there). 0
        when nothing was covered.
        """
        return largest_probability(self.probability, self.coverage)

    @property
    def triage_score(self) -> float:
        """The view's triage score: the largest lesion probability among the pixels the model covered, the calls a
        reading rule left out and the network's response around them set aside (:attr:`aside`, :mod:`.triage`).
        A ranking score, not a calibrated probability (docs/predict.md, "Triage score")."""
        return largest_probability(self.probability, self.coverage, self.aside)

    def annotation(self) -> Annotation:
        """LabelMe annotation: one ``lesion`` polygon per lesion, ``group_id`` = lesion id; the description names
        the region and, for a marked lesion, what it lies beside (``lesion 3: pelvis (beside bladder)``). Then one
        :data:`~scintiseg.io.predicted_labels.LEFT_OUT_LABEL` polygon per left-out call, ``group_id`` = its id, the
        description naming the rule (``left out x2: pelvis, a symmetric pattern ...; relabel lesion to restore``): a
        data set reads only its lesion labels, so such a shape is no lesion until a reader relabels it."""
        shapes = [
            contour.to_shape(label="lesion", group_id=lesion.id, description=f"lesion {lesion.id}: {lesion.region}"
                             + (f" (beside {lesion.beside.replace('_', ' ')})" if lesion.beside else ""))
            for contour, lesion in zip(self.contours, self.lesions)
        ]
        shapes += [
            call.contour.to_shape(label=LEFT_OUT_LABEL, group_id=call.id,
                                  description=f"left out x{call.id}: {call.measurement.region}, "
                                              f"{RULE_TEXT.get(call.rule, call.rule)}; relabel lesion to restore")
            for call in self.left_out
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
        pairs: lesions seen in both views, one ANT and one POST lesion each (:mod:`.pairing`).
        pairing_shift: the (rows, cols) shift that put the mirrored POST on ANT for the pairing; None when
            no pairing was done (one view, or views too far apart to align).
        review: None for the network's own reading; for a reading whose outlines a reader edited
            (:mod:`.review`), what changed: per view the network's lesions kept, edited, deleted and the ones drawn,
            and each lesion's origin.
    """

    scan: Scan
    views: dict[str, ViewPrediction]
    settings: dict
    model_info: dict
    qc_flags: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    pairs: list[LesionPair] = field(default_factory=list)
    pairing_shift: tuple[float, float] | None = None
    review: dict | None = None

    @property
    def lesions(self) -> list[LesionMeasurement]:
        return [lesion for view in self.views.values() for lesion in view.lesions]

    @property
    def lesion_count(self) -> int:
        """Lesions of the view with most lesions (views see the same skeleton; summing would count twice)."""
        return max((len(v.lesions) for v in self.views.values()), default=0)

    @property
    def distinct_lesion_count(self) -> int:
        """The distinct lesions over every view: a lesion seen in both views (an ANT-POST pair) counted once
        (session 62: the SR's "Number of lesions" and the page's row; :attr:`lesion_count`, the view with most, stays
        the Soloway grade's count, as the grade was measured with it)."""
        return sum(len(v.lesions) for v in self.views.values()) - len(self.pairs)

    @property
    def triage_score(self) -> float:
        """The scan's triage score: the largest :attr:`ViewPrediction.triage_score` over its views (0 without views).

        Sorting a worklist by it puts the scans the model is surest hold a lesion first. It is a ranking
        score, not the calibrated probability that the scan holds a lesion, unless measured so.
        """
        return max((view.triage_score for view in self.views.values()), default=0.0)

    @property
    def paired_with(self) -> dict[int, int]:
        """Lesion id -> the id of the same lesion in the other view, for every paired lesion (both ways)."""
        partners = {pair.ant_id: pair.post_id for pair in self.pairs}
        return partners | {post: ant for ant, post in partners.items()}

    @property
    def superscan_pattern(self) -> bool:
        """Whether the scan shows the superscan pattern (:func:`~scintiseg.predict.superscan.superscan_pattern`):
        its axial skeleton far brighter than its lower legs; the Soloway grade is then 4."""
        return superscan_pattern({name: view.axial_to_distal for name, view in self.views.items()})

    @property
    def bsi_given(self) -> bool:
        """Whether the scan has a BSI: False when a view is a partial view (a crop or spot view, whose bones are
        not named: :func:`~scintiseg.predict.regions.partial_view`) or shows no skeleton (:attr:`views_without_skeleton`);
        :attr:`bsi_percent` then reads 0."""
        return all(view.regions.named for view in self.views.values()) and not self.views_without_skeleton

    @property
    def views_without_skeleton(self) -> list[str]:
        """The views where no body or no bone was found (QC flags ``no_body`` / ``no_bone_found``: a blank, failed
        or non-bone image): no BSI or grade is given for such a scan, where 0 would read as a normal skeleton
        (session 62; before, a blank image was reported as BSI 0, Soloway 0)."""
        return [name for name, view in self.views.items()
                if "no_body" in view.regions.flags or not view.regions.bone.any()]

    @property
    def bsi_percent(self) -> float:
        """The scan's Bone Scan Index in percent of the whole skeleton's mass (Spiers shares summing to 100.1): every
        bone's involved fraction x its share, summed over the views' bones, each bone from the view nearer to it
        (spine, sacrum, scapulae from POST; sternum, clavicles from ANT), every other bone the mean of the views
        (:func:`~scintiseg.predict.bsi.scan_bone_index`); one view predicted: that view's. Only the bone the model
        saw counts (:attr:`covered_mass_percent`; the whole skeleton with a whole-view model, a lower bound with a
        thoracic-crop one). 0 where no BSI is given (:attr:`bsi_given` False: a partial view, no skeleton found). In a
        reviewed reading a bone holding an outline the reader drew, restored or edited, involved on one view only, is
        read from that view."""
        return scan_bone_index({name: v.bsi["bones"] for name, v in self.views.items()}, self.reader_bones)[0]

    @property
    def covered_mass_percent(self) -> float:
        """The skeletal mass the model saw (%), the views combined per bone as :attr:`bsi_percent` combines them."""
        return scan_bone_index({name: v.bsi["bones"] for name, v in self.views.items()}, self.reader_bones)[1]

    @property
    def reader_bones(self) -> frozenset[str]:
        """The bone groups holding an outline a reader drew, restored or edited, or kept alone (:func:`~.bsi.reader_bones`);
        empty for the network's own reading."""
        review = self.review or {}
        return reader_bones(self.lesions, review.get("origin") or {}, review.get("kept_alone") or ())
