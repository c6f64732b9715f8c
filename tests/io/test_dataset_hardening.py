"""Hostile ``dataset.json`` and ``splits.json`` files: one ScintisegError line naming the file and the key.

Each corruption here is one the fuzz harness (benchmarks/bench_fuzz.py, docs/robustness-fuzz.md) turned
into a traceback before issue 14: paths that are lists, ``labels``/``masks``/``regions`` that are not
mappings, ids that are not strings, a NUL byte in a path, a non-string origin, deeply nested JSON.
"""

from __future__ import annotations

import json

import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import (
    FORMAT_VERSION,
    DatasetManifest,
    check_dataset,
    load_case,
    load_manifest,
    load_splits,
)
from scintiseg.prepare.splits import split_dataset


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
