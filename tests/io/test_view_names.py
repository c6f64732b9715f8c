"""scintiseg.io.view_names: the view a one-view file holds, from its name; read_scan(view=...)."""

from __future__ import annotations

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.images import write_png16
from scintiseg.io.view_names import stem_without_view, view_from_name, view_from_path, words_besides_view


@pytest.mark.parametrize("name, view", [
    ("0123_POST.jpg", "POST"), ("patient 7 posterior.png", "POST"), ("Post3.png", "POST"),
    ("ANT-12.png", "ANT"), ("WB_Anterior_2019.dcm", "ANT"), ("dir.post/scan_ant.png", "ANT"),
    ("scan.png", None), ("postop.png", None), ("pant.png", None), ("x_ant_post.png", None), ("c_p.png", None),
    ("wholeBodyPOST.jpg", "POST"), ("chestLANT.jpg", "ANT"), ("kneeRPOST.jpg", "POST"), ("wbAnt.png", "ANT"),
    ("SLANT.png", None), ("PETScan.png", None), ("AntPost.png", None), ("legPANT.png", None), ("legAPOST.png", None),
])
def test_a_file_name_says_a_view_only_in_whole_words_and_only_one(name, view):
    assert view_from_name(name) == view


def test_read_scan_names_a_one_view_image_when_asked(tmp_path):
    counts = np.arange(64 * 32, dtype=np.uint16).reshape(64, 32)
    write_png16(counts, tmp_path / "wb_post.png")
    write_png16(counts, tmp_path / "wb.png")
    assert read_scan(tmp_path / "wb_post.png").view_names == ["VIEW"]  # data sets: as it is
    named = read_scan(tmp_path / "wb_post.png", view="name")
    assert named.view_names == ["POST"] and "file name 'wb_post.png'" in named.metadata["view_from_name"]
    np.testing.assert_array_equal(named.view("POST"), counts)
    assert read_scan(tmp_path / "wb.png", view="name").view_names == ["VIEW"]  # the name says nothing
    told = read_scan(tmp_path / "wb_post.png", view="ANT")  # told: the name is not read
    assert told.view_names == ["ANT"] and "view_from_name" not in told.metadata
    np.save(tmp_path / "two_post.npy", np.stack([counts, counts]))
    assert read_scan(tmp_path / "two_post.npy", view="name").view_names == ["ANT", "POST"]  # two views stay
    with pytest.raises(ScintisegError, match="view must be one of ANT, POST, name"):
        read_scan(tmp_path / "wb.png", view="posterior")


@pytest.mark.parametrize("name, words, stem", [
    ("0123_ANT.jpg", ("0123",), "0123"), ("wb ant 7.png", ("wb", "7"), "wb 7"), ("ANT.png", (), ""),
    ("wbPost.png", ("wb",), "wb"), ("chestLANT.jpg", ("chest", "l"), "chestL"), ("pant_post.png", ("pant",), "pant"),
    ("P001_ANT_0000.nii.gz", ("p", "001", "0000"), "P001_0000"),  # nnU-Net's image names: .nii.gz one suffix (session 49)
])
def test_the_words_a_study_shares_and_the_name_without_its_view(name, words, stem):
    assert words_besides_view(name) == words and stem_without_view(name) == stem


def test_a_folder_names_the_view_only_beside_a_folder_named_for_the_other(tmp_path):
    """BS-80K: wholeBodyANT/ and wholeBodyPOST/ hold files named 0001.jpg; a folder called post_therapy alone (or
    beside one of another study) names a study, not a view; the file's own name comes first."""
    for folder in ("wholeBodyANT", "wholeBodyPOST", "post_therapy", "kneeLANT"):
        (tmp_path / folder).mkdir()
    post = view_from_path(tmp_path / "wholeBodyPOST" / "0001.jpg")
    assert post == ("POST", "the folder name 'wholeBodyPOST' says so (its sibling 'wholeBodyANT' holds the other view)")
    assert view_from_path(tmp_path / "wholeBodyANT" / "0001.jpg")[0] == "ANT"
    assert view_from_path(tmp_path / "post_therapy" / "0001.jpg") is None
    assert view_from_path(tmp_path / "kneeLANT" / "0001.jpg") is None  # no kneeLPOST beside it
    assert view_from_path(tmp_path / "wholeBodyPOST" / "0001_ant.jpg") == ("ANT", "the file name '0001_ant.jpg' says so")
    counts = np.arange(64 * 32, dtype=np.uint16).reshape(64, 32)
    write_png16(counts, tmp_path / "wholeBodyPOST" / "0001.png")
    named = read_scan(tmp_path / "wholeBodyPOST" / "0001.png", view="name")
    assert named.view_names == ["POST"] and "folder name 'wholeBodyPOST'" in named.metadata["view_from_name"]


def test_a_sibling_folder_made_later_is_seen(tmp_path):
    (tmp_path / "scansPOST").mkdir()
    assert view_from_path(tmp_path / "scansPOST" / "1.png") is None
    (tmp_path / "scansANT").mkdir()  # the parent's listing is cached per state of the parent, not for the process
    assert view_from_path(tmp_path / "scansPOST" / "1.png")[0] == "POST"


def test_two_folders_naming_the_same_view_name_none(tmp_path):
    """``ant`` beside ``anterior``: no sibling names the other view, so neither folder says a view."""
    for folder in ("ant", "anterior"):
        (tmp_path / folder).mkdir()
    assert view_from_path(tmp_path / "ant" / "1.png") is None and view_from_path(tmp_path / "anterior" / "1.png") is None
