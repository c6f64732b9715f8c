"""`scintiseg dataset check|split`: exit codes, one problem per line, splits.json."""

from __future__ import annotations

import json
import shutil

import pytest

from scintiseg.cli import main
from scintiseg.io.dataset import load_manifest, save_manifest


def test_check_valid_dataset(tiny_dataset, capsys):
    assert main(["dataset", "check", str(tiny_dataset)]) == 0
    out = capsys.readouterr().out
    assert "valid: 0 errors, 0 warnings" in out and "labelled views" in out


def test_check_invalid_dataset_lists_every_problem(tiny_dataset, capsys):
    manifest = load_manifest(tiny_dataset)
    manifest.cases[0].image = "images/missing.dcm"
    manifest.cases[1].labels["ANT"] = "labels/missing.json"
    save_manifest(manifest, tiny_dataset)
    assert main(["dataset", "check", str(tiny_dataset)]) == 2
    lines = capsys.readouterr().out.splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 2 and all("missing file" in line for line in errors)
    assert not [line for line in lines if line.startswith("warning:")]  # the two missing files are errors only
    assert lines[-1] == "INVALID: 2 errors, 0 warnings"


def test_check_not_a_dataset(tmp_path, capsys):
    assert main(["dataset", "check", str(tmp_path)]) == 2
    assert "no dataset.json" in capsys.readouterr().out


def test_split_writes_splits_json(tiny_dataset, capsys):
    assert main(["dataset", "split", str(tiny_dataset), "--test", "0.25", "--seed", "3", "--folds", "3"]) == 0
    splits = json.loads((tiny_dataset / "splits.json").read_text())
    assert len(splits["test"]) == 1 and len(splits["train"]) == 3 and len(splits["folds"]) == 3
    assert "train 3 cases, test 1 cases" in capsys.readouterr().out


@pytest.mark.parametrize(("folds", "said"), [("9", "folds need at least"), ("1", "--folds must be at least 2, got 1"),
                                           ("-1", "--folds must be at least 2, got -1")])
def test_split_bad_folds_is_one_line_error(tiny_dataset, capsys, folds, said):
    assert main(["dataset", "split", str(tiny_dataset), "--folds", folds]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("scintiseg dataset: error:") and said in err[0]


def test_import_lists_skipped_files_and_writes_a_valid_dataset(tmp_path, capsys):
    import numpy as np

    from scintiseg.io.dicom import write_dicom
    from scintiseg.io.labelme import write_labelme
    from scintiseg.scan import Annotation, Scan

    src = tmp_path / "scans"
    src.mkdir()
    rng = np.random.default_rng(0)
    for name in ("s1", "s2"):
        write_dicom(Scan({"ANT": rng.poisson(9, (32, 16)).astype(np.uint16),
                          "POST": rng.poisson(9, (32, 16)).astype(np.uint16)}, patient_id="PX"), src / f"{name}.dcm")
    mask = np.zeros((32, 16), dtype=bool)
    mask[4:9, 3:8] = True
    write_labelme(Annotation.from_mask(mask, view="ANT"), src / "s1_ANT.json")
    (src / "junk.bin").write_bytes(b"junk")
    out = tmp_path / "ds"
    assert main(["dataset", "import", str(src), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    skipped = [line for line in lines if line.startswith("skipped:")]
    assert len(skipped) == 1 and skipped[0].startswith(f"skipped: {src / 'junk.bin'}: unrecognised file format")
    assert lines[-1].startswith("added 2 cases (1 labelled, 1 patients), kept 0, skipped 1 files, 0 LabelMe")
    assert main(["dataset", "check", str(out)]) == 0
    assert main(["dataset", "import", str(src), "--out", str(out), "--patient-from", "regex:x"]) == 2
    assert "exactly one group" in capsys.readouterr().err


def test_import_of_no_scan_is_an_error_and_writes_no_data_set(tmp_path, capsys):
    src = tmp_path / "scans"
    src.mkdir()
    out = tmp_path / "ds"
    assert main(["dataset", "import", str(src), "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == f"scintiseg dataset: error: {src}: no scan found to import: no data set written"
    assert not out.exists()
    (src / "junk.bin").write_bytes(b"junk")
    assert main(["dataset", "import", str(src), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith(f"skipped: {src / 'junk.bin'}: ") and "(1 file(s) skipped, listed above)" in captured.err
    assert not out.exists()


def test_import_joins_a_studys_two_files_unless_told_not_to(tmp_path, capsys):
    import numpy as np

    from scintiseg.io.images import write_png16

    src = tmp_path / "scans"
    src.mkdir()
    rng = np.random.default_rng(1)
    for view in ("ANT", "POST"):
        write_png16(rng.poisson(9, (32, 16)).astype(np.uint16), src / f"p7_{view}.png")
    assert main(["dataset", "import", str(src), "--out", str(tmp_path / "joined")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(
        "added 1 cases (0 labelled, 1 patients, 1 joined from a study's ANT and POST files), kept 0")
    assert [c.case_id for c in load_manifest(tmp_path / "joined").cases] == ["p7"]
    assert main(["dataset", "import", str(src), "--out", str(tmp_path / "apart"), "--no-join-views"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("added 2 cases (0 labelled, 2 patients), kept 0")


def test_import_records_a_scan_stored_head_down_as_predict_reads_it(tmp_path, capsys):
    from scintiseg.io.dataset import TURNED_KEY, load_case
    from scintiseg.io.dicom import write_dicom
    from scintiseg.phantom import generate_patient, profile

    src = tmp_path / "scans"
    src.mkdir()
    scan = generate_patient(520, profile("small")).scan
    write_dicom(scan, src / "up.dcm")
    write_dicom(scan.with_views({v: scan.view(v)[::-1] for v in scan.view_names}, patient_id="P2"), src / "down.dcm")
    out = tmp_path / "ds"
    assert main(["dataset", "import", str(src), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert f"read turned: {src / 'down.dcm'}: stored head-down; the case is read upright" in said
    manifest = load_manifest(out)
    assert manifest.case("down").meta[TURNED_KEY] == "head_down" and TURNED_KEY not in manifest.case("up").meta
    assert (load_case(out, "down")[0].view("ANT") == scan.view("ANT")).all()  # train and evaluate see it upright
    assert main(["dataset", "check", str(out)]) == 0
    assert "read turned (stored head-down)  1" in capsys.readouterr().out
    assert main(["dataset", "import", str(src), "--out", str(tmp_path / "as_stored"), "--as-stored"]) == 0
    assert "read turned" not in capsys.readouterr().out
    assert all(TURNED_KEY not in case.meta for case in load_manifest(tmp_path / "as_stored").cases)


def test_export_nnunet_makes_the_split_train_would_and_says_where_the_folds_go(tiny_dataset, tmp_path, capsys):
    raw = tmp_path / "raw"
    assert main(["dataset", "export-nnunet", str(tiny_dataset), "--out", str(raw), "--id", "42", "--name", "Tiny",
                 "--folds", "3", "--seed", "5"]) == 0
    captured = capsys.readouterr()
    splits = json.loads((tiny_dataset / "splits.json").read_text())
    assert "no splits.json: made a patient-level split" in captured.err and splits["seed"] == 5
    folder = raw / "Dataset042_Tiny"
    assert f"6 training and 2 test views, 3 folds by patient -> {folder}" in captured.out
    assert f"cp {folder / 'splits_final.json'} $nnUNet_preprocessed/Dataset042_Tiny/" in captured.out
    assert sorted(p.name.split("_")[0] for p in (folder / "imagesTs").iterdir()) == splits["test"][0].split("_")[:1] * 2
    # a test view whose outline is a pseudo-label is left out and said so, as what it is
    manifest = load_manifest(tiny_dataset)
    manifest.case(splits["test"][0]).meta["pseudo"] = ["ANT"]
    save_manifest(manifest, tiny_dataset)
    assert main(["dataset", "export-nnunet", str(tiny_dataset), "--out", str(raw), "--id", "43"]) == 0
    assert "6 training and 1 test views" in (said := capsys.readouterr().out)
    assert "; 1 pseudo-labelled test view left out (no person's truth to score on)" in said
    assert "without annotation" not in said
    shutil.rmtree(raw / "Dataset043_BoneScan")
    assert main(["dataset", "export-nnunet", str(tiny_dataset), "--out", str(raw), "--folds", "1"]) == 2
    assert main(["dataset", "export-nnunet", str(tiny_dataset), "--out", str(raw), "--id", "0"]) == 2
    assert "1 to 999" in capsys.readouterr().err and sorted(p.name for p in raw.iterdir()) == ["Dataset042_Tiny"]
    (tiny_dataset / "splits.json").unlink()
    (tmp_path / "afile").write_text("")
    assert main(["dataset", "export-nnunet", str(tiny_dataset), "--out", str(tmp_path / "afile")]) == 2
    assert "is a file" in capsys.readouterr().err and not (tiny_dataset / "splits.json").exists()  # refused first


def test_export_nnunet_fused_writes_studies_and_evaluate_scores_their_masks(tiny_dataset, tmp_path, capsys):
    """``--fuse two_channel``: one two-channel case per study; nnU-Net's labels of the test studies, read back as its
    predictions, score 1 with ``evaluate --predictions`` (the fused mask scored against both views' outlines)."""
    raw = tmp_path / "raw"
    assert main(["dataset", "export-nnunet", str(tiny_dataset), "--out", str(raw), "--fuse", "two_channel"]) == 0
    out = capsys.readouterr().out
    folder = raw / "Dataset501_BoneScan"
    assert f"3 training and 1 test studies (two_channel), 3 folds by patient -> {folder}" in out
    assert len(list((folder / "imagesTr").glob("*_0001.nii.gz"))) == 3
    predictions = tmp_path / "nnunet_predicted"
    shutil.copytree(folder / "labelsTs", predictions)
    assert main(["evaluate", "--predictions", str(predictions), "--data", str(tiny_dataset)]) == 0
    metrics = json.loads((predictions / "eval-test" / "metrics.json").read_text())
    assert metrics["images"] == 1 and metrics["pooled"]["dsc"] == 1.0
    with pytest.raises(SystemExit):  # argparse names the choices
        main(["dataset", "export-nnunet", str(tiny_dataset), "--out", str(raw), "--fuse", "sum", "--id", "7"])
    assert "choose from 'none', 'two_channel', 'aggregate'" in capsys.readouterr().err


def test_crop_workers_below_zero_is_one_line_error(tiny_dataset, tmp_path, capsys):
    assert main(["dataset", "crop", str(tiny_dataset), "--out", str(tmp_path / "c"), "--workers", "-1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["scintiseg dataset: error: --workers must be 0 (one per CPU core) or more, got -1"]
    assert not (tmp_path / "c").exists()


def test_import_says_an_assumed_pixel_size_and_takes_pixel_spacing(tmp_path, capsys):
    """Session 63: a picture's pixel size was assumed silently and written into the DICOM; now one warning per file,
    and --pixel-spacing (as predict takes it) gives the right one."""
    import numpy as np

    from scintiseg.io import read_scan
    from scintiseg.io.images import write_png16

    src = tmp_path / "scans"
    src.mkdir()
    rng = np.random.default_rng(2)
    for view in ("ANT", "POST"):
        write_png16(rng.poisson(9, (32, 16)).astype(np.uint16), src / f"P07_{view}.png")
    assert main(["dataset", "import", str(src), "--out", str(tmp_path / "a")]) == 0
    said = [line for line in capsys.readouterr().out.splitlines() if "no measured pixel spacing" in line]
    assert [line.split(": ")[1] for line in said] == [str(src / "P07_ANT.png"), str(src / "P07_POST.png")]
    assert all(line.startswith("warning: ") and "assuming 2.26 x 2.26 mm" in line for line in said)
    assert load_manifest(tmp_path / "a").case("P07").meta["pixel_spacing_assumed"]
    assert main(["dataset", "import", str(src), "--out", str(tmp_path / "b"), "--pixel-spacing", "3.3"]) == 0
    assert "no measured pixel spacing" not in capsys.readouterr().out
    case = load_manifest(tmp_path / "b").case("P07")
    assert "pixel_spacing_assumed" not in case.meta
    assert read_scan(tmp_path / "b" / case.image).pixel_spacing == (3.3, 3.3)
    assert main(["dataset", "import", str(src), "--out", str(tmp_path / "c"), "--pixel-spacing", "abc"]) == 2
    assert "pixel spacing 'abc'" in capsys.readouterr().err and not (tmp_path / "c").exists()


def test_split_and_export_nnunet_default_as_their_help_says():
    from scintiseg.cli import build_parser

    split = build_parser("dataset").parse_args(["dataset", "split", "d"])
    assert (split.test, split.seed, split.folds) == (0.2, 0, None)
    nnunet = build_parser("dataset").parse_args(["dataset", "export-nnunet", "d", "--out", "o"])
    assert (nnunet.dataset_id, nnunet.name, nnunet.folds, nnunet.seed, nnunet.fuse) == (501, "BoneScan", 5, 0, "none")


def test_split_uses_the_test_share_it_is_given(tiny_dataset):
    assert main(["dataset", "split", str(tiny_dataset), "--test", "0.5"]) == 0
    splits = json.loads((tiny_dataset / "splits.json").read_text())
    assert len(splits["test"]) == 2 and len(splits["train"]) == 2


def test_check_json_of_an_invalid_data_set_exits_2(tiny_dataset, capsys):
    manifest = load_manifest(tiny_dataset)
    manifest.cases[0].image = "images/missing.dcm"
    save_manifest(manifest, tiny_dataset)
    assert main(["dataset", "check", str(tiny_dataset), "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["valid"] is False


def test_import_link_hard_links_and_read_normal_outlines_every_view(tmp_path, capsys):
    import os

    import numpy as np

    from scintiseg.io.dicom import write_dicom
    from scintiseg.scan import Scan

    src = tmp_path / "scans"
    src.mkdir()
    rng = np.random.default_rng(0)
    write_dicom(Scan({"ANT": rng.poisson(9, (32, 16)).astype(np.uint16),
                      "POST": rng.poisson(9, (32, 16)).astype(np.uint16)}, patient_id="PX"), src / "s1.dcm")
    out = tmp_path / "ds"
    assert main(["dataset", "import", str(src), "--out", str(out), "--link", "--read-normal", "--as-stored"]) == 0
    assert "read normal: 2 views" in capsys.readouterr().out
    case = load_manifest(out).cases[0]
    assert os.path.samefile(out / case.image, src / "s1.dcm")
    assert set(case.labels) == {"ANT", "POST"}


def test_import_and_check_say_how_many_cases_hold_each_view(tmp_path, capsys):
    """The researcher audit's finding 5: both said ``views ANT`` of ANT+POST cases and one ANT scan."""
    import numpy as np

    from scintiseg.io.dicom import write_dicom
    from scintiseg.scan import Scan

    src, out = tmp_path / "scans", tmp_path / "ds"
    src.mkdir()
    rng = np.random.default_rng(0)
    views = rng.poisson(9, (3, 32, 16)).astype(np.uint16)
    write_dicom(Scan({"ANT": views[0], "POST": views[1]}, patient_id="P1"), src / "s1.dcm")
    write_dicom(Scan({"ANT": views[2]}, patient_id="P2"), src / "s2.dcm")
    assert main(["dataset", "import", str(src), "--out", str(out), "--as-stored"]) == 0
    assert "views: ANT 2, POST 1 of 2 cases" in capsys.readouterr().out.splitlines()
    assert main(["dataset", "check", str(out)]) == 0
    assert ["views", "ANT", "2,", "POST", "1", "of", "2", "cases"] in [line.split() for line in
                                                                     capsys.readouterr().out.splitlines()]
