"""Calibration statistics: the texture statistic (radially averaged power spectrum) on images of known spectrum."""

import numpy as np
import pytest

from scintiseg.phantom.calibrate import (
    PSD_BANDS,
    calibration_body,
    radial_power_spectrum,
    scan_statistics,
    spectrum_statistics,
)


def _power_law_field(shape, beta, rng):
    """Gaussian random field whose power spectrum falls as f^-beta."""
    fz = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    f = np.hypot(fz, fx)
    f[0, 0] = np.inf
    spectrum = np.fft.fft2(rng.normal(size=shape)) * f ** (-beta / 2.0)
    return np.real(np.fft.ifft2(spectrum))


def test_white_noise_has_a_flat_spectrum_at_its_variance():
    rng = np.random.default_rng(0)
    image = rng.normal(0.0, 3.0, size=(512, 256))
    freq, power = radial_power_spectrum(image, None, pixel_mm=2.0)
    assert freq[0] == pytest.approx(1.0 / (64 * 2.0)) and freq[-1] == pytest.approx(0.25)  # Nyquist of 2 mm pixels
    assert np.median(power) == pytest.approx(9.0, rel=0.1)
    assert np.polyfit(np.log10(freq), np.log10(power), 1)[0] == pytest.approx(0.0, abs=0.15)


@pytest.mark.parametrize("beta", [2.0, 3.0])
def test_power_law_field_gives_its_spectral_slope(beta):
    rng = np.random.default_rng(1)
    image = _power_law_field((1024, 512), beta, rng)
    freq, power = radial_power_spectrum(image, None, pixel_mm=2.26)
    sel = (freq > 0.02) & (freq < 0.15)
    assert np.polyfit(np.log10(freq[sel]), np.log10(power[sel]), 1)[0] == pytest.approx(-beta, abs=0.3)


def test_a_sinusoid_puts_its_power_in_its_band_and_the_mask_limits_the_tiles():
    pixel_mm = 2.26
    rows, cols = np.mgrid[0:512, 0:256]
    f0 = 0.05  # cycles/mm, inside the "psd_mid" band
    image = 100.0 + 20.0 * np.sin(2 * np.pi * f0 * rows * pixel_mm)
    stats = spectrum_statistics(image, np.ones(image.shape, bool), pixel_mm)
    assert PSD_BANDS["psd_mid"][0] < f0 < PSD_BANDS["psd_mid"][1]
    assert stats["psd_mid"] > stats["psd_low"] + 1.0 and stats["psd_mid"] > stats["psd_high"] + 1.0
    freq, power = radial_power_spectrum(image, None, pixel_mm)
    assert abs(freq[np.argmax(power)] - f0) <= 1.0 / (64 * pixel_mm)
    mask = np.zeros(image.shape, bool)
    mask[:63, :63] = True  # no 64 x 64 tile fits
    assert radial_power_spectrum(image, mask, pixel_mm)[0].size == 0
    assert np.isnan(spectrum_statistics(image, mask, pixel_mm)["psd_slope"])


def test_scan_statistics_report_the_texture_keys():
    rng = np.random.default_rng(2)
    counts = np.zeros((400, 200))
    counts[50:350, 40:160] = rng.poisson(30.0, size=(300, 120))
    stats = scan_statistics(counts, (2.26, 2.26))
    assert {"psd_low", "psd_mid", "psd_high", "psd_slope"} <= set(stats)
    # Poisson noise of mean 30 on counts / median (30): white, variance 1/30
    assert 10 ** stats["psd_high"] == pytest.approx(1.0 / 30.0, rel=0.15)


@pytest.mark.parametrize("value, words", [(0, "holds no counts"), (7, "holds one value in every pixel")])
def test_a_scan_with_nothing_to_compare_is_one_line_naming_it(tmp_path, value, words):
    """An empty or flat view: its statistics would be NaN and its count level 0 (the phantom drawn at 0 counts
    raised a math domain error; a flat one wrote NaN into calibration.json)."""
    import tifffile

    from scintiseg.errors import ScintisegError
    from scintiseg.phantom.calibrate import calibrate

    path = tmp_path / "flat.tif"
    tifffile.imwrite(path, np.full((1024, 256), value, np.uint16))
    with pytest.raises(ScintisegError, match=words) as error:
        calibrate(path, out=tmp_path / "out")
    assert str(error.value).startswith(f"{path}: ") and not (tmp_path / "out").exists()


def test_calibration_body_is_the_largest_smoothed_region_above_its_fixed_level_holes_filled():
    counts = np.zeros((120, 80))
    counts[20:100, 20:60] = 5.0  # the body, with a cold hole in it
    counts[50:60, 35:45] = 0.0
    counts[5:9, 70:74] = 5.0  # a small hot spot outside it: another component, dropped
    body = calibration_body(counts)
    assert body[55, 40] and body[60, 40] and not body[7, 72] and not body[110, 40]
    assert body[20:100, 20:60].all() and body[12:108, 12:68].sum() == body.sum() > 80 * 40  # a few pixels past the edge
    assert calibration_body(counts * 0.1).sum() < body.sum()  # a fixed level, not one relative to the counts


def test_body_height_counts_the_first_and_last_rows():
    counts = np.zeros((120, 80))
    counts[20:100, 20:60] = 5.0
    rows = calibration_body(counts).any(axis=1).sum()
    assert scan_statistics(counts, (3.0, 2.0))["body_height_mm"] == 3.0 * rows


def test_the_phantom_is_drawn_at_the_real_scans_count_level_and_geometry(tmp_path, monkeypatch):
    import scintiseg.phantom.calibrate as calibrate_module
    from scintiseg.io.dicom import write_dicom
    from scintiseg.phantom import profile
    from scintiseg.scan import Scan

    counts = np.zeros((400, 160), np.float32)
    counts[40:360, 40:120] = 20.0
    write_dicom(Scan({"ANT": counts}, pixel_spacing=(3.0, 3.0)), tmp_path / "real.dcm")
    drawn = []
    real_generate = calibrate_module.generate_patient
    monkeypatch.setattr(calibrate_module, "generate_patient",
                        lambda seed, config: drawn.append(config) or real_generate(seed, config))
    report = calibrate_module.calibrate(tmp_path / "real.dcm", profile("small"))
    camera = drawn[0].camera
    assert (camera.rows, camera.cols, camera.pixel_mm) == (400, 160, 3.0)
    assert camera.counts == (float(counts.sum()),) * 2
    assert report["phantom_ANT"]["total_counts"] == pytest.approx(counts.sum(), rel=0.05)
