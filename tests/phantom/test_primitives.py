import numpy as np
import pytest

from scintiseg.phantom.primitives import Capsule, Ellipsoid, Grid, depth_fractions, rasterise


def _sampled_chord(capsule: Capsule, z, x, step=0.02):
    ys = np.arange(-40, 120, step)
    a, b = np.asarray(capsule.a), np.asarray(capsule.b)
    axis = b - a
    length = np.linalg.norm(axis)
    u = axis / length
    points = np.stack(np.broadcast_arrays(z[..., None], x[..., None], ys[None, None]), -1)
    w = points - a
    s = w @ u
    if capsule.flat:
        inside = (np.linalg.norm(w - s[..., None] * u, axis=-1) <= capsule.radius) & (s >= 0) & (s <= length)
    else:
        closest = np.clip(s, 0, length)
        inside = np.linalg.norm(w - closest[..., None] * u, axis=-1) <= capsule.radius
    return inside.sum(-1) * step


@pytest.mark.parametrize("flat", [False, True])
def test_capsule_chord_matches_dense_sampling(flat):
    rng = np.random.default_rng(3)
    for _ in range(3):
        capsule = Capsule(tuple(rng.uniform(0, 60, 3)), tuple(rng.uniform(0, 60, 3)), float(rng.uniform(3, 12)), flat)
        z = np.arange(-15, 75, 4.0)[:, None]
        x = np.arange(-15, 75, 4.0)[None]
        lo, hi = capsule.chord(z, x)
        assert np.allclose(np.nan_to_num(hi - lo), _sampled_chord(capsule, z, x), atol=0.05)


def test_depth_fractions_sum_to_chord_length():
    grid = Grid(rows=4, cols=4, depth=10, row_mm=2.0, col_mm=2.0, depth_mm=10.0)
    lo = np.full((4, 4), 13.0)
    hi = np.full((4, 4), 41.5)
    lo[0, 0] = np.nan  # a missed column
    frac = depth_fractions(lo, hi, grid, 0, grid.depth)
    assert frac.shape == (10, 4, 4)
    assert np.allclose(frac.sum(0)[1:, 1:] * grid.depth_mm, 28.5)
    assert frac[:, 0, 0].sum() == 0
    assert frac[1, 1, 1] == pytest.approx(0.7) and frac[4, 1, 1] == pytest.approx(0.15)


def test_rasterise_union_does_not_double_overlaps_and_holes_subtract():
    grid = Grid(rows=40, cols=40, depth=10, row_mm=2.0, col_mm=2.0, depth_mm=10.0)
    a = Capsule((20.0, 40.0, 50.0), (60.0, 40.0, 50.0), 8.0)
    b = Capsule((40.0, 40.0, 50.0), (40.0, 40.0, 50.0), 8.0)  # inside a
    block = rasterise([(a, 2.0), (b, 5.0)], grid)
    alone = rasterise([(a, 2.0)], grid)
    assert np.allclose(block.occupancy, alone.occupancy)  # union, not sum
    assert block.occupancy.max() <= 1.0 + 1e-6
    # activity is the max of occupancy x concentration over the parts: the inner sphere's, 5 x its peak fill
    assert block.activity.max() == pytest.approx(5.0 * rasterise([(b, 1.0)], grid).occupancy.max(), rel=1e-5)
    shell = rasterise([(Ellipsoid((40.0, 40.0, 50.0), (15.0, 15.0, 15.0)), 1.0)], grid,
                      holes=[Ellipsoid((40.0, 40.0, 50.0), (12.0, 12.0, 12.0))])
    solid = rasterise([(Ellipsoid((40.0, 40.0, 50.0), (15.0, 15.0, 15.0)), 1.0)], grid)
    # volume of the shell = outer - inner (4/3 pi (15^3 - 12^3)) in voxel units
    voxel = grid.row_mm * grid.col_mm * grid.depth_mm
    assert shell.occupancy.sum() * voxel == pytest.approx(4 / 3 * np.pi * (15**3 - 12**3), rel=0.08)
    assert solid.occupancy.sum() * voxel == pytest.approx(4 / 3 * np.pi * 15**3, rel=0.05)


def test_a_negative_concentration_lowers_the_activity_by_the_strongest_part():
    """Brain and aerated lung hold less tracer than soft tissue: a negative concentration (until session 24 the
    maximum with the block's zeros dropped it, and brain and lungs held soft tissue's activity)."""
    grid = Grid(rows=40, cols=40, depth=10, row_mm=2.0, col_mm=2.0, depth_mm=10.0)
    a = Ellipsoid((40.0, 40.0, 50.0), (15.0, 15.0, 15.0))
    b = Ellipsoid((40.0, 40.0, 50.0), (8.0, 8.0, 8.0))
    block = rasterise([(a, -0.6), (b, -0.2)], grid)
    assert block.activity.min() == pytest.approx(-0.6 * block.occupancy.max(), rel=1e-5) and block.activity.max() <= 0
    np.testing.assert_allclose(block.activity, -0.6 * rasterise([(a, 1.0)], grid).occupancy, rtol=1e-5, atol=1e-7)


def test_rotated_ellipsoid_chord_matches_dense_sampling_and_bounds_contain_it():
    angle = np.radians(25.0)
    c, s = np.cos(angle), np.sin(angle)
    rotation = ((c, -s * 0.8, s * 0.6), (s, c * 0.8, -c * 0.6), (0.0, 0.6, 0.8))  # orthonormal columns
    assert np.allclose(np.asarray(rotation) @ np.asarray(rotation).T, np.eye(3))
    ellipsoid = Ellipsoid((40.0, 35.0, 50.0), (25.0, 12.0, 8.0), rotation)
    z = np.arange(0.0, 80.0, 1.5)[:, None]
    x = np.arange(0.0, 70.0, 1.5)[None]
    lo, hi = ellipsoid.chord(z, x)
    ys = np.arange(0.0, 100.0, 0.02)
    rot = np.asarray(rotation)
    d = np.stack(np.broadcast_arrays(z[..., None] - 40.0, x[..., None] - 35.0, ys[None, None] - 50.0), -1)
    local = d @ rot  # coordinates along the ellipsoid's own axes
    inside = ((local / np.array([25.0, 12.0, 8.0])) ** 2).sum(-1) <= 1.0
    assert np.allclose(np.nan_to_num(hi - lo), inside.sum(-1) * 0.02, atol=0.05)
    (zl, zh), (xl, xh), _ = ellipsoid.bounds()
    hit = np.isfinite(lo)
    zz, xx = np.broadcast_arrays(z, x)
    assert zz[hit].min() >= zl and zz[hit].max() <= zh and xx[hit].min() >= xl and xx[hit].max() <= xh
    assert zh - zl < 2 * 25.0 + 1e-6  # tighter than the largest semi-axis both ways
    # no rotation = the axis-aligned chord
    plain = Ellipsoid((40.0, 35.0, 50.0), (25.0, 12.0, 8.0))
    same = Ellipsoid((40.0, 35.0, 50.0), (25.0, 12.0, 8.0), ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)))
    assert np.allclose(np.nan_to_num(plain.chord(z, x)[1]), np.nan_to_num(same.chord(z, x)[1]))


def test_voxel_centres_lie_half_a_step_inside_each_voxel():
    grid = Grid(rows=4, cols=4, depth=4, row_mm=2.0, col_mm=3.0, depth_mm=5.0)
    assert grid.z_centres(1, 3).ravel().tolist() == [3.0, 5.0]
    assert grid.x_centres(1, 3).ravel().tolist() == [4.5, 7.5]
    assert grid.y_centres(1, 3).tolist() == [7.5, 12.5]
