"""The learned skeleton-region map (issue 15): a network that names the bone under every pixel of a view.

Clinical tools (EXINI aBSI, BONENAVI; landscape.md) segment the skeleton before they score hotspots. The
proportional atlas of :mod:`.regions` assumes an adult, supine, arms at the sides and the whole body in
view; this network learned the region maps of the domain-randomised phantom instead (arms raised, head
tilted, scoliosis, another matrix, crops, 8-bit exports; :mod:`scintiseg.train.synthetic`, ``task=regions``),
so it also names bones on a crop or a bent patient.

The network: a U-Net (width 8, depth 5, 27 classes: ``other`` + the phantom's 26 regions) at 4.52 mm, the
whole view at once (no windows: at 4.52 mm a 2.3 m view is 512 rows, and the region of a bone depends on
where it lies in the body). Steps, for one view (:func:`predict_region_labels`):

1. resample the counts to the network's pixel size (area-weighted, counts conserved);
2. build the input with the builder training used (:func:`scintiseg.prepare.model_input.model_input`,
   the network's normalisation, POST mirrored into ANT's orientation: the patient's right is on the image
   left for both views, which is what lets the network name sides);
3. pad with zeros to a multiple of ``2**depth`` plus :data:`MARGIN_PX` on every side (training windows
   had zero borders too);
4. arg-max over the classes (:func:`class_argmax`: one pass per class, not ``np.argmax`` over the class
   axis, which strides across 27 planes: 11 vs 28 ms for the two views of a 1024-row scan, this machine);
5. a stray piece of a bone of a few pixels that lies against another bone takes that bone's name
   (:func:`absorb_islands`: two or three pixels named humerus at the skull's vertex kept step 6 from
   seeing a misnamed forearm there on NM1 with a skull lesion inserted);
6. a forearm or hand piece that lies against the skull and touches no arm bone is called skull
   (:func:`absorb_detached_limbs`: an arm ends at its forearm and hand; on NM1 the skull's vertex was
   named right forearm, where raised arms lie in training);
7. a gap of a few rows the network leaves between two spine segments (T12/L1) is given back to the spine
   (:func:`close_spine_gaps`);
8. un-mirror, and bring the map back onto the view's own grid by nearest neighbour.

The network runs through the same engines as the lesion network (:mod:`.engines`): ``torch`` (BatchNorm
folded into a copy, channels-last memory, ``torch.inference_mode``) or ``onnx`` (exported in memory at
load, :func:`.export.onnx_bytes`, run by ONNX Runtime), chosen by ``load_region_model(engine=...)``. The
views of one scan go through one call (:func:`predict_region_maps`: resampled together, one batch):
they have the same matrix, so one padded canvas fits both. Speed, measured in docs/benchmarks.md
("Whole body, both views"): on a loaded machine ONNX Runtime runs this small network two to four times
faster than PyTorch, and one batch of two views is cheaper than two calls. The maps are the same (logits
differ by float noise, about 5e-5, between engines and batchings; tests/predict/test_region_model.py
checks equal maps).

The shipped weights (``scintiseg/weights/phantom_regions.pt``) are packaged like the lesion model's
(:mod:`.shipped`); the command that trained them is recorded in the file (``shipped.command``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import ndimage
from skimage.measure import label as connected_pieces

from scintiseg.errors import ScintisegError
from scintiseg.formats import InputContract
from scintiseg.predict.engines import ENGINES, Engine, OnnxEngine, TorchEngine
from scintiseg.predict.export import onnx_bytes
from scintiseg.prepare.model_input import model_input
from scintiseg.prepare.resample import resample_labels, resample_scan
from scintiseg.scan import Scan

#: The shipped region network inside the package.
SHIPPED_REGION_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "phantom_regions.pt"
#: Zero pixels added around the view before the network (at its pixel size).
MARGIN_PX = 16


@dataclass
class RegionModel:
    """A loaded region network and the data configuration it was trained with.

    Attributes:
        network: the torch module as trained (eval mode, CPU; for export and inspection).
        pixel_mm: the network's pixel size; every view is resampled to it.
        normalisation: intensity normalisation of its input.
        classes: class names by id (``other`` first), from the checkpoint.
        info: provenance for the report (source file, epoch, validation Dice, training command).
        engine: what runs the network (:mod:`.engines`): numpy ``(B, 1, H, W)`` in, class logits
            ``(B, classes, H, W)`` out; None: a torch engine made on first use.
    """

    network: object
    pixel_mm: float
    normalisation: str
    classes: tuple[str, ...]
    info: dict = field(default_factory=dict)
    engine: Engine | None = None

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Class logits of a float32 batch, through :attr:`engine`."""
        if self.engine is None:
            self.engine = TorchEngine(self.network)
        return self.engine(batch)


@lru_cache(maxsize=4)
def load_region_model(path: str | None = None, engine: str = "torch") -> RegionModel:
    """Load a region network checkpoint (None: the shipped one) to run with ``engine``; cached, so a batch
    loads it once.

    Args:
        path: a region-network checkpoint; None for the shipped one.
        engine: ``torch`` or ``onnx`` (:data:`.engines.ENGINES`; the module docstring).

    Raises:
        ScintisegError: the file is missing, not a checkpoint, or not a region network; an unknown engine.
    """
    from scintiseg.models.checkpoint import load_model_from_checkpoint  # lazy: start-up time (torch)

    if engine not in ENGINES:
        raise ScintisegError(f"unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
    source = Path(path) if path is not None else SHIPPED_REGION_WEIGHTS
    if not source.is_file():
        raise ScintisegError("no region network here", path=source)
    network, state = load_model_from_checkpoint(source)
    # the region network's defaults where its record is silent: robust inputs at 4.52 mm (formats.TASK_DEFAULTS)
    data = InputContract.from_state(state, source)
    if data.task != "regions" or not data.classes:
        raise ScintisegError("not a region network (its checkpoint has no task 'regions' with classes)", path=source)
    network.eval()
    # torch: BatchNorm folded into a copy, channels-last (0.23 -> 0.15 CPU-s per scan); onnx: exported in memory.
    runner = TorchEngine(network) if engine == "torch" else OnnxEngine(onnx_bytes(network, 1, _multiple(network)))
    shipped = state.get("shipped") or {}
    info = {"source": str(source), "epoch": state.get("epoch"), "val_mean_region_dice": (state.get("best") or {}).get("value"),
            **{k: v for k, v in shipped.items() if k in ("trained_on", "command")}}
    return RegionModel(network, data.pixel_mm, data.normalisation, data.classes, info, runner)


def _multiple(network) -> int:
    """The side every input must be a multiple of: ``2**depth`` of the U-Net."""
    return 2 ** int(getattr(network, "depth", 5))


def class_argmax(scores: np.ndarray) -> np.ndarray:
    """``np.argmax(scores, axis=1)`` as int16 for ``(N, K, H, W)`` scores, one pass per class (module
    docstring, step 4); ties go to the first class, as ``np.argmax``'s do."""
    scores = np.asarray(scores)
    best = np.array(scores[:, 0], dtype=scores.dtype)
    labels = np.zeros(best.shape, dtype=np.int16)
    for k in range(1, scores.shape[1]):
        better = scores[:, k] > best
        np.maximum(best, scores[:, k], out=best)
        np.copyto(labels, np.int16(k), where=better)
    return labels


#: The largest stray piece (pixels of the region network's grid, 4.52 mm: 12 px = 245 mm^2, a disc of 18 mm)
#: that takes the name of the bone it lies against (:func:`absorb_islands`). [Choice: the stray pieces seen on NM1
#: and its hybrids hold 1-10 px; a clavicle, the smallest bone the map names, had a largest piece of 24 px or more
#: on the views of six randomised phantom patients and NM1.]
ISLAND_PX = 12


def absorb_islands(labels: np.ndarray, classes: tuple[str, ...] | list[str]) -> np.ndarray:
    """``labels`` with every piece of a bone smaller than :data:`ISLAND_PX` that borders another bone given the
    name most of its bone neighbours carry.

    The network leaves stray pieces of a few pixels of one bone inside or beside another (on NM1's ANT view, 1-7 px
    of the skull, sternum, a scapula, the pelvis, a tibia and others). Most are harmless, but one decides a rule:
    with a hot skull lesion inserted into NM1 (``bench_misses.py --probe-regions skull``), the network named the
    vertex right forearm as it did on NM1 itself, and also two or three pixels beside it right humerus; the forearm
    piece then "touched an arm bone" and kept its name in :func:`absorb_detached_limbs`, and the distal-arm reading
    rule (:mod:`.distal_arm`) left out skull lesions of probability 0.99-1 and 3.7-5.1 times their surroundings.
    Pieces are 8-connected runs of one name (one labelling pass, :func:`skimage.measure.label`); a piece's
    neighbours are the pixels one step around it. Only a bone whose largest piece is not small has stray pieces (a
    bone seen only in small pieces, a hand at the field's edge, keeps its name), and ``other`` (no bone) is not a
    name a piece takes, so a stray piece alone in soft tissue keeps its own (the distal-arm rule ignores those of
    under 400 mm^2). Pieces are renamed in raster order, each seeing the renaming before it. Returns a new array
    when anything changes, else ``labels`` itself.
    """
    names = list(classes)
    none = names.index("other") if "other" in names else 0
    pieces, count = connected_pieces(labels, background=none, connectivity=2, return_num=True)
    if count < 2:
        return labels
    sizes = np.bincount(pieces.ravel(), minlength=count + 1)
    names_of = np.zeros(count + 1, dtype=labels.dtype)
    names_of[pieces.ravel()] = labels.ravel()
    largest = np.zeros(max(len(names), int(names_of.max()) + 1), dtype=np.int64)
    np.maximum.at(largest, names_of[1:].astype(np.int64), sizes[1:])
    small = [index for index in np.flatnonzero(sizes < ISLAND_PX) if index and largest[names_of[index]] >= ISLAND_PX]
    if not small:
        return labels
    grow = ndimage.generate_binary_structure(2, 2)
    boxes = ndimage.find_objects(pieces)
    out = labels.copy()
    changed = False
    for index in small:
        box = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in boxes[index - 1])
        piece = pieces[box] == index
        neighbours = out[box][ndimage.binary_dilation(piece, grow) & ~piece]
        neighbours = neighbours[(neighbours != none) & (neighbours != names_of[index])]
        if neighbours.size:
            values, counts = np.unique(neighbours, return_counts=True)
            out[box][piece] = values[np.argmax(counts)]
            changed = True
    return out if changed else labels


#: Regions at the free end of an arm, and every arm region (a piece of the first must touch the second).
ARM_ENDS: tuple[str, ...] = ("forearm_left", "forearm_right", "hand_left", "hand_right")
ARM: tuple[str, ...] = ("humerus_left", "humerus_right", *ARM_ENDS)
#: How far (pixels of the region network's grid, 4.52 mm) a piece's neighbours are looked for.
NEIGHBOUR_PX = 2


def absorb_detached_limbs(labels: np.ndarray, classes: tuple[str, ...] | list[str]) -> np.ndarray:
    """``labels`` with every forearm or hand piece that borders the skull and no arm bone relabelled skull.

    An arm is a chain (humerus, forearm, hand); a piece of its free end that touches none of the chain but
    lies against the skull is the skull misnamed. The network learned the arms-raised pose of the
    randomised phantom, where forearms and hands lie beside and above the head, and called the vertex of
    NM1's skull "right forearm" (docs/predict.md, "Skeleton regions"). Pieces are 8-connected; a piece's
    neighbours are the pixels within :data:`NEIGHBOUR_PX` of it (9 mm: a faint wrist or elbow can leave a
    gap of a pixel or two between a hand and its forearm). A raised hand over the head keeps its name when
    it touches its forearm; a piece alone in soft tissue (an injection site at the wrist, a finger) keeps
    it too, since it does not lie against the skull. Measured on held-out phantoms (docs/predict.md).
    Returns a new array when anything changes, else ``labels`` itself.
    """
    names = list(classes)
    if "skull" not in names:
        return labels
    ends = [names.index(n) for n in ARM_ENDS if n in names]
    arm = [names.index(n) for n in ARM if n in names]
    skull = names.index("skull")
    end = np.isin(labels, ends)
    if not end.any():
        return labels
    grow = ndimage.generate_binary_structure(2, 2)
    # pieces closer than NEIGHBOUR_PX to each other are one piece (else each would see the other as its arm)
    groups, _ = ndimage.label(ndimage.binary_dilation(end, grow, iterations=NEIGHBOUR_PX), structure=grow)
    out = labels
    for index, box in enumerate(ndimage.find_objects(groups), start=1):
        piece = (groups[box] == index) & end[box]
        around = (groups[box] == index) & ~piece  # within NEIGHBOUR_PX of the piece (the box holds the dilation)
        neighbours = labels[box][around]
        if np.any(neighbours == skull) and not np.any(np.isin(neighbours, arm)):
            if out is labels:
                out = labels.copy()
            out[box][piece] = skull
    return out


#: The spine's segments from the head down: consecutive ones meet (the column is continuous).
SPINE_SEGMENTS: tuple[str, ...] = ("cervical_spine", "thoracic_spine", "lumbar_spine", "sacrum")
#: Labels a gap in the column may hold and lose to the spine: the ribs beside it, soft tissue.
GAP_FILLERS: tuple[str, ...] = ("ribs_left", "ribs_right", "other")
#: The longest gap (pixels of the region network's grid, 4.52 mm) closed between two segments.
MAX_SPINE_GAP_PX = 4


def close_spine_gaps(labels: np.ndarray, classes: tuple[str, ...] | list[str]) -> np.ndarray:
    """``labels`` with the rows between two consecutive spine segments given back to the spine, column by column.

    The network leaves one or two of its rows (4.5-9 mm) between the thoracic and the lumbar spine, named ribs,
    where the phantom's truth has none (docs/predict.md, "Skeleton regions"). The vertebra there (T12 or L1) was
    then named a rib, and a call on it escaped the spine's reading rule (:mod:`.spine_pattern`): on the
    independent phantom's posterior views, 11 of 40 patients had such a call. So in every column that holds two
    consecutive segments (:data:`SPINE_SEGMENTS`) at most :data:`MAX_SPINE_GAP_PX` rows apart, the pixels between
    them that hold a rib or soft tissue (:data:`GAP_FILLERS`) are given to the nearer segment (the upper half to the
    upper one). Column by column, since the two ends are ragged (a narrow thoracic column over a wide lumbar top, a
    stray lumbar pixel beside T12). Another bone there (a hand over the spine) keeps its name, and a longer gap (a
    hand over the lumbosacral junction, 22-36 mm) is left. Returns a new array when anything changes, else
    ``labels`` itself.
    """
    names = list(classes)
    if not all(name in names for name in SPINE_SEGMENTS):
        return labels
    fillers = np.isin(labels, [names.index(name) for name in GAP_FILLERS if name in names])
    segments = [names.index(name) for name in SPINE_SEGMENTS]
    rows = np.arange(labels.shape[0])
    out = labels
    for upper, lower in zip(segments, segments[1:]):
        above, below = labels == upper, labels == lower
        for col in np.flatnonzero(above.any(axis=0) & below.any(axis=0)):
            last = int(rows[above[:, col]].max())
            under = rows[below[:, col] & (rows > last)]
            if not under.size or not 1 < int(under[0]) - last <= MAX_SPINE_GAP_PX + 1:
                continue
            first = int(under[0])
            gap = np.arange(last + 1, first)
            free = gap[fillers[gap, col]]
            if not free.size:
                continue
            if out is labels:
                out = labels.copy()
            out[free, col] = np.where(free <= (last + first) / 2.0, upper, lower)
    return out


def predict_region_maps(model: RegionModel, scan: Scan, views: list[str] | None = None) -> dict[str, np.ndarray]:
    """The region id of every pixel of each of ``views`` (default: all of ``scan``), on the scan's own grid.

    Ids index ``model.classes``. The views are resampled together and run as one batch (module docstring).

    Example::

        maps = predict_region_maps(load_region_model(), scan)
        model.classes[maps["POST"][500, 128]]   # e.g. "pelvis"
    """
    views = list(scan.view_names if views is None else views)
    if not views:
        return {}
    own = Scan({view: np.asarray(scan.view(view), dtype=np.float32) for view in views},
               pixel_spacing=tuple(float(s) for s in scan.pixel_spacing))
    scaled = resample_scan(own, (model.pixel_mm, model.pixel_mm))
    built = [model_input(scaled, "ant", model.normalisation, view=view) for view in views]
    multiple = _multiple(model.network)
    rows, cols = scaled.shape
    padded_rows = -(-(rows + 2 * MARGIN_PX) // multiple) * multiple
    padded_cols = -(-(cols + 2 * MARGIN_PX) // multiple) * multiple
    top, left = (padded_rows - rows) // 2, (padded_cols - cols) // 2
    canvas = np.zeros((len(views), 1, padded_rows, padded_cols), dtype=np.float32)
    for index, one in enumerate(built):
        canvas[index, 0, top:top + rows, left:left + cols] = one.image[0]
    logits = model.run(canvas)[:, :, top:top + rows, left:left + cols]
    labels = class_argmax(logits)
    labels = np.stack([close_spine_gaps(absorb_detached_limbs(absorb_islands(one, model.classes), model.classes),
                                        model.classes) for one in labels])
    return {view: resample_labels(one.to_view(labels[index], view), own.shape) for index, (view, one) in enumerate(zip(views, built))}


def predict_region_labels(model: RegionModel, counts: np.ndarray, view: str,
                          pixel_spacing: tuple[float, float]) -> np.ndarray:
    """The region id of every pixel of one view (ids index ``model.classes``), on the view's own grid."""
    scan = Scan({view: np.asarray(counts, dtype=np.float32)}, pixel_spacing=tuple(float(s) for s in pixel_spacing))
    return predict_region_maps(model, scan, [view])[view]
