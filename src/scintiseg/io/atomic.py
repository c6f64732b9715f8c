"""Atomic file output: write to a temporary file beside the target, then rename.

A reader (or a user looking at the output folder) therefore never sees a half-written file that
looks complete: either the old file, the new one, or nothing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed over ``path``, on error removed.

    Example::

        with atomic_path(out / "mask.png") as tmp:
            Image.fromarray(mask).save(tmp, format="PNG")
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise _naming(exc, target) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates the file 0600; give the result the permissions an ordinary open() would.
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if str(tmp) in (str(exc.filename), str(exc.filename2)):
            raise _naming(exc, target) from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether ``a`` and ``b`` name one file: the same resolved path, or (both existing) the same inode (a hard link).
    The commands that write an output check it against their inputs with this (export, the weight mixes, consensus:
    each overwrote an input given as ``--out`` before session 61)."""
    a, b = Path(a), Path(b)
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return False


def _naming(exc: OSError, target: Path) -> OSError:
    """``exc`` naming ``target``, not the temporary file beside it that the user never asked for (session 61: "X/
    .splits.json.bunkf1v5.part: Is a directory" where X/splits.json is a folder)."""
    return type(exc)(exc.errno, exc.strerror or str(exc), str(target))


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", **kwargs) -> Iterator[IO]:
    """``open`` for writing, atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle


def remove_stale_partials(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary ``.NAME.*.part`` files a killed writer left in ``folder``; returns them.

    A process killed between :func:`atomic_path`'s temporary write and its rename (SIGKILL, power
    loss) cannot clean up; whoever resumes work in that folder calls this first.
    """
    removed = []
    for stale in Path(folder).glob(".*.part"):
        stale.unlink(missing_ok=True)
        removed.append(stale)
    return removed


def staging_folder(parent: str | os.PathLike[str], name: str) -> Path:
    """A new hidden folder ``.NAME.partial-XXXXXXXX`` in ``parent`` for outputs renamed into place when complete, with
    the permissions an ordinary ``mkdir`` gives under the process's umask (``tempfile.mkdtemp`` makes it 0700, so a
    department's colleagues could not open a published scan folder: session 73)."""
    path = Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=parent))
    os.chmod(path, 0o777 & ~_UMASK)
    return path


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """``text`` written to ``path`` atomically, UTF-8; a file name that is not UTF-8 (a Windows share's or a CD's
    Latin-1 name, which Python reads as surrogate escapes) is written back as its own bytes (session 73: the report of
    ``IM\xff`` stopped a whole batch with a traceback)."""
    with atomic_open(path, "w", encoding="utf-8", errors="surrogateescape") as handle:
        handle.write(text)
