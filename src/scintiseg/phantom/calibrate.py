"""Compare a phantom scan with a real whole-body scan: the numbers used to tune the phantom's defaults.

The phantom patient is generated at the real scan's total count level (so count statistics are
comparable) and its ANT view is compared with the real view. Statistics, each computed the same way on
both images:

* total and maximum counts; count percentiles of all pixels and of the pixels inside the body;
* body mask: counts smoothed by a Gaussian (sigma 4 px) above 0.6 counts/pixel (plus hole filling, the
  largest component) [choice]; body height = its row extent, body width = its widest row, in mm;
* bone-to-soft-tissue estimate: 98th / 40th percentile of the smoothed counts inside the body (bone
  occupies the top few percent of body pixels, soft tissue the middle) [choice];
* noise: slope of local variance against local mean in 5 x 5 windows inside the body (1 for pure
  Poisson; a structure-free estimate uses the residual after 3 x 3 smoothing) [choice].
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy import ndimage

from scintiseg.display import display_window
from scintiseg.io import read_scan
from scintiseg.io.atomic import atomic_path, write_text_atomic
from scintiseg.phantom.config import PhantomConfig
from scintiseg.phantom.patient import generate_patient


def body_mask(counts: np.ndarray) -> np.ndarray:
    smooth = ndimage.gaussian_filter(counts.astype(np.float64), 4.0)
    mask = ndimage.binary_fill_holes(smooth > 0.6)
    labels, n = ndimage.label(mask)
    if n > 1:
        sizes = ndimage.sum(mask, labels, index=np.arange(1, n + 1))
        mask = labels == (1 + int(np.argmax(sizes)))
    return mask


def scan_statistics(counts: np.ndarray, pixel_mm: tuple[float, float]) -> dict:
    """The calibration statistics of one view (see the module docstring)."""
    counts = np.asarray(counts, dtype=np.float64)
    mask = body_mask(counts)
    inside = counts[mask]
    rows = np.flatnonzero(mask.any(axis=1))
    smooth = ndimage.gaussian_filter(counts, 2.0)
    local_mean = ndimage.uniform_filter(counts, 5)
    residual = counts - ndimage.uniform_filter(counts, 3)
    local_var = ndimage.uniform_filter(residual**2, 5) * (9.0 / 8.0)
    sel = mask & (local_mean > 2)
    slope = float(np.polyfit(local_mean[sel], local_var[sel], 1)[0]) if sel.sum() > 10 else float("nan")
    pct = lambda a, q: float(np.percentile(a, q)) if a.size else float("nan")  # noqa: E731
    return {
        "total_counts": float(counts.sum()),
        "max": float(counts.max()),
        "p50": pct(counts, 50), "p90": pct(counts, 90), "p99": pct(counts, 99), "p99.9": pct(counts, 99.9),
        "body_fraction": float(mask.mean()),
        "body_p50": pct(inside, 50), "body_p90": pct(inside, 90), "body_p99": pct(inside, 99),
        "body_height_mm": float((rows[-1] - rows[0] + 1) * pixel_mm[0]) if rows.size else 0.0,
        "body_width_mm": float(mask.sum(axis=1).max() * pixel_mm[1]),
        "bone_to_soft": pct(smooth[mask], 98) / max(pct(smooth[mask], 40), 1e-9),
        "noise_var_over_mean": slope,
    }


def calibrate(real_path: str | Path, config: PhantomConfig | None = None, seed: int = 0, out: str | Path | None = None) -> dict:
    """Statistics of the real scan and of a phantom patient at the same count level; optional PNG + JSON.

    Args:
        real_path: the real scan (its first view, or ANT, is used).
        config: phantom configuration (default profile when None).
        seed: phantom patient seed.
        out: folder for ``calibration.png`` (real | phantom ANT | phantom POST) and ``calibration.json``.

    Returns:
        ``{"real": stats, "phantom_ANT": stats, "phantom_POST": stats, "seed": seed}``.
    """
    config = config if config is not None else PhantomConfig()
    real = read_scan(real_path)
    name = "ANT" if "ANT" in real.views else real.view_names[0]
    real_counts = np.asarray(real.view(name), dtype=np.float64)
    total = float(real_counts.sum())
    camera = replace(config.camera, rows=real_counts.shape[0], cols=real_counts.shape[1],
                     pixel_mm=float(real.pixel_spacing[1]), counts=(total, total))
    patient = generate_patient(seed, replace(config, camera=camera))
    report = {
        "real_file": str(real_path),
        "seed": int(seed),
        "real": scan_statistics(real_counts, real.pixel_spacing),
        "phantom_ANT": scan_statistics(patient.scan.view("ANT"), patient.scan.pixel_spacing),
        "phantom_POST": scan_statistics(patient.scan.view("POST"), patient.scan.pixel_spacing),
        "phantom_meta": {k: patient.meta[k] for k in ("height_mm", "build", "arm_position", "bone_to_soft", "soloway")},
    }
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / "calibration.json", json.dumps(report, indent=1) + "\n")
        _figure(real_counts, patient, report, out / "calibration.png")
    return report


def _figure(real: np.ndarray, patient, report: dict, path: Path) -> None:
    import matplotlib  # lazy: start-up time

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: start-up time

    images = [("real (NM1, anterior)", real), ("phantom ANT", patient.scan.view("ANT")), ("phantom POST (as acquired)", patient.scan.view("POST"))]
    fig, axes = plt.subplots(1, 4, figsize=(13, 10), gridspec_kw={"width_ratios": [1, 1, 1, 1.6]})
    for ax, (title, image) in zip(axes, images):
        ax.imshow(image, cmap="gray_r", vmin=0, vmax=display_window(image), interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    ax = axes[3]
    bins = np.arange(0, 200, 2)
    for (title, image), colour in zip(images[:2], ("k", "tab:red")):
        values = np.asarray(image, float)[body_mask(np.asarray(image, float))]
        ax.hist(values, bins=bins, histtype="step", color=colour, label=title, density=True)
    ax.set_yscale("log")
    ax.set_xlabel("counts per pixel (inside the body)")
    ax.legend(fontsize=8)
    ax.set_title("count histograms", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)


def format_table(report: dict) -> str:
    """A plain-text table: one statistic per line, real vs phantom ANT / POST."""
    keys = list(report["real"])
    lines = [f"{'statistic':<22}{'real':>14}{'phantom ANT':>14}{'phantom POST':>14}"]
    for key in keys:
        values = [report[k][key] for k in ("real", "phantom_ANT", "phantom_POST")]
        lines.append(f"{key:<22}" + "".join(f"{v:>14.4g}" for v in values))
    return "\n".join(lines)
