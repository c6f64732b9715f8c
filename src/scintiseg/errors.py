"""The one user-facing exception type.

Every failure a user can cause (a file that is not what it claims, a bad argument, an inconsistent
data set) raises :class:`ScintisegError` with a message that names the file and the problem. The CLI
prints it as one line and exits with status 2; nothing else is caught there, so a programming error
still shows its traceback.
"""

from __future__ import annotations

from os import PathLike


class ScintisegError(Exception):
    """A problem with the user's input, reported as ``<path>: <problem>``.

    Args:
        message: what is wrong, in one line.
        path: the file or folder concerned, if any; prefixed to the message.

    Example::

        raise ScintisegError("not a DICOM file (no 'DICM' at offset 128)", path="scan.dcm")
    """

    def __init__(self, message: str, path: str | PathLike[str] | None = None) -> None:
        self.path = None if path is None else str(path)
        self.problem = " ".join(str(message).split())  # always one line
        super().__init__(f"{self.path}: {self.problem}" if self.path else self.problem)
