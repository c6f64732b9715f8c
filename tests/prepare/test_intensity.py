import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.prepare.body import body_mask
from scintiseg.prepare.intensity import METHODS, normalise


@pytest.fixture(scope="module")
def image_and_body(make_toy_scan):
    scan, _ = make_toy_scan(20)
    image = scan.view("ANT")[100:612]
    return image, body_mask(image)


def test_percentile_puts_the_body_percentile_at_one(image_and_body):
    image, body = image_and_body
    out = normalise(image, "percentile", body, percentile=99)
    assert out.dtype == np.float32
    assert np.percentile(out[body], 99) == pytest.approx(1.0, rel=1e-5)


def test_zscore_standardises_inside_the_body(image_and_body):
    image, body = image_and_body
    out = normalise(image, "zscore", body)
    assert out[body].mean() == pytest.approx(0.0, abs=1e-4)
    assert out[body].std() == pytest.approx(1.0, rel=1e-4)
    assert out[~body].mean() < 0  # background is below the body's mean


@pytest.mark.parametrize("method", ["percentile", "zscore"])
def test_count_level_is_removed(image_and_body, method):
    image, body = image_and_body
    once = normalise(image.astype(np.float32), method, body)
    triple = normalise(3.0 * image.astype(np.float32), method, body)
    assert np.allclose(once, triple, atol=1e-4)


def test_log_and_none(image_and_body):
    image, _ = image_and_body
    assert np.allclose(normalise(image, "log"), np.log1p(image.astype(np.float64)), atol=1e-5)
    assert np.array_equal(normalise(image, "none"), image.astype(np.float32))
    assert set(METHODS) == {"none", "percentile", "log", "zscore"}


def test_body_is_found_when_not_given(image_and_body):
    image, body = image_and_body
    assert np.allclose(normalise(image, "zscore"), normalise(image, "zscore", body))


def test_channels_are_normalised_separately(image_and_body):
    image, body = image_and_body
    stack = np.stack([image, 2 * image]).astype(np.float32)
    out = normalise(stack, "percentile", body)
    assert out.shape == stack.shape and np.allclose(out[0], out[1], atol=1e-5)


def test_unknown_method_is_an_error(image_and_body):
    with pytest.raises(ScintisegError, match="unknown intensity"):
        normalise(image_and_body[0], "minmax")
