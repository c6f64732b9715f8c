"""Compressed DICOM pixel data that only GDCM decodes, decoded in a child process.

Why. PACS archives keep NM images losslessly compressed, most often as JPEG Lossless (Process 14, selection
value 1), which pydicom decodes only through a plugin. GDCM (``python-gdcm``, BSD-licensed; the other route,
pylibjpeg-libjpeg, is GPL) decodes it, but on hostile input it can end the process: an uncaught C++ exception
aborts it (signal 6). Measured with ``benchmarks/bench_fuzz.py --kinds dicom --n 800`` once GDCM was installed
(session 21): 4 of 800 mutated files aborted the reader (a corrupt JPEG baseline stream, a JPEG 2000 or JPEG-LS
file whose header was changed), where without GDCM all 800 ended in an accept or a one-line error. A reader that
dies without a word on one bad file of a folder breaks the rule every reader keeps.

So, in this process, GDCM never decodes: a transfer syntax that another installed plugin decodes (JPEG baseline
and extended and JPEG 2000 by Pillow, JPEG-LS by pyjpegls, RLE by pydicom itself) is decoded by that plugin, as
before GDCM was installed (:func:`in_process_plugin`); a syntax that only GDCM decodes (JPEG Lossless, Processes 14
and 14 SV1) is decoded by a fresh Python in a child process (:func:`decode_in_child`), whose death is reported
as one error. The child costs about 0.3 s (start-up and imports) per file, paid only by such files.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from scintiseg.errors import ScintisegError

#: The plugin never run in this process (module docstring).
ISOLATED_PLUGIN = "gdcm"
#: Seconds a child may take to decode one file (a 2 x 1024 x 512 JPEG Lossless study takes about 0.1 s).
CHILD_TIMEOUT_S = 120.0

# The child: read the file, decode with GDCM, write the array as .npy to stdout; a Python error as one line.
_CHILD = """
import io
import sys
import numpy as np
import pydicom
try:
    ds = pydicom.dcmread(sys.argv[1])
    ds.pixel_array_options(decoding_plugin="gdcm")
    array = np.ascontiguousarray(ds.pixel_array)
except Exception as exc:
    sys.stderr.write(f"{type(exc).__name__}: {exc}".replace("\\n", " ") + "\\n")
    sys.exit(3)
buffer = io.BytesIO()  # np.save to a pipe fails (it asks the file's position): through memory
np.save(buffer, array, allow_pickle=False)
sys.stdout.buffer.write(buffer.getvalue())
"""


def in_process_plugin(syntax) -> str | None:
    """The decoding plugin this process uses for ``syntax``: ``""`` (pydicom's choice) when GDCM is not among
    the available ones, the first other available plugin when it is, None when GDCM is the only one (decode
    in a child, :func:`decode_in_child`)."""
    from pydicom.pixels import get_decoder  # lazy: start-up time; only compressed files get here

    try:
        available = tuple(get_decoder(syntax).available_plugins)
    except (NotImplementedError, ValueError, KeyError):  # no decoder for this syntax: pydicom says so itself
        return ""
    if ISOLATED_PLUGIN not in available:
        return ""
    others = [plugin for plugin in available if plugin != ISOLATED_PLUGIN]
    return others[0] if others else None


def decode_in_child(ds: Dataset, path) -> np.ndarray:
    """The pixel array of ``ds`` (read from ``path``, or from a temporary copy when it has no file), decoded by
    GDCM in a child process. Raises a :class:`~scintiseg.errors.ScintisegError` naming what went wrong when the
    child fails, dies or does not finish."""
    source = Path(path) if path is not None and Path(path).is_file() else None
    with tempfile.TemporaryDirectory(prefix="scintiseg-decode-") as scratch:
        if source is None:
            source = Path(scratch) / "pixels.dcm"
            ds.save_as(source, enforce_file_format=False)
        try:
            done = subprocess.run([sys.executable, "-I", "-c", _CHILD, str(source)], capture_output=True,
                                  timeout=CHILD_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise ScintisegError(f"the GDCM decoder did not finish within {CHILD_TIMEOUT_S:g} s", path=path) from None
    said = " ".join(done.stderr.decode("utf-8", errors="replace").split())[:160]
    if done.returncode < 0:
        raise ScintisegError(f"cannot decode pixel data: the GDCM decoder crashed (signal {-done.returncode})"
                             + (f" ({said})" if said else ""), path=path)
    if done.returncode != 0:
        raise ScintisegError(f"cannot decode pixel data (gdcm: {said or f'exit status {done.returncode}'})", path=path)
    try:
        return np.load(io.BytesIO(done.stdout), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ScintisegError(f"cannot decode pixel data (the GDCM decoder's output is unreadable: {exc})",
                             path=path) from None
