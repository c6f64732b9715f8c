"""scintiseg.io.view_names: the view a one-view file holds, from its name; read_scan(view=...)."""

from __future__ import annotations

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.images import write_png16
from scintiseg.io.view_names import view_from_name


@pytest.mark.parametrize("name, view", [
    ("0123_POST.jpg", "POST"), ("patient 7 posterior.png", "POST"), ("Post3.png", "POST"),
    ("ANT-12.png", "ANT"), ("WB_Anterior_2019.dcm", "ANT"), ("dir.post/scan_ant.png", "ANT"),
    ("scan.png", None), ("postop.png", None), ("pant.png", None), ("x_ant_post.png", None), ("c_p.png", None),
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
