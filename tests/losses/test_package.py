"""scintiseg.losses (the package): every public name of the former single module is still imported from it."""

import importlib

import pytest

import scintiseg.losses

# The public names losses.py had before it became a package (session 64), and the module each now lives in.
FORMER_NAMES = {
    "supervised": ["bce_loss", "dice_loss", "dice_bce_loss"],
    "boxes": ["BOX_IGNORE", "BOX_LESION", "MIN_BAG_SHARE", "PAIR_OFFSETS", "PAIR_SIMILARITY", "box_loss",
              "box_pairwise_loss", "has_boxes"],
    "chan_vese": ["PAPER_B_AREA_WEIGHT", "PAPER_B_LENGTH_WEIGHT", "chan_vese_loss", "normalise_for_centroids"],
    "segmentation": ["LOSS_NAMES", "SegmentationLoss", "build_loss", "sigmoid_rampup"],
    "regions": ["RegionLoss"],
}


@pytest.mark.parametrize("module", sorted(FORMER_NAMES))
def test_the_package_re_exports_each_modules_names(module):
    source = importlib.import_module(f"scintiseg.losses.{module}")
    for name in FORMER_NAMES[module]:
        assert getattr(scintiseg.losses, name) is getattr(source, name), name


def test_all_lists_exactly_the_former_names():
    assert sorted(scintiseg.losses.__all__) == sorted(n for names in FORMER_NAMES.values() for n in names)
