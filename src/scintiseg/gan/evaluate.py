"""``scintiseg gan evaluate``: generated vs real crops, written as a quality report (see :mod:`.quality`).

Real crops are the data set's non-GAN cases; the *training* cases (listed in the run's
``normalisation.json``) are the reference of the memorisation check. Generated samples are drawn in
memory with :func:`scintiseg.gan.sample.generate` (seed ``--seed``), exactly as ``gan sample`` writes them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.gan.data import to_native
from scintiseg.gan.grid import save_sample_grid
from scintiseg.gan.quality import CountCase, compare, write_report
from scintiseg.gan.sample import generate, load_run
from scintiseg.io import dataset as ds


def _as_grid_array(cases: list[CountCase], native: int, sqrt_ceiling: float) -> np.ndarray:
    return np.stack([to_native(c.views, c.masks, native, sqrt_ceiling)[0] for c in cases])


def evaluate_run(run_dir: str | Path, data_dir: str | Path, out: str | Path | None = None, n: int = 200, seed: int = 0, progress: bool = True) -> dict:
    """Compare ``n`` generated samples with the real crops of ``data_dir``; write the report to ``out``
    (default ``RUN/evaluation``); returns the statistics (arrays under keys starting with ``_``)."""
    run_dir, data_dir = Path(run_dir), Path(data_dir)
    out = Path(out) if out is not None else run_dir / "evaluation"
    gan = load_run(run_dir)
    views = gan.config.views
    manifest = ds.load_manifest(data_dir)
    training_ids = set(gan.training_cases)
    real, training = [], []
    cases = [c for c in manifest.cases if c.origin != "gan"]
    if progress:
        cases = tqdm(cases, desc="reading real crops", unit="case", leave=False)
    for case in cases:
        scan, masks = ds.load_case(data_dir, case)
        if any(v not in scan.views for v in views):
            raise ScintisegError(f"case {case.case_id} lacks one of the GAN's views {views}", path=data_dir)
        if scan.shape[0] != scan.shape[1]:  # as training refuses it (gan.data); whole-body scans were compared before
            raise ScintisegError(f"case {case.case_id} is {scan.shape}, not a square thoracic crop like the GAN's "
                                 "training data", path=data_dir)
        item = CountCase([scan.view(v) for v in views], [masks.get(v, np.zeros(scan.shape, bool)) for v in views])
        real.append(item)
        if not training_ids or case.case_id in training_ids:
            training.append(item)
    if len(real) < 2 or len(training) < 2:
        raise ScintisegError("need at least two real cases to compare against", path=data_dir)
    generated_iter = generate(gan, n, seed)
    if progress:
        generated_iter = tqdm(generated_iter, total=n, desc="generating", unit="case", leave=False)
    generated = [CountCase([g.counts[v] for v in views], [g.masks[v] for v in views]) for g in generated_iter]
    stats = compare(real, generated, training, gan.config.sqrt_ceiling)
    title = f"GAN quality: run {run_dir.name} (epoch {gan.epoch}) vs {data_dir.name}"
    write_report(stats, out, title)
    native, ceiling, v = gan.config.native_size, gan.config.sqrt_ceiling, len(views)
    save_sample_grid(_as_grid_array(real[:16], native, ceiling), v, out / "grid_real.png")
    save_sample_grid(_as_grid_array(generated[:16], native, ceiling), v, out / "grid_generated.png")
    closest = np.argsort(stats["memorisation"]["_distance"])[:8]
    pairs = []
    for i in closest:
        pairs += [generated[i], training[int(stats["memorisation"]["_nearest"][i])]]
    save_sample_grid(_as_grid_array(pairs, native, ceiling), v, out / "nearest.png", columns=2)
    return stats
