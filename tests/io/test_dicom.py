"""DICOM reader and writer: the shipped NEMA NM1 files, round trips, view assignment, bad input."""

from __future__ import annotations

import logging
import shutil
import subprocess
import warnings

import numpy as np
import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag
from pydicom.sequence import Sequence

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.dicom import VIEW_CODES, read_dicom, scan_to_dataset, write_dicom
from scintiseg.io.patient_sides import CONVENTION, MIRRORED_KEY, ORIENTATION_KEY
from scintiseg.scan import Scan
from support import gdcm_recompressed


# ------------------------------------------------------------------------------------------ real files


def test_real_nm1_figures(real_nm1):
    scan = read_dicom(real_nm1)
    facts = scan.summary()
    assert facts["views"] == ["ANT"]  # GE dataset name WHOLE BODY_E = anterior
    assert facts["shape"] == [1024, 256]
    assert facts["counts"]["ANT"] == {"total": 3596452, "max": 278.0}
    assert facts["pixel_spacing"] == [2.26, 2.26]
    assert scan.patient_id == "8NM1"
    assert scan.patient_name == "CompressedSamples^NM1"
    assert scan.view("ANT").dtype == np.int16
    assert scan.metadata["modality"] == "NM"


def test_real_rle_gives_identical_array(real_nm1, real_nm1_rle):
    plain, rle = read_dicom(real_nm1), read_dicom(real_nm1_rle)
    assert rle.metadata["transfer_syntax"] == pydicom.uid.RLELossless
    assert plain.metadata["transfer_syntax"] == pydicom.uid.ExplicitVRLittleEndian
    assert rle.view_names == plain.view_names
    np.testing.assert_array_equal(rle.view("ANT"), plain.view("ANT"))


def test_dual_personality_preamble_is_read_as_dicom(real_nm1):
    # The preamble holds a TIFF header; the sniffer must look for DICM at offset 128 first.
    head = real_nm1.read_bytes()[:132]
    assert head[:4] == b"II*\x00" and head[128:] == b"DICM"
    assert read_scan(real_nm1).view_names == ["ANT"]


def test_real_file_round_trips_through_writer(real_nm1, tmp_path):
    scan = read_dicom(real_nm1)
    write_dicom(scan, tmp_path / "nm1.dcm")
    back = read_dicom(tmp_path / "nm1.dcm")
    assert back.view_names == ["ANT"]
    np.testing.assert_array_equal(back.view("ANT"), scan.view("ANT"))
    assert back.view("ANT").dtype == np.int16
    assert (back.study_uid, back.series_uid, back.patient_id) == (scan.study_uid, scan.series_uid, scan.patient_id)
    # The patient's sex and birth date carried through (session 74: written empty, so two people sharing a Patient ID
    # could not be told apart on import); a value that is no DICOM sex or date is left empty.
    assert back.metadata["patient_sex"] == scan.metadata["patient_sex"] == "M"
    scan.metadata |= {"patient_sex": "female", "patient_birth_date": "19500101"}
    write_dicom(scan, tmp_path / "other.dcm")
    written = pydicom.dcmread(tmp_path / "other.dcm")
    assert (written.PatientSex, written.PatientBirthDate) == ("", "19500101")


# ------------------------------------------------------------------------------------------ writer


def test_write_read_round_trip_two_views(small_scan, tmp_path):
    write_dicom(small_scan, tmp_path / "scan.dcm")
    back = read_dicom(tmp_path / "scan.dcm")
    assert back.view_names == ["ANT", "POST"]
    for name in ("ANT", "POST"):
        np.testing.assert_array_equal(back.view(name), small_scan.view(name))
        assert back.view(name).dtype == np.uint16
    assert back.pixel_spacing == pytest.approx(small_scan.pixel_spacing)
    assert back.patient_id == "P0001" and back.patient_name == "Phantom^One"
    assert back.study_uid == small_scan.study_uid and back.series_uid == small_scan.series_uid


def test_written_tags_are_nm_whole_body(small_scan, tmp_path):
    write_dicom(small_scan, tmp_path / "scan.dcm")
    ds = pydicom.dcmread(tmp_path / "scan.dcm")
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.20"  # NM Image Storage
    assert ds.Modality == "NM"
    assert list(ds.ImageType) == ["ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"]
    assert int(ds.NumberOfFrames) == 2
    assert list(ds.DetectorVector) == [1, 2]
    assert list(ds.EnergyWindowVector) == [1, 1]
    codes = [item.ViewCodeSequence[0].CodeValue for item in ds.DetectorInformationSequence]
    assert codes == [VIEW_CODES["ANT"][0], VIEW_CODES["POST"][0]]
    assert [float(v) for v in ds.PixelSpacing] == [2.4, 2.4]
    assert ds.preamble == b"\x00" * 128
    assert ds.StudyDate == "" and "AcquisitionDate" not in ds  # no clock-time stamps


def test_writer_is_deterministic(small_scan, tmp_path):
    write_dicom(small_scan, tmp_path / "a.dcm")
    write_dicom(small_scan, tmp_path / "b.dcm")
    assert (tmp_path / "a.dcm").read_bytes() == (tmp_path / "b.dcm").read_bytes()


def test_missing_uids_are_generated_deterministically_and_differ_by_content(small_scan, tmp_path):
    bare = small_scan.with_views(small_scan.views, study_uid="", series_uid="")
    other = bare.with_views({"ANT": small_scan.view("ANT") + 1, "POST": small_scan.view("POST")})
    uids = []
    for name, scan in (("a", bare), ("b", bare), ("c", other)):
        write_dicom(scan, tmp_path / f"{name}.dcm")
        back = read_dicom(tmp_path / f"{name}.dcm")
        assert pydicom.uid.UID(back.study_uid).is_valid and back.series_uid != back.study_uid
        uids.append((back.study_uid, back.series_uid))
    assert uids[0] == uids[1] and uids[0] != uids[2]


def test_metadata_dates_are_written_when_given(small_scan, tmp_path):
    scan = small_scan.with_views(small_scan.views)
    scan.metadata.update(study_date="20240102", acquisition_time="101500")
    write_dicom(scan, tmp_path / "d.dcm")
    ds = pydicom.dcmread(tmp_path / "d.dcm")
    assert ds.StudyDate == "20240102" and ds.AcquisitionTime == "101500"


def test_single_unnamed_view_round_trips(tmp_path):
    scan = Scan({"VIEW": np.arange(12, dtype=np.uint16).reshape(4, 3)}, patient_id="X")
    write_dicom(scan, tmp_path / "v.dcm")
    back = read_dicom(tmp_path / "v.dcm")
    assert back.view_names == ["VIEW"]
    np.testing.assert_array_equal(back.view("VIEW"), scan.view("VIEW"))


def test_writer_rejects_counts_over_16_bits(tmp_path):
    scan = Scan({"ANT": np.full((4, 4), 70000, dtype=np.int32)})
    with pytest.raises(ScintisegError, match="16-bit"):
        write_dicom(scan, tmp_path / "big.dcm")
    assert not list(tmp_path.iterdir())  # nothing half-written


# ------------------------------------------------------------------------------------------ views


def _two_frame_dataset(small_scan) -> Dataset:
    return scan_to_dataset(small_scan)


def _save(ds: Dataset, path):
    ds.save_as(path, enforce_file_format=True)
    return path


def test_frames_follow_detector_vector(small_scan, tmp_path):
    ds = _two_frame_dataset(small_scan)
    # POST stored first: detector 2 (posterior) then detector 1 (anterior).
    ant, post = small_scan.view("ANT"), small_scan.view("POST")
    ds.PixelData = np.stack([post, ant]).astype("<u2").tobytes()
    ds.DetectorVector = [2, 1]
    back = read_dicom(_save(ds, tmp_path / "swapped.dcm"))
    np.testing.assert_array_equal(back.view("ANT"), ant)
    np.testing.assert_array_equal(back.view("POST"), post)


def test_ge_private_names_give_the_side(small_scan, tmp_path):
    ds = _two_frame_dataset(small_scan)
    items = []
    for name in ("WB_F", "WB_E"):  # detector 1 is the posterior here
        item = Dataset()
        block = item.private_block(0x0011, "GEMS_GENIE_1", create=True)
        block.add_new(0x12, "LO", name)
        items.append(item)
    ds.DetectorInformationSequence = Sequence(items)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # named by GE: no guessing, no warning
        back = read_dicom(_save(ds, tmp_path / "ge.dcm"))
    np.testing.assert_array_equal(back.view("POST"), small_scan.view("ANT"))
    np.testing.assert_array_equal(back.view("ANT"), small_scan.view("POST"))


def test_detector_one_is_anterior_with_a_warning(small_scan, tmp_path):
    ds = _two_frame_dataset(small_scan)
    ds.DetectorInformationSequence = Sequence([Dataset(), Dataset()])
    with pytest.warns(UserWarning, match="detector 1 = ANT"):
        back = read_dicom(_save(ds, tmp_path / "nocodes.dcm"))
    np.testing.assert_array_equal(back.view("ANT"), small_scan.view("ANT"))


def test_old_srt_view_codes_are_understood(small_scan, tmp_path):
    ds = _two_frame_dataset(small_scan)
    for item, (value, meaning) in zip(
        ds.DetectorInformationSequence, (("R-10214", "postero-anterior"), ("R-10206", "antero-posterior"))
    ):
        item.ViewCodeSequence[0].CodeValue = value
        item.ViewCodeSequence[0].CodingSchemeDesignator = "SRT"
        item.ViewCodeSequence[0].CodeMeaning = meaning
    back = read_dicom(_save(ds, tmp_path / "srt.dcm"))
    np.testing.assert_array_equal(back.view("POST"), small_scan.view("ANT"))


# ------------------------------------------------------------------------------------------ bad input


def _expect_one_line_error(path, match):
    with pytest.raises(ScintisegError, match=match) as info:
        read_scan(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_not_a_dicom_file(tmp_path):
    path = tmp_path / "notes.dcm"
    path.write_text("hello, I am not an image\n" * 10)
    _expect_one_line_error(path, "unrecognised file format")
    with pytest.raises(ScintisegError, match="not a DICOM file"):
        read_dicom(path)


def test_an_empty_file_is_said_to_be_empty(tmp_path):
    """Not "unrecognised file format ... a raw matrix needs --shape": there is nothing in it to recognise."""
    path = tmp_path / "empty.dcm"
    path.write_bytes(b"")
    _expect_one_line_error(path, r"empty file \(0 bytes\)$")


def test_truncated_file(real_nm1, tmp_path):
    data = real_nm1.read_bytes()
    for cut in (140, 2000, len(data) // 2, len(data) - 1000):
        path = tmp_path / f"cut{cut}.dcm"
        path.write_bytes(data[:cut])
        with pytest.raises(ScintisegError):
            read_dicom(path)


def test_no_pixel_data(small_scan, tmp_path):
    ds = _two_frame_dataset(small_scan)
    del ds.PixelData
    _expect_one_line_error(_save(ds, tmp_path / "nopix.dcm"), "no pixel data")


def test_rows_halved_is_caught(real_nm1, tmp_path):
    ds = pydicom.dcmread(real_nm1)
    ds.Rows = 512  # same pixel data: pydicom would happily decode half of it
    _expect_one_line_error(_save(ds, tmp_path / "halved.dcm"), "pixel data longer than the header")


def test_more_frames_than_views_without_view_information(small_scan, tmp_path):
    ds = _two_frame_dataset(small_scan)
    ds.PixelData = np.stack([small_scan.view("ANT")] * 3).astype("<u2").tobytes()
    ds.NumberOfFrames = 3
    del ds.DetectorVector
    _expect_one_line_error(_save(ds, tmp_path / "three.dcm"), "3 frames")
    ds.PixelData = np.stack([small_scan.view("ANT")] * 2).astype("<u2").tobytes()
    ds.NumberOfFrames = 2
    _expect_one_line_error(_save(ds, tmp_path / "two.dcm"), "without view information")


def test_negative_counts(small_scan, tmp_path):
    ds = _two_frame_dataset(small_scan)
    pixels = np.stack([small_scan.view("ANT"), small_scan.view("POST")]).astype(np.int16)
    pixels[0, 3, 3] = -5
    ds.PixelRepresentation = 1
    ds.PixelData = pixels.astype("<i2").tobytes()
    _expect_one_line_error(_save(ds, tmp_path / "neg.dcm"), "negative counts")


def test_nan_counts(small_scan, tmp_path):
    ds = _two_frame_dataset(small_scan)
    pixels = np.stack([small_scan.view("ANT"), small_scan.view("POST")]).astype(np.float32)
    pixels[1, 0, 0] = np.nan
    del ds.PixelData, ds.BitsStored, ds.HighBit, ds.PixelRepresentation
    ds.BitsAllocated = 32
    ds.FloatPixelData = pixels.astype("<f4").tobytes()
    _expect_one_line_error(_save(ds, tmp_path / "nan.dcm"), "NaN")


# ------------------------------------------------------------------------------------------ hostile input
# Issue 14: a fuzz run of the CLI found decoder failures printed as pydicom tracebacks and library warnings
# printed before scintiseg's own one-line error.


def _pixel_fragment_offset(data: bytes) -> int:
    """Byte offset of the first pixel-data fragment's value (after the Basic Offset Table item)."""
    start = data.rfind(b"\xe0\x7f\x10\x00") + 12  # (7FE0,0010) OB, reserved, undefined length
    bot_length = int.from_bytes(data[start + 4 : start + 8], "little")
    return start + 8 + bot_length + 8


def _compressed(small_scan, tmp_path, syntax, name: str):
    ds = scan_to_dataset(small_scan)
    ds.compress(syntax)
    return _save(ds, tmp_path / name)


def _patched_fragment(small_scan, tmp_path, syntax, name: str, start: int, value: bytes):
    """``small_scan`` compressed with ``syntax``, with ``value`` written ``start`` bytes into its first fragment."""
    path = _compressed(small_scan, tmp_path, syntax, name)
    data = bytearray(path.read_bytes())
    at = _pixel_fragment_offset(bytes(data)) + start
    data[at : at + len(value)] = value
    path.write_bytes(bytes(data))
    return path


def _rle_with_99_segments(small_scan, tmp_path):
    # one 16-bit sample has two byte segments; the RLE header now claims 99
    return _patched_fragment(small_scan, tmp_path, pydicom.uid.RLELossless, "rle99.dcm", 0, (99).to_bytes(4, "little"))


def _rle_fragment_cut(small_scan, tmp_path):
    # the first segment's offset points far past the fragment
    return _patched_fragment(small_scan, tmp_path, pydicom.uid.RLELossless, "rlecut.dcm", 4, (10**6).to_bytes(4, "little"))


def _jpegls_scrambled(small_scan, tmp_path):
    # the SOI marker and the frame header become garbage
    return _patched_fragment(small_scan, tmp_path, pydicom.uid.JPEGLSLossless, "jls.dcm", 0, bytes(range(64)))


def _jpeg_lossless_scrambled(small_scan, tmp_path):
    # a JPEG Lossless stream scrambled: GDCM (in a child process) prints "Not a JPEG file" and fails
    ds = scan_to_dataset(small_scan)
    del ds.DetectorInformationSequence  # GDCM's reader (not its decoder) aborts on an item without a position
    path = gdcm_recompressed(_save(ds, tmp_path / "plain.dcm"), tmp_path / "jll.dcm", "JPEGLosslessProcess14_1")
    data = bytearray(path.read_bytes())
    at = data.rfind(b"\xfe\xff\x00\xe0") + 8  # the last item's value: the frame's JPEG stream
    data[at : at + 32] = bytes(range(32))
    path.write_bytes(bytes(data))
    return path


def _fragment_length_too_long(small_scan, tmp_path):
    # the fragment's item length (the 4 bytes before its value) claims 2 GB
    return _patched_fragment(small_scan, tmp_path, pydicom.uid.RLELossless, "rlelen.dcm", -4, (2**31).to_bytes(4, "little"))


def _deflate_truncated(small_scan, tmp_path):
    ds = scan_to_dataset(small_scan)
    ds.file_meta.TransferSyntaxUID = pydicom.uid.DeflatedExplicitVRLittleEndian
    path = _save(ds, tmp_path / "deflate.dcm")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 200])
    return path


@pytest.mark.parametrize(
    "make", [_rle_with_99_segments, _rle_fragment_cut, _jpegls_scrambled, _jpeg_lossless_scrambled,
             _fragment_length_too_long, _deflate_truncated]
)
def test_pixel_decode_failures_are_one_silent_error(make, small_scan, tmp_path, capfd, caplog):
    path = make(small_scan, tmp_path)
    capfd.readouterr()
    caplog.clear()
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG):
        warnings.simplefilter("always")
        _expect_one_line_error(path, "pixel data|unreadable DICOM")
    assert [str(w.message) for w in caught] == []  # nothing besides the error: no warning, ...
    assert caplog.records == []  # ... no pydicom log record (the CLI's root handler printed its traceback), ...
    assert capfd.readouterr().err == ""  # ... nothing on stderr


def test_every_writable_transfer_syntax_reads_back(small_scan, tmp_path):
    syntaxes = [pydicom.uid.ExplicitVRLittleEndian, pydicom.uid.ImplicitVRLittleEndian,
                pydicom.uid.ExplicitVRBigEndian, pydicom.uid.DeflatedExplicitVRLittleEndian]
    for number, syntax in enumerate(syntaxes):
        ds = scan_to_dataset(small_scan)
        ds.file_meta.TransferSyntaxUID = syntax
        if syntax == pydicom.uid.ExplicitVRBigEndian:  # pydicom writes OW pixel data as given: swap it here
            ds.PixelData = np.stack([small_scan.view("ANT"), small_scan.view("POST")]).astype(">u2").tobytes()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom deprecates writing big endian
            _save(ds, tmp_path / f"{number}.dcm")
        back = read_dicom(tmp_path / f"{number}.dcm")
        np.testing.assert_array_equal(back.view("POST"), small_scan.view("POST"))
    for syntax in (pydicom.uid.RLELossless, pydicom.uid.JPEGLSLossless):
        back = read_dicom(_compressed(small_scan, tmp_path, syntax, f"{syntax.name[:8]}.dcm"))
        np.testing.assert_array_equal(back.view("ANT"), small_scan.view("ANT"))


@pytest.mark.parametrize("syntax", ["JPEGLosslessProcess14_1", "JPEGLosslessProcess14", "JPEG2000Lossless",
                                    "JPEGLSLossless"])
def test_pacs_lossless_compressions_read_back_exactly(real_nm1, tmp_path, syntax, capfd):
    """The compressions PACS archives keep NM in (JPEG Lossless SV1 is the commonest), re-encoded by GDCM, as an
    archive would: JPEG Lossless decoded by GDCM in a child process (a dependency since session 21; before, it was
    refused as undecodable), the others by their own plugins; every count as in the uncompressed file, nothing
    printed."""
    gdcm_recompressed(real_nm1, tmp_path / "compressed.dcm", syntax)
    capfd.readouterr()
    assert pydicom.dcmread(tmp_path / "compressed.dcm").file_meta.TransferSyntaxUID.is_compressed
    back = read_dicom(tmp_path / "compressed.dcm")
    np.testing.assert_array_equal(back.view("ANT"), read_dicom(real_nm1).view("ANT"))
    assert capfd.readouterr().err == ""


def test_library_warnings_on_a_readable_file_fold_into_one(small_scan, tmp_path, capfd, caplog):
    ds = scan_to_dataset(small_scan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.StudyInstanceUID = "1.2.abc.04"  # pydicom warns: invalid value for VR UI
        ds.SeriesInstanceUID = "1.2.xyz.05"
        path = _save(ds, tmp_path / "baduid.dcm")
    capfd.readouterr()
    caplog.clear()
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG):
        warnings.simplefilter("always")
        scan = read_dicom(path)
    assert caplog.records == []
    np.testing.assert_array_equal(scan.view("ANT"), small_scan.view("ANT"))
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    assert messages[0].startswith(f"{path}: ") and "pydicom" in messages[0] and "1.2.abc.04" in messages[0]
    assert "\n" not in messages[0] and "2 library warnings" in messages[0] and "Please see" not in messages[0]
    assert capfd.readouterr().err == ""


def test_library_warnings_before_a_failure_join_the_error(small_scan, tmp_path, capfd, caplog):
    # The file meta says explicit VR, the data set is implicit: pydicom warns, then fails on a value.
    ds = scan_to_dataset(small_scan)
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
    path = _save(ds, tmp_path / "vr.dcm")
    data = path.read_bytes().replace(b"1.2.840.10008.1.2\x00", b"1.2.840.10008.1.2.", 1)
    path.write_bytes(data)
    capfd.readouterr()
    caplog.clear()
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG):
        warnings.simplefilter("always")
        with pytest.raises(ScintisegError) as info:
            read_dicom(path)
    assert [str(w.message) for w in caught] == [] and caplog.records == [] and capfd.readouterr().err == ""
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    assert "(pydicom: " in str(info.value)  # the first library warning, in parentheses


def test_own_warnings_still_pass_through_unchanged(small_scan, tmp_path):
    ds = _two_frame_dataset(small_scan)
    ds.DetectorInformationSequence = Sequence([Dataset(), Dataset()])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read_dicom(_save(ds, tmp_path / "nocodes.dcm"))
    assert [str(w.message) for w in caught] == [
        f"{tmp_path / 'nocodes.dcm'}: no View Code Sequence for every detector; "
        "assuming detector 1 = ANT, detector 2 = POST"
    ]


def test_huge_geometry_is_refused_before_decoding(small_scan, tmp_path):
    ds = scan_to_dataset(small_scan)
    ds.compress(pydicom.uid.RLELossless)
    ds.Rows, ds.Columns = 60000, 60000  # decoding would allocate 2 x 7.2 GB
    _expect_one_line_error(_save(ds, tmp_path / "huge.dcm"), "too large")


# --- screen captures stored in colour (Secondary Capture RGB / YBR / PALETTE COLOR) -----------------------------

GREY = (np.add.outer(np.arange(48) * 5, np.arange(24) * 3) % 240 // 2).astype(np.uint8)  # mostly low, as a bone scan


def _capture(tmp_path, pixels: np.ndarray, photometric: str, name: str, **extra) -> str:
    """A Secondary Capture file of ``pixels`` (rows, cols[, 3]) with the given photometric interpretation."""
    scan = Scan({"ANT": np.zeros(pixels.shape[:2], np.uint16)}, pixel_spacing=(2.0, 2.0))
    ds = scan_to_dataset(scan)
    for keyword in ("NumberOfFrames", "FrameIncrementPointer", "DetectorVector", "DetectorInformationSequence",
                    "EnergyWindowVector"):
        if keyword in ds:
            delattr(ds, keyword)
    ds.SamplesPerPixel = 3 if pixels.ndim == 3 else 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    if pixels.ndim == 3:
        ds.PlanarConfiguration = 0
    for keyword, value in extra.items():
        setattr(ds, keyword, value)
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    path = tmp_path / name
    ds.save_as(path, enforce_file_format=True)
    return path


def test_a_grey_screen_capture_in_rgb_is_read_as_its_grey_levels(tmp_path):
    path = _capture(tmp_path, np.stack([GREY] * 3, axis=-1), "RGB", "rgb.dcm")
    scan = read_scan(path)
    view = scan.view(scan.view_names[0])
    assert view.dtype == np.uint8
    np.testing.assert_array_equal(view, GREY)


def test_a_colour_capture_and_two_sample_data_are_refused_in_one_line(tmp_path):
    colour = np.stack([GREY, 255 - GREY, GREY // 3], axis=-1)
    with pytest.raises(ScintisegError, match=r"colour image \(its channels differ by up to \d+ grey levels over [\d.]+ % of "
                                             r"it, and its colours are none of the display tables scintiseg knows\)"):
        read_scan(_capture(tmp_path, colour, "RGB", "colour.dcm"))
    two = _capture(tmp_path, np.stack([GREY] * 3, axis=-1), "RGB", "two.dcm")
    ds = pydicom.dcmread(two)
    ds.SamplesPerPixel = 2
    ds.save_as(two)
    with pytest.raises(ScintisegError, match="2 samples per pixel"):
        read_scan(two)


def test_a_capture_of_a_hot_iron_display_is_read_back_to_its_grey_levels(tmp_path):
    """A PACS screen capture of a scan shown in Hot Iron (DICOM's well-known palette), as RGB and as PALETTE COLOR
    with the palette in the file: both read as the grey levels displayed, the table named (io.colour_tables)."""
    from scintiseg.io.colour_tables import colour_table

    table = colour_table("hot_iron")
    rgb = read_scan(_capture(tmp_path, table[GREY], "RGB", "hot.dcm"))
    lut = {colour: (table[:, i].astype(np.uint16) * 257).tobytes() for i, colour in enumerate(("Red", "Green", "Blue"))}
    palette = read_scan(_capture(tmp_path, GREY, "PALETTE COLOR", "hot_palette.dcm",
                                 **{f"{c}PaletteColorLookupTableDescriptor": [256, 0, 16] for c in lut},
                                 **{f"{c}PaletteColorLookupTableData": data for c, data in lut.items()}))
    for scan in (rgb, palette):
        np.testing.assert_array_equal(scan.view(scan.view_names[0]), GREY)
        assert scan.metadata["colour_table"] == "hot_iron"


def test_a_capture_with_a_viewer_s_panels_has_them_set_to_its_background(tmp_path, real_nm1):
    """A grey Secondary Capture of a viewer, NM1 shown inverted beside a flat side panel and under a toolbar, a line
    between toolbar and scan: the panels and the line blanked as a plain image's are (io.panels), the inversion judged
    inside them and undone."""
    counts = read_scan(real_nm1).view("ANT").astype(np.float64)
    grey = np.clip(counts / np.percentile(counts, 99.9) * 255, 0, 255).astype(np.uint8)
    window = np.full((1126, 400), 150, np.uint8)
    window[100:102] = 90
    window[102:, :256] = 255 - grey
    scan = read_scan(_capture(tmp_path, window, "MONOCHROME2", "viewer.dcm"))
    assert scan.metadata["panels_blanked"] == {"top": 100, "right": 144} and scan.metadata["display_inverted"]
    assert scan.metadata["frame_lines_blanked"] == ["rows 100-101"]
    view = scan.view(scan.view_names[0])
    assert not view[:102].any() and not view[:, 256:].any()
    assert np.corrcoef(view[102:, :256].ravel(), grey.ravel())[0, 1] > 0.99


def test_a_capture_through_a_display_gamma_is_read_back_linear(tmp_path, real_nm1):
    """An uncompressed 8-bit capture of NM1 shown through gamma 0.5: its curve read from the noise and undone, as a
    PNG's is (io.display_curve); the linear capture left as it is."""
    counts = read_scan(real_nm1).view("ANT").astype(np.float64)
    linear = np.clip(np.round(255 * counts / counts.max()), 0, 255).astype(np.uint8)
    bent = np.clip(np.round(255 * (linear / 255.0) ** 0.5), 0, 255).astype(np.uint8)
    scan = read_scan(_capture(tmp_path, bent, "MONOCHROME2", "bent.dcm"))
    assert scan.metadata["display_gamma"] == pytest.approx(0.5, abs=0.06)
    body = linear > 20
    assert np.mean(np.abs(scan.view(scan.view_names[0])[body].astype(float) - linear[body])) < 5
    plain = read_scan(_capture(tmp_path, linear, "MONOCHROME2", "linear.dcm"))
    assert "display_gamma" not in plain.metadata


def test_a_palette_capture_is_read_through_its_palette_not_as_indices(tmp_path):
    order = np.random.default_rng(3).permutation(256).astype(np.uint8)  # index i shows grey order[i]
    indices = np.argsort(order).astype(np.uint8)[GREY]                 # so that the picture is GREY
    lut = (order.astype(np.uint16) * 257).tobytes()                     # 16-bit entries
    path = _capture(tmp_path, indices, "PALETTE COLOR", "palette.dcm",
                    RedPaletteColorLookupTableDescriptor=[256, 0, 16], GreenPaletteColorLookupTableDescriptor=[256, 0, 16],
                    BluePaletteColorLookupTableDescriptor=[256, 0, 16], RedPaletteColorLookupTableData=lut,
                    GreenPaletteColorLookupTableData=lut, BluePaletteColorLookupTableData=lut)
    scan = read_scan(path)
    np.testing.assert_array_equal(scan.view(scan.view_names[0]), GREY)


def test_a_jpeg_compressed_colour_capture_of_grey_content_is_read_as_grey(tmp_path):
    """The commonest PACS screen capture: JPEG baseline, YBR_FULL_422 (decoded to RGB by pydicom)."""
    import io

    from PIL import Image
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGBaseline8Bit

    buffer = io.BytesIO()
    Image.fromarray(GREY).convert("RGB").save(buffer, format="JPEG", quality=95)
    path = _capture(tmp_path, np.stack([GREY] * 3, axis=-1), "YBR_FULL_422", "jpeg.dcm")
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.PixelData = encapsulate([buffer.getvalue()])
    ds["PixelData"].VR = "OB"
    ds.save_as(path)
    scan = read_scan(path)
    view = scan.view(scan.view_names[0])
    assert view.dtype == np.uint8 and np.abs(view.astype(int) - GREY).mean() < 3  # lossy, the same picture


def test_an_8bit_capture_of_an_inverted_display_is_read_back(tmp_path):
    """Hot = black on white, stored as an 8-bit MONOCHROME2 capture: read back as PNG/JPEG exports are."""
    expected = np.full((160, 40), 0.5)
    expected[10:150, 8:32], expected[20:120, 18:22] = 8.0, 40.0  # body, spine
    expected = np.kron(expected, np.ones((3, 3)))  # 480 x 120: as many rows as a whole-body matrix has
    counts = np.clip(np.random.default_rng(2).poisson(expected), 0, 255).astype(np.uint8)
    scan = read_scan(_capture(tmp_path, 255 - counts, "MONOCHROME2", "inverted.dcm"))
    np.testing.assert_array_equal(scan.view(scan.view_names[0]), counts)
    assert scan.metadata["display_inverted"] is True
    plain = read_scan(_capture(tmp_path, counts, "MONOCHROME2", "plain.dcm"))
    assert "display_inverted" not in plain.metadata


def _four_frames(tmp_path, name: str, windows: list | None, vector=(2, 2, 1, 1)) -> tuple[str, dict]:
    """ANT and POST of a photopeak and a scatter window in one NM object (Energy Window Vector ``vector``, the
    photopeak window 2 here, listed second so that its place does not decide), ``windows`` the (lower, upper) keV
    of windows 1 and 2 (None: the header gives no ranges)."""
    rng = np.random.default_rng(5)
    frames = {"ANT": rng.poisson(30, (64, 32)), "POST": rng.poisson(20, (64, 32)),
              "ANT scatter": rng.poisson(5, (64, 32)), "POST scatter": rng.poisson(4, (64, 32))}
    frames = {k: v.astype(np.uint16) for k, v in frames.items()}
    ds = scan_to_dataset(Scan({"ANT": frames["ANT"], "POST": frames["POST"]}, pixel_spacing=(2.26, 2.26)))
    ds.NumberOfFrames, ds.DetectorVector, ds.EnergyWindowVector, ds.NumberOfEnergyWindows = 4, [1, 2, 1, 2], list(vector), 2
    items = []
    for lower, upper in windows or []:
        item, limits = Dataset(), Dataset()
        limits.EnergyWindowLowerLimit, limits.EnergyWindowUpperLimit = lower, upper
        item.EnergyWindowRangeSequence = Sequence([limits])
        items.append(item)
    ds.EnergyWindowInformationSequence = Sequence(items)
    ds.PixelData = np.stack(list(frames.values())).astype("<u2").tobytes()
    return _save(ds, tmp_path / name), frames


@pytest.mark.parametrize("windows, why", [
    ([(100, 120), (126, 154)], "126-154 keV holds"),  # the range says: window 2 holds 140.5 keV
    ([(50, 250), (126, 154)], "126-154 keV holds"),  # two ranges hold it: the narrower
    (None, "the most counts"),  # no range: the window with the most counts
])
def test_an_nm_object_of_two_energy_windows_is_read_from_its_photopeak(tmp_path, windows, why):
    path, frames = _four_frames(tmp_path, "windows.dcm", windows)
    scan = read_scan(path)
    assert scan.view_names == ["ANT", "POST"]
    np.testing.assert_array_equal(scan.view("ANT"), frames["ANT"])
    np.testing.assert_array_equal(scan.view("POST"), frames["POST"])
    assert scan.metadata["energy_window_read"].startswith("energy window 2 of 2") and why in scan.metadata["energy_window_read"]


def test_four_frames_of_one_energy_window_are_one_error(tmp_path):
    path, _ = _four_frames(tmp_path, "one-window.dcm", None, vector=(1, 1, 1, 1))
    _expect_one_line_error(path, "4 frames of one energy window")


@pytest.mark.parametrize("how, expected", [
    ("code POST", "POST"), ("code ANT", "ANT"), ("position PA", "POST"), ("position AP", "ANT"), ("nothing", "VIEW"),
    ("series WB POST", "POST"), ("series Anterior Whole Body", "ANT"), ("series Whole body ANT/POST", "VIEW"),
    ("series Bone scan", "VIEW"), ("series WB ANT|position PA", "POST"), ("series WB|protocol WB_Posterior", "POST"),
])
def test_a_one_frame_image_names_its_view_by_its_own_view_code_view_position_or_description(tmp_path, how, expected):
    """A one-frame image (a Secondary Capture, say) carries no Detector Information: its top-level View Code
    Sequence, else its View Position, else the words of its Series Description or Protocol Name say the view."""
    ds = scan_to_dataset(Scan({"VIEW": np.full((64, 32), 7, np.uint16)}, pixel_spacing=(2.26, 2.26)))
    del ds.DetectorInformationSequence
    for part in how.split("|"):
        kind, value = part.split(" ", 1) if " " in part else (part, "")
        if kind == "code":
            code = Dataset()
            code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = VIEW_CODES[value]
            ds.ViewCodeSequence = Sequence([code])
        elif kind == "position":
            ds.ViewPosition = value
        elif kind == "series":
            ds.SeriesDescription = value
        elif kind == "protocol":
            ds.ProtocolName = value
    assert read_scan(_save(ds, tmp_path / "one.dcm")).view_names == [expected]


# ------------------------------------------------------------------ the patient's sides (session 27)


def test_written_views_state_the_orientation_the_scan_knows_and_read_back_unmirrored(small_scan, tmp_path):
    write_dicom(small_scan, tmp_path / "unknown.dcm")  # a scan that does not know its views' directions: left empty
    items = pydicom.dcmread(tmp_path / "unknown.dcm").DetectorInformationSequence
    assert all("ImageOrientationPatient" in item and not item.ImageOrientationPatient for item in items)  # Type 2
    small_scan.metadata[ORIENTATION_KEY] = dict(CONVENTION)  # as the phantom states its views
    write_dicom(small_scan, tmp_path / "scan.dcm")
    ds = pydicom.dcmread(tmp_path / "scan.dcm")
    cosines = [[float(v) for v in item.ImageOrientationPatient] for item in ds.DetectorInformationSequence]
    assert cosines == [[1, 0, 0, 0, 0, -1], [-1, 0, 0, 0, 0, -1]]  # ANT from the front, POST as acquired
    back = read_scan(tmp_path / "scan.dcm", split_views=True)
    assert back.metadata[ORIENTATION_KEY] == {"ANT": "L\\F", "POST": "R\\F"} and MIRRORED_KEY not in back.metadata
    for name in ("ANT", "POST"):
        np.testing.assert_array_equal(back.view(name), small_scan.view(name))
    # A view read mirrored back is written as read, with the directions of the view as read: it reads back unmirrored.
    small_scan.metadata[ORIENTATION_KEY] = {"ANT": "L\\F", "POST": "L\\F"}
    write_dicom(small_scan, tmp_path / "post_from_front.dcm")
    read = read_scan(tmp_path / "post_from_front.dcm", split_views=True)
    assert read.metadata[MIRRORED_KEY] == ["POST"] and read.metadata[ORIENTATION_KEY]["POST"] == "R\\F"
    write_dicom(read, tmp_path / "again.dcm")
    again = read_scan(tmp_path / "again.dcm", split_views=True)
    assert MIRRORED_KEY not in again.metadata
    np.testing.assert_array_equal(again.view("POST"), small_scan.view("POST")[:, ::-1])


def test_a_posterior_frame_stored_as_seen_from_the_front_is_read_mirrored_back(small_scan, tmp_path):
    ds = _two_frame_dataset(small_scan)
    ant, post = small_scan.view("ANT"), small_scan.view("POST")
    ds.PixelData = np.stack([ant, post[:, ::-1]]).astype("<u2").tobytes()  # POST exported mirrored, as ANT reads
    ds.DetectorInformationSequence[1].ImageOrientationPatient = [1, 0, 0, 0, 0, -1]
    path = _save(ds, tmp_path / "post_mirrored.dcm")
    read = read_scan(path, split_views=True)  # as prediction reads it
    assert read.metadata[MIRRORED_KEY] == ["POST"]
    assert read.metadata[ORIENTATION_KEY]["POST"] == "R\\F"  # the directions of the view as read, mirrored back
    np.testing.assert_array_equal(read.view("POST"), post)
    np.testing.assert_array_equal(read.view("ANT"), ant)
    as_stored = read_scan(path)  # a data set's reading keeps the file as it is
    np.testing.assert_array_equal(as_stored.view("POST"), post[:, ::-1])
    assert MIRRORED_KEY not in as_stored.metadata


def test_one_frame_patient_orientation_names_the_sides(real_nm1, tmp_path):
    ds = pydicom.dcmread(real_nm1)
    upright = ds.pixel_array
    ds.PixelData = np.ascontiguousarray(upright[:, ::-1]).tobytes()
    ds.PatientOrientation = ["R", "F"]  # the patient's right toward the image right: an anterior view mirrored
    read = read_scan(_save(ds, tmp_path / "mirrored.dcm"), split_views=True)
    assert read.view_names == ["ANT"] and read.metadata[MIRRORED_KEY] == ["ANT"]
    np.testing.assert_array_equal(read.view("ANT"), upright)


@pytest.mark.parametrize("value", ["", ["L"], ["Q", "F"], ["A", "F"]])
def test_orientation_that_says_nothing_leaves_the_view_as_stored(real_nm1, tmp_path, value):
    ds = pydicom.dcmread(real_nm1)
    ds.PatientOrientation = value
    read = read_scan(_save(ds, tmp_path / "odd.dcm"), split_views=True)
    assert MIRRORED_KEY not in read.metadata
    np.testing.assert_array_equal(read.view("ANT"), ds.pixel_array)


def test_unreadable_cosines_never_stop_a_read(small_scan, tmp_path):
    small_scan.metadata[ORIENTATION_KEY] = dict(CONVENTION)
    ds = _two_frame_dataset(small_scan)
    # A raw element, as read from a file: pydicom converts its value only when it is used (and then raises).
    ds.DetectorInformationSequence[1][0x00200037] = RawDataElement(Tag(0x00200037), "DS", 6, b"abc\\1", 0, False, True)
    read = read_scan(_save(ds, tmp_path / "bad_cosines.dcm"), split_views=True)
    assert read.metadata[ORIENTATION_KEY] == {"ANT": "L\\F"} and MIRRORED_KEY not in read.metadata


def _dciodvfy_errors(path) -> list[str]:
    result = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error")]


def test_dciodvfy_on_the_written_nm_image(small_scan, real_nm1, tmp_path):
    """The NM Image object the writer makes (phantom, data sets) against an independent validator: no error where
    the scan's timing is known (NM1's, read and written back); without it, only Actual Frame Duration (Type 1C),
    which the writer does not make up (13 errors before session 27)."""
    if not shutil.which("dciodvfy"):
        pytest.skip("dciodvfy not installed (Debian: apt-get install dicom3tools; .ci/run does it as root)")
    write_dicom(read_scan(real_nm1), tmp_path / "nm1.dcm")
    assert _dciodvfy_errors(tmp_path / "nm1.dcm") == []
    write_dicom(small_scan, tmp_path / "phantom.dcm")
    errors = _dciodvfy_errors(tmp_path / "phantom.dcm")
    assert len(errors) == 1 and "ActualFrameDuration" in errors[0]


def test_an_assumed_pixel_size_is_written_as_assumed_and_read_back_so(small_scan, tmp_path):
    """A scan whose pixel size was assumed (a PNG imported without --pixel-spacing) keeps that size in the file, which
    a crop's size in mm needs, and says it was assumed; read back, it is flagged again, and a size given replaces it.
    Before session 64 the written file gave the assumed size as a measured one."""
    small_scan.metadata["pixel_spacing_assumed"] = "the commonest whole-body pixel size"
    write_dicom(small_scan, tmp_path / "assumed.dcm")
    read = read_scan(tmp_path / "assumed.dcm")
    assert read.pixel_spacing == small_scan.pixel_spacing
    assert read.metadata["pixel_spacing_assumed"] == "assumed when the file was written: the commonest whole-body pixel size"
    write_dicom(read, tmp_path / "again.dcm")  # written again, the reason is not wrapped twice
    assert read_scan(tmp_path / "again.dcm").metadata["pixel_spacing_assumed"] == read.metadata["pixel_spacing_assumed"]
    given = read_scan(tmp_path / "assumed.dcm", pixel_spacing="3.1")
    assert given.pixel_spacing == (3.1, 3.1) and "pixel_spacing_assumed" not in given.metadata
    del small_scan.metadata["pixel_spacing_assumed"]
    write_dicom(small_scan, tmp_path / "measured.dcm")
    assert "pixel_spacing_assumed" not in read_scan(tmp_path / "measured.dcm").metadata
    assert not any(element.tag.is_private for element in pydicom.dcmread(tmp_path / "measured.dcm"))
    if shutil.which("dciodvfy"):  # the private element is no error
        assert [e for e in _dciodvfy_errors(tmp_path / "assumed.dcm") if "ActualFrameDuration" not in e] == []


def test_a_source_timing_that_is_no_number_is_not_written(small_scan, tmp_path):
    """Whole-body timing carried from a source is written only as the number it is (a damaged value is left out, so
    writing a data set's image never fails on it)."""
    small_scan.metadata.update(actual_frame_duration="abc", scan_velocity="12.5", scan_length="1899.7")
    write_dicom(small_scan, tmp_path / "scan.dcm")
    ds = pydicom.dcmread(tmp_path / "scan.dcm")
    assert "ActualFrameDuration" not in ds and float(ds.ScanVelocity) == 12.5 and int(ds.ScanLength) == 1900
    assert int(ds.CountsAccumulated) == int(sum(view.sum(dtype=np.int64) for view in small_scan.views.values()))


def test_the_pairing_probe_says_nothing_of_a_damaged_header(tmp_path, caplog, recwarn):
    """The header probe that pairs two one-view files read pydicom's log unmuted: a damaged UID printed its own
    unprefixed lines (88 with raw bytes for one file) before the full read's one-line error (session 61)."""
    from support import dicom_breaking_the_standard

    from scintiseg.io.dicom import one_view_header

    path = dicom_breaking_the_standard(Scan({"ANT": np.ones((64, 32), np.float32)}, pixel_spacing=(4.5, 4.5),
                                            patient_id="P"), tmp_path / "uid.dcm",
                                       StudyInstanceUID="1.2.X" + "9" * 90)  # too long, and not digits
    recwarn.clear()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        header = one_view_header(path)
    assert header is not None and header["view"] == "ANT" and header["study_uid"].startswith("1.2.X")
    assert not caplog.records and not [w for w in recwarn if "pydicom" in str(w.filename) or "VR UI" in str(w.message)]


def test_pixel_spacing_keeps_rows_then_columns(small_scan, tmp_path):
    """Pixel Spacing is (row spacing, column spacing): a camera's non-square pixels read back in that order."""
    write_dicom(small_scan.with_views(small_scan.views, pixel_spacing=(2.0, 3.0)), tmp_path / "aniso.dcm")
    assert [float(v) for v in pydicom.dcmread(tmp_path / "aniso.dcm").PixelSpacing] == [2.0, 3.0]
    assert read_dicom(tmp_path / "aniso.dcm").pixel_spacing == (2.0, 3.0)


def test_the_photopeak_frames_are_read_where_they_lie_in_the_file(tmp_path):
    """Energy Window Vector [1, 1, 2, 2], window 2 the photopeak: frames 3 and 4 are read, not the first two."""
    path, frames = _four_frames(tmp_path, "late.dcm", [(100, 120), (126, 154)], vector=(1, 1, 2, 2))
    scan = read_scan(path)
    assert scan.metadata["energy_window_read"].startswith("energy window 2 of 2")
    np.testing.assert_array_equal(scan.view("ANT"), frames["ANT scatter"])  # (the third frame stored)
    np.testing.assert_array_equal(scan.view("POST"), frames["POST scatter"])


def test_a_one_frame_file_of_detector_2_takes_that_detectors_view(small_scan, tmp_path):
    """One frame, Detector Vector [2], two Detector Information items (ANT, POST): the frame is POST."""
    ds = _two_frame_dataset(small_scan)
    ds.NumberOfFrames, ds.DetectorVector, ds.EnergyWindowVector = 1, [2], [1]
    ds.PixelData = small_scan.view("POST").astype("<u2").tobytes()
    back = read_dicom(_save(ds, tmp_path / "detector2.dcm"))
    assert back.view_names == ["POST"]
    np.testing.assert_array_equal(back.view("POST"), small_scan.view("POST"))
