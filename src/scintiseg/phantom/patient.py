"""One phantom patient: 3-D model -> ANT/POST scan, lesion masks, instance maps, region maps, metadata.

Ground truth, per view (all stored in the view's own orientation, POST as acquired):

* **lesion extent**: a pixel belongs to a lesion when that lesion's noise-free excess counts in this view
  reach at least half of its peak excess in this view (a half-maximum contour of the lesion's own
  projected excess). Every lesion with any excess has a non-empty extent, however faint.
* **instance map**: lesion id (1..n) per pixel of the union of the extents, for *every* lesion (the true
  disease); where extents overlap, the lesion with the larger excess there wins.
* **visible**: the Rose criterion on the noise-free image, ``sum(excess) / sqrt(sum(background)) >= 5``
  over the lesion's extent (background = expected counts without that lesion).
* **cold (photopenic) lesions** (contrast < 1, ``LesionConfig.p_cold``): the same three rules applied to
  the lesion's *deficit* (minus its excess): the extent is where the deficit reaches half its peak, and
  the lesion is visible when ``sum(deficit) / sqrt(sum(background)) >= 5``. A visible cold lesion is
  labelled as a lesion like a hot one (one lesion class: a reader marks a lytic defect as disease too);
  its metadata carry ``"cold": true``. Choice: one Rose rule for both signs keeps "labelled = what the
  counts show"; a cold lesion in a rib over soft tissue rarely passes it, one in a vertebral body often does.
* **lesion mask** (the label, what a reader would draw): the instance pixels of the lesions *visible in
  that view*. A lesion hidden by attenuation on ANT (a posterior rib, say) is labelled on POST only; a
  lesion visible in neither view stays in the instance map and the metadata but in no label. Labelling
  invisible lesions would ask a network to find what the counts do not show (a third of all lesions on
  ANT with the default profile), which is neither learnable nor what the papers' readers annotated.
* **region map**: region id (:data:`~scintiseg.phantom.regions.REGION_NAMES`) of the bone that contributes
  the most attenuated, unblurred normal-bone counts to the pixel, grown by 2 pixels into the
  background to cover the PSF; 0 elsewhere.
* **3-D mass-fraction BSI** (:func:`mass_bsi`; ``meta["bsi_mass_percent"]`` over the lesions visible in at least one
  view, ``meta["bsi_mass_percent_all"]`` over every lesion): physics.md's definition, sum over regions of (the
  region's bone volume inside a lesion / its bone volume) x its Spiers share (%, the raw shares summing to 100.1, as
  ``predict.bsi`` sums them), from the 3-D occupancies (bone of uniform density: volume stands for mass). Where two
  lesions of one bone overlap, a voxel counts the larger of their involved fractions (the union, not the sum). The
  benchmarks' planar truth (area fractions on the region maps, mean of views) correlates with it (r 0.96 on 100
  default patients) but its mean is 0.71 of it (docs/predict.md, "Bone Scan Index and Soloway", session 63).
* **a patient lying at an angle** (``AnatomyConfig.body_tilt_deg``): the noise-free projections, the instance
  and region maps and each lesion's extent are turned together about the body's centre (half-way between its
  first and last rows, the field's middle column; :func:`image_point`) before the noise is drawn; the visibility
  and SNR are those of the straight projection (the same counts). ``meta["body_tilt_deg"]`` and
  ``meta["body_tilt_centre"]`` hold the angle and the pivot (ANT orientation); the lesions' and look-alikes'
  ``centre_mm`` stay in the patient's own frame (straight), so a point is placed on the image with
  :func:`image_point`.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from scintiseg.io.patient_sides import CONVENTION, ORIENTATION_KEY
from scintiseg.phantom.anatomy import LUNG_PREFIX, Anatomy, build_anatomy, sample_body
from scintiseg.phantom.camera import VIEWS, Projector, count_scale, poisson_counts, scatter_image, with_collimator
from scintiseg.errors import ScintisegError
from scintiseg.phantom.config import PhantomConfig, profile, profile_names
from scintiseg.phantom.lesions import Lesion, apply_superscan, log_uniform, place_lesions, sample_disease
from scintiseg.phantom.lookalikes import Lookalike, sample_lookalikes
from scintiseg.phantom.primitives import Grid, depth_fractions
from scintiseg.phantom.regions import REGION_IDS, SPIERS_WEIGHTS
from scintiseg.scan import Scan, mirror
from scintiseg.seeds import check_seed

#: Rose criterion threshold for "visible".
ROSE_K = 5.0
#: Pixels by which region maps grow into the background.
REGION_GROWTH_PX = 2



@dataclass
class PhantomPatient:
    """A generated patient: the scan and its ground truth (views in stored orientation: POST as acquired).

    Args:
        scan: ANT and POST uint16 counts.
        masks: view -> bool label mask: the pixels of the lesions visible in that view.
        instances: view -> uint16 lesion-id map of every lesion, visible or not (0 = no lesion).
        regions: view -> uint8 region-id map.
        lesions: per-lesion metadata (see :meth:`Lesion.metadata`, plus ``visible``/``bbox``/``peak``/``snr`` per view).
        meta: per-patient facts (height, build, arm position, count level, Soloway grade, look-alikes, ...).
        expected: view -> float32 noise-free expected counts.
    """

    scan: Scan
    masks: dict[str, np.ndarray]
    instances: dict[str, np.ndarray]
    regions: dict[str, np.ndarray]
    lesions: list[dict]
    meta: dict
    expected: dict[str, np.ndarray] = field(default_factory=dict)


def patient_grid(config: PhantomConfig, height_mm: float, build: float) -> Grid:
    """The voxel grid for one patient: image size from the camera, depth enough for this patient's thickness."""
    cam = config.camera
    s = height_mm / 1750.0
    trunk = 2.0 * (115.0 * s * (0.6 + 0.4 * build) + 110.0 * max(build - 1.0, 0.0) * s)
    thickness = max(trunk, 260.0 * s) + 40.0
    depth = int(math.ceil(thickness / cam.depth_mm)) + 1
    return Grid(cam.rows, cam.cols, depth, cam.pixel_mm, cam.pixel_mm, cam.depth_mm)


def _uid(seed_text: str, what: str) -> str:
    digest = int(hashlib.sha256(f"scintiseg-phantom:{seed_text}:{what}".encode()).hexdigest()[:30], 16)
    return f"2.25.{digest}"


def _volumes(anatomy: Anatomy, lookalikes: list[Lookalike], config: PhantomConfig, rows: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    grid, cam = anatomy.grid, config.camera
    r0, r1 = rows
    activity = np.zeros(grid.shape, dtype=np.float32)
    mu = np.zeros(grid.shape, dtype=np.float32)
    soft = depth_fractions(anatomy.body_front[r0:r1], anatomy.body_back[r0:r1], grid, 0, grid.depth)
    activity[:, r0:r1] = soft
    mu[:, r0:r1] = soft * np.float32(cam.mu_water_per_cm / 10.0)
    extra_mu = np.float32((cam.mu_bone_per_cm - cam.mu_water_per_cm) / 10.0)
    for bone in anatomy.bones:
        where = bone.block.slices
        activity[where] += bone.block.activity
        mu[where] += bone.block.occupancy * extra_mu
    lung_mu = np.float32((cam.mu_lung_per_cm - cam.mu_water_per_cm) / 10.0)
    for source in list(anatomy.organs) + list(lookalikes):
        activity[source.block.slices] += source.block.activity
    for organ in anatomy.organs:
        where = organ.block.slices
        if organ.name.startswith(LUNG_PREFIX):  # aerated lung: a quarter of water's density (config)
            mu[where] += organ.block.occupancy * lung_mu
            np.maximum(mu[where], 0.0, out=mu[where])
        if organ.block.activity.min() < 0:
            # A lung or brain reaching past the body's surface (a thin randomised patient) lowers nothing out
            # there: never below zero (no patient of 15 across the profiles needed it).
            np.maximum(activity[where], 0.0, out=activity[where])
    return activity, mu


def _paste(canvas: np.ndarray, image: np.ndarray, corner: tuple[int, int], scale: float = 1.0) -> None:
    r, c = corner
    canvas[r:r + image.shape[0], c:c + image.shape[1]] += image * np.float32(scale)


def _bbox(mask: np.ndarray) -> list[int] | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return [int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1]


def image_point(row: float, col: float, meta: dict) -> tuple[float, float]:
    """Where the point ``(row, col)`` of the straight ANT-oriented projection lies on a patient's image: turned by
    ``meta["body_tilt_deg"]`` (counter-clockwise as displayed, rows down) about ``meta["body_tilt_centre"]``;
    itself for a patient lying straight."""
    tilt_deg = meta.get("body_tilt_deg", 0.0)
    if not tilt_deg:
        return row, col
    theta = math.radians(tilt_deg)
    centre_row, centre_col = meta["body_tilt_centre"]
    d_row, d_col = row - centre_row, col - centre_col
    return (centre_row + math.cos(theta) * d_row - math.sin(theta) * d_col,
            centre_col + math.sin(theta) * d_row + math.cos(theta) * d_col)


def _turned(image: np.ndarray, tilt_deg: float, pivot: tuple[float, float], order: int, cval: float = 0.0) -> np.ndarray:
    """``image`` (ANT orientation) as a patient turned by ``tilt_deg`` about ``pivot`` shows it (:func:`image_point`):
    linear for counts, nearest for label maps; ``cval`` outside the turned field."""
    theta = math.radians(tilt_deg)
    inverse = np.array([[math.cos(theta), math.sin(theta)], [-math.sin(theta), math.cos(theta)]])
    centre = np.asarray(pivot, dtype=np.float64)
    return ndimage.affine_transform(image, inverse, offset=centre - inverse @ centre, order=order, mode="constant",
                                    cval=cval, output=image.dtype)


def _region_maps(anatomy: Anatomy, projector: Projector) -> dict[str, np.ndarray]:
    grid = anatomy.grid
    best = {v: np.zeros((grid.rows, grid.cols), dtype=np.float32) for v in VIEWS}
    label = {v: np.zeros((grid.rows, grid.cols), dtype=np.uint8) for v in VIEWS}
    floor = np.float32(0.15)  # 1.5 mm of bone-equivalent path: ignore grazing partial voxels
    for bone in anatomy.bones:
        region = REGION_IDS[bone.region]
        images = projector.project_local(bone.block.start, bone.block.activity, blur=False)
        thickness = bone.block.occupancy.sum(axis=0) * np.float32(grid.depth_mm / 10.0)
        for view, (image, (r, c)) in images.items():
            window = (slice(r, r + image.shape[0]), slice(c, c + image.shape[1]))
            better = (image > best[view][window]) & (thickness >= floor)
            best[view][window] = np.where(better, image, best[view][window])
            label[view][window] = np.where(better, np.uint8(region), label[view][window])
    for view in VIEWS:
        grown = ndimage.grey_dilation(label[view], size=(2 * REGION_GROWTH_PX + 1,) * 2)
        label[view] = np.where(label[view] > 0, label[view], grown)
    return label


def mass_bsi(anatomy: Anatomy, lesions: list[Lesion]) -> float:
    """The 3-D mass-fraction Bone Scan Index (%) of ``lesions`` (module docstring): per region, the bone volume inside
    the lesions (each lesion's :attr:`~scintiseg.phantom.lesions.Lesion.involved`, the larger where lesions of one
    bone overlap) over the region's bone volume (its bones' occupancy), times the region's Spiers share; 0 without
    lesions."""
    by_bone: dict[str, list[Lesion]] = {}
    for lesion in lesions:
        by_bone.setdefault(lesion.bone, []).append(lesion)
    if not by_bone:
        return 0.0
    involved: dict[str, float] = {}
    for name, group in by_bone.items():
        bone = anatomy.bone(name)
        if len(group) == 1:
            inside = float(group[0].involved.sum(dtype=np.float64))
        else:  # the union: one canvas over the box of the bone's lesions, each voxel its largest involved fraction
            lo = np.min([lesion.block.start for lesion in group], axis=0)
            hi = np.max([np.add(lesion.block.start, lesion.involved.shape) for lesion in group], axis=0)
            canvas = np.zeros(tuple(hi - lo), dtype=np.float32)
            for lesion in group:
                where = tuple(slice(a - b, a - b + n) for a, b, n in zip(lesion.block.start, lo, lesion.involved.shape))
                np.maximum(canvas[where], lesion.involved, out=canvas[where])
            inside = float(canvas.sum(dtype=np.float64))
        involved[bone.region] = involved.get(bone.region, 0.0) + inside
    volume: dict[str, float] = {}
    for bone in anatomy.bones:
        if bone.region in involved:
            volume[bone.region] = volume.get(bone.region, 0.0) + float(bone.block.occupancy.sum(dtype=np.float64))
    return float(sum(SPIERS_WEIGHTS[region] * min(1.0, inside / volume[region])
                     for region, inside in involved.items() if volume[region] > 0))


def _phantom_config(config: PhantomConfig | str | None) -> PhantomConfig:
    """``config`` as a :class:`PhantomConfig`: a profile name read (:func:`~scintiseg.phantom.config.profile`, as
    :func:`~scintiseg.phantom.cohort.write_cohort` takes one), None the ``default`` profile; anything else refused."""
    if config is None:
        return PhantomConfig()
    if isinstance(config, str):
        return profile(config)  # an unknown name: one line naming the profiles
    if not isinstance(config, PhantomConfig):
        raise ScintisegError(f"generate_patient's config must be a PhantomConfig or a profile name "
                             f"({', '.join(profile_names())}), got {type(config).__name__}")
    return config


def generate_patient(seed: int, config: PhantomConfig | str | None = None,
                     patient_id: str | None = None) -> PhantomPatient:
    """Generate one phantom patient, deterministically from ``seed``.

    Args:
        seed: a whole number from 0 to 2**32 - 1 (:data:`~scintiseg.seeds.MAX_SEED`, what ``scintiseg phantom --seed``
            takes; a NumPy integer too); the same seed and config give the same arrays.
        config: the phantom configuration, or a profile name (``"randomised"``: :func:`~scintiseg.phantom.profile`);
            the ``default`` profile when None.
        patient_id: id stored in the scan (``PH<seed>`` when None).

    Returns:
        A :class:`PhantomPatient`.

    Raises:
        ScintisegError: a seed that is not such a number (a float, a bool, -1, 2**32: the CLI's
            :func:`~scintiseg.seeds.check_seed`; before API audit 74 1.5 and 2**40 were taken and -1 failed inside
            NumPy), an unknown profile name, or a config of another kind.

    Example::

        patient = generate_patient(7, "small")  # or profile("small") changed with dataclasses.replace
        patient.scan.view("POST").sum(), patient.masks["ANT"].any()
    """
    if isinstance(seed, np.integer):  # a seed drawn by NumPy (np.uint32) is the whole number it holds
        seed = int(seed)
    check_seed(seed)
    config = _phantom_config(config)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5C1]))
    # Phantom-v2 randomisers draw from their own streams: switching one on changes nothing else.
    camera_rng, lesion_rng, lookalike_rng, tilt_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence([int(seed), 0x5C1, 2]).spawn(4))
    cam = config.camera
    disease = sample_disease(rng, config.lesions)
    probe = Grid(cam.rows, cam.cols, 1, cam.pixel_mm, cam.pixel_mm, cam.depth_mm)
    body = sample_body(rng, config.anatomy, probe)
    grid = patient_grid(config, body.height_mm, body.build)
    anatomy, facts = build_anatomy(body, grid, rng, config.anatomy, renal_scale=0.05 if disease.superscan else 1.0)
    boost = apply_superscan(anatomy, rng, config.lesions) if disease.superscan else 1.0
    lesions: list[Lesion] = place_lesions(anatomy, disease, rng, config.lesions, lesion_rng)
    lookalikes = sample_lookalikes(anatomy, rng, config.lookalikes, config.anatomy, lookalike_rng)

    body_rows = np.flatnonzero(np.isfinite(anatomy.body_front).any(axis=1))
    rows = (int(body_rows[0]), int(body_rows[-1]) + 1)
    activity, mu = _volumes(anatomy, lookalikes, config, rows)
    anterior_gap = float(rng.uniform(*cam.anterior_gap_mm))
    posterior_gap = float(rng.uniform(*cam.posterior_gap_mm))
    collimator = "LEHS" if cam.p_lehs > 0 and camera_rng.random() < cam.p_lehs else "LEHR"
    projector = Projector(grid, with_collimator(cam, collimator), float(np.nanmin(anatomy.body_front)) - anterior_gap, anatomy.table_y + posterior_gap)
    projector.row_range = rows
    primary = projector.project(activity, mu)
    del activity

    lesion_images = [projector.project_local(lesion.block.start, lesion.block.activity) for lesion in lesions]
    for images in lesion_images:
        for view, (image, corner) in images.items():
            _paste(primary[view], image, corner)

    scatter_fraction = float(rng.uniform(*cam.scatter_fraction))
    background = float(rng.uniform(*cam.background_cpp))
    target = log_uniform(rng, cam.counts)
    scatter_sigma = cam.scatter_sigma_mm
    if cam.scatter_sigma_scale[0] != cam.scatter_sigma_scale[1]:
        scatter_sigma *= log_uniform(camera_rng, cam.scatter_sigma_scale)
    else:
        scatter_sigma *= cam.scatter_sigma_scale[0]
    k = count_scale({v: float(primary[v].sum()) for v in VIEWS}, target, cam.counts, background * grid.rows * grid.cols, scatter_fraction)
    expected = {}
    for view in VIEWS:
        scatter = scatter_image(primary[view], scatter_fraction, scatter_sigma, grid)
        expected[view] = (primary[view] + scatter) * np.float32(k) + np.float32(background)
    counts = {view: poisson_counts(expected[view], rng) for view in VIEWS}
    tilt, pivot = 0.0, ((rows[0] + rows[1] - 1) / 2.0, (grid.cols - 1) / 2.0)
    if config.anatomy.body_tilt_deg != (0.0, 0.0):
        # rounded as the metadata store it, so image_point places a point exactly as the maps were turned
        tilt = round(float(tilt_rng.uniform(*config.anatomy.body_tilt_deg)) * float(tilt_rng.choice([-1.0, 1.0])), 3)

    # Ground truth in ANT orientation first; POST is mirrored at the end.
    instances = {v: np.zeros((grid.rows, grid.cols), dtype=np.uint16) for v in VIEWS}
    strongest = {v: np.zeros((grid.rows, grid.cols), dtype=np.float32) for v in VIEWS}
    lesion_meta: list[dict] = []
    for lesion, images in zip(lesions, lesion_images):
        info = lesion.metadata()
        info.update(visible={}, bbox={}, peak_counts={}, snr={}, pixels={})
        sign = np.float32(-1.0 if lesion.contrast < 1.0 else 1.0)  # a cold lesion: its deficit is the signal
        for view, (image, (r, c)) in images.items():
            excess = image * np.float32(k)
            signal = excess * sign
            peak = float(signal.max())
            own = (signal >= 0.5 * peak) & (signal > 0)
            window = (slice(r, r + image.shape[0]), slice(c, c + image.shape[1]))
            wins = own & (signal > strongest[view][window])
            strongest[view][window] = np.where(wins, signal, strongest[view][window])
            instances[view][window] = np.where(wins, np.uint16(lesion.lesion_id), instances[view][window])
            background_sum = float((expected[view][window] - excess)[own].sum())
            snr = float(signal[own].sum()) / math.sqrt(max(background_sum, 1e-6))
            full = np.zeros((grid.rows, grid.cols), dtype=bool)
            full[window] = own
            if tilt:
                full = _turned(full.view(np.uint8), tilt, pivot, 0) > 0
            stored = mirror(full) if view == "POST" else full
            info["visible"][view] = bool(snr >= ROSE_K)
            info["bbox"][view] = _bbox(stored)
            info["peak_counts"][view] = round(peak, 3)
            info["snr"][view] = round(snr, 3)
            info["pixels"][view] = int(own.sum())
        lesion_meta.append(info)

    regions = _region_maps(anatomy, projector)
    if tilt:
        expected = {v: _turned(expected[v], tilt, pivot, 1, cval=background) for v in VIEWS}
        counts = {v: poisson_counts(expected[v], tilt_rng) for v in VIEWS}
        instances = {v: _turned(instances[v], tilt, pivot, 0) for v in VIEWS}
        regions = {v: _turned(regions[v], tilt, pivot, 0) for v in VIEWS}
    stored = lambda view, image: mirror(image) if view == "POST" else image  # noqa: E731
    instances = {v: stored(v, instances[v]) for v in VIEWS}
    regions = {v: stored(v, regions[v]) for v in VIEWS}
    visible_ids = {v: [info["id"] for info in lesion_meta if info["visible"].get(v)] for v in VIEWS}
    masks = {v: np.isin(instances[v], visible_ids[v]) for v in VIEWS}
    expected = {v: stored(v, expected[v]) for v in VIEWS}
    views = {v: stored(v, counts[v]) for v in VIEWS}

    seed_text = f"{config.name}:{int(seed)}"
    pid = patient_id if patient_id is not None else f"PH{int(seed)}"
    meta = {
        "seed": int(seed),
        "profile": config.name,
        "height_mm": round(body.height_mm, 1),
        "build": round(body.build, 3),
        "age": round(body.age, 1),
        "sex": body.sex,
        "arm_position": body.arm_position,
        "bone_to_soft": round(body.bone_to_soft, 3),
        "count_level": round(target, 1),
        "counts": {v: int(views[v].sum(dtype=np.int64)) for v in VIEWS},
        "scatter_fraction": round(scatter_fraction, 3),
        "scatter_sigma_mm": round(scatter_sigma, 2),
        "collimator": collimator,
        "background_cpp": round(background, 3),
        "detector_gap_mm": {"ANT": round(anterior_gap, 1), "POST": round(posterior_gap, 1)},
        "soloway": disease.soloway,
        "primary": disease.primary if disease.soloway else None,
        "superscan": disease.superscan,
        "superscan_boost": round(boost, 3),
        "n_lesions": len(lesions),
        # 3-D mass-fraction BSI (%, mass_bsi): of the lesions visible in at least one view, and of every lesion
        "bsi_mass_percent": round(mass_bsi(anatomy, [lesion for lesion, info in zip(lesions, lesion_meta)
                                                     if any(info["visible"].values())]), 4),
        "bsi_mass_percent_all": round(mass_bsi(anatomy, lesions), 4),
        "lookalikes": [item.metadata() for item in lookalikes],
        **facts,
    }
    if tilt:
        meta["body_tilt_deg"], meta["body_tilt_centre"] = tilt, list(pivot)
    scan = Scan(
        views=views,
        pixel_spacing=(grid.row_mm, grid.col_mm),
        patient_id=pid,
        patient_name=f"Phantom^{pid}",
        study_uid=_uid(seed_text, "study"),
        series_uid=_uid(seed_text, "series"),
        metadata={"source": "scintiseg phantom", "profile": config.name, "seed": int(seed),
                  # ANT seen from the front, POST as acquired (scintiseg.scan): what a DICOM writer states
                  ORIENTATION_KEY: {view: CONVENTION[view] for view in views if view in CONVENTION}},
    )
    return PhantomPatient(scan, masks, instances, regions, lesion_meta, meta, expected)
