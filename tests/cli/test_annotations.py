"""`scintiseg annotations consensus`: decision JSON, seeded choice, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scintiseg.cli import main
from scintiseg.io.labelme import write_labelme
from scintiseg.scan import Annotation


def _reader(path, c1, label="lesion"):
    mask = np.zeros((30, 30), dtype=bool)
    mask[5:25, 5:c1] = True
    write_labelme(Annotation.from_mask(mask, label=label), path, image=np.ones((30, 30), dtype=np.uint16))
    return str(path)


def test_consensus_accepts_and_writes_decision(tmp_path, capsys):
    readers = [_reader(tmp_path / f"{n}.json", 25) for n in "ABC"]
    out = tmp_path / "decision.json"
    assert main(["annotations", "consensus", *readers, "--threshold", "0.05", "--seed", "7", "--out", str(out)]) == 0
    decision = json.loads(out.read_text())
    assert decision["decision"] == "accept" and decision["ground_truth_file"] in readers
    assert len(decision["pairs"]) == 3 and capsys.readouterr().out.startswith("accept:")
    # --out one of the readers' own files: refused, the reader's outlines kept (replaced by the decision before)
    before = (tmp_path / "B.json").read_bytes()
    assert main(["annotations", "consensus", *readers, "--out", str(tmp_path / "B.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "B.json: is one of the readers' files" in err[0]
    assert (tmp_path / "B.json").read_bytes() == before


def test_consensus_flags_disagreement(tmp_path, capsys):
    readers = [_reader(tmp_path / "A.json", 25), _reader(tmp_path / "B.json", 25), _reader(tmp_path / "C.json", 15)]
    assert main(["annotations", "consensus", *readers]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert decision["decision"] == "re-annotate" and decision["ground_truth_reader"] is None


def test_readers_naming_lesions_their_own_way_agree_and_a_label_saying_neither_is_refused(tmp_path, capsys):
    """Before, only 'lesion' counted: a reader writing 'Lesion' had no lesion and the image was sent back."""
    readers = [_reader(tmp_path / "A.json", 25), _reader(tmp_path / "B.json", 25, "Lesion"),
               _reader(tmp_path / "C.json", 25, "metastasis")]
    assert main(["annotations", "consensus", *readers]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "accept"
    assert main(["annotations", "consensus", *readers, "--label", "lesion"]) == 0  # exactly these names
    assert json.loads(capsys.readouterr().out)["decision"] == "re-annotate"
    unsure = _reader(tmp_path / "D.json", 25, "lesion?")
    assert main(["annotations", "consensus", readers[0], unsure]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"scintiseg annotations: error: {unsure}: shape 1 is labelled 'lesion?', neither a lesion")


def test_consensus_malformed_json_is_one_line(tmp_path, capsys):
    good = _reader(tmp_path / "A.json", 25)
    (tmp_path / "B.json").write_text("{")
    assert main(["annotations", "consensus", good, str(tmp_path / "B.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "B.json" in err[0] and "malformed JSON" in err[0]


def _labelme(path, boxes, view=None, image_path=""):
    """A LabelMe file as LabelMe writes it without its image: each box (x0, y0, x1, y1) a polygon."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"version": "5.2.1", "flags": {}, "imagePath": image_path, "imageData": None, "imageHeight": 64,
            "imageWidth": 128, "shapes": [{"label": "lesion", "points": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]],
                                           "group_id": None, "shape_type": "polygon", "flags": {}}
                                          for x0, y0, x1, y1 in boxes]}
    if view:
        data["view"] = view
    path.write_text(json.dumps(data))
    return str(path)


def test_default_seed_draws_each_image_its_own_reader_repeatably(tmp_path, capsys):
    """Session 63: with the default seed every image (one run each) got the third file's reader."""
    def chosen(files, *extra):
        assert main(["annotations", "consensus", *files, *extra]) == 0
        return json.loads(capsys.readouterr().out)["ground_truth_file"]

    images = [[_labelme(tmp_path / f"P{k:02d}" / f"{reader}.json", [(10, 10, 40, 40)]) for reader in "abc"]
              for k in range(20)]
    first = [chosen(files) for files in images]
    assert len({Path(f).name for f in first}) > 1  # not one physician for the whole data set
    assert first == [chosen(files) for files in images]  # a re-run draws the same
    assert first == [chosen(files[::-1]) for files in images]  # whatever the order of the files
    assert first != [chosen(files, "--seed", "1") for files in images]


def test_touching_curves_of_one_reader_are_two_lesions(tmp_path, capsys):
    """Session 63: a's two lesions share an edge, b and c left a one-pixel gap: differences 0.5 and 1 before."""
    touching = [(10, 10, 49, 49), (50, 10, 89, 49)]
    gap = [(10, 10, 48, 49), (50, 10, 89, 49)]
    files = [_labelme(tmp_path / "a.json", touching), _labelme(tmp_path / "b.json", gap),
             _labelme(tmp_path / "c.json", gap)]
    assert main(["annotations", "consensus", *files]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert decision["decision"] == "accept" and decision["lesions_per_reader"] == [2, 2, 2]
    assert max(p["max_lesion_area_difference"] for p in decision["pairs"]) == 0.025


def test_readers_files_of_different_views_or_images_are_refused_in_one_line(tmp_path, capsys):
    """Session 63: P1_ANT, P1_POST and P1b_ANT with the same shapes were accepted."""
    box = [(10, 10, 40, 40)]
    files = [_labelme(tmp_path / f"{name}.json", box) for name in ("P1_ANT", "P1_POST", "P1b_ANT")]
    assert main(["annotations", "consensus", *files]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "different views" in err[0] and f"{files[0]}: ANT, {files[1]}: POST" in err[0]
    files = [_labelme(tmp_path / f"{name}.json", box, view=view) for name, view in (("a", "ANT"), ("b", "POST"))]
    assert main(["annotations", "consensus", *files]) == 2
    assert "different views" in capsys.readouterr().err
    # imagePath names another image; files embedding their image name it after themselves (A.json -> A.png)
    mask = np.zeros((30, 30), dtype=bool)
    mask[5:25, 5:25] = True
    image = np.arange(900, dtype=np.uint16).reshape(30, 30)
    for name, shown, image_path in (("A", image, "P1_ANT.png"), ("B", image, "P1_ANT.png"),
                                    ("C", image[::-1], "P2_ANT.png")):
        write_labelme(Annotation.from_mask(mask), tmp_path / "named" / f"{name}.json", image=shown,
                      image_path=image_path)
    named = [str(tmp_path / "named" / f"{name}.json") for name in "ABC"]
    assert main(["annotations", "consensus", *named]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "different images" in err[0] and "C.json: 'P2_ANT.png'" in err[0]
    # The normal case: one image's files in three readers' folders under one name, or named reader-wise
    same = [_labelme(tmp_path / reader / "P1_ANT.json", box, image_path="../images/P1_ANT.png") for reader in "abc"]
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "P1_ANT.png").write_bytes(b"")  # the size is declared: the image is not opened
    assert main(["annotations", "consensus", *same, "--root", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "accept"


def test_from_boxes_writes_an_outline_per_lesion_box_that_labelme_reads(tmp_path, capsys):
    from scintiseg.io.images import write_png16
    from scintiseg.io.labelme import read_labelme
    from scintiseg.io.voc import VocBox, write_voc

    rows, cols = np.indices((80, 40))
    image = (5 + 60 * np.exp(-((rows - 20) ** 2 + (cols - 20) ** 2) / 18.0)).astype(np.uint16)
    (tmp_path / "images").mkdir()
    write_png16(image, tmp_path / "images" / "crop_ANT.png")
    write_png16(image, tmp_path / "images" / "calm.png")
    write_voc(tmp_path / "images" / "crop_ANT.xml", "crop_ANT.png", (80, 40),
              [VocBox("Abnormal", (10, 30), (10, 30)), VocBox("Normal", (60, 75), (5, 35))])
    write_voc(tmp_path / "images" / "calm.xml", "calm.png", (80, 40), [VocBox("Normal", (10, 30), (10, 30))])
    out = tmp_path / "outlines"
    assert main(["annotations", "from-boxes", str(tmp_path / "images"), "--boxes", str(tmp_path / "images"),
                 "--out", str(out)]) == 0
    assert "2 LabelMe file(s) written" in capsys.readouterr().err
    lesion = read_labelme(out / "crop_ANT.json")
    mask = lesion.to_mask()
    assert lesion.view == "ANT" and mask[20, 20] and not mask[65, 20] and 10 <= mask.sum() <= 60
    assert not read_labelme(out / "calm.json").to_mask().any()  # only a benign box: a labelled negative
    (tmp_path / "images" / "more").mkdir()
    write_png16(image, tmp_path / "images" / "more" / "calm.png")  # the same stem twice: the second is not written
    assert main(["annotations", "from-boxes", str(tmp_path / "images"), "--boxes", str(tmp_path / "images"),
                 "--out", str(tmp_path / "twice")]) == 1
    assert "also named 'calm'" in capsys.readouterr().err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.xml").write_text("<annotation><object><name>Abnormal</name></object></annotation>")
    assert main(["annotations", "from-boxes", str(tmp_path / "images"), "--boxes", str(tmp_path / "bad"),
                 "--out", str(tmp_path / "never")]) == 2
    assert "x.xml: object 1 (Abnormal) has no bndbox" in capsys.readouterr().err and not (tmp_path / "never").exists()


def test_from_masks_brings_an_nnunet_data_set_back_as_it_was(tiny_dataset, tmp_path, capsys):
    """Exported for nnU-Net, outlined from its labelsTr and imported again: every view's counts and mask as before,
    a study's two views one case again; an image without a mask passed over, a mask of another size listed."""
    from scintiseg.io.dataset import load_case, load_manifest
    from scintiseg.io.images import write_mask_png
    from scintiseg.io.nnunet import export_nnunet
    from scintiseg.prepare.splits import patient_folds

    raw = export_nnunet(tiny_dataset, tmp_path / "raw", {"train": [c.case_id for c in load_manifest(tiny_dataset).cases],
                                                          "test": []}, deal_folds=patient_folds).folder
    (raw / "labelsTr" / "P003_0_POST.nii.gz").unlink()
    assert main(["annotations", "from-masks", str(raw / "imagesTr"), "--masks", str(raw / "labelsTr"),
                 "--out", str(tmp_path / "lm")]) == 0
    said = capsys.readouterr().err
    assert "7 LabelMe file(s) written" in said and "1 image(s) without a mask, 0 skipped" in said
    assert main(["dataset", "import", str(raw / "imagesTr"), "--labels", str(tmp_path / "lm"), "--out", str(tmp_path / "again"),
                 "--patient-from", r"regex:(P\d+)"]) == 0
    again = load_manifest(tmp_path / "again")
    assert sorted(c.case_id for c in again.cases) == ["P000_0_0000", "P001_0_0000", "P002_0_0000", "P003_0_0000"]
    for case in again.cases:
        scan, masks = load_case(tmp_path / "again", case)
        before, truth = load_case(tiny_dataset, f"{case.patient_id}_0")
        assert sorted(masks) == (["ANT"] if case.patient_id == "P003" else ["ANT", "POST"])  # no mask: unlabelled
        for view in masks:
            np.testing.assert_array_equal(scan.view(view), before.view(view))
            np.testing.assert_array_equal(masks[view], truth[view])
    write_mask_png(np.zeros((4, 4), bool), raw / "labelsTr" / "P003_0_POST.png")
    assert main(["annotations", "from-masks", str(raw / "imagesTr" / "P003_0_POST_0000.nii.gz"), "--masks",
                 str(raw / "labelsTr"), "--out", str(tmp_path / "lm2")]) == 1
    assert "P003_0_POST.png: size mismatch" in capsys.readouterr().err and not (tmp_path / "lm2").exists()


@pytest.mark.parametrize("label", ["L1", "normal"])
def test_outlines_labelled_as_no_lesion_are_refused_before_any_image(tmp_path, capsys, label):
    """`dataset import` would refuse (or drop) every such outline: said at once, nothing written."""
    (tmp_path / "masks").mkdir()
    assert main(["annotations", "from-masks", str(tmp_path), "--masks", str(tmp_path / "masks"), "--out",
                 str(tmp_path / "lm"), "--label", label]) == 2
    assert f"--label {label!r} does not name a lesion" in capsys.readouterr().err and not (tmp_path / "lm").exists()


def test_from_masks_without_the_masks_folder_is_one_line(tmp_path, capsys):
    assert main(["annotations", "from-masks", str(tmp_path), "--masks", str(tmp_path / "nowhere"), "--out",
                 str(tmp_path / "lm")]) == 2
    assert "no such folder of masks" in capsys.readouterr().err and not (tmp_path / "lm").exists()
