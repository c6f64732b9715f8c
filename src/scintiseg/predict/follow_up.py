"""Two scans of one patient compared: which lesions are new, which persist, which are no longer seen, and how the Bone
Scan Index changed.

Why. A bone scan is read against the last one: clinical BSI software reports the index's change between studies
(EXINI aBSI, whose change on treatment is its validated use in metastatic prostate cancer), and the Prostate Cancer
Clinical Trials Working Group 3 (PCWG3; Scher et al., J Clin Oncol 2016;34:1402-18) defines bone-scan progression by
*new lesions*: at least two new lesions on a follow-up scan, which, on the first scan after treatment starts, must be
confirmed by at least two more on a scan at least six weeks later (the "2+2" rule; a flare makes lesions appear
early). Neither paper compares scans. ``scintiseg compare BASELINE FOLLOWUP`` (:mod:`scintiseg.report.follow_up_folder`)
reads two predictions (each one's outlines as its LabelMe files hold them, so a reader's corrections count) and
this module says what changed, view by view. All choices below are ours.

- **Registration, follow-up onto baseline, per view, from the learned skeleton-region maps.** Each bone region
  named in both views with at least :data:`MIN_REGION_MM2` of bone, its two areas within :data:`AREA_RATIO` of each
  other (a bone the field of view cuts, or the map names differently, has its centroid elsewhere), gives its centroid
  in millimetres (each scan's own pixel spacing, so two matrices or cameras compare); a similarity transform (scale, rotation, translation; least
  squares, :class:`skimage.transform.SimilarityTransform`) is fitted to those pairs, and while more than
  :data:`MIN_REGIONS` remain the region farthest from the fit is set aside if it lies more than :data:`TRIM_MM` off
  (arms and legs lie differently from one study to the next, the trunk much less). A lesion then moves by the fit
  *plus its own region's residual* (its bone's centroid put exactly on the baseline's: a humeral lesion follows its
  humerus even when the arm moved). With fewer regions (a crop or spot view, bones named by no map) the
  translation between the two views' counts is measured instead (phase correlation on a common millimetre grid,
  :func:`skimage.registration.phase_cross_correlation`), and the view is flagged ``registered_by_counts``. A fit
  whose kept regions lie more than :data:`UNCERTAIN_RMS_MM` off on average (root mean square), whose scale is
  more than :data:`SCALE_TOLERANCE` from 1 (one scan's pixel size is then likely wrong), or that set aside more
  regions than it kept (a few midline bones then fit a body turned over, a flip read as a half turn), is flagged
  ``registration_uncertain``. When one of the two scans is stored head-down and the other not (QC flag ``head_down``:
  the prediction reads it turned and keeps its outputs on the image as stored), the follow-up's rows are reversed
  before the fit (a reflection, which no similarity transform is).
- **Matching.** A follow-up lesion *persists* when its outline, moved onto the baseline, touches a baseline lesion of
  the same view, or their centroids lie within :data:`MATCH_RADIUS_MM` (20 mm: about a vertebral body's spacing, and
  a few times the registration's residual on the trunk). The relation is many to many, not one to one: a lesion that
  grew into its neighbour, or two that merged, persist, and are not counted new (counting growth as new would call
  progression too early). A follow-up lesion matching none is **new**; a baseline lesion matching none is **not
  seen** on the follow-up (resolved, or below what the network or the reader outlines). An unmatched lesion whose
  centre lies outside what the other scan's model saw (its image, or its window: a crop, a spot view, a scan that
  stops at the knees) is **outside field**, neither new nor gone: nothing is known of that place on the other scan.
- **Relabelled by the reader** (session 74, a reading physician's audit, finding 8): a baseline lesion not seen on the
  follow-up whose place a reader of the follow-up outlined and labelled as a finding that is no lesion (``bladder``,
  ``degenerative``, ...: ``compare``'s ``follow_up_not_lesions``, the outlines ``scintiseg review`` keeps as the
  reader labelled them) is still counted *not seen* (the follow-up outlines no lesion there), but
  :attr:`FollowUp.relabelled` names the labels, matched as a follow-up lesion is (touching, or within
  :data:`MATCH_RADIUS_MM`, once moved onto the baseline) and given to both outlines of a pair: "not seen" alone reads
  as resolution, where the reader said what the hot spot is. A follow-up lesion that persists only through its pair's
  other outline names that outline and the baseline lesions it matches (:meth:`FollowUp.persists_through`).
- **One lesion, two views.** ANT and POST outlines of one lesion (``Prediction.pairs``) are one lesion: it is new only
  when it is new in every view that outlines it, not seen only when neither view sees it. :attr:`FollowUp.new_lesions`
  counts such lesions, so a new lesion seen on both views counts once (the PCWG3 count is of lesions, not outlines).
- **BSI change**: the follow-up's scan BSI minus the baseline's, in points, and the change of each bone group's share;
  a comparison where the two scans saw different shares of the skeleton (more than :data:`COVERAGE_TOLERANCE`
  points apart) is flagged ``coverage_differs``: part of the change is then the field of view.
- **PCWG3**: :attr:`FollowUp.two_or_more_new` and a sentence; the rule's confirmation needs the next scan, so the
  comparison says what it found and what the rule asks, and does not call progression itself.
- **One study** (session 62): two predictions of one study (the same Study Instance UID, the same scan file or SOP
  Instance UID, or the same counts in every view: a scan and its own review, say) are no follow-up. The comparison
  is made (it shows what a review changed) but flagged :data:`SAME_STUDY_FLAG` (:attr:`FollowUp.same_study` says
  why), and :attr:`FollowUp.two_or_more_new` is False for it: PCWG3 counts lesions new on a *later* scan. Before
  session 62 a scan against its own review read "2 new", PCWG3's condition, unflagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy import ndimage as ndi
from skimage.registration import phase_cross_correlation
from skimage.transform import SimilarityTransform

from scintiseg.io.atomic import same_file
from scintiseg.io.reader_labels import normalised_label
from scintiseg.predict.bsi import BONE_GROUPS, scan_bone_index
from scintiseg.predict.prediction import Prediction, ViewPrediction
from scintiseg.predict.regions import REGION_NAMES
from scintiseg.predict.view_labels import VIEWS_SWAPPED_FLAG
from scintiseg.scan import Shape

#: Bone a region needs in both views (mm^2) to anchor the registration.
MIN_REGION_MM2 = 400.0
#: A region anchors the registration only when its bone areas on the two views agree within this ratio (one cut by
#: the field of view, or named differently, has its centroid elsewhere).
AREA_RATIO = 1.5
#: Regions kept at least (a similarity has four parameters; three points fit it, a fourth checks it).
MIN_REGIONS = 4
#: A region whose centroid lies farther than this from the fit (mm) is set aside while more than MIN_REGIONS remain.
TRIM_MM = 15.0
#: Root mean square residual of the kept regions (mm) above which the registration is flagged uncertain.
UNCERTAIN_RMS_MM = 10.0
#: The fitted scale's tolerance around 1 (both scans in mm: the same patient is the same size).
SCALE_TOLERANCE = 0.1
#: Two outlines whose centroids lie this close (mm), the follow-up's moved onto the baseline, are one lesion.
MATCH_RADIUS_MM = 20.0
#: The flag of a comparison whose scans' views look named differently (one scan flagged ``views_swapped``, the other
#: not: :mod:`.view_labels`).
NAMED_DIFFERENTLY_FLAG = "views_named_differently"
#: The flag of a comparison of one study with itself (module docstring, "One study"; session 62).
SAME_STUDY_FLAG = "same_study"
#: Covered skeletal mass (points) by which the two scans may differ before ``coverage_differs`` is flagged.
COVERAGE_TOLERANCE = 5.0
#: The millimetre grid of the counts' phase correlation (the fallback registration).
_GRID_MM = 4.0

PCWG3_RULE = ("PCWG3 (Scher et al., J Clin Oncol 2016): bone-scan progression needs at least two new lesions; on the "
              "first scan after treatment starts they must be confirmed by at least two more on a scan at least six "
              "weeks later (the 2+2 rule)")


@dataclass
class ViewRegistration:
    """Where a follow-up view's pixels lie on the baseline view.

    Attributes:
        transform: follow-up mm (x = column, y = row) -> baseline mm.
        offsets_mm: region name -> the residual (x, y) that puts that region's centroid on the baseline's.
        method: ``regions`` or ``counts`` (module docstring).
        regions_used: the regions the fit kept.
        regions_set_aside: the regions the fit set aside (they moved otherwise than the trunk).
        rms_mm: root mean square residual of the kept regions (0 for ``counts``).
        follow_spacing, baseline_spacing: (row, column) pixel size of each view in mm.
        turned_rows: the follow-up view's row count when it is stored the other way up from the baseline's (one of the
            two head-down, QC flag ``head_down``): its rows are reversed before the transform; None otherwise.
    """

    transform: SimilarityTransform
    offsets_mm: dict[str, tuple[float, float]]
    method: str
    regions_used: list[str]
    regions_set_aside: list[str]
    rms_mm: float
    follow_spacing: tuple[float, float]
    baseline_spacing: tuple[float, float]
    turned_rows: int | None = None

    @property
    def scale(self) -> float:
        return float(self.transform.scale)

    @property
    def uncertain(self) -> bool:
        return self.method == "regions" and (self.rms_mm > UNCERTAIN_RMS_MM or abs(self.scale - 1.0) > SCALE_TOLERANCE
                                             or len(self.regions_set_aside) > len(self.regions_used))

    def to_baseline(self, rows: np.ndarray, cols: np.ndarray, region: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Follow-up pixel coordinates -> baseline pixel coordinates (floats), moved with ``region``'s residual."""
        rows = np.asarray(rows, float)
        if self.turned_rows is not None:
            rows = self.turned_rows - 1 - rows
        points = np.column_stack([np.asarray(cols, float) * self.follow_spacing[1], rows * self.follow_spacing[0]])
        moved = self.transform(points) + np.asarray(self.offsets_mm.get(region, (0.0, 0.0)))
        return moved[:, 1] / self.baseline_spacing[0], moved[:, 0] / self.baseline_spacing[1]

    def to_follow_up(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Baseline pixel coordinates -> follow-up pixel coordinates (the fit's inverse, no region's residual)."""
        points = np.column_stack([np.asarray(cols, float) * self.baseline_spacing[1],
                                  np.asarray(rows, float) * self.baseline_spacing[0]])
        back = self.transform.inverse(points)
        rows_back = back[:, 1] / self.follow_spacing[0]
        if self.turned_rows is not None:
            rows_back = self.turned_rows - 1 - rows_back
        return rows_back, back[:, 0] / self.follow_spacing[1]

    def record(self) -> dict:
        return {"method": self.method, "regions_used": self.regions_used, "regions_set_aside": self.regions_set_aside,
                "rms_mm": round(self.rms_mm, 2), "scale": round(self.scale, 4),
                "rotation_deg": round(float(np.degrees(self.transform.rotation)), 2),
                "translation_mm": [round(float(v), 1) for v in self.transform.translation],
                "turned": self.turned_rows is not None, "uncertain": self.uncertain}


def _centroids_mm(view: ViewPrediction, spacing: tuple[float, float],
                  turned: bool = False) -> dict[str, tuple[np.ndarray, float]]:
    """Region name -> (centroid (x, y) in mm, bone area in mm^2) of the regions the view's map names on bone (its rows
    reversed when ``turned``)."""
    if not view.regions.named:
        return {}
    labels = np.where(view.regions.bone, view.regions.labels, 0).astype(np.int64)
    if turned:
        labels = labels[::-1]
    ids = np.unique(labels[labels > 0])
    areas = ndi.sum_labels(np.ones_like(labels), labels, ids)
    centres = np.asarray(ndi.center_of_mass(np.ones_like(labels), labels, ids), dtype=float).reshape(-1, 2)
    pixel_mm2 = spacing[0] * spacing[1]
    return {REGION_NAMES[i]: (np.array([c[1] * spacing[1], c[0] * spacing[0]]), float(a) * pixel_mm2)
            for i, a, c in zip(ids, areas, centres)}


def _by_counts(baseline: np.ndarray, base_spacing, follow: np.ndarray, follow_spacing) -> SimilarityTransform:
    """The translation (mm) of ``follow`` onto ``baseline`` by phase correlation of both views' counts resampled to one
    grid of :data:`_GRID_MM` (each normalised by its mean: count levels differ between studies)."""
    def on_grid(image: np.ndarray, spacing) -> np.ndarray:
        zoomed = ndi.zoom(np.asarray(image, float), (spacing[0] / _GRID_MM, spacing[1] / _GRID_MM), order=1)
        mean = float(zoomed.mean())
        return zoomed / mean if mean > 0 else zoomed  # any unit: no absolute floor

    a, b = on_grid(baseline, base_spacing), on_grid(follow, follow_spacing)
    shape = (max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1]))
    pad = [np.pad(x, ((0, shape[0] - x.shape[0]), (0, shape[1] - x.shape[1]))) for x in (a, b)]
    shift, _, _ = phase_cross_correlation(pad[0], pad[1], normalization=None)
    return SimilarityTransform(translation=(float(shift[1]) * _GRID_MM, float(shift[0]) * _GRID_MM))


def _fit(src: np.ndarray, dst: np.ndarray) -> SimilarityTransform:
    """The least-squares similarity ``src`` -> ``dst`` (falsy when it cannot be estimated)."""
    if hasattr(SimilarityTransform, "from_estimate"):  # scikit-image >= 0.26
        return SimilarityTransform.from_estimate(src, dst)
    transform = SimilarityTransform()
    return transform if transform.estimate(src, dst) else None


def register_view(baseline: ViewPrediction, base_counts: np.ndarray, base_spacing: tuple[float, float],
                  follow: ViewPrediction, follow_counts: np.ndarray, follow_spacing: tuple[float, float],
                  turned: bool = False) -> ViewRegistration:
    """Register one follow-up view onto its baseline view (module docstring: the regions' fit, or the counts').
    ``turned``: one of the two views is stored head-down and the other not (a reflection, which no similarity is):
    the follow-up's rows are reversed first."""
    base_spacing = (float(base_spacing[0]), float(base_spacing[1]))
    follow_spacing = (float(follow_spacing[0]), float(follow_spacing[1]))
    turned_rows = int(follow.labels.shape[0]) if turned else None
    if turned:
        follow_counts = np.asarray(follow_counts)[::-1]
    base, late = _centroids_mm(baseline, base_spacing), _centroids_mm(follow, follow_spacing, turned)
    names = [n for n in base if n in late and min(base[n][1], late[n][1]) >= MIN_REGION_MM2
             and max(base[n][1], late[n][1]) <= AREA_RATIO * min(base[n][1], late[n][1])]

    def by_counts() -> ViewRegistration:
        transform = _by_counts(base_counts, base_spacing, follow_counts, follow_spacing)
        return ViewRegistration(transform, {}, "counts", [], [], 0.0, follow_spacing, base_spacing, turned_rows)

    if len(names) < MIN_REGIONS:
        return by_counts()
    src = np.array([late[n][0] for n in names])
    dst = np.array([base[n][0] for n in names])
    kept = list(range(len(names)))
    while True:
        transform = _fit(src[kept], dst[kept])
        if not transform:  # degenerate (the centroids on one line): the counts decide
            return by_counts()
        residuals = np.linalg.norm(transform(src[kept]) - dst[kept], axis=1)
        worst = int(np.argmax(residuals))
        if len(kept) <= MIN_REGIONS or residuals[worst] <= TRIM_MM:
            break
        kept.pop(worst)
    moved = transform(src)
    offsets = {n: (float(dst[i][0] - moved[i][0]), float(dst[i][1] - moved[i][1])) for i, n in enumerate(names)}
    rms = float(np.sqrt(np.mean(residuals**2)))
    return ViewRegistration(transform, offsets, "regions", [names[i] for i in kept],
                            [n for i, n in enumerate(names) if i not in kept], rms, follow_spacing, base_spacing,
                            turned_rows)


@dataclass
class ViewChange:
    """What changed on one view.

    Attributes:
        view: the view's name.
        registration: the follow-up's placement on the baseline.
        matches: follow-up lesion id -> the baseline lesion ids it matches (empty: new).
        seen_again: baseline lesion id -> the follow-up lesion ids that match it (empty: not seen).
        outside_baseline: the unmatched follow-up lesions whose centre lies outside what the baseline's model saw
            (its image, or its window): not new, unknown.
        outside_follow_up: the unmatched baseline lesions whose centre lies outside what the follow-up's model saw.
    """

    view: str
    registration: ViewRegistration
    matches: dict[int, list[int]]
    seen_again: dict[int, list[int]]
    outside_baseline: set[int] = field(default_factory=set)
    outside_follow_up: set[int] = field(default_factory=set)


def _inside(coverage: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Whether each point lies on a pixel of ``coverage`` (the model's field: the image, or its window)."""
    r, c = np.rint(rows).astype(int), np.rint(cols).astype(int)
    inside = (r >= 0) & (r < coverage.shape[0]) & (c >= 0) & (c < coverage.shape[1])
    inside[inside] = coverage[r[inside], c[inside]]
    return inside


def _baseline_matched(baseline: ViewPrediction, registration: ViewRegistration, pixels: np.ndarray,
                      centroid: tuple[float, float], region: str) -> tuple[set[int], np.ndarray, np.ndarray]:
    """The ids of the baseline lesions a follow-up outline (its ``pixels``, ``centroid`` (row, column) and ``region``)
    matches once moved onto the baseline (module docstring, "Matching"), and its centre moved there (rows, columns)."""
    shape = baseline.labels.shape
    base_ids = [lesion.id for lesion in baseline.lesions]
    rows, cols = np.nonzero(pixels)
    moved_rows, moved_cols = registration.to_baseline(rows, cols, region)
    r, c = np.rint(moved_rows).astype(int), np.rint(moved_cols).astype(int)
    inside = (r >= 0) & (r < shape[0]) & (c >= 0) & (c < shape[1])
    touched = set(np.unique(baseline.labels[r[inside], c[inside]]).tolist()) - {0}
    found = {base_ids[k - 1] for k in touched}
    centre_r, centre_c = registration.to_baseline(np.array([centroid[0]]), np.array([centroid[1]]), region)
    centre = np.array([centre_r[0] * registration.baseline_spacing[0], centre_c[0] * registration.baseline_spacing[1]])
    base_centres = np.array([[lesion.centroid_row * registration.baseline_spacing[0],
                              lesion.centroid_col * registration.baseline_spacing[1]] for lesion in baseline.lesions]
                            ).reshape(-1, 2)
    if base_centres.size:
        near = np.linalg.norm(base_centres - centre, axis=1) <= MATCH_RADIUS_MM
        found |= {base_ids[k] for k in np.flatnonzero(near)}
    return found, centre_r, centre_c


def compare_view(baseline: ViewPrediction, follow: ViewPrediction, registration: ViewRegistration) -> ViewChange:
    """Match one view's follow-up lesions with its baseline lesions (module docstring)."""
    base_ids = [lesion.id for lesion in baseline.lesions]
    matches: dict[int, list[int]] = {}
    outside_baseline: set[int] = set()
    for index, lesion in enumerate(follow.lesions, start=1):
        found, centre_r, centre_c = _baseline_matched(baseline, registration, follow.labels == index,
                                                      (lesion.centroid_row, lesion.centroid_col), lesion.region)
        matches[lesion.id] = sorted(found)
        if not found and not _inside(baseline.coverage, centre_r, centre_c)[0]:
            outside_baseline.add(lesion.id)
    seen_again = {base_id: sorted(fid for fid, ids in matches.items() if base_id in ids) for base_id in base_ids}
    outside_follow_up = set()
    for lesion in baseline.lesions:
        if not seen_again[lesion.id]:
            back = registration.to_follow_up(np.array([lesion.centroid_row]), np.array([lesion.centroid_col]))
            if not _inside(follow.coverage, *back)[0]:
                outside_follow_up.add(lesion.id)
    return ViewChange(follow.view, registration, matches, seen_again, outside_baseline, outside_follow_up)


def _groups(prediction: Prediction, view_names: list[str]) -> list[list[tuple[str, int]]]:
    """The scan's lesions on ``view_names`` as lesions, not outlines: a pair's two outlines one group."""
    partners = prediction.paired_with
    groups, done = [], set()
    for name in view_names:
        for lesion in prediction.views[name].lesions:
            if lesion.id in done:
                continue
            group = [(name, lesion.id)]
            other = partners.get(lesion.id)
            for other_name in view_names:
                if other is not None and other_name != name and any(
                        item.id == other for item in prediction.views[other_name].lesions):
                    group.append((other_name, other))
            done.update(item for _, item in group)
            groups.append(group)
    return groups


@dataclass
class FollowUp:
    """Two scans of one patient compared (module docstring).

    Attributes:
        baseline, follow_up: the two predictions.
        views: view name -> :class:`ViewChange`, for the views both scans have.
        flags: ``registered_by_counts_<V>``, ``registration_uncertain_<V>``, ``coverage_differs``,
            ``views_differ`` (a view only one scan has), ``bsi_not_given`` (a partial view: no BSI to compare),
            :data:`NAMED_DIFFERENTLY_FLAG` (one scan's views look named the other way round, the other's not:
            :mod:`.view_labels`; its ANT may be the other scan's POST, so lesions read new and not seen),
            :data:`SAME_STUDY_FLAG` (the two are one study: :func:`same_study`; session 62).
        same_study: why the two are one study, in words (:func:`same_study`), or None for two studies (session 62).
        relabelled: view -> baseline lesion id -> the labels a reader of the follow-up gave the outlines at its place,
            for the baseline lesions not seen (module docstring, "Relabelled by the reader"; :func:`relabelled_baseline`);
            empty when the follow-up's reader labelled no outline as no lesion.
    """

    baseline: Prediction
    follow_up: Prediction
    views: dict[str, ViewChange]
    flags: list[str] = field(default_factory=list)
    same_study: str | None = None
    relabelled: dict[str, dict[int, list[str]]] = field(default_factory=dict)

    @cached_property
    def _statuses(self) -> tuple[list, list, list, list]:
        """(new, not seen, follow-up lesions outside the baseline's field, baseline lesions outside the follow-up's),
        each a list of lesions (a pair's outlines one group); computed once (the comparison does not change)."""
        names = list(self.views)
        late = _groups(self.follow_up, names)
        early = _groups(self.baseline, names)
        unmatched = [g for g in late if all(not self.views[v].matches.get(i) for v, i in g)]
        unseen = [g for g in early if all(not self.views[v].seen_again.get(i) for v, i in g)]
        late_out = [g for g in unmatched if all(i in self.views[v].outside_baseline for v, i in g)]
        early_out = [g for g in unseen if all(i in self.views[v].outside_follow_up for v, i in g)]
        return ([g for g in unmatched if g not in late_out], [g for g in unseen if g not in early_out],
                late_out, early_out)

    @property
    def new_lesions(self) -> int:
        """Lesions on the follow-up that match no baseline lesion in any view that outlines them (a pair once)."""
        return len(self._statuses[0])

    @property
    def new_lesion_outlines(self) -> list[list[tuple[str, int]]]:
        """The new lesions, each as its outlines' (view, follow-up lesion id): a pair's two outlines one lesion."""
        return [list(group) for group in self._statuses[0]]

    @property
    def lesions_not_seen(self) -> int:
        """Baseline lesions that no follow-up lesion matches in any view (a pair once)."""
        return len(self._statuses[1])

    @property
    def not_seen_relabelled(self) -> int:
        """Of the baseline lesions not seen (a pair once), those whose place a reader of the follow-up labelled as a
        finding that is no lesion (:attr:`relabelled`)."""
        return sum(any(self.relabelled.get(view, {}).get(i) for view, i in group) for group in self._statuses[1])

    def persists_through(self, view: str, lesion_id: int) -> tuple[str, int, list[int]] | None:
        """For a follow-up lesion that matches no baseline lesion on its own view but persists as a lesion (the other
        outline of its ANT-POST pair matches one): that outline's (view, id, the baseline lesion ids it matches);
        None otherwise (module docstring, "One lesion, two views")."""
        if self.views[view].matches.get(lesion_id) or self.status_of(view, lesion_id) != "persisting":
            return None
        partner = self.follow_up.paired_with.get(lesion_id)
        for other, change in self.views.items():
            if other != view and change.matches.get(partner):
                return other, partner, list(change.matches[partner])
        return None

    @property
    def persisting_lesions(self) -> int:
        """Follow-up lesions (a pair once) that match a baseline lesion in a view."""
        new, _, outside, _ = self._statuses
        return len(_groups(self.follow_up, list(self.views))) - len(new) - len(outside)

    @property
    def outside_field(self) -> tuple[int, int]:
        """(follow-up lesions outside what the baseline's model saw, baseline lesions outside what the follow-up's saw),
        a pair once: neither new nor gone, unknown."""
        _, _, late_out, early_out = self._statuses
        return len(late_out), len(early_out)

    @property
    def two_or_more_new(self) -> bool:
        """Whether the follow-up shows at least two new lesions: PCWG3's condition, still to be confirmed. False for
        one study compared with itself (:attr:`same_study`: no later scan; session 62, before which it was the count
        alone)."""
        return self.new_lesions >= 2 and self.same_study is None

    @property
    def bsi_change(self) -> float | None:
        """Follow-up BSI minus baseline BSI (points); None when either scan has no BSI."""
        if not (self.baseline.bsi_given and self.follow_up.bsi_given):
            return None
        return self.follow_up.bsi_percent - self.baseline.bsi_percent

    def status_of(self, view: str, lesion_id: int, *, follow_up: bool = True) -> str:
        """``new`` / ``persisting`` of a follow-up lesion, ``persisting`` / ``not seen`` of a baseline lesion, as a
        lesion: the pair's other view counts; ``outside field`` for one whose place the other scan's model did not
        see."""
        new, gone, late_out, early_out = self._statuses
        if any((view, lesion_id) in group for group in (late_out if follow_up else early_out)):
            return "outside field"
        if any((view, lesion_id) in group for group in (new if follow_up else gone)):
            return "new" if follow_up else "not seen"
        return "persisting"

    def bone_changes(self) -> dict[str, tuple[float, float]]:
        """Bone group -> (baseline, follow-up) share of the scan BSI (points), the bones either scan finds involved."""
        def per_bone(prediction: Prediction) -> dict[str, float]:
            tables = {name: view.bsi["bones"] for name, view in prediction.views.items()}
            confirmed = prediction.reader_bones  # a reader's own outlines, read as Prediction.bsi_percent reads them
            return {bone: scan_bone_index({n: {bone: t[bone]} for n, t in tables.items() if bone in t}, confirmed)[0]
                    for bone in BONE_GROUPS}

        early, late = per_bone(self.baseline), per_bone(self.follow_up)
        return {bone: (early[bone], late[bone]) for bone in BONE_GROUPS if early[bone] > 0 or late[bone] > 0}


def relabelled_baseline(result: FollowUp, not_lesions: dict[str, list[Shape]]) -> dict[str, dict[int, list[str]]]:
    """View -> baseline lesion id -> the labels (normalised: ``bladder``, ``degenerative``) of the follow-up's outlines
    a reader labelled as no lesion (``not_lesions``: view -> those shapes, on the follow-up's view as stored) that
    match it as a follow-up lesion would (:func:`compare_view`), for the baseline lesions not seen; a pair's other
    outline is given its partner's labels (one lesion). Baseline lesions that no such outline matches are left out."""
    found: dict[str, dict[int, set[str]]] = {}
    for name, change in result.views.items():
        base, late = result.baseline.views[name], result.follow_up.views[name]
        unseen = {lesion.id for lesion in base.lesions if result.status_of(name, lesion.id, follow_up=False) == "not seen"}
        for shape in not_lesions.get(name) or []:
            pixels = shape.to_mask(late.labels.shape)
            if not pixels.any():
                continue
            rows, cols = np.nonzero(pixels)
            matched, _, _ = _baseline_matched(base, change.registration, pixels, (float(rows.mean()), float(cols.mean())),
                                              late.regions.region_of(pixels))
            for lesion_id in matched & unseen:
                found.setdefault(name, {}).setdefault(lesion_id, set()).add(normalised_label(shape.label))
    partners = result.baseline.paired_with
    for name, labelled in list(found.items()):
        for lesion_id, labels in list(labelled.items()):
            partner = partners.get(lesion_id)
            for other in result.views:
                if other != name and any(lesion.id == partner for lesion in result.baseline.views[other].lesions) \
                        and result.status_of(other, partner, follow_up=False) == "not seen":
                    found.setdefault(other, {}).setdefault(partner, set()).update(labels)
    return {name: {lesion_id: sorted(labels) for lesion_id, labels in sorted(labelled.items())}
            for name, labelled in found.items()}


def same_study(baseline: Prediction, follow_up: Prediction) -> str | None:
    """Why two predictions are of one study, in words (the same Study Instance UID, the same scan file, the same SOP
    Instance UID, the same counts in every view), or None (module docstring, "One study"; session 62)."""
    early, late = baseline.scan, follow_up.scan
    if early.study_uid and early.study_uid == late.study_uid:
        return "the same Study Instance UID"
    if early.source is not None and late.source is not None and same_file(early.source, late.source):
        return "the same scan file"
    instance = str(early.metadata.get("sop_instance_uid") or "")
    if instance and instance == str(late.metadata.get("sop_instance_uid") or ""):
        return "the same SOP Instance UID"
    if early.views.keys() == late.views.keys() and all(
            image.shape == late.views[name].shape and np.array_equal(image, late.views[name])
            for name, image in early.views.items()):
        return "the same counts in every view"
    return None


def compare(baseline: Prediction, follow_up: Prediction,
            follow_up_not_lesions: dict[str, list[Shape]] | None = None) -> FollowUp:
    """Compare two predictions of one patient's scans, view by view (module docstring). ``follow_up_not_lesions``:
    view -> the follow-up's outlines a reader labelled as no lesion (``PredictedAgain.not_lesion_shapes``), which
    :attr:`FollowUp.relabelled` reads."""
    names = [name for name in baseline.views if name in follow_up.views]
    flags = []
    one_study = same_study(baseline, follow_up)
    if one_study:
        flags.append(SAME_STUDY_FLAG)
    if set(baseline.views) != set(follow_up.views):
        flags.append("views_differ")
    views = {}
    for name in names:
        early, late = baseline.views[name], follow_up.views[name]
        turned = ("head_down" in baseline.qc_flags) != ("head_down" in follow_up.qc_flags)
        registration = register_view(early, baseline.scan.view(name), baseline.scan.pixel_spacing,
                                     late, follow_up.scan.view(name), follow_up.scan.pixel_spacing, turned)
        if registration.method == "counts":
            flags.append(f"registered_by_counts_{name}")
        if registration.uncertain:
            flags.append(f"registration_uncertain_{name}")
        views[name] = compare_view(early, late, registration)
    if (VIEWS_SWAPPED_FLAG in baseline.qc_flags) != (VIEWS_SWAPPED_FLAG in follow_up.qc_flags):
        flags.append(NAMED_DIFFERENTLY_FLAG)  # ANT compared with what may be the other scan's POST
    if not (baseline.bsi_given and follow_up.bsi_given):
        flags.append("bsi_not_given")
    elif abs(baseline.covered_mass_percent - follow_up.covered_mass_percent) > COVERAGE_TOLERANCE:
        flags.append("coverage_differs")
    result = FollowUp(baseline, follow_up, views, flags, one_study)
    if follow_up_not_lesions:
        result.relabelled = relabelled_baseline(result, follow_up_not_lesions)
    return result
