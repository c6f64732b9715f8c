"""nnU-Net v2's raw layout: what `export_nnunet` writes, its folds by patient, and masks read back."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import nibabel
import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.dataset import load_case, load_manifest, save_manifest
from scintiseg.io.images import write_mask_png
from scintiseg.io.nnunet import (
    Fusion,
    export_nnunet,
    nnunet_folder_name,
    nnunet_identifier,
    read_nnunet_mask,
    write_nifti_view,
)
from scintiseg.prepare.splits import patient_folds, split_dataset

#: The export as ``scintiseg dataset export-nnunet`` runs it: folds dealt by patient (prepare's policy, handed in)
#: where the splits hold none.
export = partial(export_nnunet, deal_folds=patient_folds)


def _export(root: Path, out: Path, **kwargs):
    return export(root, out, split_dataset(root, test=0.25, seed=3), **kwargs)


def test_layout_and_dataset_json(tiny_dataset, tmp_path):
    done = _export(tiny_dataset, tmp_path / "raw")
    folder = tmp_path / "raw" / "Dataset501_BoneScan"
    assert done.folder == folder and not [p for p in (tmp_path / "raw").iterdir() if p.name.startswith(".")]
    meta = json.loads((folder / "dataset.json").read_text())
    assert meta["channel_names"] == {"0": "counts"} and meta["labels"] == {"background": 0, "lesion": 1}
    assert meta["file_ending"] == ".nii.gz"
    images = sorted(p.name.removesuffix("_0000.nii.gz") for p in (folder / "imagesTr").iterdir())
    labels = sorted(p.name.removesuffix(".nii.gz") for p in (folder / "labelsTr").iterdir())
    assert images == labels == sorted(done.training) and meta["numTraining"] == len(images) == 6  # 3 patients x 2 views
    assert sorted(p.name for p in (folder / "imagesTs").iterdir()) == [f"{i}_0000.nii.gz" for i in sorted(done.test)]
    assert len(done.test) == 2 and not set(done.test) & set(done.training)
    from monai.data import load_decathlon_datalist

    listed = load_decathlon_datalist(folder / "dataset.json", data_list_key="training")
    assert sorted(Path(item["label"]).name for item in listed) == sorted(f"{i}.nii.gz" for i in done.training)
    assert all(Path(item["image"]).is_file() and Path(item["label"]).is_file() for item in listed)
    assert {item["fold"] for item in listed} == set(range(len(done.folds)))
    assert len(load_decathlon_datalist(folder / "dataset.json", data_list_key="test")) == 2


def test_views_written_upright_with_their_counts_spacing_and_masks(tiny_dataset, tmp_path):
    done = _export(tiny_dataset, tmp_path / "raw")
    manifest = load_manifest(tiny_dataset)
    for case in manifest.cases:
        scan, masks = load_case(tiny_dataset, case)
        for view in ("ANT", "POST"):
            identifier = nnunet_identifier(case.case_id, view)
            part = "Tr" if identifier in done.training else "Ts"
            image = done.folder / f"images{part}" / f"{identifier}_0000.nii.gz"
            read = read_scan(image)
            np.testing.assert_array_equal(read.views[read.view_names[0]], scan.view(view))
            assert read.pixel_spacing == pytest.approx(scan.pixel_spacing)
            stored = nibabel.load(str(image))
            assert stored.get_data_dtype() == np.uint16 and stored.shape == scan.shape[::-1]  # x = the columns
            mask = read_nnunet_mask(done.folder / f"labels{part}" / f"{identifier}.nii.gz", scan.shape)
            np.testing.assert_array_equal(mask, masks[view])
            assert mask.any()


def test_folds_keep_a_patient_together(dataset_factory, tmp_path):
    root = dataset_factory(patients=7, cases_per_patient=2)
    done = _export(root, tmp_path / "raw")
    patient = {nnunet_identifier(c.case_id, v): c.patient_id for c in load_manifest(root).cases for v in ("ANT", "POST")}
    written = json.loads((done.folder / "splits_final.json").read_text())
    assert written == done.folds and len(written) == 5
    for fold in written:
        assert not {patient[i] for i in fold["train"]} & {patient[i] for i in fold["val"]}
        assert sorted(fold["train"] + fold["val"]) == sorted(done.training)
    assert sorted(i for fold in written for i in fold["val"]) == sorted(done.training)  # each view validates once


def test_the_data_sets_own_folds_are_kept(dataset_factory, tmp_path):
    root = dataset_factory(patients=6)
    splits = split_dataset(root, test=0.2, seed=1, folds=2)
    done = export_nnunet(root, tmp_path / "raw", splits)  # no fold policy needed
    expected = [{part: [f"{c}_{v}" for c in fold[part] for v in ("ANT", "POST")] for part in ("train", "val")}
                for fold in splits["folds"]]
    assert done.folds == expected


def test_splits_without_folds_need_the_fold_policy_handed_in(tiny_dataset, tmp_path):
    splits = split_dataset(tiny_dataset, test=0.25, seed=3)
    with pytest.raises(ValueError, match="hand in deal_folds"):
        export_nnunet(tiny_dataset, tmp_path / "raw", splits)
    assert not (tmp_path / "raw").exists()  # refused before anything is written


def test_unannotated_views_are_left_out_and_counted(tiny_dataset, tmp_path):
    manifest = load_manifest(tiny_dataset)
    manifest.cases[0].labels.pop("POST")
    manifest.cases[1].labels = {}
    save_manifest(manifest, tiny_dataset)
    done = export(tiny_dataset, tmp_path / "raw", {"train": [c.case_id for c in manifest.cases], "test": []})
    assert done.unannotated_views == 3 and len(done.training) == 5 and not done.test
    assert not (done.folder / "imagesTs").exists()


def test_a_fused_export_writes_one_case_per_study_with_its_channels_and_the_union_label(tiny_dataset, tmp_path):
    """``--fuse``: the fusion's channels as ``_0000``, ``_0001``, its label, the channel names in dataset.json and
    MONAI's list; a study with one view outlined left out and counted; a single-view data set refused."""
    from monai.data import load_decathlon_datalist

    from scintiseg.prepare.model_input import FUSED_CHANNELS, fused_counts

    manifest = load_manifest(tiny_dataset)
    manifest.cases[0].labels.pop("POST")  # one view outlined: the other's lesions unknown
    save_manifest(manifest, tiny_dataset)
    fusion = Fusion("two_channel", FUSED_CHANNELS["two_channel"], lambda scan, masks: fused_counts(scan, masks, "two_channel"))
    ids = [c.case_id for c in manifest.cases]
    done = export(tiny_dataset, tmp_path / "raw", {"train": ids[:3], "test": ids[3:]}, fusion=fusion)
    assert done.training == [nnunet_identifier(c) for c in ids[1:3]] and done.test == [nnunet_identifier(ids[3])]
    assert done.unpaired_cases == 1 and done.unannotated_views == 0
    meta = json.loads((done.folder / "dataset.json").read_text())
    assert meta["channel_names"] == {"0": "ANT", "1": "POST_mirrored"} and "two_channel" in meta["description"]
    for case_id in ids[1:]:
        part = "Tr" if case_id in ids[:3] else "Ts"
        scan, masks = load_case(tiny_dataset, manifest.case(case_id))
        channels, target = fused_counts(scan, masks, "two_channel")
        for k in range(2):
            written = nibabel.load(str(done.folder / f"images{part}" / f"{case_id}_{k:04d}.nii.gz"))
            assert written.get_data_dtype() == np.uint16
            np.testing.assert_array_equal(np.asarray(written.dataobj).T, channels[k])
        label = read_nnunet_mask(done.folder / f"labels{part}" / f"{case_id}.nii.gz", scan.shape)
        np.testing.assert_array_equal(label, target)
        assert label.sum() >= masks["ANT"].sum()
    listed = load_decathlon_datalist(done.folder / "dataset.json", data_list_key="training")
    assert [len(item["image"]) for item in listed] == [2, 2] and all(Path(f).is_file() for f in listed[0]["image"])
    assert not (done.folder / "imagesTr" / f"{ids[0]}_0000.nii.gz").exists()
    with pytest.raises(ScintisegError, match="no training study with both ANT and POST annotated"):
        export(tiny_dataset, tmp_path / "raw", {"train": ids[:1], "test": []}, fusion=fusion, dataset_id=9)

    def refuse(scan, masks):
        raise ScintisegError("cannot align views: one of them holds no counts")

    with pytest.raises(ScintisegError, match=f"case {ids[1]}: cannot align views") as caught:
        export(tiny_dataset, tmp_path / "raw", {"train": ids[1:], "test": []}, dataset_id=8,
                      fusion=Fusion("two_channel", ("ANT", "POST_mirrored"), refuse))
    assert f"{ids[1]}.dcm" in str(caught.value)
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == ["Dataset501_BoneScan"]  # nothing half-written


def test_refusals_leave_nothing_behind(tiny_dataset, tmp_path):
    raw = tmp_path / "raw"
    splits = split_dataset(tiny_dataset, test=0.25, seed=3)
    export(tiny_dataset, raw, splits)
    with pytest.raises(ScintisegError, match="already exists"):
        export(tiny_dataset, raw, splits)
    with pytest.raises(ScintisegError, match="two data sets of id 501"):
        export(tiny_dataset, raw, splits, name="Other")
    for dataset_id, name in ((0, "A"), (1000, "A"), (7, "a b"), (7, "")):
        with pytest.raises(ScintisegError, match="nnU-Net data-set"):
            nnunet_folder_name(dataset_id, name)
    with pytest.raises(ScintisegError, match="folds by patient: 2 folds need at least 2 real training patient groups, have 1"):
        export(tiny_dataset, raw, {"train": splits["train"][:1], "test": []}, dataset_id=10)
    with pytest.raises(ScintisegError, match="no annotated view"):
        export(tiny_dataset, raw, {"train": [], "test": splits["test"]}, dataset_id=8)
    manifest = load_manifest(tiny_dataset)
    (tiny_dataset / manifest.case(splits["test"][0]).image).write_bytes(b"not a scan")
    with pytest.raises(ScintisegError):
        export(tiny_dataset, raw, splits, dataset_id=9)
    assert sorted(p.name for p in raw.iterdir()) == ["Dataset501_BoneScan"]  # no half-written folder


def test_read_mask_back_from_nifti_and_png(tmp_path):
    mask = np.zeros((12, 5), dtype=bool)
    mask[2:4, 1] = True
    write_nifti_view(mask, (2.0, 3.0), tmp_path / "m.nii.gz")
    np.testing.assert_array_equal(read_nnunet_mask(tmp_path / "m.nii.gz", (12, 5)), mask)
    assert nibabel.load(str(tmp_path / "m.nii.gz")).header.get_zooms()[:2] == (3.0, 2.0)  # x = columns first
    write_mask_png(mask, tmp_path / "m.png")
    np.testing.assert_array_equal(read_nnunet_mask(tmp_path / "m.png", (12, 5)), mask)
    with pytest.raises(ScintisegError, match="size mismatch: the mask is 12x5, the view 12x6"):
        read_nnunet_mask(tmp_path / "m.nii.gz", (12, 6))
    (tmp_path / "bad.nii.gz").write_bytes(b"nonsense")
    with pytest.raises(ScintisegError, match="bad.nii.gz: not a NIfTI file"):
        read_nnunet_mask(tmp_path / "bad.nii.gz", (12, 5))
    nibabel.save(nibabel.Nifti1Image(mask.astype(np.uint8), np.eye(4)), str(tmp_path / "rows.nii"))  # rows first
    np.testing.assert_array_equal(read_nnunet_mask(tmp_path / "rows.nii", (12, 5)), mask)
    labels = mask.astype(np.float32) * 2  # a label map stored as floats: whole numbers, read as lesion where > 0
    write_nifti_view(labels, (2.0, 3.0), tmp_path / "labels.nii.gz")
    np.testing.assert_array_equal(read_nnunet_mask(tmp_path / "labels.nii.gz", (12, 5)), mask)


@pytest.mark.parametrize("value", [0.3, -1.0, float("nan")])
def test_a_mask_of_values_that_are_no_labels_is_refused_not_read_as_lesion_everywhere(tmp_path, value):
    """A probability map, a float image or NaN (read before as lesion wherever it was not 0: the whole view)."""
    data = np.zeros((12, 5), dtype=np.float32)
    data[2:4, 1] = value
    write_nifti_view(data, (2.0, 3.0), tmp_path / "p.nii.gz")
    with pytest.raises(ScintisegError, match="p.nii.gz: a mask holds labels .* threshold a probability map first"):
        read_nnunet_mask(tmp_path / "p.nii.gz", (12, 5))


@pytest.mark.parametrize("values, dtype", [
    ([[0.5, 2.0], [1.0, 3.0]], np.float32),  # grey levels of an export stay as they are
    ([[0, 2], [70000, 3]], np.float32),  # beyond uint16: floats keep them
    ([[-1, 2], [1, 3]], np.float32),
    (np.array([[0, 2], [1, 3]], dtype=np.int64), np.uint16),  # nibabel refuses int64 without a header type
    (np.array([[0, 2], [1, 3]], dtype=np.int16), np.uint16),
])
def test_counts_are_written_in_a_type_that_keeps_them(tmp_path, values, dtype):
    write_nifti_view(np.asarray(values), (1.0, 1.0), tmp_path / "f.nii.gz")
    stored = nibabel.load(str(tmp_path / "f.nii.gz"))
    assert stored.get_data_dtype() == dtype and np.array_equal(np.asarray(stored.dataobj).T, values)


def test_identifiers_are_safe_file_names():
    assert nnunet_identifier("1.2.840 x/y", "ANT") == "1_2_840_x_y_ANT"


def test_a_test_cases_pseudo_label_is_no_test_label(tiny_dataset, tmp_path):
    """A pseudo-label imported after the split (the model's own prediction) trains nnU-Net but is no truth to score
    on: left out of labelsTs / imagesTs."""
    manifest = load_manifest(tiny_dataset)
    ids = [c.case_id for c in manifest.cases]
    for case_id in ids[1], ids[3]:
        manifest.case(case_id).meta["pseudo"] = ["ANT"]
    save_manifest(manifest, tiny_dataset)
    done = export(tiny_dataset, tmp_path / "raw", {"train": ids[:3], "test": ids[3:]})
    assert nnunet_identifier(ids[1], "ANT") in done.training  # trains, as it was imported for
    assert done.test == [nnunet_identifier(ids[3], "POST")]
    assert done.pseudo_test == 1 and done.unannotated_views == 0  # counted as what it is, not as unannotated
    assert sorted(p.name for p in (done.folder / "labelsTs").iterdir()) == [f"{nnunet_identifier(ids[3], 'POST')}.nii.gz"]
    # fused: the test study is left out whole and counted as pseudo-labelled, not as a study with one view outlined
    from scintiseg.prepare.model_input import FUSED_CHANNELS, fused_counts

    fusion = Fusion("aggregate", FUSED_CHANNELS["aggregate"], lambda scan, masks: fused_counts(scan, masks, "aggregate"))
    fused = export(tiny_dataset, tmp_path / "raw2", {"train": ids[:3], "test": ids[3:]}, fusion=fusion)
    assert fused.test == [] and fused.pseudo_test == 1 and fused.unpaired_cases == 0


def test_a_square_mask_written_x_first_reads_back_upright(tmp_path):
    """A crop's mask (square) as write_nifti_view stores it (x = columns first) is transposed back, not read as stored."""
    mask = np.zeros((16, 16), dtype=bool)
    mask[2:5, 10:12] = True
    write_nifti_view(mask, (2.0, 2.0), tmp_path / "square.nii.gz")
    np.testing.assert_array_equal(read_nnunet_mask(tmp_path / "square.nii.gz", (16, 16)), mask)
