import argparse
import re

import numpy as np
import pytest
from scipy import ndimage as ndi

from scintiseg.cli.dataset_prepare import register
from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.dataset import load_manifest
from scintiseg.io.images import read_label_png, read_mask_png
from scintiseg.io.labelme import read_labelme
from scintiseg.prepare.augment import GeometricParams, apply_geometric
from scintiseg.prepare.augment_dataset import augment_dataset
from scintiseg.prepare.views import mirror
from scintiseg.prepare.crop_dataset import crop_dataset


@pytest.fixture(scope="module")
def augmented(tmp_path_factory, make_toy_dataset):
    whole = make_toy_dataset(tmp_path_factory.mktemp("w"), n=1)
    crop = tmp_path_factory.mktemp("c") / "crop"
    crop_dataset(whole, crop, size=128, progress=False)
    out = tmp_path_factory.mktemp("a") / "aug"
    augment_dataset(crop, out, factor=4, seed=3, progress=False, max_angle=15)
    return crop, out


def test_factor_cases_with_patient_ids_and_marks(augmented):
    src, out = augmented
    manifest = load_manifest(out)
    assert len(manifest.cases) == 4
    original, *copies = manifest.cases
    assert original.origin == "crop" and "crop" in original.meta
    for copy in copies:
        assert copy.patient_id == original.patient_id
        assert copy.origin == "augment" and copy.synthetic
        assert copy.meta["parent_case"] == original.case_id and "crop" not in copy.meta
        assert set(copy.meta["augment"]) == {"hflip", "vflip", "angle_deg", "shift"}


def test_same_seed_same_data_set(augmented, tmp_path):
    src, out = augmented
    again = augment_dataset(src, tmp_path / "again", factor=4, seed=3, progress=False, max_angle=15)
    assert [c.meta["augment"] for c in again.cases[1:]] == [c.meta["augment"] for c in load_manifest(out).cases[1:]]


def test_copies_move_image_mask_regions_and_labels_together(augmented):
    src, out = augmented
    manifest = load_manifest(out)
    original = manifest.cases[0]
    parent_scan = read_scan(out / original.image)
    for copy in manifest.cases[1:]:
        params = GeometricParams(**{**copy.meta["augment"], "shift": tuple(copy.meta["augment"]["shift"])})
        scan = read_scan(out / copy.image)
        assert scan.view("ANT").dtype == parent_scan.view("ANT").dtype
        for view in ("ANT", "POST"):
            p = params.mirrored() if view == "POST" else params
            mask = read_mask_png(out / copy.masks[view])
            parent_mask = read_mask_png(out / original.masks[view])
            assert np.array_equal(mask, apply_geometric(parent_mask, p, order=0))
            assert np.array_equal(read_label_png(out / copy.regions[view]),
                                  apply_geometric(read_label_png(out / original.regions[view]), p, order=0))
            annotation = read_labelme(out / copy.labels[view], root=out)
            assert (annotation.to_mask() == mask).mean() > 0.99
            assert {s.group_id for s in annotation.shapes} <= {1}  # lesion ids survive re-tracing
            instances = read_label_png(out / copy.meta["instances"][view])
            assert np.array_equal(instances > 0, mask)
            rows = np.flatnonzero(instances.any(axis=1))
            bbox = copy.meta["lesions"][0]["bbox"][view]
            assert bbox is None if rows.size == 0 else bbox[0] == rows[0]
            expected = np.rint(np.clip(apply_geometric(parent_scan.view(view), p), 0, None))
            assert np.array_equal(scan.view(view), expected.astype(scan.view(view).dtype))
        # POST stays mirrored relative to ANT: the mirrored POST lesion sits on the ANT lesion.
        ant = read_mask_png(out / copy.masks["ANT"])
        post = mirror(read_mask_png(out / copy.masks["POST"]))
        if ant.any():
            assert np.allclose(ndi.center_of_mass(ant), ndi.center_of_mass(post), atol=1.0)


def test_cli_dataset_augment(augmented, tmp_path, capsys):
    src, _ = augmented
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["augment", str(src), "--out", str(tmp_path / "x"), "--factor", "2", "--seed", "1"])
    assert args.func(args) == 0
    assert len(load_manifest(tmp_path / "x").cases) == 2
    assert "2 cases" in capsys.readouterr().out


def test_a_cut_or_moved_image_drops_the_record_of_how_its_source_file_maps_onto_it(tmp_path, make_toy_dataset):
    """A case stood, split or mirrored back at import (``meta["stood"]``, ``"split_at_column"``, ``"stored_shape"``,
    ``"mirrored"``): its crop and
    its augmented copies no longer show the source file that way; the unchanged copy still does."""
    from scintiseg.io.dataset import READ_RECORD_KEYS, save_manifest

    whole = make_toy_dataset(tmp_path / "w", n=1)
    manifest = load_manifest(whole)
    record = {"stood": "quarter_clockwise", "split_at_column": 256, "stored_shape": [256, 1024], "mirrored": ["VIEW"]}
    manifest.cases[0].meta.update(record)
    save_manifest(manifest, whole)
    crop_dataset(whole, tmp_path / "crop", size=128, progress=False)
    assert not set(READ_RECORD_KEYS) & set(load_manifest(tmp_path / "crop").cases[0].meta)
    augment_dataset(whole, tmp_path / "aug", factor=2, seed=1, progress=False)
    kept, moved = load_manifest(tmp_path / "aug").cases
    assert {k: kept.meta[k] for k in READ_RECORD_KEYS} == record and not set(READ_RECORD_KEYS) & set(moved.meta)


def test_a_flipped_copy_states_the_directions_of_its_flipped_views():
    """A view's patient directions (a phantom's, a DICOM source's) follow an augmentation's flips, as its region maps do,
    so the copy's written header says truly which way its views run."""
    from scintiseg.io.patient_sides import CONVENTION, ORIENTATION_KEY
    from scintiseg.prepare.augment import GeometricParams
    from scintiseg.prepare.augment_dataset import augment_case_arrays
    from scintiseg.prepare.case_arrays import CaseArrays
    from scintiseg.scan import Scan

    scan = Scan({"ANT": np.ones((64, 16), np.uint16), "POST": np.ones((64, 16), np.uint16)},
                metadata={ORIENTATION_KEY: dict(CONVENTION)})
    arrays = CaseArrays(scan=scan, annotations={}, masks={}, label_maps={})
    moved = {flips: augment_case_arrays(arrays, GeometricParams(*flips, 3.0, (1.0, 2.0))).scan.metadata[ORIENTATION_KEY]
             for flips in ((False, False), (True, False), (False, True))}
    assert moved[(False, False)] == {"ANT": "L\\F", "POST": "R\\F"}  # a small turn and shift keep them
    assert moved[(True, False)] == {"ANT": "R\\F", "POST": "L\\F"}
    assert moved[(False, True)] == {"ANT": "L\\H", "POST": "R\\H"}
    assert scan.metadata[ORIENTATION_KEY] == CONVENTION  # the source case unchanged


@pytest.mark.parametrize(("flag", "value", "said"), [
    ("max_angle", float("nan"), "--max-angle must lie in [0, 180], got nan"),  # was NumPy's OverflowError
    ("hflip_prob", 2.0, "--hflip-prob must lie in [0, 1], got 2.0"),  # was: every copy flipped
    ("vflip_prob", -0.1, "--vflip-prob must lie in [0, 1], got -0.1"),
    ("max_shift", float("inf"), "--max-shift must lie in [0, 0.5], got inf"),
    ("max_zoom", 0.1, "unknown augmentation range 'max_zoom'"),
])
def test_augmentation_ranges_out_of_bounds_are_refused_before_anything_is_written(augmented, tmp_path, flag, value, said):
    src, _ = augmented
    with pytest.raises(ScintisegError, match=re.escape(said)):
        augment_dataset(src, tmp_path / "x", factor=2, progress=False, **{flag: value})
    assert not (tmp_path / "x").exists()


def test_each_copy_names_its_own_parent_and_each_case_draws_its_own_transforms(tmp_path, make_toy_dataset):
    """On a whole-body set (no crop's ``parent_case`` to inherit) every copy records the case it was made from, and
    the second case's copies are not the first's transforms again (the generator is seeded by the case index)."""
    whole = make_toy_dataset(tmp_path / "w", n=2)
    cases = augment_dataset(whole, tmp_path / "aug", factor=3, seed=5, progress=False).cases
    assert [c.case_id for c in cases] == ["P000", "P000_aug01", "P000_aug02", "P001", "P001_aug01", "P001_aug02"]
    for original, copies in ((cases[0], cases[1:3]), (cases[3], cases[4:6])):
        assert "parent_case" not in original.meta
        assert all(copy.meta["parent_case"] == original.case_id for copy in copies)
    assert [c.meta["augment"] for c in cases[1:3]] != [c.meta["augment"] for c in cases[4:6]]
