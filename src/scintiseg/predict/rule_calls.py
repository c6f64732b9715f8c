"""The calls a reading rule leaves out: what :mod:`.spine_pattern` and :mod:`.symmetry` share.

A reading rule judges each call (an 8-connected component of the lesion mask) whose majority learned region it
reads, by the ratio of the call's peak to a reference read elsewhere on the view's counts (smoothed by a Gaussian of
sigma 1 pixel: noise), and leaves the call out when the ratio is below its cut; a ratio of NaN (nothing to compare
with) keeps the call. A view without named bones (a crop) is not judged.

Left out is not thrown away (:class:`LeftOutCall`): each call a rule leaves out is kept with its outline, its
measurements and the rule's name, so that the report shows it apart from the lesions (dashed, numbered ``x1``,
``x2``, ...; report.json ``left_out_calls``; LabelMe label :data:`scintiseg.io.predicted_labels.LEFT_OUT_LABEL`,
which no data set reads as a lesion) and a reader who judges it a lesion restores it by relabelling it ``lesion``
(issue 15: hard negatives "reported separately so a user can see them"). It counts in no lesion count, BSI, Soloway
grade or DICOM SR / GSPS.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from scintiseg.predict.contours import Contour
from scintiseg.predict.measurements import LesionMeasurement
from scintiseg.predict.regions import SkeletonRegions

#: What each rule's name means, for the report (the rules' modules say why and how they judge).
RULE_TEXT: dict[str, str] = {
    "spine_pattern": "the spine's segmental pattern (not clearly hotter than the vertebrae above and below)",
    "symmetric": "a symmetric pattern (matched by the same uptake at the mirror spot of the other side)",
    "bladder": "the bladder's activity (covering much of the bladder's hot spot: urine, not a lesion beside it)",
    "distal_arm": "at an elbow, forearm or hand (on an arm's bone or none, within 20 mm of a forearm or hand: more "
                  "often the injection site or a degenerative joint than a metastasis)",
    "off_skeleton": "off the skeleton (mostly more than 10 mm from every bone: a hot spot of the soft tissue, such as "
                    "urine on the skin, an injection or a lymph node, not a bone lesion)",
}


@dataclass(frozen=True)
class LeftOutCall:
    """A network call a reading rule left out, kept for the reader (module docstring).

    Attributes:
        rule: the rule that left it out, a key of :data:`RULE_TEXT`.
        contour: its outline, as a lesion's (:mod:`.contours`).
        measurement: its record as a lesion's (:func:`~.measurements.measure_lesions`, the view's normal-bone
            reference); ``id`` numbers the scan's left-out calls (shown ``x1``, ``x2``, ...; apart from the lesions'
            ids), ``bsi_contribution_percent`` is what it would add to its view's BSI were it restored (counted in
            no BSI).
    """

    rule: str
    contour: Contour
    measurement: LesionMeasurement

    @property
    def id(self) -> int:
        return self.measurement.id

    def to_dict(self) -> dict:
        """report.json's ``left_out_calls`` record: the measurement, the rule and the outline."""
        record = self.measurement.to_dict()
        record.pop("beside", None)
        record["rule"] = self.rule
        record["contour"] = self.contour.to_list()
        return record

#: ``ratio(smooth, call, region)``: the call's peak over the rule's reference (NaN: not judged).
Ratio = Callable[[np.ndarray, np.ndarray, int], float]


def calls_left_out(counts: np.ndarray, mask: np.ndarray, regions: SkeletonRegions, judged: Collection[int],
                   ratio: Ratio, cut: float) -> np.ndarray:
    """The pixels of ``mask``'s components whose majority region of ``regions`` is in ``judged`` and whose ``ratio``
    is below ``cut`` (module docstring); the counts are smoothed once, when the first call is judged."""
    out = np.zeros(mask.shape, dtype=bool)
    if not regions.named or not mask.any():
        return out
    components, count = ndi.label(mask, structure=np.ones((3, 3)))
    labels = np.asarray(regions.labels)
    smooth = None
    for index in range(1, count + 1):
        call = components == index
        region = int(np.bincount(labels[call].astype(np.int64)).argmax())
        if region not in judged:
            continue
        if smooth is None:
            smooth = ndi.gaussian_filter(np.asarray(counts, dtype=np.float64), 1.0)
        if ratio(smooth, call, region) < cut:
            out |= call
    return out
