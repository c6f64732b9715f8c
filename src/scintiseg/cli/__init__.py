"""The ``scintiseg`` command: one entry point, each subcommand a thin function over the library.

Each module in :data:`COMMAND_MODULES` adds its subcommands with ``register(subparsers)`` and sets
``func`` on its parser; the function receives the parsed arguments and returns an exit code. A
:class:`~scintiseg.errors.ScintisegError` anywhere becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import warnings

from scintiseg import __version__
from scintiseg.errors import ScintisegError

#: Subcommand modules, in the order of the pipeline (io -> prepare -> models -> train -> predict).
COMMAND_MODULES: tuple[str, ...] = (
    "info",
    "dataset",
    "annotations",
    "phantom",
    "crop",
    "models",
    "train",
    "evaluate",
    "experiment",
    "gan",
    "predict",
    "export",
    "demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scintiseg",
        description="Find and delineate bone-metastasis lesions in planar bone scintigraphy.",
    )
    parser.add_argument("--version", action="version", version=f"scintiseg {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"scintiseg.cli.{name}").register(subparsers)
    return parser


def _warning_one_line(message, category, filename, lineno, file=None, line=None):  # noqa: ARG001
    sys.stderr.write(f"warning: {message}\n")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 some inputs failed, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    warnings.showwarning = _warning_one_line
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ScintisegError as exc:
        print(f"scintiseg {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"scintiseg {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``scintiseg info ... | head``): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
