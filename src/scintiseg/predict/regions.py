"""A skeleton-region estimate on a whole-body planar scan: a proportional atlas fitted to the body outline.

Clinical products (EXINI aBSI, BONENAVI; landscape.md) segment the skeleton into regions before they
score hotspots. Learning that needs labelled skeletons we do not have, so scintiseg uses a documented
*proportional atlas*: human bones sit at nearly fixed fractions of body height (the classical "eight
heads" canon), and planar bone scans are acquired supine, arms at the sides, head up.

Steps (all on one view):

1. **Body mask**: the counts smoothed with a Gaussian (sigma 3 px) above ``BODY_FRACTION`` (10 %) of
   their 95th percentile. On NEMA NM1 this finds the body from row 86 to 856 (1.74 m at 2.26 mm).
2. **Body height** ``H`` = rows from the top of the head to the soles; ``u = (row - top) / H`` runs from 0
   (vertex) to 1 (soles). **Midline** = median over the torso rows (u in 0.2-0.45) of the middle of the
   body mask's left and right edges. ``v = (col - midline) / H`` is the signed lateral distance.
3. **Atlas**: each region is a box in ``(u, |v|)`` (see :data:`ATLAS`); laterality comes from the sign of
   ``v`` and the view (ANT shows the patient's right on the image left; POST, stored as acquired, the
   other way round). The sternum exists only on ANT and the scapulae only on POST (where they lie on the
   detector side); on the other view those boxes fall back to spine and ribs.
4. **Bone mask**: counts smoothed with sigma 1 px above the Otsu threshold of the smoothed body pixels.

Limits (stated in the report): an atlas, not a segmentation; it assumes an adult, supine, arms at the
sides, the whole body in the field of view. A body that touches the top or bottom edge of the image is
flagged (``body_truncated``) because ``u`` is then wrong. A view that holds less than a whole body
(:data:`PARTIAL_VIEW_MM`: a region crop, a spot view, a thoracic crop) gets no bone names at all
(:func:`partial_view`, flag ``partial_view``), from the atlas or the learned map. Its accuracy against the phantom's ground-truth
region maps is measured in ``tests/predict/test_regions.py`` and recorded in docs/predict.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy import ndimage as ndi
from skimage.filters import threshold_otsu

# A body (vertex to soles as :func:`fit_body` finds them) shorter than this is a partial field of view: no bones named.
from scintiseg.scan import PARTIAL_VIEW_MM

#: Region ids (index) and names of the label map; 0 is "other" (soft tissue or outside the atlas). Ids and
#: names are those of the phantom's ground-truth region maps (:mod:`scintiseg.phantom.regions`).
REGION_NAMES: tuple[str, ...] = (
    "other",
    "skull",
    "mandible",
    "cervical_spine",
    "thoracic_spine",
    "lumbar_spine",
    "sacrum",
    "ribs_left",
    "ribs_right",
    "sternum",
    "clavicle_left",
    "clavicle_right",
    "scapula_left",
    "scapula_right",
    "humerus_left",
    "humerus_right",
    "forearm_left",
    "forearm_right",
    "hand_left",
    "hand_right",
    "pelvis",
    "femur_left",
    "femur_right",
    "tibia_fibula_left",
    "tibia_fibula_right",
    "foot_left",
    "foot_right",
)
REGION_IDS: dict[str, int] = {name: index for index, name in enumerate(REGION_NAMES)}
#: Regions named once (no side suffix) that hold a pair of bones: the pelvis, both hemipelves (the phantom's region
#: map and the atlas draw it as one box across the midline). A lesion's ``laterality`` there says which bone of the
#: pair it lies on, so the words (:mod:`scintiseg.report.findings_text`) and the body diagram
#: (:mod:`scintiseg.report.body_diagram`) give it, as a paired bone's suffix gives its side (audit 74, finding 11:
#: "Pelvis: 1 lesion" where the table said right). The spine, sacrum, skull, mandible and sternum are single bones:
#: a side there is a position within the bone, left to the table and the SR.
HALVED_REGIONS: tuple[str, ...] = ("pelvis",)

#: Atlas boxes ``(region, u_min, u_max, |v|_min, |v|_max, views)`` in priority order (first match wins).
#: ``region`` without a side suffix is midline; ``*`` is replaced by ``right``/``left``.
#: Fractions start from the eight-heads canon (head 1/8 of height; shoulders ~0.19; elbows ~0.38; knees
#: ~0.72; ankles ~0.95) and were tuned on the extents of the phantom's ground-truth regions (seed 0,
#: default profile: 5th-95th percentiles of u and |v| per region); docs/predict.md gives the agreement.
ATLAS: tuple[tuple[str, float, float, float, float, tuple[str, ...]], ...] = (
    ("mandible", 0.105, 0.14, 0.0, 0.04, ("ANT", "POST", "VIEW")),
    ("skull", 0.0, 0.125, 0.0, 0.09, ("ANT", "POST", "VIEW")),
    ("cervical_spine", 0.125, 0.187, 0.0, 0.03, ("ANT", "POST", "VIEW")),
    ("clavicle_*", 0.185, 0.215, 0.02, 0.095, ("ANT", "POST", "VIEW")),
    ("humerus_*", 0.185, 0.385, 0.085, 0.20, ("ANT", "POST", "VIEW")),
    ("sternum", 0.20, 0.31, 0.0, 0.018, ("ANT",)),
    ("thoracic_spine", 0.187, 0.35, 0.0, 0.025, ("ANT", "POST", "VIEW")),
    ("scapula_*", 0.215, 0.29, 0.03, 0.085, ("POST",)),
    ("lumbar_spine", 0.35, 0.45, 0.0, 0.035, ("ANT", "POST", "VIEW")),
    ("ribs_*", 0.187, 0.375, 0.0, 0.085, ("ANT", "POST", "VIEW")),
    ("forearm_*", 0.385, 0.52, 0.085, 0.25, ("ANT", "POST", "VIEW")),
    ("hand_*", 0.52, 0.62, 0.085, 0.25, ("ANT", "POST", "VIEW")),
    ("sacrum", 0.45, 0.525, 0.0, 0.023, ("ANT", "POST", "VIEW")),
    ("pelvis", 0.40, 0.50, 0.0, 0.085, ("ANT", "POST", "VIEW")),
    ("femur_*", 0.50, 0.715, 0.0, 0.085, ("ANT", "POST", "VIEW")),
    ("tibia_fibula_*", 0.715, 0.945, 0.0, 0.095, ("ANT", "POST", "VIEW")),
    ("foot_*", 0.945, 1.02, 0.0, 0.12, ("ANT", "POST", "VIEW")),
)

#: Body mask threshold as a fraction of the 95th percentile of the smoothed counts.
BODY_FRACTION: float = 0.10
#: Region name of a lesion on a partial view, whose bones are not named; its laterality is :data:`UNKNOWN_SIDE`.
UNNAMED = "unnamed"
UNKNOWN_SIDE = "unknown"
#: Gaussian sigmas (px) for the body and bone masks.
BODY_SIGMA: float = 3.0
BONE_SIGMA: float = 1.0


@dataclass
class SkeletonRegions:
    """The region estimate of one view.

    Attributes:
        view: the view it belongs to.
        labels: int16 map of region ids (:data:`REGION_NAMES`), 0 = other.
        bone: boolean bone mask (counts above the Otsu threshold of the body).
        body: boolean body mask.
        top, bottom: first and last body rows (vertex and soles).
        midline: column of the body midline (float).
        flags: QC flags raised while fitting (``body_truncated``, ``no_body``, ``partial_view``).
        named: False for a partial field of view (:func:`partial_view`): ``labels`` is all 0 and every lesion's
            region is :data:`UNNAMED`, its side :data:`UNKNOWN_SIDE`.
    """

    view: str
    labels: np.ndarray
    bone: np.ndarray
    body: np.ndarray
    top: int
    bottom: int
    midline: float
    flags: list[str] = field(default_factory=list)
    named: bool = True

    @property
    def height(self) -> int:
        return self.bottom - self.top + 1

    def region_of(self, mask: np.ndarray) -> str:
        """The region holding most of ``mask``'s pixels (``other`` only when no atlas region is hit;
        :data:`UNNAMED` on a partial view)."""
        if not self.named:
            return UNNAMED
        ids = self.labels[np.asarray(mask, dtype=bool)]
        ids = ids[ids > 0]
        if ids.size == 0:
            return REGION_NAMES[0]
        return REGION_NAMES[int(np.bincount(ids).argmax())]

    def laterality(self, col: float) -> str:
        """``right``, ``left`` or ``midline`` (within 1 % of body height of the midline) of a column;
        :data:`UNKNOWN_SIDE` on a partial view (a half-chest crop has no midline to measure from)."""
        if not self.named:
            return UNKNOWN_SIDE
        offset = (col - self.midline) / max(self.height, 1)
        if abs(offset) < 0.01:
            return "midline"
        image_left = offset < 0
        # ANT (and an unnamed view, assumed anterior): the patient's right is on the image left.
        patient_right = image_left if self.view != "POST" else not image_left
        return "right" if patient_right else "left"




def partial_view(regions: SkeletonRegions, row_mm: float) -> SkeletonRegions:
    """``regions`` as they are for a whole-body view; for a body shorter than :data:`PARTIAL_VIEW_MM` (rows of
    ``row_mm``), the same with no bone named: labels all 0 (so the BSI covers no bone), ``named`` False, flag
    ``partial_view``. The bone mask is kept: the lesion-to-normal-bone ratio still has its reference."""
    if not regions.named or "no_body" in regions.flags or regions.height * float(row_mm) >= PARTIAL_VIEW_MM:
        return regions
    return replace(regions, labels=np.zeros_like(regions.labels), named=False, flags=[*regions.flags, "partial_view"])


#: A piece of the body mask no taller than this share of the image's rows, lying wholly above or below the
#: largest piece by more than this share of the rows, is burned-in text or a marker, not the body (:func:`without_stray_bands`).
STRAY_BAND_SHARE: float = 0.02


def without_stray_bands(body: np.ndarray) -> np.ndarray:
    """``body`` without thin pieces beyond its ends: burned-in text ("ANT", a name, a date) or a marker above the
    head or below the feet of a screen capture, which made the body reach the image's edge (a false
    ``body_truncated``) and longer than it is (a partial field taken for a whole body). A detached head is taller
    (15 cm and more) and feet lie close to the legs, so both stay (session 21)."""
    pieces, count = ndi.label(body)
    if count < 2:
        return body
    rows = body.shape[0]
    sizes = ndi.sum(body, pieces, range(1, count + 1))
    main = int(np.argmax(sizes)) + 1
    spans = ndi.find_objects(pieces)
    main_top, main_bottom = spans[main - 1][0].start, spans[main - 1][0].stop - 1
    limit = STRAY_BAND_SHARE * rows
    stray = [index for index, span in enumerate(spans, start=1)
             if index != main and span[0].stop - span[0].start <= limit
             and (main_top - (span[0].stop - 1) > limit or span[0].start - main_bottom > limit)]
    return body & ~np.isin(pieces, stray) if stray else body


def fit_body(counts: np.ndarray) -> tuple[np.ndarray, int, int, float, list[str]]:
    """Steps 1-2 of the module docstring: ``(body mask, top row, bottom row, midline column, flags)``.

    ``flags`` holds ``no_body`` (then top and bottom are the image's first and last rows and the midline its
    centre) or ``body_truncated`` (the body touches the top or bottom edge).
    """
    counts = np.asarray(counts, dtype=np.float32)
    rows, cols = counts.shape
    flags: list[str] = []
    smooth = ndi.gaussian_filter(counts, BODY_SIGMA)
    level = BODY_FRACTION * float(np.percentile(smooth, 95))
    body = smooth > level if level > 0 else np.zeros_like(smooth, dtype=bool)
    body = without_stray_bands(body)
    body_rows = np.flatnonzero(body.any(axis=1))
    if body_rows.size == 0:
        return body, 0, rows - 1, cols / 2.0, ["no_body"]
    top, bottom = int(body_rows[0]), int(body_rows[-1])
    if top <= 1 or bottom >= rows - 2:
        flags.append("body_truncated")
    height = bottom - top + 1
    # Midline: median centre of the body's left/right edges over the torso.
    torso = body[top + int(0.2 * height):top + int(0.45 * height) + 1]
    filled = torso.any(axis=1)
    first = torso.argmax(axis=1)[filled]
    last = cols - 1 - torso[:, ::-1].argmax(axis=1)[filled]
    midline = float(np.median((first + last) / 2.0)) if filled.any() else cols / 2.0
    return body, top, bottom, midline, flags


def learned_regions(image: np.ndarray, view: str, labels: np.ndarray) -> SkeletonRegions:
    """The regions of one view with the learned map (:mod:`.region_model`) in place of the atlas boxes.

    The body outline, vertex, soles and midline still come from :func:`fit_body` (laterality of a midline
    bone and the QC flags use them; the atlas boxes and its bone threshold are not computed); the labels are
    the network's, and the bone mask is where it
    names a bone (the phantom's truth: a bone's pixels grown by 2 px for the camera's blur), which is what
    the BSI's involvement fractions are measured against.
    """
    labels = np.asarray(labels, dtype=np.int16)
    if labels.shape != np.shape(image):
        raise ValueError(f"labels {labels.shape} and image {np.shape(image)} differ in shape")
    body, top, bottom, midline, flags = fit_body(image)
    return SkeletonRegions(view, labels, labels > 0, body, top, bottom, midline, flags)


def estimate_regions(image: np.ndarray, view: str = "ANT") -> SkeletonRegions:
    """Fit the proportional atlas to one whole-body view.

    Args:
        image: 2-D counts of a whole-body view (head at the top).
        view: ``"ANT"``, ``"POST"`` or ``"VIEW"`` (treated as ANT for laterality).

    Returns:
        The :class:`SkeletonRegions` of that view.

    Example::

        regions = estimate_regions(scan.view("ANT"), "ANT")
        regions.region_of(lesion_mask)   # e.g. "ribs_left"
    """
    counts = np.asarray(image, dtype=np.float32)
    rows, cols = counts.shape
    body, top, bottom, midline, flags = fit_body(counts)
    if "no_body" in flags:
        return SkeletonRegions(view, np.zeros(counts.shape, dtype=np.int16), np.zeros_like(body), body, top, bottom,
                               midline, flags)
    height = bottom - top + 1

    u = (np.arange(rows, dtype=np.float32)[:, None] - top) / height
    v = (np.arange(cols, dtype=np.float32)[None, :] - midline) / height
    abs_v = np.abs(v)
    image_left = v < 0
    patient_right = image_left if view != "POST" else ~image_left

    labels = np.zeros(counts.shape, dtype=np.int16)
    assigned = np.zeros(counts.shape, dtype=bool)
    for name, u0, u1, v0, v1, views in ATLAS:
        if view not in views:
            continue
        box = (u >= u0) & (u < u1) & (abs_v >= v0) & (abs_v < v1) & ~assigned
        if name.endswith("*"):
            base = name[:-1]
            labels[box & patient_right] = REGION_IDS[base + "right"]
            labels[box & ~patient_right] = REGION_IDS[base + "left"]
        else:
            labels[box] = REGION_IDS[name]
        assigned |= box

    bone_smooth = ndi.gaussian_filter(counts, BONE_SIGMA)
    body_values = bone_smooth[body]
    bone_level = threshold_otsu(body_values) if np.ptp(body_values) > 0 else np.inf
    bone = (bone_smooth > bone_level) & body
    return SkeletonRegions(view, labels, bone, body, top, bottom, midline, flags)
