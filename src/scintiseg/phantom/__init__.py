"""The physics-based phantom: procedural 3-D patients seen by a simulated gamma camera.

``generate_patient(seed, config)`` makes one patient in memory (scan + lesion masks + instance and region
maps + metadata); ``write_cohort(n, out, seed, profile)`` writes a data set. See ``docs/phantom.md``.
"""

from scintiseg.phantom.cohort import write_cohort
from scintiseg.phantom.config import PhantomConfig, profile, profile_names
from scintiseg.phantom.patient import PhantomPatient, generate_patient
from scintiseg.phantom.regions import BONE_NAMES, REGION_IDS, REGION_NAMES, SPIERS_WEIGHTS, bsi_weights

__all__ = [
    "BONE_NAMES", "REGION_IDS", "REGION_NAMES", "SPIERS_WEIGHTS", "PhantomConfig", "PhantomPatient",
    "bsi_weights", "generate_patient", "profile", "profile_names", "write_cohort",
]
