"""Write a phantom cohort as a scintiseg data set (``dataset.json`` layout of :mod:`scintiseg.io.dataset`).

For each patient ``PHnnnn``::

    images/PHnnnn.dcm             multi-frame NM DICOM, ANT + POST (POST as acquired)
    labels/PHnnnn_<VIEW>.json     LabelMe, one polygon per lesion component, group_id = lesion id
    masks/PHnnnn_<VIEW>.png       0/1 lesion mask
    regions/PHnnnn_<VIEW>.png     skeleton region ids (``region_names`` in the manifest)
    instances/PHnnnn_<VIEW>.png   lesion id per pixel (0 = none), ids as in ``meta["lesions"]``

plus ``dataset.json`` (written last, so a folder without it is an unfinished run) and
``phantom_config.json`` (the resolved configuration). Patient ``i`` of a cohort gets the seed
``SeedSequence([seed, i])``, so a cohort is reproducible byte for byte and patients can be made in any
order, in parallel.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import Case, DatasetManifest, save_manifest
from scintiseg.io.dicom import write_dicom
from scintiseg.io.images import write_label_png, write_mask_png
from scintiseg.io.labelme import write_labelme
from scintiseg.phantom.config import PhantomConfig, profile
from scintiseg.phantom.patient import PhantomPatient, generate_patient
from scintiseg.phantom.regions import region_names_json
from scintiseg.scan import Annotation, mask_to_shapes

CONFIG_NAME = "phantom_config.json"


def patient_seed(cohort_seed: int, index: int) -> int:
    """The seed of patient ``index`` (0-based) of a cohort."""
    return int(np.random.SeedSequence([int(cohort_seed), int(index)]).generate_state(1, dtype=np.uint32)[0])


def lesion_annotation(patient: PhantomPatient, view: str) -> Annotation:
    """LabelMe shapes for one view: polygons of each *visible* lesion's pixels, ``group_id`` = lesion id."""
    instances = np.where(patient.masks[view], patient.instances[view], 0)
    shapes = []
    for lesion_id in np.unique(instances[instances > 0]):
        for shape in mask_to_shapes(instances == lesion_id, label="lesion"):
            shapes.append(replace(shape, group_id=int(lesion_id)))
    return Annotation(shapes=shapes, image_shape=instances.shape, view=view)


def write_patient(patient: PhantomPatient, out: Path, case_id: str) -> Case:
    """Write one patient's files under ``out`` and return its manifest entry."""
    image = f"images/{case_id}.dcm"
    scan = replace(patient.scan)
    scan.metadata = {**patient.scan.metadata, "patient_sex": {"female": "F", "male": "M"}.get(patient.meta.get("sex"), "")}
    write_dicom(scan, out / image)  # with the patient's sex in its header, as a camera's file has it
    labels, masks, regions, instances = {}, {}, {}, {}
    for view in patient.scan.view_names:
        labels[view] = f"labels/{case_id}_{view}.json"
        masks[view] = f"masks/{case_id}_{view}.png"
        regions[view] = f"regions/{case_id}_{view}.png"
        instances[view] = f"instances/{case_id}_{view}.png"
        annotation = lesion_annotation(patient, view)
        write_labelme(annotation, out / labels[view], image_path=f"../{image}")
        write_mask_png(patient.masks[view], out / masks[view])
        write_label_png(patient.regions[view], out / regions[view])
        write_label_png(patient.instances[view], out / instances[view])
    meta = dict(patient.meta)
    meta["lesions"] = patient.lesions
    meta["instances"] = instances
    return Case(case_id=case_id, patient_id=case_id, image=image, labels=labels, masks=masks, regions=regions,
                synthetic=True, origin="phantom", meta=meta)


def _make_one(job: tuple[int, int, PhantomConfig, str]) -> dict:
    index, seed, config, out = job
    case_id = f"PH{index + 1:04d}"
    patient = generate_patient(patient_seed(seed, index), config, patient_id=case_id)
    return asdict(write_patient(patient, Path(out), case_id))


def write_cohort(
    n: int,
    out: str | Path,
    seed: int = 0,
    config: PhantomConfig | str = "default",
    workers: int | None = None,
    progress: bool = False,
) -> DatasetManifest:
    """Generate ``n`` patients into the data-set folder ``out`` (in parallel) and write ``dataset.json``.

    Args:
        n: number of patients (>= 1).
        out: output folder (created; existing phantom files of the same names are replaced).
        seed: cohort seed; the same seed, config and ``n`` give the same bytes.
        config: a :class:`PhantomConfig` or a profile name.
        workers: processes (default: the CPUs available, at most ``n``); 1 runs in this process.
        progress: show a tqdm bar on stderr.

    Returns:
        The manifest written.
    """
    if n < 1:
        raise ScintisegError(f"--patients must be at least 1, got {n}")
    config = profile(config) if isinstance(config, str) else config
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ScintisegError("output exists and is not a folder", path=out)
    out.mkdir(parents=True, exist_ok=True)
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = max(1, min(n, workers if workers else available))
    jobs = [(i, int(seed), config, str(out)) for i in range(n)]
    bar = tqdm(total=n, desc="phantom", unit="patient", disable=not progress, leave=False)
    cases: list[Case] = []
    try:
        if workers == 1:
            for job in jobs:
                cases.append(Case(**_make_one(job)))
                bar.update()
        else:
            context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                for case in pool.map(_make_one, jobs, chunksize=1):
                    cases.append(Case(**case))
                    bar.update()
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM (scintiseg.cli): the folder is no data set without its manifest
        exc.add_note(f"{len(cases)} of {n} patients written into {out}, no dataset.json (an unfinished run: write it "
                     "again)")
        raise
    finally:
        bar.close()
    manifest = DatasetManifest(
        name=f"scintiseg-phantom-{config.name}-seed{int(seed)}",
        views=["ANT", "POST"],
        pixel_spacing=(config.camera.pixel_mm, config.camera.pixel_mm),
        cases=cases,
        region_names=region_names_json(),
        description=(f"{n} synthetic 99mTc-MDP whole-body bone scans from the scintiseg physics phantom "
                     f"(profile {config.name}, seed {int(seed)}); lesion masks: half of each lesion's peak "
                     "noise-free excess per view; see docs/phantom.md"),
    )
    config.save_json(out / CONFIG_NAME)
    save_manifest(manifest, out)
    return manifest
