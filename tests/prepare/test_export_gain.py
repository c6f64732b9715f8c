"""The counts behind an 8-bit export, read from its histogram's comb (scintiseg.prepare.export_gain): the gain and the
total where the comb is counts', None wherever it cannot tell (counts themselves, a gain of 1, JPEG, a display curve,
an enlarged picture)."""

from __future__ import annotations

import numpy as np
import pytest

from scintiseg.io import read_scan
from scintiseg.phantom.patient import generate_patient
from scintiseg.prepare.degrade import export_8bit
from scintiseg.prepare.export_gain import estimate_export_gain, export_gains
from scintiseg.prepare.thinning import binomial_thin
from scintiseg.scan import Scan

GAINS = (1.2, 1.5, 2.0, 2.5, 3.0)


@pytest.fixture(scope="module")
def nm1_counts(real_nm1) -> np.ndarray:
    return np.asarray(read_scan(real_nm1).view("ANT"), dtype=np.int64)


@pytest.fixture(scope="module")
def sources(nm1_counts) -> dict[str, np.ndarray]:
    """NM1 (3.6 M counts) and a default phantom patient's ANT view (2.4 M), each thinned to 0.3 of its counts."""
    phantom = np.asarray(generate_patient(1001).scan.view("ANT"), dtype=np.int64)
    rng = np.random.default_rng(0)
    return {"NM1": binomial_thin(nm1_counts, 0.3, rng), "phantom": binomial_thin(phantom, 0.3, rng)}


@pytest.mark.parametrize("gain", GAINS)
@pytest.mark.parametrize("source", ["NM1", "phantom"])
def test_the_gain_and_the_counts_of_a_lossless_export_are_read_back(sources, source, gain):
    """Thinned to 0.3 and exported at 1.2-3 grey levels per count: the gain within 2 %, and, where nothing clips,
    the total within 0.5 % (each level counted at its tooth's count: exact on a lossless export, where the grey levels'
    sum over the gain is 1-3.5 % off at a gain of 1.5). NM1 at 0.3 reaches 98 counts: at a gain of 3 its hottest
    pixels clip at 255, and its total is then a lower bound, short by less than 5 %."""
    counts = sources[source]
    estimate = estimate_export_gain(export_8bit(counts, gain=gain))
    assert estimate is not None
    assert estimate.gain == pytest.approx(gain, rel=0.02)
    clips = gain * counts.max() > 255.5
    assert estimate.lower_bound == clips
    if clips:
        assert 0.95 * counts.sum() <= estimate.counts_total <= counts.sum() and estimate.clipped_share > 0
    else:
        assert estimate.counts_total == pytest.approx(counts.sum(), rel=0.005) and estimate.clipped_share == 0


def test_counts_gain_one_and_jpeg_below_100_tell_nothing(nm1_counts, sources):
    """None on NM1's 16-bit counts, on an export at a gain of 1 (every level occupied: no comb), and through JPEG 95
    and 75 (the gaps filled); JPEG 100 keeps the comb."""
    assert estimate_export_gain(nm1_counts.astype(np.int16)) is None
    assert estimate_export_gain(nm1_counts.astype(np.uint16)) is None
    for counts in sources.values():
        assert estimate_export_gain(export_8bit(counts, gain=1.0)) is None
        for gain in (1.2, 2.0, 3.0):
            for quality in (95, 75):
                assert estimate_export_gain(export_8bit(counts, gain=gain, jpeg_quality=quality)) is None
    kept = estimate_export_gain(export_8bit(sources["NM1"], gain=2.0, jpeg_quality=100))
    assert kept is not None and kept.gain == pytest.approx(2.0, rel=0.02)


def test_a_display_curve_and_an_enlarged_export_are_refused(sources):
    """An export shown through a display gamma (its teeth no longer evenly spaced), one whose reading undid a gamma
    (``display_gamma`` in the metadata: the table bent the comb), and one enlarged by repeating each pixel 2 x 2 (a
    perfect comb at the gain, but four times the counts: the neighbours' noise is not Poisson) give None."""
    grey = export_8bit(sources["phantom"], gain=2.0)
    assert estimate_export_gain(grey) is not None
    for gamma in (0.5, 0.7, 1.5):
        table = np.clip(np.rint(255 * (np.arange(256) / 255) ** gamma), 0, 255).astype(np.uint8)
        assert estimate_export_gain(table[grey]) is None
    assert estimate_export_gain(np.repeat(np.repeat(grey, 2, axis=0), 2, axis=1)) is None
    read = Scan({"ANT": grey}, pixel_spacing=(2.26, 2.26))
    assert export_gains(read)["ANT"] is not None
    for key, value in (("display_gamma", 0.6), ("colour_table", "hot_iron")):
        assert export_gains(Scan({"ANT": grey}, pixel_spacing=(2.26, 2.26), metadata={key: value})) == {"ANT": None}


def test_float_and_offset_images_are_not_judged(sources):
    """A float view (a normalised export) is no export of counts; a comb lifted by a raised floor of half a tooth (a
    window's floor at a fraction of a count) no longer meets 0 counts at level 0."""
    grey = export_8bit(sources["phantom"], gain=3.0)
    assert export_gains(Scan({"ANT": grey.astype(np.float32)}, pixel_spacing=(2.26, 2.26))) == {}
    lifted = np.where(grey > 0, grey + 1, 0).astype(np.uint8)  # every tooth 1 level up: 1/3 of a count at gain 3
    assert estimate_export_gain(lifted) is None


def test_at_bs80k_count_level_each_level_counts_as_its_tooth():
    """A phantom view thinned to 0.15 (0.36 M counts, BS-80K's level: most body pixels hold 1-3 counts) exported at 1.5
    and 2.5 grey levels per count with NumPy's round half to even (1 count -> 2 grey levels at 1.5): the total is exact
    within 0.2 %, where the grey levels' sum over the gain is 2.3 % and 1.4 % off."""
    phantom = np.asarray(generate_patient(1001).scan.view("ANT"), dtype=np.int64)
    counts = binomial_thin(phantom, 0.15, np.random.default_rng(0))
    for gain in (1.5, 2.5):
        estimate = estimate_export_gain(export_8bit(counts, gain=gain))
        assert estimate is not None and estimate.counts_total == pytest.approx(counts.sum(), rel=0.002)


def test_a_comb_missing_a_tooth_or_placing_the_gain_loosely_is_refused(sources):
    """A dense level emptied onto the next tooth (a count value no pixel holds among thousands: not counts' histogram)
    breaks the one gain that places every tooth: None. A field of Poisson noise of mean 4 (at most 15 counts) exported
    at 2 or 3 grey levels per count has too few teeth to place the gain within 2 %: None, not a guess."""
    grey = export_8bit(sources["phantom"], gain=2.0)
    holed = np.where(grey == 20, 22, grey).astype(np.uint8)
    assert estimate_export_gain(grey) is not None and estimate_export_gain(holed) is None
    noise = np.random.default_rng(0).poisson(4, size=(256, 256))
    for gain in (2.0, 3.0):
        assert estimate_export_gain(export_8bit(noise, gain=gain)) is None


def test_a_processed_16_bit_view_is_refused_before_the_pairwise_fit(sources, monkeypatch):
    """Session 73's review: a smoothed 16-bit view (every level a "tooth") took seconds and gigabytes in the pairwise
    fit before its gain under 1.1 refused it. Levels above MAX_TOP, and more teeth than a gain of 1.1 leaves room
    for, are refused first."""
    from scipy import ndimage

    from scintiseg.prepare import export_gain

    def no_fit(*args, **kwargs):
        raise AssertionError("the pairwise fit ran")

    monkeypatch.setattr(export_gain, "_gains_placing", no_fit)
    smooth = ndimage.gaussian_filter(np.asarray(sources["phantom"], dtype=np.float64), 1.0)
    for top in (10_000, 800):  # levels far above MAX_TOP; levels under it, nearly every one filled
        image = np.rint(smooth / smooth.max() * top).astype(np.uint16)
        assert estimate_export_gain(image) is None
    # a true comb far above MAX_TOP (high counts stored x 2 in 16 bits): thousands of teeth, not judged
    counts = np.random.default_rng(0).poisson(smooth / smooth.max() * 3000.0)
    assert (2 * counts).max() > export_gain.MAX_TOP and estimate_export_gain((2 * counts).astype(np.uint16)) is None
