"""Fixtures of the experiment tests: the tiny crop data set of the GAN tests (tests are not a package)."""

import pytest

from support import conftest_of


@pytest.fixture
def real_crops(tmp_path):
    """Four 64 x 64 ANT + POST 'thoracic crops' with one lesion each (tests/gan/conftest.py)."""
    return conftest_of("gan").write_real_crops(tmp_path / "crops")
