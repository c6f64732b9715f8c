"""DiffAugment: shapes, empty fill, gradients flow, and D's inputs differ from the originals."""

import torch

from scintiseg.gan.config import GanConfig
from scintiseg.gan.diffaugment import cutout, diff_augment, translate
from scintiseg.gan.train import GanTrainer


def test_translation_moves_content_and_fills_with_empty():
    x = torch.full((3, 4, 32, 32), 0.5)
    out = translate(x, views=2, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    values = set(out[:, :2].unique().tolist()) | set(out[:, 2:].unique().tolist())
    assert values <= {0.5, -1.0, 0.0}
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
