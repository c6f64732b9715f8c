"""Offline geometric expansion of a data set, the way paper B built D2 from D1 (``scintiseg dataset augment``).

Paper B (§3.2.1) grew 112 thoracic images to 2,280 samples by flips, rotations and translations. Here
``factor = F`` makes a data set of ``F`` times as many cases: every original case is copied unchanged and
``F - 1`` transformed copies are added (``<case>_aug01``, ...). Transforms are drawn by
:func:`scintiseg.prepare.augment.sample_params` from a generator seeded by ``(seed, case index)``, so a
run is repeatable and one case's copies do not depend on the others.

Each copy moves the image (linear resampling, counts rounded back to integers, since files hold counts)
and everything drawn on it (masks, region and instance maps: nearest pixel; LabelMe polygons: rasterised,
moved, traced again) with the same transform. POST, stored as acquired, gets the mirror-conjugate
transform so it stays mirrored relative to ANT. Copies keep the patient id (splits stay patient-level),
and are marked ``origin="augment"``, ``synthetic=True``, ``meta["parent_case"]`` and
``meta["augment"]`` (the ANT-frame transform); a parent's ``meta["crop"]`` box is dropped from the
copies, as it no longer maps them onto the whole body; lesion ``bbox`` es are recomputed from the moved
instance maps when the case has them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import MANIFEST_NAME, READ_RECORD_KEYS, DatasetManifest, load_manifest, save_manifest
from scintiseg.io.patient_sides import mirrored_letters, turned_letters, with_letters_moved
from scintiseg.prepare.augment import GeometricParams, apply_geometric, sample_params
from scintiseg.prepare.case_arrays import (
    CaseArrays,
    annotation_through,
    case_entry_with,
    lesion_boxes,
    load_case_arrays,
    write_case_arrays,
)


def _view_params(params: GeometricParams, view: str) -> GeometricParams:
    return params.mirrored() if view == "POST" else params


def _flipped_letters(letters: str, params: GeometricParams) -> str | None:
    if params.hflip:
        letters = mirrored_letters(letters)
    if params.vflip:  # the rows reversed: a half turn of the mirrored view
        letters = turned_letters(mirrored_letters(letters), 2)
    return letters


def augment_case_arrays(arrays: CaseArrays, params: GeometricParams) -> CaseArrays:
    """Apply one transform (ANT frame) to a case's views and everything drawn on them."""
    views = {}
    for view, image in arrays.scan.views.items():
        moved = apply_geometric(image, _view_params(params, view), order=1)
        counts = np.rint(np.clip(moved, 0, None))
        views[view] = counts.astype(image.dtype if image.dtype.kind in "ui" else np.uint16)
    shape = arrays.scan.shape
    scan = arrays.scan.with_views(views)
    # The views' patient directions (a DICOM source's, a phantom's) follow a flip, as the region maps do; the small
    # turns and shifts leave them.
    scan.metadata = with_letters_moved(scan.metadata, lambda letters: _flipped_letters(letters, params))
    return CaseArrays(
        scan=scan,
        annotations={
            v: annotation_through(a, lambda m, p=_view_params(params, v): apply_geometric(m, p, order=0), shape)
            for v, a in arrays.annotations.items()
        },
        masks={v: apply_geometric(m, _view_params(params, v), order=0) for v, m in arrays.masks.items()},
        label_maps={
            name: {v: apply_geometric(m, _view_params(params, v), order=0) for v, m in maps.items()}
            for name, maps in arrays.label_maps.items()
        },
    )


#: The ranges :func:`augment_dataset` takes, each with its bounds (inclusive): probabilities, degrees, a fraction.
RANGE_BOUNDS = {"hflip_prob": (0.0, 1.0), "vflip_prob": (0.0, 1.0), "max_angle": (0.0, 180.0), "max_shift": (0.0, 0.5)}


def check_ranges(ranges: dict) -> None:
    """A :class:`ScintisegError` naming the flag of the first range that is unknown, not a number or out of its
    :data:`RANGE_BOUNDS` (NaN is out of every one: before session 52 ``--max-angle nan`` ended in NumPy's
    ``OverflowError`` and ``--hflip-prob 2`` flipped every copy)."""
    for name, value in ranges.items():
        if name not in RANGE_BOUNDS:
            raise ScintisegError(f"unknown augmentation range {name!r} (one of {', '.join(RANGE_BOUNDS)})")
        low, high = RANGE_BOUNDS[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ScintisegError(f"--{name.replace('_', '-')} must lie in [{low:g}, {high:g}], got {value!r}")


def augment_dataset(
    src: str | Path,
    out: str | Path,
    *,
    factor: int = 20,
    seed: int = 0,
    progress: bool = True,
    **ranges,
) -> DatasetManifest:
    """Write ``src`` expanded ``factor`` times by geometric augmentation into ``out`` (module docstring).

    Args:
        src: data-set folder.
        out: new folder; must not already hold a data set.
        factor: cases in the output per input case (the original plus ``factor - 1`` copies).
        seed: seed of the transform draws.
        progress: tqdm bar on stderr.
        **ranges: ``hflip_prob``, ``vflip_prob``, ``max_angle``, ``max_shift`` of :func:`sample_params`.

    Returns:
        The new manifest (already saved).
    """
    src, out = Path(src), Path(out)
    if factor < 1:
        raise ScintisegError(f"--factor must be at least 1, got {factor}")
    check_ranges(ranges)
    manifest = load_manifest(src)
    if (out / MANIFEST_NAME).exists():
        raise ScintisegError("output folder already holds a data set; choose a new folder", path=out)
    if out.resolve() == src.resolve():
        raise ScintisegError("output folder is the input data set", path=out)
    cases = []
    digits = max(2, len(str(factor - 1)))
    for index, case in enumerate(tqdm(manifest.cases, desc="augment", unit="case", disable=not progress)):
        arrays = load_case_arrays(src, case)
        paths = write_case_arrays(arrays, out, case.case_id)
        cases.append(case_entry_with(case, paths))
        rng = np.random.default_rng([seed, index])
        for k in range(1, factor):
            params = sample_params(rng, arrays.scan.shape, **ranges)
            case_id = f"{case.case_id}_aug{k:0{digits}d}"
            moved = augment_case_arrays(arrays, params)
            paths = write_case_arrays(moved, out, case_id)
            # A moved image is no longer the parent's crop box of the whole body: drop the box.
            # ... nor does the source file map onto it as it did (READ_RECORD_KEYS).
            meta = {k: v for k, v in case.meta.items() if k not in ("crop", "crop_whole_shape", *READ_RECORD_KEYS)}
            meta["parent_case"] = case.case_id
            meta["augment"] = params.to_json()
            lesions = lesion_boxes(meta, moved.label_maps.get("instances"))
            if lesions is not None:
                meta["lesions"] = lesions
            cases.append(case_entry_with(case, paths, case_id=case_id, origin="augment", synthetic=True, meta=meta))
    new = manifest.derived(f"aug{factor}", f"Geometric augmentation x{factor} (scintiseg dataset augment, seed {seed}).", cases)
    save_manifest(new, out)
    return new
