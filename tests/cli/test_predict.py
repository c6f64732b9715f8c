"""`scintiseg predict` from the command line: outputs, exit codes 0 / 1 / 2, and the
one-line refusals of an untrusted or newer model and of an output folder in use."""

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from scintiseg.cli import main


def test_predict_folder_writes_reports(run_dir, scans, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["predict", str(scans), "--out", str(out), "--model", str(run_dir), "--threshold", "0.99", "--quiet"])
    assert code == 0
    report = json.loads((out / "nm1" / "report.json").read_text())
    assert report["model"]["engine"] == "onnx" and report["model"]["input_mode"] == "ant"
    assert report["summary"]["soloway_grade"] in (0, 1, 2, 3)
    assert (out / "summary.csv").read_text().count("\n") == 2
    assert "1 scan(s) predicted, 0 failed" in capsys.readouterr().err


def test_a_doubtful_pixel_size_is_said_on_the_console_naming_the_view(scans, tmp_path, capsys):
    """Two views side by side in one DICOM frame named ANT (1.16 m wide at its pixel size): one warning line naming
    the flag and the view, as for views named the other way round (session 62: the report alone said nothing)."""
    from scintiseg.io import read_scan
    from scintiseg.io.dicom import write_dicom
    from scintiseg.scan import Scan

    nm1 = read_scan(scans / "nm1.dcm")
    ant = np.asarray(nm1.view("ANT"), dtype=np.uint16)
    page = tmp_path / "page.dcm"
    write_dicom(Scan({"ANT": np.hstack([ant, ant[:, ::-1]])}, nm1.pixel_spacing, patient_id="PAGE"), page)
    assert main(["predict", str(page), "--out", str(tmp_path / "out"), "--quiet"]) == 0  # the shipped, whole-body model
    err = capsys.readouterr().err
    assert "the ANT view is wider than a camera's field or its body taller than a patient" in err
    assert "(pixel_spacing_doubtful_ANT)" in err


def test_a_stale_header_pixel_size_is_replaced_when_asked_and_review_reads_the_scan_the_same_way(scans, tmp_path, capsys):
    """NM1 halved to 512 x 128 whose header kept 2.26 mm reads as a 1.16 m partial body (no BSI); with
    --pixel-spacing 4.52 --pixel-spacing-over-header the whole body is read, the report keeps the file's own, the page
    says both, and the review's reading of the scan gives the same pixel size."""
    from scintiseg.io import read_scan
    from scintiseg.io.dicom import write_dicom
    from scintiseg.predict.review import scan_as_predicted
    from scintiseg.scan import Scan

    ant = np.asarray(read_scan(scans / "nm1.dcm").view("ANT"), dtype=np.int64)
    halved = ant.reshape(512, 2, 128, 2).sum(axis=(1, 3)).astype(np.uint16)
    stale = tmp_path / "stale.dcm"
    write_dicom(Scan({"ANT": halved}, (2.26, 2.26), patient_id="STALE"), stale)
    assert main(["predict", str(stale), "--out", str(tmp_path / "kept"), "--quiet", "--pixel-spacing", "4.52"]) == 0
    kept = json.loads((tmp_path / "kept" / "stale" / "report.json").read_text())
    assert kept["summary"]["bsi_percent"] is None and kept["input"]["pixel_spacing_mm"] == [2.26, 2.26]
    capsys.readouterr()
    assert main(["predict", str(stale), "--out", str(tmp_path / "over"), "--quiet", "--pixel-spacing", "4.52",
                 "--pixel-spacing-over-header"]) == 0
    assert "given over the file's own 2.26 x 2.26 mm" in capsys.readouterr().err
    over = json.loads((tmp_path / "over" / "stale" / "report.json").read_text())
    assert over["input"]["pixel_spacing_mm"] == [4.52, 4.52] and over["input"]["pixel_spacing_over_header"] == [2.26, 2.26]
    assert over["summary"]["bsi_percent"] is not None  # a whole body now: its bones named, a BSI
    assert "4.52 x 4.52 mm given over the file's own 2.26 x 2.26 mm" in (tmp_path / "over" / "stale" / "report.html").read_text()
    assert scan_as_predicted(over, tmp_path / "over" / "stale").pixel_spacing == (4.52, 4.52)
    assert main(["predict", str(stale), "--out", str(tmp_path / "x"), "--pixel-spacing-over-header"]) == 2
    assert "--pixel-spacing-over-header needs --pixel-spacing" in capsys.readouterr().err


def test_a_model_given_twice_is_their_mean_and_models_read_otherwise_are_refused(run_dir, scans, tmp_path, capsys):
    out = tmp_path / "mean"
    assert main(["predict", str(scans / "nm1.dcm"), "--out", str(out), "--model", str(run_dir), "--model", str(run_dir),
                 "--quiet"]) == 0
    model = json.loads((out / "nm1" / "report.json").read_text())["model"]
    assert model["name"] == "mean of dpunet + dpunet" and len(model["members"]) == 2 and model["engine"] == "onnx"
    capsys.readouterr()
    # the tiny run reads scans with percentile normalisation, the shipped model with robust: refused before any scan
    refused = tmp_path / "refused"
    assert main(["predict", str(scans / "nm1.dcm"), "--out", str(refused), "--model", str(run_dir), "--model", "shipped",
                 "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot average it with" in err[0] and "normalisation" in err[0]
    assert not refused.exists()


def test_corrupt_input_gives_exit_1(run_dir, scans, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    out = tmp_path / "out"
    assert main(["predict", str(scans / "nm1.dcm"), str(broken), "--out", str(out), "--model", str(run_dir), "--quiet"]) == 1
    assert (out / "nm1" / "report.html").is_file()


def test_a_failed_input_whose_folder_holds_an_earlier_report_says_so(run_dir, scans, tmp_path, capsys):
    """The earlier report is kept (a reader may have edited it), and the line and the summary say it is not this
    run's (nothing did before session 61: a complete-looking report beside a failed row)."""
    scan = tmp_path / "in" / "nm1.dcm"
    scan.parent.mkdir()
    shutil.copy(scans / "nm1.dcm", scan)
    out = tmp_path / "out"
    assert main(["predict", str(scan), "--out", str(out), "--model", str(run_dir), "--quiet"]) == 0
    scan.write_bytes(scan.read_bytes()[:5000])  # the file damaged since
    capsys.readouterr()
    assert main(["predict", str(scan), "--out", str(out), "--model", str(run_dir), "--quiet"]) == 1
    said = f"({out / 'nm1'} holds an earlier run's report, not this run's)"
    assert said in capsys.readouterr().err and said in (out / "summary.csv").read_text()
    assert (out / "nm1" / "report.json").is_file()


def test_a_rerun_keeps_a_folder_a_reader_corrected_and_exits_0_unless_another_input_failed(run_dir, scans, tmp_path,
                                                                                               capsys):
    """Audit 74 (finding 2): re-running predict into the same --out counted a scan whose folder a reader corrected as
    failed (exit 1, status failed). It is kept: exit 0, its own count in the line; a broken input beside it still 1."""
    out = tmp_path / "out"
    args = ["predict", str(scans / "nm1.dcm"), "--out", str(out), "--model", str(run_dir), "--quiet"]
    assert main(args) == 0
    labelme = out / "nm1" / "ANT.labelme.json"
    document = json.loads(labelme.read_text())
    drawn = {"label": "lesion", "points": [[120.0, 600.0], [136.0, 598.0], [140.0, 614.0]], "group_id": None,
             "description": "", "shape_type": "polygon", "flags": {}}
    labelme.write_text(json.dumps(document | {"shapes": document["shapes"] + [drawn]}))
    capsys.readouterr()
    assert main(args) == 0
    assert "0 scan(s) predicted, 1 kept as a reader corrected them (not predicted again), 0 failed" in capsys.readouterr().err
    assert [row["status"] for row in csv.DictReader(open(out / "summary.csv"))] == ["kept"]
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    assert main([*args[:2], str(broken), *args[2:]]) == 1


@pytest.mark.parametrize(
    "extra",
    [["--threshold", "1.5"], ["--model", "/nonexistent/model.pt"], ["--min-area", "0"],
     ["--shape", "0x0"], ["--dtype", "uint12"]],  # raw inputs' flags: checked once, even with no raw input
)
def test_bad_arguments_give_exit_2(run_dir, scans, tmp_path, extra, capsys):
    args = ["predict", str(scans), "--out", str(tmp_path / "o"), "--model", str(run_dir), *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("scintiseg predict: error:") and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_a_region_model_given_names_the_bones_whatever_regions_says(run_dir, scans, tmp_path, capsys):
    """``--region-model`` sets ``regions`` to ``learned``: a missing one stops the command before any scan, even
    with ``--regions atlas`` (which would not load a region network)."""
    missing = tmp_path / "no_regions.pt"
    args = ["predict", str(scans), "--out", str(tmp_path / "o"), "--model", str(run_dir), "--quiet"]
    assert main([*args, "--regions", "atlas", "--region-model", str(missing)]) == 2
    assert capsys.readouterr().err.strip() == f"scintiseg predict: error: {missing}: no region network here"
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("extra, said", [
    (["--threshold", "1.5"], "--threshold must lie in (0, 1], got 1.5"),
    (["--threshold", "nan"], "--threshold must lie in (0, 1], got nan"),
    (["--min-area", "0"], "--min-area must be at least 1, got 0"),
])
def test_a_setting_out_of_range_is_one_line_naming_the_flag(tmp_path, extra, said, capsys):
    assert main(["predict", str(tmp_path), "--out", str(tmp_path / "o"), *extra]) == 2
    assert capsys.readouterr().err == f"scintiseg predict: error: {said}\n"  # before the model or any scan is read


def test_an_output_folder_that_cannot_be_made_is_one_line_naming_it(run_dir, scans, tmp_path, capsys):
    (tmp_path / "a_file").write_text("")
    out = tmp_path / "a_file" / "o"
    assert main(["predict", str(scans), "--out", str(out), "--model", str(run_dir), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"scintiseg predict: error: {out}: Not a directory"]


def test_an_output_folder_that_is_a_file_is_one_line_and_left_alone(run_dir, scans, tmp_path, capsys):
    out = tmp_path / "out.txt"
    out.write_text("mine")
    assert main(["predict", str(scans), "--out", str(out), "--model", str(run_dir), "--quiet"]) == 2
    assert capsys.readouterr().err == f"scintiseg predict: error: {out}: is a file, not a folder: give --out a folder\n"
    assert out.read_text() == "mine"


def test_missing_input_gives_exit_2(run_dir, tmp_path):
    assert main(["predict", str(tmp_path / "nope.dcm"), "--out", str(tmp_path / "o"), "--model", str(run_dir)]) == 2


class _OpensMarker:
    """Unpickles as ``open(marker, "w")``: code run by ``torch.load`` unless ``weights_only=True``."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("kind", ["runs code", "newer format"])
def test_an_untrusted_or_newer_model_is_one_line_and_exit_2(run_dir, scans, tmp_path, capsys, kind):
    import torch

    from scintiseg.models.checkpoint import FORMAT, checkpoint_path

    state = torch.load(checkpoint_path(run_dir, "best"), weights_only=True)
    marker = tmp_path / "marker"
    if kind == "runs code":
        state["model_config"] = _OpensMarker(marker)
    else:
        state.update(version=3, scintiseg_version="0.4.0")
    model = tmp_path / "model.pt"
    torch.save(state | {"format": FORMAT}, model)
    out = tmp_path / "o"
    assert main(["predict", str(scans), "--out", str(out), "--model", str(model), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"scintiseg predict: error: {model}: ")
    expected = "refused" if kind == "runs code" else "checkpoint format 3 is newer than this scintiseg"
    assert expected in err and not marker.exists() and not out.exists()


def test_an_output_folder_in_use_is_one_line_and_exit_2(run_dir, scans, tmp_path, capsys):
    import os

    from scintiseg.report.batch import OutputLock

    out = tmp_path / "out"
    out.mkdir()
    with OutputLock(out):  # stands for another `scintiseg predict` writing there
        assert main(["predict", str(scans), "--out", str(out), "--model", str(run_dir), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == (f"scintiseg predict: error: {out}: in use by another scintiseg predict (pid {os.getpid()}); "
                   "wait or choose another --out\n")
    assert list(out.iterdir()) == []


@pytest.fixture(scope="module")
def npy_scan(tmp_path_factory, real_nm1) -> Path:
    """NM1's counts as a ``.npy`` file: a scan with no pixel spacing of its own."""
    import numpy as np

    from scintiseg.io import read_scan

    path = tmp_path_factory.mktemp("npy") / "nm1.npy"
    np.save(path, read_scan(real_nm1).view("ANT"))
    return path


def test_a_file_without_spacing_is_predicted_at_the_assumed_one_with_one_warning(run_dir, npy_scan, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["predict", str(npy_scan), "--out", str(out), "--model", str(run_dir), "--quiet", "--no-dicom"]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warned == [f"warning: {npy_scan}: the file has no measured pixel spacing; assuming 2.26 x 2.26 mm, a whole-body "
                      "view's 2.3 m over its 1024 rows (give the right one with --pixel-spacing)"]
    assert json.loads((out / "nm1" / "report.json").read_text())["input"]["pixel_spacing_mm"] == [2.26, 2.26]


def test_pixel_spacing_and_window_flags_reach_the_report(run_dir, npy_scan, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["predict", str(npy_scan), "--out", str(out), "--model", str(run_dir), "--quiet", "--no-dicom"]
    assert main([*args, "--pixel-spacing", "2.4x2.3", "--window", "whole"]) == 0
    assert "warning:" not in capsys.readouterr().err
    report = json.loads((out / "nm1" / "report.json").read_text())
    assert report["input"]["pixel_spacing_mm"] == [2.4, 2.3]
    assert report["settings"]["window"] == "whole" and report["model"]["window"] == "whole"
    assert report["summary"]["bsi_covered_mass_percent"] > 95  # the whole view was seen, not the thorax


@pytest.mark.parametrize("extra, problem", [(["--pixel-spacing", "0"], "pixel spacing '0' is not MM or ROWxCOL"),
                                            (["--pixel-spacing", "2x2x2"], "pixel spacing '2x2x2' is not MM or ROWxCOL")])
def test_a_bad_pixel_spacing_is_one_line_and_exit_2(run_dir, npy_scan, tmp_path, capsys, extra, problem):
    assert main(["predict", str(npy_scan), "--out", str(tmp_path / "o"), "--model", str(run_dir), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"scintiseg predict: error: {problem}") and err.count("\n") == 1


def test_a_whole_body_page_is_predicted_as_ant_and_post_unless_told_not_to(run_dir, npy_scan, tmp_path):
    nm1 = np.load(npy_scan)
    page = tmp_path / "page.npy"
    np.save(page, np.concatenate([nm1, nm1[:, ::-1]], axis=1))  # ANT and POST side by side, as a workstation shows them
    base = ["predict", str(page), "--model", str(run_dir), "--quiet", "--no-dicom", "--pixel-spacing", "2.26"]
    assert main([*base, "--out", str(tmp_path / "split")]) == 0
    report = json.loads((tmp_path / "split" / "page" / "report.json").read_text())
    assert sorted(report["views"]) == ["ANT", "POST"] and "views_split" in report["summary"]["qc_flags"]
    # Read as one view, the page's two bodies defeat this (thoracic-window) model's body outline: one line, skipped.
    main([*base, "--out", str(tmp_path / "whole"), "--no-split-views"])
    row = (tmp_path / "whole" / "summary.csv").read_text().splitlines()[1]
    assert ",failed," in row and "no body outline" in row or ",ok,page,VIEW," in row


def test_labels_are_checked_first_and_measured_after_the_batch(run_dir, npy_scan, tmp_path, capsys):
    scans = tmp_path / "scans"
    scans.mkdir()
    nm1 = np.load(npy_scan)
    np.save(scans / "hot.npy", nm1)
    np.save(scans / "calm.npy", (nm1 // 4).astype(nm1.dtype))  # fewer counts: another scan
    bad = tmp_path / "bad.csv"
    bad.write_text("file,label\nhot.npy,maybe\n")
    base = ["predict", str(scans), "--model", str(run_dir), "--quiet", "--no-dicom", "--pixel-spacing", "2.26"]
    assert main([*base, "--out", str(tmp_path / "never"), "--labels", str(bad)]) == 2
    assert "line 2: label 'maybe'" in capsys.readouterr().err and not (tmp_path / "never").exists()  # nothing predicted
    labels = tmp_path / "labels.csv"
    labels.write_text("file,label\nhot,abnormal\ncalm.npy,normal\n")
    assert main([*base, "--out", str(tmp_path / "out"), "--labels", str(labels)]) == 0
    result = json.loads((tmp_path / "out" / "triage.json").read_text())
    assert (result["scans"], result["abnormal"], result["normal"]) == (2, 1, 1)
    assert result["triage_auc"] in (0.0, 0.5, 1.0) and result["brightest_pixel_auc"] == 1.0  # 4x the counts
    assert "triage against the labels (2 scans, 1 abnormal)" in capsys.readouterr().err


def test_a_bs80k_layout_is_read_as_it_comes(run_dir, npy_scan, tmp_path, capsys):
    """wholeBodyANT/ and wholeBodyPOST/ with same-named images and their own label lists (no header): each file named
    by its folder, a study's two files one scan, the two lists scoring each file by its own view."""
    root = tmp_path / "bs80k"
    nm1 = np.load(npy_scan)
    from scintiseg.io.voc import VocBox, write_voc

    for folder, text in (("wholeBodyANT", "0001.npy 1\n"), ("wholeBodyPOST", "0001.npy 0\n")):
        (root / folder / folder[9:].lower()).mkdir(parents=True)
        (root / folder / f"{folder}.txt").write_text(text)
        np.save(root / folder / "0001.npy", nm1 if folder.endswith("ANT") else nm1[:, ::-1] // 4)
        boxes = [VocBox("Abnormal" if folder.endswith("ANT") else "Normal", (600, 640), (100, 140))]
        write_voc(root / folder / folder[9:].lower() / "0001.xml", "0001.npy", nm1.shape, boxes)  # ant/0001.xml
    argv = ["predict", str(root), "--model", str(run_dir), "--quiet", "--no-dicom", "--pixel-spacing", "2.26",
            "--out", str(tmp_path / "out"), "--labels", str(root / "wholeBodyANT" / "wholeBodyANT.txt"),
            "--labels", str(root / "wholeBodyPOST" / "wholeBodyPOST.txt"),
            "--boxes", str(root / "wholeBodyANT" / "ant"), "--boxes", str(root / "wholeBodyPOST" / "post")]
    assert main(argv) == 0
    scored = json.loads((tmp_path / "out" / "boxes.json").read_text())
    assert (scored["images"], scored["lesion_boxes"], scored["normal_boxes"], scored["annotations_without_scan"]) == (2, 1, 1, 0)
    assert {Path(i["input"]).parent.name: i["view"] for i in scored["per_image"]} == {"wholeBodyANT": "ANT", "wholeBodyPOST": "POST"}
    report = json.loads((tmp_path / "out" / "0001" / "report.json").read_text())
    assert report["input"]["views"] == ["ANT", "POST"] and "wholeBodyPOST" in report["input"]["view_sources"]["POST"]
    result = json.loads((tmp_path / "out" / "triage.json").read_text())
    assert (result["scans"], result["abnormal"], result["labels_without_scan"]) == (2, 1, 0)
    assert result["brightest_pixel_auc"] == 1.0  # the ANT file's own counts, 4x the POST file's
    assert "2 files predicted as 1 scan(s)" in capsys.readouterr().err


def test_boxes_are_checked_first_read_beside_the_scans_and_measured_after_the_batch(run_dir, npy_scan, tmp_path, capsys):
    from scintiseg.io.voc import VocBox, write_voc

    scans = tmp_path / "scans"
    scans.mkdir()
    nm1 = np.load(npy_scan)
    np.save(scans / "hot.npy", nm1)
    np.save(scans / "calm.npy", (nm1 // 4).astype(nm1.dtype))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "hot.xml").write_text("<annotation><object><name>Abnormal</name></object></annotation>")
    base = ["predict", str(scans), "--model", str(run_dir), "--quiet", "--no-dicom", "--pixel-spacing", "2.26"]
    assert main([*base, "--out", str(tmp_path / "never"), "--boxes", str(tmp_path / "bad")]) == 2
    assert "hot.xml: object 1 (Abnormal) has no bndbox" in capsys.readouterr().err and not (tmp_path / "never").exists()
    rows, cols = nm1.shape  # the boxes lie beside the scans, as a VOC export keeps them: read as boxes, not as scans
    write_voc(scans / "hot.xml", "hot.npy", (rows, cols), [VocBox("Abnormal", (0, rows - 1), (0, cols - 1))])
    write_voc(scans / "calm.xml", "calm.npy", (rows, cols), [VocBox("Normal", (0, 9), (0, 9))])
    assert main([*base, "--out", str(tmp_path / "out"), "--boxes", str(scans)]) == 0
    summary = (tmp_path / "out" / "summary.csv").read_text()
    assert "hot.xml" not in summary and summary.count(",ok,") == 2
    result = json.loads((tmp_path / "out" / "boxes.json").read_text())
    hot = next(image for image in result["per_image"] if image["input"].endswith("hot.npy"))
    assert (result["images"], result["lesion_boxes"], result["normal_boxes"]) == (2, 1, 1)
    assert result["lesion_boxes_found"] == int(hot["calls"] > 0)  # the box is the whole view: any outline finds it
    assert result["triage"]["abnormal"] == 1 and "boxes (2 images): lesion boxes found" in capsys.readouterr().err


def test_a_one_view_file_is_named_by_its_file_name_or_by_view(tmp_path):
    """A phantom patient's POST saved alone as a PNG: named POST by its file name (or --view), it is predicted as the
    two-view file's POST, sides and all; read as the unnamed VIEW (anterior) its sides were the other ones."""
    from scintiseg.io.dicom import write_dicom
    from scintiseg.io.images import write_png16
    from scintiseg.phantom.config import profile
    from scintiseg.phantom.patient import generate_patient

    patient = generate_patient(910003, profile("default"))
    scans = tmp_path / "scans"
    scans.mkdir()
    write_dicom(patient.scan, scans / "both.dcm")
    write_png16(patient.scan.view("POST"), scans / "wb_posterior.png")
    write_png16(patient.scan.view("POST"), scans / "unnamed.png")
    assert main(["predict", str(scans), "--out", str(tmp_path / "out"), "--quiet", "--no-dicom"]) == 0

    def lesions(name):
        report = json.loads((tmp_path / "out" / name / "report.json").read_text())
        return [(l["view"], l["region"], l["laterality"], round(l["centroid_row"]), round(l["centroid_col"]))
                for l in report["lesions"] if l["view"] in ("POST", "VIEW")]

    both = lesions("both")
    assert both and lesions("wb_posterior") == both
    assert {l[2] for l in both} >= {"left", "right"} and lesions("unnamed") != both  # sides: the view matters
    assert main(["predict", str(scans / "unnamed.png"), "--view", "POST", "--out", str(tmp_path / "told"),
                 "--quiet", "--no-dicom"]) == 0
    told = json.loads((tmp_path / "told" / "unnamed" / "report.json").read_text())
    assert [(l["view"], l["laterality"]) for l in told["lesions"]] == [(v, side) for v, _, side, _, _ in both]


@pytest.mark.parametrize("ant_turns, post_stored, said, flag", [
    (0, lambda v: np.rot90(v, 1), "the two files hold the body differently", "turned_upright"),
    (0, lambda v: np.rot90(v, -1), "the two files hold the body differently", "turned_upright"),
    (0, lambda v: v[::-1], "POST shows no upright head where the other view does", "head_down"),
    (1, lambda v: np.rot90(v, -1), "POST shows no upright head where the other view does", "turned_upright"),
], ids=["post-lying", "post-lying-other-way", "post-head-down", "both-lying-post-other-way"])
def test_a_studys_files_stored_otherwise_are_predicted_apart_each_read_as_it_stands(tmp_path, capsys, ant_turns,
                                                                                     post_stored, said, flag):
    """A study's POST file stored otherwise than its ANT file (lying beside standing, either way; head-down; both lying
    but turned opposite ways). Joined, the scan recorded one way of holding the body for both views and the head
    checks judged both views together, so POST was read wrong: lying the other way, a "humerus_right" lesion its
    standing file does not have; head-down, its spinal and pelvic lesions named scapula, sternum and ribs. Predicted
    apart with one line saying why, POST's lesions are those of its upright file predicted alone (on the rows as
    stored for a head-down file, whose outputs stay on the file)."""
    from scintiseg.io.images import write_png16
    from scintiseg.phantom.config import profile
    from scintiseg.phantom.patient import generate_patient

    patient = generate_patient(910008, profile("default"))
    scans, upright = tmp_path / "scans", tmp_path / "upright"
    scans.mkdir()
    upright.mkdir()
    write_png16(np.rot90(patient.scan.view("ANT"), ant_turns), scans / "0123_ANT.png")
    write_png16(post_stored(patient.scan.view("POST")), scans / "0123_POST.png")
    write_png16(patient.scan.view("POST"), upright / "0123_POST.png")
    spacing = "x".join(f"{v:g}" for v in patient.scan.pixel_spacing)
    for folder, out in ((scans, "out"), (upright, "alone")):
        assert main(["predict", str(folder), "--out", str(tmp_path / out), "--quiet", "--no-dicom",
                     "--pixel-spacing", spacing]) == 0
    assert f"predicted as separate scans: {said}" in capsys.readouterr().err
    last_row = patient.scan.shape[0] - 1

    def lesions(out):
        report = json.loads((tmp_path / out / "0123_POST" / "report.json").read_text())
        flip = "head_down" in report["summary"]["qc_flags"]
        return report["summary"]["qc_flags"], sorted(
            (l["region"], l["laterality"], round(last_row - l["centroid_row"] if flip else l["centroid_row"], 3),
             round(l["centroid_col"], 3)) for l in report["lesions"])

    (flags, found), (_, alone) = lesions("out"), lesions("alone")
    assert flag in flags and alone and found == alone
    ant = json.loads((tmp_path / "out" / "0123_ANT" / "report.json").read_text())
    assert ant["lesions"] and ant["input"]["read_apart"]["other_file"] == str(scans / "0123_POST.png")
    apart = json.loads((tmp_path / "out" / "0123_POST" / "report.json").read_text())["input"]["read_apart"]
    assert apart["other_file"] == str(scans / "0123_ANT.png") and apart["why"].startswith(said)
    assert "read apart from its study's other view" in (tmp_path / "out" / "0123_POST" / "report.html").read_text()
    assert "read_apart" not in json.loads((tmp_path / "alone" / "0123_POST" / "report.json").read_text())["input"]
    assert ant["patient"]["id"] == json.loads((tmp_path / "out" / "0123_POST" / "report.json").read_text())["patient"]["id"] == "0123"


@pytest.mark.parametrize("layout", ["0123_{view}.png", "wholeBody{view}/0123.png"])
def test_a_studys_ant_and_post_files_are_predicted_as_its_two_view_file(tmp_path, capsys, layout):
    """A phantom patient's ANT and POST saved as two PNGs (0123_ANT.png, 0123_POST.png) give one scan whose lesions,
    pairs and BSI are the two-view DICOM's; summary.csv keeps a row per file with its own view's triage score;
    --no-join-views predicts them alone (each view's BSI, no pairs)."""
    from scintiseg.io.dicom import write_dicom
    from scintiseg.io.images import write_png16
    from scintiseg.phantom.config import profile
    from scintiseg.phantom.patient import generate_patient

    patient = generate_patient(910008, profile("default"))  # lesions on both views, 5 pairs
    scans = tmp_path / "scans"
    scans.mkdir()
    write_dicom(patient.scan, scans / "both.dcm")
    for view in ("ANT", "POST"):
        (scans / layout.format(view=view)).parent.mkdir(exist_ok=True)
        write_png16(patient.scan.view(view), scans / layout.format(view=view))
    spacing = "x".join(f"{v:g}" for v in patient.scan.pixel_spacing)
    argv = ["predict", str(scans), "--out", str(tmp_path / "out"), "--quiet", "--no-dicom", "--pixel-spacing", spacing]
    assert main(argv) == 0
    assert "3 files predicted as 2 scan(s)" in capsys.readouterr().err

    def report(name):
        return json.loads((tmp_path / "out" / name / "report.json").read_text())

    def lesions(r):
        return [(l["view"], l["region"], l["laterality"], round(l["centroid_row"]), round(l["centroid_col"]), l["paired_with"])
                for l in r["lesions"]]

    both, joined = report("both"), report("0123")
    assert lesions(both) and lesions(joined) == lesions(both) and joined["summary"]["pair_count"] >= 1
    assert joined["summary"]["bsi_percent"] == both["summary"]["bsi_percent"]
    assert joined["input"]["view_sources"] == {v: str(scans / layout.format(view=v)) for v in ("ANT", "POST")}
    rows = {Path(r["input"]).relative_to(scans).as_posix(): r
            for r in csv.DictReader((tmp_path / "out" / "summary.csv").read_text().splitlines())}
    for view in ("ANT", "POST"):
        row = rows[layout.format(view=view)]
        assert (row["output"], row["views"]) == ("0123", view)
        assert float(row["triage_score"]) == joined["views"][view]["triage_score"]
        assert int(row["lesion_count"]) == joined["summary"]["lesion_count_by_view"][view]
        assert row["bsi_percent"] == str(both["summary"]["bsi_percent"])
    assert main(argv[:3] + [str(tmp_path / "alone")] + argv[4:] + ["--no-join-views"]) == 0
    outputs = {Path(r["input"]).relative_to(scans).as_posix(): r["output"]
               for r in csv.DictReader((tmp_path / "alone" / "summary.csv").read_text().splitlines())}
    alone = [json.loads((tmp_path / "alone" / outputs[layout.format(view=v)] / "report.json").read_text()) for v in ("ANT", "POST")]
    assert [a["input"]["views"] for a in alone] == [["ANT"], ["POST"]] and not any(a["summary"]["pair_count"] for a in alone)


def test_a_dicom_view_stored_mirrored_is_named_by_its_header_not_by_its_look(tmp_path, real_nm1):
    """NM1 exported mirrored left-right (session 27): without an orientation attribute its lesion is named on the
    other side (no image cue tells the sides); with Patient Orientation saying so, it is read mirrored back and
    predicted as NM1 stored upright: the same lesions, regions, sides and BSI, flagged, the record in report.json."""
    import pydicom

    ds = pydicom.dcmread(real_nm1)
    upright = ds.pixel_array
    ds.PixelData = np.ascontiguousarray(upright[:, ::-1]).tobytes()
    scans, out = tmp_path / "scans", tmp_path / "out"
    scans.mkdir()
    ds.save_as(scans / "unsaid.dcm")
    ds.PatientOrientation = ["R", "F"]
    ds.save_as(scans / "said.dcm")
    shutil.copy(real_nm1, scans / "upright.dcm")
    assert main(["predict", str(scans), "--out", str(out), "--quiet"]) == 0
    reports = {name: json.loads((out / name / "report.json").read_text()) for name in ("upright", "said", "unsaid")}

    def found(name):
        return [(lesion["region"], lesion["laterality"], lesion["centroid_row"], lesion["centroid_col"])
                for lesion in reports[name]["lesions"]]

    assert found("upright") and found("said") == found("upright")
    assert reports["said"]["summary"]["bsi_percent"] == reports["upright"]["summary"]["bsi_percent"]
    assert reports["said"]["input"]["mirrored"] == ["ANT"] and reports["said"]["input"]["patient_orientation"] == {"ANT": "L\\F"}
    assert "read_mirrored" in reports["said"]["summary"]["qc_flags"]
    assert "mirrored" not in reports["unsaid"]["input"] and "read_mirrored" not in reports["unsaid"]["summary"]["qc_flags"]
    # Read as stored, NM1's lumbar focus is never named on its own side (and the model, not exactly mirror-symmetric,
    # calls other spots as well): its call there, a small one at 1.18 times the vertebrae beside it, is left out by
    # the spine rule since session 33 (cut 1.2, 1.3 since session 39; 1.40 upright), and named on the other side when kept.
    assert ("lumbar_spine", "left") in [lesion[:2] for lesion in found("upright")]
    assert (("lumbar_spine", "right") in [lesion[:2] for lesion in found("unsaid")]
            or reports["unsaid"]["views"]["ANT"]["spine_pattern_calls"] >= 1)
    assert ("lumbar_spine", "left") not in [lesion[:2] for lesion in found("unsaid")]
    assert reports["said"]["dicom"].get("gsps") == "gsps.dcm"
    as_stored = tmp_path / "as_stored"  # --no-split-views reads every file as it is stored, mirrored ones too
    assert main(["predict", str(scans / "said.dcm"), "--out", str(as_stored), "--no-split-views", "--quiet"]) == 0
    read = json.loads((as_stored / "said" / "report.json").read_text())
    sides = [(lesion["region"], lesion["laterality"]) for lesion in read["lesions"]]
    assert "mirrored" not in read["input"] and ("lumbar_spine", "left") not in sides
    assert ("lumbar_spine", "right") in sides or read["views"]["ANT"]["spine_pattern_calls"] >= 1


@pytest.mark.parametrize("signum, code, said", [("SIGTERM", 143, "stopped (SIGTERM)"), ("SIGINT", 130, "interrupted")])
def test_a_run_stopped_keeps_the_scans_it_finished_and_nothing_half_written(run_dir, scans, tmp_path, capsys, monkeypatch,
                                                                             request, signum, code, said):
    """SIGTERM (kill, timeout, a scheduler) stops a run as Ctrl-C does: the signal arrives while the second scan's
    outputs are being written; its hidden folder, the lock and the summary are absent, the first scan complete."""
    import os
    import signal

    from scintiseg.report import batch

    folder = tmp_path / "scans"
    folder.mkdir()
    for name in ("a", "b", "c"):
        shutil.copy(scans / "nm1.dcm", folder / f"{name}.dcm")
    written = []
    real_write = batch.write_outputs

    def write_then_stop(prediction, into, **kwargs):
        written.append(into)
        if len(written) == 2:
            (into / "report.json").write_text("{")  # half written when the signal comes
            os.kill(os.getpid(), getattr(signal, signum))
        return real_write(prediction, into, **kwargs)

    monkeypatch.setattr(batch, "write_outputs", write_then_stop)
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        # A shell's background job (`make test &`) ignores SIGINT, and Python keeps ignoring it (as a user's Ctrl-C
        # would be ignored there too): give this process Python's own handler, as a terminal does, while it runs.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        request.addfinalizer(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    before = signal.getsignal(signal.SIGTERM)
    out = tmp_path / "out"
    assert main(["predict", str(folder), "--out", str(out), "--model", str(run_dir), "--quiet"]) == code
    assert capsys.readouterr().err == (f"scintiseg predict: {said}: 1 of 3 input(s) done into {out}, no summary.csv "
                                       "written (run again to predict every input)\n")
    assert sorted(p.name for p in out.iterdir()) == ["a"]  # no .b.partial-*, no .scintiseg.lock, no summary.csv
    assert json.loads((out / "a" / "report.json").read_text())["views"]
    assert signal.getsignal(signal.SIGTERM) is before  # the command's handler is the command's only


def test_a_scan_whose_views_look_named_the_other_way_round_is_said_on_the_console(tmp_path, capsys):
    """A vendor storing POST first: every side of the report would be the wrong one, so the run says it per scan (and
    the scan's report and summary row carry views_swapped); the same patient named right is not flagged."""
    from scintiseg.io.dicom import write_dicom
    from scintiseg.phantom import generate_patient, profile
    from scintiseg.scan import Scan

    scan = generate_patient(930001, profile("default"), patient_id="PID-SW").scan
    scans = tmp_path / "scans"
    scans.mkdir()
    write_dicom(scan, scans / "named.dcm")
    write_dicom(Scan({"ANT": scan.view("POST"), "POST": scan.view("ANT")}, scan.pixel_spacing, patient_id="PID-SW"),
                scans / "swapped.dcm")
    out = tmp_path / "out"
    assert main(["predict", str(scans), "--out", str(out), "--quiet", "--no-dicom"]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "look named the other way round" in line]
    assert warned == [f"warning: {scans / 'swapped.dcm'}: ANT and POST look named the other way round (views_swapped: "
                      "the lumbar spine stands out less on POST): check the view names; if swapped, every side is the "
                      "wrong one"]
    rows = {Path(row["input"]).name: row for row in csv.DictReader((out / "summary.csv").open())}
    assert "views_swapped" in rows["swapped.dcm"]["qc_flags"] and "views_swapped" not in rows["named.dcm"]["qc_flags"]


def test_no_dicom_writes_no_sr_or_gsps_for_a_dicom_scan_and_says_so(run_dir, scans, tmp_path):
    out = tmp_path / "out"
    assert main(["predict", str(scans / "nm1.dcm"), "--out", str(out), "--model", str(run_dir), "--quiet",
                 "--no-dicom"]) == 0
    assert not list((out / "nm1").glob("*.dcm"))
    assert json.loads((out / "nm1" / "report.json").read_text())["dicom"] == {"note": "disabled"}


def test_pdf_writes_report_pdf_and_for_dicom_input_the_same_bytes_as_an_encapsulated_pdf(run_dir, scans, tmp_path):
    import pydicom

    from support import pdf_texts

    out = tmp_path / "out"
    assert main(["predict", str(scans / "nm1.dcm"), "--out", str(out), "--model", str(run_dir), "--quiet",
                 "--pdf"]) == 0
    folder = out / "nm1"
    pdf = (folder / "report.pdf").read_bytes()
    report = json.loads((folder / "report.json").read_text())
    assert report["pdf"] == "report.pdf" and report["dicom"]["pdf"] == "report_pdf.dcm"
    words = " ".join(text.text for text in pdf_texts(pdf))
    assert f"id {report['patient']['id']}" in words and "MACHINE DRAFT, NOT A DIAGNOSIS" in words
    document = pydicom.dcmread(folder / "report_pdf.dcm")
    assert bytes(document.EncapsulatedDocument)[: document.EncapsulatedDocumentLength] == pdf
    assert document.StudyInstanceUID == report["study_uid"] and document.PatientID == report["patient"]["id"]
    assert main(["predict", str(scans / "nm1.dcm"), "--out", str(tmp_path / "plain"), "--model", str(run_dir),
                 "--quiet"]) == 0  # opt-in: not on the default path
    assert not list((tmp_path / "plain" / "nm1").glob("report*.pdf")) and not (tmp_path / "plain" / "nm1" /
                                                                              "report_pdf.dcm").exists()


def test_pdf_of_a_png_input_or_with_no_dicom_is_a_pdf_without_dicom(run_dir, scans, npy_scan, tmp_path):
    from PIL import Image

    png = tmp_path / "scans" / "nm1.png"
    png.parent.mkdir()
    Image.fromarray(np.load(npy_scan).astype(np.uint16)).save(png)
    out = tmp_path / "out"
    assert main(["predict", str(png), "--out", str(out), "--model", str(run_dir), "--quiet", "--pdf"]) == 0
    assert (out / "nm1" / "report.pdf").read_bytes().startswith(b"%PDF-")
    assert not list((out / "nm1").glob("*.dcm"))
    assert json.loads((out / "nm1" / "report.json").read_text())["dicom"] == {
        "note": "no DICOM output: the input is not DICOM"}
    # the folder predicted again: the report.pdf beside the scan is no scan (one input, no failed row)
    shutil.copy(out / "nm1" / "report.pdf", png.parent / "referral.pdf")
    assert main(["predict", str(png.parent), "--out", str(tmp_path / "again"), "--model", str(run_dir), "--quiet"]) == 0
    assert (tmp_path / "again" / "summary.csv").read_text().count("\n") == 2
    assert main(["predict", str(scans / "nm1.dcm"), "--out", str(tmp_path / "off"), "--model", str(run_dir), "--quiet",
                 "--pdf", "--no-dicom"]) == 0
    assert (tmp_path / "off" / "nm1" / "report.pdf").is_file() and not list((tmp_path / "off" / "nm1").glob("*.dcm"))


def test_predict_and_read_for_prediction_read_a_page_a_post_file_and_a_study_alike(run_dir, tmp_path, monkeypatch):
    """The API reads a file as the command does (audit 74, finding 2: the README's read_scan gave a side-by-side page
    one view and ``_POST.png`` an anterior view, so other lesions and BSI): the scans ``scintiseg predict`` predicts,
    recorded as its batch reads and joins them, equal read_for_prediction's, views, pixels and metadata."""
    import scintiseg.report.batch as batch
    from scintiseg.io.images import write_png16
    from scintiseg.io.read import read_for_prediction
    from scintiseg.phantom import generate_patient

    scan = generate_patient(3).scan
    for folder in ("page", "solo", "study"):
        (tmp_path / folder).mkdir()
    page, post = tmp_path / "page" / "q3_page.png", tmp_path / "solo" / "q3_POST.png"
    write_png16(np.hstack([scan.view("ANT"), scan.view("POST")]), page)
    write_png16(scan.view("POST"), post)
    study = (tmp_path / "study" / "p3_ANT.png", tmp_path / "study" / "p3_POST.png")
    write_png16(scan.view("ANT"), study[0])
    write_png16(scan.view("POST"), study[1])
    read_by_cli: dict = {}
    read_scan, join_views = batch.read_scan, batch.join_views

    def recording_read(path, **kwargs):
        read_by_cli[Path(path).name] = read_scan(path, **kwargs)
        return read_by_cli[Path(path).name]

    def recording_join(ant, post):
        read_by_cli["study"] = join_views(ant, post)
        return read_by_cli["study"]

    monkeypatch.setattr(batch, "read_scan", recording_read)
    monkeypatch.setattr(batch, "join_views", recording_join)
    assert main(["predict", str(page), str(post), str(tmp_path / "study"), "--out", str(tmp_path / "out"),
                 "--model", str(run_dir), "--no-dicom", "--quiet"]) == 0
    for name, api in (("q3_page.png", read_for_prediction(page)), ("q3_POST.png", read_for_prediction(post)),
                      ("study", read_for_prediction(*study))):
        cli = read_by_cli[name]
        assert cli.view_names == api.view_names and cli.pixel_spacing == api.pixel_spacing, name
        assert cli.metadata == api.metadata and cli.patient_id == api.patient_id, name
        for view in cli.view_names:
            np.testing.assert_array_equal(cli.view(view), api.view(view))
    assert read_by_cli["q3_page.png"].view_names == ["ANT", "POST"] and read_by_cli["q3_POST.png"].view_names == ["POST"]
