"""scintiseg.report.matplotlib_home: matplotlib's folder named outside HOME, this user's own, a folder open to others
or a link never taken, and a folder the user named or a matplotlib imported already left alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys

#: In a fresh interpreter: name the folder, import matplotlib's font manager, print the folder and MPLCONFIGDIR.
PROBE = """
import json, os
from scintiseg.report.matplotlib_home import matplotlib_outside_home
folder = matplotlib_outside_home()
import matplotlib.font_manager
print(json.dumps([None if folder is None else str(folder), os.environ.get("MPLCONFIGDIR"),
                  matplotlib.get_configdir()]))
"""


def _probe(tmp_path, **env) -> list:
    base = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")}
    result = subprocess.run([sys.executable, "-c", PROBE], env={**base, "HOME": str(tmp_path / "home"),
                                                                "TMPDIR": str(tmp_path / "tmp"), **env},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_matplotlib_writes_into_a_private_folder_outside_home(tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "tmp").mkdir()
    own = tmp_path / "tmp" / f"scintiseg-matplotlib-{os.getuid()}"
    assert _probe(tmp_path) == [str(own)] * 3
    assert list((tmp_path / "home").iterdir()) == []
    assert (own.stat().st_mode & 0o777) == 0o700 and list(own.glob("fontlist-*.json"))


def test_a_folder_open_to_others_or_a_link_is_not_taken(tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "tmp").mkdir()
    own = tmp_path / "tmp" / f"scintiseg-matplotlib-{os.getuid()}"
    own.mkdir()
    own.chmod(0o777)  # another user could have put a matplotlibrc there
    folder, named, _ = _probe(tmp_path)
    assert folder == named and folder != str(own) and not os.path.exists(folder)  # a private one, gone at exit
    own.chmod(0o700)
    own.rmdir()
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    own.symlink_to(tmp_path / "elsewhere")
    folder, _, _ = _probe(tmp_path)
    assert folder != str(own) and not list((tmp_path / "elsewhere").iterdir())


def test_a_folder_the_user_named_or_a_matplotlib_imported_is_left_alone(tmp_path):
    from scintiseg.report.matplotlib_home import matplotlib_outside_home

    (tmp_path / "home").mkdir()
    (tmp_path / "tmp").mkdir()
    named = tmp_path / "named"
    assert _probe(tmp_path, MPLCONFIGDIR=str(named)) == [None, str(named), str(named)]
    import matplotlib  # imported in this process: nothing to change any more

    assert "matplotlib" in sys.modules and matplotlib.get_configdir()
    before = os.environ.get("MPLCONFIGDIR")
    assert matplotlib_outside_home() is None and os.environ.get("MPLCONFIGDIR") == before
