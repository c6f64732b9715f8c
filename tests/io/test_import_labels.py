"""Tests of :mod:`scintiseg.io.import_labels`: which scan and view each LabelMe file of an import belongs to, and why
a file is left out.

The scans here are in memory (:class:`~scintiseg.io.import_sources.ScanSource` of a 32 x 16 two-view scan); the
LabelMe files are written by :func:`~scintiseg.io.labelme.write_labelme` without a view key, so that the file name or
``imagePath`` has to say it. The whole import (walk, stood and split scans, predictions, pseudo-labels):
tests/io/test_importer.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from scintiseg.io.import_labels import match_labels
from scintiseg.io.import_sources import ImportReport, ScanSource, file_sha256
from scintiseg.io.labelme import write_labelme
from scintiseg.scan import Annotation, Scan

SHAPE = (32, 16)


def _source(folder: Path, name: str, views=("ANT", "POST"), shape=SHAPE) -> ScanSource:
    scan = Scan({view: np.full(shape, 10, np.uint16) for view in views})
    return ScanSource(path=folder / f"{name}.dcm", root=folder.parent, scan=scan, sha256="", dicom=True,
                      patient_id=name, display_export=False)


def _label(path: Path, labels=("lesion",), shape=SHAPE, image_path: str | None = None) -> Path:
    """A LabelMe file with one square per label (moved down 8 rows each), naming no view."""
    shapes = []
    for k, label in enumerate(labels):
        mask = np.zeros(shape, bool)
        mask[2 + 8 * k: 6 + 8 * k, 3:7] = True
        shapes += Annotation.from_mask(mask, label=label).shapes
    write_labelme(Annotation(shapes=shapes, image_shape=shape, view="VIEW"), path, image=np.full(shape, 10, np.uint16),
                  image_path=image_path)
    return path


def _match(files: list[Path], scans: list[ScanSource], root: Path) -> ImportReport:
    report = ImportReport()
    match_labels([(path, root) for path in files], scans, root, report)
    return report


def test_files_go_to_the_view_their_name_or_image_path_says(tmp_path):
    p1, p2 = _source(tmp_path, "P1"), _source(tmp_path, "P2")
    ant, post = _label(tmp_path / "P1_ANT.json"), _label(tmp_path / "p1_post.json", labels=("lesion", "lesion"))
    by_image = _label(tmp_path / "drawn.json", image_path="scans/P2_POST.png")
    report = _match([ant, post, by_image], [p1, p2], tmp_path)
    assert report.unmatched_labels == []
    assert {view: path for view, (path, _) in p1.annotations.items()} == {"ANT": ant, "POST": post}
    assert list(p2.annotations) == ["POST"] and p2.annotations["POST"][0] == by_image
    assert len(p1.annotations["POST"][1].shapes) == 2
    assert p1.label_sha256 == {"ANT": file_sha256(ant), "POST": file_sha256(post)}
    assert not p1.pseudo and not p1.corrected  # a person's outlines, not a prediction's


def test_a_readers_words_are_read_as_lesions_and_findings_dropped(tmp_path):
    p1 = _source(tmp_path, "P1")
    _match([_label(tmp_path / "P1_ANT.json", labels=("Metastasis", "bladder", "mets"))], [p1], tmp_path)
    shapes = p1.annotations["ANT"][1].shapes
    assert [shape.label for shape in shapes] == ["lesion", "lesion"]
    rows = sorted(int(np.min(shape.points[:, 1])) for shape in shapes)
    assert rows == [2, 18]  # the first and third squares; the bladder's (row 10) dropped


def test_each_file_left_out_says_why(tmp_path):
    p1, small = _source(tmp_path, "P1"), _source(tmp_path, "SMALL", shape=(16, 16))
    files = {
        "no scan": _label(tmp_path / "P9_ANT.json"),
        "no view": _label(tmp_path / "P1.json"),
        "size": _label(tmp_path / "SMALL_ANT.json"),
        "label": _label(tmp_path / "P1_POST.json", labels=("lesion", "L1")),
        "broken": tmp_path / "P1_ANT.json",
    }
    files["broken"].write_text("{not json")
    report = _match(list(files.values()), [p1, small], tmp_path)
    why = {Path(path).name: reason for path, reason in report.unmatched_labels}
    assert why["P9_ANT.json"] == "no scan with this file stem or imagePath"
    assert why["P1.json"].startswith("the scan has views ANT and POST; name the view")
    assert why["SMALL_ANT.json"].startswith("size mismatch: labels are for a 32x16 image, SMALL.dcm is 16x16")
    assert "'L1'" in why["P1_POST.json"]
    assert why["P1_ANT.json"].startswith("unreadable: ")
    assert len(why) == 5 and p1.annotations == {} and small.annotations == {}


def test_a_view_takes_the_first_file_only(tmp_path):
    p1 = _source(tmp_path, "P1")
    (tmp_path / "b").mkdir()
    first, second = _label(tmp_path / "P1_ANT.json"), _label(tmp_path / "b" / "P1_ANT.json")
    report = _match([first, second], [p1], tmp_path)
    assert p1.annotations["ANT"][0] == first
    assert report.unmatched_labels == [(str(second), f"P1.dcm view ANT already has labels from {first}")]


def test_scans_of_one_name_are_told_apart_by_folder_or_left_ambiguous(tmp_path):
    """Two scans named P1 (scans/a, scans/b): a file beside one of them, or at the same place under the labels' own
    folder, goes to that one; a file elsewhere is ambiguous."""
    for folder in ("scans/a", "scans/b", "labels/a", "labels/c"):
        (tmp_path / folder).mkdir(parents=True)
    in_a, in_b = _source(tmp_path / "scans" / "a", "P1"), _source(tmp_path / "scans" / "b", "P1")
    beside_b = _label(tmp_path / "scans" / "b" / "P1_ANT.json")
    mirrored_a = _label(tmp_path / "labels" / "a" / "P1_POST.json")
    elsewhere = _label(tmp_path / "labels" / "c" / "P1_POST.json")
    report = ImportReport()
    labels = tmp_path / "labels"
    match_labels([(beside_b, tmp_path), (mirrored_a, labels), (elsewhere, labels)], [in_a, in_b], tmp_path, report)
    assert list(in_b.annotations) == ["ANT"] and in_a.annotations == {"POST": (mirrored_a, in_a.annotations["POST"][1])}
    assert report.unmatched_labels == [(str(elsewhere), "ambiguous: 2 scans are named P1")]


def test_a_one_view_scan_takes_a_file_naming_no_view(tmp_path):
    single = _source(tmp_path, "S1", views=("VIEW",))
    post_only = _source(tmp_path, "S2", views=("POST",))
    report = _match([_label(tmp_path / "S1.json"), _label(tmp_path / "S2.json"), _label(tmp_path / "S2_ANT.json")],
                    [single, post_only], tmp_path)
    assert list(single.annotations) == ["VIEW"] and list(post_only.annotations) == ["POST"]
    assert [(Path(p).name, r) for p, r in report.unmatched_labels] == [
        ("S2_ANT.json", "annotation is for view ANT, the scan has only POST")]


def test_a_file_imported_before_is_passed_over_quietly(tmp_path):
    p1 = _source(tmp_path, "P1")
    ant = _label(tmp_path / "P1_ANT.json")
    p1.imported_labels = {"ANT": {file_sha256(ant)}}
    report = _match([ant], [p1], tmp_path)
    assert report.unmatched_labels == [] and p1.annotations == {}


def _stale(path: Path, image_path: str, shape=SHAPE, top: int = 2) -> Path:
    """A LabelMe file saved without its image data (imageData null), its size declared, naming an image that is not
    there: a folder of outlines moved with its scans."""
    mask = np.zeros(shape, bool)
    mask[top:top + 4, 3:7] = True
    path.parent.mkdir(parents=True, exist_ok=True)
    write_labelme(Annotation.from_mask(mask, view="VIEW"), path, image_path=image_path)
    return path


def test_a_file_whose_image_path_is_stale_goes_to_the_scan_its_name_says(tmp_path):
    """The researcher audit's finding 4: the outline is read by its declared size against the scan its stem (or its
    imagePath's stem) names; before, every such file was listed "unreadable: imagePath ... does not exist"."""
    p1, p2, small = _source(tmp_path, "P1"), _source(tmp_path, "P2"), _source(tmp_path, "SMALL", shape=(16, 16))
    by_stem = _stale(tmp_path / "moved" / "P1_ANT.json", "../images/PH0001.dcm", top=10)
    by_image_path = _stale(tmp_path / "moved" / "drawn.json", "../old/P2_POST.png")
    report = _match([by_stem, by_image_path], [p1, p2, small], tmp_path)
    assert report.unmatched_labels == [] and report.warnings == []
    assert list(p1.annotations) == ["ANT"] and list(p2.annotations) == ["POST"]
    drawn = np.zeros(SHAPE, bool)
    drawn[10:14, 3:7] = True
    assert np.array_equal(p1.annotations["ANT"][1].to_mask(), drawn)
    assert p1.label_sha256 == {"ANT": file_sha256(by_stem)}


def test_a_stale_image_path_matching_no_scan_or_another_size_says_so(tmp_path):
    p1, small = _source(tmp_path, "P1"), _source(tmp_path, "SMALL", shape=(16, 16))
    files = [_stale(tmp_path / "moved" / "P9_ANT.json", "../images/PH0009.dcm"),
             _stale(tmp_path / "moved" / "SMALL_ANT.json", "../images/SMALL.dcm")]
    undeclared = _stale(tmp_path / "moved" / "P1_POST.json", "../images/PH0001.dcm")
    doc = json.loads(undeclared.read_text())
    del doc["imageHeight"]
    undeclared.write_text(json.dumps(doc))
    report = _match([*files, undeclared], [p1, small], tmp_path)
    why = {Path(path).name: reason for path, reason in report.unmatched_labels}
    missing = tmp_path / "images" / "PH0009.dcm"
    assert why["P9_ANT.json"].startswith(f"stale imagePath: '../images/PH0009.dcm' does not exist ({missing}), and no "
                                         "scan has this file's stem or the imagePath's")
    assert why["SMALL_ANT.json"] == ("size mismatch: labels are for a 32x16 image, SMALL.dcm is 16x16 (the size the "
                                     "file declares: its imagePath is stale)")
    # Nothing says which pixels its points are on: unreadable, and why.
    assert why["P1_POST.json"].startswith("unreadable: imagePath '../images/PH0001.dcm' does not exist")
    assert why["P1_POST.json"].endswith("declares no image size (imageHeight, imageWidth) to read its outlines by")
    assert len(why) == 3 and p1.annotations == {} and small.annotations == {}
