"""Tests of :mod:`scintiseg.io.dataset`: the data-set folder (``dataset.json``, ``splits.json``) and its readers.

Sections: the manifest and its cases (load_manifest, save_manifest, the Case / DatasetManifest helpers, turned
cases); load_case; check_dataset; save_splits / load_splits (the split itself: tests/prepare/test_splits.py); and
hostile ``dataset.json`` and ``splits.json`` files, which must be one ScintisegError line naming the file and the key.
Each corruption there is one the fuzz harness (benchmarks/bench_fuzz.py, docs/robustness-fuzz.md) turned into a
traceback before issue 14: paths that are lists, ``labels``/``masks``/``regions`` that are not mappings, ids that
are not strings, a NUL byte in a path, a non-string origin, deeply nested JSON. (Merged in session 65 from
test_dataset_layout.py and test_dataset_hardening.py.)
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.dataset import (
    DEFAULT_LABELS,
    FORMAT_VERSION,
    HEAD_DOWN,
    PSEUDO_KEY,
    TURNED_KEY,
    Case,
    DatasetManifest,
    case_turn,
    check_dataset,
    load_case,
    load_manifest,
    load_splits,
    manifest_labels,
    person_views,
    read_json_object,
    resolve,
    save_manifest,
    save_splits,
    turned_array,
    turned_scan,
    views_text,
)
from scintiseg.io.images import write_mask_png
from scintiseg.prepare.splits import split_dataset
from scintiseg.scan import Scan


# --------------------------------------------------------------------------------------------- the manifest


def test_save_manifest_round_trips_every_case_field(tmp_path):
    case = Case("C1", "P1", "images/C1.dcm", labels={"ANT": "labels/C1_ANT.json"}, masks={"POST": "masks/C1.png"},
                regions={"ANT": "regions/C1.png"}, synthetic=True, origin="phantom", meta={"lesions": [{"id": 1}]})
    manifest = DatasetManifest(name="n", views=["ANT", "POST"], pixel_spacing=(2.0, 3.0), cases=[case],
                               region_names={"1": "skull"}, description="d")
    path = save_manifest(manifest, tmp_path)
    assert path == tmp_path / "dataset.json"
    assert load_manifest(tmp_path) == manifest
    assert json.loads(path.read_text())["pixel_spacing"] == [2.0, 3.0]  # a JSON list, not a tuple's repr


def test_the_count_of_cases_per_view_is_written_beside_the_views_and_only_when_counted(tmp_path):
    """The views every case holds stay ``views`` (what the readers take for granted); ``view_cases`` says how many
    cases hold each (the researcher audit's finding 5: 7 ANT+POST cases and one ANT scan read ``views: ["ANT"]``)."""
    manifest = DatasetManifest(name="n", views=["ANT"], pixel_spacing=(2.0, 3.0), view_cases={"ANT": 8, "POST": 7})
    written = json.loads(save_manifest(manifest, tmp_path).read_text())
    assert list(written)[list(written).index("views") + 1] == "view_cases"
    assert written["view_cases"] == {"ANT": 8, "POST": 7} and load_manifest(tmp_path) == manifest
    assert "view_cases" not in replace(manifest, view_cases={}).to_json()  # not counted: not written
    assert manifest.derived("crop", "crops", []).view_cases == {}  # it counted the other cases


def test_views_text_counts_each_view_in_canonical_order():
    assert views_text({"POST": 7, "ANT": 8}, 8) == "ANT 8, POST 7 of 8 cases"
    assert views_text({"VIEW": 1}, 1) == "VIEW 1 of 1 case"
    assert views_text({"ANT": 6, "POST": 6}, 6, read=7) == "ANT 6, POST 6 of 6 cases read"


def test_manifest_groups_cases_by_patient_and_finds_a_case_by_id(dataset_factory):
    manifest = load_manifest(dataset_factory(patients=2, cases_per_patient=2))
    groups = manifest.patients()
    assert list(groups) == ["P000", "P001"]
    assert [c.case_id for c in groups["P001"]] == ["P001_0", "P001_1"]
    assert manifest.case("P001_1") is manifest.cases[3]
    with pytest.raises(ScintisegError, match="no case 'P009_0' in data set 'tiny'"):
        manifest.case("P009_0")


def test_a_derived_manifest_keeps_views_and_spacing_and_leaves_the_source_alone(tiny_dataset):
    manifest = load_manifest(tiny_dataset)
    manifest.region_names = {"1": "skull"}
    derived = manifest.derived("crop", "thoracic crops", manifest.cases[:1])
    assert derived.name == "tiny-crop" and derived.description == "thoracic crops"
    assert (derived.views, derived.pixel_spacing, derived.region_names) == (manifest.views, (2.26, 2.26), {"1": "skull"})
    assert [c.case_id for c in derived.cases] == ["P000_0"] and len(manifest.cases) == 4
    again = replace(manifest, description="site A").derived("aug", "augmented", [])
    assert again.description == "site A augmented"


def test_manifest_labels_are_the_manifests_or_the_default_without_one(tiny_dataset, tmp_path):
    assert manifest_labels(tmp_path) == {"background": 0, "lesion": 1}
    manifest_labels(tmp_path)["lesion"] = 7  # a copy: the default cannot be changed through it
    assert DEFAULT_LABELS == {"background": 0, "lesion": 1}
    manifest = load_manifest(tiny_dataset)
    manifest.labels = {"background": 0, "tumour": 1}
    save_manifest(manifest, tiny_dataset)
    assert manifest_labels(tiny_dataset) == {"background": 0, "tumour": 1}


def test_person_views_leave_out_pseudo_labels():
    case = Case("C", "P", "i.dcm", labels={"ANT": "a.json", "POST": "p.json"}, masks={"LAT": "l.png"})
    assert person_views(case) == {"ANT", "POST", "LAT"}
    assert person_views(replace(case, meta={PSEUDO_KEY: ["POST", "LAT"]})) == {"ANT"}
    assert person_views(replace(case, meta={PSEUDO_KEY: "POST"})) == {"ANT", "POST", "LAT"}  # not a list: ignored
    assert person_views(Case("C", "P", "i.dcm")) == set()


def test_turned_array_reverses_the_rows_of_a_head_down_view_only():
    array = np.arange(12).reshape(4, 3)
    np.testing.assert_array_equal(turned_array(array, HEAD_DOWN), array[::-1])
    assert turned_array(array, HEAD_DOWN).flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(turned_array(array, ""), array)


def test_turned_scan_marks_the_turn_and_keeps_an_unturned_scan(small_scan):
    assert turned_scan(small_scan, "") is small_scan
    turned = turned_scan(small_scan, HEAD_DOWN)
    assert turned.metadata[TURNED_KEY] == HEAD_DOWN and TURNED_KEY not in small_scan.metadata
    for view in ("ANT", "POST"):
        np.testing.assert_array_equal(turned.view(view), small_scan.view(view)[::-1])


def test_a_head_down_case_loads_upright_with_its_masks_on_the_same_pixels(tiny_dataset):
    manifest = load_manifest(tiny_dataset)
    stored, stored_masks = load_case(tiny_dataset, "P002_0")
    assert case_turn(manifest.case("P002_0")) == ""
    manifest.case("P002_0").meta[TURNED_KEY] = HEAD_DOWN
    save_manifest(manifest, tiny_dataset)
    assert case_turn(load_manifest(tiny_dataset).case("P002_0")) == HEAD_DOWN
    scan, masks = load_case(tiny_dataset, "P002_0")
    assert scan.metadata[TURNED_KEY] == HEAD_DOWN
    for view in ("ANT", "POST"):
        np.testing.assert_array_equal(scan.view(view), stored.view(view)[::-1])
        np.testing.assert_array_equal(masks[view], stored_masks[view][::-1])
        assert scan.view(view)[masks[view]].sum() == stored.view(view)[stored_masks[view]].sum()


def test_load_case_gives_the_scan_the_cases_patient_id_when_the_file_has_none(tiny_dataset):
    from scintiseg.io.dicom import write_dicom

    case = load_manifest(tiny_dataset).case("P003_0")
    scan, _ = load_case(tiny_dataset, case)
    write_dicom(scan.with_views(scan.views, patient_id=""), tiny_dataset / case.image)
    assert load_case(tiny_dataset, case)[0].patient_id == "P003"


# --------------------------------------------------------------------------------------------- load_case, check_dataset


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
    with pytest.raises(ScintisegError, match=r"P001_0_ANT\.json: shape 2 is labelled 'L1'"):
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


def test_check_counts_the_cases_holding_each_view_not_only_those_every_case_holds(tiny_dataset):
    """Three ANT+POST cases and one ANT scan: the manifest's views are ``["ANT"]`` (every case's), the summary says
    ``ANT 4, POST 3`` (the researcher audit's finding 5: it said ``ANT``, as if POST had been dropped)."""
    from scintiseg.io.dicom import write_dicom

    manifest = load_manifest(tiny_dataset)
    lone = manifest.cases[3]
    ant = read_scan(tiny_dataset / lone.image).view("ANT")
    write_dicom(Scan({"ANT": ant}, pixel_spacing=(2.26, 2.26), patient_id=lone.patient_id), tiny_dataset / lone.image)
    lone.labels.pop("POST")
    save_manifest(replace(manifest, views=["ANT"]), tiny_dataset)
    report = check_dataset(tiny_dataset)
    assert report.valid, report.problems
    assert report.summary["views"] == "ANT 4, POST 3 of 4 cases"
    manifest.cases[0].image = "images/none.dcm"  # (an error of its own) the count is of the images read
    save_manifest(replace(manifest, views=["ANT"]), tiny_dataset)
    assert check_dataset(tiny_dataset).summary["views"] == "ANT 3, POST 2 of 3 cases read"


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


# --------------------------------------------------------------------------------------------- hostile files


def _rewrite(root, name: str, change) -> None:
    path = root / name
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _one_line(function, root, name: str = "dataset.json") -> str:
    with pytest.raises(ScintisegError) as error:
        function(root)
    message = str(error.value)
    assert message.startswith(f"{root / name}: ") and "\n" not in message, message
    return message[len(f"{root / name}: "):]


def _set(*keys, value):
    """A change that sets ``data[k0][k1]...`` to ``value``."""

    def change(data):
        for key in keys[:-1]:
            data = data[key]
        data[keys[-1]] = value

    return change


def _delete(*keys):
    def change(data):
        for key in keys[:-1]:
            data = data[key]
        del data[keys[-1]]

    return change


#: (change to a valid manifest, words the one-line error must contain).
MANIFEST_CORRUPTIONS = {
    "image-a-list": (_set("cases", 1, "image", value=["images/P001_0.dcm"]),
                     "cases[1] ('P001_0'): image must be a string, not a list"),
    "image-a-number": (_set("cases", 0, "image", value=0.5), "cases[0] ('P000_0'): image must be a string, not a number"),
    "image-empty": (_set("cases", 0, "image", value=""), "cases[0] ('P000_0'): image is an empty path"),
    "image-nul": (_set("cases", 2, "image", value="images/\x00.dcm"), "cases[2] ('P002_0'): image contains a NUL byte"),
    "labels-a-list": (_set("cases", 1, "labels", value=["labels/P001_0_ANT.json"]),
                      "cases[1] ('P001_0'): labels must be an object, not a list"),
    "masks-an-integer": (_set("cases", 1, "masks", value=1), "cases[1] ('P001_0'): masks must be an object, not an integer"),
    "regions-a-list": (_set("cases", 2, "regions", value=[]), "cases[2] ('P002_0'): regions must be an object, not a list"),
    "label-path-a-list": (_set("cases", 0, "labels", "ANT", value=[[1, 2], [3]]),
                          "cases[0] ('P000_0'): labels['ANT'] must be a string, not a list"),
    "mask-path-nul": (_set("cases", 3, "masks", value={"POST": "\x00"}),
                      "cases[3] ('P003_0'): masks['POST'] contains a NUL byte"),
    "case-id-unhashable": (_set("cases", 1, "case_id", value=[[0.0, 0.0]]), "cases[1]: case_id must be a string, not a list"),
    "case-id-missing": (_delete("cases", 1, "case_id"), "cases[1] lacks case_id"),
    # crop, augment and export name a case's files after its id: "../x" wrote outside their output folder
    "case-id-a-path": (_set("cases", 1, "case_id", value="../../ESCAPED"),
                       "cases[1] ('../../ESCAPED'): case_id is a path, not a name"),
    "case-id-dot-dot": (_set("cases", 1, "case_id", value=".."), "cases[1] ('..'): case_id is a path, not a name"),
    "case-id-backslash": (_set("cases", 1, "case_id", value="a\\b"), "cases[1] ('a\\\\b'): case_id is a path"),
    "case-id-empty": (_set("cases", 0, "case_id", value=" "), "cases[0] (' '): case_id is empty"),
    "case-id-control": (_set("cases", 0, "case_id", value="P\n1"), "cases[0] ('P\\n1'): case_id holds a control character"),
    "patient-id-a-list": (_set("cases", 0, "patient_id", value=[[]]),
                          "cases[0] ('P000_0'): patient_id must be a string, not a list"),
    "origin-infinite": (_set("cases", 2, "origin", value=float("inf")),
                        "cases[2] ('P002_0'): origin must be a string, not a number"),
    "synthetic-a-string": (_set("cases", 2, "synthetic", value="no"),
                           "cases[2] ('P002_0'): synthetic must be true or false, not a string"),
    "meta-a-string": (_set("cases", 2, "meta", value="x" * 5000), "cases[2] ('P002_0'): meta must be an object, not a string"),
    "case-unknown-key": (_set("cases", 3, "imageData", value=None), "cases[3] ('P003_0') has unknown key(s) 'imageData'"),
    "case-not-an-object": (_set("cases", 3, value=[0, 0, 0]), "cases[3] must be an object, not a list"),
    "cases-not-a-list": (_set("cases", value={"": None}), "cases must be a list, not an object"),
    "name-missing": (_delete("name"), "lacks name"),
    "name-a-list": (_set("name", value=[]), "name must be a string, not a list"),
    "views-a-string": (_set("views", value="ANT"), "views must be a list, not a string"),
    "view-a-number": (_set("views", 0, value=-0.5), "views[0] must be a string, not a number"),
    "view-a-list": (_set("views", 0, value=["ANT"]), "views[0] must be a string, not a list"),
    "spacing-nan": (_set("pixel_spacing", 1, value=float("nan")),
                    "pixel_spacing must be two positive finite numbers [row_mm, col_mm], got [2.26, nan]"),
    "spacing-one-number": (_set("pixel_spacing", value=[2.26]), "pixel_spacing must be two positive finite numbers"),
    "spacing-a-string": (_set("pixel_spacing", value="2.26"), "pixel_spacing must be two positive finite numbers"),
    "label-value-null": (_set("labels", "background", value=None), "labels['background'] must be an integer, not null"),
    "manifest-labels-a-list": (_set("labels", value=["background", "lesion"]), "labels must be an object, not a list"),
    "region-names-a-list": (_set("region_names", value=[]), "region_names must be an object, not a list"),
    "region-id-not-a-number": (_set("region_names", value={"skull": "1"}),
                               "region_names key 'skull' is not an integer region id"),
    "region-name-a-number": (_set("region_names", value={"1": 2}), "region_names['1'] must be a string, not an integer"),
    "description-a-number": (_set("description", value=1e308), "description must be a string, not a number"),
    "view-cases-a-list": (_set("view_cases", value=["ANT"]), "view_cases must be an object, not a list"),
    "view-count-a-string": (_set("view_cases", value={"ANT": "8"}), "view_cases['ANT'] must be an integer, not a string"),
    "view-count-negative": (_set("view_cases", value={"POST": -1}), "view_cases['POST'] is -1, not a count of cases"),
    "version-newer": (_set("format_version", value=FORMAT_VERSION + 1),
                      f"format_version {FORMAT_VERSION + 1} is newer than this scintiseg reads ({FORMAT_VERSION})"),
    "version-a-string": (_set("format_version", value="1"), "format_version must be an integer, not a string"),
}


@pytest.mark.parametrize("name", list(MANIFEST_CORRUPTIONS))
def test_a_malformed_manifest_is_one_line_naming_the_key(tiny_dataset, name):
    change, expected = MANIFEST_CORRUPTIONS[name]
    _rewrite(tiny_dataset, "dataset.json", change)
    message = _one_line(load_manifest, tiny_dataset)
    assert message.startswith(f"malformed manifest: {expected}"), message
    report = check_dataset(tiny_dataset)  # the checker reports it instead of raising
    assert not report.valid and [str(p) for p in report.errors] == [f"error: {tiny_dataset / 'dataset.json'}: {message}"]


def test_a_case_id_two_cases_carry_is_refused_by_readers_and_listed_by_the_checker(tiny_dataset):
    """Two cases of one id overwrote each other's files in crop, augment and export (one silently lost)."""
    _rewrite(tiny_dataset, "dataset.json", _set("cases", 1, "case_id", value="P000_0"))
    message = _one_line(load_manifest, tiny_dataset)
    assert message.startswith("malformed manifest: duplicate case id 'P000_0' (2 cases"), message
    assert _one_line(lambda root: split_dataset(root, write=False), tiny_dataset) == message
    errors = [str(p) for p in check_dataset(tiny_dataset).errors]
    assert any("duplicate case id 'P000_0' (2 cases)" in e for e in errors)


def test_every_manifest_reader_refuses_the_same_way(tiny_dataset):
    _rewrite(tiny_dataset, "dataset.json", _set("cases", 0, "labels", value=[]))
    expected = _one_line(load_manifest, tiny_dataset)
    assert _one_line(lambda root: load_case(root, "P000_0"), tiny_dataset) == expected
    assert _one_line(lambda root: split_dataset(root, write=False), tiny_dataset) == expected


def test_a_valid_manifest_round_trips_and_ignores_unknown_top_level_keys(tiny_dataset):
    manifest = load_manifest(tiny_dataset)
    assert DatasetManifest.from_json(manifest.to_json()) == manifest
    _rewrite(tiny_dataset, "dataset.json", _set("x" * 300, value=None))  # a later version's extra field
    assert load_manifest(tiny_dataset) == manifest


@pytest.mark.parametrize("name", ["dataset.json", "splits.json"])
def test_deeply_nested_json_is_one_line(tiny_dataset, name):
    split_dataset(tiny_dataset, test=0.25, seed=0, folds=2)
    (tiny_dataset / name).write_text('{"cases": ' + "[" * 100_000 + "]" * 100_000 + "}")
    reader = load_manifest if name == "dataset.json" else load_splits
    assert _one_line(reader, tiny_dataset, name) == "malformed JSON (nested too deeply)"


def test_a_path_too_long_for_the_file_system_is_a_problem_not_a_traceback(tiny_dataset):
    _rewrite(tiny_dataset, "dataset.json", _set("cases", 2, "labels", "ANT", value="x" * 5000))
    report = check_dataset(tiny_dataset)
    errors = [str(p) for p in report.errors]
    assert len(errors) == 1 and "case P002_0: cannot access it (File name too long)" in errors[0], errors


def test_a_non_string_origin_cannot_reach_the_summary(tiny_dataset):
    """``sorted(origins)`` in the summary failed on a number among strings; the manifest now refuses it."""
    _rewrite(tiny_dataset, "dataset.json", _set("cases", 2, "origin", value=1))
    report = check_dataset(tiny_dataset)
    assert not report.valid and "origin must be a string, not an integer" in str(report.errors[0])


#: (change to a valid splits.json, words the one-line error must contain).
SPLITS_CORRUPTIONS = {
    "case-id-unhashable": (_set("test", value=[[0.0, 0.0]]), "test[0] must be a string, not a list"),
    "train-missing": (_delete("train"), "lacks train"),
    "test-an-object": (_set("test", value={}), "test must be a list, not an object"),
    "folds-nan": (_set("folds", value=float("nan")), "folds must be a list, not a number"),
    "fold-a-list": (_set("folds", 1, value=[]), "folds[1] must be an object, not a list"),
    "fold-val-missing": (_delete("folds", 0, "val"), "folds[0] lacks val"),
    "fold-case-id-a-number": (_set("folds", 1, "val", value=[1e308]), "folds[1].val[0] must be a string, not a number"),
    "empty-object": (lambda data: data.clear(), "lacks train"),
}


@pytest.mark.parametrize("name", list(SPLITS_CORRUPTIONS))
def test_a_malformed_splits_file_is_one_line_naming_the_key(tiny_dataset, name):
    split_dataset(tiny_dataset, test=0.25, seed=0, folds=2)
    change, expected = SPLITS_CORRUPTIONS[name]
    _rewrite(tiny_dataset, "splits.json", change)
    assert _one_line(load_splits, tiny_dataset, "splits.json") == f"malformed splits file: {expected}"


@pytest.mark.parametrize("name", ["dataset.json", "splits.json"])
def test_a_top_level_that_is_not_an_object_is_one_line(tiny_dataset, name):
    split_dataset(tiny_dataset, test=0.25, seed=0)
    (tiny_dataset / name).write_text("[[1, 2], [3]]")
    reader = load_manifest if name == "dataset.json" else load_splits
    kind = "manifest" if name == "dataset.json" else "splits file"
    assert _one_line(reader, tiny_dataset, name) == f"malformed {kind}: top level is not an object"


def test_splits_without_folds_still_load(tiny_dataset):
    splits = split_dataset(tiny_dataset, test=0.25, seed=0)
    for folds in (None, []):
        _rewrite(tiny_dataset, "splits.json", _set("folds", value=folds))
        assert load_splits(tiny_dataset)["test"] == splits["test"]
    _rewrite(tiny_dataset, "splits.json", _delete("folds"))
    assert load_splits(tiny_dataset)["train"] == splits["train"]


@pytest.mark.parametrize("text, problem", [
    ('{"a": 1', "malformed JSON"),
    ("[1, 2]", "not a run's record (not a JSON object); delete it"),
    ('"text"', "not a run's record (not a JSON object); delete it"),
])
def test_a_record_that_is_no_json_object_is_one_line_naming_it(tmp_path, text, problem):
    """read_json_object (session 66), what the records an earlier run left are read with: the record, or one line
    naming the file, the record and the advice."""
    path = tmp_path / "record.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScintisegError) as caught:
        read_json_object(path, "a run's record", "delete it")
    assert str(caught.value).startswith(f"{path}: {problem}") and "\n" not in str(caught.value)
    path.write_text('{"a": [1]}', encoding="utf-8")
    assert read_json_object(path, "a run's record") == {"a": [1]}
