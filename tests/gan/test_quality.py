"""Quality statistics on synthetic count images with known answers."""

import numpy as np

from scintiseg.gan.quality import (
    CountCase,
    compare,
    lesion_statistics,
    memorisation,
    memorisation_vectors,
    noise_statistics,
    whole_image_spectrum,
)


def body_image(rng, size=64, level=60.0, hot=None, poisson=True):
    yy, xx = np.mgrid[:size, :size]
    expected = np.where(((yy - size / 2) / (0.45 * size)) ** 2 + ((xx - size / 2) / (0.4 * size)) ** 2 < 1, level, 0.5)
    mask = np.zeros((size, size), bool)
    if hot is not None:
        cy, cx, r, factor = hot
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        expected = np.where(mask, expected * factor, expected)
    image = rng.poisson(expected) if poisson else np.rint(expected)
    return image.astype(np.uint16), mask


def cases(seed, n=4, **kwargs):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        img, mask = body_image(rng, **kwargs)
        out.append(CountCase([img], [mask]))
    return out


def test_noise_tells_poisson_from_smooth_images():
    poisson = noise_statistics(cases(0))["fano"]
    smooth = noise_statistics(cases(0, poisson=False))["fano"]
    assert 0.7 < poisson < 1.05
    assert smooth < 0.1


def test_lesion_statistics_find_one_hot_disc_and_its_contrast():
    stats = lesion_statistics(cases(1, hot=(30, 30, 4, 3.0)))
    assert stats["lesions_per_view"]["mean"] == 1
    assert stats["size_px"]["median"] == np.count_nonzero(body_image(np.random.default_rng(0), hot=(30, 30, 4, 3.0))[1])
    assert 2.5 < stats["contrast"]["median"] < 3.5
    assert stats["views_without_lesion"] == 0


def test_memorisation_flags_copies_and_not_fresh_samples():
    training = cases(2, n=6, hot=(30, 30, 4, 3.0))
    copies = memorisation(memorisation_vectors(training[:3], 2.0), memorisation_vectors(training, 2.0))
    assert copies["possible_copies"] == 1.0 and copies["nn_generated_to_train_median"] == 0
    fresh = memorisation(memorisation_vectors(cases(3, n=3, hot=(40, 20, 5, 2.0)), 2.0), memorisation_vectors(training, 2.0))
    assert fresh["possible_copies"] < 1.0 and fresh["ratio"] > copies["ratio"]


def test_compare_same_distribution_gives_flat_spectrum_ratio_and_small_distance():
    real, same, smooth = cases(4, n=6), cases(5, n=6), cases(6, n=6, poisson=False)
    stats_same = compare(real, same, real, 2.0)
    stats_smooth = compare(real, smooth, real, 2.0)
    assert abs(stats_same["spectrum"]["log10_ratio_by_band"]["high"]) < 0.1
    assert stats_smooth["spectrum"]["log10_ratio_by_band"]["high"] < -0.5  # no counting noise
    assert stats_same["counts"]["wasserstein_relative"] < 0.05


def test_whole_image_spectrum_peaks_at_a_stripe_pattern_frequency():
    """Stripes of 8 pixels (0.125 cycles/pixel) across a crop: the power lies in the ring of that frequency."""
    columns = np.arange(64)
    stripes = np.rint(50 + 20 * np.cos(2 * np.pi * 0.125 * columns))[None, :].repeat(64, axis=0).astype(np.uint16)
    freq, power = whole_image_spectrum([CountCase([stripes], [np.zeros(stripes.shape, bool)])])
    assert freq.shape == power.shape == (32,) and freq[0] > 0 and freq[-1] < 0.5
    assert abs(freq[np.argmax(power)] - 0.125) <= 0.5 / 32
    assert power[np.argmax(power)] > 100 * np.median(power)


def test_lesions_touching_at_a_corner_are_one_lesion():
    """Connected components by 8-connectivity (module docstring): two blocks meeting diagonally are one lesion."""
    rng = np.random.default_rng(7)
    image, _ = body_image(rng)
    mask = np.zeros(image.shape, bool)
    mask[28:32, 28:32] = True
    mask[32:36, 32:36] = True  # shares only a corner with the first block
    stats = lesion_statistics([CountCase([image], [mask])])
    assert stats["lesions_per_view"]["mean"] == 1 and stats["size_px"]["median"] == 32


def test_compare_measures_memorisation_against_the_training_cases_not_all_real_ones():
    """``gan evaluate`` passes the run's training cases apart from the real crops: copies of training cases are
    flagged even when the real crops compared are other ones."""
    training = cases(2, n=6, hot=(30, 30, 4, 3.0))
    other_real = cases(8, n=6, hot=(40, 20, 5, 2.0))
    stats = compare(other_real, training[:3], training, 2.0)
    assert stats["memorisation"]["possible_copies"] == 1.0
    assert stats["memorisation"]["nn_generated_to_train_median"] == 0
