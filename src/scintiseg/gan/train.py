"""Training the DCGAN: Goodfellow et al. (2014) Algorithm 1 with k discriminator steps per generator step.

Paper B §3.2.2 trains a DCGAN "where the iteration parameter is set as k = 3". We read k as in
Goodfellow et al. (2014), Algorithm 1: for each generator update, the discriminator is updated ``k``
times, each time on a fresh mini-batch of real images and a fresh batch of noise. The losses are the
usual ones for the minimax game ``min_G max_D E[log D(x)] + E[log(1 - D(G(z)))]``:

- D maximises ``log D(x) + log(1 - D(G(z)))`` (binary cross-entropy, real = 1, fake = 0);
- optional, for small data sets: one-sided label smoothing (``real_label``) and DiffAugment of every D
  input (``diff_augment``, :mod:`scintiseg.gan.diffaugment`); both off by default;
- optional, lesion-aware (:mod:`scintiseg.gan.config`): left-right flips of the real images
  (``real_flip``), lesion crops drawn more often (``lesion_oversample``), and a mask-area term in G's
  loss (``mask_match``); all off by default;
- G uses the non-saturating form, maximising ``log D(G(z))`` (Goodfellow et al. §3, used by Radford
  et al.), because ``log(1 - D(G(z)))`` gives G no gradient early in training.

One epoch is ``ceil(b / k)`` G steps, ``b`` the mini-batches of one pass over the ``N`` real images
(:func:`batches_per_epoch`), so D takes ``k * ceil(b / k)`` steps on as many real mini-batches, drawn from
successive shuffled passes (an epoch may end inside a pass, and the next epoch continues it). That is
``k * ceil(b / k) / b`` passes of D over the real images: one only when ``k`` divides ``b`` (session 63:
this said "one pass"; with k = 3 and batch 16 it is 1.5 passes for 28 images and ``k`` passes whenever
``N <= batch_size``).
Optimisers: Adam(lr 2e-4, betas (0.5, 0.999)) for both (Radford et al. 2015 §4).

A run folder holds::

    RUN/config.yaml            the resolved :class:`~scintiseg.gan.config.GanConfig`
    RUN/normalisation.json     count scales of the training cases, views, spacing, source size, data set,
                               training cases and patients, the patients held out
    RUN/checkpoints/last.pt    G, D, optimisers, counters, RNG state (resume continues from here)
    RUN/checkpoints/generator.pt  G's weights only (what ``scintiseg gan sample`` needs)
    RUN/samples/epoch_NNNN.png sample grids from a fixed noise batch
    RUN/history.csv            per-epoch mean losses and D's mean outputs on real and fake

The two ``.pt`` files are the GAN's own format, written by :func:`save_trainer` and read by :func:`load_trainer`
(``last.pt``) and :func:`read_gan_file` (either; ``scintiseg gan sample`` reads ``generator.pt`` with it). Like a
network's checkpoint (:mod:`scintiseg.models.checkpoint`) each records ``format`` (:data:`FORMAT`), ``version``
(:data:`VERSION`) and ``scintiseg_version``, loads with ``torch.load(weights_only=True)``, and a file of another
format, a newer version or lacking what its reader needs is refused in one line naming it
(:func:`scintiseg.formats.check_format_version`). Files written before the tags (session 65) are read as
version 1, as ONNX sidecars written before their ``version`` are (:mod:`scintiseg.predict.export`).
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from scintiseg import __version__
from scintiseg.errors import ScintisegError
from scintiseg.formats import check_format_version, made_by
from scintiseg.gan.config import GanConfig
from scintiseg.gan.data import lesion_weights, load_training_images, mask_means
from scintiseg.gan.dcgan import Discriminator, Generator
from scintiseg.gan.diffaugment import diff_augment
from scintiseg.gan.grid import save_sample_grid
from scintiseg.io.atomic import atomic_path, remove_stale_partials, write_text_atomic
from scintiseg.io.dataset import read_json_object
from scintiseg.models.checkpoint import load_weights_only

CONFIG_NAME = "config.yaml"
NORMALISATION_NAME = "normalisation.json"
CHECKPOINT_NAME = "checkpoints/last.pt"
GENERATOR_NAME = "checkpoints/generator.pt"
HISTORY_NAME = "history.csv"
#: The ``format`` tag of both ``.pt`` files of a GAN run (not a network's ``scintiseg-checkpoint``: G and D with
#: their optimisers, no ``model_config``), and the newest format version written and read.
FORMAT = "scintiseg-gan"
VERSION = 1
#: What ``last.pt`` holds for :meth:`GanTrainer.load_state_dict` (``mask_target`` is optional: older runs lack it).
TRAINER_KEYS: tuple[str, ...] = ("generator", "discriminator", "opt_g", "opt_d", "rng", "fixed_z", "epoch", "d_steps",
                                 "g_steps", "history")
#: What ``generator.pt`` holds for sampling.
GENERATOR_KEYS: tuple[str, ...] = ("generator",)
#: Size of the fixed noise batch whose samples are drawn into the grids during training.
GRID_SAMPLES = 16


def build_generator(config: GanConfig) -> Generator:
    return Generator(len(config.views), config.native_size, config.latent_dim, config.base_width, config.max_width, config.upsample)


def build_discriminator(config: GanConfig) -> Discriminator:
    return Discriminator(len(config.views), config.native_size, config.base_width, config.max_width, config.minibatch_std)


@dataclass
class StepLosses:
    """Losses of one generator iteration (k D steps, one G step)."""

    d_loss: float
    g_loss: float
    d_real: float  # mean sigmoid(D(x)) over the last D step's real batch
    d_fake: float  # mean sigmoid(D(G(z))) over the last D step's fake batch
    mask_term: float = 0.0  # the mask-area term of the G step (before its weight), 0 when off


@dataclass
class GanTrainer:
    """G, D, their optimisers and the step counters; one object so a run can be checkpointed whole.

    Args:
        config: the run's configuration (``k``, learning rates, sizes).

    Example::

        trainer = GanTrainer(GanConfig(k=3, native_size=32))
        batches = iter([real_batch] * 3)
        trainer.iteration(batches)          # 3 D steps, then 1 G step
        assert (trainer.d_steps, trainer.g_steps) == (3, 1)
    """

    config: GanConfig
    epoch: int = 0
    d_steps: int = 0
    g_steps: int = 0
    history: list[dict] = field(default_factory=list)
    #: (V,) mean real mask value per view, the target of the ``mask_match`` term (set by train_gan).
    mask_target: torch.Tensor | None = None

    def __post_init__(self) -> None:
        cfg = self.config
        torch.manual_seed(cfg.seed)
        self.generator = build_generator(cfg)
        self.discriminator = build_discriminator(cfg)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
        self.rng = torch.Generator().manual_seed(cfg.seed)
        self.fixed_z = torch.randn(GRID_SAMPLES, cfg.latent_dim, generator=self.rng)

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.latent_dim, generator=self.rng)

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        """DiffAugment of D's input (identity with ``diff_augment: none``)."""
        if self.config.diff_augment == "none":
            return x
        return diff_augment(x, self.config.diff_augment, len(self.config.views), self.rng)

    def flip(self, real: torch.Tensor) -> torch.Tensor:
        """Left-right flip of each real image with probability 0.5 (identity unless ``real_flip``)."""
        if not self.config.real_flip:
            return real
        chosen = torch.rand(real.shape[0], generator=self.rng) < 0.5
        return torch.where(chosen[:, None, None, None], real.flip(-1), real)

    def mask_term(self, fake: torch.Tensor) -> torch.Tensor:
        """``sum_v (log(m_fake_v + 1e-4) - log(m_real_v + 1e-4))^2`` over G's batch (see GanConfig)."""
        views = len(self.config.views)
        fake_means = fake[:, views:].mean(dim=(0, 2, 3))
        target = self.mask_target.to(fake_means)
        return ((torch.log(fake_means + 1e-4) - torch.log(target + 1e-4)) ** 2).sum()

    def d_step(self, real: torch.Tensor) -> tuple[float, float, float]:
        """One discriminator update on a real batch and as many fakes; returns (loss, D(x), D(G(z)))."""
        self.generator.train()
        self.discriminator.train()
        real = self.flip(real)
        with torch.no_grad():
            fake = self.generator(self.noise(real.shape[0]))
        logits_real = self.discriminator(self.augment(real))
        logits_fake = self.discriminator(self.augment(fake))
        target_real = torch.full_like(logits_real, self.config.real_label)
        loss = F.binary_cross_entropy_with_logits(logits_real, target_real) + F.binary_cross_entropy_with_logits(
            logits_fake, torch.zeros_like(logits_fake)
        )
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        self.d_steps += 1
        with torch.no_grad():
            return float(loss), float(torch.sigmoid(logits_real).mean()), float(torch.sigmoid(logits_fake).mean())

    def g_step(self, batch_size: int) -> tuple[float, float]:
        """One generator update (non-saturating loss -log D(G(z)), plus the weighted mask-area term when
        ``mask_match > 0``); D's weights are not changed. Returns (adversarial loss, mask term)."""
        self.generator.train()
        self.discriminator.train()
        fake = self.generator(self.noise(batch_size))
        logits = self.discriminator(self.augment(fake))
        loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        adversarial = float(loss.detach())
        term = torch.zeros(())
        if self.config.mask_match > 0:
            if self.mask_target is None:
                raise ScintisegError("gan config: mask_match needs the real mask means (trainer.mask_target)")
            term = self.mask_term(fake)
            loss = loss + self.config.mask_match * term
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        self.g_steps += 1
        return adversarial, float(term.detach())

    def iteration(self, real_batches) -> StepLosses:
        """Goodfellow et al. (2014) Algorithm 1, one outer iteration: ``k`` D steps, then one G step."""
        d_losses = []
        d_real = d_fake = float("nan")
        batch_size = self.config.batch_size
        for _ in range(self.config.k):
            real = next(real_batches)
            batch_size = real.shape[0]
            loss, d_real, d_fake = self.d_step(real)
            d_losses.append(loss)
        g_loss, mask_term = self.g_step(batch_size)
        return StepLosses(float(np.mean(d_losses)), g_loss, d_real, d_fake, mask_term)

    def state_dict(self) -> dict:
        return {
            "config": self.config.to_dict(),
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "rng": self.rng.get_state(),
            "fixed_z": self.fixed_z,
            "epoch": self.epoch,
            "d_steps": self.d_steps,
            "g_steps": self.g_steps,
            "history": self.history,
            "mask_target": self.mask_target,
        }

    def load_state_dict(self, state: dict) -> None:
        state = copy.deepcopy(state)  # Adam's load_state_dict would otherwise share tensors with the source
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.rng.set_state(state["rng"])
        self.fixed_z = state["fixed_z"]
        self.epoch = int(state["epoch"])
        self.d_steps = int(state["d_steps"])
        self.g_steps = int(state["g_steps"])
        self.history = list(state["history"])
        if state.get("mask_target") is not None:  # absent in checkpoints written before mask_match
            self.mask_target = state["mask_target"]


def epoch_batches(n_images: int, batch_size: int, rng: torch.Generator, weights: torch.Tensor | None = None):
    """Endless mini-batch index lists: shuffled passes over the images, a trailing batch of one dropped.

    Batch norm cannot normalise a batch of one image, so a last batch of size 1 is folded away. With
    ``weights`` (``lesion_oversample``) each pass is ``n_images`` draws with replacement, image ``i``
    drawn with probability proportional to ``weights[i]``.
    """
    while True:
        if weights is None:
            order = torch.randperm(n_images, generator=rng)
        else:
            order = torch.multinomial(weights, n_images, replacement=True, generator=rng)
        batches = list(torch.split(order, batch_size))
        if len(batches) > 1 and len(batches[-1]) < 2:
            batches.pop()
        yield from batches


def batches_per_epoch(n_images: int, batch_size: int) -> int:
    """Mini-batches in one pass over ``n_images`` real images (a trailing batch of one image dropped); an epoch
    is :func:`g_steps_per_epoch` G steps, i.e. ``k * ceil(this / k)`` D batches, not necessarily one pass."""
    full, rest = divmod(n_images, min(batch_size, n_images))
    return full + (1 if rest >= 2 else 0)


def g_steps_per_epoch(n_images: int, config: GanConfig) -> int:
    """Generator steps in one epoch: ``ceil(b / k)``, ``b`` = :func:`batches_per_epoch` (D then takes ``k`` times as
    many steps, ``k * ceil(b / k) / b`` passes over the real images; module docstring)."""
    return math.ceil(batches_per_epoch(n_images, config.batch_size) / config.k)


def run_epoch(trainer: GanTrainer, images: torch.Tensor, batch_indices, progress=None) -> dict:
    """Train one epoch; returns the epoch's mean losses and D outputs."""
    real_batches = (images[idx] for idx in batch_indices)
    rows = []
    for _ in range(g_steps_per_epoch(images.shape[0], trainer.config)):
        rows.append(trainer.iteration(real_batches))
        if progress is not None:
            progress.update(1)
            progress.set_postfix(d=f"{rows[-1].d_loss:.3f}", g=f"{rows[-1].g_loss:.3f}", refresh=False)
    trainer.epoch += 1
    summary = {
        "epoch": trainer.epoch,
        "g_steps": trainer.g_steps,
        "d_steps": trainer.d_steps,
        "d_loss": float(np.mean([r.d_loss for r in rows])),
        "g_loss": float(np.mean([r.g_loss for r in rows])),
        "d_real": float(np.mean([r.d_real for r in rows])),
        "d_fake": float(np.mean([r.d_fake for r in rows])),
        "mask_term": float(np.mean([r.mask_term for r in rows])),
    }
    trainer.history.append(summary)
    return summary


def save_trainer(trainer: GanTrainer, run_dir: Path) -> None:
    """Write a run's ``last.pt`` (the whole trainer), ``generator.pt`` (G's weights) and ``history.csv``, each
    atomically; both ``.pt`` files carry the format tags (:data:`FORMAT`, :data:`VERSION`, the writing scintiseg)."""
    tags = {"format": FORMAT, "version": VERSION, "scintiseg_version": __version__}
    with atomic_path(run_dir / CHECKPOINT_NAME) as tmp:
        torch.save({**trainer.state_dict(), **tags}, tmp)
    with atomic_path(run_dir / GENERATOR_NAME) as tmp:
        torch.save({"config": trainer.config.to_dict(), "generator": trainer.generator.state_dict(), "epoch": trainer.epoch,
                    **tags}, tmp)
    text = io.StringIO()
    if trainer.history:
        columns = list(dict.fromkeys(key for row in trainer.history for key in row))  # older rows lack newer columns
        writer = csv.DictWriter(text, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(trainer.history)
    write_text_atomic(run_dir / HISTORY_NAME, text.getvalue())


def _is_number(value: object) -> bool:
    """A finite JSON number (an integer beyond a float is none: NumPy and ``int()`` overflow on it; session 66)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def read_normalisation(run_dir: Path) -> dict:
    """``RUN/normalisation.json``, checked: a JSON object whose ``scales`` are finite numbers and whose
    ``pixel_spacing`` (two finite numbers), ``source_size`` (a positive whole number), ``training_cases`` and
    ``training_patients``, where recorded, are what :func:`train_gan` writes.

    Raises:
        ScintisegError: one line naming the file: unreadable, malformed JSON, or not such an object (session 66:
            a damaged file was a traceback in ``gan sample``, ``gan evaluate`` and ``experiment paper-b-augmentation``).
    """
    path = Path(run_dir) / NORMALISATION_NAME
    record = read_json_object(path, "a GAN run's normalisation record")
    scales = record.get("scales")
    if not isinstance(scales, list) or not scales or not all(_is_number(scale) for scale in scales):
        raise ScintisegError("not a GAN run's normalisation record (no list of count scales under 'scales')", path=path)
    spacing = record.get("pixel_spacing", [2.26, 2.26])  # absent: the default gan.sample.load_run reads it as
    if not isinstance(spacing, list) or len(spacing) != 2 or not all(_is_number(mm) for mm in spacing):
        raise ScintisegError("not a GAN run's normalisation record (its pixel_spacing is not two numbers)", path=path)
    for key in ("training_cases", "training_patients"):
        ids = record.get(key, [])
        if not isinstance(ids, list) or not all(isinstance(item, str) for item in ids):
            raise ScintisegError(f"not a GAN run's normalisation record (its {key} is not a list of ids)", path=path)
    size = record.get("source_size", 256)  # the samples' size where the config leaves it to the crops' (load_run)
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ScintisegError("not a GAN run's normalisation record (its source_size is not a positive whole number of "
                             "pixels)", path=path)
    return record


def load_trainer(run_dir: Path) -> dict:
    """The trainer state of ``RUN/checkpoints/last.pt`` (G, D, Adam states, counters, RNG), for resuming
    (:meth:`GanTrainer.load_state_dict`); checked by :func:`read_gan_file`."""
    return read_gan_file(run_dir / CHECKPOINT_NAME, "GAN checkpoint", TRAINER_KEYS)


def read_gan_file(path: Path, what: str, required: tuple[str, ...]) -> dict:
    """One ``.pt`` file of a GAN run (``torch.load(weights_only=True)``), its format tags and ``required`` keys checked.

    A file without a ``format`` tag was written before the tags existed (session 65) and is read as version 1: the
    project's rule for untagged older files (a checkpoint without ``scintiseg_version``, an ONNX sidecar without
    ``version``), so that every GAN run trained before still resumes and samples.

    Args:
        path: ``last.pt`` or ``generator.pt``.
        what: what the file should be, for messages (``"GAN checkpoint"``, ``"GAN generator"``).
        required: the keys its reader needs (:data:`TRAINER_KEYS`, :data:`GENERATOR_KEYS`).

    Raises:
        ScintisegError: one line naming ``path``: a file that would run code or is no PyTorch file
            (:func:`~scintiseg.models.checkpoint.load_weights_only`), one that is not a dict or is tagged with another
            format (a network's checkpoint), a format version newer than :data:`VERSION` (or none), a required key
            missing.
    """
    state = load_weights_only(path, what)
    if not isinstance(state, dict):
        raise ScintisegError(f"not a {what}: it holds a {type(state).__name__}, not a dict", path=path)
    if "format" in state and state["format"] != FORMAT:
        raise ScintisegError(f"not a {what}: its format is {state['format']!r}, not {FORMAT!r}{made_by(state)}", path=path)
    check_format_version(what, state.get("version") if "format" in state else 1, VERSION, state, path)
    missing = [key for key in required if key not in state]
    if missing:
        raise ScintisegError(f"{what} lacks {', '.join(missing)}{made_by(state)}", path=path)
    return state


def train_gan(
    data_dir: str | Path,
    run_dir: str | Path,
    config: GanConfig,
    *,
    resume: bool = False,
    progress: bool = True,
    max_minutes: float | None = None,
) -> GanTrainer:
    """Train (or, with ``resume``, continue training) a DCGAN on the thoracic crops in ``data_dir``.

    Args:
        data_dir: a data set of thoracic crops (``scintiseg dataset crop``); only its training patients
            are used, less the validation patients of ``config.held_out_fold`` when it is set (see
            :mod:`scintiseg.gan.data`).
        run_dir: the run folder (layout in the module docstring). Must be new or empty unless ``resume``.
        config: the run's configuration; with ``resume`` the saved config is used, except ``epochs``.
        resume: continue from ``RUN/checkpoints/last.pt`` up to ``config.epochs``.
        progress: show a tqdm bar on stderr.
        max_minutes: wall-clock budget: training stops after the first epoch that ends past it (with a
            checkpoint and a sample grid, so ``resume`` can continue towards ``config.epochs``).

    Returns:
        The trainer after the last epoch.
    """
    run_dir = Path(run_dir)
    checkpoint = run_dir / CHECKPOINT_NAME
    if resume:
        if not checkpoint.is_file():
            raise ScintisegError("nothing to resume: no checkpoints/last.pt", path=run_dir)
        saved = GanConfig.from_yaml(run_dir / CONFIG_NAME)
        saved.epochs = config.epochs
        saved.threads = config.threads
        config = saved
    elif run_dir.exists() and any(run_dir.iterdir()):
        raise ScintisegError("run folder is not empty (use --resume to continue it)", path=run_dir)
    if config.threads:
        torch.set_num_threads(config.threads)
    images = load_training_images(data_dir, config.views, config.native_size, config.sqrt_ceiling, progress=progress,
                                  held_out_fold=config.held_out_fold if config.held_out_fold >= 0 else None)
    if config.output_size == 0:  # samples as large as the crops they imitate
        config = dataclasses.replace(config, output_size=images.source_size)
    trainer = GanTrainer(config)
    views = len(config.views)
    weights = lesion_weights(images.tensor, views, config.lesion_oversample)
    trainer.mask_target = mask_means(images.tensor, views, weights)
    if resume:
        for folder in (run_dir, checkpoint.parent, run_dir / "samples"):  # what a writer killed mid-write left
            remove_stale_partials(folder)
        trainer.load_state_dict(load_trainer(run_dir))
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
        config.save_yaml(run_dir / CONFIG_NAME)
        normalisation = {
            "views": config.views,
            "scales": images.scales.tolist(),
            "pixel_spacing": list(images.pixel_spacing),
            "source_size": images.source_size,
            "training_cases": images.case_ids,
            "training_patients": sorted(set(images.patient_ids)),
            "held_out_patients": images.held_out_patients,
            "held_out_fold": config.held_out_fold,
            "data": str(Path(data_dir).resolve()),
        }
        write_text_atomic(run_dir / NORMALISATION_NAME, json.dumps(normalisation, indent=1) + "\n")
    remaining = config.epochs - trainer.epoch
    if remaining <= 0:
        return trainer
    steps = g_steps_per_epoch(images.tensor.shape[0], config)
    bar = None
    if progress:
        bar = tqdm(total=remaining * steps, desc="gan train", unit="G step")
    batch_indices = epoch_batches(images.tensor.shape[0], config.batch_size, trainer.rng, weights)
    deadline = None if max_minutes is None else time.monotonic() + 60.0 * max_minutes
    try:
        while trainer.epoch < config.epochs:
            run_epoch(trainer, images.tensor, batch_indices, bar)
            last = trainer.epoch == config.epochs or (deadline is not None and time.monotonic() >= deadline)
            if last or trainer.epoch % config.sample_every == 0:
                trainer.generator.eval()
                with torch.no_grad():
                    grid = trainer.generator(trainer.fixed_z).numpy()
                save_sample_grid(grid, len(config.views), run_dir / "samples" / f"epoch_{trainer.epoch:04d}.png")
            if last or trainer.epoch % config.checkpoint_every == 0:
                save_trainer(trainer, run_dir)
            if last:
                break
    finally:
        if bar is not None:
            bar.close()
    return trainer
