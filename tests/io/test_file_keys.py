"""scintiseg.io.file_keys: a side file names its scan by path (as given or resolved), file name or stem."""

from __future__ import annotations

from pathlib import Path

from scintiseg.io.file_keys import file_keys, find_by_name, output_stem


def test_a_scan_is_found_by_its_path_then_its_name_then_its_stem():
    resolved = str(Path("scans/0001.jpg").resolve())
    assert file_keys("scans/0001.jpg") == ("scans/0001.jpg", resolved, "0001.jpg", "0001")
    found = {"scans/0001.jpg": "path", "0001.jpg": "name", "0001": "stem", "0002": "other stem"}
    assert find_by_name(found, "scans/0001.jpg") == "path"
    assert find_by_name({resolved: "resolved", "0001.jpg": "name"}, "scans/../scans/0001.jpg") == "resolved"
    assert find_by_name(found, "/elsewhere/0001.jpg") == "name"
    assert find_by_name(found, "/elsewhere/0001.png") == "stem"
    assert find_by_name(found, "0002.dcm") == "other stem" and find_by_name(found, "0003.jpg") is None


def test_an_output_s_stem_drops_only_a_known_image_suffix():
    assert output_stem("scan.dcm") == "scan" and output_stem("a/b/pet.NII.GZ") == "pet"
    uid = "1.2.840.113619.2.55.3.604688119.969.1268071029.320"
    assert output_stem(uid) == uid
    assert output_stem("1.2.840.113619.2.55.3.320.dcm") == "1.2.840.113619.2.55.3.320"
    assert output_stem("scan.1.png") == "scan.1" and output_stem(".dcm") == ".dcm"


def test_a_double_suffix_scan_is_found_by_its_stem_without_either_suffix():
    assert file_keys("a/pet.nii.gz")[3] == "pet"
    assert find_by_name({"pet": "stem"}, "elsewhere/pet.nii.gz") == "stem"
