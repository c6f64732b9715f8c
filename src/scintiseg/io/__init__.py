"""Reading and writing scans, annotations and data sets.

``read_scan(path)`` reads any supported scan file (DICOM of any transfer syntax pydicom decodes,
``.npy``, 16-bit PNG or TIFF, raw matrices with an explicit shape) into a :class:`~scintiseg.scan.Scan`.
"""

from __future__ import annotations

from pathlib import Path

from scintiseg.errors import ScintisegError
from scintiseg.io.dicom import is_dicom, read_dicom
from scintiseg.io.images import read_image
from scintiseg.scan import Scan

__all__ = ["read_scan"]


def read_scan(
    path: str | Path,
    *,
    shape=None,
    dtype: str | None = None,
    byteorder: str = "<",
    pixel_spacing: tuple[float, float] | None = None,
    patient_id: str | None = None,
) -> Scan:
    """Read any supported scan file, recognised by its content (never by its name).

    The checks run in this order: an explicit ``shape`` means a raw matrix; ``DICM`` at offset 128 means
    DICOM (checked first because some DICOM files carry a TIFF header in their preamble); then the
    ``.npy``, PNG and TIFF signatures.

    Args:
        path: the file.
        shape: ``"ROWSxCOLS"`` (or a tuple) of a headerless raw matrix.
        dtype: element type of a raw matrix (default uint16).
        byteorder: ``"<"`` (default) or ``">"`` for raw matrices.
        pixel_spacing: (row, col) mm for formats without a header (default: the Scan's nominal 2.26 mm);
            ignored for DICOM, which carries its own.
        patient_id: patient id for formats without a header (default: the file name without suffix).

    Returns:
        The scan. Plain images give one view ``VIEW``, or ``ANT``/``POST`` for a ``(2, rows, cols)``
        array.

    Raises:
        ScintisegError: a file that is missing, unrecognised, corrupt or inconsistent.

    Example::

        scan = read_scan("../shared/data/real/nema-wg04-nm1-wholebody.dcm")
        scan.summary()["counts"]["ANT"]["total"]  # 3596452
    """
    path = Path(path)
    if not path.exists():
        raise ScintisegError("no such file", path=path)
    if not path.is_file():
        raise ScintisegError("not a file", path=path)
    if shape is None and is_dicom(path):
        return read_dicom(path)
    array = read_image(path, shape=shape, dtype=dtype, byteorder=byteorder)
    views = {"VIEW": array} if array.ndim == 2 else {"ANT": array[0], "POST": array[1]}
    kwargs = {} if pixel_spacing is None else {"pixel_spacing": tuple(pixel_spacing)}
    return Scan(views=views, patient_id=path.stem if patient_id is None else patient_id, source=path, **kwargs)
