"""Version tags of the files scintiseg writes for itself: checkpoints and ONNX sidecars.

Each such file records ``version`` (its *format* version) and ``scintiseg_version`` (the package that
wrote it). A reader reads every format version up to the one it writes and refuses a newer or a
malformed one with one line naming both versions and the writer, so a model from another install says
what differs instead of failing later inside torch or ONNX Runtime. Files written before
``scintiseg_version`` existed load unchanged.

Both also say what their network learned from besides phantoms (:func:`provenance`): a checkpoint in its ``data``
block, a sidecar in its ``shipped`` record.
"""

from __future__ import annotations

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
