import argparse
import json

import numpy as np
import pytest

from scintiseg.cli.dataset_prepare import register
from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.dataset import load_manifest
from scintiseg.io.images import read_label_png, read_mask_png
from scintiseg.io.labelme import read_labelme
from scintiseg.prepare.crop import CropBox
from scintiseg.prepare.crop_dataset import crop_annotation, crop_dataset
from scintiseg.scan import Annotation, Shape


@pytest.fixture(scope="module")
def whole_body_dataset(tmp_path_factory, make_toy_dataset):
    return make_toy_dataset(tmp_path_factory.mktemp("whole"))


@pytest.fixture(scope="module")
def cropped_dataset(whole_body_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("crop") / "thorax"
    crop_dataset(whole_body_dataset, out, size=128, progress=False)
    return out


def test_crop_dataset_cuts_everything_with_the_same_boxes(whole_body_dataset, cropped_dataset):
    manifest = load_manifest(cropped_dataset)
    assert manifest.name == "toy-thorax" and len(manifest.cases) == 2
    for case in manifest.cases:
        parent = load_manifest(whole_body_dataset).case(case.case_id)
        assert case.origin == "crop" and case.meta["parent_case"] == case.case_id
        assert case.patient_id == parent.patient_id
        rib, shin = case.meta["lesions"]
        assert rib["in_crop"] and not shin["in_crop"] and shin["bbox"] == {"ANT": None, "POST": None}
        assert rib["bone"] == "rib_left_5"
        top, left = case.meta["crop"]["ANT"]["top"], case.meta["crop"]["ANT"]["left"]
        assert rib["bbox"]["ANT"] == [240 - top, 80 - left, 246 - top, 87 - left]
        whole = read_scan(whole_body_dataset / parent.image)
        crop = read_scan(cropped_dataset / case.image)
        assert crop.shape == (128, 128) and crop.view_names == ["ANT", "POST"]
        for view in ("ANT", "POST"):
            box = CropBox.from_json(case.meta["crop"][view], view=view)
            assert np.array_equal(crop.view(view), box.crop(whole.view(view)))
            whole_mask = read_mask_png(whole_body_dataset / parent.masks[view])
            mask = read_mask_png(cropped_dataset / case.masks[view])
            assert np.array_equal(mask, box.crop(whole_mask))
            assert mask.sum() == 42  # the rib lesion is in, the shin lesion is out
            assert np.array_equal(read_label_png(cropped_dataset / case.regions[view]),
                                  box.crop(read_label_png(whole_body_dataset / parent.regions[view])))
            annotation = read_labelme(cropped_dataset / case.labels[view], root=cropped_dataset)
            assert annotation.image_shape == (128, 128)
            assert np.array_equal(annotation.to_mask(), mask)
            assert {s.group_id for s in annotation.shapes} == {1}
            instances = read_label_png(cropped_dataset / case.meta["instances"][view])
            assert np.array_equal(instances > 0, mask)
        # POST's box is ANT's, mirrored.
        assert case.meta["crop"]["POST"]["left"] == 256 - case.meta["crop"]["ANT"]["left"] - 128


def test_crop_annotation_moves_inside_shapes_exactly_and_cuts_crossing_ones():
    square = Shape("lesion", np.array([[10, 10], [14, 10], [14, 14], [10, 14]], dtype=float))
    crossing = Shape("lesion", np.array([[0, 40], [8, 40], [8, 44], [0, 44]], dtype=float))
    annotation = Annotation([square, crossing], image_shape=(100, 100), view="ANT")
    box = CropBox("ANT", top=5, left=4, height=50, width=50)
    out = crop_annotation(annotation, box)
    assert np.array_equal(out.shapes[0].points, square.points - [4, 5])
    assert np.array_equal(out.to_mask(), box.crop(annotation.to_mask()))


def test_existing_output_is_refused(whole_body_dataset, cropped_dataset):
    with pytest.raises(ScintisegError, match="already holds a data set"):
        crop_dataset(whole_body_dataset, cropped_dataset, size=128, progress=False)


def test_cli_dataset_crop(whole_body_dataset, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["crop", str(whole_body_dataset), "--out", str(tmp_path / "c"), "--size", "96"])
    assert args.func(args) == 0
    manifest = json.loads((tmp_path / "c" / "dataset.json").read_text())
    assert {c["meta"]["crop"]["ANT"]["height"] for c in manifest["cases"]} == {96}
    assert "2 cases" in capsys.readouterr().out


def test_a_case_without_a_body_is_skipped_and_named_not_the_whole_set(whole_body_dataset, tmp_path):
    """One case whose scan is uniform noise (no body outline): the other is cropped, the bad one is named in a
    warning and in the description; when no case can be cropped the command fails and writes no manifest."""
    import shutil

    from scintiseg.io.dicom import write_dicom
    from scintiseg.scan import Scan

    source = tmp_path / "whole"
    shutil.copytree(whole_body_dataset, source)
    manifest = load_manifest(source)
    bad, good = manifest.cases[0], manifest.cases[1]
    scan = read_scan(source / bad.image)
    noise = {v: np.random.default_rng(0).poisson(20.0, size=scan.shape).astype(np.uint16) for v in scan.view_names}
    write_dicom(Scan(noise, pixel_spacing=scan.pixel_spacing), source / bad.image)
    with pytest.warns(UserWarning, match=f"case {bad.case_id}: no body outline.*case skipped"):
        cropped = crop_dataset(source, tmp_path / "crop", size=128, progress=False)
    assert [c.case_id for c in cropped.cases] == [good.case_id]
    assert f"Skipped 1 case(s) that could not be cropped: {bad.case_id} (no body outline" in cropped.description
    assert load_manifest(tmp_path / "crop").cases[0].case_id == good.case_id
    write_dicom(Scan(noise, pixel_spacing=scan.pixel_spacing), source / good.image)
    with pytest.warns(UserWarning), pytest.raises(ScintisegError, match="no case could be cropped"):
        crop_dataset(source, tmp_path / "none", size=128, progress=False)
    assert not (tmp_path / "none" / "dataset.json").exists()


def _stored_head_down(upright, root):
    """A copy of data set ``upright`` as a camera that stores scans head-down writes it (every file's rows
    reversed, the outlines drawn on the reversed image) and ``dataset import`` records it (``read_turned``)."""
    from scintiseg.io.dataset import TURNED_KEY, save_manifest
    from scintiseg.io.dicom import write_dicom
    from scintiseg.io.images import write_label_png, write_mask_png
    from scintiseg.io.labelme import write_labelme
    from scintiseg.scan import mask_to_shapes

    manifest = load_manifest(upright)
    cases = []
    for case in manifest.cases:
        scan = read_scan(upright / case.image)
        down = scan.with_views({v: scan.view(v)[::-1] for v in scan.view_names})
        write_dicom(down, root / case.image)
        for view in scan.view_names:
            write_mask_png(read_mask_png(upright / case.masks[view])[::-1], root / case.masks[view])
            write_label_png(read_label_png(upright / case.regions[view])[::-1], root / case.regions[view])
            ids = read_label_png(upright / case.meta["instances"][view])[::-1]
            write_label_png(ids, root / case.meta["instances"][view])
            shapes = [Shape(s.label, s.points, s.shape_type, group_id=int(i))
                      for i in np.unique(ids[ids > 0]) for s in mask_to_shapes(ids == i)]
            write_labelme(Annotation(shapes, scan.shape, view=view), root / case.labels[view], image=down.view(view))
        cases.append(type(case)(**{**vars(case), "meta": {**case.meta, TURNED_KEY: "head_down"}}))
    save_manifest(type(manifest)(**{**vars(manifest), "cases": cases}), root)
    return root


def test_a_data_set_stored_head_down_crops_as_its_upright_twin(whole_body_dataset, cropped_dataset, tmp_path):
    from scintiseg.io.dataset import TURNED_KEY, check_dataset, load_case

    down = _stored_head_down(whole_body_dataset, tmp_path / "down")
    assert check_dataset(down).valid
    # The data set's reader turns the image and every annotation together.
    for case in load_manifest(whole_body_dataset).cases:
        scan, masks = load_case(down, case.case_id)
        twin, twin_masks = load_case(whole_body_dataset, case.case_id)
        assert all(np.array_equal(scan.view(v), twin.view(v)) and np.array_equal(masks[v], twin_masks[v])
                   for v in ("ANT", "POST"))
    out = tmp_path / "down_thorax"
    crop_dataset(down, out, size=128, progress=False)
    for case in load_manifest(out).cases:
        twin = load_manifest(cropped_dataset).case(case.case_id)
        assert TURNED_KEY not in case.meta  # a crop is written upright
        assert case.meta["crop"] == twin.meta["crop"]
        assert case.meta["lesions"] == twin.meta["lesions"]
        crop, twin_crop = read_scan(out / case.image), read_scan(cropped_dataset / twin.image)
        for view in ("ANT", "POST"):
            assert np.array_equal(crop.view(view), twin_crop.view(view))
            assert np.array_equal(read_mask_png(out / case.masks[view]), read_mask_png(cropped_dataset / twin.masks[view]))
            assert np.array_equal(read_label_png(out / case.regions[view]),
                                  read_label_png(cropped_dataset / twin.regions[view]))
            drawn = read_labelme(out / case.labels[view], root=out)
            assert np.array_equal(drawn.to_mask(), read_labelme(cropped_dataset / twin.labels[view],
                                                                root=cropped_dataset).to_mask())


def test_a_shape_crossing_the_right_or_bottom_edge_is_cut_at_it():
    right = Shape("lesion", np.array([[50, 10], [56, 10], [56, 16], [50, 16]], dtype=float))
    bottom = Shape("lesion", np.array([[10, 50], [16, 50], [16, 56], [10, 56]], dtype=float))
    annotation = Annotation([right, bottom], image_shape=(100, 100), view="ANT")
    box = CropBox("ANT", top=4, left=4, height=50, width=50)  # one square crosses column 53, the other row 53
    out = crop_annotation(annotation, box)
    points = np.concatenate([s.points for s in out.shapes])
    assert points.min() >= 0 and points.max() <= 49
    assert np.array_equal(out.to_mask(), box.crop(annotation.to_mask()))


def test_a_lesion_cut_by_the_crop_in_one_view_is_not_in_the_crop():
    from scintiseg.prepare.case_arrays import CaseArrays
    from scintiseg.prepare.crop_dataset import _lesions_in_crop

    whole = np.zeros((20, 20), dtype=np.uint8)
    whole[4:8, 4:8] = 1
    ant, post = whole, np.roll(whole, 10, axis=1)  # POST's lesion lies at columns 14-17
    box = (slice(0, 12), slice(0, 16))  # keeps ANT's lesion whole, cuts POST's
    maps = lambda views: {"instances": views}  # noqa: E731
    before = CaseArrays(scan=None, label_maps=maps({"ANT": ant, "POST": post}))
    after = CaseArrays(scan=None, label_maps=maps({"ANT": ant[box], "POST": post[box]}))
    (lesion,) = _lesions_in_crop({"lesions": [{"id": 1}]}, before, after)
    assert lesion["in_crop"] is False and lesion["bbox"] == {"ANT": [4, 4, 8, 8], "POST": [4, 14, 8, 16]}
