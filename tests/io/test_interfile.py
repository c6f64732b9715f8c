"""scintiseg.io.interfile: Interfile 3.3 headers and their data files, read as scans."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io import header_data_files, read_scan
from scintiseg.io.interfile import is_interfile
from scintiseg.io.library_messages import ReaderWarning

HEADER = """!INTERFILE :=
!imaging modality := nucmed
!version of keys := 3.3
; a comment line, and a comment after a value below
!name of data file := {data}
patient name := Test^Patient
!patient ID := P42
imagedata byte order := {order}
!number format := {number_format} ; as SIMIND writes it
!number of bytes per pixel := {size}
!matrix size [1] := {cols}
!matrix size [2] := {rows}
{spacing}
!total number of images := {images}
data offset in bytes := {offset}
!END OF INTERFILE :=
"""


def _write(tmp_path, array: np.ndarray, *, order="BIGENDIAN", number_format="unsigned integer", dtype=">u2",
           spacing="scaling factor (mm/pixel) [1] := 2.4\nscaling factor (mm/pixel) [2] := 2.2", offset=0, name="scan"):
    images = 1 if array.ndim == 2 else array.shape[0]
    rows, cols = array.shape[-2:]
    data = tmp_path / f"{name}.a00"
    data.write_bytes(bytes(offset) + np.asarray(array).astype(dtype).tobytes())
    header = tmp_path / f"{name}.h00"
    header.write_text(HEADER.format(data=data.name, order=order, number_format=number_format,
                                    size=np.dtype(dtype).itemsize, cols=cols, rows=rows, spacing=spacing,
                                    images=images, offset=offset))
    return header


COUNTS = np.random.default_rng(0).poisson(20, size=(64, 32)).astype(np.uint16)


def test_one_view_reads_with_its_spacing_and_ids(tmp_path):
    scan = read_scan(_write(tmp_path, COUNTS))
    assert scan.view_names == ["VIEW"] and scan.view("VIEW").dtype == np.uint16
    np.testing.assert_array_equal(scan.view("VIEW"), COUNTS)
    assert scan.pixel_spacing == (2.2, 2.4)  # [2] is the row size, [1] the column size
    assert (scan.patient_id, scan.patient_name) == ("P42", "Test^Patient")
    assert "pixel_spacing_assumed" not in scan.metadata


@pytest.mark.parametrize("order, number_format, dtype", [
    ("LITTLEENDIAN", "unsigned integer", "<u2"), ("BIGENDIAN", "signed integer", ">i2"),
    ("LITTLEENDIAN", "short float", "<f4"), ("BIGENDIAN", "long float", ">f8"),
])
def test_byte_orders_and_number_formats(tmp_path, order, number_format, dtype):
    scan = read_scan(_write(tmp_path, COUNTS, order=order, number_format=number_format, dtype=dtype, offset=512))
    np.testing.assert_array_equal(scan.view("VIEW").astype(np.float64), COUNTS.astype(np.float64))


def test_two_images_are_ant_then_post_with_a_warning_and_no_spacing_is_assumed(tmp_path):
    pair = np.stack([COUNTS, COUNTS[:, ::-1]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scan = read_scan(_write(tmp_path, pair, spacing=""))
    assert scan.view_names == ["ANT", "POST"]
    np.testing.assert_array_equal(scan.view("POST"), COUNTS[:, ::-1])
    assert any("image 1 = ANT" in str(w.message) for w in caught)
    assert "pixel_spacing_assumed" in scan.metadata
    with pytest.warns(ReaderWarning, match="image 1 = ANT"):
        assert read_scan(tmp_path / "scan.h00", pixel_spacing=3.0).pixel_spacing == (3.0, 3.0)  # given: it has none


@pytest.mark.parametrize("change, problem", [
    (lambda h, d: d.write_bytes(d.read_bytes()[:100]), "has 100 bytes"),
    (lambda h, d: h.write_text(h.read_text().replace("!total number of images := 1", "!total number of images := 64")),
     "64 images: a planar bone scan has one or two views"),
    (lambda h, d: h.write_text(h.read_text().replace("unsigned integer", "bit")), "'bit' of 2 bytes is not supported"),
    (lambda h, d: h.write_text(h.read_text().replace("!matrix size [2] := 64", "!matrix size [2] := 1e12")),
     "is not a planar view"),
    (lambda h, d: h.write_text(h.read_text().replace("!name of data file := scan.a00", "")), "names no data file"),
    (lambda h, d: d.unlink(), "cannot read the Interfile data file 'scan.a00'"),
    (lambda h, d: h.write_text(h.read_text().replace(":= scan.a00", ":= sc\x00an.a00")), "cannot read the Interfile data file"),
    (lambda h, d: h.write_text(h.read_text().replace(":= 2.4", ":= nan")), "not a finite number"),
])
def test_a_broken_study_is_one_error_naming_the_header(tmp_path, change, problem):
    header = _write(tmp_path, COUNTS)
    change(header, tmp_path / "scan.a00")
    with pytest.raises(ScintisegError) as caught:
        read_scan(header)
    assert problem in str(caught.value) and str(caught.value).startswith(str(header))
    assert "\n" not in str(caught.value)


def test_a_folder_of_pairs_is_one_scan_per_header(tmp_path):
    from scintiseg.report.batch import expand_inputs

    _write(tmp_path, COUNTS, name="first")
    _write(tmp_path, COUNTS, name="second")
    assert [p.name for p in expand_inputs([tmp_path])] == ["first.h00", "second.h00"]  # the .a00 files go with them
    assert header_data_files([tmp_path / "first.h00", tmp_path / "first.a00"]) == {(tmp_path / "first.a00").resolve()}
    assert is_interfile(b"\xef\xbb\xbf  !interfile :=") and not is_interfile(b"\x89PNG")


def test_dataset_import_keeps_an_interfile_study_as_one_dicom_case(tmp_path):
    from scintiseg.io.dataset import load_manifest
    from scintiseg.io.importer import import_dataset

    source = tmp_path / "site"
    source.mkdir()
    _write(source, COUNTS)
    import_dataset([source], tmp_path / "data")
    manifest = load_manifest(tmp_path / "data")
    (case,) = manifest.cases
    assert case.image.endswith(".dcm")
    back = read_scan(tmp_path / "data" / case.image)
    np.testing.assert_array_equal(back.view(back.view_names[0]), COUNTS)
    assert back.pixel_spacing == pytest.approx((2.2, 2.4))


def test_a_header_without_byte_order_or_format_reads_big_endian_unsigned_from_its_data_block(tmp_path):
    """Interfile 3.3's defaults: BIGENDIAN, unsigned integer; ``data starting block`` counts 2,048-byte blocks."""
    counts = COUNTS.copy()
    counts[0, 0] = 40000  # above the signed 16-bit range
    header = _write(tmp_path, counts, dtype=">u2", offset=2048)
    text = header.read_text().replace("data offset in bytes := 2048", "data starting block := 1")
    text = "\n".join(line for line in text.splitlines() if "byte order" not in line and "number format" not in line)
    header.write_text(text + "\n")
    np.testing.assert_array_equal(read_scan(header).view("VIEW"), counts)
