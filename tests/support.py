"""What several test folders share: another folder's conftest, and a benchmark script, loaded by path; the path to
the real NM1 scan and the skip reason that names it; a data set's outlines written as another tool's masks; an
evaluation's ``per_case.csv`` written from pixel counts; the texts of a PDF scintiseg wrote (:func:`pdf_texts`).

Test folders are not packages (pytest runs with ``--import-mode=importlib``), so a fixture builder that
lives in ``tests/train/conftest.py`` cannot be imported by name from ``tests/cli``. ``pyproject.toml``
puts ``tests/`` on ``sys.path`` (``pythonpath``) for this module only.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from scintiseg.io.dataset import load_case, load_manifest
from scintiseg.io.nnunet import nnunet_identifier, write_nifti_view

TESTS = Path(__file__).resolve().parent
BENCHMARKS = TESTS.parent / "benchmarks"
#: ../shared/data/real beside the repository: the real NEMA NM1 files (read-only). Tests that need them skip, naming
#: this path, where it is absent (a clone elsewhere); CI clones main with ../shared beside it.
REAL = TESTS.parent.parent / "shared" / "data" / "real"
REAL_NM1 = REAL / "nema-wg04-nm1-wholebody.dcm"
NO_REAL_NM1 = f"the real NEMA NM1 scan is not at {REAL_NM1}"


def conftest_of(folder: str) -> ModuleType:
    """The module ``tests/<folder>/conftest.py``, loaded once per session."""
    name = f"_scintiseg_tests_{folder.replace('/', '_')}_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, TESTS / folder / "conftest.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def write_masks(data: Path, folder: Path, change: Callable[[str, np.ndarray], np.ndarray] | None = None, *,
                cases: Iterable[str] | None = None) -> Path:
    """Every outlined view's true mask of the data set ``data`` (all cases, or those named in ``cases``) written to
    the new ``folder`` as another tool's prediction (``<case>_<VIEW>.nii.gz``, what ``evaluate --predictions``
    scores), ``change(identifier, mask)`` editing each; returns ``folder``."""
    folder.mkdir()
    manifest = load_manifest(data)
    for case in manifest.cases if cases is None else [manifest.case(case_id) for case_id in cases]:
        scan, masks = load_case(data, case)
        for view, mask in masks.items():
            identifier = nnunet_identifier(case.case_id, view)
            write_nifti_view(change(identifier, mask) if change else mask, scan.pixel_spacing,
                             folder / f"{identifier}.nii.gz")
    return folder


def per_case_row(case_id: str, patient_id: str, tp: int, fp: int, fn: int, false_blobs: int = 0,
                 pixels: int = 64 * 64) -> dict:
    """One image's ``per_case.csv`` row (:func:`scintiseg.train.evaluate.image_row`, the evaluation's own builder) from
    its pixel counts: one lesion, found when any of its pixels is, and ``false_blobs`` false components."""
    from scintiseg.train.evaluate import image_row  # lazy: torch, for the tests that write evaluations only

    detection = {"lesions": int(tp + fn > 0), "detected": int(tp > 0), "false_positives": false_blobs}
    return image_row(case_id, patient_id, np.array([tp, fp, fn, pixels - tp - fp - fn]), detection)


def write_per_case(out: Path, key: str, rows: list[dict]) -> Path:
    """``out/<key>/eval-test/per_case.csv`` as ``evaluate_run`` writes it (a demo network's evaluation); returns it."""
    from scintiseg.train.evaluate import _csv_text  # lazy: as above

    path = out / key / "eval-test" / "per_case.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_csv_text(rows), encoding="utf-8")
    return path


@contextlib.contextmanager
def benchmark_module(name: str) -> Iterator[ModuleType]:
    """``benchmarks/<name>.py`` (a script, not a package) imported as ``name`` for its tests.

    Registered in ``sys.modules`` while in use (its dataclasses resolve annotations there); on exit it and every
    sibling script it imported by name are dropped, so the next test loads them afresh.
    """
    before = set(sys.modules)
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        for loaded in set(sys.modules) - before:
            if Path(getattr(sys.modules[loaded], "__file__", None) or "/").parent == BENCHMARKS:
                sys.modules.pop(loaded, None)


def gdcm_recompressed(source: Path, target: Path, syntax: str) -> Path:
    """``source`` re-encoded by GDCM as an archive would, in ``syntax`` (a ``gdcm.TransferSyntax`` name, e.g.
    ``"JPEGLosslessProcess14_1"``); GDCM's reader aborts on NM detector items without a position, so ``source``
    is NM1 or a file without a Detector Information Sequence."""
    import gdcm

    reader = gdcm.ImageReader()
    reader.SetFileName(str(source))
    assert reader.Read()
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(getattr(gdcm.TransferSyntax, syntax)))
    change.SetInput(reader.GetImage())
    assert change.Change()
    writer = gdcm.ImageWriter()
    writer.SetFileName(str(target))
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    assert writer.Write()
    return Path(target)


#: The eight ways of storing a view (tests of scintiseg.io.patient_sides and .stored_points): (numpy.rot90's quarter
#: turns, then a mirror of the columns or not).
EIGHT = [(k, flip) for k in range(4) for flip in (False, True)]


def stored_way(image, k: int, flip: bool):
    """``image`` stored one of the eight ways (:data:`EIGHT`)."""
    turned = np.rot90(image, k)
    return np.ascontiguousarray(turned[:, ::-1] if flip else turned)


def upright_letters(rows, cols, right_letter_of_plus_col: str) -> str:
    """The patient directions (Patient Orientation, ``"L\\F"``) of a stored image whose pixels hold their upright
    (row, column): where its columns, then its rows, grow. Upright: rows grow to the feet, columns to
    ``right_letter_of_plus_col``."""
    other = {"L": "R", "R": "L"}[right_letter_of_plus_col]

    def direction(d_row: int, d_col: int) -> str:
        if d_row:
            return "F" if d_row > 0 else "H"
        return right_letter_of_plus_col if d_col > 0 else other

    along_columns = direction(int(rows[0, 1] - rows[0, 0]), int(cols[0, 1] - cols[0, 0]))
    along_rows = direction(int(rows[1, 0] - rows[0, 0]), int(cols[1, 0] - cols[0, 0]))
    return f"{along_columns}\\{along_rows}"


def blob_settings(*args, **kwargs):
    """:class:`~scintiseg.predict.pipeline.PredictSettings` for a probability map of blobs injected with no focus
    behind them in the counts. The pipeline's count-based reading rules would judge such a blob on plain bone
    as what a reader reads as normal (:mod:`scintiseg.predict.spine_pattern`: no hotter than the vertebrae above
    and below; :mod:`scintiseg.predict.symmetry`: no hotter than the mirror spot) and leave it out, and a blob
    placed in the soft tissue lies off the skeleton (:mod:`scintiseg.predict.off_skeleton`), one near a hand at the
    injection arm (:mod:`scintiseg.predict.distal_arm`); a test of what comes after them (pairing, measurements,
    reports, DICOM) turns them off. The rules have their own tests."""
    from scintiseg.predict.pipeline import PredictSettings

    return PredictSettings(*args, **{"spine_pattern": False, "symmetry": False, "off_skeleton": False,
                                     "distal_arm": False, **kwargs})


def dicom_breaking_the_standard(scan, path: Path, **attributes) -> Path:
    """``scan`` written as DICOM to ``path``, then ``attributes`` set to values the standard does not allow (an
    over-long UID or name), as a department's archive may hold: pydicom's checks are switched off for the write."""
    import warnings

    import pydicom
    from pydicom import config

    from scintiseg.io.dicom import write_dicom

    write_dicom(scan, path)
    ds = pydicom.dcmread(path)
    mode = config.settings.writing_validation_mode
    config.settings.writing_validation_mode = config.IGNORE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for keyword, value in attributes.items():
                setattr(ds, keyword, value)
            ds.save_as(path)
    finally:
        config.settings.writing_validation_mode = mode
    return path


@dataclass(frozen=True)
class PdfText:
    """One text object (``BT`` ... ``ET``) of a PDF page: its page (0-based), where it starts (points from the page's
    bottom left corner), its font size (points) and its characters."""

    page: int
    x: float
    y: float
    size: float
    text: str


_PDF_TOKENS = re.compile(rb"\((?:\\.|[^\\)])*\)|\bBT\b|\bET\b|(-?[\d.]+) (-?[\d.]+) cm\b|(-?[\d.]+) Tf\b")
_PDF_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _pdf_string(raw: bytes) -> str:
    """A PDF literal string's characters (its escapes undone): one byte a character, as matplotlib's Type 3 fonts write
    them, or two (UTF-16, big-endian) for its TrueType ones."""
    out = re.sub(rb"\\([0-7]{1,3}|.)", lambda m: bytes([int(m.group(1), 8)]) if m.group(1)[:1].isdigit()
                 else _PDF_ESCAPES.get(m.group(1), m.group(1)), raw, flags=re.S)
    wide = len(out) % 2 == 0 and out and not any(out[0::2])
    return out.decode("utf-16-be") if wide else out.decode("latin-1")


def pdf_texts(pdf: bytes) -> list[PdfText]:
    """Every text object of a PDF matplotlib wrote, page by page in drawing order: the string operands of its ``Tj`` /
    ``TJ`` operators joined (kerning splits a word into one string per glyph), where the ``cm`` before it puts it, its
    ``Tf`` size. Enough to read back a PDF scintiseg writes (``report.pdf``) without a PDF library: its page content
    streams (Flate) are told from its images by their text operators; characters drawn as shapes (above code 255 in
    a Type 3 font: ``•``, ``–``) are not text and are missing."""
    found: list[PdfText] = []
    page = -1
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:  # (a decompressor object: the end-of-line before "endstream", or a byte of the data, left over is no error)
            content = zlib.decompressobj().decompress(stream)
        except zlib.error:
            continue
        if not re.search(rb"\bBT\n/F\d+ [\d.]+ Tf", content):
            continue  # an image, a glyph procedure
        page += 1
        x = y = size = 0.0
        parts: list[str] | None = None
        for match in _PDF_TOKENS.finditer(content):
            token = match.group(0)
            if token == b"BT":
                parts = []
            elif token == b"ET" and parts is not None:
                found.append(PdfText(page, x, y, size, "".join(parts)))
                parts = None
            elif match.group(1) is not None:
                x, y = float(match.group(1)), float(match.group(2))
            elif match.group(3) is not None:
                size = float(match.group(3))
            elif token.startswith(b"(") and parts is not None:
                parts.append(_pdf_string(token[1:-1]))
    return found


def pdf_page_count(pdf: bytes) -> int:
    """The number of page objects (``/Type /Page``) of a PDF."""
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


def assert_all_lists_public_names(module: ModuleType) -> None:
    """``module.__all__`` names every public function and class the module defines (not those it imports), and only
    names it has that are not private (API audit 74, finding 16: without ``__all__``, ``import *`` also gave the
    module's own imports)."""
    import inspect  # lazy: these checks only

    defined = {name for name, value in vars(module).items() if not name.startswith("_")
               and (inspect.isfunction(value) or inspect.isclass(value)) and value.__module__ == module.__name__}
    assert defined <= set(module.__all__), sorted(defined - set(module.__all__))
    assert all(hasattr(module, name) and not name.startswith("_") for name in module.__all__)
