"""The training step: D learns on a fixed batch, k is honoured, checkpoints resume exactly and run no code."""

import itertools

import pytest
import torch

from scintiseg.errors import ScintisegError
from scintiseg.gan.config import GanConfig
from scintiseg.gan.train import (
    CHECKPOINT_NAME,
    GanTrainer,
    batches_per_epoch,
    epoch_batches,
    g_steps_per_epoch,
    load_checkpoint,
    run_epoch,
    save_checkpoint,
)


def small_config(**changes) -> GanConfig:
    base = dict(views=["ANT", "POST"], native_size=32, latent_dim=16, base_width=8, batch_size=4, seed=1)
    base.update(changes)
    return GanConfig(**base)


def fixed_real_batch(n=4, size=32) -> torch.Tensor:
    """A recognisable 'real' batch: a bright disc on a dark background, with the disc as the mask."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    disc = (((yy - size / 2) ** 2 + (xx - size / 2) ** 2) < (size / 4) ** 2).float()
    images = disc * 1.6 - 0.8
    one = torch.stack([images, images, disc, disc])
    return one.expand(n, -1, -1, -1).clone()


def test_a_few_d_steps_lower_d_loss_on_a_fixed_batch():
    trainer = GanTrainer(small_config(lr_d=1e-3))
    real = fixed_real_batch()
    first, *_ = trainer.d_step(real)
    for _ in range(8):
        last, d_real, d_fake = trainer.d_step(real)
    assert last < first * 0.7
    assert d_real > d_fake


@pytest.mark.parametrize("k", [1, 3])
def test_k_discriminator_steps_per_generator_step(k):
    trainer = GanTrainer(small_config(k=k))
    counts = {"d": 0, "g": 0}
    trainer.opt_d.register_step_post_hook(lambda *_: counts.__setitem__("d", counts["d"] + 1))
    trainer.opt_g.register_step_post_hook(lambda *_: counts.__setitem__("g", counts["g"] + 1))
    batches = itertools.repeat(fixed_real_batch())
    for _ in range(2):
        trainer.iteration(batches)
    assert counts == {"d": 2 * k, "g": 2}
    assert (trainer.d_steps, trainer.g_steps) == (2 * k, 2)


def test_g_step_leaves_d_unchanged_and_d_step_leaves_g_unchanged():
    trainer = GanTrainer(small_config())
    d_before = [p.detach().clone() for p in trainer.discriminator.parameters()]
    trainer.g_step(4)
    assert all(torch.equal(a, b) for a, b in zip(d_before, trainer.discriminator.parameters()))
    g_before = [p.detach().clone() for p in trainer.generator.parameters()]
    trainer.d_step(fixed_real_batch())
    assert all(torch.equal(a, b) for a, b in zip(g_before, trainer.generator.parameters()))


def test_an_epoch_is_one_pass_of_d_over_the_images():
    config = small_config(k=3, batch_size=4)
    images = fixed_real_batch(n=10)  # batches 4, 4, 2 -> 3 D batches -> 1 G step
    assert batches_per_epoch(10, 4) == 3
    assert g_steps_per_epoch(10, config) == 1
    assert batches_per_epoch(9, 4) == 2  # trailing batch of one is dropped (batch norm)
    trainer = GanTrainer(config)
    run_epoch(trainer, images, epoch_batches(10, 4, trainer.rng))
    assert (trainer.epoch, trainer.g_steps, trainer.d_steps) == (1, 1, 3)


def test_state_dict_round_trip_continues_identically():
    config = small_config()
    a = GanTrainer(config)
    batches = itertools.repeat(fixed_real_batch())
    a.iteration(batches)
    state = a.state_dict()
    b = GanTrainer(config)
    b.load_state_dict(state)
    la, lb = a.iteration(batches), b.iteration(batches)
    assert la.d_loss == pytest.approx(lb.d_loss, rel=1e-6) and la.g_loss == pytest.approx(lb.g_loss, rel=1e-6)
    assert b.d_steps == 2 * config.k


def test_config_upsample_field_validates_and_reaches_the_generator():
    from scintiseg.errors import ScintisegError
    from scintiseg.gan.config import GanConfig
    from scintiseg.gan.train import build_generator

    assert GanConfig().upsample == "transpose"
    g = build_generator(GanConfig(upsample="resize", native_size=32, base_width=8, latent_dim=8))
    assert g.upsample == "resize"
    with pytest.raises(ScintisegError, match="upsample"):
        GanConfig(upsample="bicubic")


class _OpensAFile:
    """Pickled as a call to ``open(marker, "w")``: a loader that runs pickled code creates the marker."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_saved_checkpoint_loads_with_weights_only_and_resumes_identically(tmp_path):
    """G, D, both Adam states, the RNG and the history are tensors and plain values: weights_only=True loads them."""
    config = small_config()
    a = GanTrainer(config)
    batches = itertools.repeat(fixed_real_batch())
    a.iteration(batches)
    a.history.append({"epoch": 1, "d_loss": 0.5, "g_loss": 1.5})
    save_checkpoint(a, tmp_path)
    assert a.opt_g.state_dict()["state"]  # Adam's moments are in the file, not only hyper-parameters
    b = GanTrainer(config)
    b.load_state_dict(load_checkpoint(tmp_path))
    assert b.history == a.history and torch.equal(b.fixed_z, a.fixed_z)
    la, lb = a.iteration(batches), b.iteration(batches)
    assert la.d_loss == pytest.approx(lb.d_loss, rel=1e-6) and la.g_loss == pytest.approx(lb.g_loss, rel=1e-6)


def test_a_checkpoint_that_would_run_code_is_refused_in_one_line(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / CHECKPOINT_NAME
    path.parent.mkdir(parents=True)
    torch.save({"epoch": 1, "history": _OpensAFile(marker)}, path)
    with pytest.raises(ScintisegError) as error:
        load_checkpoint(tmp_path)
    message = str(error.value)
    assert message.startswith(f"{path}: refused GAN checkpoint: loading it would call ") and "\n" not in message
    assert "weights_only=True" in message and "weights_only=False" not in message
    assert not marker.exists()


def test_an_unreadable_checkpoint_is_one_line(tmp_path):
    path = tmp_path / CHECKPOINT_NAME
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a torch file")
    with pytest.raises(ScintisegError, match="not a loadable GAN checkpoint") as error:
        load_checkpoint(tmp_path)
    assert "\n" not in str(error.value)
