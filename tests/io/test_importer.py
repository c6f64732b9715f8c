"""``scintiseg.io.importer``: a department's folder of scans and LabelMe files -> a data set (issue 16)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.dataset import HEAD_DOWN, TURNED_KEY, check_dataset, load_case, load_manifest
from scintiseg.io.dataset import SPLIT_KEY, STOOD_KEY, STOOD_OTHER_WAY, STORED_SHAPE_KEY, save_manifest
from scintiseg.io.layout import QUARTER_CLOCKWISE, QUARTER_COUNTERCLOCKWISE
from scintiseg.io.dicom import write_dicom
from scintiseg.io.images import write_png16
from scintiseg.io.importer import import_dataset
from scintiseg.io.predicted_labels import LEFT_OUT_LABEL, check_pseudo_threshold, pseudo_label_doubt
from scintiseg.io.labelme import read_labelme, write_labelme
from scintiseg.scan import Annotation, Scan, Shape

SHAPE = (32, 16)


def _counts(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).poisson(10, SHAPE).astype(np.uint16)


def _square(top: int) -> np.ndarray:
    mask = np.zeros(SHAPE, dtype=bool)
    mask[top:top + 5, 3:8] = True
    return mask


def _write_dicom(path: Path, patient_id: str, seed: int) -> Path:
    write_dicom(Scan({"ANT": _counts(seed), "POST": _counts(seed + 100)}, patient_id=patient_id), path)
    return path


def _department(root: Path) -> tuple[Path, Path]:
    """scans/ with two DICOMs of one patient, one of another, a 16-bit PNG, an 8-bit PNG and two bad files;
    outlines/ with LabelMe files matched by stem suffix, by the "view" key, by imagePath, and one orphan."""
    scans, outlines = root / "scans", root / "outlines"
    (scans / "ward").mkdir(parents=True)
    outlines.mkdir()
    _write_dicom(scans / "a1.dcm", "PID-A", 1)
    _write_dicom(scans / "ward" / "a2", "PID-A", 2)  # DICOM without a suffix, same patient
    _write_dicom(scans / "b1.dcm", "PID-B", 3)
    write_png16(_counts(4), scans / "c1.png")
    Image.fromarray((_counts(5) * 10).astype(np.uint8)).save(scans / "d1.png")
    (scans / "notes.txt").write_text("not a scan\n")
    (scans / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\1" * 20)
    # by stem + _POST suffix (the DICOM's POST view)
    write_labelme(Annotation.from_mask(_square(4), view="POST"), outlines / "a1_POST.json")
    # by the "view" key scintiseg writes: the name says no view
    write_labelme(Annotation.from_mask(_square(8), view="ANT"), outlines / "b1.json")
    # by imagePath: a LabelMe file named after nothing, pointing at the PNG it was drawn on
    write_labelme(Annotation.from_mask(_square(12), view="VIEW"), outlines / "outline-007.json", image_path="../scans/c1.png")
    write_labelme(Annotation.from_mask(_square(2), view="ANT"), outlines / "zz_ANT.json")  # no scan zz
    return scans, outlines


def _warnings(report) -> list[tuple[str, str]]:
    """The report's warnings but the pixel size assumed for a picture file (said once per file since session 63)."""
    return [(path, message) for path, message in report.warnings if "has no measured pixel spacing" not in message]


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_import_mixed_folder_passes_check(tmp_path):
    scans, outlines = _department(tmp_path)
    (scans / "c1.xml").write_text("<annotation/>")  # Pascal VOC boxes beside a scan: neither a scan nor labels
    out = tmp_path / "ds"
    report = import_dataset([scans], out, labels_dir=outlines)
    manifest = load_manifest(out)
    ids = [c.case_id for c in manifest.cases]
    assert ids == ["a1", "b1", "c1", "d1", "a2"]  # sorted walk: files of a folder before its subfolders
    skipped = {Path(p).name: why for p, why in report.skipped}
    assert set(skipped) == {"broken.dcm", "notes.txt"} and "unrecognised" in skipped["notes.txt"]
    assert [Path(p).name for p, _ in report.unmatched_labels] == ["zz_ANT.json"]
    result = check_dataset(out)
    assert result.valid, result.problems
    # the image is a byte-for-byte copy; DICOM without a suffix gets .dcm
    assert (out / "images" / "a2.dcm").read_bytes() == (scans / "ward" / "a2").read_bytes()
    assert manifest.case("c1").meta["source"] == "c1.png"
    assert manifest.views == ["VIEW"]  # dual-view DICOMs and single-view PNGs share no view name


def test_patients_grouped_by_dicom_patient_id(tmp_path):
    scans, outlines = _department(tmp_path)
    import_dataset([scans], tmp_path / "ds", labels_dir=outlines)
    patients = load_manifest(tmp_path / "ds").patients()
    assert sorted(c.case_id for c in patients["PID-A"]) == ["a1", "a2"]
    assert [c.case_id for c in patients["PID-B"]] == ["b1"]
    assert [c.case_id for c in patients["c1"]] == ["c1"]  # no Patient ID: --patient-from stem


def test_labels_matched_by_suffix_view_key_and_image_path(tmp_path):
    scans, outlines = _department(tmp_path)
    out = tmp_path / "ds"
    import_dataset([scans], out, labels_dir=outlines)
    manifest = load_manifest(out)
    assert manifest.case("a1").labels == {"POST": "labels/a1_POST.json"}
    assert manifest.case("b1").labels == {"ANT": "labels/b1_ANT.json"}  # from the "view" key
    assert manifest.case("c1").labels == {"VIEW": "labels/c1_VIEW.json"}  # from imagePath
    assert manifest.case("a2").labels == {} and manifest.case("d1").labels == {}
    _, masks = load_case(out, "a1")
    np.testing.assert_array_equal(masks["POST"], _square(4))
    _, masks = load_case(out, "b1")
    np.testing.assert_array_equal(masks["ANT"], _square(8))
    _, masks = load_case(out, "c1")
    np.testing.assert_array_equal(masks["VIEW"], _square(12))


def test_read_normal_gives_every_view_without_a_file_an_empty_outline(tmp_path):
    """``--read-normal``: the readers read every scan and outlined only lesions. A view without a LabelMe file gets an
    empty outline (a negative), an outlined view keeps its outline; a later import adds nothing to old cases; the flag
    refuses pseudo-labels. Without it such views stay unannotated (lesions unknown)."""
    from scintiseg.io.dataset import person_views

    scans, outlines = _department(tmp_path)
    out = tmp_path / "ds"
    report = import_dataset([scans], out, labels_dir=outlines, read_normal=True)
    manifest = load_manifest(out)
    assert manifest.case("a1").labels == {"ANT": "labels/a1_ANT.json", "POST": "labels/a1_POST.json"}
    assert person_views(manifest.case("a2")) == {"ANT", "POST"} and person_views(manifest.case("d1")) == {"VIEW"}
    _, masks = load_case(out, "a1")
    assert not masks["ANT"].any()
    np.testing.assert_array_equal(masks["POST"], _square(4))  # the reader's outline, not replaced
    assert report.read_normal == 5  # a1 ANT, a2 ANT and POST, b1 POST, d1 VIEW
    assert check_dataset(out).valid
    assert import_dataset([scans], out, labels_dir=outlines, read_normal=True).read_normal == 0  # old cases: as they are
    plain = import_dataset([scans], tmp_path / "plain", labels_dir=outlines)
    assert plain.read_normal == 0 and load_manifest(tmp_path / "plain").case("a2").labels == {}
    with pytest.raises(ScintisegError, match="--read-normal and --pseudo-labels"):
        import_dataset([scans], tmp_path / "both", read_normal=True, pseudo_labels=0.9)


def test_post_view_of_two_view_dicom_keeps_its_counts(tmp_path):
    scans, outlines = _department(tmp_path)
    out = tmp_path / "ds"
    import_dataset([scans], out, labels_dir=outlines)
    scan = read_scan(out / "images" / "a1.dcm")
    assert scan.view_names == ["ANT", "POST"]
    np.testing.assert_array_equal(scan.view("POST"), _counts(101))


def test_eight_bit_export_warns_once_and_is_marked(tmp_path):
    scans, outlines = _department(tmp_path)
    report = import_dataset([scans], tmp_path / "ds", labels_dir=outlines)
    eight_bit = [(p, m) for p, m in report.warnings if "8-bit" in m]
    assert [Path(p).name for p, _ in eight_bit] == ["d1.png"] and "not counts" in eight_bit[0][1]
    manifest = load_manifest(tmp_path / "ds")
    assert manifest.case("d1").meta.get("display_export") is True
    assert "display_export" not in manifest.case("c1").meta


def test_rerun_is_byte_identical_and_adds_only_the_new_file(tmp_path):
    scans, outlines = _department(tmp_path)
    out = tmp_path / "ds"
    import_dataset([scans], out, labels_dir=outlines)
    before = _tree(out)
    again = import_dataset([scans], out, labels_dir=outlines)
    assert again.added == [] and again.kept == 5
    assert _tree(out) == before
    _write_dicom(scans / "ward" / "e1.dcm", "PID-E", 6)
    write_labelme(Annotation.from_mask(_square(6), view="ANT"), outlines / "e1_ANT.json")
    third = import_dataset([scans], out, labels_dir=outlines)
    assert [c.case_id for c in third.added] == ["e1"]
    after = _tree(out)
    assert set(after) - set(before) == {"images/e1.dcm", "labels/e1_ANT.json"}
    assert all(after[name] == data for name, data in before.items() if name != "dataset.json")
    old = json.loads(before["dataset.json"])["cases"]
    assert json.loads(after["dataset.json"])["cases"][: len(old)] == old
    assert check_dataset(out).valid


def test_the_manifest_counts_the_cases_holding_each_view_beside_the_views_every_case_holds(tmp_path):
    """The researcher audit's finding 5: three ANT+POST scans and one ANT scan gave ``"views": ["ANT"]`` and nothing
    else, as if POST had been dropped (training, evaluation and export use each case's own views)."""
    scans, out = tmp_path / "scans", tmp_path / "ds"
    scans.mkdir()
    for n in range(3):
        _write_dicom(scans / f"p{n}.dcm", f"P{n}", n)
    write_dicom(Scan({"ANT": _counts(9)}, patient_id="P9"), scans / "p9.dcm")
    report = import_dataset([scans], out)
    manifest = load_manifest(out)
    assert manifest.views == ["ANT"]  # the views every case holds: what check and training take for granted
    assert manifest.view_cases == report.view_cases == {"ANT": 4, "POST": 3}
    assert check_dataset(out).summary["views"] == "ANT 4, POST 3 of 4 cases"
    # A later import adds its new cases to the count (the earlier cases' images never change).
    write_dicom(Scan({"POST": _counts(10)}, patient_id="P10"), scans / "p10.dcm")
    assert import_dataset([scans], out).view_cases == {"ANT": 4, "POST": 4}
    assert load_manifest(out).views == ["VIEW"]  # (no view in every case)
    # A data set counted by nobody (made before the count, or by hand) is counted from its images, once.
    data = json.loads((out / "dataset.json").read_text())
    del data["view_cases"]
    (out / "dataset.json").write_text(json.dumps(data))
    (tmp_path / "later").mkdir()  # (the scans given again would be read from their own files)
    write_dicom(Scan({"ANT": _counts(11), "POST": _counts(12)}, patient_id="P11"), tmp_path / "later" / "p11.dcm")
    assert import_dataset([tmp_path / "later"], out).view_cases == {"ANT": 5, "POST": 5}
    assert load_manifest(out).view_cases == {"ANT": 5, "POST": 5}
    # ...and where an earlier image cannot be read, no count is written rather than a short one.
    data = json.loads((out / "dataset.json").read_text())
    del data["view_cases"]
    (out / "dataset.json").write_text(json.dumps(data))
    (out / data["cases"][0]["image"]).write_bytes(b"not a scan")
    (tmp_path / "more").mkdir()
    write_dicom(Scan({"ANT": _counts(13)}, patient_id="P13"), tmp_path / "more" / "p13.dcm")
    last = import_dataset([tmp_path / "more"], out)
    assert [case.case_id for case in last.added] == ["p13"] and last.view_cases == {}
    assert "view_cases" not in json.loads((out / "dataset.json").read_text())


def _person(path: Path, patient_id: str, seed: int, sex: str, birth_date: str) -> Path:
    """A two-view DICOM whose header gives the patient's sex and birth date (write_dicom leaves them blank)."""
    import pydicom  # lazy: only this test writes a header by hand

    _write_dicom(path, patient_id, seed)
    header = pydicom.dcmread(path)
    header.PatientSex, header.PatientBirthDate = sex, birth_date
    header.save_as(path)
    return path


def test_one_patient_id_of_two_people_is_warned_about_and_still_one_patient(tmp_path):
    """The researcher audit's finding 7: two cohorts numbered alike (PH0001 twice) were merged into one patient, and
    the patient-level split with them, without a word."""
    first, second, out = tmp_path / "cohort_a", tmp_path / "cohort_b", tmp_path / "ds"
    first.mkdir(), second.mkdir()
    a = _person(first / "a.dcm", "PH0001", 1, "M", "19500101")
    _person(first / "a_2024.dcm", "PH0001", 2, "M", "19500101")  # the same man a year later: no warning
    b = _person(second / "b.dcm", "PH0001", 3, "F", "19620304")
    report = import_dataset([first, second], out)
    assert _warnings(report) == [(str(b), (
        f"Patient ID 'PH0001' is also that of {a}, but the two disagree on Patient's Sex (F here, M there) and Birth "
        "Date (19620304 here, 19500101 there): two people? They are one patient of the data set, kept in one subset by "
        "every split; give one of them another Patient ID if they are two people"))]
    assert list(load_manifest(out).patients()) == ["PH0001"]  # grouped by the Patient ID, as before
    # A new cohort imported later is compared with the data set's cases of its Patient IDs.
    third = tmp_path / "cohort_c"
    third.mkdir()
    c = _person(third / "c.dcm", "PH0001", 4, "M", "19811111")
    later = import_dataset([third], out)
    assert len(_warnings(later)) == 1 and _warnings(later)[0][0] == str(c)
    kept = out / "images" / "a.dcm"  # (named by its image in the data set)
    assert _warnings(later)[0][1].startswith(f"Patient ID 'PH0001' is also that of {kept}, but the two disagree on "
                                             "Birth Date (19811111 here, 19500101 there)")


def test_same_stem_in_two_folders_gets_distinct_ids_and_duplicates_are_skipped(tmp_path):
    src = tmp_path / "src"
    for folder, seed in (("p1", 1), ("p2", 2)):
        (src / folder).mkdir(parents=True)
        _write_dicom(src / folder / "scan.dcm", "", seed)
        write_labelme(Annotation.from_mask(_square(seed), view="ANT"), src / folder / "scan_ANT.json")
    (src / "z_copy").mkdir()
    (src / "z_copy" / "again.dcm").write_bytes((src / "p1" / "scan.dcm").read_bytes())
    report = import_dataset([src], tmp_path / "ds", patient_from="parent")
    manifest = load_manifest(tmp_path / "ds")
    assert [(c.case_id, c.patient_id) for c in manifest.cases] == [("scan", "p1"), ("p2_scan", "p2")]
    assert [Path(p).parent.name for p, why in report.skipped if "same content" in why] == ["z_copy"]
    # each outline went to the scan beside it
    _, masks = load_case(tmp_path / "ds", "p2_scan")
    np.testing.assert_array_equal(masks["ANT"], _square(2))
    assert report.unmatched_labels == []


def test_ambiguous_or_viewless_labels_are_listed(tmp_path):
    src, outlines = tmp_path / "src", tmp_path / "outlines"
    src.mkdir(), outlines.mkdir()
    _write_dicom(src / "a.dcm", "P", 1)
    doc = {"version": "5.4.1", "flags": {}, "shapes": [], "imagePath": "", "imageData": None,
           "imageHeight": SHAPE[0], "imageWidth": SHAPE[1]}
    (outlines / "a.json").write_text(json.dumps(doc))  # no view for a two-view scan
    (outlines / "bad.json").write_text("{not json")
    report = import_dataset([src], tmp_path / "ds", labels_dir=outlines)
    reasons = {Path(p).name: why for p, why in report.unmatched_labels}
    assert "name the view" in reasons["a.json"] and reasons["bad.json"].startswith("unreadable")


def test_link_makes_hard_links(tmp_path):
    scans, outlines = _department(tmp_path)
    report = import_dataset([scans], tmp_path / "ds", labels_dir=outlines, link=True)
    image = tmp_path / "ds" / "images" / "a1.dcm"
    assert image.stat().st_ino == (scans / "a1.dcm").stat().st_ino and image.stat().st_nlink == 2
    assert not [m for _, m in report.warnings if "hard-link" in m]
    assert check_dataset(tmp_path / "ds").valid


def test_regex_miss_is_skipped_not_raised(tmp_path):
    (tmp_path / "src").mkdir()
    write_png16(_counts(1), tmp_path / "src" / "P1_scan.png")
    write_png16(_counts(2), tmp_path / "src" / "other.png")
    report = import_dataset([tmp_path / "src"], tmp_path / "ds", patient_from=r"regex:^(P\d+)_")
    assert [c.patient_id for c in report.added] == ["P1"]
    assert [Path(p).name for p, _ in report.skipped] == ["other.png"]


def test_an_out_that_is_a_file_is_one_error_and_nothing_is_written(tmp_path):
    scans, _ = _department(tmp_path)
    out = tmp_path / "out"
    out.write_text("a file, not a folder\n")
    with pytest.raises(ScintisegError, match="not a folder") as error:
        import_dataset([scans], out)
    assert "\n" not in str(error.value) and out.read_text() == "a file, not a folder\n"


def test_an_image_that_cannot_be_written_is_one_error_and_no_manifest(tmp_path):
    scans, _ = _department(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "images").write_text("blocks the images folder\n")  # atomic_path cannot create images/
    with pytest.raises(ScintisegError, match="cannot write the image"):
        import_dataset([scans], out)
    assert not (out / "dataset.json").exists()


def test_labels_for_a_case_imported_earlier_are_added_as_a_reviewed_revision(tmp_path):
    """The correction loop without prediction: a corrected outline for an imported case gets a new labels file
    (the old one kept), the case is marked reviewed, and the same import again changes nothing."""
    scans, outlines = _department(tmp_path)
    out = tmp_path / "ds"
    import_dataset([scans], out, labels_dir=outlines)
    corrected = tmp_path / "corrected"
    corrected.mkdir()
    write_labelme(Annotation.from_mask(_square(20), view="POST"), corrected / "a1_POST.json")  # moved lesion
    write_labelme(Annotation.from_mask(_square(9), view="ANT"), corrected / "a1_ANT.json")  # a view with no labels yet
    write_labelme(Annotation.from_mask(_square(8), view="ANT"), corrected / "b1.json")  # the same outline again
    report = import_dataset([scans], out, labels_dir=corrected)
    assert report.added == [] and [c.case_id for c in report.updated] == ["a1"]
    case = load_manifest(out).case("a1")
    assert case.meta["reviewed"] == ["ANT", "POST"]
    assert case.labels == {"ANT": "labels/a1_ANT.reviewed.json", "POST": "labels/a1_POST.reviewed.json"}
    assert (out / "labels" / "a1_POST.json").is_file()  # the earlier outline stays beside its correction
    _, masks = load_case(out, case)
    assert np.array_equal(masks["POST"], _square(20)) and np.array_equal(masks["ANT"], _square(9))
    assert "reviewed" not in load_manifest(out).case("b1").meta
    # The same outline beside a call a reading rule left out (a prediction's left_out shape) is still the same labels.
    same = Annotation.from_mask(_square(8), view="ANT")
    left_out = Annotation.from_mask(_square(3), label=LEFT_OUT_LABEL, view="ANT").shapes
    write_labelme(Annotation(same.shapes + left_out, same.image_shape, view="ANT"), corrected / "b1.json")
    before = _tree(out)
    assert import_dataset([scans], out, labels_dir=corrected).updated == []
    assert _tree(out) == before
    write_labelme(Annotation.from_mask(_square(22), view="POST"), corrected / "a1_POST.json")  # corrected twice
    import_dataset([scans], out, labels_dir=corrected)
    assert load_manifest(out).case("a1").labels["POST"] == "labels/a1_POST.reviewed-2.json"
    assert check_dataset(out).valid


def test_a_prediction_folder_gives_only_its_edited_labelme_files(tmp_path):
    """``scintiseg predict`` output (report.json, masks, overlays): its PNGs are never scans, an unedited
    prediction is listed, an edited one finds its scan by the report's source and marks the case reviewed."""
    scans = tmp_path / "scans"
    scans.mkdir()
    _write_dicom(scans / "P7.v2.dcm", "PID-7", 7)
    out = tmp_path / "ds"
    import_dataset([scans], out)
    folder = tmp_path / "predictions" / "P7"  # predict names the folder by the name's first part
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps({"format": "scintiseg-report", "input": {"source": str(scans / "P7.v2.dcm")}}))
    predicted = Annotation.from_mask(_square(4), view="ANT")
    write_labelme(predicted, folder / "ANT.labelme.json", image=_counts(7), image_path="ANT.png")
    write_labelme(Annotation.from_mask(_square(12), view="POST"), folder / "POST.labelme.json")
    from scintiseg.io.images import write_mask_png

    write_mask_png(_square(4), folder / "ANT_mask.png")
    write_mask_png(_square(4), folder / "POST_mask.png")  # the prediction; the file now differs: edited
    Image.fromarray(np.zeros((*SHAPE, 3), np.uint8)).save(folder / "ANT_overlay.png")
    report = import_dataset([tmp_path / "predictions"], out)
    assert report.added == [] and report.skipped == []
    assert [(Path(p).name, r.split(" (")[0]) for p, r in report.unmatched_labels] == [("ANT.labelme.json", "an unedited prediction")]
    case = load_manifest(out).case("P7.v2")
    assert case.meta["reviewed"] == ["POST"] and set(case.labels) == {"POST"}
    assert np.array_equal(load_case(out, case)[1]["POST"], _square(12))


# Pseudo-labels (opt-in): unedited predictions the model was confident on, judged from report.json.


def _shape(mask: np.ndarray, label: str) -> Shape:
    (shape,) = Annotation.from_mask(mask, label=label).shapes
    return shape


def _two_squares(first: int, second: int) -> np.ndarray:
    return _square(first) | _square(second)


def _predicted(folder: Path, scan: Path, views: dict[str, tuple[np.ndarray, list[float], float]],
               window_pixels: int = SHAPE[0] * SHAPE[1]) -> None:
    """A ``scintiseg predict`` output folder for ``scan``: per view (mask, lesion peaks, view max probability)
    an unedited ``V.labelme.json`` with ``V_mask.png`` beside it, and a report.json with the keys predict writes."""
    from scintiseg.io.images import write_mask_png

    folder.mkdir(parents=True)
    report = {"format": "scintiseg-report", "input": {"source": str(scan)}, "views": {}, "lesions": []}
    next_id = 1
    for view, (mask, peaks, max_probability) in views.items():
        annotation = Annotation.from_mask(mask, view=view)
        assert len(annotation.shapes) == len(peaks)
        write_labelme(annotation, folder / f"{view}.labelme.json", image=_counts(0), image_path=f"{view}.png")
        write_mask_png(mask, folder / f"{view}_mask.png")
        report["views"][view] = {"lesion_count": len(peaks), "max_probability": max_probability,
                                 "window_pixels": window_pixels}
        for peak in peaks:
            report["lesions"].append({"id": next_id, "view": view, "probability_max": peak})
            next_id += 1
    (folder / "report.json").write_text(json.dumps(report))


def _predicted_site(root: Path) -> tuple[Path, Path]:
    """scans/ with P7 and Q8 (ANT+POST); predictions/ with, at P = 0.9: P7 ANT two lesions (peaks 0.97 and
    0.71: not confident), P7 POST one lesion at 0.95 (confident), Q8 ANT no lesion, max 0.04 (confident,
    empty), Q8 POST no lesion, max 0.3 (not confident)."""
    scans, predictions = root / "scans", root / "predictions"
    scans.mkdir()
    _write_dicom(scans / "P7.dcm", "PID-7", 7)
    _write_dicom(scans / "Q8.dcm", "PID-8", 8)
    empty = np.zeros(SHAPE, bool)
    _predicted(predictions / "P7", scans / "P7.dcm",
               {"ANT": (_two_squares(2, 20), [0.97, 0.71], 0.97), "POST": (_square(10), [0.95], 0.95)})
    _predicted(predictions / "Q8", scans / "Q8.dcm", {"ANT": (empty, [], 0.04), "POST": (empty, [], 0.3)})
    return scans, predictions


def test_pseudo_labels_take_only_the_views_the_model_was_confident_on(tmp_path):
    scans, predictions = _predicted_site(tmp_path)
    out = tmp_path / "ds"
    report = import_dataset([scans, predictions], out, pseudo_labels=0.9)
    manifest = load_manifest(out)
    p7, q8 = manifest.case("P7"), manifest.case("Q8")
    assert p7.labels == {"POST": "labels/P7_POST.pseudo.json"} and p7.meta["pseudo"] == ["POST"]
    assert q8.labels == {"ANT": "labels/Q8_ANT.pseudo.json"} and q8.meta["pseudo"] == ["ANT"]
    assert "reviewed" not in p7.meta and "reviewed" not in q8.meta
    assert report.pseudo == [("P7", "POST"), ("Q8", "ANT")]
    _, masks = load_case(out, p7)
    np.testing.assert_array_equal(masks["POST"], _square(10))  # the predicted outline
    _, masks = load_case(out, q8)
    assert set(masks) == {"ANT"} and not masks["ANT"].any()  # a confident lesion-free view: an empty label
    reasons = {Path(p).parent.name + "/" + Path(p).name: why for p, why in report.unmatched_labels}
    assert set(reasons) == {"P7/ANT.labelme.json", "Q8/POST.labelme.json"}
    assert reasons["P7/ANT.labelme.json"].startswith("not confident: lesion 2 peak 0.71 < 0.9 ")
    assert reasons["Q8/POST.labelme.json"].startswith("not confident: no lesion, but the largest probability 0.3 > 0.1")
    assert check_dataset(out).valid


def test_a_reader_relabelling_a_call_is_a_correction_imported_as_its_lesions(tmp_path):
    """P7 ANT's two predicted lesions: the reader relabels the first 'Bladder' and the second 'Metastasis' (and LabelMe
    keeps a left-out call); P7 POST's lesion is relabelled 'lesion?'. Before, every shape but a left-out call counted
    as a lesion: ANT still equalled its mask (an unedited prediction), and a 'Metastasis' outline was written under a
    label the data set does not count."""
    scans, predictions = _predicted_site(tmp_path)
    ant, post = predictions / "P7" / "ANT.labelme.json", predictions / "P7" / "POST.labelme.json"
    document = json.loads(ant.read_text())
    for shape, label in zip(document["shapes"], ("Bladder", "Metastasis")):
        shape["label"] = label
    document["shapes"].append({"label": LEFT_OUT_LABEL, "points": [[3, 28], [8, 28], [8, 31]], "shape_type": "polygon"})
    ant.write_text(json.dumps(document))
    document = json.loads(post.read_text())
    document["shapes"][0]["label"] = "lesion?"
    post.write_text(json.dumps(document))
    out = tmp_path / "ds"
    report = import_dataset([scans, predictions], out)
    p7 = load_manifest(out).case("P7")
    assert p7.labels == {"ANT": "labels/P7_ANT.json"} and p7.meta["reviewed"] == ["ANT"]
    written = read_labelme(out / p7.labels["ANT"], root=out)
    assert [shape.label for shape in written.shapes] == ["lesion"]
    _, masks = load_case(out, p7)
    np.testing.assert_array_equal(masks["ANT"], _square(20))  # the 'Metastasis' square; the 'Bladder' one dropped
    reasons = {Path(p).parent.name + "/" + Path(p).name: why for p, why in report.unmatched_labels}
    assert reasons["P7/POST.labelme.json"].startswith("shape 1 is labelled 'lesion?', neither a lesion")
    assert check_dataset(out).valid


def test_any_labelme_files_lesions_are_written_lesion_and_a_manifests_own_names_kept(tmp_path):
    """Outlines from another tool or department: 'Metastasis' is the data set's lesion, 'Injection site' no lesion,
    'hot spot' says neither. Before, they were written as they stood and only 'lesion' counted: a labelled view with
    no lesion in it."""
    scans = tmp_path / "scans"
    scans.mkdir()
    _write_dicom(scans / "A1.dcm", "PID-1", 1)
    _write_dicom(scans / "B2.dcm", "PID-2", 2)
    write_labelme(Annotation([_shape(_square(2), "Metastasis"), _shape(_square(20), "Injection site")], SHAPE,
                             view="ANT"), scans / "A1_ANT.json")
    write_labelme(Annotation([_shape(_square(2), "hot spot")], SHAPE, view="ANT"), scans / "B2_ANT.json")
    out = tmp_path / "ds"
    report = import_dataset([scans], out)
    a1 = load_manifest(out).case("A1")
    assert [shape.label for shape in read_labelme(out / a1.labels["ANT"], root=out).shapes] == ["lesion"]
    _, masks = load_case(out, a1)
    np.testing.assert_array_equal(masks["ANT"], _square(2))
    assert load_manifest(out).case("B2").labels == {}
    ((path, why),) = report.unmatched_labels
    assert path.endswith("B2_ANT.json") and why.startswith("shape 1 is labelled 'hot spot', neither a lesion")
    assert check_dataset(out).valid

    # A data set of its own vocabulary: the manifest's names are read as it says and kept.
    manifest = load_manifest(out)
    manifest.labels = {"background": 0, "lesion": 1, "hot spot": 1}
    save_manifest(manifest, out)
    report = import_dataset([scans], out)
    b2 = load_manifest(out).case("B2")
    assert [shape.label for shape in read_labelme(out / b2.labels["ANT"], root=out).shapes] == ["hot spot"]
    _, masks = load_case(out, b2)
    np.testing.assert_array_equal(masks["ANT"], _square(2))


def test_what_check_views_says_of_a_new_scan_is_listed_among_the_warnings(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    _write_dicom(scans / "A1.dcm", "PID-1", 1)
    _write_dicom(scans / "B2.dcm", "PID-2", 2)
    said = []

    def check(scan):
        said.append(scan.patient_id)
        return "its views look named the other way round" if scan.patient_id == "PID-2" else ""

    report = import_dataset([scans], tmp_path / "ds", check_views=check)
    assert sorted(said) == ["PID-1", "PID-2"] and len(load_manifest(tmp_path / "ds").cases) == 2  # imported as named
    assert [(Path(path).name, why) for path, why in report.warnings] == [
        ("B2.dcm", "its views look named the other way round")]
    _write_dicom(scans / "C3.dcm", "PID-3", 3)
    said.clear()
    import_dataset([scans], tmp_path / "ds", check_views=check)
    assert said == ["PID-3"]  # a re-run judges no scan the data set already has


def test_without_the_flag_no_prediction_becomes_labels(tmp_path):
    scans, predictions = _predicted_site(tmp_path)
    out = tmp_path / "ds"
    report = import_dataset([scans, predictions], out)
    assert report.pseudo == [] and all(not case.labels for case in load_manifest(out).cases)
    assert all("pseudo" not in case.meta for case in load_manifest(out).cases)
    assert len(report.unmatched_labels) == 4
    assert all(why.startswith("an unedited prediction (its outline equals") for _, why in report.unmatched_labels)
    assert not (out / "labels").exists()


def test_pseudo_labels_rerun_changes_nothing_and_a_new_confident_prediction_replaces_them(tmp_path):
    scans, predictions = _predicted_site(tmp_path)
    out = tmp_path / "ds"
    import_dataset([scans, predictions], out, pseudo_labels=0.9)
    before = _tree(out)
    again = import_dataset([scans, predictions], out, pseudo_labels=0.9)
    assert again.added == [] and again.updated == [] and again.pseudo == []
    assert _tree(out) == before
    # An adapted model predicts again (Noisy Student): a different confident outline replaces the pseudo-label.
    shutil.rmtree(predictions / "P7")
    _predicted(predictions / "P7", scans / "P7.dcm", {"POST": (_square(14), [0.99], 0.99)})
    third = import_dataset([scans, predictions], out, pseudo_labels=0.9)
    assert third.pseudo == [("P7", "POST")]
    case = load_manifest(out).case("P7")
    assert case.labels == {"POST": "labels/P7_POST.pseudo-2.json"} and case.meta["pseudo"] == ["POST"]
    assert (out / "labels" / "P7_POST.pseudo.json").is_file()
    np.testing.assert_array_equal(load_case(out, case)[1]["POST"], _square(14))


def _outline_beside_the_prediction(tmp_path, outlines_last: bool):
    """One run importing a physician's outline of Q8 ANT beside the model's confident empty prediction of it, the
    outlines given after the predictions or before them (the source given last is matched first): the person's outline
    is Q8's label either way, and only P7 POST becomes a pseudo-label. Returns the import's report, the data set and
    the predictions folder."""
    scans, predictions = _predicted_site(tmp_path)
    outlines = tmp_path / "outlines"
    outlines.mkdir()
    write_labelme(Annotation.from_mask(_square(6), view="ANT"), outlines / "Q8_ANT.json")
    out = tmp_path / "ds"
    sources = [scans, predictions, outlines] if outlines_last else [scans, outlines, predictions]
    report = import_dataset(sources, out, pseudo_labels=0.9)
    q8 = load_manifest(out).case("Q8")
    assert q8.labels == {"ANT": "labels/Q8_ANT.json"} and "pseudo" not in q8.meta
    assert report.pseudo == [("P7", "POST")]
    return report, out, predictions


def test_a_persons_outline_always_wins_over_a_pseudo_label(tmp_path):
    # The outlines, given last, are matched first; the prediction found after them is set aside.
    report, out, predictions = _outline_beside_the_prediction(tmp_path, outlines_last=True)
    assert any(p.endswith("ANT.labelme.json") and "never replaces" in why for p, why in report.unmatched_labels)

    # In a later run: the prediction of P7 POST corrected in LabelMe replaces its pseudo-label.
    corrected = predictions / "P7" / "POST.labelme.json"
    original = corrected.read_bytes()
    write_labelme(Annotation.from_mask(_square(18), view="POST"), corrected)
    import_dataset([predictions], out, pseudo_labels=0.9)
    p7 = load_manifest(out).case("P7")
    assert p7.labels == {"POST": "labels/P7_POST.reviewed.json"}
    assert p7.meta["reviewed"] == ["POST"] and "pseudo" not in p7.meta
    np.testing.assert_array_equal(load_case(out, p7)[1]["POST"], _square(18))

    # And the model's unedited, confident prediction imported again does not take the view back: the very file was
    # imported before (its SHA-256 is recorded), so it is passed over quietly (session 63: listed before).
    corrected.write_bytes(original)
    before = _tree(out)
    report = import_dataset([predictions], out, pseudo_labels=0.9)
    assert report.pseudo == [] and _tree(out) == before
    assert not any(p == str(corrected) for p, _ in report.unmatched_labels)
    assert check_dataset(out).valid


@pytest.mark.parametrize(
    ("peaks", "max_probability", "window_pixels", "expected"),
    [
        ([0.9], 0.9, None, ""),  # a peak at P is confident
        ([], 0.1, None, ""),  # a lesion-free view at 1 - P is confident
        ([0.95, 0.6, 0.5], 0.95, None, "not confident: lesion 2 peak 0.6 < 0.9, lesion 3 peak 0.5 < 0.9"),
        ([0.99], 0.99, SHAPE[0] * SHAPE[1] // 2, "the model saw 50 % of view ANT"),
    ],
)
def test_pseudo_label_doubt(tmp_path, peaks, max_probability, window_pixels, expected):
    mask = np.zeros(SHAPE, bool)
    for k in range(len(peaks)):
        mask |= _square(2 + 8 * k)
    _predicted(tmp_path / "P", tmp_path / "P.dcm", {"ANT": (mask, peaks, max_probability)},
               window_pixels=window_pixels or SHAPE[0] * SHAPE[1])
    path = tmp_path / "P" / "ANT.labelme.json"
    doubt = pseudo_label_doubt(path, read_labelme(path), 0.9)
    assert doubt.startswith(expected) and bool(doubt) == bool(expected)


def test_pseudo_label_doubt_when_the_report_cannot_say(tmp_path):
    _predicted(tmp_path / "P", tmp_path / "P.dcm", {"ANT": (_square(4), [0.99], 0.99)})
    path = tmp_path / "P" / "ANT.labelme.json"
    report = json.loads((tmp_path / "P" / "report.json").read_text())
    report["lesions"] = []  # the report and the file disagree
    (tmp_path / "P" / "report.json").write_text(json.dumps(report))
    assert "lists 0 lesions on view ANT, the file has 1 lesion outlines" in pseudo_label_doubt(path, read_labelme(path), 0.9)
    (tmp_path / "P" / "report.json").unlink()
    assert "no scintiseg report.json" in pseudo_label_doubt(path, read_labelme(path), 0.9)


@pytest.mark.parametrize("threshold", [0.4, 1.0, float("nan")])
def test_a_pseudo_label_confidence_outside_half_to_one_is_one_error(tmp_path, threshold):
    with pytest.raises(ScintisegError, match="--pseudo-labels"):
        import_dataset([tmp_path], tmp_path / "ds", pseudo_labels=threshold)
    assert check_pseudo_threshold(0.5) == 0.5


@pytest.mark.parametrize("join", [True, False])
def test_an_edited_view_of_a_study_predicted_from_two_files_goes_to_that_views_file(tmp_path, join):
    """A study's ANT and POST PNGs predicted as one scan (report.json input.view_sources): the corrected POST outline
    becomes the POST labels of the joined case, or (imported a case per file) the labels of the POST file's case,
    not of the ANT file named as the scan's source."""
    scans = tmp_path / "scans"
    scans.mkdir()
    write_png16(_counts(1), scans / "0123_ANT.png")
    write_png16(_counts(2), scans / "0123_POST.png")
    out = tmp_path / "ds"
    import_dataset([scans], out, join=join)
    folder = tmp_path / "predictions" / "0123"
    folder.mkdir(parents=True)
    sources = {"ANT": str(scans / "0123_ANT.png"), "POST": str(scans / "0123_POST.png")}
    (folder / "report.json").write_text(json.dumps({"format": "scintiseg-report",
                                                    "input": {"source": sources["ANT"], "view_sources": sources}}))
    write_labelme(Annotation.from_mask(_square(12), view="POST"), folder / "POST.labelme.json")  # no mask beside: edited
    report = import_dataset([tmp_path / "predictions"], out)
    assert report.unmatched_labels == []
    manifest = load_manifest(out)
    if join:
        assert [case.case_id for case in manifest.cases] == ["0123"]
        assert manifest.case("0123").meta["reviewed"] == ["POST"]
        masks = load_case(out, manifest.case("0123"))[1]
        assert list(masks) == ["POST"] and np.array_equal(masks["POST"], _square(12))
        return
    assert manifest.case("0123_POST").meta["reviewed"] == ["VIEW"]  # a data set keeps a one-view file's VIEW
    assert not manifest.case("0123_ANT").labels
    (mask,) = load_case(out, manifest.case("0123_POST"))[1].values()
    assert np.array_equal(mask, _square(12))


def _case_views(out: Path, case_id: str) -> dict[str, np.ndarray]:
    return load_case(out, load_manifest(out).case(case_id))[0].views


def test_a_studys_two_picture_files_are_one_two_view_case_with_each_views_labels(tmp_path):
    """``0123_ANT.png`` + ``0123_POST.png``: one case ``0123`` (patient ``0123``), both views' counts as read, each
    LabelMe file named after one view's file on that view; the data set is valid and two-view."""
    scans = tmp_path / "scans"
    scans.mkdir()
    ant, post = _counts(1), _counts(2)
    write_png16(ant, scans / "0123_ANT.png")
    write_png16(post, scans / "0123_POST.png")
    write_png16(_counts(3), scans / "0456.png")  # a file of one view stays a one-view case
    write_labelme(Annotation.from_mask(_square(4), view="VIEW"), scans / "0123_ANT.json")
    write_labelme(Annotation.from_mask(_square(9), view="VIEW"), scans / "0123_POST.json")
    out = tmp_path / "ds"
    report = import_dataset([scans], out)
    assert report.unmatched_labels == [] and _warnings(report) == []
    assert [(c.case_id, c.patient_id, c.image) for c in report.added] == [
        ("0123", "0123", "images/0123.dcm"), ("0456", "0456", "images/0456.png")]
    joined = report.added[0]
    assert joined.meta["source"] == "0123_ANT.png"
    assert joined.meta["view_sources"] == {"ANT": "0123_ANT.png", "POST": "0123_POST.png"}
    assert set(joined.meta["view_sha256"].values()) == {joined.meta["sha256"], report.added[0].meta["view_sha256"]["POST"]}
    assert check_dataset(out).valid
    views = _case_views(out, "0123")
    assert list(views) == ["ANT", "POST"]
    assert np.array_equal(views["ANT"], ant) and np.array_equal(views["POST"], post)
    masks = load_case(out, load_manifest(out).case("0123"))[1]
    assert np.array_equal(masks["ANT"], _square(4)) and np.array_equal(masks["POST"], _square(9))


def test_bs80k_folders_join_by_name_and_each_folders_labelme_file_is_its_view(tmp_path):
    """BS-80K's layout: ``wholeBodyANT/0001.png`` + ``wholeBodyPOST/0001.png``, a LabelMe file of the same name in
    each folder: one case, each outline on the view its folder names (both files have the stem ``0001``)."""
    root = tmp_path / "bs80k"
    for folder, seed, top in (("wholeBodyANT", 1, 3), ("wholeBodyPOST", 2, 14)):
        (root / folder).mkdir(parents=True)
        write_png16(_counts(seed), root / folder / "0001.png")
        write_labelme(Annotation.from_mask(_square(top), view="VIEW"), root / folder / "0001.json")
    out = tmp_path / "ds"
    report = import_dataset([root / "wholeBodyANT", root / "wholeBodyPOST"], out)
    assert report.unmatched_labels == []
    (case,) = report.added
    assert case.case_id == "0001" and case.meta["view_sources"] == {"ANT": "0001.png", "POST": "0001.png"}
    masks = load_case(out, case)[1]
    assert np.array_equal(masks["ANT"], _square(3)) and np.array_equal(masks["POST"], _square(14))


def test_a_dicom_study_in_two_files_keeps_its_patient_and_study(tmp_path):
    """GE's one Secondary Capture per view: two one-frame DICOM files of one study join whatever their names."""
    scans = tmp_path / "scans"
    scans.mkdir()
    study = "1.2.826.0.1.3680043.8.498.77"
    write_dicom(Scan({"ANT": _counts(1)}, pixel_spacing=(2.4, 2.4), patient_id="PID-9", study_uid=study), scans / "IM1.dcm")
    write_dicom(Scan({"POST": _counts(2)}, pixel_spacing=(2.4, 2.4), patient_id="PID-9", study_uid=study), scans / "IM2.dcm")
    out = tmp_path / "ds"
    (case,) = import_dataset([scans], out).added
    assert (case.case_id, case.patient_id) == ("IM1_IM2", "PID-9")
    scan = load_case(out, case)[0]
    assert scan.study_uid == study and scan.pixel_spacing == pytest.approx((2.4, 2.4))
    assert np.array_equal(scan.views["POST"], _counts(2))


def test_a_lone_file_named_for_its_view_is_that_view_as_prediction_reads_it(tmp_path):
    """``0123_POST.png`` with no anterior file beside it: prediction reads it as POST (by its name; mirrored for a
    model of ANT-oriented input), so the case holds POST, written as the one DICOM file of that view, and its outline
    lands on it; before, the case held the picture as ``VIEW``, which training reads as an anterior view.
    ``--as-stored`` (no judgement) keeps the file and its unnamed view."""
    scans = tmp_path / "scans"
    scans.mkdir()
    post = _counts(3)
    write_png16(post, scans / "0123_POST.png")
    spot = np.zeros(post.shape, dtype=bool)
    spot[10:16, 5:9] = True
    write_labelme(Annotation.from_mask(spot), scans / "0123_POST.json")
    out = tmp_path / "ds"
    report = import_dataset([scans], out, orient=lambda scan: (scan, ""))
    assert [c.case_id for c in report.added] == ["0123_POST"] and report.unmatched_labels == []
    case = load_manifest(out).case("0123_POST")
    scan, masks = load_case(out, case)
    assert case.image.endswith(".dcm") and scan.view_names == ["POST"]
    assert np.array_equal(scan.view("POST"), post) and np.array_equal(masks["POST"], spot)
    assert check_dataset(out).valid
    stored = import_dataset([scans], tmp_path / "as_stored", orient=None)
    case = load_manifest(tmp_path / "as_stored").case("0123_POST")
    assert case.image.endswith(".png") and load_case(tmp_path / "as_stored", case)[0].view_names == ["VIEW"]
    assert stored.unmatched_labels == []


def test_two_files_that_cannot_be_one_scan_stay_two_cases_with_one_warning(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    write_png16(_counts(1), scans / "7_ANT.png")
    write_png16(np.zeros((40, 16), np.uint16), scans / "7_POST.png")  # another matrix
    report = import_dataset([scans], tmp_path / "ds")
    assert [c.case_id for c in report.added] == ["7_ANT", "7_POST"]
    ((path, message),) = _warnings(report)
    assert path.endswith("7_ANT.png") and "7_POST.png" in message and "matrix" in message


def test_rerun_of_a_joined_study_changes_nothing_and_files_imported_apart_stay_apart(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    write_png16(_counts(1), scans / "0123_ANT.png")
    write_png16(_counts(2), scans / "0123_POST.png")
    joined, apart = tmp_path / "joined", tmp_path / "apart"
    import_dataset([scans], joined)
    before = _tree(joined)
    again = import_dataset([scans], joined)
    assert again.added == [] and _tree(joined) == before
    import_dataset([scans], apart, join=False)
    later = import_dataset([scans], apart)  # the data set's cases never change
    assert later.added == [] and [c.case_id for c in load_manifest(apart).cases] == ["0123_ANT", "0123_POST"]


def test_an_outline_added_later_to_one_file_of_a_joined_study_finds_its_view(tmp_path):
    """Only the POST file given again, with its LabelMe file: the joined case gets POST labels (reviewed), no new case."""
    scans, later = tmp_path / "scans", tmp_path / "later"
    scans.mkdir()
    later.mkdir()
    write_png16(_counts(1), scans / "0123_ANT.png")
    write_png16(_counts(2), scans / "0123_POST.png")
    out = tmp_path / "ds"
    import_dataset([scans], out)
    shutil.copy(scans / "0123_POST.png", later / "0123_POST.png")
    write_labelme(Annotation.from_mask(_square(6), view="VIEW"), later / "0123_POST.json")
    report = import_dataset([later], out)
    assert report.added == [] and report.unmatched_labels == []
    (case,) = load_manifest(out).cases
    assert case.meta["reviewed"] == ["POST"]
    assert list(load_case(out, case)[0].views) == ["ANT", "POST"]
    assert np.array_equal(load_case(out, case)[1]["POST"], _square(6))


def test_metaimage_and_nifti_files_import_as_cases_and_a_data_file_is_no_case(tmp_path):
    """An .mhd header and its .raw data file: one case, written as DICOM (the two files are one scan); a .nii.gz is
    copied as it is, under its double suffix."""
    import nibabel

    scans = tmp_path / "scans"
    scans.mkdir()
    counts = _counts(7)
    counts.astype("<u2").tofile(scans / "phantom.raw")
    (scans / "phantom.mhd").write_text("ObjectType = Image\nNDims = 2\nDimSize = 16 32\nElementType = MET_USHORT\n"
                                       "ElementSpacing = 2.4 2.4\nElementDataFile = phantom.raw\n")
    nibabel.save(nibabel.Nifti1Image(_counts(8), np.diag([2.26, 2.26, 1, 1])), scans / "other.nii.gz")
    out = tmp_path / "ds"
    report = import_dataset([scans], out)
    assert report.skipped == []
    assert sorted((c.case_id, c.image) for c in report.added) == [
        ("other", "images/other.nii.gz"), ("phantom", "images/phantom.dcm")]
    assert check_dataset(out).valid
    scan = load_case(out, load_manifest(out).case("phantom"))[0]
    assert np.array_equal(scan.views["VIEW"], counts) and scan.pixel_spacing == pytest.approx((2.4, 2.4))


def test_a_copy_of_one_view_elsewhere_neither_drops_the_study_nor_makes_a_case_of_its_own(tmp_path):
    scans = tmp_path / "scans"
    (scans / "copies").mkdir(parents=True)
    write_png16(_counts(1), scans / "0123_ANT.png")
    write_png16(_counts(2), scans / "0123_POST.png")
    write_png16(_counts(2), scans / "copies" / "loose.png")  # the POST file again, under another name
    report = import_dataset([scans], tmp_path / "ds")
    assert [c.case_id for c in report.added] == ["0123"]
    assert report.skipped == [(str(scans / "copies" / "loose.png"), f"same content as {scans / '0123_POST.png'}")]


def test_a_cd_exports_dicomdir_is_passed_over_quietly(tmp_path, real_nm1):
    import pydicom
    from pydicom.fileset import FileSet

    fileset = FileSet()
    fileset.add(pydicom.dcmread(real_nm1))
    fileset.write(tmp_path / "cd")
    report = import_dataset([tmp_path / "cd"], tmp_path / "ds")
    assert report.skipped == [] and len(report.added) == 1


def test_a_scan_read_turned_is_recorded_and_read_upright_with_its_outline(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    _write_dicom(scans / "up.dcm", "PID-U", 1)
    _write_dicom(scans / "down.dcm", "PID-D", 2)
    write_labelme(Annotation.from_mask(_square(4), view="ANT"), scans / "down_ANT.json")  # drawn as stored
    judged = []

    def orient(scan):  # stands in for the region network (read_upright): it judges PID-D head-down
        judged.append(scan.patient_id)
        return scan, ("head_down" if scan.patient_id == "PID-D" else "")

    out = tmp_path / "ds"
    report = import_dataset([scans], out, orient=orient)
    assert report.turned == [(str(scans / "down.dcm"), "head_down")]
    manifest = load_manifest(out)
    assert manifest.case("down").meta[TURNED_KEY] == HEAD_DOWN and TURNED_KEY not in manifest.case("up").meta
    assert (out / "images" / "down.dcm").read_bytes() == (scans / "down.dcm").read_bytes()  # kept as stored
    scan, masks = load_case(out, "down")
    assert np.array_equal(scan.view("POST"), _counts(102)[::-1]) and np.array_equal(masks["ANT"], _square(4)[::-1])
    assert check_dataset(out).valid
    # A re-run judges no scan the data set already has.
    judged.clear()
    import_dataset([scans], out, orient=orient)
    assert judged == []


def test_a_turn_the_data_set_cannot_make_or_a_failed_judgement_imports_as_stored(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    _write_dicom(scans / "lying.dcm", "PID-L", 1)
    _write_dicom(scans / "odd.dcm", "PID-O", 2)

    def orient(scan):
        if scan.patient_id == "PID-O":
            raise ScintisegError("no body found")
        return scan, "stood_the_other_way"

    report = import_dataset([scans], tmp_path / "ds", orient=orient)
    assert report.turned == []
    said = {Path(p).name: message for p, message in report.warnings}
    assert "read turned (stood_the_other_way)" in said["lying.dcm"] and "no body found" in said["odd.dcm"]
    assert all(TURNED_KEY not in case.meta for case in load_manifest(tmp_path / "ds").cases)


def _lying_body(seed: int) -> np.ndarray:
    """A standing view of 600 x 150 pixels (counts), for a body stored lying (:func:`scintiseg.io.stood_scan`)."""
    return np.random.default_rng(seed).poisson(10, (600, 150)).astype(np.uint16)


def test_a_body_stored_lying_is_written_standing_with_its_outlines_drawn_either_way(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    body = _lying_body(1)
    write_png16(np.rot90(body, 1), scans / "lying.png")  # the reader's quarter clockwise stands it head-up
    write_png16(np.rot90(body, -1), scans / "other.png")  # ... head-down: the region network turns it half more
    spot = np.zeros(body.shape, dtype=bool)
    spot[100:110, 40:47] = True
    # Drawn by hand on the file as stored: a polygon between pixel centres (a point-by-point turn would move its rim).
    drawn = Annotation([Shape("lesion", [[300.4, 20.7], [330.2, 24.1], [326.8, 41.6], [305.3, 38.2]])], (150, 600))
    write_labelme(drawn, scans / "lying.json")
    hand = np.rot90(drawn.to_mask(), -1)  # its raster, stood with the image
    write_labelme(Annotation.from_mask(spot), scans / "other.json")  # on the standing image (a prediction's frame)

    def orient(scan):  # stands in for the region network: "other" stood the reader's way is head-down
        if scan.patient_id == "other":
            return scan.with_views({v: np.rot90(scan.view(v), 2) for v in scan.view_names}), STOOD_OTHER_WAY
        return scan, ""

    out = tmp_path / "ds"
    report = import_dataset([scans], out, orient=orient)
    assert report.unmatched_labels == [] and report.turned == []
    assert sorted(report.stood) == [(str(scans / "lying.png"), QUARTER_CLOCKWISE),
                                    (str(scans / "other.png"), QUARTER_COUNTERCLOCKWISE)]
    manifest = load_manifest(out)
    for case_id, how, outline in (("lying", QUARTER_CLOCKWISE, hand), ("other", QUARTER_COUNTERCLOCKWISE, spot)):
        case = manifest.case(case_id)
        assert case.image == f"images/{case_id}.dcm" and case.meta[STOOD_KEY] == how and TURNED_KEY not in case.meta
        scan, masks = load_case(out, case)
        assert np.array_equal(scan.view("VIEW"), body) and np.array_equal(masks["VIEW"], outline)
    assert hand.sum() > 300
    assert check_dataset(out).valid and check_dataset(out).summary["stood at import (stored lying)"] == 2
    # A re-run adds nothing and changes nothing; a correction drawn on the lying file later reaches its case.
    again = import_dataset([scans], out, orient=orient)
    assert again.added == [] and again.updated == [] and again.unmatched_labels == []
    moved = np.zeros(body.shape, dtype=bool)
    moved[300:312, 60:70] = True
    (scans / "lying.json").unlink()
    write_labelme(Annotation.from_mask(np.rot90(moved, 1)), tmp_path / "lying.json")
    corrected = import_dataset([scans], out, labels_dir=tmp_path, orient=orient)
    assert [c.case_id for c in corrected.updated] == ["lying"]
    assert np.array_equal(load_case(out, "lying")[1]["VIEW"], moved)


def test_without_a_judgement_a_body_stored_lying_is_imported_as_stored(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    write_png16(np.rot90(_lying_body(2), 1), scans / "lying.png")
    report = import_dataset([scans], tmp_path / "ds")
    assert report.stood == [] and (tmp_path / "ds" / "images" / "lying.png").is_file()
    assert STOOD_KEY not in load_manifest(tmp_path / "ds").case("lying").meta


def _page(seed: int) -> np.ndarray:
    """Two bodies side by side (512 x 256): each view a lit trunk of 512 x 60 in a 512 x 128 half, under a head."""
    rng = np.random.default_rng(seed)
    page = rng.poisson(1.0, (512, 256)).astype(np.float64)
    page[20:60, 54:74] += 40.0
    page[20:60, 182:202] += 40.0
    page[60:500, 34:94] += 40.0
    page[60:500, 162:222] += 40.0
    return page.astype(np.uint16)


def test_a_page_of_two_views_is_split_and_a_later_outline_on_the_page_finds_its_case(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    write_png16(_page(1), scans / "page.png")
    out = tmp_path / "ds"
    report = import_dataset([scans], out, orient=lambda scan: (scan, ""))
    assert report.split == [(str(scans / "page.png"), 128)]
    case = load_manifest(out).case("page")
    assert case.meta[SPLIT_KEY] == 128 and case.meta[STORED_SHAPE_KEY] == [512, 256]
    scan = load_case(out, case)[0]
    assert scan.view_names == ["ANT", "POST"] and np.array_equal(scan.view("POST"), _page(1)[:, 128:])
    drawn = np.zeros((512, 256), dtype=bool)
    drawn[100:110, 50:60] = True
    write_labelme(Annotation.from_mask(drawn), tmp_path / "page.json")  # drawn on the page, after the import
    assert [c.case_id for c in import_dataset([], out, labels_dir=tmp_path).updated] == ["page"]
    masks = load_case(out, "page")[1]
    assert np.array_equal(masks["ANT"], drawn[:, :128]) and not masks["POST"].any()
    # A manifest whose record of the cut was damaged: the outline is refused with a reason, never misplaced.
    manifest = load_manifest(out)
    manifest.case("page").meta[SPLIT_KEY] = 999
    save_manifest(manifest, out)
    drawn[200:210, 180:190] = True
    write_labelme(Annotation.from_mask(drawn), tmp_path / "page.json")
    again = import_dataset([], out, labels_dir=tmp_path)
    assert again.updated == [] and "name the view" in again.unmatched_labels[0][1]
    assert not load_case(out, "page")[1]["POST"].any()


@pytest.mark.parametrize("other_way", [False, True])
def test_a_studys_two_files_stored_lying_are_one_case_standing_their_outlines_with_them(tmp_path, other_way):
    scans = tmp_path / "scans"
    scans.mkdir()
    ant, post = _lying_body(3), _lying_body(4)
    k = -1 if other_way else 1  # stored so that the reader's quarter clockwise leaves them head-down, or stands them
    write_png16(np.rot90(ant, k), scans / "S1_ANT.png")
    write_png16(np.rot90(post, k), scans / "S1_POST.png")
    spot = np.zeros(ant.shape, dtype=bool)
    spot[100:110, 40:47] = True
    write_labelme(Annotation.from_mask(np.rot90(spot, k)), scans / "S1_POST.json")  # drawn on the POST file as stored

    def orient(scan):  # stands in for the region network
        if other_way:
            return scan.with_views({v: np.rot90(scan.view(v), 2) for v in scan.view_names}), STOOD_OTHER_WAY
        return scan, ""

    out = tmp_path / "ds"
    report = import_dataset([scans], out, orient=orient)
    assert report.unmatched_labels == [] and [c.case_id for c in report.added] == ["S1"]
    case = load_manifest(out).case("S1")
    assert case.meta[STOOD_KEY] == (QUARTER_COUNTERCLOCKWISE if other_way else QUARTER_CLOCKWISE)
    scan, masks = load_case(out, case)
    assert np.array_equal(scan.view("ANT"), ant) and np.array_equal(scan.view("POST"), post)
    assert set(masks) == {"POST"} and np.array_equal(masks["POST"], spot)


@pytest.mark.parametrize("other_way", [False, True])
def test_a_studys_two_files_only_one_of_them_lying_are_two_cases_each_read_right(tmp_path, other_way):
    """ANT stored standing, POST lying: one case would record one way of holding the body for both views, so the two
    are imported apart (one warning naming both), the POST case stood as its own file is and an outline drawn on
    that file as stored lands exactly on it."""
    scans = tmp_path / "scans"
    scans.mkdir()
    ant, post = _lying_body(3), _lying_body(4)
    k = -1 if other_way else 1
    write_png16(ant, scans / "S1_ANT.png")
    write_png16(np.rot90(post, k), scans / "S1_POST.png")
    spot = np.zeros(post.shape, dtype=bool)
    spot[100:110, 40:47] = True
    write_labelme(Annotation.from_mask(np.rot90(spot, k)), scans / "S1_POST.json")

    def orient(scan):  # stands in for the region network: a stood view is head-down when stored the other way
        if other_way and scan.metadata.get(STOOD_KEY):
            return scan.with_views({v: np.rot90(scan.view(v), 2) for v in scan.view_names}), STOOD_OTHER_WAY
        return scan, ""

    out = tmp_path / "ds"
    report = import_dataset([scans], out, orient=orient)
    assert [c.case_id for c in report.added] == ["S1_ANT", "S1_POST"] and report.unmatched_labels == []
    assert len(_warnings(report)) == 1, report.warnings
    ((path, message),) = _warnings(report)
    assert path.endswith("S1_ANT.png") and "S1_POST.png lying on its side (150 x 600 as stored)" in message
    assert report.stood == [(str(scans / "S1_POST.png"), QUARTER_COUNTERCLOCKWISE if other_way else QUARTER_CLOCKWISE)]
    manifest = load_manifest(out)
    assert manifest.case("S1_ANT").patient_id == manifest.case("S1_POST").patient_id == "S1"  # one patient: one split
    scan, masks = load_case(out, manifest.case("S1_ANT"))
    assert np.array_equal(next(iter(scan.views.values())), ant) and not masks and STOOD_KEY not in manifest.case("S1_ANT").meta
    scan, masks = load_case(out, manifest.case("S1_POST"))
    assert np.array_equal(scan.view("POST"), post) and np.array_equal(masks["POST"], spot)


def test_a_studys_two_files_read_otherwise_by_the_region_network_are_two_cases(tmp_path):
    """ANT upright and POST exported head-down: joined, the views disagree and nothing would be turned; imported
    apart (one warning naming both and how each is read), the POST case records its turn and ANT none. Two files
    read alike are still one case."""
    scans = tmp_path / "scans"
    scans.mkdir()
    ant, post = _lying_body(5), _lying_body(6)
    ant[:40] += 50  # a bright "head" at the top
    post[:40] += 50
    write_png16(ant, scans / "S1_ANT.png")
    write_png16(post[::-1], scans / "S1_POST.png")
    write_png16(ant[::-1], scans / "S2_ANT.png")
    write_png16(post[::-1], scans / "S2_POST.png")

    def orient(scan):  # stands in for the region network: head-down when every view's bright band is at the bottom
        down = [scan.view(v)[-40:].mean() > scan.view(v)[:40].mean() for v in scan.view_names]
        return scan, (HEAD_DOWN if all(down) else "")

    out = tmp_path / "ds"
    report = import_dataset([scans], out, orient=orient)
    assert [c.case_id for c in report.added] == ["S1_ANT", "S1_POST", "S2"]
    ((path, message),) = _warnings(report)
    assert path.endswith("S1_ANT.png") and "not stored alike (S1_ANT.png read as stored, S1_POST.png stored head-down)" in message
    manifest = load_manifest(out)
    assert TURNED_KEY not in manifest.case("S1_ANT").meta and manifest.case("S1_POST").meta[TURNED_KEY] == HEAD_DOWN
    assert manifest.case("S2").meta[TURNED_KEY] == HEAD_DOWN
    scan, _ = load_case(out, manifest.case("S1_POST"))
    assert np.array_equal(next(iter(scan.views.values())), post)  # read upright, as prediction reads it


def test_a_dicom_view_stored_mirrored_is_imported_mirrored_back_and_its_prediction_matches(tmp_path):
    """A DICOM view whose header says it is stored mirrored (session 27): imported as prediction reads it, mirrored
    back, written with the orientation scintiseg's writer states (so the data set's image reads unmirrored), and a
    LabelMe file on the view as read (a prediction's) labels it as it is; ``--as-stored`` keeps the file's pixels."""
    from scintiseg.io.dicom import scan_to_dataset
    from scintiseg.io.patient_sides import MIRRORED_KEY

    rng = np.random.default_rng(5)
    upright = rng.poisson(20, (120, 40)).astype(np.uint16)
    ds = scan_to_dataset(Scan({"ANT": upright[:, ::-1].copy()}, pixel_spacing=(4.0, 4.0), patient_id="p1"))
    ds.DetectorInformationSequence[0].ImageOrientationPatient = [-1, 0, 0, 0, 0, -1]
    scans = tmp_path / "scans"
    scans.mkdir()
    ds.save_as(scans / "scan.dcm", enforce_file_format=True)
    spot = np.zeros(upright.shape, dtype=bool)
    spot[50:58, 5:11] = True  # beside the patient's right edge as read
    write_labelme(Annotation.from_mask(spot), scans / "scan.json")
    out = tmp_path / "ds"
    report = import_dataset([scans], out, orient=lambda scan: (scan, ""))
    assert report.mirrored == [(str(scans / "scan.dcm"), ["ANT"])] and report.unmatched_labels == []
    case = load_manifest(out).cases[0]
    assert case.meta[MIRRORED_KEY] == ["ANT"]
    scan, masks = load_case(out, case)
    assert np.array_equal(scan.view("ANT"), upright) and np.array_equal(masks["ANT"], spot)
    assert MIRRORED_KEY not in read_scan(out / case.image, split_views=True).metadata
    assert check_dataset(out).summary["mirrored back at import (DICOM orientation)"] == 1
    stored = import_dataset([scans], tmp_path / "as_stored", orient=None)
    assert stored.mirrored == []
    assert np.array_equal(load_case(tmp_path / "as_stored", load_manifest(tmp_path / "as_stored").cases[0])[0].view("ANT"),
                          upright[:, ::-1])


def test_a_lying_dicom_capture_stored_mirrored_is_stood_and_mirrored_back_its_outline_with_it(tmp_path):
    """A one-frame DICOM holding a body lying, mirrored, its Patient Orientation saying so (``F\\L``): stood as the
    reader stands it, then mirrored back; an outline drawn on the file as stored lands on the same pixels."""
    from scintiseg.io.dicom import scan_to_dataset
    from scintiseg.io.patient_sides import MIRRORED_KEY

    rng = np.random.default_rng(6)
    upright = rng.poisson(20, (600, 150)).astype(np.uint16)
    stored = np.ascontiguousarray(np.rot90(upright[:, ::-1], 1))  # mirrored, then laid down a quarter
    ds = scan_to_dataset(Scan({"VIEW": stored}, pixel_spacing=(2.6, 2.6), patient_id="p2"))
    ds.PatientOrientation = ["F", "L"]  # its columns grow to the feet, its rows to the patient's left
    scans = tmp_path / "scans"
    scans.mkdir()
    ds.save_as(scans / "lying.dcm", enforce_file_format=True)
    spot = np.zeros(upright.shape, dtype=bool)
    spot[300:310, 20:27] = True
    write_labelme(Annotation.from_mask(np.rot90(spot[:, ::-1], 1)), scans / "lying.json")  # drawn on the file
    out = tmp_path / "ds"
    report = import_dataset([scans], out, orient=lambda scan: (scan, ""))
    assert report.stood == [(str(scans / "lying.dcm"), QUARTER_CLOCKWISE)] and report.unmatched_labels == []
    assert report.mirrored == [(str(scans / "lying.dcm"), ["VIEW"])]
    case = load_manifest(out).cases[0]
    assert case.meta[MIRRORED_KEY] == ["VIEW"] and case.meta[STOOD_KEY] == QUARTER_CLOCKWISE
    scan, masks = load_case(out, case)
    assert np.array_equal(scan.view("VIEW"), upright) and np.array_equal(masks["VIEW"], spot)


# --- run again (session 63 audit): a LabelMe file imported once is never imported again, so re-running an earlier
# folder leaves a newer correction in place; an assumed pixel size is said and recorded; the DICOM written carries
# the data set's patient; a prediction batch's own files are passed over quietly.

def _outline(folder: Path, top: int, name: str = "a1_POST.json") -> Path:
    folder.mkdir(exist_ok=True)
    write_labelme(Annotation.from_mask(_square(top), view="POST"), folder / name)
    return folder


def _site(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """scans/a1.dcm (ANT+POST) imported with outlines/ (POST: a square at row 4), then corrected twice (rows 20, 22)."""
    scans = tmp_path / "scans"
    scans.mkdir()
    write_dicom(Scan({"ANT": _counts(1), "POST": _counts(2)}, patient_id="PID-A"), scans / "a1.dcm")
    outlines, first, second = (_outline(tmp_path / name, top) for name, top in
                               (("outlines", 4), ("corrected1", 20), ("corrected2", 22)))
    out = tmp_path / "ds"
    import_dataset([scans], out, labels_dir=outlines)
    assert import_dataset([first], out).updated and import_dataset([second], out).updated
    case = load_manifest(out).case("a1")
    assert case.labels["POST"] == "labels/a1_POST.reviewed-2.json"
    return scans, outlines, first, second


def _post(out: Path) -> np.ndarray:
    return load_case(out, "a1")[1]["POST"]


def test_rerunning_any_earlier_folder_leaves_the_newest_correction_and_changes_nothing(tmp_path):
    scans, outlines, first, second = _site(tmp_path)
    out = tmp_path / "ds"
    before = _tree(out)
    for sources, labels in (([scans], outlines), ([first], None), ([first, second], None), ([second, first], None),
                            ([scans, second], first)):
        report = import_dataset(sources, out, labels_dir=labels)
        assert report.updated == [] and report.unmatched_labels == [], (sources, labels)
        assert _tree(out) == before, (sources, labels)  # the newer outline's file and dataset.json byte-identical
    np.testing.assert_array_equal(_post(out), _square(22))
    assert len(load_manifest(out).case("a1").meta["label_sha256"]["POST"]) == 3  # one per file imported
    # A genuinely new edit still imports, whichever old folder comes with it, and is recorded in its turn.
    third = _outline(tmp_path / "corrected3", 24)
    report = import_dataset([third, first], out, labels_dir=outlines)
    assert [c.case_id for c in report.updated] == ["a1"] and report.unmatched_labels == []
    case = load_manifest(out).case("a1")
    assert case.labels["POST"] == "labels/a1_POST.reviewed-3.json" and len(case.meta["label_sha256"]["POST"]) == 4
    np.testing.assert_array_equal(_post(out), _square(24))
    assert check_dataset(out).valid


def test_two_new_files_for_one_view_in_one_run_the_source_given_last_wins(tmp_path):
    scans, outlines, _, _ = _site(tmp_path)
    out = tmp_path / "ds"
    older, newer = _outline(tmp_path / "older", 6), _outline(tmp_path / "newer", 8)
    report = import_dataset([older, newer], out)
    np.testing.assert_array_equal(_post(out), _square(8))
    assert [(Path(p).parent.name, "already has labels" in why) for p, why in report.unmatched_labels] == [("older", True)]


def test_a_data_set_without_recorded_hashes_keeps_its_newer_correction_too(tmp_path):
    """A data set imported before session 63 records no hashes: an older file is known by its outline, equal to an
    earlier revision kept in labels/; it is listed, not imported, and the data set is not touched."""
    scans, outlines, first, _ = _site(tmp_path)
    out = tmp_path / "ds"
    manifest = load_manifest(out)
    for case in manifest.cases:
        case.meta.pop("label_sha256", None)
    save_manifest(manifest, out)
    before = _tree(out)
    for sources, labels in (([scans], outlines), ([first], None)):
        report = import_dataset(sources, out, labels_dir=labels)
        assert report.updated == [] and _tree(out) == before
        ((path, why),) = report.unmatched_labels
        assert "an earlier outline of case a1 view POST" in why and "not imported again" in why
    np.testing.assert_array_equal(_post(out), _square(22))
    assert import_dataset([_outline(tmp_path / "new", 26)], out).updated  # a new outline still imports
    assert load_manifest(out).case("a1").meta["label_sha256"]["POST"]  # and is recorded from now on


def _pair(scans: Path, stem: str = "P07") -> None:
    scans.mkdir(exist_ok=True)
    for seed, view in enumerate(("ANT", "POST")):
        write_png16(_counts(seed), scans / f"{stem}_{view}.png")


def test_an_assumed_pixel_size_is_said_once_per_file_and_recorded_and_can_be_given(tmp_path):
    scans = tmp_path / "scans"
    _pair(scans)
    write_png16(_counts(7), scans / "Q1.png")
    out = tmp_path / "ds"
    report = import_dataset([scans], out)
    said = [(Path(p).name, m) for p, m in report.warnings if "no measured pixel spacing" in m]
    assert sorted(name for name, _ in said) == ["P07_ANT.png", "P07_POST.png", "Q1.png"]
    assert all(m.startswith("the file has no measured pixel spacing; assuming 2.26 x 2.26 mm") and
               m.endswith("(give the right one with --pixel-spacing)") for _, m in said)
    manifest = load_manifest(out)
    assert all(isinstance(case.meta.get("pixel_spacing_assumed"), str) for case in manifest.cases)
    written = read_scan(out / manifest.case("P07").image)  # the DICOM written says the size was assumed (session 64)
    assert written.pixel_spacing == (2.26, 2.26)
    assert written.metadata["pixel_spacing_assumed"] == "assumed when the file was written: the commonest whole-body pixel size"
    assert not [m for _, m in import_dataset([scans], out).warnings if "no measured pixel spacing" in m]  # said once
    given = tmp_path / "given"
    report = import_dataset([scans], given, pixel_spacing="3.3")
    assert not [m for _, m in report.warnings if "no measured pixel spacing" in m]
    manifest = load_manifest(given)
    assert all("pixel_spacing_assumed" not in case.meta for case in manifest.cases)
    assert read_scan(given / manifest.case("P07").image).pixel_spacing == (3.3, 3.3)  # the DICOM written
    assert "pixel_spacing_assumed" not in read_scan(given / manifest.case("P07").image).metadata
    assert tuple(manifest.pixel_spacing) == (3.3, 3.3)
    with pytest.raises(ScintisegError, match="pixel spacing"):
        import_dataset([scans], tmp_path / "bad", pixel_spacing="0")


def test_the_dicom_written_carries_the_data_sets_patient(tmp_path):
    scans = tmp_path / "scans"
    _pair(scans, "P07_2024")
    out = tmp_path / "ds"
    import_dataset([scans], out, patient_from=r"regex:^(P\d+)_")
    (case,) = load_manifest(out).cases
    assert case.patient_id == "P07"
    assert read_scan(out / case.image).patient_id == "P07"


def _batch(root: Path, scan: Path) -> Path:
    """A ``scintiseg predict`` output folder: P7/ with its report and an edited POST.labelme.json; summary.csv,
    triage.json and boxes.json at its root."""
    folder = root / "P7"
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps({"format": "scintiseg-report", "input": {"source": str(scan)}}))
    write_labelme(Annotation.from_mask(_square(12), view="POST"), folder / "POST.labelme.json")
    (root / "summary.csv").write_text("input,status,output,views,triage_score,lesion_count,soloway_grade,bsi_percent,"
                                      f"bsi_covered_mass_percent,qc_flags,seconds,error\n{scan},ok,P7,ANT;POST,1.0,1,1,"
                                      "0.1,100.0,,0.5,\n")
    (root / "triage.json").write_text(json.dumps({"scans": 1, "abnormal": 1, "triage_auc": None}))
    (root / "boxes.json").write_text(json.dumps({"images": 2, "lesion_boxes": 0}))
    return root


def test_a_prediction_batchs_own_files_are_passed_over_and_a_users_are_still_listed(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    write_dicom(Scan({"ANT": _counts(1), "POST": _counts(2)}, patient_id="PID-7"), scans / "P7.dcm")
    out = tmp_path / "ds"
    import_dataset([scans], out)
    predictions = _batch(tmp_path / "predictions", scans / "P7.dcm")
    report = import_dataset([predictions], out)
    assert report.skipped == [] and report.unmatched_labels == []
    assert load_manifest(out).case("P7").meta["reviewed"] == ["POST"]
    # A user's files of those names, not predict's, are read and listed as before.
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "summary.csv").write_text("patient,finding\nP7,mets\n")
    (notes / "triage.json").write_text(json.dumps({"scans": 1, "triage_auc": 1.0}))
    (predictions / "boxes.json").write_text("{broken")
    report = import_dataset([notes, predictions], out)
    assert [Path(p).name for p, _ in report.skipped] == ["summary.csv"]
    assert sorted(Path(p).name for p, _ in report.unmatched_labels) == ["boxes.json", "triage.json"]


def test_a_persons_outline_wins_over_a_pseudo_label_matched_before_it(tmp_path):
    """The predictions given last are matched first (import_dataset's order): the confident prediction of Q8 ANT
    comes before the person's outline, and is still deferred behind it (import_labels.match_labels)."""
    _outline_beside_the_prediction(tmp_path, outlines_last=False)
