"""Label-preserving geometric augmentation: flips, rotations, translations (paper B §3.2.1).

Paper B built its data set D2 from D1 (112 thoracic images) by "image flipping, rotation, and
translation", keeping the labels valid by moving them with the image, but gives no ranges. Ours
(constructor arguments everywhere):

- horizontal flip with probability 0.5 (a left-right mirror is a plausible patient; a vertical flip is not,
  so ``vflip_prob`` defaults to 0);
- rotation about the image centre by an angle uniform in ``[-max_angle, max_angle]``, 10 degrees (patients
  lie straight on the couch within a few degrees);
- translation uniform in ``[-max_shift, max_shift]`` of the image size per axis, 0.1 (about 25 pixels of a
  256 crop: the thoracic crop's placement varies by about as much between patients).

One transform is one 3 x 3 matrix in pixel coordinates ``(x = col, y = row)``,
``A = translate . rotate_about_centre . flip``; images are resampled linearly, masks and label maps with
the nearest pixel, so a mask stays a mask and a lesion moves exactly with its image. Pixels from outside
the image are the image's minimum, its background under any normalisation (a z-score's is negative; session 63:
before, 0, a false edge there), and 0 in masks and label maps. The NumPy path (:func:`apply_geometric`, :func:`random_geometric`) serves offline
expansion (``scintiseg dataset augment``); :class:`RandomGeometric` does the same per sample on a
``(B, C, H, W)`` torch batch inside a training loop, with ``torch.nn.functional.grid_sample``.

**POST as acquired.** A scan keeps POST mirrored relative to ANT. To keep that relation, the posterior view
gets the *mirror-conjugate* transform (:meth:`GeometricParams.mirrored`): mirror, transform, mirror back,
i.e. the same flip, the opposite angle and the opposite column shift.

Count-level augmentation (binomial thinning) lives in :mod:`scintiseg.prepare.thinning`
(:func:`~scintiseg.prepare.thinning.binomial_thin`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi


@dataclass(frozen=True)
class GeometricParams:
    """One geometric transform: a flip, then a rotation about the centre, then a translation.

    Args:
        hflip: mirror left-right first.
        vflip: mirror top-bottom first.
        angle_deg: rotation, counter-clockwise as displayed (rows down), in degrees.
        shift: translation (rows, cols) in pixels.
    """

    hflip: bool = False
    vflip: bool = False
    angle_deg: float = 0.0
    shift: tuple[float, float] = (0.0, 0.0)

    def mirrored(self) -> "GeometricParams":
        """The same transform seen in a left-right mirrored image (for POST as acquired)."""
        return GeometricParams(self.hflip, self.vflip, -self.angle_deg, (self.shift[0], -self.shift[1]))

    def matrix(self, shape: tuple[int, int]) -> np.ndarray:
        """3 x 3 forward matrix on homogeneous pixel coordinates ``(x = col, y = row, 1)``."""
        rows, cols = shape
        cx, cy = (cols - 1) / 2.0, (rows - 1) / 2.0
        flip = np.diag([-1.0 if self.hflip else 1.0, -1.0 if self.vflip else 1.0, 1.0])
        flip[0, 2] = 2 * cx if self.hflip else 0.0
        flip[1, 2] = 2 * cy if self.vflip else 0.0
        theta = math.radians(self.angle_deg)
        cos, sin = math.cos(theta), math.sin(theta)
        # Counter-clockwise on screen with y pointing down.
        rotate = np.array([[cos, sin, 0.0], [-sin, cos, 0.0], [0.0, 0.0, 1.0]])
        centre = np.array([[1.0, 0.0, cx], [0.0, 1.0, cy], [0.0, 0.0, 1.0]])
        uncentre = np.array([[1.0, 0.0, -cx], [0.0, 1.0, -cy], [0.0, 0.0, 1.0]])
        translate = np.array([[1.0, 0.0, self.shift[1]], [0.0, 1.0, self.shift[0]], [0.0, 0.0, 1.0]])
        return translate @ centre @ rotate @ uncentre @ flip

    def to_json(self) -> dict:
        return {"hflip": self.hflip, "vflip": self.vflip, "angle_deg": self.angle_deg, "shift": list(self.shift)}


def sample_params(
    rng: np.random.Generator,
    shape: tuple[int, int],
    *,
    hflip_prob: float = 0.5,
    vflip_prob: float = 0.0,
    max_angle: float = 10.0,
    max_shift: float = 0.1,
) -> GeometricParams:
    """Draw one transform (ranges in the module docstring); ``max_shift`` is a fraction of the image size."""
    rows, cols = shape
    return GeometricParams(
        hflip=bool(rng.random() < hflip_prob),
        vflip=bool(rng.random() < vflip_prob),
        angle_deg=float(rng.uniform(-max_angle, max_angle)),
        shift=(float(rng.uniform(-max_shift, max_shift) * rows), float(rng.uniform(-max_shift, max_shift) * cols)),
    )


def apply_geometric(array: np.ndarray, params: GeometricParams, *, order: int = 1) -> np.ndarray:
    """Apply ``params`` to a 2-D array or each channel of a ``(C, H, W)`` stack.

    Args:
        array: image (``order=1``: linear; the border uncovered filled with its minimum, its background) or
            mask / label map (``order=0``: nearest pixel, the border 0; dtype kept).
        params: the transform.
        order: spline order of the resampling.

    Returns:
        The transformed array; float32 for ``order > 0``, else the input dtype.
    """
    array = np.asarray(array)
    if array.ndim == 3:
        return np.stack([apply_geometric(channel, params, order=order) for channel in array])
    forward = params.matrix(array.shape)
    inverse_xy = np.linalg.inv(forward)
    # scipy indexes (row, col): swap x and y of the inverse matrix.
    swap = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    inverse_rc = swap @ inverse_xy @ swap
    if order == 0:
        source = array.astype(np.uint8) if array.dtype == bool else array
        out = ndi.affine_transform(source, inverse_rc, order=0, mode="grid-constant", cval=0, prefilter=False)
        return out.astype(bool) if array.dtype == bool else out
    # what comes in at a border is the image's minimum, its background (as RandomGeometric fills; session 63)
    background = float(array.min()) if array.size else 0.0
    return ndi.affine_transform(
        array.astype(np.float32), inverse_rc, order=order, mode="grid-constant", cval=background, prefilter=False
    )


def random_geometric(
    image: np.ndarray,
    mask: np.ndarray | None,
    rng: np.random.Generator,
    **ranges,
) -> tuple[np.ndarray, np.ndarray | None, GeometricParams]:
    """One random label-preserving transform applied to an image and its mask together.

    Args:
        image: 2-D counts or a ``(C, H, W)`` stack (linear resampling, float32 out).
        mask: matching 2-D mask / label map or ``(K, H, W)`` stack (nearest pixel), or None.
        rng: NumPy Generator.
        **ranges: ``hflip_prob``, ``vflip_prob``, ``max_angle``, ``max_shift`` of :func:`sample_params`.

    Returns:
        ``(image, mask, params)``.

    Example::

        rng = np.random.default_rng(0)
        image_aug, mask_aug, params = random_geometric(image, mask, rng)
    """
    params = sample_params(rng, np.asarray(image).shape[-2:], **ranges)
    out_image = apply_geometric(image, params, order=1)
    out_mask = None if mask is None else apply_geometric(mask, params, order=0)
    return out_image, out_mask, params


def _torch_theta(params: GeometricParams, shape: tuple[int, int]):
    """``affine_grid`` matrix (output -> input, normalised, ``align_corners=True``) for ``params``."""
    rows, cols = shape
    to_norm = np.array([[2.0 / max(cols - 1, 1), 0.0, -1.0], [0.0, 2.0 / max(rows - 1, 1), -1.0], [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(params.matrix(shape))
    return (to_norm @ inverse @ np.linalg.inv(to_norm))[:2]


class RandomGeometric:
    """Random flips, rotations and translations of a torch batch, one transform per sample.

    The same transform moves a sample's image (bilinear) and mask (nearest), so labels stay labels. Runs
    on the batch's device. Ranges as :func:`sample_params`.

    Args:
        hflip_prob, vflip_prob, max_angle, max_shift: transform ranges (module docstring).
        p: probability that a sample is transformed at all (else left as is).
        seed: seed of the generator drawing the transforms (None: fresh entropy).

    Example::

        augment = RandomGeometric(max_angle=10, seed=0)
        for images, masks in loader:                    # (B, C, H, W), (B, 1, H, W)
            images, masks = augment(images, masks)
    """

    def __init__(
        self,
        hflip_prob: float = 0.5,
        vflip_prob: float = 0.0,
        max_angle: float = 10.0,
        max_shift: float = 0.1,
        p: float = 1.0,
        seed: int | None = None,
    ) -> None:
        self.ranges = dict(hflip_prob=hflip_prob, vflip_prob=vflip_prob, max_angle=max_angle, max_shift=max_shift)
        self.p = p
        self.rng = np.random.default_rng(seed)

    def sample(self, batch: int, shape: tuple[int, int]) -> list[GeometricParams]:
        out = []
        for _ in range(batch):
            params = sample_params(self.rng, shape, **self.ranges)
            out.append(params if self.rng.random() < self.p else GeometricParams())
        return out

    def __call__(self, image, mask=None, params: list[GeometricParams] | None = None):
        """Transform ``image`` (B, C, H, W) and ``mask`` (B, K, H, W) alike; returns ``(image, mask)``."""
        import torch  # lazy: start-up time (`scintiseg dataset augment` uses only the NumPy path)
        import torch.nn.functional as F  # lazy: start-up time

        batch, _, rows, cols = image.shape
        params = self.sample(batch, (rows, cols)) if params is None else params
        theta = torch.as_tensor(
            np.stack([_torch_theta(p, (rows, cols)) for p in params]), dtype=torch.float32, device=image.device
        )
        grid = F.affine_grid(theta, (batch, 1, rows, cols), align_corners=True)
        # What comes in at a border is each image's (channel's) minimum, its background under every normalisation:
        # a z-score's background is negative, and a zero fill drew a false edge there (session 63).
        low = image.float().amin(dim=(2, 3), keepdim=True)
        out_image = (F.grid_sample(
            image.float() - low, grid, mode="bilinear", padding_mode="zeros", align_corners=True
        ) + low).to(image.dtype if image.is_floating_point() else torch.float32)
        if mask is None:
            return out_image, None
        out_mask = F.grid_sample(mask.float(), grid, mode="nearest", padding_mode="zeros", align_corners=True)
        return out_image, out_mask.to(mask.dtype)
