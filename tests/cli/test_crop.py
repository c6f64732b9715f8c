import json

import numpy as np
import pytest

from scintiseg.cli import main
from scintiseg.io import read_scan
from support import NO_REAL_NM1, REAL_NM1 as REAL


@pytest.mark.skipif(not REAL.is_file(), reason=NO_REAL_NM1)
def test_crop_real_scan_writes_crop_and_boxes(tmp_path, capsys):
    assert main(["crop", str(REAL), "--out", str(tmp_path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    stored = json.loads((tmp_path / f"{REAL.stem}_crop.json").read_text())
    assert printed == stored
    (box,) = stored["boxes"]
    assert set(box) == {"view", "top", "left", "height", "width"}
    assert (box["view"], box["height"], box["width"]) == ("ANT", 256, 256)
    crop = read_scan(tmp_path / f"{REAL.stem}_thorax.dcm")
    whole = read_scan(REAL)
    top, left = box["top"], box["left"]
    assert np.array_equal(crop.view("ANT"), whole.view("ANT")[top : top + 256, left : left + 256])
    assert (tmp_path / f"{REAL.stem}_thorax_ANT.png").is_file()


@pytest.mark.skipif(not REAL.is_file(), reason=NO_REAL_NM1)
def test_two_inputs_of_one_name_are_both_kept(tmp_path, capsys):
    """Two folders' ``scan.dcm``, and DICOM files named by UIDs one component apart: each crop under its own name."""
    names = ["a/scan.dcm", "b/scan.dcm", "1.2.840.10008.99.1", "1.2.840.10008.99.2"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(REAL.read_bytes())
    out = tmp_path / "out"
    assert main(["crop", *[str(tmp_path / name) for name in names], "--out", str(out)]) == 0
    assert sorted(path.name for path in out.glob("*_crop.json")) == [
        "1.2.840.10008.99.1_crop.json", "1.2.840.10008.99.2_crop.json", "scan-2_crop.json", "scan_crop.json"]


@pytest.mark.skipif(not REAL.is_file(), reason=NO_REAL_NM1)
def test_crop_size_option(tmp_path, capsys):
    assert main(["crop", str(REAL), "--out", str(tmp_path), "--size", "128"]) == 0
    assert "128 x 128" in capsys.readouterr().out


def test_blank_image_is_one_line_error_and_no_output(tmp_path, capsys):
    blank = tmp_path / "blank.npy"
    np.save(blank, np.zeros((1024, 256), dtype=np.uint16))
    out = tmp_path / "out"
    assert main(["crop", str(blank), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("scintiseg crop: error:") and "no body" in err and "\n" not in err
    assert not out.exists() or not any(out.iterdir())


def test_an_impossible_size_or_an_output_that_is_a_file_is_refused_before_any_scan_is_read(tmp_path, capsys):
    missing = str(tmp_path / "not-read.dcm")  # never read: the refusal comes first
    assert main(["crop", missing, "--out", str(tmp_path / "out"), "--size", "0"]) == 2
    assert capsys.readouterr().err.strip() == "scintiseg crop: error: --size must be positive, got 0"
    (tmp_path / "afile").write_text("")
    assert main(["crop", missing, "--out", str(tmp_path / "afile")]) == 2
    assert "output exists and is not a folder" in capsys.readouterr().err
