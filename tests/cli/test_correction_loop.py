"""The correction loop of issue 16, end to end from the command line: import a site's scan -> predict ->
a physician edits the LabelMe file -> import it back -> the case holds the edited outline, marked reviewed,
and site adaptation reads it as a labelled view."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from scintiseg.cli import main
from scintiseg.geometry import shape_to_mask
from scintiseg.io.dataset import check_dataset, load_case, load_manifest
from scintiseg.io.dicom import write_dicom
from scintiseg.io.images import read_mask_png
from scintiseg.phantom import generate_patient, profile
from scintiseg.train.unlabelled import read_site

#: The polygon the "physician" draws: a pentagon on the ANT view (x = column, y = row).
DRAWN = [[100.0, 300.0], [130.0, 296.0], [140.0, 320.0], [118.0, 340.0], [96.0, 326.0]]


def _physician_draws(labelme: Path, points: list) -> dict:
    """The LabelMe file's outlines replaced by one polygon through ``points`` (a physician's correction); the
    document as it was before."""
    document = json.loads(labelme.read_text())
    labelme.write_text(json.dumps({**document, "shapes": [{"label": "lesion", "points": points, "group_id": None,
                                                          "description": "", "shape_type": "polygon", "flags": {}}]}))
    return document


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_predict_edit_import_marks_the_case_reviewed_with_the_edited_outline(tmp_path, capsys):
    scans, data, predictions = tmp_path / "scans", tmp_path / "site", tmp_path / "predictions"
    scans.mkdir()
    patient = generate_patient(11, profile("default"), patient_id="PID-11")
    write_dicom(patient.scan, scans / "P11.dcm")

    assert main(["dataset", "import", str(scans), "--out", str(data)]) == 0
    (case,) = load_manifest(data).cases
    assert case.labels == {} and "reviewed" not in case.meta

    assert main(["predict", str(scans / "P11.dcm"), "--out", str(predictions), "--quiet"]) == 0
    labelme = predictions / "P11" / "ANT.labelme.json"
    assert labelme.is_file() and (predictions / "P11" / "ANT_mask.png").is_file()

    # Imported as it stands, the model's own outline is refused: nobody corrected it.
    capsys.readouterr()
    assert main(["dataset", "import", str(predictions), "--out", str(data)]) == 0
    assert "an unedited prediction" in capsys.readouterr().out
    assert load_manifest(data).cases[0].labels == {}

    # The physician deletes the model's outlines and draws one lesion of their own.
    document = json.loads(labelme.read_text())
    document["shapes"] = [{"label": "lesion", "points": DRAWN, "group_id": None, "description": "",
                           "shape_type": "polygon", "flags": {}}]
    labelme.write_text(json.dumps(document))

    before = _tree(data)
    assert main(["dataset", "import", str(predictions), "--out", str(data)]) == 0
    (case,) = load_manifest(data).cases
    assert case.meta["reviewed"] == ["ANT"]
    assert set(case.labels) == {"ANT"}
    assert set(_tree(data)) - set(before) == {"dataset.json", case.labels["ANT"]} - set(before)
    scan, masks = load_case(data, case)
    expected = shape_to_mask(np.array(DRAWN), scan.shape, "polygon")
    assert expected.sum() > 500
    np.testing.assert_array_equal(masks["ANT"], expected)
    np.testing.assert_array_equal(scan.view("ANT"), patient.scan.view("ANT"))  # the counts, not the rendering
    assert check_dataset(data).valid

    # The same import again changes nothing; the corrected case now feeds adaptation as a labelled view.
    after = _tree(data)
    assert main(["dataset", "import", str(predictions), "--out", str(data)]) == 0
    assert _tree(data) == after

    site = read_site(data, pixel_mm=scan.pixel_spacing[0], normalisation="robust")
    labelled = [v for v in site.views if v.labelled]
    assert [(v.case_id, v.view) for v in labelled] == [("P11", "ANT")]
    np.testing.assert_array_equal(labelled[0].target[0] > 0.5, expected)


def test_predict_then_import_pseudo_labels_takes_the_confident_views_as_predicted(tmp_path, capsys):
    """predict -> import --pseudo-labels 0.9 -> site adaptation reads them: every view the report shows the
    model confident on (all lesion peaks >= 0.9, or no lesion and a largest probability <= 0.1, and no call left out
    by a reading rule) is a pseudo-label equal to the predicted mask, every other view is listed with its reason,
    and read_site counts the pseudo-labelled views apart from the labelled ones."""
    scans, data, predictions = tmp_path / "scans", tmp_path / "site", tmp_path / "predictions"
    scans.mkdir()
    patient = generate_patient(12, profile("default"), patient_id="PID-12")
    write_dicom(patient.scan, scans / "P12.dcm")
    assert main(["predict", str(scans / "P12.dcm"), "--out", str(predictions), "--quiet"]) == 0
    report = json.loads((predictions / "P12" / "report.json").read_text())
    confident, left_out = [], {call["view"] for call in report["left_out_calls"]}
    for view, record in report["views"].items():
        peaks = [lesion["probability_max"] for lesion in report["lesions"] if lesion["view"] == view]
        if ((min(peaks) >= 0.9) if peaks else (1.0 - record["max_probability"] >= 0.9)) and view not in left_out:
            confident.append(view)

    capsys.readouterr()
    assert main(["dataset", "import", str(scans), str(predictions), "--out", str(data), "--pseudo-labels", "0.9"]) == 0
    printed = capsys.readouterr().out
    (case,) = load_manifest(data).cases
    assert case.meta.get("pseudo", []) == confident and "reviewed" not in case.meta
    assert case.labels == {view: f"labels/P12_{view}.pseudo.json" for view in confident}
    for view in set(report["views"]) - set(confident):
        reason = "a reading rule left out the network's call" if view in left_out else "not confident: "
        assert f"{view}.labelme.json: {reason}" in printed
    assert f"pseudo-labelled {len(confident)} views (confidence 0.9)" in printed
    scan, masks = load_case(data, case)
    for view in confident:
        np.testing.assert_array_equal(masks[view], read_mask_png(predictions / "P12" / f"{view}_mask.png") > 0)
    assert check_dataset(data).valid

    site = read_site(data, pixel_mm=scan.pixel_spacing[0], normalisation="robust")
    assert site.pseudo_views == len(confident) and site.labelled_views == 0
    assert site.unlabelled_views == len(report["views"]) - len(confident)
    assert [v.view for v in site.views if v.pseudo] == confident and all(v.labelled for v in site.views if v.pseudo)


def test_a_body_stored_lying_goes_round_the_loop_standing_either_way_it_lay(tmp_path, capsys):
    """Files that hold a body lying (an export turned a quarter, either way): the data set holds each standing, as
    prediction reads it, so a prediction's corrected outline comes back onto its case."""
    from scintiseg.io.images import write_png16

    scans, data, predictions = tmp_path / "scans", tmp_path / "site", tmp_path / "predictions"
    scans.mkdir()
    standing = generate_patient(12, profile("small")).scan.view("ANT")
    write_png16(np.rot90(standing, 1), scans / "L1.png")   # the reader's quarter clockwise stands it head-up
    write_png16(np.rot90(standing, -1), scans / "L2.png")  # ... head-down: prediction turns it half more
    small = [[x / 2, y / 2] for x, y in DRAWN]  # on the 512 x 128 view
    assert main(["predict", str(scans), "--out", str(predictions), "--quiet"]) == 0
    for name in ("L1", "L2"):
        document = _physician_draws(predictions / name / "VIEW.labelme.json", small)
        assert (document["imageHeight"], document["imageWidth"]) == standing.shape  # predicted standing
    capsys.readouterr()
    assert main(["dataset", "import", str(scans), str(predictions), "--out", str(data)]) == 0
    said = capsys.readouterr().out
    assert f"stood: {scans / 'L2.png'}: stored lying; the case's image is written standing, turned a quarter " \
           "counterclockwise" in said and "unmatched labels" not in said
    drawn = shape_to_mask(np.asarray(small), standing.shape, "polygon")
    for name, how in (("L1", "quarter_clockwise"), ("L2", "quarter_counterclockwise")):
        case = load_manifest(data).case(name)
        assert case.meta["stood"] == how and case.meta["reviewed"] == ["VIEW"]
        scan, masks = load_case(data, case)
        assert np.array_equal(scan.view("VIEW"), standing) and np.array_equal(masks["VIEW"], drawn)
    assert check_dataset(data).valid
    assert {v.case_id for v in read_site(data, pixel_mm=4.52, normalisation="robust").views if v.labelled} == {"L1", "L2"}


def test_a_page_of_both_views_is_imported_as_the_two_views_prediction_reads(tmp_path, capsys):
    """A page of ANT and POST side by side in one file: the case holds the two views as prediction splits them, an
    outline drawn on the page labels each view with its part, and a prediction's corrected view comes back."""
    from scintiseg.io.images import write_png16
    from scintiseg.io.labelme import write_labelme
    from scintiseg.scan import Annotation

    scans, data, predictions = tmp_path / "scans", tmp_path / "site", tmp_path / "predictions"
    scans.mkdir()
    views = {name: generate_patient(seed, profile("small")).scan for name, seed in (("P1", 13), ("P2", 14))}
    for name, scan in views.items():
        write_png16(np.hstack([scan.view("ANT"), scan.view("POST")]).astype(np.uint16), scans / f"{name}.png")
    width = views["P1"].shape[1]
    drawn = np.zeros((views["P1"].shape[0], 2 * width), dtype=bool)
    drawn[200:209, 40:47] = True
    drawn[300:312, width + 60:width + 70] = True
    write_labelme(Annotation.from_mask(drawn), scans / "P1.json")  # drawn on the page as stored
    small = [[x / 2, y / 2] for x, y in DRAWN]
    assert main(["predict", str(scans / "P2.png"), "--out", str(predictions), "--quiet"]) == 0
    _physician_draws(predictions / "P2" / "POST.labelme.json", small)
    capsys.readouterr()
    assert main(["dataset", "import", str(scans), str(predictions), "--out", str(data)]) == 0
    said = capsys.readouterr().out
    assert f"split: {scans / 'P1.png'}: a page of ANT (left) and POST (right) side by side" in said
    assert "P2/ANT.labelme.json: an unedited prediction" in said and "P2/POST.labelme.json" not in said
    manifest = load_manifest(data)
    for name, scan in views.items():
        case = manifest.case(name)
        assert case.meta["split_at_column"] == width and case.meta["stored_shape"] == [scan.shape[0], 2 * width]
        read, masks = load_case(data, case)
        assert all(np.array_equal(read.view(v), scan.view(v)) for v in ("ANT", "POST"))
        if name == "P1":
            assert np.array_equal(masks["ANT"], drawn[:, :width]) and np.array_equal(masks["POST"], drawn[:, width:])
        else:
            assert set(masks) == {"POST"} and case.meta["reviewed"] == ["POST"]
            assert np.array_equal(masks["POST"], shape_to_mask(np.asarray(small), scan.shape, "polygon"))
    assert check_dataset(data).valid
