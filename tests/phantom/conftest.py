"""Shared phantom patients for the phantom tests (generated once per session: they take ~0.5 s each)."""

import numpy as np
import pytest

from scintiseg.phantom import generate_patient, profile
from scintiseg.phantom.anatomy import build_anatomy, sample_body
from scintiseg.phantom.patient import patient_grid
from scintiseg.phantom.primitives import Grid


@pytest.fixture(scope="session")
def default_patient():
    return generate_patient(11, profile("metastatic"))


@pytest.fixture(scope="session")
def small_config():
    return profile("small")


@pytest.fixture
def small_anatomy():
    """A factory: the ``small`` profile's anatomy of a body drawn with ``rng`` (which goes on being drawn from)."""
    return _small_anatomy


def _small_anatomy(rng):
    config = profile("small")
    cam = config.camera
    body = sample_body(rng, config.anatomy, Grid(cam.rows, cam.cols, 1, cam.pixel_mm, cam.pixel_mm, cam.depth_mm))
    return build_anatomy(body, patient_grid(config, body.height_mm, body.build), rng, config.anatomy)[0]


@pytest.fixture(scope="session")
def small_anatomy_seed3():
    """The ``small`` profile's anatomy of the body drawn with seed 3, built once (read-only: tests must not change
    it)."""
    return _small_anatomy(np.random.default_rng(3))
