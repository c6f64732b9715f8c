"""``run_demo``: the demo's steps in order, their timings, ``report.md`` and ``demo.json``."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from scintiseg.errors import ScintisegError
from scintiseg.experiments.demo.comparison import compare_networks, console_line
from scintiseg.experiments.demo.figures import learning_curves
from scintiseg.experiments.demo.markdown import format_metric, report_markdown
from scintiseg.experiments.demo.settings import DEMO_MODELS, MODEL_TITLES, DemoSettings, cpu_count, load_average
from scintiseg.experiments.demo.state import DemoState
from scintiseg.experiments.demo.steps import (
    evaluate_model,
    make_crops,
    make_phantom,
    predict_scans,
    read_record,
    say,
    train_model,
)
from scintiseg.io.atomic import write_text_atomic
from scintiseg.io.dataset import read_json, read_json_object


def check_fingerprint(settings: DemoSettings, out: Path) -> None:
    """Refuse a folder that holds a demo made with other settings; record these settings in it."""
    fingerprint_path = out / "demo-settings.json"
    current = settings.fingerprint()
    if fingerprint_path.is_file():
        previous = read_json_object(fingerprint_path, "a demo settings record", "use another --out or delete the folder")
        if previous != current:  # else a setting only the record holds (another version's, another recipe's)
            changed = (sorted(k for k in current if previous.get(k) != current[k])
                       or sorted(k for k in previous if k not in current))
            raise ScintisegError(
                f"this folder holds a demo made with other settings ({', '.join(changed)}); "
                "use another --out or delete the folder", path=out)
    write_text_atomic(fingerprint_path, json.dumps(current, indent=1) + "\n")


def data_sizes(settings: DemoSettings, out: Path, splits: dict) -> dict:
    """Patients behind training, validation and test: ``train``, ``val``, ``test`` (and ``recipe``).

    ``synthetic``: the generated patients each network saw (:meth:`DemoSettings.training_patients`) and its
    generated validation patients; ``crops``: the case counts of the DPU-Net run's ``split.json``. ``test``
    is the number of test crops (one per cohort patient).
    """
    if settings.synthetic:
        return {"recipe": "synthetic", "train": settings.training_patients(), "val": settings.val_patients,
                "test": len(splits.get("test", []))}
    path = out / "dpunet" / "split.json"
    split_json = read_json(path)
    if not isinstance(split_json, dict) or not all(isinstance(split_json.get(name), list) for name in ("train", "val", "test")):
        raise ScintisegError("not a run's split record (no train, val and test lists); delete the dpunet folder or use "
                             "another --out", path=path)
    return {"recipe": "crops", **{name: len(split_json[name]) for name in ("train", "val", "test")}}


def run_demo(settings: DemoSettings) -> Path:
    """Run the whole demo and return the path of ``report.md``.

    Steps, each skipped when its output already exists (so an interrupted demo resumes where it stopped)::

        1 phantom    write_cohort(patients)                    OUT/phantom/   (whole-body ANT + POST, masks)
        2 crop       crop_dataset(size) + the split            OUT/crops/     (thoracic crops, splits.json:
                                                               all test for ``synthetic``, else test_fraction)
        3 train      DPU-Net (fusion + DAC_2 + RMP) and the max-pooling U-Net, same budget: ``synthetic``
                     on phantom patients made on the fly (whole-body windows), ``crops`` on the crops
                                                               OUT/dpunet/, OUT/unet/   (normal run folders)
        4 evaluate   evaluate_run on the held-out test patients' crops  RUN/eval-test/ (metrics, overlays)
                     and DPU-Net minus U-Net per metric, paired over the test patients (compare_networks)
        5 predict    predict_scan on a held-out whole-body phantom scan and on the real NEMA NM1 scan
                     (the whole view for ``synthetic``, the thoracic window for ``crops``), then the same two
                     scans with the shipped model (``scintiseg predict``'s default), when the install has it
                                                               OUT/predict/<name>/, OUT/predict/shipped-<name>/
                                                               (LabelMe, masks, overlays, reports)
        6 report     OUT/report.md (+ OUT/figures/), OUT/demo.json (settings, timings, metrics, comparison)

    Raises:
        ScintisegError: ``out`` holds a demo made with other settings, or a step fails on bad input.

    Example::

        report = run_demo(DemoSettings(out="runs/demo"))
        print(report)        # runs/demo/report.md
    """
    from scintiseg.models.checkpoint import load_checkpoint  # lazy: start-up time
    from scintiseg.train.evaluate import json_safe  # lazy: start-up time

    settings.validate()
    out = Path(settings.out)
    if out.exists() and not out.is_dir():
        raise ScintisegError("output exists and is not a folder", path=out)
    out.mkdir(parents=True, exist_ok=True)
    check_fingerprint(settings, out)
    state = DemoState(settings=asdict(settings) | {"cpus": cpu_count()})
    state.load_average["start"] = load_average()
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

    say("[4/6] evaluate both networks on the held-out test patients")
    figures: dict[str, list[Path]] = {}
    histories = {}
    for key in DEMO_MODELS:
        run_dir = out / key
        state.metrics[key] = timed(f"evaluate {key}", lambda run_dir=run_dir, key=key: evaluate_model(run_dir, crops, key, state))
        state.runs[key] = read_record(run_dir / "summary.json", "a training run's summary")
        histories[key] = load_checkpoint(run_dir / "checkpoints" / "last.pt")["history"]
        figures[f"overlays_{key}"] = sorted((run_dir / "eval-test" / "overlays").glob("*.png"),
                                            key=lambda p: (not p.name.startswith("best"), p.name))
        m = state.metrics[key]
        say(f"      {MODEL_TITLES[key]}: test DSC {format_metric(m['pooled']['dsc'])}, "
            f"Recall {format_metric(m['pooled']['recall'])}, CPA {format_metric(m['pooled']['cpa'])} ({m['images']} images)")
    state.comparison = compare_networks(out, state.metrics)
    say(console_line(state.comparison))
    state.runs["data"] = data_sizes(settings, out, splits)
    learning_curves(histories, figures_dir / "learning_curves.png")
    figures["curves"] = [figures_dir / "learning_curves.png"]

    say("[5/6] predict on whole-body scans with scintiseg.predict")
    timed("predict", lambda: predict_scans(settings, out, phantom, splits, state, figures_dir))

    say("[6/6] report")
    state.load_average["end"] = load_average()
    report = out / "report.md"
    write_text_atomic(report, report_markdown(settings, state, out, figures))
    write_text_atomic(out / "demo.json", json.dumps(json_safe(asdict(state)), indent=1, default=str) + "\n")
    say(f"demo finished in {sum(state.timings.values()):.0f} s; report: {report}")
    return report
