"""DiffAugment: shapes, empty fill, gradients flow, and D's inputs differ from the originals."""

import torch

from scintiseg.gan.config import GanConfig
from scintiseg.gan.diffaugment import cutout, diff_augment, translate
from scintiseg.gan.train import GanTrainer


def test_translation_moves_content_and_fills_with_empty():
    x = torch.full((3, 4, 32, 32), 0.5)
    out = translate(x, views=2, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert set(out[:, :2].unique().tolist()) <= {0.5, -1.0}  # the views: empty counts where nothing moved in
    assert set(out[:, 2:].unique().tolist()) <= {0.5, 0.0}  # their masks: no lesion there
    assert not torch.equal(out, x)  # some image moved (offsets 0 for all three is 1 in 17^6)


def test_cutout_blanks_a_quarter_of_the_area_at_most():
    x = torch.ones(4, 2, 32, 32)
    out = cutout(x, views=1, generator=torch.Generator().manual_seed(1))
    blank = (out[:, 0] == -1).float().mean(dim=(1, 2))
    assert (blank > 0).all() and (blank <= 0.25 + 1e-6).all()
    assert torch.equal(out[:, 1] == 0, out[:, 0] == -1)  # mask blanked where the image is


def test_gradients_flow_through_the_augmentation():
    x = torch.rand(2, 4, 32, 32, requires_grad=True)
    diff_augment(x, "translation,cutout", views=2, generator=torch.Generator().manual_seed(2)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_trainer_uses_the_policy_only_when_asked():
    plain = GanTrainer(GanConfig(native_size=32, latent_dim=16, base_width=8))
    x = torch.rand(2, 4, 32, 32)
    assert plain.augment(x) is x
    augmented = GanTrainer(GanConfig(native_size=32, latent_dim=16, base_width=8, diff_augment="translation,cutout", real_label=0.9))
    assert not torch.equal(augmented.augment(x), x)


def test_translation_fills_images_with_empty_counts_and_masks_with_zero():
    """What slides in at the border is "empty": -1 (zero counts) in the image channels, 0 in the mask channels."""
    x = torch.full((4, 4, 32, 32), 0.5)
    out = translate(x, views=2, generator=torch.Generator().manual_seed(0))
    images, masks = out[:, :2], out[:, 2:]
    assert (images != 0.5).any()  # something moved
    assert set(images.unique().tolist()) == {0.5, -1.0}
    assert set(masks.unique().tolist()) == {0.5, 0.0}
    assert torch.equal(images == -1.0, masks == 0.0)


def test_the_trainer_augments_real_and_generated_images_alike_in_both_steps():
    """DiffAugment must reach every image D sees: real and fake in D's step, fake in G's (Zhao et al. 2020)."""
    torch.manual_seed(0)
    trainer = GanTrainer(GanConfig(native_size=32, latent_dim=16, base_width=8, diff_augment="translation,cutout"))
    seen = []
    original = trainer.augment
    trainer.augment = lambda x: seen.append(x) or original(x)
    real = torch.rand(2, 4, 32, 32) * 2 - 1
    trainer.d_step(real)
    assert len(seen) == 2 and torch.equal(seen[0], real) and not torch.equal(seen[1], real)
    seen.clear()
    trainer.g_step(2)
    assert len(seen) == 1 and seen[0].requires_grad  # G's output, through which G's gradient flows
