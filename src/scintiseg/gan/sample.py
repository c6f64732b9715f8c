"""Sampling a trained DCGAN into a data set in the project's layout (paper B §3.2.2, data set D3).

``scintiseg gan sample --run RUN --n N --out DIR --seed S`` writes::

    DIR/dataset.json               views = the GAN's views (ANT+POST by default), origin "gan"
    DIR/images/<case>.dcm          multi-frame NM DICOM, uint16 counts, one frame per view
    DIR/masks/<case>_<VIEW>.png    0/1 lesion mask per view: the LabelMe polygons rasterised
    DIR/labels/<case>_<VIEW>.json  LabelMe polygons around each mask component (holes filled)

From noise to counts, for sample ``i`` of seed ``S``:

1. ``z_i`` is row ``i`` of an ``(N, latent_dim)`` N(0, I) draw from ``torch.Generator().manual_seed(S)``;
   G runs in eval mode (batch norm uses its running statistics), so a sample does not depend on the
   batch it was generated in and the whole data set is a pure function of (run, N, S).
2. Image channels are mapped to expected counts (:func:`scintiseg.gan.counts.model_to_expected_counts`)
   with a count scale resampled from the training cases', then up-sampled bilinearly from the native
   size to the output size (256); the mask channels are up-sampled the same way and thresholded
   (``mask_threshold``, 0.5). Each view's thresholded mask is outlined as LabelMe polygons
   (:meth:`scintiseg.scan.Annotation.from_mask`: one closed polygon per 8-connected component, holes
   filled, as LabelMe draws lesions) and the sample's mask *is* those polygons rasterised
   (:meth:`~scintiseg.scan.Annotation.to_mask`): the mask :func:`generate` yields (what ``gan evaluate``
   measures), the PNG mask and the LabelMe file (what training reads, :func:`scintiseg.io.dataset.load_case`)
   are one mask. *(session 63, 2026-12-06)* Before, the PNG and the yielded mask were the unfilled threshold, so
   ``gan evaluate`` measured another mask than training read wherever a generated mask had holes.
3. Expected counts become uint16 counts by Poisson sampling (or rounding, ``count_noise``), with a
   NumPy generator seeded by ``(S, i)``.

Every case is its own patient (``GAN-<run tag>-<seed>-<index>``), ``synthetic: true``, ``origin: "gan"``,
so that patient-level splits treat each sample as a separate synthetic patient and nothing ties it to a
real patient's test data; the run tag (a hash of G's weights) keeps ids from two runs apart.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.gan.config import GanConfig
from scintiseg.gan.counts import model_to_expected_counts, to_integer_counts
from scintiseg.gan.dcgan import Generator
from scintiseg.gan.train import CONFIG_NAME, GENERATOR_KEYS, GENERATOR_NAME, build_generator, read_gan_file, read_normalisation
from scintiseg.io.dataset import Case, DatasetManifest, save_manifest
from scintiseg.io.dicom import write_dicom
from scintiseg.io.images import write_mask_png
from scintiseg.io.labelme import write_labelme
from scintiseg.models.checkpoint import state_dict_mismatch
from scintiseg.scan import Annotation, Scan


@dataclass
class TrainedGan:
    """What sampling needs from a run: G, its config, and the training cases' count scales (and their ids, which
    ``gan evaluate``'s memorisation check leaves out)."""

    generator: Generator
    config: GanConfig
    scales: np.ndarray
    pixel_spacing: tuple[float, float]
    tag: str
    epoch: int = 0
    training_cases: tuple[str, ...] = ()


def load_run(run_dir: str | Path) -> TrainedGan:
    """Read G's weights (``weights_only=True``, format tags checked: :func:`~scintiseg.gan.train.read_gan_file`),
    ``config.yaml`` and ``normalisation.json`` of a run folder."""
    run_dir = Path(run_dir)
    weights = run_dir / GENERATOR_NAME
    if not weights.is_file():
        raise ScintisegError("not a GAN run folder (no checkpoints/generator.pt): train one with `scintiseg gan train`", path=run_dir)
    config = GanConfig.from_yaml(run_dir / CONFIG_NAME)
    normalisation = read_normalisation(run_dir)
    try:
        raw = weights.read_bytes()
    except OSError as exc:
        raise ScintisegError(f"cannot read GAN run ({type(exc).__name__}: {exc})", path=run_dir) from None
    state = read_gan_file(weights, "GAN generator", GENERATOR_KEYS)
    if config.output_size == 0:  # a run saved before training resolved it: the crops' size
        config.output_size = int(normalisation.get("source_size", 256))
    generator = build_generator(config)
    mismatch = state_dict_mismatch(generator.state_dict(), state.get("generator"))
    if mismatch:  # a generator of another run's widths beside this config.yaml (torch's traceback before)
        raise ScintisegError(f"the generator is not the one {CONFIG_NAME} describes: {mismatch}", path=weights)
    generator.load_state_dict(state["generator"])
    generator.eval()
    return TrainedGan(
        generator=generator,
        config=config,
        scales=np.asarray(normalisation["scales"], dtype=np.float64),
        pixel_spacing=tuple(normalisation.get("pixel_spacing", (2.26, 2.26))),
        tag=hashlib.sha1(raw).hexdigest()[:8],
        epoch=int(state.get("epoch", 0)),
        training_cases=tuple(normalisation.get("training_cases", [])),
    )


@dataclass
class GeneratedCase:
    """One generated sample at output size: uint16 counts, LabelMe outlines and boolean masks per view.

    ``masks[view]`` is ``annotations[view].to_mask()``: the thresholded mask with its holes filled, exactly as
    the LabelMe file written for it rasterises (module docstring, step 2).
    """

    index: int
    counts: dict[str, np.ndarray]
    masks: dict[str, np.ndarray]
    scale: float
    annotations: dict[str, Annotation] = field(default_factory=dict)


def generate(gan: TrainedGan, n: int, seed: int, batch_size: int = 64) -> Iterator[GeneratedCase]:
    """Yield ``n`` generated cases, deterministically for (run, n, seed); see the module docstring."""
    cfg = gan.config
    v = len(cfg.views)
    z_all = torch.randn(n, cfg.latent_dim, generator=torch.Generator().manual_seed(seed))
    scale_rng = np.random.default_rng([seed, 0])
    scales = scale_rng.choice(gan.scales, size=n, replace=True)
    gan.generator.eval()
    for start in range(0, n, batch_size):
        with torch.no_grad():
            native = gan.generator(z_all[start : start + batch_size]).double()
        scale = scales[start : start + native.shape[0], None, None, None]
        expected = torch.as_tensor(model_to_expected_counts(native[:, :v].numpy(), scale, cfg.sqrt_ceiling))
        size = (cfg.output_size, cfg.output_size)
        if cfg.output_size != cfg.native_size:
            expected = F.interpolate(expected, size=size, mode="bilinear", align_corners=False)
            probability = F.interpolate(native[:, v:], size=size, mode="bilinear", align_corners=False)
        else:
            probability = native[:, v:]
        expected, masks = expected.numpy(), (probability >= cfg.mask_threshold).numpy()
        for j in range(expected.shape[0]):
            index = start + j
            rng = np.random.default_rng([seed, index + 1])
            counts = to_integer_counts(expected[j], cfg.count_noise, rng)
            annotations = {view: Annotation.from_mask(masks[j, c], view=view) for c, view in enumerate(cfg.views)}
            yield GeneratedCase(
                index=index,
                counts={view: counts[c] for c, view in enumerate(cfg.views)},
                masks={view: annotation.to_mask() for view, annotation in annotations.items()},
                scale=float(scales[index]),
                annotations=annotations,
            )


def sample_dataset(run_dir: str | Path, n: int, out: str | Path, seed: int, *, progress: bool = True, batch_size: int = 64) -> Path:
    """Write ``n`` generated cases as a data set at ``out`` (must be new or empty); returns ``out``.

    The manifest is written last, so an interrupted run leaves a folder that is not a data set.
    """
    if n < 1:
        raise ScintisegError(f"--n must be at least 1, got {n}")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ScintisegError("output folder exists and is not empty", path=out)
    gan = load_run(run_dir)
    cases: list[Case] = []
    iterator = generate(gan, n, seed, batch_size)
    if progress:
        iterator = tqdm(iterator, total=n, desc="gan sample", unit="case")
    for sample in iterator:
        case_id = f"gan_{gan.tag}_s{seed}_{sample.index:05d}"
        patient_id = f"GAN-{gan.tag}-{seed}-{sample.index:05d}"
        image = f"images/{case_id}.dcm"
        scan = Scan(
            dict(sample.counts),
            pixel_spacing=gan.pixel_spacing,
            patient_id=patient_id,
            patient_name="GAN^SYNTHETIC",
            metadata={"origin": "gan"},
        )
        write_dicom(scan, out / image)
        masks, labels = {}, {}
        for view, mask in sample.masks.items():
            masks[view] = f"masks/{case_id}_{view}.png"
            labels[view] = f"labels/{case_id}_{view}.json"
            write_mask_png(mask, out / masks[view])  # == the LabelMe file's polygons rasterised (generate)
            write_labelme(sample.annotations[view], out / labels[view], image=sample.counts[view])
        cases.append(
            Case(
                case_id=case_id,
                patient_id=patient_id,
                image=image,
                labels=labels,
                masks=masks,
                synthetic=True,
                origin="gan",
                meta={"gan_run": str(Path(run_dir).resolve()), "gan_tag": gan.tag, "gan_epoch": gan.epoch, "seed": seed, "index": sample.index, "count_scale": sample.scale},
            )
        )
    manifest = DatasetManifest(
        name=f"gan-{gan.tag}-s{seed}",
        views=list(gan.config.views),
        pixel_spacing=gan.pixel_spacing,
        cases=cases,
        description=(
            f"{n} DCGAN samples (paper B §3.2.2, data set D3) of run {Path(run_dir).name}, seed {seed}; "
            f"{gan.config.native_size}x{gan.config.native_size} native, up-sampled to {gan.config.output_size}, "
            f"counts by {gan.config.count_noise}."
        ),
    )
    save_manifest(manifest, out)
    return out
