"""Reading real crops for the GAN: native size, value ranges, held-out test patients stay out."""

import json

import numpy as np
import torch

from scintiseg.gan.data import load_training_images


def test_training_images_are_native_size_and_in_generator_ranges(real_crops):
    images = load_training_images(real_crops, ["ANT", "POST"], 32, 2.0)
    assert images.tensor.shape == (4, 4, 32, 32)
    assert images.tensor[:, :2].min() >= -1 and images.tensor[:, :2].max() <= 1
    masks = images.tensor[:, 2:]
    assert masks.min() >= 0 and masks.max() <= 1 and masks.max() > 0.9
    # area-averaged mask keeps the lesion area: 29 px of 64x64 -> 29/4 at 32x32
    assert torch.allclose(masks[0, 0].sum(), torch.tensor(29 / 4), atol=1e-4)
    assert np.all(images.scales > 40)


def test_test_split_patients_are_never_used(real_crops):
    (real_crops / "splits.json").write_text(json.dumps({"train": ["P000", "P001", "P002"], "test": ["P003"], "folds": []}))
    images = load_training_images(real_crops, ["ANT"], 32, 2.0)
    assert images.case_ids == ["P000", "P001", "P002"]
    assert images.tensor.shape[1] == 2  # one view: one image and one mask channel


def test_a_case_without_an_outline_of_a_view_drawn_is_not_read(real_crops):
    """D sees image and mask together: an unannotated view (lesions unknown) would teach 'no lesion here'."""
    from scintiseg.io.dataset import load_manifest, save_manifest

    manifest = load_manifest(real_crops)
    annotation = manifest.cases[1].masks or manifest.cases[1].labels
    annotation.pop("POST")
    save_manifest(manifest, real_crops)
    assert load_training_images(real_crops, ["ANT", "POST"], 32, 2.0).case_ids == ["P000", "P002", "P003"]
    assert load_training_images(real_crops, ["ANT"], 32, 2.0).case_ids == ["P000", "P001", "P002", "P003"]


def test_held_out_fold_leaves_that_folds_validation_patients_out_too(real_crops, tmp_path):
    """Session 63: a GAN whose samples train a network validated on fold 0 must not learn fold 0's patients."""
    import pytest

    from scintiseg.errors import ScintisegError
    from scintiseg.gan.config import GanConfig
    from scintiseg.gan.train import train_gan

    folds = [{"train": ["P000", "P001"], "val": ["P002"]}, {"train": ["P002"], "val": ["P000", "P001"]}]
    (real_crops / "splits.json").write_text(json.dumps({"train": ["P000", "P001", "P002"], "test": ["P003"], "folds": folds}))
    assert load_training_images(real_crops, ["ANT"], 32, 2.0).case_ids == ["P000", "P001", "P002"]
    images = load_training_images(real_crops, ["ANT"], 32, 2.0, held_out_fold=0)
    assert images.case_ids == ["P000", "P001"] and images.held_out_patients == ["P002", "P003"]
    with pytest.raises(ScintisegError, match="fold 2: splits.json has 2 folds"):
        load_training_images(real_crops, ["ANT"], 32, 2.0, held_out_fold=2)
    # train_gan honours GanConfig.held_out_fold and records what it left out
    config = GanConfig(views=["ANT"], native_size=32, latent_dim=16, base_width=8, batch_size=2, epochs=1, held_out_fold=0)
    train_gan(real_crops, tmp_path / "run", config, progress=False)
    normalisation = json.loads((tmp_path / "run" / "normalisation.json").read_text())
    assert normalisation["training_cases"] == ["P000", "P001"]
    assert normalisation["held_out_patients"] == ["P002", "P003"] and normalisation["held_out_fold"] == 0
