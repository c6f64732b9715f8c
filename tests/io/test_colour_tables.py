"""Tests for scintiseg.io.colour_tables: pictures of a scan shown through a display colour table read back to grey."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.colour_tables import TABLE_NAMES, TABLE_TOLERANCE, colour_table, grey_through_table

#: A grey picture with a body, a bright spot and every grey level (a ramp along the top rows).
RAMP = np.tile(np.arange(256, dtype=np.uint8), (8, 1))
BODY = np.zeros((120, 256), dtype=np.uint8)
BODY[:8] = RAMP
BODY[20:110, 60:200] = 35
BODY[50:60, 100:110] = 180


def _read(tmp_path, rgb: np.ndarray, name: str = "capture.png", **save):
    path = tmp_path / name
    Image.fromarray(rgb).save(path, **save)
    return read_scan(path)


def test_every_table_has_256_entries_and_the_dicom_ones_are_pydicoms():
    from pydicom.pixels import apply_color_lut

    for name in TABLE_NAMES:
        assert colour_table(name).shape == (256, 3) and colour_table(name).dtype == np.uint8
    with pytest.warns(UserWarning):  # pydicom warns that the palette's name is no UID
        expected = apply_color_lut(np.arange(256, dtype=np.uint8), palette="HOT_IRON")
    np.testing.assert_array_equal(colour_table("hot_iron"), expected)
    with pytest.raises(KeyError, match="unknown colour table"):
        colour_table("sepia")


@pytest.mark.parametrize("name", TABLE_NAMES)
def test_a_lossless_picture_through_any_known_table_reads_back_its_grey_levels(tmp_path, name):
    """Exactly, for a table of 256 colours; for one with steps or repeated colours (PET 20 Step, Summer, Jet,
    Viridis) within the grey levels that share the pixel's colour."""
    table = colour_table(name)
    scan = _read(tmp_path, table[BODY])
    view = scan.view("VIEW")
    assert scan.metadata["colour_table"] == name and scan.metadata["colour_table_off"] == 0
    assert view.dtype == np.uint8
    same_colour = np.all(table[:, None, :] == table[None, :, :], axis=-1)  # levels that share a colour
    spread = np.array([np.ptp(np.flatnonzero(row)) for row in same_colour])
    assert np.all(np.abs(view.astype(int) - BODY) <= spread[BODY])
    if len(np.unique(table, axis=0)) == 256:
        np.testing.assert_array_equal(view, BODY)


def test_nm1_through_hot_iron_as_a_jpeg_reads_back_near_its_grey_export(real_nm1):
    """JPEG keeps colour at half resolution, so colours move where the hue changes fast; the grey levels come back
    within a few levels of the grey export's (the grey JPEG itself is about 3 levels off)."""
    counts = read_scan(real_nm1).view("ANT").astype(float)
    grey = np.clip(counts / np.percentile(counts, 99.9) * 255, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(colour_table("hot_iron")[grey]).save(buffer, format="JPEG", quality=90)
    picture = np.asarray(Image.open(buffer).convert("RGB"))
    read = grey_through_table(picture, max_off_share=0.02)
    assert read is not None
    back, off, name = read
    body = grey > 10
    assert name == "hot_iron" and off.mean() < 0.01
    assert np.abs(back.astype(int) - grey)[body].mean() < 7


def test_annotations_on_a_colour_table_picture_are_painted_over_and_counted(tmp_path):
    rgb = colour_table("hot_iron")[BODY].copy()
    rgb[30:33, 70:100] = (0, 255, 0)  # a green marker: on no part of Hot Iron
    scan = _read(tmp_path, rgb)
    view = scan.view("VIEW")
    assert scan.metadata["colour_table"] == "hot_iron" and scan.metadata["colour_table_off"] >= 90
    assert "colour_painted" not in scan.metadata
    assert np.abs(view[30:33, 70:100].astype(int) - 35).max() <= 1  # the body's level around it
    np.testing.assert_array_equal(view[50:60, 100:110], 180)


def test_colours_of_no_known_table_are_refused_in_one_line(tmp_path):
    rng = np.random.default_rng(0)
    with pytest.raises(ScintisegError, match="none of the display tables scintiseg knows"):
        _read(tmp_path, rng.integers(0, 256, (120, 256, 3), dtype=np.uint8))
    grey_with_box = np.stack([BODY] * 3, axis=-1)
    grey_with_box[20:40, :] = (255, 0, 0)  # a red band over 17 % of a grey picture: red is on Hot Iron, grey is not
    with pytest.raises(ScintisegError, match="colour image"):
        _read(tmp_path, grey_with_box)
    half = colour_table("hot_iron")[BODY].copy()
    half[:, 128:] = colour_table("jet")[BODY[:, 128:]]  # two tables in one picture: no one table holds it
    with pytest.raises(ScintisegError, match="colour image"):
        _read(tmp_path, half)


def test_the_tolerance_keeps_grey_off_the_warm_tables():
    """The module docstring's reason for 40: a grey pixel of middle level lies more than half as far again from the
    nuclear-medicine tables, so a grey picture with some colour is not taken for one of them."""
    from scipy.spatial import cKDTree

    middle_greys = np.stack([np.arange(64, 192)] * 3, axis=1).astype(float)
    for name in ("hot_iron", "pet", "hot", "jet"):
        distance, _ = cKDTree(colour_table(name).astype(float)).query(middle_greys)
        assert distance.min() > 1.5 * TABLE_TOLERANCE, name
