"""scintiseg.io.voc: Pascal VOC box annotations (BS-80K's hot-spot labels)."""

from __future__ import annotations

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io import voc
from scintiseg.io.layout import split_at
from scintiseg.io.voc import VocBox, annotation_of, quarter_turned_boxes, read_voc, read_voc_folder, rows_reversed_boxes
from scintiseg.io.voc import columns_reversed_boxes, split_boxes, write_voc

BS80K_LIKE = """<annotation>
  <folder>JPEGImages</folder><filename>0001_ant.jpg</filename>
  <size><width>256</width><height>1024</height><depth>3</depth></size>
  <object><name>Abnormal</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult>
    <bndbox><xmin>1</xmin><ymin>10</ymin><xmax>5</xmax><ymax>12.4</ymax></bndbox></object>
  <object><name>Normal</name><difficult>1</difficult>
    <bndbox><xmin>100.0</xmin><ymin>900</ymin><xmax>140</xmax><ymax>960</ymax></bndbox></object>
</annotation>"""


def test_a_bs80k_file_gives_0_based_inclusive_boxes(tmp_path):
    path = tmp_path / "0001_ant.xml"
    path.write_text(BS80K_LIKE)
    annotation = read_voc(path)
    assert annotation.filename == "0001_ant.jpg" and annotation.shape == (1024, 256)
    lesion, normal = annotation.boxes
    assert lesion == VocBox("Abnormal", rows=(9, 11), cols=(0, 4), difficult=False)  # devkit: pixel x is column x-1
    assert normal.label == "Normal" and normal.difficult and normal.cols == (99, 139)


def test_written_boxes_read_back_the_same(tmp_path):
    boxes = [VocBox("Abnormal", (0, 3), (5, 9)), VocBox("Normal", (20, 40), (0, 0), difficult=True)]
    write_voc(tmp_path / "a.xml", "a.jpg", (154, 68), boxes)
    annotation = read_voc(tmp_path / "a.xml")
    assert annotation.boxes == tuple(boxes) and annotation.shape == (154, 68) and annotation.filename == "a.jpg"
    assert "<xmin>6</xmin>" in (tmp_path / "a.xml").read_text()  # 1-based on disk, as the devkit's
    assert not list(tmp_path.glob(".*.part"))  # atomic


def test_a_folder_is_found_by_each_files_image_name_and_stem(tmp_path):
    write_voc(tmp_path / "x.xml", "images/0001.jpg", (10, 10), [VocBox("Abnormal", (1, 2), (1, 2))])
    write_voc(tmp_path / "0002.xml", "", (10, 10), [])
    (tmp_path / "notes.txt").write_text("not read")
    found = read_voc_folder(tmp_path)
    assert annotation_of(found, "/scans/0001.jpg").path.name == "x.xml"  # by <filename>
    assert annotation_of(found, "0002.png").path.name == "0002.xml"  # by its stem
    assert annotation_of(found, "0003.jpg") is None
    assert read_voc_folder(tmp_path / "x.xml")["0001.jpg"].boxes[0].label == "Abnormal"  # one file
    write_voc(tmp_path / "y.xml", "0001.jpg", (10, 10), [])
    with pytest.raises(ScintisegError, match="both annotate '0001"):
        read_voc_folder(tmp_path)


@pytest.mark.parametrize("text, problem", [
    ("<annotation><object><name>A</name>", "malformed XML"),
    ("<labelme/>", "the root element is <labelme>"),
    ("<annotation><object><bndbox/></object></annotation>", "object 1 has no name"),
    ("<annotation><object><name>A</name></object></annotation>", r"object 1 \(A\) has no bndbox"),
    ("<annotation><object><name>A</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax></bndbox></object>"
     "</annotation>", "has no ymax"),
    ("<annotation><object><name>A</name><bndbox><xmin>one</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax>"
     "</bndbox></object></annotation>", "xmin 'one' is not a number"),
    ("<annotation><object><name>A</name><bndbox><xmin>nan</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax>"
     "</bndbox></object></annotation>", "not a finite number"),
    ("<annotation><object><name>A</name><bndbox><xmin>5</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax>"
     "</bndbox></object></annotation>", "exceed xmax/ymax"),
    ("<annotation><size><width>10</width><height>10</height></size><object><name>A</name><bndbox><xmin>5</xmin>"
     "<ymin>1</ymin><xmax>40</xmax><ymax>2</ymax></bndbox></object></annotation>", "outside the 10 x 10 image"),
    ("<annotation><size><width>10.5</width><height>10</height></size></annotation>", "width 10.5 is not a whole"),
])
def test_a_bad_file_is_one_error_naming_it(tmp_path, text, problem):
    path = tmp_path / "bad.xml"
    path.write_text(text)
    with pytest.raises(ScintisegError, match=problem) as caught:
        read_voc(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


def test_hostile_files_are_refused_before_they_are_parsed(tmp_path, monkeypatch):
    path = tmp_path / "many.xml"
    path.write_text("<annotation>" + "<object/>" * 11 + "</annotation>")
    monkeypatch.setattr(voc, "MAX_BOXES", 10)
    with pytest.raises(ScintisegError, match="more than 10 objects"):
        read_voc(path)
    monkeypatch.setattr(voc, "MAX_FILE_BYTES", 16)
    with pytest.raises(ScintisegError, match="larger than"):
        read_voc(path)
    laughs = tmp_path / "laughs.xml"  # entity expansion: expat refuses it, in one line
    laughs.write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + k)} "' + f"&{chr(97 + k)};" * 10 + '">' for k in range(8)) + "]><annotation>&i;</annotation>")
    monkeypatch.setattr(voc, "MAX_FILE_BYTES", 8 * 2**20)
    with pytest.raises(ScintisegError, match="malformed XML"):
        read_voc(laughs)


def test_missing_and_empty_folders_are_one_error(tmp_path):
    with pytest.raises(ScintisegError, match="no Pascal VOC file"):
        read_voc_folder(tmp_path)
    with pytest.raises(ScintisegError, match="no such file or folder"):
        read_voc_folder(tmp_path / "missing")
    with pytest.raises(ScintisegError, match="cannot read the box annotation"):
        read_voc(tmp_path / "missing.xml")


def test_bs80k_ant_and_post_box_folders_are_read_together(tmp_path):
    """BS-80K: wholeBodyANT/ant/0001.xml and wholeBodyPOST/post/0001.xml both name 0001.jpg; read together, each
    annotates the image one folder up by its path, and the bare name 0001.jpg, which both claim, names neither."""
    for folder, sub, label in (("wholeBodyANT", "ant", "Abnormal"), ("wholeBodyPOST", "post", "Normal")):
        (tmp_path / folder / sub).mkdir(parents=True)
        write_voc(tmp_path / folder / sub / "0001.xml", "0001.jpg", (10, 10), [VocBox(label, (1, 2), (1, 2))])
    found = voc.read_voc_folders([tmp_path / "wholeBodyANT" / "ant", tmp_path / "wholeBodyPOST" / "post"])
    assert annotation_of(found, tmp_path / "wholeBodyANT" / "0001.jpg").boxes[0].label == "Abnormal"
    assert annotation_of(found, tmp_path / "wholeBodyPOST" / "0001.jpg").boxes[0].label == "Normal"
    assert annotation_of(found, tmp_path / "elsewhere" / "0001.jpg") is None  # ambiguous by name alone
    assert annotation_of(voc.read_voc_folders([tmp_path / "wholeBodyANT" / "ant"]), "/x/0001.jpg") is not None
    (tmp_path / "copy").mkdir()
    write_voc(tmp_path / "copy" / "0001.xml", str(tmp_path / "wholeBodyANT" / "0001.jpg"), (10, 10), [])
    with pytest.raises(ScintisegError, match="both annotate '/"):  # two folders, one image path
        voc.read_voc_folders([tmp_path / "wholeBodyANT" / "ant", tmp_path / "copy"])


def test_boxes_turn_and_split_with_the_image_pixel_for_pixel():
    """quarter_turned_boxes, rows_reversed_boxes, columns_reversed_boxes and split_boxes move a box's pixels exactly as
    numpy.rot90, the reversals and layout.split_at move the image's."""
    box = VocBox("Abnormal", rows=(3, 6), cols=(10, 13))
    image = np.zeros((20, 30), dtype=bool)
    image[3:7, 10:14] = True

    def painted(found, shape):
        out = np.zeros(shape, dtype=bool)
        for b in found:
            out[b.rows[0]:b.rows[1] + 1, b.cols[0]:b.cols[1] + 1] = True
        return out

    for k in (-1, 1):
        turned = np.rot90(image, k)
        assert np.array_equal(painted(quarter_turned_boxes([box], image.shape, k), turned.shape), turned)
    assert np.array_equal(painted(rows_reversed_boxes([box], 20), image.shape), image[::-1])
    assert np.array_equal(painted(columns_reversed_boxes([box], 30), image.shape), image[:, ::-1])
    for cut in (8, 12, 16):  # the box left of, across and right of the cut
        ant, post = split_at(image, cut)
        placed = split_boxes([box], cut, ant.shape[1])
        side = "ANT" if ant.any() and (not post.any() or ant.sum() >= post.sum()) else "POST"
        kept = ant if side == "ANT" else post
        assert len(placed[side]) == 1 and not placed["POST" if side == "ANT" else "ANT"]
        assert np.array_equal(painted(placed[side], kept.shape), kept)


def test_page_boxes_places_a_pages_boxes_only_on_a_record_that_fits():
    from pathlib import Path

    from scintiseg.io.voc import VocAnnotation, page_boxes

    box = VocBox("Abnormal", rows=(3, 6), cols=(130, 133))
    drawn = VocAnnotation(Path("page.xml"), "page.png", (512, 256), (box,))
    assert page_boxes(drawn, 128, [512, 256], 128) == {"ANT": (), "POST": (VocBox("Abnormal", (3, 6), (2, 5)),)}
    assert "cut is not recorded" in page_boxes(drawn, None, [512, 256], 128)
    assert "cut is not recorded" in page_boxes(drawn, 300, [512, 256], 128)  # beyond the page
    assert page_boxes(drawn, 128, [512, 300], 172) == "boxes for a 512x256 image, the page is 512x300"
