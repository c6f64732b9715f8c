"""The body outline of a planar bone scan: which pixels lie inside the patient.

Step one of the thoracic crop (paper B §2.1, "whole-body image -> body area") and the reference region
of the intensity normalisations in :mod:`scintiseg.prepare.intensity`.

Soft tissue takes up enough 99mTc-MDP to glow faintly above the almost empty background of a gamma
camera, so the body is found from *smoothed counts*:

1. Gaussian smoothing (``sigma_mm``, 5 mm by default: two pixels at 2.26 mm) turns the Poisson speckle of
   single pixels into a level that can be thresholded.
2. Threshold at ``fraction`` (5 %) of the 99th percentile of the smoothed image. The percentile is set by
   bone uptake, so the threshold follows the patient's count level; 5 % sits well above the background
   (below 1 % of p99 on the shipped NEMA NM1 scan) and below soft tissue (10 % to 30 %).
   **Noisy background.** A fast or under-dosed scan with background counts (a domain-randomised phantom
   of 0.2 M counts per view, 0.25 counts per pixel of background, p99 of about 6 counts; seed 397828459)
   has nearly every smoothed pixel above 5 % of p99, and the body seemed to fill the frame. When the
   body found covers more than :data:`MAX_BODY_FRACTION` of the image, the threshold is taken again,
   5 % of the way from the background level to p99; the background level is the smoothed image's 10th
   percentile (:data:`BACKGROUND_PERCENTILE`: a plausible body covers at most 90 % of the frame, so at
   least a tenth of it is background). On that scan the body then covers 47 % of ANT, along its outline.
   [choice: only as a second try. Measured from the background always, the outline is also tighter on
   scans where the first try passed (on 4 default phantoms 0.1-0.6 % of the pixels change; on randomised
   phantoms 0 and 3, whose background reaches 0.78 and 0.98 of the first threshold, the body went from
   75 % and 88 % of the frame, leaking into the background, to 40 % and 83 %; on NM1, 6 default and 14
   other randomised phantoms the background stays below 0.2 of the threshold). A trigger "background
   above half the first threshold" would catch those leaks too; but the body mask sets the ``robust``
   normalisation the shipped networks were trained with, so that change waits for the next training.]
   **A hot spot that takes the level.** The 99th percentile is bone uptake only while nothing hotter covers
   1 % of the frame. A very hot bladder, a urine bag or contamination covering more (a 12 cm bladder is about
   1 % of a 1024 x 256 frame) puts it in the hot spot, 5 % of it lies above the whole skeleton, and the body
   found is the hot spot: the ``robust`` normalisation then divides the scan by the hot spot's level and the
   networks see an empty image (measured: NM1 with a spot 40 times its brightest pixel over 1.8 % of the frame
   gave no lesion and a region map over 18 % of the skeleton). When the body found covers less than
   :data:`MIN_WHOLE_BODY_FRACTION` of the frame, the threshold is taken again as 5 % of the smoothed image's
   :data:`HOT_SPOT_SAFE_PERCENTILE`-th percentile (which a hot spot of under a tenth of the frame cannot
   reach), and the new body is kept when it is plausible and at least :data:`HOT_SPOT_GROWTH` times the first:
   a hot spot is a small part of the body (NM1 with the bladder above: 31 times), while a body that is truly
   small in its frame, a crop zero-padded into a large matrix, grows only by its faint edge at the lower
   threshold (2.2 times, tests/prepare/test_intensity.py) and stays as found. [choice: a third try, not a new
   rule for every scan, because the body mask sets the normalisation the shipped networks were trained with; on
   400 phantom views (seeds 940000-940099, both profiles) and NM1 no first body covers less than 18 % of the
   frame, so the third try changes no scan the benchmarks measure.]
3. Keep the largest connected component (hot spots outside the patient, e.g. an injection-site
   marker or contamination on the couch, are dropped) and fill its small holes (up to 1,500 mm²: cold
   lesions, a photopenic spot), but not large ones: the gap between the legs closes into a hole when the
   feet touch, and between arm and trunk when a hand rests on the thigh; those gaps are not body.

The papers do not describe this step; all of it is our choice.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import remove_small_holes

from scintiseg.errors import ScintisegError

#: A body must cover at least this share of the image to count as one (a point source does not).
MIN_BODY_FRACTION = 0.01
#: ... and at most this share: counts that fill the whole frame are noise or a flood, not a patient.
MAX_BODY_FRACTION = 0.90
#: Mean counts inside the body must exceed the mean outside it by this factor.
MIN_CONTRAST = 4.0
#: Percentile of the smoothed image taken as the background level (module docstring, "Noisy background").
BACKGROUND_PERCENTILE = 10.0
#: A first body smaller than this share of the frame may be a hot spot (module docstring, "A hot spot that
#: takes the level").
MIN_WHOLE_BODY_FRACTION = 0.10
#: ... and the threshold is then taken again from this percentile of the smoothed image;
HOT_SPOT_SAFE_PERCENTILE = 90.0
#: the new body replaces the first when it is at least this many times larger.
HOT_SPOT_GROWTH = 5.0


def smoothed_counts(image: np.ndarray, sigma_px: tuple[float, float]) -> np.ndarray:
    """``image`` as float32 after a Gaussian filter of ``sigma_px`` (rows, columns) pixels."""
    return ndi.gaussian_filter(np.asarray(image, dtype=np.float32), sigma=sigma_px, mode="constant")


def body_mask(
    image: np.ndarray,
    pixel_spacing: tuple[float, float] = (2.26, 2.26),
    *,
    sigma_mm: float = 5.0,
    fraction: float = 0.05,
    max_hole_mm2: float = 1500.0,
    check: bool = True,
    path=None,
) -> np.ndarray:
    """Boolean mask of the patient's body in one planar view (see the module docstring for the method).

    Args:
        image: 2-D count array of one view (or the sum of aligned views).
        pixel_spacing: (row, column) pixel size in mm; sets the smoothing in pixels.
        sigma_mm: Gaussian smoothing in mm.
        fraction: threshold as a fraction of the 99th percentile of the smoothed counts.
        max_hole_mm2: holes up to this area are filled; larger ones (the gap between legs joined at the
            feet, or between an arm and the trunk) stay background.
        check: raise :class:`ScintisegError` when no plausible body is found (empty image, a point
            source, uniform noise). With ``check=False`` an empty mask may be returned.
        path: file named in the error message.

    Returns:
        Boolean array of ``image``'s shape, one connected component without holes.

    Example::

        mask = body_mask(scan.view("ANT"), scan.pixel_spacing)
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise ScintisegError(f"body_mask needs a 2-D image, got shape {image.shape}", path=path)
    sigma_px = (sigma_mm / pixel_spacing[0], sigma_mm / pixel_spacing[1])
    smooth = smoothed_counts(image, sigma_px)
    level = float(np.percentile(smooth, 99))
    if level <= 0:
        if check:
            raise ScintisegError("no body in the image: it holds (almost) no counts", path=path)
        return np.zeros(image.shape, dtype=bool)
    max_hole_px = max_hole_mm2 / (pixel_spacing[0] * pixel_spacing[1])
    mask = _largest_body(smooth > fraction * level, max_hole_px)
    if mask.mean() > MAX_BODY_FRACTION:  # a noisy background: measure from it (module docstring)
        background = float(np.percentile(smooth, BACKGROUND_PERCENTILE))
        mask = _largest_body(smooth > background + fraction * (level - background), max_hole_px)
    if mask.mean() < MIN_WHOLE_BODY_FRACTION:  # a hot spot may have taken the level (module docstring)
        safe_level = float(np.percentile(smooth, HOT_SPOT_SAFE_PERCENTILE))
        if 0 < safe_level < level:
            wider = _largest_body(smooth > fraction * safe_level, max_hole_px)
            if wider.sum() >= HOT_SPOT_GROWTH * mask.sum() and wider.mean() <= MAX_BODY_FRACTION:
                mask = wider
    if not mask.any():
        if check:
            raise ScintisegError("no body in the image: nothing rises above the background", path=path)
        return mask
    if check:
        _check_plausible_body(image, mask, path)
    return mask


def _largest_body(above: np.ndarray, max_hole_px: float) -> np.ndarray:
    """The largest connected component of ``above`` with its holes up to ``max_hole_px`` filled (all False
    when nothing is above)."""
    labels, count = ndi.label(above)
    if count == 0:
        return np.zeros(above.shape, dtype=bool)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    largest = labels == int(sizes.argmax())
    return remove_small_holes(largest, max_size=int(max_hole_px)) if max_hole_px >= 1 else largest


def _check_plausible_body(image: np.ndarray, mask: np.ndarray, path) -> None:
    share = float(mask.mean())
    if share < MIN_BODY_FRACTION:
        raise ScintisegError(
            f"no body in the image: the largest bright region covers only {share:.1%} of it", path=path
        )
    if share > MAX_BODY_FRACTION:
        raise ScintisegError(
            f"no body outline in the image: {share:.0%} of it is as bright as tissue (noise or a flood image?)",
            path=path,
        )
    inside = float(image[mask].mean())
    outside = float(image[~mask].mean())
    if outside > 0 and inside < MIN_CONTRAST * outside:  # no absolute floor: views in any unit
        raise ScintisegError(
            f"no body outline in the image: counts inside ({inside:.2f}/pixel) barely exceed those outside "
            f"({outside:.2f}/pixel)",
            path=path,
        )


#: Margin kept above and below the body's rows by :func:`body_rows`, in mm.
BODY_ROWS_MARGIN_MM = 40.0
#: :func:`body_rows` sums the image in blocks of this many pixels per side before smoothing it.
BODY_ROWS_BLOCK = 4


def body_rows(
    image: np.ndarray,
    pixel_spacing: tuple[float, float] = (2.26, 2.26),
    *,
    sigma_mm: float = 5.0,
    percentile: float = 90.0,
    fraction: float = 0.05,
    margin_mm: float = BODY_ROWS_MARGIN_MM,
) -> tuple[int, int]:
    """The rows ``[first, stop)`` of one view that hold the patient (or anything as bright), with a margin.

    A whole-body matrix is longer than most patients (1024 rows at 2.26 mm are 231 cm; a 170 cm patient
    fills about 750 of them): the rows beyond the head and the feet hold background only, and a network
    need not look at them. A row counts when any of its pixels, smoothed, reaches ``fraction`` of the
    ``percentile``-th percentile of the smoothed image, and every component counts, not only the largest, so
    that a head or feet joined to the body by faint counts, a hand, an injection-site marker all keep their
    rows. The level is the 90th percentile, not :func:`body_mask`'s 99th: a whole-body frame is at least a
    tenth body, so its 90th percentile lies in the body, and a very hot bladder, urine bag or injection site
    (a few per cent of the frame) cannot raise it; with the 99th, a hot spot 40 times NM1's brightest pixel
    over 1.8 % of the frame set a threshold above the legs' bones and the rows kept shrank to the hot spot's
    (tests/prepare/test_body.py). A frame less than a tenth body has its level in the background: then
    every row is kept. ``margin_mm`` is added on each side (40 mm, 18 rows at 2.26 mm: the
    head and the feet stay out of the outermost rows of the first and last window, where the network's
    zero padding shapes its output; measured against 20 and 60 mm in docs/predict.md). To be cheap (it runs
    before every whole-view prediction) the image is first summed in :data:`BODY_ROWS_BLOCK` x
    :data:`BODY_ROWS_BLOCK` blocks, which smooths too, so rows are found to within a block or two outwards
    (a very hot spot's smoothed edge reaches further), never inwards.

    Args:
        image: 2-D counts of one view.
        pixel_spacing: (row, column) mm; sets the smoothing and the margin in pixels.
        sigma_mm: Gaussian smoothing in mm (:func:`body_mask`'s).
        percentile: the percentile of the smoothed image that sets the level.
        fraction: threshold as a share of that level.
        margin_mm: rows kept beyond the first and last row found, in mm.

    Returns:
        ``(first, stop)``; ``(0, rows)`` when no level can be found (no counts) or everything reaches it
        (a noisy background, a flood), so that nothing is ever left out by mistake.

    Example::

        first, stop = body_rows(scan.view("ANT"), scan.pixel_spacing)
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise ScintisegError(f"body_rows needs a 2-D image, got shape {image.shape}")
    rows, cols = image.shape
    block = BODY_ROWS_BLOCK
    padded = np.pad(image, ((0, -rows % block), (0, -cols % block)))
    blocks = padded.reshape(padded.shape[0] // block, block, padded.shape[1] // block, block).sum(axis=(1, 3))
    sigma_px = tuple(sigma_mm / (block * float(s)) for s in pixel_spacing)
    smooth = smoothed_counts(blocks, sigma_px)
    level = float(np.percentile(smooth, percentile)) if smooth.size else 0.0
    found = np.flatnonzero((smooth >= fraction * level).any(axis=1)) if level > 0 else np.zeros(0, dtype=int)
    if found.size == 0:
        return 0, rows
    margin = int(np.ceil(margin_mm / float(pixel_spacing[0])))
    return max(int(found[0]) * block - margin, 0), min((int(found[-1]) + 1) * block + margin, rows)
