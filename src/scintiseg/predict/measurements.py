"""Per-lesion measurements: what EANM asks a report to give (location, size, shape, intensity, number).

For each lesion (a label of the rasterised-contour map, :mod:`.contours`) on one view:

- **area** in pixels and in mm^2 (pixels x row spacing x column spacing);
- **counts**: total, maximum and mean of the *raw counts* of the view under the lesion (the scan as read,
  not the model's normalised input);
- **lesion-to-normal-bone ratio**: mean lesion counts / reference counts. Reference region (a choice, as
  the papers give none): the median counts of the view's bone-mask pixels (:mod:`.regions`) that the
  model saw, excluding every lesion dilated by 2 px; if that is empty, the bone-mask median over the
  whole view. The median makes it robust to hot spots the model missed;
- **probability**: mean and maximum of the model's probability over the lesion;
- **shape**: centroid (row, col), bounding box, equivalent diameter (mm) and eccentricity;
- **location**: atlas region and laterality (:mod:`.regions`) and the BSI contribution of the lesion: its
  pixels' share of each bone group they lie in x that group's Spiers weight, summed (:mod:`.bsi`), so that a
  view's lesions add up to its BSI where no bone is wholly involved. (Until session 44 only the pixels in the
  lesion's own bone counted, and a lesion across two bones, the sacrum and an iliac bone, added less than its
  pixels do.)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage as ndi
from skimage.measure import regionprops

from scintiseg.predict.bsi import BONE_GROUPS
from scintiseg.predict.regions import REGION_IDS, SkeletonRegions

#: Dilation (px) around lesions excluded from the normal-bone reference.
REFERENCE_MARGIN_PX: int = 2


@dataclass
class LesionMeasurement:
    """The record of one lesion on one view (what ``Prediction.lesions`` holds); ``to_dict`` gives the JSON form used
    in report.json (``bbox`` a list there).

    Frame: every pixel position (``centroid_*``, ``bbox``) is a (row, column) of ``prediction.scan.view(view)``, the
    view as read (:func:`scintiseg.io.read.read_for_prediction`: a page of two views is cut, so a POST column counts
    from the POST view's own left edge, not the page's; a body stored lying is stood), at the scan's own pixel size
    (not the model's: the maps are carried back onto the scan's grid). A scan stored head-down is read turned and its
    maps turned back, so positions stay on the image as read; ``prediction.scan`` differs from the scan given only
    for a body stored lying that the reader stood the wrong way (it is then the other quarter). Row 0 is the top row,
    column 0 the image's left edge as displayed (on ANT the patient's right side, on POST the patient's left).

    Attributes:
        id: unique over the scan, numbered on from 1 view after view; the LabelMe shape's ``group_id``.
        view: ``ANT`` or ``POST`` (``VIEW``: an unnamed one-view image, read as anterior).
        region: the bone that holds most of the lesion's pixels, a name of
            :data:`scintiseg.phantom.regions.REGION_NAMES` (``skull``, ``thoracic_spine``, ``ribs_left``, ``pelvis``,
            ...), ``other`` when it lies on no atlas region, ``unnamed`` on a partial view (a crop: no bone named).
        laterality: the patient's side: ``left``, ``right``, ``midline`` (centroid within 1 % of body height of the
            midline; a sided bone, ``ribs_right``, gives its own side), ``unknown`` on a partial view.
        area_px: pixels of the lesion.
        area_mm2: area in mm^2 (pixels x row spacing x column spacing), rounded to 0.01.
        counts_total, counts_max, counts_mean: sum, maximum and mean of the view's pixel values under the lesion, in
            the file's units (counts for DICOM and 16-bit files, grey levels for 8-bit pictures): the scan as read,
            not the model's normalised input.
        lesion_to_normal_bone: ``counts_mean`` over the median counts of the view's normal bone (module docstring),
            unitless; None where no bone was found.
        probability_mean, probability_max: the model's lesion probability over the lesion (0-1; outside what the
            model saw taken as 0).
        centroid_row, centroid_col: the lesion's centre of area in pixels (fractional, 0.01).
        bbox: ``(min_row, min_col, max_row, max_col)`` in pixels, the maxima exclusive (``labels[r0:r1, c0:c1]``
            holds the lesion).
        equivalent_diameter_mm: the diameter of a disc of the same area, mm.
        eccentricity: of the ellipse of the same second moments, 0 (a disc) to 1 (a line).
        bsi_contribution_percent: what the lesion adds to its view's BSI, in BSI percentage points (module docstring);
            a view's lesions sum to the view's BSI where no bone is wholly involved.
        beside: None, or what the lesion lies beside, for a reader to weigh: ``bladder``
            (:data:`~.bladder.BESIDE_BLADDER`: a pixel within :data:`~.bladder.BESIDE_MM` of the bladder's hot spot)
            or ``forearm_or_hand`` (:data:`~.distal_arm.BESIDE_DISTAL_ARM`: a lesion on another bone near a forearm
            or hand, where an injection site lies; :mod:`.distal_arm`).
    """

    id: int
    view: str
    region: str
    laterality: str
    area_px: int
    area_mm2: float
    counts_total: float
    counts_max: float
    counts_mean: float
    lesion_to_normal_bone: float | None
    probability_mean: float
    probability_max: float
    centroid_row: float
    centroid_col: float
    bbox: tuple[int, int, int, int]
    equivalent_diameter_mm: float
    eccentricity: float
    bsi_contribution_percent: float
    beside: str | None = None

    def to_dict(self) -> dict:
        record = asdict(self)
        record["bbox"] = list(self.bbox)
        return record


def region_side(region: str) -> str | None:
    """The patient's side a sided region names (``ribs_right`` -> ``right``), else None: a lesion's laterality then
    agrees with its bone (session 62: a rib lesion near the spine read "ribs_right" and "midline", its centroid
    within 1 % of body height of the midline)."""
    side = str(region).rsplit("_", 1)[-1]
    return side if side in ("left", "right") else None


def normal_bone_reference(
    counts: np.ndarray, regions: SkeletonRegions, lesion_mask: np.ndarray, coverage: np.ndarray | None = None
) -> float | None:
    """Median counts of normal bone (see the module docstring); None when no bone was found."""
    near_lesion = ndi.binary_dilation(lesion_mask, iterations=REFERENCE_MARGIN_PX) if lesion_mask.any() else lesion_mask
    normal = regions.bone & ~near_lesion
    if coverage is not None and (normal & coverage).any():
        normal = normal & coverage
    if not normal.any():
        return None
    return float(np.median(np.asarray(counts)[normal].astype(np.float64)))


def _bsi_per_pixel(regions: SkeletonRegions, bone_or_lesion: np.ndarray) -> np.ndarray:
    """Region id -> what one lesion pixel there adds to the view's BSI: its bone group's Spiers weight over the group's
    bone-or-lesion pixels (:func:`~.bsi.bone_scan_index`); 0 outside every group."""
    ids = np.asarray(regions.labels, dtype=np.int64)
    size = max(len(REGION_IDS), int(ids.max(initial=0)) + 1)
    pixels = np.bincount(ids[bone_or_lesion], minlength=size)
    per_pixel = np.zeros(size, dtype=np.float64)
    for weight, names in BONE_GROUPS.values():
        group = [REGION_IDS[name] for name in names]
        total = int(pixels[group].sum())
        if total:
            per_pixel[group] = weight / total
    return per_pixel


def measure_lesions(
    labels: np.ndarray,
    counts: np.ndarray,
    probability: np.ndarray,
    regions: SkeletonRegions,
    pixel_spacing: tuple[float, float],
    view: str,
    coverage: np.ndarray | None = None,
    first_id: int = 1,
    reference: float | None = None,
) -> tuple[list[LesionMeasurement], float | None]:
    """Measure every lesion of a label map.

    Args:
        labels: int map, lesion k > 0 (from :func:`~scintiseg.predict.contours.rasterise_contours`).
        counts: the view's raw counts (whole-body coordinates).
        probability: the model's probability map (NaN outside what the model saw).
        regions: the view's region estimate.
        pixel_spacing: (row, col) mm.
        view: view name recorded in each lesion.
        coverage: pixels the model saw (for the reference region).
        first_id: id given to label 1 (ids are unique across views of a scan).
        reference: the normal-bone reference counts to use (the view's, measured with its lesions, for calls that are
            not lesions: :class:`~.rule_calls.LeftOutCall`); None: measured here, away from ``labels``' lesions.

    Returns:
        The lesion records in label order and the normal-bone reference counts used.
    """
    counts = np.asarray(counts)
    probability = np.asarray(probability)
    if reference is None:
        reference = normal_bone_reference(counts, regions, labels > 0, coverage)
    pixel_mm2 = float(pixel_spacing[0]) * float(pixel_spacing[1])
    per_pixel = _bsi_per_pixel(regions, regions.bone | (labels > 0))
    records = []
    for region in regionprops(labels):
        # Only the lesion's bounding box is read: the maps are whole-body, a lesion is a few pixels.
        box = region.slice
        inside = labels[box] == region.label
        values = counts[box][inside].astype(np.float64)
        prob = np.nan_to_num(probability[box][inside].astype(np.float64), nan=0.0)
        whole_body_mask = np.zeros(labels.shape, dtype=bool)
        whole_body_mask[box] = inside
        region_name = regions.region_of(whole_body_mask)
        contribution = float(per_pixel[np.asarray(regions.labels)[box][inside]].sum())
        mean = float(values.mean())
        r, c = region.centroid
        records.append(
            LesionMeasurement(
                id=first_id + region.label - 1,
                view=view,
                region=region_name,
                laterality=region_side(region_name) or regions.laterality(c),
                area_px=int(region.area),
                area_mm2=round(float(region.area) * pixel_mm2, 2),
                counts_total=float(values.sum()),
                counts_max=float(values.max()),
                counts_mean=round(mean, 3),
                lesion_to_normal_bone=None if not reference else round(mean / reference, 3),
                probability_mean=round(float(prob.mean()), 4),
                probability_max=round(float(prob.max()), 4),
                centroid_row=round(float(r), 2),
                centroid_col=round(float(c), 2),
                bbox=tuple(int(b) for b in region.bbox),
                equivalent_diameter_mm=round(2.0 * math.sqrt(region.area * pixel_mm2 / math.pi), 2),
                eccentricity=round(float(region.eccentricity), 3),
                bsi_contribution_percent=round(contribution, 5),
            )
        )
    return records, reference
