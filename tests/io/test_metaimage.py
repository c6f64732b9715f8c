"""scintiseg.io.metaimage: MetaImage headers (``.mhd`` + data file, ``.mha``), read as scans."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io import header_data_files, read_scan
from scintiseg.io.library_messages import ReaderWarning
from scintiseg.io.metaimage import is_metaimage

COUNTS = np.random.default_rng(0).poisson(20, size=(64, 32)).astype(np.uint16)


def _mhd(tmp_path, array=COUNTS, *, element="MET_USHORT", dtype="<u2", msb="False", spacing="2.4 2.2",
         extra="", name="scan"):
    planes = "" if array.ndim == 2 else f" {array.shape[0]}"
    data = tmp_path / f"{name}.raw"
    data.write_bytes(np.asarray(array).astype(dtype).tobytes())
    header = tmp_path / f"{name}.mhd"
    lines = ["ObjectType = Image", f"NDims = {array.ndim}", "BinaryData = True", f"BinaryDataByteOrderMSB = {msb}",
             f"DimSize = {array.shape[-1]} {array.shape[-2]}{planes}", f"ElementType = {element}"]
    if spacing:
        lines.append(f"ElementSpacing = {spacing}")
    lines += [line for line in extra.splitlines() if line] + [f"ElementDataFile = {data.name}"]
    header.write_text("\n".join(lines) + "\n")
    return header


def test_an_mhd_and_its_raw_file_read_as_one_view_with_its_pixel_size(tmp_path):
    scan = read_scan(_mhd(tmp_path))
    assert scan.view_names == ["VIEW"] and scan.view("VIEW").dtype == np.uint16
    np.testing.assert_array_equal(scan.view("VIEW"), COUNTS)  # DimSize is columns first: rows come out as stored
    assert scan.pixel_spacing == (2.2, 2.4)  # ElementSpacing is columns first too
    assert scan.metadata["data_file"] == "scan.raw" and "pixel_spacing_assumed" not in scan.metadata


def test_a_header_spacing_in_metres_is_refused_unless_the_right_one_is_given(tmp_path):
    """ElementSpacing written in metres (0.0024 m read as mm): the 64 x 32 view would be 0.15 x 0.07 mm."""
    header = _mhd(tmp_path, spacing="0.0022 0.0024")
    with pytest.raises(ScintisegError, match=r"pixel spacing 0\.0024 x 0\.0022 mm .*no camera's") as info:
        read_scan(header)
    assert str(header) in str(info.value)
    with pytest.warns(ReaderWarning, match=r"file's pixel spacing 0\.0024 x 0\.0022 mm is no camera's; 2\.4 x 2\.2 mm given"):
        assert read_scan(header, pixel_spacing="2.4x2.2").pixel_spacing == (2.4, 2.2)


@pytest.mark.parametrize("element, dtype, msb", [
    ("MET_SHORT", ">i2", "True"), ("MET_FLOAT", "<f4", "False"), ("MET_UCHAR", "u1", "False"), ("MET_UINT", ">u4", "True"),
])
def test_element_types_and_byte_orders_give_the_same_counts(tmp_path, element, dtype, msb):
    scan = read_scan(_mhd(tmp_path, np.minimum(COUNTS, 120), element=element, dtype=dtype, msb=msb))
    np.testing.assert_array_equal(scan.view("VIEW"), np.minimum(COUNTS, 120))
    assert scan.view("VIEW").dtype.byteorder in ("=", "|")


def test_an_mha_with_two_compressed_planes_is_ant_then_post_with_a_warning(tmp_path):
    views = np.stack([COUNTS, COUNTS[::-1] + 1]).astype(">i2")
    packed = zlib.compress(views.tobytes())
    path = tmp_path / "scan.mha"
    path.write_bytes(("ObjectType = Image\nNDims = 3\nDimSize = 32 64 2\nElementType = MET_SHORT\n"
                      "BinaryDataByteOrderMSB = True\nCompressedData = True\n"
                      f"CompressedDataSize = {len(packed)}\nElementDataFile = LOCAL\n").encode() + packed)
    with pytest.warns(ReaderWarning, match="plane 1 = ANT, plane 2 = POST"):
        scan = read_scan(path)
    assert scan.view_names == ["ANT", "POST"]
    np.testing.assert_array_equal(scan.view("POST"), COUNTS[::-1] + 1)
    assert "data_file" not in scan.metadata  # one file
    assert "pixel_spacing_assumed" in scan.metadata  # no ElementSpacing: assumed, as for images


def test_header_size_minus_one_reads_the_last_bytes_of_the_data_file(tmp_path):
    header = _mhd(tmp_path, extra="HeaderSize = -1")
    data = tmp_path / "scan.raw"
    data.write_bytes(b"a vendor's preamble" + data.read_bytes())
    np.testing.assert_array_equal(read_scan(header).view("VIEW"), COUNTS)


def test_the_data_file_is_not_a_scan_of_its_own(tmp_path):
    header = _mhd(tmp_path)
    assert header_data_files([header, tmp_path / "scan.raw"]) == {(tmp_path / "scan.raw").resolve()}


def test_recognised_by_content_not_by_name(tmp_path):
    assert is_metaimage(b"ObjectType = Image\nNDims = 2\n") and is_metaimage(b"\n  NDims=2\nDimSize = 3 4\n")
    assert not is_metaimage(b"!INTERFILE :=\n") and not is_metaimage(b"rows = 3\n") and not is_metaimage(b"\x89PNG")
    renamed = _mhd(tmp_path).rename(tmp_path / "scan.txt")
    np.testing.assert_array_equal(read_scan(renamed).view("VIEW"), COUNTS)


@pytest.mark.parametrize("change, message", [
    ({"extra": "ElementNumberOfChannels = 3"}, "3 channels"),
    ({"element": "MET_LONG_ARRAY"}, "element type"),
    ({"spacing": "0 2.2"}, "not a camera's"),
    ({"msb": "maybe"}, "neither True nor False"),
])
def test_bad_headers_are_one_error_naming_the_file(tmp_path, change, message):
    with pytest.raises(ScintisegError, match=message) as caught:
        read_scan(_mhd(tmp_path, **change))
    assert "scan.mhd" in str(caught.value)


def test_a_short_data_file_a_list_of_files_and_a_volume_are_one_error(tmp_path):
    header = _mhd(tmp_path)
    (tmp_path / "scan.raw").write_bytes(b"\0" * 100)
    with pytest.raises(ScintisegError, match="need 4096"):
        read_scan(header)
    header.write_text(header.read_text().replace("ElementDataFile = scan.raw", "ElementDataFile = slice%03d.raw 1 9 1"))
    with pytest.raises(ScintisegError, match="list or pattern"):
        read_scan(header)
    volume = _mhd(tmp_path, np.zeros((5, 64, 32), np.uint16), name="vol")
    with pytest.raises(ScintisegError, match="5 planes"):
        read_scan(volume)
