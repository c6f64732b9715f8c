"""Lesion-aware GAN options: flips, minibatch std, lesion oversampling, mask-area term, time budget."""

import itertools

import pytest
import torch
import yaml

from scintiseg.cli import main
from scintiseg.errors import ScintisegError
from scintiseg.gan.config import LESION_AWARE, GanConfig
from scintiseg.gan.data import lesion_weights, mask_means
from scintiseg.gan.dcgan import Discriminator, MinibatchStd
from scintiseg.gan.train import CHECKPOINT_NAME, GanTrainer, epoch_batches, load_trainer, train_gan


def small_config(**changes) -> GanConfig:
    base = dict(views=["ANT", "POST"], native_size=32, latent_dim=16, base_width=8, batch_size=4, seed=1)
    base.update(changes)
    return GanConfig(**base)


def test_minibatch_std_channel_is_zero_for_identical_images_and_positive_otherwise():
    layer = MinibatchStd()
    same = torch.ones(3, 5, 4, 4).mul(torch.arange(5.0)[None, :, None, None])
    out = layer(same)
    assert out.shape == (3, 6, 4, 4)
    assert torch.equal(out[:, :5], same)
    assert out[:, 5].abs().max() < 1e-3  # sqrt(0 + 1e-8)
    varied = torch.randn(3, 5, 4, 4)
    expected = varied.std(dim=0, unbiased=False).mean()
    assert torch.allclose(layer(varied)[:, 5], expected.expand(3, 4, 4), atol=1e-5)


def test_discriminator_with_minibatch_std_judges_the_batch_not_only_each_image():
    torch.manual_seed(0)
    d = Discriminator(views=2, native_size=32, base_width=8, minibatch_std=True).eval()
    plain = Discriminator(views=2, native_size=32, base_width=8).eval()
    x = torch.randn(4, 4, 32, 32)
    y = torch.cat([x[:1], torch.randn(3, 4, 32, 32) * 3])  # same first image, different batch mates
    assert d(x).shape == (4,)
    assert not torch.allclose(d(x)[0], d(y)[0])
    assert torch.allclose(plain(x)[0], plain(y)[0], atol=1e-6)


def test_real_flip_flips_whole_cases_about_half_the_time_and_is_off_by_default():
    real = torch.randn(200, 4, 8, 8)
    assert torch.equal(GanTrainer(small_config()).flip(real), real)
    flipped = GanTrainer(small_config(real_flip=True)).flip(real)
    same = [torch.equal(a, b) for a, b in zip(flipped, real)]
    mirrored = [torch.equal(a, b.flip(-1)) for a, b in zip(flipped, real)]
    assert all(s or m for s, m in zip(same, mirrored))  # every channel of a case flipped together
    assert 70 < sum(mirrored) < 130


def test_lesion_weights_and_oversampled_batches_draw_lesion_crops_in_proportion():
    images = torch.zeros(10, 4, 8, 8)
    images[:5, 2, 3, 3] = 0.25  # cases 0..4 have a lesion in the ANT mask
    assert lesion_weights(images, 2, 1.0) is None
    weights = lesion_weights(images, 2, 3.0)
    assert weights.tolist() == [3.0] * 5 + [1.0] * 5
    batches = epoch_batches(10, 4, torch.Generator().manual_seed(0), weights)
    drawn = torch.cat(list(itertools.islice(batches, 2000)))
    share = (drawn < 5).float().mean().item()
    assert abs(share - 0.75) < 0.03  # 3 x 5 / (3 x 5 + 5)


def test_mask_means_are_weighted_as_the_images_are_drawn():
    images = torch.zeros(2, 4, 4, 4)
    images[0, 2] = 1.0  # ANT mask full on case 0
    assert torch.allclose(mask_means(images, 2), torch.tensor([0.5, 0.0]))
    assert torch.allclose(mask_means(images, 2, torch.tensor([3.0, 1.0], dtype=torch.float64)), torch.tensor([0.75, 0.0]))


def test_mask_term_is_zero_on_target_and_g_steps_move_the_mask_area_towards_it():
    trainer = GanTrainer(small_config(mask_match=50.0, lr_g=1e-2))
    fake = torch.zeros(2, 4, 8, 8)
    fake[:, 2:] = 0.01
    trainer.mask_target = torch.tensor([0.01, 0.01])
    assert float(trainer.mask_term(fake)) == pytest.approx(0.0, abs=1e-10)

    trainer.mask_target = torch.tensor([0.002, 0.002])  # real images: 0.2 % lesion area
    with torch.no_grad():  # train mode: batch statistics, as in the G step
        before = trainer.generator(trainer.fixed_z)[:, 2:].mean().item()
    terms = [trainer.g_step(8)[1] for _ in range(20)]
    with torch.no_grad():
        after = trainer.generator(trainer.fixed_z)[:, 2:].mean().item()
    assert before > 0.3  # the untrained G paints ~50 % "lesion"
    assert after < before / 2
    assert terms[-1] < terms[0] / 2


def test_mask_match_without_a_target_is_a_clear_error():
    trainer = GanTrainer(small_config(mask_match=1.0))
    with pytest.raises(ScintisegError, match="mask_match"):
        trainer.g_step(4)


@pytest.mark.parametrize("field,value", [("lesion_oversample", 0.5), ("mask_match", -1.0)])
def test_bad_lesion_aware_values_are_rejected(field, value):
    with pytest.raises(ScintisegError, match=field):
        small_config(**{field: value})


def test_time_budget_stops_after_one_epoch_with_a_checkpoint_that_resumes(real_crops, tmp_path):
    config = small_config(output_size=64, batch_size=2, epochs=50, checkpoint_every=100, sample_every=100,
                          **LESION_AWARE)
    run = tmp_path / "run"
    trainer = train_gan(real_crops, run, config, progress=False, max_minutes=1e-6)
    assert trainer.epoch == 1
    state = load_trainer(run)
    assert state["epoch"] == 1 and state["mask_target"] is not None
    assert (run / "samples" / "epoch_0001.png").is_file()
    config.epochs = 2
    resumed = train_gan(real_crops, run, config, resume=True, progress=False)
    assert resumed.epoch == 2 and torch.equal(resumed.mask_target, state["mask_target"])


def test_cli_lesion_aware_preset_is_saved_and_flags_override_it(real_crops, tmp_path):
    base = tmp_path / "gan.yaml"
    base.write_text(yaml.safe_dump({"native_size": 32, "output_size": 64, "latent_dim": 16, "base_width": 8, "batch_size": 2}))
    run = tmp_path / "run"
    args = ["gan", "train", "--data", str(real_crops), "--out", str(run), "--config", str(base), "--quiet",
            "--epochs", "1", "--k", "1", "--lesion-aware", "--mask-match", "0.5"]
    assert main(args) == 0
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert {k: saved[k] for k in LESION_AWARE} == {**LESION_AWARE, "mask_match": 0.5}
    assert (run / CHECKPOINT_NAME).is_file()


def test_cli_rejects_a_non_positive_time_budget(real_crops, tmp_path, capsys):
    args = ["gan", "train", "--data", str(real_crops), "--out", str(tmp_path / "run"), "--minutes", "0", "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--minutes" in err
    assert not (tmp_path / "run").exists()


def test_history_of_a_run_older_than_the_mask_term_still_saves(tmp_path):
    import csv

    from scintiseg.gan.train import HISTORY_NAME, save_trainer

    trainer = GanTrainer(small_config())
    trainer.history = [{"epoch": 1, "d_loss": 0.5}, {"epoch": 2, "d_loss": 0.4, "mask_term": 0.1}]
    save_trainer(trainer, tmp_path)
    rows = list(csv.DictReader((tmp_path / HISTORY_NAME).open()))
    assert rows == [{"epoch": "1", "d_loss": "0.5", "mask_term": ""}, {"epoch": "2", "d_loss": "0.4", "mask_term": "0.1"}]


def test_output_size_defaults_to_the_training_crops_size(real_crops, tmp_path):
    from scintiseg.gan.sample import generate, load_run

    config = small_config(batch_size=2, epochs=1)
    assert config.output_size == 0
    train_gan(real_crops, tmp_path / "run", config, progress=False)
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["output_size"] == 64  # the crops' side
    case = next(generate(load_run(tmp_path / "run"), 1, seed=0))
    assert case.counts["ANT"].shape == case.masks["ANT"].shape == (64, 64)
