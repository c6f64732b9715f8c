"""`scintiseg info`: the figures of the real NM1 file, the table, and one-line errors."""

from __future__ import annotations

import json
import re

import numpy as np
from PIL import Image as PILImage

from scintiseg.cli import main
from scintiseg.io import read_scan
from scintiseg.prepare.degrade import export_8bit
from scintiseg.prepare.thinning import binomial_thin


def test_info_json_on_real_file(real_nm1, capsys):
    assert main(["info", str(real_nm1), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["views"] == ["ANT"]
    assert facts["shape"] == [1024, 256]
    assert facts["counts"]["ANT"]["total"] == 3596452
    assert facts["pixel_spacing"] == [2.26, 2.26] and facts["field_mm"] == [2314.2, 578.6]
    assert facts["patient_id"] == "8NM1"


def test_info_shows_the_field_and_mends_a_spacing_that_is_no_cameras(real_nm1, tmp_path, capsys):
    import pydicom

    ds = pydicom.dcmread(real_nm1)
    ds.PixelSpacing = [226, 226]  # a header in tenths of a millimetre
    ds.save_as(tmp_path / "tenths.dcm")
    assert main(["info", str(tmp_path / "tenths.dcm")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "231.4 m x 57.86 m: no camera's" in err and "--pixel-spacing" in err
    assert main(["info", str(tmp_path / "tenths.dcm"), "--pixel-spacing", "2.26"]) == 0
    captured = capsys.readouterr()
    assert "field          2314 x 579 mm (rows x columns)" in captured.out
    assert "pixel spacing 226 x 226 mm is no camera's; 2.26 x 2.26 mm given, used" in captured.err


def test_info_table_is_aligned(real_nm1_rle, capsys):
    assert main(["info", str(real_nm1_rle)]) == 0
    out = capsys.readouterr().out
    assert "3,596,452" in out and "2.26 x 2.26 mm" in out and "8NM1" in out
    table = out.strip().splitlines()[-2:]
    assert table[0].startswith("view") and table[1].startswith("ANT") and len(table[0]) == len(table[1])


def test_info_says_an_8bit_export_holds_grey_levels_and_an_assumed_spacing(tmp_path, capsys):
    from PIL import Image

    grey = (np.arange(32 * 16) % 60).astype(np.uint8).reshape(32, 16)  # mostly low grey levels, as a bone scan
    Image.fromarray(grey).convert("RGB").save(tmp_path / "export.jpg", quality=95)  # grey saved as colour
    assert main(["info", str(tmp_path / "export.jpg")]) == 0
    out = capsys.readouterr().out
    assert "(uint8)" in out and "grey levels of an 8-bit export, not counts" in out
    assert "2.26 x 2.26 mm (assumed: the file records none)" in out
    header = out.strip().splitlines()[-2]
    assert header.split()[:2] == ["view", "total"] and "grey levels" in header
    expected = np.full((160, 40), 0.5)
    expected[10:150, 8:32], expected[20:120, 18:22] = 8.0, 40.0  # a whole-body-shaped export: body, spine
    expected = np.kron(expected, np.ones((3, 3)))  # 480 x 120: as many rows as a whole-body matrix has
    counts = np.clip(np.random.default_rng(0).poisson(expected), 0, 255).astype(np.uint8)
    Image.fromarray(255 - counts).save(tmp_path / "inverted.png")  # hot = black on white
    assert main(["info", str(tmp_path / "inverted.png"), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["display_inverted"] is True and "over its 480 rows" in facts["pixel_spacing_assumed"]


def test_info_raw_file(tmp_path, capsys):
    data = np.arange(16 * 32, dtype=">u2").reshape(16, 32)  # the smallest view side read_image accepts is 16
    (tmp_path / "m.bin").write_bytes(data.tobytes())
    assert main(["info", str(tmp_path / "m.bin"), "--shape", "16x32", "--dtype", "uint16", "--byteorder", "big", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["views"] == ["VIEW"] and facts["shape"] == [16, 32]
    assert facts["counts"]["VIEW"]["total"] == 511 * 512 // 2  # read little-endian, the total would differ


def test_info_reads_a_raw_file_little_endian_unless_told(tmp_path, capsys):
    data = np.arange(16 * 32, dtype="<u2").reshape(16, 32) * 3  # 0..1533: the high byte matters
    (tmp_path / "m.bin").write_bytes(data.tobytes())
    assert main(["info", str(tmp_path / "m.bin"), "--shape", "16x32", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["counts"]["VIEW"]["total"] == int(data.sum()) and facts["counts"]["VIEW"]["max"] == 1533


def test_info_on_non_dicom_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "report.txt"
    path.write_text("not a scan")
    assert main(["info", str(path)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and lines[0].startswith("scintiseg info: error:")
    assert "Traceback" not in captured.err and captured.out == ""


def test_info_names_a_one_view_file_as_predict_does(tmp_path, capsys):
    from scintiseg.io.images import write_png16

    write_png16(np.arange(64 * 32, dtype=np.uint16).reshape(64, 32), tmp_path / "wb_posterior.png")
    assert main(["info", str(tmp_path / "wb_posterior.png"), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["views"] == ["POST"] and "wb_posterior.png" in facts["view_from_name"]
    assert main(["info", str(tmp_path / "wb_posterior.png")]) == 0
    assert "view           POST: the file name 'wb_posterior.png' says so" in capsys.readouterr().out


def test_info_says_how_a_nifti_files_axes_were_read(tmp_path, capsys):
    import nibabel

    view = np.arange(64 * 32, dtype=np.uint16).reshape(64, 32)
    nibabel.save(nibabel.Nifti1Image(np.ascontiguousarray(view.T), np.diag([2.4, 2.2, 1, 1])), tmp_path / "v.nii.gz")
    assert main(["info", str(tmp_path / "v.nii.gz")]) == 0
    out = capsys.readouterr().out
    assert "shape          64 x 32" in out and "layout         voxel axis 1 = columns" in out
    assert main(["info", "--json", str(tmp_path / "v.nii.gz")]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["patient_id"] == "v" and "transposed" in facts["nifti_axes"]


def test_info_says_what_the_dicom_header_says_of_the_sides(real_nm1, tmp_path, capsys):
    import pydicom

    ds = pydicom.dcmread(real_nm1)
    ds.PixelData = np.ascontiguousarray(ds.pixel_array[:, ::-1]).tobytes()
    ds.PatientOrientation = ["R", "F"]
    ds.save_as(tmp_path / "mirrored.dcm")
    assert main(["info", str(tmp_path / "mirrored.dcm")]) == 0
    assert ("sides          ANT: columns toward the patient's left and rows toward the feet as read; the header says "
            "it is stored mirrored: read mirrored back") in capsys.readouterr().out
    assert main(["info", str(tmp_path / "mirrored.dcm"), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["mirrored"] == ["ANT"] and facts["patient_orientation"] == {"ANT": "L\\F"}  # as read
    assert main(["info", str(real_nm1)]) == 0
    assert "sides" not in capsys.readouterr().out  # NM1 itself says nothing of its sides


def test_info_says_a_capture_s_frame_and_display_gamma_were_read_back(real_nm1, tmp_path, capsys):
    """NM1 in 8 bits through a display gamma of 0.5, framed by a viewer's 1-px grey line: both undone and said."""
    from PIL import Image

    from scintiseg.io import read_scan

    counts = read_scan(real_nm1).view("ANT").astype(np.float64)
    bent = np.clip(np.round(255 * (counts / counts.max()) ** 0.5), 0, 255).astype(np.uint8)
    framed = np.pad(np.pad(bent, 6), 1, constant_values=128)
    Image.fromarray(framed).save(tmp_path / "capture.png")
    assert main(["info", str(tmp_path / "capture.png")]) == 0
    out = capsys.readouterr().out
    assert "frame and separator lines set to the background (row 0, row 1037, column 0, column 269)" in out
    assert re.search(r"shown through a display gamma of 0\.\d+ \(read from the noise\), read back to linear", out)
    assert main(["info", str(tmp_path / "capture.png"), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert abs(facts["display_gamma"] - 0.5) <= 0.06 and len(facts["frame_lines_blanked"]) == 4


def test_info_says_which_arrays_of_a_npz_archive_it_read(tmp_path, capsys):
    view = np.random.default_rng(0).poisson(20, size=(96, 32)).astype(np.uint16)
    np.savez(tmp_path / "case.npz", post=view, ant=view, ant_mask=view > 20, spacing=2.4)
    assert main(["info", str(tmp_path / "case.npz")]) == 0
    out = capsys.readouterr().out
    assert "arrays         ANT from 'ant'; POST from 'post'; pixel size from 'spacing'; not read: ant_mask" in out
    assert "2.4 x 2.4 mm\n" in out
    assert main(["info", str(tmp_path / "case.npz"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["npz_arrays"].startswith("ANT from 'ant'")


def test_info_tells_the_counts_behind_an_8bit_export(real_nm1, tmp_path, capsys):
    """An 8-bit PNG of NM1 thinned to 0.15 (538,848 counts) at 2 grey levels per count: ``info`` says the counts its
    grey levels stand for and the gain, in the table and ``--json``; a JPEG 75 of it tells none (said so); NM1's own
    16-bit counts need no such line."""
    counts = binomial_thin(np.asarray(read_scan(real_nm1).view("ANT"), dtype=np.int64), 0.15, np.random.default_rng(0))
    PILImage.fromarray(export_8bit(counts, gain=2.0)).save(tmp_path / "ANT.png")
    PILImage.fromarray(export_8bit(counts, gain=2.0, jpeg_quality=75)).save(tmp_path / "ANT.jpg", quality=100)
    assert main(["info", str(tmp_path / "ANT.png")]) == 0
    out = capsys.readouterr().out
    assert f"counts         ANT: about {counts.sum():,}, at 2.00 grey levels per count" in out
    assert main(["info", str(tmp_path / "ANT.png"), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["export_gain"]["ANT"] == {"grey_levels_per_count": 2.0, "counts_total": int(counts.sum()),
                                           "lower_bound": False, "clipped_share": 0.0}
    assert main(["info", str(tmp_path / "ANT.jpg")]) == 0
    assert "counts         ANT: not told by the grey levels" in capsys.readouterr().out
    assert main(["info", str(real_nm1)]) == 0
    assert "counts         " not in capsys.readouterr().out


def test_info_on_a_folder_lists_each_scan_file_predict_would_read_and_why_one_cannot_be_read(real_nm1, tmp_path,
                                                                                            capsys):
    """Session 73: `info FOLDER` was "not a file"; a physicist's first look at an export folder."""
    import shutil

    folder = tmp_path / "export"
    (folder / "SE1").mkdir(parents=True)
    shutil.copy(real_nm1, folder / "SE1" / "IM000001")
    (folder / "SE1" / "IM000002").write_bytes(b"")
    (folder / "notes.txt").write_text("not a scan")
    (folder / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    assert main(["info", str(folder)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("SE1/IM000001  ANT  1024 x 256  2.26 x 2.26 mm  counts ANT 3,596,452  patient 8NM1  "
                      "study 2004-08-26")
    assert out[1] == "SE1/IM000002  cannot be read: empty file (0 bytes)"
    assert out[2] == "2 file(s), 1 read, 1 cannot be read" and len(out) == 3
    assert main(["info", str(folder), "--json"]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert [row.get("error") for row in rows] == [None, "empty file (0 bytes)"]
    assert rows[0]["counts"]["ANT"]["total"] == 3596452 and rows[0]["file"].endswith("IM000001")
    (folder / "SE1" / "IM000002").unlink()
    assert main(["info", str(folder)]) == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["info", str(empty)]) == 2
    assert "no scan file in this folder" in capsys.readouterr().err


def test_info_on_a_folder_says_which_two_files_predict_joins_into_one_scan_and_which_it_reads_apart(real_nm1, tmp_path,
                                                                                                    capsys):
    """Session 74 (the researcher audit's finding 10): each of a study's two files named its own patient (``p3_ANT``)
    where predict reads the study as one scan of patient ``p3``; two files paired by name but not one scan say why."""
    from scintiseg.io.images import write_png16

    view = read_scan(real_nm1).view("ANT")
    folder = tmp_path / "export"
    folder.mkdir()
    write_png16(view, folder / "p3_ANT.png")
    write_png16(view[:, ::-1], folder / "p3_POST.png")
    write_png16(view, folder / "p4_ANT.png")
    write_png16(view[:512], folder / "p4_POST.png")  # another matrix: not one scan with its ANT
    assert main(["info", str(folder)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("patient p3_ANT  joined with p3_POST.png as one scan (patient p3)")
    assert out[1].endswith("patient p3_POST  joined with p3_ANT.png as one scan (patient p3)")
    assert "read apart from p4_POST.png: the two views differ in matrix" in out[2]
    assert "read apart from p4_ANT.png: the two views differ in matrix" in out[3]
    assert out[4] == "4 file(s), 4 read, 0 cannot be read; 1 study's two files joined into one scan"
    assert main(["info", str(folder), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["joined_with"].endswith("p3_POST.png") and rows[0]["scan_patient"] == "p3"
    assert rows[3]["read_apart"]["from"].endswith("p4_ANT.png") and "joined_with" not in rows[3]
