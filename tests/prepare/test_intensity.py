import numpy as np
import pytest
from skimage.draw import ellipse

from scintiseg.errors import ScintisegError
from scintiseg.prepare.body import body_mask
from scintiseg.prepare.degrade import export_8bit
from scintiseg.prepare.intensity import METHODS, normalise, robust_scale
from scintiseg.prepare.thinning import binomial_thin


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
    assert set(METHODS) == {"none", "percentile", "log", "zscore", "robust"}


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


# --- "robust" ----------------------------------------------------------------------------------------

SPINE = 5.0


def synthetic_rates() -> np.ndarray:
    """Expected counts of a plain body: soft tissue 1, spine 5, ribs 3, a hot bladder 25, background 0.02.

    The bone ridge covers only about 12 % of the body: a hard case for a percentile of the body.
    """
    rates = np.full((1024, 256), 0.02)
    rates[ellipse(512, 128, 420, 70, shape=rates.shape)] = 1.0
    rates[200:700, 122:134] = SPINE
    for k in range(12):
        rates[220 + 25 * k : 224 + 25 * k, 70:186] = 3.0
    rates[ellipse(760, 128, 20, 25, shape=rates.shape)] = 25.0
    return rates


@pytest.fixture(scope="module")
def six_million():
    rates = synthetic_rates()
    counts = np.random.default_rng(5).poisson(rates * 6e6 / rates.sum()).astype(np.float32)
    return counts, rates == SPINE


def test_robust_is_invariant_to_a_global_gain(six_million):
    counts, _ = six_million
    once = normalise(counts, "robust")
    gained = normalise(2.5 * counts, "robust")
    assert np.allclose(gained, once, rtol=0.01, atol=1e-6)
    assert robust_scale(2.5 * counts) == pytest.approx(2.5 * robust_scale(counts), rel=1e-4)


def _bone_level_ratio(counts, spine, method, level, seeds=(1, 2, 3, 4)) -> float:
    """Normalised spine mean at ``level`` counts (thinned, mean of ``seeds``) over that at 6 M."""
    reference = normalise(counts, method)[spine].mean()
    thinned = [binomial_thin(counts, level / counts.sum(), np.random.default_rng(s)) for s in seeds]
    return float(np.mean([normalise(t, method)[spine].mean() for t in thinned]) / reference)


def test_robust_is_stable_down_to_150k_counts_where_percentile_is_not(six_million):
    counts, spine = six_million
    # At 0.15 M a body pixel holds about 1 count: the raw 99th percentile rides on the noise.
    assert abs(_bone_level_ratio(counts, spine, "robust", 0.15e6) - 1) < 0.03
    assert abs(_bone_level_ratio(counts, spine, "percentile", 0.15e6) - 1) > 0.03
    assert abs(_bone_level_ratio(counts, spine, "robust", 1e6) - 1) < 0.01


def test_robust_holds_for_a_clipped_8bit_jpeg_export(six_million):
    counts, spine = six_million
    low = binomial_thin(counts, 0.5e6 / counts.sum(), np.random.default_rng(9))
    grey = export_8bit(low, saturation=0.4, jpeg_quality=75).astype(np.float32)
    assert (grey == 255).any()  # the bladder is clipped

    def ratio(method: str) -> float:
        return float(normalise(grey, method)[spine].mean() / normalise(counts, method)[spine].mean())

    # The clipped bladder's halo lowers the smoothed 90th percentile a little (measured 3.6 %).
    assert ratio("robust") == pytest.approx(1.0, abs=0.05)
    assert abs(ratio("robust") - 1) < abs(ratio("percentile") - 1)


def test_robust_ignores_zero_padding(six_million):
    counts, _ = six_million
    crop = counts[150:450]
    padded = np.zeros((1024, 512), dtype=np.float32)
    padded[300:600, 100:356] = crop
    # Within a few %: only the smoothing next to the cut edges sees the zeros (the crop alone is reflected).
    assert robust_scale(padded) == pytest.approx(robust_scale(crop), rel=0.05)
    tiny_body = np.zeros((1024, 1024), dtype=np.float32)
    tiny_body[300:600, 100:356] = crop  # a crop in 7 % of the frame: the scale must not drop to the padding
    assert robust_scale(tiny_body) == pytest.approx(robust_scale(crop), rel=0.05)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", [(0, 0), (1, 1), (3, 5), (256, 256), (2, 16, 16), (2, 0, 4)])
def test_no_counts_never_divides_by_zero(method, shape):
    for image in (np.zeros(shape, dtype=np.float32), np.ones(shape, dtype=np.float32)):
        out = normalise(image, method)
        assert out.shape == image.shape and np.isfinite(out).all()
    if method == "robust":
        assert not normalise(np.zeros(shape), method).any()


def test_robust_on_a_single_hot_pixel_is_finite():
    image = np.zeros((64, 64), dtype=np.float32)
    image[10, 10] = 7.0
    out = normalise(image, "robust")
    assert np.isfinite(out).all() and out[10, 10] > 0


def test_robust_scale_smooths_by_sigma_mm_over_each_axis_own_spacing(six_million):
    from scipy import ndimage as ndi

    counts, _ = six_million
    body = synthetic_rates() >= 1.0
    # Non-square pixels: 6 mm is 3 pixels along the rows and 1.5 along the columns.
    expected = np.percentile(ndi.gaussian_filter(counts, sigma=(3.0, 1.5), mode="reflect")[body], 90)
    scale = robust_scale(counts, (2.0, 4.0), body, sigma_mm=6.0, percentile=90)
    assert scale == pytest.approx(float(expected), rel=1e-5)


def test_a_given_body_mask_is_used_for_every_channel_of_a_stack(image_and_body):
    image, body = image_and_body
    region = np.zeros_like(body)
    region[200:300, 60:200] = True  # not the body: a stack must use it as given, as a single channel does
    stack = np.stack([image, 2 * image]).astype(np.float32)
    for method in ("percentile", "zscore", "robust"):
        out = normalise(stack, method, region)
        for k in range(2):
            assert np.allclose(out[k], normalise(stack[k], method, region), rtol=1e-5, atol=1e-5)
