"""Argument types the commands share: a bad value is argparse's one-line usage error (exit 2), naming the flag.

Example::

    parser.add_argument("--seed", type=seed, default=0)   # "--seed -5" -> "argument --seed: must be ..."
"""

from __future__ import annotations

import argparse

from scintiseg.config import check_seed
from scintiseg.errors import ScintisegError


def seed(text: str) -> int:
    """A random seed: a whole number from 0 to :data:`scintiseg.config.MAX_SEED` (:func:`~scintiseg.config.check_seed`)."""
    try:
        return check_seed(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    except ScintisegError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("seed ")) from None
