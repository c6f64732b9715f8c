"""Shared phantom patients for the phantom tests (generated once per session: they take ~0.5 s each)."""

import pytest

from scintiseg.phantom import generate_patient, profile


@pytest.fixture(scope="session")
def default_patient():
    return generate_patient(11, profile("metastatic"))


@pytest.fixture(scope="session")
def small_config():
    return profile("small")
