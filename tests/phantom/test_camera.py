import numpy as np
import pytest

from scintiseg.phantom.camera import Projector, count_scale, poisson_counts, system_fwhm_mm
from scintiseg.phantom.config import CameraConfig
from scintiseg.phantom.primitives import Grid


def test_lehr_resolution_matches_physics_reference():
    cfg = CameraConfig()
    # physics.md [E]: ~5.2 / 7.0 / 9.0 / 11.2 mm at 5 / 10 / 15 / 20 cm (Symbia LEHR, 3.8 mm intrinsic)
    for distance, fwhm in ((50, 5.2), (100, 7.0), (150, 9.0), (200, 11.2)):
        assert system_fwhm_mm(distance, cfg) == pytest.approx(fwhm, abs=0.25)


def _slab_phantom(source_depth: int):
    grid = Grid(rows=40, cols=30, depth=20, row_mm=2.26, col_mm=2.26, depth_mm=10.0)
    cfg = CameraConfig(rows=40, cols=30)
    mu = np.full(grid.shape, 0.0154, dtype=np.float32)  # water, 1/mm
    activity = np.zeros(grid.shape, dtype=np.float32)
    activity[source_depth, 20, 15] = 1.0
    projector = Projector(grid, cfg, anterior_detector_y=-20.0, posterior_detector_y=220.0)
    return grid, projector, projector.project(activity, mu), activity


def test_attenuation_and_blur_depend_on_depth():
    _, _, front, _ = _slab_phantom(2)  # near the anterior detector
    _, _, back, _ = _slab_phantom(17)  # near the posterior detector
    assert front["ANT"].sum() > 3 * front["POST"].sum()
    assert back["POST"].sum() > 3 * back["ANT"].sum()
    # expected attenuation: exp(-mu * 25 mm) for the anterior view of the front source
    assert front["ANT"].sum() == pytest.approx(np.exp(-0.0154 * 25.0), rel=1e-3)
    # the far view is more blurred: lower peak per unit sum
    assert front["ANT"].max() / front["ANT"].sum() > front["POST"].max() / front["POST"].sum()


def test_local_projection_equals_dense_projection():
    grid, projector, dense, activity = _slab_phantom(9)
    local = projector.project_local((8, 15, 10), activity[8:11, 15:25, 10:20])
    for view, (image, (r, c)) in local.items():
        canvas = np.zeros_like(dense[view])
        canvas[r:r + image.shape[0], c:c + image.shape[1]] = image
        assert np.allclose(canvas, dense[view], atol=1e-6 * dense[view].max())


def test_count_scale_keeps_views_in_range():
    k = count_scale({"ANT": 1.0, "POST": 3.0}, target=4.0e6, counts_range=(0.8e6, 4.0e6), background_total=0.0, scatter_fraction=0.0)
    assert 3.0 * k <= 4.0e6 + 1 and 1.0 * k >= 0.8e6 - 1


def test_poisson_counts_have_the_variance_of_their_mean():
    counts = poisson_counts(np.full((200, 200), 50.0, dtype=np.float32), np.random.default_rng(0))
    assert counts.dtype == np.uint16
    assert counts.mean() == pytest.approx(50.0, rel=0.01)
    assert counts.var() == pytest.approx(50.0, rel=0.05)


def test_the_psf_is_round_in_mm_on_rectangular_pixels():
    grid = Grid(rows=40, cols=30, depth=20, row_mm=2.0, col_mm=4.0, depth_mm=10.0)
    projector = Projector(grid, CameraConfig(rows=40, cols=30), anterior_detector_y=-20.0, posterior_detector_y=220.0)
    for groups in projector.groups.values():
        for group in groups:
            rows_px, cols_px = group.sigma_px
            assert rows_px * grid.row_mm == pytest.approx(cols_px * grid.col_mm) and rows_px > cols_px
