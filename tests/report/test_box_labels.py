"""scintiseg.report.box_labels: hot-spot boxes (BS-80K's Abnormal / Normal) against a batch's outlines."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from scintiseg.errors import ScintisegError
from scintiseg.io.voc import VocAnnotation, VocBox
from scintiseg.report.batch import SUMMARY_COLUMNS
from scintiseg.report.box_labels import boxes_line, evaluate_boxes, lesion_boxes, score_image


def test_a_box_is_found_by_any_outline_touching_it_within_a_pixel():
    mask = np.zeros((40, 40), np.uint8)
    mask[5:8, 5:8] = 1    # on the lesion box
    mask[5:8, 12:14] = 1  # a second outline on the same lesion box
    mask[20:23, 20:23] = 1  # one pixel outside the normal box: the margin takes it
    mask[30:33, 2:5] = 1  # in no box
    mask[30:33, 30:33] = 1  # on a difficult box: neither right nor wrong
    boxes = [VocBox("Abnormal", (4, 8), (6, 12)), VocBox("abnormal", (35, 39), (35, 39)),  # the second missed
             VocBox("Normal", (10, 19), (10, 19)), VocBox("Normal", (0, 1), (30, 39)),
             VocBox("Abnormal", (29, 34), (29, 34), difficult=True)]
    assert score_image(mask, boxes) == {
        "lesion_boxes": 2, "lesion_boxes_found": 1, "normal_boxes": 2, "normal_boxes_called": 1, "unscored_boxes": 1,
        "calls": 5, "calls_on_lesion_boxes": 2, "calls_on_normal_boxes_only": 1, "calls_in_no_box": 1}
    mask[20:23, 20:23] = 0
    mask[21:23, 21:23] = 1  # two pixels outside now
    assert score_image(mask, boxes)["normal_boxes_called"] == 0 and score_image(mask, boxes)["calls_in_no_box"] == 2


def test_an_unknown_label_is_not_scored_and_an_empty_mask_finds_nothing():
    boxes = [VocBox("Tumour", (0, 9), (0, 9))]
    mask = np.ones((10, 10), np.uint8)
    assert score_image(mask, boxes)["calls_in_no_box"] == 0 and score_image(mask, boxes)["unscored_boxes"] == 1
    empty = score_image(np.zeros((10, 10)), [VocBox("Abnormal", (0, 9), (0, 9))])
    assert empty["lesion_boxes_found"] == 0 and empty["calls"] == 0


def _batch(out, rows):
    """A batch folder: summary.csv, each scan's report.json (``views`` views) and its first view's mask."""
    out.mkdir()
    with open(out / "summary.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, SUMMARY_COLUMNS)
        writer.writeheader()
        for name, status, triage, mask, views in rows:
            writer.writerow({"input": f"/scans/{name}.jpg", "status": status, "output": name if status == "ok" else "",
                             "triage_score": triage, "lesion_count": int(mask.any()) if mask is not None else ""})
            if status == "ok":
                (out / name).mkdir()
                report = {"input": {"counts": {v: {"max": 10.0} for v in views}},
                          "views": {v: {"files": {"mask": f"{v}_mask.png"}} for v in views}}
                (out / name / "report.json").write_text(json.dumps(report))
                Image.fromarray(mask.astype(np.uint8)).save(out / name / f"{views[0]}_mask.png")


def test_a_batch_is_scored_image_by_image_and_what_cannot_be_placed_is_counted(tmp_path):
    hit, miss, calm = (np.zeros((20, 10), np.uint8) for _ in range(3))
    hit[2:4, 2:4] = 1
    calm[15:17, 5:7] = 1  # a call on nothing marked
    out = tmp_path / "out"
    _batch(out, [("hit", "ok", 0.9, hit, ["VIEW"]), ("miss", "ok", 0.3, miss, ["VIEW"]), ("calm", "ok", 0.6, calm, ["ANT"]),
                 ("pair", "ok", 0.5, hit, ["ANT", "POST"]), ("small", "ok", 0.5, hit[:10], ["VIEW"]),
                 ("broken", "failed", "", None, []), ("loose", "ok", 0.1, miss, ["VIEW"]),
                 ("cut", "ok", 0.95, miss, ["VIEW"])])

    def annotation(name, *boxes):
        return VocAnnotation(tmp_path / f"{name}.xml", f"{name}.jpg", (20, 10), tuple(boxes))

    lesion = VocBox("Abnormal", (1, 3), (1, 3))
    annotations = {name: annotation(name, *boxes) for name, boxes in [
        ("hit", [lesion]), ("miss", [lesion]), ("calm", [VocBox("Normal", (0, 2), (0, 2))]), ("pair", [lesion]),
        ("small", [lesion]), ("broken", []), ("ghost", []), ("cut", [VocBox("Abnormal", (1, 3), (1, 3), difficult=True)])]}
    result = evaluate_boxes(out, annotations)
    assert (result["images"], result["failed"], result["skipped"], result["unannotated_scans"]) == (4, 1, 2, 1)
    assert result["annotations_without_scan"] == 1  # ghost
    assert {s["input"]: s["why"] for s in result["skipped_scans"]} == {
        "/scans/pair.jpg": "2 views (boxes are placed on one-view images and on pages of two views)",
        "/scans/small.jpg": "the image is 10 x 10, the boxes' small.xml declares 10 x 20"}
    assert (result["lesion_boxes"], result["lesion_boxes_found"], result["sensitivity"]) == (2, 1, 0.5)
    assert (result["normal_boxes"], result["normal_boxes_called"], result["calls_in_no_box"]) == (1, 0, 1)
    assert result["false_calls_per_image"] == pytest.approx(1 / 4, abs=1e-4) and result["unscored_boxes"] == 1
    assert result["triage"]["triage_auc"] == 0.5  # hit 0.9 and miss 0.3 around calm's 0.6
    assert result["triage"]["scans"] == 3  # "cut" holds only a difficult lesion box: neither abnormal nor normal
    assert [image["input"] for image in result["per_image"]] == [f"/scans/{n}.jpg" for n in ("hit", "miss", "calm", "cut")]
    line = boxes_line(result)
    assert "lesion boxes found 1 of 2 (0.500)" in line and "2 left out" in line and "\n" not in line
    with pytest.raises(ScintisegError, match="no batch summary"):
        evaluate_boxes(tmp_path / "nothing", annotations)


def test_truth_lesions_are_boxed_as_a_reader_would_in_the_crops_coordinates():
    instances = np.zeros((30, 30), np.uint16)
    visible = np.zeros((30, 30), bool)
    instances[10:14, 10:16] = 1
    visible[11:13, 10:16] = True  # the visible extent is smaller than the lesion
    instances[20:22, 20:22] = 2  # invisible
    whole = lesion_boxes(instances, visible)
    assert [(b.rows, b.cols, b.difficult) for b in whole] == [((11, 12), (10, 15), False), ((20, 21), (20, 21), True)]
    inside = np.zeros((30, 30), bool)
    inside[5:25, 13:30] = True  # half of lesion 1's visible extent, from column 13; the crop starts at (5, 13)
    first, second = lesion_boxes(instances, visible, inside)
    assert (first.rows, first.cols, first.difficult) == ((6, 7), (0, 2), False) and second.difficult
    inside[:, 13] = False  # less than half of it now
    assert lesion_boxes(instances, visible, inside)[0].difficult
    assert lesion_boxes(np.zeros((5, 5), np.uint16), np.zeros((5, 5), bool)) == []


def test_boxes_drawn_on_a_file_stored_lying_are_turned_with_the_body_either_way(tmp_path):
    """predict stands a lying body (report.json's ``input.stood``, ``input.stored_shape``); boxes drawn on the file
    as stored land on the standing view's outlines."""
    from scintiseg.cli import main
    from scintiseg.io.images import write_png16
    from scintiseg.phantom import generate_patient, profile

    standing = generate_patient(12, profile("small")).scan.view("ANT")
    scans, out = tmp_path / "scans", tmp_path / "out"
    scans.mkdir()
    write_png16(np.rot90(standing, 1), scans / "cw.png")   # stood by the reader's quarter clockwise
    write_png16(np.rot90(standing, -1), scans / "ccw.png")  # stood the other way by the prediction
    assert main(["predict", str(scans), "--out", str(out), "--quiet"]) == 0
    spot = np.zeros(standing.shape, dtype=bool)
    spot[200:206, 40:45] = True  # an outline on the standing view (in place of the model's)
    annotations = {}
    for name, k, how in (("cw", 1, "quarter_clockwise"), ("ccw", -1, "quarter_counterclockwise")):
        read = json.loads((out / name / "report.json").read_text())["input"]
        assert read["stood"] == how and read["stored_shape"] == [standing.shape[1], standing.shape[0]]
        Image.fromarray(spot.astype(np.uint8)).save(out / name / "VIEW_mask.png")
        drawn = np.rot90(spot, k)  # the spot on the file as stored
        rows, cols = np.flatnonzero(drawn.any(1)), np.flatnonzero(drawn.any(0))
        box = VocBox("Abnormal", (int(rows[0]), int(rows[-1])), (int(cols[0]), int(cols[-1])))
        annotations[name] = VocAnnotation(tmp_path / f"{name}.xml", f"{name}.png", drawn.shape, (box,))
    result = evaluate_boxes(out, annotations)
    assert (result["images"], result["skipped"]) == (2, 0)
    assert (result["lesion_boxes"], result["lesion_boxes_found"], result["calls_in_no_box"]) == (2, 2, 0)


def test_boxes_drawn_on_a_page_of_two_views_are_cut_with_it_onto_each_view(tmp_path):
    """predict splits a page of ANT and POST side by side (report.json's ``input.split_column``); boxes drawn on the
    page land on each view's outlines, the page scored as one image."""
    from scintiseg.cli import main
    from scintiseg.io.images import write_png16
    from scintiseg.phantom import generate_patient, profile

    scan = generate_patient(13, profile("small")).scan
    width = scan.shape[1]
    scans, out = tmp_path / "scans", tmp_path / "out"
    scans.mkdir()
    write_png16(np.hstack([scan.view("ANT"), scan.view("POST")]).astype(np.uint16), scans / "page.png")
    assert main(["predict", str(scans), "--out", str(out), "--quiet"]) == 0
    read = json.loads((out / "page" / "report.json").read_text())["input"]
    assert read["split_column"] == width and read["stored_shape"] == [scan.shape[0], 2 * width]
    for view, rows, cols in (("ANT", (200, 206), (40, 45)), ("POST", (300, 306), (60, 66))):
        spot = np.zeros(scan.shape, np.uint8)
        spot[slice(*rows), slice(*cols)] = 1
        Image.fromarray(spot).save(out / "page" / f"{view}_mask.png")
    boxes = (VocBox("Abnormal", (200, 205), (40, 44)),  # on the left body: ANT
             VocBox("Abnormal", (300, 305), (width + 60, width + 65)),  # on the right body: POST
             VocBox("Normal", (400, 410), (width + 5, width + 9)))  # a benign box on POST, not called
    annotations = {"page": VocAnnotation(tmp_path / "page.xml", "page.png", (scan.shape[0], 2 * width), boxes)}
    result = evaluate_boxes(out, annotations)
    assert (result["images"], result["skipped"]) == (1, 0) and result["per_image"][0]["view"] == "ANT+POST"
    assert (result["lesion_boxes"], result["lesion_boxes_found"], result["calls_in_no_box"]) == (2, 2, 0)
    assert (result["normal_boxes"], result["normal_boxes_called"]) == (1, 0)


def test_boxes_drawn_on_a_dicom_view_stored_mirrored_are_mirrored_with_it(tmp_path, real_nm1):
    """predict mirrors back a DICOM view its header says is stored mirrored (report.json's ``input.mirrored``); boxes
    drawn on the file as stored land on the view as read."""
    import pydicom

    from scintiseg.cli import main

    ds = pydicom.dcmread(real_nm1)
    ds.PixelData = np.ascontiguousarray(ds.pixel_array[:, ::-1]).tobytes()
    ds.PatientOrientation = ["R", "F"]
    scans, out = tmp_path / "scans", tmp_path / "out"
    scans.mkdir()
    ds.save_as(scans / "mirrored.dcm")
    assert main(["predict", str(scans), "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "mirrored" / "report.json").read_text())["input"]["mirrored"] == ["ANT"]
    spot = np.zeros((1024, 256), dtype=bool)
    spot[200:206, 40:45] = True  # an outline on the view as read (in place of the model's), left of the midline
    Image.fromarray(spot.astype(np.uint8)).save(out / "mirrored" / "ANT_mask.png")
    box = VocBox("Abnormal", (200, 205), (256 - 45, 256 - 41))  # the same pixels on the file as stored
    missed = VocBox("Abnormal", (200, 205), (40, 44))  # where an unmirrored placement would put them
    result = evaluate_boxes(out, {"mirrored": VocAnnotation(tmp_path / "m.xml", "mirrored.dcm", (1024, 256), (box,))})
    assert (result["images"], result["lesion_boxes"], result["lesion_boxes_found"], result["calls_in_no_box"]) == (1, 1, 1, 0)
    other = evaluate_boxes(out, {"mirrored": VocAnnotation(tmp_path / "m.xml", "mirrored.dcm", (1024, 256), (missed,))})
    assert (other["lesion_boxes_found"], other["calls_in_no_box"]) == (0, 1)


def test_an_outline_touching_itself_at_a_corner_is_one_call_and_one_on_both_kinds_counts_on_the_lesion():
    mask = np.zeros((20, 20), np.uint8)
    mask[5, 5] = mask[6, 6] = mask[7, 7] = 1  # one call, its pixels joined diagonally
    mask[12:14, 12:14] = 1                    # one call under a lesion box and a normal box
    boxes = [VocBox("Abnormal", (4, 8), (4, 8)), VocBox("Abnormal", (12, 13), (12, 13)),
             VocBox("Normal", (12, 15), (12, 15))]
    score = score_image(mask, boxes)
    assert score["calls"] == 2 and score["calls_on_lesion_boxes"] == 2
    assert score["calls_on_normal_boxes_only"] == 0 and score["normal_boxes_called"] == 1
