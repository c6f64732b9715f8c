"""Weight-space interpolation between a network and its fine-tune (WiSE-FT), and averages of fine-tunes (soups).

Wortsman et al., "Robust fine-tuning of zero-shot models" (CVPR 2022): fine-tuning a network on new data
raises its accuracy there and can lower it on data unlike both; the weights ``(1 - alpha) * base + alpha *
tuned`` of the two networks keep most of the gain and much of the base network's robustness, with no
training and no cost at prediction time. Here the base is the shipped lesion model and the fine-tune is a
phantom or site fine-tune of it (``scintiseg train --init``, ``scintiseg adapt``): a CPU fine-tune on
phantom patients found more lesions and called a real scan's normal hot spots (docs/robustness.md); the
interpolated networks between them are measured there, on the NM1 real background, as a curve over alpha.

Choices the paper leaves open for this use:

* every floating-point tensor of the state dict is interpolated, the BatchNorm running means and
  variances too (the interpolated network normalises with statistics between the two); integer
  tensors (BatchNorm's batch counters) are the fine-tune's;
* the two checkpoints must hold the same network (names, shapes and arguments) and be made for the same
  input (their input contracts, :class:`scintiseg.formats.InputContract`: task, input mode, normalisation, window
  size, pixel size, window, classes, each as prediction reads it): anything else is one error line;
* the result is the *fine-tune's* checkpoint (its data contract, history and training config) with the
  interpolated weights and an ``interpolation`` record: the two files' names and SHA-256 and alpha; its ``data``
  block says what either network learned from besides phantoms (real patients' scans, the folders of a site's scans
  it was adapted to: :func:`scintiseg.formats.provenance`, session 61), which the report's disclaimer reads.

The *uniform soup* (Wortsman et al., "Model soups", ICML 2022; over one run's checkpoints it is stochastic
weight averaging, Izmailov et al. 2018) is the mean of the weights of several fine-tunes of one network
(:func:`average_checkpoints`): the checkpoints of a CPU fine-tune swing between calling 0.5 and 5 of a real
scan's normal hot spots per view two epochs apart, and their mean (1.65) does not depend on where the run
stopped (docs/robustness.md). Same
choices as above: every floating tensor averaged, BatchNorm statistics too; integer tensors and the record
from the *last* checkpoint given, without its ``shipped`` record (which describes that one member); a ``soup``
record with every file's name and SHA-256; the ``data`` block says what any member learned from besides phantoms.

Example::

    from scintiseg.models.interpolate import average_checkpoints, interpolate_checkpoints
    interpolate_checkpoints("shipped.pt", "runs/ft/checkpoints/best.pt", alpha=0.5, out="wise_0.5.pt")
    average_checkpoints(["runs/ft/checkpoints/epoch_0004.pt", "runs/ft/checkpoints/epoch_0006.pt"], "soup.pt")
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import torch

from scintiseg.errors import ScintisegError
from scintiseg.formats import INPUT_FIELDS, InputContract, provenance
from scintiseg.io.atomic import same_file
from scintiseg.models.checkpoint import load_checkpoint, save_checkpoint, state_dict_mismatch
from scintiseg.models.registry import get_entry

def interpolate_weights(base: Mapping[str, torch.Tensor], tuned: Mapping[str, torch.Tensor],
                        alpha: float) -> dict[str, torch.Tensor]:
    """``(1 - alpha) * base + alpha * tuned`` for every floating tensor; integer tensors from ``tuned``.

    Both state dicts must have the same names and shapes (the caller checks; a mismatch raises KeyError or
    a shape error from torch). ``alpha`` 0 gives ``base``'s values, 1 gives ``tuned``'s.
    """
    mixed: dict[str, torch.Tensor] = {}
    for name, value in tuned.items():
        if value.is_floating_point():
            start = base[name].to(dtype=value.dtype)
            mixed[name] = torch.lerp(start, value, float(alpha))
        else:
            mixed[name] = value.clone()
    return mixed


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def interpolate_checkpoints(base: str | Path, tuned: str | Path, alpha: float, out: str | Path) -> Path:
    """Write ``out``: ``tuned``'s checkpoint with the weights ``(1 - alpha) * base + alpha * tuned``.

    Raises:
        ScintisegError: ``alpha`` outside [0, 1]; a file that is not a checkpoint (naming it); two networks
            that differ (kind, arguments, weight names or shapes) or were made for different input.
    """
    if not 0.0 <= float(alpha) <= 1.0:
        raise ScintisegError(f"alpha must lie in [0, 1] (0: the base network, 1: the fine-tune), got {alpha!r}")
    base, tuned, out = Path(base), Path(tuned), Path(out)
    _refuse_an_input(out, [base, tuned])
    first, second = _load_compatible([base, tuned], "interpolated")
    state = dict(second)
    state["model"] = interpolate_weights(first["model"], second["model"], alpha)
    state["interpolation"] = {
        "method": "WiSE-FT (Wortsman et al. 2022): (1 - alpha) * base + alpha * tuned",
        "alpha": float(alpha),
        "base": base.name, "base_sha256": _sha256(base),
        "tuned": tuned.name, "tuned_sha256": _sha256(tuned),
    }
    state.pop("optimizer", None)  # the fine-tune's optimiser state belongs to its own weights, not to these
    return save_checkpoint(_learned_from_all(state, [first, second]), out)


def average_weights(states: list[Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The mean of every floating tensor over ``states`` (same names and shapes); integer tensors from the last."""
    if not states:
        raise ValueError("nothing to average")
    last = states[-1]
    mean: dict[str, torch.Tensor] = {}
    for name, value in last.items():
        if value.is_floating_point():
            total = torch.zeros_like(value, dtype=torch.float64)
            for state in states:
                total += state[name].to(torch.float64)
            mean[name] = (total / len(states)).to(value.dtype)
        else:
            mean[name] = value.clone()
    return mean


def average_checkpoints(paths: list[str | Path], out: str | Path) -> Path:
    """Write ``out``: the last checkpoint of ``paths`` with the mean of all their weights (a uniform soup).

    Raises:
        ScintisegError: fewer than two files; a file that is not a checkpoint (naming it); networks that differ
            (kind, arguments, weight names or shapes) or were made for different input.
    """
    paths = [Path(path) for path in paths]
    if len(paths) < 2:
        raise ScintisegError(f"averaging needs at least two checkpoints of one network, got {len(paths)}")
    _refuse_an_input(Path(out), paths)
    states = _load_compatible(paths, "averaged")
    state = dict(states[-1])
    state["model"] = average_weights([one["model"] for one in states])
    state["soup"] = {"method": "uniform soup (Wortsman et al. 2022): the mean of the weights",
                     "members": [{"file": path.name, "sha256": _sha256(path)} for path in paths]}
    state.pop("optimizer", None)
    state.pop("interpolation", None)  # a member's own record describes that member, not the mean
    state.pop("shipped", None)  # ... and so does a packaged member's (what it was trained on, that it is synthetic)
    return save_checkpoint(_learned_from_all(state, states), out)


def _learned_from_all(state: dict, states: list[dict]) -> dict:
    """``state`` with its ``data`` block saying what any of ``states``' networks learned from besides phantoms
    (:func:`scintiseg.formats.provenance`): weights made of an adapted or a real-data network carry what it learned,
    so the report does not call their mix trained on phantoms only (session 61). The rest of the block is kept as
    written (a mapping or nothing: :func:`_load_compatible` read it)."""
    data = {k: v for k, v in (state.get("data") or {}).items() if k not in ("real_scans", "adapted_on")}
    learned = provenance(one.get("data") for one in states)
    if learned or state.get("data"):
        state["data"] = {**data, **learned}
    return state


def _refuse_an_input(out: Path, paths: list[Path]) -> None:
    """``out`` naming one of the checkpoints read would overwrite it with the mix (session 61: written, exit 0)."""
    for path in paths:
        if same_file(out, path):
            raise ScintisegError("is one of the checkpoints being mixed: writing the result there would overwrite it; "
                                 "give --out a new file", path=out)


def _load_compatible(paths: list[Path], verb: str) -> list[dict]:
    """The checkpoints of ``paths``, checked to hold one network made for one input (else one error line naming
    the file that differs from the first)."""
    states = [load_checkpoint(path) for path in paths]
    for path, state in zip(paths, states):
        weights = state["model"]
        if not isinstance(weights, Mapping) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
            raise ScintisegError("its 'model' entry is not a state dict of tensors", path=path)
    inputs = [InputContract.from_state(state, path) for path, state in zip(paths, states)]
    reference, first = paths[0], states[0]
    for path, state, contract in zip(paths[1:], states[1:], inputs[1:]):
        if _made(first["model_config"]) != _made(state["model_config"]):
            raise ScintisegError(f"holds another network than {reference.name} ({_describe(state)} against "
                                 f"{_describe(first)}): only a network and its own fine-tunes can be {verb}",
                                 path=path)
        mismatch = state_dict_mismatch(first["model"], state["model"])
        if mismatch:
            raise ScintisegError(f"its weights do not fit {reference.name}'s: {mismatch}", path=path)
        for key in INPUT_FIELDS:
            if getattr(inputs[0], key) != getattr(contract, key):
                raise ScintisegError(f"was made for {key} {getattr(contract, key)!r}, {reference.name} for "
                                     f"{getattr(inputs[0], key)!r}", path=path)
    return states


def _made(config: object) -> object:
    """A checkpoint's ``model_config`` with the arguments it does not record filled in with today's defaults: a
    checkpoint saved before an argument was added (``dpunet``'s ``rmp_shared_conv``, session 64) holds the same
    network as one that records the default."""
    if not isinstance(config, Mapping):
        return config
    try:
        defaults = get_entry(str(config.get("name"))).parameters()
    except ScintisegError:  # a network no longer registered: compared as recorded
        return dict(config)
    return {**{key: value for key, value in defaults.items() if key not in config}, **config}


def _describe(state: Mapping) -> str:
    config = dict(state.get("model_config") or {})
    return f"{config.pop('name', '?')} " + " ".join(f"{k}={v}" for k, v in config.items() if k != "in_channels")
