"""What several test folders share: another folder's conftest, loaded by path.

Test folders are not packages (pytest runs with ``--import-mode=importlib``), so a fixture builder that
lives in ``tests/train/conftest.py`` cannot be imported by name from ``tests/cli``. ``pyproject.toml``
puts ``tests/`` on ``sys.path`` (``pythonpath``) for this module only.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parent


def conftest_of(folder: str) -> ModuleType:
    """The module ``tests/<folder>/conftest.py``, loaded once per session."""
    name = f"_scintiseg_tests_{folder.replace('/', '_')}_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, TESTS / folder / "conftest.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
