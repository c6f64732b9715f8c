"""Quality of generated thoracic crops, measured with statistics that matter for bone scintigraphy.

No pretrained feature network (FID's Inception) can be downloaded here, and ImageNet features say little
about count images anyway. ``scintiseg gan evaluate`` compares generated and real crops on:

- **counts inside the body**: percentiles of counts (absolute, and divided by each case's count scale,
  :func:`scintiseg.gan.counts.case_scale`) and the 1-D Wasserstein distance between the pooled
  scale-free distributions. The body is where smoothed counts (Gaussian, sigma 2 px) exceed 5 % of
  their 99th percentile (the rule of :mod:`scintiseg.prepare.body`, without its whole-body plausibility
  checks, which a crop that is nearly all body would fail);
- **noise**: pixels are binned by their local mean (3 x 3) and the variance of the residual
  ``image - local mean`` (robust: ``(1.4826 MAD)^2``, so that edges of anatomy do not count as noise; only where smoothed counts exceed 25 % of p99,
  eroded by 2 px, and the local mean is at least 5 counts)
  is compared with the mean; Poisson counts give a ratio (Fano factor) near ``8/9`` (the residual
  removes a ninth of the variance), smooth images a ratio near 0;
- **radial power spectrum** of the scale-free image (mean removed, Hann window; :func:`whole_image_spectrum`),
  averaged over cases, and the log10 ratio generated / real in low, middle and high frequency bands;
- **lesions**: connected components of each view's mask (8-connectivity): number per view, size in
  pixels, contrast = mean counts in the lesion / mean counts in a 3-pixel ring around it (inside the
  body, outside every lesion); generated masks that sit on cold tissue give contrast near 1;
- **memorisation**: the distance (RMS, generator units, images area-averaged to 32 x 32) from each
  generated sample to its nearest training image, against the same distance from each training image
  to its nearest *other* training image; a generated sample closer to a training image than the 5th
  percentile of the real nearest-neighbour distances is flagged as a possible copy;
- **sample grids** of real and generated crops and of the closest generated / training pairs.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage as ndi
from scipy.stats import wasserstein_distance
from skimage.measure import label, regionprops

from scintiseg.gan.counts import case_scale, counts_to_model
from scintiseg.io.atomic import atomic_path, write_text_atomic

PERCENTILES = (1, 5, 25, 50, 75, 95, 99)
#: Frequency bands (cycles / pixel) of the spectrum summary.
BANDS = {"low": (0.0, 0.05), "middle": (0.05, 0.2), "high": (0.2, 0.5)}
MEMORISATION_SIZE = 32
RING_PX = 3
#: The noise check uses pixels with at least this local mean: below it Poisson counts are too discrete
#: (and too rare at the body's edge) for a variance estimate by median absolute deviation.
MIN_NOISE_MEAN = 5.0
#: ... and lie in the core of the uptake (smoothed counts above 25 % of p99, eroded by 2 px), away from
#: the body's edge, where a 3 x 3 mean straddles the edge and its residual is structure, not noise.
NOISE_FRACTION = 0.25


@dataclass
class CountCase:
    """One case as the statistics see it: views (counts) and masks, in the same view order."""

    views: list[np.ndarray]
    masks: list[np.ndarray]

    @property
    def scale(self) -> float:
        return case_scale(self.views)


def body_region(image: np.ndarray, fraction: float = 0.05) -> np.ndarray:
    """Pixels where Gaussian-smoothed (sigma 2 px) counts exceed ``fraction`` of their 99th percentile."""
    smooth = ndi.gaussian_filter(np.asarray(image, dtype=np.float32), 2.0)
    return smooth > fraction * max(float(np.percentile(smooth, 99)), 1e-6)


def count_statistics(cases: list[CountCase], max_pixels: int = 200_000, seed: int = 0) -> dict:
    """Percentiles of body counts (absolute and scale-free) and the pooled scale-free values (subsampled)."""
    absolute, relative = [], []
    for case in cases:
        scale = case.scale
        for image in case.views:
            inside = np.asarray(image, dtype=np.float64)[body_region(image)]
            absolute.append(inside)
            relative.append(inside / scale)
    absolute, relative = np.concatenate(absolute), np.concatenate(relative)
    rng = np.random.default_rng(seed)
    if relative.size > max_pixels:
        relative_sample = rng.choice(relative, max_pixels, replace=False)
    else:
        relative_sample = relative
    return {
        "percentiles_counts": dict(zip(map(str, PERCENTILES), np.percentile(absolute, PERCENTILES).round(2).tolist())),
        "percentiles_relative": dict(zip(map(str, PERCENTILES), np.percentile(relative, PERCENTILES).round(4).tolist())),
        "mean_count_scale": float(np.mean([c.scale for c in cases])),
        "_relative_values": relative_sample,
    }


def noise_statistics(cases: list[CountCase], bins: int = 12) -> dict:
    """Robust residual variance against local mean in the body (``curve``, by local-mean bin) and
    ``fano``: the robust variance of ``residual / sqrt(local mean)`` over all body pixels."""
    means, residuals = [], []
    for case in cases:
        for image in case.views:
            image = np.asarray(image, dtype=np.float64)
            local = ndi.uniform_filter(image, 3)
            inside = ndi.binary_erosion(body_region(image, NOISE_FRACTION), iterations=2) & (local >= MIN_NOISE_MEAN)
            means.append(local[inside])
            residuals.append((image - local)[inside])
    means, residuals = np.concatenate(means), np.concatenate(residuals)
    edges = np.unique(np.percentile(means, np.linspace(5, 95, bins + 1)))
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (means >= lo) & (means < hi)
        if sel.sum() > 50:
            m = float(means[sel].mean())
            r = residuals[sel]
            mad = float(np.median(np.abs(r - np.median(r))))
            rows.append({"mean": round(m, 3), "variance": round((1.4826 * mad) ** 2, 3)})
    scaled = residuals / np.sqrt(means)
    fano = (1.4826 * float(np.median(np.abs(scaled - np.median(scaled))))) ** 2
    return {"fano": round(fano, 4), "curve": rows}


def whole_image_spectrum(cases: list[CountCase], n_bins: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies in cycles/pixel, mean radial power) of the scale-free views: one Hann-windowed FFT of each whole
    crop, averaged over views and cases (module docstring).

    Not :func:`scintiseg.phantom.calibrate.radial_power_spectrum`, which averages Welch tiles lying wholly inside
    a view's body, in cycles/mm.
    """
    spectra = []
    for case in cases:
        scale = case.scale
        for image in case.views:
            image = np.asarray(image, dtype=np.float64) / scale
            h, w = image.shape
            window = np.outer(np.hanning(h), np.hanning(w))
            power = np.abs(np.fft.fftshift(np.fft.fft2((image - image.mean()) * window))) ** 2 / (h * w)
            fy, fx = np.meshgrid(np.fft.fftshift(np.fft.fftfreq(h)), np.fft.fftshift(np.fft.fftfreq(w)), indexing="ij")
            radius = np.hypot(fy, fx)
            edges = np.linspace(0, 0.5, n_bins + 1)
            index = np.digitize(radius.ravel(), edges) - 1
            valid = (index >= 0) & (index < n_bins)
            sums = np.bincount(index[valid], power.ravel()[valid], minlength=n_bins)
            counts = np.bincount(index[valid], minlength=n_bins)
            spectra.append(sums / np.maximum(counts, 1))
    edges = np.linspace(0, 0.5, n_bins + 1)
    return (edges[:-1] + edges[1:]) / 2, np.mean(spectra, axis=0)


def lesion_statistics(cases: list[CountCase]) -> dict:
    """Lesions per view, sizes (pixels) and contrasts (lesion / surrounding ring mean counts)."""
    per_view, sizes, contrasts = [], [], []
    for case in cases:
        for image, mask in zip(case.views, case.masks):
            image = np.asarray(image, dtype=np.float64)
            labels = label(np.asarray(mask, dtype=bool), connectivity=2)
            props = regionprops(labels)
            per_view.append(len(props))
            body = body_region(image)
            for region in props:
                lesion = labels == region.label
                ring = ndi.binary_dilation(lesion, iterations=RING_PX) & ~(labels > 0) & body
                sizes.append(region.area)
                if ring.any() and image[ring].mean() > 0:
                    contrasts.append(image[lesion].mean() / image[ring].mean())
    return {
        "views": len(per_view),
        "lesions_per_view": _summary(per_view),
        "views_without_lesion": float(np.mean(np.asarray(per_view) == 0)) if per_view else float("nan"),
        "size_px": _summary(sizes),
        "contrast": _summary(contrasts),
    }


def _summary(values) -> dict:
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return {"n": 0}
    p10, p50, p90 = np.percentile(values, (10, 50, 90))
    return {"n": int(values.size), "mean": round(float(values.mean()), 3), "p10": round(float(p10), 3), "median": round(float(p50), 3), "p90": round(float(p90), 3)}


def memorisation_vectors(cases: list[CountCase], sqrt_ceiling: float) -> np.ndarray:
    """(N, D) vectors: images in generator units, area-averaged to 32 x 32, flattened."""
    rows = []
    for case in cases:
        x = counts_to_model(np.stack(case.views), case.scale, sqrt_ceiling)
        small = F.interpolate(torch.as_tensor(x)[None], size=(MEMORISATION_SIZE, MEMORISATION_SIZE), mode="area")
        rows.append(small.numpy().ravel())
    return np.stack(rows)


def memorisation(generated: np.ndarray, training: np.ndarray) -> dict:
    """Nearest-training-neighbour RMS distances of generated vs training-to-training (leave one out)."""
    d_gen = torch.cdist(torch.as_tensor(generated), torch.as_tensor(training)).numpy() / math.sqrt(training.shape[1])
    d_real = torch.cdist(torch.as_tensor(training), torch.as_tensor(training)).numpy() / math.sqrt(training.shape[1])
    np.fill_diagonal(d_real, np.inf)
    nn_gen, nn_real = d_gen.min(axis=1), d_real.min(axis=1)
    threshold = float(np.percentile(nn_real, 5))
    return {
        "nn_generated_to_train_median": round(float(np.median(nn_gen)), 4),
        "nn_train_to_train_median": round(float(np.median(nn_real)), 4),
        "ratio": round(float(np.median(nn_gen) / max(np.median(nn_real), 1e-12)), 3),
        "copy_threshold": round(threshold, 4),
        "possible_copies": float(np.mean(nn_gen < threshold)),
        "_nearest": d_gen.argmin(axis=1),
        "_distance": nn_gen,
    }


def compare(real: list[CountCase], generated: list[CountCase], training: list[CountCase], sqrt_ceiling: float) -> dict:
    """All statistics of generated vs real crops (module docstring); keys starting with ``_`` are arrays."""
    counts_real, counts_gen = count_statistics(real), count_statistics(generated)
    freq, spec_real = whole_image_spectrum(real)
    _, spec_gen = whole_image_spectrum(generated)
    log_ratio = np.log10(np.maximum(spec_gen, 1e-20) / np.maximum(spec_real, 1e-20))
    bands = {name: round(float(log_ratio[(freq >= lo) & (freq < hi)].mean()), 3) for name, (lo, hi) in BANDS.items()}
    return {
        "n_real": len(real),
        "n_generated": len(generated),
        "counts": {
            "real": {k: v for k, v in counts_real.items() if not k.startswith("_")},
            "generated": {k: v for k, v in counts_gen.items() if not k.startswith("_")},
            "wasserstein_relative": round(float(wasserstein_distance(counts_real["_relative_values"], counts_gen["_relative_values"])), 4),
        },
        "noise": {"real": noise_statistics(real), "generated": noise_statistics(generated)},
        "spectrum": {"log10_ratio_by_band": bands, "_freq": freq, "_real": spec_real, "_generated": spec_gen},
        "lesions": {"real": lesion_statistics(real), "generated": lesion_statistics(generated)},
        "memorisation": memorisation(memorisation_vectors(generated, sqrt_ceiling), memorisation_vectors(training, sqrt_ceiling)),
    }


def public(stats: dict) -> dict:
    """``stats`` without its array-valued ``_`` keys (what goes to ``quality.json``)."""
    return {k: public(v) if isinstance(v, dict) else v for k, v in stats.items() if not k.startswith("_")}


def markdown_report(stats: dict, title: str) -> str:
    """A short Markdown summary of :func:`compare`'s result."""
    c, n, le, m = stats["counts"], stats["noise"], stats["lesions"], stats["memorisation"]
    pr, pg = c["real"]["percentiles_relative"], c["generated"]["percentiles_relative"]
    lines = [
        f"# {title}",
        "",
        f"{stats['n_generated']} generated vs {stats['n_real']} real crops.",
        "",
        "| statistic | real | generated |",
        "|---|---|---|",
    ]
    for p in ("5", "50", "95", "99"):
        lines.append(f"| body counts p{p} / case scale | {pr[p]} | {pg[p]} |")
    lines += [
        f"| body counts p50 (counts) | {c['real']['percentiles_counts']['50']} | {c['generated']['percentiles_counts']['50']} |",
        f"| noise: residual variance / mean (Poisson ~0.89) | {n['real']['fano']:.3f} | {n['generated']['fano']:.3f} |",
        f"| lesions per view (mean) | {le['real']['lesions_per_view'].get('mean', '-')} | {le['generated']['lesions_per_view'].get('mean', '-')} |",
        f"| views without lesion | {le['real']['views_without_lesion']:.2f} | {le['generated']['views_without_lesion']:.2f} |",
        f"| lesion size, median px | {le['real']['size_px'].get('median', '-')} | {le['generated']['size_px'].get('median', '-')} |",
        f"| lesion contrast, median | {le['real']['contrast'].get('median', '-')} | {le['generated']['contrast'].get('median', '-')} |",
        "",
        f"Wasserstein distance of scale-free body counts: {c['wasserstein_relative']}.",
        f"Radial power spectrum, log10(generated / real): {stats['spectrum']['log10_ratio_by_band']}.",
        (
            f"Memorisation: median nearest-training distance {m['nn_generated_to_train_median']} (generated) vs "
            f"{m['nn_train_to_train_median']} (training, leave-one-out), ratio {m['ratio']}; "
            f"{100 * m['possible_copies']:.1f} % of samples closer than the 5th percentile of real distances "
            f"({m['copy_threshold']})."
        ),
        "",
        "![real](grid_real.png) ![generated](grid_generated.png)",
        "",
        "![spectrum](spectrum.png) ![nearest](nearest.png)",
        "",
    ]
    return "\n".join(lines)


def write_report(stats: dict, out: Path, title: str) -> None:
    """``quality.json``, ``quality.md`` and ``spectrum.png`` in ``out`` (atomically)."""
    import matplotlib  # lazy: start-up time

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: start-up time

    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "quality.json", json.dumps(public(stats), indent=1) + "\n")
    write_text_atomic(out / "quality.md", markdown_report(stats, title))
    spec = stats["spectrum"]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.semilogy(spec["_freq"], spec["_real"], label="real")
    ax.semilogy(spec["_freq"], spec["_generated"], label="generated")
    ax.set_xlabel("spatial frequency (cycles / pixel)")
    ax.set_ylabel("radial power (scale-free)")
    ax.legend()
    fig.tight_layout()
    with atomic_path(out / "spectrum.png") as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
