import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.prepare.body import body_mask


def test_real_scan_body_is_one_patient_sized_region(real_scan):
    mask = body_mask(real_scan.view("ANT"), real_scan.pixel_spacing)
    rows = np.flatnonzero(mask.any(axis=1))
    # The NM1 patient spans about rows 90 to 860 (crown to feet), never the empty top and bottom.
    assert 70 <= rows[0] <= 110 and 830 <= rows[-1] <= 880
    assert not mask[:60].any() and not mask[900:].any()
    # The gap between the legs at row 600 (columns ~125-140) is background.
    assert not mask[600, 128:136].any()


def test_blank_image_is_an_error():
    with pytest.raises(ScintisegError, match="no body"):
        body_mask(np.zeros((512, 256), dtype=np.uint16))


def test_uniform_noise_is_an_error():
    noise = np.random.default_rng(0).poisson(20.0, size=(512, 256))
    with pytest.raises(ScintisegError, match="no body outline"):
        body_mask(noise)


def test_point_source_is_not_a_body():
    image = np.zeros((512, 256), dtype=np.uint16)
    image[100:103, 100:103] = 500
    with pytest.raises(ScintisegError, match="no body"):
        body_mask(image)


def test_unchecked_blank_gives_empty_mask():
    assert not body_mask(np.zeros((64, 64)), check=False).any()
