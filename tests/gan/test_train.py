"""The training step: D learns on a fixed batch, k is honoured, checkpoints resume exactly and run no code."""

import itertools

import pytest
import torch

from scintiseg.errors import ScintisegError
from scintiseg.gan.config import GanConfig
from scintiseg.gan.train import (
    CHECKPOINT_NAME,
    NORMALISATION_NAME,
    GanTrainer,
    batches_per_epoch,
    epoch_batches,
    g_steps_per_epoch,
    load_trainer,
    read_normalisation,
    run_epoch,
    save_trainer,
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
    save_trainer(a, tmp_path)
    assert a.opt_g.state_dict()["state"]  # Adam's moments are in the file, not only hyper-parameters
    b = GanTrainer(config)
    b.load_state_dict(load_trainer(tmp_path))
    assert b.history == a.history and torch.equal(b.fixed_z, a.fixed_z)
    la, lb = a.iteration(batches), b.iteration(batches)
    assert la.d_loss == pytest.approx(lb.d_loss, rel=1e-6) and la.g_loss == pytest.approx(lb.g_loss, rel=1e-6)


def test_a_checkpoint_that_would_run_code_is_refused_in_one_line(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / CHECKPOINT_NAME
    path.parent.mkdir(parents=True)
    torch.save({"epoch": 1, "history": _OpensAFile(marker)}, path)
    with pytest.raises(ScintisegError) as error:
        load_trainer(tmp_path)
    message = str(error.value)
    assert message.startswith(f"{path}: refused GAN checkpoint: loading it would call ") and "\n" not in message
    assert "weights_only=True" in message and "weights_only=False" not in message
    assert not marker.exists()


def test_an_unreadable_checkpoint_is_one_line(tmp_path):
    path = tmp_path / CHECKPOINT_NAME
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a torch file")
    with pytest.raises(ScintisegError, match="not a loadable GAN checkpoint") as error:
        load_trainer(tmp_path)
    assert "\n" not in str(error.value)


def test_both_files_of_a_run_carry_the_gan_format_tags(tmp_path):
    from scintiseg import __version__
    from scintiseg.gan.train import FORMAT, GENERATOR_NAME, VERSION

    save_trainer(GanTrainer(small_config()), tmp_path)
    for name in (CHECKPOINT_NAME, GENERATOR_NAME):
        state = torch.load(tmp_path / name, weights_only=True)
        assert (state["format"], state["version"], state["scintiseg_version"]) == (FORMAT, VERSION, __version__)
    assert FORMAT != "scintiseg-checkpoint" and load_trainer(tmp_path)["format"] == FORMAT


def test_a_checkpoint_written_before_the_tags_still_resumes_identically(tmp_path):
    """Session 65 added the tags; an older last.pt (the bare state dict) is read as version 1."""
    config = small_config()
    a = GanTrainer(config)
    batches = itertools.repeat(fixed_real_batch())
    a.iteration(batches)
    path = tmp_path / CHECKPOINT_NAME
    path.parent.mkdir(parents=True)
    torch.save(a.state_dict(), path)  # as save_checkpoint wrote it before session 65
    b = GanTrainer(config)
    b.load_state_dict(load_trainer(tmp_path))
    la, lb = a.iteration(batches), b.iteration(batches)
    assert la.d_loss == pytest.approx(lb.d_loss, rel=1e-6) and la.g_loss == pytest.approx(lb.g_loss, rel=1e-6)


@pytest.mark.parametrize("change, expected", [
    ({"version": 2}, r"GAN checkpoint format 2 is newer than this scintiseg \(.*\) reads \(1\); made by scintiseg 9\.9; "
                     r"upgrade scintiseg to load it$"),
    ({"version": "1"}, r"GAN checkpoint format version '1' is not one scintiseg writes; made by scintiseg 9\.9$"),
    ({"format": "scintiseg-checkpoint"}, r"not a GAN checkpoint: its format is 'scintiseg-checkpoint', not "
                                         r"'scintiseg-gan'; made by scintiseg 9\.9$"),
    ({"opt_d": None}, r"GAN checkpoint lacks opt_d; made by scintiseg 9\.9$"),
])
def test_a_file_of_another_format_a_newer_version_or_lacking_a_key_is_refused_in_one_line(tmp_path, change, expected):
    import re

    save_trainer(GanTrainer(small_config()), tmp_path)
    path = tmp_path / CHECKPOINT_NAME
    state = {**torch.load(path, weights_only=True), "scintiseg_version": "9.9", **change}
    state = {key: value for key, value in state.items() if value is not None}
    torch.save(state, path)
    with pytest.raises(ScintisegError) as error:
        load_trainer(tmp_path)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert re.search(expected, message), message


def test_a_file_that_is_no_dict_is_refused_in_one_line(tmp_path):
    path = tmp_path / CHECKPOINT_NAME
    path.parent.mkdir(parents=True)
    torch.save([1, 2], path)
    with pytest.raises(ScintisegError, match=r": not a GAN checkpoint: it holds a list, not a dict$"):
        load_trainer(tmp_path)


@pytest.mark.parametrize("n, batch, k, passes", [(28, 16, 3, 1.5), (70, 16, 3, 1.2), (10, 16, 3, 3.0), (70, 16, 1, 1.0)])
def test_an_epoch_is_k_ceil_b_over_k_d_batches_not_one_pass(n, batch, k, passes):
    """Session 63: an epoch is ceil(b / k) G steps = k ceil(b / k) D batches, b the batches of one pass over the
    real images, i.e. k ceil(b / k) / b passes of D (1.5 for 28 images at batch 16 with k = 3)."""
    import math

    trainer = GanTrainer(small_config(k=k, batch_size=batch, native_size=32))
    images = torch.rand(n, 4, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    drawn = []

    def counted(source):
        for indices in source:
            drawn.append(len(indices))
            yield indices

    run_epoch(trainer, images, counted(epoch_batches(n, batch, trainer.rng)))
    b = batches_per_epoch(n, batch)
    assert trainer.g_steps == g_steps_per_epoch(n, trainer.config) == math.ceil(b / k)
    assert trainer.d_steps == len(drawn) == k * math.ceil(b / k)
    assert len(drawn) / b == pytest.approx(passes)


def test_the_documented_epoch_is_the_one_the_code_runs():
    """docs/gan.md's row "epoch", GanConfig.epochs' help and the config docstring said "one pass of D over the real
    training images" (session 63): with k = 3 that is 1.5 passes for 28 images at batch 16."""
    import dataclasses
    import re
    from pathlib import Path

    import scintiseg.gan.config as config_module
    import scintiseg.gan.train as train_module

    help_text = {f.name: f.metadata["help"] for f in dataclasses.fields(GanConfig)}["epochs"]
    field_doc = GanConfig.__doc__.split("epochs:", 1)[1].split("batch_size:", 1)[0]
    row = next(line for line in (Path(__file__).parents[2] / "docs" / "gan.md").read_text().splitlines()
               if line.startswith("| epoch |"))
    for text in (help_text, field_doc, config_module.__doc__, train_module.__doc__, row):
        flat = " ".join(text.split())
        assert not re.search(r"(epoch\*? is one pass|epoch \| one pass|epochs: passes|^passes of D)", flat), flat
        assert "ceil(b/k)" in flat.replace(" ", "") and "1.5" in flat


@pytest.mark.parametrize("content, expected", [
    ('{"scales": [1.0', "malformed JSON"),
    ("[]", "not a JSON object"),
    ('{"views": ["ANT"]}', "count scales"),
    ('{"scales": [1.0], "pixel_spacing": 2.26}', "pixel_spacing"),
    ('{"scales": [1.0], "training_cases": 5}', "training_cases"),
])
def test_a_damaged_normalisation_json_is_one_line_naming_it(tmp_path, content, expected):
    """Session 66: a cut or edited normalisation.json ended `gan sample`, `gan evaluate` and the paper-B augmentation
    experiment in a traceback (TypeError, KeyError, AttributeError)."""
    (tmp_path / NORMALISATION_NAME).write_text(content)
    with pytest.raises(ScintisegError, match=expected) as error:
        read_normalisation(tmp_path)
    assert str(error.value).startswith(f"{tmp_path / NORMALISATION_NAME}: ") and "\n" not in str(error.value)
    (tmp_path / NORMALISATION_NAME).write_text('{"scales": [50.0, 80.0], "pixel_spacing": [2.26, 2.26]}')
    assert read_normalisation(tmp_path)["scales"] == [50.0, 80.0]


@pytest.mark.parametrize("content, expected", [
    ('{"scales": [NaN, 1.0]}', "count scales"),
    ('{"scales": [Infinity]}', "count scales"),
    ('{"scales": [1' + "0" * 400 + "]}", "count scales"),
    ('{"scales": [1.0], "pixel_spacing": [2.26, -Infinity]}', "pixel_spacing"),
    ('{"scales": [1.0], "source_size": "x"}', "source_size"),
    ('{"scales": [1.0], "source_size": NaN}', "source_size"),
    ('{"scales": [1.0], "source_size": [64]}', "source_size"),
    ('{"scales": [1.0], "source_size": 0}', "source_size"),
    ('{"scales": [1.0], "training_cases": [["P000"]]}', "training_cases is not a list of ids"),  # gan evaluate: set()
    ('{"scales": [1.0], "training_patients": [7]}', "training_patients is not a list of ids"),
])
def test_a_normalisation_json_with_values_no_run_writes_is_one_line_naming_it(tmp_path, content, expected):
    """Session 66 (bench_fuzz.py, kind gan-normalisation): a count scale beyond a float (OverflowError in NumPy) or a
    source_size that is no whole number (int() of NaN, infinity, a list or text) was a traceback in `gan sample`'s
    load_run; NaN or infinite scales and pixel sizes were read as they were."""
    (tmp_path / NORMALISATION_NAME).write_text(content)
    with pytest.raises(ScintisegError, match=expected) as error:
        read_normalisation(tmp_path)
    assert str(error.value).startswith(f"{tmp_path / NORMALISATION_NAME}: ") and "\n" not in str(error.value)
    (tmp_path / NORMALISATION_NAME).write_text('{"scales": [50.0, 80], "pixel_spacing": [2.26, 2.26], "source_size": 64}')
    assert read_normalisation(tmp_path)["source_size"] == 64
