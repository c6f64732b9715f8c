"""scintiseg: find and delineate bone-metastasis lesions in planar bone scintigraphy.

The package is laid out in the layers of docs/architecture.md (import-linter's layers contract in
pyproject.toml): a module imports only the layers below its own, and the modules of one row do not import
each other. A scan is read at ``io`` and travels up::

    cli                          one entry point
    experiments                  paper tables, augmentation, demo
    gan                          paper B's DCGAN
    report                       what a person or a PACS reads
    predict | train
    models | losses | metrics
    prepare | phantom
    config | formats
    io                           reading and writing files
    scan                         Scan, Shape, Annotation
    geometry | display | seeds
    errors

``Scan`` and ``Annotation`` (:mod:`scintiseg.scan`) are the objects every stage passes on, and
:class:`scintiseg.errors.ScintisegError` is the one exception type a user ever sees.
"""

from typing import TYPE_CHECKING

from scintiseg.errors import ScintisegError

if TYPE_CHECKING:
    from scintiseg.scan import Annotation, Scan, Shape

__version__ = "0.1.0"
__all__ = ["Annotation", "Scan", "ScintisegError", "Shape", "__version__"]

_SCAN_TYPES = ("Annotation", "Scan", "Shape")


def __getattr__(name: str):
    """``Scan``, ``Shape`` and ``Annotation`` on first use (PEP 562).

    They import numpy and Pillow, which ``scintiseg --version`` and ``--help`` do not need: every
    ``scintiseg`` command imports this package first.
    """
    if name in _SCAN_TYPES:
        from scintiseg import scan  # lazy: start-up time

        return getattr(scan, name)
    raise AttributeError(f"module 'scintiseg' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names and the lazily imported ones (tab completion, ``help()``)."""
    return sorted(set(globals()) | set(__all__))
