"""Hybrid bone scans: synthetic lesions inserted into the counts of a real scan (issue 13).

A model trained on the phantom alone must be shown to work on real anatomy and real noise, and no real
scan with pixel-level lesion labels exists (``../shared/reference/realdata.md``). Hybrid images are the
standard answer in nuclear medicine ("Hybrid images" in realdata.md): the real counts give the anatomy,
the physiological hot spots and the noise; the inserted lesions give a known truth. One case is made as
follows, from a real source scan (the NEMA WG04 NM1 whole-body ANT view in ``benchmarks/bench_hybrid.py``):

1. **Count level**: every view is thinned binomially to a ``fraction`` of its counts (``rng.binomial``:
   a thinned Poisson image is again Poisson, with mean ``fraction x`` the original; see
   :mod:`scintiseg.prepare.thinning`). ``fraction = 1`` keeps the source as it is.
2. **Where lesions may go** (computed once per source, from the full-count view, so that a case's
   lesions are the same at every count level): the *skeleton* is the part of the body (the tissue
   above half the body's median, eroded by ``edge_px``) whose counts, smoothed by ``uptake_sigma_px``,
   exceed the body's median *and* either stand ``ridge_ratio`` above the body-normalised local mean
   (a Gaussian of ``ridge_sigma_px``: ribs, clavicles, long bones) or exceed ``strong_bone_ratio`` x
   the body median (the spine) [choice]. The source's own hot spots are excluded: smoothed counts
   above the ``hot_percentile`` of the body, or focal uptake (above ``hot_ratio`` x the local mean of
   ``hot_sigma_px`` and above ``hot_floor`` x the body median), grown by ``hot_margin_px``. On NM1
   these are the bladder, the manubrium, the shoulders, a lumbar focus, a hand and a knee, so an
   inserted lesion never sits on an uptake its truth does not describe. NM1 shows no kidneys above its
   soft tissue; another source may pass ``exclude=`` (kidneys, a catheter). A caller may restrict the
   lesion centres further with ``within=`` (e.g. the window a model looks at).

   **Where metastases go** (``regions=``, session 71). Without a region map a centre is drawn uniformly over the
   allowed pixels, so a lesion's bone is chosen by its projected area: on the second independent phantom's normal
   scans 45 % of the centres fell on the femora, humeri and lower legs and 4 % on the thoracic and lumbar spine,
   where metastases are most often (physics.md; :data:`scintiseg.phantom.sites.SITE_WEIGHTS`). Given the placement
   view's skeleton-region map (ids of :data:`scintiseg.phantom.regions.REGION_NAMES`, e.g. the learned region
   network's), a centre is drawn with weight ``share / allowed pixels of its region`` by
   :func:`scintiseg.phantom.sites.region_shares` (``HybridConfig.extra_sites`` added), so each region gets its share
   of the lesions whatever its size; a pixel of no named region takes none (uniform again where no weighted pixel is
   left). A femur's or humerus's share goes to its proximal part, the third and a bit of the bone toward its girdle
   (:func:`proximal_part`), where the phantom puts them too (physics.md: proximal femur, proximal humerus). And a scan **known to be normal** (``known_normal=True``: a department's scans reported free of metastases,
   :mod:`scintiseg.train.hybrid_site`) keeps its hot spots *on the named bones* open to lesions: a hot sternum,
   sacroiliac joints or a degenerative vertebra are normal variants there, the background its truth describes, and
   excluding them kept lesions off most of the thoracic spine and sternum of that phantom's normals (82 % and 91 % of
   their estimated skeleton; its hottest half percent lies mostly on the sternum on ANT and the thoracic spine on
   POST). Hot spots off the named bones stay excluded, and so do those on them above ``normal_hot_cap`` (10) x the
   view's named-bone median: the map names a pixel by the bone it projects over, so an injection site at the elbow,
   urine on the skin or a bladder lies "on" a bone, 10-600 x its median, where normal hot bone reaches 3-8 x [E]. The
   bladder's hot spot is also cleared from the map by :func:`scintiseg.predict.pipeline.region_labeller`. The kidneys
   (1-2 x) are not told apart from bone: on POST a rib or vertebral lesion may project over one, as in a patient.
3. **Lesion shape** (:func:`lesion_footprint`): ``round`` and ``irregular`` outlines are the phantom's
   lobulated blobs (:func:`scintiseg.phantom.lesions.lobulated_radius`, lobes 0.1 and 0.35 as
   :func:`~scintiseg.phantom.lesions.make_lesion`); ``elongated`` is a capsule along the local bone
   axis (the ridge direction of the Hessian of the smoothed counts), the 2-D form of the phantom's rib
   segment. As in the phantom, a lesion is the *intersection* of its shape with its bone: the
   footprint is clipped to the skeleton (hot spots removed) and only the bone component under its
   centre is kept. Coverage is computed on a ``supersample`` x ``supersample`` sub-grid.
   Contrast and size are log-uniform (:func:`~scintiseg.phantom.lesions.log_uniform`); the defaults are
   the phantom's contrast range and a size range capped at 40 mm, because a 2-D footprint clipped to the
   projected skeleton would otherwise span several bones.
4. **Excess counts**: ``excess = (contrast - 1) x U x footprint``, where ``U`` is the local bone uptake:
   the footprint-weighted mean of the *thinned* view smoothed by ``uptake_sigma_px``. So ``contrast`` is
   the lesion-to-normal-bone count ratio (lesion pixels hold ``contrast x U`` on average before the
   blur), the convention of the phantom (:mod:`scintiseg.phantom.lesions`) and of the predicted
   lesion-to-normal-bone ratio. The excess is blurred by the camera's LEHR Gaussian PSF at a
   collimator-to-lesion distance drawn from ``distance_mm``
   (:func:`scintiseg.phantom.camera.system_fwhm_mm`, 5.2-9.0 mm FWHM at 5-15 cm; truncated at 3.5
   sigma as the phantom's projector), and Poisson-sampled independently of the thinned background:
   ``Poisson(fraction x lambda) + Poisson(excess) ~ Poisson(fraction x lambda + excess)``, the counts of
   a real acquisition of the patient with the lesion. The excess adds counts only inside the blurred
   footprint's support.
5. **Views**: the lesion is placed on ANT (or the single view); where the source has a POST view it is
   placed at the mirrored column (POST is stored as acquired, mirrored left-right), clipped to POST's
   skeleton, with POST's own uptake and an independently drawn PSF distance. There is no depth model:
   attenuation is already in the real counts, and both views get the same contrast [choice].
6. **Truth**, by the phantom's rules (:mod:`scintiseg.phantom.patient`): a lesion's extent in a view is
   where its noise-free excess reaches half its peak; it is *visible* by the Rose criterion
   ``sum(excess) / sqrt(sum(background)) >= ROSE_K`` over the extent, with the background = the smoothed
   thinned view plus the other lesions' excess; the **mask** holds the extents of the visible lesions
   only; the **instance map** holds every lesion. Lesions below the criterion are recorded in
   ``lesions`` (``visible: False``) but are not in the mask.
7. **Negative controls**: the thinned view with no lesion (``negative=True``).

Seeds: the lesions of a case (shape, contrast, size, position, PSF distance) come from ``seed`` alone;
the thinning and the Poisson excess from ``seed`` and the count level. The same seed gives the same
arrays, and the same seed at two count levels gives the same lesions in different noise (a paired design).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from scipy import ndimage

from scintiseg.config import Config
from scintiseg.errors import ScintisegError
from scintiseg.phantom.calibrate import calibration_body
from scintiseg.phantom.camera import system_fwhm_mm
from scintiseg.phantom.config import CameraConfig
from scintiseg.phantom.lesions import lobulated_radius, log_uniform
from scintiseg.phantom.patient import ROSE_K
from scintiseg.phantom.regions import REGION_IDS, REGION_NAMES
from scintiseg.phantom.sites import PROXIMAL_FRACTION, PROXIMAL_GROUPS, region_shares, unknown_site_groups
from scintiseg.scan import Scan

#: Lesion shapes and the lobe amplitude of the blob-shaped ones (as ``phantom.lesions.make_lesion``).
SHAPE_LOBES: dict[str, float] = {"round": 0.1, "irregular": 0.35}
SHAPES = ("round", "irregular", "elongated")
#: The PSF is truncated at this many sigma (as ``phantom.camera``).
PSF_TRUNCATE = 3.5
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
_LESION_STREAM, _NOISE_STREAM = 1, 2


@dataclass
class HybridConfig(Config):
    """How hybrid cases are made (each step in the module docstring).

    Args:
        contrast: lesion / local normal-bone count ratio, log-uniform (the phantom's range).
        size_mm: lesion diameter (the length of an elongated one), log-uniform.
        lesions_per_case: inclusive range of the number of lesions in a case with lesions.
        shapes: shape -> probability (``round``, ``irregular``, ``elongated``).
        elongated_width_mm: largest width of an elongated lesion (about a rib's projected width) [E].
        distance_mm: collimator-to-lesion distance of the PSF, uniform [E] (sternum and anterior ribs at
            5-10 cm from the anterior collimator, the spine at 15 cm).
        uptake_sigma_px: smoothing of the counts for the local uptake, the skeleton and the Rose background.
        ridge_sigma_px: scale of the local mean a skeleton pixel is compared with.
        ridge_ratio: a skeleton pixel stands this much above that local mean ...
        strong_bone_ratio: ... or exceeds this multiple of the body's median.
        hot_percentile: the source's own hot spots are the smoothed counts above this percentile of the
            body, ...
        hot_sigma_px, hot_ratio, hot_floor: ... or focal uptake: above ``hot_ratio`` x the local mean (a
            Gaussian of ``hot_sigma_px``) and above ``hot_floor`` x the body's median.
        hot_margin_px: hot spots are grown by this many pixels before they are excluded.
        edge_px: the body is eroded by this many pixels (no lesion on the skin line).
        separation_px: gap kept between the footprints of two lesions of one case.
        supersample: sub-pixels per pixel side for the footprint coverage.
        max_attempts: placement attempts per lesion before giving up.
        extra_sites: site group -> weight added to the metastatic site shares when a region map places the
            centres (:func:`scintiseg.phantom.sites.region_shares`; e.g. ``{"tibia": 0.05}``; empty: the tables').
        normal_hot_cap: on a scan known to be normal, a hot spot on a named bone is opened to lesions only up to
            this multiple of the median smoothed counts of the view's named bones: hotter is soft tissue seen over
            the bone (an injection site, urine, a bladder or kidney the map names bone: 10-600 x on the phantoms'
            normal scans), not bone (a hot sternum, sacroiliac joints or skull: 3-8 x) [E].
    """

    kind: ClassVar[str] = "hybrid config"

    contrast: tuple[float, float] = (1.2, 8.0)
    size_mm: tuple[float, float] = (5.0, 40.0)
    lesions_per_case: tuple[int, int] = (1, 3)
    shapes: dict[str, float] = field(default_factory=lambda: {"round": 0.4, "irregular": 0.3, "elongated": 0.3})
    elongated_width_mm: float = 10.0
    distance_mm: tuple[float, float] = (50.0, 150.0)
    uptake_sigma_px: float = 2.0
    ridge_sigma_px: float = 5.0
    ridge_ratio: float = 1.1
    strong_bone_ratio: float = 2.2
    hot_percentile: float = 99.5
    hot_sigma_px: float = 10.0
    hot_ratio: float = 1.4
    hot_floor: float = 3.0
    hot_margin_px: int = 6
    edge_px: int = 3
    separation_px: int = 4
    supersample: int = 3
    max_attempts: int = 200
    extra_sites: dict[str, float] = field(default_factory=dict)
    normal_hot_cap: float = 10.0

    def validate(self) -> None:
        """The checks of every configuration, then: ``extra_sites`` names site groups, ``normal_hot_cap`` > 0."""
        super().validate()
        unknown_site_groups("extra_sites", self.extra_sites)
        if not self.normal_hot_cap > 0:
            raise ScintisegError(f"normal_hot_cap must be > 0, got {self.normal_hot_cap}")


@dataclass
class SourceView:
    """One view of the source scan and where lesions may be placed on it.

    Attributes:
        counts: the view's counts as acquired (POST mirrored).
        smooth: the counts smoothed by ``uptake_sigma_px`` (bone axis of elongated lesions).
        skeleton: bool map of the estimated skeleton (lesion footprints are clipped to it).
        hot: bool map of the source's own hot spots, grown by the margin (no lesion there).
        allowed: bool map of the pixels a lesion *centre* may take (skeleton, not hot, inside ``within``).
        weights: float map of a centre's draw weight over ``allowed`` (by metastatic site: module docstring, step 2);
            None: uniform.
    """

    counts: np.ndarray
    smooth: np.ndarray
    skeleton: np.ndarray
    hot: np.ndarray
    allowed: np.ndarray
    weights: np.ndarray | None = None


@dataclass
class HybridSource:
    """A real scan prepared for lesion insertion (:func:`prepare_source`)."""

    scan: Scan
    views: dict[str, SourceView]
    config: HybridConfig

    @property
    def placement_view(self) -> str:
        """The view lesions are placed on: ANT when present, else the single view."""
        return "ANT" if "ANT" in self.views else next(iter(self.views))


@dataclass
class HybridCase:
    """One hybrid (or negative-control) case.

    Attributes:
        case_id: ``<source id>_f<percent>_s<seed>`` (``n`` instead of ``s`` for negative controls).
        scan: the thinned real counts plus the Poisson lesion excess, uint16 (views as in the source).
        masks: view -> bool label mask: the extents of the lesions visible in that view.
        instances: view -> uint16 lesion-id map of every lesion, visible or not (0 = none).
        excess: view -> float32 noise-free expected lesion excess (counts).
        lesions: per-lesion metadata (:meth:`HybridLesion.metadata`).
        fraction: count level (kept fraction of the source's counts).
        seed: the case's seed.
        negative: True for a negative control (no lesion inserted).
    """

    case_id: str
    scan: Scan
    masks: dict[str, np.ndarray]
    instances: dict[str, np.ndarray]
    excess: dict[str, np.ndarray]
    lesions: list[dict]
    fraction: float
    seed: int
    negative: bool

    @property
    def abnormal(self) -> bool:
        """Whether any lesion is visible in any view (the image-level truth)."""
        return any(bool(view_mask.any()) for view_mask in self.masks.values())


@dataclass
class HybridLesion:
    """One inserted lesion: what was drawn, and per view what it became."""

    lesion_id: int
    shape: str
    contrast: float
    size_mm: float
    centre: tuple[int, int]
    orientation_deg: float
    footprints: dict[str, tuple[np.ndarray, tuple[int, int]]]
    distance_mm: dict[str, float]
    views: dict[str, dict] = field(default_factory=dict)

    def metadata(self) -> dict:
        """JSON-able record: the draw, and per view the local uptake ``U``, the footprint's area (pixels, partial
        coverage counted), the expected excess counts (sum), its peak, the Rose SNR, visibility, and the
        extent's bbox ``[row0, col0, row1, col1)`` and pixel count."""
        return {
            "id": self.lesion_id, "shape": self.shape, "contrast": round(self.contrast, 4),
            "size_mm": round(self.size_mm, 2), "centre": [int(v) for v in self.centre],
            "orientation_deg": round(self.orientation_deg, 1),
            "distance_mm": {v: round(d, 1) for v, d in self.distance_mm.items()},
            **{key: {v: info[key] for v, info in self.views.items()}
               for key in ("uptake", "footprint_px", "excess_counts", "peak_counts", "snr", "visible", "bbox", "pixels")},
        }


def smoothed(counts: np.ndarray, sigma_px: float) -> np.ndarray:
    """Counts smoothed by a Gaussian (float64): the noise-free estimate of a view."""
    return ndimage.gaussian_filter(np.asarray(counts, dtype=np.float64), sigma_px)


def _local_mean(counts: np.ndarray, body: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian mean of the counts over the body only (normalised convolution: no fall-off at the skin)."""
    weight = body.astype(np.float64)
    total = ndimage.gaussian_filter(np.asarray(counts, dtype=np.float64) * weight, sigma_px)
    return total / np.maximum(ndimage.gaussian_filter(weight, sigma_px), 1e-6)


def skeleton_and_hot_spots(counts: np.ndarray, config: HybridConfig,
                           normal_bone: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The estimated skeleton and the view's own hot spots (grown), as in step 2 of the module docstring.

    ``normal_bone``: pixels whose hot uptake is a normal variant (the named bones of a scan known to be normal, the
    bladder's hot spot not among them): hot spots there, focal or among the hottest, are not excluded up to
    ``config.normal_hot_cap`` x the median smoothed counts of those pixels (hotter is soft tissue over the bone)."""
    body = calibration_body(counts)
    if not body.any():
        raise ScintisegError("the source view holds no body (no counts above the body threshold)")
    smooth = smoothed(counts, config.uptake_sigma_px)
    median = float(np.median(smooth[body]))
    # The calibration body mask reaches a few pixels past the skin (sigma 4 px); local means and the edge
    # margin use the tissue proper, so that the skin line does not look like a ridge.
    tissue = body & (smooth > 0.5 * median)
    inner = ndimage.binary_erosion(tissue, iterations=config.edge_px)
    ridge = smooth > config.ridge_ratio * _local_mean(counts, tissue, config.ridge_sigma_px)
    bone = ndimage.binary_opening(inner & (smooth > median) & (ridge | (smooth > config.strong_bone_ratio * median)))
    focal = (smooth > config.hot_ratio * _local_mean(counts, tissue, config.hot_sigma_px)) & (smooth > config.hot_floor * median)
    hot_core = body & ((smooth > np.percentile(smooth[body], config.hot_percentile)) | focal)
    if normal_bone is not None and np.asarray(normal_bone, dtype=bool).any():
        normal_bone = np.asarray(normal_bone, dtype=bool)
        hot_core &= ~(normal_bone & (smooth <= config.normal_hot_cap * float(np.median(smooth[normal_bone]))))
    hot = ndimage.binary_dilation(hot_core, iterations=config.hot_margin_px) if hot_core.any() else hot_core
    return bone, hot


def prepare_source(
    scan: Scan,
    config: HybridConfig | None = None,
    *,
    within: np.ndarray | None = None,
    exclude: dict[str, np.ndarray] | None = None,
    regions: Mapping[str, np.ndarray] | None = None,
    known_normal: bool = False,
) -> HybridSource:
    """Prepare a real scan for lesion insertion: skeleton, own hot spots and allowed centres per view.

    Args:
        scan: the real scan (integer counts as acquired; POST, when present, as acquired).
        config: how cases are made (defaults when None).
        within: optional bool map on the placement view (ANT, else the single view): lesion centres stay
            inside it (e.g. the thoracic window of a model that looks only there).
        exclude: optional view -> bool map of more pixels to keep free of lesions (kidneys, catheters).
        regions: optional view -> skeleton-region map (ids of :data:`~scintiseg.phantom.regions.REGION_NAMES`, 0 no
            bone) on the view's grid: the placement view's weights the centres by metastatic site (module
            docstring, step 2).
        known_normal: the scan holds no lesion: hot spots on the named bones of ``regions`` are open to lesions
            (no effect on a view without a map).

    Returns:
        A :class:`HybridSource` for :func:`make_hybrid_case`.

    Raises:
        ScintisegError: counts that are not whole non-negative numbers, or a view with no body.
    """
    config = config if config is not None else HybridConfig()
    config.validate()
    views: dict[str, SourceView] = {}
    for name, image in scan.views.items():
        counts = np.asarray(image)
        if counts.dtype.kind == "f" and not np.array_equal(np.rint(counts), counts):
            raise ScintisegError(f"view {name}: hybrid cases need integer counts as acquired", path=scan.source)
        if (counts < 0).any():
            raise ScintisegError(f"view {name}: negative counts", path=scan.source)
        labels = None if regions is None or name not in regions else np.asarray(regions[name])
        if labels is not None and labels.shape != counts.shape:
            raise ScintisegError(f"view {name}: region map {labels.shape} is not the view's {counts.shape}",
                                 path=scan.source)
        skeleton, hot = skeleton_and_hot_spots(counts, config,
                                               labels > 0 if known_normal and labels is not None else None)
        if exclude and name in exclude:
            hot = hot | np.asarray(exclude[name], dtype=bool)
        views[name] = SourceView(counts, smoothed(counts, config.uptake_sigma_px), skeleton, hot, skeleton & ~hot)
    source = HybridSource(scan, views, config)
    first = source.views[source.placement_view]
    if within is not None:
        first.allowed = first.allowed & np.asarray(within, dtype=bool)
    if regions is not None and source.placement_view in regions:
        possible = first.skeleton if within is None else first.skeleton & np.asarray(within, dtype=bool)
        first.weights = site_weights_map(np.asarray(regions[source.placement_view]), first.allowed, config.extra_sites,
                                         possible=possible)
    return source


#: A long bone's proximal part partly excluded takes its whole share on what is left of it, up to this many times the
#: centres per pixel of a wholly free part (:func:`site_weights_map`) [choice: of 304 long bones of NM1 and two sets of
#: normal phantom scans, 139 had part of it hot and 17 of those less than a quarter free (session 73); a sliver left
#: must not draw the bone's every lesion].
PILE_UP = 4.0


def site_weights_map(labels: np.ndarray, allowed: np.ndarray, extra_sites: dict[str, float] | None = None,
                     possible: np.ndarray | None = None) -> np.ndarray:
    """A centre's draw weight per pixel: its region's metastatic share (:func:`~scintiseg.phantom.sites.region_shares`)
    over the region's allowed pixels, so each region draws its share of the centres; 0 off the allowed pixels and on
    pixels of no named region. A femur's or humerus's share goes to its proximal part (:func:`proximal_part`), at most
    :data:`PILE_UP` times as densely per pixel as on a wholly free part, and what that leaves over all the region's
    allowed pixels: a part partly excluded as a hot spot (a hot hip, a shoulder joint) still takes the whole share
    while a quarter or more of its ``possible`` pixels (the skeleton a centre could take but for the hot spots; default
    ``allowed``, which makes any allowed pixel of the part "wholly free"; allowed pixels count as possible too) are
    allowed; a part with a few free pixels
    left takes a smaller share rather than the whole one piled on them; a part wholly excluded leaves the share to the
    rest of the bone. (Session 73: of the 304 long bones of NM1 and two sets of normal phantom scans, 17 had less than a
    quarter of the part free, 3 less than a tenth.)"""
    possible = allowed if possible is None else possible | allowed
    shares = region_shares(extra_sites)
    weights = np.zeros(labels.shape, dtype=np.float64)
    for region_id, name in REGION_NAMES.items():
        inside = allowed & (labels == region_id)
        count = int(inside.sum())
        if not count or shares[name] <= 0:
            continue
        if name.startswith(PROXIMAL_GROUPS):
            part = proximal_part(labels, region_id)
            proximal = inside & part
            could = int((possible & part).sum())
            free = min(1.0, PILE_UP * float(proximal.sum()) / could) if could else 0.0  # the part's share of the centres
            if free < 1.0:
                weights[inside] = shares[name] * (1.0 - free) / count
            if free > 0.0:
                weights[proximal] += shares[name] * free / int(proximal.sum())
            continue
        weights[inside] = shares[name] / count
    return weights


#: The regions toward which a long bone's proximal end lies (:func:`proximal_part`): the hip's, and the shoulder
#: girdle's of both sides (at shoulder height whether the arm hangs or is raised, and a learned map may misname a side).
_PROXIMAL_ANCHORS = {"femur": ("pelvis", "sacrum"),
                     "humerus": ("scapula_left", "scapula_right", "clavicle_left", "clavicle_right")}
#: A region no longer than this many times its width (singular values of its pixels' positions) is a stub of a bone
#: cut by the field of view, all of it near one end: returned whole by :func:`proximal_part`.
_STUB_ELONGATION = 1.5


def proximal_part(labels: np.ndarray, region_id: int) -> np.ndarray:
    """The proximal :data:`~scintiseg.phantom.sites.PROXIMAL_FRACTION` of a long bone's region (femur or humerus) in a
    region map: the pixels within that fraction of the bone's visible length from its end toward its girdle.

    Choices [all choice]: the bone is the region's largest 8-connected component (a learned map's stray pixels of
    the region elsewhere take no share); its length runs along the component's principal axis (in pixels: a
    non-square pixel tilts an oblique bone's axis a little), between the 1st and 99th percentiles of its pixels'
    positions on it. The length is the *visible* one: a femur the field of view cuts at mid-thigh gives the top 35 % of
    what is seen (about its top sixth). The proximal end is the one toward the centroid of the girdle's regions
    (pelvis and sacrum for a femur; both scapulae and clavicles for a humerus), so a raised arm keeps its shoulder end;
    with no girdle in the map it is the upper end (the phantom's rule: the top rows of the bone's box,
    :mod:`scintiseg.phantom.lesions`). A component fewer than two pixels, or no longer than ``1.5`` x its width (a stub
    the field cuts near one end), is returned whole.
    """
    region = np.asarray(labels) == region_id
    components, count = ndimage.label(region, structure=np.ones((3, 3)))
    if count > 1:
        region = components == 1 + int(np.argmax(ndimage.sum(region, components, range(1, count + 1))))
    rows, cols = np.nonzero(region)
    if rows.size < 2:
        return region
    group = REGION_NAMES[int(region_id)].partition("_")[0]
    points = np.column_stack([rows, cols]).astype(np.float64)
    centre = points.mean(axis=0)
    _, spread, directions = np.linalg.svd(points - centre, full_matrices=False)
    if spread[0] <= _STUB_ELONGATION * spread[1]:
        return region
    axis = directions[0]
    position = (points - centre) @ axis
    anchor = np.isin(labels, [REGION_IDS[name] for name in _PROXIMAL_ANCHORS.get(group, ())])
    towards = ((np.argwhere(anchor).mean(axis=0) - centre) @ axis) if anchor.any() else -axis[0]
    if towards < 0:  # the proximal end at the largest position
        position = -position
    low, high = np.percentile(position, [1.0, 99.0])
    keep = position >= high - PROXIMAL_FRACTION * (high - low)
    part = np.zeros(region.shape, dtype=bool)
    part[rows[keep], cols[keep]] = True
    return part


def bone_axis_deg(smooth: np.ndarray, centre: tuple[int, int], sigma_px: float = 2.0) -> float:
    """Direction of the local bone axis at ``centre`` (degrees from the column axis, rows downwards).

    The axis of a bright ridge (a rib, the spine) is the Hessian eigenvector of the smaller curvature
    magnitude: across the ridge the intensity falls off, along it it barely changes.
    """
    r, c = centre
    pad = int(math.ceil(4 * sigma_px)) + 1
    r0, c0 = max(r - pad, 0), max(c - pad, 0)
    patch = smooth[r0:r + pad + 1, c0:c + pad + 1]
    at = (r - r0, c - c0)
    hrr = ndimage.gaussian_filter(patch, sigma_px, order=(2, 0))[at]
    hcc = ndimage.gaussian_filter(patch, sigma_px, order=(0, 2))[at]
    hrc = ndimage.gaussian_filter(patch, sigma_px, order=(1, 1))[at]
    values, vectors = np.linalg.eigh(np.array([[hrr, hrc], [hrc, hcc]]))
    along = vectors[:, int(np.argmin(np.abs(values)))]
    return float(math.degrees(math.atan2(along[0], along[1])))


def lesion_footprint(
    shape: str,
    size_px: tuple[float, float],
    orientation_deg: float,
    rng: np.random.Generator,
    *,
    width_px: tuple[float, float] | None = None,
    supersample: int = 3,
) -> np.ndarray:
    """Fraction of each pixel covered by one lesion outline, on a local window centred on the lesion.

    Args:
        shape: ``round`` or ``irregular`` (lobulated blob, diameter ``size``) or ``elongated`` (a capsule of
            length ``size`` and width ``width`` along ``orientation_deg``).
        size_px: the diameter (length) in pixels along rows and columns (pixels may be non-square).
        orientation_deg: axis of an elongated lesion, degrees from the column axis (rows downwards).
        rng: draws the lobes of a blob.
        width_px: the width of an elongated lesion in pixels along rows and columns.
        supersample: sub-pixels per pixel side.

    Returns:
        float32 ``(2h + 1, 2w + 1)`` coverage in [0, 1]; the lesion centre is the middle pixel's centre.
    """
    if shape not in SHAPES:
        raise ScintisegError(f"unknown lesion shape {shape!r} (expected one of {', '.join(SHAPES)})")
    half = (int(math.ceil(size_px[0] / 2)) + 1, int(math.ceil(size_px[1] / 2)) + 1)
    offsets = (np.arange(supersample) + 0.5) / supersample - 0.5
    rows = (np.arange(-half[0], half[0] + 1)[:, None] + offsets[None, :]).ravel()
    cols = (np.arange(-half[1], half[1] + 1)[:, None] + offsets[None, :]).ravel()
    if shape == "elongated":
        # A capsule (a segment of length - width, swept by a disc of the width), in column-pixel units so
        # that non-square pixels keep the physical shape.
        width = width_px if width_px is not None else (size_px[0] / 3, size_px[1] / 3)
        theta = math.radians(orientation_deg)
        y = rows[:, None] * (size_px[1] / size_px[0])
        x = cols[None, :]
        along = x * math.cos(theta) + y * math.sin(theta)
        across = -x * math.sin(theta) + y * math.cos(theta)
        beyond = np.maximum(np.abs(along) - max(size_px[1] - width[1], 0.0) / 2, 0.0)
        inside = beyond**2 + across**2 <= (width[1] / 2) ** 2
    else:
        # In units of the lesion's radius along rows and columns (non-square pixels keep the shape).
        dy = rows[:, None] / (size_px[0] / 2)
        dx = cols[None, :] / (size_px[1] / 2)
        outline = lobulated_radius(1.0, np.arctan2(dy, dx), rng, SHAPE_LOBES[shape])
        inside = dy * dy + dx * dx <= outline * outline
    coverage = inside.reshape(2 * half[0] + 1, supersample, 2 * half[1] + 1, supersample).mean(axis=(1, 3))
    return coverage.astype(np.float32)


def psf_sigma_px(distance_mm: float, pixel_spacing: tuple[float, float],
                 camera: CameraConfig | None = None) -> tuple[float, float]:
    """Gaussian sigma (rows, columns) in pixels of the LEHR PSF at ``distance_mm`` (phantom.camera's model)."""
    sigma_mm = float(system_fwhm_mm(distance_mm, camera or CameraConfig())) / _FWHM_PER_SIGMA
    return sigma_mm / pixel_spacing[0], sigma_mm / pixel_spacing[1]


def blurred_excess(footprint: np.ndarray, corner: tuple[int, int], amount: float, sigma_px: tuple[float, float],
                   image_shape: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """``amount x footprint`` blurred by the PSF on a window padded by its reach and clipped to the image.

    Returns the local float32 image and the image index of its corner; its sum is ``amount x
    footprint.sum()`` unless the PSF reaches past the image edge.
    """
    pad = (int(math.ceil(PSF_TRUNCATE * sigma_px[0])) + 1, int(math.ceil(PSF_TRUNCATE * sigma_px[1])) + 1)
    r0, c0 = corner[0] - pad[0], corner[1] - pad[1]
    canvas = np.zeros((footprint.shape[0] + 2 * pad[0], footprint.shape[1] + 2 * pad[1]), dtype=np.float64)
    canvas[pad[0]:pad[0] + footprint.shape[0], pad[1]:pad[1] + footprint.shape[1]] = footprint * amount
    blurred = ndimage.gaussian_filter(canvas, sigma_px, mode="constant", truncate=PSF_TRUNCATE)
    top, left = max(-r0, 0), max(-c0, 0)
    bottom = min(canvas.shape[0], image_shape[0] - r0)
    right = min(canvas.shape[1], image_shape[1] - c0)
    return blurred[top:bottom, left:right].astype(np.float32), (r0 + top, c0 + left)


def _place(canvas_shape: tuple[int, int], local: np.ndarray, centre: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """Clip a centred local window to the image: (clipped window, image index of its corner)."""
    hr, hc = local.shape[0] // 2, local.shape[1] // 2
    r0, c0 = centre[0] - hr, centre[1] - hc
    top, left = max(-r0, 0), max(-c0, 0)
    bottom = min(local.shape[0], canvas_shape[0] - r0)
    right = min(local.shape[1], canvas_shape[1] - c0)
    return local[top:bottom, left:right], (r0 + top, c0 + left)


def _on_bone(footprint: np.ndarray, bone: np.ndarray, corner: tuple[int, int], centre: tuple[int, int]) -> np.ndarray:
    """The footprint clipped to the bone component under its centre (the phantom's "intersection with its bone").

    Falls back to the largest clipped component when the centre pixel is not bone, and to the unclipped
    footprint when no bone is under it at all (POST, where the mirrored place may miss the skeleton).
    """
    clipped = footprint * bone[_window(corner, footprint.shape)]
    labels, n = ndimage.label(clipped > 0, structure=np.ones((3, 3)))
    if n == 0:
        return footprint
    at = (centre[0] - corner[0], centre[1] - corner[1])
    inside = 0 <= at[0] < labels.shape[0] and 0 <= at[1] < labels.shape[1]
    keep = int(labels[at]) if inside and labels[at] > 0 else 1 + int(np.argmax(ndimage.sum(clipped > 0, labels, range(1, n + 1))))
    return np.where(labels == keep, clipped, 0.0).astype(np.float32)


def _window(corner: tuple[int, int], shape: tuple[int, int]) -> tuple[slice, slice]:
    return slice(corner[0], corner[0] + shape[0]), slice(corner[1], corner[1] + shape[1])


def _bbox(mask: np.ndarray) -> list[int] | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return [int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1]


def _draw_lesion(source: HybridSource, lesion_id: int, rng: np.random.Generator, taken: np.ndarray) -> HybridLesion | None:
    """Draw one lesion on the placement view (and its mirror on POST); None when no free place was found."""
    cfg = source.config
    view = source.placement_view
    base = source.views[view]
    shape_names = [s for s in cfg.shapes if cfg.shapes[s] > 0]
    weights = np.asarray([cfg.shapes[s] for s in shape_names], dtype=float)
    spacing = source.scan.pixel_spacing
    candidates = np.argwhere(base.allowed & ~taken)
    if candidates.size == 0:
        return None
    centre_weights = None if base.weights is None else base.weights[candidates[:, 0], candidates[:, 1]]
    # Drawn by bisection of the cumulative weights, computed once for up to max_attempts draws (what rng.choice(p=)
    # recomputes on each call); the last index clamped to the last weighted candidate. None when no weighted pixel
    # is left free: uniform over the allowed ones.
    cumulative = np.cumsum(centre_weights) if centre_weights is not None and centre_weights.sum() > 0 else None
    last = int(np.flatnonzero(centre_weights)[-1]) if cumulative is not None else len(candidates) - 1
    for _ in range(cfg.max_attempts):
        shape = str(shape_names[int(rng.choice(len(shape_names), p=weights / weights.sum()))])
        contrast = log_uniform(rng, cfg.contrast)
        size_mm = log_uniform(rng, cfg.size_mm)
        pick = (int(rng.integers(len(candidates))) if cumulative is None else
                min(int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")), last))
        r, c = (int(v) for v in candidates[pick])
        orientation = bone_axis_deg(base.smooth, (r, c))
        width_mm = min(cfg.elongated_width_mm, size_mm)
        local = lesion_footprint(shape, (size_mm / spacing[0], size_mm / spacing[1]), orientation, rng,
                                 width_px=(width_mm / spacing[0], width_mm / spacing[1]), supersample=cfg.supersample)
        footprints: dict[str, tuple[np.ndarray, tuple[int, int]]] = {}
        for name, info in source.views.items():
            centre = (r, c) if name == view or name != "POST" else (r, base.counts.shape[1] - 1 - c)
            outline = local[:, ::-1] if (name == "POST" and view == "ANT") else local
            clipped, corner = _place(info.counts.shape, outline, centre)
            footprints[name] = (_on_bone(clipped, info.skeleton & ~info.hot, corner, centre), corner)
        placed, corner = footprints[view]
        grown = ndimage.binary_dilation(placed > 0, iterations=cfg.separation_px)
        if (grown & taken[_window(corner, placed.shape)]).any() or placed.sum() <= 0:
            continue
        distances = {name: float(rng.uniform(*cfg.distance_mm)) for name in source.views}
        return HybridLesion(lesion_id, shape, contrast, size_mm, (r, c), orientation, footprints, distances)
    return None


def make_hybrid_case(source: HybridSource, fraction: float, seed: int, *, negative: bool = False,
                     case_id: str | None = None) -> HybridCase:
    """One hybrid case (or a negative control): thinned real counts plus Poisson lesion excess, and its truth.

    Args:
        source: the prepared real scan (:func:`prepare_source`).
        fraction: count level, the kept fraction of the source's counts in ``(0, 1]``.
        seed: any non-negative integer: the lesions come from it alone, the noise from it and ``fraction``.
        negative: a negative control: the thinned source with no lesion.
        case_id: the case id (``<patient id>_f<percent>_s<seed>``, ``n<seed>`` for a negative, when None).

    Returns:
        A :class:`HybridCase`. It may hold fewer lesions than drawn when the free skeleton runs out.

    Raises:
        ScintisegError: a fraction outside ``(0, 1]``, or lesions asked of a source with no free skeleton.

    Example::

        source = prepare_source(read_scan("nm1.dcm"))
        case = make_hybrid_case(source, 0.25, seed=3)
        case.scan.view("ANT"), case.masks["ANT"], case.lesions[0]["visible"]
    """
    if not 0.0 < float(fraction) <= 1.0:
        raise ScintisegError(f"count fraction must lie in (0, 1], got {fraction}")
    cfg = source.config
    level = int(round(float(fraction) * 1_000_000))
    lesion_rng = np.random.default_rng(np.random.SeedSequence([int(seed), _LESION_STREAM]))
    noise_rng = np.random.default_rng(np.random.SeedSequence([int(seed), _NOISE_STREAM, level]))
    shape = source.scan.shape

    lesions: list[HybridLesion] = []
    if not negative:
        if not source.views[source.placement_view].allowed.any():
            raise ScintisegError(f"view {source.placement_view}: no skeleton pixel is free for a lesion",
                                 path=source.scan.source)
        low, high = cfg.lesions_per_case
        wanted = int(lesion_rng.integers(low, high + 1))
        taken = np.zeros(shape, dtype=bool)
        for lesion_id in range(1, wanted + 1):
            lesion = _draw_lesion(source, lesion_id, lesion_rng, taken)
            if lesion is None:
                break
            placed, corner = lesion.footprints[source.placement_view]
            taken[_window(corner, placed.shape)] |= placed > 0
            lesions.append(lesion)

    thinned = {name: noise_rng.binomial(np.asarray(info.counts, dtype=np.int64), float(fraction))
               for name, info in source.views.items()}
    views: dict[str, np.ndarray] = {}
    excess_maps: dict[str, np.ndarray] = {}
    instances: dict[str, np.ndarray] = {}
    masks: dict[str, np.ndarray] = {}
    for name in source.views:
        background = smoothed(thinned[name], cfg.uptake_sigma_px)
        excess = np.zeros(shape, dtype=np.float32)
        local_excess: list[tuple[np.ndarray, tuple[int, int]]] = []
        for lesion in lesions:
            footprint, corner = lesion.footprints[name]
            window = _window(corner, footprint.shape)
            uptake = float((background[window] * footprint).sum() / footprint.sum())
            sigma = psf_sigma_px(lesion.distance_mm[name], source.scan.pixel_spacing)
            image, at = blurred_excess(footprint, corner, (lesion.contrast - 1.0) * uptake, sigma, shape)
            excess[_window(at, image.shape)] += image
            local_excess.append((image, at))
            lesion.views[name] = {"uptake": round(uptake, 4), "footprint_px": round(float(footprint.sum()), 4),
                                  "excess_counts": round(float(image.sum()), 3)}
        instance = np.zeros(shape, dtype=np.uint16)
        strongest = np.zeros(shape, dtype=np.float32)
        for lesion, (image, at) in zip(lesions, local_excess):
            window = _window(at, image.shape)
            peak = float(image.max())
            own = (image >= 0.5 * peak) & (image > 0)
            rest = background[window] + (excess[window] - image)
            snr = float(image[own].sum()) / math.sqrt(max(float(rest[own].sum()), 1e-6))
            wins = own & (image > strongest[window])
            strongest[window] = np.where(wins, image, strongest[window])
            instance[window] = np.where(wins, np.uint16(lesion.lesion_id), instance[window])
            full = np.zeros(shape, dtype=bool)
            full[window] = own
            lesion.views[name].update(peak_counts=round(peak, 3), snr=round(snr, 3), visible=bool(snr >= ROSE_K),
                                      bbox=_bbox(full), pixels=int(own.sum()))
        visible = [lesion.lesion_id for lesion in lesions if lesion.views[name]["visible"]]
        instances[name] = instance
        masks[name] = np.isin(instance, visible) & (instance > 0)
        excess_maps[name] = excess
        lesion_counts = noise_rng.poisson(excess.astype(np.float64))
        views[name] = np.minimum(thinned[name] + lesion_counts, 65535).astype(np.uint16)

    percent = f"{100.0 * float(fraction):g}"
    pid = source.scan.patient_id or "source"
    case_id = case_id or f"{pid}_f{percent}_{'n' if negative else 's'}{int(seed)}"
    scan = Scan(
        views=views,
        pixel_spacing=source.scan.pixel_spacing,
        patient_id=case_id,
        patient_name=f"Hybrid^{case_id}",
        metadata={"source": "scintiseg hybrid", "source_patient_id": source.scan.patient_id,
                  "count_fraction": float(fraction), "seed": int(seed), "negative": bool(negative)},
    )
    return HybridCase(case_id, scan, masks, instances, excess_maps, [lesion.metadata() for lesion in lesions],
                      float(fraction), int(seed), bool(negative))


__all__ = [
    "PILE_UP", "HybridCase", "HybridConfig", "HybridLesion", "HybridSource", "SHAPES", "SourceView", "blurred_excess",
    "bone_axis_deg", "lesion_footprint", "make_hybrid_case", "prepare_source", "psf_sigma_px",
    "proximal_part", "site_weights_map", "skeleton_and_hot_spots", "smoothed",
]
