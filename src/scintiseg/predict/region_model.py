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
4. arg-max over the classes, un-mirror, and bring the map back onto the view's own grid by nearest
   neighbour.

The shipped weights (``scintiseg/weights/phantom_regions.pt``) are packaged like the lesion model's
(:mod:`.shipped`); the command that trained them is recorded in the file (``shipped.command``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from scintiseg.errors import ScintisegError
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
        network: the torch module (eval mode, CPU).
        pixel_mm: the network's pixel size; every view is resampled to it.
        normalisation: intensity normalisation of its input.
        classes: class names by id (``other`` first), from the checkpoint.
        info: provenance for the report (source file, epoch, validation Dice, training command).
    """

    network: object
    pixel_mm: float
    normalisation: str
    classes: tuple[str, ...]
    info: dict = field(default_factory=dict)


@lru_cache(maxsize=4)
def load_region_model(path: str | None = None) -> RegionModel:
    """Load a region network checkpoint (None: the shipped one); cached, so a batch loads it once.

    Raises:
        ScintisegError: the file is missing, not a checkpoint, or not a region network.
    """
    from scintiseg.models.checkpoint import load_model_from_checkpoint  # lazy: start-up time (torch)

    source = Path(path) if path is not None else SHIPPED_REGION_WEIGHTS
    if not source.is_file():
        raise ScintisegError("no region network here", path=source)
    from scintiseg.models.inference import prepare_for_inference  # lazy: start-up time (imports torch)

    network, state = load_model_from_checkpoint(source)
    network = prepare_for_inference(network)  # BatchNorm folded, channels-last: 0.23 -> 0.15 CPU-s per scan
    data = state.get("data") or {}
    if data.get("task") != "regions" or not data.get("classes"):
        raise ScintisegError("not a region network (its checkpoint has no task 'regions' with classes)", path=source)
    network.eval()
    shipped = state.get("shipped") or {}
    info = {"source": str(source), "epoch": state.get("epoch"), "val_mean_region_dice": (state.get("best") or {}).get("value"),
            **{k: v for k, v in shipped.items() if k in ("trained_on", "command")}}
    return RegionModel(network, float(data.get("pixel_mm", 4.52)), str(data.get("normalisation", "robust")),
                       tuple(str(c) for c in data["classes"]), info)


def predict_region_labels(model: RegionModel, counts: np.ndarray, view: str,
                          pixel_spacing: tuple[float, float]) -> np.ndarray:
    """The region id of every pixel of one view (ids index ``model.classes``), on the view's own grid."""
    import torch  # lazy: start-up time

    counts = np.asarray(counts, dtype=np.float32)
    scan = Scan({view: counts}, pixel_spacing=tuple(float(s) for s in pixel_spacing))
    scaled = resample_scan(scan, (model.pixel_mm, model.pixel_mm))
    built = model_input(scaled, "ant", model.normalisation, view=view)
    image = built.image[0]
    multiple = 2 ** int(getattr(model.network, "depth", 5))
    rows, cols = image.shape
    padded_rows = -(-(rows + 2 * MARGIN_PX) // multiple) * multiple
    padded_cols = -(-(cols + 2 * MARGIN_PX) // multiple) * multiple
    top, left = (padded_rows - rows) // 2, (padded_cols - cols) // 2
    canvas = np.zeros((padded_rows, padded_cols), dtype=np.float32)
    canvas[top:top + rows, left:left + cols] = image
    with torch.inference_mode():
        batch = torch.from_numpy(canvas)[None, None].contiguous(memory_format=torch.channels_last)
        logits = model.network(batch)
    labels = logits[0].argmax(dim=0).numpy().astype(np.int16)[top:top + rows, left:left + cols]
    on_view = built.to_view(labels, view)
    return resample_labels(on_view, counts.shape)
