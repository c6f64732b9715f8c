"""matplotlib's configuration and cache folders kept out of the user's HOME when a report draws with it (``report.pdf``,
:mod:`.report_pdf`).

Why. ``scintiseg predict`` leaves HOME as it found it (tests/cli/test_startup.py: a tool that reads patients' scans
writes nowhere but its ``--out``; the project replaced MONAI's sliding-window inferer for this, which imports
matplotlib). matplotlib, on its first import in a process, creates ``~/.config/matplotlib`` and writes its font list to
``~/.cache/matplotlib`` unless ``MPLCONFIGDIR`` names a folder. :func:`matplotlib_outside_home` names one before
matplotlib is imported: a folder of this user's own in the system's temporary folder,
``<tmp>/scintiseg-matplotlib-<uid>`` (made mode 0700; reused by later runs, so the font list, 0.85 s to build on this
machine, is built once; taken only when it is a real folder this user owns that nobody else may write, else a new
private folder for this process, removed at exit). A ``MPLCONFIGDIR`` the user set, or matplotlib imported already
(by the caller's own code), is left as it is.
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path


def _own_private_folder(path: Path) -> bool:
    """Whether ``path`` is a folder (not a link) this user owns that no other user can write into or read."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    owner = getattr(os, "getuid", lambda: info.st_uid)()
    return stat.S_ISDIR(info.st_mode) and info.st_uid == owner and not info.st_mode & 0o077


def matplotlib_outside_home() -> Path | None:
    """Point matplotlib's configuration and cache at a folder outside HOME (module docstring), before its first
    import; returns the folder, or None where nothing was changed (``MPLCONFIGDIR`` set, matplotlib imported)."""
    if os.environ.get("MPLCONFIGDIR") or "matplotlib" in sys.modules:
        return None
    user = getattr(os, "getuid", lambda: "user")()
    folder = Path(tempfile.gettempdir()) / f"scintiseg-matplotlib-{user}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        pass
    if not _own_private_folder(folder):  # another user's, a link, or open to others: a folder of this process only
        folder = Path(tempfile.mkdtemp(prefix="scintiseg-matplotlib-"))
        atexit.register(shutil.rmtree, folder, True)
    os.environ["MPLCONFIGDIR"] = str(folder)
    return folder
