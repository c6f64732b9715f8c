"""Tests of :mod:`scintiseg.report.region_masks`: a prediction folder's region maps against a reader's skeleton masks.

The maps and masks are a phantom patient's truth region map (or small hand-made maps whose Dice is counted by hand),
written as ``scintiseg predict`` writes a folder (``report.json`` naming ``V_regions.png``) and as a reader's set
would ship its masks (one class value per bone group).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io.images import write_label_png
from scintiseg.predict.regions import REGION_IDS, REGION_NAMES
from scintiseg.report.region_masks import (MaskClass, evaluate_region_masks, read_class_map, region_lookup,
                                           score_region_masks)

#: Four classes as a reader's set might merge scintiseg's regions (the rest of the skeleton: in no class).
CLASSES = {"1": {"name": "skull", "regions": ["skull", "mandible"]},
           "2": {"name": "spine", "regions": ["cervical_spine", "thoracic_spine", "lumbar_spine"]},
           "3": {"name": "ribs", "regions": ["ribs_left", "ribs_right"]},
           "7": {"name": "pelvis", "regions": ["pelvis", "sacrum"]}}


def _classes(tmp_path, document=CLASSES):
    path = tmp_path / "classes.json"
    path.write_text(json.dumps(document))
    return read_class_map(path)


def _predicted(folder, maps: dict, source: str, read: dict | None = None):
    """A folder as ``scintiseg predict`` writes one: ``report.json`` naming each view's ``V_regions.png``."""
    folder.mkdir(parents=True)
    views = {}
    for view, labels in maps.items():
        write_label_png(labels, folder / f"{view}_regions.png")
        views[view] = {"files": {"mask": f"{view}_mask.png", "regions": f"{view}_regions.png"}}
    report = {"format": "scintiseg-report", "version": 1, "input": {"source": source, **(read or {})}, "views": views}
    (folder / "report.json").write_text(json.dumps(report))


def _as_mask(regions: np.ndarray, classes) -> np.ndarray:
    """A region map as a reader's mask: each region's class value, regions in no class background."""
    values = np.zeros(len(REGION_NAMES), dtype=np.uint8)
    for one in classes:
        values[[REGION_IDS[r] for r in one.regions]] = one.value
    return values[regions]


@pytest.fixture(scope="module")
def patient():
    from scintiseg.phantom import generate_patient, profile

    return generate_patient(910003, profile("small"))


def test_a_truth_region_map_against_itself_scores_1_for_every_class(patient, tmp_path):
    classes = _classes(tmp_path)
    _predicted(tmp_path / "pred" / "P1", dict(patient.regions), "/scans/P1.dcm")
    (tmp_path / "masks").mkdir()
    for view, regions in patient.regions.items():
        write_label_png(_as_mask(regions, classes), tmp_path / "masks" / f"P1_{view}.png")
    result = score_region_masks(tmp_path / "pred", tmp_path / "masks", classes)
    assert result["images"] == 2 and result["missing_masks"] == 0 and result["refused"] == 0
    assert result["dice_pooled"] == {"skull": 1.0, "spine": 1.0, "ribs": 1.0, "pelvis": 1.0}
    assert result["macro_dice"] == result["macro_dice_pooled"] == result["pixel_accuracy"] == 1.0
    confusion = np.array(result["confusion"]["pixels"])
    assert np.count_nonzero(confusion - np.diag(np.diag(confusion))) == 0  # nothing off the diagonal
    assert confusion.sum() == sum(r.size for r in patient.regions.values())


def test_a_map_shifted_by_a_few_pixels_scores_the_dice_counted_by_hand(patient, tmp_path):
    """The phantom's ANT map shifted 3 rows down against its truth: each class's Dice is the overlap of the two masks
    counted with plain boolean arrays; and a hand-made square 2 columns off scores 2 x 24 / (36 + 36)."""
    classes = _classes(tmp_path)
    truth = patient.regions["ANT"]
    shifted = np.zeros_like(truth)
    shifted[3:] = truth[:-3]
    _predicted(tmp_path / "pred" / "P1", {"ANT": shifted}, "/scans/P1.dcm")
    (tmp_path / "masks").mkdir()
    write_label_png(_as_mask(truth, classes), tmp_path / "masks" / "P1.png")  # a one-view file: its stem alone
    result = score_region_masks(tmp_path / "pred", tmp_path / "masks", classes)
    lookup = region_lookup(classes)
    for index, one in enumerate(classes, start=1):
        p, t = lookup[shifted] == index, lookup[truth] == index
        assert result["dice_pooled"][one.name] == pytest.approx(2 * (p & t).sum() / (p.sum() + t.sum()), abs=1e-4)
        assert result["dice_pooled"][one.name] < 1
    bone = (lookup[shifted] > 0) | (lookup[truth] > 0)
    same = bone & (lookup[shifted] == lookup[truth])
    assert result["pixel_accuracy"] == pytest.approx(same.sum() / bone.sum(), abs=1e-4)

    square, moved = np.zeros((20, 20), np.uint8), np.zeros((20, 20), np.uint8)
    square[5:11, 5:11], moved[5:11, 7:13] = 7, REGION_IDS["pelvis"]
    _predicted(tmp_path / "small" / "S", {"ANT": moved}, "S.png")
    (tmp_path / "small_masks").mkdir()
    write_label_png(square, tmp_path / "small_masks" / "S.png")
    small = score_region_masks(tmp_path / "small", tmp_path / "small_masks", classes)
    assert small["dice_pooled"]["pelvis"] == pytest.approx(2 * 24 / 72, abs=1e-4)
    assert small["dice_pooled"]["skull"] is None  # in neither map: undefined, not perfect
    assert small["pixel_accuracy"] == pytest.approx(24 / 48, abs=1e-4)
    names = small["confusion"]["classes"]
    pelvis, none = names.index("pelvis"), names.index("none")
    assert small["confusion"]["pixels"][pelvis][pelvis] == 24 and small["confusion"]["pixels"][pelvis][none] == 12
    assert small["confusion"]["pixels"][none][pelvis] == 12


@pytest.mark.parametrize("document, said", [
    ("not json", "not a JSON class map"),
    ([1, 2], "a class map is a JSON object"),
    ({"0": {"name": "bg", "regions": ["skull"]}}, "key '0' is no mask value"),
    ({"one": {"name": "skull", "regions": ["skull"]}}, "key 'one' is no mask value"),
    ({"1": {"name": "skull"}}, "a name and a non-empty list"),
    ({"1": {"name": "skull", "regions": []}}, "a name and a non-empty list"),
    ({"1": {"name": "skull", "regions": ["skul"]}}, "unknown region 'skul'"),
    ({"1": {"name": "skull", "regions": ["other"]}}, "unknown region 'other'"),
    ({"1": {"name": "a", "regions": ["skull"]}, "2": {"name": "b", "regions": ["mandible", "skull"]}},
     "region 'skull' is in two classes"),
    ({"1": {"name": "a", "regions": ["skull"]}, "2": {"name": "a", "regions": ["mandible"]}}, "names two classes"),
    ({"1": {"name": "none", "regions": ["skull"]}}, "is the name of no class"),
])
def test_a_class_map_that_is_wrong_is_refused_in_one_line_naming_the_file(tmp_path, document, said):
    path = tmp_path / "map.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(ScintisegError, match=said) as caught:
        read_class_map(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_classes_come_in_the_order_of_their_values(tmp_path):
    classes = _classes(tmp_path, {"10": {"name": "b", "regions": ["pelvis"]}, "2": {"name": "a", "regions": ["skull"]}})
    assert classes == (MaskClass(2, "a", ("skull",)), MaskClass(10, "b", ("pelvis",)))


def test_a_missing_mask_is_counted_and_listed_never_guessed(patient, tmp_path):
    """Two scans, a mask for one; a mask named for the other file's stem but not its view is not taken for it (a file
    of two views needs <stem>_<VIEW>); a mask of a value in no class refuses its view with the reason."""
    classes = _classes(tmp_path)
    _predicted(tmp_path / "pred" / "A", dict(patient.regions), "/scans/A.dcm")
    _predicted(tmp_path / "pred" / "B", dict(patient.regions), "/scans/B.dcm")
    (tmp_path / "masks").mkdir()
    write_label_png(_as_mask(patient.regions["ANT"], classes), tmp_path / "masks" / "A_ANT.png")
    odd = _as_mask(patient.regions["POST"], classes)
    odd[0, 0] = 5
    write_label_png(odd, tmp_path / "masks" / "A_POST.png")
    write_label_png(_as_mask(patient.regions["ANT"], classes), tmp_path / "masks" / "B.png")
    result = score_region_masks(tmp_path / "pred", tmp_path / "masks", classes)
    assert result["images"] == 1 and result["missing_masks"] == 2 and result["masks_unused"] == 1
    assert {(m["folder"], m["view"]) for m in result["missing"]} == {("B", "ANT"), ("B", "POST")}
    assert result["missing"][0]["looked_for"] == ["B_ANT"]
    assert result["refused_views"] == [{"folder": "A", "view": "POST", "mask": "A_POST.png",
                                        "why": "mask values [5] are in no class of the class map"}]


def test_a_mask_drawn_on_a_file_stored_lying_or_mirrored_is_placed_as_the_reader_read_it(patient, tmp_path):
    classes = _classes(tmp_path)
    ant = patient.regions["ANT"]
    _predicted(tmp_path / "pred" / "lying", {"ANT": ant}, "/scans/lying.png",
               {"stood": "quarter_clockwise", "stored_shape": [ant.shape[1], ant.shape[0]]})
    _predicted(tmp_path / "pred" / "mirrored", {"ANT": ant}, "/scans/mirrored.dcm", {"mirrored": ["ANT"]})
    _predicted(tmp_path / "pred" / "bad", {"ANT": ant}, "/scans/bad.png", {"stood": "quarter_clockwise"})
    (tmp_path / "masks").mkdir()
    mask = _as_mask(ant, classes)
    write_label_png(np.rot90(mask, 1), tmp_path / "masks" / "lying.png")  # the reader turns it back a quarter
    write_label_png(mask[:, ::-1], tmp_path / "masks" / "mirrored.png")
    write_label_png(np.rot90(mask, 1), tmp_path / "masks" / "bad.png")
    result = score_region_masks(tmp_path / "pred", tmp_path / "masks", classes)
    assert [image["folder"] for image in result["per_image"]] == ["lying", "mirrored"]
    assert all(image["macro_dice"] == 1.0 for image in result["per_image"])
    assert result["refused_views"][0]["folder"] == "bad"
    assert "does not give the file's rows and columns" in result["refused_views"][0]["why"]


def test_a_partial_view_an_unreadable_mask_and_a_lying_page_refuse_their_view_and_the_rest_is_scored(patient, tmp_path):
    """A partial view's map is all 0 (no bones named): scored, every class a miss; one mask that is no label image
    must not end the run; a record both stood and split (no reading of scintiseg's) is refused."""
    classes = _classes(tmp_path)
    ant = patient.regions["ANT"]
    _predicted(tmp_path / "pred" / "good", {"ANT": ant}, "/scans/good.dcm")
    _predicted(tmp_path / "pred" / "crop", {"ANT": np.zeros_like(ant)}, "/scans/crop.dcm")
    report = json.loads((tmp_path / "pred" / "crop" / "report.json").read_text())
    (tmp_path / "pred" / "crop" / "report.json").write_text(json.dumps(report | {"summary": {"qc_flags": ["partial_view_ANT"]}}))
    _predicted(tmp_path / "pred" / "rgb", {"ANT": ant}, "/scans/rgb.dcm")
    _predicted(tmp_path / "pred" / "page", {"ANT": ant[:, : ant.shape[1] // 2]}, "/scans/page.png",
               {"stood": "quarter_clockwise", "split_column": 10, "stored_shape": [ant.shape[1], ant.shape[0]]})
    (tmp_path / "masks").mkdir()
    for name in ("good", "crop", "page"):
        write_label_png(_as_mask(ant, classes), tmp_path / "masks" / f"{name}.png")
    from PIL import Image

    colours = np.zeros((*ant.shape, 3), np.uint8)
    colours[..., 1] = 200  # a picture of the mask in colour, not its values
    colours[: ant.shape[0] // 2, :, 0] = 90
    Image.fromarray(colours).save(tmp_path / "masks" / "rgb.png")
    result = score_region_masks(tmp_path / "pred", tmp_path / "masks", classes)
    assert [image["folder"] for image in result["per_image"]] == ["good"] and result["macro_dice"] == 1.0
    why = {refused["folder"]: refused["why"] for refused in result["refused_views"]}
    assert set(why) == {"crop", "rgb", "page"}
    assert why["crop"].startswith("a partial view") and "both stood and split" in why["page"]


def test_masks_of_one_name_in_two_view_folders_are_told_apart_by_their_folder(patient, tmp_path):
    """BS-80K's layout: wholeBodyANT/0001 and wholeBodyPOST/0001; a study's two files predicted as one scan."""
    classes = _classes(tmp_path)
    _predicted(tmp_path / "pred" / "0001", dict(patient.regions), "/bs/wholeBodyANT/0001.jpg",
               {"view_sources": {"ANT": "/bs/wholeBodyANT/0001.jpg", "POST": "/bs/wholeBodyPOST/0001.jpg"}})
    for view in ("ANT", "POST"):
        (tmp_path / "masks" / f"wholeBody{view}").mkdir(parents=True)
        write_label_png(_as_mask(patient.regions[view], classes), tmp_path / "masks" / f"wholeBody{view}" / "0001.png")
    result = score_region_masks(tmp_path / "pred", tmp_path / "masks", classes)
    assert result["images"] == 2 and result["macro_dice"] == 1.0
    assert [image["mask"] for image in result["per_image"]] == ["wholeBodyANT/0001.png", "wholeBodyPOST/0001.png"]


def test_the_outputs_are_written_and_no_view_scored_is_one_line(patient, tmp_path):
    classes_path = tmp_path / "classes.json"
    classes_path.write_text(json.dumps(CLASSES))
    classes = read_class_map(classes_path)
    _predicted(tmp_path / "pred" / "P1", dict(patient.regions), "/scans/P1.dcm")
    (tmp_path / "masks").mkdir()
    write_label_png(_as_mask(patient.regions["ANT"], classes), tmp_path / "masks" / "P1_ANT.png")
    result, out = evaluate_region_masks(tmp_path / "pred", tmp_path / "masks", classes_path)
    assert out == tmp_path / "pred" / "eval-regions"
    assert json.loads((out / "regions.json").read_text()) == result
    text = (out / "regions.md").read_text()
    assert "**Macro Dice 1.000**" in text and "| 7 | pelvis | pelvis, sacrum | 1.000 | 1.000 |" in text
    assert "P1 POST: looked for P1_POST" in text
    (tmp_path / "masks" / "P1_ANT.png").rename(tmp_path / "masks" / "other.png")
    with pytest.raises(ScintisegError, match="no view scored: no mask for any view"):
        evaluate_region_masks(tmp_path / "pred", tmp_path / "masks", classes_path, out=tmp_path / "o2")
    assert not (tmp_path / "o2").exists()
