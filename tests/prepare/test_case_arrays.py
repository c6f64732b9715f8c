"""Tests of :mod:`scintiseg.prepare.case_arrays`: one data-set case in memory, every array that moves with its scan.

The crop and augmentation of whole cases that use it: tests/prepare/test_crop_dataset.py, test_augment_dataset.py.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import HEAD_DOWN, TURNED_KEY, Case, load_manifest, save_manifest
from scintiseg.prepare.case_arrays import (
    CaseArrays,
    annotation_through,
    case_entry_with,
    case_label_map_paths,
    lesion_boxes,
    load_case_arrays,
    write_case_arrays,
)
from scintiseg.scan import Annotation, Scan

SHAPE = (32, 16)


def _arrays() -> CaseArrays:
    """Two views; a lesion (id 1) drawn on ANT and masked on both views; region and instance maps on ANT."""
    rng = np.random.default_rng(0)
    scan = Scan({"ANT": rng.poisson(10, SHAPE).astype(np.uint16), "POST": rng.poisson(8, SHAPE).astype(np.uint16)},
                patient_id="P9")
    lesion = np.zeros(SHAPE, bool)
    lesion[4:10, 3:7] = True
    regions = np.zeros(SHAPE, np.int32)
    regions[:16], regions[16:] = 3, 7
    instances = lesion.astype(np.int32)
    annotation = Annotation.from_mask(lesion, view="ANT")
    return CaseArrays(scan, annotations={"ANT": annotation}, masks={"ANT": lesion, "POST": lesion[::-1].copy()},
                      label_maps={"regions": {"ANT": regions}, "instances": {"ANT": instances}})


def test_written_arrays_read_back_the_same(tmp_path):
    arrays = _arrays()
    paths = write_case_arrays(arrays, tmp_path, "C1")
    assert paths == {"image": "images/C1.dcm", "labels": {"ANT": "labels/C1_ANT.json"},
                     "masks": {"ANT": "masks/C1_ANT.png", "POST": "masks/C1_POST.png"},
                     "regions": {"ANT": "regions/C1_ANT.png"}, "instances": {"ANT": "instances/C1_ANT.png"}}
    case = case_entry_with(Case("C1", "P9", "old.dcm"), paths)
    back = load_case_arrays(tmp_path, case)
    for view in ("ANT", "POST"):
        np.testing.assert_array_equal(back.scan.view(view), arrays.scan.view(view))
        np.testing.assert_array_equal(back.masks[view], arrays.masks[view])
    np.testing.assert_array_equal(back.annotations["ANT"].to_mask(), arrays.annotations["ANT"].to_mask())
    for name in ("regions", "instances"):
        np.testing.assert_array_equal(back.label_maps[name]["ANT"], arrays.label_maps[name]["ANT"])


def test_label_maps_are_found_in_the_case_fields_or_its_meta():
    case = Case("C", "P", "i.dcm", regions={"ANT": "regions/a.png"}, meta={"instances": {"POST": "instances/p.png"}})
    assert case_label_map_paths(case) == {"regions": {"ANT": "regions/a.png"}, "instances": {"POST": "instances/p.png"}}
    assert case_label_map_paths(Case("C", "P", "i.dcm", meta={"instances": {"ANT": 3}})) == {}  # no path: not a map
    assert case_label_map_paths(Case("C", "P", "i.dcm", meta={"instances": {}})) == {}


def test_case_entry_with_puts_each_path_back_where_it_came_from_and_drops_the_turn():
    case = Case("C", "P", "i.dcm", labels={"ANT": "x"}, meta={TURNED_KEY: HEAD_DOWN, "lesions": [], "instances": {}})
    paths = {"image": "images/N.dcm", "labels": {"ANT": "labels/N_ANT.json"}, "masks": {},
             "regions": {"ANT": "regions/N_ANT.png"}, "instances": {"ANT": "instances/N_ANT.png"}}
    entry = case_entry_with(case, paths, case_id="N", origin="crop")
    assert (entry.case_id, entry.origin, entry.image, entry.labels) == ("N", "crop", "images/N.dcm", paths["labels"])
    assert entry.regions == {"ANT": "regions/N_ANT.png"}  # a Case field
    assert entry.meta == {"lesions": [], "instances": {"ANT": "instances/N_ANT.png"}}  # kept in meta, turn dropped
    assert case.meta[TURNED_KEY] == HEAD_DOWN and case.image == "i.dcm"  # the source case is left as it was


def test_lesion_boxes_are_recomputed_from_the_instance_maps():
    ids = np.zeros(SHAPE, np.int32)
    ids[2:5, 1:4] = 1
    ids[20:22, 10:16] = 2
    meta = {"lesions": [{"id": 1, "contrast": 2.0}, {"id": 2}, {"id": 5}]}
    boxes = lesion_boxes(meta, {"ANT": ids, "POST": ids[::-1]})
    assert boxes[0] == {"id": 1, "contrast": 2.0, "bbox": {"ANT": [2, 1, 5, 4], "POST": [27, 1, 30, 4]}}
    assert boxes[1]["bbox"]["ANT"] == [20, 10, 22, 16]
    assert boxes[2]["bbox"] == {"ANT": None, "POST": None}  # moved out of the image
    assert lesion_boxes({"lesions": [{}, {}]}, {"ANT": ids})[1]["bbox"]["ANT"] == [20, 10, 22, 16]  # id = position
    assert lesion_boxes({}, {"ANT": ids}) is None and lesion_boxes(meta, None) is None


def test_a_head_down_case_comes_back_upright_in_every_array(tmp_path):
    arrays = _arrays()
    paths = write_case_arrays(arrays, tmp_path, "C1")
    stored_turned = case_entry_with(Case("C1", "P9", "x"), paths)
    stored_turned.meta[TURNED_KEY] = HEAD_DOWN  # the files as written, read as stored head-down
    upright = load_case_arrays(tmp_path, stored_turned)
    assert upright.scan.metadata[TURNED_KEY] == HEAD_DOWN
    np.testing.assert_array_equal(upright.scan.view("ANT"), arrays.scan.view("ANT")[::-1])
    np.testing.assert_array_equal(upright.masks["POST"], arrays.masks["POST"][::-1])
    np.testing.assert_array_equal(upright.label_maps["regions"]["ANT"], arrays.label_maps["regions"]["ANT"][::-1])
    np.testing.assert_array_equal(upright.annotations["ANT"].to_mask(), arrays.masks["ANT"][::-1])


def test_the_tiny_data_sets_case_loads_with_its_outlines(tiny_dataset):
    manifest = load_manifest(tiny_dataset)
    arrays = load_case_arrays(tiny_dataset, manifest.cases[1])
    assert set(arrays.annotations) == {"ANT", "POST"} and arrays.masks == {} and arrays.label_maps == {}
    expected = np.zeros(SHAPE, bool)
    expected[5:10, 3:8] = True
    np.testing.assert_array_equal(arrays.annotations["ANT"].to_mask(), expected)
    manifest.cases[1].meta[TURNED_KEY] = "sideways"
    save_manifest(manifest, tiny_dataset)
    with pytest.raises(ScintisegError, match="case P001_0: meta read_turned is 'sideways'"):
        load_case_arrays(tiny_dataset, load_manifest(tiny_dataset).cases[1])


def test_annotation_through_moves_each_group_and_keeps_its_label_and_id():
    one, two = np.zeros(SHAPE, bool), np.zeros(SHAPE, bool)
    one[2:6, 2:6], two[20:24, 4:12] = True, True
    shapes = [*Annotation.from_mask(one, label="lesion").shapes, *Annotation.from_mask(two, label="bladder").shapes]
    shapes[0] = replace(shapes[0], group_id=4)
    annotation = Annotation(shapes=shapes, image_shape=SHAPE, view="ANT", flags={"checked": True})
    moved = annotation_through(annotation, lambda mask: mask[::-1, :8], (32, 8), view="POST")
    assert moved.image_shape == (32, 8) and moved.view == "POST" and moved.flags == {"checked": True}
    by_label = {shape.label: shape for shape in moved.shapes}
    assert set(by_label) == {"lesion", "bladder"} and by_label["lesion"].group_id == 4
    lesion_only = Annotation(shapes=[by_label["lesion"]], image_shape=(32, 8)).to_mask()
    np.testing.assert_array_equal(lesion_only, one[::-1, :8])
    bladder_only = Annotation(shapes=[by_label["bladder"]], image_shape=(32, 8)).to_mask()
    np.testing.assert_array_equal(bladder_only, two[::-1, :8])  # cut at the new edge
    with pytest.raises(ValueError, match="expected"):
        annotation_through(annotation, lambda mask: mask[:, :8], (32, 16))
