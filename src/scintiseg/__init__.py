"""scintiseg: find and delineate bone-metastasis lesions in planar bone scintigraphy.

The package is laid out as the pipeline a scan travels down::

    io -> prepare -> models -> train / experiments -> predict (report)

``Scan`` and ``Annotation`` (:mod:`scintiseg.scan`) are the objects every stage passes on, and
:class:`scintiseg.errors.ScintisegError` is the one exception type a user ever sees.
"""

from scintiseg.errors import ScintisegError
from scintiseg.scan import Annotation, Scan, Shape

__version__ = "0.1.0"
__all__ = ["Annotation", "Scan", "ScintisegError", "Shape", "__version__"]
