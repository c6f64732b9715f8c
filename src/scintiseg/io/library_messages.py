"""What pydicom, tifffile and Pillow say while a file is read, folded into scintiseg's one message.

The libraries report problems in two ways besides exceptions: Python warnings (``Invalid value for VR
UI``, ``Expected explicit VR, but found implicit VR``) and their loggers (pydicom logs a decoder's
traceback at ERROR before raising; tifffile logs ``invalid offset to first page``). Left alone, a user
sees two to four lines for one problem, and the CLI promises one. So the readers wrap every library
call in :func:`library_messages`, which records both instead of printing them, and then

* when reading fails, the reader's :class:`~scintiseg.errors.ScintisegError` names the problem and
  appends the first library message in parentheses (:meth:`LibraryMessages.hint`);
* when reading succeeds, :meth:`LibraryMessages.warn_once` issues at most **one** warning per file:
  the number of library messages and the first of them. A file that reads cleanly issues none.

A reader's own warnings (category :class:`ReaderWarning`, e.g. "assuming detector 1 = ANT") are facts
about how the file was interpreted, not library chatter: they are passed through unchanged.
"""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

#: Longest library message quoted in an error or warning; the rest is cut with "...".
MAX_QUOTED = 160
# pydicom ends every invalid-value message with a link to the standard's VR table: noise on one line.
_BOILERPLATE = re.compile(r"\s*Please see <https?://[^>]*>[^.]*\.?")


class ReaderWarning(UserWarning):
    """A warning a scintiseg reader issues itself; :func:`library_messages` lets it through."""


class LibraryMessages:
    """The warnings and log records one read collected, in order, as ``"library: message"`` strings."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self._own: list[warnings.WarningMessage] = []

    def hint(self, error: str = "") -> str:
        """``" (pydicom: first message)"`` to append to ``error``; ``""`` when nothing was said or when
        ``error`` already quotes it (pydicom's decoder errors repeat what it logged)."""
        if not self.messages:
            return ""
        first = self.messages[0]
        return "" if first.split(": ", 1)[1][:60] in error else f" ({first})"

    def warn_once(self, path: str | Path, stacklevel: int = 3, done: str = "read") -> None:
        """After a successful read (or what ``done`` says: ``"sr.dcm written"``): re-issue the reader's own warnings,
        then one summary of the rest."""
        for own in self._own:
            warnings.warn_explicit(own.message, own.category, own.filename, own.lineno)
        if not self.messages:
            return
        count = len(self.messages)
        more = f" (and {count - 1} more)" if count > 1 else ""
        warnings.warn(
            f"{path}: {done} despite {count} library warning{'s' if count > 1 else ''}: {self.messages[0]}{more}",
            ReaderWarning,
            stacklevel=stacklevel,
        )

    def _add(self, library: str, text: str) -> None:
        lines = str(text).strip().splitlines()
        # The first line only: pydicom's log of a decoder failure carries the whole traceback.
        text = _BOILERPLATE.sub("", " ".join(lines[0].split())) if lines else ""
        if len(text) > MAX_QUOTED:
            text = text[: MAX_QUOTED - 3] + "..."
        message = f"{library}: {text}"
        if message not in self.messages:
            self.messages.append(message)

    def _on_warning(self, message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ARG002
        """Stands in for :func:`warnings.showwarning` while collecting. A ``ResourceWarning`` is about an object
        the garbage collector happened to finalise while the file was read (an unclosed temporary folder of other
        code), never about the file: it is not counted as the file's (session 48: "read despite 1 library warning:
        ResourceWarning: Implicitly cleaning up <TemporaryDirectory ...>" was said of NM1 in a test run)."""
        if issubclass(category, ResourceWarning):
            return
        if issubclass(category, ReaderWarning):
            self._own.append(warnings.WarningMessage(message, category, filename, lineno))
        else:
            self._add(_library_of(filename, category), str(message))


class _Collector(logging.Handler):
    def __init__(self, collected: LibraryMessages) -> None:
        super().__init__(level=logging.WARNING)
        self.collected = collected

    def emit(self, record: logging.LogRecord) -> None:
        self.collected._add(record.name.split(".")[0], record.getMessage())


def _library_of(filename: str, category: type[Warning]) -> str:
    """The library that issued a warning, from the file it was raised in (else the warning's class)."""
    parts = Path(str(filename)).parts
    for library in ("pydicom", "tifffile", "PIL", "numpy"):
        if library in parts:
            return library
    return category.__name__


@contextlib.contextmanager
def library_messages(*loggers: str) -> Iterator[LibraryMessages]:
    """Record (never print) warnings and the named libraries' log records for the duration.

    Args:
        loggers: logger names to silence and record, e.g. ``"pydicom"``, ``"tifffile"``.

    Yields:
        The :class:`LibraryMessages` being collected; it fills up while the block runs, so an error
        raised inside the block can already use :meth:`LibraryMessages.hint`.

    Example::

        with library_messages("pydicom") as said:
            try:
                ds = pydicom.dcmread(path)
            except Exception as exc:
                raise ScintisegError(f"unreadable DICOM file{said.hint()}", path=path) from None
        said.warn_once(path)
    """
    collected = LibraryMessages()
    handler = _Collector(collected)
    saved = []
    for name in loggers:
        logger = logging.getLogger(name)
        saved.append((logger, logger.handlers[:], logger.propagate, logger.level))
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = collected._on_warning  # restored by catch_warnings on exit
            yield collected
    finally:
        for logger, handlers, propagate, level in saved:
            logger.handlers = handlers
            logger.propagate = propagate
            logger.setLevel(level)
