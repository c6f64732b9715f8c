"""The demo's steps: phantom cohort, thoracic crops, training, test metrics and whole-body prediction.

The ``synthetic`` recipe (default) trains on phantom patients made on the fly, so the cohort of steps 1-2
is test data only (every crop in the ``test`` split of ``splits.json``); the ``crops`` recipe trains on
the cohort's crops and holds out ``test_fraction`` of its patients.

Each step is skipped when its output is already complete, so an interrupted demo resumes where it
stopped; what a step found out goes into the :class:`~scintiseg.experiments.demo.state.DemoState`.
The libraries that pull in torch or scikit-image are imported inside the steps that use them, so that
``scintiseg demo --help`` and ``import scintiseg.experiments.demo`` stay light.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from scintiseg.errors import ScintisegError
from scintiseg.experiments.demo.figures import truth_overlay
from scintiseg.experiments.demo.markdown import relative_link, view_counts
from scintiseg.experiments.demo.settings import (
    DEMO_MODELS,
    MODEL_TITLES,
    NM1_STUDY_UIDS,
    DemoSettings,
    cpu_count,
    resolve_real_scan,
    training_threads,
)
from scintiseg.experiments.demo.state import DemoState
from scintiseg.io import read_scan
from scintiseg.io.atomic import write_text_atomic
from scintiseg.io.dataset import MANIFEST_NAME, Case, load_manifest, load_splits, read_json_object, resolve
from scintiseg.io.images import read_mask_png
from scintiseg.prepare.splits import split_dataset


def say(message: str) -> None:
    """One progress line on stdout, flushed (the demo's steps are minutes apart)."""
    print(message, flush=True)


def make_phantom(settings: DemoSettings, folder: Path, state: DemoState) -> None:
    """Step 1: the phantom cohort (skipped when ``dataset.json`` holds the right number of patients)."""
    from scintiseg.phantom import write_cohort  # lazy: start-up time

    if (folder / MANIFEST_NAME).is_file() and len(load_manifest(folder).cases) == settings.patients:
        state.skipped.append("phantom")
        say(f"[1/6] phantom: {settings.patients} patients already in {folder} (skipped)")
        return
    role = "the held-out test patients" if settings.synthetic else "training, validation and test patients"
    say(f"[1/6] phantom: generating {settings.patients} synthetic whole-body scans (ANT + POST; {role}) into {folder}")
    write_cohort(settings.patients, folder, seed=settings.seed, workers=settings.workers, progress=settings.progress)


def all_test_splits(folder: Path) -> dict:
    """``splits.json`` of a data set that is test data only: every case in ``test``, none in ``train``.

    ``split_dataset`` keeps at least one patient for training (its share lies in [0, 1)); the demo's
    ``synthetic`` recipe trains on none of the cohort, so the file is written here in the same format.
    """
    splits = split_dataset(folder, test=0.0, write=False)
    patients = sorted({case.patient_id for case in load_manifest(folder).cases})
    splits.update(test_fraction=1.0, train=[], test=splits["train"], test_patients=patients, folds=[])
    write_text_atomic(folder / "splits.json", json.dumps(splits, indent=1) + "\n")
    return splits


def make_crops(settings: DemoSettings, phantom: Path, folder: Path, state: DemoState) -> dict:
    """Step 2: thoracic crops and a patient-level split (skipped when both exist): every patient in test for
    the ``synthetic`` recipe, ``test_fraction`` of them for ``crops``."""
    from scintiseg.prepare.crop_dataset import crop_dataset  # lazy: start-up time

    if (folder / MANIFEST_NAME).is_file():
        state.skipped.append("crop")
        say(f"[2/6] crop: thoracic crops already in {folder} (skipped)")
    else:
        if folder.exists():  # an interrupted crop left files but no manifest: start it again
            shutil.rmtree(folder)
        say(f"[2/6] crop: cutting {settings.size} x {settings.size} thoracic crops (paper B §2.1) into {folder}")
        workers = settings.workers or cpu_count()
        crop_dataset(phantom, folder, size=settings.size, workers=max(1, min(workers, settings.patients)),
                     progress=settings.progress)
    if not (folder / "splits.json").is_file():
        if settings.synthetic:
            all_test_splits(folder)
        else:
            split_dataset(folder, test=settings.test_fraction, seed=settings.seed)
    return load_splits(folder)


def train_config(settings: DemoSettings, key: str, crops: Path, run_dir: Path, threads: int | None = None):
    """The :class:`~scintiseg.train.TrainConfig` of one demo network (the same budget for both)."""
    from scintiseg.train.config import TrainConfig  # lazy: start-up time

    name, model_args = DEMO_MODELS[key]
    model_args = dict(model_args)
    if settings.width is not None:
        model_args["width"] = settings.width
    if settings.depth is not None:
        model_args["depth"] = settings.depth
    common = dict(
        out=str(run_dir), model=name, model_args=model_args, input_mode="ant", epochs=settings.epochs,
        batch_size=settings.batch_size, lr=settings.lr, loss="dice_bce", head_prior=settings.head_prior,
        augment=settings.augment, seed=settings.seed, progress=settings.progress,
        threads=training_threads(settings) if threads is None else threads,
    )
    if not settings.synthetic:
        return TrainConfig(data=str(crops), normalisation="percentile", **common)
    # The shipped model's recipe (scripts/train_shipped_model.sh) at the demo's budget; the cohort is not read.
    return TrainConfig(
        synthetic=settings.train_profile, normalisation="robust", pixel_mm=settings.pixel_mm,
        window_size=settings.size, pool_patients=settings.pool_patients, refresh=settings.refresh,
        windows_per_view=settings.windows_per_view, val_patients=settings.val_patients, degrade=True,
        generator_workers=settings.generator_workers, **common,
    )


#: The demo's record of where a network trained (in its run folder; training's own files do not say it).
TRAINING_DEVICE_FILE = "demo-device.json"


def training_device(config) -> dict:
    """The device training runs ``config`` on, as the training loop picks it (``device: auto``: CUDA when present):
    ``{"device": "cpu"}`` or ``{"device": "cuda:0", "name": <the GPU's name>}``."""
    import torch  # lazy: start-up time

    from scintiseg.models.device import select_device  # lazy: start-up time

    device = select_device(None if config.device == "auto" else config.device)
    if device.type != "cuda":
        return {"device": device.type}
    index = device.index if device.index is not None else torch.cuda.current_device()
    return {"device": f"cuda:{index}", "name": torch.cuda.get_device_name(index)}


def read_record(path: Path, what: str) -> dict:
    """The JSON object an earlier run of the demo left in ``path``; a damaged file, or one holding another JSON value,
    is one line naming it (session 66: a traceback before)."""
    return read_json_object(path, what, "delete it or use another --out")


def recorded_device(run_dir: Path) -> dict | None:
    """The device a finished demo run trained on (:data:`TRAINING_DEVICE_FILE`), None when not recorded."""
    path = run_dir / TRAINING_DEVICE_FILE
    return read_record(path, "a record of the training device") if path.is_file() else None


def train_model(settings: DemoSettings, key: str, crops: Path, run_dir: Path, state: DemoState, step: str) -> None:
    """Step 3: train one network (resumes an interrupted run; skipped when finished). The device it trains on is
    written to ``RUN/demo-device.json`` and kept in ``state.runs["device"]`` (a skipped run's is read back)."""
    from scintiseg.train.loop import train  # lazy: start-up time

    summary_path = run_dir / "summary.json"
    if summary_path.is_file():
        summary = read_record(summary_path, "a training run's summary")
        if summary.get("finished") and summary.get("epochs_run") == settings.epochs:
            state.skipped.append(f"train {key}")
            state.runs.setdefault("device", {})[key] = recorded_device(run_dir)
            say(f"[{step}] train {MODEL_TITLES[key]}: finished run in {run_dir} (skipped)")
            return
    config = train_config(settings, key, crops, run_dir, training_threads(settings, state.load_average.get("start")))
    state.runs.setdefault("threads", {})[key] = config.threads
    device = state.runs.setdefault("device", {})[key] = training_device(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(run_dir / TRAINING_DEVICE_FILE, json.dumps(device) + "\n")
    data = (f"{settings.training_patients()} {settings.train_profile} phantom patients made on the fly, "
            f"{settings.size} x {settings.size} windows of the whole body" if settings.synthetic else "thoracic crops")
    say(f"[{step}] train {MODEL_TITLES[key]}: {settings.epochs} epochs on {data} into {run_dir} "
        f"(torch threads: {config.threads or 'default'})")
    train(config, resume=True)


def evaluate_model(run_dir: Path, crops: Path, key: str, state: DemoState) -> dict:
    """Step 4: metrics on the held-out test patients (skipped when ``eval-test/metrics.json`` is up to date)."""
    from scintiseg.train.evaluate import evaluate_run  # lazy: start-up time

    path = run_dir / "eval-test" / "metrics.json"
    checkpoint = run_dir / "checkpoints" / "best.pt"
    if path.is_file() and path.stat().st_mtime >= checkpoint.stat().st_mtime:
        metrics = read_record(path, "an evaluation's metrics")
        if not isinstance(metrics.get("pooled"), dict):
            raise ScintisegError("not an evaluation's metrics (no pooled scores); delete it or use another --out", path=path)
        state.skipped.append(f"evaluate {key}")
        return metrics
    return evaluate_run(run_dir, crops, split="test", overlays=2, device="cpu")


def whole_body_case(phantom: Path, crop_case_id: str) -> Case:
    """The phantom's whole-body case behind a crop case (``meta["parent_case"]``, else the same id)."""
    ids = {case.case_id: case for case in load_manifest(phantom).cases}
    return ids.get(crop_case_id) or ids[crop_case_id.split("_")[0]]


def showcase_case(crops: Path, test_ids: list[str], whole: bool = False) -> str:
    """The test case with the most lesions visible on ANT (ties: the first id): inside the thoracic crop,
    or anywhere in the body when the model sees the ``whole`` view."""

    def visible(case: Case) -> int:
        lesions = case.meta.get("lesions") or []
        return sum(1 for lesion in lesions
                   if (whole or lesion.get("in_crop")) and (lesion.get("visible") or {}).get("ANT"))

    cases = {case.case_id: case for case in load_manifest(crops).cases}
    return max(test_ids, key=lambda case_id: (visible(cases[case_id]) if case_id in cases else -1, -test_ids.index(case_id)))


def predict_one(scan, model, folder: Path) -> tuple:
    """Step 5 for one scan: :func:`scintiseg.predict.predict_scan` with a loaded model, all outputs written."""
    from scintiseg.predict import predict_scan  # lazy: start-up time
    from scintiseg.report.outputs import write_outputs  # lazy: start-up time

    prediction = predict_scan(scan, model)
    report = write_outputs(prediction, folder)
    return prediction, report


def whole_body_detection(predicted: np.ndarray, truth: np.ndarray, coverage: np.ndarray) -> str:
    """'k of n true lesions (in the window) found, f false positive(s)' for the picture's caption."""
    from scintiseg.metrics import lesion_detection  # lazy: start-up time

    result = lesion_detection(predicted & coverage, truth & coverage)
    where = "" if coverage.all() else " in the window"
    return (f"{result['detected']} of {result['lesions']} true lesions{where} found, "
            f"{result['false_positives']} false positive(s)")


def lesion_counts(summary: dict) -> dict:
    """What the report says of a prediction's lesions, from its ``report.json`` summary: ``lesions``, the distinct
    lesions (a lesion seen in both views, an ANT-POST pair, counted once: the SR's "Number of lesions" and
    report.html's "Distinct lesions"), ``lesions_by_view`` and ``pairs``."""
    return {"lesions": int(summary["distinct_lesion_count"]), "lesions_by_view": dict(summary["lesion_count_by_view"]),
            "pairs": int(summary.get("pair_count") or 0)}


def review_with_truth(folder: Path, case: Case, phantom: Path, loaded, out: Path) -> dict:
    """Step 5, the correction a physician makes: a copy of the shipped model's prediction ``folder`` whose LabelMe
    files a "reader" who knows the phantom's truth edits (every shape of the network's, lesion or left-out call,
    replaced by every visible lesion's true outline), written again with ``scintiseg review``'s own function into
    ``OUT/predict/reviewed-<name>``. ``scintiseg review`` tells each true outline against the network's own output
    (edited where it overlaps a call, drawn where it overlaps none) and runs the reading rules again on the network's
    calls; a left-out call no true outline touches is no longer listed, its ``left_out`` shape having been replaced
    (counted ``left_out_dismissed``; session 65: it was listed again), and its rule's QC flag with its last call."""
    from scintiseg.predict.contours import mask_contours  # lazy: start-up time
    from scintiseg.predict.review import review_line  # lazy: start-up time
    from scintiseg.report.review_folder import review_folder  # lazy: start-up time

    edited = folder.with_name(f"reader-{folder.name.removeprefix('shipped-')}")
    reviewed_folder = folder.with_name(f"reviewed-{folder.name.removeprefix('shipped-')}")
    shutil.rmtree(edited, ignore_errors=True)
    shutil.copytree(folder, edited)
    for view, mask_path in case.masks.items():
        labelme = edited / f"{view}.labelme.json"
        if not labelme.is_file():
            continue
        document = json.loads(labelme.read_text(encoding="utf-8"))
        truth = read_mask_png(resolve(phantom, mask_path)).astype(bool)
        document["shapes"] = [{"label": "lesion", "points": contour.points.tolist(), "group_id": None,
                               "description": "", "shape_type": "polygon", "flags": {}}
                              for contour in mask_contours(truth)]
        write_text_atomic(labelme, json.dumps(document))
    written, record, before = review_folder(edited, reviewed_folder, model=loaded)
    summary, was = written["summary"], before["summary"]
    text = (f"A reader corrects the shipped model's outlines in LabelMe (`{relative_link(edited, out)}/`: here one who "
            "knows the phantom's truth replaces every shape in the files, the network's lesions and left-out calls, "
            "with every visible lesion's true outline), then "
            f"`scintiseg review {relative_link(edited, out)} --out {relative_link(reviewed_folder, out)}` writes the "
            f"report again from those outlines: {review_line(record)}. `scintiseg review` tells each outline against "
            "the network's own output, not against the file: a true outline over one of the network's lesions counts "
            "as that lesion edited, one over none as drawn, and only a network lesion no true outline touches as "
            "deleted; the reading rules run again on the network's calls, and a left-out call no true outline "
            "touches is no longer listed, since the reader's files no longer hold its dashed shape (counted as a "
            "left-out call deleted, and a rule's QC flag goes with its last call). "
            f"BSI {was['bsi_percent']:.2f} % -> "
            f"{summary['bsi_percent']:.2f} % (the truth's outlines measured on the learned region map), Soloway "
            f"grade {was['soloway_grade']} -> {summary['soloway_grade']}; report.json's `review` and each lesion's "
            "`origin` say what changed.")
    say(f"      reviewed {case.case_id}: {review_line(record)} -> {reviewed_folder}")
    return {"title": f"Held-out phantom patient {case.case_id}, the shipped model's outlines corrected by a reader",
            "model": "the shipped model, run again by `scintiseg review` on the reader's outlines", "whole": True,
            "folder": str(reviewed_folder), **lesion_counts(summary), "bsi": summary["bsi_percent"],
            "covered": summary["bsi_covered_mass_percent"], "qc_flags": summary["qc_flags"], "review": text,
            "edited": str(edited)}


def later_scan(scan, lesions: int, days: int, shift_mm: tuple[float, float], path: Path) -> int:
    """The real scan (NM1 by default) ``days`` later with ``lesions`` inserted into its counts (:mod:`scintiseg.phantom.hybrid`, one draw of one
    seed: a later scan's first lesions are an earlier one's), the patient ``shift_mm`` (rows, columns) away, written as
    DICOM to ``path``; returns the lesions visible."""
    import datetime as dt  # lazy: start-up time
    from dataclasses import replace  # lazy: start-up time

    from scintiseg.io.dicom import write_dicom  # lazy: start-up time
    from scintiseg.phantom.hybrid import HybridConfig, make_hybrid_case, prepare_source  # lazy: start-up time

    config = HybridConfig(contrast=(3.0, 5.0), size_mm=(15.0, 30.0), lesions_per_case=(lesions, lesions))
    case = make_hybrid_case(prepare_source(scan, config), 1.0, seed=5)
    when = scan.metadata.get("study_date")
    later = ((dt.datetime.strptime(when, "%Y%m%d") + dt.timedelta(days=days)).strftime("%Y%m%d")
             if isinstance(when, str) and len(when) == 8 and when.isdigit() else None)
    shift = (round(shift_mm[0] / scan.pixel_spacing[0]), round(shift_mm[1] / scan.pixel_spacing[1]))
    late = replace(case.scan, views={name: np.roll(view, shift, axis=(0, 1)) for name, view in case.scan.views.items()},
                   patient_id=scan.patient_id, patient_name=scan.patient_name, study_uid="", series_uid="",
                   metadata={"study_date": later} if later else {})
    path.parent.mkdir(parents=True, exist_ok=True)
    write_dicom(late, path)
    return sum(any(lesion["visible"].values()) for lesion in case.lesions)


def follow_up_on_real(real: Path, baseline: Path, loaded, out: Path) -> dict:
    """Step 5, a follow-up read against its baseline: the real scan (NM1 by default) three months later (three lesions inserted into its counts,
    :mod:`scintiseg.phantom.hybrid`, the patient lying 14 mm lower and 5 mm to the side), predicted by the shipped model
    and compared with the shipped model's prediction of the real scan ``baseline`` by ``scintiseg compare``'s own function into
    ``OUT/predict/compare-<name>``; then six months later (the three and two more, the patient 8 mm higher), the three
    scans read together as ``scintiseg compare A B C`` reads them, into ``OUT/predict/series-<name>``."""
    from scintiseg.report.follow_up_batch import compare_series  # lazy: start-up time
    from scintiseg.report.follow_up_folder import compare_folders, summary_line  # lazy: start-up time

    scan = read_scan(real)
    late_file = out / "follow-up" / f"{real.stem}-follow-up.dcm"
    inserted = later_scan(scan, 3, 91, (14.0, 5.0), late_file)
    late_folder = baseline.with_name(f"{baseline.name}-follow-up")
    _, late_report = predict_one(read_scan(late_file), loaded, late_folder)
    compared = baseline.with_name(f"compare-{baseline.name.removeprefix('shipped-')}")
    record = compare_folders(baseline, late_folder, compared, model=loaded)
    third_file = out / "follow-up" / f"{real.stem}-follow-up-2.dcm"
    later_scan(scan, 5, 182, (-8.0, 0.0), third_file)
    third_folder = baseline.with_name(f"{baseline.name}-follow-up-2")
    predict_one(read_scan(third_file), loaded, third_folder)
    series = baseline.with_name(f"series-{baseline.name.removeprefix('shipped-')}")
    rows = compare_series([baseline, late_folder, third_folder], series, model=loaded)
    step, page = rows[0].series, series / (rows[0].series_page or "summary.csv")
    together = ("the first comparison failed: see its summary" if step is None else
                f"{step.new_lesions} new on the second scan, {step.next_new_lesions} further new on the third "
                f"{step.days_to_next or 'some'} days later, {step.seen_again_next} of the second scan's new lesions seen "
                "again; " + ("PCWG3's 2+2 pattern" if step.two_plus_two else "not PCWG3's 2+2 pattern"))
    named = "NM1" if is_nm1(scan) else f"{real.name}"
    text = (f"The same patient three months later (`{relative_link(late_file, out)}`: {named} with {inserted} lesions "
            "inserted into its counts, the patient lying 14 mm lower and 5 mm to the side), predicted by the shipped "
            f"model, then `scintiseg compare {relative_link(baseline, out)} {relative_link(late_folder, out)} --out "
            f"{relative_link(compared, out)}` reads it against the first scan: {summary_line(record)} "
            "(`comparison.html`: the two scans side by side, outlines coloured new, persisting, not seen"
            + ("; `sr.dcm`: the follow-up's DICOM measurements, each persisting lesion carrying the first scan's "
               "tracking UID" if (record.get("dicom") or {}).get("sr") else "")
            + ("; `gsps.dcm`: the follow-up's outlines by status for a PACS viewer"
               if (record.get("dicom") or {}).get("gsps") else "") + "). "
            f"Six months after the first scan (`{relative_link(third_file, out)}`: the three lesions and two more, the "
            f"patient 8 mm higher), `scintiseg compare` with the three folders reads the scans together: {together} "
            f"(`{relative_link(page, out)}`: the BSI over time, a row per scan, each bone's share).")
    say(f"      follow-up of {real.name}: {summary_line(record)} -> {compared}")
    say(f"      three scans of {real.name} read together: {together} -> {page}")
    summary = record["follow_up"]
    return {"title": f"Real scan {real.name} three months later, compared with the first (`scintiseg compare`)",
            "model": "the shipped model on both scans", "whole": True, "folder": str(late_folder),
            **lesion_counts(late_report["summary"]), "bsi": summary["bsi_percent"] or 0.0,
            "covered": summary["bsi_covered_mass_percent"] or 0.0, "qc_flags": record["summary"]["flags"],
            "comparison": text, "compared": str(compared), "inserted": inserted, "series": str(page),
            "two_plus_two": bool(step and step.two_plus_two)}


def is_nm1(scan) -> bool:
    """Whether ``scan`` is NEMA WG04's NM1 (one of the repository's copies, by its study UID)."""
    return scan.study_uid in NM1_STUDY_UIDS


def describe_real_scan(scan) -> str:
    """What the report calls the real scan: NM1's own description when it is NM1, else what the file holds."""
    if is_nm1(scan):
        return "a real GE 99mTc-MDP whole-body bone scan, NEMA WG04 test image NM1, anterior view"
    views = list(scan.views)
    maker = scan.metadata.get("manufacturer")
    made = f", manufacturer {maker}" if isinstance(maker, str) and maker.strip() else ""
    return (f"the scan given with --real{made}: {'view' if len(views) == 1 else 'views'} {', '.join(views)}, "
            f"{scan.shape[0]} x {scan.shape[1]} pixels at {scan.pixel_spacing[0]:.2f} mm")


def real_scan_caption(settings: DemoSettings, scan, prediction, shipped: bool = False) -> str:
    """The caption of the real scan's overlay: what the model saw, and why no finding may be read into it
    (``shipped``: the shipped model's prediction, whose measurements on NM1 docs/robustness.md gives). NM1's own hot
    spots are named only when the scan is NM1 (:func:`is_nm1`)."""
    covered = all(result.coverage.all() for result in prediction.views.values())
    if covered:
        spacing = scan.pixel_spacing[0]
        grid = (f"at {spacing:.2f} mm, the model's own pixel size" if abs(spacing - settings.pixel_mm) < 1e-3 else
                f"resampled from {spacing:.2f} mm to the model's {settings.pixel_mm:g} mm, the probabilities mapped back")
        seen = (f"The model saw the whole view ({grid}), tiled with overlapping {settings.size} x {settings.size} "
                "windows.")
    else:
        seen = "The blue frame is the thoracic window the model saw; nothing outside it is predicted."
    nm1 = is_nm1(scan)
    if shipped:
        own = ("NM1 has hot spots of its own (manubrium, a lumbar focus, a knee), and the shipped model calls its "
               "lumbar focus on most views (docs/robustness.md measures it on 60 NM1 scans with lesions inserted: 0.77 "
               "of them found, about one false positive per view, that focus)." if nm1 else
               "a contour may be a lesion or normal uptake (docs/robustness.md measures the shipped model on the NEMA "
               "NM1 scan with lesions inserted, not on this one).")
        return ("The real scan (inverted grey scale) with the shipped model's contours (red, numbered; the folder's "
                "report.html shows them with the calls a reading rule left out and the region map on demand). The "
                f"model saw the whole view. No ground truth exists for this scan; {own}")
    own = ", and NM1 has hot spots of its own (manubrium, a lumbar focus, a knee)" if nm1 else ""
    return (f"The real scan (inverted grey scale) with the predicted contours (red, numbered). {seen} No ground "
            f"truth exists for this scan{own}; a network trained for a few minutes on phantom patients says nothing "
            "reliable about a real patient (the shipped model's prediction follows).")


def predict_scans(settings: DemoSettings, out: Path, phantom: Path, splits: dict, state: DemoState, figures_dir: Path) -> None:
    """Step 5: a held-out whole-body phantom scan (with its truth) and the real scan, with the demo's DPU-Net and then
    with the shipped model, what ``scintiseg predict`` runs (when the install has one)."""
    from scintiseg.predict import load_model  # lazy: start-up time

    # The checkpoint records the window, its size and (synthetic recipe) the pixel size and "whole" view.
    run_dir = out / "dpunet"
    _predict_with(settings, out, phantom, splits, state, figures_dir, load_model(run_dir, engine="torch", device="cpu"),
                  f"{MODEL_TITLES['dpunet']} from `{run_dir.name}`")
    try:
        shipped = load_model(None, engine="torch", device="cpu")
    except ScintisegError as error:  # an install without the shipped weights
        say(f"      shipped model: skipped: {error}")
        state.predictions["shipped model"] = {"skipped": str(error)}
        return
    _predict_with(settings, out, phantom, splits, state, figures_dir, shipped, None)


def _predict_with(settings: DemoSettings, out: Path, phantom: Path, splits: dict, state: DemoState,
                  figures_dir: Path, loaded, described: str | None) -> None:
    """:func:`predict_scans` with one loaded model, ``described`` for the report (None: the shipped model)."""
    shipped = described is None
    model = described or "the shipped model (what `scintiseg predict` runs by default; docs/robustness.md)"
    tag, suffix = ("shipped-", ", the shipped model") if shipped else ("", "")
    test_ids = sorted(splits.get("test", []))
    if test_ids:
        case = whole_body_case(phantom, showcase_case(out / "crops", test_ids, whole=settings.synthetic))
        scan = read_scan(resolve(phantom, case.image))
        folder = out / "predict" / f"{tag}phantom-{case.case_id}"
        prediction, report = predict_one(scan, loaded, folder)
        view = "ANT" if "ANT" in prediction.views else next(iter(prediction.views))
        result = prediction.views[view]
        truth = read_mask_png(resolve(phantom, case.masks[view])) if view in case.masks else np.zeros(scan.shape, bool)
        figure = figures_dir / f"{tag}phantom_{case.case_id}_{view}.png"
        detected = whole_body_detection(result.mask, truth, result.coverage)
        truth_overlay(scan.view(view), truth, result.mask, result.coverage,
                      f"held-out phantom patient {case.case_id} ({view}){suffix}: {detected}", figure)
        if shipped:
            caption = (f"Whole-body {view} view through the shipped model (both views are in the folder's "
                       f"report.html). Left: the phantom's true lesions (green); right: the prediction (red) over "
                       f"the truth. Whole body: {detected}.")
        elif result.coverage.all():
            caption = (f"Whole-body {view} view; the model saw all of it (overlapping {settings.size} x "
                       f"{settings.size} windows at {settings.pixel_mm:g} mm). Left: the phantom's true lesions "
                       f"(green); right: the prediction (red) over the truth. Whole body: {detected}.")
        else:
            caption = (f"Whole-body {view} view with the thoracic window the model saw (blue); green: the "
                       f"phantom's true lesions, red: the prediction. {detected[0].upper()}{detected[1:]}. Lesions "
                       "outside the window (legs, skull, pelvis) are not predicted: this recipe's networks, "
                       "like both papers', see the thorax only.")
        state.predictions[f"{tag}phantom"] = {
            "title": f"Held-out phantom patient {case.case_id} (test split, never trained on){suffix}",
            "model": model, "whole": shipped or settings.synthetic, "folder": str(folder),
            **lesion_counts(report["summary"]),
            "bsi": prediction.bsi_percent, "covered": prediction.covered_mass_percent,
            "qc_flags": prediction.qc_flags, "truth_figure": str(figure), "caption": caption,
            "window": "whole" if result.coverage.all() else "thoracic",
        }
        say(f"      phantom {case.case_id}{suffix}: {prediction.distinct_lesion_count} distinct lesion(s) predicted "
            f"({view_counts(report['summary']['lesion_count_by_view'])}); {view}: {detected}")
        if shipped:  # a reader corrects the shipped model's outlines and the report is written again
            state.predictions["reviewed phantom"] = review_with_truth(folder, case, phantom, loaded, out)
    real, message = resolve_real_scan(settings.real_scan)
    if real is None:
        say(f"      real scan{suffix}: skipped: {message}")
        state.predictions[f"{tag}real scan"] = {"skipped": message}
        return
    scan = read_scan(real)
    folder = out / "predict" / f"{tag}real-{real.stem}"
    prediction, report = predict_one(scan, loaded, folder)
    overlays = sorted(folder / view["files"]["overlay"] for view in report.get("views", {}).values()
                      if "overlay" in view.get("files", {}))
    state.predictions[f"{tag}real scan"] = {
        "title": f"Real scan: {real.name} ({describe_real_scan(scan)}){suffix}",
        "model": model, "whole": shipped or settings.synthetic, "folder": str(folder),
        **lesion_counts(report["summary"]),
        "bsi": prediction.bsi_percent, "covered": prediction.covered_mass_percent,
        "qc_flags": prediction.qc_flags, "overlays": [str(p) for p in overlays],
        "caption_overlay": real_scan_caption(settings, scan, prediction, shipped),
        "draft": report["summary"].get("findings_text"),  # (session 73: the report's draft in words)
    }
    say(f"      real scan {real.name}{suffix}: {prediction.distinct_lesion_count} distinct lesion(s) predicted "
        f"({view_counts(report['summary']['lesion_count_by_view'])}) -> {folder}")
    if shipped:  # the same patient's follow-up read against this scan
        state.predictions["follow-up real scan"] = follow_up_on_real(real, folder, loaded, out)
