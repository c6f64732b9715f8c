import numpy as np
import pytest
import torch
from scipy import ndimage as ndi

from scintiseg.prepare.augment import GeometricParams, RandomGeometric, apply_geometric, random_geometric
from scintiseg.prepare.views import mirror


def lesion_image(shape=(64, 64)):
    """A faint body with one hot, asymmetric lesion and its mask."""
    image = np.full(shape, 5.0, dtype=np.float32)
    mask = np.zeros(shape, dtype=bool)
    mask[14:20, 40:47] = True
    mask[20:23, 40:42] = True
    image[mask] = 100.0
    return image, mask


def centroid(array):
    return np.array(ndi.center_of_mass(np.asarray(array, dtype=np.float64)))


def test_identity_changes_nothing():
    image, mask = lesion_image()
    assert np.allclose(apply_geometric(image, GeometricParams()), image)
    assert np.array_equal(apply_geometric(mask, GeometricParams(), order=0), mask)


def test_flip_is_a_mirror_and_rotation_by_90_is_rot90():
    image, mask = lesion_image()
    assert np.array_equal(apply_geometric(mask, GeometricParams(hflip=True), order=0), mask[:, ::-1])
    assert np.array_equal(apply_geometric(mask, GeometricParams(vflip=True), order=0), mask[::-1])
    # Counter-clockwise as displayed (rows down) is NumPy's rot90.
    assert np.array_equal(apply_geometric(mask, GeometricParams(angle_deg=90), order=0), np.rot90(mask))
    shifted = apply_geometric(mask, GeometricParams(shift=(3, -5)), order=0)
    assert np.array_equal(shifted[3:, :-5], mask[:-3, 5:])


@pytest.mark.parametrize("seed", range(6))
def test_image_and_mask_move_together(seed):
    image, mask = lesion_image()
    rng = np.random.default_rng(seed)
    out_image, out_mask, params = random_geometric(image, mask, rng, max_angle=20, max_shift=0.1)
    assert out_mask.dtype == bool and out_image.dtype == np.float32
    hot = np.clip(out_image - 5.0, 0, None) * (out_image > 50)
    # The lesion's centroid in the image and in the mask agree, and both follow the matrix.
    assert np.linalg.norm(centroid(hot) - centroid(out_mask)) < 0.75
    y, x = centroid(mask)
    fx, fy, _ = params.matrix(mask.shape) @ np.array([x, y, 1.0])
    assert np.linalg.norm(centroid(out_mask) - [fy, fx]) < 0.75
    assert abs(int(out_mask.sum()) - int(mask.sum())) <= 0.2 * mask.sum()


def test_mirrored_params_transform_post_as_acquired():
    image, _ = lesion_image()
    params = GeometricParams(hflip=False, angle_deg=12.0, shift=(2.0, 6.0))
    post = mirror(image)  # stored as acquired
    direct = apply_geometric(post, params.mirrored())
    via_frame = mirror(apply_geometric(mirror(post), params))
    assert np.allclose(direct, via_frame, atol=1e-3)


def test_torch_batch_matches_numpy_and_keeps_masks_binary():
    image, mask = lesion_image()
    batch_image = torch.as_tensor(np.stack([image, image]))[:, None]
    batch_mask = torch.as_tensor(np.stack([mask, mask]).astype(np.float32))[:, None]
    params = [GeometricParams(angle_deg=15.0, shift=(3.0, -2.0)), GeometricParams(hflip=True, angle_deg=-7.0)]
    out_image, out_mask = RandomGeometric()(batch_image, batch_mask, params=params)
    assert out_image.shape == batch_image.shape and out_mask.shape == batch_mask.shape
    assert set(torch.unique(out_mask).tolist()) <= {0.0, 1.0}
    for k, p in enumerate(params):
        expected_mask = apply_geometric(mask, p, order=0)
        assert (out_mask[k, 0].numpy().astype(bool) != expected_mask).sum() <= 3  # rounding at ties only
        assert np.allclose(out_image[k, 0].numpy(), apply_geometric(image, p), atol=1e-2)


def test_random_geometric_torch_moves_image_and_mask_together():
    image, mask = lesion_image()
    batch_image = torch.as_tensor(np.stack([image] * 8))[:, None]
    batch_mask = torch.as_tensor(np.stack([mask] * 8))[:, None]
    out_image, out_mask = RandomGeometric(max_angle=20, seed=0)(batch_image, batch_mask)
    assert out_mask.dtype == torch.bool
    for k in range(8):
        hot = (out_image[k, 0] > 50).numpy()
        assert np.linalg.norm(centroid(hot) - centroid(out_mask[k, 0].numpy())) < 0.75


def test_what_comes_in_at_a_border_is_the_image_s_background_under_any_normalisation():
    """Session 63: the border a shift or turn uncovers was filled with 0, a false edge under a z-score, whose
    background is negative; it is each image's (channel's) minimum."""
    image, _ = lesion_image()
    zscore = (image - image.mean()) / image.std()
    batch = torch.as_tensor(np.stack([zscore, image]).astype(np.float32))[:, None]
    params = [GeometricParams(shift=(0.0, 6.0))] * 2
    out, _ = RandomGeometric()(batch, None, params=params)
    for k in range(2):
        background = float(batch[k, 0].min())
        assert torch.allclose(out[k, 0, :, :5], torch.full_like(out[k, 0, :, :5], background), atol=1e-5)
    assert float(batch[0, 0].min()) < -0.1  # (the z-scored image's background is indeed negative)


def test_a_vertical_flip_of_a_wide_image_mirrors_its_rows():
    mask = np.zeros((20, 40), dtype=bool)
    mask[2:5, 30:33] = True
    assert np.array_equal(apply_geometric(mask, GeometricParams(vflip=True), order=0), mask[::-1])
    assert np.array_equal(apply_geometric(mask.T, GeometricParams(hflip=True), order=0), mask.T[:, ::-1])


def test_a_mask_shifted_off_its_edge_brings_in_no_lesion():
    mask = np.zeros((16, 16), dtype=np.uint8)
    mask[:, :3] = 1  # a lesion along the left edge
    shifted = apply_geometric(mask, GeometricParams(shift=(0.0, 5.0)), order=0)
    assert not shifted[:, :5].any() and shifted[:, 5:8].all() and shifted.sum() == mask.sum()


def test_default_ranges_never_flip_vertically_and_shift_columns_by_the_width():
    from scintiseg.prepare.augment import sample_params

    rng = np.random.default_rng(0)
    drawn = [sample_params(rng, (10, 1000)) for _ in range(200)]
    assert not any(p.vflip for p in drawn) and 50 < sum(p.hflip for p in drawn) < 150
    assert max(abs(p.shift[0]) for p in drawn) <= 1.0
    assert max(abs(p.shift[1]) for p in drawn) > 50  # a tenth of the 1000 columns, not of the 10 rows


def test_each_channel_s_border_is_filled_with_its_own_minimum():
    image, _ = lesion_image()
    batch = torch.as_tensor(np.stack([image, image - 20.0]).astype(np.float32))[None]  # (1, 2, H, W)
    out, _ = RandomGeometric()(batch, None, params=[GeometricParams(shift=(0.0, 6.0))])
    assert torch.allclose(out[0, 0, :, :5], torch.full_like(out[0, 0, :, :5], 5.0), atol=1e-5)
    assert torch.allclose(out[0, 1, :, :5], torch.full_like(out[0, 1, :, :5], -15.0), atol=1e-5)
