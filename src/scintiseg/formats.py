"""Version tags of the files scintiseg writes for itself: checkpoints, ONNX sidecars and the GAN's run files.

Each such file records ``format`` (which of them it is), ``version`` (its *format* version) and
``scintiseg_version`` (the package that wrote it); the format names, each defined beside its writer and reader:

- ``scintiseg-checkpoint``: a network's checkpoint (:data:`scintiseg.models.checkpoint.FORMAT`);
- ``scintiseg-onnx``: an exported ONNX model's sidecar (:data:`scintiseg.predict.export.SIDECAR_FORMAT`);
- ``scintiseg-gan``: a GAN run's ``last.pt`` and ``generator.pt`` (:data:`scintiseg.gan.train.FORMAT`).

A reader reads every format version up to the one it writes and refuses a newer or a
malformed one with one line naming both versions and the writer, so a model from another install says
what differs instead of failing later inside torch or ONNX Runtime. Files written before
``scintiseg_version`` existed load unchanged; those written before their ``version`` (sidecars) or before any tag
(the GAN's files before session 65) are read as version 1.

A checkpoint and a sidecar also say what their network learned from besides phantoms (:func:`provenance`): a
checkpoint in its ``data`` block, a sidecar in its ``shipped`` record.

They say what input their network reads in the same ``data`` record: :class:`InputContract` is its one reader.
It lives here, not in :mod:`scintiseg.models.checkpoint`, because reading an ONNX model's sidecar must not import
torch (the ONNX engine runs without it; importing anything of :mod:`scintiseg.models` loads torch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

from scintiseg import __version__
from scintiseg.errors import ScintisegError


def made_by(tags: Mapping[str, Any]) -> str:
    """``"; made by scintiseg X"`` when the file records its writer, else ``""``."""
    writer = tags.get("scintiseg_version") if isinstance(tags, Mapping) else None
    return f"; made by scintiseg {writer}" if isinstance(writer, str) else ""


def check_format_version(kind: str, version: Any, supported: int, tags: Mapping[str, Any], path: str | Path) -> int:
    """``version`` if this scintiseg reads format ``version`` of ``kind`` files (1..``supported``).

    Raises:
        ScintisegError: a version that is not a positive integer, or one newer than ``supported``.
    """
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ScintisegError(f"{kind} format version {version!r} is not one scintiseg writes{made_by(tags)}", path=path)
    if version > supported:
        raise ScintisegError(
            f"{kind} format {version} is newer than this scintiseg ({__version__}) reads ({supported})"
            f"{made_by(tags)}; upgrade scintiseg to load it",
            path=path,
        )
    return version


def provenance(blocks: Iterable[Any]) -> dict[str, Any]:
    """What networks learned from besides phantoms, together, as their ``blocks`` say (checkpoint ``data`` blocks,
    sidecar ``shipped`` records, a loaded model's ``info``; :mod:`scintiseg.models.checkpoint`, session 61):
    ``{"real_scans": True}`` when one says so (only a literal ``True`` counts), ``{"adapted_on": [...]}`` the folders
    of every block in order, each once (a value that is not a list of strings counts as none); ``{}`` for phantoms
    only. A block that is not a mapping is skipped."""
    real, folders = False, []
    for block in blocks:
        if not isinstance(block, Mapping):
            continue
        real = real or block.get("real_scans") is True
        adapted = block.get("adapted_on")
        if isinstance(adapted, list):
            folders += [folder for folder in adapted if isinstance(folder, str)]
    return {**({"real_scans": True} if real else {}), **({"adapted_on": list(dict.fromkeys(folders))} if folders else {})}


#: Plausible model pixel sizes, mm: planar cameras acquire at about 1.0 to 4.5 mm (realdata.md); a recorded
#: ``pixel_mm`` outside this range is a corrupt record, not a model.
PIXEL_MM_RANGE = (0.1, 20.0)


@dataclass(frozen=True)
class InputContract:
    """What input a network reads and what it answers: the ``data`` record of its checkpoint (or ONNX sidecar), typed.

    Training writes the record (:mod:`scintiseg.train.loop`); :meth:`from_state` is its one reader, used by
    prediction (:mod:`scintiseg.predict.loader`, :mod:`scintiseg.predict.region_model`), evaluation, ``--init``,
    adaptation and the weight mixes (:mod:`scintiseg.models.interpolate`). A value the record does not hold is the
    default of the network's task (:data:`TASK_DEFAULTS`, each default with its reason); a lesion network's input mode
    and normalisation come first from its training config (:data:`FROM_TRAINING_CONFIG`). The record's other keys
    (what the network learned from besides phantoms) are :func:`provenance`'s.

    Attributes:
        task: ``lesions`` (the papers' binary lesion network) or ``regions`` (the skeleton-region network, issue 15).
        input_mode: how the views become the input (``scintiseg.prepare.model_input.INPUT_MODES``).
        normalisation: intensity normalisation of the input (``scintiseg.prepare.intensity.METHODS``).
        window_size: side of the square training window, pixels.
        pixel_mm: the pixel size (mm) the network was trained at, every scan is resampled to it; None: no
            resampling, a scan is fed at its own pixel size.
        window: where the network looks: ``whole`` (windows over the whole view) or ``thoracic`` (paper B's crop).
        classes: a region network's class names by id (``other`` first); empty for a lesion network.
        recorded: the fields the record itself holds (the others are defaults), for a reader that takes only what
            the file says (``scintiseg train --init``: :func:`scintiseg.train.loop.init_recipe`).

    Example::

        contract = InputContract.from_state(load_checkpoint(path), path)
        contract.pixel_mm, contract.window   # 2.26, "whole" for the shipped lesion model
    """

    task: str = "lesions"
    input_mode: str = "ant"
    normalisation: str = "percentile"
    window_size: int = 256
    pixel_mm: float | None = None
    window: str = "thoracic"
    classes: tuple[str, ...] = ()
    recorded: frozenset[str] = frozenset()

    @classmethod
    def from_state(cls, state: Mapping[str, Any], path: str | Path | None = None) -> InputContract:
        """The contract ``state["data"]`` records (a checkpoint, or an ONNX sidecar's JSON), defaults filled in.

        An absent or empty ``data`` (or ``config``) entry is an empty record; ``window_size`` and ``window`` of 0,
        ``""`` or None, and any other field of None, count as not recorded.

        Raises:
            ScintisegError: naming ``path``: ``data`` or ``config`` that is not a mapping, a task this scintiseg does
                not know, a name that is not a string, a window size that is not a positive integer, a pixel size
                that is not a number of mm in :data:`PIXEL_MM_RANGE`, classes that are not a list of names.
        """
        config, data = state.get("config") or {}, state.get("data") or {}
        if not isinstance(config, Mapping) or not isinstance(data, Mapping):
            raise ScintisegError("its 'config' and 'data' entries must be mappings", path=path)
        task = data.get("task")
        task = "lesions" if task is None else task
        if not isinstance(task, str) or task not in TASK_DEFAULTS:  # a list or object: a TypeError before session 66
            raise ScintisegError(f"a network for task {task!r}, which this scintiseg does not know (it knows "
                                 f"{', '.join(TASK_DEFAULTS)})", path=path)
        default = TASK_DEFAULTS[task]
        found: dict[str, Any] = {}
        for name in ("input_mode", "normalisation", "pixel_mm", "classes"):
            if data.get(name) is not None:
                found[name] = data[name]
        for name in ("window_size", "window"):  # 0 or "" as good as absent (the loader's reading since issue 13)
            if data.get(name):
                found[name] = data[name]
        recorded = frozenset(found) | ({"task"} if "task" in data and data["task"] is not None else frozenset())
        for name in FROM_TRAINING_CONFIG[task]:
            if name not in found and config.get(name) is not None:
                found[name] = config[name]
        for name in ("input_mode", "normalisation", "window"):
            if name in found and not isinstance(found[name], str):
                raise ScintisegError(f"{name.replace('_', ' ')} {found[name]!r} is not a name", path=path)
        if "window_size" in found:
            size = found["window_size"]
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ScintisegError(f"window size {size!r} is not a positive integer", path=path)
        if "pixel_mm" in found:
            found["pixel_mm"] = _pixel_mm(found["pixel_mm"], path)
        if "classes" in found:
            classes = found["classes"]
            if not isinstance(classes, list | tuple) or not all(isinstance(name, str) for name in classes):
                raise ScintisegError(f"classes {classes!r} are not a list of names", path=path)
            found["classes"] = tuple(classes)
        return replace(default, **found, recorded=recorded)


def _pixel_mm(value: Any, path: str | Path | None) -> float:
    low, high = PIXEL_MM_RANGE
    # the range first: math.isfinite of an integer beyond a float overflows (a sidecar's 10**400: session 66)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high or not math.isfinite(value):
        raise ScintisegError(f"pixel size {value!r} is not a number of mm in [{low:g}, {high:g}]", path=path)
    return float(value)


#: What a network of each task reads where its ``data`` record is silent, and why:
#:
#: - ``lesions``: the first checkpoints (before 2026-11-21, commit 96cc1eb) recorded no ``data`` block: input mode
#:   ``ant`` and normalisation ``percentile`` (TrainConfig's defaults, after their training config:
#:   :data:`FROM_TRAINING_CONFIG`), paper B's 256-pixel thoracic crop (§2.1; the training config's ``crop_size``, the
#:   data set's crop, is not read: commit ea34d60); no ``pixel_mm`` (checkpoints before issue 13, and every model trained
#:   on crops since): no resampling; window ``thoracic``, the crop every older model was trained on.
#: - ``regions``: every region checkpoint training wrote records its input (the task came on 2026-11-30 with the
#:   ``data`` block long in place); where one does not, it is read as the shipped region network was trained (the
#:   network :mod:`scintiseg.predict.region_model` describes): ``robust`` inputs at 4.52 mm, the whole view at once.
TASK_DEFAULTS: dict[str, InputContract] = {
    "lesions": InputContract(),
    "regions": InputContract(task="regions", normalisation="robust", pixel_mm=4.52, window="whole"),
}
#: The fields a network of each task that does not record them takes from its training config (``state["config"]``)
#: before the default: a lesion network's, for the checkpoints written before the ``data`` block (above). The region
#: network's reader never read the training config.
FROM_TRAINING_CONFIG: dict[str, tuple[str, ...]] = {"lesions": ("input_mode", "normalisation"), "regions": ()}
#: The fields that say what input a network reads and what it answers (all but :attr:`InputContract.recorded`): two
#: networks whose weights are mixed must agree on each (:mod:`scintiseg.models.interpolate`).
INPUT_FIELDS: tuple[str, ...] = tuple(field.name for field in fields(InputContract) if field.name != "recorded")
