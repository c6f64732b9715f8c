"""Typed configuration of a DCGAN run (paper B §3.2.2), loaded from and saved as YAML.

Every field is one ``scintiseg gan train`` flag (``--field-name``) and one key of ``RUN/config.yaml``;
the resolved config is written next to every run so it can be repeated exactly.

Choices paper B leaves open, and ours:

- ``k`` (paper B: "the iteration parameter is set as k = 3"). We read it as in Goodfellow et al. (2014),
  Algorithm 1: the discriminator D takes ``k`` optimiser steps, each on a fresh real mini-batch and a
  fresh noise batch, for every single generator step. ``k = 1`` is the Radford et al. (2015) schedule.
- One *epoch* is ``ceil(b / k)`` generator steps, each after ``k`` discriminator steps on their own real
  mini-batch, where ``b`` is the number of mini-batches in one pass over the ``N`` real training images
  (``N // batch_size`` full batches plus a last one of the remaining images when there are at least 2 of
  them; one batch of all ``N`` when ``N <= batch_size``). D thus sees ``k * ceil(b / k)`` mini-batches per
  epoch, drawn from successive shuffled passes (an epoch may end inside a pass; the next epoch continues
  it): ``k * ceil(b / k) / b`` passes of D over the real images, 1 only when ``k`` divides ``b``. With
  paper B's k = 3 and batch 16 that is 1.5 passes for 28 images (b = 2), 1.2 for 70 (b = 5), and ``k``
  passes whenever ``N <= batch_size`` (b = 1). (Session 63: this said "one pass of D over the real
  training images", which holds only when ``k`` divides ``b``, e.g. for ``k = 1``.)
- ``native_size``: the resolution G and D work at. 256 x 256 (the crop size) is possible but slow on a
  CPU; the default is 64 and generated images are up-sampled (bilinear) to ``output_size`` before they
  are mapped back to counts, where Poisson sampling restores pixel-level counting noise.
- Hyper-parameters follow Radford et al. (2015) §4: Adam, learning rate 2e-4, beta1 0.5, batch norm in
  G and D, LeakyReLU slope 0.2 in D, weights initialised N(0, 0.02), latent size 100.
- Lesion-aware options (not in paper B, all off by default so the defaults stay paper B's plain DCGAN;
  measured in docs/gan.md): ``real_flip`` (left-right flips of the real images D sees),
  ``minibatch_std`` (Karras et al. 2018 minibatch standard deviation in D, against mode collapse),
  ``lesion_oversample`` (real crops with a lesion drawn this many times as often as lesion-free ones)
  and ``mask_match`` (weight of a term in G's loss that matches the mean lesion-mask area of generated
  and real images, per view). :data:`LESION_AWARE` holds the combination we measured best.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from scintiseg.config import Config, option
from scintiseg.errors import ScintisegError

#: The views G can generate (POST as acquired).
VIEW_NAMES: tuple[str, ...] = ("ANT", "POST", "VIEW")

#: The lesion-aware settings measured in docs/gan.md ("Lesion-aware training"): paper B's DCGAN with
#: k = 1 (Radford et al.'s schedule; with k = 3 and 70 crops D wins and G collapsed), resize-convolution,
#: flips, minibatch standard deviation, lesion oversampling and mask-area matching.
LESION_AWARE: dict = {
    "k": 1,
    "upsample": "resize",
    "real_flip": True,
    "minibatch_std": True,
    "lesion_oversample": 2.0,
    "mask_match": 1.0,
}


@dataclass
class GanConfig(Config):
    """Everything that defines a DCGAN run.

    Args:
        views: image channels G produces, in order; ``["ANT", "POST"]`` (default: both views of a
            thoracic crop, POST as acquired) or ``["ANT"]``. G outputs one image and one mask channel
            per view.
        native_size: side of the square images G and D work on (a power of two, 32..256).
        output_size: side of the saved samples; 0 (default) is the side of the training crops, filled
            in when training starts (a D3 data set needs samples of its crops' size).
        latent_dim: size of the noise vector z ~ N(0, I).
        base_width: channels of G's last hidden layer and D's first layer; doubled at each coarser scale.
        max_width: cap on the channels of any layer.
        upsample: how G up-samples: ``"transpose"`` (Radford et al. 2015, kernel-4 stride-2 transposed
            convolutions; paper B's DCGAN) or ``"resize"`` (Odena et al. 2016: nearest x2 then a 3 x 3
            convolution, no checkerboard artefacts); see :mod:`scintiseg.gan.dcgan`.
        k: discriminator steps per generator step (Goodfellow et al. 2014, Algorithm 1).
        epochs: training length in epochs; one epoch is ``ceil(b / k)`` G steps and ``k * ceil(b / k)`` D
            mini-batches, ``b`` the mini-batches of one pass over the real training images: ``k * ceil(b / k) / b``
            passes of D (1.5 for 28 images at batch 16 with k = 3; ``k`` when the images fit one batch).
        batch_size: images per mini-batch (Radford et al. use 128; small data sets need less).
        lr_g, lr_d: Adam learning rates (Radford et al.: 2e-4).
        beta1, beta2: Adam betas (Radford et al.: 0.5, 0.999).
        sqrt_ceiling: ceiling of the square-root count transform (see :mod:`scintiseg.gan.counts`).
        count_noise: how expected counts become integers when sampling: ``"poisson"`` or ``"round"``.
        mask_threshold: the mask channel (in [0, 1]) is thresholded here when saved.
        sample_every: save a sample grid every this many epochs (and at the last epoch).
        checkpoint_every: save a checkpoint every this many epochs (and at the last epoch).
        diff_augment: DiffAugment policy on D's inputs (:mod:`scintiseg.gan.diffaugment`): ``none``
            (paper B's plain DCGAN), ``translation`` or ``translation,cutout`` (for small data sets).
        real_label: target of real images in D's loss; 0.9 is one-sided label smoothing (Salimans et
            al. 2016), 1.0 the plain minimax game.
        real_flip: flip each real image D sees left-right with probability 0.5 (all channels of a case
            together, so ANT, mirrored POST and masks stay registered). Bone scans are nearly
            left-right symmetric, so G may learn mirrored anatomy; the data D sees doubles.
        minibatch_std: append the minibatch standard deviation channel to D's last hidden map
            (Karras et al. 2018, "Progressive growing of GANs", §3): D can see a batch of identical
            samples, which penalises mode collapse.
        lesion_oversample: sampling weight of real crops with a lesion (any mask pixel, any view) over
            lesion-free crops; 1.0 is a uniform pass over the images. Batches are then drawn with
            replacement, a pass still has as many draws as the training set (an epoch as many passes as above).
        mask_match: weight of ``sum_v (log(m_fake_v + 1e-4) - log(m_real_v + 1e-4))^2`` in G's loss,
            ``m_v`` the mean mask value of view ``v`` (the real one over the training images weighted as
            they are drawn, the generated one over G's batch): G is told directly when it paints less
            (or more) lesion area than the real images hold. 0 switches it off.
        held_out_fold: also leave out of GAN training the patients of this fold's ``val`` list in the data
            set's ``splits.json`` (its test patients are always left out; :mod:`scintiseg.gan.data`); -1
            (default): none. The ``paper-b-augmentation`` experiment sets its rows' validation fold (0), so
            that no row is validated on patients G learned from (session 63).
        seed: seeds weights, noise and mini-batch order.
        threads: torch intra-op threads (0: leave torch's default).
    """

    kind: ClassVar[str] = "gan config"

    views: list[str] = option(
        default_factory=lambda: ["ANT", "POST"], choices=VIEW_NAMES, help="views G generates",
        parse=lambda text: [v.strip().upper() for v in text.split(",") if v.strip()],
    )
    native_size: int = option(64, help="side G and D work at (32..256, a power of two); samples are up-sampled to the crops' size")
    output_size: int = option(0, help="side of the saved samples (0: the training crops' side)")
    latent_dim: int = option(100, help="size of the noise vector z")
    base_width: int = option(32, help="channels of G's finest and D's first hidden layer")
    max_width: int = option(256, help="cap on the channels of any layer")
    upsample: str = option("transpose", choices=("transpose", "resize"),
                           help="G's up-sampling: transpose (Radford et al.) or resize (nearest x2 + 3x3 conv, Odena et al. 2016)")
    k: int = option(3, help="discriminator steps per generator step (paper B: k = 3; Goodfellow et al. Algorithm 1)")
    epochs: int = option(200, help="training length: one epoch is ceil(b/k) G steps = k*ceil(b/k) D batches, b the batches of "
                                   "one pass over the real images (k*ceil(b/k)/b passes of D: 1.5 for 28 images, batch 16, k 3)")
    batch_size: int = option(16, help="images per mini-batch")
    lr_g: float = option(2e-4, help="Adam learning rate of G")
    lr_d: float = option(2e-4, help="Adam learning rate of D")
    beta1: float = option(0.5, help="Adam beta1")
    beta2: float = option(0.999, help="Adam beta2")
    sqrt_ceiling: float = option(2.0, help="ceiling of the square-root count transform")
    count_noise: str = option("poisson", choices=("poisson", "round"), help="expected counts -> integers")
    mask_threshold: float = option(0.5, help="threshold of the saved mask channel")
    sample_every: int = option(10, help="save a sample grid every N epochs")
    checkpoint_every: int = option(5, help="save a checkpoint every N epochs")
    diff_augment: str = option("none", choices=("none", "translation", "cutout", "translation,cutout"),
                               help="DiffAugment of D's inputs")
    real_label: float = option(1.0, help="D's target for real images (0.9: one-sided label smoothing)")
    real_flip: bool = option(False, help="flip real images left-right at random for D")
    minibatch_std: bool = option(False, help="minibatch standard deviation channel in D (Karras et al. 2018)")
    lesion_oversample: float = option(1.0, help="draw real crops with a lesion this many times as often")
    mask_match: float = option(0.0, help="weight of the mask-area term in G's loss (0: off)")
    held_out_fold: int = option(-1, help="also leave out the validation patients of this fold of splits.json (-1: none)")
    seed: int = option(0, help="seed of weights, noise and batch order")
    threads: int = option(0, help="torch threads (0: torch's default)")

    def validate(self) -> None:
        """Raise :class:`ScintisegError` naming the first bad field."""
        super().validate()
        if not self.views or len(set(self.views)) != len(self.views):
            raise ScintisegError(f"views must be distinct names from {', '.join(VIEW_NAMES)}, got {self.views}")
        size = self.native_size
        if size < 32 or size > 256 or size & (size - 1):
            raise ScintisegError(f"native_size must be a power of two in 32..256, got {size}")
        if self.output_size != 0 and self.output_size < size:
            raise ScintisegError(f"output_size {self.output_size} is smaller than native_size {size} (0: the crops' size)")
        for name in ("latent_dim", "base_width", "max_width", "k", "epochs", "batch_size", "sample_every", "checkpoint_every"):
            if int(getattr(self, name)) < 1:
                raise ScintisegError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 < self.mask_threshold < 1.0:
            raise ScintisegError(f"mask_threshold must lie in (0, 1), got {self.mask_threshold}")
        if not 0.5 < self.real_label <= 1.0:
            raise ScintisegError(f"real_label must lie in (0.5, 1], got {self.real_label}")
        if not self.lesion_oversample >= 1.0:
            raise ScintisegError(f"lesion_oversample must be >= 1, got {self.lesion_oversample}")
        if not self.mask_match >= 0.0:
            raise ScintisegError(f"mask_match must be >= 0, got {self.mask_match}")
        if not self.sqrt_ceiling > 0:
            raise ScintisegError(f"sqrt_ceiling must be positive, got {self.sqrt_ceiling}")
        for name in ("lr_g", "lr_d"):  # Adam refuses a negative one with a traceback, after the crops are read
            if not getattr(self, name) > 0:
                raise ScintisegError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("beta1", "beta2"):  # ... and a beta outside [0, 1) the same way
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ScintisegError(f"{name} must lie in [0, 1), got {getattr(self, name)}")
        if self.held_out_fold < -1:
            raise ScintisegError(f"held_out_fold must be a fold index or -1 (none), got {self.held_out_fold}")
        if self.threads < 0:  # torch.set_num_threads(-1) was a RuntimeError traceback (session 52)
            raise ScintisegError(f"threads must be 0 (torch's default) or more, got {self.threads}")
