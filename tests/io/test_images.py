"""Plain image files and read_scan's sniffing: .npy, 16-bit PNG, TIFF, raw, masks."""

from __future__ import annotations

import logging
import struct
import warnings
import zlib

import numpy as np
import pytest
import tifffile
from PIL import Image

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.dicom import write_dicom
from scintiseg.io.images import (
    DEFAULT_PIXEL_SPACING,
    MAX_FIELD_MM,
    MIN_FIELD_MM,
    MIN_VIEW_SIDE,
    assumed_pixel_spacing,
    looks_whole_body,
    parse_pixel_spacing,
    read_image,
    read_label_png,
    read_mask_png,
    write_label_png,
    write_mask_png,
    write_png16,
)
from scintiseg.io.library_messages import ReaderWarning
from scintiseg.scan import Scan

COUNTS = (np.arange(24 * 16, dtype=np.uint16).reshape(24, 16) * 150)  # up to 57450: needs 16 bits


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
    scan = read_scan(tmp_path / "m.raw", shape="24x16", dtype="uint16", byteorder=byteorder)
    assert scan.view_names == ["VIEW"]
    np.testing.assert_array_equal(scan.view("VIEW"), COUNTS)


def test_raw_size_mismatch_and_missing_shape(tmp_path):
    (tmp_path / "m.raw").write_bytes(COUNTS.tobytes())
    with pytest.raises(ScintisegError, match="needs 800 bytes"):
        read_scan(tmp_path / "m.raw", shape="20x20", dtype="uint16")
    with pytest.raises(ScintisegError, match="--shape"):
        read_scan(tmp_path / "m.raw")


def test_content_not_name_decides(tmp_path):
    write_png16(COUNTS, tmp_path / "looks_like.npy")
    np.testing.assert_array_equal(read_scan(tmp_path / "looks_like.npy").view("VIEW"), COUNTS)


def test_negative_and_nan_counts_are_rejected(tmp_path):
    counts = np.ones((16, 16), dtype=np.float32)
    counts[3, 5] = -2
    np.save(tmp_path / "neg.npy", counts.astype(np.int16))
    counts[3, 5] = np.nan
    np.save(tmp_path / "nan.npy", counts)
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


# ------------------------------------------------------------------------------------------ hostile input
# Issue 14: a fuzz run accepted a 1 x 1 PNG as a scan and printed tifffile's log line before the error.


def _png_header_only(width: int, height: int) -> bytes:
    """A 16-bit grey PNG whose IHDR claims ``width x height`` and whose image data is one empty row."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("shape", [(1, 1), (MIN_VIEW_SIDE - 1, 256), (1024, MIN_VIEW_SIDE - 1), (2, 8, 300)])
def test_images_too_small_for_a_view_are_refused(tmp_path, shape):
    array = np.ones(shape, dtype=np.uint16)
    np.save(tmp_path / "a.npy", array)
    tifffile.imwrite(tmp_path / "a.tif", array)
    (tmp_path / "a.raw").write_bytes(array.tobytes())
    paths = [tmp_path / "a.npy", tmp_path / "a.tif"]
    if len(shape) == 2:
        write_png16(array, tmp_path / "a.png")
        paths.append(tmp_path / "a.png")
    for path in paths:
        with pytest.raises(ScintisegError, match="too small") as info:
            read_scan(path)
        assert str(path) in str(info.value)
    with pytest.raises(ScintisegError, match="too small"):
        read_scan(tmp_path / "a.raw", shape="x".join(map(str, shape)), dtype="uint16")


def test_smallest_accepted_view(tmp_path):
    array = np.ones((MIN_VIEW_SIDE, MIN_VIEW_SIDE), dtype=np.uint16)
    write_png16(array, tmp_path / "s.png")
    assert read_scan(tmp_path / "s.png").shape == (MIN_VIEW_SIDE, MIN_VIEW_SIDE)


def test_png_claiming_a_huge_size_is_refused_without_decoding(tmp_path):
    (tmp_path / "bomb.png").write_bytes(_png_header_only(200_000, 200_000))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ScintisegError, match="too large"):
            read_scan(tmp_path / "bomb.png")
    assert caught == []


def test_tiff_with_a_bad_first_page_offset_is_one_silent_error(tmp_path, capfd, caplog):
    tifffile.imwrite(tmp_path / "t.tif", COUNTS)
    data = bytearray((tmp_path / "t.tif").read_bytes())
    data[4:8] = struct.pack("<I", 10**8)  # offset of the first page, far past the end
    (tmp_path / "t.tif").write_bytes(bytes(data))
    capfd.readouterr()
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG):
        warnings.simplefilter("always")
        with pytest.raises(ScintisegError) as info:
            read_scan(tmp_path / "t.tif")
    message = str(info.value)
    assert "\n" not in message and str(tmp_path / "t.tif") in message
    assert "(tifffile: " in message and "invalid offset to first page" in message
    assert caught == [] and caplog.records == [] and capfd.readouterr().err == ""


@pytest.mark.parametrize("text, spacing", [("2.26", (2.26, 2.26)), ("2.26x2.0", (2.26, 2.0)), ("4.5X4.5", (4.5, 4.5)),
                                           (1.13, (1.13, 1.13)), ((2.0, 2.4), (2.0, 2.4))])
def test_pixel_spacing_parsed(text, spacing):
    assert parse_pixel_spacing(text) == spacing


@pytest.mark.parametrize("text", ["", "abc", "0", "-2.26", "2x3x4", "nan", "226", "2.26xx"])
def test_pixel_spacing_that_is_no_camera_is_refused(text):
    with pytest.raises(ScintisegError, match="is not MM or ROWxCOL"):
        parse_pixel_spacing(text)


@pytest.mark.parametrize("shape, mm", [((1024, 256), 2.26), ((2048, 512), 1.13), ((512, 128), 4.52),
                                       ((256, 256), 2.26), ((1024, 512), 2.26), ((40, 24), 2.26)])
def test_a_whole_body_image_without_spacing_is_given_the_field_over_its_rows(tmp_path, shape, mm):
    """1024 x 256 at 2.26 mm, 2048 x 512 at 1.13 mm and 512 x 128 at 4.52 mm span the same table; a crop, a
    side-by-side pair or a small image keeps the default."""
    np.save(tmp_path / "scan.npy", np.ones(shape, np.uint16))
    scan = read_scan(tmp_path / "scan.npy")
    assert scan.pixel_spacing == pytest.approx((mm, mm), abs=1e-3)
    assert scan.metadata["pixel_spacing_assumed"].startswith("a whole-body" if shape[0] >= 3 * shape[1] else "the commonest")
    dicom = tmp_path / "scan.dcm"
    write_dicom(Scan({"ANT": np.ones(shape, np.uint16)}, pixel_spacing=(9.0, 9.0)), dicom)
    import pydicom

    ds = pydicom.dcmread(dicom)
    del ds.PixelSpacing
    ds.save_as(dicom)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # marked, not said: prediction says it once (session 73: twice before)
        read = read_scan(dicom)
    assert read.pixel_spacing == pytest.approx((mm, mm), abs=1e-3)  # a DICOM without one: the same rule
    assert read.metadata["pixel_spacing_assumed"]


def test_files_without_a_spacing_take_the_given_one_else_the_default_marked_assumed(tmp_path):
    np.save(tmp_path / "scan.npy", COUNTS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the reader itself does not warn (prediction does, once per file)
        assumed = read_scan(tmp_path / "scan.npy")
        given = read_scan(tmp_path / "scan.npy", pixel_spacing="4.5")
    assert assumed.pixel_spacing == DEFAULT_PIXEL_SPACING == (2.26, 2.26) and assumed.metadata["pixel_spacing_assumed"]
    assert given.pixel_spacing == (4.5, 4.5) and "pixel_spacing_assumed" not in given.metadata


def test_a_dicom_file_keeps_its_own_spacing(tmp_path):
    write_dicom(Scan({"ANT": COUNTS, "POST": COUNTS[:, ::-1]}, pixel_spacing=(2.4, 2.4)), tmp_path / "scan.dcm")
    with pytest.warns(ReaderWarning, match=r"pixel spacing 4\.5 x 4\.5 mm given, the DICOM file's own 2\.4 x 2\.4 mm kept"):
        scan = read_scan(tmp_path / "scan.dcm", pixel_spacing=(4.5, 4.5))
    assert scan.pixel_spacing == (2.4, 2.4) and "pixel_spacing_assumed" not in scan.metadata
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same spacing given: nothing to say
        assert read_scan(tmp_path / "scan.dcm", pixel_spacing="2.4").pixel_spacing == (2.4, 2.4)


def test_a_spacing_given_over_the_header_replaces_a_stale_one_and_records_it(tmp_path):
    """A 512-row whole body whose header kept the 1024-row matrix's 2.26 mm reads as a 1.16 m partial view; asked to,
    the given 4.52 mm replaces it (DICOM, and a header format: MetaImage), with a warning and the file's own kept."""
    from scintiseg.io.read import OVER_HEADER_KEY

    stale = Scan({"ANT": np.ones((512, 128), np.uint16)}, pixel_spacing=(2.26, 2.26))
    write_dicom(stale, tmp_path / "scan.dcm")
    (tmp_path / "scan.raw").write_bytes(np.ones((512, 128), "<u2").tobytes())
    (tmp_path / "scan.mhd").write_text("ObjectType = Image\nNDims = 2\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
                                       "DimSize = 128 512\nElementType = MET_USHORT\nElementSpacing = 2.26 2.26\n"
                                       "ElementDataFile = scan.raw\n")
    for path in (tmp_path / "scan.dcm", tmp_path / "scan.mhd"):
        with pytest.warns(ReaderWarning, match=r"4\.52 x 4\.52 mm given over the file's own 2\.26 x 2\.26 mm"):
            scan = read_scan(path, pixel_spacing="4.52", pixel_spacing_over_header=True)
        assert scan.pixel_spacing == (4.52, 4.52) and scan.metadata[OVER_HEADER_KEY] == [2.26, 2.26], path
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert read_scan(path, pixel_spacing="4.52").pixel_spacing == (2.26, 2.26)  # not asked: the header's
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the header's own given: nothing replaced, nothing said
        same = read_scan(tmp_path / "scan.dcm", pixel_spacing="2.26", pixel_spacing_over_header=True)
    assert OVER_HEADER_KEY not in same.metadata


@pytest.mark.parametrize("spacing", [(500.0, 500.0), (0.001, 0.001), (0.05, 0.05), (4.0, 4.0), (2.26, 25.0)])
def test_a_dicom_spacing_that_is_no_cameras_is_refused_in_one_line(tmp_path, spacing):
    """500 mm (the process was killed for memory resampling it) and 0.001 mm (read as one pixel); 0.05 mm makes a
    51 x 13 mm view, a field, but no camera's pixel; 4 mm makes the 1024 rows 4.1 m long."""
    write_dicom(Scan({"ANT": np.ones((1024, 256), np.uint16)}, pixel_spacing=spacing), tmp_path / "scan.dcm")
    with pytest.raises(ScintisegError, match="no camera's") as info:
        read_scan(tmp_path / "scan.dcm")
    message = str(info.value)
    assert "\n" not in message and str(tmp_path / "scan.dcm") in message and f"{spacing[0]:g} x {spacing[1]:g} mm" in message


def test_the_field_bounds_are_inclusive_and_a_whole_body_scan_is_inside(tmp_path):
    for shape, spacing in [((1024, 256), (2.26, 2.26)), ((2048, 512), (1.13, 1.13)), ((512, 128), (4.52, 4.52)),
                           ((16, 16), (MIN_FIELD_MM / 16, MIN_FIELD_MM / 16)), ((1000, 256), (MAX_FIELD_MM / 1000, 2.0))]:
        write_dicom(Scan({"ANT": np.ones(shape, np.uint16)}, pixel_spacing=spacing), tmp_path / "scan.dcm")
        assert read_scan(tmp_path / "scan.dcm").pixel_spacing == pytest.approx(spacing)


def test_a_spacing_given_for_a_file_without_one_must_make_a_field_too(tmp_path):
    np.save(tmp_path / "scan.npy", np.ones((1024, 256), np.uint16))
    with pytest.raises(ScintisegError, match=r"makes the 1024 x 256 view 10\.24 m x 2\.56 m: no camera's"):
        read_scan(tmp_path / "scan.npy", pixel_spacing="10")


def test_a_dicom_spacing_that_is_no_cameras_gives_way_to_the_given_one(tmp_path):
    write_dicom(Scan({"ANT": np.ones((1024, 256), np.uint16)}, pixel_spacing=(226.0, 226.0)), tmp_path / "scan.dcm")
    with pytest.warns(ReaderWarning, match=r"file's pixel spacing 226 x 226 mm is no camera's; 2\.26 x 2\.26 mm given"):
        assert read_scan(tmp_path / "scan.dcm", pixel_spacing="2.26").pixel_spacing == (2.26, 2.26)


def test_a_dicom_file_without_spacing_takes_the_given_one(tmp_path, monkeypatch):
    import scintiseg.io.read

    write_dicom(Scan({"ANT": COUNTS}, pixel_spacing=(2.26, 2.26)), tmp_path / "scan.dcm")
    read = scintiseg.io.read.read_dicom

    def without_spacing(path):  # what read_dicom says of a file with no Pixel Spacing
        scan = read(path)
        scan.metadata["pixel_spacing_assumed"] = True
        return scan

    monkeypatch.setattr(scintiseg.io.read, "read_dicom", without_spacing)  # where read_scan looks it up
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scan = read_scan(tmp_path / "scan.dcm", pixel_spacing="4.5")
    assert scan.pixel_spacing == (4.5, 4.5) and "pixel_spacing_assumed" not in scan.metadata


# --- 8-bit exports (BS-80K's JPEGs; grey saved as colour or with a palette) --------------------------------------

# A smooth-ish 8-bit view, mostly low grey levels as a bone scan's (well below the inverted-display test's median).
GREY8 = (np.add.outer(np.arange(40) * 3, np.arange(24) * 4) % 250 // 2).astype(np.uint8)


def _save(array: np.ndarray, path, mode: str | None = None, **kwargs) -> None:
    image = Image.fromarray(array)
    (image.convert(mode) if mode else image).save(path, **kwargs)


def test_a_jpeg_export_is_read_as_its_grey_levels(tmp_path):
    _save(GREY8, tmp_path / "export.dat", format="JPEG", quality=95)  # the content, not the name, says JPEG
    view = read_scan(tmp_path / "export.dat").view("VIEW")
    assert view.dtype == np.uint8 and view.shape == GREY8.shape
    assert np.abs(view.astype(int) - GREY8).mean() < 3  # lossy, but the same picture


@pytest.mark.parametrize("mode, fmt", [("RGB", "PNG"), ("RGBA", "PNG"), ("P", "PNG"), ("LA", "PNG"), ("RGB", "JPEG")])
def test_grey_stored_as_colour_or_palette_reads_as_the_grey_image(tmp_path, mode, fmt):
    path = tmp_path / f"grey.{fmt.lower()}"
    image = Image.fromarray(GREY8).convert(mode)
    if mode == "P":  # a grey palette that is not the identity: the values come through the palette, not as indices
        image = Image.fromarray(GREY8).convert("RGB").quantize(256)
        assert (np.asarray(image) != GREY8).any()
    image.save(path, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    view = read_scan(path).view("VIEW")
    assert view.dtype == np.uint8
    if fmt == "PNG":
        np.testing.assert_array_equal(view, GREY8)  # lossless: exactly the grey levels
    else:
        direct = read_scan(_grey_jpeg(tmp_path)).view("VIEW")  # the same picture saved as grey JPEG
        assert np.abs(view.astype(int) - direct).max() <= 3


@pytest.mark.parametrize("fmt, lossless", [("BMP", True), ("GIF", True), ("WEBP", False)])
def test_bmp_gif_and_webp_exports_are_read_by_content_as_their_grey_levels(tmp_path, fmt, lossless):
    """Older workstations export BMP or GIF, web viewers WebP; before session 21 each was an unrecognised format."""
    path = tmp_path / "export.dat"  # the content says what it is, not the name
    Image.fromarray(GREY8).save(path, format=fmt, **({} if lossless else {"quality": 95}))
    view = read_scan(path).view("VIEW")
    assert view.dtype == np.uint8 and view.shape == GREY8.shape
    if lossless:
        np.testing.assert_array_equal(view, GREY8)
    else:
        assert np.abs(view.astype(int) - GREY8).mean() < 3
    path.write_bytes(path.read_bytes()[:40])  # truncated: one error
    with pytest.raises(ScintisegError, match="unreadable image"):
        read_scan(path)


def _grey_jpeg(tmp_path):
    path = tmp_path / "direct.jpg"
    _save(GREY8, path, format="JPEG", quality=95)
    return path


def test_a_grey_export_with_annotations_drawn_in_colour_is_read_with_them_painted_over(tmp_path):
    """A screen capture: grey content saved as colour, a yellow word and a red cross drawn in (under 2 % of the
    pixels). Read as grey; the coloured pixels take the grey around them and the scan says how many were painted."""
    grey = np.full((128, 64), 40, dtype=np.uint8)
    grey[60:70, 20:40] = 120  # a hot spot, left as it is
    rgb = np.stack([grey] * 3, axis=-1)
    rgb[5:8, 5:25] = (255, 255, 0)  # a yellow stroke on background
    rgb[100:103, 40:50] = (255, 0, 0)  # a red marker
    _save(rgb, tmp_path / "capture.png")
    scan = read_scan(tmp_path / "capture.png")
    view = scan.view("VIEW")
    assert view.dtype == np.uint8 and scan.metadata["colour_painted"] >= 30 + 30
    assert np.abs(view[5:8, 5:25].astype(int) - 40).max() <= 1 and np.abs(view[100:103, 40:50].astype(int) - 40).max() <= 1
    np.testing.assert_array_equal(view[60:70, 20:40], 120)
    assert "colour_painted" not in read_scan(_grey_jpeg(tmp_path)).metadata  # grey content saved as colour: nothing painted


def test_colour_and_transparent_images_are_refused_in_one_line(tmp_path):
    colour = np.stack([GREY8, 255 - GREY8, GREY8 // 2], axis=-1)  # a colour table's hues, not grey
    _save(colour, tmp_path / "colour.png")
    with pytest.raises(ScintisegError, match=r"colour image \(its channels differ by up to \d+ grey levels over [\d.]+ % of it, and its colours are "
                       r"none of the display tables scintiseg knows\)"):
        read_scan(tmp_path / "colour.png")
    _save(colour, tmp_path / "colour.jpg", format="JPEG")
    with pytest.raises(ScintisegError, match="colour image"):
        read_scan(tmp_path / "colour.jpg")
    rgba = np.dstack([np.stack([GREY8] * 3, axis=-1), np.full(GREY8.shape, 255, np.uint8)])
    rgba[0, 0, 3] = 0
    _save(rgba, tmp_path / "holes.png")
    with pytest.raises(ScintisegError, match="transparent pixels"):
        read_scan(tmp_path / "holes.png")
    _save(np.stack([GREY8] * 3, axis=-1), tmp_path / "cmyk.jpg", mode="CMYK", format="JPEG")
    with pytest.raises(ScintisegError, match="CMYK image: a count image has one grey channel"):
        read_scan(tmp_path / "cmyk.jpg")


def test_a_truncated_jpeg_is_one_error(tmp_path):
    path = _grey_jpeg(tmp_path)
    path.write_bytes(path.read_bytes()[: 200])
    with pytest.raises(ScintisegError, match="unreadable image"):
        read_scan(path)


def whole_body_grey(seed: int = 0) -> np.ndarray:
    """An 8-bit whole-body-shaped export (480 x 120, the fewest rows a whole-body matrix has are 512 at 4.5 mm) of
    Poisson counts: background, body, a spine, a hot bladder."""
    expected = np.full((160, 40), 0.5)
    expected[10:150, 8:32] = 8.0     # soft tissue
    expected[20:120, 18:22] = 40.0   # spine
    expected[125:135, 15:25] = 150.0  # bladder
    expected = np.kron(expected, np.ones((3, 3)))
    return np.clip(np.random.default_rng(seed).poisson(expected), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("rows, cols, whole_body", [
    (1024, 256, True), (2048, 512, True), (512, 128, True), (480, 120, True),
    (200, 60, False),   # a BS-80K half-chest crop: as narrow as a whole-body view, far shorter
    (224, 40, False),   # a spine crop
    (400, 128, False),  # a thoracic window
    (1024, 512, False),  # ANT and POST side by side
])
def test_only_whole_body_shapes_are_taken_for_a_whole_body_view(rows, cols, whole_body):
    assert looks_whole_body(rows, cols) is whole_body
    spacing, why = assumed_pixel_spacing(rows, cols)
    if whole_body:
        assert spacing[0] == spacing[1] == pytest.approx(1024 * 2.26 / rows, abs=1e-3) and f"its {rows} rows" in why
    else:  # a crop keeps the pixel size of the scan it was cut from, the commonest one when the file does not say
        assert spacing == (2.26, 2.26) and why == "the commonest whole-body pixel size"


def test_a_tall_region_crop_is_read_at_the_default_pixel_size(tmp_path):
    """A 60 x 200 8-bit chest crop (BS-80K's size) was read as a whole-body view at 11.6 mm pixels."""
    _save(np.tile(GREY8, (5, 3))[:200, :60], tmp_path / "chest.jpg", format="JPEG", quality=90)
    scan = read_scan(tmp_path / "chest.jpg")
    assert scan.view("VIEW").shape == (200, 60) and scan.pixel_spacing == (2.26, 2.26)


def test_an_inverted_display_export_is_turned_back_and_marked(tmp_path):
    """Hot = black on a white background: read back as grey levels that rise with the counts; a plain export, a
    crop and 16-bit counts are left alone (a blanked outside:
    test_an_inverted_exports_blanked_outside_of_any_outline_stays_zero)."""
    counts = whole_body_grey()
    _save(255 - counts, tmp_path / "inverted.png")
    scan = read_scan(tmp_path / "inverted.png")
    np.testing.assert_array_equal(scan.view("VIEW"), counts)
    assert scan.metadata["display_inverted"] is True
    _save(counts, tmp_path / "plain.png")  # a display that was not inverted is left alone
    plain = read_scan(tmp_path / "plain.png")
    np.testing.assert_array_equal(plain.view("VIEW"), counts)
    assert "display_inverted" not in plain.metadata
    hard = np.clip(counts.astype(int) * 30, 0, 255).astype(np.uint8)  # a hard window: mostly bright, not inverted
    _save(hard, tmp_path / "hard.png")
    assert np.median(hard[hard > 0]) > 127.5 and "display_inverted" not in read_scan(tmp_path / "hard.png").metadata
    _save((255 - counts)[120:240], tmp_path / "crop.png")  # a crop is not judged: a hard window looks the same
    assert "display_inverted" not in read_scan(tmp_path / "crop.png").metadata
    np.save(tmp_path / "counts16.npy", (255 - counts).astype(np.uint16))  # 16-bit counts are never a display
    assert "display_inverted" not in read_scan(tmp_path / "counts16.npy").metadata


def test_a_tiff_of_two_pages_is_ant_and_post_and_of_three_is_refused(tmp_path):
    """Two images of one shape written as separate pages were read as the first alone (the second dropped)."""
    ant = np.arange(64 * 32, dtype=np.uint16).reshape(64, 32)
    with tifffile.TiffWriter(tmp_path / "pages.tif") as tiff:
        tiff.write(ant)
        tiff.write(ant[:, ::-1])
    scan = read_scan(tmp_path / "pages.tif")
    assert scan.view_names == ["ANT", "POST"]
    np.testing.assert_array_equal(scan.view("ANT"), ant)
    np.testing.assert_array_equal(scan.view("POST"), ant[:, ::-1])
    with tifffile.TiffWriter(tmp_path / "three.tif") as tiff:
        for _ in range(3):
            tiff.write(ant)
    with pytest.raises(ScintisegError, match="3 images of 64 x 32: a planar scan has at most two views"):
        read_scan(tmp_path / "three.tif")


def test_a_damaged_chunk_length_on_a_machine_with_little_memory_is_one_line(tmp_path):
    """Found by benchmarks/bench_fuzz.py (seed 20261205, dataset 191: a mask PNG whose IDAT length reads 0xffff0000):
    Pillow reads the rest of the chunk in one call and Python allocates the 4 GB first; under a 1 GB limit that was a
    MemoryError traceback, now one line naming the file. Run in a child process, which the limit cannot outlive."""
    import subprocess
    import sys

    damaged = tmp_path / "mask.png"
    damaged.write_bytes(bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000100000002008000000003ee2a710ffff000049444154789c6360a00760846286ff50"
        "0126741564088c023a0000c16a010a18b021500000000049454e44ae426082"))
    child = ("import resource, sys\n"
             "resource.setrlimit(resource.RLIMIT_DATA, (2**30, 2**30))\n"
             "from scintiseg.errors import ScintisegError\n"
             "from scintiseg.io.images import read_image\n"
             "try:\n    read_image(sys.argv[1])\n    print('read')\n"
             "except ScintisegError as error:\n    print(error)\n")
    done = subprocess.run([sys.executable, "-c", child, str(damaged)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.strip() == f"{damaged}: unreadable image (a damaged part claims more bytes than memory holds)"


def test_an_inverted_exports_blanked_outside_of_any_outline_stays_zero(tmp_path):
    """Zeros that reach the edge along a slanted outline (no flat panel a viewer's furniture check would blank) are the
    blanked outside: they stay 0 when the display is turned back, not the hottest grey level."""
    counts = whole_body_grey()
    blanked = 255 - counts
    rows, cols = np.mgrid[: blanked.shape[0], : blanked.shape[1]]
    outside = rows + cols < 30  # a corner cut off along a diagonal
    blanked[outside] = 0
    _save(blanked, tmp_path / "corner.png")
    scan = read_scan(tmp_path / "corner.png")
    assert scan.metadata["display_inverted"] is True
    view = scan.view("VIEW")
    assert (view[outside] == 0).all()
    np.testing.assert_array_equal(view[~outside], counts[~outside])


def test_a_label_image_gives_its_ids_from_palette_grey_16_bit_tiff_and_npy(tmp_path):
    """read_label_image: a palette PNG's indexes (not its colours' grey levels, which read_image gives), grey values of
    8 and 16 bits, TIFF, and an .npy of whole-number floats, each back as the same ids."""
    from scintiseg.io.images import read_image, read_label_image

    ids = np.zeros((40, 20), dtype=np.uint8)
    ids[5:15, 2:8], ids[20:30, 10:18] = 3, 12
    palette = Image.fromarray(ids, mode="P")
    palette.putpalette([min(20 * i, 255) for i in range(256) for _ in range(3)])  # id i shown grey 20 i
    palette.save(tmp_path / "palette.png")
    assert set(np.unique(read_image(tmp_path / "palette.png")).tolist()) == {0, 60, 240}  # as shown, not the ids
    Image.fromarray(ids).save(tmp_path / "grey.png")
    Image.fromarray(ids.astype(np.uint16) * 300).save(tmp_path / "deep.png")
    tifffile.imwrite(tmp_path / "ids.tif", ids)
    np.save(tmp_path / "ids.npy", ids.astype(np.float64))
    for name, scale in (("palette.png", 1), ("grey.png", 1), ("deep.png", 300), ("ids.tif", 1), ("ids.npy", 1)):
        np.testing.assert_array_equal(read_label_image(tmp_path / name), ids.astype(np.int64) * scale)


@pytest.mark.parametrize("write, said", [
    (lambda p: Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(p.with_suffix(".png")), "not colours"),
    (lambda p: np.save(p.with_suffix(".npy"), np.full((20, 20), 0.5)), "whole numbers"),
    (lambda p: np.save(p.with_suffix(".npy"), np.full((20, 20), -1)), "from 0"),
    (lambda p: np.save(p.with_suffix(".npy"), np.zeros((3, 20, 20))), "one 2-D image"),
    (lambda p: p.with_suffix(".png").write_bytes(b"GIF89a not a label image"), "not a label image"),
])
def test_a_label_image_that_holds_no_ids_is_one_line_naming_it(tmp_path, write, said):
    from scintiseg.io.images import read_label_image

    write(tmp_path / "mask")
    path = next(tmp_path.iterdir())
    with pytest.raises(ScintisegError, match=said) as caught:
        read_label_image(path)
    assert str(path) in str(caught.value)
