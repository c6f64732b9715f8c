"""Tests of :mod:`scintiseg.errors`: the one user-facing exception, ``<path>: <problem>`` on one line.

The CLI's handling of it (one line on stderr, exit status 2) is tested in tests/cli/test_cli_main.py.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from scintiseg.errors import ScintisegError


def test_the_path_prefixes_the_problem_and_is_kept_as_text():
    error = ScintisegError("not a DICOM file (no 'DICM' at offset 128)", path=Path("scans") / "a.dcm")
    assert str(error) == "scans/a.dcm: not a DICOM file (no 'DICM' at offset 128)"
    assert error.path == "scans/a.dcm" and isinstance(error.path, str)
    assert error.problem == "not a DICOM file (no 'DICM' at offset 128)"


def test_without_a_path_the_message_is_the_problem_alone():
    error = ScintisegError("bad argument")
    assert str(error) == error.problem == "bad argument" and error.path is None
    assert ScintisegError("bad argument", path="").path == ""  # an empty path names nothing: no ": " prefix
    assert str(ScintisegError("bad argument", path="")) == "bad argument"


@pytest.mark.parametrize("message", ["first line\nsecond line", "  first line \r\n\t second   line  ",
                                     "first line\n\nsecond line\n"])
def test_a_message_of_several_lines_or_runs_of_blanks_becomes_one_line(message):
    error = ScintisegError(message, path="case 1/scan.dcm")  # a path's own blank is kept
    assert error.problem == "first line second line"
    assert str(error) == "case 1/scan.dcm: first line second line" and "\n" not in str(error)


def test_a_message_that_is_not_text_is_said_as_text():
    cause = OSError(2, "No such file or directory")
    assert ScintisegError(cause, path="x.png").problem == "[Errno 2] No such file or directory"


def test_it_is_raised_and_caught_as_an_ordinary_exception_not_a_system_exit():
    assert issubclass(ScintisegError, Exception) and not issubclass(ScintisegError, (SystemExit, KeyboardInterrupt))
    with pytest.raises(Exception, match=r"^x\.dcm: bad$"):
        raise ScintisegError("bad", path="x.dcm")


def test_the_message_survives_pickling_as_worker_processes_send_it():
    """Generator workers (train, adapt) send their errors to the parent pickled: the line it prints is the same."""
    error = pickle.loads(pickle.dumps(ScintisegError("two\nlines", path="w.dcm")))
    assert isinstance(error, ScintisegError) and str(error) == "w.dcm: two lines"
    assert (error.path, error.problem) == ("w.dcm", "two lines")
