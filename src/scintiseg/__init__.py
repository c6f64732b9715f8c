"""scintiseg: find and delineate bone-metastasis lesions in planar bone scintigraphy.

The package is laid out as the pipeline a scan travels down::

    io -> prepare -> models -> train / experiments -> predict (report)

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
