from scintiseg.cli import main


def test_phantom_command_writes_a_dataset(tmp_path, capsys):
    assert main(["phantom", "--patients", "1", "--out", str(tmp_path), "--seed", "2", "--profile", "small", "--workers", "1"]) == 0
    assert (tmp_path / "dataset.json").is_file()
    assert "wrote 1 patients" in capsys.readouterr().out
    # a second run into the same folder would replace its manifest and same-named files (an imported clinical
    # data set's too): refused in one line, nothing touched
    before = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    assert main(["phantom", "--patients", "1", "--out", str(tmp_path), "--seed", "5", "--profile", "small", "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path) in err[0] and "already holds a data set" in err[0]
    assert {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()} == before


def test_unknown_profile_is_one_line_error(tmp_path, capsys):
    assert main(["phantom", "--patients", "1", "--out", str(tmp_path), "--profile", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown phantom profile" in err and "Traceback" not in err


def test_help_lists_profiles(capsys):
    import pytest

    with pytest.raises(SystemExit) as exit_info:
        main(["phantom", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "low-count" in out and "--patients" in out and "calibrate" in out


def test_workers_below_one_is_one_line_error_and_nothing_written(tmp_path, capsys):
    assert main(["phantom", "--patients", "1", "--out", str(tmp_path / "d"), "--workers", "-3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["scintiseg phantom: error: --workers must be at least 1 (1: in this process), got -3"]
    assert not (tmp_path / "d").exists()


def test_the_seed_given_makes_the_cohort_and_the_calibration_phantom(tmp_path):
    import json

    from scintiseg.io.dataset import load_manifest
    from scintiseg.io.dicom import write_dicom
    from scintiseg.phantom import generate_patient, profile

    assert main(["phantom", "--patients", "1", "--out", str(tmp_path / "d"), "--seed", "2", "--profile", "small",
                 "--workers", "1"]) == 0
    assert load_manifest(tmp_path / "d").name.endswith("-seed2")
    write_dicom(generate_patient(1, profile("small")).scan, tmp_path / "real.dcm")
    assert main(["phantom", "calibrate", "--real", str(tmp_path / "real.dcm"), "--out", str(tmp_path / "cal"),
                 "--seed", "7", "--profile", "small"]) == 0
    assert json.loads((tmp_path / "cal" / "calibration.json").read_text())["seed"] == 7
