"""One registry: every network is created by name, with a preset and keyword arguments.

``create_model(name, preset="default", **kwargs)`` builds the network, fills in every argument (preset
values, then the caller's, then the constructor defaults) and stores them in ``model.config`` with the
name, so that ``create_model(**model.config)`` rebuilds the same architecture from a checkpoint.

Three presets, shared by every network (:data:`COMMON_PRESETS`); a network's registration may override one
(``monai_dynunet`` does, for ``"paper"``):

* ``"default"`` — sized for CPU training on two cores: ``width=16, depth=4``.
* ``"small"`` — ``width=8, depth=4``: a quarter of the default's FLOPs, for quick CPU experiments.
* ``"paper"`` — the classic U-Net widths, ``width=64, depth=4`` (64-128-256-512-1024); paper A and B
  state no widths, so this is the usual reading of "U-Net". ``monai_dynunet``'s is nnU-Net's 2-D plan,
  ``width=32, depth=5``.

Example::

    model = create_model("dpunet", pooling="fusion", dac="dac2", rmp=True, width=32, depth=4)
    again = create_model(**model.config)
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from scintiseg.errors import ScintisegError
from scintiseg.models.base import SegmentationNetwork
from scintiseg.models.baselines import MonaiBasicUNet, MonaiDynUNet
from scintiseg.models.dpunet import DPUNet
from scintiseg.models.rdinet import RDINet
from scintiseg.models.unet import UNet

__all__ = ["COMMON_PRESETS", "ModelEntry", "create_model", "get_entry", "list_models", "list_presets", "register_model"]

#: Presets shared by every network; a network's own entry may override them.
COMMON_PRESETS: dict[str, dict[str, Any]] = {
    "default": {"width": 16, "depth": 4},
    "paper": {"width": 64, "depth": 4},
    "small": {"width": 8, "depth": 4},
}


@dataclass(frozen=True)
class ModelEntry:
    """A registered network: its constructor, a one-line description and its presets."""

    name: str
    builder: Callable[..., SegmentationNetwork]
    description: str
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def parameters(self) -> dict[str, Any]:
        """The constructor's keyword arguments and their defaults."""
        return {
            name: parameter.default
            for name, parameter in inspect.signature(self.builder).parameters.items()
            if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
        }


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(
    name: str, builder: Callable[..., SegmentationNetwork], description: str, presets: dict[str, dict[str, Any]] | None = None
) -> None:
    """Add a network to the registry (the presets extend :data:`COMMON_PRESETS`)."""
    merged = {key: dict(value) for key, value in COMMON_PRESETS.items()}
    for key, value in (presets or {}).items():
        merged.setdefault(key, {}).update(value)
    _REGISTRY[name] = ModelEntry(name, builder, description, merged)


def list_models() -> list[str]:
    """Names of the registered networks."""
    return list(_REGISTRY)


def get_entry(name: str) -> ModelEntry:
    """The registry entry of ``name``; :class:`ScintisegError` if unknown."""
    if name not in _REGISTRY:
        raise ScintisegError(f"unknown model {name!r}; choose one of {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def list_presets(name: str) -> dict[str, dict[str, Any]]:
    """The presets of network ``name``: preset name -> its arguments."""
    return {key: dict(value) for key, value in get_entry(name).presets.items()}


def _plain(value: Any) -> Any:
    """Tuples become lists so ``config`` survives a JSON/YAML round trip unchanged."""
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


def _kind_problem(default: Any, value: Any) -> str:
    """What kind ``value`` must be, by its argument's default, when it is not (``""`` when it is, or the default says
    nothing): true or false for a flag, a whole number, a number, text, a list of whole numbers. ``-m
    batch_norm=maybe`` reached the constructor as a truthy string before session 61. None passes: some arguments take
    it for "none" (``dac=None``: no DAC block), and the constructor judges it."""
    if value is None:
        return ""
    if isinstance(default, bool):
        return "" if isinstance(value, bool) else "true or false"
    if isinstance(default, int):
        return "" if isinstance(value, numbers.Integral) and not isinstance(value, bool) else "a whole number"
    if isinstance(default, float):
        return "" if isinstance(value, numbers.Real) and not isinstance(value, bool) else "a number"
    if isinstance(default, str):
        return "" if isinstance(value, str) else "text"
    if isinstance(default, tuple | list):
        whole = isinstance(value, tuple | list) and all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                                        for v in value)
        return "" if whole else "a list of whole numbers"
    return ""


def create_model(name: str, preset: str | None = None, **kwargs: Any) -> nn.Module:
    """Build a registered network.

    Args:
        name: a name from :func:`list_models` (``unet``, ``dpunet``, ``rdinet``, ``monai_basicunet``,
            ``monai_dynunet``).
        preset: ``"default"`` (CPU-sized, width 16), ``"small"`` (width 8, for tests and quick runs) or
            ``"paper"`` (64-channel U-Net widths; ``monai_dynunet``: nnU-Net's width 32, depth 5); ``None`` =
            default (:func:`list_presets`).
        **kwargs: constructor arguments; they override the preset.

    Returns:
        the network, with ``in_channels`` and ``config`` (``{"name": name, **every argument}``).

    Raises:
        ScintisegError: unknown name, preset or argument, or an invalid argument value.
    """
    entry = get_entry(name)
    preset_name = "default" if preset is None else preset
    if preset_name not in entry.presets:
        raise ScintisegError(f"model {name!r} has no preset {preset_name!r}; choose one of {', '.join(entry.presets)}")
    accepted = entry.parameters()
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ScintisegError(
            f"model {name!r} does not take {', '.join(unknown)}; it takes {', '.join(accepted)}"
        )
    for key, value in kwargs.items():
        wrong = _kind_problem(accepted[key], value)
        if wrong:
            raise ScintisegError(f"model {name!r}: {key} must be {wrong}, got {value!r}")
    arguments = {**accepted, **entry.presets[preset_name], **kwargs}
    try:
        model = entry.builder(**arguments)
    except (TypeError, ValueError) as exc:  # an argument of the wrong kind (-m width=abc, width=8.5, t=abc)
        given = " ".join(f"{key}={value!r}" for key, value in kwargs.items() if key != "in_channels")
        problem = " ".join(str(exc).split())
        raise ScintisegError(f"model {name!r} cannot be built with {given or 'its preset'}: {problem[:160]}") from None
    model.config = {"name": name, **{key: _plain(value) for key, value in arguments.items()}}
    return model


register_model("unet", UNet, "plain U-Net, paper A's baseline (pooling max or avg)")
register_model("dpunet", DPUNet, "paper A: U-Net + dual-pooling fusion + DAC + RMP")
register_model("rdinet", RDINet, "paper B: dilated residual + inception + recurrent (t) network")
register_model("monai_basicunet", MonaiBasicUNet, "MONAI BasicUNet baseline (depth 4)")
register_model("monai_dynunet", MonaiDynUNet, "MONAI DynUNet configured like a 2-D nnU-Net", {"paper": {"width": 32, "depth": 5}})
