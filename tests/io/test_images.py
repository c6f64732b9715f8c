"""Plain image files and read_scan's sniffing: .npy, 16-bit PNG, TIFF, raw, masks."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.images import (
    read_image,
    read_label_png,
    read_mask_png,
    write_label_png,
    write_mask_png,
    write_png16,
)

COUNTS = (np.arange(6 * 4, dtype=np.uint16).reshape(6, 4) * 2500)  # up to 57500: needs 16 bits


def test_png16_round_trip(tmp_path):
    write_png16(COUNTS, tmp_path / "c.png")
    back = read_image(tmp_path / "c.png")
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, COUNTS)


def test_npy_and_tiff_two_views(tmp_path):
    stack = np.stack([COUNTS, COUNTS[:, ::-1]])
    np.save(tmp_path / "s.npy", stack)
    tifffile.imwrite(tmp_path / "s.tif", stack)
    for name in ("s.npy", "s.tif"):
        scan = read_scan(tmp_path / name, pixel_spacing=(3.0, 3.0))
        assert scan.view_names == ["ANT", "POST"] and scan.pixel_spacing == (3.0, 3.0)
        np.testing.assert_array_equal(scan.view("POST"), COUNTS[:, ::-1])
        assert scan.patient_id == "s"


@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_raw_matrix(tmp_path, byteorder):
    (tmp_path / "m.raw").write_bytes(COUNTS.astype(np.dtype("uint16").newbyteorder(byteorder)).tobytes())
    scan = read_scan(tmp_path / "m.raw", shape="6x4", dtype="uint16", byteorder=byteorder)
    assert scan.view_names == ["VIEW"]
    np.testing.assert_array_equal(scan.view("VIEW"), COUNTS)


def test_raw_size_mismatch_and_missing_shape(tmp_path):
    (tmp_path / "m.raw").write_bytes(COUNTS.tobytes())
    with pytest.raises(ScintisegError, match="needs 50 bytes"):
        read_scan(tmp_path / "m.raw", shape="5x5", dtype="uint16")
    with pytest.raises(ScintisegError, match="--shape"):
        read_scan(tmp_path / "m.raw")


def test_content_not_name_decides(tmp_path):
    write_png16(COUNTS, tmp_path / "looks_like.npy")
    np.testing.assert_array_equal(read_scan(tmp_path / "looks_like.npy").view("VIEW"), COUNTS)


def test_negative_and_nan_counts_are_rejected(tmp_path):
    np.save(tmp_path / "neg.npy", np.array([[1, -2], [3, 4]], dtype=np.int16))
    np.save(tmp_path / "nan.npy", np.array([[1, np.nan], [3, 4]], dtype=np.float32))
    with pytest.raises(ScintisegError, match="negative"):
        read_scan(tmp_path / "neg.npy")
    with pytest.raises(ScintisegError, match="NaN"):
        read_scan(tmp_path / "nan.npy")


def test_mask_png_round_trip_and_values(tmp_path):
    mask = np.zeros((5, 7), dtype=bool)
    mask[1:3, 2:6] = True
    write_mask_png(mask, tmp_path / "m.png")
    assert set(np.unique(np.asarray(Image.open(tmp_path / "m.png")))) == {0, 1}
    np.testing.assert_array_equal(read_mask_png(tmp_path / "m.png"), mask)

    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "m255.png")
    with pytest.warns(UserWarning, match="0/255"):
        np.testing.assert_array_equal(read_mask_png(tmp_path / "m255.png"), mask)

    Image.fromarray(mask.astype(np.uint8) * 2).save(tmp_path / "m2.png")
    with pytest.raises(ScintisegError, match=r"label values \[2\]"):
        read_mask_png(tmp_path / "m2.png")


def test_label_png_round_trip(tmp_path):
    labels = np.arange(20, dtype=np.uint8).reshape(4, 5) * 12
    write_label_png(labels, tmp_path / "r.png")
    np.testing.assert_array_equal(read_label_png(tmp_path / "r.png"), labels)
    with pytest.raises(ScintisegError, match="8 bits"):
        write_label_png(labels.astype(int) + 300, tmp_path / "bad.png")
