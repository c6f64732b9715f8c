"""What a random seed may be: a whole number from 0 to :data:`MAX_SEED` (session 52).

Every seed scintiseg takes (``--seed`` and the other seed flags, ``seed`` of a typed configuration) is checked here
before any work, so that a bad one is a line naming it: NumPy's ``SeedSequence`` and ``default_rng`` refuse a negative
seed with a ``ValueError`` traceback, torch's ``manual_seed`` one from 2**64. A light module (it imports nothing but
the error type), so that the commands' argument parsing does not load the readers.

Example::

    check_seed(20261205)        # 20261205
    check_seed(-5, "--seed")    # ScintisegError: --seed must be a whole number from 0 to 4294967295, got -5
"""

from __future__ import annotations

from typing import Any

from scintiseg.errors import ScintisegError

#: Largest seed: 2**32 - 1, the range NumPy (its legacy ``RandomState`` too) and torch all take, and the one users know.
MAX_SEED = 2**32 - 1


def check_seed(value: Any, name: str = "seed") -> int:
    """``value`` when it is a whole number from 0 to :data:`MAX_SEED`, else a :class:`ScintisegError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise ScintisegError(f"{name} must be a whole number from 0 to {MAX_SEED}, got {value!r}")
    return value
