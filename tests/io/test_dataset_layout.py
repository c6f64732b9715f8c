"""The data-set layout: load_case, check_dataset, save_splits, load_splits (the split itself: tests/prepare/test_splits.py)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import (
    TURNED_KEY,
    check_dataset,
    load_case,
    load_manifest,
    load_splits,
    resolve,
    save_manifest,
    save_splits,
)
from scintiseg.io.images import write_mask_png
from scintiseg.prepare.splits import split_dataset
from scintiseg.scan import Scan


def test_load_case_reads_scan_and_labelme_masks(tiny_dataset):
    manifest = load_manifest(tiny_dataset)
    scan, masks = load_case(tiny_dataset, manifest.cases[1])
    assert scan.view_names == ["ANT", "POST"] and scan.patient_id == "P001"
    assert set(masks) == {"ANT", "POST"}
    expected = np.zeros((32, 16), dtype=bool)
    expected[5:10, 3:8] = True
    np.testing.assert_array_equal(masks["ANT"], expected)
    scan_by_id, _ = load_case(tiny_dataset, "P001_0")
    np.testing.assert_array_equal(scan_by_id.view("POST"), scan.view("POST"))


def _relabel(root, case, view, labels):
    """Give the shapes of ``case``'s ``view`` file the ``labels`` (one shape copied per label, moved down 12 rows
    each)."""
    path = root / case.labels[view]
    data = json.loads(path.read_text())
    first = data["shapes"][0]
    data["shapes"] = [dict(first, label=label, points=[[x, y + 12 * i] for x, y in first["points"]])
                      for i, label in enumerate(labels)]
    path.write_text(json.dumps(data))


def test_load_case_reads_a_readers_words_for_lesions(tiny_dataset):
    """A hand-made data set's ``Metastasis`` outline is a lesion, its ``bladder`` outline none (session 49: only the
    manifest's ``lesion`` counted, and such a view trained as lesion-free)."""
    case = load_manifest(tiny_dataset).cases[1]
    _, before = load_case(tiny_dataset, case)
    _relabel(tiny_dataset, case, "ANT", ["Metastasis", "bladder"])
    _, masks = load_case(tiny_dataset, case)
    np.testing.assert_array_equal(masks["ANT"], before["ANT"])  # the first shape kept where it was, the second not
    _relabel(tiny_dataset, case, "ANT", ["left_out", "Injection site"])
    _, masks = load_case(tiny_dataset, case)
    assert not masks["ANT"].any() and masks["POST"].any()
    report = check_dataset(tiny_dataset)
    assert report.valid and report.summary["views with lesions"] == report.summary["labelled views"] - 1
    assert report.summary["outlines of findings that are no lesion"] == "Injection site 1, left_out 1"
    _relabel(tiny_dataset, case, "POST", ["mets", "Metastasis"])
    _relabel(tiny_dataset, load_manifest(tiny_dataset).cases[2], "POST", ["Metastasis"])
    assert check_dataset(tiny_dataset).summary["outlines read as lesions by their label"] == "Metastasis 2, mets 1"


def test_load_case_reads_the_manifests_own_names(tiny_dataset):
    manifest = load_manifest(tiny_dataset)
    manifest.labels = {"background": 0, "tumour": 1, "physiological": 0}
    save_manifest(manifest, tiny_dataset)
    case = manifest.cases[1]
    _relabel(tiny_dataset, case, "ANT", ["tumour", "physiological"])
    _, masks = load_case(tiny_dataset, case)
    assert masks["ANT"].sum() == 25
    _relabel(tiny_dataset, case, "ANT", ["physiological"])
    assert not load_case(tiny_dataset, case)[1]["ANT"].any()


def test_an_unknown_label_is_refused_naming_the_shape(tiny_dataset):
    case = load_manifest(tiny_dataset).cases[1]
    _relabel(tiny_dataset, case, "ANT", ["lesion", "L1"])
    with pytest.raises(ScintisegError, match=r"P001_0_ANT\.json: shape 1 is labelled 'L1'"):
        load_case(tiny_dataset, case)
    report = check_dataset(tiny_dataset)
    assert not report.valid
    assert [str(p) for p in report.errors if "'L1'" in str(p)] and all("\n" not in str(p) for p in report.problems)


def test_load_case_falls_back_to_png_masks(tiny_dataset):
    manifest = load_manifest(tiny_dataset)
    mask = np.zeros((32, 16), dtype=bool)
    mask[1:3, 1:3] = True
    write_mask_png(mask, tiny_dataset / "masks" / "m.png")
    case = replace(manifest.cases[0], labels={"ANT": manifest.cases[0].labels["ANT"]}, masks={"POST": "masks/m.png"})
    _, masks = load_case(tiny_dataset, case)
    np.testing.assert_array_equal(masks["POST"], mask)
    assert masks["ANT"].sum() == 25


def test_resolve_refuses_escaping_paths(tiny_dataset):
    with pytest.raises(ScintisegError, match="outside"):
        resolve(tiny_dataset, "../elsewhere.dcm")


def test_valid_dataset_checks_clean(tiny_dataset):
    report = check_dataset(tiny_dataset)
    assert report.valid and not report.problems
    assert report.summary["cases"] == 4 and report.summary["labelled views"] == 8
    assert report.summary["views with lesions"] == 8


def test_check_finds_every_problem(tiny_dataset):
    manifest = load_manifest(tiny_dataset)
    root = tiny_dataset
    # 1. a missing image; 2. a duplicate id; 3. 0/255 mask (warning) and a mask with value 2 (error);
    # 4. a size mismatch; 5. an empty annotation (a reader's "no lesion": none); 6. points outside the image (error).
    manifest.cases[0].image = "images/none.dcm"
    manifest.cases.append(replace(manifest.cases[1]))
    Image.fromarray((np.eye(32, 16) * 255).astype(np.uint8)).save(root / "m255.png")
    Image.fromarray((np.eye(32, 16) * 2).astype(np.uint8)).save(root / "m2.png")
    write_mask_png(np.zeros((10, 10), bool), root / "small.png")
    manifest.cases[2].masks = {"ANT": "m255.png", "POST": "m2.png"}
    manifest.cases[3].masks = {"ANT": "small.png"}
    empty = json.loads((root / manifest.cases[2].labels["ANT"]).read_text())
    empty["shapes"] = []
    (root / manifest.cases[2].labels["ANT"]).write_text(json.dumps(empty))
    outside = json.loads((root / manifest.cases[3].labels["POST"]).read_text())
    outside["shapes"][0]["points"][0] = [500.0, 3.0]
    (root / manifest.cases[3].labels["POST"]).write_text(json.dumps(outside))
    save_manifest(manifest, root)

    report = check_dataset(root)
    text = "\n".join(map(str, report.problems))
    assert not report.valid
    assert "images/none.dcm: case P000_0: missing file" in text
    assert "duplicate case id 'P001_0'" in text
    assert any("0/255" in str(p) for p in report.warnings)
    assert any("label values [2]" in str(p) for p in report.errors)
    assert any("size mismatch" in str(p) and "small.png" in str(p) for p in report.errors)
    assert not any(manifest.cases[2].labels["ANT"] in str(p) for p in report.problems)  # outlined lesion-free: no problem
    assert any("outside the 32x16 image" in str(p) for p in report.errors)
    assert all("\n" not in str(p) for p in report.problems)


def test_check_counts_unannotated_cases_and_what_the_test_split_can_score(tiny_dataset):
    """A site's scans without outlines are normal (adaptation reads them unlabelled): counted, not warned about; the
    summary says how many test cases a person outlined."""
    manifest = load_manifest(tiny_dataset)
    manifest.cases[0].labels = {}
    save_manifest(manifest, tiny_dataset)
    report = check_dataset(tiny_dataset)
    assert report.valid and not report.problems
    assert report.summary["cases without outlines"] == 1
    assert "test split (splits.json)" not in report.summary
    split_dataset(tiny_dataset, test=0.5, seed=0)
    assert check_dataset(tiny_dataset).summary["test split (splits.json)"] == "2 cases, 2 outlined by a person"
    (tiny_dataset / "splits.json").write_text(json.dumps({"train": ["P000_0"], "test": ["P999_0"]}))
    broken = check_dataset(tiny_dataset)
    assert not broken.valid and any("splits.json" in str(p) and "P999_0" in str(p) for p in broken.errors)


def test_check_reports_a_broken_manifest(tmp_path):
    (tmp_path / "dataset.json").write_text("{oops")
    report = check_dataset(tmp_path)
    assert not report.valid and "malformed JSON" in str(report.problems[0])


def test_save_splits_writes_what_load_splits_reads(tiny_dataset):
    ids = [c.case_id for c in load_manifest(tiny_dataset).cases]
    by_patient = {"train": [i for i in ids if not i.startswith("P000")], "test": [i for i in ids if i.startswith("P000")],
                  "folds": []}
    path = save_splits(by_patient, tiny_dataset)
    assert path == tiny_dataset / "splits.json" and path.read_text().endswith("]\n}\n")
    assert load_splits(tiny_dataset) == by_patient
    assert not list(tiny_dataset.glob(".*"))  # written atomically: no temporary file left


def test_load_splits_catches_leaks(tiny_dataset):
    split_dataset(tiny_dataset, test=0.25, seed=0)
    splits = json.loads((tiny_dataset / "splits.json").read_text())
    splits["test"].append(splits["train"][0])
    (tiny_dataset / "splits.json").write_text(json.dumps(splits))
    with pytest.raises(ScintisegError, match="in both train and test"):
        load_splits(tiny_dataset)


def test_an_unknown_turn_is_a_check_error_and_a_load_error_naming_the_case(tiny_dataset):
    manifest = load_manifest(tiny_dataset)
    manifest.cases[1].meta[TURNED_KEY] = "sideways"
    save_manifest(manifest, tiny_dataset)
    report = check_dataset(tiny_dataset)
    assert not report.valid
    assert [str(p) for p in report.errors] == [
        f"error: {tiny_dataset / 'dataset.json'}: case P001_0: meta read_turned is 'sideways', not one of head_down"]
    with pytest.raises(ScintisegError, match="case P001_0: meta read_turned is 'sideways'"):
        load_case(tiny_dataset, "P001_0")


def test_check_says_what_kind_of_model_train_makes_of_the_field_of_view(tmp_path):
    """Whole-body scans (112 rows of 9 mm, 1 m) make a whole-body model, crops (32 rows of 2.26 mm) a crop model; a data
    set with both is said to need one kind (train refuses it)."""
    from scintiseg.io.dicom import write_dicom
    from support import conftest_of

    write = conftest_of("train").write_tiny_dataset
    whole = write(tmp_path / "whole", patients=3, size=112, pixel_mm=9.0)
    crops = write(tmp_path / "crops", patients=3, size=32)
    said = check_dataset(whole).summary["field of view"]
    assert said == "3 whole-body (at least 1 m): `train` makes a whole-body model"
    assert check_dataset(crops).summary["field of view"] == "3 partial (crops, under 1 m): `train` makes a crop model"
    case = load_manifest(whole).cases[0]
    write_dicom(Scan({"ANT": np.full((112, 112), 40, np.uint16), "POST": np.full((112, 112), 40, np.uint16)},
                     pixel_spacing=(2.26, 2.26)), whole / case.image)
    report = check_dataset(whole)
    assert report.summary["field of view"] == "2 whole-body, 1 partial (under 1 m): `train` needs one kind"
