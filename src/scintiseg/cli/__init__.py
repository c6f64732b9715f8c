"""The ``scintiseg`` command: one entry point, each subcommand a thin function over the library.

:data:`COMMANDS` names every subcommand's module and one-line help. The top-level parser lists them
all from that table, and only the chosen subcommand's module is imported (``scintiseg info FILE``
imports :mod:`scintiseg.cli.info` and what it needs, never torch, MONAI or matplotlib), which keeps
``--help``, ``--version`` and ``info`` fast. That module adds its parser with ``register(subparsers)``
and sets ``func`` on it; the function receives the parsed arguments and returns an exit code. A
:class:`~scintiseg.errors.ScintisegError` anywhere becomes one line on stderr and exit status 2, and so does an
OSError (an output folder that cannot be made or written), naming its path.

Stopping a command. Ctrl-C (SIGINT) and SIGTERM (what ``kill``, ``timeout``, a batch scheduler or ``docker stop``
send) end it the same way: the main process raises :class:`KeyboardInterrupt` (:class:`Terminated` for SIGTERM)
wherever it is, every output being written is removed by the ``except BaseException`` cleanup around it (a
prediction's hidden ``.NAME.partial-*`` folder, ``OUT``'s lock), and one line says what was done (exit 130 for
SIGINT, 143 for SIGTERM). Without the handler SIGTERM killed the process where it stood, leaving the partial
folder and the lock behind (session 47). Processes the command started keep the default SIGTERM (a pool stops
its workers with it).
"""

from __future__ import annotations

import argparse
import importlib
import io
import logging
import os
import signal
import sys
import threading
import warnings

from scintiseg import __version__
from scintiseg.errors import ScintisegError

#: Subcommand -> (module under ``scintiseg.cli``, the one-line help its ``register`` gives), in the order
#: of the pipeline (io -> prepare -> models -> train -> predict). tests/cli/test_startup.py checks that
#: each help line here is the one its module registers.
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("info", "show the views, shape, pixel spacing and counts of a scan file"),
    "dataset": ("dataset", "check, split, prepare and export a data set folder (dataset.json layout)"),
    "annotations": ("annotations", "work with physicians' LabelMe annotations (reader consensus; outlines from boxes or masks)"),
    "phantom": ("phantom", "generate synthetic 99mTc-MDP whole-body scans with lesion masks"),
    "crop": ("crop", "cut the 256 x 256 thoracic region out of whole-body scans"),
    "models": ("models", "list the segmentation networks and their size and speed"),
    "train": ("train", "train a segmentation network (paper defaults: Adam, lr 1e-4, batch 32, 200 epochs)"),
    "adapt": ("adapt", "adapt a lesion model to a site's own scans (unlabelled: paper B's Chan-Vese loss; normal: inserted lesions)"),
    "evaluate": ("evaluate", "evaluate a trained run, or another tool's masks (DSC, Recall, CPA, IoU, lesion detection, overlays)"),
    "experiment": ("experiment", "run one of the papers' experiments (table + CSV + plot beside the paper's numbers)"),
    "gan": ("gan", "DCGAN augmentation of thoracic crops (paper B §3.2.2, data set D3)"),
    "predict": ("predict", "find lesions on whole-body scans and write reports (JSON, HTML, LabelMe, PNG, DICOM SR/GSPS, PDF)"),
    "review": ("review", "write a prediction's report again from the outlines a reader corrected in its LabelMe files"),
    "compare": ("compare", "compare a patient's follow-up scan with the baseline: new lesions, lesions not seen, BSI change"),
    "export": ("export", "export a trained model to ONNX"),
    "demo": ("demo", "phantom test cohort -> train DPU-Net and U-Net -> evaluate -> predict -> report.md"),
}


def chosen_command(argv: list[str]) -> str | None:
    """The subcommand named on the command line: the first argument that is not a top-level option.

    The top-level options (``-h``, ``--version``, ``-v``) take no value, so the first other word is the
    subcommand, or a typo that argparse reports.
    """
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser: every subcommand listed, only ``command``'s module imported and registered.

    Args:
        command: the subcommand whose full parser (flags, help, ``func``) is wanted; the others are
            placeholders that carry their one-line help, for ``scintiseg --help``.
    """
    parser = argparse.ArgumentParser(
        prog="scintiseg",
        description="Find and delineate bone-metastasis lesions in planar bone scintigraphy.",
    )
    parser.add_argument("--version", action="version", version=f"scintiseg {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_line) in COMMANDS.items():
        if name == command:
            importlib.import_module(f"scintiseg.cli.{module}").register(subparsers)
        else:
            subparsers.add_parser(name, help=help_line)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM raised in the command's main process as Ctrl-C is, so that the same cleanup runs (module docstring)."""


def _terminate(main_pid: int):
    """The SIGTERM handler of the process ``main_pid``: :class:`Terminated` there; in a process forked from it (which
    inherits the handler), the default action, as that process would have had."""
    def handler(signum, frame):  # noqa: ARG001
        if os.getpid() != main_pid:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        raise Terminated()
    return handler


def _stopped_line(command: str, exc: KeyboardInterrupt) -> tuple[str, int]:
    """The line a stopped command prints and its exit code: 143 for SIGTERM, 130 for Ctrl-C; the notes the command
    added to the interrupt (what it had done) follow."""
    notes = "; ".join(getattr(exc, "__notes__", []))
    what, code = ("stopped (SIGTERM)", 143) if isinstance(exc, Terminated) else ("interrupted", 130)
    return f"scintiseg {command}: {what}" + (f": {notes}" if notes else ""), code


def _warning_one_line(message, category, filename, lineno, file=None, line=None):  # noqa: ARG001
    sys.stderr.write(f"warning: {message}\n")


def _empty_argument(argv: list[str]) -> str:
    """Why an empty argument is refused, or ``""``: ``--out ""`` or ``predict ""`` (a shell variable left unset,
    quoted) read as the current folder, and ``predict ""`` predicted every scan under it (session 61). No option of
    scintiseg takes an empty value on purpose."""
    for index, token in enumerate(argv):
        if token.startswith("--") and token.endswith("=") and len(token) > 3:
            return f"{token[:-1]} is given an empty value (an unset shell variable?)"
        if token == "":
            before = argv[index - 1] if index else ""
            named = before if before.startswith("-") and before != "-" else "an argument"
            return f"{named} is given an empty value (an unset shell variable?)"
    return ""


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 some inputs failed, 2 bad input)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 printed escaped, not a traceback
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, io.UnsupportedOperation):
            pass
    parser = build_parser(chosen_command(argv))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    warnings.showwarning = _warning_one_line
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    empty = _empty_argument(argv)
    if empty:
        print(f"scintiseg {args.command}: error: {empty}", file=sys.stderr)
        return 2
    in_main_thread = threading.current_thread() is threading.main_thread()  # only there can a handler be set
    previous = signal.signal(signal.SIGTERM, _terminate(os.getpid())) if in_main_thread else None
    try:
        return int(args.func(args) or 0)
    except ScintisegError as exc:
        print(f"scintiseg {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (``scintiseg info ... | head``): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except OSError as exc:  # a folder that cannot be made or written (--out under a file, read-only, full disk)
        where = exc.filename if exc.filename is not None else "output"
        print(f"scintiseg {args.command}: error: {where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        line, code = _stopped_line(args.command, exc)
        print(line, file=sys.stderr)
        return code
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
