"""Anterior and posterior views: mirror, align, aggregate (paper B §2.3.3, Eq. 4).

Paper B adds the two views of one patient pixel by pixel, ``I_Agg = I_Ant + Mirr(I_Post)`` (Eq. 4), where
``Mirr`` flips the posterior view left-right: the posterior detector sees the patient from behind, so a
:class:`~scintiseg.scan.Scan` keeps POST as acquired, mirrored relative to ANT. The paper adds the views
without saying how they are registered. On a dual-head camera both views are acquired in one pass, yet the
mirrored POST rarely lands exactly on ANT: the heads' electronic centres differ, and mirroring about the
image centre maps the body's midline onto ANT's midline only when the patient lies in the middle of the
couch. We therefore *align* ``Mirr(I_Post)`` to ``I_Ant`` by a translation before adding:

- **Estimate**: the shift that maximises the cross-correlation of the two views after a variance-
  stabilising square root and a Gaussian smoothing of ``sigma_px`` (1.5 pixels), computed by FFT with
  :func:`skimage.registration.phase_cross_correlation` (``normalization=None``: plain cross-correlation;
  phase normalisation whitens Poisson noise and was less accurate on phantoms). The two views differ in
  contrast (ANT shows the sternum and anterior ribs, POST the spine and scapulae, each attenuated through
  the body), but share the body outline and the skeleton's geometry, which dominate the correlation.
  Shifts are limited to ``max_shift`` pixels (larger ones mean the views are not of one patient in one
  pass, and raise an error).
- **Apply**: an integer shift by default (``subpixel=False``): counts stay counts and a mask stays a mask.
  With ``subpixel=True`` the shift is estimated to 0.1 pixel and applied with linear interpolation to the
  image (masks still use the nearest pixel). Pixels shifted in from outside the image are 0.

Masks aggregate as the union of the ANT mask and the aligned, mirrored POST mask (a lesion seen in either
view is a lesion). :func:`two_channel` stacks ``(I_Ant, aligned Mirr(I_Post))`` for models that want both.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.registration import phase_cross_correlation

from scintiseg.errors import ScintisegError
from scintiseg.scan import Scan, mirror

#: Default bound on the alignment shift, in pixels (about 45 mm at 2.26 mm per pixel).
MAX_SHIFT = 20


def shift_image(image: np.ndarray, shift: tuple[float, float], *, order: int = 0) -> np.ndarray:
    """Translate a 2-D array by ``shift = (rows, cols)`` pixels, filling with 0.

    Integer shifts are exact (no interpolation) for any ``order``; fractional shifts use linear
    interpolation when ``order=1`` and the nearest pixel when ``order=0``.
    """
    image = np.asarray(image)
    dy, dx = float(shift[0]), float(shift[1])
    if dy.is_integer() and dx.is_integer():
        out = np.zeros_like(image)
        dy, dx = int(dy), int(dx)
        rows, cols = image.shape
        src_r = slice(max(0, -dy), min(rows, rows - dy))
        dst_r = slice(max(0, dy), min(rows, rows + dy))
        src_c = slice(max(0, -dx), min(cols, cols - dx))
        dst_c = slice(max(0, dx), min(cols, cols + dx))
        out[dst_r, dst_c] = image[src_r, src_c]
        return out
    if image.dtype == bool:
        return ndi.shift(image.astype(np.uint8), (dy, dx), order=0, mode="constant", cval=0).astype(bool)
    if order == 0:
        return ndi.shift(image, (dy, dx), order=0, mode="constant", cval=0)
    return ndi.shift(image.astype(np.float32), (dy, dx), order=order, mode="constant", cval=0.0)


def _registration_image(image: np.ndarray, sigma_px: float) -> np.ndarray:
    stabilised = np.sqrt(np.asarray(image, dtype=np.float32))
    smooth = ndi.gaussian_filter(stabilised, sigma_px) if sigma_px > 0 else stabilised
    return smooth - smooth.mean()


def estimate_shift(
    ant: np.ndarray,
    mirrored_post: np.ndarray,
    *,
    subpixel: bool = False,
    sigma_px: float = 1.5,
    max_shift: float = MAX_SHIFT,
) -> tuple[float, float]:
    """The (rows, cols) shift that moves ``mirrored_post`` onto ``ant`` (cross-correlation; see module docstring)."""
    ant = np.asarray(ant)
    mirrored_post = np.asarray(mirrored_post)
    if ant.shape != mirrored_post.shape or ant.ndim != 2:
        raise ScintisegError(f"views to align must be 2-D and of one shape, got {ant.shape} and {mirrored_post.shape}")
    reference = _registration_image(ant, sigma_px)
    moving = _registration_image(mirrored_post, sigma_px)
    if not reference.any() or not moving.any():
        raise ScintisegError("cannot align views: one of them holds no counts")
    shift, _, _ = phase_cross_correlation(
        reference, moving, upsample_factor=10 if subpixel else 1, normalization=None
    )
    dy, dx = float(shift[0]), float(shift[1])
    if abs(dy) > max_shift or abs(dx) > max_shift:
        raise ScintisegError(
            f"posterior view is {dy:+.0f}, {dx:+.0f} pixels off the anterior one (more than {max_shift:g}): "
            "are the two views of one patient in one pass?"
        )
    return (dy, dx) if subpixel else (float(round(dy)), float(round(dx)))


def align_post_to_ant(
    ant: np.ndarray, post: np.ndarray, *, subpixel: bool = False, max_shift: float = MAX_SHIFT
) -> tuple[tuple[float, float], np.ndarray]:
    """Mirror POST (as acquired) and translate it onto ANT.

    Args:
        ant: anterior view.
        post: posterior view *as acquired* (mirrored relative to ANT).
        subpixel: estimate to 0.1 pixel and interpolate linearly; default integer shift, exact counts.
        max_shift: largest believable shift in pixels; beyond it a :class:`ScintisegError` is raised.

    Returns:
        ``(shift, aligned)``: the (rows, cols) shift applied to ``mirror(post)``, and the aligned mirrored
        POST (float32 when interpolated, else POST's dtype).

    Example::

        shift, post_aligned = align_post_to_ant(scan.view("ANT"), scan.view("POST"))
        post_mask_aligned = align_mask(post_mask, shift)
    """
    mirrored = mirror(post)
    shift = estimate_shift(ant, mirrored, subpixel=subpixel, max_shift=max_shift)
    return shift, shift_image(mirrored, shift, order=1 if subpixel else 0)


def align_mask(post_mask: np.ndarray, shift: tuple[float, float]) -> np.ndarray:
    """Mirror a POST mask or label map (as acquired) and move it by ``shift`` (nearest pixel), like its image."""
    return shift_image(mirror(post_mask), shift, order=0)


def _dual_views(scan: Scan) -> tuple[np.ndarray, np.ndarray]:
    if not scan.is_dual_view:
        raise ScintisegError(
            f"aggregating views needs ANT and POST, the scan has {', '.join(scan.view_names)}", path=scan.source
        )
    return scan.view("ANT"), scan.view("POST")


def aggregate_views(
    scan: Scan, *, align: bool = True, subpixel: bool = False, shift: tuple[float, float] | None = None
) -> np.ndarray:
    """``I_Agg = I_Ant + Mirr(I_Post)`` (paper B Eq. 4), POST aligned to ANT first unless ``align=False``.

    Args:
        scan: ANT and POST (as acquired).
        align: move ``Mirr(I_Post)`` onto ANT first (:func:`align_post_to_ant`); False adds it where it lies.
        subpixel: as in :func:`align_post_to_ant`.
        shift: a (rows, cols) shift already estimated for this scan (:func:`estimate_shift` of ANT and the
            mirrored POST), applied instead of estimating it again; :func:`aggregate_scan` passes the one its
            mask is moved by.

    Returns:
        float32 array of the views' shape, in counts.
    """
    ant, post = _dual_views(scan)
    if shift is not None:
        post_aligned = shift_image(mirror(post), shift, order=1 if subpixel else 0)
    elif align:
        _, post_aligned = align_post_to_ant(ant, post, subpixel=subpixel)
    else:
        post_aligned = mirror(post)
    return np.asarray(ant, dtype=np.float32) + np.asarray(post_aligned, dtype=np.float32)


def two_channel(scan: Scan, *, align: bool = True, subpixel: bool = False) -> np.ndarray:
    """``(2, H, W)`` float32 stack of ``I_Ant`` and the aligned ``Mirr(I_Post)``: the sum's alternative."""
    ant, post = _dual_views(scan)
    post_aligned = align_post_to_ant(ant, post, subpixel=subpixel)[1] if align else mirror(post)
    return np.stack([np.asarray(ant, dtype=np.float32), np.asarray(post_aligned, dtype=np.float32)])


def aggregate_masks(ant_mask: np.ndarray, post_mask: np.ndarray, shift: tuple[float, float]) -> np.ndarray:
    """Union of the ANT mask and the POST mask (as acquired) mirrored and moved by ``shift``."""
    return np.asarray(ant_mask, dtype=bool) | align_mask(np.asarray(post_mask, dtype=bool), shift)


def aggregate_scan(
    scan: Scan, masks: dict[str, np.ndarray] | None = None, *, subpixel: bool = False
) -> tuple[np.ndarray, np.ndarray | None, tuple[float, float]]:
    """Aggregate image (:func:`aggregate_views`), aggregated mask (or None) and the shift used, all from one alignment.

    Args:
        scan: ANT and POST (as acquired).
        masks: optional view -> mask (POST as acquired); a missing view's mask counts as empty.
        subpixel: as in :func:`align_post_to_ant`.
    """
    ant, post = _dual_views(scan)
    shift = estimate_shift(ant, mirror(post), subpixel=subpixel)
    image = aggregate_views(scan, subpixel=subpixel, shift=shift)
    if masks is None:
        return image, None, shift
    empty = np.zeros(ant.shape, dtype=bool)
    mask = aggregate_masks(masks.get("ANT", empty), masks.get("POST", empty), shift)
    return image, mask, shift
