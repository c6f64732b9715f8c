"""Write BS-80K-like region crops of NM1 real-background hybrids, labelled per crop, for ``predict --labels``.

    OMP_NUM_THREADS=2 python benchmarks/make_region_crops.py --out runs/crops --cases 80 --negatives 20

The largest public bone-scan set (BS-80K, ../shared/reference/realdata.md) labels *region crops*: polygons cut from
a 1024 x 256 view at its own pixel size, the outside set to 0, 40-95 pixels wide and 94-224 tall, saved as 8-bit
JPEG at a low count level (in-body pixels about 4-7 counts, grey = counts x a per-image gain of about 1.2-3). This
script makes such crops from NM1 hybrids (:func:`scintiseg.phantom.hybrid.make_hybrid_case` on the real NEMA NM1
ANT view; seeds ``--seed`` + k; the first ``--cases`` with 1-3 inserted lesions, centred inside one of the crops,
then ``--negatives`` lesion-free controls; or, with ``--source phantom``, ``--cases`` phantom patients of
``--profile``, default ``low-count``, about BS-80K's count level, their own lesions and region maps) and writes each
crop two ways:

- ``jpeg/<case>_<crop>.jpg``: the BS-80K export, grey = round(counts x gain), gain drawn per crop from
  ``--gain`` (default 1.2-3), clipped at 255, an RGB JPEG of quality 90;
- ``counts/<case>_<crop>.png``: the same crop's counts as a 16-bit PNG (what the export lost, for comparison);

and ``labels.csv`` (``file,label``): ``abnormal`` when at least half of a lesion's visible extent (ANT) lies
inside the crop's polygon, ``normal`` when no pixel of any lesion (visible or not) does, no row otherwise (a crop
that cuts a lesion, or holds only an invisible one: no reader could call it); and ``voc/<case>_<crop>.xml``, the
crop's hot spots as BS-80K boxes them (Pascal VOC, :mod:`scintiseg.io.voc`; for ``predict --boxes``): an
``Abnormal`` box around the part inside the crop of each visible lesion, marked ``difficult`` (not scored) when less
than half of it is inside or when the lesion is not visible; with ``--source phantom`` a ``Normal`` box around each
benign hot spot (:mod:`scintiseg.phantom.lookalikes`: its centre +- half its size and a pixel) whose centre lies in
the crop. NM1's own hot spots are not known, so NM1 crops have no ``Normal`` box and every call on NM1's own
uptake counts as a call in no box.

``--shape rectangle`` writes each polygon's bounding rectangle instead (nothing blanked), ``--shape framing`` one box
of each training framing of :mod:`scintiseg.prepare.degrade` per case (thoracic, half-chests, pelvis, a random box,
a partial field; nothing blanked, so the air beside the body stays air): what a spot view or a rectangular crop is,
to check that what is done for polygon crops (:mod:`scintiseg.predict.crop_level`) leaves them alone.

Choices the source leaves open, stated: the crops are five (patient's right and left half-chest: ribs, clavicle
and scapula of the side; the thoracic and lumbar spine; the pelvis and sacrum; the skull), each the convex hull of
the main parts of the learned region map's classes on the lesion-free NM1 ANT view (:mod:`scintiseg.predict.region_model`;
a phantom patient's own truth region map with ``--source phantom``), grown by 2 pixels; the count level is ``--level`` 0.17 of NM1's (its body median of about 30 counts becomes about 5, BS-80K's
level); lesions are centred inside the crops so that most crop sets hold abnormal crops (BS-80K's chest crops are
about 6 % abnormal: the AUC does not depend on the share).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.morphology import convex_hull_image

from scintiseg.io import read_scan
from scintiseg.io.images import write_png16
from scintiseg.io.voc import VocBox, write_voc
from scintiseg.phantom.hybrid import make_hybrid_case, prepare_source
from scintiseg.phantom.patient import image_point
from scintiseg.prepare.degrade import FRAMINGS, region_box
from scintiseg.predict.region_model import load_region_model, predict_region_maps
from scintiseg.report.box_labels import lesion_boxes
from scintiseg.report.image_labels import write_image_labels

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"
#: Crop name -> the learned region classes whose convex hull it is (patient's sides).
CROPS = {
    "chest_right": ("ribs_right", "clavicle_right", "scapula_right"),
    "chest_left": ("ribs_left", "clavicle_left", "scapula_left"),
    "spine": ("thoracic_spine", "lumbar_spine"),
    "pelvis": ("pelvis", "sacrum"),
    "skull": ("skull",),
}
GROW_PX = 2
JPEG_QUALITY = 90
#: What ``--shape`` cuts (:func:`shaped`).
SHAPES = ("polygon", "rectangle", "framing")


def crop_polygons(scan, view: str = "ANT") -> dict[str, np.ndarray]:
    """Crop name -> bool polygon on ``view``'s grid, from the learned region map (:func:`polygons_of`)."""
    model = load_region_model()
    labels = predict_region_maps(model, scan, [view])[view]
    return polygons_of(labels, {name: model.classes.index(name) for names in CROPS.values() for name in names})


def polygons_of(labels: np.ndarray, ids: dict[str, int]) -> dict[str, np.ndarray]:
    """Crop name -> the convex hull of the main parts of its classes in the region map ``labels`` (class name ->
    id: ``ids``), grown by :data:`GROW_PX`; a crop none of whose classes is in the map is left out."""
    polygons = {}
    for name, classes in CROPS.items():
        members = np.zeros(labels.shape, dtype=bool)
        for one in classes:
            members |= main_parts(labels == ids[one])
        if members.any():
            polygons[name] = ndimage.binary_dilation(convex_hull_image(members), iterations=GROW_PX)
    return polygons


def main_parts(mask: np.ndarray) -> np.ndarray:
    """A class's connected parts of at least a quarter of its largest (the two hip bones), without the stray
    pixels a learned map puts elsewhere (a few "pelvis" pixels in the skull would stretch a hull over the trunk)."""
    parts, count = ndimage.label(mask)
    if count <= 1:
        return mask
    sizes = ndimage.sum(mask, parts, range(1, count + 1))
    return np.isin(parts, 1 + np.flatnonzero(sizes >= 0.25 * sizes.max()))


def crop_label(case, polygon: np.ndarray, view: str = "ANT") -> str | None:
    """``abnormal`` / ``normal`` / None for one crop of one case (module docstring)."""
    instances, visible = case.instances[view], case.masks[view]
    if not (instances[polygon] > 0).any():
        return "normal"
    for lesion_id in np.unique(instances[instances > 0]):
        extent = (instances == lesion_id) & visible
        if extent.any() and (extent & polygon).sum() >= 0.5 * extent.sum():
            return "abnormal"
    return None


def crop_box(polygon: np.ndarray) -> tuple[slice, slice]:
    """The bounding box of a crop's polygon: the crop's rows and columns in the view."""
    rows, cols = np.nonzero(polygon)
    return slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1)


def crop_boxes(case, polygon: np.ndarray, view: str = "ANT", lookalikes=()) -> list[VocBox]:
    """The crop's hot spots as BS-80K boxes them, in the crop's coordinates (module docstring): its lesions'
    (:func:`scintiseg.report.box_labels.lesion_boxes`) and, ``lookalikes`` given as ``(row, col, half size in
    pixels)`` on the view's grid, a ``Normal`` box around each benign hot spot whose centre is in the crop."""
    box = crop_box(polygon)
    inside = polygon[box]
    boxes = lesion_boxes(case.instances[view], case.masks[view], polygon)
    height, width = inside.shape
    for row, col, half in lookalikes:
        r, c = int(round(row)) - box[0].start, int(round(col)) - box[1].start
        if 0 <= r < height and 0 <= c < width and inside[r, c]:
            rows = (max(int(np.floor(r - half)), 0), min(int(np.ceil(r + half)), height - 1))
            cols = (max(int(np.floor(c - half)), 0), min(int(np.ceil(c + half)), width - 1))
            boxes.append(VocBox("Normal", rows, cols))
    return boxes


def lookalike_spots(patient, view: str = "ANT") -> list[tuple[float, float, float]]:
    """``(row, col, half size in pixels + 1)`` of a phantom patient's benign hot spots on ``view``'s stored grid."""
    row_mm, col_mm = patient.scan.pixel_spacing
    cols = patient.scan.shape[1]
    spots = []
    for item in patient.meta.get("lookalikes", []):
        row, col = image_point(item["centre_mm"][0] / row_mm - 0.5, item["centre_mm"][1] / col_mm - 0.5, patient.meta)
        spots.append((row, cols - 1 - col if view == "POST" else col, item["size_mm"] / 2 / min(row_mm, col_mm) + 1))
    return spots


def nm1_cases(scan_path: Path, cases: int, negatives: int, seed: int, level: float):
    """``(case id, ANT counts, truth, polygons)`` of NM1 hybrids: the crops' polygons from the learned region map of
    the lesion-free scan, lesions centred inside them; the first ``cases`` with lesions, then ``negatives`` without."""
    scan = read_scan(scan_path)
    polygons = crop_polygons(scan)
    source = prepare_source(scan, within=np.logical_or.reduce(list(polygons.values())))
    for k in range(cases + negatives):
        case = make_hybrid_case(source, level, seed + k, negative=k >= cases)
        yield case.case_id, case.scan.view("ANT"), case, polygons, ()


def phantom_cases(profile_name: str, patients: int, seed: int):
    """``(case id, ANT counts, truth, polygons)`` of phantom patients ``seed``.. of a profile: the crops' polygons from
    each patient's own truth region map, the truth (``instances``/``masks``, as :func:`crop_label` reads them) its."""
    from scintiseg.phantom.config import profile  # lazy: only for --source phantom
    from scintiseg.phantom.patient import generate_patient  # lazy: only for --source phantom
    from scintiseg.phantom.regions import REGION_IDS  # lazy: only for --source phantom

    for k in range(patients):
        patient = generate_patient(seed + k, profile(profile_name))
        yield (f"{profile_name}_s{seed + k}", patient.scan.view("ANT"), patient,
               polygons_of(patient.regions["ANT"], REGION_IDS), lookalike_spots(patient))


def shaped(polygons: dict[str, np.ndarray], shape: str, counts: np.ndarray, pixel: tuple[float, float],
           rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The crops of one case in ``shape`` (:data:`SHAPES`), each a bool mask on the view's grid: the polygons, their
    bounding rectangles, or one box of each training framing (:func:`scintiseg.prepare.degrade.region_box`, drawn with
    ``rng``; a framing the view's anatomy does not give is left out)."""
    if shape == "polygon":
        return polygons
    masks = {}
    boxes = ({name: crop_box(polygon) for name, polygon in polygons.items()} if shape == "rectangle" else {})
    for kind, _share in FRAMINGS if shape == "framing" else ():
        found = None if kind == "whole" else region_box(kind, counts, pixel, rng)
        if found is not None:
            top, left, height, width = found
            boxes[kind] = (slice(top, top + height), slice(left, left + width))
    for name, box in boxes.items():
        masks[name] = np.zeros(np.shape(counts), dtype=bool)
        masks[name][box] = True
    return masks


def write_crop(counts: np.ndarray, polygon: np.ndarray, gain: float, stem: str, out: Path) -> None:
    """The crop's bounding box with the outside of its polygon set to 0, as 8-bit JPEG (x ``gain``) and 16-bit PNG."""
    box = crop_box(polygon)
    cut = np.where(polygon[box], counts[box], 0).astype(np.float64)
    grey = np.clip(np.rint(cut * gain), 0, 255).astype(np.uint8)
    Image.fromarray(grey).convert("RGB").save(out / "jpeg" / f"{stem}.jpg", quality=JPEG_QUALITY)
    write_png16(cut, out / "counts" / f"{stem}.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--cases", type=int, default=80)
    parser.add_argument("--negatives", type=int, default=20)
    parser.add_argument("--seed", type=int, default=61_000)
    parser.add_argument("--level", type=float, default=0.17)
    parser.add_argument("--gain", type=float, nargs=2, default=(1.2, 3.0), metavar=("LOW", "HIGH"))
    parser.add_argument("--scan", type=Path, default=REAL)
    parser.add_argument("--source", choices=("nm1", "phantom"), default="nm1",
                        help="NM1 hybrids (default) or phantom patients of --profile (--cases of them, seeds --seed..)")
    parser.add_argument("--profile", default="low-count", help="phantom profile (default low-count: BS-80K's level)")
    parser.add_argument("--shape", choices=SHAPES, default="polygon",
                        help="polygon crops, outside blanked (default; BS-80K's); their bounding rectangles; or the "
                             "training framings of scintiseg.prepare.degrade (nothing blanked: air stays air)")
    args = parser.parse_args(argv)
    for folder in ("jpeg", "counts", "voc"):
        (args.out / folder).mkdir(parents=True, exist_ok=True)
    if args.source == "nm1":
        cases = nm1_cases(args.scan, args.cases, args.negatives, args.seed, args.level)
    else:
        cases = phantom_cases(args.profile, args.cases, args.seed)
    rng = np.random.default_rng(args.seed)
    labels, written = {}, 0
    for case_id, counts, truth, polygons, lookalikes in cases:
        polygons = shaped(polygons, args.shape, counts, truth.scan.pixel_spacing, rng)
        for name, polygon in polygons.items():
            stem = f"{case_id}_{name}"
            write_crop(counts, polygon, float(rng.uniform(*args.gain)), stem, args.out)
            rows, cols = crop_box(polygon)
            write_voc(args.out / "voc" / f"{stem}.xml", f"{stem}.jpg", (rows.stop - rows.start, cols.stop - cols.start),
                      crop_boxes(truth, polygon, lookalikes=lookalikes))
            written += 1
            label = crop_label(truth, polygon)
            if label is not None:
                labels[stem] = label == "abnormal"
    abnormal = write_image_labels(args.out / "labels.csv", labels)
    print(f"{written} crops written two ways (with their boxes) to {args.out}; {abnormal} abnormal, {len(labels) - abnormal} normal labelled")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
