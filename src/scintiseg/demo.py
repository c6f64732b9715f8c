"""The demo (``scintiseg demo`` / ``make demo``): the whole pipeline on phantom data, in one command.

Steps, each skipped when its output already exists (so an interrupted demo resumes where it stopped)::

    1 phantom    write_cohort(patients)                    OUT/phantom/   (whole-body ANT + POST, masks)
    2 crop       crop_dataset(size) + split_dataset        OUT/crops/     (thoracic crops, splits.json)
    3 train      DPU-Net (fusion + DAC_2 + RMP) and the max-pooling U-Net, same budget
                                                           OUT/dpunet/, OUT/unet/   (normal run folders)
    4 evaluate   evaluate_run on the held-out test patients  RUN/eval-test/ (metrics, best/worst overlays)
    5 predict    predict_scan on a held-out whole-body phantom scan and on the real NEMA NM1 scan
                                                           OUT/predict/<name>/ (LabelMe, masks, overlays, reports)
    6 report     OUT/report.md (+ OUT/figures/), OUT/demo.json (settings, timings, metrics)

Both networks get the same data, epochs, batch size, learning rate, seed and input (anterior thoracic
crop, counts divided by the body's 99th percentile), and are compared on patients neither saw. The
paper A numbers in the report are clinical ones, given for context only (see docs/results.md).

Choices the issue leaves open (defaults of :class:`DemoSettings`, reasons and measurements in
docs/demo.md): 100 phantom patients (80 for training and validation, 20 for test), 256 x 256 crops
(paper B §2.1), width 8 (half the registry's CPU preset: four times cheaper per step, so more steps fit),
40 epochs, batch 8, Adam lr 1e-3 (the papers' 1e-4 with batch 32 needs their 200 epochs), on-the-fly
geometric augmentation, the output bias initialised to a lesion prior of 0.01
(``TrainConfig.head_prior``), and one torch thread when the machine is already busy. The labels are the
phantom lesions visible in the view (docs/phantom.md), which are sparse: with 20 epochs of batch 4 the
DPU-Net had not yet left the all-background state.

Example::

    report = run_demo(DemoSettings(out="runs/demo"))
    print(report)        # runs/demo/report.md
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.io.atomic import write_text_atomic

#: The real scan the demo predicts on, relative to the repository (or the working directory).
DEFAULT_REAL_SCAN = "../shared/data/real/nema-wg04-nm1-wholebody.dcm"
#: Epochs of each network in the default demo (chosen to fit about 15 minutes on 2 cores).
DEFAULT_EPOCHS = 40
#: The two networks the demo compares: paper A's full model and its max-pooling U-Net baseline.
DEMO_MODELS: dict[str, tuple[str, dict]] = {
    "dpunet": ("dpunet", {"pooling": "fusion", "dac": "dac2", "rmp": True}),
    "unet": ("unet", {"pooling": "max"}),
}
#: What each network is called in the report, and its row in paper A Table 2.
MODEL_TITLES: dict[str, str] = {
    "dpunet": "DPU-Net (fusion + DAC_2 + RMP)",
    "unet": "U-Net, max pooling",
}
PAPER_A_ROWS: dict[str, str] = {"dpunet": "Fusion + DAC_2 + RMP", "unet": "U-Net, max pooling"}


@dataclass
class DemoSettings:
    """Everything the demo does; each field is a ``scintiseg demo`` flag.

    Args:
        out: output folder.
        patients: phantom patients generated (the test split holds ``test_fraction`` of them).
        epochs: training epochs of each network.
        size: side of the square thoracic crop in pixels (the model's input).
        width: base channel width of both networks (None: the registry's ``default`` preset, 16).
        depth: encoder depth (None: the preset's 4).
        batch_size: images per optimiser step.
        lr: Adam learning rate.
        head_prior: initial lesion probability of the output layer (``TrainConfig.head_prior``).
        augment: on-the-fly flips, rotations and translations (paper B §3.2.1) while training.
        test_fraction: share of patients held out for the test metrics.
        seed: phantom cohort, split and training seed.
        real_scan: a real whole-body scan to predict on ('' to skip).
        workers: processes for phantom generation and cropping (None: all CPUs).
        threads: torch threads for training and prediction; 0: PyTorch's default (all cores); None:
            automatic, one thread when the machine was already busy when the demo started (1-minute load
            average at least 3/4 of the CPUs), else PyTorch's default. Measured on the 2-core development machine at load 6: a
            DPU-Net training step took 0.28 s per image with one thread and 0.9-1.3 s with two (two
            threads wait on each other when other jobs hold the cores).
        progress: progress bars on stderr.
    """

    out: str = "runs/demo"
    patients: int = 100
    epochs: int = DEFAULT_EPOCHS
    size: int = 256
    width: int | None = 8
    depth: int | None = None
    batch_size: int = 8
    lr: float = 1e-3
    head_prior: float = 0.01
    augment: bool = True
    test_fraction: float = 0.2
    seed: int = 0
    real_scan: str = DEFAULT_REAL_SCAN
    workers: int | None = None
    threads: int | None = None
    progress: bool = True

    def validate(self) -> None:
        if self.patients < 5:
            raise ScintisegError(f"--patients must be at least 5 (train, validation and test need patients), got {self.patients}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ScintisegError("--epochs, --batch-size and --lr must be positive")
        if self.size < 80 or self.size % 16:
            raise ScintisegError(f"--size must be a multiple of 16 and at least 80 (RMP pools need it), got {self.size}")
        if not 0.0 < self.test_fraction < 0.5:
            raise ScintisegError(f"--test-fraction must lie in (0, 0.5), got {self.test_fraction}")

    def fingerprint(self) -> dict:
        """The settings that decide the data and the models (a resumed demo must match them)."""
        keys = ("patients", "epochs", "size", "width", "depth", "batch_size", "lr", "head_prior", "augment", "test_fraction", "seed")
        return {key: getattr(self, key) for key in keys}


@dataclass
class DemoState:
    """What the steps found out, for the report and ``demo.json``."""

    settings: dict
    timings: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    metrics: dict[str, dict] = field(default_factory=dict)
    runs: dict[str, dict] = field(default_factory=dict)
    predictions: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    load_average: dict[str, list[float]] = field(default_factory=dict)


def _say(message: str) -> None:
    print(message, flush=True)


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _load_average() -> list[float]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def resolve_real_scan(path: str) -> Path | None:
    """The real scan: as given, else relative to the repository root; None when absent or not given."""
    if not path:
        return None
    candidate = Path(path)
    if candidate.is_file():
        return candidate
    if not candidate.is_absolute():
        repo_root = Path(__file__).resolve().parents[2]
        if (repo_root / candidate).is_file():
            return (repo_root / candidate).resolve()
    return None


# ----------------------------------------------------------------------------------------------- steps


def make_phantom(settings: DemoSettings, folder: Path, state: DemoState) -> None:
    """Step 1: the phantom cohort (skipped when ``dataset.json`` holds the right number of patients)."""
    from scintiseg.io.dataset import MANIFEST_NAME, load_manifest
    from scintiseg.phantom import write_cohort

    if (folder / MANIFEST_NAME).is_file() and len(load_manifest(folder).cases) == settings.patients:
        state.skipped.append("phantom")
        _say(f"[1/6] phantom: {settings.patients} patients already in {folder} (skipped)")
        return
    _say(f"[1/6] phantom: generating {settings.patients} synthetic whole-body scans (ANT + POST) into {folder}")
    write_cohort(settings.patients, folder, seed=settings.seed, workers=settings.workers, progress=settings.progress)


def make_crops(settings: DemoSettings, phantom: Path, folder: Path, state: DemoState) -> dict:
    """Step 2: thoracic crops and a patient-level split (skipped when both exist)."""
    from scintiseg.io.dataset import MANIFEST_NAME, load_splits, split_dataset
    from scintiseg.prepare.crop_dataset import crop_dataset

    if (folder / MANIFEST_NAME).is_file():
        state.skipped.append("crop")
        _say(f"[2/6] crop: thoracic crops already in {folder} (skipped)")
    else:
        if folder.exists():  # an interrupted crop left files but no manifest: start it again
            shutil.rmtree(folder)
        _say(f"[2/6] crop: cutting {settings.size} x {settings.size} thoracic crops (paper B §2.1) into {folder}")
        workers = settings.workers or _cpu_count()
        crop_dataset(phantom, folder, size=settings.size, workers=max(1, min(workers, settings.patients)),
                     progress=settings.progress)
    if not (folder / "splits.json").is_file():
        split_dataset(folder, test=settings.test_fraction, seed=settings.seed)
    return load_splits(folder)


def training_threads(settings: DemoSettings, load: list[float] | None = None) -> int:
    """``settings.threads``, or the automatic choice described in :class:`DemoSettings`.

    ``load`` is the load average when the demo started: measured later, it would count the demo's own
    phantom processes and always pick one thread.
    """
    if settings.threads is not None:
        return settings.threads
    load = load or _load_average()
    return 1 if load and load[0] >= 0.75 * _cpu_count() else 0


def train_config(settings: DemoSettings, key: str, crops: Path, run_dir: Path, threads: int | None = None):
    """The :class:`~scintiseg.train.TrainConfig` of one demo network (the same budget for both)."""
    from scintiseg.train.config import TrainConfig

    name, model_args = DEMO_MODELS[key]
    model_args = dict(model_args)
    if settings.width is not None:
        model_args["width"] = settings.width
    if settings.depth is not None:
        model_args["depth"] = settings.depth
    return TrainConfig(
        data=str(crops), out=str(run_dir), model=name, model_args=model_args, input_mode="ant",
        normalisation="percentile", epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr,
        loss="dice_bce", head_prior=settings.head_prior, augment=settings.augment, seed=settings.seed, threads=training_threads(settings) if threads is None else threads, progress=settings.progress,
    )


def train_model(settings: DemoSettings, key: str, crops: Path, run_dir: Path, state: DemoState, step: str) -> None:
    """Step 3: train one network (resumes an interrupted run; skipped when finished)."""
    from scintiseg.train.loop import train

    summary_path = run_dir / "summary.json"
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        if summary.get("finished") and summary.get("epochs_run") == settings.epochs:
            state.skipped.append(f"train {key}")
            _say(f"[{step}] train {MODEL_TITLES[key]}: finished run in {run_dir} (skipped)")
            return
    config = train_config(settings, key, crops, run_dir, training_threads(settings, state.load_average.get("start")))
    state.runs.setdefault("threads", {})[key] = config.threads
    _say(f"[{step}] train {MODEL_TITLES[key]}: {settings.epochs} epochs into {run_dir} "
         f"(torch threads: {config.threads or 'default'})")
    train(config, resume=True)


def evaluate_model(run_dir: Path, crops: Path, key: str, state: DemoState) -> dict:
    """Step 4: metrics on the held-out test patients (skipped when ``eval-test/metrics.json`` exists)."""
    from scintiseg.train.evaluate import evaluate_run

    path = run_dir / "eval-test" / "metrics.json"
    checkpoint = run_dir / "checkpoints" / "best.pt"
    if path.is_file() and path.stat().st_mtime >= checkpoint.stat().st_mtime:
        state.skipped.append(f"evaluate {key}")
        return json.loads(path.read_text(encoding="utf-8"))
    return evaluate_run(run_dir, crops, split="test", overlays=2, device="cpu")


def _whole_body_case(phantom: Path, crop_case_id: str):
    """The phantom's whole-body case behind a crop case (``meta["parent_case"]``, else the same id)."""
    from scintiseg.io.dataset import load_manifest

    manifest = load_manifest(phantom)
    ids = {case.case_id: case for case in manifest.cases}
    return ids.get(crop_case_id) or ids[crop_case_id.split("_")[0]]


def showcase_case(crops: Path, test_ids: list[str]) -> str:
    """The test case with the most lesions visible on ANT inside the thoracic crop (ties: the first id)."""
    from scintiseg.io.dataset import load_manifest

    def visible(case) -> int:
        lesions = case.meta.get("lesions") or []
        return sum(1 for lesion in lesions if lesion.get("in_crop") and (lesion.get("visible") or {}).get("ANT"))

    cases = {case.case_id: case for case in load_manifest(crops).cases}
    return max(test_ids, key=lambda case_id: (visible(cases[case_id]) if case_id in cases else -1, -test_ids.index(case_id)))


def predict_one(scan, run_dir: Path, folder: Path) -> tuple:
    """Step 5 for one scan: :func:`scintiseg.predict.predict_scan` with the run's best checkpoint."""
    from scintiseg.predict import load_model, predict_scan, write_outputs

    model = load_model(run_dir, engine="torch", device="cpu")  # the checkpoint records the crop size
    prediction = predict_scan(scan, model)
    report = write_outputs(prediction, folder)
    return prediction, report


def truth_overlay(counts: np.ndarray, truth: np.ndarray, predicted: np.ndarray, coverage: np.ndarray,
                  title: str, path: Path) -> None:
    """Whole-body view (left) and the model's window (right), truth in green and prediction in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scintiseg.io.atomic import atomic_path

    rows = np.flatnonzero(coverage.any(axis=1))
    cols = np.flatnonzero(coverage.any(axis=0))
    window = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)) if rows.size else (slice(None), slice(None))
    vmax = float(np.percentile(counts[counts > 0], 99.5)) if (counts > 0).any() else 1.0
    figure, axes = plt.subplots(1, 2, figsize=(7.5, 7.5), dpi=100, gridspec_kw={"width_ratios": [1, 2.2]})
    for axis, part in zip(axes, ((slice(None), slice(None)), window)):
        axis.imshow(counts[part], cmap="gray_r", vmin=0, vmax=vmax, interpolation="nearest")
        if truth[part].any():
            axis.contour(truth[part].astype(float), levels=[0.5], colors="lime", linewidths=1.0)
        if predicted[part].any():
            axis.contour(predicted[part].astype(float), levels=[0.5], colors="red", linewidths=1.0)
        axis.set_axis_off()
    if rows.size:
        axes[0].add_patch(plt.Rectangle((cols[0] - 0.5, rows[0] - 0.5), len(cols), len(rows), fill=False,
                                        edgecolor="royalblue", linewidth=1.0))
    axes[0].set_title("whole body (ANT)", fontsize=9)
    axes[1].set_title("model window: green truth, red prediction", fontsize=9)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)


def learning_curves(runs: dict[str, list[dict]], path: Path) -> None:
    """Validation DSC and training loss per epoch of both networks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scintiseg.io.atomic import atomic_path

    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4), dpi=100)
    for key, history in runs.items():
        epochs = [row["epoch"] for row in history]
        axes[0].plot(epochs, [row["train_loss"] for row in history], marker="o", label=MODEL_TITLES[key])
        axes[1].plot(epochs, [row["val_dsc"] for row in history], marker="o", label=MODEL_TITLES[key])
    axes[0].set(xlabel="epoch", ylabel="training loss (Dice + BCE)")
    axes[1].set(xlabel="epoch", ylabel="validation DSC (pooled)", ylim=(0, 1))
    axes[1].legend(fontsize=8)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)


# ---------------------------------------------------------------------------------------------- report


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _rel(path: Path, root: Path) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def report_markdown(settings: DemoSettings, state: DemoState, out: Path, figures: dict[str, list[Path]]) -> str:
    """The text of ``report.md`` (see :func:`run_demo`)."""
    from scintiseg.experiments.specs import PAPER_A_TABLE2
    from scintiseg.predict.loader import SYNTHETIC_DISCLAIMER

    paper = {row.name: row.paper for row in PAPER_A_TABLE2.rows}
    data = state.runs.get("data", {})
    lines = [
        "# scintiseg demo report",
        "",
        "> **Synthetic data, research software.** Every training and test image here comes from the scintiseg "
        "physics phantom (simulated 99mTc-MDP whole-body scans, docs/phantom.md), not from patients. "
        f"{SYNTHETIC_DISCLAIMER}",
        "",
        "## What was done",
        "",
        f"- **Data:** {settings.patients} phantom patients (seed {settings.seed}), whole-body ANT + POST "
        f"1024 x 256; thoracic crops {settings.size} x {settings.size} (paper B §2.1). Patient-level split: "
        f"{data.get('train', '?')} training, {data.get('val', '?')} validation, {data.get('test', '?')} test "
        "patients; the test patients were never seen in training or model selection.",
        f"- **Networks** (same budget): {MODEL_TITLES['dpunet']} (paper A) and the {MODEL_TITLES['unet']} "
        f"baseline; width {settings.width or 'default preset (16)'}, depth {settings.depth or 'default (4)'}.",
        f"- **Training:** anterior view, counts / body p99, Dice + BCE, Adam lr {settings.lr:g}, batch "
        f"{settings.batch_size}, {settings.epochs} epochs, output bias initialised to a lesion prior of "
        f"{settings.head_prior:g}, seed {settings.seed}, CPU; the checkpoint with the "
        "best validation DSC is evaluated.",
        "- **Metrics** on the test patients (threshold 0.5): DSC, Recall, CPA (precision) and IoU pooled over all "
        "test pixels (as paper A reports them), DSC averaged per image, and lesion detection (a true lesion is "
        "found when a predicted pixel touches it; a predicted component touching none is a false positive).",
        "",
        "## Test metrics",
        "",
        "| network | parameters | best epoch | DSC | Recall | CPA | IoU | DSC / image | lesion sens. | FP / image "
        "| train time | paper A DSC / Recall / CPA (clinical) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key in DEMO_MODELS:
        m = state.metrics.get(key)
        run = state.runs.get(key, {})
        if m is None:
            continue
        p = paper[PAPER_A_ROWS[key]]
        lines.append(
            f"| {MODEL_TITLES[key]} | {run.get('parameters', 0):,} | {run.get('best_epoch', '?')} "
            f"| {_fmt(m['pooled']['dsc'])} | {_fmt(m['pooled']['recall'])} | {_fmt(m['pooled']['cpa'])} "
            f"| {_fmt(m['pooled']['iou'])} | {_fmt(m['per_image']['dsc'])} | {_fmt(m['detection'].get('sensitivity'))} "
            f"| {_fmt(m['detection'].get('fp_per_image'), 2)} | {run.get('seconds', 0):.0f} s "
            f"| {p['dsc']:.4f} / {p['recall']:.4f} / {p['cpa']:.4f} |"
        )
    lines += [
        "",
        f"Test set: {state.metrics.get('dpunet', {}).get('images', '?')} images. Paper A's numbers (He et al. "
        "2024, Table 2, mean of 5 runs of 200 epochs on 62 clinical thoracic test images) are for context only: "
        "different data (clinical, not phantom), far longer training and wider networks. The phantom's "
        "lesions, noise and anatomy are ours, so absolute values are not comparable; a demo this short is "
        "also one run, so a small difference between the two networks is within run-to-run spread "
        "(docs/results.md has repeated runs).",
        "",
    ]
    if "curves" in figures:
        lines += ["![learning curves](" + _rel(figures["curves"][0], out) + ")", "",
                  "*Training loss and validation DSC per epoch.*", ""]
    for key in DEMO_MODELS:
        pictures = figures.get(f"overlays_{key}", [])
        if pictures:
            lines += [f"### {MODEL_TITLES[key]}: best and worst test images", "",
                      " ".join(f"![{p.stem}]({_rel(p, out)})" for p in pictures), "",
                      "*Thoracic crops of test patients (ANT), ranked by per-image DSC; green: truth, red: "
                      "prediction.*", ""]
    lines += ["## Whole-body prediction (scintiseg.predict)", ""]
    for name, info in state.predictions.items():
        if info.get("skipped"):
            lines += [f"- **{name}:** skipped: {info['skipped']}", ""]
            continue
        lines += [
            f"### {info['title']}",
            "",
            f"Model: {MODEL_TITLES['dpunet']} from `{_rel(Path(info['run']), out)}`, through `predict_scan` "
            "(read -> thoracic crop -> model -> threshold -> contours -> regions -> BSI). "
            f"{info['lesions']} lesion(s) predicted; BSI estimate {info['bsi']:.2f} % of the skeleton "
            f"(covered mass {info['covered']:.0f} %); QC flags: {', '.join(info['qc_flags']) or 'none'}. "
            f"Outputs (LabelMe, masks, overlays, report.html, DICOM SR/GSPS) in `{_rel(Path(info['folder']), out)}/`.",
            "",
        ]
        if info.get("truth_figure"):
            lines += [f"![{name} with truth]({_rel(Path(info['truth_figure']), out)})", "",
                      f"*{info['caption']}*", ""]
        for overlay in info.get("overlays", []):
            lines += [f"![{name} overlay]({_rel(Path(overlay), out)})", ""]
        if info.get("caption_overlay"):
            lines += [f"*{info['caption_overlay']}*", ""]
    lines += ["## Run", ""]
    total = sum(state.timings.values())
    lines.append("| step | seconds |")
    lines.append("|---|---:|")
    for step, seconds in state.timings.items():
        lines.append(f"| {step} | {seconds:.0f} |")
    lines.append(f"| **total** | **{total:.0f}** |")
    lines += [
        "",
        f"Steps reused from an earlier run (skipped): {', '.join(state.skipped) or 'none'}. "
        f"Load average (1, 5, 15 min) at start {state.load_average.get('start')}, at end "
        f"{state.load_average.get('end')}; CPUs available: {state.settings.get('cpus')}.",
        "",
        "Repeat with `scintiseg demo --out " + str(settings.out) + "` (finished steps are skipped); the settings "
        "are in `demo.json`, each run's resolved training configuration in `<run>/config.yaml`.",
    ]
    for note in state.notes:
        lines += ["", f"Note: {note}"]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ main


def run_demo(settings: DemoSettings, *, say: Callable[[str], None] | None = None) -> Path:
    """Run the whole demo (module docstring) and return the path of ``report.md``.

    Raises:
        ScintisegError: ``out`` holds a demo made with other settings, or a step fails on bad input.
    """
    settings.validate()
    out = Path(settings.out)
    if out.exists() and not out.is_dir():
        raise ScintisegError("output exists and is not a folder", path=out)
    out.mkdir(parents=True, exist_ok=True)
    fingerprint_path = out / "demo-settings.json"
    if fingerprint_path.is_file():
        previous = json.loads(fingerprint_path.read_text(encoding="utf-8"))
        if previous != settings.fingerprint():
            changed = sorted(k for k in settings.fingerprint() if previous.get(k) != settings.fingerprint()[k])
            raise ScintisegError(
                f"this folder holds a demo made with other settings ({', '.join(changed)}); "
                "use another --out or delete the folder", path=out)
    write_text_atomic(fingerprint_path, json.dumps(settings.fingerprint(), indent=1) + "\n")
    state = DemoState(settings=asdict(settings) | {"cpus": _cpu_count()})
    state.load_average["start"] = _load_average()
    phantom, crops, figures_dir = out / "phantom", out / "crops", out / "figures"

    def timed(name: str, action: Callable[[], object]):
        started = time.perf_counter()
        value = action()
        state.timings[name] = state.timings.get(name, 0.0) + time.perf_counter() - started
        return value

    timed("phantom", lambda: make_phantom(settings, phantom, state))
    splits = timed("crop + split", lambda: make_crops(settings, phantom, crops, state))
    for index, key in enumerate(DEMO_MODELS):
        timed(f"train {key}", lambda key=key, index=index: train_model(
            settings, key, crops, out / key, state, f"3/6 {index + 1}/{len(DEMO_MODELS)}"))

    _say("[4/6] evaluate both networks on the held-out test patients")
    figures: dict[str, list[Path]] = {}
    histories = {}
    for key in DEMO_MODELS:
        run_dir = out / key
        state.metrics[key] = timed(f"evaluate {key}", lambda run_dir=run_dir, key=key: evaluate_model(run_dir, crops, key, state))
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        state.runs[key] = summary
        from scintiseg.train.checkpoint import load_checkpoint

        histories[key] = load_checkpoint(run_dir / "checkpoints" / "last.pt")["history"]
        overlays = sorted((run_dir / "eval-test" / "overlays").glob("*.png"),
                          key=lambda p: (not p.name.startswith("best"), p.name))
        figures[f"overlays_{key}"] = overlays
        m = state.metrics[key]
        _say(f"      {MODEL_TITLES[key]}: test DSC {_fmt(m['pooled']['dsc'])}, Recall {_fmt(m['pooled']['recall'])}, "
             f"CPA {_fmt(m['pooled']['cpa'])} ({m['images']} images)")
    split_json = json.loads((out / "dpunet" / "split.json").read_text(encoding="utf-8"))
    state.runs["data"] = {name: len(split_json[name]) for name in ("train", "val", "test")}
    learning_curves(histories, figures_dir / "learning_curves.png")
    figures["curves"] = [figures_dir / "learning_curves.png"]

    _say("[5/6] predict on whole-body scans with scintiseg.predict")
    timed("predict", lambda: predict_scans(settings, out, phantom, splits, state, figures_dir))

    _say("[6/6] report")
    state.load_average["end"] = _load_average()
    report = out / "report.md"
    write_text_atomic(report, report_markdown(settings, state, out, figures))
    from scintiseg.train.evaluate import json_safe

    write_text_atomic(out / "demo.json", json.dumps(json_safe(asdict(state)), indent=1, default=str) + "\n")
    _say(f"demo finished in {sum(state.timings.values()):.0f} s; report: {report}")
    return report


def predict_scans(settings: DemoSettings, out: Path, phantom: Path, splits: dict, state: DemoState, figures_dir: Path) -> None:
    """Step 5: a held-out whole-body phantom scan (with its truth) and the real scan, with the DPU-Net."""
    from scintiseg.io import read_scan
    from scintiseg.io.dataset import resolve
    from scintiseg.io.images import read_mask_png

    run_dir = out / "dpunet"
    test_ids = sorted(splits.get("test", []))
    if test_ids:
        case = _whole_body_case(phantom, showcase_case(out / "crops", test_ids))
        scan = read_scan(resolve(phantom, case.image))
        folder = out / "predict" / f"phantom-{case.case_id}"
        prediction, _ = predict_one(scan, run_dir, folder)
        view = "ANT" if "ANT" in prediction.views else next(iter(prediction.views))
        result = prediction.views[view]
        truth = read_mask_png(resolve(phantom, case.masks[view])) if view in case.masks else np.zeros(scan.shape, bool)
        figure = figures_dir / f"phantom_{case.case_id}_{view}.png"
        detected = _whole_body_detection(result.mask, truth, result.coverage)
        truth_overlay(scan.view(view), truth, result.mask, result.coverage,
                      f"held-out phantom patient {case.case_id} ({view}): {detected}", figure)
        state.predictions["phantom"] = {
            "title": f"Held-out phantom patient {case.case_id} (test split, never trained on)",
            "run": str(run_dir), "folder": str(folder), "lesions": prediction.lesion_count,
            "bsi": prediction.bsi_percent, "covered": prediction.covered_mass_percent,
            "qc_flags": prediction.qc_flags, "truth_figure": str(figure),
            "caption": f"Whole-body {view} view with the thoracic window the model saw (blue); green: the "
            f"phantom's true lesions, red: the prediction. Within the window: {detected}. Lesions outside "
            "the window (legs, skull, pelvis) are not predicted: the networks of both papers see the thorax only.",
        }
        _say(f"      phantom {case.case_id}: {prediction.lesion_count} lesion(s) predicted; {detected}")
    real = resolve_real_scan(settings.real_scan)
    if real is None:
        message = (f"real scan not found at {settings.real_scan!r} (pass --real PATH; the repository's copy is "
                   "../shared/data/real/nema-wg04-nm1-wholebody.dcm)") if settings.real_scan else "no --real scan given"
        _say(f"      real scan: skipped: {message}")
        state.predictions["real scan"] = {"skipped": message}
        return
    scan = read_scan(real)
    folder = out / "predict" / f"real-{real.stem}"
    prediction, report = predict_one(scan, run_dir, folder)
    overlays = sorted(folder / view["files"]["overlay"] for view in report.get("views", {}).values()
                      if "overlay" in view.get("files", {}))
    state.predictions["real scan"] = {
        "title": f"Real scan: {real.name} (a real GE 99mTc-MDP whole-body bone scan, NEMA WG04 test image NM1, anterior view)",
        "run": str(run_dir), "folder": str(folder), "lesions": prediction.lesion_count,
        "bsi": prediction.bsi_percent, "covered": prediction.covered_mass_percent,
        "qc_flags": prediction.qc_flags, "overlays": [str(p) for p in overlays],
        "caption_overlay": "The real scan (inverted grey scale) with the thoracic window (blue) and the predicted "
        "contours (red, numbered). No ground truth exists for this scan; a model trained on the phantom only "
        "says nothing reliable about a real patient.",
    }
    _say(f"      real scan {real.name}: {prediction.lesion_count} lesion(s) predicted -> {folder}")


def _whole_body_detection(predicted: np.ndarray, truth: np.ndarray, coverage: np.ndarray) -> str:
    """'k of n true lesions in the window found, f false positive(s)' for the picture's caption."""
    from scintiseg.metrics import lesion_detection

    result = lesion_detection(predicted & coverage, truth & coverage)
    return (f"{result['detected']} of {result['lesions']} true lesions in the window found, "
            f"{result['false_positives']} false positive(s)")

