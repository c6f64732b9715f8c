"""Argument types the commands share: a bad value is argparse's one-line usage error (exit 2), naming the flag.

Example::

    parser.add_argument("--seed", type=seed, default=0)   # "--seed -5" -> "argument --seed: must be ..."
"""

from __future__ import annotations

import argparse

from scintiseg.errors import ScintisegError
from scintiseg.seeds import check_seed


def seed(text: str) -> int:
    """A random seed: a whole number from 0 to :data:`scintiseg.seeds.MAX_SEED` (:func:`~scintiseg.seeds.check_seed`)."""
    try:
        return check_seed(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    except ScintisegError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("seed ")) from None
