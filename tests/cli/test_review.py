"""``scintiseg review``: a prediction's report written again from the outlines a reader corrected in LabelMe, and
every bad input refused in one line with nothing written."""

from __future__ import annotations

import dataclasses
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from scintiseg.cli import main
from scintiseg.geometry import shape_to_mask
from scintiseg.io.dataset import load_manifest
from scintiseg.io.dicom import write_dicom
from scintiseg.io.images import read_mask_png
from scintiseg.phantom import generate_patient, profile
from support import NO_REAL_NM1, REAL_NM1 as REAL_SCAN

#: A polygon the "physician" draws on the ANT view (x = column, y = row).
DRAWN = [[120.0, 420.0], [136.0, 418.0], [140.0, 434.0], [124.0, 440.0]]


@pytest.fixture(scope="module")
def predicted(tmp_path_factory) -> Path:
    """One phantom patient (ANT + POST DICOM) predicted by the shipped model: its scan folder's sibling
    ``predictions/P7``."""
    root = tmp_path_factory.mktemp("review")
    (root / "scans").mkdir()
    patient = generate_patient(7, profile("default"), patient_id="PID-7")
    write_dicom(patient.scan, root / "scans" / "P7.dcm")
    assert main(["predict", str(root / "scans" / "P7.dcm"), "--out", str(root / "predictions"), "--quiet"]) == 0
    folder = root / "predictions" / "P7"
    report = json.loads((folder / "report.json").read_text())
    assert report["summary"]["lesion_count_by_view"]["ANT"] >= 1, "the test needs an ANT lesion to delete"
    return folder


def _copy(folder: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "edited" / folder.name
    shutil.copytree(folder, copy)
    return copy


def _report(folder: Path) -> dict:
    return json.loads((folder / "report.json").read_text())


def test_an_unedited_prediction_reviewed_is_the_prediction(predicted, tmp_path, capsys):
    out = tmp_path / "reviewed"
    assert main(["review", str(predicted), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "reviewed: ANT" in err and "(network: " in err
    before, after = _report(predicted), _report(out)
    keys = ("view", "region", "laterality", "area_px", "bsi_contribution_percent", "contour", "paired_with")
    assert [[lesion[k] for k in keys] for lesion in after["lesions"]] == [
        [lesion[k] for k in keys] for lesion in before["lesions"]]
    assert {lesion["origin"] for lesion in after["lesions"]} == {"network"}
    # each view's BSI and the scan's: outlines a reader kept as the network's are read as the network's
    assert {view: facts["bsi"] for view, facts in after["views"].items()} == {
        view: facts["bsi"] for view, facts in before["views"].items()}
    assert after["summary"]["bsi_percent"] == before["summary"]["bsi_percent"]
    assert after["summary"]["triage_score"] == before["summary"]["triage_score"]
    assert len(after["left_out_calls"]) == len(before["left_out_calls"])
    for view, tally in after["review"]["views"].items():
        count = before["summary"]["lesion_count_by_view"][view]
        assert tally == {"network_lesions": count, "kept": count, "restored": 0, "edited": 0, "drawn": 0,
                         "deleted": 0}
    assert "review" not in before and "origin" not in before["lesions"][0]
    assert (out / "sr.dcm").is_file() and (out / "gsps.dcm").is_file()
    assert 'id="review"' in (out / "report.html").read_text()


def test_a_deleted_and_a_drawn_outline_change_the_lesions_mask_and_bsi(predicted, tmp_path):
    folder = _copy(predicted, tmp_path)
    before = _report(predicted)
    labelme = folder / "ANT.labelme.json"
    document = json.loads(labelme.read_text())
    lesions = [shape for shape in document["shapes"] if shape["label"] == "lesion"]
    gone = lesions[0]
    document["shapes"] = [shape for shape in document["shapes"] if shape is not gone]
    document["shapes"].append({"label": "lesion", "points": DRAWN, "group_id": None, "description": "",
                               "shape_type": "polygon", "flags": {}})
    labelme.write_text(json.dumps(document))
    out = tmp_path / "reviewed" / "P7"
    assert main(["review", str(folder), "--out", str(out)]) == 0

    shape = tuple(before["input"]["shape"])
    expected = read_mask_png(predicted / "ANT_mask.png").astype(bool)
    expected &= ~shape_to_mask(np.asarray(gone["points"]), shape)
    expected |= shape_to_mask(np.asarray(DRAWN), shape)
    assert (read_mask_png(out / "ANT_mask.png").astype(bool) == expected).all()
    after = _report(out)
    count = before["summary"]["lesion_count_by_view"]["ANT"]
    assert after["review"]["views"]["ANT"] == {"network_lesions": count, "kept": count - 1, "restored": 0,
                                               "edited": 0, "drawn": 1, "deleted": 1}
    ant = [lesion for lesion in after["lesions"] if lesion["view"] == "ANT"]
    assert sorted(lesion["origin"] for lesion in ant) == ["network"] * (count - 1) + ["reader"]
    # The view's BSI is its lesions' contributions: the deleted one's taken off, the drawn one's added.
    removed = next(lesion for lesion in before["lesions"]
                   if lesion["view"] == "ANT" and lesion["id"] == gone["group_id"])
    drawn = next(lesion for lesion in ant if lesion["origin"] == "reader")
    expected_bsi = (before["views"]["ANT"]["bsi"]["bsi_percent"] - removed["bsi_contribution_percent"]
                    + drawn["bsi_contribution_percent"])
    assert after["views"]["ANT"]["bsi"]["bsi_percent"] == pytest.approx(expected_bsi, abs=2e-4)
    assert after["views"]["POST"]["bsi"] == before["views"]["POST"]["bsi"]  # POST not touched
    page = (out / "report.html").read_text()  # the drawn outline orange on the page, the others red
    assert page.count('class="lesion-outline" data-id="') == len(after["lesions"])
    assert len(re.findall(r'<polygon class="lesion-outline" data-id="\d+" data-origin="reader"', page)) == 1
    assert "those a reader drew where the network outlined nothing" in page


def test_a_named_reader_verifies_the_sr_and_the_pdf(predicted, tmp_path, capsys):
    import pydicom  # lazy: this test only

    from support import pdf_texts

    out = tmp_path / "reviewed"
    assert main(["review", str(predicted), "--out", str(out), "--reader", "Doe^Jane",
                 "--organization", "Nuclear Medicine, Example Hospital", "--pdf"]) == 0
    pdf = (out / "report.pdf").read_bytes()
    words = " ".join(" ".join(text.text for text in pdf_texts(pdf)).split())
    assert "reviewed by Jane Doe (Nuclear Medicine, Example Hospital)" in words
    document = pydicom.dcmread(out / "report_pdf.dcm")
    assert document.VerificationFlag == "VERIFIED"
    assert bytes(document.EncapsulatedDocument)[: document.EncapsulatedDocumentLength] == pdf
    sr = pydicom.dcmread(out / "sr.dcm")
    assert (sr.VerificationFlag, sr.CompletionFlag, sr.PreliminaryFlag) == ("VERIFIED", "COMPLETE", "FINAL")
    # One stance throughout (audit 74, finding 5): no "machine draft" on a signed review, never a diagnosis.
    assert document.DocumentTitle == "scintiseg bone scan lesion report (reviewed by Jane Doe)"
    assert "REVIEWED OUTLINES, NOT A DIAGNOSIS" in words and "MACHINE DRAFT" not in words
    assert (document.SeriesNumber, sr.SeriesNumber, pydicom.dcmread(out / "gsps.dcm").SeriesNumber) == (912, 910, 911)
    (verifier,) = sr.VerifyingObserverSequence
    assert str(verifier.VerifyingObserverName) == "Doe^Jane"
    assert verifier.VerifyingOrganization == "Nuclear Medicine, Example Hospital"
    reader = {"name": "Doe^Jane", "organization": "Nuclear Medicine, Example Hospital"}
    assert _report(out)["review"]["reader"] == reader
    assert "reviewed by Jane Doe (Nuclear Medicine, Example Hospital)" in (out / "report.html").read_text()
    if shutil.which("dciodvfy"):
        result = subprocess.run(["dciodvfy", str(out / "sr.dcm")], capture_output=True, text=True, timeout=60)
        assert [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error")] == []
    unnamed = tmp_path / "unnamed"
    assert main(["review", str(predicted), "--out", str(unnamed)]) == 0
    unsigned = pydicom.dcmread(unnamed / "sr.dcm")
    assert (unsigned.VerificationFlag, unsigned.PreliminaryFlag) == ("UNVERIFIED", "PRELIMINARY")
    assert not (unnamed / "report.pdf").exists() and not (unnamed / "report_pdf.dcm").exists()  # opt-in
    # A reader named beyond ASCII, of a source declaring no character set (NM1): the three objects declare UTF-8
    # (session 74's review, R1: dciodvfy found the name invalid in the default repertoire of all three).
    accented = tmp_path / "accented"
    assert main(["review", str(predicted), "--out", str(accented), "--reader", "Müller^Jürgen", "--pdf"]) == 0
    for name in ("sr.dcm", "gsps.dcm", "report_pdf.dcm"):
        written = pydicom.dcmread(accented / name)
        assert written.SpecificCharacterSet == "ISO_IR 192", name
        if shutil.which("dciodvfy"):
            result = subprocess.run(["dciodvfy", str(accented / name)], capture_output=True, text=True, timeout=60)
            assert [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error")] == [], name
    assert pydicom.dcmread(accented / "report_pdf.dcm").DocumentTitle.endswith("(reviewed by Jürgen Müller)")
    assert pydicom.dcmread(out / "sr.dcm").get("SpecificCharacterSet") is None  # ASCII: nothing declared, as before
    capsys.readouterr()
    assert main(["review", str(predicted), "--out", str(tmp_path / "empty"), "--reader", " "]) == 2
    assert "--reader is empty" in capsys.readouterr().err and not (tmp_path / "empty").exists()


def test_a_reader_named_in_one_word_is_a_family_name_and_no_library_warning(predicted, tmp_path, capsys, recwarn):
    """``--reader Smith``: highdicom warned twice, at length, that a one-component name "is unlikely to represent the
    intended person name"; the SR now carries it as a family name (``Smith^``), the report as typed."""
    import pydicom  # lazy: this test only

    out = tmp_path / "reviewed"
    assert main(["review", str(predicted), "--out", str(out), "--reader", "Smith"]) == 0
    assert "person name" not in capsys.readouterr().err and not [w for w in recwarn if "person name" in str(w.message)]
    (verifier,) = pydicom.dcmread(out / "sr.dcm").VerifyingObserverSequence
    assert str(verifier.VerifyingObserverName) == "Smith^" and verifier.VerifyingObserverName.family_name == "Smith"
    assert _report(out)["review"]["reader"]["name"] == "Smith"
    assert "reviewed by Smith" in (out / "report.html").read_text()


def test_a_file_saved_without_its_image_data_is_read(predicted, tmp_path, capsys):
    """LabelMe with "Save With Image Data" off writes imageData null and the imagePath it was given (ANT.png, which
    predict does not write): the review and the import read the declared size, the scan being the image."""
    folder = _copy(predicted, tmp_path)
    labelme = folder / "ANT.labelme.json"
    document = json.loads(labelme.read_text())
    assert document["imagePath"] == "ANT.png" and not (folder / "ANT.png").exists()
    document["shapes"] = [{"label": "lesion", "points": DRAWN, "group_id": None, "description": "",
                           "shape_type": "polygon", "flags": {}}]
    labelme.write_text(json.dumps({**document, "imageData": None}))
    out = tmp_path / "reviewed" / "P7"
    assert main(["review", str(folder), "--out", str(out)]) == 0
    shape = tuple(_report(predicted)["input"]["shape"])
    assert (read_mask_png(out / "ANT_mask.png").astype(bool) == shape_to_mask(np.asarray(DRAWN), shape)).all()
    data = tmp_path / "site"
    capsys.readouterr()
    assert main(["dataset", "import", str(predicted.parent.parent / "scans"), str(folder.parent),
                 "--out", str(data)]) == 0
    assert "unreadable" not in capsys.readouterr().out
    (case,) = load_manifest(data).cases
    assert "ANT" in case.meta.get("reviewed", [])


def test_a_review_reviewed_again_keeps_each_lesions_origin_against_the_network(predicted, tmp_path, capsys):
    """A lesion only a reader drew stays ``reader`` through any number of reviews (session 62: reviewed again, the
    earlier review's outlines were taken for the network's, and it became ``network``, drawn red)."""
    folder = _copy(predicted, tmp_path)
    labelme = folder / "ANT.labelme.json"
    document = json.loads(labelme.read_text())
    document["shapes"].append({"label": "lesion", "points": DRAWN, "group_id": None, "description": "",
                               "shape_type": "polygon", "flags": {}})
    labelme.write_text(json.dumps(document))
    first = tmp_path / "first" / "P7"
    assert main(["review", str(folder), "--out", str(first), "--reader", "Doe^Jane"]) == 0
    count = _report(predicted)["summary"]["lesion_count_by_view"]["ANT"]
    tally = {"network_lesions": count, "kept": count, "restored": 0, "edited": 0, "drawn": 1, "deleted": 0}
    source = first
    for name in ("second", "third"):  # reviewed again as it stands, twice
        capsys.readouterr()
        out = tmp_path / name / "P7"
        assert main(["review", str(source), "--out", str(out)]) == 0
        err = capsys.readouterr().err
        assert f"0 of the network's {count} deleted" in err and "(earlier review: " in err
        after = _report(out)
        assert after["review"]["compared_with"] == "the network" and after["review"]["views"]["ANT"] == tally
        assert after["review"]["source_folder"] == str(source.resolve())
        assert after["review"]["network_outlines"] == {"ANT": "predicted again", "POST": "predicted again"}
        assert after["review"]["earlier_review"]["reader"] == ({"name": "Doe^Jane", "organization": None}
                                                               if name == "second" else None)
        ant = [lesion["origin"] for lesion in after["lesions"] if lesion["view"] == "ANT"]
        assert sorted(ant) == ["network"] * count + ["reader"]
        page = html.unescape((out / "report.html").read_text())
        assert len(re.findall(r'<polygon class="lesion-outline" data-id="\d+" data-origin="reader"', page)) == 1
        assert "of the network's" in page
        source = out
    assert _report(first)["review"]["views"]["ANT"] == tally


def test_a_left_out_call_relabelled_lesion_is_restored(predicted, tmp_path, capsys):
    """Session 62: a left-out call relabelled ``lesion`` was reported as drawn by the reader (``reader``, "1 drawn"):
    the left-out calls were read from the edited file, where that call is no ``left_out`` shape any more."""
    folder = _copy(predicted, tmp_path)
    labelme = folder / "ANT.labelme.json"
    document = json.loads(labelme.read_text())
    calls = [shape for shape in document["shapes"] if shape["label"] == "left_out"]
    assert calls, "the test needs a call a reading rule left out on ANT"
    calls[0]["label"] = "lesion"
    labelme.write_text(json.dumps(document))
    out = tmp_path / "reviewed"
    capsys.readouterr()
    assert main(["review", str(folder), "--out", str(out)]) == 0
    assert "1 left-out call restored, 0 edited, 0 drawn" in capsys.readouterr().err
    count = _report(predicted)["summary"]["lesion_count_by_view"]["ANT"]
    assert _report(out)["review"]["views"]["ANT"] == {"network_lesions": count, "kept": count, "restored": 1,
                                                      "edited": 0, "drawn": 0, "deleted": 0}
    assert sorted(lesion["origin"] for lesion in _report(out)["lesions"] if lesion["view"] == "ANT") == sorted(
        ["network"] * count + ["restored"])


def test_a_folder_returned_without_its_masks_still_knows_the_networks_lesions(predicted, tmp_path, capsys):
    """Session 62: without ``ANT_mask.png`` and ``POST_mask.png`` (a physician returned only the LabelMe files) every
    network lesion was credited to the reader (``network_lesions: 0``), without a word."""
    folder = _copy(predicted, tmp_path)
    for view in ("ANT", "POST"):
        (folder / f"{view}_mask.png").unlink()
    labelme = folder / "ANT.labelme.json"
    document = json.loads(labelme.read_text())
    document["shapes"].append({"label": "lesion", "points": DRAWN, "group_id": None, "description": "",
                               "shape_type": "polygon", "flags": {}})
    labelme.write_text(json.dumps(document))
    counts = _report(predicted)["summary"]["lesion_count_by_view"]
    expected = {view: {"network_lesions": count, "kept": count, "restored": 0, "edited": 0,
                       "drawn": int(view == "ANT"), "deleted": 0} for view, count in counts.items()}
    out = tmp_path / "reviewed"
    capsys.readouterr()
    assert main(["review", str(folder), "--out", str(out)]) == 0
    assert "warning" not in capsys.readouterr().err
    review = _report(out)["review"]
    assert review["views"] == expected and review["network_outlines"] == {"ANT": "report.json", "POST": "report.json"}
    # Nor the contours in report.json: the network run again stands for them, said in one line (for ANT: the
    # report lists no POST lesion, and that the report says).
    report = _report(folder)
    report["lesions"] = [{key: value for key, value in lesion.items() if key != "contour"}
                         for lesion in report["lesions"]]
    (folder / "report.json").write_text(json.dumps(report))
    capsys.readouterr()
    assert main(["review", str(folder), "--out", str(tmp_path / "again")]) == 0
    err = capsys.readouterr().err
    assert f"warning: {folder / 'ANT_mask.png'}: not there, and report.json lists no outline of the network's" in err
    review = _report(tmp_path / "again")["review"]
    assert review["views"] == expected and review["network_outlines"]["ANT"] == "predicted again"


def test_a_review_a_reader_signed_is_not_replaced_by_another_run(predicted, tmp_path, capsys):
    """Session 62: re-running into the same --out without --reader silently replaced a signed report (a VERIFIED SR)
    with an unsigned one."""
    out = tmp_path / "reviewed"
    assert main(["review", str(predicted), "--out", str(out), "--reader", "Doe^Jane"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for extra, whose in (([], "this run names no reader"), (["--reader", "Roe^Rick"], "this run's reader is Roe^Rick")):
        capsys.readouterr()
        assert main(["review", str(predicted), "--out", str(out), *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"{out}: holds a review signed by Doe^Jane" in err[0] and whose in err[0]
        assert "give another --out to keep it, or --reader Doe^Jane" in err[0]
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".reviewed")]
    assert main(["review", str(predicted), "--out", str(out), "--reader", "Doe^Jane"]) == 0  # the same reader again
    assert _report(out)["review"]["reader"]["name"] == "Doe^Jane"
    assert main(["review", str(predicted), "--out", str(tmp_path / "unsigned")]) == 0
    assert main(["review", str(predicted), "--out", str(tmp_path / "unsigned")]) == 0  # unsigned: replaced as before


def test_an_image_path_outside_the_folder_is_no_error_when_the_image_is_embedded(predicted, tmp_path, capsys):
    """LabelMe saved elsewhere names the image by a path outside the folder; the image is embedded (and the scan is
    the image): read. Session 62: refused as pointing "outside the data set folder"."""
    folder = _copy(predicted, tmp_path)
    labelme = folder / "ANT.labelme.json"
    document = json.loads(labelme.read_text())
    labelme.write_text(json.dumps({**document, "imagePath": "../../elsewhere/P7_ANT.png"}))
    out = tmp_path / "reviewed"
    assert main(["review", str(folder), "--out", str(out)]) == 0
    assert [lesion["origin"] for lesion in _report(out)["lesions"]] == ["network"] * len(_report(predicted)["lesions"])
    assert _report(out)["summary"]["bsi_percent"] == _report(predicted)["summary"]["bsi_percent"]
    capsys.readouterr()
    labelme.write_text(json.dumps({**document, "imagePath": "../../elsewhere/P7_ANT.png", "imageData": None,
                                   "imageWidth": None}))
    assert main(["review", str(folder), "--out", str(tmp_path / "again")]) == 2
    err = capsys.readouterr().err
    assert "points outside its folder" in err and "data set folder" not in err


def test_a_reviewed_folder_imports_as_the_readers_labels(predicted, tmp_path, capsys):
    folder = _copy(predicted, tmp_path)
    labelme = folder / "ANT.labelme.json"
    document = json.loads(labelme.read_text())
    document["shapes"] = [{"label": "lesion", "points": DRAWN, "group_id": None, "description": "",
                           "shape_type": "polygon", "flags": {}}]
    labelme.write_text(json.dumps(document))
    out = tmp_path / "reviewed" / "P7"
    assert main(["review", str(folder), "--out", str(out)]) == 0
    data = tmp_path / "site"
    capsys.readouterr()
    assert main(["dataset", "import", str(predicted.parent.parent / "scans"), str(out.parent), "--out", str(data)]) == 0
    (case,) = load_manifest(data).cases
    assert "ANT" in case.meta.get("reviewed", []) and "an unedited prediction" not in capsys.readouterr().out


def test_a_call_relabelled_as_no_lesion_is_deleted_and_said(predicted, tmp_path, capsys):
    """A reader relabels the network's first ANT lesion 'Bladder' instead of deleting it, and names the others
    'Metastasis': the first is no lesion (before, every shape but a left-out call counted), the others stay."""
    folder = _copy(predicted, tmp_path)
    labelme = folder / "ANT.labelme.json"
    document = json.loads(labelme.read_text())
    lesions = [shape for shape in document["shapes"] if shape["label"] == "lesion"]
    for index, shape in enumerate(lesions):
        shape["label"] = "Bladder" if index == 0 else "Metastasis"
    labelme.write_text(json.dumps(document))
    out = tmp_path / "reviewed" / "P7"
    capsys.readouterr()
    assert main(["review", str(folder), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"warning: {labelme}: outlines labelled as no lesion, not counted (1 'Bladder')" in err
    count = _report(predicted)["summary"]["lesion_count_by_view"]["ANT"]
    assert _report(out)["review"]["views"]["ANT"] == {"network_lesions": count, "kept": count - 1, "restored": 0,
                                                      "edited": 0, "drawn": 0, "deleted": 1,
                                                      "not_lesions": {"Bladder": 1}}
    assert "1 deleted; labelled no lesion: 1 'Bladder')" in err  # the reader's decision in the record and the line
    assert "labelled no lesion: 1 Bladder" in (out / "report.html").read_text()
    # Named with its place in the words of the report and the SR (audit 74, finding 3: only a count in report.json).
    called = next(lesion for lesion in _report(predicted)["lesions"] if lesion["id"] == lesions[0]["group_id"])
    (found,) = _report(out)["review"]["not_lesion_findings"]
    assert (found["view"], found["label"], found["region"]) == ("ANT", "Bladder", called["region"])
    from scintiseg.report.html import place_title  # lazy: this test only

    side = called["laterality"] if called["region"] == "pelvis" and called["laterality"] in ("right", "left") else None
    place = place_title(called["region"], side)
    line = f"Read as no lesion by the reader: bladder ({place[:1].lower()}{place[1:]}, ANT)."
    assert _report(out)["summary"]["findings_text"]["findings"][-1] == line
    assert html.escape(line, quote=True) in (out / "report.html").read_text()
    import pydicom  # lazy: this test only

    texts = [item.TextValue for item in pydicom.dcmread(out / "sr.dcm").ContentSequence[-1].ContentSequence]
    assert any(line in text and "1 finding read as bladder by the reader" in text for text in texts)
    # Kept in the reviewed LabelMe file as drawn (session 62: dropped, only the count in report.json kept it).
    (kept,) = [shape for shape in json.loads((out / "ANT.labelme.json").read_text())["shapes"]
               if shape["label"] == "Bladder"]
    assert kept["points"] == lesions[0]["points"] and kept["group_id"] is None
    capsys.readouterr()
    assert main(["review", str(out), "--out", str(tmp_path / "again")]) == 0  # reviewed again: still said
    assert _report(tmp_path / "again")["review"]["views"]["ANT"]["not_lesions"] == {"Bladder": 1}
    expected = read_mask_png(predicted / "ANT_mask.png").astype(bool)
    expected &= ~shape_to_mask(np.asarray(lesions[0]["points"]), expected.shape)
    assert (read_mask_png(out / "ANT_mask.png").astype(bool) == expected).all()


def _bad_size(folder: Path) -> None:
    path = folder / "ANT.labelme.json"
    document = json.loads(path.read_text())
    path.write_text(json.dumps({**document, "imageData": None, "imagePath": "", "imageHeight": 2048,
                                "imageWidth": 512}))


def _unknown_label(folder: Path) -> None:
    path = folder / "ANT.labelme.json"
    document = json.loads(path.read_text())
    document["shapes"][0]["label"] = "lesion?"
    path.write_text(json.dumps(document))


def _scan_moved(folder: Path) -> None:
    report = _report(folder)
    report["input"]["source"] = str(folder / "gone.dcm")
    (folder / "report.json").write_text(json.dumps(report))


@pytest.mark.parametrize("spoil, extra, message", [
    (lambda folder: (folder / "report.json").unlink(), [], "no scintiseg report.json"),
    (_bad_size, [], "drawn on a 2048 x 512 image"),
    (_unknown_label, [], "ANT.labelme.json: shape 1 is labelled 'lesion?', neither a lesion"),
    (lambda folder: (folder / "POST.labelme.json").unlink(), [], "no LabelMe file for the predicted view POST"),
    (_scan_moved, [], "is not there (give it with --scan)"),
    (lambda folder: None, ["--model", "none-such.pt"], "none-such.pt"),
])
def test_bad_input_is_one_line_and_writes_nothing(predicted, tmp_path, capsys, spoil, extra, message):
    folder = _copy(predicted, tmp_path)
    spoil(folder)
    out = tmp_path / "reviewed"
    capsys.readouterr()
    assert main(["review", str(folder), "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".reviewed")]


def _set_setting(folder: Path, key: str, value) -> None:
    report = _report(folder)
    if key == "settings":
        report["settings"] = value
    else:
        report["settings"][key] = value
    (folder / "report.json").write_text(json.dumps(report))


#: A report.json's recorded setting spoilt -> what the one line says after the report's path (the post-processing
#: raised TypeError or ValueError on most, a traceback; min_area_px -1 or 2.5 and a list were taken silently).
BAD_SETTINGS = [
    ("threshold", None, "settings.threshold must be a number in (0, 1], got null"),
    ("threshold", -3, "settings.threshold must lie in (0, 1], got -3"),
    ("threshold", "abc", 'settings.threshold must be a number in (0, 1], got "abc"'),
    ("min_area_px", "x", 'settings.min_area_px must be a whole number of pixels, at least 1, got "x"'),
    ("min_area_px", None, "settings.min_area_px must be a whole number of pixels, at least 1, got null"),
    ("min_area_px", -1, "settings.min_area_px must be at least 1, got -1"),
    ("min_area_px", 2.5, "settings.min_area_px must be a whole number of pixels, at least 1, got 2.5"),
    ("settings", [0.5, 4], "settings must be an object of predict's settings, got a list"),
    ("regions", "x", "settings.regions: unknown region method 'x'"),
    ("tiling", "x", "settings.tiling: unknown tiling 'x'"),
    ("window", "x", "settings.window: unknown window mode 'x'"),
    ("spine_pattern_ratio", float("nan"), "settings.spine_pattern_ratio: spine-pattern ratio nan is not a positive"),
]


@pytest.mark.parametrize("key, value, message", BAD_SETTINGS)
def test_a_bad_recorded_setting_is_one_line_naming_the_report(predicted, tmp_path, capsys, key, value, message):
    folder = _copy(predicted, tmp_path)
    _set_setting(folder, key, value)
    out = tmp_path / "reviewed"
    capsys.readouterr()
    assert main(["review", str(folder), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'report.json'}: {message}" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".reviewed")]


@pytest.mark.parametrize("summary", [
    {"bsi_percent": "x"}, {"bsi_percent": 10**400}, {"bsi_percent": [1]}, {"bsi_percent": float("nan")}, [1, 2], "x",
])
def test_a_recorded_bsi_of_another_type_is_left_out_of_the_line(predicted, tmp_path, capsys, summary):
    """Session 66 (bench_fuzz.py --kinds review): a report.json whose summary, or its BSI, a hand or a tool changed to
    another JSON type or a number beyond a float was a traceback (ValueError, OverflowError, TypeError,
    AttributeError) formatting the review's line, after the review had been written."""
    folder = _copy(predicted, tmp_path)
    report = _report(folder)
    report["summary"] = {**report["summary"], **summary} if isinstance(summary, dict) else summary
    (folder / "report.json").write_text(json.dumps(report))
    out = tmp_path / "reviewed"
    capsys.readouterr()
    assert main(["review", str(folder), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "reviewed: ANT" in err and "(network: " not in err and "Traceback" not in err
    assert (out / "report.json").is_file()


@pytest.mark.parametrize("content, message", [
    ("", "is empty, not a scintiseg report"),
    ('{"format": "scintiseg-report", "settings": {', "is malformed JSON (Expecting property name"),
    ("[]", "holds a list, not a scintiseg report's JSON object"),
])
def test_a_damaged_report_says_so_not_that_there_is_none(predicted, tmp_path, capsys, content, message):
    folder = _copy(predicted, tmp_path)
    (folder / "report.json").write_text(content)
    out = tmp_path / "reviewed"
    capsys.readouterr()
    assert main(["review", str(folder), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'report.json'}: {message}" in err and "no scintiseg report.json here" not in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and not out.exists()


def test_out_must_be_another_folder_and_not_someone_elses(predicted, tmp_path, capsys):
    assert main(["review", str(predicted), "--out", str(predicted)]) == 2
    assert "another folder than PRED_DIR" in capsys.readouterr().err
    taken = tmp_path / "notes"
    taken.mkdir()
    (taken / "mine.txt").write_text("keep")
    assert main(["review", str(predicted), "--out", str(taken)]) == 2
    assert "not a scintiseg report folder" in capsys.readouterr().err and (taken / "mine.txt").read_text() == "keep"
    # another study's prediction folder (its reader's edits with it) was replaced before session 61
    someone = _copy(predicted, tmp_path / "other")
    report = _report(someone)
    report["study_uid"] = "1.2.826.0.1.3680043.2.1125.999"
    (someone / "report.json").write_text(json.dumps(report))
    before = {p.name: p.read_bytes() for p in someone.iterdir()}
    assert main(["review", str(predicted), "--out", str(someone)]) == 2
    assert "holds the report of another scan" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in someone.iterdir()} == before


def test_a_moved_scan_is_found_with_scan(predicted, tmp_path):
    folder = _copy(predicted, tmp_path)
    _scan_moved(folder)
    out = tmp_path / "reviewed"
    scan = predicted.parent.parent / "scans" / "P7.dcm"
    assert main(["review", str(folder), "--out", str(out), "--scan", str(scan)]) == 0
    assert _report(out)["summary"]["bsi_percent"] == _report(predicted)["summary"]["bsi_percent"]
    assert ({view: facts["bsi"] for view, facts in _report(out)["views"].items()}
            == {view: facts["bsi"] for view, facts in _report(predicted)["views"].items()})


@pytest.mark.parametrize("same_uid", [False, True])
def test_another_studys_scan_of_the_same_matrix_is_refused(predicted, tmp_path, capsys, same_uid):
    """Another patient's scan with the same views and matrix was accepted, its report carrying this study's UID
    (session 61): refused by its study UID, and where the UIDs agree (a re-export) by its counts."""
    folder = _copy(predicted, tmp_path)
    other = generate_patient(8, profile("default"), patient_id="PID-8").scan
    if same_uid:
        other = dataclasses.replace(other, study_uid=_report(predicted)["study_uid"])
    write_dicom(other, tmp_path / "P8.dcm")
    out = tmp_path / "reviewed"
    capsys.readouterr()
    assert main(["review", str(folder), "--out", str(out), "--scan", str(tmp_path / "P8.dcm")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "P8.dcm: is not the scan of" in err[0] and not out.exists()
    assert ("counts, where the report's had" if same_uid else "where the report's is") in err[0]


@pytest.mark.skipif(not REAL_SCAN.is_file(), reason=NO_REAL_NM1)
def test_the_real_scan_reviewed_with_every_call_deleted(tmp_path, capsys):
    """NM1 (one GE anterior view): the reader deletes what the network called (its lumbar focus, docs/robustness.md);
    the reviewed report has no lesion, a BSI of 0 and a grade of 0, and still its SR."""
    predictions = tmp_path / "predictions"
    assert main(["predict", str(REAL_SCAN), "--out", str(predictions), "--quiet"]) == 0
    folder = next(p for p in predictions.iterdir() if p.is_dir())
    called = _report(folder)["summary"]["lesion_count"]
    labelme = folder / "ANT.labelme.json"
    document = json.loads(labelme.read_text())
    labelme.write_text(json.dumps({**document, "shapes": [s for s in document["shapes"] if s["label"] != "lesion"]}))
    out = tmp_path / "reviewed"
    capsys.readouterr()
    assert main(["review", str(folder), "--out", str(out)]) == 0
    after = _report(out)
    assert after["review"]["views"] == {"ANT": {"network_lesions": called, "kept": 0, "restored": 0, "edited": 0,
                                                "drawn": 0, "deleted": called}}
    assert after["lesions"] == [] and after["summary"]["bsi_percent"] == 0.0 and after["summary"]["soloway_grade"] == 0
    assert called >= 1 and (out / "sr.dcm").is_file()
    line = f"ANT 0 lesions (0 kept, 0 edited, 0 drawn; {called} of the network's {called} deleted)"
    assert line in capsys.readouterr().err


def test_a_batch_folder_reviews_the_edited_scans_and_lists_the_others(predicted, tmp_path, capsys):
    batch = tmp_path / "predictions"
    for name in ("A", "B", "C"):
        shutil.copytree(predicted, batch / name)
    for name in ("A", "C"):  # edited: the ANT outlines replaced by one drawn polygon
        labelme = batch / name / "ANT.labelme.json"
        document = json.loads(labelme.read_text())
        labelme.write_text(json.dumps({**document, "shapes": [{"label": "lesion", "points": DRAWN, "group_id": None,
                                                               "description": "", "shape_type": "polygon",
                                                               "flags": {}}]}))
    _scan_moved(batch / "C")  # C cannot be reviewed: its scan is gone
    out = tmp_path / "reviewed"
    capsys.readouterr()
    assert main(["review", str(batch), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "1 scan(s) reviewed, 1 not edited (left out), 1 failed" in err and "gone.dcm" in err
    # --scan is refused for a batch: the line says how to give C its scan (session 62: "give it with --scan")
    assert (f"(give it with --scan in a review of this folder alone: scintiseg review {batch / 'C'} --out "
            f"{out / 'C'} --scan FILE)") in err
    lines = (out / "summary.csv").read_text().splitlines()[1:]
    rows = {Path(line.split(",")[0]).name: line.split(",")[1] for line in lines}
    assert rows == {"A": "reviewed", "B": "not edited", "C": "failed"}
    assert _report(out / "A")["review"]["views"]["ANT"]["drawn"] == 1
    assert not (out / "B").exists() and not (out / "C").exists()
    # the reviewed batch's list (audit 74, finding 14: none): C first (not reviewed), A reviewed, B left out last,
    # linked in the prediction's folder
    assert f"list: {out}/worklist.html" in err
    page = (out / "worklist.html").read_text()
    assert re.findall(r'href="([^"]+)"', page) == ["A/report.html", "../predictions/B/report.html"]
    assert page.index("Not reviewed:") < page.index("A/report.html") and "gone.dcm" in page
    assert (out / "../predictions/B/report.html").is_file()
    capsys.readouterr()
    (tmp_path / "nothing").mkdir()
    assert main(["review", str(tmp_path / "nothing"), "--out", str(out)]) == 2  # no prediction folder there
    assert "no scintiseg report.json here nor in its folders" in capsys.readouterr().err


def test_a_batch_lists_the_folders_with_a_bad_report_and_reviews_the_rest(predicted, tmp_path, capsys):
    """A folder whose recorded threshold is null and one whose report.json is empty: each listed failed with its
    one line, the edited good one reviewed, the summary written (the first stopped the batch with a traceback)."""
    batch = tmp_path / "predictions"
    for name in ("A", "B", "C"):
        shutil.copytree(predicted, batch / name)
        labelme = batch / name / "ANT.labelme.json"
        document = json.loads(labelme.read_text())
        labelme.write_text(json.dumps({**document, "shapes": document["shapes"][1:]}))  # edited: a call deleted
    _set_setting(batch / "B", "threshold", None)
    (batch / "C" / "report.json").write_text("")
    out = tmp_path / "reviewed"
    capsys.readouterr()
    assert main(["review", str(batch), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "1 scan(s) reviewed, 0 not edited (left out), 2 failed" in err
    assert f"{batch / 'B' / 'report.json'}: settings.threshold must be a number in (0, 1], got null" in err
    assert f"{batch / 'C' / 'report.json'}: is empty, not a scintiseg report" in err
    lines = (out / "summary.csv").read_text().splitlines()[1:]
    rows = {Path(line.split(",")[0]).name: line.split(",")[1] for line in lines}
    assert rows == {"A": "reviewed", "B": "failed", "C": "failed"}
    assert (out / "A" / "report.json").is_file() and not (out / "B").exists() and not (out / "C").exists()
    capsys.readouterr()
    (batch / "A" / "report.json").write_text("{")  # a damaged report named alone: it says so
    assert main(["review", str(batch / "A"), "--out", str(tmp_path / "again")]) == 2
    assert "report.json: is malformed JSON" in capsys.readouterr().err


def test_a_left_out_call_deleted_or_relabelled_is_not_listed_again(predicted, tmp_path, capsys):
    """Session 65: the network run again finds every left-out call anew, so a reviewed report listed the calls a reader
    had deleted from the LabelMe file again (dashed, in its table, back in its LabelMe file) and a call relabelled
    ``degenerative`` twice (the reader's shape and a ``left_out`` one)."""
    before = _report(predicted)
    calls = [call for call in before["left_out_calls"] if call["view"] == "ANT"]
    assert calls, "the test needs a call a reading rule left out on ANT"
    folder = _copy(predicted, tmp_path)
    labelme = folder / "ANT.labelme.json"
    document = json.loads(labelme.read_text())
    shapes = [shape for shape in document["shapes"] if shape["label"] == "left_out"]
    assert len(shapes) == len(calls)
    document["shapes"].remove(shapes[0])  # the reader deletes the first call
    if len(shapes) > 1:
        shapes[1]["label"] = "degenerative"  # and relabels the second for what it is
    labelme.write_text(json.dumps(document))
    out = tmp_path / "reviewed"
    capsys.readouterr()
    assert main(["review", str(folder), "--out", str(out)]) == 0
    assert "1 left-out call deleted" in capsys.readouterr().err
    after = _report(out)
    relabelled = 1 if len(shapes) > 1 else 0
    listed = [call for call in after["left_out_calls"] if call["view"] == "ANT"]
    assert len(listed) == len(calls) - 1 - relabelled
    assert after["review"]["views"]["ANT"]["left_out_dismissed"] == 1
    assert after["review"]["views"]["ANT"].get("not_lesions", {}) == ({"degenerative": 1} if relabelled else {})
    kept = [call["contour"] for call in calls[1 + relabelled:]]
    assert [call["contour"] for call in listed] == kept  # the calls the reader left, as found
    assert [call["id"] for call in after["left_out_calls"]] == list(range(1, len(after["left_out_calls"]) + 1))
    written = [shape["label"] for shape in json.loads((out / "ANT.labelme.json").read_text())["shapes"]]
    assert written.count("left_out") == len(listed) and written.count("degenerative") == relabelled
    assert after["summary"]["triage_score"] == before["summary"]["triage_score"]  # the network's, as predicted
    assert "1 left-out call deleted" in (out / "report.html").read_text()
    # reviewed again as it stands, the deleted call stays gone, still counted against the network's own calls
    again = tmp_path / "again"
    assert main(["review", str(out), "--out", str(again)]) == 0
    assert [call["contour"] for call in _report(again)["left_out_calls"] if call["view"] == "ANT"] == kept
    assert _report(again)["review"]["views"]["ANT"]["left_out_dismissed"] == 1


def test_a_report_written_before_left_out_calls_were_kept_counts_none_deleted(predicted, tmp_path):
    """A report written before session 35 has no ``left_out_calls`` and its LabelMe files no ``left_out`` shape: the
    network run again finds its calls, none of which a reader can have deleted."""
    folder = _copy(predicted, tmp_path)
    report = _report(folder)
    assert [call for call in report.pop("left_out_calls") if call["view"] == "ANT"]
    (folder / "report.json").write_text(json.dumps(report))
    labelme = folder / "ANT.labelme.json"
    document = json.loads(labelme.read_text())
    document["shapes"] = [shape for shape in document["shapes"] if shape["label"] != "left_out"]
    labelme.write_text(json.dumps(document))
    out = tmp_path / "reviewed"
    assert main(["review", str(folder), "--out", str(out)]) == 0
    after = _report(out)
    assert "left_out_dismissed" not in after["review"]["views"]["ANT"]
    assert len(after["left_out_calls"]) == len(_report(predicted)["left_out_calls"])
