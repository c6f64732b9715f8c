"""Sampling: deterministic by seed, counts are non-negative integers, masks binary, data sets valid."""

import numpy as np
import pytest
import torch

from scintiseg.errors import ScintisegError
from scintiseg.gan.sample import generate, load_run, sample_dataset
from scintiseg.gan.train import GENERATOR_NAME, NORMALISATION_NAME
from scintiseg.io import dataset as ds


def stacked(gan, n, seed, batch_size):
    cases = list(generate(gan, n, seed, batch_size))
    return np.stack([np.stack([c.counts[v] for v in gan.config.views]) for c in cases]), np.stack(
        [np.stack([c.masks[v] for v in gan.config.views]) for c in cases]
    )


def test_sampling_is_deterministic_by_seed_and_independent_of_batching(tiny_run):
    gan = load_run(tiny_run)
    counts_a, masks_a = stacked(gan, 5, seed=7, batch_size=5)
    counts_b, masks_b = stacked(gan, 5, seed=7, batch_size=2)
    counts_c, _ = stacked(gan, 5, seed=8, batch_size=5)
    assert np.array_equal(counts_a, counts_b) and np.array_equal(masks_a, masks_b)
    assert not np.array_equal(counts_a, counts_c)


def test_generated_counts_are_uint16_at_output_size_and_masks_binary(tiny_run):
    gan = load_run(tiny_run)
    counts, masks = stacked(gan, 3, seed=1, batch_size=3)
    assert counts.dtype == np.uint16 and counts.shape == (3, 2, 64, 64)
    assert masks.dtype == bool
    # expected counts lie in [0, scale * ceiling^2]; Poisson noise may exceed a little, never go negative
    assert counts.max() <= 120.0 * gan.config.sqrt_ceiling**2 * 2
    assert counts.sum() > 0


def test_round_mode_gives_the_expected_counts_without_noise(run_factory):
    from scintiseg.gan.counts import model_to_expected_counts

    gan = load_run(run_factory("r", count_noise="round", output_size=32, views=["ANT"]))
    case = next(generate(gan, 1, seed=0))
    import torch

    z = torch.randn(1, gan.config.latent_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        native = gan.generator(z).double().numpy()
    expected = model_to_expected_counts(native[0, 0], case.scale, gan.config.sqrt_ceiling)
    assert set(case.counts) == {"ANT"}
    assert np.array_equal(case.counts["ANT"], np.rint(expected).astype(np.uint16))


def test_a_generator_file_that_would_run_code_is_refused_in_one_line(tiny_run, tmp_path):
    marker = tmp_path / "ran"

    class OpensAFile:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    weights = tiny_run / GENERATOR_NAME
    state = torch.load(weights, weights_only=True)  # what training wrote loads safely
    torch.save({**state, "epoch": OpensAFile()}, weights)
    with pytest.raises(ScintisegError) as error:
        load_run(tiny_run)
    assert str(error.value).startswith(f"{weights}: refused GAN generator: loading it would call ")
    assert "\n" not in str(error.value) and not marker.exists()


def test_a_generator_of_another_runs_widths_is_refused_in_one_line(tiny_run, run_factory):
    """Another run's generator.pt beside this config.yaml: sample, evaluate and the augmentation experiment ended in
    torch's size-mismatch traceback (session 61)."""
    other = run_factory("wide", base_width=16)
    (tiny_run / GENERATOR_NAME).write_bytes((other / GENERATOR_NAME).read_bytes())
    with pytest.raises(ScintisegError) as error:
        load_run(tiny_run)
    message = str(error.value)
    assert message.startswith(f"{tiny_run / GENERATOR_NAME}: the generator is not the one config.yaml describes: ")
    assert "in the file but" in message and "\n" not in message


def test_a_generator_written_before_the_format_tags_samples_the_same(tiny_run):
    """Session 65 tagged generator.pt (format scintiseg-gan, version 1); an untagged one is read as version 1."""
    tagged = stacked(load_run(tiny_run), 2, seed=4, batch_size=2)
    path = tiny_run / GENERATOR_NAME
    state = torch.load(path, weights_only=True)
    torch.save({key: state[key] for key in ("config", "generator", "epoch")}, path)  # as written before session 65
    untagged = stacked(load_run(tiny_run), 2, seed=4, batch_size=2)
    assert all(np.array_equal(a, b) for a, b in zip(tagged, untagged))


def test_a_generator_of_a_newer_format_is_refused_in_one_line(tiny_run):
    path = tiny_run / GENERATOR_NAME
    torch.save({**torch.load(path, weights_only=True), "version": 2}, path)
    with pytest.raises(ScintisegError) as error:
        load_run(tiny_run)
    message = str(error.value)
    assert message.startswith(f"{path}: GAN generator format 2 is newer than this scintiseg") and "\n" not in message


def test_sample_refuses_non_empty_output(tiny_run, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "x").write_text("x")
    with pytest.raises(ScintisegError, match="not empty"):
        sample_dataset(tiny_run, 2, out, seed=0, progress=False)


def test_generated_data_set_reads_back_as_gan_cases(tiny_run, tmp_path):
    out = sample_dataset(tiny_run, 3, tmp_path / "d3", seed=2, progress=False)
    manifest = ds.load_manifest(out)
    assert manifest.views == ["ANT", "POST"]
    assert len({c.patient_id for c in manifest.cases}) == 3
    assert all(c.synthetic and c.origin == "gan" for c in manifest.cases)
    gan = load_run(tiny_run)
    first = next(generate(gan, 3, seed=2))
    scan, masks = ds.load_case(out, manifest.cases[0])
    assert scan.view_names == ["ANT", "POST"]
    assert np.array_equal(scan.view("ANT"), first.counts["ANT"])
    assert np.array_equal(masks["POST"], first.masks["POST"])
    if hasattr(ds, "check_dataset"):
        report = ds.check_dataset(out)
        problems = getattr(report, "errors", None)
        assert not problems, problems


def test_a_samples_png_mask_is_its_labelme_mask_rasterised_and_what_generate_yields(tiny_run, tmp_path, monkeypatch):
    """Session 63: the PNG (and generate's mask, which `gan evaluate` measures) was the unfilled threshold, the LabelMe
    file (which training reads) its holes filled; one hole-filled mask now, equal in all three."""
    import dataclasses

    from PIL import Image
    from scipy import ndimage as ndi

    import scintiseg.gan.sample as sample_module

    gan = load_run(tiny_run)
    size = gan.config.native_size
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    radius = ((yy - 14.0) ** 2 + (xx - 12.0) ** 2).sqrt()
    ring = ((radius >= 4) & (radius <= 8)).double()  # a lesion outline with a hole
    ring[26:29, 24:28] = 1.0  # and a small solid one

    class RingGenerator(torch.nn.Module):
        def forward(self, z):
            out = torch.zeros(z.shape[0], 4, size, size, dtype=torch.float32)
            out[:, 2], out[:, 3] = ring, ring.flip(-1)
            return out

    stub = dataclasses.replace(gan, generator=RingGenerator())
    monkeypatch.setattr(sample_module, "load_run", lambda run_dir: stub)
    out = sample_dataset(tiny_run, 2, tmp_path / "gan", seed=0, progress=False)
    yielded = list(generate(stub, 2, seed=0))
    for case, sample in zip(ds.load_manifest(out).cases, yielded, strict=True):
        _, read = ds.load_case(out, case)  # the LabelMe file, as training reads it
        for view in ("ANT", "POST"):
            png = np.asarray(Image.open(out / case.masks[view])) > 0
            assert png.sum() > 0 and png[28, 24 if view == "ANT" else 39]  # the ring's hole is inside the lesion
            assert np.array_equal(png, read[view])
            assert np.array_equal(sample.masks[view], png)
            assert np.array_equal(png, ndi.binary_fill_holes(png))


@pytest.mark.parametrize("content", ["[]", '{"views": ["ANT", "POST"]}'])
def test_a_run_whose_normalisation_json_is_no_record_is_refused_in_one_line(tiny_run, content):
    """Session 66: a list, or an object without ``scales``, was a TypeError / KeyError traceback in `gan sample`."""
    (tiny_run / NORMALISATION_NAME).write_text(content)
    with pytest.raises(ScintisegError) as error:
        load_run(tiny_run)
    assert str(error.value).startswith(f"{tiny_run / NORMALISATION_NAME}: not a GAN run's normalisation record")


def test_the_configured_mask_threshold_decides_the_generated_masks(run_factory):
    """``mask_threshold`` (GanConfig) thresholds G's mask channel: a lower threshold never paints less lesion."""
    low = load_run(run_factory("low", mask_threshold=0.2))
    high = load_run(run_factory("high", mask_threshold=0.8))
    _, masks_low = stacked(low, 2, seed=0, batch_size=2)
    _, masks_high = stacked(high, 2, seed=0, batch_size=2)
    assert not (masks_high & ~masks_low).any() and masks_low.sum() > masks_high.sum()
