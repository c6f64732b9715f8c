"""The physics-based phantom: procedural 3-D patients seen by a simulated gamma camera.

``generate_patient(seed, config)`` makes one patient in memory (scan + lesion masks + instance and region
maps + metadata); ``write_cohort(n, out, seed, config)`` writes a data set
(``config``: a :class:`PhantomConfig` or a profile name, for both). See ``docs/phantom.md``.
"""

from typing import TYPE_CHECKING

from scintiseg.phantom.config import PhantomConfig, profile, profile_names
from scintiseg.phantom.regions import BONE_NAMES, REGION_IDS, REGION_NAMES, SPIERS_WEIGHTS, bsi_weights

if TYPE_CHECKING:
    from scintiseg.phantom.cohort import write_cohort
    from scintiseg.phantom.patient import PhantomPatient, generate_patient

__all__ = [
    "BONE_NAMES", "REGION_IDS", "REGION_NAMES", "SPIERS_WEIGHTS", "PhantomConfig", "PhantomPatient",
    "bsi_weights", "generate_patient", "profile", "profile_names", "write_cohort",
]

_PATIENT_NAMES = ("PhantomPatient", "generate_patient")


def __getattr__(name: str):
    """``generate_patient``, ``PhantomPatient`` and ``write_cohort`` on first use (PEP 562).

    They import the generator (SciPy, and the data-set writers: pydicom, Pillow, tqdm), which ``scintiseg phantom
    --help`` and every reader of :mod:`.config` do not need: importing :mod:`scintiseg.phantom.config` runs this
    file first.
    """
    if name in _PATIENT_NAMES:
        from scintiseg.phantom import patient  # lazy: start-up time

        return getattr(patient, name)
    if name == "write_cohort":
        from scintiseg.phantom import cohort  # lazy: start-up time

        return cohort.write_cohort
    raise AttributeError(f"module 'scintiseg.phantom' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names and the lazily imported ones (tab completion, ``help()``)."""
    return sorted(set(globals()) | set(__all__))
